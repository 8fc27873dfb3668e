// Remembers every throwaway Postgres this process started (clusters, containers, scratch databases on a user's server)
// and removes them on Ctrl-C, SIGTERM or exit.

import { readFileSync, existsSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

/** One scratch directory and the processes that live in it, from mkdtemp until it is deleted. */
export interface TrackedServer {
  /** The temp directory that holds everything this server wrote; deleted last. */
  readonly directory: string;
  /** The cluster's data directory; its postmaster.pid disappears when the server is gone. */
  readonly dataDirectory: string;
  /** The postmaster's pid once it has been spawned. */
  postmasterPid: number | undefined;
  /** Short-lived tools (initdb, postgres --version) running right now. */
  readonly helperPids: Set<number>;
  /** Set once the server is stopped and the directory deleted. */
  removed: boolean;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const IMMEDIATE_SHUTDOWN_WAIT_MS = 5_000;

/**
 * Anything else a check creates and must remove: a container, a scratch database on a user's server. `stopSync` runs
 * on a signal and on process exit; `stopAsync` (for what cannot be removed synchronously) only on a signal, which
 * then waits for it up to ASYNC_STOP_WAIT_MS before the process dies.
 */
export interface TrackedResource {
  /** For the message when it could not be removed, e.g. "container 3f2a… (postgres:18-alpine)". */
  readonly description: string;
  readonly stopSync?: () => void;
  readonly stopAsync?: () => Promise<void>;
  removed: boolean;
}

const ASYNC_STOP_WAIT_MS = 5_000;

const tracked = new Set<TrackedServer>();
const resources = new Set<TrackedResource>();
let installed = false;

export function trackServer(directory: string, dataDirectory: string): TrackedServer {
  const server: TrackedServer = { directory, dataDirectory, postmasterPid: undefined, helperPids: new Set(), removed: false };
  tracked.add(server);
  installHandlers();
  return server;
}

/** Forget a server whose stop() finished on its own. */
export function untrackServer(server: TrackedServer): void {
  tracked.delete(server);
  if (tracked.size === 0 && resources.size === 0) uninstallHandlers();
}

export function trackResource(resource: Omit<TrackedResource, 'removed'>): TrackedResource {
  const entry: TrackedResource = { ...resource, removed: false };
  resources.add(entry);
  installHandlers();
  return entry;
}

/** Forget a resource that was removed by its owner (or is about to be, by an awaited call). */
export function untrackResource(resource: TrackedResource): void {
  resource.removed = true;
  resources.delete(resource);
  if (tracked.size === 0 && resources.size === 0) uninstallHandlers();
}

/** How many resources are tracked (for tests). */
export function trackedResourceCount(): number {
  return resources.size;
}

/** How many servers are tracked (for tests). */
export function trackedServerCount(): number {
  return tracked.size;
}

/**
 * Stops a server without returning to the event loop: immediate shutdown of the postmaster, a wait for its
 * pid file to go, SIGKILL if it does not, then the directory is deleted. Safe to call more than once.
 */
export function stopServerSync(server: TrackedServer): void {
  if (server.removed) return;
  for (const pid of server.helperPids) signal(pid, 'SIGKILL');
  server.helperPids.clear();
  const pid = server.postmasterPid;
  if (pid !== undefined && isAlive(pid)) {
    // SIGQUIT = immediate shutdown: the postmaster kills its backends and removes postmaster.pid on the way out.
    signal(pid, 'SIGQUIT');
    const pidFile = join(server.dataDirectory, 'postmaster.pid');
    const deadline = Date.now() + IMMEDIATE_SHUTDOWN_WAIT_MS;
    while (isAlive(pid) && existsSync(pidFile) && Date.now() < deadline) sleepSync(5);
    if (isAlive(pid) && existsSync(pidFile)) signal(pid, 'SIGKILL');
  }
  rmSync(server.directory, { recursive: true, force: true, maxRetries: 3 });
  server.removed = true;
  untrackServer(server);
}

function stopAllSync(): void {
  for (const server of [...tracked]) {
    try {
      stopServerSync(server);
    } catch (error) {
      // Keep going: the other servers still need stopping. The user is told what was left behind.
      process.stderr.write(`alembic-guard: could not remove ${server.directory}: ${String(error)}\n`);
    }
  }
  for (const resource of [...resources]) {
    if (!resource.stopSync) continue;
    try {
      resource.stopSync();
    } catch (error) {
      process.stderr.write(`alembic-guard: could not remove ${resource.description}: ${String(error)}\n`);
    }
    untrackResource(resource);
  }
}

function onExit(): void {
  stopAllSync();
  for (const resource of [...resources]) {
    // Only an async removal was possible, and an exiting process runs no more async code.
    process.stderr.write(`alembic-guard: left behind ${resource.description}: remove it by hand\n`);
    untrackResource(resource);
  }
}

function onSignal(signalName: NodeJS.Signals): void {
  stopAllSync();
  // Another part of the program listens to this signal too: it owns the decision to exit.
  const othersListen = process.listenerCount(signalName) > 1;
  const pending = [...resources].filter((resource) => resource.stopAsync);
  if (pending.length > 0) {
    // Keep our handlers (a second Ctrl-C must not kill us half-way) until the async removals are done or time out.
    const removals = pending.map(async (resource) => {
      try {
        await resource.stopAsync!();
      } catch (error) {
        process.stderr.write(`alembic-guard: could not remove ${resource.description}: ${String(error)}\n`);
      }
      untrackResource(resource);
    });
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, ASYNC_STOP_WAIT_MS).unref());
    void Promise.race([Promise.all(removals), deadline]).then(() => finishSignal(signalName, othersListen));
    return;
  }
  finishSignal(signalName, othersListen);
}

function finishSignal(signalName: NodeJS.Signals, othersListen: boolean): void {
  uninstallHandlers();
  if (othersListen) return;
  // Die by the same signal (the default action is back now that nobody listens), so a shell sees a real Ctrl-C;
  // exit with 128 + n should the signal not be delivered synchronously.
  process.kill(process.pid, signalName);
  process.exit(128 + (constants.signals[signalName] ?? 0));
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const name of SIGNALS) process.on(name, onSignal);
}

function uninstallHandlers(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  for (const name of SIGNALS) process.removeListener(name, onSignal);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** True while the process exists and is not a zombie (a dead child we have not reaped yet counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
