// model-drift must say nothing about a project whose models and migrations agree: a false error costs more than three
// misses. Through the real CLI, real git, real Alembic and a real disposable Postgres:
//   - test/fixtures/model-drift-in-sync: a shop service (SQLAlchemy 2 typed models, a MetaData naming convention, a
//     second schema, migrations as autogenerate writes them plus hand-written ones) with the pull request adding its
//     last migration, on every Python stack at hand (SQLAlchemy 2.1, 2.0, an asyncpg-only env.py), and a smaller
//     `classic` project in the Column style that SQLAlchemy 1.4 / Alembic 1.8 also run;
//   - changes a team makes to that project which keep it in sync (a type widened, a label added, a spelling of a
//     default), one pull request each;
//   - every other project the test suite carries, in the state where its models and migrations agree.
// Each check also proves the comparison ran: its `drift` stage compared create_all() in a second database, with no
// model statement skipped, and the replay and autogenerate's comparison passed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupLayoutsPython, systemPython } from '../../scripts/setup-layouts-python.mjs';
import { BATCH_EMAIL_MIGRATION, BLOG, LAYOUTS, layoutProject, overlay } from '../layouts/support.js';
import { BLOG_ASYNC_ENV, PYTHON, REPO_ROOT, runCli, type FileChanges, type FixtureProject } from '../support/fixtures.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
const FIXTURE = join(FIXTURES, 'model-drift-in-sync');
const SHOP = join(FIXTURE, 'project');
const SHOP_PR = join(FIXTURE, 'pull-request');
const CLASSIC = join(FIXTURE, 'classic', 'project');
const CLASSIC_PR = join(FIXTURE, 'classic', 'pull-request');
/** The revision the shop's pull request adds, and the classic project's. */
const SHOP_PR_REVISION = '7f9b1d3f5a80';
const CLASSIC_PR_REVISION = 'e6f8a0b2c4d5';
const SHOP_PR_MIGRATION = 'migrations/versions/20250519_7f9b1d3f5a80_orders_currency_default_placed_at_index.py';

/** One check takes 2-4 s; two of them (json, then text) per test, and Python stacks that may need setting up. */
const CHECK_TIMEOUT = 120_000;

const databaseEnv = (pairs: string[]) => pairs.flatMap((pair) => ['--database-env', pair]);
const SHOP_ENV = databaseEnv(['SHOP_DB_HOST={host}', 'SHOP_DB_PORT={port}', 'SHOP_DB_USER={user}', 'SHOP_DB_PASSWORD={password}', 'SHOP_DB_NAME={database}']);
const CLASSIC_ENV = databaseEnv([
  'LIBRARY_DATABASE_HOST={host}',
  'LIBRARY_DATABASE_PORT={port}',
  'LIBRARY_DATABASE_USER={user}',
  'LIBRARY_DATABASE_PASSWORD={password}',
  'LIBRARY_DATABASE_NAME={database}',
]);
const POSTGRES_ENV = databaseEnv(['POSTGRES_SERVER={host}', 'POSTGRES_PORT={port}', 'POSTGRES_USER={user}', 'POSTGRES_PASSWORD={password}', 'POSTGRES_DB={database}']);

// ---- projects


/** `root` with `base` overlays committed and tagged `base`, then the pull request `changes` left uncommitted. */
function project(root: string, base: FileChanges[] = [], changes: FileChanges = {}): FixtureProject {
  return layoutProject({ '': root }, Object.assign({}, ...base) as FileChanges, changes);
}

/** Runs `test` on a fresh project and removes it afterwards (also when the test fails). */
async function withProject<T>(made: FixtureProject, test: (p: FixtureProject) => Promise<T>): Promise<T> {
  try {
    return await test(made);
  } finally {
    made.remove();
  }
}

/** `text` of a fixture file (the pull request's version when it has one) with each `[from, to]` replaced exactly once. */
function edited(path: string, replacements: [string, string][], folders = [SHOP_PR, SHOP]): string {
  const folder = folders.find((f) => existsSync(join(f, path)));
  if (!folder) throw new Error(`no fixture has ${path}`);
  let text = readFileSync(join(folder, path), 'utf8');
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1;
    if (count !== 1) throw new Error(`${path}: expected exactly one ${JSON.stringify(from)}, found ${count}`);
    text = text.replace(from, to);
  }
  return text;
}

/** A migration of the shop in the style of its others, after the pull request's revision. */
function shopMigration(revision: string, message: string, upgrade: string, downgrade = 'pass'): string {
  const body = (code: string) =>
    code
      .trim()
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
  return `"""${message}

Revision ID: ${revision}
Revises: ${SHOP_PR_REVISION}
Create Date: 2025-06-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '${revision}'
down_revision: Union[str, Sequence[str], None] = '${SHOP_PR_REVISION}'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
${body(upgrade)}


def downgrade() -> None:
${body(downgrade)}
`;
}

// ---- the check

interface Checked {
  code: number;
  report: any;
  /** The same check's text output: its stage lines say what the comparison did (null when not asked for). */
  text: string | null;
  stderr: string;
}

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  file: string | null;
  line: number | null;
  suggestion: string | null;
}

/**
 * `alembic-guard check --base base` as JSON (the findings), then as text (the stages) unless `stages` is false: the
 * pull requests on the shop, whose create_all() the matrix already watched run whole, save the second run.
 */
