// drop-column: a column that existed before the pull request is dropped: code still running breaks, its data is gone.
import { codeBlock, finding, type Rule } from './rule.js';
import { pullRequestChanges } from './support/pull-request.js';
import { opTable, py } from './support/python-code.js';
import { describeColumnType } from './support/sql-text.js';

export const dropColumn: Rule = {
  id: 'drop-column',
  severity: 'warning',
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== 'drop-column' || !change.existing) return [];
      const { table, column, info } = change;
      const [tableArg, schemaArg] = opTable(table);
      const what = info ? ` (${describeColumnType(info)})` : '';
      const how = change.recreate ? ` (batch_alter_table copies ${table} without it)` : '';
      const cascade = change.cascade ? ' CASCADE also drops the views and constraints that depend on it;' : '';
      const message =
        `Drops column ${table}.${column}${what}, which exists before this pull request${how}:${cascade} ` +
        'code deployed before the migration still reads and writes it and fails until the new code is out, and its data is deleted.';
      const steps = [
        `Drop a column in two deploys. First, in this pull request, stop using \`${table}.${column}\` in the code ` +
          '(remove it from the model and from every query) and leave it in the database: take the drop out of this migration, and deploy. ' +
          `\`ignore-objects = ["${table}.${column}"]\` in \`[tool.alembic-guard]\` of pyproject.toml keeps missing-migration quiet meanwhile.`,
      ];
      if (info?.notNull && info.default === null && !info.identity && !info.generated) {
        steps.push(
          `\`${table}.${column}\` is NOT NULL without a default: inserts from code that no longer sets it fail, so let this pull request make it nullable:\n\n` +
            codeBlock('python', `op.alter_column(${tableArg}, ${py(column)}, nullable=True${schemaArg})`),
        );
      }
      steps.push(
        'Then, in a later pull request, once no running code uses it (copy the data elsewhere first if it is still needed):\n\n' +
          codeBlock('python', `op.drop_column(${tableArg}, ${py(column)}${schemaArg})`),
      );
      return [
        finding(dropColumn, {
          message,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          suggestion: steps.join('\n\n'),
        }),
      ];
    });
  },
};
