import { beforeAll, describe, expect, it } from 'vitest';
import {
  alterTableCommands,
  columnConstraints,
  constraintInfo,
  dropStatement,
  indexStatement,
  isConcurrently,
  isSerialType,
  isVolatileDefault,
  nodeAs,
  nodeTag,
  relationName,
  renameStatement,
  statementsOf,
  typeNameText,
  type Node,
} from '../../src/sql/ast.js';
import { loadSqlParser, parseError, parseStatement } from '../../src/sql/parse.js';

beforeAll(async () => {
  await loadSqlParser();
});

/** The one statement in `sql`. */
function statement(sql: string): Node {
  const result = parseStatement(sql);
  expect(result, parseError(sql) ?? '').not.toBeNull();
  const stmts = statementsOf(result);
  expect(stmts).toHaveLength(1);
  return stmts[0]!;
}

function onlyCommand(sql: string) {
  const commands = alterTableCommands(statement(sql));
  expect(commands).toHaveLength(1);
  return commands[0]!;
}

/** The DEFAULT expression of `ALTER TABLE t ADD COLUMN c <type> DEFAULT <expr>`. */
function defaultOf(expr: string, type = 'text'): Node | null {
  const column = onlyCommand(`ALTER TABLE t ADD COLUMN c ${type} DEFAULT ${expr}`).column!;
  return columnConstraints(column).default;
}

describe('statements and relations', () => {
  it('tags nodes and unwraps them by tag', () => {
    const stmt = statement('DROP TABLE posts');
    expect(nodeTag(stmt)).toBe('DropStmt');
    expect(nodeAs(stmt, 'DropStmt')?.removeType).toBe('OBJECT_TABLE');
    expect(nodeAs(stmt, 'AlterTableStmt')).toBeUndefined();
    expect(nodeAs(null, 'DropStmt')).toBeUndefined();
  });

  it('qualifies relation names only outside public', () => {
    expect(alterTableCommands(statement('ALTER TABLE audit.events ADD COLUMN x int'))[0]!.table).toBe('audit.events');
    expect(alterTableCommands(statement('ALTER TABLE public.events ADD COLUMN x int'))[0]!.table).toBe('events');
    expect(relationName({ relname: 'users' })).toBe('users');
    expect(relationName(undefined)).toBe('');
  });

  it('gives no statements for a null result', () => {
    expect(statementsOf(null)).toEqual([]);
  });
});

