// missing-migration: the models differ from the migrated schema; the suggestion is the migration autogenerate would write.
import { codeBlock, finding, type Rule } from './rule.js';

export const missingMigration: Rule = {
  id: 'missing-migration',
  severity: 'error',
  check({ diff, replay }) {
    if (!diff || diff.empty || replay.failure) return [];
    const shown = diff.operations.slice(0, 5).map((op) => op.text);
    const more = diff.operations.length > shown.length ? ` and ${diff.operations.length - shown.length} more` : '';
    const imports = diff.imports.length > 0 ? diff.imports.join('\n') + '\n\n\n' : '';
    return [
      finding(missingMigration, {
        message:
          `The models differ from the schema the migrations build (${shown.join(', ')}${more}): ` +
          'a migration is missing.',
        suggestion:
          'Generate it with `alembic revision --autogenerate -m "describe the change"` and review it, or add a migration with:\n\n' +
          codeBlock('python', `${imports}${diff.upgrade}\n\n\n${diff.downgrade}`),
      }),
    ];
  },
};
