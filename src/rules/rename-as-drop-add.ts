// rename-as-drop-add: one migration drops an existing column and adds one of a compatible type to the same table, and
// the data is not carried over: what autogenerate writes for a renamed attribute, which deletes the column's data.
import type { RevisionEvidence } from '../evidence/evidence.js';
import type { Finding } from '../findings.js';
import type { Column } from '../schema/schema.js';
import { nodeAs, relationName, statementsOf, stringValues, walk, type Node, type RangeVar } from '../sql/ast.js';
import { mentions } from '../sql/mentions.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { after, pullRequestStatements, type Position, type PullRequestStatement, type TableChange } from './support/pull-request.js';
import { opTable, py, withPostgresqlImport } from './support/python-code.js';
import { describeColumnType, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOfFormatType } from './support/sqlalchemy-type.js';

type Drop = Extract<TableChange, { kind: 'drop-column' }>;
type Add = Extract<TableChange, { kind: 'add-column' }>;

/** A column the revision added to an existing table, followed through the renames the revision made of it. */
interface AddedTrack {
  add: Add;
  at: Position;
  /** Its name now, after the renames so far. */
  name: string;
  /** The renames of it, in order: the name it got and the line that gave it. */
  renames: { to: string; line: number | null }[];
  /** Dropped again by the same revision: a scratch column, not where anything ends up. */
  droppedAgain: boolean;
  /** Where statements of the revision set its values (UPDATE ... SET it), or may have (SQL the parser refused, a DO block). */
  filledAt: Position[];
}

/** An existing column the revision dropped, with the name it had when the revision began. */
interface DroppedColumn {
  drop: Drop;
  at: Position;
  originalName: string;
  /** A statement before the drop read its values (UPDATE ... SET x = it, INSERT ... SELECT it, SELECT it): they live on. */
  read: boolean;
}

interface Pair {
  dropped: DroppedColumn;
  track: AddedTrack;
  /** The added column as the schema holds it after the revision. */
  added: Column | null;
}

