// The pull request's statements in the order they ran, each with the tables and columns as they stood just before it.
import type { Evidence, RevisionEvidence, StatementEvidence } from '../../evidence/evidence.js';
import type { Finding } from '../../findings.js';
import type { MigrationGraph } from '../../graph/graph.js';
import type { Column, Schema } from '../../schema/schema.js';
import { alterTableCommands, columnConstraints, dropStatement, nodeAs, relationName, renameStatement, statementsOf, type ColumnDef, type Node } from '../../sql/ast.js';
import { finding, type Rule } from '../rule.js';

export interface Position {
  /** Index in evidence.revisions. */
  revision: number;
  /** Index in that revision's statements. */
  statement: number;
}

export function after(a: Position, b: Position): boolean {
  return a.revision > b.revision || (a.revision === b.revision && a.statement > b.statement);
}

export interface AddedColumn {
  /** The table it is in now. */
  table: string;
  /** The column as ADD COLUMN defined it, under its name now. */
  column: ColumnDef;
  revision: string;
  file: string | null;
  line: number | null;
  at: Position;
}

export interface TrackedColumn {
  /** There before the pull request's first new migration (under this or an earlier name). */
  existing: boolean;
  /** What the schema said about it just before the revision that touches it; null for columns the pull request added. */
  column: Column | null;
  /** The ALTER TABLE ... ADD COLUMN of the pull request that added it (an ADD COLUMN IF NOT EXISTS that found it counts). */
  added: Omit<AddedColumn, 'table'> | null;
}

export interface TrackedTable {
  /** Holds the rows of a table that was there before the pull request: renames and batch mode's copy carry them. */
  existing: boolean;
  /** The very relation that was there before the pull request, under this or an earlier name: not one built since. */
  original: boolean;
  /** pg_class.relkind before the pull request (r, p, v, m); null for a table it created. */
  kind: string | null;
  columns: ReadonlyMap<string, TrackedColumn>;
  /** Alembic's batch "move and copy": `_alembic_tmp_<table>`, which replaces `<table>` under its name. */
  replaces: string | null;
}

