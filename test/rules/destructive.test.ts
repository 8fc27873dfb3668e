// drop-column, drop-table, rename-as-drop-add, rename-column, rename-table and downgrade-incomplete through the real
// CLI: real git, real Alembic in the virtualenv, a real disposable Postgres. Each fixture is one CLI run (~2 s) whose
// pull request holds several migrations; assertions pick findings by rule and revision.
import { beforeAll, describe, expect, it } from 'vitest';
import { migration } from '../support/fixtures.js';
import { ruleChecker, type JsonFinding as Finding } from '../support/rule-check.js';

const RULES = new Set(['drop-column', 'drop-table', 'rename-as-drop-add', 'rename-column', 'rename-table', 'downgrade-incomplete']);

const check = ruleChecker(RULES);

const V = 'migrations/versions';

describe('destructive changes to tables that existed before the pull request', () => {
  let result: Awaited<ReturnType<typeof check>>;

  beforeAll(async () => {
    result = await check({
      [`${V}/004_drop_phone.py`]: migration(
        'c0000000004a',
        'b0000000003c',
        'drop phone',
        `op.drop_column("users", "phone")`,
        `op.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))`,
      ),
      // What autogenerate writes after renaming Post.title to Post.headline.
      [`${V}/005_headline.py`]: migration(
        'c0000000005a',
        'c0000000004a',
        'headline',
        `op.add_column("posts", sa.Column("headline", sa.String(length=200), nullable=True))\nop.drop_column("posts", "title")`,
        `op.add_column("posts", sa.Column("title", sa.String(length=200), nullable=False))\nop.drop_column("posts", "headline")`,
      ),
      [`${V}/006_renames.py`]: migration(
        'c0000000006a',
        'c0000000005a',
        'renames',
        `op.alter_column("users", "email", new_column_name="email_address")\nop.rename_table("posts", "articles")`,
        `op.rename_table("articles", "posts")\nop.alter_column("users", "email_address", new_column_name="email")`,
      ),
      // Everything here happens to objects the pull request itself creates: nothing is flagged, and the net schema
      // change is nil, so a downgrade that is `pass` is right.
      [`${V}/007_scratch.py`]: migration(
        'c0000000007a',
        'c0000000006a',
        'scratch table',
        [
          `op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(50)), sa.Column("slug", sa.String(50)))`,
          `op.add_column("tags", sa.Column("extra", sa.Text()))`,
          `op.drop_column("tags", "name")`,
          `op.add_column("tags", sa.Column("label", sa.String(50)))`,
          `op.alter_column("tags", "slug", new_column_name="handle")`,
          `op.rename_table("tags", "labels")`,
          `op.drop_table("labels")`,
          `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))`,
          `op.alter_column("users", "bio", new_column_name="about")`,
          `op.drop_column("users", "about")`,
        ].join('\n'),
      ),
      // A table and a column created by an earlier migration of the same pull request.
      [`${V}/008_create_notes.py`]: migration(
        'c0000000008a',
        'c0000000007a',
        'notes',
        `op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("text", sa.Text()))\nop.add_column("users", sa.Column("nickname", sa.String(length=50), nullable=True))`,
        `op.drop_column("users", "nickname")\nop.drop_table("notes")`,
      ),
      [`${V}/009_drop_notes.py`]: migration(
        'c0000000009a',
        'c0000000008a',
        'drop notes',
        `op.add_column("users", sa.Column("handle", sa.String(length=50), nullable=True))\nop.drop_column("users", "nickname")\nop.drop_table("notes")`,
        `op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("text", sa.Text()))\nop.add_column("users", sa.Column("nickname", sa.String(length=50), nullable=True))\nop.drop_column("users", "handle")`,
      ),
    });
  });

  it('flags a dropped column with its type, and suggests stopping its use before dropping it in a later PR', () => {
    const file = `${V}/004_drop_phone.py`;
    const findings = result.of('drop-column', 'c0000000004a');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({ rule: 'drop-column', severity: 'warning', file, line: result.lineOf(file, 'op.drop_column("users", "phone")') });
    expect(f!.message).toContain('users.phone (character varying(20))');
    expect(f!.message).toContain('its data is deleted');
    expect(f!.suggestion).toContain('stop using `users.phone`');
    expect(f!.suggestion).toContain('ignore-objects = ["users.phone"]');
    expect(f!.suggestion).toContain('```python\nop.drop_column("users", "phone")\n```');
    // phone is nullable: no advice to relax it.
    expect(f!.suggestion).not.toContain('nullable=True');
  });

  it('flags a column dropped and another added to the same table as a rename that deletes the data, at the drop', () => {
    const file = `${V}/005_headline.py`;
    const findings = result.of('rename-as-drop-add', 'c0000000005a');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    const dropLine = result.lineOf(file, 'op.drop_column("posts", "title")');
    expect(f).toMatchObject({ severity: 'warning', file, line: dropLine });
    expect(f!.message).toContain('posts.title (character varying(200) NOT NULL)');
    expect(f!.message).toContain(`posts.headline (character varying(200)) on line ${result.lineOf(file, '"headline", sa.String')}`);
    expect(f!.message).toContain('looks like a rename of title to headline');
    expect(f!.suggestion).toContain('op.alter_column("posts", "title", new_column_name="headline")');
    expect(f!.suggestion).toContain('op.alter_column("posts", "headline", new_column_name="title")');
    // The drop is a drop all the same; title is NOT NULL without a default, so the two-step advice relaxes it first.
    const drop = result.of('drop-column', 'c0000000005a');
    expect(drop).toHaveLength(1);
    expect(drop[0]).toMatchObject({ line: dropLine });
    expect(drop[0]!.suggestion).toContain('op.alter_column("posts", "title", nullable=True)');
  });

  it('gives notices for renamed columns and tables, with expand/contract steps using the real names', () => {
    const file = `${V}/006_renames.py`;
    const [column] = result.of('rename-column', 'c0000000006a');
    expect(result.of('rename-column', 'c0000000006a')).toHaveLength(1);
    expect(column).toMatchObject({ severity: 'notice', file, line: result.lineOf(file, 'new_column_name="email_address"') });
    expect(column!.message).toContain('Renames column users.email (character varying(100) NOT NULL) to email_address');
    expect(column!.suggestion).toContain('op.add_column("users", sa.Column("email_address", sa.String(length=100), nullable=True))');
    expect(column!.suggestion).toContain('op.execute("UPDATE users SET email_address = email WHERE email_address IS NULL")');
    expect(column!.suggestion).toContain('op.alter_column("users", "email_address", nullable=False)\nop.drop_column("users", "email")');
    expect(column!.suggestion).toContain('email_address = Column("email", ...)');

    const tables = result.of('rename-table', 'c0000000006a');
    expect(tables).toHaveLength(1);
    expect(tables[0]).toMatchObject({ severity: 'notice', file, line: result.lineOf(file, 'op.rename_table("posts", "articles")') });
    expect(tables[0]!.message).toContain('Renames table posts to articles');
    expect(tables[0]!.suggestion).toContain('op.rename_table("posts", "articles")\nop.execute("CREATE VIEW posts AS SELECT * FROM articles")');
    expect(tables[0]!.suggestion).toContain('op.execute("DROP VIEW posts")');
  });

  it('does not flag drops and renames of tables and columns the pull request created', () => {
    for (const revision of ['c0000000007a', 'c0000000008a', 'c0000000009a']) {
      expect(result.findings.filter((f) => f.revision === revision)).toEqual([]);
    }
  });

  it('does not flag downgrades that restore the schema, including a `pass` after a net-nil upgrade', () => {
    expect(result.findings.filter((f) => f.rule === 'downgrade-incomplete')).toEqual([]);
  });

  it('reports nothing else', () => {
    expect(result.findings).toHaveLength(5);
  });
});

