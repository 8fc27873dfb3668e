// Replays every migration as deploys run them: history in one upgrade from an empty database (a fresh install), then
// the pull request's new revisions in one upgrade from there (a deployed database taking the PR), observed from inside
// that run (statements, locks, rewrites, and the schema after each new revision on the migration's own connection).
import { relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { PythonHelper } from '../python/bridge.js';
import { call } from '../python/project.js';
import type { CapturedStatement, ReplayFailureInfo, ReplayResult, ReplayStep, SnapshotRequest } from '../python/protocol.js';
import { schemaFromJson, snapshotAsJsonSql } from '../schema/introspect.js';
import type { Schema } from '../schema/schema.js';

export interface RevisionReplay {
  revision: string;
  seconds: number | null;
  statements: CapturedStatement[];
  /** Observed revisions: locks its transaction already held when it began (taken by an earlier new revision). */
  heldAtStart: { relation: string; kind: string; mode: string }[];
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
  /** Where the failing upgrade started: the revisions the database was at (as a deployed one is), or [] for empty. */
  startedAt: string[];
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

  const run = async (steps: ReplayStep[], snapshot?: SnapshotRequest) => {
    // `call`: a helper error (env.py connected to another database) is the user's to fix, with the file it names.
    const result = await call<ReplayResult>(helper, repositoryRoot, 'replay', { steps, snapshot });
    seconds += result.seconds;
    return result;
  };
  const record = (result: ReplayResult) => {
    for (const applied of result.applied) {
      if (applied.upgrade && !revisions.some((r) => r.revision === applied.revision)) {
        revisions.push({
          revision: applied.revision,
          seconds: applied.seconds,
          statements: applied.statements,
          heldAtStart: applied.heldAtStart ?? [],
        });
      }
    }
  };
  const failureOf = (info: ReplayFailureInfo, startedAt: string[]) =>
    replayFailure(info, repositoryRoot, revisions.map((r) => r.revision), startedAt);
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
  const upgrade = async (target: string | string[], snapshot?: SnapshotRequest) => {
    const result = await run([{ direction: 'upgrade', target, observe: snapshot !== undefined }], snapshot);
    checkEnvironment(result.failure, repositoryRoot);
    record(result);
    return result;
  };

  // Nothing new: the whole chain in one run from empty, unobserved.
  const newRevisions = graph.revisions.filter((r) => r.isNew);
  if (newRevisions.length === 0) {
    const all = await upgrade('heads');
    return finish(all.failure ? failureOf(all.failure, []) : null, null);
  }

  // History: everything that exists at base, in one run from empty (all history heads at once).
  if (graph.historyHeads.length > 0) {
    const history = await upgrade(graph.historyHeads);
    if (history.failure) return finish(failureOf(history.failure, []), null);
  }

  // The pull request: one run from the history state to every head, with the transaction layout env.py sets up.
  const baseline = await timed(settings.snapshot);
  const pullRequest = await upgrade('heads', { sql: snapshotAsJsonSql(), revisions: newRevisions.map((r) => r.id) });
  let before = baseline;
  for (const applied of pullRequest.applied) {
    if (applied.schema === undefined) continue;
    const started = performance.now();
    const after = schemaFromJson(applied.schema);
    const snapshotSeconds = (applied.snapshotSeconds ?? 0) + (performance.now() - started) / 1000;
    evidenceSeconds += snapshotSeconds;
    seconds -= applied.snapshotSeconds ?? 0;
    observed.push({ revision: applied.revision, before, after });
    before = after;
  }
  return finish(pullRequest.failure ? failureOf(pullRequest.failure, graph.historyHeads) : null, baseline);
}

export function replayFailure(
  info: ReplayFailureInfo,
  repositoryRoot: string,
  appliedBefore: string[],
  startedAt: string[] = [],
): ReplayFailure {
  return {
    revision: info.revision,
    file: repoPath(repositoryRoot, info.file),
    line: info.line,
    statement: info.statement,
    sqlstate: info.sqlstate,
    postgresMessage: info.postgresMessage,
    exception: info.exception,
    appliedBefore,
    startedAt,
  };
}

/** env.py or the models failing before any migration ran is not a finding: the check cannot run. */
function checkEnvironment(failure: ReplayFailureInfo | null, repositoryRoot: string): void {
  if (!failure || failure.inMigration || failure.migrationsStarted) return;
  const where = failure.file ? ` (${repoPath(repositoryRoot, failure.file)}:${failure.line})` : '';
  const driver = /No module named '(psycopg2|psycopg|asyncpg|pg8000)'/.exec(failure.exception)?.[1];
  const hint = driver
    ? ` env.py asked for the ${driver} driver, which is not installed in this Python: install it (pip install ` +
      `${driver === 'psycopg' ? "'psycopg[binary]'" : driver === 'psycopg2' ? 'psycopg2-binary' : driver}), set the driver env.py ` +
      'should use in sqlalchemy.url (e.g. postgresql+asyncpg://...), or pass --python with the interpreter that has the project installed.'
    : failure.exceptionType === 'OperationalError' ||
        /connect|gaierror|Name or service not known|could not translate host name|nodename nor servname/i.test(failure.exception)
      ? ' env.py could not reach the disposable database: if it builds its URL from its own settings instead of ' +
        'sqlalchemy.url or DATABASE_URL, map them with --database-env (e.g. --database-env POSTGRES_SERVER={host}).'
      : ' Fix the error (it happens when env.py or the models it imports are loaded), then run the check again. A setting ' +
        'they read from the environment is given with --env NAME=VALUE (or env = { NAME = "VALUE" } under ' +
        "[tool.alembic-guard]); the database's with --database-env.";
  throw new UserError(`env.py failed before any migration ran${where}: ${failure.exception}.${hint}`);
}
