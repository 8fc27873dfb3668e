// Bundles the CLI (dist/cli.js) and the GitHub Action (dist/index.js) into the committed dist/ folder, with the files they load at run time beside them.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOptions, copyRuntimeFiles } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = process.argv[2] ?? join(root, 'dist');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

// testcontainers (~5 MB of JavaScript, Node >= 22.22) is its own file, loaded by src/postgres/testcontainers.ts only
// when a container is started: the CLI and the action load no more than before.
await build(
  bundleOptions({
    root,
    entryPoints: { cli: 'src/cli.ts', index: 'src/index.ts', testcontainers: 'src/postgres/testcontainers-runtime.ts' },
    outdir,
  }),
);

copyRuntimeFiles(root, outdir);