describe('drop-table and downgrades that fail or do not restore the schema', () => {
  // Downgrades run newest first and stop at the first one that fails or leaves a different schema (nothing below
  // it starts from the state it expects), so each broken downgrade is the newest revision of its own fixture.
  const DROP_POSTS = migration('d0000000004a', 'b0000000003c', 'drop posts', `op.drop_table("posts")`, `op.execute("SELECT * FROM no_such_table")`);
  const BIO = (down: string) =>
    migration(
      'd0000000005a',
      down,
      'bio and longer phone',
      `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))\nop.alter_column("users", "phone", type_=sa.String(length=50))`,
      `op.drop_column("users", "bio")`,
    );
  const TAGS = (down: string) =>
    migration(
      'd0000000006a',
      down,
      'tags',
      `op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(length=50), nullable=False))\nop.add_column("users", sa.Column("nickname", sa.String(length=50), nullable=True))`,
    );
  let raising: Awaited<ReturnType<typeof check>>;
  let partial: Awaited<ReturnType<typeof check>>;
  let passing: Awaited<ReturnType<typeof check>>;
  let stacked: Awaited<ReturnType<typeof check>>;

  beforeAll(async () => {
    [raising, partial, passing, stacked] = await Promise.all([
      check({ [`${V}/004_drop_posts.py`]: DROP_POSTS }),
      check({ [`${V}/005_bio.py`]: BIO('b0000000003c') }),
      check({ [`${V}/006_tags.py`]: TAGS('b0000000003c') }),
      check({ [`${V}/004_drop_posts.py`]: DROP_POSTS, [`${V}/005_bio.py`]: BIO('d0000000004a'), [`${V}/006_tags.py`]: TAGS('d0000000005a') }),
    ]);
  });

  it('flags a dropped table with its columns, and suggests dropping it in a later PR', () => {
    const result = raising;
    const file = `${V}/004_drop_posts.py`;
    const findings = result.of('drop-table', 'd0000000004a');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warning', file, line: result.lineOf(file, 'op.drop_table("posts")') });
    expect(findings[0]!.message).toContain('Drops table posts (columns id, user_id, title, body, created_at)');
    expect(findings[0]!.message).toContain('its rows are deleted');
    expect(findings[0]!.suggestion).toContain('stop using `posts`');
    expect(findings[0]!.suggestion).toContain('```python\nop.drop_table("posts")\n```');
  });

  it('quotes the error of a downgrade that raises, at the line that raised, and writes the downgrade that undoes the upgrade', () => {
    const result = raising;
    const file = `${V}/004_drop_posts.py`;
    const findings = result.of('downgrade-incomplete', 'd0000000004a');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({ severity: 'warning', file, line: result.lineOf(file, 'no_such_table') });
    expect(f!.message).toContain('fails: relation "no_such_table" does not exist');
    expect(f!.message).toContain('alembic downgrade b0000000003c');
    expect(f!.suggestion).toContain('table posts removed');
    expect(f!.suggestion).toContain(
      [
        'def downgrade() -> None:',
        '    op.create_table(',
        '        "posts",',
        '        sa.Column("id", sa.Integer(), nullable=False),',
        '        sa.Column("user_id", sa.Integer(), nullable=False),',
        '        sa.Column("title", sa.String(length=200), nullable=False),',
        '        sa.Column("body", sa.String(), nullable=False),',
        '        sa.Column("created_at", sa.DateTime(), nullable=True),',
        '        sa.PrimaryKeyConstraint("id", name="posts_pkey"),',
        '    )',
        '    op.execute("ALTER TABLE posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)")',
      ].join('\n'),
    );
  });

  it('names what a partial downgrade leaves behind and writes the missing operations', () => {
    const result = partial;
    const file = `${V}/005_bio.py`;
    const findings = result.of('downgrade-incomplete', 'd0000000005a');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({ severity: 'warning', file, line: result.lineOf(file, 'op.drop_column("users", "bio")') });
    expect(f!.message).toContain('column users.phone differs (type character varying(20) -> character varying(50)');
    expect(f!.message).not.toContain('bio');
    expect(f!.suggestion).toContain(
      '```python\nop.alter_column("users", "phone", type_=sa.String(length=20), postgresql_using="phone::character varying(20)")\n```',
    );
  });

  it('flags a `pass` downgrade of an upgrade that changed the schema, at `def downgrade`, with the inverse operations', () => {
    const result = passing;
    const file = `${V}/006_tags.py`;
    const findings = result.of('downgrade-incomplete', 'd0000000006a');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({ severity: 'warning', file, line: result.lineOf(file, 'def downgrade') });
    expect(f!.message).toContain('leaves the schema as upgrade() made it (table tags added, column users.nickname added)');
    expect(f!.suggestion).toContain('def downgrade() -> None:\n    op.drop_column("users", "nickname")\n    op.drop_table("tags")');
    // A `pass` downgrade no longer breaks the replay: nothing else is reported (but the models' missing tags table).
    expect(result.findings.map((x) => x.rule)).toEqual(['downgrade-incomplete']);
    expect(result.report.findings.map((x: Finding) => x.rule).sort()).toEqual(['downgrade-incomplete', 'missing-migration']);
  });

  it('checks the newest downgrade of a stack and stops there, and the replay goes on', () => {
    expect(stacked.findings.filter((f) => f.rule === 'downgrade-incomplete').map((f) => f.revision)).toEqual(['d0000000006a']);
    expect(stacked.of('drop-table', 'd0000000004a')).toHaveLength(1);
    expect(stacked.report.findings.some((f: Finding) => f.rule === 'replay-failed')).toBe(false);
  });

  it('does not flag a table the pull request creates', () => {
    expect(passing.of('drop-table', 'd0000000006a')).toEqual([]);
    expect(stacked.of('drop-table', 'd0000000006a')).toEqual([]);
  });
});

