// Grouping through the real CLI: one migration that builds three indexes and adds three foreign keys on the blog's
// existing tables gives one finding per rule listing the three objects, with one suggestion whose code is one block.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogProject, checkJson, migration, runCli, PYTHON, REPO_ROOT, type FixtureProject } from '../support/fixtures.js';

const V = 'migrations/versions';
const FILE = `${V}/004_editors_and_reviewers.py`;

/** Who edited, reviewed and invited: three foreign keys into users, each column indexed, as autogenerate writes it. */
const EDITORS = migration(
  'c0000000004a',
  'b0000000003c',
  'editors and reviewers',
  `
op.add_column("posts", sa.Column("editor_id", sa.Integer(), nullable=True))
op.add_column("posts", sa.Column("reviewer_id", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("invited_by_id", sa.Integer(), nullable=True))
op.create_index(op.f("ix_posts_editor_id"), "posts", ["editor_id"], unique=False)
op.create_index(op.f("ix_posts_reviewer_id"), "posts", ["reviewer_id"], unique=False)
op.create_index(op.f("ix_users_invited_by_id"), "users", ["invited_by_id"], unique=False)
op.create_foreign_key("fk_posts_editor_id_users", "posts", "users", ["editor_id"], ["id"])
op.create_foreign_key("fk_posts_reviewer_id_users", "posts", "users", ["reviewer_id"], ["id"])
op.create_foreign_key("fk_users_invited_by_id_users", "users", "users", ["invited_by_id"], ["id"])
`,
  `
op.drop_constraint("fk_users_invited_by_id_users", "users", type_="foreignkey")
op.drop_constraint("fk_posts_reviewer_id_users", "posts", type_="foreignkey")
op.drop_constraint("fk_posts_editor_id_users", "posts", type_="foreignkey")
op.drop_index(op.f("ix_users_invited_by_id"), table_name="users")
op.drop_index(op.f("ix_posts_reviewer_id"), table_name="posts")
op.drop_index(op.f("ix_posts_editor_id"), table_name="posts")
op.drop_column("users", "invited_by_id")
op.drop_column("posts", "reviewer_id")
op.drop_column("posts", "editor_id")
`,
);

/** The models that go with it: the Post.user relationship now has to say which foreign key it follows. */
function models(): string {
  const blog = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'app', 'models.py'), 'utf8');
  const edited = blog
    .replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    invited_by_id = Column(Integer, ForeignKey("users.id", name="fk_users_invited_by_id_users"), index=True)\n')
    .replace(
      '    user = relationship(User, backref="posts")\n',
      '    editor_id = Column(Integer, ForeignKey("users.id", name="fk_posts_editor_id_users"), index=True)\n' +
        '    reviewer_id = Column(Integer, ForeignKey("users.id", name="fk_posts_reviewer_id_users"), index=True)\n\n' +
        '    user = relationship(User, backref="posts", foreign_keys=[user_id])\n',
    );
  if (edited === blog) throw new Error('examples/blog/app/models.py changed: update the grouping fixture');
  return edited;
}

function lineOf(project: FixtureProject, text: string): number {
  const lines = project.read(FILE).split('\n');
  const hits = lines.flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
  expect(hits, `${FILE} should contain ${text} once`).toHaveLength(1);
  return hits[0]!;
}

