// model-drift through the real CLI: what the models' create_all() builds and what the migrations build differ in a way
// `alembic revision --autogenerate` does not compare (enum labels, server defaults, CHECK definitions, identity and
// generated columns, sequence types, index method / predicate / INCLUDE, foreign key MATCH, collations). Real git,
// real Alembic in the virtualenv, a real disposable Postgres. Each fixture is one CLI run (~2–4 s) whose pull request
// drifts in several independent ways, on columns with distinct names; every test picks the findings about its object
// and also checks that autogenerate (missing-migration) said nothing about it, or, where autogenerate does compare the
// property, that model-drift does not say it a second time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, checkJson, migration, REPO_ROOT, type FileChanges } from '../support/fixtures.js';
import { ruleChecker, type JsonFinding as Finding } from '../support/rule-check.js';

const check = ruleChecker(new Set(['model-drift', 'missing-migration']));
type Checked = Awaited<ReturnType<typeof check>>;

const V = 'migrations/versions';
const BLOG_ENV = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'migrations', 'env.py'), 'utf8');
const CONFIGURE = 'context.configure(connection=connection, target_metadata=target_metadata)';

/** The blog's models with `lines` added to User, the SQLAlchemy names the fixtures use imported, and `extra` at the end. */
function models(lines: string[], extra = ''): string {
  const text = blogModelsWithUserColumns(...lines);
  const imports = 'from sqlalchemy import BigInteger, CheckConstraint, Computed, Enum, Identity, Index, func, text\n';
  return text.replace('from sqlalchemy.orm', `${imports}from sqlalchemy.orm`) + extra;
}

/** The blog's env.py with extra keyword arguments to `context.configure` (online mode) and code before it. */
function env(configureArgs: string, prelude = ''): string {
  if (!BLOG_ENV.includes(CONFIGURE)) throw new Error('examples/blog/migrations/env.py changed: update env() in model-drift.test.ts');
  return BLOG_ENV.replace('def run_migrations_offline', `${prelude}def run_migrations_offline`).replace(
    CONFIGURE,
    `context.configure(connection=connection, target_metadata=target_metadata, ${configureArgs})`,
  );
}

const drift = (r: Checked) => r.findings.filter((f) => f.rule === 'model-drift');
const missing = (r: Checked) => r.findings.filter((f) => f.rule === 'missing-migration');
/** model-drift findings whose message names `name` (in backquotes, as the rule writes object names). */
const driftAbout = (r: Checked, name: string) => drift(r).filter((f) => f.message.includes(`\`${name}\``));
/**
 * missing-migration findings whose message or suggested migration holds `text` (the message lists autogenerate's
 * operations, `add_index users.ix_x`, only up to five; the suggested code has them all).
 */
const autogenerateAbout = (r: Checked, text: string) => missing(r).filter((f) => f.message.includes(text) || (f.suggestion ?? '').includes(text));

/** The one model-drift finding about `name`, and autogenerate silent on it. */
function only(r: Checked, name: string, autogenerateName = name): Finding {
  const found = driftAbout(r, name);
  expect(found, `model-drift findings about ${name}: ${JSON.stringify(drift(r), null, 1)}`).toHaveLength(1);
  expect(autogenerateAbout(r, autogenerateName), `autogenerate should be silent on ${autogenerateName}`).toEqual([]);
  return found[0]!;
}

/** The ```python block of a suggestion. */
function pythonOf(f: Finding): string {
  const code = /```python\n([\s\S]*?)\n```/.exec(f.suggestion ?? '')?.[1];
  expect(code, `a python block in the suggestion of: ${f.message}`).toBeTruthy();
  return code!;
}

/**
 * Puts the suggested code of each finding into its own follow-up migration of the same pull request (revisions
 * `<prefix>0001`, `<prefix>0002`, … after `after`), then checks the project again.
 */
async function applySuggestions(r: Checked, findings: Finding[], after: string, prefix: string): Promise<Checked> {
  let down = after;
  findings.forEach((f, i) => {
    const revision = `${prefix}${String(i + 1).padStart(4, '0')}`;
    r.project.write(`${V}/${revision}_fix.py`, migration(revision, down, `fix ${i + 1}`, pythonOf(f)));
    down = revision;
  });
  const { report, stderr } = await checkJson(r.project);
  expect(report.status, stderr).not.toBe('error');
  const replayFailed = report.findings.filter((f: Finding) => f.rule === 'replay-failed');
  expect(replayFailed, 'the suggested code must run').toEqual([]);
  const judged: Finding[] = report.findings.filter((f: Finding) => f.rule === 'model-drift' || f.rule === 'missing-migration');
  return { ...r, report, findings: judged };
}

// ---------------------------------------------------------------------------------------------------------------------
// Column-level properties: enum labels, server defaults, CHECK constraints, identity, generated columns, collations.