async function check(made: FixtureProject, python: string, args: string[] = [], { cwd = made.dir, stages = true } = {}): Promise<Checked> {
  const command = ['check', '--python', python, '--base', 'base', ...args];
  const json = await runCli([...command, '--format', 'json'], { cwd });
  let report: any;
  try {
    report = JSON.parse(json.stdout);
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${json.code}):\n${json.stdout}\n--- stderr ---\n${json.stderr}`);
  }
  if (!stages) return { code: json.code, report, text: null, stderr: json.stderr };
  const text = await runCli([...command, '--format', 'text'], { cwd });
  expect(text.code, 'the text run gives the same verdict as the JSON one').toBe(json.code);
  return { code: json.code, report, text: text.stdout, stderr: `${json.stderr}\n${text.stderr}` };
}

const findingsOf = (report: { findings: JsonFinding[] }, rule: string) => report.findings.filter((f) => f.rule === rule);
/** A finding as a reviewer reads it: what a failed expectation prints. */
const shown = (f: JsonFinding) => `${f.severity} ${f.rule} ${f.file ?? '-'}:${f.line ?? '-'}: ${f.message}${f.suggestion ? `\n    ${f.suggestion.split('\n').join('\n    ')}` : ''}`;

function stage(text: string, name: string): string {
  const line = text.split('\n').find((l) => new RegExp(`^\\S ${name} `).test(l));
  if (!line) throw new Error(`the text report has no ${name} stage:\n${text}`);
  return line;
}

interface Expectation {
  /** The revisions the pull request adds. */
  newRevisions: string[];
  /** Part of the python stage's line: the stack that ran (e.g. `SQLAlchemy 1.4.`). */
  stack?: string;
  /** At least this many statements of create_all() ran (one CREATE TABLE per table at least). */
  statements: number;
  /** The project is in sync by autogenerate's measure too (false for a pull request that forgets a migration on purpose). */
  autogenerateInSync?: boolean;
}

/**
 * The check ran to the end (exit 0 or 1, the replay passed, create_all() ran in the second database with none of the
 * models' statements skipped) and model-drift said nothing.
 */
function expectSilent(result: Checked, expectation: Expectation): void {
  const { code, report, text, stderr } = result;
  expect([0, 1], stderr).toContain(code);
  expect(report.status, stderr).not.toBe('error');
  expect(report.revisions.new).toEqual(expectation.newRevisions);
  if (expectation.autogenerateInSync !== false) {
    expect(findingsOf(report, 'missing-migration').map(shown), 'the fixture is in sync by autogenerate\'s measure').toEqual([]);
  }
  expect(findingsOf(report, 'model-drift').map(shown), 'model-drift findings on a project in sync').toEqual([]);
  if (text === null) return;
  expect(stage(text, 'replay')).toMatch(/^✓ replay/);
  if (expectation.stack) expect(stage(text, 'python')).toContain(expectation.stack);
  if (expectation.autogenerateInSync !== false) expect(stage(text, 'compare')).toContain('models match the migrations');
  expectDriftRan(text, expectation.statements);
  expect(stage(text, 'drift'), 'the drift stage found no difference').not.toMatch(/\d+ differences?\b/);
}

/** The drift stage compared the catalogs: the models' create_all() ran in a second database, none of it skipped. */
function expectDriftRan(text: string, statements: number): void {
  const drift = stage(text, 'drift');
  expect(drift, 'model-drift compared the catalogs').toMatch(/create_all\(\)/);
  expect(drift).not.toMatch(/not compared/);
  expect(drift).not.toMatch(/could not run/);
  const count = /(\d+) statements?\b/.exec(drift);
  expect(count, drift).not.toBeNull();
  expect(Number(count![1]), drift).toBeGreaterThanOrEqual(statements);
}

/** A pull request that leaves a migration out on purpose: model-drift may speak, but never about what missing-migration names. */
function expectNoRepeat(result: Checked, newRevisions: string[]): void {
  const { code, report, text, stderr } = result;
  expect(code, stderr).toBe(1);
  expect(report.revisions.new).toEqual(newRevisions);
  if (text !== null) expectDriftRan(text, 1);
  const [missing] = findingsOf(report, 'missing-migration');
  expect(missing, 'the fixture forgets a migration on purpose').toBeDefined();
  // "(add_column customers.phone)": the objects autogenerate reported.
  const objects = /\(([^)]*)\)/.exec(missing.message)![1].split(', ').map((op) => op.split(' ').pop()!);
  expect(objects.length).toBeGreaterThan(0);
  for (const object of objects) {
    const column = object.split('.').pop()!;
    const repeated = findingsOf(report, 'model-drift').filter((f) => new RegExp(`\\b${column}\\b`).test(f.message));
    expect(repeated.map(shown), `model-drift repeats missing-migration's ${object}`).toEqual([]);
  }
}

