// Alembic configs that only work from elsewhere: a relative script_location written for another working directory, and
// templates whose placeholders a program fills in. Read before any Python starts, so the message can name the fix.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, posix, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** configparser's sections: name -> option (lower case) -> raw value; `DEFAULT` holds the defaults. */
type IniSections = Map<string, Map<string, string>>;

/** A config read the way Python's configparser reads it could not be (Alembic reports such a file itself). */
class IniSyntaxError extends Error {}

/**
 * Reads an ini file as `configparser.ConfigParser()` (Alembic's) does: `[section]` headers, `key = value` or
 * `key: value` (keys lower-cased, split at the first `=` or `:`), values continued on more-indented lines (blank lines
 * inside kept), `#` and `;` comments on their own line only, duplicate sections and options refused (strict).
 */
export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map([['DEFAULT', new Map()]]);
  const seen = new Set<string>();
  let current: Map<string, string[]> | null = null;
  let currentName = '';
  let option: string | null = null;
  let indentLevel = 0;
  const pending = new Map<string, Map<string, string[]>>();
  // Python's str.strip() keeps a byte order mark, so the first line is no section header: configparser refuses the file.
  if (text.startsWith('\uFEFF')) throw new IniSyntaxError('the file starts with a byte order mark');
  const lines = text.split(/\r\n|\r|\n/);
  for (const line of lines) {
    const stripped = line.trim();
    if (stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (stripped === '') {
      // An empty line inside a value is kept (empty_lines_in_values); a comment line is not.
      if (current && option !== null) current.get(option)!.push('');
      continue;
    }
    const indent = line.search(/\S/);
    if (current && option !== null && indent > indentLevel) {
      current.get(option)!.push(stripped);
      continue;
    }
    indentLevel = indent;
    const header = /^\[(.+)\]/.exec(stripped);
    if (header) {
      currentName = header[1]!;
      if (seen.has(currentName) && currentName !== 'DEFAULT') throw new IniSyntaxError(`section [${currentName}] appears twice`);
      seen.add(currentName);
      current = pending.get(currentName) ?? new Map();
      pending.set(currentName, current);
      option = null;
      continue;
    }
    if (!current) throw new IniSyntaxError('no section header before the first option');
    const pair = /^(.*?)\s*[=:]\s*(.*)$/.exec(stripped);
    if (!pair || pair[1]!.trimEnd() === '') throw new IniSyntaxError(`not an option line: ${stripped}`);
    option = pair[1]!.trimEnd().toLowerCase();
    const key = `${currentName}\u0000${option}`;
    if (seen.has(key)) throw new IniSyntaxError(`option ${option} appears twice in [${currentName}]`);
    seen.add(key);
    current.set(option, [pair[2]!.trim()]);
  }
  for (const [name, options] of pending) {
    const joined = new Map<string, string>();
    for (const [key, parts] of options) joined.set(key, parts.join('\n').trimEnd());
    if (name === 'DEFAULT') for (const [key, value] of joined) sections.get('DEFAULT')!.set(key, value);
    else sections.set(name, joined);
  }
  return sections;
}

/** BasicInterpolation's `%(name)s` and `%%`; a name with no value anywhere is returned, not thrown. */
class MissingValue extends Error {
  constructor(readonly placeholder: string) {
    super(placeholder);
  }
}

function interpolate(value: string, lookup: (name: string) => string | undefined, depth = 1): string {
  if (depth > 10) throw new IniSyntaxError('interpolation is nested too deeply');
  let out = '';
  let rest = value;
  while (rest) {
    const p = rest.indexOf('%');
    if (p < 0) return out + rest;
    out += rest.slice(0, p);
    rest = rest.slice(p);
    const next = rest[1];
    if (next === '%') {
      out += '%';
      rest = rest.slice(2);
    } else if (next === '(') {
      const m = /^%\(([^)]+)\)s/.exec(rest);
      if (!m) throw new IniSyntaxError(`bad interpolation syntax in ${value}`);
      rest = rest.slice(m[0].length);
      const found = lookup(m[1]!.toLowerCase());
      if (found === undefined) throw new MissingValue(m[0]);
      out += found.includes('%') ? interpolate(found, lookup, depth + 1) : found;
    } else {
      throw new IniSyntaxError(`a lone % in ${value} (write %% for a percent sign)`);
    }
  }
  return out;
}

