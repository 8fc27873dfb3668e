// The initdb template cache: the first start fills it, later starts copy it, and ALEMBIC_GUARD_PG_CACHE=0 skips it.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CACHE_VARIABLE } from '../../src/postgres/initdb-cache.js';
import { startDisposablePostgres } from '../../src/postgres/start.js';

let scratch: string;
let saved: { TMPDIR?: string; cache?: string };

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'alembic-guard-cache-test-'));
  chmodSync(scratch, 0o755); // the server runs as nobody when the tests run as root
  saved = { TMPDIR: process.env.TMPDIR, cache: process.env[CACHE_VARIABLE] };
  process.env.TMPDIR = scratch;
});

afterEach(() => {
  if (saved.TMPDIR === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved.TMPDIR;
  if (saved.cache === undefined) delete process.env[CACHE_VARIABLE];
  else process.env[CACHE_VARIABLE] = saved.cache;
  rmSync(scratch, { recursive: true, force: true });
});

async function selectOne(server: Awaited<ReturnType<typeof startDisposablePostgres>>): Promise<number> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database });
  await client.connect();
  try {
    return (await client.query('select 1 as one')).rows[0].one;
  } finally {
    await client.end();
  }
}

const cacheDirs = () => readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-initdb-cache-'));

it('fills the cache on the first start and starts from a copy of it afterwards', async () => {
  const first = await startDisposablePostgres('binaries', { log: () => {} });
  try {
    expect(await selectOne(first)).toBe(1);
  } finally {
    await first.stop();
  }
  const [cacheDir] = cacheDirs();
  expect(cacheDir).toBeDefined();
  const templates = readdirSync(join(scratch, cacheDir));
  expect(templates).toHaveLength(1); // no staging leftovers
  expect(existsSync(join(scratch, cacheDir, templates[0], 'PG_VERSION'))).toBe(true);

  const second = await startDisposablePostgres('binaries', { log: () => {} });
  try {
    expect(await selectOne(second)).toBe(1);
    expect(second.database).toBe('alembic_guard');
  } finally {
    await second.stop();
  }
  // The template is pristine: the scratch database is created in the copy, never in the cache.
  expect(existsSync(join(scratch, cacheDir, templates[0], 'postmaster.pid'))).toBe(false);
  expect(readdirSync(scratch).filter((name) => name.startsWith('alembic-guard-pg-'))).toEqual([]);
});

it(`writes no cache with ${CACHE_VARIABLE}=0`, async () => {
  process.env[CACHE_VARIABLE] = '0';
  const server = await startDisposablePostgres('binaries', { log: () => {} });
  await server.stop();
  expect(cacheDirs()).toEqual([]);
});
