// What the judge stage produces: findings with a rule id, a severity and a place in the repository.

export type Severity = 'error' | 'warning' | 'notice';

export const RULE_IDS = [
  'replay-failed',
  'multiple-heads',
  'edited-migration',
  'missing-migration',
  'model-drift',
  'removed-migration',
  'backfill-under-lock',
  'migration-imports-app',
  'not-null-without-default',
  'set-not-null',
  'drop-column',
  'drop-table',
  'rename-as-drop-add',
  'rename-column',
  'rename-table',
  'column-type-change',
  'index-not-concurrent',
  'foreign-key-validates',
  'unique-constraint-scan',
  'volatile-default',
  'empty-migration',
  'downgrade-incomplete',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export interface Finding {
  rule: RuleId;
  severity: Severity;
  /** One sentence. */
  message: string;
  /** Relative to the repository root, with forward slashes. */
  file: string | null;
  /** 1-based. */
  line: number | null;
  revision: string | null;
  /** Markdown and/or Python code, or null. */
  suggestion: string | null;
  /**
   * A grouped finding (one rule, one migration, one fix, several objects) lists them: "ix_a (line 12)", …
   * Rendered in the JSON contract as `objects`; absent for a finding about one thing.
   */
  objects?: string[];
  /** Internal (not in the JSON contract): the one object this finding is about, the key findings are grouped by. */
  object?: string;
  /**
   * Internal: what the finding is about. 'lock' = only the locks it takes matter; 'deploy' = code deployed before the
   * migration breaks while it runs (apps that migrate while stopped care for neither: `migrations-run = "offline"`
   * turns them into notices); 'data' or absent = it fails or loses data.
   */
  concern?: 'lock' | 'data' | 'deploy';
}

const SEVERITY_RANK: Record<Severity, number> = { notice: 0, warning: 1, error: 2 };

export type FailOn = Severity | 'never';

/** True when the finding is at or above the gate. */
export function reachesGate(severity: Severity, failOn: FailOn): boolean {
  if (failOn === 'never') return false;
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[failOn];
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    (a.file ?? '\uffff').localeCompare(b.file ?? '\uffff') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    a.rule.localeCompare(b.rule)
  );
}