describe('drops written as SQL or done by batch mode', () => {
  let result: Awaited<ReturnType<typeof check>>;

  beforeAll(async () => {
    result = await check({
      [`${V}/004_sql.py`]: migration(
        'e0000000004a',
        'b0000000003c',
        'drop phone with SQL',
        `op.execute("ALTER TABLE users DROP COLUMN phone")`,
        `op.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))`,
      ),
      // batch mode's "move and copy": a new posts table without body, the data copied, the old one dropped.
      [`${V}/005_batch.py`]: migration(
        'e0000000005a',
        'e0000000004a',
        'drop body in batch mode',
        `with op.batch_alter_table("posts", recreate="always") as batch_op:\n    batch_op.drop_column("body")`,
        `op.add_column("posts", sa.Column("body", sa.String(), nullable=True))`,
      ),
      [`${V}/006_drop_users.py`]: migration(
        'e0000000006a',
        'e0000000005a',
        'drop users',
        `op.execute("DROP TABLE users CASCADE")`,
        `raise NotImplementedError("irreversible: users are gone")  # alembic-guard: ignore[downgrade-incomplete] irreversible`,
      ),
    });
  });

  it('flags a column dropped by raw SQL in op.execute', () => {
    const file = `${V}/004_sql.py`;
    const findings = result.of('drop-column', 'e0000000004a');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file, line: result.lineOf(file, 'DROP COLUMN phone') });
    expect(findings[0]!.message).toContain('users.phone (character varying(20))');
  });

  it('flags a column that batch mode leaves out of the copy, and not the copy replacing the table', () => {
    const file = `${V}/005_batch.py`;
    const findings = result.findings.filter((f) => f.revision === 'e0000000005a' && f.rule !== 'downgrade-incomplete');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'drop-column', file, line: result.lineOf(file, 'op.batch_alter_table("posts"') });
    expect(findings[0]!.message).toContain('posts.body (character varying NOT NULL)');
    expect(findings[0]!.message).toContain('batch_alter_table copies posts without it');
  });

  it('flags DROP TABLE ... CASCADE with the foreign keys it takes along', () => {
    const file = `${V}/006_drop_users.py`;
    const findings = result.of('drop-table', 'e0000000006a');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file, line: result.lineOf(file, 'DROP TABLE users CASCADE') });
    expect(findings[0]!.message).toContain('Drops table users (columns id, username, email, created_at)');
    expect(findings[0]!.message).toContain('CASCADE also drops the foreign keys posts.');
    expect(findings[0]!.suggestion).toContain('type_="foreignkey")\nop.drop_table("users")');
  });

  it('honours an ignore comment on the line where the downgrade raises', () => {
    expect(result.of('downgrade-incomplete', 'e0000000006a')).toEqual([]);
  });
});

