// The MigrationGraph: every revision with its parents, file and op lines, and whether the PR added or edited it.
import type { AppImport, CodeChange, Directive, OpCall } from '../python/protocol.js';

export interface Revision {
  id: string;
  /** down_revision(s): empty for a root, two or more for a merge point. */
  parents: string[];
  dependsOn: string[];
  branchLabels: string[];
  /** Relative to the repository root, forward slashes. */
  file: string;
  absolutePath: string;
  message: string;
  revisionLine: number | null;
  downRevisionLine: number | null;
  upgradeLine: number | null;
  downgradeLine: number | null;
  upgradeIsEmpty: boolean | null;
  ops: OpCall[];
  /** `# alembic-guard: ignore[...]` comments in the file. */
  directives: Directive[];
  /** Absent at base: the pull request adds it. */
  isNew: boolean;
  /**
   * Present at base and its code does something else now: an already-applied migration was changed. Docstrings,
   * comments, formatting and type annotations do not count (nor does the file's name: revisions are known by id).
   */
  edited: boolean;
  /** For an edited revision: its first changed statement (the first differing line when a version does not compile). */
  firstEditedLine: number | null;
  /** For an edited revision: what its code changed, in file order; null when compared as text (a version does not compile). */
  editChanges: CodeChange[] | null;
  /** New revisions: its imports of the project's own modules (models, services, settings). */
  appImports: AppImport[];
}

/** A revision that exists at base, belongs to this project there, and is gone at head (deleted, or its id changed). */
export interface RemovedRevision {
  id: string;
  /** Its path at base, relative to the repository root, forward slashes. */
  file: string;
  /** Its `revision =` line at base. */
  line: number | null;
  /** down_revision(s) at base. */
  parents: string[];
  message: string;
  /** The revisions that revised it at base, with their down_revision(s) there (present at head or removed too). */
  children: { id: string; parents: string[] }[];
  /** A new revision with the same down_revision(s) and the same upgrade and downgrade: the same migration under a new id. */
  renamedTo: string | null;
}

export interface MigrationGraph {
  /** Base first (Alembic's walk order, reversed). */
  revisions: Revision[];
  byId: Map<string, Revision>;
  heads: string[];
  /** Heads of the history part (the revisions that exist at base): where the replay of history stops. */
  historyHeads: string[];
  /** Revisions of this project at base that the pull request removes; never in `revisions`. */
  removed: RemovedRevision[];
  /** What new/history was decided against, for the report. */
  base: string;
  /** The base commit's id, when there is one. */
  baseCommit?: string | null;
}

export function newRevisions(graph: MigrationGraph): Revision[] {
  return graph.revisions.filter((revision) => revision.isNew);
}

/** All ancestors of `id` (parents and depends_on, transitively), excluding `id` itself. */
export function ancestors(graph: MigrationGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.byId.get(id)?.parents ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.byId.get(next)?.parents ?? []));
  }
  return seen;
}

/** `id` and its ancestors. */
export function lineage(graph: MigrationGraph, id: string): Set<string> {
  return new Set([id, ...ancestors(graph, id)]);
}

/** The revisions with no down_revision that `id` descends from (itself when it is one). */
export function rootsOf(graph: MigrationGraph, id: string): string[] {
  return [...lineage(graph, id)].filter((each) => graph.byId.get(each)?.parents.length === 0).sort();
}

/** The nearest revisions that every one of `ids` descends from (their lowest common ancestors). */
export function commonAncestors(graph: MigrationGraph, ids: string[]): string[] {
  if (ids.length === 0) return [];
  const sets = ids.map((id) => new Set([id, ...ancestors(graph, id)]));
  const common = [...sets[0]].filter((id) => sets.every((set) => set.has(id)));
  // Keep only those that are not an ancestor of another common one.
  return common.filter((candidate) => !common.some((other) => other !== candidate && ancestors(graph, other).has(candidate)));
}