describe('grouped findings on a real pull request', () => {
  let project: FixtureProject;
  let report: any;
  let stderr: string;
  beforeAll(async () => {
    project = blogProject({ [FILE]: EDITORS, 'app/models.py': models() });
    ({ report, stderr } = await checkJson(project));
  }, 60_000);
  afterAll(() => project?.remove());

  it('gives one index-not-concurrent and one foreign-key-validates finding, each listing its three objects', () => {
    expect(report.status, stderr).toBe('pass');
    expect(report.findings.map((f: any) => f.rule), stderr).toEqual(['index-not-concurrent', 'foreign-key-validates']);
    const [indexes, keys] = report.findings;
    const line = (text: string) => lineOf(project, text);
    expect(indexes).toMatchObject({ severity: 'warning', file: FILE, revision: 'c0000000004a', line: line('create_index(op.f("ix_posts_editor_id")') });
    expect(indexes.objects).toEqual([
      `ix_posts_editor_id (line ${line('create_index(op.f("ix_posts_editor_id")')})`,
      `ix_posts_reviewer_id (line ${line('create_index(op.f("ix_posts_reviewer_id")')})`,
      `ix_users_invited_by_id (line ${line('create_index(op.f("ix_users_invited_by_id")')})`,
    ]);
    expect(keys).toMatchObject({ severity: 'warning', file: FILE, revision: 'c0000000004a', line: line('create_foreign_key("fk_posts_editor_id_users"') });
    expect(keys.objects).toEqual([
      `fk_posts_editor_id_users (line ${line('create_foreign_key("fk_posts_editor_id_users"')})`,
      `fk_posts_reviewer_id_users (line ${line('create_foreign_key("fk_posts_reviewer_id_users"')})`,
      `fk_users_invited_by_id_users (line ${line('create_foreign_key("fk_users_invited_by_id_users"')})`,
    ]);
    // The JSON contract: every key of a finding, and `objects` on the grouped ones.
    for (const finding of report.findings) {
      expect(Object.keys(finding)).toEqual(['rule', 'severity', 'message', 'file', 'line', 'revision', 'suggestion', 'objects']);
    }
  });

  it('says what happened to how many, names them and their lines, in one sentence', () => {
    const [indexes, keys] = report.findings;
    const first = lineOf(project, 'create_index(op.f("ix_posts_editor_id")');
    expect(indexes.message).toBe(
      '3 indexes built on existing tables without CONCURRENTLY: `ix_posts_editor_id`, `ix_posts_reviewer_id` and ' +
        `\`ix_users_invited_by_id\` (lines ${first}–${first + 2}); each build blocks writes to its table until it ends, and reads ` +
        'as well where the migration already held an ACCESS EXCLUSIVE lock on it.',
    );
    const fk = lineOf(project, 'create_foreign_key("fk_posts_editor_id_users"');
    expect(keys.message).toBe(
      '3 foreign keys added to existing tables without NOT VALID: `fk_posts_editor_id_users`, `fk_posts_reviewer_id_users` ' +
        `and \`fk_users_invited_by_id_users\` (lines ${fk}–${fk + 2}); for each, Postgres checks every existing row while ` +
        'holding SHARE ROW EXCLUSIVE on its table and the one it references, blocking writes to them until the check ends.',
    );
  });

  it('suggests each fix once, with the code of the three objects in one block', () => {
    const [indexes, keys] = report.findings;
    expect(indexes.suggestion.match(/```/g)).toHaveLength(2);
    expect(indexes.suggestion).toContain(
      '```python\nwith op.get_context().autocommit_block():\n' +
        '    op.create_index("ix_posts_editor_id", "posts", ["editor_id"], postgresql_concurrently=True)\n' +
        '    op.create_index("ix_posts_reviewer_id", "posts", ["reviewer_id"], postgresql_concurrently=True)\n' +
        '    op.create_index("ix_users_invited_by_id", "users", ["invited_by_id"], postgresql_concurrently=True)\n```',
    );
    expect(indexes.suggestion.startsWith('Build them CONCURRENTLY')).toBe(true);
    // What migrations-run adds to every lock finding's suggestion is kept, once.
    for (const grouped of [indexes, keys]) expect(grouped.suggestion.split('migrations-run = "offline"'), grouped.suggestion).toHaveLength(2);
    expect(keys.suggestion.match(/```/g)).toHaveLength(4);
    expect(keys.suggestion).toContain(
      '```python\n' +
        'op.create_foreign_key("fk_posts_editor_id_users", "posts", "users", ["editor_id"], ["id"], postgresql_not_valid=True)\n' +
        'op.create_foreign_key("fk_posts_reviewer_id_users", "posts", "users", ["reviewer_id"], ["id"], postgresql_not_valid=True)\n' +
        'op.create_foreign_key("fk_users_invited_by_id_users", "users", "users", ["invited_by_id"], ["id"], postgresql_not_valid=True)\n```',
    );
    expect(keys.suggestion).toContain(
      '```python\n' +
        'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_editor_id_users")\n' +
        'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_reviewer_id_users")\n' +
        'op.execute("ALTER TABLE users VALIDATE CONSTRAINT fk_users_invited_by_id_users")\n```',
    );
  });

  it('shows the objects in the text report, and one row per grouped finding in the markdown', async () => {
    const text = await runCli(['check', '--python', PYTHON, '--base', 'base'], { cwd: project.dir });
    const first = lineOf(project, 'create_index(op.f("ix_posts_editor_id")');
    expect(text.stdout).toContain(
      `\n    3 objects: ix_posts_editor_id (line ${first}), ix_posts_reviewer_id (line ${first + 1}), ix_users_invited_by_id (line ${first + 2})\n`,
    );
    const markdown = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'markdown'], { cwd: project.dir });
    expect(markdown.stdout.split('\n')[0]).toBe('### ✅ alembic-guard: 2 warnings, below fail-on error');
    expect(markdown.stdout.split('\n').filter((line) => line.startsWith('| ⚠️ warning |'))).toHaveLength(2);
  });
});

