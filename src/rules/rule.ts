// What every rule sees and returns: the pipeline's data in, findings out. Rules are pure functions.
import type { BaseDrift } from '../compare/base-drift.js';
import type { ModelDiff } from '../compare/compare.js';
import type { BaseModelDrift, ModelDrift } from '../compare/model-drift.js';
import type { Evidence } from '../evidence/evidence.js';
import type { Finding, RuleId, Severity } from '../findings.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { Replay } from '../replay/replay.js';

export interface JudgeInput {
  graph: MigrationGraph;
  replay: Replay;
  /**
   * What the pull request must add for the models: the comparison at head without the drift already on base.
   * Null when the comparison did not run (the replay failed).
   */
  diff: ModelDiff | null;
  /** The drift on base (or why it could not be found); null without a base, or when head had no difference. */
  baseDrift?: BaseDrift | null;
  /** model-drift: what the catalogs of the models' create_all() and of the migrated database disagree on; null when not compared. */
  modelDrift?: ModelDrift | null;
  /** The same at base; null without a base, or when head had no such drift. */
  baseModelDrift?: BaseModelDrift | null;
  /** What the new revisions did on the replay; null when the PR adds none or history failed. */
  evidence: Evidence | null;
}

export interface Rule {
  id: RuleId;
  severity: Severity;
  check(input: JudgeInput): Finding[];
  /**
   * How several findings of this rule read as one (src/rules/group.ts): findings that name an `object` and share the
   * migration, the severity and the fix become one finding listing the objects. Without it the generic wording is used.
   */
  group?: GroupWording;
}

/** One group of findings about several objects: same rule, migration, severity and fix. */
export interface FindingGroup {
  /** The findings, top to bottom (by line). */
  findings: Finding[];
  /** Their objects, in the same order. */
  names: string[];
  /**
   * The objects for a message: "`ix_a`, `ix_b` and `ix_c` (lines 12–14)"; past six names, the first five and
   * "3 more". The finding's `objects` has every one.
   */
  listed: string;
  /** The i-th code block of every finding's suggestion, merged into one (the same statement for each object, one after the other). */
  code: string[];
}

export interface GroupWording {
  /** What one object is, and several: "index", "indexes". */
  noun: string;
  plural: string;
  /**
   * Which fix a finding needs: findings group only with the same one. Default: the prose of its suggestion (the text
   * outside code blocks) with its object's name taken out, so that the same advice about another object is the same fix.
   */
  fix?(finding: Finding): string;
  /**
   * The grouped finding's message (one sentence naming the count, what was done and `group.listed`) and its one
   * suggestion (the advice once, around `group.code`). Null for a kind of finding it has no wording for: then the
   * generic one (the first finding's message and suggestion, the other objects listed after it).
   */
  summarize?(group: FindingGroup): { message: string; suggestion: string | null } | null;
}

type FindingFields = Omit<Finding, 'rule' | 'severity' | 'file' | 'line' | 'revision' | 'suggestion'> &
  Partial<Pick<Finding, 'file' | 'line' | 'revision' | 'suggestion'>>;

export function finding(rule: Pick<Rule, 'id' | 'severity'>, fields: FindingFields): Finding {
  return {
    rule: rule.id,
    severity: rule.severity,
    message: fields.message,
    file: fields.file ?? null,
    line: fields.line ?? null,
    revision: fields.revision ?? null,
    suggestion: fields.suggestion ?? null,
    ...(fields.object !== undefined ? { object: fields.object } : {}),
    ...(fields.concern !== undefined ? { concern: fields.concern } : {}),
    ...(fields.objects !== undefined ? { objects: fields.objects } : {}),
  };
}

/** A fenced code block that the content cannot close. */
export function codeBlock(language: string, code: string): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${code.replace(/\n+$/, '')}\n${fence}`;
}

/** The suggestion ending with the paragraph `line`, once, whatever it ended with before. */
export function endingWith(suggestion: string | null, line: string): string {
  if (!suggestion) return line;
  const text = suggestion.replace(/\s+$/, '');
  return text.endsWith(line) ? text : `${text}\n\n${line}`;
}
