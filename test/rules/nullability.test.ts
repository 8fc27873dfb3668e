// not-null-without-default, set-not-null and volatile-default through the real CLI: real git, Alembic and Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogEnvTransactionPerMigration, blogModelsWithUserColumns, blogProject, checkJson, migration, type FixtureProject } from '../support/fixtures.js';

const RULES = new Set(['not-null-without-default', 'set-not-null', 'volatile-default']);
const ours = (report: any): any[] => report.findings.filter((f: any) => RULES.has(f.rule));
const pythonBlock = (suggestion: string): string => /```python\n([\s\S]*?)\n```/.exec(suggestion)![1]!;

/** The blog's models with extra columns on User and Post, and extra classes. */
function models(user: string[], post: string[] = [], classes = ''): string {
  // After Post's own columns, so that a line naming one of them replaces it.
  const text = blogModelsWithUserColumns(...user).replace(
    '\n    user = relationship(',
    `${post.map((l) => `    ${l}\n`).join('')}\n    user = relationship(`,
  );
  return `import sqlalchemy as sa\n${text}${classes}`;
}

const TAGS_MODEL = `

class Tag(Base):
    __tablename__ = "tags"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    token = Column(sa.Uuid, nullable=False)
`;

// Every migration's first op is on line 22 of the file `migration()` writes.
const FIRST_LINE = 22;

const projects: FixtureProject[] = [];
afterAll(() => {
  for (const project of projects.splice(0)) project.remove();
});

