// Patterns of real projects that broke the check (issue 9): settings read at import time, async-only projects, and a
// replay that must apply the pull request as a deploy does. Real git repositories, the real CLI, Alembic and Postgres.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupLayoutsPython } from '../../scripts/setup-layouts-python.mjs';
import { PYTHON, REPO_ROOT, removeAfterEach, runCli, type FileChanges, type FixtureProject } from '../support/fixtures.js';
import { layoutProject, overlay, rules } from './support.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

const track = removeAfterEach();


/** The fixture `name`'s project at base (plus `base` overlays), with the pull request `pullRequest` left uncommitted. */
function fixtureProject(name: string, base: string[], pullRequest: string | null): FixtureProject {
  const root = join(FIXTURES, name);
  const baseChanges = Object.assign({}, ...base.map((dir) => overlay(join(root, dir)))) as FileChanges;
  return track(layoutProject({ '': join(root, 'project') }, baseChanges, pullRequest ? overlay(join(root, pullRequest)) : {}));
}

/** The 1-based line of the first line of `file` (a path under test/fixtures) containing `text`. */
function lineOf(file: string, text: string): number {
  const index = readFileSync(join(FIXTURES, file), 'utf8').split('\n').findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`${file} has no line containing ${text}`);
  return index + 1;
}

/** `alembic-guard check --base base --format json`, with `env` added to the CLI's own environment. */
function check(project: FixtureProject, python: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return checkJson(['--python', python, '--base', 'base', ...args], project.dir, env);
}

