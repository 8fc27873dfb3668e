// column-type-change: a type change that rewrites the table (observed, or known from the types) or can lose data (narrowing).
import type { Finding } from '../findings.js';
import { alterTableCommands, nodeAs, statementsOf, stringValues, type Node, type TypeName } from '../sql/ast.js';
import { lockAndData } from './migrations-run.js';
import { codeBlock, type Rule } from './rule.js';
import { typeNameOf } from './support/format-type.js';
import { takenBy } from './support/lock-phrases.js';
import { lockModeName, locksHeld, runsInTransaction, type HeldLock } from './support/locks.js';
import { existedBefore, findingAt, pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { py } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { inlineSql, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeWithoutImport } from './support/sqlalchemy-type.js';

export const columnTypeChange: Rule = {
  id: 'column-type-change',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    // Column types as the revision goes: the schema before it, then what its own statements set.
    const types = new Map<string, ColumnType>();
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        const column = command.column;
        if (!column || !command.name) continue;
        const key = `${site.revision.revision}\u0000${command.table}\u0000${command.name}`;
        if (command.subtype === 'AT_AddColumn') {
          const added = typeOf(column.typeName);
          if (added) types.set(key, { type: added, display: added.text });
          continue;
        }
        if (command.subtype !== 'AT_AlterColumnType') continue;
        const to = typeOf(column.typeName);
        if (!to) continue;
        const from = types.get(key) ?? typeBefore(site, command.table, command.name);
        const toDisplay = site.revision.after.tables.get(command.table)?.columns.find((c) => c.name === command.name)?.type;
        types.set(key, { type: to, display: toDisplay && parseFormatType(toDisplay)?.text === to.text ? toDisplay : to.text });
        if (!existedBefore(site, command.table)) continue;
        const change: Change = {
          table: command.table,
          column: command.name,
          from,
          to: types.get(key)!,
          verdict: from ? classify(from.type, to, column.raw_default ?? null, command.name) : { rewrite: 'unknown', narrowing: null },
          rewrote: site.statement.rewrote.includes(command.table),
        };
        const found = typeChangeFinding(site, change);
        if (found) findings.push(found);
      }
    }
    return findings;
  },
};

interface PgType {
  /** The type's name without pg_catalog: `varchar`, `int4`, `timestamptz`, `audit.mood`. */
  base: string;
  /** Integer type modifiers: length, precision and scale. */
  mods: number[];
  array: boolean;
  /** As typeNameText would print it: `varchar(50)`, `numeric(10,2)`, `int4[]`. */
  text: string;
}

interface ColumnType {
  type: PgType;
  /** For messages: format_type's wording (`character varying(50)`) when known. */
  display: string;
}

interface Verdict {
  /** Whether Postgres rewrites the table for this change: known yes/no, yes unless the session TimeZone is UTC, or not known. */
  rewrite: 'yes' | 'no' | 'unless-utc' | 'unknown';
  /** What existing values can do to the change: "values longer than 50 characters make it fail". */
  narrowing: string | null;
  /** The same kind of type, made smaller (varchar(100) -> varchar(50), bigint -> integer). */
  narrows?: boolean;
}

interface Change {
  table: string;
  column: string;
  from: ColumnType | null;
  to: ColumnType;
  verdict: Verdict;
  /** Observed: the table's relfilenode changed during the statement. */
  rewrote: boolean;
}

