// The markdown format: the pull request comment (and job summary) — verdict, findings table (the rest folded), suggestions,
// missing migration, history graph, table changes, new revisions; plus the inline review comment of one finding and the cut
// at GitHub's size limit.
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
import { findingObjects } from './objects.js';
import type { Report } from './report.js';
import { countFindings, describeCounts, formatSeconds } from './text.js';

const SEVERITY_LABEL: Record<Severity, string> = {
  error: '❌ error',
  warning: '⚠️ warning',
  notice: 'ℹ️ notice',
};

/** What the pull request comment adds to the plain markdown report. */
export interface CommentOptions {
  /** Findings with a line that no inline comment could be put on (outside the diff, or refused by GitHub). */
  notInline?: readonly Finding[];
  /** How many findings the comment showed before this run: when there are none left, the comment says they are fixed. */
  previousFindings?: number;
}

/** Warnings shown in the table before the rest are folded; errors are never folded, notices always are. */
export const SHOWN_WARNINGS = 10;

/**
 * What a reviewer sees first is the verdict, the counts, and a table of the errors and the first warnings; the other
 * warnings and the notices are folded under it (with their suggestions), and every suggestion is a collapsed block.
 */
export function renderMarkdown(report: Report, options: CommentOptions = {}): string {
  const { shown, folded } = foldFindings(report.findings);
  const blocks = [
    `### ${headline(report)}`,
    context(report),
    nowClean(report, options.previousFindings ?? 0),
    findingsTable(shown),
    foldedFindings(folded, shown.length > 0),
    notInline(options.notInline ?? []),
    ...shown.map(detailsBlock),
    missingMigration(report),
    historyGraph(report),
    tableChanges(report),
    suppressedList(report),
    newRevisions(report),
    timings(report),
  ];
  return blocks.filter((block) => block !== '').join('\n\n') + '\n';
}

/** The comment (and summary) when the check could not run: what went wrong, as the check said it. */
export function renderCheckError(message: string): string {
  return [
    '### ⚠️ alembic-guard: the check could not run',
    'Nothing was judged: fix what the message below names and run the job again.',
    fencedCodeBlock(message, 'text'),
  ].join('\n\n') + '\n';
}

/**
 * The sticky pull request comment: `markdown` (renderMarkdown or renderCheckError) cut to fit `limit` with
 * `cutNotice` when it is too long, and the hidden `marker` as its last line.
 */
export function renderPullRequestComment(markdown: string, options: { marker: string; limit: number; cutNotice: string }): string {
  const room = options.limit - options.marker.length - 3;
  return `${truncateMarkdown(markdown.replace(/\n+$/, ''), room, options.cutNotice)}\n\n${options.marker}\n`;
}

function nowClean(report: Report, previousFindings: number): string {
  if (previousFindings === 0 || report.findings.length > 0 || report.status !== 'pass') return '';
  return previousFindings === 1
    ? '🎉 The finding reported earlier on this pull request is fixed.'
    : `🎉 All ${previousFindings} findings reported earlier on this pull request are fixed.`;
}

/** The errors, and the first SHOWN_WARNINGS warnings, in the table; the rest folded. The report's order is kept. */
export function foldFindings(findings: readonly Finding[]): { shown: Finding[]; folded: Finding[] } {
  const shown: Finding[] = [];
  const folded: Finding[] = [];
  let warnings = 0;
  for (const finding of findings) {
    const show = finding.severity === 'error' || (finding.severity === 'warning' && ++warnings <= SHOWN_WARNINGS);
    (show ? shown : folded).push(finding);
  }
  return { shown, folded };
}

/** The folded findings: their table and their suggestions, under one summary line ("4 more warnings and 6 notices"). */
function foldedFindings(findings: readonly Finding[], afterTable: boolean): string {
  if (findings.length === 0) return '';
  const counts = countFindings(findings);
  const parts: string[] = [];
  if (counts.warning > 0) parts.push(`${counts.warning}${afterTable ? ' more' : ''} warning${counts.warning === 1 ? '' : 's'}`);
  if (counts.notice > 0) parts.push(`${counts.notice} notice${counts.notice === 1 ? '' : 's'}`);
  const details = findings.map(detailsBlock).filter((block) => block !== '');
  return [`<details><summary>${parts.join(' and ')}</summary>`, findingsTable(findings), ...details, '</details>'].join('\n\n');
}

/** Past this many, the findings without an inline comment are folded too. */
const NOT_INLINE_SHOWN = 5;

