// Whether SQL text names something: a word test on the text, for statements the parser cannot read and for finding
// which statement built an object.

/** The text as a literal inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `sql` holds `name` as a whole word, bare or double-quoted, in any case. */
export function mentions(sql: string, name: string): boolean {
  return new RegExp(`(^|[^\\w$])${escapeRegExp(name)}($|[^\\w$])`, 'i').test(sql);
}
