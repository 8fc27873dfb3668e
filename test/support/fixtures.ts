// Fixture projects for integration tests: a copy of examples/blog in a fresh git repository, with a base commit and a PR change.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
/** The bundled CLI under test; ALEMBIC_GUARD_CLI points at another build (e.g. `node scripts/build.mjs /tmp/x`). */
export const CLI = process.env.ALEMBIC_GUARD_CLI ?? join(REPO_ROOT, 'dist', 'cli.js');
const BLOG = join(REPO_ROOT, 'examples', 'blog');

export type FileChanges = Record<string, string | null>;

export interface FixtureProject {
  dir: string;
  write(path: string, text: string): void;
  read(path: string): string;
  commit(message: string): string;
  remove(): void;
}

function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A git repository holding the blog example (committed and tagged `base`), then `changes` applied and left uncommitted. */
export function blogProject(changes: FileChanges = {}, options: { commitChanges?: boolean; baseChanges?: FileChanges } = {}): FixtureProject {
  const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-test-'));
  cpSync(BLOG, dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  const project: FixtureProject = {
    dir,
    write(path, text) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    read(path) {
      return readFileSync(join(dir, path), 'utf8');
    },
    commit(message) {
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '-m', message]);
      return git(dir, ['rev-parse', 'HEAD']).trim();
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'test']);
  apply(project, options.baseChanges ?? {});
  project.commit('base');
  git(dir, ['tag', 'base']);
  apply(project, changes);
  if (options.commitChanges) project.commit('pull request');
  return project;
}

function apply(project: FixtureProject, changes: FileChanges): void {
  for (const [path, text] of Object.entries(changes)) {
    if (text === null) rmSync(join(project.dir, path), { force: true });
    else project.write(path, text);
  }
}

/**
 * The blog's env.py with `transaction_per_migration=True`: each revision commits on its own, so what a statement
 * locks is seen statement by statement within its revision (Alembic's default runs all of them in one transaction).
 */
export function blogEnvTransactionPerMigration(): string {
  const env = readFileSync(join(BLOG, 'migrations', 'env.py'), 'utf8');
  const configured = 'context.configure(connection=connection, target_metadata=target_metadata)';
  if (!env.includes(configured)) throw new Error('examples/blog/migrations/env.py changed: update blogEnvTransactionPerMigration');
  return env.replace(configured, 'context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)');
}

/** The blog's env.py written from Alembic's `async` template, as async projects write it. */
export const BLOG_ASYNC_ENV = `import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from app.models import Base

config = context.config
target_metadata = Base.metadata


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    connectable = async_engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


asyncio.run(run_async_migrations())
`;

/** Removes the projects a test file makes after each test: `const track = removeAfterEach()`, then `track(project)`. */
export function removeAfterEach(): (project: FixtureProject) => FixtureProject {
  const projects: FixtureProject[] = [];
  afterEach(() => {
    for (const project of projects.splice(0)) project.remove();
  });
  return (project) => {
    projects.push(project);
    return project;
  };
}

/** A migration file in the blog's style. */
export function migration(revision: string, downRevision: string | string[] | null, message: string, upgrade: string, downgrade = 'pass'): string {
  const down = downRevision === null ? 'None' : Array.isArray(downRevision) ? `(${downRevision.map((d) => `"${d}"`).join(', ')})` : `"${downRevision}"`;
  return `"""${message}

Revision ID: ${revision}
Revises: ${Array.isArray(downRevision) ? downRevision.join(', ') : downRevision ?? ''}
Create Date: 2026-03-01 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "${revision}"
down_revision: Union[str, Sequence[str], None] = ${down}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
${indent(upgrade)}


def downgrade() -> None:
${indent(downgrade)}
`;
}

function indent(code: string): string {
  return code
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** The blog's models with extra lines added to the User class. */
export function blogModelsWithUserColumns(...lines: string[]): string {
  const models = readFileSync(join(BLOG, 'app', 'models.py'), 'utf8');
  return models.replace('    phone = Column(String(20))\n', `    phone = Column(String(20))\n${lines.map((l) => `    ${l}\n`).join('')}`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The provider every `check` of the integration suite uses unless the test names one: ALEMBIC_GUARD_TEST_DATABASE
 * (auto when unset), with ALEMBIC_GUARD_TEST_DATABASE_URL for `url` and ALEMBIC_GUARD_TEST_POSTGRES_IMAGE for
 * `testcontainers` (scripts/test-providers.mjs runs the suite once per provider).
 */
export function providerArgs(args: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const database = env.ALEMBIC_GUARD_TEST_DATABASE;
  if (!database || args[0] !== 'check' || args.some((arg) => arg === '--database' || arg.startsWith('--database='))) return [];
  const extra = ['--database', database];
  if (database === 'url' && env.ALEMBIC_GUARD_TEST_DATABASE_URL) extra.push('--database-url', env.ALEMBIC_GUARD_TEST_DATABASE_URL);
  // Only for testcontainers: the image's tag would also pin --postgres-version for the other providers.
  if (database === 'testcontainers' && env.ALEMBIC_GUARD_TEST_POSTGRES_IMAGE && !args.includes('--postgres-image')) extra.push('--postgres-image', env.ALEMBIC_GUARD_TEST_POSTGRES_IMAGE);
  return extra;
}

/** Runs the bundled CLI (dist/cli.js) as a user would. */
export function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; node?: string }): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.node ?? process.execPath, [CLI, ...args, ...providerArgs(args)], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** `alembic-guard check --format json` on a fixture, parsed. */
export async function checkJson(project: FixtureProject, extra: string[] = []) {
  const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'json', ...extra], { cwd: project.dir });
  let report: any = null;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  return { ...result, report };
}

/** A pull request whose only finding is a warning: an index on the existing users.phone without CONCURRENTLY (index-not-concurrent). */
export function warningOnlyPullRequest(): Record<string, string> {
  return {
    'app/models.py': blogModelsWithUserColumns().replace('phone = Column(String(20))', 'phone = Column(String(20), index=True)'),
    'migrations/versions/004_index_phone.py': migration(
      'c0000000004e',
      'b0000000003c',
      'index phone',
      'op.create_index(op.f("ix_users_phone"), "users", ["phone"], unique=False)',
      'op.drop_index(op.f("ix_users_phone"), table_name="users")',
    ),
  };
}