/** Whether `python` can import every module of `modules`. */
function hasModules(python: string, modules: string[]): boolean {
  if (!existsSync(python)) return false;
  try {
    execFileSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const SYSTEM_PYTHON = '/usr/bin/python3';
const SYSTEM_HAS_CLASSIC_STACK = hasModules(SYSTEM_PYTHON, ['sqlalchemy', 'alembic', 'psycopg2']);
const FLASK_PYTHON = systemPython();

let SA20 = '';
let ASYNC = '';
beforeAll(() => {
  SA20 = setupLayoutsPython('.venv-sa20');
  ASYNC = setupLayoutsPython('.venv-async');
}, 300_000);

// ---- the shop and the classic project, on every stack

describe('the in-sync fixture, its pull request adding the last migration, on each Python stack', () => {
  const shop = (base: FileChanges[] = []) => project(SHOP, base, overlay(SHOP_PR));

  it('the stacks are what the matrix claims', () => {
    const version = (python: string, module: string) =>
      execFileSync(python, ['-c', `import ${module}; print(${module}.__version__)`], { encoding: 'utf8' }).trim();
    expect(version(PYTHON, 'sqlalchemy')).toMatch(/^2\.1\./);
    expect(version(SA20, 'sqlalchemy')).toMatch(/^2\.0\./);
    expect(version(ASYNC, 'sqlalchemy')).toMatch(/^2\./);
    expect(hasModules(ASYNC, ['asyncpg'])).toBe(true);
    expect(hasModules(ASYNC, ['psycopg'])).toBe(false);
    expect(hasModules(ASYNC, ['psycopg2'])).toBe(false);
    if (SYSTEM_HAS_CLASSIC_STACK) {
      expect(version(SYSTEM_PYTHON, 'sqlalchemy')).toMatch(/^1\.4\./);
      expect(version(SYSTEM_PYTHON, 'alembic')).toMatch(/^1\.8\./);
    }
  });

  it.each([
    ['SQLAlchemy 2.1, Alembic 1.20, psycopg 3 (.venv)', () => PYTHON, 'SQLAlchemy 2.1.'],
    ['SQLAlchemy 2.0, psycopg 3 (.venv-sa20)', () => SA20, 'SQLAlchemy 2.0.'],
  ])('shop on %s: silent', async (_stack, python, stack) => {
    await withProject(shop(), async (made) => {
      expect(made.read(SHOP_PR_MIGRATION)).toContain("server_default='EUR'");
      expectSilent(await check(made, python(), SHOP_ENV), { newRevisions: [SHOP_PR_REVISION], stack, statements: 7 });
    });
  }, CHECK_TIMEOUT);

  it("shop with Alembic's async env.py on asyncpg only (.venv-async): silent", async () => {
    await withProject(shop([overlay(join(FIXTURE, 'async-env'))]), async (made) => {
      expect(made.read('migrations/env.py')).toContain('async_engine_from_config');
      expectSilent(await check(made, ASYNC, SHOP_ENV), { newRevisions: [SHOP_PR_REVISION], stack: 'SQLAlchemy 2.', statements: 7 });
    });
  }, CHECK_TIMEOUT);

  it('shop with its pull request merged (every revision is history, none new): silent', async () => {
    await withProject(project(SHOP, [overlay(SHOP_PR)]), async (made) => {
      expectSilent(await check(made, PYTHON, SHOP_ENV), { newRevisions: [], statements: 7 });
    });
  }, CHECK_TIMEOUT);

  it.for([
    ["SQLAlchemy 1.4, Alembic 1.8, psycopg2 (Debian's /usr/bin/python3)", () => (SYSTEM_HAS_CLASSIC_STACK ? SYSTEM_PYTHON : null), 'SQLAlchemy 1.4.'],
    ['SQLAlchemy 2.0 (.venv-sa20)', () => SA20, 'SQLAlchemy 2.0.'],
    ['SQLAlchemy 2.1 (.venv)', () => PYTHON, 'SQLAlchemy 2.1.'],
  ] as [string, () => string | null, string][])('classic (Column style, unnamed CHECKs, no "ck" convention) on %s: silent', { timeout: CHECK_TIMEOUT }, async ([, python, stack], context) => {
    const interpreter = python();
    if (!interpreter) return context.skip("Debian's python3 lacks SQLAlchemy, Alembic or psycopg2");
    await withProject(project(CLASSIC, [], overlay(CLASSIC_PR)), async (made) => {
      expectSilent(await check(made, interpreter, CLASSIC_ENV), { newRevisions: [CLASSIC_PR_REVISION], stack, statements: 4 });
    });
  });

  it('the harness hears model-drift when there is drift: the same pull request with the migration giving USD where the model says EUR', async () => {
    const drifted = { ...overlay(SHOP_PR), [SHOP_PR_MIGRATION]: edited(SHOP_PR_MIGRATION, [["server_default='EUR'", "server_default='USD'"]]) };
    await withProject(project(SHOP, [], drifted), async (made) => {
      const { code, report, stderr } = await check(made, PYTHON, SHOP_ENV);
      expect([0, 1], stderr).toContain(code);
      const found = findingsOf(report, 'model-drift');
      expect(found.map(shown)).toHaveLength(1);
      expect(found[0]).toMatchObject({ severity: 'warning', file: SHOP_PR_MIGRATION, revision: SHOP_PR_REVISION });
      expect(found[0]!.message).toContain('`orders.currency`');
      expect(found[0]!.message).toContain("'EUR'::character varying");
      expect(found[0]!.message).toContain("'USD'::character varying");
    });
  }, CHECK_TIMEOUT);
});

// ---- changes that keep the shop in sync, one pull request each (base: the shop with its pull request merged)

interface Scenario {
  name: string;
  revision: string;
  files: () => FileChanges;
}

const CATALOG = 'shop/models/catalog.py';
const ORDERS = 'shop/models/orders.py';
const ENUMS = 'shop/models/enums.py';
const CUSTOMERS = 'shop/models/customers.py';
const migrationFile = (revision: string, slug: string) => `migrations/versions/20250602_${revision}_${slug}.py`;

const SCENARIOS: Scenario[] = [
  {
    // autogenerate (compare_type) writes exactly this alter_column; Postgres keeps the default it had, as
    // ''::character varying, where create_all() on a Text column stores ''::text.
    name: 'String(500) widened to Text, the column keeping server_default=""',
    revision: 'a0a0a0a0a001',
    files: () => ({
      [CATALOG]: edited(CATALOG, [
        ['description: Mapped[str] = mapped_column(String(500), server_default="")', 'description: Mapped[str] = mapped_column(Text, server_default="")'],
        ['Numeric, String, UniqueConstraint, func, text', 'Numeric, String, Text, UniqueConstraint, func, text'],
      ]),
      [migrationFile('a0a0a0a0a001', 'products_description_text')]: shopMigration(
        'a0a0a0a0a001',
        'products description to text',
        `op.alter_column('products', 'description',
               existing_type=sa.VARCHAR(length=500),
               type_=sa.Text(),
               existing_nullable=False,
               existing_server_default=sa.text("''::character varying"))`,
      ),
    }),
  },
  {
    // The default stays the integer constant 0; create_all() on a bigint column stores '0'::bigint.
    name: 'Integer widened to BigInteger, the column keeping server_default="0"',
    revision: 'a0a0a0a0a002',
    files: () => ({
      [CATALOG]: edited(CATALOG, [['view_count: Mapped[int] = mapped_column(server_default="0")', 'view_count: Mapped[int] = mapped_column(BigInteger, server_default="0")']]),
      [migrationFile('a0a0a0a0a002', 'products_view_count_bigint')]: shopMigration(
        'a0a0a0a0a002',
        'products view count to bigint',
        `op.alter_column('products', 'view_count',
               existing_type=sa.INTEGER(),
               type_=sa.BigInteger(),
               existing_nullable=False,
               existing_server_default=sa.text('0'))`,
      ),
    }),
  },
  {
    // Postgres re-parses the CHECK and the partial index's predicate against the new type and prints their IN lists
    // differently (ARRAY[('a'::character varying)::text, ...]) from the same text parsed fresh by create_all().
    name: "String(12) widened to String(20) under a CHECK (availability IN (...)) and a partial index's IN predicate",
    revision: 'a0a0a0a0a003',
    files: () => ({
      [CATALOG]: edited(CATALOG, [['availability: Mapped[str] = mapped_column(String(12), server_default="in_stock")', 'availability: Mapped[str] = mapped_column(String(20), server_default="in_stock")']]),
      [migrationFile('a0a0a0a0a003', 'products_availability_wider')]: shopMigration(
        'a0a0a0a0a003',
        'products availability wider',
        `op.alter_column('products', 'availability',
               existing_type=sa.VARCHAR(length=12),
               type_=sa.String(length=20),
               existing_nullable=False,
               existing_server_default=sa.text("'in_stock'::character varying"))`,
      ),
    }),
  },
  {
    // The usual JSON to JSONB conversion: the default keeps its json constant ('{}'::json, cast to jsonb on insert);
    // create_all() on a JSONB column stores '{}'::jsonb.
    name: "JSON converted to JSONB (postgresql_using), the column keeping server_default=text(\"'{}'\")",
    revision: 'a0a0a0a0a014',
    files: () => ({
      [CUSTOMERS]: edited(CUSTOMERS, [
        ['preferences: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("\'{}\'"))', 'preferences: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("\'{}\'"))'],
        ['from sqlalchemy.orm import', 'from sqlalchemy.dialects.postgresql import JSONB\nfrom sqlalchemy.orm import'],
      ]),
      [migrationFile('a0a0a0a0a014', 'customers_preferences_jsonb')]: shopMigration(
        'a0a0a0a0a014',
        'customers preferences jsonb',
        `op.alter_column('customers', 'preferences',
               existing_type=postgresql.JSON(astext_type=sa.Text()),
               type_=postgresql.JSONB(astext_type=sa.Text()),
               existing_nullable=False,
               existing_server_default=sa.text("'{}'::json"),
               postgresql_using='preferences::jsonb')`,
      ).replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n'),
    }),
  },
  {
    // env.py keeps autogenerate out of every schema but public and audit (include_name for what it reflects,
    // include_object for the models' tables); the models map a table of the legacy schema (made by raw SQL long ago)
    // only to read it, as loosely as they please.
    name: 'a table of a schema env.py leaves out of the comparison (include_object), mapped loosely for reading',
    revision: 'a0a0a0a0a015',
    files: () => ({
      'migrations/env.py': edited('migrations/env.py', [
        [
          '\n\ndef run_migrations_offline',
          `


def include_object(object, name, type_, reflected, compare_to):
    # The models also map tables of other schemas, to read them; autogenerate leaves those alone.
    if type_ == "table" and object.schema not in OWN_SCHEMAS:
        return False
    return True


def run_migrations_offline`,
        ],
        ['\n        include_name=include_name,\n    )', '\n        include_name=include_name,\n        include_object=include_object,\n    )'],
        ['\n            include_name=include_name,\n        )', '\n            include_name=include_name,\n            include_object=include_object,\n        )'],
      ]),
      'shop/models/__init__.py': edited('shop/models/__init__.py', [['from shop.models.orders import Order, OrderLine\n', 'from shop.models.orders import Order, OrderLine\nfrom shop.models.legacy import NewsletterSignup\n']]),
      'shop/models/legacy.py': `from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base


class NewsletterSignup(Base):
    """Read-only view of the old site's sign-ups (schema legacy, not managed by these models)."""

    __tablename__ = "newsletter_signups"
    __table_args__ = {"schema": "legacy"}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    signed_up_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
`,
      [migrationFile('a0a0a0a0a015', 'legacy_newsletter_signups')]: shopMigration(
        'a0a0a0a0a015',
        'legacy newsletter signups',
        `# Imported from the old site's dump; the legacy schema is not compared by autogenerate (see env.py).
op.execute('CREATE SCHEMA IF NOT EXISTS legacy')
op.execute("""
    CREATE TABLE legacy.newsletter_signups (
        id serial PRIMARY KEY,
        email varchar(255) NOT NULL,
        signed_up_at timestamp NOT NULL DEFAULT clock_timestamp(),
        source varchar(20) NOT NULL DEFAULT 'web'
    )
""")`,
      ),
    }),
  },
  {
    // Same value: the model's "0" is stored as '0'::numeric, the migration's sa.text("0") as 0. Alembic's own
    // compare_server_default asks Postgres (SELECT '0'::numeric = 0) and finds them equal.
    name: 'a hand-written migration spells the model\'s server_default="0" as sa.text("0") (Numeric)',
    revision: 'a0a0a0a0a004',
    files: () => ({
      [ORDERS]: edited(ORDERS, [
        [
          'shipping: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")',
          'shipping: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")\n    discount: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")',
        ],
      ]),
      [migrationFile('a0a0a0a0a004', 'orders_discount')]: shopMigration(
        'a0a0a0a0a004',
        'orders discount',
        `op.add_column('orders', sa.Column('discount', sa.Numeric(precision=10, scale=2), server_default=sa.text('0'), nullable=False))`,
        `op.drop_column('orders', 'discount')`,
      ),
    }),
  },
  {
    // Same value, two spellings Postgres prints differently: timezone('utc'::text, now()) and
    // (now() AT TIME ZONE 'utc'::text).
    name: "a hand-written migration spells the model's timezone('utc', now()) as now() AT TIME ZONE 'utc'",
    revision: 'a0a0a0a0a005',
    files: () => ({
      [CUSTOMERS]: edited(CUSTOMERS, [
        [
          'created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())',
          'created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())\n    # Naive UTC, as the session tracker writes it.\n    last_seen_at: Mapped[datetime] = mapped_column(DateTime, server_default=text("timezone(\'utc\', now())"))',
        ],
      ]),
      [migrationFile('a0a0a0a0a005', 'customers_last_seen_at')]: shopMigration(
        'a0a0a0a0a005',
        'customers last seen at',
        `op.add_column('customers', sa.Column('last_seen_at', sa.DateTime(), server_default=sa.text("(now() AT TIME ZONE 'utc')"), nullable=False))`,
        `op.drop_column('customers', 'last_seen_at')`,
      ),
    }),
  },
  {
    name: "the same label added AFTER 'PAID'",
    revision: 'a0a0a0a0a007',
    files: () => ({
      [ENUMS]: edited(ENUMS, [['    PAID = "paid"\n', '    PAID = "paid"\n    PARTIALLY_SHIPPED = "partially_shipped"\n']]),
      [migrationFile('a0a0a0a0a007', 'order_status_partially_shipped')]: shopMigration(
        'a0a0a0a0a007',
        'order status partially shipped',
        `with op.get_context().autocommit_block():
    op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'PARTIALLY_SHIPPED' AFTER 'PAID'")`,
      ),
    }),
  },
  {
    name: 'a label added to the non-native enum: its CHECK dropped and created again',
    revision: 'a0a0a0a0a008',
    files: () => ({
      [ENUMS]: edited(ENUMS, [['    SERVICE = "service"\n', '    SERVICE = "service"\n    BUNDLE = "bundle"\n']]),
      [migrationFile('a0a0a0a0a008', 'product_kind_bundle')]: shopMigration(
        'a0a0a0a0a008',
        'product kind bundle',
        `op.drop_constraint(op.f('ck_products_productkind'), 'products', type_='check')
op.create_check_constraint(op.f('ck_products_productkind'), 'products', "kind IN ('PHYSICAL', 'DIGITAL', 'SERVICE', 'BUNDLE')")`,
      ),
    }),
  },
  {
    name: 'DateTime to DateTime(timezone=True) under server_default=func.now(), Numeric(10, 2) to Numeric(12, 2) under "0" and a CHECK, String(80, collation="C") to String(100, collation="C") under a unique constraint',
    revision: 'a0a0a0a0a009',
    files: () => ({
      [CATALOG]: edited(CATALOG, [
        ['created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())', 'created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())'],
        ['price: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")', 'price: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")'],
        ['slug: Mapped[str] = mapped_column(String(80, collation="C"), unique=True)', 'slug: Mapped[str] = mapped_column(String(100, collation="C"), unique=True)'],
      ]),
      [migrationFile('a0a0a0a0a009', 'wider_types')]: shopMigration(
        'a0a0a0a0a009',
        'wider types',
        `op.alter_column('categories', 'created_at',
               existing_type=postgresql.TIMESTAMP(),
               type_=sa.DateTime(timezone=True),
               existing_nullable=False,
               existing_server_default=sa.text('now()'))
op.alter_column('products', 'price',
               existing_type=sa.NUMERIC(precision=10, scale=2),
               type_=sa.Numeric(precision=12, scale=2),
               existing_nullable=False,
               existing_server_default=sa.text("'0'::numeric"))
op.alter_column('categories', 'slug',
               existing_type=sa.VARCHAR(length=80, collation='C'),
               type_=sa.String(length=100, collation='C'),
               existing_nullable=False)`,
      ).replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n'),
    }),
  },
  {
    // The serial's sequence (still clients_id_seq, from before the table's rename) replaced by an identity column.
    name: 'the renamed table\'s serial id turned into an identity column (Identity() in the model)',
    revision: 'a0a0a0a0a012',
    files: () => ({
      [CUSTOMERS]: edited(CUSTOMERS, [
        ['id: Mapped[int] = mapped_column(primary_key=True)', 'id: Mapped[int] = mapped_column(Identity(), primary_key=True)'],
        ['from sqlalchemy import JSON, DateTime, Index,', 'from sqlalchemy import JSON, DateTime, Identity, Index,'],
      ]),
      [migrationFile('a0a0a0a0a012', 'customers_id_identity')]: shopMigration(
        'a0a0a0a0a012',
        'customers id identity',
        `op.execute('ALTER TABLE customers ALTER COLUMN id DROP DEFAULT')
op.execute('DROP SEQUENCE clients_id_seq')
op.execute('ALTER TABLE customers ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY')
op.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), coalesce(max(id), 0) + 1, false) FROM customers")`,
      ),
    }),
  },
  {
    name: 'order numbers from a sequence of their own (server_default=seq.next_value()), product badges in an ARRAY of a native enum',
    revision: 'a0a0a0a0a013',
    files: () => ({
      [ORDERS]: edited(ORDERS, [
        [
          'PAYMENT_METHOD = postgresql.ENUM(',
          '# Order numbers customers see: not the id, and not guessable from it.\nORDER_NUMBER = Sequence("order_number_seq", start=100000, metadata=Base.metadata)\n\nPAYMENT_METHOD = postgresql.ENUM(',
        ],
        ['    currency: Mapped[str]', '    number: Mapped[int] = mapped_column(BigInteger, ORDER_NUMBER, server_default=ORDER_NUMBER.next_value(), unique=True)\n    currency: Mapped[str]'],
        ['Numeric, SmallInteger, String, func', 'Numeric, Sequence, SmallInteger, String, func'],
      ]),
      [CATALOG]: edited(CATALOG, [
        [
          '    tags: Mapped[list[str]]',
          '    badges: Mapped[list[ProductBadge]] = mapped_column(ARRAY(Enum(ProductBadge, name="product_badge")), server_default=text("\'{}\'"))\n    tags: Mapped[list[str]]',
        ],
        ['from shop.models.enums import ProductKind', 'from shop.models.enums import ProductBadge, ProductKind'],
      ]),
      [ENUMS]: `${readFileSync(join(SHOP, ENUMS), 'utf8')}

class ProductBadge(enum.Enum):
    NEW = "new"
    SALE = "sale"
    LAST_ITEMS = "last_items"
`,
      [migrationFile('a0a0a0a0a013', 'order_number_product_badges')]: shopMigration(
        'a0a0a0a0a013',
        'order number, product badges',
        `op.execute(sa.schema.CreateSequence(sa.Sequence('order_number_seq', start=100000)))
op.add_column('orders', sa.Column('number', sa.BigInteger(), server_default=sa.text("nextval('order_number_seq'::regclass)"), nullable=False))
op.create_unique_constraint(op.f('uq_orders_number'), 'orders', ['number'])
product_badge = postgresql.ENUM('NEW', 'SALE', 'LAST_ITEMS', name='product_badge')
product_badge.create(op.get_bind())
op.add_column('products', sa.Column('badges', postgresql.ARRAY(postgresql.ENUM('NEW', 'SALE', 'LAST_ITEMS', name='product_badge', create_type=False)), server_default=sa.text("'{}'"), nullable=False))`,
      ).replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n'),
    }),
  },
  {
    name: 'a column under a CHECK renamed (quantity to qty), and columns added by hand: a non-native enum with its CHECK, a native enum created first',
    revision: 'a0a0a0a0a010',
    files: () => ({
      [ORDERS]: edited(ORDERS, [
        ['CheckConstraint("quantity > 0", name="quantity_positive")', 'CheckConstraint("qty > 0", name="quantity_positive")'],
        ['    quantity: Mapped[int]\n', '    qty: Mapped[int]\n'],
        [
          '    placed_at: Mapped[datetime]',
          '    channel: Mapped[SalesChannel] = mapped_column(Enum(SalesChannel, native_enum=False, create_constraint=True, length=10), server_default=SalesChannel.WEB.name)\n' +
            '    priority: Mapped[Priority | None] = mapped_column(Enum(Priority, name="order_priority"))\n' +
            '    placed_at: Mapped[datetime]',
        ],
        ['from shop.models.enums import OrderStatus', 'from shop.models.enums import OrderStatus, Priority, SalesChannel'],
      ]),
      [ENUMS]: `${readFileSync(join(SHOP, ENUMS), 'utf8')}

class SalesChannel(enum.Enum):
    WEB = "web"
    STORE = "store"
    PHONE = "phone"


class Priority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
`,
      [migrationFile('a0a0a0a0a010', 'order_channel_priority')]: shopMigration(
        'a0a0a0a0a010',
        'order channel and priority, order line qty',
        `op.alter_column('order_lines', 'quantity', new_column_name='qty', existing_type=sa.Integer(), existing_nullable=False)
op.add_column('orders', sa.Column('channel', sa.Enum('WEB', 'STORE', 'PHONE', name='saleschannel', native_enum=False, create_constraint=True, length=10), server_default='WEB', nullable=False))
order_priority = sa.Enum('LOW', 'NORMAL', 'HIGH', name='order_priority')
order_priority.create(op.get_bind(), checkfirst=True)
op.add_column('orders', sa.Column('priority', order_priority, nullable=True))`,
      ),
    }),
  },
  {
    name: 'a table partitioned by range with a partition made by op.execute, and an exclusion constraint (btree_gist)',
    revision: 'a0a0a0a0a011',
    files: () => ({
      // As such projects do: autogenerate leaves the partitions alone.
      'migrations/env.py': edited('migrations/env.py', [
        [
          '\n\ndef run_migrations_offline',
          `


def include_object(object, name, type_, reflected, compare_to):
    # The monthly partitions of audit.page_views are made by migrations and the nightly job, not by the models.
    if type_ == "table" and reflected and compare_to is None and re.fullmatch(r"page_views_\\d{4}_\\d{2}", name):
        return False
    return True


def run_migrations_offline`,
        ],
        ['from logging.config import fileConfig\n', 'import re\nfrom logging.config import fileConfig\n'],
        ['\n        include_name=include_name,\n    )', '\n        include_name=include_name,\n        include_object=include_object,\n    )'],
        ['\n            include_name=include_name,\n        )', '\n            include_name=include_name,\n            include_object=include_object,\n        )'],
      ]),
      'shop/models/__init__.py': edited('shop/models/__init__.py', [['from shop.models.orders import Order, OrderLine\n', 'from shop.models.orders import Order, OrderLine\nfrom shop.models.pickup import PageView, PickupSlot\n']]),
      'shop/models/pickup.py': `from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, PrimaryKeyConstraint, String, func
from sqlalchemy.dialects.postgresql import ExcludeConstraint, TSTZRANGE
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base


class PickupSlot(Base):
    """A store's counter can hand out one order at a time."""

    __tablename__ = "pickup_slots"
    __table_args__ = (ExcludeConstraint(("counter", "="), ("during", "&&"), name="pickup_slots_no_overlap", using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(Integer)
    during: Mapped[object] = mapped_column(TSTZRANGE)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))


class PageView(Base):
    """Partitioned by month; the partitions are made by migrations (and by the nightly job)."""

    __tablename__ = "page_views"
    __table_args__ = (
        PrimaryKeyConstraint("id", "viewed_at"),
        Index("ix_page_views_path", "path"),
        {"schema": "audit", "postgresql_partition_by": "RANGE (viewed_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity())
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    path: Mapped[str] = mapped_column(String(500))
`,
      [migrationFile('a0a0a0a0a011', 'pickup_slots_page_views')]: shopMigration(
        'a0a0a0a0a011',
        'pickup slots, page views',
        `op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
op.create_table('pickup_slots',
sa.Column('id', sa.Integer(), nullable=False),
sa.Column('counter', sa.Integer(), nullable=False),
sa.Column('during', postgresql.TSTZRANGE(), nullable=False),
sa.Column('order_id', sa.BigInteger(), nullable=True),
postgresql.ExcludeConstraint((sa.column('counter'), '='), (sa.column('during'), '&&'), using='gist', name='pickup_slots_no_overlap'),
sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_pickup_slots_order_id_orders'), ondelete='SET NULL'),
sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_slots'))
)
op.create_table('page_views',
sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
sa.Column('viewed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
sa.Column('path', sa.String(length=500), nullable=False),
sa.PrimaryKeyConstraint('id', 'viewed_at', name=op.f('pk_page_views')),
schema='audit',
postgresql_partition_by='RANGE (viewed_at)'
)
op.create_index('ix_page_views_path', 'page_views', ['path'], unique=False, schema='audit')
op.execute("CREATE TABLE audit.page_views_2025_06 PARTITION OF audit.page_views FOR VALUES FROM ('2025-06-01') TO ('2025-07-01')")`,
      ).replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n'),
    }),
  },
];

// ALTER TYPE ... ADD VALUE without BEFORE/AFTER appends; the Python enum lists the new member where it belongs in the
// workflow. Writing, reading and comparing for equality all work; only ORDER BY status differs: a notice, not silence.
describe('a label appended with ADD VALUE where the Python enum lists it mid-way', () => {
  it('is one notice about the order at the ALTER TYPE, and the pull request passes', async () => {
    const files = () => ({
      [ENUMS]: edited(ENUMS, [['    PAID = "paid"\n', '    PAID = "paid"\n    PARTIALLY_SHIPPED = "partially_shipped"\n']]),
      [migrationFile('a0a0a0a0a006', 'order_status_partially_shipped')]: shopMigration(
        'a0a0a0a0a006',
        'order status partially shipped',
        `with op.get_context().autocommit_block():
    op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'PARTIALLY_SHIPPED'")`,
      ),
    });
    await withProject(project(SHOP, [overlay(SHOP_PR)], files()), async (made) => {
      const { code, report, stderr } = await check(made, PYTHON, SHOP_ENV);
      expect(code, stderr).toBe(0);
      const found = findingsOf(report, 'model-drift');
      expect(found.map(shown)).toHaveLength(1);
      expect(found[0]!.severity).toBe('notice');
      expect(found[0]!.message).toContain('Enum `order_status`');
      expect(found[0]!.message).toContain("follow the database's order");
      expect(found[0]!.file).toMatch(/order_status_partially_shipped\.py$/);
    });
  }, CHECK_TIMEOUT);
});

describe('changes that keep the shop in sync, one pull request each: model-drift stays silent', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    await withProject(project(SHOP, [overlay(SHOP_PR)], scenario.files()), async (made) => {
      expectSilent(await check(made, PYTHON, SHOP_ENV, { stages: false }), { newRevisions: [scenario.revision], statements: 7 });
    });
  }, CHECK_TIMEOUT);
});

