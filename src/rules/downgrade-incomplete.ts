// downgrade-incomplete: a new revision's downgrade() raises, does nothing, or leaves the schema different from before
// its upgrade (the replay runs each one and compares the schema snapshots).
import type { Revision } from '../graph/graph.js';
import { diffSchemas, enumLabelsLeft, type SchemaDifference } from '../schema/diff.js';
import type { Column, Constraint, Index, Schema, Table } from '../schema/schema.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { opTable, py, pyList } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOfFormatType } from './support/sqlalchemy-type.js';

const constraintKey = (c: Constraint) => `${c.table}.${c.name}`;

// ---------------------------------------------------------------------------------------------------------------
// What remains: the differences between the schema before the upgrade and after the downgrade, in words

/** "column users.bio still exists", "index ix_users_email is missing", "column users.phone: type ... -> ...". */
function remains(diff: SchemaDifference): string {
  const [noun, change] = diff.kind.split('-') as [string, 'added' | 'removed' | 'changed'];
  const subject = `${noun} ${diff.object}`;
  if (change === 'added') return `${subject} still exists`;
  if (change === 'removed') return `${subject} is missing`;
  return `${subject} differs (${diff.detail}, before the upgrade -> after the downgrade)`;
}

function listed(items: string[], separator: string, limit = 5): string {
  const shown = items.slice(0, limit);
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(separator)}${separator}and ${rest} more` : shown.join(separator);
}

/** What is left between the schema before the upgrade (target) and after the downgrade (current). */
function listRemains(restore: Restore): string {
  return listed(
    [
      ...restore.renames.map((r) => (r.what === 'table' ? `table ${r.was} is still named ${r.now}` : `column ${r.table}.${r.was} is still named ${r.now}`)),
      ...restore.differences.map(remains),
    ],
    '; ',
  );
}

/** What an upgrade changed (target = before it, current = after it): "column users.bio added, table posts renamed to articles". */
function listChanges(restore: Restore): string {
  return listed(
    [
      ...restore.renames.map((r) => (r.what === 'table' ? `table ${r.was} renamed to ${r.now}` : `column ${r.table}.${r.was} renamed to ${r.now}`)),
      ...restore.differences.map((d) => {
        const [noun, change] = d.kind.split('-') as [string, string];
        return change === 'changed' ? `${noun} ${d.object} changed (${d.detail})` : `${noun} ${d.object} ${change}`;
      }),
    ],
    ', ',
  );
}

/** The differences worth naming: a table's constraints and indexes come and go with it. */
function notable(diffs: SchemaDifference[], a: Schema, b: Schema): SchemaDifference[] {
  const whole = new Set(diffs.filter((d) => d.kind === 'table-added' || d.kind === 'table-removed').map((d) => d.object));
  const constraints = [...a.constraints, ...b.constraints];
  return diffs.filter((d) => {
    if (d.kind.startsWith('constraint-')) {
      const constraint = constraints.find((c) => constraintKey(c) === d.object);
      return !constraint || !whole.has(constraint.table);
    }
    if (d.kind.startsWith('index-')) {
      const tables = [a.indexes.get(d.object)?.table, b.indexes.get(d.object)?.table].filter((t) => t !== undefined);
      return tables.length === 0 || !tables.every((t) => whole.has(t));
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The operations that take `current` back to `target`, as Alembic Python

interface Restore {
  /** Alembic operations, in an order that runs. */
  lines: string[];
  /** Some line uses `postgresql.` types. */
  postgresql: boolean;
  /** Renames that explain differences; `table` is the column's table. */
  renames: { what: 'table' | 'column'; table: string; was: string; now: string }[];
  /** The other differences worth naming (a table's own constraints and indexes, and what renames carry, left out). */
  differences: SchemaDifference[];
}

const CONSTRAINT_TYPES: Record<string, string> = { f: 'foreignkey', u: 'unique', c: 'check', p: 'primary' };

function dropConstraint(c: Constraint): string {
  const [table, schema] = opTable(c.table);
  const type = CONSTRAINT_TYPES[c.type];
  return type
    ? `op.drop_constraint(${py(c.name)}, ${table}, type_=${py(type)}${schema})`
    : `op.execute(${py(`ALTER TABLE ${sqlTable(c.table)} DROP CONSTRAINT ${sqlIdentifier(c.name)}`)})`;
}

function addConstraint(c: Constraint): string {
  const [table, schema] = opTable(c.table);
  const columns = pyList(c.columns);
  if (c.type === 'u' && c.columns.length > 0) return `op.create_unique_constraint(${py(c.name)}, ${table}, ${columns}${schema})`;
  if (c.type === 'p' && c.columns.length > 0) return `op.create_primary_key(${py(c.name)}, ${table}, ${columns}${schema})`;
  return `op.execute(${py(`ALTER TABLE ${sqlTable(c.table)} ADD CONSTRAINT ${sqlIdentifier(c.name)} ${c.definition}`)})`;
}

/** Index names are qualified like tables; op.drop_index takes the bare name and schema=. */
function dropIndex(index: Index): string {
  const [name, schema] = opTable(index.name);
  const [table] = opTable(index.table);
  return `op.drop_index(${name}, table_name=${table}${schema})`;
}

function createIndex(index: Index): string {
  const [name, schema] = opTable(index.name);
  const [table] = opTable(index.table);
  const { schema: tableSchema, name: bareTable } = splitQualified(index.table);
  // pg_get_indexdef of a plain btree index over columns: op.create_index says the same; anything else stays SQL.
  const plain =
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${sqlIdentifier(splitQualified(index.name).name)} ` +
    `ON ${sqlIdentifier(tableSchema ?? 'public')}.${sqlIdentifier(bareTable)} USING btree (${index.columns.map((column) => sqlIdentifier(column)).join(', ')})`;
  if (index.columns.length > 0 && index.definition === plain) {
    return `op.create_index(${name}, ${table}, ${pyList(index.columns)}, unique=${index.unique ? 'True' : 'False'}${schema})`;
  }
  return `op.execute(${py(index.definition)})`;
}

