// rename-as-drop-add: one migration drops an existing column and adds one to the same table: what autogenerate writes
// for a renamed attribute, and it deletes the column's data.
import type { RevisionEvidence } from '../evidence/evidence.js';
import type { Column } from '../schema/schema.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { pullRequestChanges, type TableChange } from './support/pull-request.js';
import { opTable, py, withPostgresqlImport } from './support/python-code.js';
import { describeColumnType, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOfFormatType } from './support/sqlalchemy-type.js';

type Drop = Extract<TableChange, { kind: 'drop-column' }>;
type Add = Extract<TableChange, { kind: 'add-column' }>;

/** The added column as the schema holds it after the revision (null when a later statement of it changed it away). */
function addedColumn(add: Add, revision: RevisionEvidence): Column | null {
  return revision.after.tables.get(add.table)?.columns.find((c) => c.name === add.column) ?? null;
}

function sameType(drop: Drop, added: Column | null): boolean {
  return drop.info !== null && added !== null && drop.info.type === added.type;
}

/**
 * Pairs each dropped existing column with a column added to the same table in the same revision: the same name first
 * (a drop and re-add), then the same type, then in the order they were written. Each add is used once.
 */
function pairDropsWithAdds(changes: TableChange[]): { drop: Drop; add: Add; added: Column | null }[] {
  const pairs: { drop: Drop; add: Add; added: Column | null }[] = [];
  const byRevisionAndTable = new Map<string, { drops: Drop[]; adds: Add[] }>();
  for (const change of changes) {
    if (change.kind !== 'drop-column' && change.kind !== 'add-column') continue;
    if (change.kind === 'drop-column' && !change.existing) continue;
    if (change.kind === 'add-column' && !change.tableExisting) continue;
    const key = `${change.revision.revision}\u0000${change.table}`;
    const group = byRevisionAndTable.get(key) ?? { drops: [], adds: [] };
    if (change.kind === 'drop-column') group.drops.push(change);
    else group.adds.push(change);
    byRevisionAndTable.set(key, group);
  }
  for (const { drops, adds } of byRevisionAndTable.values()) {
    const free = adds.map((add) => ({ add, added: addedColumn(add, add.revision) }));
    const take = (drop: Drop, fits: (candidate: (typeof free)[number]) => boolean) => {
      const index = free.findIndex(fits);
      if (index < 0) return false;
      const [chosen] = free.splice(index, 1);
      pairs.push({ drop, ...chosen! });
      return true;
    };
    const unpaired = drops.filter((drop) => !take(drop, (c) => c.add.column === drop.column));
    const stillUnpaired = unpaired.filter((drop) => !take(drop, (c) => sameType(drop, c.added)));
    for (const drop of stillUnpaired) take(drop, () => true);
  }
  return pairs.sort((a, b) => (a.drop.statement.line ?? 0) - (b.drop.statement.line ?? 0));
}

export const renameAsDropAdd: Rule = {
  id: 'rename-as-drop-add',
  severity: 'warning',
  check({ graph, evidence }) {
    return pairDropsWithAdds(pullRequestChanges(graph, evidence)).map(({ drop, add, added }) => {
      const { table } = drop;
      const [tableArg, schemaArg] = opTable(table);
      const oldType = drop.info ? ` (${describeColumnType(drop.info)})` : '';
      const newType = added ? ` (${describeColumnType(added)})` : '';
      const addLine = add.statement.line !== null ? ` on line ${add.statement.line}` : '';
      let message: string;
      let suggestion: string;
      if (add.column === drop.column) {
        message =
          `Drops column ${table}.${drop.column}${oldType} and adds it back${newType}${addLine} in the same migration: ` +
          'every value it held is deleted.';
        const targetType = added?.type ?? 'new_type';
        const saType = sqlAlchemyTypeOfFormatType(targetType, add.revision.after.enums);
        const using = `${sqlIdentifier(drop.column)}::${targetType}`;
        const code = saType
          ? `op.alter_column(${tableArg}, ${py(drop.column)}, type_=${saType}, postgresql_using=${py(using)}${schemaArg})`
          : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ALTER COLUMN ${sqlIdentifier(drop.column)} TYPE ${targetType} USING ${using}`)})`;
        suggestion =
          'To change the column in place and keep its data, alter it instead of dropping it (`USING` says how to convert the values; ' +
          'on a table with rows this rewrites it under an ACCESS EXCLUSIVE lock):\n\n' +
          codeBlock('python', withPostgresqlImport(code, saType?.includes('postgresql.') ?? false));
      } else {
        const looksLike = sameType(drop, added)
          ? `it looks like a rename of ${drop.column} to ${add.column}`
          : `if it is meant as a rename of ${drop.column} to ${add.column}`;
        message =
          `Drops column ${table}.${drop.column}${oldType} and adds ${table}.${add.column}${newType}${addLine} in the same migration: ` +
          `${looksLike}, which is what autogenerate writes for a renamed attribute, and it deletes every value of ${drop.column} ` +
          `instead of keeping it under the new name.`;
        suggestion =
          `If it is a rename, replace the add_column and drop_column with one rename, which keeps the data:\n\n` +
          codeBlock('python', `op.alter_column(${tableArg}, ${py(drop.column)}, new_column_name=${py(add.column)}${schemaArg})`) +
          '\n\nand in downgrade():\n\n' +
          codeBlock('python', `op.alter_column(${tableArg}, ${py(add.column)}, new_column_name=${py(drop.column)}${schemaArg})`) +
          `\n\nIf ${drop.column} is really meant to go, drop it in a later pull request, once no running code uses it (see drop-column).`;
      }
      return finding(renameAsDropAdd, {
        message,
        file: drop.file,
        line: drop.statement.line,
        revision: drop.revision.revision,
        suggestion,
      });
    });
  },
};
