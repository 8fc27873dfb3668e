// diffSchemas and describeDifferences on hand-built snapshots: the cases a real database rarely shows in one test run.

import { describe, expect, it } from 'vitest';
import { describeDifferences, diffSchemas, type SchemaDifference } from '../../src/schema/diff.js';
import type { Column, Constraint, Index, Schema, Table } from '../../src/schema/schema.js';

function column(name: string, type: string, extra: Partial<Column> = {}): Column {
  return { name, type, notNull: false, default: null, identity: '', generated: '', ...extra };
}

function table(name: string, columns: Column[], extra: Partial<Table> = {}): Table {
  return { name, schema: 'public', oid: 1, relfilenode: 1, kind: 'r', columns, ...extra };
}

function index(name: string, tableName: string, definition: string, extra: Partial<Index> = {}): Index {
  return { name, table: tableName, unique: false, primary: false, valid: true, definition, columns: [], ...extra };
}

function constraint(name: string, tableName: string, type: string, definition: string, extra: Partial<Constraint> = {}): Constraint {
  return { name, table: tableName, type, definition, validated: true, columns: [], referencedTable: null, ...extra };
}

function schema(parts: { tables?: Table[]; indexes?: Index[]; constraints?: Constraint[]; enums?: [string, string[]][] }): Schema {
  return {
    tables: new Map((parts.tables ?? []).map((t) => [t.name, t])),
    indexes: new Map((parts.indexes ?? []).map((i) => [i.name, i])),
    constraints: parts.constraints ?? [],
    enums: new Map(parts.enums ?? []),
  };
}

const users = () =>
  table('users', [
    column('id', 'integer', { notNull: true, identity: 'd' }),
    column('email', 'character varying(255)', { notNull: true }),
    column('state', 'text', { notNull: true, default: "'active'::text" }),
  ]);

