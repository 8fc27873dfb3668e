// Reads the user-visible schema of a database from pg_catalog into a `Schema`, in one round trip, fast enough to run after every migration.

import pg from 'pg';
import type { DisposablePostgres } from '../postgres/provider.js';
import type { Column, Constraint, Index, Schema, Table } from './schema.js';

export interface SnapshotOptions {
  /** Alembic's version table (its `version_table` setting); left out of the snapshot in every schema. */
  versionTable?: string;
}

/**
 * A client on the disposable server, named so it can be told apart in pg_stat_activity and pg_locks: on its scratch
 * database unless another one of the server is named.
 */
export async function connect(server: DisposablePostgres, database = server.database, options: { connectionTimeoutMillis?: number } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    application_name: 'alembic-guard',
    ...options,
  });
  await client.connect();
  return client;
}

/**
 * Snapshot of every table, view, index, constraint and enum outside the system schemas, without Alembic's version table.
 * The four catalog queries travel as one simple-protocol message: one round trip, and one implicit transaction,
 * so they all see the same catalog state.
 */
export async function snapshotSchema(client: pg.Client | pg.PoolClient, options: SnapshotOptions = {}): Promise<Schema> {
  const versionTable = options.versionTable ?? 'alembic_version';
  // A multi-statement text query resolves to one result per statement; @types/pg types it as a single result.
  const results = (await client.query(snapshotSql(client.escapeLiteral(versionTable)))) as unknown as pg.QueryResult[];
  if (!Array.isArray(results) || results.length !== 4) {
    throw new Error(`schema snapshot: expected 4 result sets, got ${Array.isArray(results) ? results.length : 1}`);
  }
  return readSchema(results.map((result) => result.rows) as SnapshotRows);
}

/**
 * The same snapshot as one query returning one text value (the four row sets as JSON), for a connection alembic-guard
 * does not own: the migration's own, inside its transaction, through whatever driver the project uses.
 */
export function snapshotAsJsonSql(options: SnapshotOptions = {}): string {
  const versionTable = `'${(options.versionTable ?? 'alembic_version').replace(/'/g, "''")}'`;
  const parts = [columnsSql(versionTable), indexesSql(versionTable), constraintsSql(versionTable), ENUMS_SQL].map(
    (sql) => `(SELECT coalesce(json_agg(q), '[]'::json) FROM (${sql}) q)`,
  );
  return `SELECT json_build_array(${parts.join(', ')})::text`;
}

/** A Schema from the text `snapshotAsJsonSql` returns. */
export function schemaFromJson(text: string): Schema {
  return readSchema(JSON.parse(text) as SnapshotRows);
}

type SnapshotRows = [ColumnRow[], IndexRow[], ConstraintRow[], EnumRow[]];

function readSchema([columnRows, indexRows, constraintRows, enumRows]: SnapshotRows): Schema {
  return {
    tables: readTables(columnRows),
    indexes: readIndexes(indexRows),
    constraints: constraintRows.map(readConstraint),
    enums: new Map(enumRows.map((row) => [row.name, row.labels])),
  };
}

// `name` columns and `name[]` arrays are cast to text: pg parses text[] but leaves name[] as a raw string.
// A relation's name is qualified only outside `public`, the way migrations and messages spell it.
export const qualified = (schema: string, name: string) => `CASE WHEN ${schema} = 'public' THEN ${name}::text ELSE ${schema}::text || '.' || ${name}::text END`;

// System schemas: pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N (a user cannot create a schema named pg_*), information_schema.
export const USER_NAMESPACE = `n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`;

/** The four catalog queries as one simple-protocol text; it cannot bind parameters, so the version table comes as a quoted literal. */
function snapshotSql(versionTable: string): string {
  return [columnsSql(versionTable), indexesSql(versionTable), constraintsSql(versionTable), ENUMS_SQL].join(';\n');
}

/** One row per column (or one with null column fields for a relation without columns), in attnum order. */
const columnsSql = (versionTable: string) => `
SELECT ${qualified('n.nspname', 'c.relname')} AS name, n.nspname::text AS schema, c.oid, c.relfilenode,
       c.relkind AS kind, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${USER_NAMESPACE} AND c.relname <> ${versionTable}
ORDER BY n.nspname, c.relname, a.attnum`;

/** Key columns by name, expression columns as their expression text. */
const indexesSql = (versionTable: string) => `
SELECT ${qualified('n.nspname', 'ic.relname')} AS name, ${qualified('n.nspname', 'tc.relname')} AS table,
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

/** Table constraints only (domain constraints have conrelid = 0). */
const constraintsSql = (versionTable: string) => `
SELECT co.conname::text AS name, ${qualified('n.nspname', 'tc.relname')} AS table, co.contype AS type,
       pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum
         ORDER BY k.position
       ) AS columns,
       CASE WHEN co.contype = 'f' THEN ${qualified('rn.nspname', 'rc.relname')} END AS referenced_table
FROM pg_constraint co
JOIN pg_class tc ON tc.oid = co.conrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
LEFT JOIN pg_class rc ON rc.oid = co.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE ${USER_NAMESPACE} AND tc.relname <> ${versionTable}
ORDER BY 2, 1`;

/** Every enum type outside the system schemas with its labels in order (`and`: a further condition on `t`, the type). */
export const enumsSql = (and = 'true') => `
SELECT ${qualified('n.nspname', 't.typname')} AS name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ${USER_NAMESPACE} AND ${and}
ORDER BY 1`;

const ENUMS_SQL = enumsSql();

interface ColumnRow {
  name: string;
  schema: string;
  oid: number;
  relfilenode: number;
  kind: string;
  column: string | null;
  type: string;
  not_null: boolean;
  default: string | null;
  identity: string;
  generated: string;
}

interface IndexRow {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  definition: string;
  columns: string[];
}

interface ConstraintRow {
  name: string;
  table: string;
  type: string;
  definition: string;
  validated: boolean;
  columns: string[];
  referenced_table: string | null;
}

interface EnumRow {
  name: string;
  labels: string[];
}

function readTables(rows: ColumnRow[]): Map<string, Table> {
  const tables = new Map<string, Table>();
  for (const row of rows) {
    let table = tables.get(row.name);
    if (!table) {
      table = { name: row.name, schema: row.schema, oid: row.oid, relfilenode: row.relfilenode, kind: row.kind, columns: [] };
      tables.set(row.name, table);
    }
    if (row.column === null) continue;
    const column: Column = {
      name: row.column,
      type: row.type,
      notNull: row.not_null,
      default: row.default,
      identity: row.identity,
      generated: row.generated,
    };
    table.columns.push(column);
  }
  return tables;
}

function readIndexes(rows: IndexRow[]): Map<string, Index> {
  return new Map(
    rows.map((row) => [
      row.name,
      { name: row.name, table: row.table, unique: row.unique, primary: row.primary, valid: row.valid, definition: row.definition, columns: row.columns },
    ]),
  );
}

function readConstraint(row: ConstraintRow): Constraint {
  return {
    name: row.name,
    table: row.table,
    type: row.type,
    definition: row.definition,
    validated: row.validated,
    columns: row.columns,
    referencedTable: row.referenced_table,
  };
}
