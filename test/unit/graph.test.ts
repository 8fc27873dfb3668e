import { describe, expect, it } from 'vitest';
import { firstDifferentLine } from '../../src/graph/build.js';
import { ancestors, commonAncestors, rootsOf, type MigrationGraph, type RemovedRevision, type Revision } from '../../src/graph/graph.js';
import { multipleHeads } from '../../src/rules/multiple-heads.js';
import { removedMigration } from '../../src/rules/removed-migration.js';
import { codeBlock, type JudgeInput } from '../../src/rules/rule.js';

function graphOf(edges: Record<string, string[]>, more: { new?: string[]; labels?: Record<string, string[]>; removed?: RemovedRevision[] } = {}): MigrationGraph {
  const revisions = Object.entries(edges).map(
    ([id, parents]) =>
      ({
        id,
        parents,
        branchLabels: more.labels?.[id] ?? [],
        file: `migrations/versions/${id}.py`,
        message: `revision ${id}`,
        downRevisionLine: 16,
        isNew: more.new?.includes(id) ?? false,
        edited: false,
      }) as unknown as Revision,
  );
  const parents = new Set(revisions.flatMap((r) => r.parents));
  const heads = revisions.filter((r) => !parents.has(r.id)).map((r) => r.id);
  return { revisions, byId: new Map(revisions.map((r) => [r.id, r])), heads, historyHeads: [], removed: more.removed ?? [], base: 'base (1234567)', baseCommit: '1234567890abcdef' };
}

const judged = (rule: typeof multipleHeads, graph: MigrationGraph) => rule.check({ graph } as JudgeInput);

describe('revision graph', () => {
  const graph = graphOf({ a: [], b: ['a'], c: ['b'], d: ['c'], e: ['c'], f: ['d', 'e'], x: [] });

  it('walks ancestors through merge points', () => {
    expect([...ancestors(graph, 'f')].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(ancestors(graph, 'a').size).toBe(0);
  });

  it('finds the nearest common ancestor of two heads', () => {
    expect(commonAncestors(graph, ['d', 'e'])).toEqual(['c']);
    expect(commonAncestors(graph, ['f', 'e'])).toEqual(['e']);
    expect(commonAncestors(graph, ['d', 'x'])).toEqual([]);
  });

  it('finds the roots a revision descends from', () => {
    expect(rootsOf(graph, 'f')).toEqual(['a']);
    expect(rootsOf(graph, 'x')).toEqual(['x']);
    expect(rootsOf(graphOf({ a: [], b: [], m: ['a', 'b'] }), 'm')).toEqual(['a', 'b']);
  });
});

describe('multiple-heads on lines of history with no common ancestor', () => {
  it('flags two roots without branch_labels, at the new root, with the head to revise', () => {
    const findings = judged(multipleHeads, graphOf({ a: [], b: ['a'], n: [] }, { new: ['n'] }));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'multiple-heads', file: 'migrations/versions/n.py', line: 16, revision: 'n' });
    expect(findings[0].message).toContain('two independent roots: a (migrations/versions/a.py) and n (migrations/versions/n.py) both have');
    expect(findings[0].suggestion).toContain('down_revision = "b"');
  });

  it('leaves lines alone when every one carries branch_labels, on its root or further up', () => {
    expect(judged(multipleHeads, graphOf({ a: [], b: ['a'], n: [] }, { new: ['n'], labels: { a: ['main'], n: ['audit'] } }))).toEqual([]);
    expect(judged(multipleHeads, graphOf({ a: [], b: ['a'], n: [] }, { new: ['n'], labels: { b: ['main'], n: ['audit'] } }))).toEqual([]);
  });

  it('flags a labelled new root beside an unlabelled history, and names the line without a label', () => {
    const [found] = judged(multipleHeads, graphOf({ a: [], b: ['a'], n: [] }, { new: ['n'], labels: { n: ['audit'] } }));
    expect(found.message).toContain('both have down_revision = None and a has no branch_labels');
    expect(found.suggestion).toContain('`branch_labels = ("main",)` in `migrations/versions/a.py`');
    expect(found.suggestion).not.toContain('in `migrations/versions/n.py`)');
    expect(found.suggestion).toContain('reported as edited-migration');
  });

  it('reports a fork inside one labelled line as a fork, not as independent roots', () => {
    const findings = judged(multipleHeads, graphOf({ a: [], b: ['a'], c: ['a'], n: [] }, { new: ['c'], labels: { a: ['main'], n: ['audit'] } }));
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain('2 heads (b, c) that branch from a');
    expect(findings[0].revision).toBe('c');
  });
});

describe('removed-migration', () => {
  const removed = (id: string, parents: string[], children: { id: string; parents: string[] }[], renamedTo: string | null = null): RemovedRevision => ({
    id,
    file: `migrations/versions/${id}.py`,
    line: 15,
    parents,
    message: `revision ${id}`,
    children,
    renamedTo,
  });

  it('squashed revisions: the last one becomes a no-op after the squash, the ones before it cannot', () => {
    // Base: a -> b -> c -> d. Head: a -> s -> d (b and c squashed into s, d re-pointed).
    const graph = graphOf(
      { a: [], s: ['a'], d: ['s'] },
      { new: ['s'], removed: [removed('b', ['a'], [{ id: 'c', parents: ['b'] }]), removed('c', ['b'], [{ id: 'd', parents: ['c'] }])] },
    );
    const [b, c] = judged(removedMigration, graph);
    expect(c.file).toBe('migrations/versions/c.py');
    expect(c.suggestion).toContain('revision = "c"\ndown_revision = "s"');
    expect(c.suggestion).toContain('and point `migrations/versions/d.py` at it:\n\n```python\ndown_revision = "c"\n```');
    expect(b.suggestion).toContain('no no-op revision can stand in for it');
    expect(b.suggestion).not.toContain('revision = "b"');
  });

  it('a deleted head replaced by a new revision: the no-op goes back on its old parent and the new revision revises it', () => {
    const graph = graphOf({ p: [], n: ['p'] }, { new: ['n'], removed: [removed('r', ['p'], [])] });
    const [found] = judged(removedMigration, graph);
    expect(found.message).toContain('deployed since it was merged, as it is a head at base (1234567) —');
    expect(found.suggestion).toContain('git checkout 1234567890ab -- migrations/versions/r.py');
    expect(found.suggestion).toContain('revision = "r"\ndown_revision = "p"');
    expect(found.suggestion).toContain('and point `migrations/versions/n.py` at it:\n\n```python\ndown_revision = "r"\n```');
  });
});

describe('firstDifferentLine', () => {
  it('is the 1-based line where the new text departs from the old', () => {
    expect(firstDifferentLine('a\nb\nc\n', 'a\nB\nc\n')).toBe(2);
    expect(firstDifferentLine('a\nb\n', 'a\nb\nc\n')).toBe(3);
    expect(firstDifferentLine('a\nb\nc\n', 'a\n')).toBe(2);
  });
});

describe('codeBlock', () => {
  it('uses a fence longer than any backtick run inside', () => {
    const block = codeBlock('python', 'x = """```"""');
    expect(block.startsWith('````python\n')).toBe(true);
    expect(block.endsWith('\n````')).toBe(true);
  });
});
