// The Python helper on its own, against real Alembic in the test virtualenv and a real disposable Postgres.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DisposablePostgres } from '../../src/postgres/provider.js';
import { startDisposablePostgres } from '../../src/postgres/start.js';
import { HelperRequestError, PythonHelper } from '../../src/python/bridge.js';
import { pythonEnvironment } from '../../src/python/environment.js';
import type { CompareResult, LoadResult, RenderResult, ReplayResult, ScannedFile } from '../../src/python/protocol.js';
import { schemaFromJson, snapshotAsJsonSql } from '../../src/schema/introspect.js';
import { blogModelsWithUserColumns, blogProject, migration, PYTHON, type FixtureProject, BLOG_ASYNC_ENV } from '../support/fixtures.js';

let postgres: DisposablePostgres;
let project: FixtureProject;
let helper: PythonHelper;
let printed = '';

beforeAll(async () => {
  postgres = await startDisposablePostgres('binaries', { log: () => {} });
  project = blogProject({
    // Project code that reads its settings at import time, as real projects do.
    'app/models.py': `import os\nprint("APP_MODE at import:", os.environ.get("APP_MODE"), os.environ.get("APP_DB_HOST"))\n${blogModelsWithUserColumns('bio = Column(String(500))')}`,
    'migrations/versions/004_two_ops.py': migration(
      'c0000000004d',
      'b0000000003c',
      'two ops',
      'print("hello from a migration")\nop.add_column("posts", sa.Column("slug", sa.String(length=80), nullable=True))\nop.create_index("ix_posts_slug", "posts", ["slug"])\nop.alter_column("posts", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())',
      'op.alter_column("posts", "user_id", type_=sa.Integer(), existing_type=sa.BigInteger())\nop.drop_index("ix_posts_slug", table_name="posts")\nop.drop_column("posts", "slug")',
    // A migration importing the app at module level (same line: the op lines stay where the assertions expect them).
    ).replace('from typing import Sequence, Union', 'import app.models; from typing import Sequence, Union'),
  });
  helper = PythonHelper.start(PYTHON, project.dir, pythonEnvironment(process.env), (text) => (printed += text));
});

afterAll(async () => {
  await helper?.close();
  await postgres?.stop();
  project?.remove();
});

