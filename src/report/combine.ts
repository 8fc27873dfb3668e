// Several Alembic configs checked in one run (a monorepo, repeated --config): one Report for json and sarif, one heading each for text and markdown.
import { compareFindings } from '../findings.js';
import type { Report } from './report.js';

/** One report holding every config's: findings side by side (their files are relative to the repository root), counts added up. */
export function combineReports(reports: Report[]): Report {
  const first = reports[0]!;
  const sum = (pick: (r: Report) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const missing = reports.filter((r) => r.missingMigration);
  return {
    ...first,
    status: reports.some((r) => r.status === 'fail') ? 'fail' : 'pass',
    // Errors first across every config, as in each config's own report (the files say which project).
    findings: reports.flatMap((r) => r.findings).sort(compareFindings),
    suppressed: reports.flatMap((r) => r.suppressed),
    revisions: {
      heads: reports.flatMap((r) => r.revisions.heads),
      new: reports.flatMap((r) => r.revisions.new),
      total: sum((r) => r.revisions.total),
    },
    timings: {
      database: sum((r) => r.timings.database),
      replay: sum((r) => r.timings.replay),
      compare: sum((r) => r.timings.compare),
      total: sum((r) => r.timings.total),
    },
    stages: reports.flatMap((r) => r.stages.map((s) => ({ ...s, detail: `${r.config}: ${s.detail}` }))),
    newRevisions: reports.flatMap((r) => r.newRevisions),
    missingMigration: missing.length === 1 ? missing[0]!.missingMigration : null,
    graph: reports.flatMap((r) => r.graph),
    tableChanges: reports.flatMap((r) => r.tableChanges),
    config: reports.map((r) => r.config).join(', '),
  };
}

/** Each config's report under a heading naming its config file. */
export function renderUnderHeadings(reports: Report[], format: 'text' | 'markdown', render: (report: Report) => string): string {
  return reports
    .map((report) => {
      const body = render(report);
      const heading = format === 'markdown' ? `## ${report.config}` : `== ${report.config} ==`;
      return `${heading}\n\n${body.endsWith('\n') ? body : `${body}\n`}`;
    })
    .join('\n');
}