describe("the default scenarios with env.py's compare_server_default=True: Alembic's own comparison (which asks Postgres) finds the defaults equal", () => {
  const DEFAULT_SCENARIOS = ['a0a0a0a0a001', 'a0a0a0a0a002', 'a0a0a0a0a004', 'a0a0a0a0a005'];
  // Alembic's own comparison runs SELECT <model default> = <database default>; json has no = operator, so a project
  // with a JSON column's default (customers.preferences) keeps that column out of autogenerate, as such projects must
  // (Alembic 1.20's custom compare_server_default callable fails on identity columns, so not that way).
  const comparingDefaults = () => ({
    'migrations/env.py': edited('migrations/env.py', [
      [
        '\n\ndef run_migrations_offline',
        `


def include_object(object, name, type_, reflected, compare_to):
    # json defaults cannot be compared in SQL (json has no = operator): reviewed by hand.
    if type_ == "column" and name == "preferences" and object.table.name == "customers":
        return False
    return True


def run_migrations_offline`,
      ],
      ['\n            include_name=include_name,\n        )', '\n            include_name=include_name,\n            include_object=include_object,\n            compare_server_default=True,\n        )'],
    ]),
  });

  it.each(SCENARIOS.filter((s) => DEFAULT_SCENARIOS.includes(s.revision)).map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    await withProject(project(SHOP, [overlay(SHOP_PR), comparingDefaults()], scenario.files()), async (made) => {
      expect(made.read('migrations/env.py')).toContain('compare_server_default=True');
      // autogenerate compared these defaults itself and found nothing (model-drift leaves defaults to it here).
      expectSilent(await check(made, PYTHON, SHOP_ENV, { stages: false }), { newRevisions: [scenario.revision], statements: 7 });
    });
  }, CHECK_TIMEOUT);
});

