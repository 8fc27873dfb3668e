// Every input the check cannot work with: exit code 2 and one message naming the file or setting and the fix.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, blogProject, migration, runCli, PYTHON, type FixtureProject } from '../support/fixtures.js';

const projects: FixtureProject[] = [];
function track(project: FixtureProject): FixtureProject {
  projects.push(project);
  return project;
}
afterEach(() => {
  for (const project of projects.splice(0)) project.remove();
});

async function check(project: FixtureProject, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return runCli(['check', '--python', PYTHON, '--base', 'base', ...extra], { cwd: project.dir, env });
}

function expectUserError(result: { code: number; stdout: string; stderr: string }, ...parts: (string | RegExp)[]) {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/^alembic-guard: /m);
  expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  for (const part of parts) expect(result.stderr).toMatch(part);
}

let emptyVenv: string;
beforeAll(() => {
  emptyVenv = mkdtempSync(join(tmpdir(), 'alembic-guard-empty-venv-'));
  execFileSync('python3', ['-m', 'venv', '--without-pip', emptyVenv]);
});
afterAll(() => rmSync(emptyVenv, { recursive: true, force: true }));

describe('bad input', () => {
  it('no alembic.ini in the directory', async () => {
    const project = track(blogProject({ 'alembic.ini': null }));
    expectUserError(await check(project), /No alembic\.ini in /, /--config/);
  });

  it('a --config that does not exist', async () => {
    const project = track(blogProject());
    expectUserError(await check(project, ['--config', 'backend/alembic.ini']), /--config backend\/alembic\.ini: .* does not exist/);
  });

  it('no script_location in the config', async () => {
    const project = track(blogProject());
    project.write('alembic.ini', project.read('alembic.ini').replace('script_location = migrations\n', ''));
    expectUserError(await check(project), /alembic\.ini has no script_location/, /script_location = migrations/);
  });

  it('a --python that does not exist', async () => {
    const project = track(blogProject());
    const result = await runCli(['check', '--python', '/nowhere/bin/python', '--base', 'base'], { cwd: project.dir });
    expectUserError(result, /--python \/nowhere\/bin\/python: no such interpreter/);
  });

  it('a Python without SQLAlchemy and Alembic', async () => {
    const project = track(blogProject());
    const result = await runCli(['check', '--python', join(emptyVenv, 'bin', 'python'), '--base', 'base'], { cwd: project.dir });
    expectUserError(result, /sqlalchemy is not installed in .*alembic-guard-empty-venv-/, /pip install alembic sqlalchemy/);
  });

  it('models that raise on import, with the Python error and its file:line', async () => {
    const project = track(blogProject());
    project.write('app/models.py', project.read('app/models.py').replace('class Post(Base):', 'raise RuntimeError("settings missing")\n\n\nclass Post(Base):'));
    expectUserError(await check(project), /app\/models\.py:21/, /RuntimeError: settings missing/, /env\.py failed before any migration ran/);
  });

  it('a migration with a syntax error', async () => {
    const project = track(blogProject({ 'migrations/versions/004_broken.py': migration('c0000000004d', 'b0000000003c', 'broken', 'op.add_column("users", sa.Column("x", sa.Integer())') }));
    expectUserError(await check(project), /migrations\/versions\/004_broken\.py:\d+/, /does not compile/);
  });

  it('two migrations with the same revision id', async () => {
    const project = track(blogProject({ 'migrations/versions/004_copy.py': migration('b0000000003c', 'b0000000002b', 'copy', 'pass') }));
    expectUserError(await check(project), /revision id b0000000003c is declared by 2 files/, /003_add_phone_to_users\.py/, /004_copy\.py/);
  });

  it('a down_revision that points nowhere', async () => {
    const project = track(blogProject({ 'migrations/versions/004_orphan.py': migration('c0000000004d', 'ffffffffffff', 'orphan', 'pass') }));
    expectUserError(await check(project), /004_orphan\.py/, /ffffffffffff/);
  });

  it('a Postgres that cannot start', async () => {
    const project = track(blogProject());
    const emptyBin = mkdtempSync(join(tmpdir(), 'alembic-guard-nobin-'));
    try {
      const result = await check(project, ['--database', 'binaries'], { ALEMBIC_GUARD_PG_BINDIR: emptyBin });
      expectUserError(result, /ALEMBIC_GUARD_PG_BINDIR/);
    } finally {
      rmSync(emptyBin, { recursive: true, force: true });
    }
  });

  it('a --base that does not exist', async () => {
    const project = track(blogProject());
    expectUserError(await check(project, ['--base', 'no-such-branch']), /--base no-such-branch: no such commit/, /fetch-depth/);
  });

  it('prints one JSON document with status error for --format json', async () => {
    const project = track(blogProject());
    const result = await check(project, ['--base', 'no-such-branch', '--format', 'json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe('error');
    expect(report.findings).toEqual([]);
  });

  it('an unknown flag or value', async () => {
    const project = track(blogProject());
    expectUserError(await check(project, ['--fail-on', 'sometimes']), /--fail-on sometimes: not a valid value\. Use one of: error, warning, never/);
    expectUserError(await check(project, ['--colour']), /Unknown option '--colour'/);
  });
});

describe('no --base and no base in the clone: never a silent fallback to HEAD', () => {
  /** A repository whose main is at the base commit and whose `feature` branch adds a migration with a NOT NULL column (an error). */
  function featureBranch(): FixtureProject {
    const project = track(
      blogProject(
        {
          'app/models.py': blogModelsWithUserColumns('status = Column(String(20), nullable=False)'),
          'migrations/versions/004_status.py': migration('c0000000004b', 'b0000000003c', 'status', 'op.add_column("users", sa.Column("status", sa.String(length=20), nullable=False))', 'op.drop_column("users", "status")'),
        },
        { commitChanges: true },
      ),
    );
    execFileSync('git', ['branch', 'feature'], { cwd: project.dir });
    execFileSync('git', ['reset', '-q', '--hard', 'base'], { cwd: project.dir });
    return project;
  }

  /** A shallow clone of `feature` (depth 1) in a new folder, removed with the fixture. */
  function shallowClone(project: FixtureProject, args: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-shallow-'));
    execFileSync('git', ['clone', '-q', '--depth', '1', ...args, '--branch', 'feature', `file://${project.dir}`, dir]);
    track({ ...project, remove: () => rmSync(dir, { recursive: true, force: true }) });
    return dir;
  }

  it('a full clone finds the base (the merge base with origin/main) and judges the branch\'s migration', async () => {
    const project = featureBranch();
    const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-full-'));
    track({ ...project, remove: () => rmSync(dir, { recursive: true, force: true }) });
    execFileSync('git', ['clone', '-q', '--branch', 'feature', project.dir, dir]);
    const result = await runCli(['check', '--python', PYTHON, '--format', 'json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout).revisions.new).toEqual(['c0000000004b']);
  });

  it('a shallow clone of the branch alone (no main): exit 2 saying how to give it one, not a pass', async () => {
    const dir = shallowClone(featureBranch(), ['--single-branch']);
    const result = await runCli(['check', '--python', PYTHON], { cwd: dir });
    expectUserError(result, /No --base given, and this shallow clone has none of origin\/HEAD, origin\/main/, /fetch-depth: 0/, /pass --base/);
  });

  it('a shallow clone with origin/main but no merge base in it: exit 2, not a git stack', async () => {
    const dir = shallowClone(featureBranch(), ['--no-single-branch']);
    const result = await runCli(['check', '--python', PYTHON, '--format', 'json'], { cwd: dir });
    expectUserError(result, /HEAD shares no history with origin\/(HEAD|main) in this shallow clone/, /git fetch --unshallow/);
    expect(JSON.parse(result.stdout).status).toBe('error');
  });
});

describe('what a project can do to the check is a message, not an internal error', () => {
  it('env.py that ends the process: names the step and the usual calls, not the interpreter', async () => {
    const project = track(blogProject());
    project.write('migrations/env.py', project.read('migrations/env.py').replace('def run_migrations_online', 'import os\nos._exit(3)\n\n\ndef run_migrations_online'));
    expectUserError(await check(project), /exited while replaying the migrations \(code 3\): env\.py, the models or a migration ended the process/);
  });

  it("a migration that drops the server's `postgres` database: the check goes on (the downgrades recreate the scratch database)", async () => {
    const project = track(
      blogProject({
        'app/models.py': blogModelsWithUserColumns('nickname = Column(String(20))'),
        'migrations/versions/004_drop.py': migration(
          'c0000000004c',
          'b0000000003c',
          'drop postgres',
          `
with op.get_context().autocommit_block():
    op.execute("DROP DATABASE postgres")
op.add_column("users", sa.Column("nickname", sa.String(length=20), nullable=True))`,
          // A downgrade that does not undo its upgrade: the check rebuilds the scratch database, from `postgres`.
          'pass',
        ),
      }),
    );
    const result = await check(project, ['--database', 'binaries', '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).findings.map((f: { rule: string }) => f.rule)).toContain('downgrade-incomplete');
  });
});

describe('source files read the way Python reads them', () => {
  /** A migration adding users.nickname, with `coding` declared on its first line and the docstring in latin-1 bytes. */
  function latin1Migration(coding: string): Buffer {
    const text = migration('c0000000004a', 'b0000000003c', 'add nickname (café)', 'op.add_column("users", sa.Column("nickname", sa.String(length=20), nullable=True))', 'op.drop_column("users", "nickname")');
    return Buffer.from(`# -*- coding: ${coding} -*-\n${text}`, 'latin1');
  }

  it('checks a latin-1 migration that declares its coding like any other', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('nickname = Column(String(20))') }));
    writeFileSync(join(project.dir, 'migrations/versions/004_nickname.py'), latin1Migration('latin-1'));
    const result = await check(project, ['--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).revisions.new).toEqual(['c0000000004a']);
  });

  it('stops with exit 2 naming a migration Python cannot decode', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('nickname = Column(String(20))') }));
    writeFileSync(join(project.dir, 'migrations/versions/004_nickname.py'), latin1Migration('utf-8'));
    expectUserError(await check(project), /migrations\/versions\/004_nickname\.py/, /can't decode byte 0xe9/);
  });
});

describe('--format json: one JSON document on stdout for every exit 2', () => {
  /** The one document, with the keys of the contract and the error's message. */
  function expectJsonError(result: { code: number; stdout: string; stderr: string }, message: RegExp) {
    expect(result.code, result.stderr).toBe(2);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report)).toEqual(['version', 'status', 'error', 'findings', 'revisions', 'timings']);
    expect(report).toMatchObject({ version: 1, status: 'error', findings: [] });
    expect(report.error.message).toMatch(message);
    expect(result.stderr).toMatch(message);
  }

  it('for a command line that does not parse, with --format json before or after the fault, or --format=json', async () => {
    const project = track(blogProject());
    expectJsonError(await check(project, ['--format', 'json', '--fail-on', 'sometimes']), /--fail-on sometimes: not a valid value/);
    expectJsonError(await check(project, ['--colour', '--format', 'json']), /Unknown option '--colour'/);
    expectJsonError(await check(project, ['--format=json', '--colour']), /Unknown option '--colour'/);
  });

  it('for a folder without alembic.ini', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'alembic-guard-no-ini-'));
    try {
      expectJsonError(await runCli(['check', '--python', PYTHON, '--format', 'json'], { cwd: empty }), /alembic\.ini/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('for an ALEMBIC_GUARD_SCRATCH_DIR that does not exist: a message naming it, not a stack', async () => {
    const project = track(blogProject());
    const missing = join(tmpdir(), 'alembic-guard-no-such-scratch-dir');
    const result = await check(project, ['--database', 'binaries', '--format', 'json'], { ALEMBIC_GUARD_SCRATCH_DIR: missing });
    expectJsonError(result, new RegExp(`ALEMBIC_GUARD_SCRATCH_DIR=${missing}: no such folder`));
    expectUserError(result, /unset ALEMBIC_GUARD_SCRATCH_DIR/);
  });
});

it('leaves no Postgres process and no temporary files behind', async () => {
  const project = track(blogProject());
  const scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-tmp-'));
  chmodSync(scratch, 0o755); // the server runs as an unprivileged user when the tests run as root
  try {
    const result = await check(project, ['--database', 'binaries'], { TMPDIR: scratch, ALEMBIC_GUARD_SCRATCH_DIR: scratch });
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-pg-'))).toEqual([]);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
