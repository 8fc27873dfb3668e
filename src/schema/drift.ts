// What the models' catalog (create_all in a second database) and the migrated one disagree on, among the properties
// autogenerate does not compare. Pure: two catalogs and the comparison's own findings in, drift out.
//
// Objects are matched by definition first (Postgres invents the names of unnamed constraints and indexes, and a
// migration may name what a model leaves unnamed), then by name. What only the migrated database has (triggers,
// views, functions, an index kept only in migrations) is never drift: models cannot say it.
import type { Severity } from '../findings.js';
import { mentions } from '../sql/mentions.js';
import type { Catalog, CatalogColumn, CatalogConstraint, CatalogIndex } from './catalog.js';


/** How a column gets its values when an insert leaves it out. */
export type Generation = 'identity always' | 'identity by default' | 'serial' | 'none';

interface DriftBase {
  /** What a reviewer calls it: `status` (an enum), `users.flag` (a column), `ix_posts_title`, `ck_price`. */
  object: string;
  /** The table, qualified outside `public`; null for an enum type. */
  table: string | null;
  /** `table.column` of every column it involves: autogenerate's own findings on them say it already. */
  columns: string[];
  severity: Severity;
}

export type Drift = DriftBase &
  (
    | { kind: 'enum'; models: string[]; migrations: string[]; migrationsType: string }
    | { kind: 'default'; column: CatalogColumn; models: string; migrations: string | null }
    | { kind: 'generation'; column: CatalogColumn; migrated: CatalogColumn; models: Generation; migrations: Generation }
    | { kind: 'generated'; column: CatalogColumn; models: string | null; migrations: string | null }
    | { kind: 'sequence'; column: CatalogColumn; sequence: string; models: string; migrations: string }
    | { kind: 'collation'; column: CatalogColumn; models: string | null; migrations: string | null }
    | { kind: 'index'; models: CatalogIndex; migrations: CatalogIndex; differences: IndexProperty[]; create?: string }
    | { kind: 'constraint'; models: CatalogConstraint; migrations: CatalogConstraint | null }
  );

/** `create`: the models' index as autogenerate writes it (`op.create_index(...)`), added once the helper rendered it. */
export type IndexProperty = 'unique' | 'nulls not distinct' | 'method' | 'columns' | 'include' | 'predicate' | 'definition';

/** What autogenerate reported in the same comparison (kind, table, object), so that it is not said twice. */
export interface ReportedDifference {
  kind: string;
  table: string | null;
  object: string | null;
}

export interface DriftOptions {
  /** env.py sets compare_server_default: autogenerate compares defaults itself. */
  compareServerDefault: boolean;
  /** Names kept out (`ignore-objects`, or filtered by env.py's include_object): `name` or `table.name`. */
  ignored: readonly string[];
  reported: readonly ReportedDifference[];
}

/** Every difference between the models' catalog and the migrated one that autogenerate did not already report. */
export function catalogDrift(models: Catalog, migrated: Catalog, options: DriftOptions): Drift[] {
  const shared = [...models.tables.values()].filter((table) => migrated.tables.has(table.name));
  const drift: Drift[] = [
    ...enumDrift(models, migrated, shared),
    ...shared.flatMap((table) =>
      [...table.columns.values()].flatMap((column) => {
        const other = migrated.tables.get(table.name)!.columns.get(column.name);
        return other ? columnDrift(column, other, options) : [];
      }),
    ),
    ...indexDrift(models, migrated),
    ...constraintDrift(models, migrated),
  ];
  const quiet = reportedAlready(options.reported);
  const ignored = new Set(options.ignored);
  return drift.filter((d) => !quiet(d) && !isIgnored(d, ignored));
}

/** A stable key for a drift: the same object differing the same way at base and at head is the same drift. */
export function driftKey(d: Drift): string {
  const values = (() => {
    switch (d.kind) {
      case 'index':
        return [d.models.body, d.models.unique, d.migrations.body, d.migrations.unique];
      case 'constraint':
        return [d.models.definition, d.migrations?.definition ?? null];
      default:
        return [d.models, d.migrations];
    }
  })();
  return JSON.stringify([d.kind, d.object, values]);
}

