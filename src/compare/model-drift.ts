// model-drift's comparison: the models' create_all() in a second scratch database on the same server, then both
// catalogs read with the same queries and diffed (src/schema/drift.ts). The database is created while the project
// loads; only create_all and the two catalog reads wait for the comparison.
import type pg from 'pg';
import type { DisposablePostgres } from '../postgres/provider.js';
import { createSiblingDatabase } from '../postgres/recreate.js';
import type { PythonHelper } from '../python/bridge.js';
import type { DiffInfo, ModelsDdl } from '../python/protocol.js';
import { splitQualified } from '../rules/support/qualified-name.js';
import { readCatalog, type Catalog } from '../schema/catalog.js';
import { catalogDrift, driftKey, enumLabels, type Drift } from '../schema/drift.js';
import { connect, USER_NAMESPACE } from '../schema/introspect.js';
import { quoteIdent } from '../sql/quote.js';

export type ModelDrift =
  /** Compared: `drift` is what differs now; `skipped` counts the models' statements that could not run (their objects are not compared). */
  | { kind: 'compared'; drift: Drift[]; statements: number; skipped: { statement: string; error: string }[] }
  | { kind: 'unavailable'; reason: string };

/** The drift on base and how head's compares with it (see BaseDrift for autogenerate's). */
export type BaseModelDrift =
  | { kind: 'compared'; label: string; drift: Drift[]; old: Drift[]; removed: Drift[] }
  | { kind: 'unavailable'; label: string; reason: string };

export interface CompareOptions {
  versionTable?: string;
  /**
   * The enum types the migrated side has, when the database cannot tell: after the downgrades, a label a new revision
   * added is still there (Postgres cannot drop one), so the base is compared with the labels seen before the pull request.
   */
  enums?: Map<string, string[]>;
}

/** A second scratch database beside the migrated one, for one create_all. */
export class ModelsDatabase {
  private constructor(
    private readonly server: DisposablePostgres,
    readonly name: string,
  ) {}

  /** `<scratch>_<suffix>` on the same server; the provider drops it with the server (or with the scratch database). */
  static async create(server: DisposablePostgres, suffix: string): Promise<ModelsDatabase> {
    const name = `${server.database}_${suffix}`;
    await createSiblingDatabase(server, name);
    return new ModelsDatabase(server, name);
  }

