// Names qualified outside public, as the schema snapshots and relationName spell them: `audit.events`, `users`.

/** `audit.events` -> schema `audit`, name `events`; `users` -> no schema. */
export function splitQualified(name: string): { schema: string | null; name: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: null, name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** An index name qualified as the snapshots spell it: in its table's schema (`audit.ix_events_at`). */
export function qualifiedLike(table: string, name: string): string {
  const { schema } = splitQualified(table);
  return schema ? `${schema}.${name}` : name;
}
