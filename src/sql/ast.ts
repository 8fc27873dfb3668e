// Typed readers over libpg-query ASTs: what the rules need to know about a statement, without matching text.
import type {
  AlterTableCmd,
  AlterTableType,
  ColumnDef,
  Constraint,
  IndexStmt,
  Node,
  ObjectType,
  ParseResult,
  RangeVar,
  TypeName,
} from 'libpg-query';

export type { ColumnDef, Constraint, Node, ParseResult, RangeVar, TypeName } from 'libpg-query';

/** The tag of an AST node: `AlterTableStmt`, `ColumnDef`, `FuncCall`, ... */
export type NodeTag = Node extends infer N ? (N extends unknown ? keyof N : never) : never;
/** The payload of a node with tag K (e.g. `NodeOf<'IndexStmt'>` is `IndexStmt`). */
export type NodeOf<K extends NodeTag> = Extract<Node, Record<K, unknown>> extends infer N
  ? N extends Record<K, infer P>
    ? P
    : never
  : never;

/** The payload of `node` when it is a `tag` node, else undefined. */
export function nodeAs<K extends NodeTag>(node: Node | null | undefined, tag: K): NodeOf<K> | undefined {
  if (node === null || node === undefined || typeof node !== 'object' || !(tag in node)) return undefined;
  return (node as Record<K, NodeOf<K>>)[tag];
}

/** The tag of `node` (each node is an object with exactly one key). */
export function nodeTag(node: Node): NodeTag {
  return Object.keys(node)[0] as NodeTag;
}

/** The statement nodes of a parse result, in order (none for null). */
export function statementsOf(result: ParseResult | null | undefined): Node[] {
  return (result?.stmts ?? []).flatMap((raw) => (raw.stmt ? [raw.stmt] : []));
}

/** `table`, or `schema.table` outside the `public` schema. */
export function relationName(relation: RangeVar | null | undefined): string {
  if (!relation) return '';
  const name = relation.relname ?? '';
  return relation.schemaname && relation.schemaname !== 'public' ? `${relation.schemaname}.${name}` : name;
}

/** The strings of a list of `String` nodes (column lists, qualified names); other nodes are skipped. */
export function stringValues(nodes: Node[] | null | undefined): string[] {
  return (nodes ?? []).flatMap((n) => {
    const s = nodeAs(n, 'String');
    return s ? [s.sval ?? ''] : [];
  });
}

/** A qualified name given as name parts (`['audit', 'events']`), with `public` dropped as in relationName. */
function qualifiedName(parts: string[]): string {
  return parts[0] === 'public' && parts.length === 2 ? parts[1]! : parts.join('.');
}

// ---------------------------------------------------------------------------------------------------------------
// ALTER TABLE

export interface AlterTableCommand {
  subtype: AlterTableType;
  /** The altered relation, as relationName gives it. */
  table: string;
  /** OBJECT_TABLE for ALTER TABLE; OBJECT_INDEX, OBJECT_VIEW, ... for the ALTER INDEX / VIEW forms. */
  objectType: ObjectType;
  /**
   * The column or constraint the command is about: the column for AT_AddColumn, AT_AlterColumnType,
   * AT_SetNotNull, AT_DropNotNull, AT_ColumnDefault, AT_DropColumn; the constraint for AT_AddConstraint (its name,
   * or null when unnamed), AT_ValidateConstraint, AT_DropConstraint.
   */
  name: string | null;
  /** The raw `def`: a ColumnDef (add column, alter type), a Constraint, or the new default expression. */
  def: Node | null;
  /** AT_AddColumn: the new column; AT_AlterColumnType: its new type (typeName) and USING expression (raw_default). */
  column: ColumnDef | null;
  /** AT_AddConstraint: the constraint. */
  constraint: ConstraintInfo | null;
  /** AT_ColumnDefault: the new default, or null for DROP DEFAULT. */
  defaultExpression: Node | null;
  /** IF EXISTS / IF NOT EXISTS on the command. */
  missingOk: boolean;
  cascade: boolean;
  cmd: AlterTableCmd;
}

