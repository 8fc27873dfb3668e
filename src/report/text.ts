// The text format: what a person reads in a terminal — each stage with its time, the findings (errors first), the verdict.
import type { Finding, Severity } from '../findings.js';
import { splitFencedCode, stripControlCharacters } from './escape.js';
import { findingObjects } from './objects.js';
import type { Report } from './report.js';

export interface TextOptions {
  /** ANSI colours and bold; false for pipes, files and NO_COLOR. */
  color: boolean;
}

export type SeverityCounts = Record<Severity, number>;

export function countFindings(findings: readonly Finding[]): SeverityCounts {
  const counts: SeverityCounts = { error: 0, warning: 0, notice: 0 };
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}

/** "2 errors, 1 warning"; empty when there is nothing to count. */
export function describeCounts(counts: SeverityCounts): string {
  return (['error', 'warning', 'notice'] as const)
    .filter((severity) => counts[severity] > 0)
    .map((severity) => `${counts[severity]} ${severity}${counts[severity] === 1 ? '' : 's'}`)
    .join(', ');
}

/** Seconds as the reports show them: two decimals. */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}

// Foreground colours reset with 39 and intensity with 22, so a coloured word inside a bold line keeps the bold.
const STYLES = {
  red: ['31', '39'],
  yellow: ['33', '39'],
  cyan: ['36', '39'],
  green: ['32', '39'],
  dim: ['2', '22'],
  bold: ['1', '22'],
} as const;
type Style = keyof typeof STYLES;
type Paint = (style: Style, text: string) => string;

const SEVERITY_STYLE: Record<Severity, Style> = { error: 'red', warning: 'yellow', notice: 'cyan' };
const SEVERITY_WIDTH = 'warning'.length;
const INDENT = '    ';

export function renderText(report: Report, options: TextOptions): string {
  const paint: Paint = options.color
    ? (style, text) => `\x1b[${STYLES[style][0]}m${text}\x1b[${STYLES[style][1]}m`
    : (_style, text) => text;
  const sections = [
    renderStages(report, paint),
    ...renderFindings(report.findings, paint),
    renderSuppressed(report, paint),
    renderVerdict(report, paint),
  ];
  return sections.filter((section) => section.length > 0).join('\n\n') + '\n';
}

function renderStages(report: Report, paint: Paint): string {
  if (report.stages.length === 0) return '';
  const width = Math.max(8, ...report.stages.map((stage) => stage.stage.length)) + 2;
  const replayFailed = report.findings.some((finding) => finding.rule === 'replay-failed');
  const lines = report.stages.map((stage) => {
    const mark = stage.stage === 'replay' && replayFailed ? paint('red', '✗') : paint('green', '✓');
    const detail = stripControlCharacters(stage.detail).split('\n')[0];
    const time = paint('dim', formatSeconds(stage.seconds).padStart(8));
    return `${mark} ${stage.stage.padEnd(width)}${time}${detail ? `  ${detail}` : ''}`;
  });
  lines.push(`  ${'total'.padEnd(width)}${paint('dim', formatSeconds(report.timings.total).padStart(8))}`);
  return lines.join('\n');
}

/** Findings silenced by `# alembic-guard: ignore[...]`, one line each with the comment's reason. */
function renderSuppressed(report: Report, paint: Paint): string {
  if (report.suppressed.length === 0) return '';
  const lines = report.suppressed.map((finding) => {
    const reason = finding.reason ? stripControlCharacters(finding.reason).split('\n')[0] : 'no reason given';
    return paint('dim', `  ${location(finding)}  ${finding.rule}  ignored at ${stripControlCharacters(finding.comment)}: ${reason}`);
  });
  return [paint('dim', `suppressed (${report.suppressed.length}):`), ...lines].join('\n');
}

/**
 * The findings in the report's order (errors, then warnings, then notices; by file and line within each), in blocks of
 * one file and one severity separated by a blank line. A grouped finding lists its objects under its message.
 */
function renderFindings(findings: readonly Finding[], paint: Paint): string[] {
  const blocks: Finding[][] = [];
  for (const finding of findings) {
    const last = blocks.at(-1);
    if (last && last[0].file === finding.file && last[0].severity === finding.severity) last.push(finding);
    else blocks.push([finding]);
  }
  return blocks.map((group) => {
    const locations = group.map((finding) => location(finding));
    const locationWidth = Math.max(...locations.map((text) => text.length));
    const ruleWidth = Math.max(...group.map((finding) => finding.rule.length));
    return group
      .map((finding, i) => {
        const [first, ...rest] = stripControlCharacters(finding.message).split('\n');
        const head = [
          ...(locationWidth > 0 ? [locations[i].padEnd(locationWidth)] : []),
          paint(SEVERITY_STYLE[finding.severity], finding.severity.padEnd(SEVERITY_WIDTH)),
          finding.rule.padEnd(ruleWidth),
          first,
        ].join('  ');
        const lines = [head, ...rest.map((line) => (line ? INDENT + line : ''))];
        const objects = findingObjects(finding);
        if (objects.length > 0) {
          const items = objects.map((object) => `${object.name}${object.line === null ? '' : ` (line ${object.line})`}`);
          lines.push(`${INDENT}${objects.length} objects: ${stripControlCharacters(items.join(', ')).split('\n').join(' ')}`);
        }
        if (finding.suggestion) lines.push(...suggestionLines(stripControlCharacters(finding.suggestion)));
        return lines.join('\n');
      })
      .join('\n');
  });
}

function location(finding: Finding): string {
  if (finding.file === null) return '';
  const file = stripControlCharacters(finding.file);
  return finding.line === null ? file : `${file}:${finding.line}`;
}

/** Prose indented under the finding; fenced code without its fences, indented once more. */
function suggestionLines(suggestion: string): string[] {
  const out: string[] = [];
  for (const segment of splitFencedCode(suggestion)) {
    const lines = (segment.kind === 'code' ? segment.code : segment.text).split('\n');
    while (lines.length > 0 && lines[0].trim() === '') lines.shift();
    while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
    if (lines.length === 0) continue;
    if (out.length > 0) out.push('');
    const indent = segment.kind === 'code' ? INDENT + INDENT : INDENT;
    for (const line of lines) out.push(line.trim() === '' ? '' : indent + line);
  }
  return out;
}

function renderVerdict(report: Report, paint: Paint): string {
  const counts = describeCounts(countFindings(report.findings));
  switch (report.status) {
    case 'error':
      return paint('bold', paint('red', 'ERROR')) + '  the check could not run';
    case 'fail':
      return `${paint('bold', paint('red', 'FAIL'))}  ${counts} (fail-on: ${report.failOn})`;
    case 'pass': {
      const pass = paint('bold', paint('green', 'PASS'));
      if (counts === '') return `${pass}  no findings`;
      if (report.failOn === 'never') return `${pass}  ${counts} (fail-on: never)`;
      return `${pass}  ${counts} below fail-on ${report.failOn}`;
    }
  }
}