/** `alembic-guard check --format json ARGS` run in `cwd`, its report parsed. */
async function checkJson(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runCli(['check', '--format', 'json', ...args], { cwd, env });
  try {
    return { ...result, report: JSON.parse(result.stdout) };
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}

const byRule = (report: { findings: { rule: string }[] }, rule: string): any => {
  const found = report.findings.filter((f) => f.rule === rule);
  expect(found, JSON.stringify(report.findings, null, 1)).toHaveLength(1);
  return found[0];
};
const databaseEnv = (pairs: string[]) => pairs.flatMap((pair) => ['--database-env', pair]);
const envArgs = (pairs: string[]) => pairs.flatMap((pair) => ['--env', pair]);

describe('settings read at import time: pydantic Settings() with required fields, logging configured from LOG_FORMAT', () => {
  // app/__init__.py configures logging from LOG_FORMAT; app/core/config.py builds Settings() (SECRET_KEY and
  // ENVIRONMENT required, POSTGRES_* for the URL) at import; history's seed revision imports both, env.py imports the
  // settings and builds the URL from them. Nothing of it can be imported before every variable is set.
  const FIXTURE = 'settings-at-import';
  const POSTGRES = databaseEnv(['POSTGRES_SERVER={host}', 'POSTGRES_PORT={port}', 'POSTGRES_USER={user}', 'POSTGRES_PASSWORD={password}', 'POSTGRES_DB={database}']);
  const SLUG = 'migrations/versions/e7f3a9b2c1d4_add_article_slug.py';
  let SA20 = '';
  beforeAll(() => {
    SA20 = setupLayoutsPython('.venv-sa20');
  }, 300_000);

  /** The pull request's findings: a NOT NULL column without default on a history table, and a model change without migration. */
  function expectPullRequestFindings(result: { code: number; stderr: string; report: any }) {
    expect(result.code, result.stderr).toBe(1);
    expect(rules(result.report)).toEqual(['missing-migration', 'not-null-without-default']);
    const notNull = byRule(result.report, 'not-null-without-default');
    expect(notNull).toMatchObject({ file: SLUG, line: lineOf(`${FIXTURE}/pull-request/${SLUG}`, "'slug'"), revision: 'e7f3a9b2c1d4' });
    expect(byRule(result.report, 'missing-migration').suggestion).toContain("op.add_column('article', sa.Column('subtitle', sa.String(length=255), nullable=True))");
  }

  it('sets --env NAME=VALUE, --env NAME (from the caller) and --database-env before the first import of env.py, models and revisions', async () => {
    const project = fixtureProject(FIXTURE, [], 'pull-request');
    const result = await check(
      project,
      SA20,
      [...envArgs(['LOG_FORMAT=json', 'ENVIRONMENT=local', 'SECRET_KEY']), ...POSTGRES],
      { SECRET_KEY: 'from-the-callers-environment' },
    );
    expectPullRequestFindings(result);
  });

  it('takes the same variables from env = {...} under [tool.alembic-guard] in pyproject.toml', async () => {
    const pyproject = `${readFileSync(join(FIXTURES, FIXTURE, 'project', 'pyproject.toml'), 'utf8')}
[tool.alembic-guard]
env = { LOG_FORMAT = "json", ENVIRONMENT = "local", SECRET_KEY = "only-for-the-check" }
`;
    const project = track(layoutProject({ '': join(FIXTURES, FIXTURE, 'project') }, { 'pyproject.toml': pyproject }, overlay(join(FIXTURES, FIXTURE, 'pull-request'))));
    expectPullRequestFindings(await check(project, SA20, POSTGRES));
  });

  it('without them, stops with exit 2 naming the project file that raised and the exception', async () => {
    const project = fixtureProject(FIXTURE, [], 'pull-request');

    // Nothing given: importing `app` configures logging from LOG_FORMAT, which is not set.
    const bare = await check(project, SA20, []);
    expect(bare.code, bare.stderr).toBe(2);
    expect(bare.report.status).toBe('error');
    expect(bare.report.error.message).toContain(`app/core/logging.py:${lineOf(`${FIXTURE}/project/app/core/logging.py`, 'logging.config.dictConfig(')}`);
    expect(bare.report.error.message).toContain("ValueError: Unable to configure formatter 'access'");
    expect(bare.stderr).toContain('app/core/logging.py');
    expect(bare.stderr).toContain("ValueError: Unable to configure formatter 'access'");

    // LOG_FORMAT given: now Settings() is missing its required fields.
    const partial = await check(project, SA20, [...envArgs(['LOG_FORMAT=json']), ...POSTGRES]);
    expect(partial.code, partial.stderr).toBe(2);
    expect(partial.report.error.message).toContain(`app/core/config.py:${lineOf(`${FIXTURE}/project/app/core/config.py`, 'settings = Settings()')}`);
    expect(partial.report.error.message).toContain('2 validation errors for Settings');
    expect(partial.report.error.message).toMatch(/ENVIRONMENT\s+Field required/);
    expect(partial.report.error.message).toMatch(/SECRET_KEY\s+Field required/);
    expect(partial.stderr).toContain('app/core/config.py');
  });

  it("passes no other variable of the caller's environment: SECRET_KEY set for the CLI but not named is missing in Python", async () => {
    const project = fixtureProject(FIXTURE, [], 'pull-request');
    const callerSecret = 'callers-secret-4f9a1c';
    const unnamed = await check(project, SA20, [...envArgs(['LOG_FORMAT=json', 'ENVIRONMENT=local']), ...POSTGRES], { SECRET_KEY: callerSecret });
    expect(unnamed.code, unnamed.stderr).toBe(2);
    expect(unnamed.report.error.message).toContain(`app/core/config.py:${lineOf(`${FIXTURE}/project/app/core/config.py`, 'settings = Settings()')}`);
    expect(unnamed.report.error.message).toContain('1 validation error for Settings');
    expect(unnamed.report.error.message).toMatch(/SECRET_KEY\s+Field required/);
    expect(unnamed.stdout + unnamed.stderr).not.toContain(callerSecret);

    // The same run with the name given: the only difference is `--env SECRET_KEY`.
    const named = await check(project, SA20, [...envArgs(['LOG_FORMAT=json', 'ENVIRONMENT=local', 'SECRET_KEY']), ...POSTGRES], { SECRET_KEY: callerSecret });
    expectPullRequestFindings(named);
  });
});

describe('async-only projects: asyncpg is the only PostgreSQL driver installed, env.py is the async template', () => {
  const FIXTURE = 'async-only';
  const SHIPPING = 'migrations/versions/2025_11_27-f5a1d7c3e286_order_shipping_address.py';
  let ASYNC = '';
  beforeAll(() => {
    ASYNC = setupLayoutsPython('.venv-async');
  }, 300_000);

  function expectPullRequestFindings(result: { code: number; stderr: string; report: any }) {
    expect(result.code, result.stderr).toBe(1);
    expect(rules(result.report)).toEqual(['missing-migration', 'not-null-without-default']);
    const notNull = byRule(result.report, 'not-null-without-default');
    expect(notNull).toMatchObject({ file: SHIPPING, line: lineOf(`${FIXTURE}/pull-request/${SHIPPING}`, "'shipping_address'"), revision: 'f5a1d7c3e286' });
    expect(byRule(result.report, 'missing-migration').suggestion).toContain("op.add_column('customers', sa.Column('phone', sa.String(length=32), nullable=True))");
  }

  it('the virtualenv has asyncpg and neither psycopg nor psycopg2', () => {
    expect(execFileSync(ASYNC, ['-c', 'import asyncpg, sqlalchemy; print(sqlalchemy.__version__)'], { encoding: 'utf8' })).toMatch(/^2\./);
    expect(() => execFileSync(ASYNC, ['-c', 'import psycopg'], { stdio: 'pipe' })).toThrow(/No module named 'psycopg'/);
    expect(() => execFileSync(ASYNC, ['-c', 'import psycopg2'], { stdio: 'pipe' })).toThrow(/No module named 'psycopg2'/);
  });

  it("replaces alembic.ini's driver://user:pass@localhost/dbname with a postgresql+asyncpg URL for env.py's async engine", async () => {
    const project = fixtureProject(FIXTURE, [], 'pull-request');
    expect(project.read('alembic.ini')).toContain('sqlalchemy.url = driver://user:pass@localhost/dbname');
    expectPullRequestFindings(await check(project, ASYNC, []));
  });

  it('runs an env.py that builds postgresql+asyncpg://… from POSTGRES_* itself (mapped with --database-env)', async () => {
    const project = fixtureProject(FIXTURE, ['url-from-environment'], 'pull-request');
    expect(project.read('migrations/env.py')).toContain('create_async_engine(get_url()');
    const mapping = databaseEnv(['POSTGRES_HOST={host}', 'POSTGRES_PORT={port}', 'POSTGRES_USER={user}', 'POSTGRES_PASSWORD={password}', 'POSTGRES_DB={database}']);
    expectPullRequestFindings(await check(project, ASYNC, mapping));
  });
});

describe('the replay applies the pull request as a deploy does: history in one upgrade, then all new revisions in one upgrade', () => {
  const FIXTURE = 'deploy-replay';
  const HISTORY_HEAD = 'd3e9f1a0c6b8';
  const MEDIA = 'migrations/versions/4c8e2b7f9a15_media_library.py';

  /** `alembic upgrade FROM:TO --sql` in `dir` (offline: no database), as the alembic command line runs it. */
  const offlineSql = (dir: string, range: string) =>
    execFileSync(join(PYTHON, '..', 'alembic'), ['upgrade', range, '--sql'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1' },
    });
  const count = (text: string, needle: string) => text.split(needle).length - 1;

  const LAYOUTS: [string, string[]][] = [
    ['one transaction for the whole upgrade (the default)', []],
    ['transaction_per_migration=True', ['transaction-per-migration']],
  ];

  it.each(LAYOUTS)('two new revisions creating tables with the same new ENUM type, %s: one upgrade creates the type once, no replay-failed', async (_layout, base) => {
    const project = fixtureProject(FIXTURE, base, 'pull-requests/media-library');
    expect(project.read('migrations/env.py').includes('transaction_per_migration=True')).toBe(base.length > 0);

    // What makes it pass in production: SQLAlchemy records the types it created in the Alembic run's memo, so the
    // second create_table skips CREATE TYPE; run on its own, the second revision emits it again.
    expect(count(offlineSql(project.dir, `${HISTORY_HEAD}:head`), 'CREATE TYPE visibility')).toBe(1);
    expect(count(offlineSql(project.dir, '4c8e2b7f9a15:9f1d6a3b5e72'), 'CREATE TYPE visibility')).toBe(1);

    const { code, report, stderr } = await check(project, PYTHON, []);
    expect(code, stderr).toBe(0);
    expect(report.revisions.new).toEqual(['4c8e2b7f9a15', '9f1d6a3b5e72']);
    expect(rules(report)).toEqual(['index-not-concurrent']);
    expect(byRule(report, 'index-not-concurrent')).toMatchObject({ file: MEDIA, line: lineOf(`${FIXTURE}/pull-requests/media-library/${MEDIA}`, 'op.create_index') });
  });

  it('a new revision re-creating an ENUM type made by history fails on a database already at the history head', async () => {
    const project = fixtureProject(FIXTURE, [], 'pull-requests/static-pages');
    const PAGES = 'migrations/versions/2e6f0c4a8d91_static_pages.py';
    const { code, report, stderr } = await check(project, PYTHON, []);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['replay-failed']);
    const failed = byRule(report, 'replay-failed');
    expect(failed).toMatchObject({ file: PAGES, line: lineOf(`${FIXTURE}/pull-requests/static-pages/${PAGES}`, "op.create_table('page'"), revision: '2e6f0c4a8d91' });
    expect(failed.message).toContain(`fails on a database already at ${HISTORY_HEAD}, as a deployed database is`);
    expect(failed.message).toContain('type "publishstatus" already exists');
    expect(failed.message).not.toContain('Upgrading from an empty database fails');
  });

  it.each(LAYOUTS)("keeps each finding on its own revision's file and line, %s", async (_layout, base) => {
    const project = fixtureProject(FIXTURE, base, 'pull-requests/two-revisions');
    expect(project.read('migrations/env.py').includes('transaction_per_migration=True')).toBe(base.length > 0);
    const INDEX = 'migrations/versions/5b9e3d7c1a24_index_post_author.py';
    const DISPLAY_NAME = 'migrations/versions/8c2a4f6e0b39_user_display_name.py';
    const { code, report, stderr } = await check(project, PYTHON, []);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['index-not-concurrent', 'not-null-without-default']);
    expect(byRule(report, 'index-not-concurrent')).toMatchObject({
      file: INDEX,
      line: lineOf(`${FIXTURE}/pull-requests/two-revisions/${INDEX}`, 'op.create_index'),
      revision: '5b9e3d7c1a24',
    });
    expect(byRule(report, 'not-null-without-default')).toMatchObject({
      file: DISPLAY_NAME,
      line: lineOf(`${FIXTURE}/pull-requests/two-revisions/${DISPLAY_NAME}`, "'display_name'"),
      revision: '8c2a4f6e0b39',
    });
  });

  it('a lock taken by the first new revision is still held by the second in one transaction, and released between them with transaction_per_migration', async () => {
    const CATEGORY = 'migrations/versions/3a7c9e1f5b02_post_category.py';
    const INDEX = 'migrations/versions/6e0b2d4f8a13_index_post_category.py';
    const addColumnLine = lineOf(`${FIXTURE}/pull-requests/post-category/${CATEGORY}`, 'op.add_column');
    const where = { file: INDEX, line: lineOf(`${FIXTURE}/pull-requests/post-category/${INDEX}`, 'op.create_index'), revision: '6e0b2d4f8a13' };

    // Default layout: the deploy's one transaction still holds ADD COLUMN's ACCESS EXCLUSIVE lock during the index build.
    const shared = await check(fixtureProject(FIXTURE, [], 'pull-requests/post-category'), PYTHON, []);
    expect(shared.code, shared.stderr).toBe(0);
    expect(rules(shared.report)).toEqual(['index-not-concurrent']);
    const held = byRule(shared.report, 'index-not-concurrent');
    expect(held).toMatchObject(where);
    expect(held.message).toContain(`ACCESS EXCLUSIVE lock that line ${addColumnLine} of ${CATEGORY} took on \`post\``);
    expect(held.message).toContain('reads and writes');

    // transaction_per_migration=True: the first revision committed, the build takes its own SHARE lock.
    const own = await check(fixtureProject(FIXTURE, ['transaction-per-migration'], 'pull-requests/post-category'), PYTHON, []);
    expect(own.code, own.stderr).toBe(0);
    expect(rules(own.report)).toEqual(['index-not-concurrent']);
    const share = byRule(own.report, 'index-not-concurrent');
    expect(share).toMatchObject(where);
    expect(share.message).toContain('took a SHARE lock on `post`');
    expect(share.message).not.toContain(CATEGORY);
  });

  it('without a git base every revision is new: one upgrade from empty, and the shared ENUM still passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-no-git-'));
    try {
      cpSync(join(FIXTURES, FIXTURE, 'project'), dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
      cpSync(join(FIXTURES, FIXTURE, 'pull-requests', 'media-library'), dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
      expect(() => execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, stdio: 'pipe' })).toThrow();
      const { code, report, stderr } = await checkJson(['--python', PYTHON], dir);
      expect(code, stderr).toBe(0);
      expect(report.revisions.new).toEqual(['0b5c3e8a1f27', '7a4d2c9e6b13', 'd3e9f1a0c6b8', '4c8e2b7f9a15', '9f1d6a3b5e72']);
      expect(rules(report)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