export const renameAsDropAdd: Rule = {
  id: 'rename-as-drop-add',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    for (const { dropped, track, added } of pairs(pullRequestStatements(graph, evidence))) {
      findings.push(track.name === dropped.drop.column && track.renames.length === 0 ? readdFinding(dropped, track, added) : renameFinding(dropped, track, added));
    }
    return findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Pairing: what each revision did to the columns of each existing table, judged by where it left them

function pairs(sites: PullRequestStatement[]): Pair[] {
  const result: Pair[] = [];
  const byRevision = new Map<RevisionEvidence, PullRequestStatement[]>();
  for (const site of sites) byRevision.set(site.revision, [...(byRevision.get(site.revision) ?? []), site]);
  for (const [revision, revisionSites] of byRevision) result.push(...pairsInRevision(revision, revisionSites));
  return result;
}

function pairsInRevision(revision: RevisionEvidence, sites: PullRequestStatement[]): Pair[] {
  const tracks: AddedTrack[] = [];
  const drops: DroppedColumn[] = [];
  // The name each existing column had when the revision began, by its name now (table\0name).
  const originalNames = new Map<string, string>();
  const reads: Read[] = [];
  const live = (table: string, name: string) => tracks.find((t) => !t.droppedAgain && t.add.table === table && t.name === name);
  for (const site of sites) {
    for (const change of site.changes) {
      if (change.kind === 'add-column' && change.tableExisting) {
        tracks.push({ add: change, at: site.at, name: change.column, renames: [], droppedAgain: false, filledAt: [] });
      } else if (change.kind === 'rename-column') {
        const track = live(change.table, change.from);
        if (track) {
          track.name = change.to;
          track.renames.push({ to: change.to, line: change.statement.line });
        } else if (change.existing) {
          const key = `${change.table}\u0000${change.from}`;
          originalNames.set(`${change.table}\u0000${change.to}`, originalNames.get(key) ?? change.from);
          originalNames.delete(key);
        }
      } else if (change.kind === 'drop-column') {
        const track = live(change.table, change.column);
        if (track) track.droppedAgain = true;
        else if (change.existing && !change.recreate) {
          const originalName = originalNames.get(`${change.table}\u0000${change.column}`) ?? change.column;
          drops.push({ drop: change, at: site.at, originalName, read: false });
        }
      }
    }
    const read = dataFlow(site, tracks);
    if (read) reads.push(read);
  }
  for (const dropped of drops) {
    const names = [dropped.drop.column, dropped.originalName];
    dropped.read = reads.some((r) => isBefore(r.at, dropped.at) && r.tables.has(dropped.drop.table) && names.some((n) => r.columns.has(n)));
  }
  const r = sites[0]?.at.revision;
  if (r !== undefined) noteUnparsedStatements(revision, r, tracks, drops);

  const pairs: Pair[] = [];
  const free = tracks.filter((t) => !t.droppedAgain).map((track) => ({ track, added: columnAfter(track, revision) }));
  const take = (index: number, dropped: DroppedColumn) => {
    const [chosen] = free.splice(index, 1);
    return { dropped, ...chosen! };
  };
  const unpaired: DroppedColumn[] = [];
  for (const dropped of drops) {
    // Where the added column ends up with the dropped one's name. Reached through a rename (copy-and-swap: add
    // new_x, fill it, drop x, rename new_x to x), it is the replacement the author built: no trap. Added straight
    // under the same name, it is a drop and re-add, which deletes the values.
    const index = free.findIndex(({ track }) => track.add.table === dropped.drop.table && (track.name === dropped.drop.column || track.name === dropped.originalName));
    if (index < 0) {
      unpaired.push(dropped);
      continue;
    }
    const pair = take(index, dropped);
    const swapped = pair.track.renames.length > 0 || dropped.originalName !== dropped.drop.column;
    if (!swapped && !dropped.read) pairs.push(pair);
  }
  // A rename read as a drop and an add: the dropped column's values not read by anything before the drop, the added
  // column not filled by the migration before it, and their types compatible. The same type first, in written order.
  for (const exact of [true, false]) {
    for (const dropped of unpaired.splice(0)) {
      const index = dropped.read
        ? -1
        : free.findIndex(
            ({ track, added }) =>
              track.add.table === dropped.drop.table &&
              !track.filledAt.some((at) => isBefore(at, dropped.at)) &&
              typesMatch(dropped.drop.info, added, exact),
          );
      if (index < 0) unpaired.push(dropped);
      else pairs.push(take(index, dropped));
    }
  }
  return pairs;
}

/** What a statement read: the tables it names and the columns it refers to. */
interface Read {
  at: Position;
  tables: Set<string>;
  columns: Set<string>;
}

/**
 * Notes which added columns the statement fills (UPDATE ... SET them); returns what it read when it is a statement that
 * can carry values somewhere (UPDATE, INSERT, SELECT, CREATE TABLE AS), else null.
 */
function dataFlow(site: PullRequestStatement, tracks: AddedTrack[]): Read | null {
  const update = nodeAs(site.node, 'UpdateStmt');
  if (update?.relation) {
    const table = relationName(update.relation);
    for (const target of update.targetList ?? []) {
      const name = nodeAs(target, 'ResTarget')?.name;
      const track = tracks.find((t) => !t.droppedAgain && t.add.table === table && t.name === name);
      if (track) track.filledAt.push(site.at);
    }
  }
  if (!update && !nodeAs(site.node, 'InsertStmt') && !nodeAs(site.node, 'SelectStmt') && !nodeAs(site.node, 'CreateTableAsStmt')) return null;
  const read: Read = { at: site.at, tables: new Set(), columns: new Set() };
  walk(site.node, (tag, payload) => {
    if (tag === 'RangeVar') read.tables.add(relationName(payload as RangeVar));
    if (tag === 'ColumnRef') {
      const last = stringValues((payload as { fields?: Node[] }).fields).at(-1);
      if (last !== undefined) read.columns.add(last);
    }
  });
  return read;
}

/**
 * SQL whose data flow the AST does not show (SQL the parser refused, a DO block) is judged by its words: naming an
 * added column, it may fill it; naming a dropped column and its table before the drop, it may read its values.
 */
function noteUnparsedStatements(revision: RevisionEvidence, r: number, tracks: AddedTrack[], drops: DroppedColumn[]): void {
  revision.statements.forEach((statement, index) => {
    if (statement.ast !== null && !statementsOf(statement.ast).some((node) => nodeAs(node, 'DoStmt'))) return;
    const at = { revision: r, statement: index };
    for (const track of tracks) {
      if ([track.add.column, ...track.renames.map((x) => x.to)].some((name) => mentions(statement.sql, name))) track.filledAt.push(at);
    }
    for (const dropped of drops) {
      const table = dropped.drop.table.split('.').at(-1)!;
      if (isBefore(at, dropped.at) && mentions(statement.sql, table) && [dropped.drop.column, dropped.originalName].some((name) => mentions(statement.sql, name))) {
        dropped.read = true;
      }
    }
  });
}

function isBefore(a: Position, b: Position): boolean {
  return after(b, a);
}

/** The added column as the schema holds it after the revision, under its final name. */
function columnAfter(track: AddedTrack, revision: RevisionEvidence): Column | null {
  return revision.after.tables.get(track.add.table)?.columns.find((c) => c.name === track.name) ?? null;
}

// ---------------------------------------------------------------------------------------------------------------
// Types

// Types a renamed attribute plausibly keeps its values in: the same kind of value, another length or precision.
const TYPE_FAMILIES: Record<string, string> = {
  'character varying': 'text',
  character: 'text',
  text: 'text',
  citext: 'text',
  smallint: 'integer',
  integer: 'integer',
  bigint: 'integer',
  numeric: 'decimal',
  real: 'float',
  'double precision': 'float',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamp',
  'time without time zone': 'time',
  'time with time zone': 'time',
  json: 'json',
  jsonb: 'json',
  bit: 'bit',
  'bit varying': 'bit',
};

/** `character varying(20)[]` -> { base: 'character varying', array: true }; precision written inside the name too. */
function typeShape(type: string): { family: string; array: boolean } {
  const array = type.endsWith('[]');
  const scalar = array ? type.replace(/(\[\])+$/, '') : type;
  // `timestamp(3) without time zone`, `character varying(20)`, `numeric(10,2)`: drop the modifiers.
  const base = scalar.replace(/\([^)]*\)/g, '').replace(/\s+/g, ' ').trim();
  return { family: TYPE_FAMILIES[base] ?? base, array };
}

