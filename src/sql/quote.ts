// Identifiers for SQL that alembic-guard itself sends: always double-quoted, so any name is safe.

/** `users` -> `"users"`; embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `audit.events` -> `"audit"."events"` (names as the schema snapshots spell them). */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}
