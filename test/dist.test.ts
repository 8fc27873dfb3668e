// dist/ is committed because GitHub runs it directly: it must be exactly what the sources build.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './support/fixtures.js';

it('dist/ matches a fresh build of the sources', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'alembic-guard-dist-'));
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), fresh], { cwd: REPO_ROOT });
    const committed = join(REPO_ROOT, 'dist');
    const files = (dir: string) => (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
      .sort();
    expect(files(committed)).toEqual(files(fresh));
    for (const name of files(fresh)) {
      const same = readFileSync(join(fresh, name)).equals(readFileSync(join(committed, name)));
      expect(same, `dist/${name} differs from a fresh build: run \`npm run build\` and commit dist/`).toBe(true);
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});
