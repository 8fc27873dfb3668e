// missing-migration is differential: drift that already sits on the base branch is one notice, never an error; the
// suggested migration holds only what the pull request introduces. Real git, real Alembic, real Postgres: the base
// commit's models are imported from a copy of that commit in their own Python process.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blogProject, checkJson, migration, PYTHON, REPO_ROOT, runCli, type FileChanges, type FixtureProject } from '../support/fixtures.js';

const MODELS = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'app', 'models.py'), 'utf8');

/** Base's models: an editor column whose use_alter foreign key was never migrated. */
const BASE_MODELS = MODELS.replace(
  '    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)\n',
  '    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)\n' +
    '    editor_id = Column(Integer, ForeignKey("users.id", use_alter=True, name="fk_posts_editor_id_users"))\n',
);

/**
 * Drift already on main, in the two shapes real projects keep on purpose: an index that lives only in the migrations
 * (autogenerate wants to drop it), and a use_alter foreign key the migrations never created.
 */
const BASE: FileChanges = {
  'app/models.py': BASE_MODELS,
  'migrations/versions/004_editor_and_index.py': migration(
    'b0000000004d',
    'b0000000003c',
    'editor and a reporting index',
    `op.add_column("posts", sa.Column("editor_id", sa.Integer(), nullable=True))
op.create_index("ix_posts_created_at", "posts", ["created_at"])`,
    `op.drop_index("ix_posts_created_at", table_name="posts")
op.drop_column("posts", "editor_id")`,
  ),
};

const OLD_DRIFT = ['remove_index posts.ix_posts_created_at', 'add_fk posts.fk_posts_editor_id_users (editor_id -> users.id)'];

const projects: FixtureProject[] = [];
function project(changes: FileChanges, baseChanges: FileChanges = BASE): FixtureProject {
  const made = blogProject(changes, { baseChanges, commitChanges: true });
  projects.push(made);
  return made;
}
afterAll(() => projects.forEach((p) => p.remove()));

const missing = (report: any) => report.findings.filter((f: any) => f.rule === 'missing-migration');

describe('drift already on the base branch', () => {
  it('an unrelated pull request passes, with one notice naming the old differences', async () => {
    const pr = project({
      'migrations/versions/005_add_bio.py': migration(
        'c0000000005e',
        'b0000000004d',
        'add bio',
        'op.add_column("users", sa.Column("bio", sa.String(500), nullable=True))',
        'op.drop_column("users", "bio")',
      ),
      'app/models.py': BASE_MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    bio = Column(String(500))\n'),
    });
    const { code, report } = await checkJson(pr);
    const found = missing(report);
    expect(found.map((f: any) => f.severity)).toEqual(['notice']);
    expect(code).toBe(0);
    for (const text of OLD_DRIFT) expect(found[0].message).toContain(text);
    expect(found[0].message).toMatch(/^2 differences between the models and the migrations are already at base \([0-9a-f]{7}\)/);
    expect(found[0].suggestion).toContain('ignore-objects');
  }, 120_000);

  it('a pull request that changes only a model gets an error for its own difference, and code for nothing else', async () => {
    const pr = project({
      'app/models.py': BASE_MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    nickname = Column(String(40))\n'),
    });
    const { code, report } = await checkJson(pr);
    const [error, ...rest] = missing(report);
    expect(code).toBe(1);
    expect(error.severity).toBe('error');
    expect(error.message).toContain('in ways this pull request introduces (add_column users.nickname)');
    expect(error.suggestion).toContain("op.add_column('users', sa.Column('nickname', sa.String(length=40), nullable=True))");
    expect(error.suggestion).toContain("op.drop_column('users', 'nickname')");
    // The suggested migration must not drop the project's reporting index or add the foreign key it keeps out.
    expect(error.suggestion).not.toContain('ix_posts_created_at');
    expect(error.suggestion).not.toContain('fk_posts_editor_id_users');
    expect(error.suggestion).toContain('leaves out the 2 differences already at base');
    expect(rest.map((f: any) => f.severity)).toEqual(['notice']);
  }, 120_000);

  it('a change to an object that already differed is the pull request\'s', async () => {
    // The editor foreign key now cascades: a different operation from the one on base.
    const pr = project({
      'app/models.py': BASE_MODELS.replace(
        'ForeignKey("users.id", use_alter=True, name="fk_posts_editor_id_users")',
        'ForeignKey("users.id", use_alter=True, name="fk_posts_editor_id_users", ondelete="SET NULL")',
      ),
    });
    const { report } = await checkJson(pr);
    const errors = missing(report).filter((f: any) => f.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].suggestion).toContain("ondelete='SET NULL'");
    expect(errors[0].suggestion).not.toContain('ix_posts_created_at');
  }, 120_000);

  it('a pull request that turns on render_as_batch in env.py still sees the old drift as old', async () => {
    const env = readFileSync(join(REPO_ROOT, 'examples', 'blog', 'migrations', 'env.py'), 'utf8').replace(
      'context.configure(connection=connection, target_metadata=target_metadata)',
      'context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)',
    );
    const { code, report } = await checkJson(project({ 'migrations/env.py': env }));
    expect(missing(report).map((f: any) => f.severity)).toEqual(['notice']);
    expect(code).toBe(0);
  }, 120_000);

  it('a pull request that removes old drift gets a line saying so, and passes', async () => {
    const pr = project({
      'migrations/versions/005_editor_fk.py': migration(
        'c0000000005f',
        'b0000000004d',
        'editor foreign key',
        'op.create_foreign_key("fk_posts_editor_id_users", "posts", "users", ["editor_id"], ["id"])',
        'op.drop_constraint("fk_posts_editor_id_users", "posts", type_="foreignkey")',
      ),
    });
    const { code, report } = await checkJson(pr);
    const messages = missing(report).map((f: any) => `${f.severity}: ${f.message}`);
    expect(code).toBe(0);
    expect(messages).toEqual([
      expect.stringMatching(/^notice: 1 difference between the models and the migrations is already at base .*remove_index posts\.ix_posts_created_at/),
      expect.stringMatching(/^notice: This pull request removes 1 difference .*add_fk posts\.fk_posts_editor_id_users/),
    ]);
  }, 120_000);

  it('when the base cannot be imported, one notice says so and every difference counts as before', async () => {
    // At base the models import a module that is not installed; the pull request removes that import.
    const pr = project(
      { 'app/models.py': BASE_MODELS },
      { ...BASE, 'app/models.py': `import not_installed_anywhere  # noqa\n${BASE_MODELS}` },
    );
    const { code, report } = await checkJson(pr);
    const found = missing(report);
    expect(code).toBe(1);
    expect(found.map((f: any) => f.severity)).toEqual(['error', 'notice']);
    expect(found[0].message).toContain('remove_index posts.ix_posts_created_at');
    expect(found[1].message).toMatch(/^The models at base \([0-9a-f]{7}\) could not be compared \(its models could not be loaded: ModuleNotFoundError: No module named .not_installed_anywhere.\)/);
  }, 120_000);

  it('a pull request whose migration has a broken downgrade still gets the old drift subtracted', async () => {
    // The downgrade does not return to the base's schema: the history state is rebuilt for the base's comparison.
    const pr = project({
      'migrations/versions/005_add_bio.py': migration(
        'c0000000005e',
        'b0000000004d',
        'add bio',
        'op.add_column("users", sa.Column("bio", sa.String(500), nullable=True))',
        'pass',
      ),
      'app/models.py': BASE_MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    nickname = Column(String(40))\n'),
    });
    const { report } = await checkJson(pr);
    const errors = missing(report).filter((f: any) => f.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain('add_column users.nickname');
    expect(errors[0].message).toContain('remove_column users.bio');
    expect(errors[0].message).not.toContain('ix_posts_created_at');
  }, 120_000);
});