function isIgnored(d: Drift, ignored: Set<string>): boolean {
  const bare = (name: string) => name.split('.').pop()!;
  if (ignored.has(d.object) || ignored.has(bare(d.object))) return true;
  if (d.table && (ignored.has(d.table) || ignored.has(bare(d.table)))) return true;
  if (d.table && ignored.has(`${bare(d.table)}.${bare(d.object)}`)) return true;
  return d.columns.some((column) => ignored.has(column) || ignored.has(column.split('.').slice(-2).join('.')));
}

// ---- enums

function enumDrift(models: Catalog, migrated: Catalog, shared: { name: string }[]): Drift[] {
  // Pairs: the same type name on both sides, and the types of a column that is an enum on both sides (a migration
  // may name the type differently from the model).
  const pairs = new Map<string, { models: string; migrations: string; columns: Set<string> }>();
  const pair = (m: string, g: string, column?: string) => {
    const key = `${m}\u0000${g}`;
    let entry = pairs.get(key);
    if (!entry) pairs.set(key, (entry = { models: m, migrations: g, columns: new Set() }));
    if (column) entry.columns.add(column);
  };
  for (const table of shared) {
    for (const column of models.tables.get(table.name)!.columns.values()) {
      const other = migrated.tables.get(table.name)!.columns.get(column.name);
      if (column.enumType && other?.enumType) pair(column.enumType, other.enumType, `${table.name}.${column.name}`);
    }
  }
  for (const name of models.enums.keys()) {
    if (migrated.enums.has(name) && ![...pairs.values()].some((p) => p.models === name)) pair(name, name);
  }
  const drift: Drift[] = [];
  for (const { models: m, migrations: g, columns } of pairs.values()) {
    const wanted = models.enums.get(m);
    const built = migrated.enums.get(g);
    if (!wanted || !built || sameList(wanted, built)) continue;
    const { missing, extra } = enumLabels({ models: wanted, migrations: built });
    drift.push({
      kind: 'enum',
      object: m,
      table: null,
      columns: [...columns],
      // Writing a label the database lacks fails; loading one the models lack fails; only the order: sorting differs.
      severity: missing.length ? 'error' : extra.length ? 'warning' : 'notice',
      models: wanted,
      migrations: built,
      migrationsType: g,
    });
  }
  return drift;
}

/** The labels of the models the database lacks (`missing`), and those it has that the models do not (`extra`). */
export function enumLabels(d: { models: string[]; migrations: string[] }): { missing: string[]; extra: string[] } {
  return {
    missing: d.models.filter((label) => !d.migrations.includes(label)),
    extra: d.migrations.filter((label) => !d.models.includes(label)),
  };
}

// ---- columns

function columnDrift(models: CatalogColumn, migrated: CatalogColumn, options: DriftOptions): Drift[] {
  const object = `${models.table}.${models.name}`;
  const base = { object, table: models.table, columns: [object] };
  const drift: Drift[] = [];
  if (models.generated || migrated.generated) {
    if (models.generated !== migrated.generated || models.default !== migrated.default) {
      drift.push({
        ...base,
        kind: 'generated',
        column: models,
        severity: 'error',
        models: models.generated ? models.default : null,
        migrations: migrated.generated ? migrated.default : null,
      });
    }
  } else {
    const [wanted, built] = [generation(models), generation(migrated)];
    if (wanted !== built && !equivalentGeneration(wanted, built) && wanted !== 'none') {
      drift.push({ ...base, kind: 'generation', column: models, migrated, severity: built === 'none' ? 'error' : 'warning', models: wanted, migrations: built });
    } else if (models.sequence && migrated.sequence && models.sequence.type !== migrated.sequence.type) {
      const [a, b] = [models.sequence.type, migrated.sequence.type];
      drift.push({
        ...base,
        kind: 'sequence',
        column: models,
        sequence: migrated.sequence.name,
        severity: (INTEGER_WIDTH[b] ?? 0) < (INTEGER_WIDTH[a] ?? 0) ? 'error' : 'warning',
        models: a,
        migrations: b,
      });
    }
    const serial = wanted !== 'none' || built !== 'none';
    if (!options.compareServerDefault && !serial && models.default !== null && !sameDefault(models.default, migrated.default)) {
      drift.push({
        ...base,
        kind: 'default',
        column: models,
        severity: migrated.default === null ? 'error' : 'warning',
        models: models.default,
        migrations: migrated.default,
      });
    }
  }
  if (models.collation !== migrated.collation) {
    drift.push({ ...base, kind: 'collation', column: models, severity: 'warning', models: models.collation, migrations: migrated.collation });
  }
  return drift;
}

