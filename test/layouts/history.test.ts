// Layouts of the migrations themselves, through the real CLI: async env.py on SQLAlchemy 2.0, a monorepo with two configs,
// migrations that read the database or use the ORM, a history that needs a baseline schema, migration-only objects.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupLayoutsPython } from '../../scripts/setup-layouts-python.mjs';
import { PYTHON, blogModelsWithUserColumns, migration, runCli, BLOG_ASYNC_ENV, removeAfterEach } from '../support/fixtures.js';
import { BLOG, checkLayout, layoutProject, rules } from './support.js';

const track = removeAfterEach();
const blog = (base = {}, changes = {}) => track(layoutProject({ '': BLOG }, base, changes));

let SA20 = '';
beforeAll(() => {
  SA20 = setupLayoutsPython('.venv-sa20');
}, 300_000);


describe('versions', () => {
  it('runs an async env.py with an asyncpg URL on SQLAlchemy 2.0', async () => {
    const ini = readFileSync(join(BLOG, 'alembic.ini'), 'utf8').replace('postgresql+psycopg://', 'postgresql+asyncpg://');
    const project = blog({ 'migrations/env.py': BLOG_ASYNC_ENV, 'alembic.ini': ini }, { 'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))') });
    const { code, report, stderr } = await checkLayout(project, SA20);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['missing-migration']);
    expect(report.findings[0].suggestion).toContain("op.add_column('users', sa.Column('bio'");
  });
});

describe('monorepo', () => {
  it('checks several Alembic configs in one run, each from its own directory, in one JSON document', async () => {
    const billingIni = readFileSync(join(BLOG, 'alembic.ini'), 'utf8').replace('postgresql+psycopg://', 'postgresql+psycopg2://');
    // Both services have a package named `app` with different models: each config gets its own Python.
    const project = track(
      layoutProject(
        { 'services/accounts': BLOG, 'services/billing': BLOG },
        { 'services/billing/alembic.ini': billingIni },
        { 'services/billing/app/models.py': blogModelsWithUserColumns('plan = Column(String(20))') },
      ),
    );
    const configs = ['--config', 'services/accounts/alembic.ini', '--config', 'services/billing/alembic.ini'];
    const { code, report, stderr } = await checkLayout(project, PYTHON, configs);
    expect(code, stderr).toBe(1);
    expect(report.status).toBe('fail');
    expect(rules(report)).toEqual(['missing-migration']);
    expect(report.findings[0].message).toContain('users.plan');
    expect(report.revisions.total).toBe(6);

    const text = await runCli(['check', '--python', PYTHON, '--base', 'base', ...configs], { cwd: project.dir });
    expect(text.code).toBe(1);
    const accounts = text.stdout.indexOf('== services/accounts/alembic.ini ==');
    const billing = text.stdout.indexOf('== services/billing/alembic.ini ==');
    expect(accounts).toBeGreaterThanOrEqual(0);
    expect(billing).toBeGreaterThan(accounts);
    expect(text.stdout.slice(accounts, billing)).toContain('PASS');
    expect(text.stdout.slice(billing)).toContain('missing-migration');
  });
});

describe('migrations that read the database', () => {
  it('replays op.get_bind() and inspector calls and an ORM data migration', async () => {
    const inspect = migration(
      'c0000000004d',
      'b0000000003c',
      'bio when missing',
      `bind = op.get_bind()
columns = {c["name"] for c in sa.inspect(bind).get_columns("users")}
if "bio" not in columns:
    op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))
if bind.execute(sa.text("SELECT count(*) FROM users")).scalar():
    op.execute("UPDATE users SET bio = ''")`,
      'op.drop_column("users", "bio")',
    );
    const data = migration(
      'c0000000005e',
      'c0000000004d',
      'fill bio',
      `session = orm.Session(bind=op.get_bind())
for user in session.query(User).filter(User.bio.is_(None)):
    user.bio = ""
session.add(User(username="system", email="system@example.com", bio="the system account"))
session.commit()`,
      `session = orm.Session(bind=op.get_bind())
session.query(User).filter(User.username == "system").delete()
session.commit()`,
    ).replace(
      'import sqlalchemy as sa\n',
      `import sqlalchemy as sa
from sqlalchemy import orm

Base = orm.declarative_base()


class User(Base):  # the table as this migration knows it, not the app's model
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(50))
    email = sa.Column(sa.String(100))
    bio = sa.Column(sa.String(500))
`,
    );
    const project = blog(
      {},
      {
        'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))'),
        'migrations/versions/004_bio.py': inspect,
        'migrations/versions/005_fill_bio.py': data,
      },
    );
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(0);
    expect(report.findings.filter((f: { rule: string }) => f.rule === 'replay-failed' || f.rule === 'missing-migration')).toEqual([]);
    expect(report.revisions.new).toEqual(['c0000000004d', 'c0000000005e']);
  });
});

