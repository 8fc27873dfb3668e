// Layout fixtures: a folder of test/fixtures/layouts (or nothing) in a fresh git repository tagged `base`, then the PR's changes.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { REPO_ROOT, runCli, type CliResult, type FileChanges, type FixtureProject } from '../support/fixtures.js';

export const LAYOUTS = join(REPO_ROOT, 'test', 'fixtures', 'layouts');
export const BLOG = join(REPO_ROOT, 'examples', 'blog');

function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * `copies` maps a folder of the new repository ('' for its root) to the folder copied there; `base` is committed with
 * them and tagged `base`; `changes` (the pull request) are left uncommitted. A null text deletes the file.
 */
export function layoutProject(copies: Record<string, string>, base: FileChanges = {}, changes: FileChanges = {}): FixtureProject {
  const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-layout-'));
  for (const [target, source] of Object.entries(copies)) {
    cpSync(source, join(dir, target), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  }
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
  const apply = (files: FileChanges) => {
    for (const [path, text] of Object.entries(files)) {
      if (text === null) rmSync(join(dir, path), { force: true });
      else project.write(path, text);
    }
  };
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'test']);
  apply(base);
  project.commit('base');
  git(dir, ['tag', 'base']);
  apply(changes);
  return project;
}

/** `alembic-guard check --base base --format json` with `python`, run in `cwd` (default: the repository root). */
export async function checkLayout(
  project: FixtureProject,
  python: string,
  args: string[] = [],
  cwd = project.dir,
): Promise<CliResult & { report: any }> {
  const result = await runCli(['check', '--python', python, '--base', 'base', '--format', 'json', ...args], { cwd });
  try {
    return { ...result, report: JSON.parse(result.stdout) };
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}

export const rules = (report: { findings: { rule: string }[] }) => report.findings.map((f) => f.rule).sort();

/** Every file under `dir` (a fixture's base variant or pull request), keyed by its path relative to `dir`. */
export function overlay(dir: string): FileChanges {
  const files: FileChanges = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      if (name === '__pycache__') continue;
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path).split(sep).join('/')] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

/** ini-in-migrations' pull request: a column and its index added in batch mode, as autogenerate writes it with render_as_batch. */
export const BATCH_EMAIL_MIGRATION = `"""email

Revision ID: 7d2e4b6a8c03
Revises: 5f1c0a9d2e01
Create Date: 2026-03-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "7d2e4b6a8c03"
down_revision = "5f1c0a9d2e01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=False)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))
        batch_op.drop_column("email")
`;
