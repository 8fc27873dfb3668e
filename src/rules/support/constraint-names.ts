// The names Postgres gave unnamed constraints, read from the schema after the revision that added them.
import type { RevisionEvidence } from '../../evidence/evidence.js';
import { splitQualified } from './qualified-name.js';

const SUFFIXES = { f: 'fkey', u: 'key' } as const;

/**
 * The name Postgres gave an unnamed foreign key or unique constraint: the one of that type, over the same columns (and,
 * when given, referencing the same table), that appeared on the table during the revision; else Postgres's naming rule
 * (`users_email_key`, `posts_user_id_fkey`).
 */
export function chosenConstraintName(
  revision: RevisionEvidence,
  table: string,
  constraint: { type: 'f' | 'u'; columns: string[]; referencedTable?: string | null },
): string {
  const before = new Set(revision.before.constraints.filter((c) => c.table === table).map((c) => c.name));
  const found = revision.after.constraints.find(
    (c) =>
      c.type === constraint.type &&
      c.table === table &&
      !before.has(c.name) &&
      c.columns.length === constraint.columns.length &&
      c.columns.every((column, i) => column === constraint.columns[i]) &&
      (constraint.referencedTable === undefined || c.referencedTable === constraint.referencedTable),
  );
  return found?.name ?? `${splitQualified(table).name}_${constraint.columns.join('_')}_${SUFFIXES[constraint.type]}`;
}
