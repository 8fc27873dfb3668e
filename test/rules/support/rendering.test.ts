// Python and SQL text for suggestions and messages: quoting, table arguments, SQLAlchemy types, constraint names.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RevisionEvidence } from '../../../src/evidence/evidence.js';
import type { Constraint, Schema } from '../../../src/schema/schema.js';
import { loadSqlParser } from '../../../src/sql/parse.js';
import { chosenConstraintName } from '../../../src/rules/support/constraint-names.js';
import { typeNameOf } from '../../../src/rules/support/format-type.js';
import { opTable, py, pyList, pyReadable, withPostgresqlImport } from '../../../src/rules/support/python-code.js';
import { qualifiedLike, splitQualified } from '../../../src/rules/support/qualified-name.js';
import { inlineSql, inlineSqlFirstLine, sqlIdentifier, sqlTable } from '../../../src/rules/support/sql-text.js';
import { sqlAlchemyTypeOf, sqlAlchemyTypeOfFormatType, sqlAlchemyTypeWithoutImport } from '../../../src/rules/support/sqlalchemy-type.js';

function schemaWith(enums: Record<string, string[]>, constraints: Constraint[] = []): Schema {
  return { tables: new Map(), indexes: new Map(), constraints, enums: new Map(Object.entries(enums)) };
}

describe('Python code', () => {
  it('writes str literals with JSON escapes, or single-quoted around double quotes (the nullability rules)', () => {
    expect(py('UPDATE "users" SET a = 1')).toBe('"UPDATE \\"users\\" SET a = 1"');
    expect(pyReadable('UPDATE "users" SET a = 1')).toBe(`'UPDATE "users" SET a = 1'`);
    expect(pyReadable(`it's "x"`)).toBe(`"it's \\"x\\""`);
    expect(pyList(['a', 'b'])).toBe('["a", "b"]');
  });

  it("gives an op.* call's table and schema arguments", () => {
    expect(opTable('users')).toEqual(['"users"', '']);
    expect(opTable('audit.events')).toEqual(['"events"', ', schema="audit"']);
    expect(opTable('audit.events', pyReadable)).toEqual(['"events"', ', schema="audit"']);
    expect(withPostgresqlImport('x', true)).toBe('from sqlalchemy.dialects import postgresql\n\nx');
    expect(withPostgresqlImport('x', false)).toBe('x');
  });
});

describe('SQL text', () => {
  it('splits and qualifies names as the snapshots spell them', () => {
    expect(splitQualified('audit.events')).toEqual({ schema: 'audit', name: 'events' });
    expect(splitQualified('users')).toEqual({ schema: null, name: 'users' });
    expect(qualifiedLike('audit.events', 'ix_events_at')).toBe('audit.ix_events_at');
    expect(qualifiedLike('users', 'ix_users_email')).toBe('ix_users_email');
  });

  it('quotes names for every key word Postgres needs (reserved, and reserved except as a function or type name)', () => {
    expect(sqlIdentifier('email')).toBe('email');
    expect(sqlIdentifier('Email')).toBe('"Email"');
    expect(sqlIdentifier('x"y')).toBe('"x""y"');
    expect(sqlIdentifier('order')).toBe('"order"');
    expect(sqlIdentifier('left')).toBe('"left"');
    expect(sqlIdentifier('join')).toBe('"join"');
    expect(sqlIdentifier('current_role')).toBe('"current_role"');
    expect(sqlIdentifier('index')).toBe('index'); // an unreserved key word: a valid bare name
    expect(sqlTable('audit.user')).toBe('audit."user"');
  });

  it('shows a statement as inline code', () => {
    expect(inlineSql('ALTER TABLE users\n  ADD COLUMN a int')).toBe('`ALTER TABLE users ADD COLUMN a int`');
    expect(inlineSql('SELECT `x`')).toBe('`` SELECT `x` ``');
    expect(inlineSql('x'.repeat(200))).toBe(`\`${'x'.repeat(157)}...\``);
    expect(inlineSqlFirstLine('ALTER TABLE users\n  ADD COLUMN a int')).toBe('`ALTER TABLE users …`');
    expect(inlineSqlFirstLine('  SELECT 1  ')).toBe('`SELECT 1`');
  });
});

