// The bundled CLI must find libpg-query's WASM beside itself, wherever it runs from and with no node_modules around.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';

interface BundleOptionsModule {
  bundleOptions(options: { root: string; entryPoints: Record<string, string>; outdir: string }): object;
  copyRuntimeFiles(root: string, outdir: string): void;
}

let work: string;
let outdir: string;
let elsewhere: string;

beforeAll(async () => {
  // Outside the repository, so that no node_modules can be found by walking up from the bundle.
  work = mkdtempSync(join(tmpdir(), 'alembic-guard-bundle-'));
  outdir = join(work, 'dist');
  elsewhere = join(work, 'elsewhere');
  mkdirSync(outdir);
  mkdirSync(elsewhere);
  // dist/cli.js is ESM because the repository's package.json says so; say the same here.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
  const entry = join(work, 'probe.ts');
  writeFileSync(
    entry,
    [
      `import { loadSqlParser, parseStatement } from ${JSON.stringify(join(REPO_ROOT, 'src', 'sql', 'parse.js'))};`,
      'await loadSqlParser();',
      'process.stdout.write(JSON.stringify(parseStatement(process.argv[2] ?? "")));',
    ].join('\n'),
  );
  // The same settings and copied files as scripts/build.mjs.
  const shared = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'bundle-options.mjs')).href)) as BundleOptionsModule;
  const { build } = await import('esbuild');
  await build(shared.bundleOptions({ root: REPO_ROOT, entryPoints: { probe: entry }, outdir }) as Parameters<typeof build>[0]);
  shared.copyRuntimeFiles(REPO_ROOT, outdir);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

it('copies the WASM beside the bundle, as the build does', () => {
  expect(readdirSync(outdir).sort()).toEqual(['_alembic_guard', 'alembic_guard_helper.py', 'libpg-query.wasm', 'probe.js']);
});

it('parses SQL from the bundle, run from another directory', () => {
  const out = execFileSync(process.execPath, [join(outdir, 'probe.js'), 'UPDATE users SET status = %(status)s'], {
    cwd: elsewhere,
    encoding: 'utf8',
  });
  const result = JSON.parse(out);
  const update = result.stmts[0].stmt.UpdateStmt;
  expect(update.relation.relname).toBe('users');
  expect(update.targetList[0].ResTarget.val.ParamRef.number).toBe(1);
});

it('fails with a message naming the WASM when it is missing', () => {
  const bare = join(work, 'bare');
  mkdirSync(bare);
  // The bundle alone, without the files copied beside it.
  copyFileSync(join(outdir, 'probe.js'), join(bare, 'probe.js'));
  const run = spawnSync(process.execPath, [join(bare, 'probe.js'), 'SELECT 1'], { cwd: elsewhere, encoding: 'utf8' });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain('could not load the Postgres SQL parser (libpg-query.wasm)');
});
