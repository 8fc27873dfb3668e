// One finding per pattern: the same rule, in the same migration, with the same fix, becomes one finding listing its objects.
import type { Finding } from '../findings.js';
import { codeBlock, endingWith, type FindingGroup, type Rule } from './rule.js';
import { joinAnd } from './support/words.js';

/** Past this many names a message lists the first LISTED_NAMES and says how many more; `objects` has them all. */
const MOST_NAMES = 6;
const LISTED_NAMES = 5;

/**
 * Groups the findings that name an `object` and share rule, file, revision, severity, concern and fix into one finding
 * whose `objects` lists them; its line is the first object's. A group of one stays the finding it was; findings
 * without an object, or outside any migration (no file), are never grouped. The order of the findings is kept (each
 * group takes the place of its first finding).
 */
export function groupFindings(findings: Finding[], rules: Rule[]): Finding[] {
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  const groups = new Map<string, Finding[]>();
  const slots: (Finding | string)[] = [];
  for (const finding of findings) {
    if (finding.object === undefined || finding.file === null) {
      slots.push(finding);
      continue;
    }
    const key = groupKey(finding, byId.get(finding.rule));
    const group = groups.get(key);
    if (group) group.push(finding);
    else {
      groups.set(key, [finding]);
      slots.push(key);
    }
  }
  return slots.map((slot) => {
    if (typeof slot !== 'string') return slot;
    const group = groups.get(slot)!;
    return group.length === 1 ? group[0]! : mergeGroup(group, byId.get(group[0]!.rule));
  });
}

function groupKey(finding: Finding, rule: Rule | undefined): string {
  const fix = rule?.group?.fix ? rule.group.fix(finding) : defaultFix(finding);
  return [finding.rule, finding.file, finding.revision ?? '', finding.severity, finding.concern ?? '', fix].join('\u0000');
}

/** The suggestion's prose with the object's name taken out, and where its code blocks sit: the advice, not its code. */
function defaultFix(finding: Finding): string {
  if (finding.suggestion === null) return '';
  const object = finding.object ?? '';
  return suggestionSegments(finding.suggestion)
    .map((segment) => (segment.kind === 'code' ? `\u0001code:${segment.language}\u0001` : segment.lines.join('\n')))
    .join('\n')
    .split(object)
    .join('\u0002')
    .replace(/\s+/g, ' ')
    .trim();
}

function byLine(a: Finding, b: Finding): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

function mergeGroup(members: Finding[], rule: Rule | undefined): Finding {
  const findings = [...members].sort(byLine);
  const first = findings[0]!;
  const names = findings.map((finding) => finding.object!);
  const lines = new Set(findings.map((finding) => finding.line));
  const objects = lines.size > 1 ? findings.map((finding) => `${finding.object}${finding.line === null ? '' : ` (line ${finding.line})`}`) : names;
  const group: FindingGroup = { findings, names, listed: listNames(names, findings), code: mergedCode(findings) };
  const worded = rule?.group?.summarize?.(group) ?? genericWording(group, rule);
  const grouped: Finding = {
    rule: first.rule,
    severity: first.severity,
    message: worded.message,
    file: first.file,
    line: first.line,
    revision: first.revision,
    suggestion: withSharedTail(worded.suggestion, sharedTail(findings)),
    objects,
  };
  if (first.concern !== undefined) grouped.concern = first.concern;
  return grouped;
}

/**
 * The paragraphs every suggestion of the group ends with after its last code block: what was added to each after the
 * rule wrote it (migrations-run's line about offline migrations), which a rule's own group wording does not know of.
 */
function sharedTail(findings: Finding[]): string {
  const tails = findings.map((finding) => {
    const segments = finding.suggestion === null ? [] : suggestionSegments(finding.suggestion);
    if (segments.length < 2) return null;
    const text = (segments.at(-1) as { lines: string[] }).lines.join('\n').trim();
    return text === '' ? [] : text.split(/\n[ \t]*\n/).map((paragraph) => paragraph.trim());
  });
  if (tails.some((tail) => tail === null || tail.length === 0)) return '';
  const [first, ...others] = tails as string[][];
  let shared = 0;
  while (shared < first!.length && others.every((tail) => tail.at(-1 - shared) === first!.at(-1 - shared))) shared++;
  return first!.slice(first!.length - shared).join('\n\n');
}

function withSharedTail(suggestion: string | null, tail: string): string | null {
  return tail === '' ? suggestion : endingWith(suggestion, tail);
}

/** "`ix_a`, `ix_b` and `ix_c` (lines 12–14)": the names as code, then the lines they are on. */
function listNames(names: string[], findings: Finding[]): string {
  const quoted = names.map((name) => quote(name));
  const shown = quoted.length > MOST_NAMES ? [...quoted.slice(0, LISTED_NAMES), `${quoted.length - LISTED_NAMES} more`] : quoted;
  return `${joinAnd(shown)}${linesClause(findings)}`;
}

