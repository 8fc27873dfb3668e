// backfill-under-lock through the real CLI: real git, real Alembic, a real disposable Postgres whose locks the findings
// quote. Each fixture is one CLI run whose pull request holds several migrations; findings are picked by file and line.
import { beforeAll, describe, expect, it } from 'vitest';
import { blogEnvTransactionPerMigration, migration } from '../support/fixtures.js';
import { ruleChecker } from '../support/rule-check.js';

const V = 'migrations/versions';

const check = ruleChecker(new Set(['backfill-under-lock']));

describe('whole-table backfills in the transaction that holds ACCESS EXCLUSIVE (Alembic default: one transaction)', () => {
  let result: Awaited<ReturnType<typeof check>>;
  const STATUS = `${V}/004_status.py`;
  const POSTS = `${V}/005_posts.py`;
  const PHONES = `${V}/006_phones.py`;
  const EXCERPT = `${V}/007_excerpt.py`;

  beforeAll(async () => {
    result = await check({
      // The tutorial's three steps, in one migration.
      [STATUS]: migration(
        'f0000000004a',
        'b0000000003c',
        'status',
        [
          `op.add_column("users", sa.Column("status", sa.String(length=20), nullable=True))`,
          `op.execute("UPDATE users SET status = 'active'")`,
          `op.alter_column("users", "status", nullable=False, existing_type=sa.String(length=20))`,
          `op.execute("UPDATE users SET status = 'admin' WHERE id = 1")`,
        ].join('\n'),
        `op.drop_column("users", "status")`,
      ),
      [POSTS]: migration(
        'f0000000005a',
        'f0000000004a',
        'posts: slug and author name',
        [
          // No ACCESS EXCLUSIVE on posts yet: a long UPDATE, but nothing blocks readers.
          `op.execute("UPDATE posts SET title = trim(title)")`,
          `op.add_column("posts", sa.Column("slug", sa.String(length=200), nullable=True))`,
          `op.execute("UPDATE posts SET slug = lower(title) WHERE slug IS NULL")`,
          `op.add_column("posts", sa.Column("author_name", sa.String(length=50), nullable=True))`,
          `op.get_bind().execute(sa.text("UPDATE posts SET author_name = users.username FROM users WHERE users.id = posts.user_id"))`,
          // A key range narrows it.
          `op.execute("UPDATE posts SET slug = 'x' WHERE id BETWEEN 1 AND 100")`,
          // A table this pull request creates has no readers.
          `op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(length=50)))`,
          `op.execute("INSERT INTO tags (name) VALUES ('python')")`,
          `op.execute("UPDATE tags SET name = upper(name)")`,
        ].join('\n'),
        `op.drop_table("tags")\nop.drop_column("posts", "author_name")\nop.drop_column("posts", "slug")`,
      ),
      // Another revision of the same `alembic upgrade`: the lock 004 took on users is still held.
      [PHONES]: migration(
        'f0000000006a',
        'f0000000005a',
        'clear phones',
        `phones = sa.table("users", sa.column("phone", sa.String))\nop.execute(phones.update().values(phone=None))`,
      ),
      [EXCERPT]: migration(
        'f0000000007a',
        'f0000000006a',
        'excerpt and words',
        [
          `op.add_column("posts", sa.Column("excerpt", sa.String(length=100), nullable=True))`,
          // The autocommit block commits the transaction first: the lock is released.
          `with op.get_context().autocommit_block():`,
          `    op.execute("UPDATE posts SET excerpt = left(body, 100)")`,
          // A new transaction, which has not locked posts yet.
          `op.execute("UPDATE posts SET excerpt = left(body, 50)")`,
          `op.add_column("posts", sa.Column("words", sa.Integer(), nullable=True))`,
          `op.execute("UPDATE posts SET words = 0")`,
          `op.execute("UPDATE posts SET excerpt = ''")`,
        ].join('\n'),
        `op.drop_column("posts", "words")\nop.drop_column("posts", "excerpt")`,
      ),
    });
  }, 60_000);

  it('flags the tutorial backfill at the UPDATE, naming the table and the ADD COLUMN that took the lock', () => {
    const findings = result.at(STATUS, `UPDATE users SET status = 'active'`);
    expect(findings).toHaveLength(1);
    const [f] = findings;
    const addLine = result.lineOf(STATUS, 'op.add_column("users"');
    const updateLine = result.lineOf(STATUS, `SET status = 'active'`);
    expect(f).toMatchObject({ severity: 'warning', revision: 'f0000000004a' });
    expect(f!.message).toContain(`\`UPDATE users SET status = 'active'\` on line ${updateLine} updates every row of \`users\``);
    expect(f!.message).toContain(
      `the ACCESS EXCLUSIVE lock that line ${addLine} of ${STATUS} (\`ALTER TABLE users ADD COLUMN status VARCHAR(20)\`) took on \`users\``,
    );
    expect(f!.message).toContain('reads and writes to `users` wait for the whole backfill');
  });

  it('suggests the backfill in its own transaction, in key ranges, then NOT NULL through a validated CHECK, with the real names', () => {
    const [f] = result.at(STATUS, `UPDATE users SET status = 'active'`);
    expect(f!.suggestion).toContain(
      [
        'with op.get_context().autocommit_block():',
        '    bind = op.get_bind()',
        '    low, high = bind.execute(sa.text("SELECT min(id), max(id) FROM users")).one()',
        '    for start in range(low or 0, (high or -1) + 1, 10000):',
        `        bind.execute(sa.text("UPDATE users SET status = 'active' WHERE id >= :start AND id < :stop"), {"start": start, "stop": start + 10000})`,
      ].join('\n'),
    );
    expect(f!.suggestion).toContain(
      [
        'op.create_check_constraint("ck_users_status_not_null", "users", "status IS NOT NULL", postgresql_not_valid=True)',
        'with op.get_context().autocommit_block():',
        '    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_status_not_null")',
        'op.alter_column("users", "status", nullable=False, existing_type=sa.String(length=20))',
        'op.drop_constraint("ck_users_status_not_null", "users", type_="check")',
      ].join('\n'),
    );
    expect(f!.suggestion).toContain('transaction_per_migration=True');
  });

  it('does not flag an UPDATE narrowed to one row, even under the lock', () => {
    expect(result.at(STATUS, `WHERE id = 1`)).toEqual([]);
  });

  it('counts `WHERE col IS NULL` on a column just added as every row, and keeps that condition in each batch', () => {
    const findings = result.at(POSTS, 'SET slug = lower(title) WHERE slug IS NULL');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f!.message).toContain(
      `updates every row of \`posts\` (\`slug\`, added on line ${result.lineOf(POSTS, '"slug", sa.String')} with no default, is NULL in every row)`,
    );
    expect(f!.message).toContain(`that line ${result.lineOf(POSTS, '"slug", sa.String')} of ${POSTS} (\`ALTER TABLE posts ADD COLUMN slug VARCHAR(200)\`)`);
    expect(f!.suggestion).toContain(`"UPDATE posts SET slug = lower(title) WHERE (slug IS NULL) AND id >= :start AND id < :stop"`);
    // slug stays nullable: no NOT NULL step.
    expect(f!.suggestion).not.toContain('VALIDATE CONSTRAINT');
  });

  it('flags an UPDATE ... FROM that only joins, run through op.get_bind()', () => {
    const findings = result.at(POSTS, 'SET author_name = users.username');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('updates every row of `posts` (its WHERE only joins it with `users`)');
    // FROM cannot take a key range appended blindly: the statement moves as it is.
    expect(findings[0]!.suggestion).toContain(
      'with op.get_context().autocommit_block():\n    op.execute("UPDATE posts SET author_name = users.username FROM users WHERE users.id = posts.user_id")',
    );
  });

  it('does not flag an UPDATE before anything locked the table, a key range, or a table the pull request created', () => {
    expect(result.at(POSTS, 'SET title = trim(title)')).toEqual([]);
    expect(result.at(POSTS, 'BETWEEN 1 AND 100')).toEqual([]);
    expect(result.at(POSTS, 'UPDATE tags')).toEqual([]);
  });

  it('flags an UPDATE under a lock an earlier revision of the same transaction took, and says how to commit it per revision', () => {
    const findings = result.at(PHONES, 'op.execute(phones.update()');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({ revision: 'f0000000006a' });
    expect(f!.message).toContain(`lock that line ${result.lineOf(STATUS, 'op.add_column("users"')} of ${STATUS} (an earlier revision, run in the same transaction)`);
    expect(f!.suggestion).toContain(`The lock comes from ${STATUS}`);
    expect(f!.suggestion).toContain('transaction_per_migration=True');
    // Built by SQLAlchemy with a bound value: no SQL text is made up for it.
    expect(f!.suggestion).not.toContain('%(phone)s');
    expect(f!.suggestion).toContain(`the backfill of line ${f!.line}, as written now`);
  });

  it('does not flag a backfill in an autocommit block, nor one in the transaction that follows it before the table is locked again', () => {
    expect(result.at(EXCERPT, 'left(body, 100)')).toEqual([]);
    expect(result.at(EXCERPT, 'left(body, 50)')).toEqual([]);
  });

  it('makes one finding of the backfills of one table under the same lock, listing them', () => {
    const findings = result.findings.filter((f) => f.file === EXCERPT);
    expect(findings).toHaveLength(1);
    const [f] = findings;
    const words = result.lineOf(EXCERPT, 'SET words = 0');
    const excerpt = result.lineOf(EXCERPT, `SET excerpt = ''`);
    expect(f).toMatchObject({ line: words, objects: [`posts (line ${words})`, `posts (line ${excerpt})`] });
    expect(f!.message).toBe(
      `\`UPDATE posts SET words = 0\` (line ${words}) and \`UPDATE posts SET excerpt = ''\` (line ${excerpt}) update every row of ` +
        `\`posts\` while their transaction holds the ACCESS EXCLUSIVE lock that line ${result.lineOf(EXCERPT, '"words", sa.Integer')} of ` +
        `${EXCERPT} (\`ALTER TABLE posts ADD COLUMN words INTEGER\`) took on \`posts\`: reads and writes to \`posts\` wait for all ` +
        'of them and until the migration commits.',
    );
    // One loop over the key ranges runs both.
    expect(f!.suggestion).toContain(
      [
        '        bind.execute(sa.text("UPDATE posts SET words = 0 WHERE id >= :start AND id < :stop"), {"start": start, "stop": start + 10000})',
        `        bind.execute(sa.text("UPDATE posts SET excerpt = '' WHERE id >= :start AND id < :stop"), {"start": start, "stop": start + 10000})`,
      ].join('\n'),
    );
  });

  it('reports nothing else', () => {
    expect(result.findings).toHaveLength(5);
  });
});

