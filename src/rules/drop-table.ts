// drop-table: a table that existed before the pull request is dropped: code still running breaks, its rows are gone.
import { codeBlock, finding, type FindingGroup, type Rule } from './rule.js';
import { pullRequestChanges } from './support/pull-request.js';
import { opTable, py } from './support/python-code.js';

function columnList(names: string[]): string {
  if (names.length === 0) return 'no columns';
  const shown = names.slice(0, 6).join(', ');
  return names.length > 6 ? `columns ${shown} and ${names.length - 6} more` : `column${names.length === 1 ? '' : 's'} ${shown}`;
}

export const dropTable: Rule = {
  id: 'drop-table',
  severity: 'warning',
  check({ graph, evidence }) {
    return pullRequestChanges(graph, evidence).flatMap((change) => {
      if (change.kind !== 'drop-table' || !change.existing) return [];
      const { table } = change;
      const [tableArg, schemaArg] = opTable(table);
      // Foreign keys into the table, as the schema held them just before this revision: they must go before it.
      const foreignKeys = change.revision.before.constraints.filter((c) => c.type === 'f' && c.referencedTable === table && c.table !== table);
      const cascade =
        change.cascade && foreignKeys.length > 0 ? ` CASCADE also drops the foreign keys ${foreignKeys.map((c) => `${c.table}.${c.name}`).join(', ')};` : '';
      const message =
        `Drops table ${table} (${columnList(change.columns.map((c) => c.name))}), which exists before this pull request:${cascade} ` +
        'code deployed before the migration still reads and writes it and fails until the new code is out, and its rows are deleted.';
      const first =
        `Drop a table in two deploys. First, in this pull request, stop using \`${table}\` in the code ` +
        '(remove its model, the relationships that point at it and every query) and leave it in the database: ' +
        `take the drop out of this migration, and deploy. \`ignore-objects = ["${table}"]\` in \`[tool.alembic-guard]\` of ` +
        'pyproject.toml keeps missing-migration quiet meanwhile.';
      const code = [
        ...foreignKeys.map((c) => {
          const [other, otherSchema] = opTable(c.table);
          return `op.drop_constraint(${py(c.name)}, ${other}, type_="foreignkey"${otherSchema})`;
        }),
        `op.drop_table(${tableArg}${schemaArg})`,
      ];
      const later =
        'Then, in a later pull request, once no running code uses it (copy the rows elsewhere first if they are still needed):\n\n' +
        codeBlock('python', code.join('\n'));
      return [
        finding(dropTable, {
          message,
          file: change.file,
          line: change.statement.line,
          revision: change.revision.revision,
          object: table,
          suggestion: `${first}\n\n${later}`,
        }),
      ];
    });
  },
  group: { noun: 'table', plural: 'tables', fix: () => 'two deploys', summarize },
};

/** Several tables dropped in one migration: one finding, the two deploys said once, the later drops in one block. */
function summarize({ findings, names, listed, code }: FindingGroup): { message: string; suggestion: string } {
  const cascade = findings.some((f) => f.message.includes(' CASCADE also drops ')) ? ' CASCADE also drops the foreign keys into them;' : '';
  // The foreign keys into the tables go first, then the tables (a key on one of them goes before that table does).
  const lines = code[0]!.split('\n');
  const drops = [...new Set([...lines.filter((l) => l.startsWith('op.drop_constraint(')), ...lines.filter((l) => !l.startsWith('op.drop_constraint('))])];
  const first =
    'Drop tables in two deploys. First, in this pull request, stop using them in the code (remove their models, the ' +
    'relationships that point at them and every query) and leave them in the database: take the drops out of this ' +
    `migration, and deploy. \`ignore-objects = [${names.map((name) => JSON.stringify(name)).join(', ')}]\` in ` +
    '`[tool.alembic-guard]` of pyproject.toml keeps missing-migration quiet meanwhile.';
  const later =
    'Then, in a later pull request, once no running code uses them (copy the rows elsewhere first if they are still needed):\n\n' +
    codeBlock('python', drops.join('\n'));
  return {
    message:
      `Drops ${findings.length} tables that exist before this pull request: ${listed}:${cascade} code deployed before the ` +
      'migration still reads and writes them and fails until the new code is out, and their rows are deleted.',
    suggestion: `${first}\n\n${later}`,
  };
}
