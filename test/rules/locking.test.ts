// The locking rules (column-type-change, index-not-concurrent, foreign-key-validates, unique-constraint-scan) through the
// real CLI: real git, real Alembic, a real disposable Postgres whose locks and rewrites the findings quote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogEnvTransactionPerMigration, blogProject, migration, runCli, PYTHON, type FixtureProject } from '../support/fixtures.js';

const MINE = new Set(['column-type-change', 'index-not-concurrent', 'foreign-key-validates', 'unique-constraint-scan']);

interface Checked {
  code: number;
  findings: any[];
  /** What ALEMBIC_GUARD_DEBUG_EVIDENCE prints: per new revision, its statements with locks and rewrites. */
  evidence: {
    revision: string;
    statements: { sql: string; line: number | null; rewrote: string[]; locks: { relation: string; mode: string }[] }[];
    heldAtStart: { relation: string; mode: string; file: string; line: number | null }[];
  }[];
}

async function check(project: FixtureProject): Promise<Checked> {
  const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'json'], {
    cwd: project.dir,
    env: { ALEMBIC_GUARD_DEBUG_EVIDENCE: '1' },
  });
  const report = JSON.parse(result.stdout);
  // The evidence is one indented JSON array on stderr, between progress lines.
  const lines = result.stderr.split('\n');
  const start = lines.findIndex((l) => l === '[' || l === 'null');
  const end = lines.findIndex((l, i) => i >= start && (l === ']' || l === 'null'));
  const evidence = start >= 0 ? JSON.parse(lines.slice(start, end + 1).join('\n')) ?? [] : [];
  return { code: result.code, findings: report.findings.filter((f: any) => MINE.has(f.rule)), evidence };
}

function at(checked: Checked, file: string, line: number) {
  return checked.findings.filter((f) => f.file === `migrations/versions/${file}` && f.line === line);
}

function statementAt(checked: Checked, revision: string, line: number) {
  return checked.evidence.find((r) => r.revision === revision)!.statements.filter((s) => s.line === line);
}

// ---------------------------------------------------------------------------------------------------------------
// A pull request that does every unsafe thing on the blog's existing tables.

const UNSAFE = migration(
  'c0000000004a',
  'b0000000003c',
  'unsafe changes to existing tables',
  `
op.create_index("ix_users_phone", "users", ["phone"])
op.create_foreign_key("fk_posts_user_id_users", "posts", "users", ["user_id"], ["id"], ondelete="CASCADE")
op.create_unique_constraint("uq_users_phone", "users", ["phone"])
op.alter_column("posts", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
op.alter_column("users", "email", type_=sa.String(length=50), existing_type=sa.String(length=100))
op.alter_column("posts", "created_at", type_=sa.DateTime(timezone=True), existing_type=sa.DateTime())
op.alter_column("users", "username", type_=sa.String(length=80), existing_type=sa.String(length=50))
`,
  `
op.alter_column("users", "username", type_=sa.String(length=50))
op.alter_column("posts", "created_at", type_=sa.DateTime())
op.alter_column("users", "email", type_=sa.String(length=100))
op.alter_column("posts", "id", type_=sa.Integer())
op.drop_constraint("uq_users_phone", "users", type_="unique")
op.drop_constraint("fk_posts_user_id_users", "posts", type_="foreignkey")
op.drop_index("ix_users_phone", table_name="users")
`,
);

const UNSAFE_MORE = migration(
  'c0000000005b',
  'c0000000004a',
  'more unsafe changes',
  `
op.drop_index("ix_users_phone", table_name="users")
op.create_index("ix_users_lower_email", "users", [sa.text("lower(email)")])
op.add_column("posts", sa.Column("editor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True))
op.add_column("posts", sa.Column("slug", sa.String(length=50), nullable=True, unique=True))
`,
  `
op.drop_column("posts", "slug")
op.drop_column("posts", "editor_id")
op.drop_index("ix_users_lower_email", table_name="users")
op.create_index("ix_users_phone", "users", ["phone"])
`,
);

const VALIDATE_TOO_SOON = migration(
  'c0000000006c',
  'c0000000005b',
  'foreign key added NOT VALID and validated in the same transaction',
  `
op.create_foreign_key("fk_posts_user_id_checked", "posts", "users", ["user_id"], ["id"], postgresql_not_valid=True)
op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_user_id_checked")
`,
  `op.drop_constraint("fk_posts_user_id_checked", "posts", type_="foreignkey")`,
);

