// The markdown format: the pull request comment (and job summary) — verdict, findings table, suggestions, missing migration, new revisions.
import type { Finding, Severity } from '../findings.js';
import {
  escapeHtml,
  escapeMarkdownText,
  fencedCodeBlock,
  inlineCode,
  messageMarkdown,
  oneLine,
  sanitizeMarkdown,
} from './escape.js';
import type { Report } from './report.js';
import { countFindings, describeCounts, formatSeconds } from './text.js';

const SEVERITY_LABEL: Record<Severity, string> = {
  error: '❌ error',
  warning: '⚠️ warning',
  notice: 'ℹ️ notice',
};

export function renderMarkdown(report: Report): string {
  const blocks = [
    `### ${headline(report)}`,
    context(report),
    findingsTable(report.findings),
    ...report.findings.filter((finding) => finding.suggestion).map(suggestionBlock),
    missingMigration(report),
    newRevisions(report),
    timings(report),
  ];
  return blocks.filter((block) => block !== '').join('\n\n') + '\n';
}

function headline(report: Report): string {
  const counts = describeCounts(countFindings(report.findings));
  switch (report.status) {
    case 'error':
      return '⚠️ alembic-guard: the check could not run';
    case 'fail':
      return `❌ alembic-guard: ${counts}`;
    case 'pass':
      if (counts === '') return '✅ alembic-guard: migrations and models agree';
      if (report.failOn === 'never') return `✅ alembic-guard: ${counts} (fail-on: never)`;
      return `✅ alembic-guard: ${counts}, below fail-on ${report.failOn}`;
  }
}

function context(report: Report): string {
  const { total } = report.revisions;
  const fresh = report.revisions.new.length;
  return [
    `Base: ${escapeMarkdownText(report.base)}`,
    `config ${inlineCode(report.config)}`,
    `${total} revision${total === 1 ? '' : 's'}, ${fresh} new`,
  ].join(' · ');
}

function location(finding: Finding): string | null {
  if (finding.file === null) return null;
  return finding.line === null ? finding.file : `${finding.file}:${finding.line}`;
}

function findingsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  const rows = findings.map((finding) => {
    const where = location(finding);
    return tableRow([
      SEVERITY_LABEL[finding.severity],
      inlineCode(finding.rule, { inTable: true }),
      where === null ? '—' : inlineCode(where, { inTable: true }),
      messageMarkdown(finding.message, { inTable: true }),
    ]);
  });
  return [tableRow(['Severity', 'Rule', 'Location', 'Message']), tableRow(['---', '---', '---', '---']), ...rows].join(
    '\n',
  );
}

/** Cells must already be escaped for a table (one line, `|` escaped). */
function tableRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function suggestionBlock(finding: Finding): string {
  // Inside <summary> markdown is not parsed (it is an HTML block), so the project's text only needs entities.
  const where = location(finding);
  const summary =
    `Suggestion for <code>${escapeHtml(finding.rule)}</code>` +
    (where === null ? '' : ` at <code>${escapeHtml(oneLine(where))}</code>`);
  // The blank lines let GitHub parse the suggestion as markdown inside the HTML block.
  return `<details><summary>${summary}</summary>\n\n${sanitizeMarkdown(finding.suggestion ?? '')}\n\n</details>`;
}

function missingMigration(report: Report): string {
  if (!report.missingMigration) return '';
  const { upgrade, downgrade } = report.missingMigration;
  const code = `${upgrade.replace(/\n+$/, '')}\n\n\n${downgrade.replace(/\n+$/, '')}`;
  return [
    '#### Missing migration',
    'The models differ from the schema the migrations build. `alembic revision --autogenerate` would write:',
    fencedCodeBlock(code, 'python'),
  ].join('\n\n');
}

function newRevisions(report: Report): string {
  if (report.newRevisions.length === 0) return '';
  const rows = report.newRevisions.map((revision) =>
    tableRow([
      inlineCode(revision.revision, { inTable: true }),
      escapeMarkdownText(revision.message),
      inlineCode(revision.file, { inTable: true }),
      revision.seconds === null ? '—' : formatSeconds(revision.seconds),
    ]),
  );
  return [
    '#### New revisions',
    [tableRow(['Revision', 'Message', 'File', 'Replay']), tableRow(['---', '---', '---', '---:']), ...rows].join('\n'),
  ].join('\n\n');
}

function timings(report: Report): string {
  const { database, replay, compare, total } = report.timings;
  return (
    `<sub>database ${formatSeconds(database)} · replay ${formatSeconds(replay)} · ` +
    `compare ${formatSeconds(compare)} · total ${formatSeconds(total)}</sub>`
  );
}
