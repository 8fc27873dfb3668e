// One finding per pattern: the same rule, in the same migration, with the same fix, becomes one finding listing its objects.
import type { Finding } from '../findings.js';
import type { Rule } from './rule.js';

/** Groups findings that share rule, file, revision and severity (placeholder: returns them unchanged). */
export function groupFindings(findings: Finding[], _rules: Rule[]): Finding[] {
  return findings;
}