interface ChangeContext {
  revision: RevisionEvidence;
  /** The revision's file, relative to the repository root. */
  file: string | null;
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

export interface PullRequestStatement {
  revision: RevisionEvidence;
  /** The revision's file, relative to the repository root. */
  file: string | null;
  /** The op.* call's line, or the upgrade() line when the statement came from elsewhere (a helper module). */
  line: number | null;
  at: Position;
  statement: StatementEvidence;
  /** One statement of the parsed SQL (a captured string can hold several). */
  node: Node;
  /** The tables as they stood just before this statement, by their names then. */
  tables: ReadonlyMap<string, TrackedTable>;
  /** Where the pull request ran an UPDATE on each table before this statement. */
  updates: ReadonlyMap<string, readonly Position[]>;
  /** What this statement did to tables and columns. */
  changes: readonly TableChange[];
}

/**
 * Which statements make a new table under a name. `as-run`, what Postgres does: CREATE TABLE and CREATE TABLE AS
 * (materialized views included), except IF NOT EXISTS naming a table already there. `as-written`: CREATE TABLE (IF NOT
 * EXISTS or not), CREATE TABLE AS of a table and SELECT INTO, whether Postgres made one or not: how the nullability
 * rules read them.
 */
export type CreateReading = 'as-run' | 'as-written';

/**
 * Every parsed statement of the new revisions, in the order they ran, each with the tables just before it (which were
 * there before the pull request, which it created, added or renamed) and what it did to them: a table the pull request
 * created (even under the name of one it dropped) did not exist before; a renamed one did.
 */
/** Walks are pure functions of (evidence, reading): every rule of a check shares one walk. */
const walks = new WeakMap<Evidence, Map<CreateReading, PullRequestStatement[]>>();

export function pullRequestStatements(graph: MigrationGraph, evidence: Evidence | null, creates: CreateReading = 'as-run'): PullRequestStatement[] {
  if (!evidence) return [];
  const cached = walks.get(evidence)?.get(creates);
  if (cached) return cached;
  const result = walkStatements(graph, evidence, creates);
  walks.set(evidence, (walks.get(evidence) ?? new Map()).set(creates, result));
  return result;
}

function walkStatements(graph: MigrationGraph, evidence: Evidence, creates: CreateReading): PullRequestStatement[] {
  const walk = new TableWalk(evidence.baseline, creates);
  const result: PullRequestStatement[] = [];
  evidence.revisions.forEach((revision, r) => {
    const known = graph.byId.get(revision.revision);
    const file = known?.file ?? null;
    walk.refreshColumns(revision.before);
    revision.statements.forEach((statement, s) => {
      const at = { revision: r, statement: s };
      const line = statement.line ?? known?.upgradeLine ?? null;
      const later = () => revision.statements.slice(s + 1);
      for (const node of statementsOf(statement.ast)) {
        const { tables, updates } = walk.snapshot();
        const changes = walk.apply(node, { revision, file, statement }, at, later);
        result.push({ revision, file, line, at, statement, node, tables, updates, changes });
      }
    });
  });
  return result;
}

/**
 * Every table and column change the new revisions made. "Existing" = there before the pull request's first new
 * migration and not re-created since: a table it created, or a column it added, is not existing. Renames and batch
 * mode's copy carry existence (they hold the same data).
 */
export function pullRequestChanges(graph: MigrationGraph, evidence: Evidence | null): TableChange[] {
  return pullRequestStatements(graph, evidence).flatMap((site) => site.changes);
}

/**
 * Whether `table`, just before the statement, is a table (plain or partitioned) that was there before the pull
 * request, under this or an earlier name: not one it created, nor batch mode's copy.
 */
export function existedBefore(site: PullRequestStatement, table: string): boolean {
  const tracked = site.tables.get(table);
  return tracked !== undefined && tracked.original && (tracked.kind === 'r' || tracked.kind === 'p');
}

/**
 * The migration rewrote `table` earlier in its transaction (a type change, a volatile default): it holds ACCESS
 * EXCLUSIVE on it until the end whatever the statement does, and the finding about the rewrite is the one to act on.
 */
export function rewrittenEarlier(site: PullRequestStatement, table: string): boolean {
  return site.revision.statements.slice(0, site.at.statement).some((statement) => statement.rewrote.includes(table));
}

/** ADD COLUMN without a default, identity or generation expression leaves the column NULL in every existing row. */
export function addedAllNull(column: ColumnDef): boolean {
  const constraints = columnConstraints(column);
  return !constraints.hasDefault && !constraints.identity && !constraints.generated;
}

/**
 * `table.column` is NULL in every row when the statement runs: this migration added it without a default and nothing
 * wrote it since. (A column an earlier migration added may have been written by the app in between, if they are
 * deployed apart.)
 */
export function nullEverywhere(site: PullRequestStatement, table: string, column: string): boolean {
  const added = addedColumn(site, table, column);
  if (added === null || added.revision !== site.revision.revision || !addedAllNull(added.column)) return false;
  return !(site.updates.get(table) ?? []).some((at) => after(at, added.at));
}

/** How the pull request added `table.column` before the statement, or null when it did not. */
export function addedColumn(site: PullRequestStatement, table: string, column: string): AddedColumn | null {
  const added = site.tables.get(table)?.columns.get(column)?.added;
  return added ? { ...added, table } : null;
}

/** A finding at the statement's line (the upgrade() line for a statement issued elsewhere). */
export function findingAt(rule: Pick<Rule, 'id' | 'severity'>, site: PullRequestStatement, message: string, suggestion: string): Finding {
  return finding(rule, { message, suggestion, file: site.file, line: site.line, revision: site.revision.revision });
}

// ---------------------------------------------------------------------------------------------------------------
// The walk: tracked tables are replaced, never changed, so that each statement keeps the state it saw

class TableWalk {
  private readonly tables = new Map<string, TrackedTable>();
  private readonly updates = new Map<string, readonly Position[]>();
  private seen: { tables: ReadonlyMap<string, TrackedTable>; updates: ReadonlyMap<string, readonly Position[]> } | null = null;

