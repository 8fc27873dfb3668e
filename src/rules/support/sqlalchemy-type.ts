// The SQLAlchemy type for a Postgres column type, in suggested Alembic code: one spelling per rule family, over a shared table.
import type { Schema } from '../../schema/schema.js';
import { nodeAs, stringValues, type TypeName } from '../../sql/ast.js';
import { py, pyReadable } from './python-code.js';
import { splitQualified } from './qualified-name.js';

/** How the code reaches `sqlalchemy.dialects.postgresql`: through an import line, or through `sa` alone. */
type DialectPrefix = 'postgresql.' | 'sa.dialects.postgresql.';

// The three rule families were written apart and spell a few types differently (uuid, interval, inet, arrays, enums, a
// precision): each keeps its own spelling of those, so that no suggestion changes, and shares the rest.

/**
 * What every family writes for a built-in type (named as Postgres does inside: `varchar`, `int4`, `timestamptz`) with
 * these type modifiers; null for a type they spell differently or do not know.
 */
function sharedSpelling(name: string, mods: number[], postgresql: DialectPrefix): string | null {
  const [first, second] = mods;
  switch (name) {
    case 'text':
      return 'sa.Text()';
    case 'int2':
      return 'sa.SmallInteger()';
    case 'int4':
      return 'sa.Integer()';
    case 'int8':
      return 'sa.BigInteger()';
    case 'bool':
      return 'sa.Boolean()';
    case 'float4':
      return 'sa.REAL()';
    case 'float8':
      return 'sa.Float()';
    case 'date':
      return 'sa.Date()';
    case 'uuid':
      return 'sa.Uuid()';
    case 'json':
      return 'sa.JSON()';
    case 'jsonb':
      return `${postgresql}JSONB()`;
    case 'bytea':
      return 'sa.LargeBinary()';
    case 'varchar':
      return first !== undefined ? `sa.String(length=${first})` : 'sa.String()';
    case 'bpchar':
      return first !== undefined ? `sa.CHAR(length=${first})` : 'sa.CHAR()';
    case 'numeric':
      if (first === undefined) return 'sa.Numeric()';
      return second !== undefined ? `sa.Numeric(precision=${first}, scale=${second})` : null;
    case 'timestamp':
    case 'timestamptz': {
      const timezone = name === 'timestamptz' ? 'timezone=True' : '';
      if (first === undefined) return `sa.DateTime(${timezone})`;
      return `${postgresql}TIMESTAMP(${[timezone, `precision=${first}`].filter(Boolean).join(', ')})`;
    }
    case 'time':
      return first === undefined ? 'sa.Time()' : null;
    case 'timetz':
      return first === undefined ? 'sa.Time(timezone=True)' : null;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// From a TypeName, never null (the nullability rules)

export interface PythonType {
  /** `sa.String(length=20)`. */
  code: string;
  /** Uses `postgresql.` (needs `from sqlalchemy.dialects import postgresql`). */
  dialect: boolean;
  /** False when the type is not one this knows: `code` is then a placeholder to replace. */
  known: boolean;
}

/**
 * The SQLAlchemy type for a column type as Postgres's parser read it (`VARCHAR(20)` -> `sa.String(length=20)`), with
 * `postgresql.` dialect types, arrays and the schema's enums; a `sa.Text()` placeholder marked TODO for any other type.
 */
export function sqlAlchemyTypeOf(typeName: TypeName | null | undefined, schema: Schema | null = null): PythonType {
  if (!typeName) return { code: 'sa.Text()  # TODO: the column type', dialect: false, known: false };
  const names = stringValues(typeName.names);
  const mods = (typeName.typmods ?? []).map((m) => nodeAs(m, 'A_Const')?.ival?.ival ?? 0);
  let type = scalarType(names, mods, schema);
  for (let i = 0; i < (typeName.arrayBounds ?? []).length; i++) type = { code: `postgresql.ARRAY(${type.code})`, dialect: true, known: type.known };
  return type;
}

function scalarType(names: string[], mods: number[], schema: Schema | null): PythonType {
  if (names.length === 1 || names[0] === 'pg_catalog') {
    const base = names.at(-1) ?? '';
    const code = typeNameOwnSpelling(base, mods) ?? sharedSpelling(base, mods, 'postgresql.');
    if (code !== null) return { code, dialect: code.startsWith('postgresql.'), known: true };
  }
  const qualified = names[0] === 'public' && names.length === 2 ? names[1]! : names.join('.');
  if (schema?.enums.has(qualified)) {
    const { schema: enumSchema, name } = splitQualified(qualified);
    const code = `postgresql.ENUM(name=${pyReadable(name)}, create_type=False${enumSchema ? `, schema=${pyReadable(enumSchema)}` : ''})`;
    return { code, dialect: true, known: true };
  }
  return { code: `sa.Text()  # TODO: the column type, ${qualified}`, dialect: false, known: false };
}

function typeNameOwnSpelling(base: string, mods: number[]): string | null {
  switch (base) {
    // Only ADD COLUMN knows the serial pseudo-types.
    case 'smallserial':
    case 'serial2':
      return 'sa.SmallInteger()';
    case 'serial':
    case 'serial4':
      return 'sa.Integer()';
    case 'bigserial':
    case 'serial8':
      return 'sa.BigInteger()';
    case 'uuid':
      return 'postgresql.UUID()';
    case 'inet':
      return 'postgresql.INET()';
    case 'cidr':
      return 'postgresql.CIDR()';
    case 'interval':
      return 'sa.Interval()';
    // SQLAlchemy's Time has no precision: it is left out.
    case 'time':
      return 'sa.Time()';
    case 'timetz':
      return 'sa.Time(timezone=True)';
    case 'numeric':
      return mods.length === 1 ? `sa.Numeric(precision=${mods[0]})` : null;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// From format_type's text, or null (the destructive rules)

// format_type's names for the built-in types this knows, with the modifier counts it prints for them.
const FORMAT_TYPE_NAMES = new Map<string, { name: string; modifiers: number[] }>([
  ['smallint', { name: 'int2', modifiers: [0] }],
  ['integer', { name: 'int4', modifiers: [0] }],
  ['bigint', { name: 'int8', modifiers: [0] }],
  ['text', { name: 'text', modifiers: [0] }],
  ['boolean', { name: 'bool', modifiers: [0] }],
  ['character varying', { name: 'varchar', modifiers: [0, 1] }],
  ['character', { name: 'bpchar', modifiers: [1] }],
  ['timestamp without time zone', { name: 'timestamp', modifiers: [0] }],
  ['timestamp with time zone', { name: 'timestamptz', modifiers: [0] }],
  ['date', { name: 'date', modifiers: [0] }],
  ['time without time zone', { name: 'time', modifiers: [0] }],
  ['time with time zone', { name: 'timetz', modifiers: [0] }],
  ['numeric', { name: 'numeric', modifiers: [0, 2] }],
  ['double precision', { name: 'float8', modifiers: [0] }],
  ['real', { name: 'float4', modifiers: [0] }],
  ['uuid', { name: 'uuid', modifiers: [0] }],
  ['json', { name: 'json', modifiers: [0] }],
  ['jsonb', { name: 'jsonb', modifiers: [0] }],
  ['bytea', { name: 'bytea', modifiers: [0] }],
  ['interval', { name: 'interval', modifiers: [0] }],
]);

/**
 * The SQLAlchemy type for a Postgres type as format_type prints it (`character varying(20)` -> `sa.String(length=20)`),
 * with arrays and the enums of `enums`; null when there is no plain equivalent (then write SQL). `postgresql.` types
 * need `from sqlalchemy.dialects import postgresql`.
 */
export function sqlAlchemyTypeOfFormatType(pgType: string, enums: ReadonlyMap<string, string[]> = new Map()): string | null {
  if (pgType.endsWith('[]')) {
    const item = sqlAlchemyTypeOfFormatType(pgType.slice(0, -2), enums);
    return item ? `postgresql.ARRAY(${item})` : null;
  }
  if (enums.has(pgType)) {
    const { schema, name } = splitQualified(pgType);
    return schema === null
      ? `postgresql.ENUM(name=${py(name)}, create_type=False)`
      : `postgresql.ENUM(name=${py(name)}, schema=${py(schema)}, create_type=False)`;
  }
  // A name, then the modifiers in parentheses (`numeric(10,2)`, `character varying(20)`).
  const open = pgType.indexOf('(');
  const modifiers = open < 0 || !pgType.endsWith(')') ? [] : pgType.slice(open + 1, -1).split(',');
  if (!modifiers.every((m) => m !== '' && [...m].every((ch) => ch >= '0' && ch <= '9'))) return null;
  const known = FORMAT_TYPE_NAMES.get(open < 0 ? pgType : pgType.slice(0, open));
  if (!known || !known.modifiers.includes(modifiers.length)) return null;
  if (known.name === 'interval') return 'sa.Interval()';
  return sharedSpelling(known.name, modifiers.map(Number), 'postgresql.');
}

// ---------------------------------------------------------------------------------------------------------------
// For code without an import line, or null (the locking rules)

/**
 * The SQLAlchemy type for a built-in scalar type, spelled for code that imports nothing but `sa` (dialect types as
 * `sa.dialects.postgresql.X`); null for arrays, interval, inet, a time precision and types that are not built in.
 */
export function sqlAlchemyTypeWithoutImport(type: { base: string; mods: number[]; array: boolean }): string | null {
  if (type.array) return null;
  const [first, second] = type.mods;
  if (type.base === 'numeric' && first !== undefined && second === undefined) return `sa.Numeric(precision=${first}, scale=0)`;
  return sharedSpelling(type.base, type.mods, 'sa.dialects.postgresql.');
}
