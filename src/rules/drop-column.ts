// drop-column: a column that existed before the pull request is dropped: code still running breaks, its data is gone.
// Also home of pullRequestChanges, the walk over the new revisions' statements that tells existing objects from new ones.
import type { Evidence, RevisionEvidence, StatementEvidence } from '../evidence/evidence.js';
import type { Column } from '../schema/schema.js';
import { alterTableCommands, dropStatement, nodeAs, relationName, renameStatement, statementsOf, type Node } from '../sql/ast.js';
import { codeBlock, finding, type Rule } from './rule.js';

// ---------------------------------------------------------------------------------------------------------------
// What the pull request's statements do to tables and columns, in the order they ran

interface TrackedColumn {
  /** Existed before the PR's first new migration (under this or an earlier name). */
  existing: boolean;
  /** What the schema said about it just before the revision that touches it; null for columns the PR added. */
  column: Column | null;
}

interface TrackedTable {
  existing: boolean;
  columns: Map<string, TrackedColumn>;
  /** Alembic's batch "move and copy": `_alembic_tmp_<table>`, which replaces `<table>` under its name. */
  replaces: string | null;
}

interface ChangeContext {
  revision: RevisionEvidence;
  statement: StatementEvidence;
}

export type TableChange = ChangeContext &
  (
    | { kind: 'drop-table'; table: string; existing: boolean; columns: Column[]; cascade: boolean }
    | { kind: 'drop-column'; table: string; column: string; existing: boolean; info: Column | null; cascade: boolean; recreate: boolean }
    | { kind: 'add-column'; table: string; column: string; tableExisting: boolean }
    | { kind: 'rename-column'; table: string; from: string; to: string; existing: boolean; info: Column | null }
    | { kind: 'rename-table'; from: string; to: string; existing: boolean; columns: Column[] }
  );

/** `_alembic_tmp_users`, `audit._alembic_tmp_events`: the copy batch_alter_table(recreate=...) builds. */
function batchCopyName(table: string): string {
  const dot = table.indexOf('.');
  return dot < 0 ? `_alembic_tmp_${table}` : `${table.slice(0, dot + 1)}_alembic_tmp_${table.slice(dot + 1)}`;
}

function columnDefNames(elements: Node[] | undefined): string[] {
  return (elements ?? []).flatMap((n) => nodeAs(n, 'ColumnDef')?.colname ?? []);
}

function existingColumns(table: TrackedTable): Column[] {
  return [...table.columns.values()].flatMap((c) => (c.existing && c.column ? [c.column] : []));
}

/**
 * Every table and column change the new revisions made, read from the parsed statements. "Existing" = there before
 * the PR's first new migration and not re-created since: a table created earlier in the PR, or a column the PR added,
 * is not existing. Renames carry existence (a renamed existing column still holds its data).
 */
export function pullRequestChanges(evidence: Evidence | null): TableChange[] {
  if (!evidence) return [];
  const tables = new Map<string, TrackedTable>();
  for (const [name, table] of evidence.baseline.tables) {
    tables.set(name, {
      existing: true,
      columns: new Map(table.columns.map((column) => [column.name, { existing: true, column }])),
      replaces: null,
    });
  }
  const changes: TableChange[] = [];
  for (const revision of evidence.revisions) {
    // What the columns look like now (a type may have changed in an earlier revision of the PR).
    for (const [name, tracked] of tables) {
      const now = revision.before.tables.get(name);
      if (!now) continue;
      for (const column of now.columns) {
        const known = tracked.columns.get(column.name);
        if (known?.existing) known.column = column;
      }
    }
    revision.statements.forEach((statement, index) => {
      const context: ChangeContext = { revision, statement };
      for (const stmt of statementsOf(statement.ast)) {
        applyStatement(stmt, context, tables, changes, revision.statements.slice(index + 1));
      }
    });
  }
  return changes;
}

