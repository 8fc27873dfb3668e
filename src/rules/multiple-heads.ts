// multiple-heads: two migrations claim the same parent, so `alembic upgrade head` no longer knows where to go.
import { commonAncestors } from '../graph/graph.js';
import { codeBlock, finding, type Rule } from './rule.js';

export const multipleHeads: Rule = {
  id: 'multiple-heads',
  severity: 'error',
  check({ graph }) {
    if (graph.heads.length < 2) return [];
    const ancestors = commonAncestors(graph, graph.heads);
    // Independent branches with their own roots (branch_labels) are a deliberate layout, not a fork.
    if (ancestors.length === 0) return [];
    const heads = [...graph.heads].sort();
    const culprit =
      heads.map((id) => graph.byId.get(id)!).find((revision) => revision.isNew) ?? graph.byId.get(heads[heads.length - 1])!;
    const merge = `alembic merge -m "merge heads" ${heads.join(' ')}`;
    return [
      finding(multipleHeads, {
        message:
          `The revision graph has ${heads.length} heads (${heads.join(', ')}) that branch from ${ancestors.join(', ')}: ` +
          'two migrations were written on the same parent, so `alembic upgrade head` fails.',
        file: culprit.file,
        line: culprit.downRevisionLine,
        revision: culprit.id,
        suggestion:
          `Rebase this migration onto the current head (set its \`down_revision\`), or add a merge revision:\n\n${codeBlock('sh', merge)}`,
      }),
    ];
  },
};
