// The pure part of model-drift: two catalogs (as the server printed them) in, differences out. The catalogs here are
// written by hand in the server's own spelling; test/rules/model-drift*.test.ts build them from real databases.
import { describe, expect, it } from 'vitest';
import { splitDriftByBase } from '../../src/compare/model-drift.js';
import type { Catalog, CatalogColumn, CatalogConstraint } from '../../src/schema/catalog.js';
import { catalogDrift, comparable, type Drift } from '../../src/schema/drift.js';

function column(table: string, name: string, fields: Partial<CatalogColumn> = {}): CatalogColumn {
  return { table, name, type: 'integer', notNull: false, enumType: null, collation: null, default: null, identity: '', generated: '', sequence: null, ...fields };
}

function catalog(columns: CatalogColumn[], more: { constraints?: CatalogConstraint[]; enums?: [string, string[]][] } = {}): Catalog {
  const tables: Catalog['tables'] = new Map();
  for (const c of columns) {
    if (!tables.has(c.table)) tables.set(c.table, { name: c.table, kind: 'r', columns: new Map() });
    tables.get(c.table)!.columns.set(c.name, c);
  }
  return { tables, indexes: [], constraints: more.constraints ?? [], enums: new Map(more.enums ?? []) };
}

const options = { compareServerDefault: false, ignored: [], reported: [] };
const check = (name: string, definition: string, columns: string[]): CatalogConstraint => ({ name, table: 'products', type: 'c', definition, columns });

describe('comparable: what a type change makes Postgres print differently is the same', () => {
  it('an IN list re-parsed after varchar(12) -> varchar(20), and integers after integer -> bigint', () => {
    expect(
      comparable("CHECK (((availability)::text = ANY ((ARRAY['in_stock'::character varying, 'backorder'::character varying])::text[])))"),
    ).toBe(comparable("CHECK (((availability)::text = ANY (ARRAY[('in_stock'::character varying)::text, ('backorder'::character varying)::text])))"));
    expect(comparable('CHECK ((n = ANY (ARRAY[1, 2])))')).toBe(comparable('CHECK (((n)::bigint = ANY (ARRAY[(1)::bigint, (2)::bigint])))'));
  });

  it('keeps what differs in meaning', () => {
    expect(comparable('CHECK ((score > 0))')).not.toBe(comparable('CHECK ((score >= 0))'));
    expect(comparable("(status = 'active'::text)")).not.toBe(comparable("(status = 'archived'::text)"));
  });
});

describe('catalogDrift', () => {
  it('matches an unnamed CHECK of the models with the migration\'s differently named one by definition: no difference', () => {
    const models = catalog([column('products', 'price')], { constraints: [check('products_price_check', 'CHECK ((price > 0))', ['price'])] });
    const migrated = catalog([column('products', 'price')], { constraints: [check('ck_price_positive', 'CHECK ((price > 0))', ['price'])] });
    expect(catalogDrift(models, migrated, options)).toEqual([]);
  });

  it('pairs the only CHECK on the same columns when names and definitions differ, and reports the migration\'s name', () => {
    const models = catalog([column('products', 'price')], { constraints: [check('products_price_check', 'CHECK ((price > 0))', ['price'])] });
    const migrated = catalog([column('products', 'price')], { constraints: [check('ck_price', 'CHECK ((price >= 0))', ['price'])] });
    const [drift] = catalogDrift(models, migrated, options) as (Drift & { kind: 'constraint' })[];
    expect(drift?.migrations?.name).toBe('ck_price');
    expect(drift?.severity).toBe('error');
  });

  it('reports nothing about a CHECK only the migrations have (models cannot say it)', () => {
    const models = catalog([column('products', 'price')]);
    const migrated = catalog([column('products', 'price')], { constraints: [check('ck_price', 'CHECK ((price >= 0))', ['price'])] });
    expect(catalogDrift(models, migrated, options)).toEqual([]);
  });

  it('takes a serial and an identity BY DEFAULT column as the same, an identity ALWAYS against serial as a warning', () => {
    const serial = column('t', 'id', { notNull: true, default: "nextval('t_id_seq'::regclass)", sequence: { name: 't_id_seq', type: 'integer' } });
    const byDefault = column('t', 'id', { notNull: true, identity: 'd', sequence: { name: 't_id_seq', type: 'integer' } });
    const always = column('t', 'id', { notNull: true, identity: 'a', sequence: { name: 't_id_seq', type: 'integer' } });
    expect(catalogDrift(catalog([serial]), catalog([byDefault]), options)).toEqual([]);
    expect(catalogDrift(catalog([always]), catalog([serial]), options).map((d) => [d.kind, d.severity])).toEqual([['generation', 'warning']]);
  });

  it('grades enum drift: a missing label is an error, an extra one a warning, the order alone a notice', () => {
    const enumColumn = column('orders', 'status', { type: 'order_status', enumType: 'order_status' });
    const grade = (models: string[], migrated: string[]) =>
      catalogDrift(catalog([enumColumn], { enums: [['order_status', models]] }), catalog([enumColumn], { enums: [['order_status', migrated]] }), options).map((d) => d.severity);
    expect(grade(['new', 'paid', 'shipped'], ['new', 'paid'])).toEqual(['error']);
    expect(grade(['new', 'paid'], ['new', 'paid', 'legacy'])).toEqual(['warning']);
    expect(grade(['new', 'partly', 'paid'], ['new', 'paid', 'partly'])).toEqual(['notice']);
    expect(grade(['new', 'paid'], ['new', 'paid'])).toEqual([]);
  });

  it('leaves a column to autogenerate when it reported anything about it', () => {
    const models = catalog([column('users', 'score', { default: '1' })]);
    const migrated = catalog([column('users', 'score')]);
    expect(catalogDrift(models, migrated, options).map((d) => d.kind)).toEqual(['default']);
    expect(catalogDrift(models, migrated, { ...options, reported: [{ kind: 'modify_nullable', table: 'users', object: 'score' }] })).toEqual([]);
    expect(catalogDrift(models, migrated, { ...options, compareServerDefault: true })).toEqual([]);
    expect(catalogDrift(models, migrated, { ...options, ignored: ['users.score'] })).toEqual([]);
  });
});

describe('splitDriftByBase', () => {
  const enumDrift = (models: string[], migrations: string[]): Drift => ({
    kind: 'enum',
    object: 'order_status',
    table: null,
    columns: ['orders.status'],
    severity: 'error',
    models,
    migrations,
    migrationsType: 'order_status',
  });

  it('does not blame a pull request that adds one of two missing labels for the other', () => {
    const base = enumDrift(['a', 'b', 'c', 'd'], ['a', 'b']);
    const head = enumDrift(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    expect(splitDriftByBase([head], [base]).old).toEqual([head]);
  });

  it('blames one that adds a label to the models only', () => {
    const base = enumDrift(['a', 'b', 'c'], ['a', 'b']);
    const head = enumDrift(['a', 'b', 'c', 'e'], ['a', 'b']);
    expect(splitDriftByBase([head], [base]).old).toEqual([]);
  });
});
