// not-null-without-default: a NOT NULL column added to an existing table with no server default.
import type { Finding } from '../findings.js';
import { alterTableCommands, columnConstraints, isSerialType, type ColumnDef } from '../sql/ast.js';
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { alterNotNull, backfillCode, backfillValue, primaryKey } from './support/backfill.js';
import { proofFailure, proofSkipped } from './support/proof.js';
import { addedColumn, after, existedBefore, pullRequestStatements, type AddedColumn, type PullRequestStatement } from './support/pull-request.js';
import { opTable, pyReadable, withPostgresqlImport } from './support/python-code.js';
import { inlineSqlFirstLine } from './support/sql-text.js';
import { sqlAlchemyTypeOf } from './support/sqlalchemy-type.js';

export const notNullWithoutDefault: Rule = {
  id: 'not-null-without-default',
  severity: 'error',
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings: Finding[] = [];
    for (const context of pullRequestStatements(graph, evidence, 'as-written')) {
      for (const cmd of alterTableCommands(context.node)) {
        if (cmd.objectType !== 'OBJECT_TABLE' || !existedBefore(context, cmd.table)) continue;
        if (cmd.subtype === 'AT_AddColumn' && cmd.column) {
          const found = addedWithoutDefault(context, cmd.table, cmd.column);
          if (found) findings.push(found);
        } else if (cmd.subtype === 'AT_SetNotNull' && cmd.name) {
          const added = addedColumn(context, cmd.table, cmd.name);
          const found = added ? madeNotNullWithoutBackfill(context, added) : null;
          if (found) findings.push(found);
        }
      }
    }
    return findings;
  },
  group: { noun: 'column', plural: 'columns', summarize },
};

const ADD_NULLABLE = 'Add the column nullable, fill the existing rows, then make it NOT NULL:';
const CONSTANT_DEFAULT = 'Or give it a constant server default (PostgreSQL 11+ stores it once, without touching the rows):';
const FILL_FIRST = 'Fill the existing rows before making the column NOT NULL:';

/** Several NOT NULL columns added (or made NOT NULL) the same way in one migration: one finding, each step's code in one block. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } | null {
  const advice = findings[0]!.suggestion ?? '';
  const count = findings.length;
  if (advice.startsWith(ADD_NULLABLE)) {
    const proven = findings.every((f) => f.message.includes('fails on a table with rows: Postgres answered'));
    const parts = ['Add the columns nullable, fill the existing rows, then make them NOT NULL:', codeBlock('python', code[0]!)];
    if (code[1] !== undefined) {
      parts.push('Or give them constant server defaults (PostgreSQL 11+ stores each once, without touching the rows):', codeBlock('python', code[1]));
    }
    return {
      message:
        `${count} NOT NULL columns with no default added to existing tables: ${listed}; each ADD COLUMN fails as soon as ` +
        `its table holds a row${proven ? ' (Postgres refused every one of them when re-run with one row in the table)' : ''}.`,
      suggestion: parts.join('\n\n'),
    };
  }
  if (advice.startsWith(FILL_FIRST)) {
    return {
      message:
        `${count} columns the pull request added nullable to existing tables are made NOT NULL with nothing filling them: ` +
        `${listed}; each fails on a table with rows.`,
      suggestion: ['Fill the existing rows before making the columns NOT NULL:', codeBlock('python', code[0]!)].join('\n\n'),
    };
  }
  return null;
}

/** `ADD COLUMN ... NOT NULL` with nothing to fill the rows already there. */
function addedWithoutDefault(context: PullRequestStatement, table: string, column: ColumnDef): Finding | null {
  const constraints = columnConstraints(column);
  // Identity, serial and generated columns fill every row (volatile-default speaks about the rewrite that costs).
  if (!constraints.notNull || constraints.hasDefault || constraints.identity || constraints.generated || isSerialType(column.typeName)) return null;
  const proof = context.statement.proof;
  // It worked on a table holding a row (a domain with a default, rows deleted first...): nothing to report.
  if (proof && 'error' in proof && proof.error === null) return null;
  const name = column.colname ?? '';
  const sql = inlineSqlFirstLine(context.statement.sql);
  const message = proofFailure(proof)
    ? `${sql} fails on a table with rows: ${proofFailure(proof)}.`
    : `${sql} adds a NOT NULL column with no default to the existing table \`${table}\`, which fails ("column contains null values") ` +
      `as soon as the table holds a row; the replay's empty table hides it${proofSkipped(proof)}.`;
  const type = sqlAlchemyTypeOf(column.typeName, context.revision.before);
  const value = backfillValue(column.typeName, context.revision.before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  // The backfill commits on its own (in batches when the table has a one-column key): run in the migration's
  // transaction it would hold the ADD COLUMN's ACCESS EXCLUSIVE lock for the whole table (backfill-under-lock).
  const steps = [
    `op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=True)${schemaArg})`,
    ownTransaction(backfillCode(table, name, value, { batchKey: context.revision.before ? primaryKey(context.revision.before, table) : null, todo: true })),
    alterNotNull(table, name, type),
  ];
  const parts = [
    ADD_NULLABLE,
    codeBlock('python', withPostgresqlImport(steps.join('\n'), type.dialect)),
  ];
  if (value.constant) {
    const add = `op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=False, server_default=sa.text(${pyReadable(value.sql)}))${schemaArg})`;
    parts.push(
      CONSTANT_DEFAULT,
      codeBlock('python', withPostgresqlImport(add, type.dialect)),
    );
  }
  return finding(notNullWithoutDefault, {
    message,
    file: context.file,
    line: context.statement.line,
    revision: context.revision.revision,
    object: `${table}.${name}`,
    suggestion: parts.join('\n\n'),
  });
}

/**
 * `SET NOT NULL` on a column the pull request added nullable to an existing table, with nothing filling it in
 * between: the same failure as adding it NOT NULL, in two steps. Only reported on the one-row proof, and only when
 * that proof saw every statement since the column was added (an UPDATE in an earlier revision was not replayed on it).
 */
function madeNotNullWithoutBackfill(context: PullRequestStatement, added: AddedColumn): Finding | null {
  const failure = proofFailure(context.statement.proof);
  if (!failure) return null;
  if ((context.updates.get(added.table) ?? []).some((at) => after(at, added.at) && at.revision < context.at.revision)) return null;
  const name = added.column.colname ?? '';
  const table = added.table;
  const where = added.revision === context.revision.revision ? `line ${added.line}` : `line ${added.line} of ${added.file}`;
  const type = sqlAlchemyTypeOf(added.column.typeName, context.revision.before);
  const value = backfillValue(added.column.typeName, context.revision.before);
  const batchKey = context.revision.before ? primaryKey(context.revision.before, table) : null;
  const code = [ownTransaction(backfillCode(table, name, value, { batchKey, todo: true })), alterNotNull(table, name, type)].join('\n');
  return finding(notNullWithoutDefault, {
    message:
      `${inlineSqlFirstLine(context.statement.sql)} fails on a table with rows: nothing fills \`${name}\` (added to \`${table}\` at ${where}) ` +
      `before it is made NOT NULL, and ${failure}.`,
    file: context.file,
    line: context.statement.line,
    revision: context.revision.revision,
    object: `${table}.${name}`,
    suggestion: [FILL_FIRST, codeBlock('python', withPostgresqlImport(code, type.dialect))].join('\n\n'),
  });
}

/** A single UPDATE moved into an autocommit block (a batched backfill already is in one). */
function ownTransaction(backfill: string): string {
  if (backfill.includes('autocommit_block')) return backfill;
  return `with op.get_context().autocommit_block():\n    ${backfill}`;
}
