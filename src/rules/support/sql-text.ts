// SQL as text for messages and suggestions: names quoted as Postgres needs them, statements as inline code.
import type { Column } from '../../schema/schema.js';
import { splitQualified } from './qualified-name.js';

// Postgres's reserved key words (RESERVED_KEYWORD in its kwlist.h).
const RESERVED = (
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
  'current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc ' +
  'distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral ' +
  'leading limit localtime localtimestamp not null offset on only or order placing primary references returning ' +
  'select session_user some symmetric system_user table then to trailing true union unique user using variadic when ' +
  'where window with'
).split(' ');

// Key words reserved except as a function or type name (TYPE_FUNC_NAME_KEYWORD): no table or column name either.
const TYPE_FUNC_NAME = (
  'authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like ' +
  'natural notnull outer overlaps right similar tablesample verbose'
).split(' ');

/** Every key word a table or column name must be quoted for. */
export const KEYWORDS: ReadonlySet<string> = new Set([...RESERVED, ...TYPE_FUNC_NAME]);

/** An identifier for SQL: bare when it is a plain lower-case name that is no key word, double-quoted otherwise. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !KEYWORDS.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A table name as the snapshots spell it (`audit.events`), for SQL. */
export function sqlTable(table: string): string {
  const { schema, name } = splitQualified(table);
  return schema ? `${sqlIdentifier(schema)}.${sqlIdentifier(name)}` : sqlIdentifier(name);
}

/** The statement as one line of inline code, whitespace collapsed (long ones shortened). */
export function inlineSql(sql: string): string {
  let text = sql.trim().split(/\s+/).join(' ');
  if (text.length > 160) text = `${text.slice(0, 157)}...`;
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

/** The statement as inline code: its first line when it runs over several (long ones shortened). */
export function inlineSqlFirstLine(sql: string): string {
  const lines = sql.trim().split('\n');
  const first = lines[0]!.trim();
  return `\`${lines.length > 1 || first.length > 200 ? `${first.slice(0, 200)} …` : first}\``;
}

/** `character varying(20) NOT NULL`: a column as the replay's schema described it. */
export function describeColumnType(column: Column | null): string {
  if (!column) return '';
  return column.notNull ? `${column.type} NOT NULL` : column.type;
}
