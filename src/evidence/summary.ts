// What the pull request's migrations do to each table, read from the schema before its first and after its last.
import { diffSchemas } from '../schema/diff.js';
import type { Evidence } from './evidence.js';

/** The table an object of a schema difference belongs to: `users.status` -> `users`, `ix_users_email` -> its table. */
function tableOf(object: string, kind: string, evidence: Evidence, after: Evidence['baseline']): string {
  if (kind.startsWith('table-')) return object;
  if (kind.startsWith('enum-')) return `(type ${object})`;
  if (kind.startsWith('index-')) return after.indexes.get(object)?.table ?? evidence.baseline.indexes.get(object)?.table ?? object;
  const dot = object.lastIndexOf('.');
  return dot > 0 ? object.slice(0, dot) : object;
}

export function summarizeTableChanges(evidence: Evidence): { table: string; changes: string[] }[] {
  if (evidence.revisions.length === 0) return [];
  const after = evidence.revisions[evidence.revisions.length - 1].after;
  const byTable = new Map<string, string[]>();
  for (const difference of diffSchemas(evidence.baseline, after)) {
    const table = tableOf(difference.object, difference.kind, evidence, after);
    const what = difference.kind.replace('-', ' ');
    const subject = difference.object === table ? '' : ` ${difference.object.startsWith(`${table}.`) ? difference.object.slice(table.length + 1) : difference.object}`;
    const list = byTable.get(table) ?? [];
    list.push(`${what}${subject}${difference.detail ? `: ${difference.detail}` : ''}`);
    byTable.set(table, list);
  }
  return [...byTable].map(([table, changes]) => ({ table, changes })).sort((a, b) => a.table.localeCompare(b.table));
}