function serverDefault(column: Column): string {
  return column.default === null ? 'None' : `sa.text(${py(column.default)})`;
}

/** `sa.Column("phone", sa.String(length=20), nullable=True)`, or null when the type has no SQLAlchemy spelling. */
function columnCode(column: Column, schema: Schema, restore: Restore, omitDefault = false): string | null {
  const type = sqlAlchemyTypeOfFormatType(column.type, schema.enums);
  if (!type) return null;
  if (type.includes('postgresql.')) restore.postgresql = true;
  const parts = [py(column.name), type];
  if (column.identity) parts.push(`sa.Identity(${column.identity === 'a' ? 'always=True' : ''})`);
  if (column.generated) parts.push(`sa.Computed(${py(column.default ?? '')}, persisted=True)`);
  parts.push(`nullable=${column.notNull ? 'False' : 'True'}`);
  if (!column.generated && column.default !== null && !omitDefault) parts.push(`server_default=${serverDefault(column)}`);
  return `sa.Column(${parts.join(', ')})`;
}

function columnSql(column: Column): string {
  const parts = [sqlIdentifier(column.name), column.type];
  if (column.notNull) parts.push('NOT NULL');
  if (column.default !== null && !column.generated) parts.push(`DEFAULT ${column.default}`);
  return parts.join(' ');
}

/** An integer primary key filled from its own sequence (SERIAL): SQLAlchemy makes the sequence again when the default is left out. */
function isSerialKey(column: Column, table: Table, target: Schema): boolean {
  const key = target.constraints.find((c) => c.table === table.name && c.type === 'p');
  return (
    key?.columns.length === 1 &&
    key.columns[0] === column.name &&
    ['integer', 'bigint', 'smallint'].includes(column.type) &&
    (column.default ?? '').startsWith('nextval(')
  );
}

function createTable(table: Table, target: Schema, restore: Restore): string {
  const [name, schema] = opTable(table.name);
  const key = target.constraints.find((c) => c.table === table.name && c.type === 'p');
  const columns = table.columns.map((c) => columnCode(c, target, restore, isSerialKey(c, table, target)));
  if (columns.every((c) => c !== null)) {
    const elements = [...columns];
    if (key) elements.push(`sa.PrimaryKeyConstraint(${key.columns.map((column) => py(column)).join(', ')}, name=${py(key.name)})`);
    return `op.create_table(\n    ${name},\n${elements.map((e) => `    ${e},`).join('\n')}\n${schema ? `   ${schema.slice(1)},\n` : ''})`;
  }
  const elements = table.columns.map(columnSql);
  if (key) elements.push(`CONSTRAINT ${sqlIdentifier(key.name)} ${key.definition}`);
  return `op.execute(${py(`CREATE TABLE ${sqlTable(table.name)} (${elements.join(', ')})`)})`;
}