describe('the Python helper', () => {
  it('loads the revision graph with every op.* call and its line, base first, with the environment set before', async () => {
    const loaded = await helper.request<LoadResult>('load', {
      root: project.dir,
      config: `${project.dir}/alembic.ini`,
      section: 'alembic',
      database: { host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database },
      environment: { APP_MODE: 'test' },
      databaseEnvironment: { APP_DB_HOST: '{host}', APP_DSN: 'postgresql://{user}@{host}:{port}/{database}' },
    });
    // The revision files import app.models: by then --env and --database-env values were in place.
    expect(printed).toContain(`APP_MODE at import: test ${postgres.host}`);
    expect(loaded.driver).toBe('postgresql+psycopg'); // the scheme alembic.ini names
    expect(loaded.heads).toEqual(['c0000000004d']);
    expect(loaded.revisions.map((r) => r.revision)).toEqual(['b0000000001a', 'b0000000002b', 'b0000000003c', 'c0000000004d']);
    const last = loaded.revisions[3];
    expect(last.downRevisions).toEqual(['b0000000003c']);
    expect(last.ops).toEqual([
      { function: 'upgrade', call: 'add_column', batch: false, line: 23, endLine: 23 },
      { function: 'upgrade', call: 'create_index', batch: false, line: 24, endLine: 24 },
      { function: 'upgrade', call: 'alter_column', batch: false, line: 25, endLine: 25 },
      { function: 'downgrade', call: 'alter_column', batch: false, line: 29, endLine: 29 },
      { function: 'downgrade', call: 'drop_index', batch: false, line: 30, endLine: 30 },
      { function: 'downgrade', call: 'drop_column', batch: false, line: 31, endLine: 31 },
    ]);
    expect(last.upgradeIsEmpty).toBe(false);
  });

  it('reads revision ids from source without running it', async () => {
    const { files } = await helper.request<{ files: ScannedFile[] }>('scan', {
      files: [
        { path: 'a.py', text: 'raise SystemExit(3)\nrevision = "abc"\ndown_revision = None\n' },
        { path: 'b.py', text: 'revision = (' },
      ],
    });
    expect(files[0]).toMatchObject({ path: 'a.py', revision: 'abc', syntaxError: null });
    expect(files[1].revision).toBeNull();
    expect(files[1].syntaxError).toMatch(/line 1/);
  });

  it('replays with every statement attributed to its revision and op line, printing nothing on the protocol', async () => {
    const replay = await helper.request<ReplayResult>('replay', {
      steps: [
        { direction: 'upgrade', target: ['b0000000003c'] },
        { direction: 'upgrade', target: 'heads', observe: true },
      ],
      snapshot: { sql: snapshotAsJsonSql(), revisions: ['c0000000004d'] },
    });
    expect(replay.failure).toBeNull();
    expect(replay.applied.map((a) => a.revision)).toEqual(['b0000000001a', 'b0000000002b', 'b0000000003c', 'c0000000004d']);
    const last = replay.applied[3];
    expect(last.statements.map((s) => [s.sql.trim().split(/\s+/).slice(0, 3).join(' '), s.line])).toEqual([
      ['ALTER TABLE posts', 23],
      ['CREATE INDEX ix_posts_slug', 24],
      ['ALTER TABLE posts', 25],
    ]);
    // Observed inside the migration's transaction: the index build's SHARE lock, and the type change's rewrite.
    const [addColumn, createIndex, alterType] = last.statements;
    expect(addColumn.locks).toEqual([{ relation: 'posts', kind: 'r', mode: 'AccessExclusiveLock' }]);
    expect(addColumn.rewrote).toEqual([]);
    expect(createIndex.locks).toContainEqual({ relation: 'posts', kind: 'r', mode: 'ShareLock' });
    expect(createIndex.rewrote).toEqual([]);
    expect(alterType.rewrote).toContain('posts');
    // History was not observed: no locks recorded there.
    expect(replay.applied[2].statements[0].locks).toBeUndefined();
    expect(last.statements.every((s) => s.revision === 'c0000000004d' && (s.seconds ?? -1) >= 0)).toBe(true);
    // Alembic's own bookkeeping on alembic_version is not attributed to migrations.
    expect(replay.applied.flatMap((a) => a.statements).some((s) => /alembic_version/.test(s.sql))).toBe(false);
    expect(printed).toContain('hello from a migration');
    // The schema right after the revision, read inside its run on the migration's own connection.
    expect(replay.applied[2].schema).toBeUndefined();
    const after = schemaFromJson(last.schema!);
    expect(after.tables.get('posts')!.columns.find((c) => c.name === 'slug')).toMatchObject({ type: 'character varying(80)', notNull: false });
    expect(after.tables.get('posts')!.columns.find((c) => c.name === 'user_id')!.type).toBe('bigint');
    expect([...after.indexes.keys()]).toContain('ix_posts_slug');
    expect(after.tables.has('alembic_version')).toBe(false);
  });

  it('renders the migration autogenerate would write, and writes no file', async () => {
    const compare = await helper.request<CompareResult>('compare');
    expect(compare.empty).toBe(false);
    // The models have users.bio but not the migration's posts.slug, its index and the bigint user_id.
    expect(compare.diffs).toEqual([
      {
        kind: 'modify_type',
        table: 'posts',
        object: 'user_id',
        text: 'modify_type posts.user_id: BIGINT -> INTEGER',
        fingerprint: "op.alter_column('posts', 'user_id',\nexisting_type=sa.BIGINT(),\ntype_=sa.Integer(),\nexisting_nullable=False)",
      },
      {
        kind: 'remove_index',
        table: 'posts',
        object: 'ix_posts_slug',
        text: 'remove_index posts.ix_posts_slug',
        fingerprint: "op.drop_index(op.f('ix_posts_slug'), table_name='posts')",
      },
      { kind: 'remove_column', table: 'posts', object: 'slug', text: 'remove_column posts.slug', fingerprint: "op.drop_column('posts', 'slug')" },
      {
        kind: 'add_column',
        table: 'users',
        object: 'bio',
        text: 'add_column users.bio',
        fingerprint: "op.add_column('users', sa.Column('bio', sa.String(length=500), nullable=True))",
      },
    ]);
    // `render` writes the migration for a part of those differences: what the pull request must add.
    const part = await helper.request<RenderResult>('render', { exclude: compare.diffs.slice(0, 3).map((d) => d.fingerprint) });
    expect(part.upgrade).toBe("def upgrade() -> None:\n    # ### commands auto generated by Alembic - please adjust! ###\n    op.add_column('users', sa.Column('bio', sa.String(length=500), nullable=True))\n    # ### end Alembic commands ###");
    expect(part.downgrade).toContain("op.drop_column('users', 'bio')");
    expect(part.downgrade).not.toContain('slug');
    expect(compare.upgrade).toContain('def upgrade() -> None:');
    expect(compare.upgrade).toContain("op.add_column('users', sa.Column('bio', sa.String(length=500), nullable=True))");
    expect(compare.downgrade).toContain("op.drop_column('users', 'bio')");
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(`${project.dir}/migrations/versions`).sort()).toEqual([
      '001_create_users.py',
      '002_create_posts.py',
      '003_add_phone_to_users.py',
      '004_two_ops.py',
    ]);
  });

  it('answers an unknown command with an error instead of dying', async () => {
    await expect(helper.request('nope')).rejects.toBeInstanceOf(HelperRequestError);
    expect(await helper.request<{ python: string }>('hello')).toHaveProperty('alembic');
  });
});