describe('alterTableCommands', () => {
  it('reads ADD COLUMN ... NOT NULL', () => {
    const cmd = onlyCommand('ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL');
    expect(cmd).toMatchObject({ subtype: 'AT_AddColumn', table: 'users', objectType: 'OBJECT_TABLE', name: 'status' });
    expect(typeNameText(cmd.column?.typeName)).toBe('varchar(20)');
    const c = columnConstraints(cmd.column!);
    expect(c).toMatchObject({ notNull: true, hasDefault: false, default: null, primaryKey: false, unique: false, references: null });
  });

  it('reads ADD COLUMN with a volatile default', () => {
    const cmd = onlyCommand('ALTER TABLE users ADD COLUMN id2 UUID DEFAULT gen_random_uuid() NOT NULL');
    expect(cmd.name).toBe('id2');
    expect(typeNameText(cmd.column?.typeName)).toBe('uuid');
    const c = columnConstraints(cmd.column!);
    expect(c.notNull).toBe(true);
    expect(c.hasDefault).toBe(true);
    expect(nodeTag(c.default!)).toBe('FuncCall');
    expect(isVolatileDefault(c.default)).toBe(true);
  });

  it('reads ADD COLUMN in another schema, nullable, without default', () => {
    const cmd = onlyCommand('ALTER TABLE audit.events ADD COLUMN x int');
    expect(cmd).toMatchObject({ subtype: 'AT_AddColumn', table: 'audit.events', name: 'x' });
    expect(typeNameText(cmd.column?.typeName)).toBe('int4');
    expect(columnConstraints(cmd.column!)).toMatchObject({ notNull: false, hasDefault: false });
  });

  it('reads SET NOT NULL', () => {
    expect(onlyCommand('ALTER TABLE users ALTER COLUMN status SET NOT NULL')).toMatchObject({
      subtype: 'AT_SetNotNull',
      table: 'users',
      name: 'status',
      def: null,
    });
  });

  it('reads ALTER COLUMN TYPE, with and without USING', () => {
    const cmd = onlyCommand('ALTER TABLE posts ALTER COLUMN views TYPE BIGINT');
    expect(cmd).toMatchObject({ subtype: 'AT_AlterColumnType', table: 'posts', name: 'views' });
    expect(typeNameText(cmd.column?.typeName)).toBe('int8');
    expect(cmd.column?.raw_default).toBeUndefined();
    const using = onlyCommand('ALTER TABLE t ALTER COLUMN a TYPE integer USING a::integer');
    expect(typeNameText(using.column?.typeName)).toBe('int4');
    expect(nodeTag(using.column!.raw_default!)).toBe('TypeCast');
  });

  it('reads ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID', () => {
    const cmd = onlyCommand('ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY(user_id) REFERENCES users (id) NOT VALID');
    expect(cmd).toMatchObject({ subtype: 'AT_AddConstraint', table: 'posts', name: 'fk' });
    expect(cmd.constraint).toMatchObject({
      type: 'foreign',
      name: 'fk',
      skipValidation: true,
      enforced: true,
      usingIndex: null,
      columns: ['user_id'],
      referencedTable: 'users',
      referencedColumns: ['id'],
    });
  });

  it('reads a foreign key that validates', () => {
    const cmd = onlyCommand('ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY(user_id) REFERENCES audit.users (id)');
    expect(cmd.constraint).toMatchObject({ skipValidation: false, referencedTable: 'audit.users' });
  });

  it('reads a NOT ENFORCED foreign key (PG 18)', () => {
    const cmd = onlyCommand('ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT ENFORCED');
    expect(cmd.constraint).toMatchObject({ type: 'foreign', enforced: false });
  });

  it('reads ADD CONSTRAINT ... UNIQUE, on columns or USING INDEX', () => {
    expect(onlyCommand('ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)').constraint).toMatchObject({
      type: 'unique',
      name: 'uq',
      usingIndex: null,
      columns: ['email'],
      skipValidation: false,
    });
    expect(onlyCommand('ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX ix').constraint).toMatchObject({
      type: 'unique',
      name: 'uq',
      usingIndex: 'ix',
      columns: [],
    });
  });

  it('reads checks, primary keys, table-level NOT NULL and exclusion constraints', () => {
    const check = onlyCommand('ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0) NOT VALID').constraint!;
    expect(check).toMatchObject({ type: 'check', name: 'ck', skipValidation: true, enforced: true });
    expect(nodeTag(check.expression!)).toBe('A_Expr');
    expect(onlyCommand('ALTER TABLE t ADD PRIMARY KEY USING INDEX ix')).toMatchObject({
      name: null,
      constraint: { type: 'primary', name: null, usingIndex: 'ix' },
    });
    expect(onlyCommand('ALTER TABLE t ADD CONSTRAINT nn NOT NULL c').constraint).toMatchObject({
      type: 'notnull',
      name: 'nn',
      columns: ['c'],
    });
    expect(onlyCommand('ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING gist (r WITH &&)').constraint?.type).toBe('exclusion');
  });

  it('reads VALIDATE CONSTRAINT and DROP CONSTRAINT', () => {
    expect(onlyCommand('ALTER TABLE users VALIDATE CONSTRAINT fk')).toMatchObject({
      subtype: 'AT_ValidateConstraint',
      table: 'users',
      name: 'fk',
    });
    expect(onlyCommand('ALTER TABLE users DROP CONSTRAINT fk')).toMatchObject({ subtype: 'AT_DropConstraint', name: 'fk' });
  });

  it('reads DROP COLUMN', () => {
    expect(onlyCommand('ALTER TABLE users DROP COLUMN phone')).toMatchObject({
      subtype: 'AT_DropColumn',
      table: 'users',
      name: 'phone',
      missingOk: false,
      cascade: false,
    });
    expect(onlyCommand('ALTER TABLE users DROP COLUMN IF EXISTS phone CASCADE')).toMatchObject({ missingOk: true, cascade: true });
  });

  it('reads SET DEFAULT and DROP DEFAULT', () => {
    const set = onlyCommand("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'x'");
    expect(set).toMatchObject({ subtype: 'AT_ColumnDefault', name: 'status' });
    expect(nodeAs(set.defaultExpression, 'A_Const')?.sval?.sval).toBe('x');
    const drop = onlyCommand('ALTER TABLE users ALTER COLUMN status DROP DEFAULT');
    expect(drop).toMatchObject({ subtype: 'AT_ColumnDefault', name: 'status', defaultExpression: null });
  });

  it('reads every command of a multi-command ALTER TABLE', () => {
    const commands = alterTableCommands(
      statement('ALTER TABLE users ADD COLUMN a int, ALTER COLUMN b DROP NOT NULL, DROP COLUMN c'),
    );
    expect(commands.map((c) => [c.subtype, c.name])).toEqual([
      ['AT_AddColumn', 'a'],
      ['AT_DropNotNull', 'b'],
      ['AT_DropColumn', 'c'],
    ]);
  });

  it('gives no commands for other statements', () => {
    expect(alterTableCommands(statement('DROP TABLE posts'))).toEqual([]);
  });
});

