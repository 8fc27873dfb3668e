// One CLI run on a fixture pull request of the blog project, for the rule tests: the findings of the rules under test
// and a way to find lines in the fixture's files. Real git, real Alembic, a real disposable Postgres.
import { afterAll, expect } from 'vitest';
import type { JsonFinding } from '../../src/report/json.js';
import { blogProject, checkJson, type FileChanges, type FixtureProject } from './fixtures.js';

/** A finding as the JSON report gives it. */
export type { JsonFinding } from '../../src/report/json.js';

/** `check(files)` for a test file: its fixtures are removed after the file's tests. */
export function ruleChecker(rules: ReadonlySet<string>) {
  const projects: FixtureProject[] = [];
  afterAll(() => {
    for (const project of projects.splice(0)) project.remove();
  });
  return async function check(files: FileChanges, options: { baseChanges?: FileChanges } = {}) {
    const project = blogProject(files, options);
    projects.push(project);
    const { report, stderr } = await checkJson(project);
    expect(report.status, stderr).not.toBe('error');
    const findings: JsonFinding[] = report.findings.filter((f: JsonFinding) => rules.has(f.rule));
    /** The 1-based line of `file` that contains `text` (exactly one must). */
    const lineOf = (file: string, text: string): number => {
      const lines = project.read(file).split('\n');
      const hits = lines.flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
      expect(hits, `${file} should contain ${text} once`).toHaveLength(1);
      return hits[0]!;
    };
    const at = (file: string, text: string) => findings.filter((f) => f.file === file && f.line === lineOf(file, text));
    const of = (rule: string, revision: string) => findings.filter((f) => f.rule === rule && f.revision === revision);
    return { report, findings, lineOf, at, of, project };
  };
}
