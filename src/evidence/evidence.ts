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
   * For statements that can fail on a table with rows (ADD COLUMN ... NOT NULL without a default, SET NOT NULL) on a
   * table that existed before the PR: the PR replayed, in a rolled-back transaction, from the state before it with
   * one synthetic row in the table, up to and including this statement. `error` is Postgres's own message (null:
   * it succeeded, e.g. an earlier UPDATE of the PR filled the column). `skipped` says why no proof was possible;
   * null when none was attempted (or the downgrades could not return the database to the state before the PR).
   */
  proof: { error: string | null; sqlstate: string | null; table: string } | { skipped: string } | null;
}

/** A lock held from an earlier revision of the same transaction, with the statement that took it. */
export interface InheritedLock extends RelationLock {
  revision: string;
  file: string;
  line: number | null;
}

export interface DowngradeEvidence {
  /** The downgrade raised: Postgres's message or the Python exception. */
  error: string | null;
  /** Line in the migration file where the downgrade failed. */
  line: number | null;
  /** The schema after running downgrade (null when it failed). */
  schemaAfterDowngrade: Schema | null;
  /** `stack`: all new revisions were downgraded in one go and restored the schema before the PR exactly. */
  checkedAs: 'revision' | 'stack';
}

export interface RevisionEvidence {
  revision: string;
  /** The schema just before this revision ran. */
  before: Schema;
  /** The schema just after. */
  after: Schema;
  statements: StatementEvidence[];
  /**
   * Locks the revision's transaction already held when it began: env.py runs several revisions in one transaction
   * (Alembic's default), and an earlier new revision took them. Its statements hold them without taking them again.
   */
  heldAtStart: InheritedLock[];
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
