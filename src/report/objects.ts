// The objects of a grouped finding (one rule, one migration, one fix, several objects), as the renderers show them.
import type { Finding } from '../findings.js';

export interface FindingObject {
  name: string;
  /** The object's own line, when the objects of the finding are on different lines. */
  line: number | null;
}

/** `objects` read back: "ix_a (line 12)" is `ix_a` at line 12, a name without the suffix has no line of its own. */
export function findingObjects(finding: Finding): FindingObject[] {
  return (finding.objects ?? []).map((object) => {
    const match = /^(.*) \(line (\d+)\)$/s.exec(object);
    return match ? { name: match[1]!, line: Number(match[2]) } : { name: object, line: null };
  });
}

/** Whether the message leaves some of the objects unnamed (it lists the first few and says how many more). */
export function messageOmitsObjects(finding: Finding): boolean {
  return findingObjects(finding).some((object) => !finding.message.includes(object.name));
}
