// Compares the migrated database with the models the way `alembic revision --autogenerate` would, writing nothing.
import type { PythonHelper } from '../python/bridge.js';
import type { CompareResult, DiffInfo } from '../python/protocol.js';

export interface ModelDiff {
  empty: boolean;
  /** One entry per autogenerate operation: `add_column users.bio`, ... */
  operations: DiffInfo[];
  /** Python ready to paste: `def upgrade() -> None:` and `def downgrade() -> None:` with their bodies. */
  upgrade: string;
  downgrade: string;
  /** Extra imports the rendered code needs. */
  imports: string[];
  seconds: number;
}

/** `ignoreObjects`: names (`ix_users_name_trgm`, `users.search_vector`) kept out of the comparison on purpose. */
export async function compareWithModels(helper: PythonHelper, ignoreObjects: string[] = []): Promise<ModelDiff> {
  const result = await helper.request<CompareResult>('compare', { ignoreObjects });
  return {
    empty: result.empty,
    operations: result.diffs,
    upgrade: result.upgrade,
    downgrade: result.downgrade,
    imports: result.imports,
    seconds: result.seconds,
  };
}
