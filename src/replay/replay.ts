// Replays every migration from an empty database in the helper, attributing each statement to its revision.
import { relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { PythonHelper } from '../python/bridge.js';
import type { CapturedStatement, ReplayResult } from '../python/protocol.js';

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

export interface Replay {
  /** In the order Alembic applied them. */
  revisions: RevisionReplay[];
  byId: Map<string, RevisionReplay>;
  failure: ReplayFailure | null;
  seconds: number;
}

function repoPath(repositoryRoot: string, path: string | null): string | null {
  return path ? relative(repositoryRoot, path).split(sep).join('/') : null;
}

/** History up to base's heads first, then everything the pull request adds. */
export function replayTargets(graph: MigrationGraph): string[] {
  const hasNew = graph.revisions.some((r) => r.isNew);
  if (!hasNew || graph.historyHeads.length === 0) return ['heads'];
  return [...graph.historyHeads, 'heads'];
}

export async function replayMigrations(helper: PythonHelper, graph: MigrationGraph, repositoryRoot: string): Promise<Replay> {
  const result = await helper.request<ReplayResult>('replay', { targets: replayTargets(graph) });
  const revisions = result.applied
    .filter((applied) => applied.upgrade)
    .map((applied) => ({ revision: applied.revision, seconds: applied.seconds, statements: applied.statements }));
  const failure = result.failure;
  if (failure && !failure.inMigration && !failure.migrationsStarted) {
    const where = failure.file ? ` (${repoPath(repositoryRoot, failure.file)}:${failure.line})` : '';
    const hint =
      failure.exceptionType === 'OperationalError' || /connect/i.test(failure.exception)
        ? ' env.py could not reach the disposable database: if it builds its URL from its own settings instead of ' +
          'sqlalchemy.url or DATABASE_URL, map them with --database-env (e.g. --database-env POSTGRES_SERVER={host}).'
        : ' Fix the error (it happens when env.py or the models it imports are loaded), then run the check again.';
    throw new UserError(`env.py failed before any migration ran${where}: ${failure.exception}.${hint}`);
  }
  return {
    revisions,
    byId: new Map(revisions.map((r) => [r.revision, r])),
    failure: failure
      ? {
          revision: failure.revision,
          file: repoPath(repositoryRoot, failure.file),
          line: failure.line,
          statement: failure.statement,
          sqlstate: failure.sqlstate,
          postgresMessage: failure.postgresMessage,
          exception: failure.exception,
          appliedBefore: revisions.map((r) => r.revision),
        }
      : null,
    seconds: result.seconds,
  };
}
