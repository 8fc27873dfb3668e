// Python source for suggestions: string literals, the table arguments of op.* calls, the dialect import line.
import { splitQualified } from './qualified-name.js';

/** A Python str literal, double-quoted with JSON's escapes (Python reads them the same). */
export function py(text: string): string {
  return JSON.stringify(text);
}

/** A `down_revision` value: one revision id as a str literal, several as a tuple of them. */
export function pyRevisions(ids: readonly string[]): string {
  return ids.length === 1 ? py(ids[0]!) : `(${ids.map((id) => py(id)).join(', ')})`;
}

/** A Python list of str literals. */
export function pyList(items: readonly string[]): string {
  return `[${items.map((item) => py(item)).join(', ')}]`;
}

/**
 * A Python str literal that keeps SQL readable: single-quoted when the text holds double quotes (quoted SQL names) and
 * no single ones. Only backslashes and the quote are escaped. The nullability rules write their code with it.
 */
export function pyReadable(text: string): string {
  if (text.includes('"') && !text.includes("'")) return `'${text.replace(/\\/g, '\\\\')}'`;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An op.* call's table argument and its `schema=` keyword: `audit.events` -> ['"events"', ', schema="audit"'], `users` -> ['"users"', '']. */
export function opTable(table: string, quote: (text: string) => string = py): [table: string, schema: string] {
  const { schema, name } = splitQualified(table);
  return [quote(name), schema ? `, schema=${quote(schema)}` : ''];
}

/** The code, after the import that `postgresql.` types need when `needed`. */
export function withPostgresqlImport(code: string, needed: boolean): string {
  return needed ? `from sqlalchemy.dialects import postgresql\n\n${code}` : code;
}
