// Alembic code that fills a column's existing rows and makes it NOT NULL, as the nullability rules suggest it.
import type { Schema } from '../../schema/schema.js';
import { stringValues, type TypeName } from '../../sql/ast.js';
import { opTable, pyReadable } from './python-code.js';
import type { PythonType } from './sqlalchemy-type.js';
import { sqlIdentifier, sqlTable } from './sql-text.js';

export interface BackfillValue {
  /** SQL for the value existing rows get. */
  sql: string;
  /** A constant (usable as a metadata-only server default), not something computed per row. */
  constant: boolean;
}

/** A value of the column's type to start the backfill from: the developer chooses the real one. */
export function backfillValue(typeName: TypeName | null | undefined, schema: Schema | null = null): BackfillValue {
  const names = stringValues(typeName?.names);
  const base = names.at(-1) ?? '';
  const constant = (sql: string): BackfillValue => ({ sql, constant: true });
  if ((typeName?.arrayBounds ?? []).length > 0) return constant("'{}'");
  const qualified = names[0] === 'public' && names.length === 2 ? names[1]! : names.join('.');
  const labels = schema?.enums.get(qualified);
  if (labels && labels.length > 0) return constant(`'${labels[0]!.replace(/'/g, "''")}'`);
  switch (base) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'numeric':
    case 'float4':
    case 'float8':
      return constant('0');
    case 'bool':
      return constant('false');
    case 'timestamp':
    case 'timestamptz':
      return constant('now()');
    case 'date':
      return constant('current_date');
    case 'time':
    case 'timetz':
      return constant("'00:00'");
    case 'interval':
      return constant("'0'");
    case 'json':
    case 'jsonb':
      return constant("'{}'");
    case 'uuid':
      return { sql: 'gen_random_uuid()', constant: false };
    default:
      return constant("''");
  }
}

/** The single-column primary key of `table`, or null. */
export function primaryKey(schema: Schema, table: string): string | null {
  const pk = schema.constraints.find((c) => c.table === table && c.type === 'p');
  return pk && pk.columns.length === 1 ? pk.columns[0]! : null;
}

/**
 * Python that fills `column` where it is NULL. With `batchKey` (a one-column primary key): in batches of 10,000
 * rows, each committed on its own, so that no lock is held on the whole table for the whole backfill; without it,
 * one UPDATE in the migration's transaction. `todo` marks the value as one the developer has to choose.
 */
export function backfillCode(table: string, column: string, value: BackfillValue, options: { batchKey: string | null; todo: boolean }): string {
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  if (options.batchKey === null) {
    const note = options.todo ? '  # TODO: the value existing rows get; in batches on a big table' : '';
    return `op.execute(${pyReadable(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${c} IS NULL`)})${note}`;
  }
  const k = sqlIdentifier(options.batchKey);
  return [
    `# Fill the existing rows in batches, each in its own transaction.${options.todo ? ' TODO: the value existing rows get.' : ''}`,
    'with op.get_context().autocommit_block():',
    '    while op.get_bind().execute(sa.text(',
    `        ${pyReadable(`UPDATE ${t} SET ${c} = ${value.sql} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${c} IS NULL LIMIT 10000)`)}`,
    '    )).rowcount:',
    '        pass',
  ].join('\n');
}

/** `op.alter_column(table, column, nullable=False, existing_type=...)`. */
export function alterNotNull(table: string, column: string, type: PythonType | null): string {
  const existing = type?.known ? `, existing_type=${type.code}` : '';
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  return `op.alter_column(${tableArg}, ${pyReadable(column)}, nullable=False${existing}${schemaArg})`;
}