function alterColumn(table: string, before: Column, now: Column, target: Schema, restore: Restore): string[] {
  const [tableArg, schema] = opTable(table);
  const changes: string[] = [];
  const sql: string[] = [];
  if (before.type !== now.type) {
    const type = sqlAlchemyTypeOfFormatType(before.type, target.enums);
    if (type) {
      if (type.includes('postgresql.')) restore.postgresql = true;
      changes.push(`type_=${type}`, `postgresql_using=${py(`${sqlIdentifier(before.name)}::${before.type}`)}`);
    } else {
      sql.push(`op.execute(${py(`ALTER TABLE ${sqlTable(table)} ALTER COLUMN ${sqlIdentifier(before.name)} TYPE ${before.type} USING ${sqlIdentifier(before.name)}::${before.type}`)})`);
    }
  }
  if (before.notNull !== now.notNull) changes.push(`nullable=${before.notNull ? 'False' : 'True'}`);
  if (before.default !== now.default && !before.generated && !now.generated) changes.push(`server_default=${serverDefault(before)}`);
  const lines = changes.length > 0 ? [`op.alter_column(${tableArg}, ${py(before.name)}, ${changes.join(', ')}${schema})`] : [];
  if (before.identity !== now.identity || before.generated !== now.generated) {
    lines.push(`# ${table}.${before.name}: restore its identity / generation as it was (${before.identity || before.generated || 'none'})`);
  }
  return [...sql, ...lines];
}

/** Tables first that reference others (when dropping), or that others reference (when creating). */
function byReferences(tables: string[], schema: Schema, dropping: boolean): string[] {
  const references = (from: string, to: string) => schema.constraints.some((c) => c.type === 'f' && c.table === from && c.referencedTable === to);
  const ordered: string[] = [];
  const pending = [...tables];
  while (pending.length > 0) {
    // Dropping: a table no pending table references goes first. Creating: a table that references no pending table.
    const index = pending.findIndex((t) =>
      dropping ? !pending.some((o) => o !== t && references(o, t)) : !pending.some((o) => o !== t && references(t, o)),
    );
    ordered.push(...pending.splice(index < 0 ? 0 : index, 1));
  }
  return ordered;
}

/** `users.bio` -> the table and column, as the differences name them. */
function columnsByObject(schema: Schema): Map<string, { table: Table; column: Column }> {
  return new Map(
    [...schema.tables.values()].flatMap((table) =>
      table.columns.map((column): [string, { table: Table; column: Column }] => [`${table.name}.${column.name}`, { table, column }]),
    ),
  );
}

/** Two columns that hold the same kind of data the same way (a rename keeps all of this). */
function sameColumn(a: Column, b: Column): boolean {
  return a.type === b.type && a.notNull === b.notNull && a.default === b.default && a.identity === b.identity && a.generated === b.generated;
}

function sameColumns(a: Table, b: Table): boolean {
  return a.kind === b.kind && a.columns.length === b.columns.length && a.columns.every((c) => b.columns.some((d) => d.name === c.name && sameColumn(c, d)));
}

/**
 * Renames that explain differences: a table missing from `current` and one there instead with the same columns, or a
 * column missing and one added to the same table with the same type, nullability and default. The schema cannot tell a
 * rename from a drop and an add, but renaming back restores the same schema either way.
 */