describe('a history that cannot be replayed from empty', () => {
  // The first migration assumes `users` (made by create_all + alembic stamp long ago).
  const history = {
    'migrations/versions/001_create_users.py': null,
    'migrations/versions/002_create_posts.py': readFileSync(join(BLOG, 'migrations/versions/002_create_posts.py'), 'utf8').replace(
      'down_revision: Union[str, Sequence[str], None] = "b0000000001a"',
      'down_revision: Union[str, Sequence[str], None] = None',
    ),
  };
  const BASELINE = `-- pg_dump --schema-only --no-owner of the database create_all made
\\restrict abc123
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(50) NOT NULL,
    email character varying(100) NOT NULL,
    created_at timestamp without time zone
);
CREATE SEQUENCE public.users_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;
ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_username_key UNIQUE (username);
\\unrestrict abc123
`;

  it('explains the replay failure, then starts from [tool.alembic-guard] baseline-sql', async () => {
    const project = blog(history);
    const failed = await checkLayout(project, PYTHON);
    expect(failed.code, failed.stderr).toBe(1);
    expect(rules(failed.report)).toEqual(['replay-failed']);
    expect(failed.report.findings[0].message).toContain('cannot be replayed from an empty database');

    project.write('db/baseline.sql', BASELINE);
    project.write('pyproject.toml', '[tool.alembic-guard]\nbaseline-sql = "db/baseline.sql"\n');
    project.write('migrations/versions/004_status.py', migration('d0000000004a', 'b0000000003c', 'status', 'op.add_column("users", sa.Column("status", sa.String(20), nullable=False))', 'op.drop_column("users", "status")'));
    project.write('app/models.py', blogModelsWithUserColumns('status = Column(String(20), nullable=False)'));
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    // users came from the baseline, so it is an existing table for the rules.
    expect(rules(report)).toEqual(['not-null-without-default']);

    project.write('pyproject.toml', '[tool.alembic-guard]\nbaseline-sql = "db/schema.sql"\n');
    const missing = await checkLayout(project, PYTHON);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('pyproject.toml: [tool.alembic-guard] baseline-sql = "db/schema.sql": db/schema.sql does not exist');
  });
});

describe('objects kept only in migrations on purpose', () => {
  it('leaves a trigram GIN index out of missing-migration with ignore-objects', async () => {
    const trgm = migration(
      'c0000000004d',
      'b0000000003c',
      'username search',
      `op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
op.create_index("ix_users_username_trgm", "users", ["username"], postgresql_using="gin", postgresql_ops={"username": "gin_trgm_ops"})`,
      'op.drop_index("ix_users_username_trgm", table_name="users")',
    );
    // The pull request adds the index (drift already on base would be a notice, see test/cli/differential.test.ts).
    const project = blog({}, { 'migrations/versions/004_username_search.py': trgm });
    const flagged = await checkLayout(project, PYTHON);
    expect(flagged.code).toBe(1);
    // It is also built without CONCURRENTLY on an existing table: that finding is not what this test is about.
    expect(rules(flagged.report)).toEqual(['index-not-concurrent', 'missing-migration']);
    expect(flagged.report.findings.find((f: any) => f.rule === 'missing-migration').message).toContain('ix_users_username_trgm');

    project.write('pyproject.toml', '[tool.alembic-guard]\nignore-objects = ["ix_users_username_trgm"]\n');
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(0);
    expect(rules(report)).toEqual(['index-not-concurrent']);
  });
});