/** " (line 12)", " (lines 12–30)", or nothing when no finding has a line. */
function linesClause(findings: Finding[]): string {
  const lines = findings.map((finding) => finding.line).filter((line): line is number => line !== null);
  if (lines.length === 0) return '';
  const low = Math.min(...lines);
  const high = Math.max(...lines);
  return low === high ? ` (line ${low})` : ` (lines ${low}–${high})`;
}

/** A name as a code span in a message (the renderers turn backtick pairs into code); one with a backtick stays plain. */
function quote(name: string): string {
  return name.includes('`') ? name : `\`${name}\``;
}

// ---------------------------------------------------------------------------------------------------------------
// Code: the i-th block of each suggestion, merged into one

/**
 * The i-th code block of every finding's suggestion, merged: import lines once at the top, the leading lines all the
 * blocks share (a `with op.get_context().autocommit_block():`) once, then what each block has of its own, in order.
 */
function mergedCode(findings: Finding[]): string[] {
  const blocks = findings.map((finding) =>
    finding.suggestion === null ? [] : suggestionSegments(finding.suggestion).flatMap((segment) => (segment.kind === 'code' ? [segment.code] : [])),
  );
  const count = Math.min(...blocks.map((b) => b.length));
  const merged: string[] = [];
  for (let i = 0; i < count; i++) merged.push(mergeBlocks(blocks.map((b) => b[i]!)));
  return merged;
}

const IMPORT = /^(?:from\s+\S+\s+)?import\s/;

/**
 * Several blocks of Python as one: their imports once at the top, the leading lines they all share (a `with ...:`
 * header) once, then the rest of each block in order, a comment line repeated from an earlier block left out.
 */
export function mergeBlocks(blocks: string[]): string {
  const imports: string[] = [];
  const bodies = blocks.map((block) => {
    const lines = block.replace(/\n+$/, '').split('\n');
    let start = 0;
    for (; start < lines.length && IMPORT.test(lines[start]!); start++) {
      if (!imports.includes(lines[start]!)) imports.push(lines[start]!);
    }
    if (start > 0) while (start < lines.length && lines[start]!.trim() === '') start++;
    return lines.slice(start);
  });
  // What every block starts with (a `with ...:` header) is said once; each block keeps at least one line of its own.
  let shared = 0;
  const shortest = Math.min(...bodies.map((body) => body.length));
  while (shared < shortest - 1 && bodies.every((body) => body[shared] === bodies[0]![shared])) shared++;
  const lines = [...bodies[0]!.slice(0, shared)];
  for (const line of bodies.flatMap((body) => body.slice(shared))) {
    // A comment line that says the same for each object is said once, the first time.
    if (line.trimStart().startsWith('#') && lines.includes(line)) continue;
    lines.push(line);
  }
  return [...imports, ...(imports.length > 0 ? [''] : []), ...lines].join('\n');
}

type Segment = { kind: 'prose'; lines: string[] } | { kind: 'code'; language: string; code: string };

/** A suggestion as the rules write it (prose, and code fenced by codeBlock): its prose and code blocks, in order. */
export function suggestionSegments(suggestion: string): Segment[] {
  const segments: Segment[] = [];
  const lines = suggestion.split('\n');
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([^`]*)$/.exec(lines[i]!);
    if (!open) {
      prose.push(lines[i]!);
      continue;
    }
    segments.push({ kind: 'prose', lines: prose });
    prose = [];
    const code: string[] = [];
    for (i++; i < lines.length && lines[i] !== open[1]; i++) code.push(lines[i]!);
    segments.push({ kind: 'code', language: open[2]!.trim(), code: code.join('\n') });
  }
  segments.push({ kind: 'prose', lines: prose });
  return segments;
}

// ---------------------------------------------------------------------------------------------------------------
// The generic wording, for rules without their own

/**
 * The first finding's message, then the other objects: "... blocked for the whole build. The same for 2 more indexes:
 * `ix_b` (line 13) and `ix_c` (line 14)." The first finding's suggestion with each code block merged.
 */
function genericWording(group: FindingGroup, rule: Rule | undefined): { message: string; suggestion: string | null } {
  const [first, ...others] = group.findings;
  const more = others.length;
  const what = rule?.group ? ` ${more} more ${more === 1 ? rule.group.noun : rule.group.plural}:` : '';
  const listed = others.map((finding, i) => `${quote(group.names[i + 1]!)}${finding.line !== null && finding.line !== first!.line ? ` (line ${finding.line})` : ''}`);
  const shown = listed.length > MOST_NAMES ? [...listed.slice(0, LISTED_NAMES), `${listed.length - LISTED_NAMES} more`] : listed;
  const message = `${first!.message.replace(/\s+$/, '')} The same for${what} ${joinAnd(shown)}.`;
  return { message, suggestion: withMergedCode(first!.suggestion, group.code) };
}

/** The suggestion with its code blocks replaced, in order, by the merged ones. */
export function withMergedCode(suggestion: string | null, code: string[]): string | null {
  if (suggestion === null) return null;
  let i = 0;
  return suggestionSegments(suggestion)
    .flatMap((segment) => (segment.kind === 'code' ? [codeBlock(segment.language, code[i++] ?? segment.code)] : segment.lines))
    .join('\n');
}
