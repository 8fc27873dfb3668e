// Evidence about each new revision, observed on the replay: statements with their AST, locks and rewrites; schemas before and after.
import type { ParseResult } from '@pgsql/types';
import type { OpCall } from '../python/protocol.js';
import type { Schema } from '../schema/schema.js';

export type LockMode =
  | 'AccessShareLock'
  | 'RowShareLock'
  | 'RowExclusiveLock'
  | 'ShareUpdateExclusiveLock'
  | 'ShareLock'
  | 'ShareRowExclusiveLock'
  | 'ExclusiveLock'
  | 'AccessExclusiveLock';

export interface RelationLock {
  /** Table or index name, qualified outside `public`. */
  relation: string;
  /** 'r' table, 'i' index, ... (pg_class.relkind). */
  kind: string;
  mode: LockMode | string;
}

export interface StatementEvidence {
  sql: string;
  /** Line of the migration file whose call issued it (null when issued from elsewhere, e.g. a helper module). */
  line: number | null;
  /** The op.* call whose source span contains `line`. */
  op: OpCall | null;
  seconds: number | null;
  /** The statement parsed by Postgres's own parser (libpg-query); null when it does not parse (e.g. bound parameters). */
  ast: ParseResult | null;
  /** Relation locks this statement newly took in the migration's transaction (pg_locks of its backend). */
  locks: RelationLock[];
  /** Relations whose relfilenode changed during the statement: rewritten tables and indexes. */
  rewrote: string[];
  /**
   * For statements that can fail on a table with rows (ADD COLUMN ... NOT NULL without a default, SET NOT NULL):
   * the statement re-run, in a rolled-back transaction, against its table holding one synthetic row, with every
   * earlier statement of the revision run before it. The row is inserted in the state just before the revision
   * (reached by its downgrade, only when that restored the schema exactly), so an UPDATE of an earlier revision
   * of the PR has not run on it. `error` is Postgres's own message (null: it succeeded).
   * Null when no proof was attempted or the synthetic row could not be made (`skipped` says why).
   */
  proof: { error: string | null; sqlstate: string | null; table: string } | { skipped: string } | null;
}

export interface DowngradeEvidence {
  /** The downgrade raised: Postgres's message or the Python exception. */
  error: string | null;
  /** Line in the migration file where the downgrade failed. */
  line: number | null;
  /** The schema after running downgrade (null when it failed). */
  schemaAfterDowngrade: Schema | null;
}

export interface RevisionEvidence {
  revision: string;
  /** The schema just before this revision ran. */
  before: Schema;
  /** The schema just after. */
  after: Schema;
  statements: StatementEvidence[];
  /**
   * Null when the downgrade was not run: downgrades run newest first after the comparison and stop at a root, a
   * merge point, or a downgrade that failed or left a different schema (see Evidence.downgradesStopped).
   */
  downgrade: DowngradeEvidence | null;
}

export interface Evidence {
  /** The schema just before the PR's first new migration: its tables are the "existing" ones. */
  baseline: Schema;
  /** One entry per new revision, in the order they ran. */
  revisions: RevisionEvidence[];
  /** Where and why the downgrade pass stopped before the oldest new revision, if it did. */
  downgradesStopped: { revision: string; reason: string } | null;
}