describe('columnConstraints', () => {
  it('reads inline PRIMARY KEY, UNIQUE, REFERENCES and named NOT NULL with a constant default', () => {
    const [a, b, c] = alterTableCommands(
      statement(
        'ALTER TABLE users ADD COLUMN a int PRIMARY KEY, ADD COLUMN b text UNIQUE REFERENCES x(y), ' +
          'ADD COLUMN c int CONSTRAINT c_nn NOT NULL DEFAULT 5',
      ),
    ).map((cmd) => columnConstraints(cmd.column!));
    expect(a).toMatchObject({ primaryKey: true, notNull: true, unique: false, hasDefault: false });
    expect(b).toMatchObject({ primaryKey: false, notNull: false, unique: true });
    expect(b!.references).toMatchObject({ type: 'foreign', columns: ['b'], referencedTable: 'x', referencedColumns: ['y'] });
    expect(c).toMatchObject({ notNull: true, hasDefault: true });
    expect(c!.constraints.map((k) => [k.type, k.name])).toEqual([['notnull', 'c_nn']]);
    expect(isVolatileDefault(c!.default)).toBe(false);
  });

  it('treats DEFAULT NULL as no default', () => {
    const c = columnConstraints(onlyCommand('ALTER TABLE t ADD COLUMN c int DEFAULT NULL NOT NULL').column!);
    expect(c.hasDefault).toBe(false);
    expect(nodeAs(c.default, 'A_Const')?.isnull).toBe(true);
  });

  it('reads identity and generated columns', () => {
    const [g, i] = alterTableCommands(
      statement(
        'ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED, ADD COLUMN i bigint GENERATED BY DEFAULT AS IDENTITY',
      ),
    ).map((cmd) => columnConstraints(cmd.column!));
    expect(g).toMatchObject({ generated: true, identity: false });
    expect(i).toMatchObject({ generated: false, identity: true });
  });

  it('reads the columns of CREATE TABLE', () => {
    const create = nodeAs(
      statement(
        'CREATE TABLE posts (id SERIAL NOT NULL, user_id INTEGER, title VARCHAR(200) UNIQUE, ' +
          'created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (id), ' +
          'CONSTRAINT fk_user FOREIGN KEY(user_id) REFERENCES users (id))',
      ),
      'CreateStmt',
    )!;
    expect(relationName(create.relation)).toBe('posts');
    const columns = (create.tableElts ?? []).flatMap((n) => {
      const column = nodeAs(n, 'ColumnDef');
      return column ? [column] : [];
    });
    expect(columns.map((c) => [c.colname, typeNameText(c.typeName)])).toEqual([
      ['id', 'serial'],
      ['user_id', 'int4'],
      ['title', 'varchar(200)'],
      ['created_at', 'timestamptz'],
    ]);
    expect(isSerialType(columns[0]!.typeName)).toBe(true);
    expect(isSerialType(columns[1]!.typeName)).toBe(false);
    expect(columnConstraints(columns[2]!).unique).toBe(true);
    const createdAt = columnConstraints(columns[3]!);
    expect(createdAt).toMatchObject({ notNull: true, hasDefault: true });
    expect(isVolatileDefault(createdAt.default)).toBe(false);
    const tableConstraints = (create.tableElts ?? []).flatMap((n) => constraintInfo(n) ?? []);
    expect(tableConstraints.map((c) => [c.type, c.name, c.columns, c.referencedTable])).toEqual([
      ['primary', null, ['id'], null],
      ['foreign', 'fk_user', ['user_id'], 'users'],
    ]);
  });

  it('gives no constraint info for DEFAULT or for non-constraint nodes', () => {
    const column = onlyCommand('ALTER TABLE t ADD COLUMN c int DEFAULT 1').column!;
    expect(constraintInfo(column.constraints![0])).toBeNull();
    expect(constraintInfo(statement('DROP TABLE t'))).toBeNull();
  });
});

