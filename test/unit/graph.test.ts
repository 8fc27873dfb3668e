import { describe, expect, it } from 'vitest';
import { firstDifferentLine } from '../../src/graph/build.js';
import { ancestors, commonAncestors, type MigrationGraph, type Revision } from '../../src/graph/graph.js';
import { codeBlock } from '../../src/rules/rule.js';

function graphOf(edges: Record<string, string[]>): MigrationGraph {
  const revisions = Object.entries(edges).map(
    ([id, parents]) => ({ id, parents, isNew: false, edited: false }) as unknown as Revision,
  );
  return { revisions, byId: new Map(revisions.map((r) => [r.id, r])), heads: [], historyHeads: [], base: '' };
}

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