function typesMatch(dropped: Column | null, added: Column | null, exact: boolean): boolean {
  if (!dropped || !added) return false;
  if (exact) return dropped.type === added.type;
  const a = typeShape(dropped.type);
  const b = typeShape(added.type);
  return a.family === b.family && a.array === b.array;
}

// ---------------------------------------------------------------------------------------------------------------
// Findings

function withObject(result: Finding, object: string): Finding {
  return { ...result, object };
}

/** A column dropped and added straight back under its name: its values are deleted. */
function readdFinding(dropped: DroppedColumn, track: AddedTrack, added: Column | null): Finding {
  const { drop } = dropped;
  const { table } = drop;
  const [tableArg, schemaArg] = opTable(table);
  const oldType = drop.info ? ` (${describeColumnType(drop.info)})` : '';
  const newType = added ? ` (${describeColumnType(added)})` : '';
  const addLine = track.add.statement.line !== null ? ` on line ${track.add.statement.line}` : '';
  const message =
    `Drops column ${table}.${drop.column}${oldType} and adds it back${newType}${addLine} in the same migration: ` +
    'every value it held is deleted.';
  const targetType = added?.type ?? 'new_type';
  const saType = sqlAlchemyTypeOfFormatType(targetType, track.add.revision.after.enums);
  const using = `${sqlIdentifier(drop.column)}::${targetType}`;
  const code = saType
    ? `op.alter_column(${tableArg}, ${py(drop.column)}, type_=${saType}, postgresql_using=${py(using)}${schemaArg})`
    : `op.execute(${py(`ALTER TABLE ${sqlTable(table)} ALTER COLUMN ${sqlIdentifier(drop.column)} TYPE ${targetType} USING ${using}`)})`;
  const suggestion =
    'To change the column in place and keep its data, alter it instead of dropping it (`USING` says how to convert the values; ' +
    'on a table with rows this rewrites it under an ACCESS EXCLUSIVE lock):\n\n' +
    codeBlock('python', withPostgresqlImport(code, saType?.includes('postgresql.') ?? false));
  return withObject(
    finding(renameAsDropAdd, { message, file: drop.file, line: drop.statement.line, revision: drop.revision.revision, suggestion }),
    `${table}.${drop.column} → ${drop.column}`,
  );
}