function notInline(findings: readonly Finding[]): string {
  if (findings.length === 0) return '';
  const items = findings.map(
    (finding) => `- ${inlineCode(location(finding) ?? '')} ${inlineCode(finding.rule)}: ${messageMarkdown(finding.message)}`,
  );
  if (findings.length > NOT_INLINE_SHOWN) {
    return (
      `<details><summary>${findings.length} findings are on lines that the pull request's diff does not show, so there is no inline comment for them</summary>` +
      `\n\n${items.join('\n')}\n\n</details>`
    );
  }
  const subject = findings.length === 1 ? 'This finding is on a line' : 'These findings are on lines';
  return `${subject} that the pull request's diff does not show, so there is no inline comment for ${findings.length === 1 ? 'it' : 'them'}:\n\n${items.join('\n')}`;
}

/** Findings silenced by `# alembic-guard: ignore[...]` comments, with the reason written there. */
function suppressedList(report: Report): string {
  if (report.suppressed.length === 0) return '';
  const items = report.suppressed.map((finding) => {
    const place = finding.file ? inlineCode(finding.line ? `${finding.file}:${finding.line}` : finding.file) : '';
    const reason = finding.reason ? escapeMarkdownText(finding.reason) : '_no reason given_';
    return `- ${inlineCode(finding.rule)} ${place} — ${reason} (${inlineCode(finding.comment)})`;
  });
  return `<details><summary>${report.suppressed.length} suppressed</summary>\n\n${items.join('\n')}\n\n</details>`;
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

/** A finding's collapsed block: its objects (a grouped finding) and its suggestion; none when it has neither. */
function detailsBlock(finding: Finding): string {
  if (!finding.suggestion && (finding.objects ?? []).length === 0) return '';
  // Inside <summary> markdown is not parsed (it is an HTML block), so the project's text only needs entities.
  const where = location(finding);
  const summary =
    `${finding.suggestion ? 'Suggestion for' : 'Objects of'} <code>${escapeHtml(finding.rule)}</code>` +
    (where === null ? '' : ` at <code>${escapeHtml(oneLine(where))}</code>`);
  const body = [objectList(finding), finding.suggestion ? sanitizeMarkdown(finding.suggestion) : ''].filter((part) => part !== '');
  // The blank lines let GitHub parse the suggestion as markdown inside the HTML block.
  return `<details><summary>${summary}</summary>\n\n${body.join('\n\n')}\n\n</details>`;
}

/** "**3 objects:** `ix_a` (line 22), `ix_b` (line 23), `ix_c` (line 24)"; empty for a finding about one thing. */
function objectList(finding: Finding): string {
  const objects = findingObjects(finding);
  if (objects.length === 0) return '';
  const items = objects.map((object) => `${inlineCode(object.name)}${object.line === null ? '' : ` (line ${object.line})`}`);
  return `**${objects.length} objects:** ${items.join(', ')}`;
}

/** A longer missing migration is folded: it would push the rest of the comment off the screen. */
const MISSING_MIGRATION_SHOWN = 25;

function missingMigration(report: Report): string {
  if (!report.missingMigration) return '';
  const { upgrade, downgrade } = report.missingMigration;
  const code = `${upgrade.replace(/\n+$/, '')}\n\n\n${downgrade.replace(/\n+$/, '')}`;
  const lines = code.split('\n').length;
  const block = fencedCodeBlock(code, 'python');
  return [
    '#### Missing migration',
    'The models differ from the schema the migrations build. `alembic revision --autogenerate` would write:',
    lines > MISSING_MIGRATION_SHOWN ? `<details><summary>The migration (${lines} lines)</summary>\n\n${block}\n\n</details>` : block,
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

/** Most revisions a history graph draws; beyond that the graph would be unreadable in a comment. */
const GRAPH_LIMIT = 40;

/**
 * A Mermaid graph of the history when there are several heads: the branches from the revisions all heads share,
 * the newest shared one included, down to each head. New revisions are highlighted.
 */
function historyGraph(report: Report): string {
  const { heads } = report.revisions;
  if (heads.length < 2 || report.graph.length === 0) return '';
  const byId = new Map(report.graph.map((revision) => [revision.revision, revision]));
  const ancestry = (head: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [head];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id) || !byId.has(id)) continue;
      seen.add(id);
      stack.push(...byId.get(id)!.parents);
    }
    return seen;
  };
  const lines = heads.map(ancestry);
  const shared = new Set([...lines[0]].filter((id) => lines.every((line) => line.has(id))));
  const shown = new Set<string>();
  for (const line of lines) for (const id of line) if (!shared.has(id)) shown.add(id);
  // Where the branches start: the shared revisions that a branch's revision grows from.
  for (const id of [...shown]) for (const parent of byId.get(id)!.parents) if (shared.has(parent)) shown.add(parent);

  // Independent lines with branch_labels are a layout (`alembic upgrade heads`), not a fork: multiple-heads says which.
  const forked = report.findings.some((finding) => finding.rule === 'multiple-heads');
  const heading =
    `#### Revision history\n\nThe history has ${heads.length} heads (${heads.map((h) => inlineCode(h)).join(', ')}): ` +
    (forked
      ? '`alembic upgrade head` fails until a merge revision joins them.'
      : 'independent lines with `branch_labels`, upgraded together with `alembic upgrade heads`.');
  if (shown.size > GRAPH_LIMIT) return `${heading} The branches hold ${shown.size} revisions, too many to draw here.`;

  const ordered = report.graph.filter((revision) => shown.has(revision.revision));
  const node = new Map(ordered.map((revision, index) => [revision.revision, `r${index}`]));
  const graph = ['flowchart TB'];
  for (const revision of ordered) {
    const tags = [heads.includes(revision.revision) ? 'head' : '', revision.isNew ? 'new' : ''].filter(Boolean);
    const label = `${revision.revision}${tags.length ? ` (${tags.join(', ')})` : ''}: ${shorten(oneLine(revision.message), 48)}`;
    graph.push(`  ${node.get(revision.revision)}["${mermaidText(label)}"]`);
  }
  for (const revision of ordered) {
    for (const parent of revision.parents) {
      if (node.has(parent)) graph.push(`  ${node.get(parent)} --> ${node.get(revision.revision)}`);
    }
  }
  const fresh = ordered.filter((revision) => revision.isNew).map((revision) => node.get(revision.revision));
  if (fresh.length > 0) graph.push('  classDef new stroke-width:3px,stroke-dasharray:4 2', `  class ${fresh.join(',')} new`);
  return `${heading}\n\n${fencedCodeBlock(graph.join('\n'), 'mermaid')}`;
}