function findRenames(target: Schema, current: Schema, diffs: SchemaDifference[]) {
  const tables = new Map<string, string>(); // current name -> target name
  const removedTables = diffs.filter((d) => d.kind === 'table-removed').map((d) => d.object);
  for (const added of diffs.filter((d) => d.kind === 'table-added').map((d) => d.object)) {
    const now = current.tables.get(added)!;
    const was = removedTables.find((r) => ![...tables.values()].includes(r) && sameColumns(target.tables.get(r)!, now));
    if (was) tables.set(added, was);
  }
  const columns = new Map<string, Map<string, string>>(); // table -> current column -> target column
  const targetColumns = columnsByObject(target);
  const currentColumns = columnsByObject(current);
  const removed = diffs.filter((d) => d.kind === 'column-removed').flatMap((d) => targetColumns.get(d.object) ?? []);
  for (const d of diffs.filter((d) => d.kind === 'column-added')) {
    const now = currentColumns.get(d.object);
    if (!now) continue;
    const renamed = columns.get(now.table.name) ?? new Map<string, string>();
    const index = removed.findIndex((r) => r.table.name === now.table.name && !new Set(renamed.values()).has(r.column.name) && sameColumn(r.column, now.column));
    if (index < 0) continue;
    renamed.set(now.column.name, removed[index]!.column.name);
    columns.set(now.table.name, renamed);
  }
  return {
    tables,
    columns,
    table: (name: string) => tables.get(name) ?? name,
    column: (table: string, name: string) => columns.get(table)?.get(name) ?? name,
  };
}

