// migration-imports-app through the real CLI (real git, real Alembic, real Postgres) on a project laid out the way real
// ones are: a virtualenv inside the repository, settings and models imported by a new migration, helpers kept in the
// migrations folder, and an older migration that imported the app long ago.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationGraph, Revision } from '../../src/graph/graph.js';
import { PythonHelper } from '../../src/python/bridge.js';
import { pythonEnvironment } from '../../src/python/environment.js';
import type { LoadResult, ScannedFile } from '../../src/python/protocol.js';
import { migrationImportsApp } from '../../src/rules/migration-imports-app.js';
import type { JudgeInput } from '../../src/rules/rule.js';
import { blogProject, checkJson, migration, PYTHON, REPO_ROOT, removeAfterEach, runCli, type FixtureProject } from '../support/fixtures.js';

const VERSIONS = 'migrations/versions';
const BACKFILL = `${VERSIONS}/004_backfill_phone.py`;
const AUTHORS = `${VERSIONS}/005_post_authors.py`;

const MODELS_WITH_ROLE = (models: string) =>
  `import enum\n${models}

class Role(str, enum.Enum):
    MEMBER = "member"
    ADMIN = "admin"
`;

// Settings read at import, as real projects have them.
const CONFIG = `import os

PHONE_REGION = os.environ.get("PHONE_REGION", "EU")
DEFAULT_PHONE = "+0000"
`;

// A helper of the migrations themselves: importing it is fine.
const MIGRATION_UTILS = `def batched(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]
`;

const BACKFILL_TEXT = `"""backfill phone numbers

Revision ID: c0000000004d
Revises: b0000000003c
Create Date: 2026-03-01 10:00:00.000000

"""
import os
from typing import TYPE_CHECKING, Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import phonenumbers_lite
from app.config import DEFAULT_PHONE
from app.models import User
from migrations.utils import batched

if TYPE_CHECKING:
    from app.models import Post

# revision identifiers, used by Alembic.
revision: str = "c0000000004d"
down_revision: Union[str, None] = "b0000000003c"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    for ids in batched([1, 2, 3], 2):
        op.execute(
            sa.update(User.__table__)
            .where(User.id.in_(ids), User.phone.is_(None))
            .values(phone=phonenumbers_lite.normalize(DEFAULT_PHONE))
        )


def downgrade() -> None:
    pass
`;

const AUTHORS_TEXT = `"""post authors

Revision ID: c0000000005e
Revises: c0000000004d
Create Date: 2026-03-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from app.models import Post  # alembic-guard: ignore[migration-imports-app] read only, Post is frozen

# revision identifiers, used by Alembic.
revision: str = "c0000000005e"
down_revision: Union[str, None] = "c0000000004d"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    from app.models import Role

    op.execute(sa.select(Post.__table__.c.id).where(Post.__table__.c.title == Role.MEMBER.value))


def downgrade() -> None:
    pass
`;

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;
const mine = (report: any) => report.findings.filter((f: any) => f.rule === 'migration-imports-app');