function applyStatement(stmt: Node, context: ChangeContext, tables: Map<string, TrackedTable>, changes: TableChange[], later: StatementEvidence[]): void {
  const create = nodeAs(stmt, 'CreateStmt');
  if (create) {
    const name = relationName(create.relation);
    if (create.if_not_exists && tables.has(name)) return;
    const columns = new Map(columnDefNames(create.tableElts).map((c): [string, TrackedColumn] => [c, { existing: false, column: null }]));
    tables.set(name, { existing: false, columns, replaces: null });
    return;
  }
  const createAs = nodeAs(stmt, 'CreateTableAsStmt');
  if (createAs) {
    const name = relationName(createAs.into?.rel);
    if (!(createAs.if_not_exists && tables.has(name))) tables.set(name, { existing: false, columns: new Map(), replaces: null });
    return;
  }
  const drop = dropStatement(stmt);
  if (drop) {
    if (drop.objectType !== 'table') return;
    for (const name of drop.names) {
      const tracked = tables.get(name);
      if (!tracked) continue;
      tables.delete(name);
      const copy = tables.get(batchCopyName(name));
      if (copy && renamesLater(later, batchCopyName(name), name)) {
        // batch_alter_table's move and copy: the copy takes over the table, minus the columns it left out.
        copy.existing = tracked.existing;
        copy.replaces = name;
        for (const [column, old] of tracked.columns) {
          const kept = copy.columns.get(column);
          if (kept) copy.columns.set(column, old);
          else changes.push({ ...context, kind: 'drop-column', table: name, column, existing: tracked.existing && old.existing, info: old.column, cascade: false, recreate: true });
        }
        continue;
      }
      changes.push({ ...context, kind: 'drop-table', table: name, existing: tracked.existing, columns: existingColumns(tracked), cascade: drop.cascade });
    }
    return;
  }
  const rename = renameStatement(stmt);
  if (rename) {
    if (rename.objectType === 'table') {
      const tracked = tables.get(rename.from);
      if (!tracked) return;
      tables.delete(rename.from);
      tables.set(rename.to, tracked);
      if (tracked.replaces === rename.to) {
        tracked.replaces = null;
        return;
      }
      changes.push({ ...context, kind: 'rename-table', from: rename.from, to: rename.to, existing: tracked.existing, columns: existingColumns(tracked) });
    } else if (rename.objectType === 'column') {
      const tracked = tables.get(rename.table);
      const column = tracked?.columns.get(rename.from);
      if (!tracked || !column) return;
      tracked.columns.delete(rename.from);
      tracked.columns.set(rename.to, column);
      changes.push({
        ...context,
        kind: 'rename-column',
        table: rename.table,
        from: rename.from,
        to: rename.to,
        existing: tracked.existing && column.existing,
        info: column.column,
      });
    }
    return;
  }
  for (const command of alterTableCommands(stmt)) {
    const tracked = tables.get(command.table);
    if (!tracked || !command.name) continue;
    if (command.subtype === 'AT_DropColumn') {
      const column = tracked.columns.get(command.name);
      if (!column) continue;
      tracked.columns.delete(command.name);
      changes.push({
        ...context,
        kind: 'drop-column',
        table: command.table,
        column: command.name,
        existing: tracked.existing && column.existing,
        info: column.column,
        cascade: command.cascade,
        recreate: false,
      });
    } else if (command.subtype === 'AT_AddColumn') {
      if (command.missingOk && tracked.columns.has(command.name)) continue;
      tracked.columns.set(command.name, { existing: false, column: null });
      changes.push({ ...context, kind: 'add-column', table: command.table, column: command.name, tableExisting: tracked.existing });
    }
  }
}