function typeChangeFinding(site: PullRequestStatement, change: Change): Finding | null {
  const { table, column, verdict } = change;
  const utc = verdict.rewrite === 'unless-utc' && !change.rewrote;
  if (utc && utcEarlierInTransaction(site)) return null;
  const rewrites = change.rewrote || verdict.rewrite === 'yes' || utc;
  if (!rewrites && !verdict.narrowing) return null;

  const sql = inlineSql(site.statement.sql);
  const fromTo = change.from ? ` from ${change.from.display} to ${change.to.display}` : ` to ${change.to.display}`;
  const what =
    change.from?.type.text === change.to.type.text
      ? `${sql} recomputes \`${table}.${column}\` (${change.to.display}) with its USING expression`
      : `${sql} ${verdict.narrows ? 'narrows' : 'changes'} \`${table}.${column}\`${fromTo}`;
  const held = locksHeld(site.revision, site.at.statement, [table], 'AccessExclusiveLock')?.[0] ?? null;
  const narrowing = verdict.narrowing ? `, and ${verdict.narrowing}` : '';
  let message: string;
  if (change.rewrote) {
    message = `${what}: it rewrote \`${table}\` (relfilenode changed) ${holding(held, site)}, so reads and writes wait for the whole rewrite${narrowing}.`;
  } else if (utc) {
    message =
      `${what}: the replay did not rewrite \`${table}\` (Postgres 12+ skips the rewrite when the session TimeZone is UTC), ` +
      'but under any other TimeZone Postgres rewrites the table while holding ACCESS EXCLUSIVE and reads the existing ' +
      'values as local times of that zone.';
  } else if (rewrites) {
    message = `${what}, which Postgres cannot do in place: it rewrites \`${table}\` while holding ACCESS EXCLUSIVE, so reads and writes wait for the whole rewrite${narrowing}.`;
  } else {
    message = `${what}: ${verdict.narrowing}.`;
  }
  const found: Finding = { ...findingAt(columnTypeChange, site, message, suggestion(change, utc)), object: `${table}.${column}` };
  // A rewrite that loses nothing is only about the lock; a narrowing without a rewrite only about the data.
  if (!rewrites) return { ...found, concern: 'data' };
  if (utc) {
    return lockAndData(found, {
      message:
        `${what}: Postgres converts the existing values in the session TimeZone, so unless the migration runs in UTC ` +
        '(as the replay did), values stored as UTC shift by its offset.',
      suggestion: utcSuggestion(change, dataAccept(`the database's TimeZone is UTC`), 'offline'),
    });
  }
  if (!verdict.narrowing) return { ...found, concern: 'lock' };
  return lockAndData(found, { message: `${what}: ${verdict.narrowing}.`, suggestion: narrowingSuggestion(change) });
}

function holding(held: HeldLock | null, site: PullRequestStatement): string {
  if (!held) return 'under the ACCESS EXCLUSIVE lock that ALTER COLUMN TYPE takes';
  const mode = lockModeName(held.mode);
  if (held.own) return `while holding ${mode} on it`;
  return `while holding the ${mode} lock that ${takenBy(held, site)} took on it in the same transaction`;
}