/** The commands of an ALTER TABLE (or ALTER INDEX / VIEW ...) statement; none for any other statement. */
export function alterTableCommands(stmt: Node | null | undefined): AlterTableCommand[] {
  const alter = nodeAs(stmt, 'AlterTableStmt');
  if (!alter) return [];
  const table = relationName(alter.relation);
  return (alter.cmds ?? []).flatMap((node) => {
    const cmd = nodeAs(node, 'AlterTableCmd');
    if (!cmd?.subtype) return [];
    const column = nodeAs(cmd.def, 'ColumnDef') ?? null;
    const constraintNode = nodeAs(cmd.def, 'Constraint');
    const constraint = constraintNode ? constraintInfo(constraintNode) : null;
    return [
      {
        subtype: cmd.subtype,
        table,
        objectType: alter.objtype ?? 'OBJECT_TABLE',
        name: cmd.name ?? column?.colname ?? constraint?.name ?? null,
        def: cmd.def ?? null,
        column,
        constraint,
        defaultExpression: cmd.subtype === 'AT_ColumnDefault' ? (cmd.def ?? null) : null,
        missingOk: cmd.missing_ok === true,
        cascade: cmd.behavior === 'DROP_CASCADE',
        cmd,
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Columns and constraints

export interface ColumnConstraints {
  /** NOT NULL, or PRIMARY KEY (which implies it). */
  notNull: boolean;
  /** A DEFAULT other than DEFAULT NULL (which is the same as no default). */
  hasDefault: boolean;
  /** The DEFAULT expression as written (DEFAULT NULL included), or null. */
  default: Node | null;
  primaryKey: boolean;
  unique: boolean;
  /** REFERENCES on the column, with `columns` = [the column]. */
  references: ConstraintInfo | null;
  /** GENERATED ... AS IDENTITY: filled from a sequence. */
  identity: boolean;
  /** GENERATED ALWAYS AS (expr) STORED: computed for every row. */
  generated: boolean;
  /** Every constraint of the column that constraintInfo reads (notnull, primary, unique, foreign, check). */
  constraints: ConstraintInfo[];
}

/** What the inline constraints of a column definition say. */
export function columnConstraints(column: ColumnDef): ColumnConstraints {
  const result: ColumnConstraints = {
    notNull: column.is_not_null === true,
    hasDefault: false,
    default: null,
    primaryKey: false,
    unique: false,
    references: null,
    identity: false,
    generated: false,
    constraints: [],
  };
  for (const node of column.constraints ?? []) {
    const c = nodeAs(node, 'Constraint');
    if (!c) continue;
    switch (c.contype) {
      case 'CONSTR_DEFAULT':
        result.default = c.raw_expr ?? null;
        result.hasDefault = c.raw_expr !== undefined && !isNullConstant(c.raw_expr);
        break;
      case 'CONSTR_IDENTITY':
        result.identity = true;
        break;
      case 'CONSTR_GENERATED':
        result.generated = true;
        break;
      case 'CONSTR_NULL':
        result.notNull = false;
        break;
      default:
        break;
    }
    const info = constraintInfo(c);
    if (!info) continue;
    if (info.columns.length === 0 && column.colname) info.columns = [column.colname];
    result.constraints.push(info);
    if (info.type === 'notnull') result.notNull = true;
    if (info.type === 'primary') result.primaryKey = result.notNull = true;
    if (info.type === 'unique') result.unique = true;
    if (info.type === 'foreign') result.references = info;
  }
  return result;
}

export type ConstraintType = 'foreign' | 'unique' | 'check' | 'primary' | 'notnull' | 'exclusion';

export interface ConstraintInfo {
  type: ConstraintType;
  /** CONSTRAINT name, or null when Postgres will choose one. */
  name: string | null;
  /** NOT VALID (foreign keys and checks): existing rows are not checked now. */
  skipValidation: boolean;
  /** Foreign keys and checks: false for PG 18's NOT ENFORCED (never checked). Always true for the others. */
  enforced: boolean;
  /** UNIQUE / PRIMARY KEY USING INDEX: the existing index it adopts (no index build). */
  usingIndex: string | null;
  /** The constrained columns (keys, or the referencing columns of a foreign key); empty for inline and check constraints. */
  columns: string[];
  /** Foreign keys: the referenced table (relationName form) and columns. */
  referencedTable: string | null;
  referencedColumns: string[];
  /** Checks: the expression. */
  expression: Node | null;
  constraint: Constraint;
}

const CONSTRAINT_TYPES: Partial<Record<NonNullable<Constraint['contype']>, ConstraintType>> = {
  CONSTR_FOREIGN: 'foreign',
  CONSTR_UNIQUE: 'unique',
  CONSTR_CHECK: 'check',
  CONSTR_PRIMARY: 'primary',
  CONSTR_NOTNULL: 'notnull',
  CONSTR_EXCLUSION: 'exclusion',
};

/** What a constraint (a `Constraint` node or its payload) is; null for DEFAULT, IDENTITY, GENERATED, NULL and attributes. */
export function constraintInfo(node: Node | Constraint | null | undefined): ConstraintInfo | null {
  if (!node) return null;
  const c: Constraint | undefined = 'Constraint' in node ? (node as { Constraint: Constraint }).Constraint : (node as Constraint);
  const type = c?.contype ? CONSTRAINT_TYPES[c.contype] : undefined;
  if (!c || !type) return null;
  return {
    type,
    name: c.conname ?? null,
    skipValidation: c.skip_validation === true,
    enforced: type === 'foreign' || type === 'check' ? c.is_enforced === true : true,
    usingIndex: c.indexname ?? null,
    columns: type === 'foreign' ? stringValues(c.fk_attrs) : stringValues(c.keys),
    referencedTable: c.pktable ? relationName(c.pktable) : null,
    referencedColumns: stringValues(c.pk_attrs),
    expression: type === 'check' ? (c.raw_expr ?? null) : null,
    constraint: c,
  };
}

function isNullConstant(node: Node): boolean {
  return nodeAs(node, 'A_Const')?.isnull === true;
}

// ---------------------------------------------------------------------------------------------------------------
// Types

/**
 * A type as Postgres names it internally, without the `pg_catalog.` prefix: `varchar(20)`, `int4`, `int8`, `text`,
 * `timestamptz(3)`, `numeric(10,2)`, `text[]`, `audit.mood`.
 */
export function typeNameText(typeName: TypeName | null | undefined): string {
  if (!typeName) return '';
  const parts = stringValues(typeName.names);
  const base = parts[0] === 'pg_catalog' && parts.length === 2 ? parts[1]! : qualifiedName(parts);
  const mods = (typeName.typmods ?? []).map((m) => {
    const constant = nodeAs(m, 'A_Const');
    if (constant?.ival) return String(constant.ival.ival ?? 0);
    if (constant?.sval) return constant.sval.sval ?? '';
    return '?';
  });
  let text = base;
  if (base === 'interval') {
    // interval's modifiers are a field mask and then the precision: show the precision only.
    if (mods.length === 2) text += `(${mods[1]})`;
  } else if (mods.length > 0) {
    text += `(${mods.join(',')})`;
  }
  for (const bound of typeName.arrayBounds ?? []) {
    const size = nodeAs(bound, 'Integer')?.ival ?? -1;
    text += size < 0 ? '[]' : `[${size}]`;
  }
  return text;
}

/** serial, bigserial, smallserial (and their int aliases): a column whose default is nextval(), volatile. */
export function isSerialType(typeName: TypeName | null | undefined): boolean {
  return SERIAL_TYPES.has(typeNameText(typeName));
}

const SERIAL_TYPES = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

// ---------------------------------------------------------------------------------------------------------------
// Defaults

// Volatile in any schema (extensions install these where the user chooses).
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'setseed',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'currval',
  'lastval',
  'setval',
]);

// Stable or immutable built-ins, trusted only unqualified or in pg_catalog: evaluated once for ADD COLUMN.
const NON_VOLATILE_FUNCTIONS = new Set([
  'now',
  'current_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'localtimestamp',
  'localtime',
  'current_time',
  'current_date',
  'current_setting',
  'timezone',
  'date_trunc',
  'date_part',
  'extract',
  'make_date',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'make_interval',
  'to_timestamp',
  'to_date',
  'to_char',
  'to_number',
  'lower',
  'upper',
  'initcap',
  'btrim',
  'ltrim',
  'rtrim',
  'trim',
  'concat',
  'concat_ws',
  'length',
  'char_length',
  'substring',
  'substr',
  'replace',
  'left',
  'right',
  'lpad',
  'rpad',
  'md5',
  'coalesce',
  'nullif',
  'greatest',
  'least',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'mod',
  'power',
  'sqrt',
  'json_build_object',
  'json_build_array',
  'jsonb_build_object',
  'jsonb_build_array',
  'to_json',
  'to_jsonb',
  'array_fill',
]);

/**
 * Whether a DEFAULT expression is volatile, i.e. computed row by row, so that ADD COLUMN rewrites the table
 * (a non-volatile default is stored once, PG 11+). Constants, casts of constants, operators over them,
 * CURRENT_TIMESTAMP-style SQL functions and the stable/immutable built-ins above are not; random(),
 * gen_random_uuid(), clock_timestamp(), nextval() ... are, and so is any function this does not know.
 */
export function isVolatileDefault(expr: Node | null | undefined): boolean {
  if (!expr) return false;
  let volatile = false;
  walk(expr, (tag, payload) => {
    if (tag !== 'FuncCall') return;
    const parts = stringValues((payload as NodeOf<'FuncCall'>).funcname);
    const name = parts.at(-1) ?? '';
    const builtin = parts.length === 1 || parts[0] === 'pg_catalog';
    if (VOLATILE_FUNCTIONS.has(name) || !(builtin && NON_VOLATILE_FUNCTIONS.has(name))) volatile = true;
  });
  return volatile;
}

/** Calls `visit` for every node under (and including) `root`. */
export function walk(root: unknown, visit: (tag: string, payload: unknown) => void): void {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  for (const [key, value] of Object.entries(root)) {
    // Node tags are capitalised (`FuncCall`, `A_Const`); fields are not.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && isTag(key)) visit(key, value);
    walk(value, visit);
  }
}

function isTag(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 0x41 && first <= 0x5a;
}

// ---------------------------------------------------------------------------------------------------------------
// Indexes, renames, drops

export interface IndexInfo {
  /** The index name, or null when Postgres will choose one. */
  name: string | null;
  table: string;
  concurrent: boolean;
  unique: boolean;
  /** The plain column keys, in order (expression keys are in `expressions`). */
  columns: string[];
  expressions: Node[];
  /** INCLUDE columns. */
  including: string[];
  method: string;
  /** Partial index: the WHERE predicate. */
  where: Node | null;
  ifNotExists: boolean;
  statement: IndexStmt;
}

/** What a CREATE INDEX statement builds; null for any other statement. */
export function indexStatement(stmt: Node | null | undefined): IndexInfo | null {
  const index = nodeAs(stmt, 'IndexStmt');
  if (!index) return null;
  const columns: string[] = [];
  const expressions: Node[] = [];
  for (const node of index.indexParams ?? []) {
    const elem = nodeAs(node, 'IndexElem');
    if (elem?.name !== undefined) columns.push(elem.name);
    else if (elem?.expr) expressions.push(elem.expr);
  }
  return {
    name: index.idxname ?? null,
    table: relationName(index.relation),
    concurrent: index.concurrent === true,
    unique: index.unique === true,
    columns,
    expressions,
    including: (index.indexIncludingParams ?? []).flatMap((n) => nodeAs(n, 'IndexElem')?.name ?? []),
    method: index.accessMethod ?? 'btree',
    where: index.whereClause ?? null,
    ifNotExists: index.if_not_exists === true,
    statement: index,
  };
}

/** CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY. */
export function isConcurrently(stmt: Node | null | undefined): boolean {
  if (nodeAs(stmt, 'IndexStmt')?.concurrent || nodeAs(stmt, 'DropStmt')?.concurrent) return true;
  const reindex = nodeAs(stmt, 'ReindexStmt');
  return (reindex?.params ?? []).some((p) => {
    const option = nodeAs(p, 'DefElem');
    return option?.defname === 'concurrently' && nodeAs(option.arg, 'Boolean')?.boolval !== false;
  });
}

export type RenamedObject = 'column' | 'table' | 'index' | 'constraint' | 'view' | 'sequence' | 'type' | 'other';

export interface RenameInfo {
  objectType: RenamedObject;
  /** The relation renamed or holding what is renamed, as relationName gives it ('' for types and others). */
  table: string;
  /** Old and new name: column or constraint names, or relation names (schema-qualified outside public). */
  from: string;
  to: string;
  renameType: ObjectType;
}

const RENAMED_OBJECTS: Partial<Record<ObjectType, RenamedObject>> = {
  OBJECT_COLUMN: 'column',
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_TABCONSTRAINT: 'constraint',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_TYPE: 'type',
};

/** What an ALTER ... RENAME renames; null for any other statement. */
export function renameStatement(stmt: Node | null | undefined): RenameInfo | null {
  const rename = nodeAs(stmt, 'RenameStmt');
  if (!rename?.renameType) return null;
  const objectType = RENAMED_OBJECTS[rename.renameType] ?? 'other';
  const table = relationName(rename.relation);
  const to = rename.newname ?? '';
  if (rename.subname !== undefined) return { objectType, table, from: rename.subname, to, renameType: rename.renameType };
  if (rename.relation) {
    const schema = rename.relation.schemaname;
    const qualified = schema && schema !== 'public' ? `${schema}.${to}` : to;
    return { objectType, table, from: table, to: qualified, renameType: rename.renameType };
  }
  return { objectType, table: '', from: objectName(rename.object), to, renameType: rename.renameType };
}

export type DroppedObject = 'table' | 'index' | 'view' | 'sequence' | 'type' | 'schema' | 'other';

export interface DropInfo {
  objectType: DroppedObject;
  /** The dropped objects' names, schema-qualified outside public. */
  names: string[];
  concurrent: boolean;
  /** IF EXISTS. */
  ifExists: boolean;
  cascade: boolean;
  removeType: ObjectType;
}

const DROPPED_OBJECTS: Partial<Record<ObjectType, DroppedObject>> = {
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'view',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_TYPE: 'type',
  OBJECT_SCHEMA: 'schema',
};

/** What a DROP statement drops; null for any other statement (ALTER TABLE ... DROP is in alterTableCommands). */
export function dropStatement(stmt: Node | null | undefined): DropInfo | null {
  const drop = nodeAs(stmt, 'DropStmt');
  if (!drop?.removeType) return null;
  return {
    objectType: DROPPED_OBJECTS[drop.removeType] ?? 'other',
    names: (drop.objects ?? []).map(objectName),
    concurrent: drop.concurrent === true,
    ifExists: drop.missing_ok === true,
    cascade: drop.behavior === 'DROP_CASCADE',
    removeType: drop.removeType,
  };
}

// Object names appear as a List of Strings (tables, indexes), a bare String (schemas) or a TypeName (types).
function objectName(node: Node | null | undefined): string {
  const list = nodeAs(node, 'List');
  if (list) return qualifiedName(stringValues(list.items));
  const string = nodeAs(node, 'String');
  if (string) return string.sval ?? '';
  const type = nodeAs(node, 'TypeName');
  if (type) return qualifiedName(stringValues(type.names));
  return '';
}
