// The real CLI on fixture projects: real git, real Alembic in a virtualenv, a real disposable Postgres.
import { afterEach, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, blogProject, checkJson, migration, runCli, PYTHON, warningOnlyPullRequest, type FixtureProject } from '../support/fixtures.js';

const projects: FixtureProject[] = [];
function track(project: FixtureProject): FixtureProject {
  projects.push(project);
  return project;
}
afterEach(() => {
  for (const project of projects.splice(0)) project.remove();
});

const ADD_BIO = migration('c0000000004d', 'b0000000003c', 'add bio to users', `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))`, `op.drop_column("users", "bio")`);

describe('alembic-guard check', () => {
  it('passes the untouched blog and reports the JSON contract', async () => {
    const project = track(blogProject());
    const { code, report, stderr } = await checkJson(project);
    expect(code, stderr).toBe(0);
    expect(Object.keys(report).sort()).toEqual(['findings', 'revisions', 'status', 'timings', 'version']);
    expect(report).toMatchObject({ version: 1, status: 'pass', findings: [] });
    expect(report.revisions).toEqual({ heads: ['b0000000003c'], new: [], total: 3 });
    expect(Object.keys(report.timings).sort()).toEqual(['compare', 'database', 'replay', 'total']);
    expect(report.timings.total).toBeGreaterThan(0);
    expect(report.timings.total).toBeGreaterThanOrEqual(report.timings.replay);
  });

  it('passes a PR that adds a model column with its migration, and lists the migration as new', async () => {
    const project = track(
      blogProject({
        'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))'),
        'migrations/versions/004_add_bio.py': ADD_BIO,
      }),
    );
    const { code, report, stderr } = await checkJson(project);
    expect(code, stderr).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.revisions).toEqual({ heads: ['c0000000004d'], new: ['c0000000004d'], total: 4 });
  });

  it('flags a model change without a migration and suggests the migration autogenerate would write', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))') }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.status).toBe('fail');
    expect(report.findings).toHaveLength(1);
    const [finding] = report.findings;
    expect(finding).toMatchObject({ rule: 'missing-migration', severity: 'error', file: null, line: null });
    expect(finding.message).toContain('add_column users.bio');
    expect(finding.suggestion).toContain("op.add_column('users', sa.Column('bio', sa.String(length=500), nullable=True))");
    expect(finding.suggestion).toContain("op.drop_column('users', 'bio')");
    expect(finding.suggestion).toContain('alembic revision --autogenerate');
    // Nothing was written into the project: no new migration file, no bytecode caches.
    const status = await runGit(project.dir, ['status', '--porcelain', '--ignored']);
    expect(status.trim()).toBe('M app/models.py');
  });

  it('flags two migrations on the same parent with the heads, their common ancestor and the merge command', async () => {
    const other = migration('d0000000004e', 'b0000000003c', 'add avatar', `op.add_column("users", sa.Column("avatar", sa.String(length=200), nullable=True))`);
    const project = track(
      blogProject(
        { 'migrations/versions/004_add_bio.py': ADD_BIO, 'app/models.py': blogModelsWithUserColumns('avatar = Column(String(200))', 'bio = Column(String(500))') },
        { baseChanges: { 'migrations/versions/004_add_avatar.py': other, 'app/models.py': blogModelsWithUserColumns('avatar = Column(String(200))') } },
      ),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    const heads = report.findings.filter((f: any) => f.rule === 'multiple-heads');
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatchObject({ file: 'migrations/versions/004_add_bio.py', line: 16, revision: 'c0000000004d' });
    expect(heads[0].message).toContain('c0000000004d, d0000000004e');
    expect(heads[0].message).toContain('branch from b0000000003c');
    expect(heads[0].suggestion).toContain('alembic merge -m "merge heads" c0000000004d d0000000004e');
    expect(report.revisions.heads.sort()).toEqual(['c0000000004d', 'd0000000004e']);
  });

  it('flags a migration that exists at base and was changed, at the first changed line', async () => {
    const project = blogProject();
    track(project);
    const file = 'migrations/versions/003_add_phone_to_users.py';
    project.write(file, project.read(file).replace('sa.String(length=20)', 'sa.String(length=30)'));
    project.write('app/models.py', project.read('app/models.py').replace('String(20)', 'String(30)'));
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ rule: 'edited-migration', severity: 'error', file, line: 22, revision: 'b0000000003c' });
  });

  it('gives a notice for a new migration whose upgrade does nothing, without failing the gate', async () => {
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': migration('e0000000004f', 'b0000000003c', 'nothing', 'pass') }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.findings).toEqual([
      expect.objectContaining({ rule: 'empty-migration', severity: 'notice', file: 'migrations/versions/004_nothing.py', line: 21, revision: 'e0000000004f' }),
    ]);
  });

  it('names the revision, file, line, statement and Postgres error when a migration fails', async () => {
    const broken = migration(
      'f0000000004a',
      'b0000000003c',
      'index a column that does not exist',
      `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))\nop.create_index("ix_users_nickname", "users", ["nickname"])`,
    );
    const project = track(blogProject({ 'migrations/versions/004_broken.py': broken }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    const [finding] = report.findings;
    expect(finding).toMatchObject({ rule: 'replay-failed', severity: 'error', file: 'migrations/versions/004_broken.py', line: 23, revision: 'f0000000004a' });
    expect(finding.message).toContain('column "nickname" does not exist');
    expect(finding.suggestion).toContain('CREATE INDEX ix_users_nickname ON users (nickname)');
  });

  it('explains a history whose first migration assumes tables made outside Alembic', async () => {
    const project = track(
      blogProject(
        {},
        {
          baseChanges: {
            'migrations/versions/001_create_users.py': null,
            'migrations/versions/002_create_posts.py': migration('b0000000002b', null, 'create posts', `op.create_table("posts", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False))`),
          },
        },
      ),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    const [finding] = report.findings.filter((f: any) => f.rule === 'replay-failed');
    expect(finding.message).toContain('relation "users" does not exist');
    expect(finding.message).toContain('cannot be replayed from an empty database');
    expect(finding.message).toContain('create_all');
  });

  it('fails the gate on notices only when asked, and never with --fail-on never', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))') }));
    const never = await checkJson(project, ['--fail-on', 'never']);
    expect(never.code).toBe(0);
    expect(never.report.status).toBe('pass');
    expect(never.report.findings).toHaveLength(1);
  });

  it('passes a pull request with warnings only by default, and fails it with --fail-on warning', async () => {
    // An index built on an existing table without CONCURRENTLY: index-not-concurrent, a warning.
    const project = track(blogProject(warningOnlyPullRequest()));
    const byDefault = await checkJson(project);
    expect(byDefault.report.findings.map((f: { rule: string; severity: string }) => [f.rule, f.severity])).toEqual([['index-not-concurrent', 'warning']]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.report.status).toBe('pass');
    const strict = await checkJson(project, ['--fail-on', 'warning']);
    expect(strict.code, strict.stderr).toBe(1);
    expect(strict.report.status).toBe('fail');
  });

  it('prints text with one line per stage and the verdict, and markdown for the PR comment', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))') }));
    const text = await runCli(['check', '--python', PYTHON, '--base', 'base'], { cwd: project.dir });
    expect(text.code).toBe(1);
    for (const stage of ['postgres', 'replay', 'compare']) expect(text.stdout).toMatch(new RegExp(`${stage}\\s+\\d+\\.\\d+ s`));
    expect(text.stdout).toContain('missing-migration');
    expect(text.stdout).toMatch(/FAIL/);
    expect(text.stdout).not.toMatch(/\u001b\[/);
    const markdown = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'markdown'], { cwd: project.dir });
    expect(markdown.code).toBe(1);
    expect(markdown.stdout).toContain('missing-migration');
    expect(markdown.stdout).toContain("op.add_column('users'");
  });
});

async function runGit(cwd: string, args: string[]): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}
