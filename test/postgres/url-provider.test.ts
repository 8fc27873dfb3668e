// The `url` provider against a real server (a binaries cluster standing in for the user's): a scratch database is
// created and dropped, and the database named in the URL is never touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { UserError } from '../../src/errors.js';
import { binariesProvider } from '../../src/postgres/binaries.js';
import type { DisposablePostgres } from '../../src/postgres/provider.js';
import { createSiblingDatabase, recreateScratchDatabase } from '../../src/postgres/recreate.js';
import { startDisposablePostgres } from '../../src/postgres/start.js';
import { parseServerUrl, SCRATCH_PREFIX } from '../../src/postgres/url.js';
import { blogModelsWithUserColumns, blogProject, checkJson, migration } from '../support/fixtures.js';

let server: DisposablePostgres;
let appUrl: string;

async function query(database: string, sql: string, user = 'postgres'): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ host: server.host, port: server.port, user, database });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const scratchDatabases = async () =>
  (await query('postgres', `select datname from pg_database where datname like '${SCRATCH_PREFIX}%'`)).map((row) => row['datname']);
const appTables = async () =>
  (await query('appdb', "select tablename from pg_tables where schemaname = 'public' order by 1")).map((row) => row['tablename']);

beforeAll(async () => {
  // The "user's server": its database appdb holds a table the check must never touch.
  server = await binariesProvider.start({ log: () => {} });
  await query('postgres', 'create database appdb');
  await query('appdb', "create table precious (id int primary key, note text); insert into precious values (1, 'keep me')");
  await query('postgres', 'create role nocreatedb login');
  appUrl = `postgresql://postgres@${server.host}:${server.port}/appdb`;
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe('url provider', () => {
  it('parses postgresql://, postgres:// and SQLAlchemy URLs, and masks the password in messages', () => {
    expect(parseServerUrl('postgresql+psycopg://app:s3cret@db.example:6543/main')).toEqual({
      host: 'db.example',
      port: 6543,
      user: 'app',
      password: 's3cret',
      database: 'main',
      display: 'postgresql+psycopg://app:***@db.example:6543/main',
    });
    expect(parseServerUrl('postgres://me@localhost')).toMatchObject({ port: 5432, user: 'me', database: 'me' });
    expect(() => parseServerUrl('mysql://x@y/z')).toThrow(UserError);
    expect(() => parseServerUrl('not a url')).toThrow(/--database-url: not a URL/);
  });

  it('works in a scratch database it creates, recreates and drops; the URL database keeps its table and gains none', async () => {
    const lines: string[] = [];
    const pg1 = await startDisposablePostgres('url', { databaseUrl: appUrl, log: (line) => lines.push(line) });
    try {
      expect(pg1.provider).toBe('url');
      expect(pg1.database).toMatch(new RegExp(`^${SCRATCH_PREFIX}[0-9a-f]{12}$`));
      expect(pg1.database).not.toBe('appdb');
      expect(lines).toEqual([expect.stringMatching(/^postgres: url \d+\.\d+ \(postgresql:\/\/postgres@127\.0\.0\.1:\d+\/appdb\), scratch database alembic_guard_\w+ created in/)]);
      expect(await scratchDatabases()).toEqual([pg1.database]);
      await query(pg1.database, 'create table scratch_only (id int)');
      await recreateScratchDatabase(pg1);
      expect(await query(pg1.database, "select count(*)::int as n from pg_tables where schemaname = 'public'")).toEqual([{ n: 0 }]);
      // model-drift's database beside it: dropped with it.
      await createSiblingDatabase(pg1, `${pg1.database}_models`);
      expect((await scratchDatabases()).sort()).toEqual([pg1.database, `${pg1.database}_models`]);
    } finally {
      await pg1.stop();
    }
    await expect(pg1.stop()).resolves.toBeUndefined();
    expect(await scratchDatabases()).toEqual([]);
    expect(await appTables()).toEqual(['precious']);
  });

  it('a user that may not create databases gets a UserError naming the fix, and nothing is created', async () => {
    const url = `postgresql://nocreatedb@${server.host}:${server.port}/appdb`;
    const error = await startDisposablePostgres('url', { databaseUrl: url, log: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/cannot create the scratch database alembic_guard_\w+ \(permission denied to create database\)/);
    expect((error as Error).message).toContain('never runs migrations in the database named in the URL (appdb)');
    expect((error as Error).message).toContain('ALTER ROLE "nocreatedb" CREATEDB');
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a server that does not answer is a UserError with the password masked', async () => {
    const error = await startDisposablePostgres('url', { databaseUrl: 'postgresql://u:hunter2@127.0.0.1:1/x', log: () => {} }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^--database-url postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: cannot connect/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('a whole check runs in the scratch database (with a downgrade replay) and leaves the URL database as it was', async () => {
    // A downgrade that does not undo its upgrade: the step-by-step pass recreates the scratch database.
    const project = blogProject({
      'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))'),
      'migrations/versions/004_add_bio.py': migration(
        'c0000000004d',
        'b0000000003c',
        'add bio',
        `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))`,
      ),
    });
    try {
      const { code, report, stderr } = await checkJson(project, ['--database', 'url', '--database-url', appUrl]);
      expect(code, stderr).toBe(0);
      expect(report.findings.map((finding: { rule: string }) => finding.rule)).toContain('downgrade-incomplete');
      expect(stderr).toMatch(/postgres: url .* scratch database alembic_guard_\w+ created/);
    } finally {
      project.remove();
    }
    expect(await scratchDatabases()).toEqual([]);
    expect(await appTables()).toEqual(['precious']);
    expect(await query('appdb', 'select * from precious')).toEqual([{ id: 1, note: 'keep me' }]);
  });

  it('--database url with a user without CREATEDB stops the CLI with exit 2', async () => {
    const project = blogProject();
    try {
      const url = `postgresql://nocreatedb@${server.host}:${server.port}/appdb`;
      const { code, report, stderr } = await checkJson(project, ['--database', 'url', '--database-url', url]);
      expect(code).toBe(2);
      expect(report.status).toBe('error');
      expect(stderr).toContain('cannot create the scratch database');
    } finally {
      project.remove();
    }
    expect(await appTables()).toEqual(['precious']);
  });
});
