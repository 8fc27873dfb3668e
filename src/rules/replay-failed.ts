// replay-failed: an upgrade fails: history from an empty database, or the pull request's revisions on a database at base.
import { headsBlockUpgrade } from './multiple-heads.js';
import { codeBlock, finding, type Rule } from './rule.js';

/** Postgres errors that mean "the object this statement needs is not there". */
const MISSING_OBJECT = new Set(['42P01', '42703', '42704', '3F000', '42883']);
/** duplicate_table, duplicate_object, duplicate_column, duplicate_schema, duplicate_function: "already exists". */
const ALREADY_EXISTS = new Set(['42P07', '42710', '42701', '42P06', '42723']);

export const replayFailed: Rule = {
  id: 'replay-failed',
  severity: 'error',
  check({ graph, replay }) {
    const failure = replay.failure;
    if (!failure) return [];
    const revision = failure.revision ? graph.byId.get(failure.revision) : undefined;
    const name = revision ? `revision ${revision.id} (${revision.file})` : 'the upgrade';
    const error = failure.postgresMessage ?? failure.exception;
    const isFirst = revision !== undefined && (revision.parents.length === 0 || failure.appliedBefore.length === 0);
    const deployed = failure.startedAt.length > 0;
    const at = failure.startedAt.join(', ');
    let message = deployed
      ? `${name[0]!.toUpperCase()}${name.slice(1)} fails on a database already at ${at}, as a deployed database is: ${error}`
      : `Upgrading from an empty database fails at ${name}: ${error}`;
    let advice: string;
    if (deployed) {
      message += '.';
      advice =
        `Production will run these revisions in one \`alembic upgrade\` on a database at ${at}, and fail the same way. ` +
        (failure.sqlstate && ALREADY_EXISTS.has(failure.sqlstate)
          ? 'The object already exists there: an earlier revision created it. Use the existing one instead of creating it ' +
            'again (for an ENUM type: `postgresql.ENUM(..., name=..., create_type=False)` in op.create_table / add_column).'
          : `Fix the migration so that \`alembic upgrade head\` succeeds on a database at ${at}.`);
    } else if (isFirst && failure.sqlstate && MISSING_OBJECT.has(failure.sqlstate)) {
      message +=
        '. The history cannot be replayed from an empty database: its first migration assumes tables made outside Alembic ' +
        '(for example by Base.metadata.create_all followed by alembic stamp).';
      advice =
        'Make the history replayable: add a baseline revision before it that creates the schema the first migration expects ' +
        '(`alembic revision -m "baseline"` with the CREATE statements, or squash the history into one revision), or give ' +
        'alembic-guard the schema to start from: `pg_dump --schema-only` of a database stamped before the first revision, ' +
        'saved as e.g. `db/baseline.sql`, and `baseline-sql = "db/baseline.sql"` under `[tool.alembic-guard]` in pyproject.toml.';
    } else {
      message += '.';
      advice = 'Fix the migration so that `alembic upgrade head` succeeds on an empty database.';
    }
    if (headsBlockUpgrade(graph)) {
      // The replay ran every head, as `alembic upgrade heads` does; `alembic upgrade head` would not start at all.
      message +=
        ` The graph has ${graph.heads.length} heads (${[...graph.heads].sort().join(', ')}): this is \`alembic upgrade heads\`; ` +
        '`alembic upgrade head` stops before running anything (see multiple-heads).';
    }
    const parts = [advice];
    if (failure.statement) parts.push(`Statement:\n\n${codeBlock('sql', failure.statement.trim())}`);
    parts.push(`Error:\n\n${codeBlock('', failure.exception)}`);
    return [
      finding(replayFailed, {
        message,
        file: failure.file ?? revision?.file ?? null,
        line: failure.line,
        revision: failure.revision,
        suggestion: parts.join('\n\n'),
      }),
    ];
  },
};
