// Real-world project layouts through the real CLI, real Postgres and real Alembic: one fixture project each (issue 6).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupLayoutsPython, systemPython } from '../../scripts/setup-layouts-python.mjs';
import { PYTHON, migration, removeAfterEach } from '../support/fixtures.js';
import { BATCH_EMAIL_MIGRATION, LAYOUTS, checkLayout, layoutProject, rules } from './support.js';

const track = removeAfterEach();

let SA20 = '';
beforeAll(() => {
  SA20 = setupLayoutsPython('.venv-sa20');
}, 300_000);
const SYSTEM = systemPython();

const POSTGRES_ENV = ['POSTGRES_SERVER={host}', 'POSTGRES_PORT={port}', 'POSTGRES_USER={user}', 'POSTGRES_PASSWORD={password}', 'POSTGRES_DB={database}'];
const envArgs = (pairs: string[]) => pairs.flatMap((pair) => ['--database-env', pair]);

describe('FastAPI template: backend/alembic.ini, pydantic-settings, SQLModel models over a package (SQLAlchemy 2.0, psycopg 3)', () => {
  const USER_WITH_FLAG = `from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=255)
    full_name: str | None = Field(default=None, max_length=255)
    nickname: str | None = Field(default=None, max_length=50)
`;
  const TITLE_INDEX = `"""item title index

Revision ID: 1a31ce608336
Revises: e2412789c190
Create Date: 2026-03-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes

revision = "1a31ce608336"
down_revision = "e2412789c190"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f("ix_item_title"), "item", ["title"])


def downgrade():
    op.drop_index(op.f("ix_item_title"), table_name="item")
`;
  const pullRequest = {
    'backend/app/models/user.py': USER_WITH_FLAG,
    'backend/app/alembic/versions/1a31ce608336_item_title_index.py': TITLE_INDEX,
  };

  it('maps POSTGRES_SERVER/PORT/USER/PASSWORD/DB with --database-env, from the repository root with --cwd backend', async () => {
    const project = track(layoutProject({ '': join(LAYOUTS, 'fastapi-sqlmodel') }, {}, pullRequest));
    const { code, report, stderr } = await checkLayout(project, SA20, ['--cwd', 'backend', ...envArgs(POSTGRES_ENV)]);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['index-not-concurrent', 'missing-migration']);
    const missing = report.findings.find((f: { rule: string }) => f.rule === 'missing-migration');
    expect(missing.suggestion).toContain("op.add_column('user', sa.Column('nickname', sqlmodel.sql.sqltypes.AutoString(length=50)");
    const index = report.findings.find((f: { rule: string }) => f.rule === 'index-not-concurrent');
    expect(index.file).toBe('backend/app/alembic/versions/1a31ce608336_item_title_index.py'); // relative to the repository root
    expect(index.line).toBe(19);
  });

  it('maps nested settings (DATABASE__HOSTNAME, env_nested_delimiter) when run from backend/', async () => {
    const nested = `from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL


class DatabaseSettings(BaseModel):
    hostname: str
    port: int = 5432
    username: str
    password: str = ""
    name: str


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__")

    database: DatabaseSettings

    @property
    def SQLALCHEMY_DATABASE_URI(self) -> str:
        db = self.database
        return URL.create("postgresql+psycopg", db.username, db.password or None, db.hostname, db.port, db.name).render_as_string(hide_password=False)


settings = Settings()  # type: ignore
`;
    const project = track(layoutProject({ '': join(LAYOUTS, 'fastapi-sqlmodel') }, { 'backend/app/core/config.py': nested }, pullRequest));
    const mapping = ['DATABASE__HOSTNAME={host}', 'DATABASE__PORT={port}', 'DATABASE__USERNAME={user}', 'DATABASE__PASSWORD={password}', 'DATABASE__NAME={database}'];
    const { code, report, stderr } = await checkLayout(project, SA20, ['--config', 'alembic.ini', ...envArgs(mapping)], join(project.dir, 'backend'));
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['index-not-concurrent', 'missing-migration']);
  });
});

