// The pull-request model on hand-made evidence: which tables existed before, what was added, renamed and dropped.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Evidence, RevisionEvidence, StatementEvidence } from '../../../src/evidence/evidence.js';
import type { MigrationGraph, Revision } from '../../../src/graph/graph.js';
import type { Column, Schema, Table } from '../../../src/schema/schema.js';
import { loadSqlParser, parseStatement } from '../../../src/sql/parse.js';
import {
  addedColumn,
  existedBefore,
  pullRequestChanges,
  pullRequestStatements,
  type CreateReading,
  type PullRequestStatement,
} from '../../../src/rules/support/pull-request.js';

function column(name: string, type = 'integer'): Column {
  return { name, type, notNull: false, default: null, identity: '', generated: '' };
}

function table(name: string, columns: string[], kind = 'r'): Table {
  return { name, schema: 'public', oid: 1, relfilenode: 1, kind, columns: columns.map((c) => column(c)) };
}

function schema(...tables: Table[]): Schema {
  return { tables: new Map(tables.map((t) => [t.name, t])), indexes: new Map(), constraints: [], enums: new Map() };
}

const BASELINE = schema(table('users', ['id', 'email', 'phone']), table('posts', ['id', 'user_id']), table('user_names', ['id'], 'v'));

function statement(sql: string, line: number | null): StatementEvidence {
  return { sql, line, op: null, seconds: 0, ast: parseStatement(sql), locks: [], rewrote: [], proof: null };
}

/** Revisions of statements, each statement on its own line from 10 on (null: from a helper module). */
function pullRequest(...revisions: (string | [string, null])[][]): { graph: MigrationGraph; evidence: Evidence } {
  const observed: RevisionEvidence[] = revisions.map((statements, r) => ({
    revision: `r${r}`,
    before: BASELINE,
    after: BASELINE,
    statements: statements.map((s, i) => (Array.isArray(s) ? statement(s[0], null) : statement(s, 10 + i))),
    heldAtStart: [],
    downgrade: null,
  }));
  const known = observed.map((r) => ({ id: r.revision, file: `versions/${r.revision}.py`, upgradeLine: 7 }) as unknown as Revision);
  const graph = { revisions: known, byId: new Map(known.map((r) => [r.id, r])), heads: [], historyHeads: [], removed: [], base: '' } as MigrationGraph;
  return { graph, evidence: { baseline: BASELINE, revisions: observed, downgradesStopped: null } };
}

function sites(creates: CreateReading, ...revisions: (string | [string, null])[][]): PullRequestStatement[] {
  const { graph, evidence } = pullRequest(...revisions);
  return pullRequestStatements(graph, evidence, creates);
}

/** Whether `table` existed before the pull request, as the last statement saw it. */
function existedAtLast(creates: CreateReading, statements: string[], table: string): boolean {
  const all = sites(creates, [...statements, 'SELECT 1']);
  return existedBefore(all.at(-1)!, table);
}

