// What every rule sees and returns: the pipeline's data in, findings out. Rules are pure functions.
import type { ModelDiff } from '../compare/compare.js';
import type { Evidence } from '../evidence/evidence.js';
import type { Finding, RuleId, Severity } from '../findings.js';
import type { MigrationGraph } from '../graph/graph.js';
import type { Replay } from '../replay/replay.js';

export interface JudgeInput {
  graph: MigrationGraph;
  replay: Replay;
  /** Null when the comparison did not run (the replay failed). */
  diff: ModelDiff | null;
  /** What the new revisions did on the replay; null when the PR adds none or history failed. */
  evidence: Evidence | null;
}

export interface Rule {
  id: RuleId;
  severity: Severity;
  check(input: JudgeInput): Finding[];
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
  };
}

/** A fenced code block that the content cannot close. */
export function codeBlock(language: string, code: string): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${code.replace(/\n+$/, '')}\n${fence}`;
}