describe('nullability rules on tables that existed before the pull request', () => {
  let unsafe: any;

  beforeAll(async () => {
    const project = blogProject({
      // One transaction per revision: each revision's statements are seen taking their own locks.
      'migrations/env.py': blogEnvTransactionPerMigration(),
      'app/models.py': models(
        [
          'status = Column(String(20), nullable=False)',
          'phone = Column(String(20), nullable=False)',
          'token = Column(sa.Uuid, server_default=sa.text("gen_random_uuid()"))',
        ],
        ['slug = Column(String(100), nullable=False)', 'position = Column(Integer, sa.Identity(), nullable=False)'],
      ),
      'migrations/versions/004_add_status.py': migration(
        'c0000000004a',
        'b0000000003c',
        'add status',
        'op.add_column("users", sa.Column("status", sa.String(length=20), nullable=False))',
        'op.drop_column("users", "status")',
      ),
      'migrations/versions/005_phone_not_null.py': migration(
        'c0000000005b',
        'c0000000004a',
        'phone not null',
        'op.alter_column("users", "phone", nullable=False, existing_type=sa.String(length=20))',
        'op.alter_column("users", "phone", nullable=True, existing_type=sa.String(length=20))',
      ),
      'migrations/versions/006_add_token.py': migration(
        'c0000000006c',
        'c0000000005b',
        'add token',
        'op.add_column("users", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=True))',
        'op.drop_column("users", "token")',
      ),
      'migrations/versions/007_add_slug.py': migration(
        'c0000000007d',
        'c0000000006c',
        'add slug in two steps',
        [
          'op.add_column("posts", sa.Column("slug", sa.String(length=100), nullable=True))',
          'op.alter_column("posts", "slug", nullable=False, existing_type=sa.String(length=100))',
        ].join('\n'),
        'op.drop_column("posts", "slug")',
      ),
      'migrations/versions/008_add_position.py': migration(
        'c0000000008e',
        'c0000000007d',
        'add an identity column',
        'op.add_column("posts", sa.Column("position", sa.Integer(), sa.Identity(), nullable=False))',
        'op.drop_column("posts", "position")',
      ),
    });
    projects.push(project);
    const { report, stderr } = await checkJson(project);
    expect(report.findings.filter((f: any) => f.rule === 'missing-migration'), stderr).toEqual([]);
    unsafe = report;
  });

  it('reports each unsafe statement once, at its op.* line', () => {
    const found = ours(unsafe).map((f) => [f.rule, f.severity, f.file, f.line, f.revision]);
    expect(found).toEqual([
      ['not-null-without-default', 'error', 'migrations/versions/004_add_status.py', FIRST_LINE, 'c0000000004a'],
      ['not-null-without-default', 'error', 'migrations/versions/007_add_slug.py', FIRST_LINE + 1, 'c0000000007d'],
      ['set-not-null', 'warning', 'migrations/versions/005_phone_not_null.py', FIRST_LINE, 'c0000000005b'],
      ['volatile-default', 'warning', 'migrations/versions/006_add_token.py', FIRST_LINE, 'c0000000006c'],
      ['volatile-default', 'warning', 'migrations/versions/008_add_position.py', FIRST_LINE, 'c0000000008e'],
    ]);
  });

  it('not-null-without-default: quotes what Postgres answered with one row and suggests nullable, backfill, NOT NULL', () => {
    const f = ours(unsafe).find((x) => x.revision === 'c0000000004a');
    expect(f.message).toBe(
      '`ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL` fails on a table with rows: Postgres answered ' +
        '`column "status" of relation "users" contains null values` when re-run with one row in `users`.',
    );
    expect(f.suggestion).toContain('op.add_column("users", sa.Column("status", sa.String(length=20), nullable=True))');
    // The backfill commits in batches of its own: not under the ADD COLUMN's lock (backfill-under-lock).
    expect(f.suggestion).toContain('with op.get_context().autocommit_block():');
    expect(f.suggestion).toContain(`"UPDATE users SET status = '' WHERE id IN (SELECT id FROM users WHERE status IS NULL LIMIT 10000)"`);
    expect(f.suggestion).toContain('op.alter_column("users", "status", nullable=False, existing_type=sa.String(length=20))');
    expect(f.suggestion).toContain(`op.add_column("users", sa.Column("status", sa.String(length=20), nullable=False, server_default=sa.text("''")))`);
  });

  it('not-null-without-default: a column added nullable and made NOT NULL with nothing filling it in between', () => {
    const f = ours(unsafe).find((x) => x.revision === 'c0000000007d');
    expect(f.message).toContain('`ALTER TABLE posts ALTER COLUMN slug SET NOT NULL` fails on a table with rows');
    expect(f.message).toContain(`nothing fills \`slug\` (added to \`posts\` at line ${FIRST_LINE}) before it is made NOT NULL`);
    expect(f.message).toContain('Postgres answered `column "slug" of relation "posts" contains null values` when re-run with one row in `posts`');
    expect(f.suggestion).toContain(`"UPDATE posts SET slug = '' WHERE id IN (SELECT id FROM posts WHERE slug IS NULL LIMIT 10000)"`);
    expect(f.suggestion).toContain('op.alter_column("posts", "slug", nullable=False, existing_type=sa.String(length=100))');
  });

  it('set-not-null: quotes the lock it took and the one-row failure, and suggests the validated CHECK', () => {
    const f = ours(unsafe).find((x) => x.rule === 'set-not-null');
    expect(f.message).toBe(
      '`ALTER TABLE users ALTER COLUMN phone SET NOT NULL` took ACCESS EXCLUSIVE on `users` and scans the whole table for nulls ' +
        'while holding it; it fails if any row is null: Postgres answered `column "phone" of relation "users" contains null values` ' +
        'when re-run with one row in `users`.',
    );
    expect(f.suggestion).toContain(
      'op.create_check_constraint(op.f("ck_users_phone_not_null"), "users", "phone IS NOT NULL", postgresql_not_valid=True)',
    );
    expect(f.suggestion).toContain('with op.get_context().autocommit_block():\n    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_phone_not_null")');
    expect(f.suggestion).toContain('op.alter_column("users", "phone", nullable=False, existing_type=sa.String(length=20))');
    expect(f.suggestion).toContain('op.drop_constraint(op.f("ck_users_phone_not_null"), "users", type_="check")');
  });

  it('volatile-default: quotes the observed rewrite and suggests add, default, batched backfill', () => {
    const f = ours(unsafe).find((x) => x.revision === 'c0000000006c');
    expect(f.message).toBe(
      '`ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid()` rewrote `users` (relfilenode changed) while holding ' +
        'ACCESS EXCLUSIVE on it: its default `gen_random_uuid()` is volatile, so Postgres computes it for every existing row instead of storing it once.',
    );
    expect(f.suggestion).toContain('from sqlalchemy.dialects import postgresql');
    expect(f.suggestion).toContain('op.add_column("users", sa.Column("token", postgresql.UUID(), nullable=True))');
    expect(f.suggestion).toContain('op.alter_column("users", "token", server_default=sa.text("gen_random_uuid()"))');
    expect(f.suggestion).toContain(
      '"UPDATE users SET token = gen_random_uuid() WHERE id IN (SELECT id FROM users WHERE token IS NULL LIMIT 10000)"',
    );
  });

  it('volatile-default: an identity column fills every row from a sequence too', () => {
    const f = ours(unsafe).find((x) => x.revision === 'c0000000008e');
    expect(f.message).toBe(
      '`ALTER TABLE posts ADD COLUMN position INTEGER GENERATED BY DEFAULT AS IDENTITY` rewrote `posts` (relfilenode changed) ' +
        'while holding ACCESS EXCLUSIVE on it: `position` is an identity column, filled from a sequence for every existing row.',
    );
    expect(f.suggestion).toContain('op.execute("CREATE SEQUENCE posts_position_seq OWNED BY posts.position")');
    expect(f.suggestion).toContain(`op.alter_column("posts", "position", server_default=sa.text("nextval('posts_position_seq')"))`);
    expect(f.suggestion).toContain('op.alter_column("posts", "position", nullable=False, existing_type=sa.Integer())');
  });

  it('flags none of the rewrites it suggests, a validated CHECK, stable or constant defaults, a backfill in an earlier revision, or a table the PR creates', async () => {
    const suggested = (revision: string) => pythonBlock(ours(unsafe).find((f) => f.revision === revision).suggestion);
    const project = blogProject({
      'app/models.py': models(
        [
          'status = Column(String(20), nullable=False)',
          'phone = Column(String(20), nullable=False)',
          'token = Column(sa.Uuid, server_default=sa.text("gen_random_uuid()"))',
          'role = Column(String(20), nullable=False, server_default="member")',
          'seen_at = Column(DateTime, nullable=False, server_default=sa.func.now())',
          'score = Column(Integer, server_default=sa.text("default_score()"))',
        ],
        ['slug = Column(String(100), nullable=False)', 'created_at = Column(DateTime, nullable=False)', 'summary = Column(sa.Text, nullable=False)'],
        TAGS_MODEL,
      ),
      'migrations/versions/004_add_status.py': migration(
        'e0000000004a',
        'b0000000003c',
        'add status, as suggested',
        suggested('c0000000004a'),
        'op.drop_column("users", "status")',
      ),
      'migrations/versions/005_phone_not_null.py': migration(
        'e0000000005b',
        'e0000000004a',
        'phone not null, as suggested',
        suggested('c0000000005b'),
        'op.alter_column("users", "phone", nullable=True, existing_type=sa.String(length=20))',
      ),
      'migrations/versions/006_add_token.py': migration(
        'e0000000006c',
        'e0000000005b',
        'add token, as suggested',
        suggested('c0000000006c'),
        'op.drop_column("users", "token")',
      ),
      'migrations/versions/007_add_slug.py': migration(
        'e0000000007d',
        'e0000000006c',
        'add slug, filled before NOT NULL as suggested',
        `op.add_column("posts", sa.Column("slug", sa.String(length=100), nullable=True))\n${suggested('c0000000007d')}`,
        'op.drop_column("posts", "slug")',
      ),
      'migrations/versions/008_defaults.py': migration(
        'e0000000008e',
        'e0000000007d',
        'constant, stable and immutable defaults',
        [
          'op.add_column("users", sa.Column("role", sa.String(length=20), nullable=False, server_default="member"))',
          'op.add_column("users", sa.Column("seen_at", sa.DateTime(), nullable=False, server_default=sa.func.now()))',
          `op.execute("CREATE FUNCTION default_score() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 42'")`,
          'op.add_column("users", sa.Column("score", sa.Integer(), server_default=sa.text("default_score()"), nullable=True))',
        ].join('\n'),
        ['op.drop_column("users", "score")', 'op.execute("DROP FUNCTION default_score()")', 'op.drop_column("users", "seen_at")', 'op.drop_column("users", "role")'].join('\n'),
      ),
      'migrations/versions/009_check_created_at.py': migration(
        'e0000000009f',
        'e0000000008e',
        'prove posts.created_at has no nulls',
        [
          'op.create_check_constraint("ck_posts_created_at", "posts", "created_at IS NOT NULL", postgresql_not_valid=True)',
          'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_created_at")',
        ].join('\n'),
        'op.drop_constraint("ck_posts_created_at", "posts", type_="check")',
      ),
      'migrations/versions/010_created_at_not_null.py': migration(
        'e0000000010a',
        'e0000000009f',
        'posts.created_at not null, the scan skipped',
        [
          'op.alter_column("posts", "created_at", nullable=False, existing_type=sa.DateTime())',
          'op.drop_constraint("ck_posts_created_at", "posts", type_="check")',
        ].join('\n'),
        [
          'op.create_check_constraint("ck_posts_created_at", "posts", "created_at IS NOT NULL")',
          'op.alter_column("posts", "created_at", nullable=True, existing_type=sa.DateTime())',
        ].join('\n'),
      ),
      'migrations/versions/011_tags.py': migration(
        'e0000000011b',
        'e0000000010a',
        'tags, created and altered in the same pull request',
        [
          'op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True))',
          'op.add_column("tags", sa.Column("name", sa.String(length=50), nullable=True))',
          'op.alter_column("tags", "name", nullable=False, existing_type=sa.String(length=50))',
          'op.add_column("tags", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False))',
          'op.alter_column("tags", "token", server_default=None, existing_type=sa.Uuid())',
        ].join('\n'),
        'op.drop_table("tags")',
      ),
      'migrations/versions/012_tags_label.py': migration(
        'e0000000012c',
        'e0000000011b',
        'a NOT NULL column on a table created by an earlier revision of the pull request',
        'op.add_column("tags", sa.Column("label", sa.String(length=50), nullable=False))\nop.drop_column("tags", "label")',
        'pass',
      ),
      'migrations/versions/013_add_summary.py': migration(
        'e0000000013d',
        'e0000000012c',
        'add posts.summary and fill it',
        ['op.add_column("posts", sa.Column("summary", sa.Text(), nullable=True))', `op.execute("UPDATE posts SET summary = ''")`].join('\n'),
        'op.drop_column("posts", "summary")',
      ),
      'migrations/versions/014_summary_not_null.py': migration(
        'e0000000014e',
        'e0000000013d',
        'posts.summary not null, filled by the previous revision',
        'op.alter_column("posts", "summary", nullable=False, existing_type=sa.Text())',
        'op.alter_column("posts", "summary", nullable=True, existing_type=sa.Text())',
      ),
    });
    projects.push(project);
    const { report, stderr } = await checkJson(project);
    expect(report.revisions.new, stderr).toHaveLength(11);
    expect(report.findings.filter((f: any) => f.rule === 'replay-failed' || f.rule === 'missing-migration'), stderr).toEqual([]);
    expect(ours(report)).toEqual([]);
  });
});