describe('downgrades that cannot undo what Postgres cannot undo', () => {
  it('a label added to an existing enum with `downgrade(): pass` is not flagged (Postgres cannot drop an enum label); a pass downgrade of a new column still is', async () => {
    const result = await check(
      {
        // Downgrades run newest first and stop at the first that does not restore: the enum one is checked first.
        [`${V}/005_summary.py`]: migration('c0000000005a', 'b0000000004a', 'summary', 'op.add_column("posts", sa.Column("summary", sa.Text(), nullable=True))'),
        [`${V}/006_archived.py`]: migration('c0000000006a', 'c0000000005a', 'archived posts', `op.execute("ALTER TYPE post_status ADD VALUE 'archived'")`),
      },
      {
        baseChanges: {
          [`${V}/004_status.py`]: migration(
            'b0000000004a',
            'b0000000003c',
            'post status',
            `sa.Enum("draft", "published", name="post_status").create(op.get_bind())\nop.add_column("posts", sa.Column("status", sa.Enum("draft", "published", name="post_status", create_type=False), nullable=True))`,
            'op.drop_column("posts", "status")\nsa.Enum(name="post_status").drop(op.get_bind())',
          ),
        },
      },
    );
    expect(result.of('downgrade-incomplete', 'c0000000006a')).toEqual([]);
    expect(result.of('downgrade-incomplete', 'c0000000005a')).toHaveLength(1);
  }, 60_000);
});