const COLUMNS_FILE = `${V}/004_user_drift.py`;
const COLUMNS_REV = 'd0000000004a';
const COLUMNS: FileChanges = {
  'app/models.py': models([
    "status = Column(Enum('draft', 'published', 'archived', name='user_status'))",
    "kind = Column(Enum('staff', 'guest', name='user_kind'))",
    "score = Column(Integer, server_default=text('1'))",
    "level = Column(Integer, server_default=text('5'))",
    'seen_at = Column(DateTime(timezone=True), server_default=func.now())',
    "weight = Column(Integer, CheckConstraint('weight > 0', name='ck_users_weight'))",
    "age = Column(Integer, CheckConstraint('age >= 18', name='ck_users_age'))",
    'ticket = Column(Integer, Identity())',
    'badge = Column(Integer, Identity())',
    'ref = Column(Integer, Identity(always=True))',
    'price = Column(Integer)',
    'qty = Column(Integer)',
    "total = Column(Integer, Computed('price * qty', persisted=True))",
    "handle = Column(String(30, collation='C'))",
  ]),
  [COLUMNS_FILE]: migration(
    COLUMNS_REV,
    'b0000000003c',
    'user drift',
    `
sa.Enum("draft", "published", name="user_status").create(op.get_bind())
op.add_column("users", sa.Column("status", sa.Enum(name="user_status", create_type=False), nullable=True))
sa.Enum("staff", "guest", "bot", name="user_kind").create(op.get_bind())
op.add_column("users", sa.Column("kind", sa.Enum(name="user_kind", create_type=False), nullable=True))
op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("level", sa.Integer(), server_default=sa.text("3"), nullable=True))
op.add_column("users", sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=True))
op.add_column("users", sa.Column("weight", sa.Integer(), sa.CheckConstraint("weight >= 0", name="ck_users_weight"), nullable=True))
op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("ticket", sa.Integer(), nullable=False))
op.add_column("users", sa.Column("badge", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("ref", sa.Integer(), sa.Identity(always=False), nullable=False))
op.add_column("users", sa.Column("price", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("qty", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("total", sa.Integer(), sa.Computed("price + qty"), nullable=True))
op.add_column("users", sa.Column("handle", sa.String(length=30), nullable=True))
`,
    'op.drop_column("users", "handle")\nop.drop_column("users", "total")\nop.drop_column("users", "qty")\nop.drop_column("users", "price")\n' +
      'op.drop_column("users", "ref")\nop.drop_column("users", "badge")\nop.drop_column("users", "ticket")\nop.drop_column("users", "age")\n' +
      'op.drop_column("users", "weight")\nop.drop_column("users", "seen_at")\nop.drop_column("users", "level")\nop.drop_column("users", "score")\n' +
      'op.drop_column("users", "kind")\nop.drop_column("users", "status")\nop.execute("DROP TYPE user_kind")\nop.execute("DROP TYPE user_status")',
  ),
};

