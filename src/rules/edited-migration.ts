// edited-migration: the pull request changes a migration that already exists at base (and has run somewhere).
import { finding, type Rule } from './rule.js';

export const editedMigration: Rule = {
  id: 'edited-migration',
  severity: 'error',
  check({ graph }) {
    return graph.revisions
      .filter((revision) => revision.edited)
      .map((revision) =>
        finding(editedMigration, {
          message:
            `Revision ${revision.id} exists at base and this pull request changes it: databases that already ran it ` +
            'will never run the new version, so their schema silently differs.',
          file: revision.file,
          line: revision.firstEditedLine,
          revision: revision.id,
          suggestion: 'Revert the changes to this file and make them in a new migration (`alembic revision -m "..."`).',
        }),
      );
  },
};