describe('diffSchemas', () => {
  it('ignores oid, relfilenode and column order', () => {
    const before = schema({ tables: [users()] });
    const moved = users();
    moved.columns.reverse();
    const after = schema({ tables: [{ ...moved, oid: 99, relfilenode: 123 }] });
    expect(diffSchemas(before, after)).toEqual([]);
  });

  it('reports added and removed tables with their kind and width, not their columns one by one', () => {
    const before = schema({ tables: [users()] });
    const after = schema({ tables: [table('audit.events', [column('id', 'bigint')], { schema: 'audit' }), table('active_users', [], { kind: 'v' })] });
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'table-added', object: 'active_users', detail: 'view with 0 columns' },
      { kind: 'table-added', object: 'audit.events', detail: 'table with 1 column' },
      { kind: 'table-removed', object: 'users', detail: 'table with 3 columns' },
    ]);
  });

  it('reports a table replaced by a view of the same name as removed and added', () => {
    const after = schema({ tables: [table('users', users().columns, { kind: 'v' })] });
    expect(diffSchemas(schema({ tables: [users()] }), after).map((d) => [d.kind, d.detail])).toEqual([
      ['table-added', 'view with 3 columns, in place of a table'],
      ['table-removed', 'table with 3 columns, replaced by a view'],
    ]);
  });

  it('gives one phrase per changed column attribute, in a fixed order', () => {
    const changed = table('users', [
      column('id', 'bigint', { notNull: true, identity: 'a' }),
      column('email', 'text'),
      column('state', 'text', { notNull: true, default: "'new'::text" }),
    ]);
    expect(diffSchemas(schema({ tables: [users()] }), schema({ tables: [changed] }))).toEqual([
      { kind: 'column-changed', object: 'users.email', detail: 'type character varying(255) -> text' },
      { kind: 'column-changed', object: 'users.email', detail: 'NOT NULL dropped' },
      { kind: 'column-changed', object: 'users.id', detail: 'type integer -> bigint' },
      { kind: 'column-changed', object: 'users.id', detail: 'identity BY DEFAULT -> ALWAYS' },
      { kind: 'column-changed', object: 'users.state', detail: "default 'active'::text -> 'new'::text" },
    ]);
  });

  it('describes added and removed columns as DDL would', () => {
    const after = table('users', [
      ...users().columns.filter((c) => c.name !== 'state'),
      column('created_at', 'timestamp with time zone', { notNull: true, default: 'now()' }),
    ]);
    expect(diffSchemas(schema({ tables: [users()] }), schema({ tables: [after] }))).toEqual([
      { kind: 'column-added', object: 'users.created_at', detail: 'timestamp with time zone NOT NULL DEFAULT now()' },
      { kind: 'column-removed', object: 'users.state', detail: "text NOT NULL DEFAULT 'active'::text" },
    ]);
  });

  it('compares indexes by name: definition, primary and validity', () => {
    const before = schema({
      indexes: [
        index('ix_users_email', 'users', 'CREATE INDEX ix_users_email ON public.users USING btree (email)'),
        index('users_id_key', 'users', 'CREATE UNIQUE INDEX users_id_key ON public.users USING btree (id)', { unique: true }),
        index('ix_users_state', 'users', 'CREATE INDEX ix_users_state ON public.users USING btree (state)'),
      ],
    });
    const after = schema({
      indexes: [
        index('ix_users_email', 'users', 'CREATE UNIQUE INDEX ix_users_email ON public.users USING btree (email)', { unique: true }),
        index('users_id_key', 'users', 'CREATE UNIQUE INDEX users_id_key ON public.users USING btree (id)', { unique: true, primary: true }),
        index('ix_users_state', 'users', 'CREATE INDEX ix_users_state ON public.users USING btree (state)', { valid: false }),
      ],
    });
    expect(diffSchemas(before, after).map((d) => `${d.kind} ${d.object}: ${d.detail}`)).toEqual([
      'index-changed ix_users_email: definition CREATE INDEX ix_users_email ON public.users USING btree (email) -> ' +
        'CREATE UNIQUE INDEX ix_users_email ON public.users USING btree (email)',
      'index-changed ix_users_state: now invalid (a failed CREATE INDEX CONCURRENTLY?)',
      'index-changed users_id_key: now the primary key',
    ]);
  });

  it('keys constraints by table and name, and tells validation apart from the definition', () => {
    const check = (tableName: string, definition: string, validated: boolean) =>
      constraint('ck_positive', tableName, 'c', definition, { validated });
    const before = schema({ constraints: [check('orders', 'CHECK ((total >= 0)) NOT VALID', false), check('items', 'CHECK ((qty > 0))', true)] });
    const after = schema({
      constraints: [
        check('orders', 'CHECK ((total >= 0))', true),
        check('items', 'CHECK ((qty >= 0))', true),
        constraint('fk_items_order_id', 'items', 'f', 'FOREIGN KEY (order_id) REFERENCES orders(id) NOT VALID', { validated: false, referencedTable: 'orders' }),
      ],
    });
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'constraint-changed', object: 'items.ck_positive', detail: 'definition CHECK ((qty > 0)) -> CHECK ((qty >= 0))' },
      { kind: 'constraint-added', object: 'items.fk_items_order_id', detail: 'FOREIGN KEY (order_id) REFERENCES orders(id) NOT VALID' },
      { kind: 'constraint-changed', object: 'orders.ck_positive', detail: 'now validated' },
    ]);
  });

  it('reports enum labels added, removed and reordered', () => {
    const before = schema({ enums: [['status', ['active', 'suspended', 'deleted']], ['audit.action', ['insert']], ['mood', ['sad', 'happy']]] });
    const after = schema({ enums: [['status', ['active', 'archived', 'suspended']], ['mood', ['happy', 'sad']], ['colour', ['red']]] });
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'enum-removed', object: 'audit.action', detail: "labels 'insert'" },
      { kind: 'enum-added', object: 'colour', detail: "labels 'red'" },
      { kind: 'enum-changed', object: 'mood', detail: "order 'sad', 'happy' -> 'happy', 'sad'" },
      { kind: 'enum-changed', object: 'status', detail: "label 'archived' added" },
      { kind: 'enum-changed', object: 'status', detail: "label 'deleted' removed" },
    ]);
  });

  it('is deterministic whatever order the snapshots list things in', () => {
    const a = schema({ tables: [users(), table('b', [])], enums: [['x', ['1']], ['y', ['1']]] });
    const b1 = schema({ enums: [['y', ['1', '2']], ['x', ['1', '2']]] });
    const b2 = schema({ enums: [['x', ['1', '2']], ['y', ['1', '2']]] });
    expect(diffSchemas(a, b1)).toEqual(diffSchemas(a, b2));
    expect(diffSchemas(a, b1).map((d) => d.object)).toEqual(['b', 'users', 'x', 'y']);
  });
});

describe('describeDifferences', () => {
  const diffs: SchemaDifference[] = [
    { kind: 'column-changed', object: 'users.email', detail: 'NOT NULL added' },
    { kind: 'index-removed', object: 'ix_users_email', detail: 'CREATE INDEX ix_users_email ON public.users USING btree (email)' },
    { kind: 'table-added', object: 'posts', detail: 'table with 2 columns' },
    { kind: 'constraint-removed', object: 'users.fk_users_org', detail: '' },
  ];

  it('lists each difference as a short phrase, then how many more there are', () => {
    expect(describeDifferences(diffs, 2)).toBe(
      'column users.email: NOT NULL added; index ix_users_email removed (CREATE INDEX ix_users_email ON public.users USING btree (email)); and 2 more',
    );
    expect(describeDifferences(diffs)).toBe(
      'column users.email: NOT NULL added; index ix_users_email removed (CREATE INDEX ix_users_email ON public.users USING btree (email)); ' +
        'posts added (table with 2 columns); constraint users.fk_users_org removed',
    );
  });

  it('says so when there is nothing', () => {
    expect(describeDifferences([])).toBe('no differences');
  });
});