/** A column dropped and another of a compatible type added: autogenerate's reading of a rename. */
function renameFinding(dropped: DroppedColumn, track: AddedTrack, added: Column | null): Finding {
  const { drop } = dropped;
  const { table } = drop;
  const from = drop.column;
  const to = track.name;
  const [tableArg, schemaArg] = opTable(table);
  const oldType = drop.info ? ` (${describeColumnType(drop.info)})` : '';
  const newType = added ? ` (${describeColumnType(added)})` : '';
  const addLine = track.add.statement.line !== null ? ` on line ${track.add.statement.line}` : '';
  const renamed = track.renames.length > 0 ? `, renamed to ${to}${track.renames.at(-1)!.line !== null ? ` on line ${track.renames.at(-1)!.line}` : ''},` : '';
  const typeChanged = drop.info && added && drop.info.type !== added.type ? ` with its type changed from ${drop.info.type} to ${added.type}` : '';
  const message =
    `Drops column ${table}.${from}${oldType} and adds ${table}.${track.add.column}${newType}${addLine}${renamed} in the same migration: ` +
    `this looks like a rename of ${from} to ${to}${typeChanged}, which autogenerate writes as a drop and an add; ` +
    `run as written, the migration deletes every value of ${from} instead of keeping the values under ${to}.`;

  const saType = typeChanged && added ? sqlAlchemyTypeOfFormatType(added.type, track.add.revision.after.enums) : null;
  const oldSaType = typeChanged && drop.info ? sqlAlchemyTypeOfFormatType(drop.info.type, track.add.revision.before.enums) : null;
  const retype = (type: string | null, existing: string | null) =>
    type ? `, type_=${type}${existing ? `, existing_type=${existing}` : ''}` : '';
  const up = `op.alter_column(${tableArg}, ${py(from)}, new_column_name=${py(to)}${retype(saType, oldSaType)}${schemaArg})`;
  const down = `op.alter_column(${tableArg}, ${py(to)}, new_column_name=${py(from)}${retype(oldSaType, saType)}${schemaArg})`;
  const dialect = [saType, oldSaType].some((t) => t?.includes('postgresql.') ?? false);
  const typeNote =
    typeChanged && !saType
      ? `\n\nThe rename keeps ${from}'s type (${drop.info!.type}); change it to ${added!.type} with \`op.alter_column(..., type_=...)\` after the rename.`
      : '';
  const suggestion =
    `If it is a rename, replace the add and the drop with one rename, which keeps the data:\n\n` +
    codeBlock('python', withPostgresqlImport(up, dialect)) +
    '\n\nand in downgrade():\n\n' +
    codeBlock('python', down) +
    typeNote +
    `\n\nIf ${from} is really meant to go, drop it in a later pull request, once no running code uses it (see drop-column).`;
  return withObject(
    finding(renameAsDropAdd, { message, file: drop.file, line: drop.statement.line, revision: drop.revision.revision, suggestion }),
    `${table}.${from} → ${to}`,
  );
}
