// The catalog model-drift compares: per column, index, CHECK/foreign key/exclusion constraint and enum, the
// properties autogenerate leaves out, as the server itself prints them (format_type, pg_get_expr, pg_get_indexdef,
// pg_get_constraintdef), so that two databases on one server compare as text. Extension members are left out.
import type pg from 'pg';
import { enumsSql, qualified, USER_NAMESPACE } from './introspect.js';

export interface CatalogColumn {
  table: string;
  name: string;
  /** format_type: `character varying(50)`, `status[]`. */
  type: string;
  notNull: boolean;
  /** The enum type of the column (or of its array's elements), qualified outside `public`; null for other types. */
  enumType: string | null;
  /** The column's collation when it is not its type's default one. */
  collation: string | null;
  /** pg_get_expr of the default, or of the generation expression of a generated column. */
  default: string | null;
  /** 'a' always, 'd' by default, '' not an identity column. */
  identity: string;
  /** 's' stored generated, 'v' virtual (PG 18), '' neither. */
  generated: string;
  /** The sequence the column owns (serial or identity), with its data type. */
  sequence: { name: string; type: string } | null;
}

export interface CatalogIndex {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  /** Access method: btree, hash, gin, gist, brin, spgist. */
  method: string;
  /** pg_get_indexdef without `CREATE [UNIQUE] INDEX name ON `: `public.posts USING hash (title) WHERE ...`. */
  body: string;
  definition: string;
  /** Key columns by name, expressions as their text. */
  keys: string[];
  include: string[];
  predicate: string | null;
  nullsNotDistinct: boolean;
  /** The constraint it backs (primary key, unique, exclusion), or null. */
  constraint: string | null;
}

export interface CatalogConstraint {
  name: string;
  table: string;
  /** c check, f foreign key, x exclusion. */
  type: 'c' | 'f' | 'x';
  /** pg_get_constraintdef without ` NOT VALID`: a constraint waiting for its VALIDATE is the same constraint. */
  definition: string;
  columns: string[];
}

export interface CatalogTable {
  name: string;
  /** r table, p partitioned table. */
  kind: string;
  columns: Map<string, CatalogColumn>;
}

export interface Catalog {
  tables: Map<string, CatalogTable>;
  indexes: CatalogIndex[];
  constraints: CatalogConstraint[];
  /** Enum type -> labels in order. */
  enums: Map<string, string[]>;
}

/** Not created by an extension (`CREATE EXTENSION postgis` makes spatial_ref_sys; citext makes types). */
const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '${catalog}'::regclass AND x.objid = ${oid} AND x.deptype = 'e')`;

const COLUMNS_SQL = `
SELECT ${qualified('n.nspname', 'c.relname')} AS table, c.relkind AS kind, a.attname::text AS column,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       CASE WHEN et.typtype = 'e' THEN ${qualified('en.nspname', 'et.typname')} END AS enum_type,
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
  SELECT ${qualified('sn.nspname', 'sc.relname')} AS name, format_type(sq.seqtypid, NULL) AS type
  FROM pg_depend dep
  JOIN pg_class sc ON sc.oid = dep.objid AND sc.relkind = 'S'
  JOIN pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_sequence sq ON sq.seqrelid = sc.oid
  WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = c.oid
    AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
  LIMIT 1
) seq ON true
WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND c.relname <> $1 AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY 1, a.attnum`;

const INDEXES_SQL = `
SELECT ${qualified('n.nspname', 'ic.relname')} AS name, ${qualified('n.nspname', 'tc.relname')} AS table,
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
WHERE tc.relkind IN ('r', 'p') AND ${USER_NAMESPACE} AND tc.relname <> $1 AND ${notExtensionMember('pg_class', 'tc.oid')}
ORDER BY 2, 1`;

const CONSTRAINTS_SQL = `
SELECT co.conname::text AS name, ${qualified('n.nspname', 'tc.relname')} AS table, co.contype::text AS type,
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
  AND ${notExtensionMember('pg_class', 'tc.oid')}
ORDER BY 2, 1`;

const ENUMS_SQL = enumsSql(notExtensionMember('pg_type', 't.oid'));

interface ColumnRow {
  table: string;
  kind: string;
  column: string;
  type: string;
  not_null: boolean;
  enum_type: string | null;
  collation: string | null;
  default: string | null;
  identity: string;
  generated: string;
  sequence_name: string | null;
  sequence_type: string | null;
}

interface IndexRow {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  method: string;
  definition: string;
  body: string;
  keys: string[];
  include: string[];
  predicate: string | null;
  nulls_not_distinct: boolean;
  constraint: string | null;
}

/** The catalog of the database `client` is connected to; `versionTable` (Alembic's) is left out. */
export async function readCatalog(client: pg.Client, versionTable = 'alembic_version'): Promise<Catalog> {
  // One connection runs one query at a time: four queries, one after the other, each a few milliseconds.
  const columns = (await client.query<ColumnRow>(COLUMNS_SQL, [versionTable])).rows;
  const indexes = (await client.query<IndexRow>(INDEXES_SQL, [versionTable])).rows;
  const constraints = (await client.query<CatalogConstraint>(CONSTRAINTS_SQL, [versionTable])).rows;
  const enums = (await client.query<{ name: string; labels: string[] }>(ENUMS_SQL)).rows;
  const tables = new Map<string, CatalogTable>();
  for (const row of columns) {
    let table = tables.get(row.table);
    if (!table) tables.set(row.table, (table = { name: row.table, kind: row.kind, columns: new Map() }));
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
      sequence: row.sequence_name ? { name: row.sequence_name, type: row.sequence_type ?? '' } : null,
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
      definition: row.definition.replace(/ ON public\./, ' ON '),
      body: row.body.replace(/^public\./, ''),
      keys: row.keys,
      include: row.include,
      predicate: row.predicate,
      nullsNotDistinct: row.nulls_not_distinct,
      constraint: row.constraint,
    })),
    constraints: constraints.map((row) => ({ ...row, definition: row.definition.replace(/ NOT VALID$/, '') })),
    enums: new Map(enums.map((row) => [row.name, row.labels])),
  };
}
