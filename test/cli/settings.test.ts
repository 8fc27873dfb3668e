// `# alembic-guard: ignore[...]` comments and `[tool.alembic-guard]` in pyproject.toml, through the real CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, blogProject, checkJson, migration, runCli, PYTHON, type FixtureProject } from '../support/fixtures.js';

const projects: FixtureProject[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) project.remove();
});
function track(project: FixtureProject): FixtureProject {
  projects.push(project);
  return project;
}

const EMPTY = migration('e0000000004f', 'b0000000003c', 'nothing', 'pass');

describe('suppression comments', () => {
  it('silences a finding on its line and shows the reason in the report', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[empty-migration] kept as a placeholder for the data fix');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
    const text = await runCli(['check', '--python', PYTHON, '--base', 'base'], { cwd: project.dir });
    expect(text.stdout).toMatch(/suppressed \(1\)/);
    expect(text.stdout).toContain('kept as a placeholder for the data fix');
    const markdown = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'markdown'], { cwd: project.dir });
    expect(markdown.stdout).toContain('1 suppressed');
    expect(markdown.stdout).toContain('kept as a placeholder for the data fix');
  });

  it('silences a rule for the whole file from a comment at the top', async () => {
    const file = EMPTY.replace('from alembic import op', '# alembic-guard: ignore[empty-migration] intentionally empty\nfrom alembic import op');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('does not silence another rule', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[drop-table] wrong rule');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const { report } = await checkJson(project);
    expect(report.findings.map((f: { rule: string }) => f.rule)).toEqual(['empty-migration']);
  });

  it('stops with exit 2 on an unknown rule id, naming the file and line', async () => {
    const file = EMPTY.replace('def upgrade() -> None:', 'def upgrade() -> None:  # alembic-guard: ignore[empty-migrations] typo');
    const project = track(blogProject({ 'migrations/versions/004_nothing.py': file }));
    const result = await checkJson(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/migrations\/versions\/004_nothing\.py:21: ignore\[empty-migrations\] names an unknown rule/);
  });
});

describe('[tool.alembic-guard] in pyproject.toml', () => {
  it('raises a severity so that it reaches the gate', async () => {
    const project = track(
      blogProject({
        'migrations/versions/004_nothing.py': EMPTY,
        'pyproject.toml': '[project]\nname = "blog"\n\n[tool.alembic-guard]\nseverity = { "empty-migration" = "error" }\n',
      }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toEqual([expect.objectContaining({ rule: 'empty-migration', severity: 'error' })]);
  });

  it('disables a rule', async () => {
    const project = track(
      blogProject({ 'migrations/versions/004_nothing.py': EMPTY, 'pyproject.toml': '[tool.alembic-guard]\ndisable = ["empty-migration"]\n' }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('leaves named objects out of missing-migration, and out of the migration it suggests', async () => {
    const project = track(
      blogProject({
        'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))', 'avatar = Column(String(200))'),
        'pyproject.toml': '[tool.alembic-guard]\nignore-objects = ["users.bio"]\n',
      }),
    );
    const { code, report } = await checkJson(project);
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0].message).toContain('add_column users.avatar');
    expect(report.findings[0].suggestion).not.toContain("'bio'");

    project.write('pyproject.toml', '[tool.alembic-guard]\nignore-objects = ["users.bio", "avatar"]\n');
    const clean = await checkJson(project);
    expect(clean.code).toBe(0);
    expect(clean.report.findings).toEqual([]);
  });

  it.each([
    ['disable = ["drop-colum"]', /pyproject\.toml: \[tool\.alembic-guard\] disable: unknown rule id "drop-colum"/],
    ['severity = { "drop-table" = "fatal" }', /severity "drop-table" = "fatal": use "error", "warning" or "notice"/],
    ['fail_on = "warning"', /unknown key "fail_on"/],
    ['disable = [', /pyproject\.toml is not valid TOML/],
  ])('stops with exit 2 on %s', async (line, message) => {
    const project = track(blogProject({ 'pyproject.toml': `[tool.alembic-guard]\n${line}\n` }));
    const result = await checkJson(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
