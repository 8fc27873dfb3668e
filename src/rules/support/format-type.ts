// Column types as format_type prints them in the schema snapshots (`character varying(20)`), read by Postgres's parser.
import type { Schema } from '../../schema/schema.js';
import { nodeAs, statementsOf, type TypeName } from '../../sql/ast.js';
import { parseStatement } from '../../sql/parse.js';

const parsed = new Map<string, TypeName | null>();

/** The parser's TypeName for a type as format_type prints it, or null when it does not parse. Needs loadSqlParser(). */
export function typeNameOf(formatType: string): TypeName | null {
  if (!parsed.has(formatType)) {
    const select = nodeAs(statementsOf(parseStatement(`SELECT NULL::${formatType}`))[0], 'SelectStmt');
    const target = nodeAs(select?.targetList?.[0], 'ResTarget');
    parsed.set(formatType, nodeAs(target?.val, 'TypeCast')?.typeName ?? null);
  }
  return parsed.get(formatType) ?? null;
}

/** The type of `table.column` in a schema snapshot, or null when the snapshot has no such column. */
export function columnTypeName(schema: Schema, table: string, column: string): TypeName | null {
  const type = schema.tables.get(table)?.columns.find((c) => c.name === column)?.type;
  return type ? typeNameOf(type) : null;
}
