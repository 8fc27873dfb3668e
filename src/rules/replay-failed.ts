// replay-failed: upgrading from an empty database fails at some revision.
import { codeBlock, finding, type Rule } from './rule.js';

/** Postgres errors that mean "the object this statement needs is not there". */
const MISSING_OBJECT = new Set(['42P01', '42703', '42704', '3F000', '42883']);

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
    let message = `Upgrading from an empty database fails at ${name}: ${error}`;
    let advice: string;
    if (isFirst && failure.sqlstate && MISSING_OBJECT.has(failure.sqlstate)) {
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