/** A virtualenv inside the repository (as `python -m venv .venv` makes it), seeing the test venv's packages, with a third-party package of its own. */
function venvInside(project: FixtureProject): string {
  const dir = join(project.dir, '.venv');
  execFileSync(PYTHON, ['-m', 'venv', '--without-pip', dir]);
  const python = join(dir, 'bin', 'python');
  const site = execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
  const outer = execFileSync(PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
  writeFileSync(join(site, 'outer-venv.pth'), `${outer}\n`);
  mkdirSync(join(site, 'phonenumbers_lite'));
  writeFileSync(join(site, 'phonenumbers_lite', '__init__.py'), 'def normalize(number):\n    return number.replace(" ", "")\n');
  return python;
}

describe('migration-imports-app on a pull request whose migration imports the models and the settings', () => {
  let project: FixtureProject;
  let python: string;
  let report: any;
  let text = '';
  let stderr = '';
  beforeAll(async () => {
    project = blogProject({
      'app/models.py': MODELS_WITH_ROLE(readFileSync(join(REPO_ROOT, 'examples', 'blog', 'app', 'models.py'), 'utf8')),
      'app/config.py': CONFIG,
      'migrations/utils.py': MIGRATION_UTILS,
      [BACKFILL]: BACKFILL_TEXT,
      [AUTHORS]: AUTHORS_TEXT,
    });
    python = venvInside(project);
    const json = await runCli(['check', '--python', python, '--base', 'base', '--format', 'json'], { cwd: project.dir });
    stderr = json.stderr;
    report = JSON.parse(json.stdout);
    text = (await runCli(['check', '--python', python, '--base', 'base', '--format', 'text'], { cwd: project.dir })).stdout;
  }, 90_000);
  afterAll(() => project?.remove());

  it('flags each import statement of the project’s own code in the new migration, module level and inside upgrade(), as a notice', () => {
    expect(report.status, stderr).toBe('pass');
    expect(mine(report).map((f: any) => `${f.file}:${f.line} ${f.severity} ${f.revision}`)).toEqual([
      `${BACKFILL}:${lineOf(BACKFILL_TEXT, 'from app.config import DEFAULT_PHONE')} notice c0000000004d`,
      `${BACKFILL}:${lineOf(BACKFILL_TEXT, 'from app.models import User')} notice c0000000004d`,
      `${AUTHORS}:${lineOf(AUTHORS_TEXT, '    from app.models import Role')} notice c0000000005e`,
    ]);
  });

  it('names the module and what was taken from it, and where', () => {
    const [config, models, role] = mine(report);
    expect(config.message).toMatch(/^Migration c0000000004d imports `DEFAULT_PHONE` from app\.config, the project's own code: when that module changes/);
    expect(models.message).toContain('imports `User` from app.models, the project');
    expect(role.message).toMatch(/^Migration c0000000005e imports `Role` from app\.models in upgrade\(\), the project's own code/);
  });

  it('a model: the sa.table() of its real table with the columns the migration reads off it', () => {
    const [, models] = mine(report);
    expect(models.suggestion).toContain('`sa.table()` / `sa.column()`');
    expect(models.suggestion).toContain(
      '```python\nusers = sa.table(\n    "users",\n    sa.column("id", sa.Integer),\n    sa.column("phone", sa.String(20)),\n)\n' +
        '# e.g. op.execute(users.update().where(users.c.phone.is_(None)).values(phone=...))\n```',
    );
  });

  it('an enum and a constant: their definitions, to copy', () => {
    const [config, , role] = mine(report);
    expect(config.suggestion).toContain('```python\n# copied from app.config\nDEFAULT_PHONE = "+0000"\n```');
    expect(role.suggestion).toContain(
      '```python\nimport enum\n# copied from app.models\nclass Role(str, enum.Enum):\n    MEMBER = "member"\n    ADMIN = "admin"\n```',
    );
  });

  it('leaves alone the standard library, Alembic and SQLAlchemy, a package installed in the virtualenv inside the repository, the migrations’ own helpers and TYPE_CHECKING imports', () => {
    const flagged = mine(report).filter((f: any) => f.file === BACKFILL).map((f: any) => f.line);
    for (const line of ['import os', 'from typing import', 'from alembic import op', 'import sqlalchemy as sa', 'from sqlalchemy.dialects', 'import phonenumbers_lite', 'from migrations.utils import batched', '    from app.models import Post']) {
      expect(flagged).not.toContain(lineOf(BACKFILL_TEXT, line));
    }
  });

  it('an ignore comment on the import line silences it, with its reason in the report', () => {
    expect(mine(report).filter((f: any) => f.file === AUTHORS).map((f: any) => f.line)).toEqual([lineOf(AUTHORS_TEXT, '    from app.models import Role')]);
    expect(text).toMatch(
      new RegExp(`${AUTHORS}:${lineOf(AUTHORS_TEXT, 'from app.models import Post')}\\s+migration-imports-app\\s+ignored at ${AUTHORS}:\\d+: read only, Post is frozen`),
    );
  });
});

describe('migration-imports-app: only new migrations', () => {
  const track = removeAfterEach();

  it('an import of the app in a migration that exists at base is not judged again; the same import in a new one is', async () => {
    const withImport = (text: string) => text.replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\n\nfrom app.models import User  # noqa: F401\n');
    const history = `${VERSIONS}/003_add_phone_to_users.py`;
    const fax = migration('c0000000004f', 'b0000000003c', 'fax', 'op.add_column("users", sa.Column("fax", sa.String(length=20), nullable=True))', 'op.drop_column("users", "fax")');
    const project = track(
      blogProject(
        { [`${VERSIONS}/004_fax.py`]: withImport(fax) },
        { baseChanges: { [history]: withImport(readFileSync(join(REPO_ROOT, 'examples', 'blog', history), 'utf8')) } },
      ),
    );
    const { report, stderr } = await checkJson(project);
    expect(mine(report).map((f: any) => `${f.file}:${f.line}`), stderr).toEqual([`${VERSIONS}/004_fax.py:${lineOf(withImport(fax), 'from app.models import User')}`]);
  });

  it("the project's column types module, which its script.py.mako writes into every migration, and what it re-exports, are not flagged", async () => {
    const mako = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'migrations', 'script.py.mako'), 'utf8').replace(
      'import sqlalchemy as sa\n',
      'import sqlalchemy as sa\n\nimport app.column_types\n',
    );
    const fax = migration('c0000000004f', 'b0000000003c', 'fax', 'op.add_column("users", sa.Column("fax", app.column_types.Phone(), nullable=True))', 'op.drop_column("users", "fax")')
      .replace('import sqlalchemy as sa\n', 'import sqlalchemy as sa\n\nimport app.column_types\nfrom app.phone_type import Phone  # noqa: F401\nfrom app import phone_type  # noqa: F401\nfrom app.models import User  # noqa: F401\n');
    const project = track(
      blogProject(
        { [`${VERSIONS}/004_fax.py`]: fax },
        {
          baseChanges: {
            'migrations/script.py.mako': mako,
            // The template's module re-exports the type from where it lives: importing it from there is the same.
            'app/column_types.py': 'from app.phone_type import Phone  # noqa: F401\n',
            'app/phone_type.py': 'import sqlalchemy as sa\n\n\nclass Phone(sa.types.TypeDecorator):\n    impl = sa.String(20)\n    cache_ok = True\n',
          },
        },
      ),
    );
    const { report, stderr } = await checkJson(project);
    expect(mine(report).map((f: any) => f.line), stderr).toEqual([lineOf(fax, 'from app.models import User')]);
  });
});

describe('the helper finds the imports without importing them, and the rule keys each finding by its module', () => {
  let project: FixtureProject;
  let helper: PythonHelper;
  let printed = '';
  beforeAll(async () => {
    project = blogProject({
      'app/config.py': `print("app.config was imported")\n${CONFIG}`,
      'migrations/utils.py': MIGRATION_UTILS,
    });
    helper = PythonHelper.start(PYTHON, project.dir, pythonEnvironment(process.env), (out) => (printed += out));
    // The project as a check loads it (the script directory is known), against no database: nothing connects.
    await helper.request<LoadResult>('load', {
      root: project.dir,
      config: join(project.dir, 'alembic.ini'),
      section: 'alembic',
      database: { host: '127.0.0.1', port: 1, user: 'nobody', password: '', database: 'none' },
      environment: {},
      databaseEnvironment: {},
    });
  });
  afterAll(async () => {
    await helper?.close();
    project?.remove();
  });

  it('reports lines, modules and names; a module import lists what is read off it', async () => {
    const text = [
      'import app.config',
      'from app import models as m',
      'from migrations.utils import batched',
      'import migrations.utils',
      '',
      'def upgrade():',
      '    print(app.config.DEFAULT_PHONE, m.User.username)',
    ].join('\n');
    const { files } = await helper.request<{ files: ScannedFile[] }>('scan', {
      files: [{ path: join(project.dir, BACKFILL), text, appImportsWithin: project.dir }],
    });
    expect(files[0].appImports).toEqual([
      {
        line: 1,
        endLine: 1,
        modules: ['app.config'],
        function: null,
        names: [
          {
            name: 'app.config',
            module: 'app.config',
            kind: 'module',
            members: [{ name: 'DEFAULT_PHONE', module: 'app.config', kind: 'constant', source: 'DEFAULT_PHONE = "+0000"' }],
          },
        ],
      },
      {
        line: 2,
        endLine: 2,
        modules: ['app.models'],
        function: null,
        names: [
          {
            name: 'app.models',
            module: 'app.models',
            kind: 'module',
            members: [
              {
                name: 'User',
                module: 'app.models',
                kind: 'table',
                table: 'users',
                columns: [{ attribute: 'username', name: 'username', type: 'sa.String(50)' }],
                columnsUsed: true,
              },
            ],
          },
        ],
      },
    ]);
    // Found by reading files: app.config (which prints when imported) was never imported.
    expect(printed).not.toContain('app.config was imported');
  });

  it('one finding per import statement, its `object` the module (the key findings are grouped by)', async () => {
    const text = 'from app.models import User\nfrom app.config import DEFAULT_PHONE, PHONE_REGION\n';
    const { files } = await helper.request<{ files: ScannedFile[] }>('scan', {
      files: [{ path: join(project.dir, BACKFILL), text, appImportsWithin: project.dir }],
    });
    const revision = { id: 'c0000000004d', file: BACKFILL, isNew: true, appImports: files[0].appImports } as unknown as Revision;
    const graph = { revisions: [revision], byId: new Map([[revision.id, revision]]) } as unknown as MigrationGraph;
    const findings = migrationImportsApp.check({ graph } as JudgeInput);
    expect(findings.map((f) => [f.line, f.object, f.severity])).toEqual([
      [1, 'app.models', 'notice'],
      [2, 'app.config', 'notice'],
    ]);
    expect(findings[1].message).toContain('imports `DEFAULT_PHONE` and `PHONE_REGION` from app.config');
    // PHONE_REGION is read from the environment: not a value to copy, so only DEFAULT_PHONE is.
    expect(findings[1].suggestion).toContain('DEFAULT_PHONE = "+0000"');
    expect(findings[1].suggestion).not.toContain('PHONE_REGION =');
  });
});
