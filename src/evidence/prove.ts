// Proves a data-dependent failure: replays the PR against its table holding one synthetic row, then rolls back.
import type pg from 'pg';
import type { CapturedStatement } from '../python/protocol.js';
import type { Column, Schema } from '../schema/schema.js';
import { isConcurrently, relationName, statementsOf, type RangeVar } from '../sql/ast.js';
import { parseStatement } from '../sql/parse.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import type { StatementEvidence } from './evidence.js';

type Proof = StatementEvidence['proof'];

/** The table an ALTER TABLE ... ADD COLUMN NOT NULL (no default) or ... SET NOT NULL acts on, else null. */
export function tableNeedingProof(sql: string): string | null {
  const ast = parseStatement(sql);
  const stmt = ast?.stmts?.[0]?.stmt as Record<string, any> | undefined;
  const alter = stmt?.AlterTableStmt;
  if (!alter || alter.objtype !== 'OBJECT_TABLE') return null;
  const relation = alter.relation;
  const table = relation?.schemaname && relation.schemaname !== 'public' ? `${relation.schemaname}.${relation.relname}` : relation?.relname;
  for (const entry of alter.cmds ?? []) {
    const cmd = entry.AlterTableCmd;
    if (cmd?.subtype === 'AT_SetNotNull') return table;
    if (cmd?.subtype === 'AT_AddColumn') {
      const constraints: any[] = (cmd.def?.ColumnDef?.constraints ?? []).map((c: any) => c.Constraint);
      const notNull = constraints.some((c) => c?.contype === 'CONSTR_NOTNULL' || c?.contype === 'CONSTR_PRIMARY');
      const hasDefault = constraints.some((c) => c?.contype === 'CONSTR_DEFAULT' || c?.contype === 'CONSTR_IDENTITY' || c?.contype === 'CONSTR_GENERATED');
      if (notNull && !hasDefault) return table;
    }
  }
  return null;
}

/**
 * Every table or index a statement names, as `relationName` spells them. RangeVars appear both tagged (in generic
 * node lists: `{RangeVar: {...}}`) and untagged (typed fields such as AlterTableStmt.relation): any object with a
 * `relname` is one.
 */
export function relationsNamed(ast: unknown): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (typeof (node as { relname?: unknown }).relname === 'string') names.add(relationName(node as RangeVar));
    Object.values(node).forEach(visit);
  };
  visit(ast);
  return names;
}

/** A literal of the column's type for the synthetic row, or null when the type has no obvious value. */
function sampleValue(column: Column, enums: Map<string, string[]>): string | null {
  const type = column.type;
  const base = type.replace(/\(.*\)/, '').replace(/\[\]$/, '').trim();
  if (type.endsWith('[]')) return `'{}'`;
  const labels = enums.get(base) ?? enums.get(base.replace(/"/g, ''));
  if (labels && labels.length > 0) return `'${labels[0].replace(/'/g, "''")}'::${base}`;
  if (/^(smallint|integer|bigint|numeric|real|double precision|decimal)/.test(base)) return '1';
  if (/^(character varying|character|text|citext|name)/.test(base)) return `'x'`;
  if (base === 'boolean') return 'false';
  if (base === 'uuid') return `'00000000-0000-4000-8000-000000000001'`;
  if (base.startsWith('timestamp')) return 'now()';
  if (base === 'date') return 'current_date';
  if (base.startsWith('time')) return `'00:00'`;
  if (base === 'interval') return `'0'`;
  if (base === 'json' || base === 'jsonb') return `'{}'`;
  if (base === 'bytea') return `'\\x00'`;
  if (base === 'inet' || base === 'cidr') return `'127.0.0.1'`;
  return null;
}

function syntheticInsert(table: string, schema: Schema): { sql: string } | { skipped: string } {
  const found = schema.tables.get(table);
  if (!found) return { skipped: `table ${table} is not in the schema before this revision` };
  const columns: string[] = [];
  const values: string[] = [];
  for (const column of found.columns) {
    if (!column.notNull || column.default !== null || column.identity || column.generated) continue;
    const value = sampleValue(column, schema.enums);
    if (value === null) return { skipped: `no sample value for ${table}.${column.name} (${column.type})` };
    columns.push(quoteIdent(column.name));
    values.push(value);
  }
  return {
    sql: columns.length
      ? `INSERT INTO ${quoteQualified(table)} (${columns.join(', ')}) VALUES (${values.join(', ')})`
      : `INSERT INTO ${quoteQualified(table)} DEFAULT VALUES`,
  };
}

/**
 * For each statement of the PR that fails only when its table has rows, replays the PR from the state before it in
 * a transaction: one synthetic row in the table (as it was before the PR), every earlier statement of the PR that
 * names the table (one that fails is skipped, as if fixed), then the statement; records Postgres's answer and rolls
 * back. The database must be in the state before the PR's first
 * new migration. Only tables in `baseline` (those that existed before the PR) are tried. CREATE/DROP INDEX
 * CONCURRENTLY cannot run in a transaction and does not touch rows: it is left out of the replay.
 */
export async function proveFromBaseline(
  client: pg.Client,
  revisions: CapturedStatement[][],
  baseline: Schema,
): Promise<Map<CapturedStatement, Proof>> {
  const proofs = new Map<CapturedStatement, Proof>();
  const statements = revisions.flat();
  for (let i = 0; i < statements.length; i++) {
    const table = tableNeedingProof(statements[i].sql);
    if (!table || !baseline.tables.has(table)) continue;
    const insert = syntheticInsert(table, baseline);
    if ('skipped' in insert) {
      proofs.set(statements[i], insert);
      continue;
    }
    await client.query('BEGIN');
    try {
      await client.query("SET LOCAL session_replication_role = replica; SET LOCAL statement_timeout = '10s'");
      try {
        await client.query(insert.sql);
      } catch (error) {
        proofs.set(statements[i], { skipped: `a synthetic row could not be inserted into ${table}: ${(error as Error).message}` });
        continue;
      }
      // Only earlier statements that name the table can change what the statement meets there. One that fails on
      // the row (another finding) is skipped, as if it had been fixed.
      for (const earlier of statements.slice(0, i)) {
        const ast = parseStatement(earlier.sql);
        if (!ast || !relationsNamed(ast).has(table) || isConcurrently(statementsOf(ast)[0])) continue;
        await client.query('SAVEPOINT alembic_guard_earlier');
        try {
          await client.query(earlier.sql);
          await client.query('RELEASE SAVEPOINT alembic_guard_earlier');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT alembic_guard_earlier');
        }
      }
      try {
        await client.query(statements[i].sql);
        proofs.set(statements[i], { error: null, sqlstate: null, table });
      } catch (error) {
        const pgError = error as Error & { code?: string };
        proofs.set(statements[i], { error: pgError.message, sqlstate: pgError.code ?? null, table });
      }
    } finally {
      await client.query('ROLLBACK');
    }
  }
  return proofs;
}