describe('the pull request statements', () => {
  beforeAll(loadSqlParser);

  it('gives each parsed statement in order, with its revision, file, position and line', () => {
    const all = sites('as-run', ['ALTER TABLE users ADD COLUMN bio text; UPDATE users SET bio = 1'], [['SELECT 1', null]]);
    expect(all.map((s) => [s.revision.revision, s.file, s.at, s.line])).toEqual([
      ['r0', 'versions/r0.py', { revision: 0, statement: 0 }, 10],
      ['r0', 'versions/r0.py', { revision: 0, statement: 0 }, 10],
      // A statement from a helper module: the upgrade() line.
      ['r1', 'versions/r1.py', { revision: 1, statement: 0 }, 7],
    ]);
  });

  it('tells tables that existed before the pull request, renamed or not, from the ones it created, and leaves views out', () => {
    const reading: CreateReading = 'as-run';
    expect(existedAtLast(reading, [], 'users')).toBe(true);
    expect(existedAtLast(reading, [], 'user_names')).toBe(false);
    expect(existedAtLast(reading, ['ALTER TABLE users RENAME TO members'], 'members')).toBe(true);
    expect(existedAtLast(reading, ['ALTER TABLE users RENAME TO members'], 'users')).toBe(false);
    expect(existedAtLast(reading, ['CREATE TABLE notes (id int)'], 'notes')).toBe(false);
    expect(existedAtLast(reading, ['DROP TABLE users', 'CREATE TABLE users (id int)'], 'users')).toBe(false);
    expect(existedAtLast(reading, ['CREATE TABLE notes (id int)', 'ALTER TABLE notes RENAME TO users_2'], 'users_2')).toBe(false);
  });

  it('shows each statement the tables as they were just before it', () => {
    const [drop, after] = sites('as-run', ['DROP TABLE users', 'SELECT 1']);
    expect(existedBefore(drop!, 'users')).toBe(true);
    expect(existedBefore(after!, 'users')).toBe(false);
  });

  it('reads CREATE TABLE as Postgres runs it, or as written (the nullability rules)', () => {
    const skipped = ['CREATE TABLE IF NOT EXISTS users (id int)'];
    expect(existedAtLast('as-run', skipped, 'users')).toBe(true);
    expect(existedAtLast('as-written', skipped, 'users')).toBe(false);
    const selectInto = ['DROP TABLE posts', 'SELECT 1 AS id INTO posts'];
    expect(existedAtLast('as-run', selectInto, 'posts')).toBe(false);
    expect(sites('as-written', selectInto).at(-1)!.tables.get('posts')).toBeUndefined();
    expect(sites('as-written', [...selectInto, 'SELECT 1']).at(-1)!.tables.get('posts')?.original).toBe(false);
    const view = ['CREATE MATERIALIZED VIEW IF NOT EXISTS users AS SELECT 1'];
    expect(existedAtLast('as-run', view, 'users')).toBe(true);
    expect(existedAtLast('as-written', view, 'users')).toBe(true);
  });

  it('knows the columns the pull request added, under their names now, and forgets dropped ones', () => {
    const all = sites('as-run', [
      'ALTER TABLE users ADD COLUMN nickname text',
      'ALTER TABLE users RENAME COLUMN nickname TO handle',
      'ALTER TABLE users RENAME TO members',
      'ALTER TABLE members ADD COLUMN gone int',
      'ALTER TABLE members DROP COLUMN gone',
      'SELECT 1',
    ]);
    expect(addedColumn(all[0]!, 'users', 'nickname')).toBeNull();
    const last = all.at(-1)!;
    const added = addedColumn(last, 'members', 'handle');
    expect(added).toMatchObject({ table: 'members', revision: 'r0', file: 'versions/r0.py', line: 10, at: { revision: 0, statement: 0 } });
    expect(added?.column.colname).toBe('handle');
    expect(addedColumn(last, 'members', 'gone')).toBeNull();
    expect(addedColumn(last, 'members', 'email')).toBeNull();
  });

  it('counts ADD COLUMN IF NOT EXISTS of an existing column as added, with no add-column change', () => {
    const { graph, evidence } = pullRequest(['ALTER TABLE users ADD COLUMN IF NOT EXISTS email text', 'SELECT 1']);
    const all = pullRequestStatements(graph, evidence);
    expect(addedColumn(all.at(-1)!, 'users', 'email')).not.toBeNull();
    expect(pullRequestChanges(graph, evidence)).toEqual([]);
  });

  it('records where the pull request updated each table', () => {
    const all = sites('as-run', ['UPDATE users SET email = 1'], ['UPDATE users SET phone = 1', 'SELECT 1']);
    expect(all.at(-1)!.updates.get('users')).toEqual([
      { revision: 0, statement: 0 },
      { revision: 1, statement: 0 },
    ]);
    expect(all[0]!.updates.get('users')).toBeUndefined();
  });
});

describe('the table changes of the pull request', () => {
  beforeAll(loadSqlParser);

  function changes(...statements: string[]) {
    const { graph, evidence } = pullRequest(statements);
    return pullRequestChanges(graph, evidence).map(({ revision, statement, ...change }) => change);
  }

  it('says which drops and renames touch what existed before the pull request', () => {
    expect(
      changes(
        'ALTER TABLE users DROP COLUMN phone',
        'ALTER TABLE users RENAME COLUMN email TO mail',
        'ALTER TABLE users ADD COLUMN bio text',
        'ALTER TABLE users DROP COLUMN bio',
        'ALTER TABLE posts RENAME TO articles',
        'CREATE TABLE notes (id int)',
        'DROP TABLE notes, articles CASCADE',
      ),
    ).toEqual([
      { file: 'versions/r0.py', kind: 'drop-column', table: 'users', column: 'phone', existing: true, info: column('phone'), cascade: false, recreate: false },
      { file: 'versions/r0.py', kind: 'rename-column', table: 'users', from: 'email', to: 'mail', existing: true, info: column('email') },
      { file: 'versions/r0.py', kind: 'add-column', table: 'users', column: 'bio', tableExisting: true },
      { file: 'versions/r0.py', kind: 'drop-column', table: 'users', column: 'bio', existing: false, info: null, cascade: false, recreate: false },
      { file: 'versions/r0.py', kind: 'rename-table', from: 'posts', to: 'articles', existing: true, columns: [column('id'), column('user_id')] },
      { file: 'versions/r0.py', kind: 'drop-table', table: 'notes', existing: false, columns: [], cascade: true },
      { file: 'versions/r0.py', kind: 'drop-table', table: 'articles', existing: true, columns: [column('id'), column('user_id')], cascade: true },
    ]);
  });

  it("follows batch mode's move and copy: the copy takes over the table's rows, minus the columns it leaves out", () => {
    const batch = [
      'CREATE TABLE _alembic_tmp_users (id int, email text)',
      'INSERT INTO _alembic_tmp_users (id, email) SELECT id, email FROM users',
      'DROP TABLE users',
      'ALTER TABLE _alembic_tmp_users RENAME TO users',
    ];
    expect(changes(...batch)).toEqual([
      { file: 'versions/r0.py', kind: 'drop-column', table: 'users', column: 'phone', existing: true, info: column('phone'), cascade: false, recreate: true },
    ]);
    // The rows are the old ones; the relation is new (the locking and nullability rules do not count it as existing).
    const last = sites('as-run', [...batch, 'SELECT 1']).at(-1)!;
    expect(last.tables.get('users')).toMatchObject({ existing: true, original: false });
    expect(existedBefore(last, 'users')).toBe(false);
  });
});
