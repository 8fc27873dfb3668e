// rename-table: an existing table renamed: code deployed before the migration still uses the old name.
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { pullRequestChanges } from './support/pull-request.js';
import { opTable, py } from './support/python-code.js';
import { sqlTable } from './support/sql-text.js';

export const renameTable: Rule = {
  id: 'rename-table',
  severity: 'notice',
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== 'rename-table' || !change.existing) return [];
      const { from, to } = change;
      const [fromArg, fromSchema] = opTable(from);
      const [toArg] = opTable(to);
      const message =
        `Renames table ${from} to ${to}: code deployed before the migration still uses ${from} ` +
        'and fails from the moment it runs until the new code is out.';
      const expand = [
        `op.rename_table(${fromArg}, ${toArg}${fromSchema})`,
        `op.execute(${py(`CREATE VIEW ${sqlTable(from)} AS SELECT * FROM ${sqlTable(to)}`)})`,
      ];
      const suggestion = [
        `Rename in steps (expand/contract). Keep the old name working with a view: a view over one table is updatable in ` +
          `PostgreSQL, so code deployed before the migration still reads and writes ${from} through it.`,
        codeBlock('python', expand.join('\n')),
        `Deploy the code that uses ${to}; then, once no running code uses ${from}, drop the view in a later pull request:`,
        codeBlock('python', `op.execute(${py(`DROP VIEW ${sqlTable(from)}`)})`),
        `If only the model class needs the new name, keep the table instead: \`__tablename__ = ${py(from)}\`, and no migration.`,
      ].join('\n\n');
      return [
        finding(renameTable, {
          message,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: `${from} → ${to}`,
          suggestion,
        }),
      ];
    });
  },
  // Every rename has the same fix (a view under the old name, dropped later); only the code differs.
  group: { noun: 'table', plural: 'tables', fix: () => 'rename behind a view', summarize },
};

/** Several tables renamed in one migration: one finding, the steps said once, each step's code in one block. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } {
  return {
    message:
      `Renames ${findings.length} existing tables: ${listed}: code deployed before the migration still uses the old names ` +
      'and fails from the moment it runs until the new code is out.',
    suggestion: [
      'Rename in steps (expand/contract). Keep each old name working with a view: a view over one table is updatable in ' +
        'PostgreSQL, so code deployed before the migration still reads and writes the old names through it.',
      codeBlock('python', code[0]!),
      'Deploy the code that uses the new names; then, once no running code uses the old ones, drop the views in a later pull request:',
      codeBlock('python', code[1]!),
      'If only the model classes need the new names, keep the tables instead: `__tablename__ = "old_name"`, and no migration.',
    ].join('\n\n'),
  };
}