/** The Alembic operations that turn `current` back into `target`. */
export function restoreOperations(target: Schema, current: Schema): Restore {
  const diffs = diffSchemas(target, current);
  const renames = findRenames(target, current, diffs);
  const restore: Restore = {
    lines: [],
    postgresql: false,
    renames: [
      ...[...renames.tables].map(([now, was]) => ({ what: 'table' as const, table: was, was, now })),
      ...[...renames.columns].flatMap(([table, columns]) => [...columns].map(([now, was]) => ({ what: 'column' as const, table, was, now }))),
    ],
    differences: [],
  };
  const lines = restore.lines;
  const renamedColumn = (table: string, column: string) => renames.columns.get(table)?.has(column) === true;
  const renamedBack = (table: string, column: string) => [...(renames.columns.get(table)?.values() ?? [])].includes(column);
  const of = (kind: SchemaDifference['kind']) => diffs.filter((d) => d.kind === kind).map((d) => d.object);
  const tablesAdded = new Set(of('table-added').filter((t) => !renames.tables.has(t)));
  const tablesRemoved = new Set(of('table-removed').filter((t) => ![...renames.tables.values()].includes(t)));
  const currentColumns = columnsByObject(current);
  const targetColumns = columnsByObject(target);

  // Constraints and indexes that the renames carry back unchanged (same name, kind and columns) are left alone.
  const targetConstraints = new Map(target.constraints.map((c) => [constraintKey(c), c]));
  const currentConstraints = new Map(current.constraints.map((c) => [constraintKey(c), c]));
  const carried = (now: Constraint) => {
    const table = renames.table(now.table);
    const was = targetConstraints.get(`${table}.${now.name}`);
    return (
      was !== undefined &&
      was.type === now.type &&
      (was.referencedTable ?? '') === (now.referencedTable === null ? '' : renames.table(now.referencedTable)) &&
      was.columns.join('\u0000') === now.columns.map((c) => renames.column(now.table, c)).join('\u0000') &&
      (now.type !== 'c' && now.type !== 'x' ? true : was.definition === now.definition)
    );
  };
  const touched = (table: string | null) => table !== null && (renames.tables.has(table) || renames.columns.has(table));
  const carriedConstraints = new Set(current.constraints.filter((c) => (touched(c.table) || touched(c.referencedTable)) && carried(c)).map(constraintKey));
  const carriedIndex = (name: string) => {
    const now = current.indexes.get(name);
    const was = target.indexes.get(name);
    if (!now || !was || !(renames.tables.has(now.table) || renames.columns.has(now.table))) return false;
    return (
      was.table === renames.table(now.table) &&
      was.unique === now.unique &&
      was.primary === now.primary &&
      was.columns.join('\u0000') === now.columns.map((c) => renames.column(now.table, c)).join('\u0000')
    );
  };
  const isCarried = (d: SchemaDifference) =>
    d.kind.startsWith('constraint-')
      ? carriedConstraints.has(d.object) || [...carriedConstraints].some((key) => {
          const c = currentConstraints.get(key)!;
          return `${renames.table(c.table)}.${c.name}` === d.object;
        })
      : d.kind.startsWith('index-') && carriedIndex(d.object);

  const constraintsToDrop = diffs
    .filter((d) => (d.kind === 'constraint-added' || d.kind === 'constraint-changed') && !isCarried(d))
    .flatMap((d) => currentConstraints.get(d.object) ?? [])
    .filter((c) => !tablesAdded.has(c.table))
    .sort((a, b) => Number(b.type === 'f') - Number(a.type === 'f'));
  // A primary key or unique constraint owns the index of the same name: it comes and goes with it.
  const ownedBy = (constraints: Constraint[], index: Index) => constraints.some((c) => c.name === splitQualified(index.name).name && c.table === index.table);
  const indexesToDrop = diffs
    .filter((d) => (d.kind === 'index-added' || d.kind === 'index-changed') && !isCarried(d))
    .flatMap((d) => current.indexes.get(d.object) ?? [])
    .filter((i) => !tablesAdded.has(i.table) && !ownedBy(current.constraints, i));

  lines.push(...constraintsToDrop.map(dropConstraint));
  lines.push(...indexesToDrop.map(dropIndex));
  for (const [now, was] of renames.tables) {
    const [nowArg, schema] = opTable(now);
    lines.push(`op.rename_table(${nowArg}, ${opTable(was)[0]}${schema})`);
  }
  for (const [table, renamed] of renames.columns) {
    const [tableArg, schema] = opTable(table);
    for (const [now, was] of renamed) lines.push(`op.alter_column(${tableArg}, ${py(now)}, new_column_name=${py(was)}${schema})`);
  }
  for (const object of of('column-added')) {
    const found = currentColumns.get(object);
    if (!found || renamedColumn(found.table.name, found.column.name)) continue;
    const [tableArg, schema] = opTable(found.table.name);
    lines.push(`op.drop_column(${tableArg}, ${py(found.column.name)}${schema})`);
  }
  for (const table of byReferences([...tablesAdded], current, true)) {
    const [tableArg, schema] = opTable(table);
    lines.push(`op.drop_table(${tableArg}${schema})`);
  }
  for (const name of of('enum-removed')) {
    const labels = (target.enums.get(name) ?? []).map((l) => `'${l.replaceAll("'", "''")}'`).join(', ');
    lines.push(`op.execute(${py(`CREATE TYPE ${sqlTable(name)} AS ENUM (${labels})`)})`);
  }
  for (const name of byReferences([...tablesRemoved], target, false)) {
    const table = target.tables.get(name);
    if (table) lines.push(createTable(table, target, restore));
  }
  for (const object of of('column-removed')) {
    const found = targetColumns.get(object);
    if (!found || renamedBack(found.table.name, found.column.name)) continue;
    const [tableArg, schema] = opTable(found.table.name);
    const code = columnCode(found.column, target, restore);
    lines.push(
      code
        ? `op.add_column(${tableArg}, ${code}${schema})`
        : `op.execute(${py(`ALTER TABLE ${sqlTable(found.table.name)} ADD COLUMN ${columnSql(found.column)}`)})`,
    );
  }
  for (const object of new Set(of('column-changed'))) {
    const before = targetColumns.get(object);
    const now = currentColumns.get(object);
    if (before && now) lines.push(...alterColumn(before.table.name, before.column, now.column, target, restore));
  }
  for (const name of of('enum-added')) lines.push(`op.execute(${py(`DROP TYPE ${sqlTable(name)}`)})`);
  for (const diff of diffs.filter((d) => d.kind === 'enum-changed' && !enumLabelsLeft(d))) {
    lines.push(`# enum ${diff.object}: ${diff.detail} since the upgrade; PostgreSQL cannot remove enum labels, so recreate the type`);
  }
  const constraintsToAdd = diffs
    .filter((d) => (d.kind === 'constraint-removed' || d.kind === 'constraint-changed') && !isCarried(d))
    .flatMap((d) => targetConstraints.get(d.object) ?? [])
    .filter((c) => c.type !== 'n' && !(c.type === 'p' && tablesRemoved.has(c.table)));
  const indexesToCreate = diffs
    .filter((d) => (d.kind === 'index-removed' || d.kind === 'index-changed') && !isCarried(d))
    .flatMap((d) => target.indexes.get(d.object) ?? [])
    .filter((i) => !ownedBy(target.constraints, i));
  lines.push(...indexesToCreate.map(createIndex));
  const order = (c: Constraint) => (c.type === 'p' ? 0 : c.type === 'u' ? 1 : c.type === 'f' ? 3 : 2);
  lines.push(...constraintsToAdd.sort((a, b) => order(a) - order(b)).map(addConstraint));
  const renamedObjects = new Set([
    ...[...renames.tables].flatMap(([now, was]) => [now, was]),
    ...restore.renames.filter((r) => r.what === 'column').flatMap((r) => [`${r.table}.${r.was}`, `${r.table}.${r.now}`]),
  ]);
  restore.differences = notable(diffs, target, current).filter(
    (d) =>
      !isCarried(d) &&
      !enumLabelsLeft(d) &&
      !((d.kind.startsWith('table-') || d.kind.startsWith('column-')) && d.kind !== 'column-changed' && renamedObjects.has(d.object)),
  );
  return restore;
}