describe('typeNameText', () => {
  const typeOf = (type: string) => typeNameText(onlyCommand(`ALTER TABLE t ADD COLUMN c ${type}`).column?.typeName);

  it.each([
    ['VARCHAR(20)', 'varchar(20)'],
    ['character varying', 'varchar'],
    ['INTEGER', 'int4'],
    ['int', 'int4'],
    ['BIGINT', 'int8'],
    ['smallint', 'int2'],
    ['TEXT', 'text'],
    ['TIMESTAMP WITH TIME ZONE', 'timestamptz'],
    ['timestamptz', 'timestamptz'],
    ['TIMESTAMP WITHOUT TIME ZONE', 'timestamp'],
    ['TIMESTAMP(3) WITH TIME ZONE', 'timestamptz(3)'],
    ['NUMERIC(10, 2)', 'numeric(10,2)'],
    ['BOOLEAN', 'bool'],
    ['DOUBLE PRECISION', 'float8'],
    ['char(3)', 'bpchar(3)'],
    ['interval', 'interval'],
    ['interval(6)', 'interval(6)'],
    ['text[]', 'text[]'],
    ['integer[][]', 'int4[][]'],
    ['UUID', 'uuid'],
    ['JSONB', 'jsonb'],
    ['"MyEnum"', 'MyEnum'],
    ['audit.mood', 'audit.mood'],
    ['public.mood', 'mood'],
    ['bigserial', 'bigserial'],
  ])('%s is %s', (type, text) => {
    expect(typeOf(type)).toBe(text);
  });
});

describe('isVolatileDefault', () => {
  it.each([
    ['random()', true],
    ['(random() * 10)::int', true],
    ['gen_random_uuid()', true],
    ['public.gen_random_uuid()', true],
    ['uuid_generate_v4()', true],
    ['clock_timestamp()', true],
    ['timeofday()', true],
    ["nextval('seq'::regclass)", true],
    ["timezone('utc', clock_timestamp())", true],
    ['my_function()', true],
    ['myschema.now()', true],
    ['now()', false],
    ['pg_catalog.now()', false],
    ['CURRENT_TIMESTAMP', false],
    ['current_date', false],
    ['localtimestamp(3)', false],
    ['statement_timestamp()', false],
    ['transaction_timestamp()', false],
    ["timezone('utc', now())", false],
    ["(now() at time zone 'utc')", false],
    ["lower('X')", false],
    ["coalesce(NULL, 'a')", false],
    ["'x'", false],
    ['0', false],
    ['-1', false],
    ['true', false],
    ['NULL', false],
    ["'x'::character varying", false],
    ["'{}'::jsonb", false],
    ["CAST('1' AS int)", false],
    ["'a' || 'b'", false],
    ['ARRAY[]::text[]', false],
    ['current_user', false],
  ])('DEFAULT %s → %s', (expr, volatile) => {
    expect(isVolatileDefault(defaultOf(expr))).toBe(volatile);
  });

  it('is false for no default', () => {
    expect(isVolatileDefault(null)).toBe(false);
    expect(isVolatileDefault(undefined)).toBe(false);
  });
});