/** A `SET [LOCAL] TimeZone = 'UTC'` earlier in the migration's transaction: timestamp <-> timestamptz is then metadata-only (PG 12+). */
function utcEarlierInTransaction(site: PullRequestStatement): boolean {
  for (let i = site.at.statement - 1; i >= 0; i--) {
    const statement = site.revision.statements[i]!;
    if (!runsInTransaction(statement)) return false;
    for (const node of statementsOf(statement.ast)) {
      const set = nodeAs(node, 'VariableSetStmt');
      if (set?.kind !== 'VAR_SET_VALUE' || set.name !== 'timezone') continue;
      const value = nodeAs(set.args?.[0], 'A_Const')?.sval?.sval?.toLowerCase();
      return value === 'utc' || value === 'etc/utc' || value === 'gmt' || value === 'etc/gmt' || value === 'zulu';
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Suggestions

function suggestion(change: Change, utc: boolean): string {
  const { table, column } = change;
  const { schema, name: bare } = splitQualified(table);
  const schemaArg = schema ? `, schema=${py(schema)}` : '';
  const ignore = codeBlock('python', `# alembic-guard: ignore[column-type-change] ${bare} is small: the rewrite takes well under a second`);
  const accept =
    'Or, when the table is small or the deploy has a maintenance window, keep the change and say so on the line ' +
    `above the call:\n\n${ignore}`;

  if (utc) return utcSuggestion(change, accept);

  const limit = lengthLimit(change.to.type);
  if (change.verdict.narrowing && limit !== null && change.from && isString(change.from.type)) {
    const check = `ck_${bare}_${column}_length`.slice(0, 63);
    const condition = `char_length(${sqlIdentifier(column)}) <= ${limit}`;
    // The model keeps the old type too: with compare_type (Alembic's default since 1.12), a model that says the new
    // type makes autogenerate write this very type change again.
    const kept = sqlAlchemyTypeWithoutImport(change.from.type) ?? change.from.display;
    return (
      'To enforce the shorter limit without a rewrite, keep the type and add a CHECK constraint NOT VALID (no scan, ' +
      'an instant lock):\n\n' +
      // op.f(): a naming convention with %(constraint_name)s would otherwise rename it, and the raw VALIDATE would miss it.
      codeBlock('python', `op.create_check_constraint(op.f(${py(check)}), ${py(bare)}, ${py(condition)}${schemaArg}, postgresql_not_valid=True)`) +
      '\n\nThen validate it in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on); it fails on the ' +
      'values that are too long, so look for them first:\n\n' +
      codeBlock('python', `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`) +
      '\n\n' +
      codeBlock('sql', tooLongQuery(table, column, limit)) +
      `\n\nKeep the model as the database will be: \`${column}\` stays \`${kept}\` (with \`compare_type\`, ` +
      "Alembic's default since 1.12, a model saying the shorter type makes autogenerate write this change again), and the " +
      "limit is a CHECK constraint in the model's `__table_args__` (`conv()` keeps the name as written, as `op.f()` does):\n\n" +
      codeBlock('python', `sa.CheckConstraint(${py(condition)}, name=sa.schema.conv(${py(check)})),`) +
      `\n\n${accept}`
    );
  }

  const fresh = `${column}_new`.slice(0, 63);
  const saType = sqlAlchemyTypeWithoutImport(change.to.type);
  const add = saType
    ? `op.add_column(${py(bare)}, sa.Column(${py(fresh)}, ${saType}, nullable=True)${schemaArg})`
    : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ADD COLUMN ${sqlIdentifier(fresh)} ${sqlType(change.to.type)}`)})`;
  const swap = [
    `op.alter_column(${py(bare)}, ${py(column)}, new_column_name=${py(`${column}_old`)}${schemaArg})`,
    `op.alter_column(${py(bare)}, ${py(fresh)}, new_column_name=${py(column)}${schemaArg})`,
  ].join('\n');
  const narrowingNote = change.verdict.narrowing ? `; ${change.verdict.narrowing.replace(/ make it fail$/, ' make it fail too')}` : '';
  const oldType = change.from ? sqlAlchemyTypeWithoutImport(change.from.type) : null;
  return (
    'On a large table, change the type in steps instead. In this migration, a new column that the application ' +
    'writes (or a trigger fills) from now on:\n\n' +
    codeBlock('python', add) +
    `\n\nBackfill it in batches outside the migration (\`UPDATE ${sqlTable(table)} SET ${sqlIdentifier(fresh)} = ${sqlIdentifier(column)}::${sqlType(change.to.type)} ` +
    `WHERE ...\`${narrowingNote}), then, in a later migration, move defaults, indexes and constraints over and swap the names:\n\n` +
    codeBlock('python', swap) +
    // Autogenerate compares the models with each step's schema: the model has to follow the steps.
    `\n\nThe model follows each step: with this migration \`${column}\` keeps ${oldType ? `\`${oldType}\`` : 'its type'} and ` +
    `\`${fresh}\` is added with the new type; the swap gives \`${column}\` the new type and removes \`${fresh}\`.` +
    `\n\n${accept}`
  );
}

/**
 * timestamp <-> timestamptz when the stored values are UTC: SET LOCAL TimeZone = 'UTC' makes it metadata-only and
 * exact. `offline`: only the exactness matters.
 */
function utcSuggestion(change: Change, accept: string, reading: 'online' | 'offline' = 'online'): string {
  const { schema, name: bare } = splitQualified(change.table);
  const schemaArg = schema ? `, schema=${py(schema)}` : '';
  const saType = sqlAlchemyTypeWithoutImport(change.to.type) ?? 'sa.DateTime(timezone=True)';
  return (
    'If the stored values are UTC (as `datetime.utcnow` writes them), say so for this transaction: Postgres ' +
    (reading === 'online'
      ? '12+ then changes the type without a rewrite and reads the values as UTC.'
      : "then reads them as UTC, whatever the server's TimeZone.") +
    '\n\n' +
    codeBlock('python', `op.execute("SET LOCAL TimeZone = 'UTC'")\nop.alter_column(${py(bare)}, ${py(change.column)}, type_=${saType}${schemaArg})`) +
    `\n\n${accept}`
  );
}

/** With the app stopped the rewrite blocks no one: what is left is the values that do not fit. */
function narrowingSuggestion(change: Change): string {
  const { table, column } = change;
  const limit = lengthLimit(change.to.type);
  const find =
    limit !== null && change.from && isString(change.from.type)
      ? `Look for the values that do not fit first: the migration fails on the first one.\n\n${codeBlock('sql', tooLongQuery(table, column, limit))}\n\n` +
        'Fix them before this migration runs (or in it, before the ALTER).'
      : `Check the existing values of \`${table}.${column}\` before this migration runs: ${change.verdict.narrowing}.`;
  return `${find}\n\n${dataAccept(`every ${column} fits (checked)`)}`;
}

/** The ignore comment for a change whose data is known to come through. */
function dataAccept(reason: string): string {
  const ignore = codeBlock('python', `# alembic-guard: ignore[column-type-change] ${reason}`);
  return `When the existing values are known to come through, say so on the line above the call:\n\n${ignore}`;
}

function tooLongQuery(table: string, column: string, limit: number): string {
  return `SELECT count(*) FROM ${sqlTable(table)} WHERE char_length(${sqlIdentifier(column)}) > ${limit};`;
}

function sqlType(type: PgType): string {
  const name = type.base.split('.').map((part) => sqlIdentifier(part)).join('.');
  return `${name}${type.mods.length > 0 ? `(${type.mods.join(',')})` : ''}${type.array ? '[]' : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Type knowledge

function typeOf(typeName: TypeName | null | undefined): PgType | null {
  if (!typeName) return null;
  const parts = stringValues(typeName.names);
  if (parts.length === 0) return null;
  const base = parts[0] === 'pg_catalog' && parts.length === 2 ? parts[1]! : parts.length === 2 && parts[0] === 'public' ? parts[1]! : parts.join('.');
  const mods = (typeName.typmods ?? []).map((m) => {
    const constant = nodeAs(m, 'A_Const');
    return constant?.ival ? (constant.ival.ival ?? 0) : NaN;
  });
  if (mods.some(Number.isNaN)) return null;
  const array = (typeName.arrayBounds ?? []).length > 0;
  return { base, mods, array, text: `${base}${mods.length > 0 ? `(${mods.join(',')})` : ''}${array ? '[]' : ''}` };
}

/** A type as format_type prints it (`character varying(50)`, `timestamp with time zone`), read by Postgres's parser. */
function parseFormatType(text: string): PgType | null {
  return typeOf(typeNameOf(text));
}

function typeBefore(site: PullRequestStatement, table: string, column: string): ColumnType | null {
  const found = site.revision.before.tables.get(table)?.columns.find((c) => c.name === column);
  const type = found ? parseFormatType(found.type) : null;
  return found && type ? { type, display: found.type } : null;
}

const STRINGS = new Set(['varchar', 'text']);
const INTEGERS: Record<string, { rank: number; name: string }> = {
  int2: { rank: 2, name: 'smallint' },
  int4: { rank: 4, name: 'integer' },
  int8: { rank: 8, name: 'bigint' },
};
const FLOATS = new Set(['float4', 'float8']);
const TEMPORALS = new Set(['timestamp', 'timestamptz', 'time', 'timetz']);
// Built-in types whose conversions are known: any change between two of them that is not listed as metadata-only
// below rewrites the table. Changes involving other types (enums, domains, extensions) are judged on the observation.
const KNOWN = new Set([...STRINGS, 'bpchar', 'numeric', ...Object.keys(INTEGERS), ...FLOATS, ...TEMPORALS, 'date', 'bool', 'uuid', 'json', 'jsonb', 'bytea']);

function isString(type: PgType): boolean {
  return !type.array && (STRINGS.has(type.base) || type.base === 'bpchar');
}

/** The length limit of a varchar(n) / char(n), or null. */
function lengthLimit(type: PgType): number | null {
  return !type.array && (type.base === 'varchar' || type.base === 'bpchar') && type.mods[0] !== undefined ? type.mods[0] : null;
}

/**
 * Whether ALTER COLUMN ... TYPE rewrites the table, after Postgres's own rules: binary-coercible changes and length or
 * precision increases (varchar, numeric with the same scale, temporal precision) are metadata-only; so is
 * timestamp <-> timestamptz when the session TimeZone is UTC (PG 12+); a USING expression other than the column itself
 * rewrites.
 */
function classify(from: PgType, to: PgType, using: Node | null, column: string): Verdict {
  const usingItself = using === null || stringValues(nodeAs(using, 'ColumnRef')?.fields).join('.') === column;
  const verdict = classifyTypes(from, to);
  if (!usingItself && verdict.rewrite !== 'yes') return { ...verdict, rewrite: 'yes' };
  return verdict;
}

function classifyTypes(from: PgType, to: PgType): Verdict {
  if (from.text === to.text) return { rewrite: 'no', narrowing: null };
  const bothKnown = KNOWN.has(from.base) && KNOWN.has(to.base);
  // Any change of an array type goes through an array coercion, which rewrites (text[] -> varchar[] included, on PG 15).
  if (from.array || to.array) return { rewrite: bothKnown ? 'yes' : 'unknown', narrowing: null };
  if (!bothKnown) return { rewrite: 'unknown', narrowing: null };

  const fromLimit = lengthLimit(from);
  const toLimit = lengthLimit(to);
  if (STRINGS.has(from.base) && STRINGS.has(to.base)) {
    if (toLimit === null) return { rewrite: 'no', narrowing: null };
    if (fromLimit !== null && fromLimit <= toLimit) return { rewrite: 'no', narrowing: null };
    return { rewrite: 'yes', narrowing: `values longer than ${toLimit} characters make it fail`, narrows: true };
  }
  if (to.base === 'bpchar' && isString(from)) {
    const narrowing = toLimit !== null && (fromLimit === null || fromLimit > toLimit) ? `values longer than ${toLimit} characters make it fail` : null;
    return { rewrite: 'yes', narrowing, narrows: narrowing !== null };
  }
  if (from.base === 'numeric' && to.base === 'numeric') return classifyNumeric(from, to);
  if (from.base === to.base && TEMPORALS.has(from.base)) {
    const fromPrecision = from.mods[0] ?? 6;
    const toPrecision = to.mods[0];
    if (toPrecision === undefined || toPrecision >= fromPrecision) return { rewrite: 'no', narrowing: null };
    return { rewrite: 'yes', narrowing: `fractional seconds are rounded to ${toPrecision} digits`, narrows: true };
  }
  const timestamps = new Set(['timestamp', 'timestamptz']);
  if (timestamps.has(from.base) && timestamps.has(to.base)) {
    const toPrecision = to.mods[0];
    if (toPrecision !== undefined && toPrecision < (from.mods[0] ?? 6)) {
      return { rewrite: 'yes', narrowing: `fractional seconds are rounded to ${toPrecision} digits` };
    }
    return { rewrite: 'unless-utc', narrowing: null };
  }
  const narrowing = narrowingAcross(from, to);
  const sameKind = (INTEGERS[from.base] && INTEGERS[to.base]) || (FLOATS.has(from.base) && FLOATS.has(to.base));
  return { rewrite: 'yes', narrowing, narrows: Boolean(sameKind) && narrowing !== null };
}

function classifyNumeric(from: PgType, to: PgType): Verdict {
  if (to.mods.length === 0) return { rewrite: 'no', narrowing: null };
  const [toPrecision = 0, toScale = 0] = to.mods;
  const toDigits = toPrecision - toScale;
  if (from.mods.length === 0) {
    return {
      rewrite: 'yes',
      narrowing: `values with more than ${toDigits} digits before the decimal point make it fail, and decimals beyond ${toScale} are rounded away`,
      narrows: true,
    };
  }
  const [fromPrecision = 0, fromScale = 0] = from.mods;
  if (toScale === fromScale && toPrecision >= fromPrecision) return { rewrite: 'no', narrowing: null };
  const problems: string[] = [];
  if (toDigits < fromPrecision - fromScale) problems.push(`values with more than ${toDigits} digits before the decimal point make it fail`);
  if (toScale < fromScale) problems.push(`decimals beyond ${toScale} are rounded away`);
  return { rewrite: 'yes', narrowing: problems.length > 0 ? problems.join(', and ') : null, narrows: problems.length > 0 };
}

function narrowingAcross(from: PgType, to: PgType): string | null {
  const toInteger = INTEGERS[to.base];
  const fromInteger = INTEGERS[from.base];
  if (toInteger && fromInteger && fromInteger.rank > toInteger.rank) return `values outside the ${toInteger.name} range make it fail`;
  if (toInteger && (from.base === 'numeric' || FLOATS.has(from.base))) return `fractions are rounded and values outside the ${toInteger.name} range make it fail`;
  if (from.base === 'float8' && to.base === 'float4') return 'values lose precision beyond about 6 significant digits';
  if (isString(from) && !isString(to)) return `values that do not read as ${TYPE_NAMES[to.base] ?? to.text} make it fail`;
  if (timestampLike(from) && to.base === 'date') return 'the time of day is dropped';
  return null;
}

const TYPE_NAMES: Record<string, string> = {
  bool: 'boolean',
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  timestamp: 'timestamp',
  timestamptz: 'timestamp with time zone',
  timetz: 'time with time zone',
};

function timestampLike(type: PgType): boolean {
  return type.base === 'timestamp' || type.base === 'timestamptz';
}
