// rename-table: an existing table renamed: code deployed before the migration still uses the old name.
import { codeBlock, finding, type Rule } from './rule.js';
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
          suggestion,
        }),
      ];
    });
  },
};
