// drop-column: a column that existed before the pull request is dropped: code still running breaks, its data is gone.
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { pullRequestChanges, type TableChange } from './support/pull-request.js';
import { opTable, py } from './support/python-code.js';
import { describeColumnType } from './support/sql-text.js';

export const dropColumn: Rule = {
  id: 'drop-column',
  severity: 'warning',
  check({ graph, evidence }) {
    const changes = pullRequestChanges(graph, evidence);
    return changes.flatMap((change) => {
      if (change.kind !== 'drop-column' || !change.existing) return [];
      const { table, column, info } = change;
      // Copy-and-swap (add new_x, copy, drop x, rename new_x to x; or move x aside, add x, copy, drop the old one): a
      // column of the name it had before the migration is there again when the migration ends.
      const original = nameBeforeRenames(changes, change, table, column);
      if (change.revision.after.tables.get(table)?.columns.some((c) => c.name === original)) return [];
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
          object: `${table}.${column}`,
          suggestion: steps.join('\n\n'),
        }),
      ];
    });
  },
  group: {
    noun: 'column',
    plural: 'columns',
    // The same two deploys for every column; those NOT NULL without a default need one more step.
    fix: (finding) => ((finding.suggestion ?? '').includes(' is NOT NULL without a default: ') ? 'nullable, then two deploys' : 'two deploys'),
    summarize,
  },
};

/** The name `column` had when the migration started, following its renames in that migration back. */
function nameBeforeRenames(changes: TableChange[], drop: TableChange, table: string, column: string): string {
  let name = column;
  for (const change of changes.slice(0, changes.indexOf(drop)).reverse()) {
    if (change.revision === drop.revision && change.kind === 'rename-column' && change.table === table && change.to === name) name = change.from;
  }
  return name;
}

/** Several columns dropped in one migration: one finding, the two deploys said once, each step's code in one block. */
function summarize({ findings, names, listed, code }: FindingGroup): { message: string; suggestion: string } {
  const cascade = findings.some((f) => f.message.includes(' CASCADE also drops ')) ? ' CASCADE also drops what depends on them;' : '';
  const steps = [
    'Drop columns in two deploys. First, in this pull request, stop using them in the code (remove them from the models ' +
      'and from every query) and leave them in the database: take the drops out of this migration, and deploy. ' +
      `\`ignore-objects = [${names.map((name) => JSON.stringify(name)).join(', ')}]\` in \`[tool.alembic-guard]\` of ` +
      'pyproject.toml keeps missing-migration quiet meanwhile.',
  ];
  if (code.length > 1) {
    steps.push(
      'They are NOT NULL without a default: inserts from code that no longer sets them fail, so let this pull request make them nullable:\n\n' +
        codeBlock('python', code[0]!),
    );
  }
  steps.push(
    'Then, in a later pull request, once no running code uses them (copy the data elsewhere first if it is still needed):\n\n' +
      codeBlock('python', code.at(-1)!),
  );
  return {
    message:
      `Drops ${findings.length} columns that exist before this pull request: ${listed}:${cascade} code deployed before the ` +
      'migration still reads and writes them and fails until the new code is out, and their data is deleted.',
    suggestion: steps.join('\n\n'),
  };
}