describe('a base whose Python reaches into the working tree', () => {
  it("is not compared when its imports come from the working tree (as an editable install's would), and says so", async () => {
    // An absolute path to the working tree on sys.path, committed at base: the base's copy would import head's models.
    const pr = blogProject({}, { baseChanges: BASE });
    projects.push(pr);
    const ini = pr.read('alembic.ini').replace('prepend_sys_path = .', `prepend_sys_path = ${pr.dir}`);
    pr.write('alembic.ini', ini);
    pr.commit('base, with an absolute path');
    execFileSync('git', ['tag', '-f', 'base'], { cwd: pr.dir, stdio: 'ignore' });
    pr.write('app/models.py', BASE_MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    nickname = Column(String(40))\n'));
    const { report } = await checkJson(pr);
    const found = missing(report);
    expect(found.map((f: any) => f.severity)).toEqual(['error', 'notice']);
    expect(found[0].message).toContain('remove_index posts.ix_posts_created_at');
    expect(found[1].message).toContain(
      'could not be compared (its Python imported app (app/__init__.py), app.models (app/models.py) from the working tree ' +
        '(an editable install), not from the base commit)',
    );
  }, 120_000);
});

describe('naming the base', () => {
  it('a commit id given as --base (what the action passes) is named by its short form only', async () => {
    const pr = project({ 'migrations/env.py': readFileSync(join(REPO_ROOT, 'examples', 'blog', 'migrations', 'env.py'), 'utf8') + '\n' });
    const sha = execFileSync('git', ['rev-parse', 'base'], { cwd: pr.dir, encoding: 'utf8' }).trim();
    const result = await runCli(['check', '--python', PYTHON, '--base', sha, '--format', 'json'], { cwd: pr.dir });
    const [notice] = missing(JSON.parse(result.stdout));
    expect(notice.message).toContain(`already at ${sha.slice(0, 7)} (remove_index`);
    expect(notice.message).not.toContain(sha);
  }, 120_000);
});

describe('no drift on base', () => {
  it('reports the pull request\'s difference as before, without a notice', async () => {
    const pr = project({
      'app/models.py': MODELS.replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    nickname = Column(String(40))\n'),
    }, {});
    const { report } = await checkJson(pr);
    const found = missing(report);
    expect(found).toHaveLength(1);
    expect(found[0].message).toBe('The models differ from the schema the migrations build (add_column users.nickname): a migration is missing.');
  }, 120_000);
});