describe('backfills whose transaction no longer holds the lock (transaction_per_migration, autocommit blocks)', () => {
  let result: Awaited<ReturnType<typeof check>>;
  const ADD = `${V}/004_add.py`;
  const FILL = `${V}/005_fill.py`;
  const AUTOCOMMIT = `${V}/006_autocommit.py`;
  const PURGE = `${V}/007_purge.py`;

  beforeAll(async () => {
    result = await check({
      'migrations/env.py': blogEnvTransactionPerMigration(),
      [ADD]: migration('f1000000004a', 'b0000000003c', 'status', `op.add_column("users", sa.Column("status", sa.String(length=20), nullable=True))`, `op.drop_column("users", "status")`),
      // The migration that added the column has committed: nothing holds ACCESS EXCLUSIVE on users.
      [FILL]: migration('f1000000005a', 'f1000000004a', 'fill status', `op.execute("UPDATE users SET status = 'active'")`),
      // The fix this rule suggests: an autocommit block (one statement, then the batched loop).
      [AUTOCOMMIT]: migration(
        'f1000000006a',
        'f1000000005a',
        'slug',
        [
          `op.add_column("posts", sa.Column("slug", sa.String(length=200), nullable=True))`,
          `with op.get_context().autocommit_block():`,
          `    op.execute("UPDATE posts SET slug = lower(title)")`,
          `op.add_column("posts", sa.Column("summary", sa.String(length=200), nullable=True))`,
          `with op.get_context().autocommit_block():`,
          `    bind = op.get_bind()`,
          `    low, high = bind.execute(sa.text("SELECT min(id), max(id) FROM posts")).one()`,
          `    for start in range(low or 0, (high or -1) + 1, 10000):`,
          `        bind.execute(sa.text("UPDATE posts SET summary = left(body, 200) WHERE id >= :start AND id < :stop"), {"start": start, "stop": start + 10000})`,
        ].join('\n'),
        `op.drop_column("posts", "summary")\nop.drop_column("posts", "slug")`,
      ),
      [PURGE]: migration(
        'f1000000007a',
        'f1000000006a',
        'purge posts',
        `op.add_column("posts", sa.Column("archived", sa.Boolean(), nullable=True))\nop.execute("DELETE FROM posts")`,
        `op.drop_column("posts", "archived")`,
      ),
    });
  }, 60_000);

  it('does not flag a backfill in a later transaction, or in an autocommit block', () => {
    expect(result.findings.filter((f) => f.file !== PURGE)).toEqual([]);
  });

  it('flags a DELETE of every row under the lock', () => {
    const findings = result.at(PURGE, 'DELETE FROM posts');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('`DELETE FROM posts` on line');
    expect(findings[0]!.message).toContain('deletes every row of `posts`');
    expect(findings[0]!.message).toContain('wait for the whole delete');
    expect(result.findings).toHaveLength(1);
  });
});
