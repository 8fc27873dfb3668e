// `migrations-run = "offline"` (apps that migrate while stopped): the setting, what it does to lock findings and to the
// findings about a lock and the data, and the action's input that wins over pyproject.toml. Real git, Alembic, Postgres.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_HINT_DEPLOY, OFFLINE_HINT_LOCK, OFFLINE_HINT_LOCK_AND_DATA, OFFLINE_NOTICE } from '../../src/rules/migrations-run.js';
import { readProjectSettings } from '../../src/settings/settings.js';
import { UserError } from '../../src/errors.js';
import { buildActionDirectory, git, NODE24, runActionBundle } from '../action/harness.js';
import { blogModelsWithUserColumns, blogProject, checkJson, migration, PYTHON, REPO_ROOT, type FixtureProject } from '../support/fixtures.js';

const LOCK_RULES = new Set(['index-not-concurrent', 'foreign-key-validates', 'volatile-default', 'set-not-null', 'unique-constraint-scan', 'column-type-change']);
const ours = (report: any): any[] => report.findings.filter((f: any) => LOCK_RULES.has(f.rule));
const place = (f: any) => `${f.file.replace('migrations/versions/', '')}:${f.line} ${f.rule} ${f.severity}`;
const occurrences = (text: string, part: string) => text.split(part).length - 1;
const pythonBlock = (suggestion: string): string => /```python\n([\s\S]*?)\n```/.exec(suggestion)![1]!;
const OFFLINE = '[tool.alembic-guard]\nmigrations-run = "offline"\n';

const projects: FixtureProject[] = [];
afterAll(() => {
  for (const project of projects.splice(0)) project.remove();
});
function project(...args: Parameters<typeof blogProject>): FixtureProject {
  const made = blogProject(...args);
  projects.push(made);
  return made;
}

/** The blog's models with extra lines on User and Post, and extra classes. */
function models(user: string[], post: string[] = [], classes = ''): string {
  const text = blogModelsWithUserColumns(...user).replace('\n    user = relationship(', `${post.map((l) => `    ${l}\n`).join('')}\n    user = relationship(`);
  return `import sqlalchemy as sa\n${text}${classes}`;
}

const TAG_MODEL = `

class Tag(Base):
    __tablename__ = "tags"

    id = Column(Integer, primary_key=True)
    name = Column(String(50))
`;

// ---------------------------------------------------------------------------------------------------------------
// The setting

