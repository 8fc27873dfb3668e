// multiple-heads: the revision graph has more than one head (a fork, or a second root), so `alembic upgrade head` no longer knows where to go.
import { commonAncestors, lineage, rootsOf, type MigrationGraph, type Revision } from '../graph/graph.js';
import type { Finding } from '../findings.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { pyRevisions } from './support/python-code.js';
import { joinAnd } from './support/words.js';

export const multipleHeads: Rule = {
  id: 'multiple-heads',
  severity: 'error',
  check({ graph }) {
    if (graph.heads.length < 2) return [];
    const lines = lineagesOfHeads(graph);
    const findings = lines.filter((heads) => heads.length > 1).map((heads) => forkFinding(graph, heads));
    if (!deliberateLines(graph, lines)) findings.push(independentRootsFinding(graph, lines));
    return findings;
  },
};

/** Whether `alembic upgrade head` refuses this graph: several heads that are not deliberate independent lines. */
export function headsBlockUpgrade(graph: MigrationGraph): boolean {
  if (graph.heads.length < 2) return false;
  const lines = lineagesOfHeads(graph);
  return lines.some((heads) => heads.length > 1) || !deliberateLines(graph, lines);
}

/** Lines of history with no common ancestor are a deliberate layout only when each carries branch_labels. */
function deliberateLines(graph: MigrationGraph, lines: string[][]): boolean {
  return lines.length < 2 || lines.every((heads) => heads.every((head) => isLabelled(graph, head)));
}

/** The heads grouped by line of history: two heads are in one line when they share an ancestor. Sorted. */
function lineagesOfHeads(graph: MigrationGraph): string[][] {
  const heads = [...graph.heads].sort();
  const lineages = new Map(heads.map((head) => [head, lineage(graph, head)]));
  const groups: string[][] = [];
  for (const head of heads) {
    const joined = groups.filter((group) => group.some((other) => [...lineages.get(head)!].some((id) => lineages.get(other)!.has(id))));
    const merged = [...joined.flat(), head].sort();
    for (const group of joined) groups.splice(groups.indexOf(group), 1);
    groups.push(merged);
  }
  return groups.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The head or one of its ancestors declares branch_labels. */
function isLabelled(graph: MigrationGraph, head: string): boolean {
  return [...lineage(graph, head)].some((id) => (graph.byId.get(id)?.branchLabels.length ?? 0) > 0);
}

/** The pull request's revision among `ids` (the last new one), else the last of them. */
function culpritAmong(graph: MigrationGraph, ids: string[]): Revision {
  const revisions = ids.map((id) => graph.byId.get(id)!).filter(Boolean);
  return [...revisions].reverse().find((revision) => revision.isNew) ?? revisions[revisions.length - 1];
}

/** Two migrations written on the same parent. */
function forkFinding(graph: MigrationGraph, heads: string[]): Finding {
  const ancestors = commonAncestors(graph, heads);
  const culprit = culpritAmong(graph, heads);
  const merge = `alembic merge -m "merge heads" ${heads.join(' ')}`;
  return finding(multipleHeads, {
    message:
      `The revision graph has ${heads.length} heads (${heads.join(', ')}) that branch from ${ancestors.join(', ')}: ` +
      'two migrations were written on the same parent, so `alembic upgrade head` fails.',
    file: culprit.file,
    line: culprit.downRevisionLine,
    revision: culprit.id,
    suggestion: `Rebase this migration onto the current head (set its \`down_revision\`), or add a merge revision:\n\n${codeBlock('sh', merge)}`,
  });
}

/** Two (or more) lines of history with their own roots, not all of them labelled. */
function independentRootsFinding(graph: MigrationGraph, lines: string[][]): Finding {
  const rootsByLine = lines.map((heads) => [...new Set(heads.flatMap((head) => rootsOf(graph, head)))].sort());
  const unlabelled = lines.map((heads) => !heads.every((head) => isLabelled(graph, head)));
  const roots = rootsByLine.flat();
  // Point at the root the pull request added, else at the pull request's revision in any line, else at the last unlabelled root.
  const inLines = [...new Set(lines.flat().flatMap((head) => [...lineage(graph, head)]))].sort();
  const culprit =
    [...roots, ...inLines].map((id) => graph.byId.get(id)!).find((revision) => revision?.isNew) ??
    graph.byId.get(rootsByLine.filter((_, index) => unlabelled[index]).flat().pop()!)!;
  const culpritLine = lines.findIndex((heads) => heads.some((head) => lineage(graph, head).has(culprit.id)));
  const culpritRoot = rootsOf(graph, culprit.id)[0] ?? culprit.id;
  const otherHeads = lines.filter((_, index) => index !== culpritLine).flat();

  const named = (id: string) => `${id} (${graph.byId.get(id)?.file ?? 'unknown file'})`;
  const noLabels = roots.filter((id) => unlabelled[rootsByLine.findIndex((line) => line.includes(id))]);
  const every = roots.length === 2 ? 'both' : 'all';
  const which =
    noLabels.length === roots.length
      ? `${every} have down_revision = None and no branch_labels`
      : `${every} have down_revision = None and ${joinAnd(noLabels)} ${noLabels.length === 1 ? 'has' : 'have'} no branch_labels`;
  const message =
    `The revision graph has ${roots.length === 2 ? 'two' : roots.length} independent roots: ${joinAnd(roots.map(named))} ${which}, ` +
    "so `alembic upgrade head` fails with 'Multiple head revisions are present'.";

  const target = graph.byId.get(culpritRoot) ?? culprit;
  const toLabel = noLabels.map((id) => graph.byId.get(id)!).filter(Boolean);
  const labelOf = (revision: Revision) => (revision === target ? labelFor(revision) : 'main');
  const historyToLabel = toLabel.filter((revision) => !revision.isNew);
  const parts = [
    `If ${target.id} belongs after the existing history, make it revise the current head: in \`${target.file}\`\n\n` +
      codeBlock('python', `down_revision = ${pyRevisions(otherHeads)}`),
    'If it really is a separate line of history, label each root that has no label (' +
      toLabel.map((revision) => `\`branch_labels = ("${labelOf(revision)}",)\` in \`${revision.file}\``).join(', ') +
      "), add `depends_on` where one line needs the other's tables, and deploy with `alembic upgrade heads` " +
      `(\`alembic upgrade head\` means one head; one line is \`alembic upgrade ${target.branchLabels[0] ?? labelFor(target)}@head\`).` +
      (historyToLabel.length > 0
        ? ` Labelling ${joinAnd(historyToLabel.map((r) => r.id))}, which ${historyToLabel.length === 1 ? 'exists' : 'exist'} at base, ` +
          'is reported as edited-migration; it is safe ' +
          '(Alembic reads labels from the files, never from the database): silence it with ' +
          '`# alembic-guard: ignore[edited-migration] branch label` in that file.'
        : ''),
  ];
  return finding(multipleHeads, {
    message,
    file: target.file,
    line: target.downRevisionLine,
    revision: target.id,
    suggestion: parts.join('\n\n'),
  });
}

/** A label to start from, made of the revision's message ("create audit log" -> "audit_log"). */
function labelFor(revision: Revision): string {
  const words = revision.message
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((word) => word && !['create', 'add', 'initial', 'init', 'table', 'tables', 'the', 'a', 'an'].includes(word));
  return words.slice(0, 2).join('_') || revision.id;
}