// ---- every other project of the suite, in sync

describe("the suite's other projects, where models and migrations agree: model-drift stays silent", () => {
  const fixture = (...parts: string[]) => join(FIXTURES, ...parts);

  it('examples/blog', async () => {
    await withProject(project(BLOG), async (made) => expectSilent(await check(made, PYTHON), { newRevisions: [], statements: 2 }));
  }, CHECK_TIMEOUT);

  it("examples/blog with Alembic's async env.py on asyncpg only", async () => {
    const ini = readFileSync(join(BLOG, 'alembic.ini'), 'utf8').replace('postgresql+psycopg://', 'postgresql+asyncpg://');
    await withProject(project(BLOG, [{ 'migrations/env.py': BLOG_ASYNC_ENV, 'alembic.ini': ini }]), async (made) =>
      expectSilent(await check(made, ASYNC), { newRevisions: [], stack: 'SQLAlchemy 2.', statements: 2 }),
    );
  }, CHECK_TIMEOUT);

  it('async-only (alembic.ini URL replaced), and with env.py building its asyncpg URL from POSTGRES_*', async () => {
    await withProject(project(fixture('async-only', 'project')), async (made) => expectSilent(await check(made, ASYNC), { newRevisions: [], statements: 3 }));
    const mapping = databaseEnv(['POSTGRES_HOST={host}', 'POSTGRES_PORT={port}', 'POSTGRES_USER={user}', 'POSTGRES_PASSWORD={password}', 'POSTGRES_DB={database}']);
    await withProject(project(fixture('async-only', 'project'), [overlay(fixture('async-only', 'url-from-environment'))]), async (made) =>
      expectSilent(await check(made, ASYNC, mapping), { newRevisions: [], statements: 3 }),
    );
  }, CHECK_TIMEOUT);

  it('async-only with its pull request (a column left without migration on purpose): model-drift does not repeat missing-migration', async () => {
    await withProject(project(fixture('async-only', 'project'), [], overlay(fixture('async-only', 'pull-request'))), async (made) =>
      expectNoRepeat(await check(made, ASYNC), ['f5a1d7c3e286']),
    );
  }, CHECK_TIMEOUT);

  it('config-db-folder (--cwd db)', async () => {
    await withProject(project(fixture('config-db-folder')), async (made) =>
      expectSilent(await check(made, PYTHON, ['--cwd', 'db']), { newRevisions: [], statements: 2 }),
    );
  }, CHECK_TIMEOUT);

  it('config-template (script_location filled in)', async () => {
    const ini = readFileSync(fixture('config-template', 'alembic.ini'), 'utf8').replace('script_location = {alembic_dir}', 'script_location = migrations');
    await withProject(project(fixture('config-template'), [{ 'alembic.ini': ini }]), async (made) =>
      expectSilent(await check(made, PYTHON), { newRevisions: [], statements: 2 }),
    );
  }, CHECK_TIMEOUT);

  it.each([
    ['no pull request', [] as string[], null as string | null, [] as string[]],
    ['media-library (two tables sharing a new ENUM)', [], 'media-library', ['4c8e2b7f9a15', '9f1d6a3b5e72']],
    ['media-library, transaction_per_migration=True', ['transaction-per-migration'], 'media-library', ['4c8e2b7f9a15', '9f1d6a3b5e72']],
    ['post-category', [], 'post-category', ['3a7c9e1f5b02', '6e0b2d4f8a13']],
    ['two-revisions', [], 'two-revisions', ['5b9e3d7c1a24', '8c2a4f6e0b39']],
  ])('deploy-replay: %s', async (_name, base, pullRequest, newRevisions) => {
    const root = fixture('deploy-replay');
    const made = project(join(root, 'project'), base.map((b) => overlay(join(root, b))), pullRequest ? overlay(join(root, 'pull-requests', pullRequest)) : {});
    await withProject(made, async () => expectSilent(await check(made, PYTHON), { newRevisions, statements: 2 }));
  }, CHECK_TIMEOUT);

  describe('layouts', () => {
    const USER_WITH_NICKNAME = `from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=255)
    full_name: str | None = Field(default=None, max_length=255)
    nickname: str | None = Field(default=None, max_length=50)
`;

    it('fastapi-sqlmodel (SQLModel on SQLAlchemy 2.0, pydantic-settings, --cwd backend)', async () => {
      await withProject(project(join(LAYOUTS, 'fastapi-sqlmodel')), async (made) =>
        expectSilent(await check(made, SA20, ['--cwd', 'backend', ...POSTGRES_ENV]), { newRevisions: [], stack: 'SQLAlchemy 2.0.', statements: 2 }),
      );
    }, CHECK_TIMEOUT);

    it('fastapi-sqlmodel with a model column left without migration on purpose: model-drift does not repeat missing-migration', async () => {
      const title = `"""item title index

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
      const changes = { 'backend/app/models/user.py': USER_WITH_NICKNAME, 'backend/app/alembic/versions/1a31ce608336_item_title_index.py': title };
      await withProject(project(join(LAYOUTS, 'fastapi-sqlmodel'), [], changes), async (made) =>
        expectNoRepeat(await check(made, SA20, ['--cwd', 'backend', ...POSTGRES_ENV]), ['1a31ce608336']),
      );
    }, CHECK_TIMEOUT);

    it.skipIf(!FLASK_PYTHON)("flask-migrate (Flask-SQLAlchemy 3.0 on Debian's SQLAlchemy 1.4, --flask-app), alone and with an in-sync pull request", async () => {
      const args = ['--flask-app', 'app:create_app()', '--database-env', 'SQLALCHEMY_DATABASE_URI={url}'];
      await withProject(project(join(LAYOUTS, 'flask-migrate')), async (made) =>
        expectSilent(await check(made, FLASK_PYTHON!, args), { newRevisions: [], stack: 'SQLAlchemy 1.4.', statements: 2 }),
      );
      const models = `from app import db


class User(db.Model):
    __tablename__ = "user"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), index=True, unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True)
    active = db.Column(db.Boolean, nullable=False, server_default=db.true())


class Post(db.Model):
    __tablename__ = "post"

    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.String(140))
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
`;
      const versions = 'migrations/versions';
      const initial = readdirSync(join(LAYOUTS, 'flask-migrate', versions)).find((name) => name.endsWith('.py'))!;
      const head = /^revision = ['"](\w+)['"]/m.exec(readFileSync(join(LAYOUTS, 'flask-migrate', versions, initial), 'utf8'))![1]!;
      const active = `"""user active, post author cascade

Revision ID: 9e8d7c6b5a40
Revises: ${head}
Create Date: 2026-03-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e8d7c6b5a40'
down_revision = '${head}'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False))

    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_constraint('post_user_id_fkey', type_='foreignkey')
        batch_op.create_foreign_key(None, 'user', ['user_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_constraint('post_user_id_fkey', type_='foreignkey')
        batch_op.create_foreign_key(None, 'user', ['user_id'], ['id'])

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('active')
`;
      await withProject(project(join(LAYOUTS, 'flask-migrate'), [], { 'app/models.py': models, [`${versions}/9e8d7c6b5a40_user_active.py`]: active }), async (made) =>
        expectSilent(await check(made, FLASK_PYTHON!, args), { newRevisions: ['9e8d7c6b5a40'], stack: 'SQLAlchemy 1.4.', statements: 2 }),
      );
    }, CHECK_TIMEOUT);

    it('ini-in-migrations (SQLite URL replaced, batch migrations), alone and with a batch pull request', async () => {
      const args = ['--config', 'migrations/alembic.ini'];
      await withProject(project(join(LAYOUTS, 'ini-in-migrations')), async (made) => expectSilent(await check(made, PYTHON, args), { newRevisions: [], statements: 1 }));
      const models = `${readFileSync(join(LAYOUTS, 'ini-in-migrations', 'app', 'models.py'), 'utf8').trimEnd()}\n    email = Column(String(100), index=True)\n`;
      expect(models).toContain('email = Column(String(100), index=True)');
      await withProject(project(join(LAYOUTS, 'ini-in-migrations'), [], { 'app/models.py': models, 'migrations/versions/002_email.py': BATCH_EMAIL_MIGRATION }), async (made) =>
        expectSilent(await check(made, PYTHON, args), { newRevisions: ['7d2e4b6a8c03'], statements: 1 }),
      );
    }, CHECK_TIMEOUT);
  });

  it.each([
    ['no pull request', null as string | null, [] as string[]],
    ['reorder-point', 'reorder-point', ['e5a7c9b1d3f6']],
    ['audit-root (a second root: two heads)', 'audit-root', ['71c3e9a5b2d4']],
  ])('revision-history: %s', async (_name, pullRequest, newRevisions) => {
    const root = fixture('revision-history');
    const made = project(join(root, 'project'), [], pullRequest ? overlay(join(root, 'pull-requests', pullRequest)) : {});
    await withProject(made, async () => expectSilent(await check(made, PYTHON), { newRevisions, statements: 3 }));
  }, CHECK_TIMEOUT);

  describe('settings-at-import (pydantic Settings() and logging configured at import)', () => {
    const args = ['--env', 'LOG_FORMAT=json', '--env', 'ENVIRONMENT=local', '--env', 'SECRET_KEY=only-for-the-check', ...POSTGRES_ENV];
    it('alone', async () => {
      await withProject(project(fixture('settings-at-import', 'project')), async (made) =>
        expectSilent(await check(made, SA20, args), { newRevisions: [], stack: 'SQLAlchemy 2.0.', statements: 2 }),
      );
    }, CHECK_TIMEOUT);

    it('with its pull request (a column left without migration on purpose): model-drift does not repeat missing-migration', async () => {
      const root = fixture('settings-at-import');
      await withProject(project(join(root, 'project'), [], overlay(join(root, 'pull-request'))), async (made) =>
        expectNoRepeat(await check(made, SA20, args), ['e7f3a9b2c1d4']),
      );
    }, CHECK_TIMEOUT);
  });
});
