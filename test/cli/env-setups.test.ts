// env.py variants the check must run unmodified: settings read from the environment, async engines, include_object.
import { afterEach, describe, expect, it } from 'vitest';
import { setupLayoutsPython } from '../../scripts/setup-layouts-python.mjs';
import { blogModelsWithUserColumns, blogProject, checkJson, type FixtureProject, BLOG_ASYNC_ENV } from '../support/fixtures.js';

const projects: FixtureProject[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) project.remove();
});

const SETTINGS_ENV = `import os

from alembic import context
from sqlalchemy import create_engine, pool

from app.models import Base

target_metadata = Base.metadata

# The application's own settings: the URL is built from its variables, not from alembic.ini.
url = "postgresql+psycopg://{user}@{host}:{port}/{db}".format(
    user=os.environ["APP_DB_USER"],
    host=os.environ["APP_DB_HOST"],
    port=os.environ["APP_DB_PORT"],
    db=os.environ["APP_DB_NAME"],
)
assert os.environ.get("APP_MODE") == "migrations", os.environ.get("APP_MODE")

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
`;


describe('env.py setups', () => {
  it('maps the disposable database onto the variables the project settings read (--database-env)', async () => {
    const project = blogProject({ 'migrations/env.py': SETTINGS_ENV });
    projects.push(project);
    const mapping = ['APP_DB_USER={user}', 'APP_DB_HOST={host}', 'APP_DB_PORT={port}', 'APP_DB_NAME={database}', 'APP_MODE=migrations'];
    const { code, report, stderr } = await checkJson(project, mapping.flatMap((m) => ['--database-env', m]));
    expect(code, stderr).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.revisions.total).toBe(3);

    const unmapped = await checkJson(project);
    expect(unmapped.code).toBe(2);
    expect(unmapped.stderr).toMatch(/env\.py failed before any migration ran \(migrations\/env\.py:\d+\): KeyError: 'APP_DB_USER'/);
  });

  it('runs an async env.py and keeps the asyncpg driver of the configured URL', async () => {
    const project = blogProject({ 'migrations/env.py': BLOG_ASYNC_ENV });
    projects.push(project);
    project.write('alembic.ini', project.read('alembic.ini').replace('postgresql+psycopg://', 'postgresql+asyncpg://'));
    project.write('app/models.py', blogModelsWithUserColumns('bio = Column(String(500))'));
    const { code, report, stderr } = await checkJson(project);
    expect(code, stderr).toBe(1);
    expect(report.findings.map((f: { rule: string }) => f.rule)).toEqual(['missing-migration']);
    expect(report.findings[0].suggestion).toContain("op.add_column('users', sa.Column('bio'");
  });

  it('an env.py whose own settings name a host that does not resolve (an async engine): exit 2 pointing at --database-env', async () => {
    // The project's settings default to the docker-compose host name, unknown outside its network.
    const envPy = BLOG_ASYNC_ENV.replace(
      'config.get_section(config.config_ini_section, {})',
      '{"sqlalchemy.url": "postgresql+asyncpg://app:app@db.invalid:5432/app"}',
    );
    const project = blogProject({ 'migrations/env.py': envPy });
    projects.push(project);
    const { code, report, stderr } = await checkJson(project);
    expect(code, stderr).toBe(2);
    expect(report.error.message).toMatch(/env\.py failed before any migration ran .*(gaierror|Name or service not known|resolve)/);
    expect(report.error.message).toContain('map them with --database-env');
  });

  it('a sync env.py in a Python that has only asyncpg: exit 2 naming the driver env.py asked for and how to get it', async () => {
    const asyncOnly = setupLayoutsPython('.venv-async');
    const project = blogProject();
    projects.push(project);
    const { code, report, stderr } = await checkJson(project, ['--python', asyncOnly]);
    expect(code, stderr).toBe(2);
    // alembic.ini names postgresql+psycopg://, which is kept; this Python does not have psycopg.
    expect(report.error.message).toContain("No module named 'psycopg'");
    expect(report.error.message).toContain("env.py asked for the psycopg driver, which is not installed in this Python: install it (pip install 'psycopg[binary]')");
  }, 300_000);

  it("honours env.py's include_object when comparing with the models", async () => {
    const project = blogProject();
    projects.push(project);
    const env = project
      .read('migrations/env.py')
      .replace(
        'def run_migrations_offline',
        'def include_object(obj, name, type_, reflected, compare_to):\n    return not (type_ == "column" and name == "bio")\n\n\ndef run_migrations_offline',
      )
      .replace('context.configure(connection=connection, target_metadata=target_metadata)', 'context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)');
    project.write('migrations/env.py', env);
    project.write('app/models.py', blogModelsWithUserColumns('bio = Column(String(500))', 'avatar = Column(String(200))'));
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0].message).toContain('add_column users.avatar');
    expect(report.findings[0].message).not.toContain('bio');
  });
});
