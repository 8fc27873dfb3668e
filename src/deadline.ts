// --timeout: the whole check within a bound. On expiry, what was running is written down first (the stage, the
// statement Postgres was executing, what it waited on and who held that), then the check's processes are stopped so
// that its own cleanup (servers, scratch databases) runs, and the check ends with exit 2 saying all of it. A lock
// watchdog stops earlier a migration that waits on a lock its own transaction holds.
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { UserError } from './errors.js';
import type { DisposablePostgres } from './postgres/provider.js';
import { connect } from './schema/introspect.js';

/** What a check is doing right now, as the deadline needs to know it. */
export class CheckProgress {
  /** "replaying the migrations": what the message says the check was doing. */
  stage = 'starting';
  postgres: DisposablePostgres | null = null;
  /** Migration files (absolute, then as the report names them), new ones first: where a running statement is looked for. */
  files: { absolute: string; shown: string }[] = [];
  /** Stops what may be stuck (the Python helpers): their pending requests then fail and the check unwinds. */
  readonly stops = new Set<() => unknown>();
  /** Why the check was stopped early (the lock watchdog), which is then its error rather than a helper that died. */
  stoppedBecause: UserError | null = null;

  async stopAll(): Promise<void> {
    for (const stop of this.stops) {
      try {
        await stop();
      } catch {
        // stopped already
      }
    }
  }

  /**
   * While the project's code runs: every second, a look at the scratch database. A statement waiting more than
   * `patience` ms for a lock that only idle transactions hold can never go on (its own migration holds the lock, in a
   * transaction waiting for this very statement): the check stops now and says so, instead of waiting for --timeout.
   */
  watchLocks(patience = 3000): () => void {
    let busy = false;
    let client: Promise<pg.Client> | null = null; // one connection for the whole watch, opened at the first look
    const timer = setInterval(() => {
      if (busy || this.stoppedBecause || !this.postgres) return;
      busy = true;
      client ??= connect(this.postgres, this.postgres.database, { connectionTimeoutMillis: 3000 });
      void client
        .then(activityOn)
        .then(async (activity) => {
          const stuck = activity.find(
            (a) => a.wait_event_type === 'Lock' && (a.seconds ?? 0) * 1000 >= patience && (a.blockers ?? []).length > 0 && a.blockers!.every((b) => b.state === 'idle in transaction'),
          );
          if (!stuck || this.stoppedBecause) return;
          this.stoppedBecause = selfLockError(stuck, this);
          await this.stopAll();
        })
        .catch(() => {})
        .finally(() => (busy = false));
    }, 1000);
    timer.unref();
    return () => {
      clearInterval(timer);
      void client?.then((c) => c.end()).catch(() => {});
    };
  }
}

interface Activity {
  pid: number;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  seconds: number | null;
  query: string;
  blockers: { pid: number; state: string | null; query: string; seconds: number | null }[] | null;
}