/** Placeholders a program or a template engine fills in: `{{ x }}`, `${VAR}`, `$VAR`, `{alembic_dir}`. */
const PLACEHOLDERS = [/\{\{.*?\}\}/, /\$\{[^}]*\}/, /\$[A-Za-z_][A-Za-z0-9_]*/, /\{[A-Za-z_][A-Za-z0-9_.-]*\}/];

function findPlaceholder(value: string): string | null {
  let best: { index: number; text: string } | null = null;
  for (const pattern of PLACEHOLDERS) {
    const m = pattern.exec(value);
    if (!m) continue;
    if (!best || m.index < best.index || (m.index === best.index && m[0].length > best.text.length)) best = { index: m.index, text: m[0] };
  }
  return best?.text ?? null;
}

/** Keys whose value Alembic resolves as paths when it loads the config; a placeholder in any of them breaks it. */
const PATH_KEYS = ['script_location', 'version_locations', 'prepend_sys_path'];

/** Stands for `%(here)s` while looking for placeholders, so that the config's own folder never looks like one. */
const HERE_MARK = '\u0000here\u0000';

/** Reads an ini file, or null when configparser would refuse it (Alembic then says so itself). */
function readIni(config: string): IniSections | null {
  try {
    return parseIni(readFileSync(config, 'utf8'));
  } catch (error) {
    if (error instanceof IniSyntaxError) return null;
    throw error;
  }
}

/** The folder `%(here)s` stands for, as Alembic sets it: the config file's folder, with forward slashes. */
function hereOf(config: string): string {
  return dirname(resolve(config)).split('\\').join('/');
}

/** A key of the section (or of [DEFAULT]), interpolated as configparser does with Alembic's `here`. */
function optionValue(sections: IniSections, section: string, key: string, here: string): string | undefined {
  const options = sections.get(section);
  if (!options) return undefined;
  const defaults = sections.get('DEFAULT')!;
  const raw = options.get(key) ?? defaults.get(key);
  if (raw === undefined) return undefined;
  return interpolate(raw, (k) => options.get(k) ?? defaults.get(k) ?? (k === 'here' ? here : undefined));
}

/**
 * What Alembic's `Config(config, ini_section=section).get_main_option(key)` returns for an ini file: undefined when the
 * section or the key is missing, or when configparser could not read the file or interpolate the value.
 */
export function alembicOption(config: string, section: string, key: string): string | undefined {
  const sections = readIni(config);
  if (!sections) return undefined;
  try {
    return optionValue(sections, section, key.toLowerCase(), hereOf(config));
  } catch (error) {
    if (error instanceof IniSyntaxError || error instanceof MissingValue) return undefined;
    throw error;
  }
}

/**
 * Stops the check with a message naming the fix when the Alembic config only works from elsewhere: `script_location`
 * relative to another directory than `cwd` (where alembic runs; Alembic resolves it against the working directory),
 * or a template whose placeholders are left for a program to fill in (`script_location`, `version_locations`,
 * `prepend_sys_path`). A missing section or key, a `package:path` location, a pyproject.toml config and a file
 * configparser cannot read are left to the code that loads the project.
 */