describe('locking rules on a pull request that blocks existing tables', () => {
  let project: FixtureProject;
  let checked: Checked;
  beforeAll(async () => {
    project = blogProject({
      'migrations/versions/004_unsafe.py': UNSAFE,
      'migrations/versions/005_unsafe_more.py': UNSAFE_MORE,
      'migrations/versions/006_validate_too_soon.py': VALIDATE_TOO_SOON,
      // One transaction per revision: each revision's statements are seen taking their own locks.
      'migrations/env.py': blogEnvTransactionPerMigration(),
    });
    checked = await check(project);
  }, 60_000);
  afterAll(() => project?.remove());

  it('reports each unsafe operation once, as a warning at its op.* line, and nothing for the safe ones', () => {
    const places = checked.findings.map((f) => `${f.file.replace('migrations/versions/', '')}:${f.line} ${f.rule} ${f.severity} ${f.revision}`);
    expect(places.sort()).toEqual(
      [
        '004_unsafe.py:22 index-not-concurrent warning c0000000004a',
        '004_unsafe.py:23 foreign-key-validates warning c0000000004a',
        '004_unsafe.py:24 unique-constraint-scan warning c0000000004a',
        '004_unsafe.py:25 column-type-change warning c0000000004a',
        '004_unsafe.py:26 column-type-change warning c0000000004a',
        '004_unsafe.py:27 column-type-change warning c0000000004a',
        '005_unsafe_more.py:22 index-not-concurrent warning c0000000005b',
        '005_unsafe_more.py:23 index-not-concurrent warning c0000000005b',
        '005_unsafe_more.py:24 foreign-key-validates warning c0000000005b',
        '005_unsafe_more.py:25 unique-constraint-scan warning c0000000005b',
        '006_validate_too_soon.py:23 foreign-key-validates warning c0000000006c',
      ].sort(),
    );
  });

  it('index-not-concurrent: quotes the SHARE lock CREATE INDEX took and suggests the concurrent build in an autocommit block', () => {
    const [f] = at(checked, '004_unsafe.py', 22);
    expect(f.message).toBe('`CREATE INDEX ix_users_phone ON users (phone)` took a SHARE lock on `users`: writes to it are blocked for the whole build.');
    expect(f.suggestion).toContain(
      'with op.get_context().autocommit_block():\n    op.create_index("ix_users_phone", "users", ["phone"], postgresql_concurrently=True)',
    );
  });

  it('index-not-concurrent: DROP INDEX without CONCURRENTLY, with its ACCESS EXCLUSIVE lock', () => {
    const [f] = at(checked, '005_unsafe_more.py', 22);
    expect(f.message).toBe(
      '`DROP INDEX ix_users_phone` took an ACCESS EXCLUSIVE lock on `users`: reads and writes to it are blocked until the ' +
        'migration commits, and the drop first waits for every query already running on it.',
    );
    expect(f.suggestion).toContain(
      'with op.get_context().autocommit_block():\n    op.drop_index("ix_users_phone", table_name="users", postgresql_concurrently=True)',
    );
  });

  it('index-not-concurrent: an expression index, built under a lock an earlier statement took, gets its own SQL with CONCURRENTLY', () => {
    const [f] = at(checked, '005_unsafe_more.py', 23);
    expect(f.message).toBe(
      '`CREATE INDEX ix_users_lower_email ON users (lower(email))` held the ACCESS EXCLUSIVE lock that line 22 took on `users` ' +
        'in the same transaction: reads and writes to it are blocked for the whole build.',
    );
    expect(f.suggestion).toContain(
      'with op.get_context().autocommit_block():\n    op.execute("CREATE INDEX CONCURRENTLY ix_users_lower_email ON users (lower(email))")',
    );
  });

  it('foreign-key-validates: quotes the SHARE ROW EXCLUSIVE locks on both tables and suggests NOT VALID, then VALIDATE later', () => {
    const [f] = at(checked, '004_unsafe.py', 23);
    expect(f.message).toBe(
      '`ALTER TABLE posts ADD CONSTRAINT fk_posts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE` ' +
        'took SHARE ROW EXCLUSIVE locks on `posts` and `users`, and checked every existing row of `posts` under them: ' +
        'writes to both tables are blocked until the check ends.',
    );
    expect(f.suggestion).toContain(
      'op.create_foreign_key("fk_posts_user_id_users", "posts", "users", ["user_id"], ["id"], ondelete="CASCADE", postgresql_not_valid=True)',
    );
    expect(f.suggestion).toContain('op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_user_id_users")');
  });

  it('foreign-key-validates: a column added with sa.ForeignKey gets the name Postgres chose', () => {
    const [f] = at(checked, '005_unsafe_more.py', 24);
    // Both tables were already ACCESS EXCLUSIVE: posts by the ADD COLUMN of the same call, users by the DROP INDEX of line 22.
    expect(f.message).toBe(
      '`ALTER TABLE posts ADD FOREIGN KEY(editor_id) REFERENCES users (id)` held the ACCESS EXCLUSIVE lock that ' +
        '`ALTER TABLE posts ADD COLUMN editor_id INTEGER` (the same call) took on `posts` and the ACCESS EXCLUSIVE lock that ' +
        'line 22 took on `users` in the same transaction, and checked every existing row of `posts` under them: ' +
        'reads and writes to both tables are blocked until the check ends.',
    );
    expect(f.suggestion).toContain('without `sa.ForeignKey(...)`');
    expect(f.suggestion).toContain('op.create_foreign_key("posts_editor_id_fkey", "posts", "users", ["editor_id"], ["id"], postgresql_not_valid=True)');
  });

  it('foreign-key-validates: NOT VALID then VALIDATE in the same transaction still scans under the ADD locks', () => {
    const [f] = at(checked, '006_validate_too_soon.py', 23);
    expect(f.message).toBe(
      '`ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_user_id_checked` ran before the NOT VALID foreign key of line 22 was ' +
        'committed, and held the SHARE ROW EXCLUSIVE locks that line 22 took on `posts` and `users` in the same transaction: ' +
        'writes to both tables are blocked for the whole validation scan, as if NOT VALID had not been used.',
    );
    expect(f.suggestion).toContain(
      'with op.get_context().autocommit_block():\n    op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_user_id_checked")',
    );
  });

  it('unique-constraint-scan: quotes the ACCESS EXCLUSIVE lock and the index it built, and suggests a concurrent unique index', () => {
    const [f] = at(checked, '004_unsafe.py', 24);
    expect(f.message).toBe(
      '`ALTER TABLE users ADD CONSTRAINT uq_users_phone UNIQUE (phone)` took an ACCESS EXCLUSIVE lock on `users`, and built the ' +
        'unique index `uq_users_phone` under it: reads and writes to it are blocked for the whole build, and duplicate values of ' +
        '`phone` make it fail.',
    );
    expect(f.suggestion).toContain(
      'with op.get_context().autocommit_block():\n' +
        '    op.create_index("uq_users_phone", "users", ["phone"], unique=True, postgresql_concurrently=True)\n' +
        'op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_phone UNIQUE USING INDEX uq_users_phone")',
    );
    expect(f.suggestion).toContain('SELECT phone, count(*) FROM users GROUP BY phone HAVING count(*) > 1;');
  });

  it('unique-constraint-scan: a column added with unique=True gets the constraint name Postgres chose', () => {
    const [f] = at(checked, '005_unsafe_more.py', 25);
    expect(f.message).toContain('`ALTER TABLE posts ADD UNIQUE (slug)` held the ACCESS EXCLUSIVE lock that line 24 took on `posts`');
    expect(f.message).toContain('built the unique index `posts_slug_key`');
    expect(f.suggestion).toContain('without `unique=True`');
    expect(f.suggestion).toContain('op.execute("ALTER TABLE posts ADD CONSTRAINT posts_slug_key UNIQUE USING INDEX posts_slug_key")');
  });

  it('column-type-change: integer to bigint, observed rewriting the table', () => {
    const [f] = at(checked, '004_unsafe.py', 25);
    expect(f.message).toBe(
      '`ALTER TABLE posts ALTER COLUMN id TYPE BIGINT` changes `posts.id` from integer to bigint: it rewrote `posts` ' +
        '(relfilenode changed) while holding ACCESS EXCLUSIVE on it, so reads and writes wait for the whole rewrite.',
    );
    expect(f.suggestion).toContain('op.add_column("posts", sa.Column("id_new", sa.BigInteger(), nullable=True))');
    expect(f.suggestion).toContain('op.alter_column("posts", "id_new", new_column_name="id")');
    expect(f.suggestion).toContain('# alembic-guard: ignore[column-type-change]');
    expect(statementAt(checked, 'c0000000004a', 25)[0]!.rewrote).toContain('posts');
  });

  it('column-type-change: a narrowed varchar, rewritten, and a CHECK constraint suggested instead', () => {
    const [f] = at(checked, '004_unsafe.py', 26);
    expect(f.message).toBe(
      '`ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(50)` narrows `users.email` from character varying(100) to ' +
        'character varying(50): it rewrote `users` (relfilenode changed) while holding the ACCESS EXCLUSIVE lock that line 24 ' +
        'took on it in the same transaction, so reads and writes wait for the whole rewrite, and values longer than 50 characters make it fail.',
    );
    expect(f.suggestion).toContain(
      'op.create_check_constraint(op.f("ck_users_email_length"), "users", "char_length(email) <= 50", postgresql_not_valid=True)',
    );
    expect(f.suggestion).toContain('SELECT count(*) FROM users WHERE char_length(email) > 50;');
  });

  it('column-type-change: timestamp to timestamptz, known to rewrite outside UTC though the replay did not', () => {
    const [f] = at(checked, '004_unsafe.py', 27);
    expect(f.message).toContain('changes `posts.created_at` from timestamp without time zone to timestamp with time zone');
    expect(f.message).toContain('the replay did not rewrite `posts` (Postgres 12+ skips the rewrite when the session TimeZone is UTC)');
    expect(f.suggestion).toContain(
      'op.execute("SET LOCAL TimeZone = \'UTC\'")\nop.alter_column("posts", "created_at", type_=sa.DateTime(timezone=True))',
    );
    expect(statementAt(checked, 'c0000000004a', 27)[0]!.rewrote).toEqual([]);
  });

  it('column-type-change: widening a varchar is metadata-only, and the replay shows no rewrite', () => {
    expect(at(checked, '004_unsafe.py', 28)).toEqual([]);
    const [widen] = statementAt(checked, 'c0000000004a', 28);
    expect(widen!.sql).toContain('ALTER COLUMN username TYPE VARCHAR(80)');
    expect(widen!.rewrote).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The safe rewrites the suggestions give, a table the pull request creates, and a history it does not touch.

const HISTORY = migration('a0000000004h', 'b0000000003c', 'index created before the PR', `op.create_index("ix_users_created_at", "users", ["created_at"])`, `op.drop_index("ix_users_created_at", table_name="users")`);

const SAFE = migration(
  'd0000000005a',
  'a0000000004h',
  'the safe ways',
  `
with op.get_context().autocommit_block():
    op.create_index("ix_users_phone", "users", ["phone"], postgresql_concurrently=True)
op.create_foreign_key("fk_posts_user_id_users", "posts", "users", ["user_id"], ["id"], postgresql_not_valid=True)
with op.get_context().autocommit_block():
    op.create_index("uq_users_phone", "users", ["phone"], unique=True, postgresql_concurrently=True)
op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_phone UNIQUE USING INDEX uq_users_phone")
op.alter_column("users", "username", type_=sa.String(length=80), existing_type=sa.String(length=50))
op.alter_column("posts", "body", type_=sa.Text(), existing_type=sa.String())
op.alter_column("users", "phone", type_=sa.String(), existing_type=sa.String(length=20))
op.execute("SET LOCAL TimeZone = 'UTC'")
op.alter_column("posts", "created_at", type_=sa.DateTime(timezone=True), existing_type=sa.DateTime())
op.alter_column("posts", "id", type_=sa.BigInteger())  # alembic-guard: ignore[column-type-change] posts is small
op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(length=50)), sa.Column("user_id", sa.Integer()))
op.create_index("ix_tags_name", "tags", ["name"])
op.create_foreign_key("fk_tags_user_id_users", "tags", "users", ["user_id"], ["id"])
op.create_unique_constraint("uq_tags_name", "tags", ["name"])
op.alter_column("tags", "id", type_=sa.BigInteger())
`,
  `
op.drop_table("tags")
op.alter_column("posts", "id", type_=sa.Integer())
op.alter_column("posts", "created_at", type_=sa.DateTime())
op.alter_column("users", "phone", type_=sa.String(length=20))
op.alter_column("posts", "body", type_=sa.String())
op.alter_column("users", "username", type_=sa.String(length=50))
op.drop_constraint("uq_users_phone", "users", type_="unique")
op.drop_constraint("fk_posts_user_id_users", "posts", type_="foreignkey")
op.drop_index("ix_users_phone", table_name="users")
`,
);

const SAFE_LATER = migration(
  'd0000000006b',
  'd0000000005a',
  'validate later, index the new table, drop concurrently',
  `
op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_user_id_users")
op.create_index("ix_tags_user_id", "tags", ["user_id"])
with op.get_context().autocommit_block():
    op.drop_index("ix_users_phone", table_name="users", postgresql_concurrently=True)
`,
  `
op.create_index("ix_users_phone", "users", ["phone"])
op.drop_index("ix_tags_user_id", table_name="tags")
`,
);

describe('locking rules when the pull request\'s revisions run in one transaction (Alembic\'s default)', () => {
  let project: FixtureProject;
  let checked: Checked;
  beforeAll(async () => {
    project = blogProject({ 'migrations/versions/004_unsafe.py': UNSAFE, 'migrations/versions/005_unsafe_more.py': UNSAFE_MORE });
    checked = await check(project);
  }, 60_000);
  afterAll(() => project?.remove());

  it('the second revision starts holding what the first one locked, traced to the line that took it', () => {
    const second = checked.evidence.find((r) => r.revision === 'c0000000005b')!;
    expect(second.heldAtStart).toContainEqual(
      expect.objectContaining({ relation: 'users', mode: 'AccessExclusiveLock', file: 'migrations/versions/004_unsafe.py', line: 24 }),
    );
    // DROP INDEX takes nothing new on users: the transaction holds ACCESS EXCLUSIVE on it since 004's line 24.
    const [drop] = statementAt(checked, 'c0000000005b', 22);
    expect(drop!.locks.filter((l) => l.relation === 'users')).toEqual([]);
  });

  it('says the lock came from the earlier revision, and loses no finding', () => {
    const [f] = at(checked, '005_unsafe_more.py', 22);
    expect(f.message).toBe(
      '`DROP INDEX ix_users_phone` held the ACCESS EXCLUSIVE lock that line 24 of migrations/versions/004_unsafe.py took on ' +
        '`users` in the same transaction: reads and writes to it are blocked until the migration commits.',
    );
    const places = checked.findings.map((x) => `${x.file.replace('migrations/versions/', '')}:${x.line} ${x.rule}`);
    expect(places.sort()).toEqual(
      [
        '004_unsafe.py:22 index-not-concurrent',
        '004_unsafe.py:23 foreign-key-validates',
        '004_unsafe.py:24 unique-constraint-scan',
        '004_unsafe.py:25 column-type-change',
        '004_unsafe.py:26 column-type-change',
        '004_unsafe.py:27 column-type-change',
        '005_unsafe_more.py:22 index-not-concurrent',
        '005_unsafe_more.py:23 index-not-concurrent',
        '005_unsafe_more.py:24 foreign-key-validates',
        '005_unsafe_more.py:25 unique-constraint-scan',
      ].sort(),
    );
  });
});

describe('locking rules on a pull request that follows the suggestions', () => {
  let project: FixtureProject;
  let checked: Checked;
  beforeAll(async () => {
    project = blogProject(
      { 'migrations/versions/005_safe.py': SAFE, 'migrations/versions/006_safe_later.py': SAFE_LATER },
      { baseChanges: { 'migrations/versions/004_history_index.py': HISTORY } },
    );
    checked = await check(project);
  }, 60_000);
  afterAll(() => project?.remove());

  it('flags nothing: concurrent indexes, NOT VALID then VALIDATE later, USING INDEX, metadata-only types, a new table, history', () => {
    expect(checked.evidence.map((r) => r.revision)).toEqual(['d0000000005a', 'd0000000006b']);
    expect(checked.findings).toEqual([]);
  });

  it('the replay shows no rewrite for varchar widening, varchar to text and a dropped length limit', () => {
    for (const line of [28, 29, 30]) {
      const [statement] = statementAt(checked, 'd0000000005a', line);
      expect(statement!.sql).toMatch(/ALTER COLUMN (username|body|phone) TYPE/);
      expect(statement!.rewrote).toEqual([]);
    }
  });

  it('the table the pull request creates was rewritten and indexed without a finding', () => {
    const [alter] = statementAt(checked, 'd0000000005a', 38);
    expect(alter!.sql).toContain('ALTER TABLE tags ALTER COLUMN id TYPE BIGINT');
    expect(alter!.rewrote).toContain('tags');
  });
});