const INTEGER_WIDTH: Record<string, number> = { smallint: 2, integer: 4, bigint: 8 };

function generation(column: CatalogColumn): Generation {
  if (column.identity === 'a') return 'identity always';
  if (column.identity === 'd') return 'identity by default';
  if (column.sequence && column.default && /^nextval\('.+'::regclass\)$/.test(column.default)) return 'serial';
  return 'none';
}

/** A serial and an identity BY DEFAULT column behave the same for the application: both take a given value or make one. */
function equivalentGeneration(a: Generation, b: Generation): boolean {
  const loose = new Set<Generation>(['serial', 'identity by default']);
  return a !== b && loose.has(a) && loose.has(b);
}

/**
 * Defaults the server prints differently for the same kind of value that no comparison can prove equal: two random
 * UUIDs. (Others printed differently, `now()` and `CURRENT_TIMESTAMP`, `'0'::numeric` and `0`, are put to Postgres
 * itself: src/compare/model-drift.ts.)
 */
const SAME_VALUE: RegExp[] = [/^((\w+\.)?gen_random_uuid\(\)|(\w+\.)?uuid_generate_v4\(\))$/];

function sameDefault(a: string, b: string | null): boolean {
  if (b === null) return false;
  if (a === b) return true;
  return SAME_VALUE.some((pattern) => pattern.test(a) && pattern.test(b));
}

// ---- indexes

function indexDrift(models: Catalog, migrated: Catalog): Drift[] {
  const onShared = (index: CatalogIndex) => models.tables.has(index.table) && migrated.tables.has(index.table) && !index.primary;
  const left = models.indexes.filter(onShared);
  const right = migrated.indexes.filter(onShared);
  const [unmatched, remaining] = matchBy(left, right, (i) => `${i.table}\u0000${i.unique}\u0000${comparable(i.body)}`);
  const drift: Drift[] = [];
  for (const index of unmatched) {
    const other = remaining.find((o) => o.name === index.name);
    if (!other) continue; // only in the models: autogenerate's add_index
    const differences = indexDifferences(index, other);
    drift.push({
      kind: 'index',
      object: index.name,
      table: index.table,
      columns: mentionedColumns(models, index.table, `${index.body} ${other.body}`),
      severity: differences.includes('unique') || differences.includes('nulls not distinct') ? 'error' : 'warning',
      models: index,
      migrations: other,
      differences,
    });
  }
  return drift;
}

function indexDifferences(a: CatalogIndex, b: CatalogIndex): IndexProperty[] {
  const differences: IndexProperty[] = [];
  if (a.unique !== b.unique) differences.push('unique');
  if (a.nullsNotDistinct !== b.nullsNotDistinct) differences.push('nulls not distinct');
  if (a.method !== b.method) differences.push('method');
  if (!sameList(a.keys.map(comparable), b.keys.map(comparable))) differences.push('columns');
  if (!sameList(a.include, b.include)) differences.push('include');
  if (comparable(a.predicate ?? '') !== comparable(b.predicate ?? '')) differences.push('predicate');
  if (differences.length === 0) differences.push('definition'); // operator class, ordering or collation of a key
  return differences;
}

// ---- constraints

function constraintDrift(models: Catalog, migrated: Catalog): Drift[] {
  const onShared = (c: CatalogConstraint) => models.tables.has(c.table) && migrated.tables.has(c.table);
  const [unmatched, remaining] = matchBy(
    models.constraints.filter(onShared),
    migrated.constraints.filter(onShared),
    (c) => `${c.table}\u0000${c.type}\u0000${comparable(c.definition)}`,
  );
  const drift: Drift[] = [];
  const taken = new Set<CatalogConstraint>();
  for (const constraint of unmatched) {
    const candidates = remaining.filter((o) => !taken.has(o) && o.table === constraint.table && o.type === constraint.type);
    // By name; for a CHECK also by its columns when it is the only one on them (a migration naming what the model does not).
    const other =
      candidates.find((o) => o.name === constraint.name) ??
      (constraint.type === 'c' ? onlyOne(candidates.filter((o) => sameList([...o.columns].sort(), [...constraint.columns].sort()) && o.columns.length > 0)) : null);
    if (other) taken.add(other);
    // A foreign key only in the models is autogenerate's add_fk; a CHECK or an exclusion constraint, it never sees.
    if (!other && constraint.type === 'f') continue;
    drift.push({
      kind: 'constraint',
      object: constraint.name,
      table: constraint.table,
      columns: constraint.columns.map((column) => `${constraint.table}.${column}`),
      severity: constraint.type === 'f' && other && sameActions(constraint.definition, other.definition) ? 'warning' : 'error',
      models: constraint,
      migrations: other,
    });
  }
  return drift;
}

