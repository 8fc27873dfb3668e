// The Schema: what pg_catalog says the database holds, as plain data that rules and comparisons can read.

export interface Column {
  name: string;
  /** As `format_type` prints it: `character varying(20)`, `integer`, `timestamp without time zone`. */
  type: string;
  notNull: boolean;
  /** The default expression as `pg_get_expr` prints it, or null. */
  default: string | null;
  /** Identity or generated columns: 'a' / 'd' for identity, 's' for stored generated, '' otherwise. */
  identity: string;
  generated: string;
}

export interface Index {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  /** `pg_indisvalid`: false after a failed CREATE INDEX CONCURRENTLY. */
  valid: boolean;
  /** `pg_get_indexdef`. */
  definition: string;
  columns: string[];
}

export interface Constraint {
  name: string;
  table: string;
  /** p primary key, u unique, f foreign key, c check, x exclusion, n not null (PG 18). */
  type: 'p' | 'u' | 'f' | 'c' | 'x' | 'n' | string;
  /** `pg_get_constraintdef`. */
  definition: string;
  /** False for a constraint added NOT VALID and not validated since. */
  validated: boolean;
  columns: string[];
  /** For foreign keys: the referenced table. */
  referencedTable: string | null;
}

export interface Table {
  /** Qualified only outside `public`: `users`, `audit.events`. */
  name: string;
  schema: string;
  oid: number;
  relfilenode: number;
  /** r table, p partitioned table, v view, m materialized view. */
  kind: string;
  columns: Column[];
}

export interface Schema {
  tables: Map<string, Table>;
  indexes: Map<string, Index>;
  constraints: Constraint[];
  /** Enum type name -> labels in order. */
  enums: Map<string, string[]>;
}
