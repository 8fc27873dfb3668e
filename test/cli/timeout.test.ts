// --timeout: a check that cannot finish (a migration that sleeps, an env.py that loops, a migration waiting on a lock
// its own transaction holds) stops at the bound with exit 2, says what was running, and leaves no process behind.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blogProject, CLI, migration, PYTHON, runCli, type FixtureProject } from '../support/fixtures.js';

const projects: FixtureProject[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) project.remove();
});

const TIMEOUT = 4;

/** The check with --timeout 4 and its own scratch folder, timed; then whether anything of it still runs. */
async function checkWithin(changes: Record<string, string>, timeout = TIMEOUT) {
  const project = blogProject(changes);
  projects.push(project);
  const scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-timeout-'));
  chmodSync(scratch, 0o755); // the server runs as an unprivileged user when the tests run as root
  try {
    const started = performance.now();
    const result = await runCli(
      ['check', '--python', PYTHON, '--base', 'base', '--database', 'binaries', '--timeout', String(timeout), '--format', 'json'],
      { cwd: project.dir, env: { TMPDIR: scratch, ALEMBIC_GUARD_SCRATCH_DIR: scratch } },
    );
    const seconds = (performance.now() - started) / 1000;
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(scratch) || line.includes(project.dir));
    const left = readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-pg-'));
    return { ...result, seconds, processes, left, report: JSON.parse(result.stdout) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function expectStopped(result: Awaited<ReturnType<typeof checkWithin>>, message: RegExp) {
  expect(result.code, result.stderr).toBe(2);
  expect(result.seconds).toBeGreaterThanOrEqual(TIMEOUT);
  expect(result.seconds).toBeLessThan(TIMEOUT + 15);
  expect(result.report).toMatchObject({ version: 1, status: 'error' });
  expect(result.report.error.message).toMatch(new RegExp(`^--timeout ${TIMEOUT}: the check did not finish within ${TIMEOUT} s and was stopped while `));
  expect(result.report.error.message).toMatch(message);
  expect(result.stderr).toMatch(message);
  expect(result.processes, 'no Postgres or Python process of the check is left').toEqual([]);
  expect(result.left, 'no data directory is left').toEqual([]);
}

describe('--timeout', () => {
  it('stops a migration that sleeps in Postgres, naming the statement, its file and line, and what it waits on', async () => {
    const result = await checkWithin({
      'migrations/versions/004_slow.py': migration('c0000000004a', 'b0000000003c', 'slow', 'op.execute("SELECT pg_sleep(3600)")'),
    });
    expectStopped(result, /while replaying the migrations\. Postgres was running `SELECT pg_sleep\(3600\)` \(migrations\/versions\/004_slow\.py:22\) for \d+ s, waiting on Timeout: PgSleep\./);
    expect(result.report.error).toMatchObject({ file: 'migrations/versions/004_slow.py', line: 22 });
  });

  it('stops an env.py that loops forever, saying the project\'s Python was busy', async () => {
    const project = blogProject();
    const env = project.read('migrations/env.py');
    project.remove();
    const result = await checkWithin({ 'migrations/env.py': env.replace('def run_migrations_online', 'while True:\n    pass\n\n\ndef run_migrations_online') });
    expectStopped(result, /while replaying the migrations\. Postgres was running no statement of the project: its Python was busy/);
  });

  it('stops a migration waiting on a lock its own transaction holds after a few seconds, long before the timeout', async () => {
    const result = await checkWithin(
      {
        'migrations/versions/004_deadlock.py': migration(
          'c0000000004b',
          'b0000000003c',
          'second connection',
          `
op.add_column("users", sa.Column("nickname", sa.String(length=20), nullable=True))
# A second connection, as some data migrations open one: it waits for the lock the migration's transaction holds.
other = sa.create_engine(op.get_bind().engine.url)
with other.begin() as connection:
    connection.execute(sa.text("SELECT count(*) FROM users"))
`,
        ),
      },
      60,
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.seconds).toBeLessThan(15);
    expect(result.report.error).toMatchObject({ file: 'migrations/versions/004_deadlock.py', line: 26 });
    expect(result.report.error.message).toMatch(
      /^The check was stopped while replaying the migrations: `SELECT count\(\*\) FROM users` \(migrations\/versions\/004_deadlock\.py:26\) waited \d+ s for a lock that only an idle transaction holds \(process \d+\): the migration waits on a lock its own transaction holds, so it can never go on\./,
    );
    expect(result.report.error.message).toContain('run that statement on `op.get_bind()`');
    expect(result.processes, 'no Postgres or Python process of the check is left').toEqual([]);
    expect(result.left).toEqual([]);
  });

  it('refuses a value that is not whole seconds, naming the flag', async () => {
    const project = blogProject();
    projects.push(project);
    const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--timeout', 'soon'], { cwd: project.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('alembic-guard: --timeout soon: give the seconds the whole check may take, e.g. 600, or 0 for no limit.');
  });
});

describe('a check that is killed', () => {
  /** The CLI on a project whose env.py loops forever, and the pid of its Python helper once it runs. */
  async function loopingCheck() {
    const project = blogProject();
    projects.push(project);
    project.write('migrations/env.py', project.read('migrations/env.py').replace('def run_migrations_online', 'while True:\n    pass\n\n\ndef run_migrations_online'));
    const child = spawn(process.execPath, [CLI, 'check', '--python', PYTHON, '--base', 'base', '--database', 'binaries', '--timeout', '0'], {
      cwd: project.dir,
      stdio: 'ignore',
    });
    const helperPids = () =>
      execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes('alembic_guard_helper.py'))
        .map((line) => line.trim().split(/\s+/).map(Number))
        .filter(([, ppid]) => ppid === child.pid)
        .map(([pid]) => pid!);
    const deadline = Date.now() + 20_000;
    let pids: number[] = [];
    // Looping (the replay runs env.py) once the helper has been up for a moment.
    while (Date.now() < deadline && pids.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      pids = helperPids();
    }
    await new Promise((resolve) => setTimeout(resolve, 2500));
    return { child, pids };
  }

  async function gone(pid: number, within: number): Promise<boolean> {
    const deadline = Date.now() + within;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('by %s: its Python helper ends with it', async (signal) => {
    const { child, pids } = await loopingCheck();
    expect(pids).toHaveLength(1);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    expect(await gone(pids[0]!, 3000), `helper ${pids[0]} still runs after ${signal}`).toBe(true);
  });

  it('by SIGKILL: its Python helper notices and ends', async () => {
    const { child, pids } = await loopingCheck();
    expect(pids).toHaveLength(1);
    child.kill('SIGKILL');
    expect(await gone(pids[0]!, 3000), `helper ${pids[0]} still runs after SIGKILL of the CLI`).toBe(true);
  });
});

it('a check killed outright leaves its server behind; the next check reaps it (its owner is gone)', async () => {
  const project = blogProject();
  projects.push(project);
  project.write('migrations/env.py', project.read('migrations/env.py').replace('def run_migrations_online', 'import time\ntime.sleep(3600)\n\n\ndef run_migrations_online'));
  const scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-reap-'));
  chmodSync(scratch, 0o755);
  const env = { ...process.env, TMPDIR: scratch, ALEMBIC_GUARD_SCRATCH_DIR: scratch };
  try {
    const child = spawn(process.execPath, [CLI, 'check', '--python', PYTHON, '--base', 'base', '--database', 'binaries', '--timeout', '0'], { cwd: project.dir, env, stdio: 'ignore' });
    const postmasterRuns = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').some((line) => line.includes(scratch) && /\/postgres -D /.test(line));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !postmasterRuns()) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(postmasterRuns(), 'the first check started its server').toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // into the replay: env.py sleeps
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-pg-')), 'SIGKILL leaves the data directory').toHaveLength(1);
    expect(postmasterRuns(), 'and its server').toBe(true);

    // The next check, on a project that works, reaps both before it starts its own, and removes its own at the end.
    project.write('migrations/env.py', project.read('migrations/env.py').replace('import time\ntime.sleep(3600)\n\n\n', ''));
    const next = await runCli(['check', '--python', PYTHON, '--base', 'base', '--database', 'binaries'], { cwd: project.dir, env });
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-pg-'))).toEqual([]);
    expect(postmasterRuns()).toBe(false);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}, 60_000);
