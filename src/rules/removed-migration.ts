// removed-migration: a revision that exists at base is deleted or renamed, so databases stamped at it can no longer upgrade.
import { posix } from 'node:path';
import type { MigrationGraph, RemovedRevision, Revision } from '../graph/graph.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { pyRevisions } from './support/python-code.js';
import { joinAnd } from './support/words.js';

export const removedMigration: Rule = {
  id: 'removed-migration',
  severity: 'error',
  check({ graph }) {
    const removed = graph.removed ?? [];
    const removedById = new Map(removed.map((r) => [r.id, r]));
    return removed.map((revision) => {
      const who =
        revision.children.length === 0
          ? `any environment deployed since it was merged, as it is a head at ${graph.base}`
          : 'any environment last deployed while it was the head';
      const what = revision.renamedTo
        ? `is renamed to ${revision.renamedTo} (same down_revision, same upgrade and downgrade)`
        : 'is gone from this pull request';
      return finding(removedMigration, {
        message:
          `Revision ${revision.id}${revision.message ? ` ("${revision.message}")` : ''}, which exists at ${graph.base}, ${what}: ` +
          `every database whose alembic_version is ${revision.id} — ${who} — fails \`alembic upgrade\` with ` +
          `"Can't locate revision identified by '${revision.id}'".`,
        file: revision.file,
        line: revision.line,
        revision: revision.id,
        suggestion: suggestion(graph, revision, removedById),
      });
    });
  },
};

function suggestion(graph: MigrationGraph, revision: RemovedRevision, removedById: Map<string, RemovedRevision>): string {
  const restore = graph.baseCommit ? ` (\`git checkout ${graph.baseCommit.slice(0, 12)} -- ${revision.file}\`)` : '';
  const descendants = removedDescendants(revision, removedById);
  if (!revision.renamedTo && descendants.length > 0 && revision.children.every((child) => removedById.has(child.id) && !removedById.get(child.id)!.renamedTo)) {
    // Part-way through revisions that were replaced together: no single no-op can say what such a database has run.
    return (
      `Restore it${restore} and the revisions after it. A database at ${revision.id} has run only part of ` +
      `${joinAnd([revision.id, ...descendants])}, which this pull request replaces together, so no no-op revision can stand in ` +
      `for it: if they were squashed on purpose, first upgrade every environment past ${revision.id} with the old code.`
    );
  }

  const parents = noOpParents(graph, revision, removedById);
  const successors = graph.revisions.filter(
    (candidate) =>
      candidate.id !== revision.renamedTo &&
      candidate.parents.some((parent) => parents.includes(parent)) &&
      (candidate.isNew || revision.children.some((child) => child.id === candidate.id)),
  );
  const place = noOpPath(graph, revision, parents);
  const parts: string[] = [];
  if (revision.renamedTo) {
    const twin = graph.byId.get(revision.renamedTo)!;
    parts.push(
      `Give ${twin.id} back its id: in \`${twin.file}\`, \`revision = "${revision.id}"\` (and \`Revision ID: ${revision.id}\`), ` +
        `and revise ${revision.id} wherever ${twin.id} is revised. Or keep ${twin.id} and add ${revision.id} back after it ` +
        `as a no-op, so that databases stamped at ${revision.id} (which ran the same migration) continue from there — \`${place}\`:`,
    );
  } else {
    parts.push(
      `Keep the revision: restore \`${revision.file}\`${restore}. If it was deleted, renamed or squashed on purpose, put a ` +
        `no-op revision with its id in the new chain instead, so that databases stamped at ${revision.id} continue from there — \`${place}\`:`,
    );
  }
  parts.push(codeBlock('python', noOpSource(revision, parents)));
  for (const successor of successors) {
    const repointed = successor.parents.map((parent) => (parents.includes(parent) ? revision.id : parent));
    parts.push(`and point \`${successor.file}\` at it:\n\n${codeBlock('python', `down_revision = ${pyRevisions([...new Set(repointed)])}`)}`);
  }
  return parts.join('\n\n');
}

/**
 * Where a no-op with the removed id goes in the new chain: after the revision that does what it did (its new id when it
 * was renamed), after what replaced it under its old children, after its old parents when they are still there, or
 * after the head that replaced a squashed tip.
 */
function noOpParents(graph: MigrationGraph, revision: RemovedRevision, removedById: Map<string, RemovedRevision>): string[] {
  if (revision.renamedTo) return [revision.renamedTo];
  const replaced = new Set<string>();
  for (const child of revision.children) {
    const now = graph.byId.get(child.id);
    if (!now) continue;
    for (const parent of now.parents) if (!child.parents.includes(parent)) replaced.add(parent);
  }
  if (replaced.size > 0) return [...replaced].sort();
  const parents = revision.parents.map((parent) => (graph.byId.has(parent) ? parent : removedById.get(parent)?.renamedTo ?? null));
  // A removed root (a regenerated initial migration): a no-op root would be a second root, so it goes after the new head.
  if (parents.length > 0 && parents.every((parent): parent is string => parent !== null)) return parents;
  return graph.heads.length === 1 ? graph.heads : revision.parents;
}

/** Its old file name, in the folder the new chain's revisions are in. */
function noOpPath(graph: MigrationGraph, revision: RemovedRevision, parents: string[]): string {
  const neighbour: Revision | undefined = parents.map((id) => graph.byId.get(id)).find(Boolean) ?? graph.revisions[graph.revisions.length - 1];
  return neighbour ? posix.join(posix.dirname(neighbour.file), posix.basename(revision.file)) : revision.file;
}

function noOpSource(revision: RemovedRevision, parents: string[]): string {
  const down = parents.length === 0 ? 'None' : pyRevisions(parents);
  return `"""${revision.message || 'kept revision'}

Kept as a no-op: databases stamped at ${revision.id} continue from here.

Revision ID: ${revision.id}
Revises: ${parents.join(', ')}
"""

# alembic-guard: ignore[edited-migration] kept as a no-op so that databases stamped at ${revision.id} can upgrade

# revision identifiers, used by Alembic.
revision = "${revision.id}"
down_revision = ${down}
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass`;
}

/** Removed revisions below `revision` at base, up to the first one whose children are not all removed. */
function removedDescendants(revision: RemovedRevision, removedById: Map<string, RemovedRevision>): string[] {
  const out: string[] = [];
  const stack = revision.children.map((child) => child.id);
  while (stack.length > 0) {
    const id = stack.pop()!;
    const found = removedById.get(id);
    if (!found || out.includes(id)) continue;
    out.push(id);
    stack.push(...found.children.map((child) => child.id));
  }
  return out;
}