function renamesLater(later: StatementEvidence[], from: string, to: string): boolean {
  return later.some((s) =>
    statementsOf(s.ast).some((stmt) => {
      const rename = renameStatement(stmt);
      return rename?.objectType === 'table' && rename.from === from && rename.to === to;
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Small renderers shared by the destructive rules' messages and suggestions

/** A Python string literal (JSON's escapes are Python's too). */
export function py(text: string): string {
  return JSON.stringify(text);
}

/** The table argument of an op.* call and its `schema=` keyword: `users` -> ['"users"', ''], `audit.events` -> ['"events"', ', schema="audit"']. */
export function opTable(table: string): [string, string] {
  const dot = table.indexOf('.');
  return dot < 0 ? [py(table), ''] : [py(table.slice(dot + 1)), `, schema=${py(table.slice(0, dot))}`];
}

// Words that cannot stand unquoted as a column or table name (Postgres's reserved keywords).
const RESERVED = new Set(
  ('all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog ' +
    'current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except ' +
    'false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp ' +
    'not null offset on only or order placing primary references returning select session_user some symmetric system_user table ' +
    'then to trailing true union unique user using variadic when where window with').split(' '),
);

/** An identifier as SQL needs it written: bare when it is a plain lower-case name, else double-quoted. */
export function sqlIdentifier(name: string): string {
  const plain = name !== '' && [...name].every((ch, i) => (ch >= 'a' && ch <= 'z') || ch === '_' || (i > 0 && ((ch >= '0' && ch <= '9') || ch === '$')));
  return plain && !RESERVED.has(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** A table name as the schema spells it (`audit.events`), written for SQL. */
export function sqlTable(table: string): string {
  const dot = table.indexOf('.');
  return dot < 0 ? sqlIdentifier(table) : `${sqlIdentifier(table.slice(0, dot))}.${sqlIdentifier(table.slice(dot + 1))}`;
}

/** `character varying(20) NOT NULL`: a column as the replay's schema described it. */
export function describeColumnType(column: Column | null): string {
  if (!column) return '';
  return column.notNull ? `${column.type} NOT NULL` : column.type;
}

/**
 * The SQLAlchemy type for a Postgres type as format_type prints it (`character varying(20)` -> `sa.String(length=20)`),
 * or null when there is no plain equivalent (then write SQL). `postgresql.` types need
 * `from sqlalchemy.dialects import postgresql`.
 */
export function sqlAlchemyType(pgType: string, enums: Map<string, string[]> = new Map()): string | null {
  if (pgType.endsWith('[]')) {
    const item = sqlAlchemyType(pgType.slice(0, -2), enums);
    return item ? `postgresql.ARRAY(${item})` : null;
  }
  if (enums.has(pgType)) {
    const dot = pgType.indexOf('.');
    return dot < 0
      ? `postgresql.ENUM(name=${py(pgType)}, create_type=False)`
      : `postgresql.ENUM(name=${py(pgType.slice(dot + 1))}, schema=${py(pgType.slice(0, dot))}, create_type=False)`;
  }
  // format_type's spelling: a name, then the modifiers in parentheses (`numeric(10,2)`, `character varying(20)`).
  const open = pgType.indexOf('(');
  const name = open < 0 ? pgType : pgType.slice(0, open);
  const modifiers = open < 0 || !pgType.endsWith(')') ? [] : pgType.slice(open + 1, -1).split(',');
  if (!modifiers.every((m) => m !== '' && [...m].every((ch) => ch >= '0' && ch <= '9'))) return null;
  const [first, second] = modifiers;
  switch (modifiers.length === 0 ? name : `${name}(${modifiers.length})`) {
    case 'integer': return 'sa.Integer()';
    case 'bigint': return 'sa.BigInteger()';
    case 'smallint': return 'sa.SmallInteger()';
    case 'text': return 'sa.Text()';
    case 'boolean': return 'sa.Boolean()';
    case 'character varying': return 'sa.String()';
    case 'character varying(1)': return `sa.String(length=${first})`;
    case 'character(1)': return `sa.CHAR(length=${first})`;
    case 'timestamp without time zone': return 'sa.DateTime()';
    case 'timestamp with time zone': return 'sa.DateTime(timezone=True)';
    case 'date': return 'sa.Date()';
    case 'time without time zone': return 'sa.Time()';
    case 'time with time zone': return 'sa.Time(timezone=True)';
    case 'numeric': return 'sa.Numeric()';
    case 'numeric(2)': return `sa.Numeric(precision=${first}, scale=${second})`;
    case 'double precision': return 'sa.Float()';
    case 'real': return 'sa.REAL()';
    case 'uuid': return 'sa.Uuid()';
    case 'json': return 'sa.JSON()';
    case 'jsonb': return 'postgresql.JSONB()';
    case 'bytea': return 'sa.LargeBinary()';
    case 'interval': return 'sa.Interval()';
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The rule

export const dropColumn: Rule = {
  id: 'drop-column',
  severity: 'warning',
  check({ graph, evidence }) {
    return pullRequestChanges(evidence).flatMap((change) => {
      if (change.kind !== 'drop-column' || !change.existing) return [];
      const revision = graph.byId.get(change.revision.revision);
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
          file: revision?.file ?? null,
          line: change.statement.line,
          revision: change.revision.revision,
          suggestion: steps.join('\n\n'),
        }),
      ];
    });
  },
};
