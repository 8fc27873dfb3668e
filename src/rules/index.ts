// The rule set, in the order findings are gathered.
import { compareFindings, type Finding } from '../findings.js';
import { editedMigration } from './edited-migration.js';
import { emptyMigration } from './empty-migration.js';
import { missingMigration } from './missing-migration.js';
import { multipleHeads } from './multiple-heads.js';
import { replayFailed } from './replay-failed.js';
import type { JudgeInput, Rule } from './rule.js';

export const RULES: Rule[] = [replayFailed, multipleHeads, editedMigration, missingMigration, emptyMigration];

export function judge(input: JudgeInput): Finding[] {
  return RULES.flatMap((rule) => rule.check(input)).sort(compareFindings);
}
