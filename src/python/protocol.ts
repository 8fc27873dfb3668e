// The JSON shapes the Python helper answers with (see python/_alembic_guard/).

export interface HelloResult {
  python: string;
  sqlalchemy: string;
  alembic: string;
  executable: string;
}

export interface OpCall {
  function: 'upgrade' | 'downgrade';
  /** `add_column`, `create_index`, ... */
  call: string;
  /** Called on a batch_alter_table context rather than on `op`. */
  batch: boolean;
  line: number;
  endLine: number;
}

/** A `# alembic-guard: ignore[rule-id] reason` comment. */
export interface Directive {
  line: number;
  rules: string[];
  reason: string;
  /** `file`: at module level, the whole file; `line`: the code line `target`. */
  scope: 'file' | 'line';
  target: number;
  /** Set when the comment names alembic-guard but is not a valid directive. */
  error: string | null;
}

export interface LoadedRevision {
  revision: string;
  downRevisions: string[];
  dependsOn: string[];
  branchLabels: string[];
  /** Absolute path. */
  path: string;
  message: string;
  revisionLine: number | null;
  downRevisionLine: number | null;
  upgradeLine: number | null;
  downgradeLine: number | null;
  upgradeIsEmpty: boolean | null;
  ops: OpCall[];
  directives: Directive[];
}

export interface LoadResult {
  configPath: string;
  scriptLocation: string;
  versionLocations: string[];
  heads: string[];
  /** Base first. */
  revisions: LoadedRevision[];
  /** The disposable database's URL as the project's Python got it. */
  url: string;
  /** `postgresql+<driver>`, or null when no driver suits env.py (it may build its own URL). */
  driver: string | null;
}

/** One file of a `scan` request. */
export interface ScanRequestFile {
  path: string;
  text: string;
  /** The file's text at the base commit: the answer says what its code changes (`edit`). */
  base?: string;
  /** The repository root: the answer lists the file's imports of the project's own modules (`appImports`). */
  appImportsWithin?: string;
}

/** One difference in what a migration's code does, between its base version and the working tree. */
export interface CodeChange {
  /** `upgrade()`, `downgrade()`, another function (`helper()`), or `module level`. */
  scope: string;
  /** The working-tree line of the statement (or op.* call) concerned; for a removal, the line where it was. */
  line: number;
  kind: 'added' | 'removed' | 'changed';
  /** A phrase: `now also calls op.add_column("users", sa.Column("bio", ...))`, `down_revision changed ("a" → "b")`. */
  what: string;
  /** The op.* calls concerned: `op.add_column`, `batch_op.alter_column`. */
  ops: string[];
  /** Code a new migration's upgrade() would run to make the same change, when there is a plain one. */
  hint: string | null;
}

/** Two versions of a migration compared as code: docstrings, comments, formatting and type annotations left out. */
export interface CodeComparison {
  same: boolean;
  /** The first changed statement, in the working-tree file. */
  line: number | null;
  /** In file order. */
  changes: CodeChange[];
}

/** What an import takes from the project, read from the source that defines it. */
export interface ImportedName {
  /** As imported (`User`), or the module for a module import (`app.models`). */
  name: string;
  /** The module it comes from. */
  module: string;
  kind: 'table' | 'enum' | 'constant' | 'class' | 'function' | 'object' | 'module' | 'unknown';
  /** Tables: `__tablename__` (null when the class does not spell it). */
  table?: string | null;
  /** Tables: mapped columns, only those the migration reads off the class when it reads any (`columnsUsed`). */
  columns?: { attribute: string; name: string; type: string | null }[];
  columnsUsed?: boolean;
  /** Enums and constants: their definition, when short enough to copy. */
  source?: string | null;
  /** Module imports: the names the migration reads off the module. */
  members?: ImportedName[];
}

/** An import statement of a migration that reaches the project's own code (not a helper of the migrations). */
export interface AppImport {
  line: number;
  endLine: number;
  /** The project's modules it imports (`app.models`). */
  modules: string[];
  /** The top-level function it is in, or null at module level. */
  function: string | null;
  names: ImportedName[];
}

export interface ScannedFile {
  path: string;
  revision: string | null;
  /** `down_revision`: a string, a list for a merge point, or null for a root (absent when the file does not compile). */
  downRevision?: string | string[] | null;
  revisionLine?: number | null;
  syntaxError: string | null;
  /** Asked with `base`: null when either text does not compile. */
  edit?: CodeComparison | null;
  /** Asked with `appImportsWithin`. */
  appImports?: AppImport[];
}

export interface CapturedStatement {
  sql: string;
  /** The revision whose file issued it (from the Python stack), or null when issued from elsewhere. */
  revision: string | null;
  /** Line in the migration file of the call that issued it. */
  line: number | null;
  seconds: number | null;
  /** Observed steps only: relations whose relfilenode changed during the statement. */
  rewrote?: string[];
  /** Observed steps only: relation locks the statement newly took in its transaction. */
  locks?: { relation: string; kind: string; mode: string }[];
}

export interface ReplayStep {
  direction: 'upgrade' | 'downgrade';
  /** A revision id, `heads`, or `base`; several revisions: one run up to all of them. */
  target: string | string[];
  /** Record locks and rewrites per statement (costs two catalog queries per statement). */
  observe?: boolean;
}

export interface AppliedRevision {
  revision: string;
  upgrade: boolean;
  seconds: number | null;
  statements: CapturedStatement[];
  /** Observed runs: locks the transaction already held when the revision began (an earlier revision's, same transaction). */
  heldAtStart?: { relation: string; kind: string; mode: string }[];
  /** Revisions asked for with `snapshot`: the schema right after it, inside the run, as JSON text. */
  schema?: string;
  snapshotSeconds?: number;
}

/** Asks for a schema snapshot after each of `revisions`, taken on the migration's own connection. */
export interface SnapshotRequest {
  /** One query returning one text value: the schema as JSON. */
  sql: string;
  revisions: string[];
}

export interface ReplayFailureInfo {
  revision: string | null;
  file: string | null;
  line: number | null;
  /** Raised from a migration file, as opposed to env.py or the models it imports. */
  inMigration: boolean;
  /** Alembic had begun running migrations (env.py imported and connected). */
  migrationsStarted: boolean;
  appliedCount: number;
  statement: string | null;
  sqlstate: string | null;
  postgresMessage: string | null;
  exception: string;
  exceptionType: string;
  traceback: string;
}

export interface ReplayResult {
  applied: AppliedRevision[];
  failure: ReplayFailureInfo | null;
  seconds: number;
}

export interface DiffInfo {
  kind: string;
  table: string | null;
  object: string | null;
  text: string;
  /** The operation's code as autogenerate renders it: equal fingerprints are the same difference, in any run. */
  fingerprint: string;
}

/** `render`: the migration for the last comparison's operations, without the excluded fingerprints. */
export interface RenderResult {
  upgrade: string;
  downgrade: string;
  imports: string[];
}

/**
 * What create_all() would run for env.py's models, as SQL (python/_alembic_guard/models_ddl.py), or why it cannot be
 * had. `excluded`: `table.name` of what env.py's include_object keeps out of the comparison inside a kept table.
 */
export type ModelsDdl = { statements: string[]; excluded: string[]; compareServerDefault: boolean } | { error: string };

export interface CompareResult {
  empty: boolean;
  /** Asked for with `modelDdl`. */
  models?: ModelsDdl | null;
  diffs: DiffInfo[];
  /** `def upgrade() -> None:` with the body autogenerate would write. */
  upgrade: string;
  downgrade: string;
  imports: string[];
  seconds: number;
}
