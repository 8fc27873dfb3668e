// Layout fixtures: a folder of test/fixtures/layouts (or nothing) in a fresh git repository tagged `base`, then the PR's changes.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