function shorten(text: string, length: number): string {
  const chars = [...text];
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join('')}…`;
}

/**
 * Text for a quoted Mermaid label: everything but plain letters, digits and punctuation that Mermaid leaves alone
 * becomes a `#code;` entity, so a label can hold no quote, no HTML, no markdown and no backtick (which could end
 * the code fence the graph sits in).
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const char of text) out += /^[A-Za-z0-9 _.,:;()/+=-]$/.test(char) ? char : `#${char.codePointAt(0)};`;
  return out;
}

/** What the pull request's migrations do to each table, from the schema before the first new one to after the last. */
function tableChanges(report: Report): string {
  if (report.tableChanges.length === 0) return '';
  const items = report.tableChanges.map(
    ({ table, changes }) => `- ${inlineCode(table)}: ${changes.map((change) => escapeMarkdownText(change)).join('; ')}`,
  );
  const list = items.join('\n');
  const title = 'What the new migrations change';
  if (items.length <= 10) return `#### ${title}\n\n${list}`;
  return `<details><summary>${title} (${items.length} tables)</summary>\n\n${list}\n\n</details>`;
}

/** An inline review comment: one finding, on the line it points at. */
export function renderFindingComment(finding: Finding): string {
  const blocks = [`**${SEVERITY_LABEL[finding.severity]}** ${inlineCode(finding.rule)} — ${messageMarkdown(finding.message)}`];
  const objects = objectList(finding);
  if (objects) blocks.push(objects);
  if (finding.suggestion) {
    blocks.push(`<details><summary>Suggestion</summary>\n\n${sanitizeMarkdown(finding.suggestion)}\n\n</details>`);
  }
  return blocks.join('\n\n');
}

/**
 * Cuts markdown to at most `limit` characters (UTF-16 units, never fewer than GitHub counts), at a line break
 * outside any code fence and any `<details>` block, and ends it with `notice`. Unchanged when it fits.
 */
export function truncateMarkdown(markdown: string, limit: number, notice: string): string {
  if (markdown.length <= limit) return markdown;
  const budget = limit - notice.length - 2;
  let cut = 0;
  let offset = 0;
  let fence: RegExp | null = null;
  let depth = 0;
  for (const line of markdown.split('\n')) {
    const end = offset + line.length; // the cut would drop the line break after this line
    if (end > budget) break;
    if (fence) {
      if (fence.test(line)) fence = null;
    } else {
      const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      if (open && !(open[1][0] === '`' && open[2].includes('`'))) {
        fence = new RegExp(`^ {0,3}${open[1][0] === '`' ? '`' : '~'}{${open[1].length},}[ \\t]*$`);
      } else {
        depth += (line.match(/<details>/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
      }
    }
    if (!fence && depth <= 0) cut = end;
    offset = end + 1;
  }
  return `${markdown.slice(0, cut).trimEnd()}\n\n${notice}`;
}