describe('indexStatement and isConcurrently', () => {
  it('reads CREATE INDEX CONCURRENTLY', () => {
    const stmt = statement('CREATE INDEX CONCURRENTLY ix ON users (email)');
    expect(indexStatement(stmt)).toMatchObject({
      name: 'ix',
      table: 'users',
      concurrent: true,
      unique: false,
      columns: ['email'],
      expressions: [],
      method: 'btree',
      where: null,
    });
    expect(isConcurrently(stmt)).toBe(true);
  });

  it('reads a unique, partial gin index with an operator class', () => {
    const stmt = statement(
      'CREATE UNIQUE INDEX ix ON users USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL',
    );
    const index = indexStatement(stmt)!;
    expect(index).toMatchObject({ name: 'ix', table: 'users', concurrent: false, unique: true, columns: ['name'], method: 'gin' });
    expect(nodeTag(index.where!)).toBe('NullTest');
    expect(isConcurrently(stmt)).toBe(false);
  });

  it('reads expression keys, INCLUDE and unnamed indexes in other schemas', () => {
    const index = indexStatement(statement('CREATE INDEX ON audit.t (lower(email), id DESC) INCLUDE (x)'))!;
    expect(index).toMatchObject({ name: null, table: 'audit.t', columns: ['id'], including: ['x'], ifNotExists: false });
    expect(index.expressions.map(nodeTag)).toEqual(['FuncCall']);
    expect(indexStatement(statement('CREATE INDEX IF NOT EXISTS ix ON t (a)'))?.ifNotExists).toBe(true);
  });

  it('is null for other statements', () => {
    expect(indexStatement(statement('DROP INDEX ix'))).toBeNull();
  });

  it('sees CONCURRENTLY on DROP INDEX and REINDEX', () => {
    expect(isConcurrently(statement('DROP INDEX CONCURRENTLY ix'))).toBe(true);
    expect(isConcurrently(statement('DROP INDEX ix'))).toBe(false);
    expect(isConcurrently(statement('REINDEX INDEX CONCURRENTLY ix'))).toBe(true);
    expect(isConcurrently(statement('REINDEX INDEX ix'))).toBe(false);
    expect(isConcurrently(statement('ALTER TABLE users ADD COLUMN a int'))).toBe(false);
  });
});

describe('renameStatement', () => {
  it('reads a column rename', () => {
    expect(renameStatement(statement('ALTER TABLE users RENAME COLUMN a TO b'))).toMatchObject({
      objectType: 'column',
      table: 'users',
      from: 'a',
      to: 'b',
    });
  });

  it('reads a table rename, keeping the schema', () => {
    expect(renameStatement(statement('ALTER TABLE users RENAME TO members'))).toMatchObject({
      objectType: 'table',
      table: 'users',
      from: 'users',
      to: 'members',
    });
    expect(renameStatement(statement('ALTER TABLE audit.t RENAME TO u'))).toMatchObject({
      objectType: 'table',
      from: 'audit.t',
      to: 'audit.u',
    });
  });

  it('reads index, constraint and type renames', () => {
    expect(renameStatement(statement('ALTER INDEX ix RENAME TO iy'))).toMatchObject({ objectType: 'index', from: 'ix', to: 'iy' });
    expect(renameStatement(statement('ALTER TABLE t RENAME CONSTRAINT a TO b'))).toMatchObject({
      objectType: 'constraint',
      table: 't',
      from: 'a',
      to: 'b',
    });
    expect(renameStatement(statement('ALTER TYPE mood RENAME TO feeling'))).toMatchObject({
      objectType: 'type',
      table: '',
      from: 'mood',
      to: 'feeling',
    });
  });

  it('is null for other statements', () => {
    expect(renameStatement(statement('ALTER TABLE users DROP COLUMN a'))).toBeNull();
  });
});

describe('dropStatement', () => {
  it('reads DROP TABLE', () => {
    expect(dropStatement(statement('DROP TABLE posts'))).toMatchObject({
      objectType: 'table',
      names: ['posts'],
      concurrent: false,
      ifExists: false,
      cascade: false,
    });
    expect(dropStatement(statement('DROP TABLE IF EXISTS a, audit.b, public.c CASCADE'))).toMatchObject({
      objectType: 'table',
      names: ['a', 'audit.b', 'c'],
      ifExists: true,
      cascade: true,
    });
  });

  it('reads DROP INDEX CONCURRENTLY', () => {
    expect(dropStatement(statement('DROP INDEX CONCURRENTLY ix'))).toMatchObject({
      objectType: 'index',
      names: ['ix'],
      concurrent: true,
    });
  });

  it('reads drops of types, schemas and views', () => {
    expect(dropStatement(statement('DROP TYPE mood'))).toMatchObject({ objectType: 'type', names: ['mood'] });
    expect(dropStatement(statement('DROP SCHEMA s'))).toMatchObject({ objectType: 'schema', names: ['s'] });
    expect(dropStatement(statement('DROP VIEW v'))).toMatchObject({ objectType: 'view', names: ['v'] });
  });

  it('is null for other statements', () => {
    expect(dropStatement(statement('ALTER TABLE users DROP COLUMN phone'))).toBeNull();
  });
});
