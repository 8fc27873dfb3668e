// Locks: what a statement held on a relation (taken by it, or by an earlier statement of its transaction), by strength.
import type { RevisionEvidence, StatementEvidence } from '../../evidence/evidence.js';
import { isConcurrently, nodeAs, statementsOf } from '../../sql/ast.js';

const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** 1 (ACCESS SHARE) to 8 (ACCESS EXCLUSIVE); 0 for a mode that is not a table lock mode. */
export function lockStrength(mode: string): number {
  return LOCK_MODES.indexOf(mode) + 1;
}

/** `AccessExclusiveLock` -> `ACCESS EXCLUSIVE`. */
export function lockModeName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .split(/(?=[A-Z])/)
    .join(' ')
    .toUpperCase();
}

export interface HeldLock {
  relation: string;
  mode: string;
  /** Index in the revision's statements of the statement that took it; -1: an earlier revision took it (`from`). */
  takenBy: number;
  /** Taken by the statement asked about itself, not by an earlier one. */
  own: boolean;
  /** The line of the statement that took it. */
  line: number | null;
  /** Taken by an earlier revision of the same transaction: its file. */
  file?: string;
}

/** False for CONCURRENTLY and VACUUM, which cannot run in a transaction: the migration's was committed before them. */
export function runsInTransaction(statement: StatementEvidence): boolean {
  return !statementsOf(statement.ast).some((node) => isConcurrently(node) || nodeAs(node, 'VacuumStmt') !== undefined);
}

/** The first statement of the transaction that statement `index` of the revision ran in. */
export function transactionStart(revision: RevisionEvidence, index: number): number {
  for (let i = index - 1; i >= 0; i--) if (!runsInTransaction(revision.statements[i]!)) return i + 1;
  return 0;
}

/**
 * The strongest lock on `relation` held while statement `index` of the revision ran: taken by it or by an earlier
 * statement from `from` on (pg_locks shows each statement only the modes it newly took). Of equal modes the latest
 * taking wins: after a commit a statement takes its locks again.
 */
export function lockHeld(revision: RevisionEvidence, index: number, relation: string, from = 0): HeldLock | null {
  let held: HeldLock | null = null;
  // Nothing committed since the revision began: what an earlier revision of its transaction took is still held.
  if (from === 0) {
    for (const lock of revision.heldAtStart) {
      if (lock.relation !== relation) continue;
      if (!held || lockStrength(lock.mode) > lockStrength(held.mode)) {
        held = { relation, mode: lock.mode, takenBy: -1, own: false, line: lock.line, file: lock.file };
      }
    }
  }
  for (let i = from; i <= index; i++) {
    const statement = revision.statements[i]!;
    for (const lock of statement.locks) {
      if (lock.relation !== relation) continue;
      if (!held || lockStrength(lock.mode) >= lockStrength(held.mode)) {
        held = { relation, mode: lock.mode, takenBy: i, own: i === index, line: statement.line };
      }
    }
  }
  return held;
}

/**
 * The strongest lock held on each relation while statement `index` ran, within its transaction, when at least
 * `atLeast`. Null when none was observed for any of the relations.
 */
export function locksHeld(revision: RevisionEvidence, index: number, relations: string[], atLeast: string): HeldLock[] | null {
  const from = transactionStart(revision, index);
  const held: HeldLock[] = [];
  for (const relation of new Set(relations)) {
    const lock = lockHeld(revision, index, relation, from);
    if (lock && lockStrength(lock.mode) >= lockStrength(atLeast)) held.push(lock);
  }
  return held.length > 0 ? held : null;
}
