// Runs the new revisions' downgrades, newest first, after the comparison: each must return the schema it started from.
import type { MigrationGraph } from '../graph/graph.js';
import type { PythonHelper } from '../python/bridge.js';
import type { CapturedStatement, ReplayResult } from '../python/protocol.js';
import { diffSchemas } from '../schema/diff.js';
import type { Schema } from '../schema/schema.js';
import { replayFailure, type Replay, type ReplayFailure } from './replay.js';

/** What running one new revision's downgrade did. */
export interface DowngradeRun {
  /** The downgrade raised (in this revision's file). */
  error: ReplayFailure | null;
  /** The schema after the downgrade; null when it raised. */
  schemaAfterDowngrade: Schema | null;
  statements: CapturedStatement[];
}

export interface DowngradeSettings {
  snapshot: () => Promise<Schema>;
  /**
   * Called when a downgrade restored exactly the schema its revision started from: the database is then in the state
   * just before the revision, where its statements can be re-run against a table with rows.
   */
  onRestored?: (revision: string, upgradeStatements: CapturedStatement[], before: Schema) => Promise<void>;
}

export interface Downgrades {
  runs: Map<string, DowngradeRun>;
  /** Why the pass stopped before the oldest new revision, if it did. */
  stoppedAt: { revision: string; reason: string } | null;
  seconds: number;
}

/**
 * Newest first: downgrade each new revision to its parent and snapshot. The pass stops at the first downgrade that
 * raises or leaves a different schema (below it nothing starts from the state it expects), and at roots and merge
 * points (no single state to return to). The database is left below the new revisions: run it after the comparison.
 */
export async function runDowngrades(
  helper: PythonHelper,
  graph: MigrationGraph,
  replay: Replay,
  repositoryRoot: string,
  settings: DowngradeSettings,
): Promise<Downgrades> {
  const started = performance.now();
  const runs = new Map<string, DowngradeRun>();
  let stoppedAt: Downgrades['stoppedAt'] = null;
  for (const observed of [...replay.observed].reverse()) {
    const revision = graph.byId.get(observed.revision)!;
    if (revision.parents.length !== 1) {
      stoppedAt = { revision: revision.id, reason: revision.parents.length === 0 ? 'a root revision' : 'a merge point' };
      break;
    }
    const result = await helper.request<ReplayResult>('replay', {
      steps: [{ direction: 'downgrade', target: revision.parents[0] }],
    });
    const statements = result.applied.filter((a) => !a.upgrade).flatMap((a) => a.statements);
    if (result.failure) {
      const error = replayFailure(result.failure, repositoryRoot, []);
      if (result.failure.revision === revision.id) runs.set(revision.id, { error, schemaAfterDowngrade: null, statements });
      stoppedAt = { revision: revision.id, reason: `its downgrade failed: ${error.postgresMessage ?? error.exception}` };
      break;
    }
    const schemaAfterDowngrade = await settings.snapshot();
    runs.set(revision.id, { error: null, schemaAfterDowngrade, statements });
    if (diffSchemas(observed.before, schemaAfterDowngrade).length > 0) {
      stoppedAt = { revision: revision.id, reason: 'its downgrade did not restore the schema it started from' };
      break;
    }
    await settings.onRestored?.(revision.id, replay.byId.get(revision.id)?.statements ?? [], observed.before);
  }
  return { runs, stoppedAt, seconds: (performance.now() - started) / 1000 };
}