  constructor(
    baseline: Schema,
    private readonly creates: CreateReading,
  ) {
    for (const [name, table] of baseline.tables) {
      const columns = new Map(table.columns.map((column): [string, TrackedColumn] => [column.name, { existing: true, column, added: null }]));
      this.tables.set(name, { existing: true, original: true, kind: table.kind, columns, replaces: null });
    }
  }

  snapshot(): NonNullable<TableWalk['seen']> {
    this.seen ??= { tables: new Map(this.tables), updates: new Map(this.updates) };
    return this.seen;
  }

  private set(name: string, table: TrackedTable): void {
    this.tables.set(name, table);
    this.seen = null;
  }

  private delete(name: string): void {
    this.tables.delete(name);
    this.seen = null;
  }

  /** What the existing columns look like at the start of a revision (a type may have changed in an earlier one). */
  refreshColumns(before: Schema): void {
    for (const [name, tracked] of this.tables) {
      const now = before.tables.get(name);
      if (!now) continue;
      let columns: Map<string, TrackedColumn> | null = null;
      for (const column of now.columns) {
        const known = tracked.columns.get(column.name);
        if (!known?.existing) continue;
        columns ??= new Map(tracked.columns);
        columns.set(column.name, { ...known, column });
      }
      if (columns) this.set(name, { ...tracked, columns });
    }
  }

  apply(node: Node, context: ChangeContext, at: Position, later: () => StatementEvidence[]): TableChange[] {
    const changes: TableChange[] = [];
    const created = createdTable(node, this.creates);
    if (created && !(this.creates === 'as-run' && created.ifNotExists && this.tables.has(created.name))) {
      const columns = new Map(created.columns.map((c): [string, TrackedColumn] => [c, { existing: false, column: null, added: null }]));
      this.set(created.name, { existing: false, original: false, kind: null, columns, replaces: null });
    }
    const drop = dropStatement(node);
    if (drop?.objectType === 'table') {
      for (const name of drop.names) this.dropTable(name, drop.cascade, context, later, changes);
    }
    const rename = renameStatement(node);
    if (rename?.objectType === 'table') this.renameTable(rename.from, rename.to, context, changes);
    else if (rename?.objectType === 'column') this.renameColumn(rename.table, rename.from, rename.to, context, changes);
    for (const command of alterTableCommands(node)) {
      const tracked = this.tables.get(command.table);
      if (!tracked || !command.name) continue;
      if (command.subtype === 'AT_DropColumn') {
        const column = tracked.columns.get(command.name);
        if (!column) continue;
        this.set(command.table, { ...tracked, columns: without(tracked.columns, command.name) });
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
        const added =
          command.column && command.objectType === 'OBJECT_TABLE'
            ? { column: command.column, revision: context.revision.revision, file: context.file, line: context.statement.line, at }
            : null;
        const present = tracked.columns.get(command.name);
        if (command.missingOk && present) {
          // Postgres leaves the column as it was; the nullability rules count it as added all the same.
          if (added) this.set(command.table, { ...tracked, columns: new Map(tracked.columns).set(command.name, { ...present, added }) });
          continue;
        }
        this.set(command.table, { ...tracked, columns: new Map(tracked.columns).set(command.name, { existing: false, column: null, added }) });
        changes.push({ ...context, kind: 'add-column', table: command.table, column: command.name, tableExisting: tracked.existing });
      }
    }
    const update = nodeAs(node, 'UpdateStmt');
    if (update?.relation) {
      const table = relationName(update.relation);
      this.updates.set(table, [...(this.updates.get(table) ?? []), at]);
      this.seen = null;
    }
    return changes;
  }