  /**
   * Runs the models' DDL here (after the migrated database's schemas and extensions, which models assume exist) and
   * compares both catalogs. `reported`: what autogenerate said in the same comparison, not to be said twice.
   */
  async compare(
    ddl: ModelsDdl | null | undefined,
    migrated: pg.Client,
    reported: DiffInfo[],
    ignoreObjects: string[],
    options: CompareOptions = {},
  ): Promise<ModelDrift> {
    if (!ddl) return { kind: 'unavailable', reason: 'the comparison gave no models' };
    if ('error' in ddl) return { kind: 'unavailable', reason: ddl.error };
    const client = await connect(this.server, this.name);
    try {
      const setup = await setupOf(migrated);
      // The migrated database's catalog is read while the models' tables are created in the other one.
      const [skipped, built] = await Promise.all([createModels(client, setup, ddl.statements), readCatalog(migrated, options.versionTable)]);
      const models = await readCatalog(client, options.versionTable);
      if (options.enums) built.enums = options.enums;
      const drift = await withoutEqualDefaults(
        migrated,
        catalogDrift(models, built, { compareServerDefault: ddl.compareServerDefault, ignored: [...ignoreObjects, ...ddl.excluded], reported }),
      );
      return { kind: 'compared', drift, statements: ddl.statements.length, skipped };
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/**
 * The models' own `op.create_index(...)` for each index that drifts, rendered by the helper that compared them (so the
 * suggestion reads as autogenerate would write it); without it the rule builds the index from its definition.
 */
export async function renderIndexes(helper: PythonHelper, drift: ModelDrift): Promise<void> {
  if (drift.kind !== 'compared') return;
  const indexes = drift.drift.filter((d): d is Drift & { kind: 'index' } => d.kind === 'index' && !d.models.constraint);
  if (indexes.length === 0) return;
  const wanted = indexes.map((d) => {
    const { schema, name } = splitQualified(d.table!);
    return { schema, table: name, name: splitQualified(d.models.name).name };
  });
  const { code } = await helper.request<{ code: Record<string, string> }>('render-indexes', { indexes: wanted });
  for (const d of indexes) d.create = code[splitQualified(d.models.name).name];
}

/** Of head's drift, `old` is also at base (not the pull request's); `removed` is base's that head no longer has. */
export function splitDriftByBase(head: Drift[], base: Drift[]): { old: Drift[]; removed: Drift[] } {
  const objectsAtHead = new Set(head.map((d) => `${d.kind} ${d.object}`));
  return {
    old: head.filter((d) => base.some((b) => alreadyAt(d, b))),
    removed: base.filter((b) => !head.some((d) => alreadyAt(d, b)) && !objectsAtHead.has(`${b.kind} ${b.object}`)),
  };
}

/**
 * Whether head's drift `d` was already there at base as `b`: the same difference; for an enum, no label missing or
 * extra that base did not already miss or have (a pull request that adds one of two missing labels, or adds a label
 * to both sides of an enum that drifts, introduces nothing).
 */
function alreadyAt(d: Drift, b: Drift): boolean {
  if (d.kind === 'enum' && b.kind === 'enum' && d.object === b.object) {
    const [now, then] = [enumLabels(d), enumLabels(b)];
    // Only the order differs: old when it is the same difference.
    if (now.missing.length === 0 && now.extra.length === 0) return driftKey(d) === driftKey(b);
    return now.missing.every((l) => then.missing.includes(l)) && now.extra.every((l) => then.extra.includes(l));
  }
  return driftKey(d) === driftKey(b);
}

/**
 * Server defaults printed differently may hold the same value (`'0'::numeric` and `0`, `''::text` and
 * `''::character varying` after a type change, `now()` and `CURRENT_TIMESTAMP`): Postgres says, as Alembic's own
 * comparison asks it, in a read-only transaction rolled back at the end. One it cannot evaluate stays a difference.
 */
async function withoutEqualDefaults(client: pg.Client, drift: Drift[]): Promise<Drift[]> {
  const pairs = drift.filter((d): d is Drift & { kind: 'default' } => d.kind === 'default' && d.migrations !== null);
  if (pairs.length === 0) return drift;
  const equal = new Set<Drift>();
  await client.query("BEGIN READ ONLY; SET LOCAL statement_timeout = '2s'");
  try {
    for (const d of pairs) {
      await client.query('SAVEPOINT d');
      try {
        const type = d.column.type;
        const { rows } = await client.query<{ same: boolean | null }>(`SELECT (${d.models})::${type} IS NOT DISTINCT FROM (${d.migrations})::${type} AS same`);
        if (rows[0]?.same === true) equal.add(d);
        await client.query('RELEASE SAVEPOINT d');
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT d');
      }
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return drift.filter((d) => !equal.has(d));
}

/** The migrated database's schemas and extensions, which the models assume exist. */
async function setupOf(migrated: pg.Client): Promise<string[]> {
  const schemas = await migrated.query<{ name: string }>(
    `SELECT n.nspname::text AS name FROM pg_namespace n WHERE ${USER_NAMESPACE} AND n.nspname <> 'public' ORDER BY 1`,
  );
  const extensions = await migrated.query<{ name: string; schema: string }>(
    `SELECT e.extname::text AS name, n.nspname::text AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql' ORDER BY e.oid`,
  );
  return [
    ...schemas.rows.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.name)}`),
    ...extensions.rows.map((e) => `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}`),
  ];
}

/**
 * The setup, then the models' statements, in one transaction: all in one round trip when they all run; else one by
 * one, where a statement that fails (a type from an extension that could not be installed, a foreign key to a table
 * the models leave out) is rolled back alone and its objects are simply not compared.
 */
async function createModels(client: pg.Client, setup: string[], statements: string[]): Promise<{ statement: string; error: string }[]> {
  const all = [...setup, ...statements.map(withoutConcurrently)];
  try {
    await client.query(['BEGIN', ...all, 'COMMIT'].join(';\n'));
    return [];
  } catch {
    await client.query('ROLLBACK');
  }
  const skipped: { statement: string; error: string }[] = [];
  await client.query('BEGIN');
  for (const [i, statement] of all.entries()) {
    // Three queries: a statement that does not even parse must not take its SAVEPOINT down with it.
    await client.query('SAVEPOINT s');
    try {
      await client.query(statement);
      await client.query('RELEASE SAVEPOINT s');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT s');
      if (i >= setup.length) skipped.push({ statement: statement.split('\n')[0]!, error: error instanceof Error ? error.message : String(error) });
    }
  }
  await client.query('COMMIT');
  return skipped;
}

/** A model's `postgresql_concurrently=True` index cannot be built inside the transaction; here it need not be. */
function withoutConcurrently(statement: string): string {
  return statement.replace(/^CREATE (UNIQUE )?INDEX CONCURRENTLY /, (_, unique: string | undefined) => `CREATE ${unique ?? ''}INDEX `);
}

export type { Catalog, Drift };