describe('the driver the project gets for a placeholder sqlalchemy.url', () => {
  const cases: [string, string | null, string][] = [
    ['an async env.py gets asyncpg', BLOG_ASYNC_ENV, 'postgresql+asyncpg'],
    ['a sync env.py gets psycopg2', null, 'postgresql+psycopg2'],
  ];
  for (const [name, envPy, driver] of cases) {
    it(`${name}, and the replay runs and is observed through it`, async () => {
      const placeholder = blogProject({
        ...(envPy ? { 'migrations/env.py': envPy } : {}),
        'migrations/versions/004_nickname.py': migration('c0000000004d', 'b0000000003c', 'nickname', 'op.add_column("users", sa.Column("nickname", sa.String(50)))'),
      });
      const ini = placeholder.read('alembic.ini').replace(/^sqlalchemy\.url = .*$/m, 'sqlalchemy.url = driver://user:pass@localhost/dbname');
      placeholder.write('alembic.ini', ini);
      const own = PythonHelper.start(PYTHON, placeholder.dir, pythonEnvironment(process.env), () => {});
      const server = await startDisposablePostgres('binaries', { log: () => {} });
      try {
        const loaded = await own.request<LoadResult>('load', {
          root: placeholder.dir,
          config: `${placeholder.dir}/alembic.ini`,
          section: 'alembic',
          database: { host: server.host, port: server.port, user: server.user, password: server.password, database: server.database },
        });
        expect(loaded.driver).toBe(driver);
        expect(loaded.url.startsWith(`${driver}://`)).toBe(true);
        const replay = await own.request<ReplayResult>('replay', {
          steps: [
            { direction: 'upgrade', target: ['b0000000003c'] },
            { direction: 'upgrade', target: 'heads', observe: true },
          ],
          snapshot: { sql: snapshotAsJsonSql(), revisions: ['c0000000004d'] },
        });
        expect(replay.failure).toBeNull();
        const last = replay.applied.at(-1)!;
        expect(last.statements[0]!.locks).toEqual([{ relation: 'users', kind: 'r', mode: 'AccessExclusiveLock' }]);
        expect(schemaFromJson(last.schema!).tables.get('users')!.columns.map((c) => c.name)).toContain('nickname');
      } finally {
        await own.close();
        await server.stop();
        placeholder.remove();
      }
    });
  }
});

it('a request written to a helper that was just killed fails with the reason, and does not end this process', async () => {
  const doomed = PythonHelper.start(PYTHON, project.dir, pythonEnvironment(process.env), () => {});
  await doomed.request('hello');
  const gone = doomed.abandon();
  // The process is dead before its 'exit' event is handled: the write below hits a closed pipe (EPIPE).
  execFileSync('sleep', ['0.3']);
  await expect(doomed.request('hello')).rejects.toThrow(/the Python helper exited \(SIGKILL\)/);
  await gone;
});