describe('SQLAlchemy types', () => {
  beforeAll(loadSqlParser);

  const ofSql = (type: string, schema: Schema | null = null) => sqlAlchemyTypeOf(typeNameOf(type), schema).code;

  it('spells a parsed type with postgresql. dialect types, arrays and enums, or a placeholder (the nullability rules)', () => {
    const schema = schemaWith({ mood: ['happy'], 'audit.level': ['low'] });
    expect(ofSql('character varying(20)')).toBe('sa.String(length=20)');
    expect(ofSql('numeric(10)')).toBe('sa.Numeric(precision=10)');
    expect(ofSql('timestamp(3) with time zone')).toBe('postgresql.TIMESTAMP(timezone=True, precision=3)');
    expect(ofSql('time(3)')).toBe('sa.Time()');
    expect(ofSql('uuid')).toBe('postgresql.UUID()');
    expect(ofSql('inet[]')).toBe('postgresql.ARRAY(postgresql.INET())');
    expect(ofSql('mood', schema)).toBe('postgresql.ENUM(name="mood", create_type=False)');
    expect(ofSql('audit.level', schema)).toBe('postgresql.ENUM(name="level", create_type=False, schema="audit")');
    expect(sqlAlchemyTypeOf(typeNameOf('tsvector'))).toEqual({ code: 'sa.Text()  # TODO: the column type, tsvector', dialect: false, known: false });
    expect(sqlAlchemyTypeOf(typeNameOf('jsonb'))).toEqual({ code: 'postgresql.JSONB()', dialect: true, known: true });
    expect(sqlAlchemyTypeOf(null).known).toBe(false);
  });

  it("spells format_type's text, or gives null for SQL to do it (the destructive rules)", () => {
    const enums = new Map([['audit.level', ['low']]]);
    expect(sqlAlchemyTypeOfFormatType('character varying(20)')).toBe('sa.String(length=20)');
    expect(sqlAlchemyTypeOfFormatType('numeric(10,2)')).toBe('sa.Numeric(precision=10, scale=2)');
    expect(sqlAlchemyTypeOfFormatType('uuid')).toBe('sa.Uuid()');
    expect(sqlAlchemyTypeOfFormatType('interval')).toBe('sa.Interval()');
    expect(sqlAlchemyTypeOfFormatType('interval(3)')).toBeNull();
    expect(sqlAlchemyTypeOfFormatType('timestamp(3) without time zone')).toBeNull();
    expect(sqlAlchemyTypeOfFormatType('integer[]')).toBe('postgresql.ARRAY(sa.Integer())');
    expect(sqlAlchemyTypeOfFormatType('audit.level', enums)).toBe('postgresql.ENUM(name="level", schema="audit", create_type=False)');
    expect(sqlAlchemyTypeOfFormatType('inet')).toBeNull();
  });

  it('spells built-in scalar types for code that imports only sa (the locking rules)', () => {
    expect(sqlAlchemyTypeWithoutImport({ base: 'jsonb', mods: [], array: false })).toBe('sa.dialects.postgresql.JSONB()');
    expect(sqlAlchemyTypeWithoutImport({ base: 'timestamptz', mods: [3], array: false })).toBe('sa.dialects.postgresql.TIMESTAMP(timezone=True, precision=3)');
    expect(sqlAlchemyTypeWithoutImport({ base: 'numeric', mods: [10], array: false })).toBe('sa.Numeric(precision=10, scale=0)');
    expect(sqlAlchemyTypeWithoutImport({ base: 'time', mods: [3], array: false })).toBeNull();
    expect(sqlAlchemyTypeWithoutImport({ base: 'interval', mods: [], array: false })).toBeNull();
    expect(sqlAlchemyTypeWithoutImport({ base: 'int4', mods: [], array: true })).toBeNull();
  });
});

describe('constraint names Postgres chose', () => {
  const constraint = (name: string, type: string, columns: string[], referencedTable: string | null = null): Constraint => ({
    name,
    table: 'posts',
    type,
    definition: '',
    validated: true,
    columns,
    referencedTable,
  });

  it('finds the constraint that appeared with the same type and columns, else follows the naming rule', () => {
    const before = schemaWith({}, [constraint('posts_pkey', 'p', ['id'])]);
    const after = schemaWith({}, [
      ...before.constraints,
      constraint('posts_author_fkey1', 'f', ['author'], 'users'),
      constraint('posts_slug_key1', 'u', ['slug']),
    ]);
    const revision = { revision: 'r0', before, after, statements: [], heldAtStart: [], downgrade: null } as RevisionEvidence;
    expect(chosenConstraintName(revision, 'posts', { type: 'f', columns: ['author'], referencedTable: 'users' })).toBe('posts_author_fkey1');
    expect(chosenConstraintName(revision, 'posts', { type: 'f', columns: ['author'], referencedTable: 'teams' })).toBe('posts_author_fkey');
    expect(chosenConstraintName(revision, 'posts', { type: 'u', columns: ['slug'] })).toBe('posts_slug_key1');
    expect(chosenConstraintName(revision, 'audit.posts', { type: 'u', columns: ['a', 'b'] })).toBe('posts_a_b_key');
  });
});
