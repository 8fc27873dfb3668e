// missing-migration: the models differ from the migrated schema in a way the pull request introduces; the suggestion is
// the migration autogenerate would write for just that. Drift already on base is one notice, never an error.
import type { Finding } from '../findings.js';
import type { DiffInfo } from '../python/protocol.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { plural } from './support/words.js';

const SHOWN = 5;

function listed(operations: DiffInfo[]): string {
  const shown = operations.slice(0, SHOWN).map((op) => op.text);
  const more = operations.length > shown.length ? ` and ${operations.length - shown.length} more` : '';
  return `${shown.join(', ')}${more}`;
}

export const missingMigration: Rule = {
  id: 'missing-migration',
  severity: 'error',
  check({ diff, baseDrift, replay }) {
    if (!diff || replay.failure) return [];
    const findings: Finding[] = [];
    const compared = baseDrift?.kind === 'compared' ? baseDrift : null;
    if (!diff.empty) {
      const imports = diff.imports.length > 0 ? diff.imports.join('\n') + '\n\n\n' : '';
      const whose = compared && compared.old.length > 0 ? ' in ways this pull request introduces' : '';
      findings.push(
        finding(missingMigration, {
          message: `The models differ from the schema the migrations build${whose} (${listed(diff.operations)}): a migration is missing.`,
          suggestion:
            'Generate it with `alembic revision --autogenerate -m "describe the change"` and review it, or add a migration with:\n\n' +
            codeBlock('python', `${imports}${diff.upgrade}\n\n\n${diff.downgrade}`) +
            (compared && compared.old.length > 0
              ? `\n\nThis code leaves out the ${plural(compared.old.length, 'difference')} already at ${compared.label}; autogenerate would write them too.`
              : ''),
        }),
      );
    }
    if (compared) {
      if (compared.old.length > 0) {
        findings.push({
          ...finding(missingMigration, {
            message:
              `${plural(compared.old.length, 'difference')} between the models and the migrations ${compared.old.length === 1 ? 'is' : 'are'} ` +
              `already at ${compared.label} (${listed(compared.old)}): not this pull request's.`,
            suggestion:
              'Fix them in a migration of their own, or, where the difference is on purpose (an index kept only in migrations, ' +
              'a foreign key created with `use_alter`), name the objects in `ignore-objects` under `[tool.alembic-guard]` in pyproject.toml.',
          }),
          severity: 'notice' as const,
        });
      }
      if (compared.removed.length > 0) {
        findings.push({
          ...finding(missingMigration, {
            message:
              `This pull request removes ${plural(compared.removed.length, 'difference')} between the models and the migrations ` +
              `that ${compared.removed.length === 1 ? 'was' : 'were'} at ${compared.label} (${listed(compared.removed)}).`,
          }),
          severity: 'notice' as const,
        });
      }
    }
    if (baseDrift?.kind === 'unavailable' && !diff.empty) {
      findings.push({
        ...finding(missingMigration, {
          message:
            `The models at ${baseDrift.label} could not be compared (${baseDrift.reason}), so every difference above counts as ` +
            "this pull request's, including any that were already there.",
        }),
        severity: 'notice' as const,
      });
    }
    return findings;
  },
};
