// Runs the new revisions' downgrades after the comparison: each must return the schema it started from.
import type { MigrationGraph } from '../graph/graph.js';
import type { PythonHelper } from '../python/bridge.js';
import type { CapturedStatement, ReplayResult } from '../python/protocol.js';
import { diffSchemas, enumLabelsLeft } from '../schema/diff.js';
import type { Schema } from '../schema/schema.js';
import { replayFailure, type Replay, type ReplayFailure } from './replay.js';

/** What running one new revision's downgrade did. */
export interface DowngradeRun {
  /** The downgrade raised (in this revision's file). */
  error: ReplayFailure | null;
  /** The schema after the downgrade; null when it raised. */
  schemaAfterDowngrade: Schema | null;
  /** `stack`: all new revisions were downgraded in one go and restored the schema before the PR exactly. */
  checkedAs: 'revision' | 'stack';
}

export interface DowngradeSettings {
  snapshot: () => Promise<Schema>;
  /** Drops and recreates the scratch database, empty: the slow path starts again from a known state. */
  recreateDatabase: () => Promise<void>;
}

export interface Downgrades {
  runs: Map<string, DowngradeRun>;
  /** Why the pass stopped before the oldest new revision, if it did. */
  stoppedAt: { revision: string; reason: string } | null;
  /** The database ended in the state before the PR's first new migration (where one-row proofs can run). */
  atBaseline: boolean;
  seconds: number;
}

/**
 * Fast path, for a linear PR on a single history head: one downgrade of all new revisions, one snapshot; when it
 * equals the schema before the PR, every downgrade is good. Otherwise (or for merges, roots, several heads) the
 * precise path: from a fresh replay at heads, newest first, downgrade each new revision to its parent and snapshot;
 * stop at the first downgrade that raises or leaves a different schema (nothing below it starts from the state it
 * expects), and at roots and merge points (no single state to return to).
 */
export async function runDowngrades(
  helper: PythonHelper,
  graph: MigrationGraph,
  replay: Replay,
  repositoryRoot: string,
  settings: DowngradeSettings,
): Promise<Downgrades> {
  const started = performance.now();
  const done = (runs: Map<string, DowngradeRun>, stoppedAt: Downgrades['stoppedAt'], atBaseline: boolean): Downgrades => ({
    runs,
    stoppedAt,
    atBaseline,
    seconds: (performance.now() - started) / 1000,
  });
  const downgrade = (target: string) =>
    helper.request<ReplayResult>('replay', { steps: [{ direction: 'downgrade', target }] });

  const newRevisions = replay.observed.map((observed) => graph.byId.get(observed.revision)!);
  const linear =
    graph.historyHeads.length === 1 &&
    newRevisions.every((revision) => revision.parents.length === 1) &&
    newRevisions[0]?.parents[0] === graph.historyHeads[0];
  if (linear && replay.baseline) {
    const result = await downgrade(graph.historyHeads[0]);
    if (!result.failure) {
      const schema = await settings.snapshot();
      if (diffSchemas(replay.baseline, schema).every(enumLabelsLeft)) {
        const runs = new Map(
          replay.observed.map((observed) => [
            observed.revision,
            { error: null, schemaAfterDowngrade: observed.before, checkedAs: 'stack' as const },
          ]),
        );
        return done(runs, null, true);
      }
    }
    // Something is wrong below: find out which revision, from a known state.
    await settings.recreateDatabase();
    const again = await helper.request<ReplayResult>('replay', { steps: [{ direction: 'upgrade', target: 'heads' }] });
    if (again.failure) {
      const failure = replayFailure(again.failure, repositoryRoot, []);
      return done(new Map(), { revision: failure.revision ?? '?', reason: `replaying again failed: ${failure.exception}` }, false);
    }
  }

  const runs = new Map<string, DowngradeRun>();
  for (const observed of [...replay.observed].reverse()) {
    const revision = graph.byId.get(observed.revision)!;
    if (revision.parents.length !== 1) {
      const reason = revision.parents.length === 0 ? 'a root revision' : 'a merge point';
      return done(runs, { revision: revision.id, reason }, false);
    }
    const result = await downgrade(revision.parents[0]);
    if (result.failure) {
      const error = replayFailure(result.failure, repositoryRoot, []);
      if (result.failure.revision === revision.id) runs.set(revision.id, { error, schemaAfterDowngrade: null, checkedAs: 'revision' });
      return done(runs, { revision: revision.id, reason: `its downgrade failed: ${error.postgresMessage ?? error.exception}` }, false);
    }
    const schemaAfterDowngrade = await settings.snapshot();
    runs.set(revision.id, { error: null, schemaAfterDowngrade, checkedAs: 'revision' });
    if (diffSchemas(observed.before, schemaAfterDowngrade).some((d) => !enumLabelsLeft(d))) {
      return done(runs, { revision: revision.id, reason: 'its downgrade did not restore the schema it started from' }, false);
    }
  }
  return done(runs, null, true);
}

/** Every statement each new revision ran on the way up, in order: what a one-row proof replays from the baseline. */
export function upgradeStatements(replay: Replay): CapturedStatement[][] {
  return replay.observed.map((observed) => replay.byId.get(observed.revision)?.statements ?? []);
}
