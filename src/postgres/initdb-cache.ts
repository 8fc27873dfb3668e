// A pristine initdb'd data directory kept per server binaries, copied for each check: initdb is most of a cold start.
//
// Measured on 2 cores: initdb --no-sync 0.7-0.8 s; copying its 39 MB result with `cp -a` 0.2 s. The first check on a
// machine pays initdb plus one copy into the cache; every later one only the copy. ALEMBIC_GUARD_PG_CACHE=0 turns
// it off.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerUser } from './server-user.js';

export const CACHE_VARIABLE = 'ALEMBIC_GUARD_PG_CACHE';

export interface InitdbCache {
  /** The cached pristine data directory, when there is one. */
  readonly template: string;
  /** Where a new template is written before it is renamed into place (atomic against concurrent checks). */
  readonly staging: string;
  readonly root: string;
}

/** Where the template for these binaries and initdb arguments lives; null when caching is off. */
export function initdbCache(
  bindir: string,
  serverVersion: string,
  initdbArgs: readonly string[],
  user: ServerUser,
  env: NodeJS.ProcessEnv = process.env,
): InitdbCache | null {
  if (env[CACHE_VARIABLE] === '0') return null;
  const owner = user.ids?.uid ?? process.getuid?.() ?? 'user';
  const key = createHash('sha256').update(JSON.stringify([bindir, serverVersion, initdbArgs])).digest('hex').slice(0, 16);
  // In TMPDIR, not in the home directory: the server user (nobody, under root) must be able to reach it.
  const root = join(env.TMPDIR ?? tmpdir(), `alembic-guard-initdb-cache-${owner}`);
  return { root, template: join(root, key), staging: join(root, `${key}.${process.pid}.${Date.now()}.tmp`) };
}

/** Creates the cache folder, owned by the server user. */
export async function ensureCacheRoot(cache: InitdbCache, user: ServerUser): Promise<void> {
  await mkdir(cache.root, { recursive: true, mode: 0o700 });
  if (user.ids) await chown(cache.root, user.ids.uid, user.ids.gid);
}

export function hasTemplate(cache: InitdbCache): boolean {
  return existsSync(join(cache.template, 'PG_VERSION'));
}

/** Moves a freshly copied staging directory into place; another check may have won the race, which is fine. */
export async function publishTemplate(cache: InitdbCache): Promise<void> {
  try {
    await rename(cache.staging, cache.template);
  } catch {
    await rm(cache.staging, { recursive: true, force: true });
  }
}