/** Two foreign keys that differ only in DEFERRABLE / INITIALLY / MATCH: no row is treated differently. */
function sameActions(a: string, b: string): boolean {
  const action = /ON (DELETE|UPDATE) (CASCADE|RESTRICT|NO ACTION|SET NULL|SET DEFAULT)( \([^)]*\))?/g;
  const reading = (d: string) => ({
    actions: [...d.matchAll(action)].map((m) => m[0]).sort().join(' '),
    keys: /^FOREIGN KEY \(.*?\) REFERENCES [^(]+\(.*?\)/.exec(d)?.[0] ?? d,
  });
  const [x, y] = [reading(a), reading(b)];
  return x.actions === y.actions && x.keys === y.keys;
}

// ---- what autogenerate reported

function reportedAlready(reported: readonly ReportedDifference[]): (d: Drift) => boolean {
  const bare = (name: string | null) => (name ?? '').split('.').pop()!;
  const tables = new Set<string>();
  const columns = new Set<string>();
  const names = new Set<string>();
  const foreignKeyTables = new Set<string>();
  const constraintTables = new Set<string>();
  for (const r of reported) {
    const table = bare(r.table);
    if (r.kind === 'add_table' || r.kind === 'remove_table') tables.add(table);
    else if (r.kind.startsWith('modify_') || r.kind.endsWith('_column')) columns.add(`${table}.${r.object ?? ''}`);
    else if (r.object) names.add(`${table}.${r.object}`);
    if (r.kind.endsWith('_fk')) foreignKeyTables.add(table);
    if (r.kind.endsWith('_constraint')) constraintTables.add(table);
  }
  return (d) => {
    const table = bare(d.table);
    if (d.table && tables.has(table)) return true;
    if (d.columns.some((c) => columns.has(c.split('.').slice(-2).join('.')) || tables.has(c.split('.').slice(-2)[0]!))) return true;
    if (names.has(`${table}.${bare(d.object)}`)) return true;
    if (d.kind === 'constraint' && d.models.type === 'f' && foreignKeyTables.has(table)) return true;
    if (d.kind === 'index' && (d.models.constraint || d.migrations.constraint) && constraintTables.has(table)) return true;
    return false;
  };
}

// ---- helpers

/**
 * An expression as Postgres printed it, without what a column's type change makes it print differently for the same
 * meaning: casts (`'x'::character varying`, `(ARRAY[...])::text[]`, `(1)::bigint`) and the parentheses they leave
 * around one literal, name or array. Only for matching (messages show the server's text): a pair it makes equal
 * that is not is a miss, never a false finding.
 */
export function comparable(expression: string): string {
  let text = expression.replace(CAST, '');
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/\(('(?:[^']|'')*'|[\w.$"]+|ARRAY\[[^\[\]]*\])\)/g, '$1');
  }
  return text;
}

const CAST = /::("[^"]+"|[a-z_][\w.]*(?: (?:varying|precision|with time zone|without time zone))*)(\(\d+(?:,\s*\d+)?\))?(\[\])*/gi;

/** Pairs equal keys one to one; returns what is left of each side. */
function matchBy<T>(left: T[], right: T[], key: (item: T) => string): [T[], T[]] {
  const pool = new Map<string, T[]>();
  for (const item of right) {
    const k = key(item);
    pool.set(k, [...(pool.get(k) ?? []), item]);
  }
  const unmatched: T[] = [];
  for (const item of left) {
    const bucket = pool.get(key(item));
    if (bucket && bucket.length > 0) bucket.shift();
    else unmatched.push(item);
  }
  return [unmatched, [...pool.values()].flat()];
}

/** `table.column` for every column of the table named in the text (as a whole word). */
function mentionedColumns(catalog: Catalog, table: string, text: string): string[] {
  const columns = catalog.tables.get(table)?.columns.keys() ?? [];
  return [...columns].filter((column) => mentions(text, column)).map((c) => `${table}.${c}`);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function onlyOne<T>(items: T[]): T | null {
  return items.length === 1 ? items[0]! : null;
}
