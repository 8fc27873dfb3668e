// History is known by revision id, wherever its files are: a renamed versions folder or a project moved into a subfolder
// keeps its history; a second root without branch_labels is a second head; a deleted or renamed revision strands the
// databases stamped at it. Through the real CLI: real git, real Alembic, a real disposable Postgres.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, REPO_ROOT, type FileChanges, removeAfterEach } from '../support/fixtures.js';
import { checkLayout, layoutProject, rules } from './support.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'revision-history');
const PROJECT = join(FIXTURE, 'project');
const VERSIONS = 'migrations/versions';
const ROOT = '3f9a1c2e7b10_create_categories_and_products.py';
const SEED = 'a6c2e8f4b017_seed_default_warehouse.py';
const STOCK = 'c41e7a9d2f58_create_stock_levels.py';
const CITY = '5d8f0b3a6e21_add_city_to_warehouses.py';
const REORDER = 'e5a7c9b1d3f6_add_reorder_point_to_stock_levels.py';
const AUDIT = '71c3e9a5b2d4_create_audit_events.py';

const track = removeAfterEach();

/** Every file under `dir`, by path relative to it (forward slashes), with its text. */
function filesOf(dir: string, under = dir): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(under)) {
    if (name === '__pycache__') continue;
    const path = join(under, name);
    if (statSync(path).isDirectory()) Object.assign(files, filesOf(dir, path));
    else files[relative(dir, path).split('\\').join('/')] = readFileSync(path, 'utf8');
  }
  return files;
}

/** The project's files under `from` moved to `to` (a git mv as the working tree sees it). */
function moved(from: string, to: string): FileChanges {
  const changes: FileChanges = {};
  for (const [path, text] of Object.entries(filesOf(PROJECT))) {
    if (from && path !== from && !path.startsWith(`${from}/`)) continue;
    changes[path] = null;
    changes[from ? to + path.slice(from.length) : `${to}/${path}`] = text;
  }
  return changes;
}

/** A pull request of the fixture, with its files placed under `prefix`. */
function pullRequest(name: string, prefix = '', rename: (path: string) => string = (path) => path): FileChanges {
  const changes: FileChanges = {};
  for (const [path, text] of Object.entries(filesOf(join(FIXTURE, 'pull-requests', name)))) changes[prefix + rename(path)] = text;
  return changes;
}

const projectFile = (path: string) => readFileSync(join(PROJECT, path), 'utf8');
/** The 1-based line of `text` (exactly one line has it). */
function lineOf(source: string, text: string): number {
  const hits = source.split('\n').flatMap((line, index) => (line.includes(text) ? [index + 1] : []));
  expect(hits, `one line with ${text}`).toHaveLength(1);
  return hits[0];
}
const byRule = (report: { findings: { rule: string }[] }, rule: string) => report.findings.filter((f) => f.rule === rule) as any[];