  private dropTable(name: string, cascade: boolean, context: ChangeContext, later: () => StatementEvidence[], changes: TableChange[]): void {
    const tracked = this.tables.get(name);
    if (!tracked) return;
    this.delete(name);
    const copyName = batchCopyName(name);
    const copy = this.tables.get(copyName);
    if (copy && renamesLater(later(), copyName, name)) {
      // batch_alter_table's move and copy: the copy takes over the table, minus the columns it left out.
      const columns = new Map(copy.columns);
      for (const [column, old] of tracked.columns) {
        if (columns.has(column)) columns.set(column, old);
        else changes.push({ ...context, kind: 'drop-column', table: name, column, existing: tracked.existing && old.existing, info: old.column, cascade: false, recreate: true });
      }
      this.set(copyName, { ...copy, existing: tracked.existing, replaces: name, columns });
      return;
    }
    changes.push({ ...context, kind: 'drop-table', table: name, existing: tracked.existing, columns: existingColumns(tracked), cascade });
  }

  private renameTable(from: string, to: string, context: ChangeContext, changes: TableChange[]): void {
    const tracked = this.tables.get(from);
    if (!tracked) {
      // Some relation this does not know now holds the name.
      const target = this.tables.get(to);
      if (target) this.set(to, { ...target, original: false });
      return;
    }
    this.delete(from);
    if (tracked.replaces === to) {
      this.set(to, { ...tracked, replaces: null });
      return;
    }
    this.set(to, tracked);
    changes.push({ ...context, kind: 'rename-table', from, to, existing: tracked.existing, columns: existingColumns(tracked) });
  }

  private renameColumn(table: string, from: string, to: string, context: ChangeContext, changes: TableChange[]): void {
    const tracked = this.tables.get(table);
    const column = tracked?.columns.get(from);
    if (!tracked || !column) return;
    const added = column.added && { ...column.added, column: { ...column.added.column, colname: to } };
    this.set(table, { ...tracked, columns: without(tracked.columns, from).set(to, { ...column, added }) });
    changes.push({ ...context, kind: 'rename-column', table, from, to, existing: tracked.existing && column.existing, info: column.column });
  }
}

/** The table a statement makes, as `creates` reads it, with the columns it declares; null for any other statement. */
function createdTable(node: Node, creates: CreateReading): { name: string; columns: string[]; ifNotExists: boolean } | null {
  const create = nodeAs(node, 'CreateStmt');
  if (create) {
    const columns = (create.tableElts ?? []).flatMap((n) => nodeAs(n, 'ColumnDef')?.colname ?? []);
    return { name: relationName(create.relation), columns, ifNotExists: create.if_not_exists === true };
  }
  const createAs = nodeAs(node, 'CreateTableAsStmt');
  if (createAs) {
    if (creates === 'as-written' && (!createAs.into?.rel || createAs.objtype === 'OBJECT_MATVIEW')) return null;
    return { name: relationName(createAs.into?.rel), columns: [], ifNotExists: createAs.if_not_exists === true };
  }
  const select = nodeAs(node, 'SelectStmt');
  if (creates === 'as-written' && select?.intoClause?.rel) return { name: relationName(select.intoClause.rel), columns: [], ifNotExists: false };
  return null;
}

/** `_alembic_tmp_users`, `audit._alembic_tmp_events`: the copy batch_alter_table(recreate=...) builds. */
function batchCopyName(table: string): string {
  const dot = table.indexOf('.');
  return dot < 0 ? `_alembic_tmp_${table}` : `${table.slice(0, dot + 1)}_alembic_tmp_${table.slice(dot + 1)}`;
}

function renamesLater(later: StatementEvidence[], from: string, to: string): boolean {
  return later.some((s) =>
    statementsOf(s.ast).some((stmt) => {
      const rename = renameStatement(stmt);
      return rename?.objectType === 'table' && rename.from === from && rename.to === to;
    }),
  );
}

function existingColumns(table: TrackedTable): Column[] {
  return [...table.columns.values()].flatMap((c) => (c.existing && c.column ? [c.column] : []));
}

function without<K, V>(map: ReadonlyMap<K, V>, key: K): Map<K, V> {
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}
