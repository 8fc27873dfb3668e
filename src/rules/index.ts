// The rule set, and what settings and `# alembic-guard: ignore[...]` comments do to its findings.
import { UserError } from '../errors.js';
import { compareFindings, type Finding } from '../findings.js';
import type { MigrationGraph, Revision } from '../graph/graph.js';
import { isRuleId, type ProjectSettings } from '../settings/settings.js';
import { backfillUnderLock } from './backfill-under-lock.js';
import { columnTypeChange } from './column-type-change.js';
import { downgradeIncomplete } from './downgrade-incomplete.js';
import { dropColumn } from './drop-column.js';
import { dropTable } from './drop-table.js';
import { editedMigration } from './edited-migration.js';
import { emptyMigration } from './empty-migration.js';
import { foreignKeyValidates } from './foreign-key-validates.js';
import { indexNotConcurrent } from './index-not-concurrent.js';
import { missingMigration } from './missing-migration.js';
import { modelDrift } from './model-drift.js';
import { migrationImportsApp } from './migration-imports-app.js';
import { multipleHeads } from './multiple-heads.js';
import { notNullWithoutDefault } from './not-null-without-default.js';
import { removedMigration } from './removed-migration.js';
import { renameAsDropAdd } from './rename-as-drop-add.js';
import { renameColumn } from './rename-column.js';
import { renameTable } from './rename-table.js';
import { replayFailed } from './replay-failed.js';
import { setNotNull } from './set-not-null.js';
import { uniqueConstraintScan } from './unique-constraint-scan.js';
import { volatileDefault } from './volatile-default.js';
import type { JudgeInput, Rule } from './rule.js';
import { groupFindings } from './group.js';
import { applyMigrationsRun } from './migrations-run.js';

export const RULES: Rule[] = [
  replayFailed,
  multipleHeads,
  editedMigration,
  removedMigration,
  missingMigration,
  modelDrift,
  emptyMigration,
  migrationImportsApp,
  notNullWithoutDefault,
  setNotNull,
  volatileDefault,
  backfillUnderLock,
  columnTypeChange,
  indexNotConcurrent,
  foreignKeyValidates,
  uniqueConstraintScan,
  dropColumn,
  dropTable,
  renameAsDropAdd,
  renameColumn,
  renameTable,
  downgradeIncomplete,
];

export interface SuppressedFinding {
  finding: Finding;
  /** The reason written in the comment (may be empty). */
  reason: string;
  /** `file:line` of the comment. */
  comment: string;
}

export interface Judgement {
  /** Sorted: errors first, then by file and line. */
  findings: Finding[];
  suppressed: SuppressedFinding[];
}

/** Malformed directives and unknown rule ids in the new migrations stop the check with a clear message. */
export function validateDirectives(graph: MigrationGraph): void {
  for (const revision of graph.revisions) {
    if (!revision.isNew) continue;
    for (const directive of revision.directives) {
      const where = `${revision.file}:${directive.line}`;
      if (directive.error) throw new UserError(`${where}: ${directive.error}.`);
      if (directive.rules.length === 0) throw new UserError(`${where}: ignore[] names no rule; write ignore[rule-id].`);
      for (const id of directive.rules) {
        if (!isRuleId(id)) throw new UserError(`${where}: ignore[${id}] names an unknown rule. Known rules: ${RULES.map((r) => r.id).join(', ')}.`);
      }
    }
  }
}

function suppressionFor(finding: Finding, revision: Revision | undefined): { reason: string; line: number } | null {
  if (!revision || revision.file !== finding.file) return null;
  for (const directive of revision.directives) {
    if (!directive.rules.includes(finding.rule)) continue;
    if (directive.scope === 'file') return { reason: directive.reason, line: directive.line };
    if (finding.line === null) continue;
    if (directive.target === finding.line) return { reason: directive.reason, line: directive.line };
    const op = revision.ops.find((o) => finding.line! >= o.line && finding.line! <= o.endLine);
    if (op && directive.target >= op.line && directive.target <= op.endLine) return { reason: directive.reason, line: directive.line };
  }
  return null;
}

export function judge(input: JudgeInput, settings: ProjectSettings, rules: Rule[] = RULES): Judgement {
  const findings: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const found: Finding[] = [];
  for (const rule of rules) {
    if (settings.disabled.has(rule.id)) continue;
    const ruleStarted = performance.now();
    found.push(...rule.check(input));
    if (process.env.ALEMBIC_GUARD_DEBUG_TIMES) process.stderr.write(`rule ${rule.id}: ${(performance.now() - ruleStarted).toFixed(1)} ms\n`);
  }
  // How the project migrates decides what locks matter; an explicit severity setting wins over that.
  for (const adjusted of applyMigrationsRun(found, settings)) {
    const finding = { ...adjusted, severity: settings.severity.get(adjusted.rule) ?? adjusted.severity };
    const revision = finding.revision ? input.graph.byId.get(finding.revision) : undefined;
    const suppression = revision && (revision.isNew || revision.edited) ? suppressionFor(finding, revision) : null;
    if (suppression) suppressed.push({ finding, reason: suppression.reason, comment: `${revision!.file}:${suppression.line}` });
    else findings.push(finding);
  }
  return { findings: groupFindings(findings, rules).sort(compareFindings), suppressed };
}
