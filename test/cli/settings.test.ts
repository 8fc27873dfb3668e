// `# alembic-guard: ignore[...]` comments and `[tool.alembic-guard]` in pyproject.toml, through the real CLI.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, blogProject, checkJson, migration, runCli, PYTHON, removeAfterEach } from '../support/fixtures.js';

const track = removeAfterEach();

const EMPTY = migration('e0000000004f', 'b0000000003c', 'nothing', 'pass');

describe('suppression comments', () => {
  it('silences a finding on its line and shows the reason in the report', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[empty-migration] kept as a placeholder for the data fix');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
    const text = await runCli(['check', '--python', PYTHON, '--base', 'base'], { cwd: project.dir });
    expect(text.stdout).toMatch(/suppressed \(1\)/);
    expect(text.stdout).toContain('kept as a placeholder for the data fix');
    const markdown = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'markdown'], { cwd: project.dir });
    expect(markdown.stdout).toContain('1 suppressed');
    expect(markdown.stdout).toContain('kept as a placeholder for the data fix');
  });

  it('silences a rule for the whole file from a comment at the top', async () => {
    const file = EMPTY.replace('from alembic import op', '# alembic-guard: ignore[empty-migration] intentionally empty\nfrom alembic import op');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('does not silence another rule', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[drop-table] wrong rule');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { report } = await checkJson(project);
    expect(report.findings.map((f: { rule: string }) => f.rule)).toEqual(['empty-migration']);
  });

  it('stops with exit 2 on an unknown rule id, naming the file and line', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[empty-migrations] typo');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const result = await checkJson(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/migrations\/versions\/004_nothing\.py:21: ignore\[empty-migrations\] names an unknown rule/);
  });
});

