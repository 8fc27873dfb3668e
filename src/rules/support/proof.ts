// What the one-row proof (the statement re-run against its table holding one synthetic row) showed, in words.
import type { StatementEvidence } from '../../evidence/evidence.js';

/** "Postgres answered `...` when re-run with one row in `users`", or null when the proof did not fail. */
export function proofFailure(proof: StatementEvidence['proof']): string | null {
  if (!proof || !('error' in proof) || proof.error === null) return null;
  return `Postgres answered \`${proof.error}\` when re-run with one row in \`${proof.table}\``;
}

/** " (the one-row proof was skipped: ...)" when it was, else ''. */
export function proofSkipped(proof: StatementEvidence['proof']): string {
  return proof && 'skipped' in proof ? ` (the one-row proof was skipped: ${proof.skipped})` : '';
}