describe('other rules that group: volatile defaults and dropped tables', () => {
  let project: FixtureProject;
  afterAll(() => project?.remove());

  it('gives one finding per rule and migration, its code in one block, in an order that runs', async () => {
    project = blogProject({
      [`${V}/004_tokens.py`]: migration(
        'c0000000004a',
        'b0000000003c',
        'tokens',
        'op.add_column("users", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False))\n' +
          'op.add_column("posts", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False))',
      ),
      [`${V}/005_drop_all.py`]: migration('c0000000005a', 'c0000000004a', 'drop all', 'op.drop_table("posts")\nop.drop_table("users")'),
    });
    const { report, stderr } = await checkJson(project);
    const ours = report.findings.filter((f: any) => f.rule === 'volatile-default' || f.rule === 'drop-table');
    expect(ours.map((f: any) => `${f.rule} ${f.revision} ${f.objects?.join(', ')}`), stderr).toEqual([
      'volatile-default c0000000004a users.token (line 22), posts.token (line 23)',
      'drop-table c0000000005a posts (line 22), users (line 23)',
    ]);
    const [tokens, drops] = ours;
    expect(tokens.message).toMatch(/^2 columns added to existing tables rewrote them: `users.token` and `posts.token` \(lines 22–23\); /);
    // One import, the comment said once, each column's steps in turn.
    expect(tokens.suggestion.match(/from sqlalchemy\.dialects import postgresql/g)).toHaveLength(1);
    expect(tokens.suggestion.match(/# New rows get the default from now on/g)).toHaveLength(1);
    expect(tokens.suggestion.indexOf('op.add_column("users"')).toBeLessThan(tokens.suggestion.indexOf('op.add_column("posts"'));
    expect(drops.message).toMatch(/^Drops 2 tables that exist before this pull request: `posts` and `users` \(lines 22–23\): /);
    expect(drops.suggestion).toContain('`ignore-objects = ["posts", "users"]`');
    // The foreign key into users goes before the table that holds it.
    expect(drops.suggestion).toContain('```python\nop.drop_constraint("posts_user_id_fkey", "posts", type_="foreignkey")\nop.drop_table("posts")\nop.drop_table("users")\n```');
  });
});

describe('findings that do not share a fix', () => {
  let project: FixtureProject;
  afterAll(() => project?.remove());

  it('stay apart: a build and a drop of an index, and findings in two migrations, are not grouped', async () => {
    project = blogProject({
      [`${V}/004_index_phone.py`]: migration(
        'c0000000004a',
        'b0000000003c',
        'index phone',
        'op.create_index("ix_users_phone", "users", ["phone"])\nop.create_index("ix_users_created_at", "users", ["created_at"])',
        'op.drop_index("ix_users_created_at", table_name="users")\nop.drop_index("ix_users_phone", table_name="users")',
      ),
      [`${V}/005_reindex.py`]: migration(
        'c0000000005a',
        'c0000000004a',
        'reindex',
        'op.drop_index("ix_users_phone", table_name="users")\nop.create_index("ix_users_phone_email", "users", ["phone", "email"])',
        'op.drop_index("ix_users_phone_email", table_name="users")\nop.create_index("ix_users_phone", "users", ["phone"])',
      ),
    });
    const { report } = await checkJson(project);
    const ours = report.findings.filter((f: any) => f.rule === 'index-not-concurrent');
    expect(ours.map((f: any) => `${f.revision} ${f.objects ? f.objects.length : 1} ${f.message.slice(0, 20)}`)).toEqual([
      'c0000000004a 2 2 indexes built on e',
      'c0000000005a 1 `DROP INDEX ix_users',
      'c0000000005a 1 `CREATE INDEX ix_use',
    ]);
    expect(ours[1].objects).toBeUndefined();
  });
});