describe('alembic.ini inside migrations/ with %(here)s, a SQLite URL, batch-mode migrations, no prepend_sys_path', () => {
  it('replaces the SQLite URL, puts the project root on sys.path as `python -m alembic` does, and judges batch ops', async () => {
    const fixture = join(LAYOUTS, 'ini-in-migrations');
    const models = `from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    email = Column(String(100), index=True)
`;
    const project = track(layoutProject({ '': fixture }, {}, { 'app/models.py': models, 'migrations/versions/002_email.py': BATCH_EMAIL_MIGRATION }));
    const { code, report, stderr } = await checkLayout(project, PYTHON, ['--config', 'migrations/alembic.ini']);
    expect(code, stderr).toBe(0);
    expect(rules(report)).toEqual(['index-not-concurrent']);
    // Batch ops run when the `with op.batch_alter_table(...)` block exits: the finding points at that line.
    expect(report.findings[0]).toMatchObject({ file: 'migrations/versions/002_email.py', line: 18 });

    // What alembic itself does from the project root without prepend_sys_path: `python -m alembic` finds `app`
    // (the current directory is on sys.path, as alembic-guard puts it), the `alembic` script does not.
    const offline = ['-c', 'migrations/alembic.ini', 'upgrade', 'head', '--sql'];
    expect(execFileSync(PYTHON, ['-m', 'alembic', ...offline], { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' })).toContain('CREATE TABLE users');
    expect(() => execFileSync(join(PYTHON, '..', 'alembic'), offline, { cwd: project.dir, stdio: 'pipe' })).toThrow(/No module named 'app'/);
  });
});

describe.skipIf(!SYSTEM)("Flask-Migrate on Debian's SQLAlchemy 1.4, Alembic 1.8, Flask-SQLAlchemy 3.0 and psycopg2 (/usr/bin/python3)", () => {
  it('runs env.py in the app context (--flask-app) and stops when the app still points at SQLite', async () => {
    const models = `from app import db


class User(db.Model):
    __tablename__ = "user"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), index=True, unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True)
    active = db.Column(db.Boolean, nullable=False)


class Post(db.Model):
    __tablename__ = "post"

    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.String(140), index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"))
`;
    const active = migration('9e8d7c6b5a40', '3c5a2e1f0b7d', 'user active', 'op.add_column("user", sa.Column("active", sa.Boolean(), nullable=False))', 'op.drop_column("user", "active")');
    // Its downgrade forgets to drop the index. Naming the revision at fault replays the upgrades again on a recreated
    // database, where the app's pooled engine (Flask-SQLAlchemy keeps one) must not reuse connections to the dropped one.
    const nameIndex = migration('9e8d7c6b5a41', '9e8d7c6b5a40', 'post body index', 'op.create_index("ix_post_body", "post", ["body"])', 'pass');
    const project = track(layoutProject({ '': join(LAYOUTS, 'flask-migrate') }, {}, { 'app/models.py': models, 'migrations/versions/9e8d7c6b5a40_user_active.py': active, 'migrations/versions/9e8d7c6b5a41_post_body_index.py': nameIndex }));

    // No --config: Flask-Migrate's migrations/alembic.ini (without script_location) is found and used.
    const unmapped = await checkLayout(project, SYSTEM!, ['--flask-app', 'app:create_app()']);
    expect(unmapped.code).toBe(2);
    expect(unmapped.stderr).toMatch(/migrations\/env\.py: env\.py connected to sqlite:\/\/\/.*app\.db, not to the disposable database/);
    expect(unmapped.stderr).toContain('--database-env SQLALCHEMY_DATABASE_URI={url}');

    const { code, report, stderr } = await checkLayout(project, SYSTEM!, ['--flask-app', 'app:create_app()', '--database-env', 'SQLALCHEMY_DATABASE_URI={url}']);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['downgrade-incomplete', 'index-not-concurrent', 'not-null-without-default']);
    const notNull = report.findings.find((f: { rule: string }) => f.rule === 'not-null-without-default');
    expect(notNull.file).toBe('migrations/versions/9e8d7c6b5a40_user_active.py');
    const downgrade = report.findings.find((f: { rule: string }) => f.rule === 'downgrade-incomplete');
    expect(downgrade.file).toBe('migrations/versions/9e8d7c6b5a41_post_body_index.py');
  });
});
