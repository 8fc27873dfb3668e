// not-null-without-default: a NOT NULL column added to an existing table with no server default. Also, until they
// get a module of their own, what the three nullability rules share: the pull request's statements in order with
// the tables that existed before it, the lock a statement ran under, and Alembic code with the real names and types.
import type { Evidence, RevisionEvidence, StatementEvidence } from '../evidence/evidence.js';
import type { Finding } from '../findings.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { Schema } from '../schema/schema.js';
import {
  alterTableCommands,
  columnConstraints,
  dropStatement,
  isSerialType,
  nodeAs,
  relationName,
  renameStatement,
  statementsOf,
  stringValues,
  type ColumnDef,
  type Node,
  type TypeName,
} from '../sql/ast.js';
import { parseStatement } from '../sql/parse.js';
import { codeBlock, finding, type Rule } from './rule.js';

export const notNullWithoutDefault: Rule = {
  id: 'not-null-without-default',
  severity: 'error',
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings: Finding[] = [];
    for (const context of pullRequestStatements(graph, evidence)) {
      for (const cmd of alterTableCommands(context.node)) {
        if (cmd.objectType !== 'OBJECT_TABLE' || !context.existing.has(cmd.table)) continue;
        if (cmd.subtype === 'AT_AddColumn' && cmd.column) {
          const found = addedWithoutDefault(context, cmd.table, cmd.column);
          if (found) findings.push(found);
        } else if (cmd.subtype === 'AT_SetNotNull' && cmd.name) {
          const added = context.added.get(columnKey(cmd.table, cmd.name));
          const found = added ? madeNotNullWithoutBackfill(context, added) : null;
          if (found) findings.push(found);
        }
      }
    }
    return findings;
  },
};

/** `ADD COLUMN ... NOT NULL` with nothing to fill the rows already there. */
function addedWithoutDefault(context: PullRequestStatement, table: string, column: ColumnDef): Finding | null {
  const constraints = columnConstraints(column);
  // Identity, serial and generated columns fill every row (volatile-default speaks about the rewrite that costs).
  if (!constraints.notNull || constraints.hasDefault || constraints.identity || constraints.generated || isSerialType(column.typeName)) return null;
  const proof = context.statement.proof;
  // It worked on a table holding a row (a domain with a default, rows deleted first...): nothing to report.
  if (proof && 'error' in proof && proof.error === null) return null;
  const name = column.colname ?? '';
  const sql = statementText(context.statement);
  const message = proofFailure(proof)
    ? `${sql} fails on a table with rows: ${proofFailure(proof)}.`
    : `${sql} adds a NOT NULL column with no default to the existing table \`${table}\`, which fails ("column contains null values") ` +
      `as soon as the table holds a row; the replay's empty table hides it${proofSkipped(proof)}.`;
  const type = alembicType(column.typeName, context.revision.before);
  const value = backfillValue(column.typeName, context.revision.before);
  const steps = [
    `op.add_column(${tableArgs(table)}, sa.Column(${py(name)}, ${type.code}, nullable=True)${schemaArg(table)})`,
    backfillCode(table, name, value, { batchKey: null, todo: true }),
    alterNotNull(table, name, type),
  ];
  const parts = [
    'Add the column nullable, fill the existing rows, then make it NOT NULL:',
    codeBlock('python', withImports(steps, [type])),
  ];
  if (value.constant) {
    parts.push(
      'Or give it a constant server default (PostgreSQL 11+ stores it once, without touching the rows):',
      codeBlock(
        'python',
        withImports(
          [`op.add_column(${tableArgs(table)}, sa.Column(${py(name)}, ${type.code}, nullable=False, server_default=sa.text(${py(value.sql)}))${schemaArg(table)})`],
          [type],
        ),
      ),
    );
  }
  return finding(notNullWithoutDefault, {
    message,
    file: context.file,
    line: context.statement.line,
    revision: context.revision.revision,
    suggestion: parts.join('\n\n'),
  });
}

/**
 * `SET NOT NULL` on a column the pull request added nullable to an existing table, with nothing filling it in
 * between: the same failure as adding it NOT NULL, in two steps. Only reported on the one-row proof, and only when
 * that proof saw every statement since the column was added (an UPDATE in an earlier revision was not replayed on it).
 */
