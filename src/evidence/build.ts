// Turns what the replay observed into Evidence: each statement parsed by Postgres's parser and tied to its op.* call.
import type { MigrationGraph } from '../graph/graph.js';
import type { CapturedStatement, OpCall } from '../python/protocol.js';
import type { Downgrades } from '../replay/downgrades.js';
import type { Replay } from '../replay/replay.js';
import { loadSqlParser, parseStatement } from '../sql/parse.js';
import type { Evidence, InheritedLock, RevisionEvidence, StatementEvidence } from './evidence.js';

/** The op.* call of `fn` whose source span holds `line` (the innermost when calls nest). */
export function opAtLine(ops: OpCall[], line: number | null, fn: 'upgrade' | 'downgrade' = 'upgrade'): OpCall | null {
  if (line === null) return null;
  let best: OpCall | null = null;
  for (const op of ops) {
    if (op.function !== fn || line < op.line || line > op.endLine) continue;
    if (!best || op.endLine - op.line < best.endLine - best.line) best = op;
  }
  return best;
}

export async function buildEvidence(
  graph: MigrationGraph,
  replay: Replay,
  downgrades: Downgrades | null,
  proofs: Map<CapturedStatement, StatementEvidence['proof']> = new Map(),
): Promise<Evidence | null> {
  if (!replay.baseline) return null;
  await loadSqlParser();
  const revisions: RevisionEvidence[] = replay.observed.map((observed) => {
    const revision = graph.byId.get(observed.revision)!;
    const statements: StatementEvidence[] = (replay.byId.get(observed.revision)?.statements ?? []).map((s) => ({
      sql: s.sql,
      line: s.line,
      op: opAtLine(revision.ops, s.line),
      seconds: s.seconds,
      ast: parseStatement(s.sql),
      locks: s.locks ?? [],
      rewrote: s.rewrote ?? [],
      proof: proofs.get(s) ?? null,
    }));
    const downgrade = downgrades?.runs.get(observed.revision);
    return {
      revision: observed.revision,
      before: observed.before,
      after: observed.after,
      statements,
      heldAtStart: inheritedLocks(graph, replay, observed.revision),
      downgrade: downgrade
        ? {
            error: downgrade.error ? (downgrade.error.postgresMessage ?? downgrade.error.exception) : null,
            line: downgrade.error?.line ?? null,
            schemaAfterDowngrade: downgrade.schemaAfterDowngrade,
            checkedAs: downgrade.checkedAs,
          }
        : null,
    };
  });
  return { baseline: replay.baseline, revisions, downgradesStopped: downgrades?.stoppedAt ?? null };
}

/** The locks a revision began with, each traced to the latest earlier new revision's statement that took it. */
function inheritedLocks(graph: MigrationGraph, replay: Replay, id: string): InheritedLock[] {
  const held = replay.byId.get(id)?.heldAtStart ?? [];
  if (held.length === 0) return [];
  const earlier = replay.observed.slice(0, replay.observed.findIndex((o) => o.revision === id)).reverse();
  return held.map((lock) => {
    for (const { revision } of earlier) {
      const statement = [...(replay.byId.get(revision)?.statements ?? [])]
        .reverse()
        .find((s) => s.locks?.some((l) => l.relation === lock.relation && l.mode === lock.mode));
      if (statement) return { ...lock, revision, file: graph.byId.get(revision)!.file, line: statement.line };
    }
    const previous = earlier[0]?.revision ?? id;
    return { ...lock, revision: previous, file: graph.byId.get(previous)!.file, line: null };
  });
}
