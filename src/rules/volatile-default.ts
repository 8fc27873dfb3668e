// volatile-default: a column added with a volatile default rewrites the table.
import { alterTableCommands, columnConstraints, isSerialType, isVolatileDefault, stringValues, typeNameText, walk, type ColumnDef, type NodeOf } from '../sql/ast.js';
import type { Finding } from '../findings.js';
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { alterNotNull, backfillCode, primaryKey } from './support/backfill.js';
import { lockHolding } from './support/lock-phrases.js';
import { lockHeld } from './support/locks.js';
import { existedBefore, pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { opTable, pyReadable, withPostgresqlImport } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { inlineSqlFirstLine, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOf } from './support/sqlalchemy-type.js';

export const volatileDefault: Rule = {
  id: 'volatile-default',
  severity: 'warning',
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings: Finding[] = [];
    for (const context of pullRequestStatements(graph, evidence, 'as-written')) {
      for (const cmd of alterTableCommands(context.node)) {
        if (cmd.objectType !== 'OBJECT_TABLE' || cmd.subtype !== 'AT_AddColumn' || !cmd.column?.colname) continue;
        if (!existedBefore(context, cmd.table)) continue;
        const found = report(context, cmd.table, cmd.column);
        if (found) findings.push(found);
      }
    }
    return findings;
  },
  group: { noun: 'column', plural: 'columns', summarize },
};

const ADVICE = 'Add the column without a default, give it the default for new rows, then fill the existing rows in batches:';

/** Several columns added the same way in one migration, each rewriting its table: one finding, one block of code. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } | null {
  if (!(findings[0]!.suggestion ?? '').startsWith(ADVICE)) return null;
  return {
    message:
      `${findings.length} columns added to existing tables rewrote them: ${listed}; each one's value (a volatile default, ` +
      'a sequence or an identity) is computed for every existing row while the table is locked.',
    suggestion: [
      'Add each column without a default, give it the default for new rows, then fill the existing rows in batches:',
      codeBlock('python', code[0]!),
    ].join('\n\n'),
  };
}

function report(context: PullRequestStatement, table: string, column: ColumnDef): Finding | null {
  const constraints = columnConstraints(column);
  const serial = isSerialType(column.typeName);
  const volatile = constraints.hasDefault && isVolatileDefault(constraints.default);
  if (!serial && !constraints.identity && !volatile) return null;
  // The replay shows whether Postgres computed the default per row: a function this does not know (a user's own,
  // declared STABLE or IMMUTABLE) that Postgres stored once did not rewrite anything.
  if (!context.statement.rewrote.includes(table)) return null;

  const name = column.colname!;
  const sequence = `${splitQualified(table).name}_${name}_seq`;
  const defaultSql =
    serial || constraints.identity
      ? `nextval('${sequence}')`
      : (context.revision.after.tables.get(table)?.columns.find((c) => c.name === name)?.default ?? volatileCall(constraints.default));
  const why = serial
    ? `\`${name}\` is ${typeNameText(column.typeName)}, filled from a sequence for every existing row`
    : constraints.identity
      ? `\`${name}\` is an identity column, filled from a sequence for every existing row`
      : `its default \`${defaultSql}\` is volatile, so Postgres computes it for every existing row instead of storing it once`;
  const held = lockHeld(context.revision, context.at.statement, table);
  const message = `${inlineSqlFirstLine(context.statement.sql)} rewrote \`${table}\` (relfilenode changed) while holding ${lockHolding(held)}: ${why}.`;

  const type = sqlAlchemyTypeOf(column.typeName, context.revision.before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const lines: string[] = [];
  lines.push(`op.add_column(${tableArg}, sa.Column(${pyReadable(name)}, ${type.code}, nullable=True)${schemaArg})`);
  if (serial || constraints.identity) {
    lines.push(`op.execute(${pyReadable(`CREATE SEQUENCE ${sqlIdentifier(sequence)} OWNED BY ${sqlTable(table)}.${sqlIdentifier(name)}`)})`);
  }
  lines.push(`# New rows get the default from now on; setting it rewrites nothing.`);
  lines.push(`op.alter_column(${tableArg}, ${pyReadable(name)}, server_default=sa.text(${pyReadable(defaultSql)})${schemaArg})`);
  lines.push(backfillCode(table, name, { sql: defaultSql, constant: false }, { batchKey: primaryKey(context.revision.before, table), todo: false }));
  // Identity and serial columns are NOT NULL without saying so.
  if (constraints.notNull || constraints.identity || serial) lines.push(alterNotNull(table, name, type));
  return finding(volatileDefault, {
    message,
    file: context.file,
    line: context.statement.line,
    revision: context.revision.revision,
    object: `${table}.${name}`,
    suggestion: [
      ADVICE,
      codeBlock('python', withPostgresqlImport(lines.join('\n'), type.dialect)),
    ].join('\n\n'),
  });
}

/** The first volatile call of a default expression, as `name()`, when the snapshot has no text for it. */
function volatileCall(expression: Parameters<typeof isVolatileDefault>[0]): string {
  let found = '';
  walk(expression, (tag, payload) => {
    if (found || tag !== 'FuncCall') return;
    if (isVolatileDefault({ FuncCall: payload as NodeOf<'FuncCall'> })) found = `${stringValues((payload as NodeOf<'FuncCall'>).funcname).join('.')}()`;
  });
  return found || 'the default';
}