export function checkAlembicConfig(config: string, cwd: string, section: string, repositoryRoot: string): void {
  if (extname(config).toLowerCase() === '.toml' || !existsSync(config)) return;
  const sections = readIni(config);
  const options = sections?.get(section);
  if (!sections || !options) return;
  const rawOf = (key: string) => options.get(key) ?? sections.get('DEFAULT')!.get(key) ?? '';
  const here = hereOf(config);
  const name = displayPath(config, repositoryRoot);

  for (const key of PATH_KEYS) {
    let marked: string | undefined;
    try {
      marked = optionValue(sections, section, key, HERE_MARK);
    } catch (error) {
      if (error instanceof MissingValue) throw templateError(name, section, key, rawOf(key), error.placeholder, true);
      if (error instanceof IniSyntaxError) return;
      throw error;
    }
    if (marked === undefined) continue;
    const placeholder = findPlaceholder(marked);
    if (placeholder === null) continue;
    // A folder really named like that works as it is.
    if (key === 'script_location' && existsSync(resolve(cwd, marked.split(HERE_MARK).join(here)))) continue;
    throw templateError(name, section, key, rawOf(key), placeholder, false);
  }

  const location = optionValue(sections, section, 'script_location', here);
  if (location === undefined || location === '') return;
  // `myapp:migrations` is a package resource (alembic.util.coerce_resource_to_filename): not a path from cwd.
  if (!isAbsolute(location) && location.includes(':')) return;
  const fromCwd = resolve(cwd, location);
  if (existsSync(fromCwd)) return;
  const raw = rawOf('script_location');
  const configDir = dirname(resolve(config));
  const fromConfig = resolve(configDir, location);
  const runs = displayDir(cwd, repositoryRoot);
  const head = `${name}: [${section}] script_location = ${raw}`;
  if (isAbsolute(location) || !existsSync(fromConfig)) {
    const looked = isAbsolute(location) ? fromCwd : `${fromCwd} (from ${runs}, where alembic runs) and ${fromConfig} (beside ${name})`;
    // configparser keeps `# ...` after a value as part of it: only whole-line comments are comments.
    const comment = /\s[#;]/.exec(location);
    const inline =
      comment && existsSync(resolve(cwd, location.slice(0, comment.index).trimEnd()))
        ? ` The value includes the comment after it: configparser takes \`${location.slice(comment.index).trim()}\` as part of it. Put the comment on a line of its own.`
        : '';
    throw new UserError(
      `${head}: no such folder. Looked for ${looked}.${inline || ' Set script_location to the folder that holds env.py: relative to the directory alembic runs from (--cwd), or %(here)s/... for a folder relative to ' + name + '.'}`,
    );
  }
  // --cwd is relative to the directory the command runs in (where alembic runs is that directory, or --cwd).
  const cdTo = relative(process.cwd(), configDir).split('\\').join('/') || '.';
  const workingDirectory = relative(repositoryRoot, configDir).split('\\').join('/') || '.';
  const configFlag = basename(config) === 'alembic.ini' ? '' : ` --config ${basename(config)}`;
  const configInput = basename(config) === 'alembic.ini' ? '' : ` and \`alembic-config: ${basename(config)}\``;
  const hereValue = `%(here)s/${posix.normalize(location.split('\\').join('/')).replace(/\/+$/, '')}`;
  throw new UserError(
    `${head}: Alembic resolves a relative script_location from the directory it runs in, and ${location} does not exist ` +
      `from ${runs} (${fromCwd}); it exists beside ${name} (${fromConfig}). Either run from the config's folder: ` +
      `--cwd ${cdTo}${configFlag} (in the GitHub Action, \`working-directory: ${workingDirectory}\`${configInput}); ` +
      `or make the path relative to the config file: script_location = ${hereValue} in ${name}, which works from anywhere.`,
  );
}

/** The lead's entry point: the check's options (`config` absolute, `cwd` where alembic runs, `section`). */
export function checkAlembicConfigOf(options: { config: string; cwd: string; section: string }, repositoryRoot: string): void {
  checkAlembicConfig(options.config, options.cwd, options.section, repositoryRoot);
}

const EXAMPLES: Record<string, string> = {
  script_location: 'script_location = %(here)s/migrations',
  version_locations: 'version_locations = %(here)s/migrations/versions',
  prepend_sys_path: 'prepend_sys_path = .',
};

function templateError(name: string, section: string, key: string, raw: string, placeholder: string, undefinedName: boolean): UserError {
  const what = undefinedName
    ? `${placeholder} has no value in the file: a program fills it in (Config(config_args=...))`
    : `${placeholder} is a placeholder left for a program or a template to fill in`;
  return new UserError(
    `${name}: [${section}] ${key} = ${raw}: ${what}, so Alembic cannot use this file as it is. ` +
      `Commit an Alembic config for CI with the real ${key === 'prepend_sys_path' ? 'paths' : 'path'} (e.g. ${EXAMPLES[key]}), ` +
      'or pass --config with a filled-in copy.',
  );
}

function displayPath(path: string, repositoryRoot: string): string {
  const rel = relative(repositoryRoot, path).split('\\').join('/');
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function displayDir(dir: string, repositoryRoot: string): string {
  const rel = relative(repositoryRoot, dir).split('\\').join('/');
  if (rel === '') return 'the repository root';
  return !rel.startsWith('..') && !isAbsolute(rel) ? `${rel}/` : dir;
}
