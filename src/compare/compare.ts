// Compares the migrated database with the models the way `alembic revision --autogenerate` would, writing nothing.
import type { PythonHelper } from '../python/bridge.js';
import type { CompareResult, DiffInfo, ModelsDdl, RenderResult } from '../python/protocol.js';

export interface ModelDiff {
  empty: boolean;
  /** One entry per autogenerate operation: `add_column users.bio`, ... */
  operations: DiffInfo[];
  /** Python ready to paste: `def upgrade() -> None:` and `def downgrade() -> None:` with their bodies. */
  upgrade: string;
  downgrade: string;
  /** Extra imports the rendered code needs. */
  imports: string[];
  /** What create_all() would run for the same models (with `modelDdl`), for model-drift. */
  models: ModelsDdl | null;
  seconds: number;
}

/** `ignoreObjects`: names (`ix_users_name_trgm`, `users.search_vector`) kept out of the comparison on purpose. */
export async function compareWithModels(helper: PythonHelper, ignoreObjects: string[] = [], modelDdl = false): Promise<ModelDiff> {
  const result = await helper.request<CompareResult>('compare', { ignoreObjects, modelDdl });
  return {
    empty: result.empty,
    operations: result.diffs,
    upgrade: result.upgrade,
    downgrade: result.downgrade,
    imports: result.imports,
    models: result.models ?? null,
    seconds: result.seconds,
  };
}

/** The migration for the last comparison's differences without those already on base (`old`): what the PR must add. */
export async function withoutDifferences(helper: PythonHelper, diff: ModelDiff, old: DiffInfo[]): Promise<ModelDiff> {
  if (old.length === 0) return diff;
  const drop = new Set(old.map((d) => d.fingerprint));
  const operations = diff.operations.filter((d) => !drop.has(d.fingerprint));
  if (operations.length === 0) return { ...diff, empty: true, operations, upgrade: '', downgrade: '', imports: [] };
  const rendered = await helper.request<RenderResult>('render', { exclude: [...drop] });
  return { ...diff, operations, upgrade: rendered.upgrade, downgrade: rendered.downgrade, imports: rendered.imports };
}
