// Replays every migration from an empty database in the helper: history in one upgrade, then each new revision
// on its own, observed (statements, locks, rewrites), with the schema snapshotted around it.
import { relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { PythonHelper } from '../python/bridge.js';
import { call } from '../python/project.js';
import type { CapturedStatement, ReplayFailureInfo, ReplayResult, ReplayStep } from '../python/protocol.js';
import type { Schema } from '../schema/schema.js';

export interface RevisionReplay {
  revision: string;
  seconds: number | null;
  statements: CapturedStatement[];
}

export interface ReplayFailure {
  /** The revision whose migration raised, when the error came from a migration file. */
  revision: string | null;
  /** Relative to the repository root. */
  file: string | null;
  line: number | null;
  statement: string | null;
  sqlstate: string | null;
  postgresMessage: string | null;
  /** `ExceptionType: message` as Python prints it. */
  exception: string;
  /** Revisions applied before the failure. */
  appliedBefore: string[];
}

export interface ObservedRevision {
  revision: string;
  before: Schema;
  after: Schema;
}

export interface Replay {
  /** Upgrades in the order Alembic applied them. */
  revisions: RevisionReplay[];
  byId: Map<string, RevisionReplay>;
  failure: ReplayFailure | null;
  /** The schema before the PR's first new migration; null when the PR adds none or history failed. */
  baseline: Schema | null;
  /** The new revisions that ran, in order. */
  observed: ObservedRevision[];
  /** Seconds spent running migrations. */
  seconds: number;
  /** Seconds spent on schema snapshots. */
  evidenceSeconds: number;
}

export interface ReplaySettings {
  /** Snapshots the disposable database's schema (between steps, when no migration transaction is open). */
  snapshot: () => Promise<Schema>;
}

export function repoPath(repositoryRoot: string, path: string | null): string | null {
  return path ? relative(repositoryRoot, path).split(sep).join('/') : null;
}

export async function replayMigrations(
  helper: PythonHelper,
  graph: MigrationGraph,
  repositoryRoot: string,
  settings: ReplaySettings,
): Promise<Replay> {
  const revisions: RevisionReplay[] = [];
  const observed: ObservedRevision[] = [];
  let seconds = 0;
  let evidenceSeconds = 0;

  const run = async (steps: ReplayStep[]) => {
    // `call`: a helper error (env.py connected to another database) is the user's to fix, with the file it names.
    const result = await call<ReplayResult>(helper, repositoryRoot, 'replay', { steps });
    seconds += result.seconds;
    return result;
  };
  const record = (result: ReplayResult) => {
    for (const applied of result.applied) {
      if (applied.upgrade && !revisions.some((r) => r.revision === applied.revision)) {
        revisions.push({ revision: applied.revision, seconds: applied.seconds, statements: applied.statements });
      }
    }
  };
  const failureOf = (info: ReplayFailureInfo) => replayFailure(info, repositoryRoot, revisions.map((r) => r.revision));
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      evidenceSeconds += (performance.now() - started) / 1000;
    }
  };
  const finish = (failure: ReplayFailure | null, baseline: Schema | null): Replay => ({
    revisions,
    byId: new Map(revisions.map((r) => [r.revision, r])),
    failure,
    baseline,
    observed,
    seconds,
    evidenceSeconds,
  });

  // History: everything that exists at base, in one upgrade per history head.
  const newRevisions = graph.revisions.filter((r) => r.isNew);
  const historySteps: ReplayStep[] =
    newRevisions.length > 0
      ? graph.historyHeads.map((head) => ({ direction: 'upgrade' as const, target: head }))
      : [{ direction: 'upgrade', target: 'heads' }];
  if (historySteps.length > 0) {
    const history = await run(historySteps);
    checkEnvironment(history.failure, repositoryRoot);
    record(history);
    if (history.failure) return finish(failureOf(history.failure), null);
  }
  if (newRevisions.length === 0) return finish(null, null);

  // The pull request's revisions, one at a time, observed.
  const baseline = await timed(settings.snapshot);
  let before = baseline;
  for (const revision of newRevisions) {
    const result = await run([{ direction: 'upgrade', target: revision.id, observe: true }]);
    checkEnvironment(result.failure, repositoryRoot);
    record(result);
    if (result.failure) return finish(failureOf(result.failure), baseline);
    const after = await timed(settings.snapshot);
    observed.push({ revision: revision.id, before, after });
    before = after;
  }
  // Anything not yet applied (a head outside the new revisions' ancestry).
  const rest = await run([{ direction: 'upgrade', target: 'heads' }]);
  record(rest);
  return finish(rest.failure ? failureOf(rest.failure) : null, baseline);
}

export function replayFailure(info: ReplayFailureInfo, repositoryRoot: string, appliedBefore: string[]): ReplayFailure {
  return {
    revision: info.revision,
    file: repoPath(repositoryRoot, info.file),
    line: info.line,
    statement: info.statement,
    sqlstate: info.sqlstate,
    postgresMessage: info.postgresMessage,
    exception: info.exception,
    appliedBefore,
  };
}

/** env.py or the models failing before any migration ran is not a finding: the check cannot run. */
function checkEnvironment(failure: ReplayFailureInfo | null, repositoryRoot: string): void {
  if (!failure || failure.inMigration || failure.migrationsStarted) return;
  const where = failure.file ? ` (${repoPath(repositoryRoot, failure.file)}:${failure.line})` : '';
  const hint =
    failure.exceptionType === 'OperationalError' || /connect/i.test(failure.exception)
      ? ' env.py could not reach the disposable database: if it builds its URL from its own settings instead of ' +
        'sqlalchemy.url or DATABASE_URL, map them with --database-env (e.g. --database-env POSTGRES_SERVER={host}).'
      : ' Fix the error (it happens when env.py or the models it imports are loaded), then run the check again.';
  throw new UserError(`env.py failed before any migration ran${where}: ${failure.exception}.${hint}`);
}
