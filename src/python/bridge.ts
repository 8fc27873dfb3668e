// One long-lived Python process running the shipped helper; requests and answers are JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setPriority } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackResource, untrackResource } from '../postgres/cleanup.js';

/** What the helper reports when a request fails: `kind` says whose problem it is. */
export interface HelperErrorInfo {
  kind: string;
  message: string;
  file: string | null;
  line: number | null;
  detail: unknown;
}

export class HelperRequestError extends Error {
  constructor(readonly info: HelperErrorInfo) {
    super(info.message);
    this.name = 'HelperRequestError';
  }
}

/** The helper exited or could not be started. */
export class HelperCrashed extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
    this.name = 'HelperCrashed';
  }
}

/** Where the shipped helper is: beside the bundle in dist/, or in python/ when running from source. */
export function helperScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'alembic_guard_helper.py'), join(here, '..', '..', 'python', 'alembic_guard_helper.py')];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`alembic_guard_helper.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class PythonHelper {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = '';
  private exited: HelperCrashed | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly onOutput: (text: string) => void,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => this.receive(line));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-20000);
      this.onOutput(chunk);
    });
    child.on('exit', (code, signal) => this.fail(`the Python helper exited (${signal ?? `code ${code}`})`));
    // A request written just as the process ends (killed because it is not needed any more, or by --timeout) fails
    // with EPIPE: its 'exit' above then rejects what is pending, with the reason. Unheard, the error would end this process.
    child.stdin.on('error', () => {});
    child.on('error', (error) => this.fail(`the Python helper could not run: ${error.message}`));
  }

  /** Starts `python helper.py` in `cwd` with exactly `env`; `onOutput` receives what the project's code prints. */
  static start(python: string, cwd: string, env: Record<string, string>, onOutput: (text: string) => void): PythonHelper {
    const child = spawn(python, ['-X', 'utf8', helperScriptPath()], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Ctrl-C, SIGTERM, SIGHUP or an exit with the helper still running (env.py in a loop): it goes too. (Should this
    // process be killed outright, the helper notices that its parent is gone and exits: protocol.py.)
    const tracked = trackResource({
      description: `the Python helper (pid ${child.pid})`,
      stopSync: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    });
    child.once('exit', () => untrackResource(tracked));
    child.once('error', () => untrackResource(tracked));
    return new PythonHelper(child, onOutput);
  }

  get stderr(): string {
    return this.stderrTail;
  }

  request<T>(cmd: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  /**
   * Lets other processes go first on a busy machine (nice 10): for a helper whose work may turn out not to be needed,
   * started beside the one that matters. Best effort: not every platform lets a process lower another's priority.
   */
  yieldCpu(): void {
    try {
      if (this.child.pid !== undefined) setPriority(this.child.pid, 10);
    } catch {
      // left at normal priority
    }
  }

  /** Stops the helper now, whatever it is doing (a request in flight is abandoned). */
  async abandon(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }

  private receive(line: string): void {
    let message: { id: number; ok: boolean; result?: unknown; error?: HelperErrorInfo };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new HelperRequestError(message.error!));
  }

  private fail(reason: string): void {
    if (this.exited) return;
    this.exited = new HelperCrashed(reason, this.stderrTail);
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }
}
