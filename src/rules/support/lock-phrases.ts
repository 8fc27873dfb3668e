// Locks in words, for messages: what a statement held, where an earlier statement took it, and what it blocked.
import type { RevisionEvidence, StatementEvidence } from '../../evidence/evidence.js';
import { lockModeName, lockStrength, type HeldLock } from './locks.js';
import { inlineSql } from './sql-text.js';
import { joinAnd } from './words.js';

// ---------------------------------------------------------------------------------------------------------------
// One lock on one table, or the lock Postgres takes when none was observed (the nullability rules)

/**
 * "took ACCESS EXCLUSIVE on `users`", or "ran under the ACCESS EXCLUSIVE lock on `users` taken at line 18" when an
 * earlier statement of the transaction took it; Postgres's rule ("takes ...") when nothing was observed.
 */
export function lockPhrase(held: HeldLock | null, table: string, expected = 'AccessExclusiveLock'): string {
  if (!held) return `takes ${lockModeName(expected)} on \`${table}\``;
  if (held.own) return `took ${lockModeName(held.mode)} on \`${table}\``;
  return `ran under the ${lockModeName(held.mode)} lock on \`${table}\` taken ${takenWhere(held)}`;
}

/** "ACCESS EXCLUSIVE on it", or "... on it (taken at line 18)" when an earlier statement took it. */
export function lockHolding(held: HeldLock | null, expected = 'AccessExclusiveLock'): string {
  if (!held) return `${lockModeName(expected)} on it`;
  return `${lockModeName(held.mode)} on it${held.own ? '' : ` (taken ${takenWhere(held)})`}`;
}

function takenWhere(held: HeldLock): string {
  if (held.file !== undefined) return held.line === null ? `by ${held.file}` : `at line ${held.line} of ${held.file}`;
  return held.line === null ? 'earlier in the revision' : `at line ${held.line}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The locks held on one or more tables, as observed (the locking rules)

/** Where the statement asked about sits: its revision and the statement itself. */
export interface LockSite {
  revision: RevisionEvidence;
  statement: StatementEvidence;
}

/** For a lock an earlier statement took: which, as a message says it ("line 18"; the SQL when the same op.* call issued it). */
export function takenBy(held: HeldLock, site: LockSite): string {
  if (held.file !== undefined) return held.line === null ? held.file : `line ${held.line} of ${held.file}`;
  const statement = site.revision.statements[held.takenBy]!;
  if (statement.line === null) return 'an earlier statement';
  return statement.line === site.statement.line ? `${inlineSql(statement.sql)} (the same call)` : `line ${statement.line}`;
}

function withArticle(modeName: string): string {
  return `${modeName.startsWith('A') || modeName.startsWith('E') ? 'an' : 'a'} ${modeName}`;
}

/**
 * What the statement held, as observed: "took a SHARE lock on `users`", "took SHARE ROW EXCLUSIVE locks on `posts` and
 * `users`", "held the ACCESS EXCLUSIVE lock that line 18 took on `users` in the same transaction".
 */
export function lockClause(held: HeldLock[], site: LockSite): string {
  const parts: string[] = [];
  for (const group of groupBy(held.filter((h) => h.own), (h) => h.mode).values()) {
    const name = lockModeName(group[0]!.mode);
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    parts.push(group.length > 1 ? `took ${name} locks on ${tables}` : `took ${withArticle(name)} lock on ${tables}`);
  }
  const earlier = [...groupBy(held.filter((h) => !h.own), (h) => `${h.mode}|${takenBy(h, site)}`).values()].map((group) => {
    const mode = group[0]!.mode;
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    return `the ${lockModeName(mode)} lock${group.length > 1 ? 's' : ''} that ${takenBy(group[0]!, site)} took on ${tables}`;
  });
  if (earlier.length > 0) parts.push(`held ${joinAnd(earlier)} in the same transaction`);
  return joinAnd(parts);
}

/** "writes to it are blocked", "reads and writes to both tables are blocked", "reads and writes to `posts` and writes to `users` are blocked". */
export function blockedClause(held: HeldLock[]): string {
  const what = (h: HeldLock) => (lockStrength(h.mode) >= lockStrength('AccessExclusiveLock') ? 'reads and writes' : 'writes');
  if (held.length === 1) return `${what(held[0]!)} to it are blocked`;
  const kinds = new Set(held.map(what));
  if (kinds.size === 1) return `${[...kinds][0]} to ${held.length === 2 ? 'both tables' : 'these tables'} are blocked`;
  return `${joinAnd(held.map((h) => `${what(h)} to \`${h.relation}\``))} are blocked`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