describe('[tool.alembic-guard] in pyproject.toml', () => {
  it('raises a severity so that it reaches the gate', async () => {
    const project = track(
      blogProject({
        'migrations/versions/004_nothing.py': EMPTY,
        'pyproject.toml': '[project]\nname = "blog"\n\n[tool.alembic-guard]\nseverity = { "empty-migration" = "error" }\n',
      }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toEqual([expect.objectContaining({ rule: 'empty-migration', severity: 'error' })]);
  });

  it('disables a rule', async () => {
    const project = track(
      blogProject({ 'migrations/versions/004_nothing.py': EMPTY, 'pyproject.toml': '[tool.alembic-guard]\ndisable = ["empty-migration"]\n' }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('leaves named objects out of missing-migration, and out of the migration it suggests', async () => {
    const project = track(
      blogProject({
        'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))', 'avatar = Column(String(200))'),
        'pyproject.toml': '[tool.alembic-guard]\nignore-objects = ["users.bio"]\n',
      }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0].message).toContain('add_column users.avatar');
    expect(report.findings[0].suggestion).not.toContain("'bio'");

    project.write('pyproject.toml', '[tool.alembic-guard]\nignore-objects = ["users.bio", "avatar"]\n');
    const clean = await checkJson(project);
    expect(clean.code).toBe(0);
    expect(clean.report.findings).toEqual([]);
  });

  it.each([
    ['disable = ["drop-colum"]', /pyproject\.toml: \[tool\.alembic-guard\] disable: unknown rule id "drop-colum"/],
    ['severity = { "drop-table" = "fatal" }', /severity "drop-table" = "fatal": use "error", "warning" or "notice"/],
    ['fail_on = "warning"', /unknown key "fail_on"/],
    ['disable = [', /pyproject\.toml is not valid TOML/],
    ['env = ["APP_ENV=test"]', /pyproject\.toml: \[tool\.alembic-guard\] env must be a table of environment variables and their values, e\.g\. env = \{ APP_ENV = "test" \}/],
    ['env = { "APP-ENV" = "test" }', /pyproject\.toml: \[tool\.alembic-guard\] env: "APP-ENV" is not an environment variable name/],
    ['env = { APP_DEBUG = 1 }', /pyproject\.toml: \[tool\.alembic-guard\] env APP_DEBUG = 1: the values of env must be strings; quote it, e\.g\. APP_DEBUG = "1"/],
    ['env = { APP_FLAGS = ["a"] }', /env APP_FLAGS = a list: the values of env must be strings/],
    ['[tool.alembic-guard.env]\nAPP_MODE = true', /env APP_MODE = true: the values of env must be strings; quote it, e\.g\. APP_MODE = "true"/],
    ['migrations-run = "stopped"', /pyproject\.toml: \[tool\.alembic-guard\] migrations-run = "stopped": use "online" \(the app serves while its migrations run: the default\) or "offline" \(the app is stopped while they run/],
    ['migrations-run = false', /pyproject\.toml: \[tool\.alembic-guard\] migrations-run = false: use "online" .* or "offline"/],
  ])('stops with exit 2 on %s', async (line, message) => {
    const project = track(blogProject({ 'pyproject.toml': `[tool.alembic-guard]\n${line}\n` }));
    const result = await checkJson(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.report).toMatchObject({ status: 'error', error: { message: expect.stringMatching(message) } });
  });
});

describe('settings that are not about the database: [tool.alembic-guard] env and --env', () => {
  // The project reads its settings when it is imported, as pydantic-settings projects do: the package writes the
  // environment it was imported with to ENV_DUMP (itself passed with --env), and refuses to load without APP_MODE.
  const DUMPING_PACKAGE = `import json
import os

with open(os.environ["ENV_DUMP"], "w") as f:
    json.dump(dict(os.environ), f)

APP_MODE = os.environ["APP_MODE"]
`;
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-env-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes the names given, and nothing else of the caller\'s environment, before the project is imported', async () => {
    const dump = join(scratch, 'env.json');
    const project = track(
      blogProject({
        'app/__init__.py': DUMPING_PACKAGE,
        'pyproject.toml': '[tool.alembic-guard]\nenv = { APP_MODE = "from-pyproject", APP_REGION = "eu", APP_TIER = "pyproject" }\n',
      }),
    );
    const result = await runCli(
      ['check', '--python', PYTHON, '--base', 'base', '--format', 'json', '--env', `ENV_DUMP=${dump}`, '--env', 'APP_TIER', '--env', 'APP_REGION=us'],
      { cwd: project.dir, env: { APP_TIER: 'from-caller', CALLER_SECRET: 'hunter2', APP_MODE: 'from-caller-not-named' } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).status).toBe('pass');
    const seen = JSON.parse(readFileSync(dump, 'utf8')) as Record<string, string>;
    // pyproject.toml's value; --env's wins for a name given both ways; a caller's variable only when named.
    expect(seen).toMatchObject({ APP_MODE: 'from-pyproject', APP_REGION: 'us', APP_TIER: 'from-caller', ENV_DUMP: dump });
    expect(seen).not.toHaveProperty('CALLER_SECRET');
  });

  it('without the setting the project does not import, and the check says so', async () => {
    const project = track(blogProject({ 'app/__init__.py': DUMPING_PACKAGE }));
    const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--env', `ENV_DUMP=${join(scratch, 'unused.json')}`], {
      cwd: project.dir,
      env: { APP_MODE: 'set-but-not-named' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/KeyError: 'APP_MODE'/);
  });

  it('stops with exit 2 on --env NAME when NAME is not set, naming the flag', async () => {
    const project = track(blogProject());
    const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--env', 'ALEMBIC_GUARD_UNSET_SETTING'], { cwd: project.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'alembic-guard: --env ALEMBIC_GUARD_UNSET_SETTING: ALEMBIC_GUARD_UNSET_SETTING is not set in this environment, so there is no value to pass. ' +
        'Set it (export ALEMBIC_GUARD_UNSET_SETTING=...) or pass --env ALEMBIC_GUARD_UNSET_SETTING=VALUE.',
    );
  });
});
