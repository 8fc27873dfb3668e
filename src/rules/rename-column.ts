// rename-column: an existing column renamed: code deployed before the migration still uses the old name.
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { pullRequestChanges } from './support/pull-request.js';
import { opTable, py, withPostgresqlImport } from './support/python-code.js';
import { describeColumnType, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOfFormatType } from './support/sqlalchemy-type.js';

export const renameColumn: Rule = {
  id: 'rename-column',
  severity: 'notice',
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== 'rename-column' || !change.existing) return [];
      const { table, from, to, info } = change;
      // Moved aside to make room for a new column of the same name (copy-and-swap): deployed code still finds `from`.
      if (change.revision.after.tables.get(table)?.columns.some((c) => c.name === from)) return [];
      const [tableArg, schemaArg] = opTable(table);
      const what = info ? ` (${describeColumnType(info)})` : '';
      const message =
        `Renames column ${table}.${from}${what} to ${to}: code deployed before the migration still uses ${from} ` +
        'and fails from the moment it runs until the new code is out.';

      const saType = info ? sqlAlchemyTypeOfFormatType(info.type, change.revision.before.enums) : null;
      const add = saType
        ? `op.add_column(${tableArg}, sa.Column(${py(to)}, ${saType}, nullable=True)${schemaArg})`
        : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ADD COLUMN ${sqlIdentifier(to)} ${info?.type ?? 'type'}`)})`;
      // In its own transaction: not under the lock of the ADD COLUMN if both end up in one migration (backfill-under-lock).
      const backfill =
        'with op.get_context().autocommit_block():\n' +
        `    op.execute(${py(`UPDATE ${sqlTable(table)} SET ${sqlIdentifier(to)} = ${sqlIdentifier(from)} WHERE ${sqlIdentifier(to)} IS NULL`)})`;
      const contract = [
        ...(info?.notNull ? [`op.alter_column(${tableArg}, ${py(to)}, nullable=False${schemaArg})`] : []),
        `op.drop_column(${tableArg}, ${py(from)}${schemaArg})`,
      ];
      const suggestion = [
        'Rename in steps (expand/contract), so that the running code works at every moment:',
        `1. Expand: add ${to} and deploy code that writes both columns.\n\n${codeBlock('python', withPostgresqlImport(add, saType?.includes('postgresql.') ?? false))}`,
        `2. Backfill (in batches on a big table), then switch reads to ${to}.\n\n${codeBlock('python', backfill)}`,
        `3. Contract: once no running code uses ${from}, drop it in a later pull request.\n\n${codeBlock('python', contract.join('\n'))}`,
        `If only the Python attribute needs the new name, keep the column and map the attribute onto it instead: ` +
          `\`${to} = Column(${py(from)}, ...)\` in the model, and no migration.`,
      ].join('\n\n');
      return [
        finding(renameColumn, {
          message,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: `${table}.${from} → ${to}`,
          suggestion,
        }),
      ];
    });
  },
  // Every rename has the same fix (expand/contract); only the code differs.
  group: { noun: 'column', plural: 'columns', fix: () => 'expand/contract', summarize },
};

/** Several columns renamed in one migration: one finding, the steps said once, each step's code in one block. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } {
  return {
    message:
      `Renames ${findings.length} columns of existing tables: ${listed}: code deployed before the migration still uses the ` +
      'old names and fails from the moment it runs until the new code is out.',
    suggestion: [
      'Rename in steps (expand/contract), so that the running code works at every moment:',
      `1. Expand: add the new columns and deploy code that writes both the old and the new ones.\n\n${codeBlock('python', code[0]!)}`,
      `2. Backfill (in batches on a big table), then switch reads to the new columns.\n\n${codeBlock('python', code[1]!)}`,
      `3. Contract: once no running code uses the old columns, drop them in a later pull request.\n\n${codeBlock('python', code[2]!)}`,
      'If only the Python attributes need the new names, keep the columns and map each attribute onto its column instead: ' +
        '`new_name = Column("old_name", ...)` in the model, and no migration.',
    ].join('\n\n'),
  };
}