describe('history moved in the pull request is still history', () => {
  it('renames migrations/ to db/migrations/ (script_location follows): only the new revision is new, and its table is an existing one', async () => {
    const ini = projectFile('alembic.ini').replace('script_location = migrations', 'script_location = db/migrations');
    const project = track(
      layoutProject(
        { '': PROJECT },
        {},
        { ...moved('migrations', 'db/migrations'), 'alembic.ini': ini, ...pullRequest('reorder-point', '', (p) => p.replace(/^migrations\//, 'db/migrations/')) },
      ),
    );
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    expect(report.revisions.new).toEqual(['e5a7c9b1d3f6']);
    expect(report.revisions.total).toBe(6);
    // stock_levels was created in history, so adding a NOT NULL column without a default to it is flagged.
    expect(rules(report)).toEqual(['not-null-without-default']);
    const [notNull] = byRule(report, 'not-null-without-default');
    expect(notNull.file).toBe(`db/${VERSIONS}/${REORDER}`);
    expect(notNull.line).toBe(lineOf(project.read(`db/${VERSIONS}/${REORDER}`), "op.add_column('stock_levels'"));
  });

  it('moves the whole project into backend/ and is run with --cwd backend: history stays history', async () => {
    const project = track(layoutProject({ '': PROJECT }, {}, { ...moved('', 'backend'), ...pullRequest('reorder-point', 'backend/') }));
    const { code, report, stderr } = await checkLayout(project, PYTHON, ['--cwd', 'backend']);
    expect(code, stderr).toBe(1);
    expect(report.revisions.new).toEqual(['e5a7c9b1d3f6']);
    expect(rules(report)).toEqual(['not-null-without-default']);
    expect(byRule(report, 'not-null-without-default')[0].file).toBe(`backend/${VERSIONS}/${REORDER}`);
  });
});

describe('a second root', () => {
  it('without branch_labels is a second head: multiple-heads at the new root', async () => {
    const project = track(layoutProject({ '': PROJECT }, {}, pullRequest('audit-root')));
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    expect([...report.revisions.heads].sort()).toEqual(['5d8f0b3a6e21', '71c3e9a5b2d4']);
    expect(report.revisions.new).toEqual(['71c3e9a5b2d4']);
    // replay-failed is not expected either: the replay upgrades to `heads`, which two roots do not break.
    expect(rules(report)).toEqual(['multiple-heads']);
    const [heads] = byRule(report, 'multiple-heads');
    expect(heads.severity).toBe('error');
    expect(heads.file).toBe(`${VERSIONS}/${AUDIT}`);
    expect(heads.line).toBe(lineOf(project.read(`${VERSIONS}/${AUDIT}`), 'down_revision:'));
    expect(heads.message).toContain(`3f9a1c2e7b10 (${VERSIONS}/${ROOT}) and 71c3e9a5b2d4 (${VERSIONS}/${AUDIT})`);
    expect(heads.message).toContain('both have down_revision = None and no branch_labels');
    expect(heads.message).toContain("'Multiple head revisions are present'");
    expect(heads.suggestion).toContain('down_revision = "5d8f0b3a6e21"');
    expect(heads.suggestion).toContain(`\`branch_labels = ("main",)\` in \`${VERSIONS}/${ROOT}\``);
  });

  it('that creates a table the first line has: replay-failed says where the database stood and that this is `upgrade heads`', async () => {
    // A PR built on a copy of the first revision: a second root creating `categories` again.
    const again = projectFile(`${VERSIONS}/${ROOT}`).split('3f9a1c2e7b10').join('9b2d4f6a8c01');
    const project = track(layoutProject({ '': PROJECT }, {}, { [`${VERSIONS}/9b2d4f6a8c01_categories_again.py`]: again }));
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['multiple-heads', 'replay-failed']);
    const [failed] = byRule(report, 'replay-failed');
    expect(failed.file).toBe(`${VERSIONS}/9b2d4f6a8c01_categories_again.py`);
    expect(failed.message).toContain('fails on a database already at 5d8f0b3a6e21, as a deployed database is: relation "categories" already exists');
    expect(failed.message).toContain('The graph has 2 heads (5d8f0b3a6e21, 9b2d4f6a8c01): this is `alembic upgrade heads`');
    expect(failed.message).not.toContain('empty database');
  });

  it('with branch_labels, both lines in history: replayed in one run, and a failure above one of them is not blamed on the heads', async () => {
    const label = (text: string, name: string) =>
      text.replace('branch_labels: Union[str, Sequence[str], None] = None', `branch_labels: Union[str, Sequence[str], None] = ('${name}',)`);
    const audit = pullRequest('audit-root');
    audit[`${VERSIONS}/${AUDIT}`] = label(audit[`${VERSIONS}/${AUDIT}`]!, 'audit');
    const base = { ...audit, [`${VERSIONS}/${ROOT}`]: label(projectFile(`${VERSIONS}/${ROOT}`), 'inventory') };
    // A revision on the audit line that adds a column its root already made.
    const again = [
      '"""audit actor again',
      '',
      'Revision ID: aa11bb22cc33',
      'Revises: 71c3e9a5b2d4',
      '"""',
      'from alembic import op',
      'import sqlalchemy as sa',
      '',
      'revision = "aa11bb22cc33"',
      'down_revision = "71c3e9a5b2d4"',
      'branch_labels = None',
      'depends_on = None',
      '',
      '',
      'def upgrade():',
      '    op.add_column("audit_events", sa.Column("actor", sa.String(80), nullable=True))',
      '',
      '',
      'def downgrade():',
      '    op.drop_column("audit_events", "actor")',
      '',
    ].join('\n');
    const project = track(layoutProject({ '': PROJECT }, base, { [`${VERSIONS}/aa11bb22cc33_audit_actor_again.py`]: again }));
    const { report, stderr } = await checkLayout(project, PYTHON);
    expect(report.revisions.new, stderr).toEqual(['aa11bb22cc33']);
    expect(rules(report)).toEqual(['replay-failed']);
    const [failed] = byRule(report, 'replay-failed');
    expect(failed.message).toContain('fails on a database already at');
    expect(failed.message).toContain('column "actor" of relation "audit_events" already exists');
    expect(failed.message).not.toContain('heads');
  });

  it('with branch_labels on both lines is a deliberate layout: not flagged', async () => {
    const label = (text: string, name: string) =>
      text.replace('branch_labels: Union[str, Sequence[str], None] = None', `branch_labels: Union[str, Sequence[str], None] = ('${name}',)`);
    const audit = pullRequest('audit-root');
    audit[`${VERSIONS}/${AUDIT}`] = label(audit[`${VERSIONS}/${AUDIT}`]!, 'audit');
    const project = track(layoutProject({ '': PROJECT }, { [`${VERSIONS}/${ROOT}`]: label(projectFile(`${VERSIONS}/${ROOT}`), 'inventory') }, audit));
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(report.revisions.heads, stderr).toHaveLength(2);
    expect(report.revisions.new).toEqual(['71c3e9a5b2d4']);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('a revision that exists at base is gone', () => {
  it('deleted (its successor re-pointed): removed-migration at the base file, and the successor is an edited migration', async () => {
    const stock = projectFile(`${VERSIONS}/${STOCK}`).replace(/'a6c2e8f4b017'/g, "'8b2d4e6f1a93'").replace('Revises: a6c2e8f4b017', 'Revises: 8b2d4e6f1a93');
    const project = track(layoutProject({ '': PROJECT }, {}, { [`${VERSIONS}/${SEED}`]: null, [`${VERSIONS}/${STOCK}`]: stock }));
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    expect(report.revisions.new).toEqual([]);
    expect(rules(report)).toEqual(['edited-migration', 'removed-migration']);
    const [removed] = byRule(report, 'removed-migration');
    expect(removed).toMatchObject({ severity: 'error', file: `${VERSIONS}/${SEED}`, revision: 'a6c2e8f4b017' });
    expect(removed.line).toBe(lineOf(projectFile(`${VERSIONS}/${SEED}`), 'revision: str ='));
    expect(removed.message).toContain('every database whose alembic_version is a6c2e8f4b017');
    expect(removed.message).toContain("Can't locate revision identified by 'a6c2e8f4b017'");
    expect(removed.message).toContain('last deployed while it was the head');
    // The no-op that keeps those databases upgrading, with the real ids, and the successor pointed at it.
    expect(removed.suggestion).toContain(`git checkout `);
    expect(removed.suggestion).toContain('revision = "a6c2e8f4b017"\ndown_revision = "8b2d4e6f1a93"');
    expect(removed.suggestion).toContain(`and point \`${VERSIONS}/${STOCK}\` at it:\n\n\`\`\`python\ndown_revision = "a6c2e8f4b017"\n\`\`\``);
    const [edited] = byRule(report, 'edited-migration');
    expect(edited.file).toBe(`${VERSIONS}/${STOCK}`);
  });

  it('a regenerated first migration: the no-op goes after the new head, and applying the suggestion passes', async () => {
    const others = { [`${VERSIONS}/${SEED}`]: null, [`${VERSIONS}/${STOCK}`]: null, [`${VERSIONS}/${CITY}`]: null, [`${VERSIONS}/8b2d4e6f1a93_create_warehouses.py`]: null };
    const regenerated = projectFile(`${VERSIONS}/${ROOT}`)
      .replace(/3f9a1c2e7b10/g, '0d1e3a5c7b92')
      .replace('def upgrade() -> None:', 'def upgrade() -> None:\n    # regenerated from the models');
    const pullRequest = { [`${VERSIONS}/${ROOT}`]: null, [`${VERSIONS}/0d1e3a5c7b92_initial.py`]: regenerated };
    const project = track(layoutProject({ '': PROJECT }, others, pullRequest));
    const { report, stderr } = await checkLayout(project, PYTHON);
    const [removed] = byRule(report, 'removed-migration');
    expect(removed?.revision, stderr).toBe('3f9a1c2e7b10');
    expect(removed.suggestion).toContain('revision = "3f9a1c2e7b10"\ndown_revision = "0d1e3a5c7b92"');
    // The suggested file, as the user would add it: no second root, no removed revision, its edit silenced on purpose.
    const noOp = /```python\n([\s\S]*?)\n```/.exec(removed.suggestion)![1]!;
    project.write(`${VERSIONS}/${ROOT}`, `${noOp}\n`);
    const again = await checkLayout(project, PYTHON);
    expect(rules(again.report), again.stderr).not.toContain('removed-migration');
    expect(rules(again.report)).not.toContain('multiple-heads');
    expect(rules(again.report)).not.toContain('edited-migration');
    expect(again.report.revisions.heads).toEqual(['3f9a1c2e7b10']);
  });

  it('renamed to a new id: removed-migration says so, and the new id is a new revision', async () => {
    const renamed = projectFile(`${VERSIONS}/${CITY}`).replace(/5d8f0b3a6e21/g, '0c9e2f4a6b81');
    const project = track(
      layoutProject({ '': PROJECT }, {}, { [`${VERSIONS}/${CITY}`]: null, [`${VERSIONS}/0c9e2f4a6b81_add_city_to_warehouses.py`]: renamed }),
    );
    const { code, report, stderr } = await checkLayout(project, PYTHON);
    expect(code, stderr).toBe(1);
    expect(report.revisions.new).toEqual(['0c9e2f4a6b81']);
    expect(report.revisions.heads).toEqual(['0c9e2f4a6b81']);
    expect(rules(report)).toEqual(['removed-migration']);
    const [removed] = byRule(report, 'removed-migration');
    expect(removed.file).toBe(`${VERSIONS}/${CITY}`);
    expect(removed.line).toBe(lineOf(projectFile(`${VERSIONS}/${CITY}`), 'revision: str ='));
    expect(removed.message).toContain('is renamed to 0c9e2f4a6b81');
    expect(removed.message).toContain('deployed since it was merged');
    expect(removed.suggestion).toContain('Give 0c9e2f4a6b81 back its id');
    expect(removed.suggestion).toContain('revision = "5d8f0b3a6e21"\ndown_revision = "0c9e2f4a6b81"');
  });

  it("in a monorepo, another project's copy of the same ids is not this project's history", async () => {
    // Two services started from the same template share revision ids; inventory went on with e5a7c9b1d3f6 (on 5d8f0b3a6e21),
    // which sync never had. The pull request drops e5a7c9b1d3f6 from inventory and a6c2e8f4b017 from sync: each is
    // reported once, for its own service, although each names revisions of the other.
    const syncStock = projectFile(`${VERSIONS}/${STOCK}`).replace(/'a6c2e8f4b017'/g, "'8b2d4e6f1a93'");
    const project = track(
      layoutProject(
        { 'services/inventory': PROJECT, 'services/sync': PROJECT },
        pullRequest('reorder-point', 'services/inventory/'),
        {
          [`services/inventory/${VERSIONS}/${REORDER}`]: null,
          'services/inventory/app/models/inventory.py': projectFile('app/models/inventory.py'),
          [`services/sync/${VERSIONS}/${SEED}`]: null,
          [`services/sync/${VERSIONS}/${STOCK}`]: syncStock,
        },
      ),
    );
    const configs = ['--config', 'services/inventory/alembic.ini', '--config', 'services/sync/alembic.ini'];
    const { code, report, stderr } = await checkLayout(project, PYTHON, configs);
    expect(code, stderr).toBe(1);
    expect(rules(report)).toEqual(['edited-migration', 'removed-migration', 'removed-migration']);
    expect(byRule(report, 'removed-migration').map((f) => f.file).sort()).toEqual([
      `services/inventory/${VERSIONS}/${REORDER}`,
      `services/sync/${VERSIONS}/${SEED}`,
    ]);
    expect(byRule(report, 'edited-migration')[0].file).toBe(`services/sync/${VERSIONS}/${STOCK}`);
  });
});