function downgradeCode(restore: Restore): string {
  const body = restore.lines.length > 0 ? restore.lines.flatMap((l) => l.split('\n')).map((l) => `    ${l}`).join('\n') : '    pass';
  const header = restore.postgresql ? 'from sqlalchemy.dialects import postgresql\n\n\n' : '';
  return `${header}def downgrade() -> None:\n${body}`;
}

function missingCode(restore: Restore): string {
  const header = restore.postgresql ? 'from sqlalchemy.dialects import postgresql  # at the top of the file\n\n' : '';
  return `${header}${restore.lines.join('\n')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The rule

/** The first operation in downgrade(); for a downgrade() without one (`pass`), its `def` line. */
function downgradeLine(revision: Revision | undefined): number | null {
  if (!revision) return null;
  const firstOp = revision.ops.filter((op) => op.function === 'downgrade').sort((a, b) => a.line - b.line)[0];
  return firstOp?.line ?? revision.downgradeLine;
}

export const downgradeIncomplete: Rule = {
  id: 'downgrade-incomplete',
  severity: 'warning',
  check({ graph, evidence }) {
    if (!evidence) return [];
    return evidence.revisions.flatMap((observed) => {
      const run = observed.downgrade;
      // Restored exactly (the one-go check hands back the very schema it compared equal): nothing to compute.
      if (!run || (run.error === null && run.schemaAfterDowngrade === observed.before)) return [];
      const revision = graph.byId.get(observed.revision);
      const parent = revision?.parents[0] ?? 'its parent';
      const upgrade = restoreOperations(observed.before, observed.after);
      const changed = upgrade.renames.length + upgrade.differences.length > 0;
      const where = { file: revision?.file ?? null, revision: observed.revision };

      if (run.error !== null) {
        return [
          finding(downgradeIncomplete, {
            ...where,
            message:
              `downgrade() of revision ${observed.revision} fails: ${run.error}, so \`alembic downgrade ${parent}\` cannot roll it back.`,
            line: run.line ?? downgradeLine(revision),
            suggestion:
              changed
                ? `Make downgrade() undo what upgrade() does (${listChanges(upgrade)}), for example:\n\n${codeBlock('python', downgradeCode(upgrade))}\n\n` +
                  'If the migration cannot be undone (it deletes data), say so on the line that raises: ' +
                  '`# alembic-guard: ignore[downgrade-incomplete] irreversible: <why>`.'
                : 'Make downgrade() run: upgrade() changes no table, column, index, constraint or enum, so there is no schema change to undo.',
          }),
        ];
      }

      const afterDowngrade = run.schemaAfterDowngrade;
      if (!afterDowngrade || diffSchemas(observed.before, afterDowngrade).length === 0) return [];
      const restore = restoreOperations(observed.before, afterDowngrade);
      if (restore.differences.length === 0 && restore.renames.length === 0) return []; // only what Postgres cannot undo
      const didNothing = changed && diffSchemas(observed.after, afterDowngrade).length === 0;
      const message = didNothing
        ? `downgrade() of revision ${observed.revision} leaves the schema as upgrade() made it (${listChanges(upgrade)}): ` +
          `\`alembic downgrade ${parent}\` would undo none of it.`
        : `After downgrade() of revision ${observed.revision} the schema differs from before its upgrade: ${listRemains(restore)}.`;
      const suggestion = didNothing
        ? `Write the inverse operations:\n\n${codeBlock('python', downgradeCode(restore))}`
        : `Add to downgrade() what it misses:\n\n${codeBlock('python', missingCode(restore))}`;
      return [finding(downgradeIncomplete, { ...where, message, line: downgradeLine(revision), suggestion })];
    });
  },
};