describe('model-drift on columns a pull request adds', () => {
  let r: Checked;
  const lineOf = (text: string) => r.lineOf(COLUMNS_FILE, text);
  const at = (text: string) => ({ file: COLUMNS_FILE, line: lineOf(text), revision: COLUMNS_REV });

  beforeAll(async () => {
    r = await check(COLUMNS);
  });

  it('leaves all of it to model-drift: autogenerate reports nothing, and the check fails on the errors', () => {
    expect(missing(r)).toEqual([]);
    expect(r.report.status).toBe('fail');
  });

  it('errors on an enum whose migration lacks a label of the model, with ADD VALUE in an autocommit block at its place', () => {
    const f = only(r, 'user_status', 'status');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Enum("draft", "published", name="user_status").create') });
    expect(f.message).toContain("the models have the labels 'draft', 'published', 'archived'");
    expect(f.message).toContain("the migrations create 'draft', 'published'.");
    expect(f.message).toContain("Writing 'archived' fails with `invalid input value for enum`");
    expect(f.message).toContain('`users.status`');
    const code = pythonOf(f);
    expect(code).toContain('with op.get_context().autocommit_block():');
    expect(code).toContain(`    op.execute("ALTER TYPE user_status ADD VALUE IF NOT EXISTS 'archived' AFTER 'published'")`);
  });

  it('warns on an enum whose migration has a label the model lacks, and explains the type must be replaced', () => {
    const f = only(r, 'user_kind', 'kind');
    expect(f).toMatchObject({ severity: 'warning', ...at('sa.Enum("staff", "guest", "bot", name="user_kind").create') });
    expect(f.message).toContain("the models have the labels 'staff', 'guest'; the migrations create 'staff', 'guest', 'bot'.");
    expect(f.message).toContain("'bot' fails in SQLAlchemy (`LookupError`)");
    expect(f.suggestion).toContain('Postgres cannot drop or reorder the labels of an enum');
  });

  it("errors on a model's server default that the migration does not create, with alter_column to set it", () => {
    const f = only(r, 'users.score');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("score"') });
    expect(f.message).toContain('the models declare the server default `1`; the migrations create the column without one');
    expect(f.suggestion).toContain('compare_server_default=True');
    expect(pythonOf(f)).toBe('op.alter_column("users", "score", server_default=sa.text("1"))');
  });

  it('warns on a server default that differs between the model and the migration, naming both', () => {
    const f = only(r, 'users.level');
    expect(f).toMatchObject({ severity: 'warning', ...at('sa.Column("level"') });
    expect(f.message).toContain('the models declare the server default `5`; the migrations give it `3`');
    expect(pythonOf(f)).toBe('op.alter_column("users", "level", server_default=sa.text("5"))');
  });

  it('treats now() in the model and CURRENT_TIMESTAMP in the migration as the same default', () => {
    expect(driftAbout(r, 'users.seen_at')).toEqual([]);
    expect(autogenerateAbout(r, 'seen_at')).toEqual([]);
  });

  it('errors on a CHECK constraint whose expression differs, with the code to replace it NOT VALID then validate it', () => {
    const f = only(r, 'ck_users_weight', 'weight');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("weight"') });
    expect(f.message).toContain('CHECK constraint `ck_users_weight` on `users`');
    expect(f.message).toContain('the models say `CHECK ((weight > 0))`; the migrations `CHECK ((weight >= 0))`');
    expect(pythonOf(f)).toBe(
      [
        'op.drop_constraint("ck_users_weight", "users", type_="check")',
        'op.execute("ALTER TABLE users ADD CONSTRAINT ck_users_weight CHECK ((weight > 0)) NOT VALID")',
        'op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_weight")',
      ].join('\n'),
    );
  });

  it('errors on a CHECK constraint of the models that no migration creates, at the column it checks', () => {
    const f = only(r, 'ck_users_age', 'age');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("age"') });
    expect(f.message).toContain('CHECK constraint `ck_users_age` of the models (`CHECK ((age >= 18))`) is not on `users` in the migrations');
    const code = pythonOf(f);
    expect(code).not.toContain('drop_constraint');
    expect(code).toContain('ADD CONSTRAINT ck_users_age CHECK ((age >= 18)) NOT VALID');
    expect(code).toContain('VALIDATE CONSTRAINT ck_users_age');
  });

  it('errors on an identity column of the models that the migration makes a plain NOT NULL column', () => {
    const f = only(r, 'users.ticket');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("ticket"') });
    expect(f.message).toContain('the models make it an identity column (GENERATED BY DEFAULT); the migrations make it a plain column with no default');
    expect(f.message).toContain('not-null violation');
    const code = pythonOf(f);
    expect(code).toContain('ALTER TABLE users ALTER COLUMN ticket ADD GENERATED BY DEFAULT AS IDENTITY');
    expect(code).toContain("setval(pg_get_serial_sequence('users', 'ticket')");
  });

  it('errors on an identity column of the models that the migration makes a plain nullable column', () => {
    const f = only(r, 'users.badge');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("badge"') });
    expect(f.message).toContain('the models make it an identity column (GENERATED BY DEFAULT); the migrations make it a plain column with no default');
  });

  // BUG (kept failing on purpose): the migrated column is nullable, so an insert through the models (which leaves an
  // identity column out) stores NULL silently; there is no not-null violation. And the suggested
  // `ADD GENERATED BY DEFAULT AS IDENTITY` fails on a nullable column ("must be declared NOT NULL before identity can
  // be added"): the code needs a SET NOT NULL first.
  it('does not promise a not-null violation on a nullable column, and its code makes the column NOT NULL before adding the identity', () => {
    const f = only(r, 'users.badge');
    expect(f.message).not.toContain('not-null violation');
    expect(pythonOf(f)).toMatch(/SET NOT NULL|nullable=False/);
  });

  it('warns on Identity(always=True) in the model against a BY DEFAULT identity in the migration (autogenerate does not compare it)', () => {
    const f = only(r, 'users.ref');
    expect(f).toMatchObject({ severity: 'warning', ...at('sa.Column("ref"') });
    expect(f.message).toContain('the models make it an identity column (GENERATED ALWAYS); the migrations make it an identity column (GENERATED BY DEFAULT)');
    expect(pythonOf(f)).toBe('op.execute("ALTER TABLE users ALTER COLUMN ref SET GENERATED ALWAYS")');
  });

  it('errors on a generated column computed differently, with drop-and-add code', () => {
    const f = only(r, 'users.total');
    expect(f).toMatchObject({ severity: 'error', ...at('sa.Column("total"') });
    expect(f.message).toContain('the models compute it as `(price * qty)`; the migrations as `(price + qty)`');
    const code = pythonOf(f);
    expect(code).toContain('op.drop_column("users", "total")');
    expect(code).toContain('ALTER TABLE users ADD COLUMN total integer GENERATED ALWAYS AS (price * qty) STORED');
    // price and qty themselves are the same on both sides.
    expect(driftAbout(r, 'users.price')).toEqual([]);
    expect(driftAbout(r, 'users.qty')).toEqual([]);
  });

  it('warns on a column collation the model sets and the migration does not', () => {
    const f = only(r, 'users.handle');
    expect(f).toMatchObject({ severity: 'warning', ...at('sa.Column("handle"') });
    expect(f.message).toContain('the models give it collation "C", the migrations its type\'s default collation');
    expect(pythonOf(f)).toBe('op.execute(\'ALTER TABLE users ALTER COLUMN handle TYPE character varying(30) COLLATE "C"\')');
  });

  it('reports nothing else: one finding per drifting object', () => {
    const objects = ['user_status', 'user_kind', 'users.score', 'users.level', 'ck_users_weight', 'ck_users_age', 'users.ticket', 'users.badge', 'users.ref', 'users.total', 'users.handle'];
    expect(drift(r).map((f) => objects.filter((o) => f.message.includes(`\`${o}\``))[0] ?? f.message).sort()).toEqual([...objects].sort());
  });

  describe('with the suggested code in follow-up migrations of the same pull request', () => {
    let fixed: Checked;
    beforeAll(async () => {
      // Every finding that came with code; the extra enum label has none (Postgres cannot drop a label), and the
      // nullable identity column's code fails (see the failing test above), so it is left out here.
      const withCode = drift(r).filter((f) => f.suggestion?.includes('```python') && !f.message.includes('`users.badge`'));
      fixed = await applySuggestions(r, withCode, COLUMNS_REV, 'd00000000');
    });

    it('no longer reports the enum', () => {
      expect(driftAbout(fixed, 'user_status')).toEqual([]);
    });

    it('no longer reports the server defaults', () => {
      expect(driftAbout(fixed, 'users.score')).toEqual([]);
      expect(driftAbout(fixed, 'users.level')).toEqual([]);
    });

    it('no longer reports the CHECK constraints', () => {
      expect(driftAbout(fixed, 'ck_users_weight')).toEqual([]);
      expect(driftAbout(fixed, 'ck_users_age')).toEqual([]);
    });

    it('no longer reports the identity columns', () => {
      expect(driftAbout(fixed, 'users.ticket')).toEqual([]);
      expect(driftAbout(fixed, 'users.ref')).toEqual([]);
    });

    it('no longer reports the generated column and the collation', () => {
      expect(driftAbout(fixed, 'users.total')).toEqual([]);
      expect(driftAbout(fixed, 'users.handle')).toEqual([]);
    });

    it('keeps only what was not fixed (the enum label the models lack has no code), and autogenerate stays quiet', () => {
      expect(drift(fixed).map((f) => f.message.match(/`[^`]+`/)?.[0]).sort()).toEqual(['`user_kind`', '`users.badge`']);
      expect(missing(fixed)).toEqual([]);
    });
  });
});

// BUG (kept failing on purpose), two of them:
// - models_ddl.py compiles with a PGDialect that was never initialized, so `supports_virtual_generated_columns` keeps
//   its class default (True) whatever server_version_info says: SQLAlchemy 2.1 renders `Computed('price * qty')` (no
//   `persisted=`) as `GENERATED ALWAYS AS (price * qty)` without STORED, which PostgreSQL < 18 rejects as a syntax error.
// - createModels sends `SAVEPOINT s; <statement>; RELEASE SAVEPOINT s` as one query: when the statement does not even
//   parse, Postgres runs none of the three, the transaction is aborted and `ROLLBACK TO SAVEPOINT s` fails with
//   `savepoint "s" does not exist`. The whole comparison is then dropped ("drift … not compared" on stderr only, no
//   finding, the check passes); before the latest check.ts it was an internal error (exit 2).
describe('model statements that do not run as create_all() wrote them', () => {
  it('compares a generated column declared without persisted=True, as most models write it', async () => {
    const file = `${V}/004_total.py`;
    const r = await check({
      'app/models.py': models(['price = Column(Integer)', 'qty = Column(Integer)', "total = Column(Integer, Computed('price * qty'))"]),
      [file]: migration(
        'd0000000004b',
        'b0000000003c',
        'total',
        'op.add_column("users", sa.Column("price", sa.Integer(), nullable=True))\n' +
          'op.add_column("users", sa.Column("qty", sa.Integer(), nullable=True))\n' +
          'op.add_column("users", sa.Column("total", sa.Integer(), sa.Computed("price + qty"), nullable=True))',
      ),
    });
    const f = only(r, 'users.total');
    expect(f).toMatchObject({ severity: 'error', file, line: r.lineOf(file, 'sa.Column("total"') });
    expect(f.message).toContain('the models compute it as `(price * qty)`; the migrations as `(price + qty)`');
  });

  it("skips a models statement Postgres cannot parse, and still compares the other tables", async () => {
    const file = `${V}/004_score.py`;
    const r = await check({
      'app/models.py': models(
        ["score = Column(Integer, server_default=text('1'))"],
        '\nPost.__table__.append_constraint(CheckConstraint("title > > \'\'", name="ck_posts_typo"))\n',
      ),
      [file]: migration('d0000000004c', 'b0000000003c', 'score', 'op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))'),
    });
    const f = only(r, 'users.score');
    expect(f).toMatchObject({ severity: 'error', file, line: r.lineOf(file, 'sa.Column("score"') });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Indexes and foreign keys: what autogenerate does not compare.

const INDEX_FILE = `${V}/004_user_indexes.py`;
const INDEX_REV = 'e0000000004a';
const INDEXES: FileChanges = {
  'app/models.py': models(
    ['nick = Column(String(30))', "manager_id = Column(Integer, ForeignKey('users.id', match='FULL', name='fk_users_manager'))"],
    `
Index("ix_users_nick", User.nick, postgresql_using="hash")
Index("ix_users_phone_partial", User.phone, postgresql_where=text("phone IS NOT NULL"))
Index("ix_users_email_cover", User.email, postgresql_include=["username"])
Index("ix_users_nick_pattern", User.nick, postgresql_ops={"nick": "varchar_pattern_ops"})
`,
  ),
  [INDEX_FILE]: migration(
    INDEX_REV,
    'b0000000003c',
    'user indexes',
    `
op.add_column("users", sa.Column("nick", sa.String(length=30), nullable=True))
op.add_column("users", sa.Column("manager_id", sa.Integer(), nullable=True))
op.create_foreign_key("fk_users_manager", "users", "users", ["manager_id"], ["id"])
op.create_index("ix_users_nick", "users", ["nick"])
op.create_index("ix_users_phone_partial", "users", ["phone"])
op.create_index("ix_users_email_cover", "users", ["email"])
op.create_index("ix_users_nick_pattern", "users", ["nick"])
`,
  ),
};

describe('model-drift on indexes and foreign keys autogenerate does not compare', () => {
  let r: Checked;
  const at = (text: string) => ({ file: INDEX_FILE, line: r.lineOf(INDEX_FILE, text), revision: INDEX_REV });

  beforeAll(async () => {
    r = await check(INDEXES);
  });

  it('autogenerate reports none of them, and the pull request passes (all are warnings)', () => {
    expect(missing(r)).toEqual([]);
    expect(drift(r).map((f) => f.severity)).toEqual(drift(r).map(() => 'warning'));
    expect(r.report.status).toBe('pass');
  });

  it('warns on the index method (hash in the model, btree in the migration), with the code to rebuild it concurrently', () => {
    const f = only(r, 'ix_users_nick');
    expect(f).toMatchObject({ severity: 'warning', ...at('op.create_index("ix_users_nick", ') });
    expect(f.message).toBe('Index `ix_users_nick` on `users`: USING hash in the models, USING btree in the migrations.');
    expect(pythonOf(f)).toBe(
      [
        'with op.get_context().autocommit_block():',
        '    op.drop_index("ix_users_nick", table_name="users", postgresql_concurrently=True)',
        // The models' Index as autogenerate writes it, built concurrently.
        "    op.create_index('ix_users_nick', 'users', ['nick'], unique=False, postgresql_using='hash', postgresql_concurrently=True)",
      ].join('\n'),
    );
  });

  it('warns on a partial index predicate the migration leaves out', () => {
    const f = only(r, 'ix_users_phone_partial');
    expect(f).toMatchObject({ severity: 'warning', ...at('op.create_index("ix_users_phone_partial"') });
    expect(f.message).toContain('WHERE (phone IS NOT NULL) in the models, no WHERE in the migrations');
    expect(pythonOf(f)).toContain(
      "op.create_index('ix_users_phone_partial', 'users', ['phone'], unique=False, postgresql_where=sa.text('phone IS NOT NULL'), postgresql_concurrently=True)",
    );
  });

  it('warns on INCLUDE columns the migration leaves out', () => {
    const f = only(r, 'ix_users_email_cover');
    expect(f).toMatchObject({ severity: 'warning', ...at('op.create_index("ix_users_email_cover"') });
    expect(f.message).toContain('INCLUDE (username) in the models, no INCLUDE in the migrations');
    expect(pythonOf(f)).toContain("op.create_index('ix_users_email_cover', 'users', ['email'], unique=False, postgresql_include=['username'], postgresql_concurrently=True)");
  });

  it('warns on an operator class the migration leaves out, showing both definitions', () => {
    const f = only(r, 'ix_users_nick_pattern');
    expect(f).toMatchObject({ severity: 'warning', ...at('op.create_index("ix_users_nick_pattern"') });
    expect(f.message).toContain('(nick varchar_pattern_ops) in the models');
    expect(f.message).toContain('(nick) in the migrations');
  });

  it('warns on a foreign key MATCH FULL that the migration leaves out (autogenerate compares actions, not MATCH)', () => {
    const f = only(r, 'fk_users_manager');
    expect(f).toMatchObject({ severity: 'warning', ...at('op.create_foreign_key("fk_users_manager"') });
    expect(f.message).toContain('the models say `FOREIGN KEY (manager_id) REFERENCES users(id) MATCH FULL`; the migrations `FOREIGN KEY (manager_id) REFERENCES users(id)`');
    expect(pythonOf(f)).toContain('op.drop_constraint("fk_users_manager", "users", type_="foreignkey")');
  });

  describe('with the suggested code in follow-up migrations of the same pull request', () => {
    let fixed: Checked;
    beforeAll(async () => {
      fixed = await applySuggestions(r, drift(r), INDEX_REV, 'e00000000');
    });

    it('no longer reports the index method', () => {
      expect(driftAbout(fixed, 'ix_users_nick')).toEqual([]);
    });

    it('no longer reports any index or foreign key difference, and autogenerate stays quiet', () => {
      expect(drift(fixed)).toEqual([]);
      expect(missing(fixed)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// What autogenerate compares itself: model-drift must not say it again.

describe('differences autogenerate already reports are not repeated by model-drift', () => {
  let r: Checked;

  beforeAll(async () => {
    r = await check({
      'app/models.py': models(
        [
          'nick = Column(String(30))',
          'code = Column(String(30))',
          'slug = Column(String(30))',
          "manager_id = Column(Integer, ForeignKey('users.id', ondelete='CASCADE', name='fk_users_manager'))",
          "mentor_id = Column(Integer, ForeignKey('users.id', deferrable=True, initially='DEFERRED', name='fk_users_mentor'))",
        ],
        `
Index("ix_users_nick_lower", func.lower(User.nick))
Index("ix_users_code", User.code, unique=True)
Index("ix_users_slug", User.slug, unique=True, postgresql_nulls_not_distinct=True)
`,
      ),
      [`${V}/004_autogenerate_sees.py`]: migration(
        'f0000000004a',
        'b0000000003c',
        'what autogenerate compares',
        `
op.add_column("users", sa.Column("nick", sa.String(length=30), nullable=True))
op.add_column("users", sa.Column("code", sa.String(length=30), nullable=True))
op.add_column("users", sa.Column("slug", sa.String(length=30), nullable=True))
op.add_column("users", sa.Column("manager_id", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("mentor_id", sa.Integer(), nullable=True))
op.create_foreign_key("fk_users_manager", "users", "users", ["manager_id"], ["id"])
op.create_foreign_key("fk_users_mentor", "users", "users", ["mentor_id"], ["id"])
op.create_index("ix_users_nick_lower", "users", ["nick"])
op.create_index("ix_users_code", "users", ["code"])
op.create_index("ix_users_slug", "users", ["slug"], unique=True)
`,
      ),
    });
  });

  it('an index on lower(x) in the model and on x in the migration', () => {
    expect(autogenerateAbout(r, "op.create_index('ix_users_nick_lower', 'users', [sa.literal_column('lower(nick)')], unique=False)")).toHaveLength(1);
    expect(driftAbout(r, 'ix_users_nick_lower')).toEqual([]);
  });

  it('a unique index in the model, not unique in the migration', () => {
    expect(autogenerateAbout(r, "op.create_index('ix_users_code', 'users', ['code'], unique=True)")).toHaveLength(1);
    expect(driftAbout(r, 'ix_users_code')).toEqual([]);
  });

  it('NULLS NOT DISTINCT in the model, not in the migration', () => {
    expect(autogenerateAbout(r, "op.create_index('ix_users_slug', 'users', ['slug'], unique=True, postgresql_nulls_not_distinct=True)")).toHaveLength(1);
    expect(driftAbout(r, 'ix_users_slug')).toEqual([]);
  });

  it('a foreign key ON DELETE CASCADE in the model, without it in the migration', () => {
    expect(autogenerateAbout(r, "op.create_foreign_key('fk_users_manager', 'users', 'users', ['manager_id'], ['id'], ondelete='CASCADE')")).toHaveLength(1);
    expect(driftAbout(r, 'fk_users_manager')).toEqual([]);
  });

  it('a foreign key DEFERRABLE INITIALLY DEFERRED in the model, not in the migration', () => {
    expect(autogenerateAbout(r, "op.create_foreign_key('fk_users_mentor', 'users', 'users', ['mentor_id'], ['id'], initially='DEFERRED', deferrable=True)")).toHaveLength(1);
    expect(driftAbout(r, 'fk_users_mentor')).toEqual([]);
  });

  it('nothing at all from model-drift', () => {
    expect(drift(r)).toEqual([]);
  });
});

describe('server defaults when env.py passes compare_server_default=True', () => {
  let r: Checked;

  beforeAll(async () => {
    r = await check({
      'migrations/env.py': env('compare_server_default=True'),
      'app/models.py': models(["score = Column(Integer, server_default=text('1'))", "level = Column(Integer, server_default=text('5'))"]),
      [`${V}/004_defaults.py`]: migration(
        'f0000000004b',
        'b0000000003c',
        'defaults',
        'op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))\n' +
          'op.add_column("users", sa.Column("level", sa.Integer(), server_default=sa.text("3"), nullable=True))',
      ),
    });
  });

  it('leaves a missing and a different default to autogenerate: missing-migration reports them, model-drift does not', () => {
    expect(autogenerateAbout(r, 'modify_default users.score')).toHaveLength(1);
    expect(autogenerateAbout(r, 'modify_default users.level')).toHaveLength(1);
    expect(drift(r)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The sequence of a serial column widened to bigint.

const SEQ_FILE = `${V}/004_bigint_ids.py`;
const BIGINT_USER_ID = (text: string) =>
  text.replace('    id = Column(Integer, primary_key=True)\n    username', '    id = Column(BigInteger, primary_key=True)\n    username');

describe('model-drift on the sequence of a serial column altered to bigint', () => {
  let r: Checked;

  beforeAll(async () => {
    r = await check({
      'app/models.py': BIGINT_USER_ID(models([])),
      [SEQ_FILE]: migration(
        'a0000000004a',
        'b0000000003c',
        'bigint ids',
        'op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())',
        'op.alter_column("users", "id", type_=sa.Integer(), existing_type=sa.BigInteger())',
      ),
    });
  });

  it('errors on the integer sequence left behind, at the ALTER COLUMN, with ALTER SEQUENCE … AS bigint', () => {
    const f = only(r, 'users.id');
    expect(f).toMatchObject({ severity: 'error', file: SEQ_FILE, line: r.lineOf(SEQ_FILE, 'type_=sa.BigInteger(), existing_type=sa.Integer()'), revision: 'a0000000004a' });
    expect(f.message).toContain('its sequence `users_id_seq` is integer in the migrations and bigint in the models');
    expect(pythonOf(f)).toBe('op.execute("ALTER SEQUENCE users_id_seq AS bigint")');
    expect(missing(r)).toEqual([]);
  });

  it('is silent once the suggested code is in a follow-up migration', async () => {
    const fixed = await applySuggestions(r, driftAbout(r, 'users.id'), 'a0000000004a', 'a00000000');
    expect(drift(fixed)).toEqual([]);
    expect(missing(fixed)).toEqual([]);
  });
});

// BUG (kept failing on purpose): a finding is anchored at the pull request's *last* statement whose text names the
// table and the column, even when that statement only mentions them. The sequence finding lands on a later
// `CREATE TABLE sessions (... REFERENCES users (id))`, the default finding on a later `CREATE INDEX ... (score)`.
describe('where a column finding points when later statements of the pull request mention the column', () => {
  let r: Checked;
  const FIRST = `${V}/004_bigint_ids.py`;

  beforeAll(async () => {
    r = await check({
      'app/models.py':
        BIGINT_USER_ID(models(["score = Column(Integer, server_default=text('1'), index=True)"])) +
        '\n\nclass Session(Base):\n    __tablename__ = "sessions"\n\n    id = Column(Integer, primary_key=True)\n    user_id = Column(BigInteger, ForeignKey("users.id"))\n',
      [FIRST]: migration(
        'a0000000004b',
        'b0000000003c',
        'bigint ids and score',
        'op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())\n' +
          'op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))\n' +
          'op.create_index(op.f("ix_users_score"), "users", ["score"])',
      ),
      [`${V}/005_sessions.py`]: migration(
        'a0000000005b',
        'a0000000004b',
        'sessions',
        'op.create_table("sessions", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id")))',
      ),
    });
  });

  it('points the sequence finding at the ALTER COLUMN that widened users.id, not at a table that references users(id)', () => {
    const f = only(r, 'users.id');
    expect(f).toMatchObject({ file: FIRST, line: r.lineOf(FIRST, 'type_=sa.BigInteger(), existing_type=sa.Integer()') });
  });

  it('points the server default finding at the ADD COLUMN, not at an index built on the column afterwards', () => {
    const f = only(r, 'users.score');
    expect(f).toMatchObject({ file: FIRST, line: r.lineOf(FIRST, 'sa.Column("score"') });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Differential: drift already on the base branch.

const BASE_MODELS = models([
  "status = Column(Enum('draft', 'published', 'archived', 'deleted', name='user_status'))",
  "score = Column(Integer, server_default=text('1'))",
]);
const BASE: FileChanges = {
  'app/models.py': BASE_MODELS,
  [`${V}/004_status.py`]: migration(
    'b0000000004d',
    'b0000000003c',
    'status and score',
    `
sa.Enum("draft", "published", name="user_status").create(op.get_bind())
op.add_column("users", sa.Column("status", sa.Enum(name="user_status", create_type=False), nullable=True))
op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))
`,
  ),
};
const FOLLOW_UP = (upgrade: string) => ({ [`${V}/005_follow_up.py`]: migration('c0000000005e', 'b0000000004d', 'follow up', upgrade) });
const SET_SCORE_DEFAULT = 'op.alter_column("users", "score", server_default=sa.text("1"))';
const addLabels = (...labels: string[]) =>
  ['with op.get_context().autocommit_block():', ...labels.map((l) => `    op.execute("ALTER TYPE user_status ADD VALUE '${l}'")`)].join('\n');

describe('model-drift already on the base branch', () => {
  it('gives an unrelated pull request one notice naming the old differences, and passes', async () => {
    const r = await check(
      {
        'app/models.py': BASE_MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    bio = Column(String(500))\n'),
        ...FOLLOW_UP('op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))'),
      },
      { baseChanges: BASE },
    );
    expect(r.report.status).toBe('pass');
    const found = drift(r);
    expect(found.map((f) => f.severity)).toEqual(['notice']);
    expect(found[0]!.message).toMatch(/^2 differences between the models and the migrations that autogenerate does not compare are already at base \([0-9a-f]{7}\)/);
    expect(found[0]!.message).toContain('enum `user_status`');
    expect(found[0]!.message).toContain('`users.score` server default');
    expect(found[0]!.message).toContain("not this pull request's");
    expect(found[0]!.suggestion).toContain('ignore-objects');
    expect(missing(r)).toEqual([]);
  });

  it('gives a pull request that fixes one of them a notice that it removes it, and the old notice for the other', async () => {
    const r = await check(FOLLOW_UP(SET_SCORE_DEFAULT), { baseChanges: BASE });
    expect(r.report.status).toBe('pass');
    const found = drift(r);
    expect(found.map((f) => f.severity)).toEqual(['notice', 'notice']);
    const [old, removed] = [found.find((f) => f.message.includes('already at base')), found.find((f) => f.message.includes('removes'))];
    expect(old?.message).toContain('1 difference between the models and the migrations that autogenerate does not compare is already at base');
    expect(old?.message).toContain('enum `user_status`');
    expect(removed?.message).toMatch(/^This pull request removes 1 difference between the models and the migrations that was at base \([0-9a-f]{7}\): `users\.score` server default\.$/);
  });

  it('passes a pull request that fixes all of them', async () => {
    const r = await check(FOLLOW_UP(`${SET_SCORE_DEFAULT}\n${addLabels('archived', 'deleted')}`), { baseChanges: BASE });
    expect(r.report.status).toBe('pass');
    expect(drift(r).filter((f) => f.severity !== 'notice')).toEqual([]);
  });

  // BUG (kept failing on purpose): the enum drift's key is its label lists, so a pull request that adds one of the two
  // labels missing at base turns the old drift into a "new" one and gets an error for 'deleted', which was already
  // missing at base: the pull request reduced the drift, it did not introduce it.
  it('does not blame a pull request that adds one of two labels missing at base for the label still missing', async () => {
    const r = await check(FOLLOW_UP(`${SET_SCORE_DEFAULT}\n${addLabels('archived')}`), { baseChanges: BASE });
    expect(drift(r).filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.report.status).toBe('pass');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Objects kept out of the comparison on purpose.

describe('objects kept out on purpose', () => {
  let r: Checked;

  beforeAll(async () => {
    r = await check({
      'pyproject.toml': '[tool.alembic-guard]\nignore-objects = ["user_status", "users.score"]\n',
      'migrations/env.py': env(
        'include_object=include_object',
        'def include_object(obj, name, type_, reflected, compare_to):\n    return not (type_ == "table" and name == "legacy_items")\n\n\n',
      ),
      'app/models.py':
        models([
          "status = Column(Enum('draft', 'published', 'archived', name='user_status'))",
          "score = Column(Integer, server_default=text('1'))",
          "level = Column(Integer, server_default=text('5'))",
        ]) +
        '\n\nclass LegacyItem(Base):\n    __tablename__ = "legacy_items"\n\n    id = Column(Integer, primary_key=True)\n' +
        '    qty = Column(Integer, CheckConstraint("qty > 0", name="ck_legacy_qty"), server_default=text("1"))\n',
      [`${V}/004_ignored.py`]: migration(
        'f0000000004c',
        'b0000000003c',
        'ignored drift',
        `
sa.Enum("draft", "published", name="user_status").create(op.get_bind())
op.add_column("users", sa.Column("status", sa.Enum(name="user_status", create_type=False), nullable=True))
op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))
op.add_column("users", sa.Column("level", sa.Integer(), nullable=True))
op.create_table("legacy_items", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("qty", sa.Integer(), sa.CheckConstraint("qty >= 0", name="ck_legacy_qty")))
`,
      ),
    });
  });

  it('ignore-objects in [tool.alembic-guard] silences the drift of the objects it names', () => {
    expect(driftAbout(r, 'user_status')).toEqual([]);
    expect(driftAbout(r, 'users.score')).toEqual([]);
  });

  it("env.py's include_object excluding a table silences the drift on that table", () => {
    expect(drift(r).filter((f) => f.message.includes('legacy'))).toEqual([]);
  });

  it('still reports the drift of objects neither names', () => {
    expect(drift(r).map((f) => f.message.match(/`[^`]+`/)?.[0])).toEqual(['`users.level`']);
    expect(missing(r)).toEqual([]);
  });
});