/** `work(progress)` within `seconds` (0: no bound). */
export async function withinDeadline<T>(seconds: number, work: (progress: CheckProgress) => Promise<T>): Promise<T> {
  const progress = new CheckProgress();
  // A check the watchdog stopped fails with the watchdog's reason, not with its helper's death.
  const running = work(progress).catch((error: unknown) => {
    throw progress.stoppedBecause ?? error;
  });
  if (!seconds) return running;
  running.catch(() => {}); // after the deadline its failure is the deadline's
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), seconds * 1000);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== EXPIRED) return first as T;
  } finally {
    clearTimeout(timer);
  }
  const activity = await activityOf(progress.postgres).catch(() => []);
  await progress.stopAll();
  // The check unwinds now that its helpers are gone; its finally blocks stop Postgres. Bounded: never hang here.
  await Promise.race([running.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
  throw timeoutError(seconds, progress, activity);
}

const EXPIRED = Symbol('expired');

async function activityOf(server: DisposablePostgres | null): Promise<Activity[]> {
  if (!server) return [];
  const client = await connect(server, server.database, { connectionTimeoutMillis: 3000 });
  try {
    return await activityOn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The project's statements running on the scratch database (not alembic-guard's own), with the holders of the locks they wait for. */
async function activityOn(client: pg.Client): Promise<Activity[]> {
  const { rows } = await client.query<Activity>(
    `SELECT a.pid, a.state, a.wait_event_type, a.wait_event, extract(epoch FROM now() - a.query_start)::int AS seconds, a.query,
            (SELECT json_agg(json_build_object('pid', b.pid, 'state', b.state, 'query', b.query,
                                               'seconds', extract(epoch FROM now() - b.xact_start)::int))
             FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) AS blockers
     FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
       AND a.state = 'active' AND a.application_name <> 'alembic-guard'
     ORDER BY a.query_start
     LIMIT 3`,
  );
  return rows;
}

function timeoutError(seconds: number, progress: CheckProgress, activity: Activity[]): UserError {
  const head = `--timeout ${seconds}: the check did not finish within ${seconds} s and was stopped while ${progress.stage}.`;
  const fix = 'Give it more time with --timeout (the action\'s `timeout` input; 0 for no limit), or fix what it waits on.';
  const [statement] = activity;
  if (!statement) {
    return new UserError(`${head} Postgres was running no statement of the project: its Python was busy (env.py, the models or a migration in a loop, or waiting on something else). ${fix}`);
  }
  const where = locate(statement.query, progress.files);
  const waiting = statement.wait_event_type ? `, waiting on ${statement.wait_event_type}: ${statement.wait_event}` : '';
  let text = `${head} Postgres was running \`${oneLine(statement.query)}\`${where ? ` (${where.shown}:${where.line})` : ''} for ${statement.seconds ?? '?'} s${waiting}.`;
  const blockers = statement.blockers ?? [];
  if (blockers.length > 0) {
    // What an idle transaction ran last says nothing (often alembic-guard's own look at its locks): only its state.
    const held = blockers.map((b) => `process ${b.pid} (${b.state ?? 'unknown'}${b.seconds !== null ? ` for ${b.seconds} s` : ''}${b.state === 'active' && b.query ? `: \`${oneLine(b.query)}\`` : ''})`).join(', ');
    text +=
      ` The lock it waits for is held by ${held}` +
      (blockers.some((b) => b.state === 'idle in transaction')
        ? ': a transaction that does nothing more, e.g. a second connection the migration opened while its own transaction holds the lock, which can never be granted.'
        : '.');
  }
  return new UserError(`${text} ${fix}`, where?.shown ?? null, where?.line ?? null);
}

function selfLockError(stuck: Activity, progress: CheckProgress): UserError {
  const where = locate(stuck.query, progress.files);
  return new UserError(
    `The check was stopped while ${progress.stage}: \`${oneLine(stuck.query)}\`${where ? ` (${where.shown}:${where.line})` : ''} waited ` +
      `${stuck.seconds ?? '?'} s for a lock that only an idle transaction holds (process ${stuck.blockers!.map((b) => b.pid).join(', ')}): ` +
      'the migration waits on a lock its own transaction holds, so it can never go on. This happens when a migration opens a ' +
      'second connection (a new engine or session) while its own transaction holds a lock on the same table: run that ' +
      'statement on `op.get_bind()`, or commit first (`with op.get_context().autocommit_block():`).',
    where?.shown ?? null,
    where?.line ?? null,
  );
}

/** The first migration file (new ones first) and line holding the statement's text, as Python code would write it. */
function locate(query: string, files: CheckProgress['files']): { shown: string; line: number } | null {
  const needle = oneLine(query).slice(0, 60);
  if (needle.length < 8) return null;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file.absolute, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    const index = lines.findIndex((line) => oneLine(line).includes(needle));
    if (index >= 0) return { shown: file.shown, line: index + 1 };
  }
  return null;
}

const oneLine = (sql: string) => sql.trim().split(/\s+/).join(' ');