describe('[tool.alembic-guard] migrations-run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'alembic-guard-migrations-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const read = (toml: string | null, overrides = {}) => {
    rmSync(join(dir, 'pyproject.toml'), { force: true });
    if (toml !== null) writeFileSync(join(dir, 'pyproject.toml'), toml);
    return readProjectSettings(dir, dir, overrides);
  };

  it('is online unless pyproject.toml says offline; the caller (the action\'s input) wins over it', () => {
    expect(read(null).migrationsRun).toBe('online');
    expect(read('[project]\nname = "blog"\n').migrationsRun).toBe('online');
    expect(read('[tool.alembic-guard]\ndisable = ["drop-column"]\n').migrationsRun).toBe('online');
    expect(read('[tool.alembic-guard]\nmigrations-run = "online"\n').migrationsRun).toBe('online');
    expect(read(OFFLINE).migrationsRun).toBe('offline');
    expect(read(OFFLINE, { migrationsRun: 'online' }).migrationsRun).toBe('online');
    expect(read(null, { migrationsRun: 'offline' }).migrationsRun).toBe('offline');
    expect(read(OFFLINE, { migrationsRun: undefined }).migrationsRun).toBe('offline');
  });

  it.each([
    ['"stopped"', '"stopped"'],
    ['"Offline"', '"Offline"'],
    ['true', 'true'],
    ['["offline"]', 'a list'],
  ])('refuses migrations-run = %s, naming pyproject.toml and the values it takes', (value, shown) => {
    expect(() => read(`[tool.alembic-guard]\nmigrations-run = ${value}\n`)).toThrow(UserError);
    expect(() => read(`[tool.alembic-guard]\nmigrations-run = ${value}\n`)).toThrow(
      `pyproject.toml: [tool.alembic-guard] migrations-run = ${shown}: use "online" (the app serves while its migrations run: the default) ` +
        'or "offline" (the app is stopped while they run, e.g. `alembic upgrade head` at startup before serving).',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A pull request whose findings are only about locks

const LOCKS_ONLY = migration(
  'c0000000004a',
  'b0000000003c',
  'changes that only lock',
  `
op.create_index("ix_users_phone", "users", ["phone"])
op.create_table("tags", sa.Column("id", sa.Integer(), nullable=False), sa.Column("name", sa.String(length=50), nullable=True), sa.PrimaryKeyConstraint("id"))
op.add_column("posts", sa.Column("tag_id", sa.Integer(), sa.ForeignKey("tags.id"), nullable=True))
op.add_column("posts", sa.Column("slug", sa.String(length=50), nullable=True, unique=True))
op.add_column("users", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=True))
op.alter_column("posts", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
op.execute("ALTER SEQUENCE posts_id_seq AS bigint")
`,
  `
op.execute("ALTER SEQUENCE posts_id_seq AS integer")
op.alter_column("posts", "id", type_=sa.Integer(), existing_type=sa.BigInteger())
op.drop_column("users", "token")
op.drop_column("posts", "slug")
op.drop_column("posts", "tag_id")
op.drop_table("tags")
op.drop_index("ix_users_phone", table_name="users")
`,
);

const LOCKS_ONLY_MODELS = models(
  ['token = Column(sa.Uuid, server_default=sa.text("gen_random_uuid()"))'],
  ['tag_id = Column(Integer, ForeignKey("tags.id"))', 'slug = Column(String(50), unique=True)'],
  TAG_MODEL,
)
  .replace('    phone = Column(String(20))\n', '    phone = Column(String(20), index=True)\n')
  .replace('class Post(Base):\n    __tablename__ = "posts"\n\n    id = Column(Integer, primary_key=True)', 'class Post(Base):\n    __tablename__ = "posts"\n\n    id = Column(sa.BigInteger, primary_key=True)');

const LOCK_PLACES = [
  '004_locks.py:22 index-not-concurrent',
  '004_locks.py:24 foreign-key-validates',
  '004_locks.py:25 unique-constraint-scan',
  '004_locks.py:26 volatile-default',
  '004_locks.py:27 column-type-change',
];

describe('a pull request whose findings are only about locks', () => {
  let locks: FixtureProject;
  let online: Awaited<ReturnType<typeof checkJson>>;
  let offline: Awaited<ReturnType<typeof checkJson>>;
  beforeAll(async () => {
    locks = project({ 'migrations/versions/004_locks.py': LOCKS_ONLY, 'app/models.py': LOCKS_ONLY_MODELS });
    online = await checkJson(locks, ['--fail-on', 'warning']);
    locks.write('pyproject.toml', OFFLINE);
    offline = await checkJson(locks, ['--fail-on', 'warning']);
  }, 60_000);

  it('online: warnings at the gate, each suggestion ending once with how to declare offline migrations', () => {
    expect(online.report.findings.filter((f: any) => !LOCK_RULES.has(f.rule)), online.stderr).toEqual([]);
    expect(ours(online.report).map(place).sort()).toEqual(LOCK_PLACES.map((p) => `${p} warning`).sort());
    expect(online.code).toBe(1);
    for (const f of ours(online.report)) {
      expect(f.suggestion.endsWith(`\n\n${OFFLINE_HINT_LOCK}`), f.rule).toBe(true);
      expect(occurrences(f.suggestion, 'migrations-run'), f.rule).toBe(1);
    }
  });

  it('offline: the same findings as notices, so --fail-on warning passes; each says why it is a notice', () => {
    expect(offline.report.findings.filter((f: any) => !LOCK_RULES.has(f.rule)), offline.stderr).toEqual([]);
    expect(ours(offline.report).map(place).sort()).toEqual(LOCK_PLACES.map((p) => `${p} notice`).sort());
    expect(offline.code).toBe(0);
    expect(offline.report.status).toBe('pass');
    for (const f of ours(offline.report)) {
      // The facts stay (what Postgres locked); the suggestion says why they are not at the gate, and no longer how to get there.
      expect(f.message).toBe(ours(online.report).find((o) => o.line === f.line && o.rule === f.rule).message);
      expect(f.suggestion.endsWith(`\n\n${OFFLINE_NOTICE}`), f.rule).toBe(true);
      expect(f.suggestion).not.toContain(OFFLINE_HINT_LOCK);
    }
  });

  it('a unique constraint on a column added without a default cannot meet duplicates: only its lock is told', () => {
    const [f] = ours(online.report).filter((x) => x.rule === 'unique-constraint-scan');
    expect(f.message).toContain('`ALTER TABLE posts ADD UNIQUE (slug)`');
    expect(f.message).not.toContain('duplicate');
    expect(f.suggestion).not.toContain('duplicates');
  });

  it('an explicit severity setting wins over offline', async () => {
    locks.write('pyproject.toml', `${OFFLINE}severity = { "index-not-concurrent" = "error" }\n`);
    const result = await checkJson(locks);
    expect(result.code).toBe(1);
    expect(ours(result.report).map(place).sort()).toEqual(
      LOCK_PLACES.map((p) => `${p} ${p.includes('index-not-concurrent') ? 'error' : 'notice'}`).sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A pull request whose findings are about a lock and the data

const LOCK_AND_DATA = migration(
  'c0000000004b',
  'b0000000003c',
  'changes that lock and can fail on the data',
  `
op.alter_column("users", "phone", nullable=False, existing_type=sa.String(length=20))
op.create_unique_constraint("uq_users_phone", "users", ["phone"])
op.alter_column("users", "email", type_=sa.String(length=50), existing_type=sa.String(length=100))
`,
  `
op.alter_column("users", "email", type_=sa.String(length=100), existing_type=sa.String(length=50))
op.drop_constraint("uq_users_phone", "users", type_="unique")
op.alter_column("users", "phone", nullable=True, existing_type=sa.String(length=20))
`,
);

const LOCK_AND_DATA_MODELS = models([])
  .replace('    phone = Column(String(20))\n', '    phone = Column(String(20), nullable=False, unique=True)\n')
  .replace('email = Column(String(100), unique=True, nullable=False)', 'email = Column(String(50), unique=True, nullable=False)');

describe('a pull request whose findings are about a lock and the data', () => {
  let mixed: FixtureProject;
  let online: Awaited<ReturnType<typeof checkJson>>;
  let offline: Awaited<ReturnType<typeof checkJson>>;
  const at = (report: any, rule: string) => ours(report).find((f) => f.rule === rule);
  beforeAll(async () => {
    mixed = project({ 'migrations/versions/004_mixed.py': LOCK_AND_DATA, 'app/models.py': LOCK_AND_DATA_MODELS });
    online = await checkJson(mixed, ['--fail-on', 'warning']);
    mixed.write('pyproject.toml', OFFLINE);
    offline = await checkJson(mixed, ['--fail-on', 'warning']);
  }, 60_000);

  it('offline, they stay warnings at the gate', () => {
    const expected = ['004_mixed.py:22 set-not-null warning', '004_mixed.py:23 unique-constraint-scan warning', '004_mixed.py:24 column-type-change warning'];
    expect(online.report.findings.filter((f: any) => !LOCK_RULES.has(f.rule)), online.stderr).toEqual([]);
    expect(ours(online.report).map(place)).toEqual(expected);
    expect(ours(offline.report).map(place)).toEqual(expected);
    expect(offline.code).toBe(1);
  });

  it('online: the lock and the data, and a last line saying what offline would keep', () => {
    for (const f of ours(online.report)) {
      expect(f.suggestion.endsWith(`\n\n${OFFLINE_HINT_LOCK_AND_DATA}`), f.rule).toBe(true);
      expect(occurrences(f.suggestion, 'migrations-run'), f.rule).toBe(1);
    }
    expect(at(online.report, 'set-not-null').message).toContain('took ACCESS EXCLUSIVE on `users` and scans the whole table for nulls');
    expect(at(online.report, 'unique-constraint-scan').message).toContain('reads and writes to it are blocked for the whole build, and duplicate values of `phone` make it fail');
  });

  it('set-not-null offline: the failure on nulls alone, fixed by filling them in the migration', () => {
    const f = at(offline.report, 'set-not-null');
    expect(f.message).toBe(
      '`ALTER TABLE users ALTER COLUMN phone SET NOT NULL` fails if any row of `users` holds NULL in `phone`: Postgres answered ' +
        '`column "phone" of relation "users" contains null values` when re-run with one row in `users`.',
    );
    expect(pythonBlock(f.suggestion)).toBe(
      `op.execute("UPDATE users SET phone = '' WHERE phone IS NULL")  # TODO: the value existing rows get\n` +
        'op.alter_column("users", "phone", nullable=False, existing_type=sa.String(length=20))',
    );
    expect(f.suggestion).toContain('SELECT count(*) FROM users WHERE phone IS NULL;');
    expect(f.suggestion).not.toMatch(/ACCESS EXCLUSIVE|VALIDATE|migrations-run/);
  });

  it('unique-constraint-scan offline: the duplicates alone', () => {
    const f = at(offline.report, 'unique-constraint-scan');
    expect(f.message).toBe(
      '`ALTER TABLE users ADD CONSTRAINT uq_users_phone UNIQUE (phone)` adds a unique constraint to the existing table `users`: ' +
        'duplicate values of `phone` make it fail.',
    );
    expect(f.suggestion).toContain('SELECT phone, count(*) FROM users GROUP BY phone HAVING count(*) > 1;');
    expect(f.suggestion).not.toMatch(/CONCURRENTLY|ACCESS EXCLUSIVE|migrations-run/);
  });

  it('column-type-change offline: a narrowing varchar, its values that do not fit alone', () => {
    const f = at(offline.report, 'column-type-change');
    expect(f.message).toBe(
      '`ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(50)` narrows `users.email` from character varying(100) to ' +
        'character varying(50): values longer than 50 characters make it fail.',
    );
    expect(f.suggestion).toContain('SELECT count(*) FROM users WHERE char_length(email) > 50;');
    expect(f.suggestion).not.toMatch(/rewrite|CHECK|migrations-run/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// set-not-null on a foreign key: the backfill takes a referenced row's key

const TAGS_HISTORY = (withNullPost: boolean) =>
  migration(
    'a0000000004t',
    'b0000000003c',
    'tags, and data',
    [
      'op.create_table("tags", sa.Column("id", sa.Integer(), nullable=False), sa.Column("name", sa.String(length=50), nullable=True), sa.PrimaryKeyConstraint("id"))',
      'op.add_column("posts", sa.Column("tag_id", sa.Integer(), nullable=True))',
      'op.create_foreign_key("fk_posts_tag_id_tags", "posts", "tags", ["tag_id"], ["id"])',
      // Keys from the sequences: the one-row proof inserts its own row with the next one.
      `op.execute("INSERT INTO users (username, email) VALUES ('ann', 'ann@example.com')")`,
      `op.execute("INSERT INTO tags (id, name) VALUES (7, 'news')")`,
      ...(withNullPost ? [`op.execute("INSERT INTO posts (user_id, title, body) SELECT id, 'hello', 'first post' FROM users")`] : []),
    ].join('\n'),
    'op.drop_column("posts", "tag_id")\nop.drop_table("tags")',
  );

const TAG_NULLABLE = 'op.alter_column("posts", "tag_id", nullable=True, existing_type=sa.Integer())';
const TAG_NOT_NULL_MODELS = models([], ['tag_id = Column(Integer, ForeignKey("tags.id"), nullable=False)'], TAG_MODEL);

describe('set-not-null on a foreign key column', () => {
  let suggested: { online: any; offline: any };
  beforeAll(async () => {
    const fk = project(
      {
        'migrations/versions/005_tag_not_null.py': migration(
          'c0000000005t',
          'a0000000004t',
          'every post has a tag',
          'op.alter_column("posts", "tag_id", nullable=False, existing_type=sa.Integer())',
          TAG_NULLABLE,
        ),
        'app/models.py': TAG_NOT_NULL_MODELS,
      },
      { baseChanges: { 'migrations/versions/004_tags.py': TAGS_HISTORY(false), 'app/models.py': TAG_NOT_NULL_MODELS.replace('ForeignKey("tags.id"), nullable=False)', 'ForeignKey("tags.id"))') } },
    );
    const online = await checkJson(fk);
    fk.write('pyproject.toml', OFFLINE);
    const offline = await checkJson(fk);
    suggested = { online: ours(online.report)[0], offline: ours(offline.report)[0] };
  }, 60_000);

  it('fills the nulls with the key of a referenced row, not a made-up value', () => {
    expect(suggested.online).toMatchObject({ rule: 'set-not-null', severity: 'warning' });
    expect(pythonBlock(suggested.online.suggestion)).toContain(
      '# op.execute("UPDATE posts SET tag_id = (SELECT id FROM tags LIMIT 1) WHERE tag_id IS NULL")\n' +
        '# `tag_id` is a foreign key to `tags`: each row needs the key of an existing `tags` row\n',
    );
    expect(suggested.offline).toMatchObject({ rule: 'set-not-null', severity: 'warning' });
    expect(pythonBlock(suggested.offline.suggestion)).toContain(
      'op.execute("UPDATE posts SET tag_id = (SELECT id FROM tags LIMIT 1) WHERE tag_id IS NULL")  # TODO: the tags row each one belongs to',
    );
    for (const f of [suggested.online, suggested.offline]) expect(f.suggestion).not.toMatch(/SET tag_id = (0|gen_random_uuid\(\))/);
  });

  it('the offline suggestion replays on a post with no tag, and then the column is proven filled: a notice', async () => {
    const fixed = project(
      {
        'migrations/versions/005_tag_not_null.py': migration('c0000000005t', 'a0000000004t', 'every post has a tag', pythonBlock(suggested.offline.suggestion), TAG_NULLABLE),
        'app/models.py': TAG_NOT_NULL_MODELS,
        'pyproject.toml': OFFLINE,
      },
      { baseChanges: { 'migrations/versions/004_tags.py': TAGS_HISTORY(true), 'app/models.py': TAG_NOT_NULL_MODELS.replace('ForeignKey("tags.id"), nullable=False)', 'ForeignKey("tags.id"))') } },
    );
    const result = await checkJson(fixed, ['--fail-on', 'warning']);
    expect(result.report.findings.filter((f: any) => f.rule === 'replay-failed'), result.stderr).toEqual([]);
    expect(ours(result.report).map(place)).toEqual(['005_tag_not_null.py:25 set-not-null notice']);
    expect(result.code).toBe(0);

    // What a made-up key does on the same data: the foreign key refuses it.
    fixed.write(
      'migrations/versions/005_tag_not_null.py',
      migration('c0000000005t', 'a0000000004t', 'every post has a tag', pythonBlock(suggested.offline.suggestion).replace('(SELECT id FROM tags LIMIT 1)', '0'), TAG_NULLABLE),
    );
    const madeUp = await checkJson(fixed);
    expect(madeUp.report.findings.find((f: any) => f.rule === 'replay-failed')?.message).toMatch(/fk_posts_tag_id_tags/);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------------
// column-type-change's CHECK constraint for a shorter varchar, as a compare_type project follows it

describe('column-type-change: the CHECK constraint suggested for a shorter varchar', () => {
  const NARROW = migration(
    'c0000000004n',
    'b0000000003c',
    'shorter emails',
    'op.alter_column("users", "email", type_=sa.String(length=50), existing_type=sa.String(length=100))',
    'op.alter_column("users", "email", type_=sa.String(length=100), existing_type=sa.String(length=50))',
  );
  const SHORTER = models([]).replace('email = Column(String(100), unique=True, nullable=False)', 'email = Column(String(50), unique=True, nullable=False)');

  it('keeps the model\'s type and declares the limit in the model: autogenerate then has nothing to add', async () => {
    const narrow = project({ 'migrations/versions/004_narrow.py': NARROW, 'app/models.py': SHORTER });
    const first = await checkJson(narrow);
    const f = ours(first.report).find((x) => x.rule === 'column-type-change');
    const blocks = [...f.suggestion.matchAll(/```python\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    const [addCheck, validate, modelCheck] = blocks;
    expect(addCheck).toBe('op.create_check_constraint(op.f("ck_users_email_length"), "users", "char_length(email) <= 50", postgresql_not_valid=True)');
    expect(f.suggestion).toContain('`email` stays `sa.String(length=100)`');
    expect(modelCheck).toBe('sa.CheckConstraint("char_length(email) <= 50", name=sa.schema.conv("ck_users_email_length")),');

    // The migration as suggested, with the model still saying String(50): compare_type flags the type again.
    narrow.write('migrations/versions/004_narrow.py', migration('c0000000004n', 'b0000000003c', 'shorter emails', `${addCheck}\n${validate}`, 'op.drop_constraint(op.f("ck_users_email_length"), "users", type_="check")'));
    const modelNotFollowed = await checkJson(narrow);
    expect(modelNotFollowed.report.findings.map((x: any) => x.rule)).toContain('missing-migration');

    // The model as suggested: the old type and the CHECK constraint. Nothing is left to report.
    narrow.write(
      'app/models.py',
      models([]).replace(
        '    phone = Column(String(20))\n',
        `    phone = Column(String(20))\n\n    __table_args__ = (\n        ${modelCheck}\n    )\n`,
      ),
    );
    const followed = await checkJson(narrow);
    expect(followed.report.findings, followed.stderr).toEqual([]);
    expect(followed.code).toBe(0);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------------
// The action's input

describe('the action\'s migrations-run input', () => {
  let action: ReturnType<typeof buildActionDirectory>;
  beforeAll(() => {
    action = buildActionDirectory();
  }, 120_000);
  afterAll(() => action?.remove());

  async function runAction(locks: FixtureProject, input: string) {
    const base = git(locks.dir, ['rev-parse', 'base']).trim();
    const head = git(locks.dir, ['rev-parse', 'HEAD']).trim();
    return runActionBundle({
      entry: action.entry,
      workspace: locks.dir,
      // A push: nothing to post, so no GitHub API is needed.
      event: { name: 'push', payload: { ref: 'refs/heads/main', before: base, after: head } },
      apiUrl: 'http://127.0.0.1:9',
      node: NODE24 ?? process.execPath,
      inputs: { python: PYTHON, 'fail-on': 'warning', 'migrations-run': input },
    });
  }

  it('offline makes the lock findings notices; online wins over pyproject.toml\'s offline', async () => {
    const locks = project({ 'migrations/versions/004_locks.py': LOCKS_ONLY, 'app/models.py': LOCKS_ONLY_MODELS }, { commitChanges: true });
    const offline = await runAction(locks, 'offline');
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
    expect(offline.outputs).toMatchObject({ status: 'pass', warnings: '0', notices: String(LOCK_PLACES.length) });

    locks.write('pyproject.toml', OFFLINE);
    locks.commit('offline migrations');
    const fromPyproject = await runAction(locks, '');
    expect(fromPyproject.outputs).toMatchObject({ status: 'pass', warnings: '0', notices: String(LOCK_PLACES.length) });
    const online = await runAction(locks, 'online');
    expect(online.code).toBe(1);
    expect(online.outputs).toMatchObject({ status: 'fail', warnings: String(LOCK_PLACES.length), notices: '0' });
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------------
// Drops and renames: about the code deployed before the migration, which an app stopped while it migrates never runs

describe('a pull request that drops a column and renames another', () => {
  const DROPS = migration(
    'c0000000004b',
    'b0000000003c',
    'drop phone, rename title',
    'op.drop_column("users", "phone")\nop.alter_column("posts", "title", new_column_name="headline")',
    'op.alter_column("posts", "headline", new_column_name="title")\nop.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))',
  );
  const MODELS = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'app', 'models.py'), 'utf8')
    .replace('    phone = Column(String(20))\n', '')
    .replace('    title = Column(String(200), nullable=False)\n', '    headline = Column(String(200), nullable=False)\n');

  it('online: drop-column is a warning whose suggestion ends with how to declare offline; offline: notices, exit 0 at --fail-on warning', async () => {
    const drops = project({ 'migrations/versions/004_drops.py': DROPS, 'app/models.py': MODELS });
    const online = await checkJson(drops, ['--fail-on', 'warning']);
    const rulesOf = (report: any) => report.findings.map((f: any) => `${f.rule} ${f.severity}`).sort();
    expect(rulesOf(online.report), online.stderr).toEqual(['drop-column warning', 'rename-column notice']);
    expect(online.code).toBe(1);
    for (const f of online.report.findings) expect(f.suggestion.endsWith(OFFLINE_HINT_DEPLOY)).toBe(true);

    drops.write('pyproject.toml', OFFLINE);
    const offline = await checkJson(drops, ['--fail-on', 'warning']);
    expect(rulesOf(offline.report), offline.stderr).toEqual(['drop-column notice', 'rename-column notice']);
    expect(offline.code).toBe(0);
  }, 60_000);
});
