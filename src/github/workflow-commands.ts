// The runner's side channels: workflow commands on stdout (annotations within GitHub's cap, groups, stop-commands), $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

/** A command's message: the runner reads `%`, CR and LF as escapes, so they are escaped (a message stays one command). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A command's property value: as escapeData, and `:` and `,` too, which end a value. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::name key=value,...::message`, every part escaped. */
export function workflowCommand(name: string, properties: Record<string, string | number | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface Annotation {
  level: AnnotationLevel;
  message: string;
  title?: string;
  /** Relative to $GITHUB_WORKSPACE. */
  file?: string;
  line?: number;
}

export function annotationCommand(annotation: Annotation): string {
  return workflowCommand(
    annotation.level,
    { file: annotation.file, line: annotation.line, title: annotation.title },
    annotation.message,
  );
}

/** GitHub shows at most this many annotations of each level (error, warning, notice) per step: the first ones printed. */
export const ANNOTATIONS_PER_LEVEL = 10;

const LEVELS: AnnotationLevel[] = ['error', 'warning', 'notice'];

export type AnnotationCounts = Record<AnnotationLevel, number>;

export interface AnnotationCap {
  /** Room to keep at a level for annotations the step prints later (the action's own notes). */
  reserve?: Partial<AnnotationCounts>;
  /** The notice that says how many were left out (of each level), printed last when some were. */
  overflow: (omitted: AnnotationCounts) => Omit<Annotation, 'level'>;
}

/**
 * The annotations to print so that GitHub shows them all: errors first, then warnings, then notices (each level in the
 * order given), at most ANNOTATIONS_PER_LEVEL of each, less what `reserve` keeps. When some are left out, a last notice
 * (which takes a notice's room) says how many.
 */
export function capAnnotations(annotations: readonly Annotation[], cap: AnnotationCap): Annotation[] {
  const room = (level: AnnotationLevel) => Math.max(0, ANNOTATIONS_PER_LEVEL - (cap.reserve?.[level] ?? 0));
  const count = (level: AnnotationLevel) => annotations.filter((annotation) => annotation.level === level).length;
  const fits = LEVELS.every((level) => count(level) <= room(level));
  const kept: AnnotationCounts = { error: 0, warning: 0, notice: 0 };
  const omitted: AnnotationCounts = { error: 0, warning: 0, notice: 0 };
  const shown: Annotation[] = [];
  for (const level of LEVELS) {
    const limit = fits || level !== 'notice' ? room(level) : Math.max(0, room(level) - 1);
    for (const annotation of annotations) {
      if (annotation.level !== level) continue;
      if (kept[level] < limit) {
        shown.push(annotation);
        kept[level]++;
      } else omitted[level]++;
    }
  }
  if (!fits) shown.push({ ...cap.overflow(omitted), level: 'notice' });
  return shown;
}

/**
 * Lines that the runner must not read as commands (the progress of a check prints what the project's code and
 * Postgres say). Returns the line to print before, and the one that turns commands back on after.
 */
export function stopCommands(): { stop: string; resume: string } {
  const token = `alembic-guard-${randomUUID()}`;
  return { stop: `::stop-commands::${token}`, resume: `::${token}::` };
}

/** Appends `name<<DELIMITER ... DELIMITER` blocks to $GITHUB_OUTPUT: multi-line safe, with a delimiter the value cannot hold. */
export function writeOutputs(file: string, outputs: Record<string, string>): void {
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    const delimiter = `ghadelimiter_${randomUUID()}`;
    text += `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
  }
  appendFileSync(file, text, 'utf8');
}

/** GitHub shows at most 1 MiB of a step's summary. */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;

export function appendStepSummary(file: string, markdown: string): void {
  appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`, 'utf8');
}