function madeNotNullWithoutBackfill(context: PullRequestStatement, added: AddedColumn): Finding | null {
  const failure = proofFailure(context.statement.proof);
  if (!failure) return null;
  if ((context.updates.get(added.table) ?? []).some((at) => after(at, added.at) && at.revision < context.at.revision)) return null;
  const name = added.column.colname ?? '';
  const table = added.table;
  const where = added.revision === context.revision.revision ? `line ${added.line}` : `line ${added.line} of ${added.file}`;
  const type = alembicType(added.column.typeName, context.revision.before);
  const value = backfillValue(added.column.typeName, context.revision.before);
  return finding(notNullWithoutDefault, {
    message:
      `${statementText(context.statement)} fails on a table with rows: nothing fills \`${name}\` (added to \`${table}\` at ${where}) ` +
      `before it is made NOT NULL, and ${failure}.`,
    file: context.file,
    line: context.statement.line,
    revision: context.revision.revision,
    suggestion: [
      'Fill the existing rows before making the column NOT NULL:',
      codeBlock('python', withImports([backfillCode(table, name, value, { batchKey: null, todo: true }), alterNotNull(table, name, type)], [type])),
    ].join('\n\n'),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The pull request's statements in order, with what existed before them (shared with set-not-null, volatile-default)

export interface Position {
  /** Index in evidence.revisions. */
  revision: number;
  /** Index in that revision's statements. */
  statement: number;
}

export interface AddedColumn {
  table: string;
  column: ColumnDef;
  revision: string;
  file: string | null;
  line: number | null;
  at: Position;
}

export interface PullRequestStatement {
  revision: RevisionEvidence;
  /** The revision's file, relative to the repository root. */
  file: string | null;
  at: Position;
  statement: StatementEvidence;
  /** One statement of the parsed SQL (a captured string can hold several). */
  node: Node;
  /** Tables that existed before the pull request, under their current names, not dropped or re-created since. */
  existing: ReadonlySet<string>;
  /** Columns the pull request added before this statement, by columnKey(table, column). */
  added: ReadonlyMap<string, AddedColumn>;
  /** Where the pull request ran an UPDATE on each table before this statement. */
  updates: ReadonlyMap<string, readonly Position[]>;
}

export function columnKey(table: string, column: string): string {
  return `${table}\u0000${column}`;
}

export function after(a: Position, b: Position): boolean {
  return a.revision > b.revision || (a.revision === b.revision && a.statement > b.statement);
}

/**
 * Every parsed statement of the new revisions, in the order they ran, each with the state just before it: a table
 * created by the pull request (even under the name of one it dropped) is not existing; a renamed existing table is.
 */
export function pullRequestStatements(graph: MigrationGraph, evidence: Evidence): PullRequestStatement[] {
  const existing = new Set(evidence.baseline.tables.keys());
  const added = new Map<string, AddedColumn>();
  const updates = new Map<string, Position[]>();
  const result: PullRequestStatement[] = [];
  evidence.revisions.forEach((revision, r) => {
    const file = graph.byId.get(revision.revision)?.file ?? null;
    revision.statements.forEach((statement, s) => {
      const at = { revision: r, statement: s };
      for (const node of statementsOf(statement.ast)) {
        result.push({ revision, file, at, statement, node, existing: new Set(existing), added: new Map(added), updates: new Map(updates) });
        const forgetColumns = (table: string) => {
          for (const [key, column] of added) if (column.table === table) added.delete(key);
        };
        const created = createdTable(node);
        if (created !== null) {
          existing.delete(created);
          forgetColumns(created);
        }
        const dropped = dropStatement(node);
        if (dropped?.objectType === 'table') {
          for (const name of dropped.names) {
            existing.delete(name);
            forgetColumns(name);
          }
        }
        const renamed = renameStatement(node);
        if (renamed?.objectType === 'table') {
          if (existing.delete(renamed.from)) existing.add(renamed.to);
          else existing.delete(renamed.to);
          for (const [key, column] of [...added]) {
            if (column.table !== renamed.from) continue;
            added.delete(key);
            added.set(columnKey(renamed.to, column.column.colname ?? ''), { ...column, table: renamed.to });
          }
        } else if (renamed?.objectType === 'column') {
          const column = added.get(columnKey(renamed.table, renamed.from));
          if (column) {
            added.delete(columnKey(renamed.table, renamed.from));
            added.set(columnKey(renamed.table, renamed.to), { ...column, column: { ...column.column, colname: renamed.to } });
          }
        }
        for (const cmd of alterTableCommands(node)) {
          if (cmd.objectType !== 'OBJECT_TABLE' || !cmd.name) continue;
          if (cmd.subtype === 'AT_AddColumn' && cmd.column) {
            added.set(columnKey(cmd.table, cmd.name), { table: cmd.table, column: cmd.column, revision: revision.revision, file, line: statement.line, at });
          } else if (cmd.subtype === 'AT_DropColumn') {
            added.delete(columnKey(cmd.table, cmd.name));
          }
        }
        const update = nodeAs(node, 'UpdateStmt');
        if (update?.relation) {
          const table = relationName(update.relation);
          updates.set(table, [...(updates.get(table) ?? []), at]);
        }
      }
    });
  });
  return result;
}

/** The table a CREATE TABLE, CREATE TABLE AS or SELECT INTO makes, else null. */
function createdTable(node: Node): string | null {
  const create = nodeAs(node, 'CreateStmt');
  if (create?.relation) return relationName(create.relation);
  const createAs = nodeAs(node, 'CreateTableAsStmt');
  if (createAs?.into?.rel && createAs.objtype !== 'OBJECT_MATVIEW') return relationName(createAs.into.rel);
  const select = nodeAs(node, 'SelectStmt');
  if (select?.intoClause?.rel) return relationName(select.intoClause.rel);
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Observations, in words

/** The statement as it ran, as a code span for a message (its first line when it runs over several). */
export function statementText(statement: StatementEvidence): string {
  const sql = statement.sql.trim();
  const lines = sql.split('\n');
  const first = lines[0]!.trim();
  return `\`${lines.length > 1 || first.length > 200 ? `${first.slice(0, 200)} …` : first}\``;
}

/** "Postgres answered `...` when re-run with one row in `users`", or null when the proof did not fail. */
export function proofFailure(proof: StatementEvidence['proof']): string | null {
  if (!proof || !('error' in proof) || proof.error === null) return null;
  return `Postgres answered \`${proof.error}\` when re-run with one row in \`${proof.table}\``;
}

function proofSkipped(proof: StatementEvidence['proof']): string {
  return proof && 'skipped' in proof ? ` (the one-row proof was skipped: ${proof.skipped})` : '';
}

const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** `AccessExclusiveLock` -> `ACCESS EXCLUSIVE`. */
export function lockName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .split(/(?=[A-Z])/)
    .join(' ')
    .toUpperCase();
}

export interface HeldLock {
  mode: string;
  /** Index in the revision's statements of the statement that took it. */
  takenBy: number;
  line: number | null;
}

/**
 * The strongest lock on `relation` held while statement `index` of the revision ran: taken by it or by an earlier
 * statement of the same transaction (pg_locks shows each statement only the modes it newly took). Of equal modes
 * the latest taking wins: after a commit (an autocommit block) a statement takes its locks again.
 */
export function lockHeld(revision: RevisionEvidence, index: number, relation: string): HeldLock | null {
  let held: HeldLock | null = null;
  revision.statements.slice(0, index + 1).forEach((statement, i) => {
    for (const lock of statement.locks) {
      if (lock.relation !== relation) continue;
      if (!held || LOCK_MODES.indexOf(lock.mode) >= LOCK_MODES.indexOf(held.mode)) held = { mode: lock.mode, takenBy: i, line: statement.line };
    }
  });
  return held;
}

/**
 * "took ACCESS EXCLUSIVE on `users`", or "ran under the ACCESS EXCLUSIVE lock on `users` taken at line 18" when an
 * earlier statement of the transaction took it; Postgres's rule ("takes ...") when nothing was observed.
 */
export function lockPhrase(held: HeldLock | null, index: number, table: string, expected = 'AccessExclusiveLock'): string {
  if (!held) return `takes ${lockName(expected)} on \`${table}\``;
  if (held.takenBy === index) return `took ${lockName(held.mode)} on \`${table}\``;
  return `ran under the ${lockName(held.mode)} lock on \`${table}\` taken ${takenWhere(held)}`;
}

/** "ACCESS EXCLUSIVE on it", or "... on it (taken at line 18)" when an earlier statement took it. */
export function lockHolding(held: HeldLock | null, index: number, expected = 'AccessExclusiveLock'): string {
  if (!held) return `${lockName(expected)} on it`;
  return `${lockName(held.mode)} on it${held.takenBy === index ? '' : ` (taken ${takenWhere(held)})`}`;
}

function takenWhere(held: HeldLock): string {
  return held.line === null ? 'earlier in the revision' : `at line ${held.line}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Alembic code with the real names

/** A Python string literal. */
export function py(text: string): string {
  if (text.includes('"') && !text.includes("'")) return `'${text.replace(/\\/g, '\\\\')}'`;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function splitTable(table: string): { schema: string | null; name: string } {
  const dot = table.indexOf('.');
  return dot < 0 ? { schema: null, name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

/** The table argument of an op.* call (the bare name; its schema goes in schemaArg). */
export function tableArgs(table: string): string {
  return py(splitTable(table).name);
}

/** `, schema="audit"` for a table outside public, else ''. */
export function schemaArg(table: string): string {
  const { schema } = splitTable(table);
  return schema ? `, schema=${py(schema)}` : '';
}

/** The bare table name (for naming constraints and sequences). */
export function bareTable(table: string): string {
  return splitTable(table).name;
}

// Postgres's reserved key words: an identifier spelled like one must be quoted.
const RESERVED = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column ' +
    'concurrently constraint create cross current_catalog current_date current_role current_schema current_time ' +
    'current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze ' +
    'from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit ' +
    'localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references ' +
    'returning right select session_user similar some symmetric system_user table tablesample then to trailing true union ' +
    'unique user using variadic verbose when where window with'
  ).split(' '),
);

/** An identifier for SQL, quoted only when it must be. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A table name for SQL (`audit.events`). */
export function sqlTable(table: string): string {
  const { schema, name } = splitTable(table);
  return schema ? `${sqlIdentifier(schema)}.${sqlIdentifier(name)}` : sqlIdentifier(name);
}

export interface PythonType {
  /** `sa.String(length=20)`. */
  code: string;
  /** Uses `postgresql.` (needs `from sqlalchemy.dialects import postgresql`). */
  dialect: boolean;
  /** False when the type is not one this knows: `code` is then a placeholder to replace. */
  known: boolean;
}

/** The lines, with the dialect import first when a type needs it. */
export function withImports(lines: string[], types: (PythonType | null)[]): string {
  const importLine = types.some((t) => t?.dialect) ? ['from sqlalchemy.dialects import postgresql', ''] : [];
  return [...importLine, ...lines].join('\n');
}

/** The SQLAlchemy type for a column type as Postgres's parser read it (`VARCHAR(20)` -> `sa.String(length=20)`). */
export function alembicType(typeName: TypeName | null | undefined, schema: Schema | null = null): PythonType {
  if (!typeName) return { code: 'sa.Text()  # TODO: the column type', dialect: false, known: false };
  const names = stringValues(typeName.names);
  const mods = (typeName.typmods ?? []).map((m) => nodeAs(m, 'A_Const')?.ival?.ival ?? 0);
  const bounds = typeName.arrayBounds ?? [];
  let type = scalarType(names, mods, schema);
  for (let i = 0; i < bounds.length; i++) type = { code: `postgresql.ARRAY(${type.code})`, dialect: true, known: type.known };
  return type;
}

function scalarType(names: string[], mods: number[], schema: Schema | null): PythonType {
  const sa = (code: string): PythonType => ({ code, dialect: false, known: true });
  const pg = (code: string): PythonType => ({ code, dialect: true, known: true });
  const builtin = names.length === 1 || names[0] === 'pg_catalog';
  const base = names.at(-1) ?? '';
  const [first, second] = mods;
  if (builtin) {
    switch (base) {
      case 'varchar':
        return sa(first ? `sa.String(length=${first})` : 'sa.String()');
      case 'bpchar':
        return sa(first ? `sa.CHAR(length=${first})` : 'sa.CHAR()');
      case 'text':
        return sa('sa.Text()');
      case 'int2':
      case 'smallserial':
      case 'serial2':
        return sa('sa.SmallInteger()');
      case 'int4':
      case 'serial':
      case 'serial4':
        return sa('sa.Integer()');
      case 'int8':
      case 'bigserial':
      case 'serial8':
        return sa('sa.BigInteger()');
      case 'bool':
        return sa('sa.Boolean()');
      case 'numeric':
        return sa(second !== undefined ? `sa.Numeric(precision=${first}, scale=${second})` : first !== undefined ? `sa.Numeric(precision=${first})` : 'sa.Numeric()');
      case 'float4':
        return sa('sa.REAL()');
      case 'float8':
        return sa('sa.Float()');
      case 'timestamp':
        return first !== undefined ? pg(`postgresql.TIMESTAMP(precision=${first})`) : sa('sa.DateTime()');
      case 'timestamptz':
        return first !== undefined ? pg(`postgresql.TIMESTAMP(timezone=True, precision=${first})`) : sa('sa.DateTime(timezone=True)');
      case 'date':
        return sa('sa.Date()');
      case 'time':
        return sa('sa.Time()');
      case 'timetz':
        return sa('sa.Time(timezone=True)');
      case 'interval':
        return sa('sa.Interval()');
      case 'uuid':
        return pg('postgresql.UUID()');
      case 'json':
        return sa('sa.JSON()');
      case 'jsonb':
        return pg('postgresql.JSONB()');
      case 'bytea':
        return sa('sa.LargeBinary()');
      case 'inet':
        return pg('postgresql.INET()');
      case 'cidr':
        return pg('postgresql.CIDR()');
      default:
        break;
    }
  }
  const qualified = names[0] === 'public' && names.length === 2 ? names[1]! : names.join('.');
  if (schema?.enums.has(qualified)) {
    const { schema: enumSchema, name } = splitTable(qualified);
    return pg(`postgresql.ENUM(name=${py(name)}, create_type=False${enumSchema ? `, schema=${py(enumSchema)}` : ''})`);
  }
  return { code: `sa.Text()  # TODO: the column type, ${qualified}`, dialect: false, known: false };
}

/** The type of `table.column` in a schema snapshot, read by Postgres's parser from what format_type printed. */
export function schemaColumnType(schema: Schema, table: string, column: string): TypeName | null {
  const type = schema.tables.get(table)?.columns.find((c) => c.name === column)?.type;
  if (!type) return null;
  const [stmt] = statementsOf(parseStatement(`SELECT NULL::${type}`));
  const target = nodeAs(nodeAs(stmt, 'SelectStmt')?.targetList?.[0], 'ResTarget');
  return nodeAs(target?.val, 'TypeCast')?.typeName ?? null;
}

export interface BackfillValue {
  /** SQL for the value existing rows get. */
  sql: string;
  /** A constant (usable as a metadata-only server default), not something computed per row. */
  constant: boolean;
}

/** A value of the column's type to start the backfill from: the developer chooses the real one. */
export function backfillValue(typeName: TypeName | null | undefined, schema: Schema | null = null): BackfillValue {
  const names = stringValues(typeName?.names);
  const base = names.at(-1) ?? '';
  const constant = (sql: string): BackfillValue => ({ sql, constant: true });
  if ((typeName?.arrayBounds ?? []).length > 0) return constant("'{}'");
  const qualified = names[0] === 'public' && names.length === 2 ? names[1]! : names.join('.');
  const labels = schema?.enums.get(qualified);
  if (labels && labels.length > 0) return constant(`'${labels[0]!.replace(/'/g, "''")}'`);
  switch (base) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'numeric':
    case 'float4':
    case 'float8':
      return constant('0');
    case 'bool':
      return constant('false');
    case 'timestamp':
    case 'timestamptz':
      return constant('now()');
    case 'date':
      return constant('current_date');
    case 'time':
    case 'timetz':
      return constant("'00:00'");
    case 'interval':
      return constant("'0'");
    case 'json':
    case 'jsonb':
      return constant("'{}'");
    case 'uuid':
      return { sql: 'gen_random_uuid()', constant: false };
    default:
      return constant("''");
  }
}

/** The single-column primary key of `table`, or null. */
export function primaryKey(schema: Schema, table: string): string | null {
  const pk = schema.constraints.find((c) => c.table === table && c.type === 'p');
  return pk && pk.columns.length === 1 ? pk.columns[0]! : null;
}

/**
 * Python that fills `column` where it is NULL. With `batchKey` (a one-column primary key): in batches of 10,000
 * rows, each committed on its own, so that no lock is held on the whole table for the whole backfill; without it,
 * one UPDATE in the migration's transaction. `todo` marks the value as one the developer has to choose.
 */
export function backfillCode(table: string, column: string, value: BackfillValue, options: { batchKey: string | null; todo: boolean }): string {
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  if (options.batchKey === null) {
    const note = options.todo ? '  # TODO: the value existing rows get; in batches on a big table' : '';
    return `op.execute(${py(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${c} IS NULL`)})${note}`;
  }
  const k = sqlIdentifier(options.batchKey);
  return [
    `# Fill the existing rows in batches, each in its own transaction.${options.todo ? ' TODO: the value existing rows get.' : ''}`,
    'with op.get_context().autocommit_block():',
    '    while op.get_bind().execute(sa.text(',
    `        ${py(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${c} IS NULL LIMIT 10000)`)}`,
    '    )).rowcount:',
    '        pass',
  ].join('\n');
}

/** `op.alter_column(table, column, nullable=False, existing_type=...)`. */
export function alterNotNull(table: string, column: string, type: PythonType | null): string {
  const existing = type?.known ? `, existing_type=${type.code}` : '';
  return `op.alter_column(${tableArgs(table)}, ${py(column)}, nullable=False${existing}${schemaArg(table)})`;
}
