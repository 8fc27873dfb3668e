// edited-migration: the pull request changes what a migration that already exists at base (and has run somewhere) does.
import type { MigrationGraph, Revision } from '../graph/graph.js';
import type { CodeChange } from '../python/protocol.js';
import type { Severity } from '../findings.js';
import { codeBlock, finding, type Rule } from './rule.js';

/** Changes named in the message; the rest are counted. */
const NAMED = 3;

export const editedMigration: Rule = {
  id: 'edited-migration',
  severity: 'error',
  check({ graph }) {
    return graph.revisions
      .filter((revision) => revision.edited && !onlyImportPathsMoved(revision.editChanges))
      .map((revision) => ({
        ...finding(editedMigration, {
          message: message(revision),
          file: revision.file,
          line: revision.firstEditedLine,
          revision: revision.id,
          suggestion: suggestion(graph, revision),
        }),
        severity: severityOf(revision.editChanges),
      }));
  },
};

const IMPORT_OR_DEFINITION = /^(now imports|no longer imports|defines) /;
const IMPORT = /^(now imports|no longer imports) `(?:from \S+ )?import (.+)`$/;

/**
 * Every change is an import, and the same names are bound before and after (`from app.utils import GUID` →
 * `from app.utils.guid import GUID`): the code runs the same, so there is nothing to report.
 */
function onlyImportPathsMoved(changes: CodeChange[] | null): boolean {
  if (!changes || changes.length === 0) return false;
  const bound = { now: [] as string[], 'no longer': [] as string[] };
  for (const change of changes) {
    const match = change.scope === 'module level' ? IMPORT.exec(change.what) : null;
    if (!match) return false;
    const names = match[2]!.split(',').map((name) => name.trim().split(/\s+as\s+/).at(-1)!);
    bound[match[1] === 'now imports' ? 'now' : 'no longer'].push(...names);
  }
  return bound.now.length > 0 && bound.now.sort().join(',') === bound['no longer'].sort().join(',');
}
const IDENTIFIER = /\b(revision|down_revision|branch_labels|depends_on)\b/;

/**
 * How much an edit matters to databases that already ran the revision: a change to its op.* calls, its identifiers or
 * other module-level code (constants the ops read) is an error; Python that calls no op differently (a data migration
 * made runnable again, frozen models instead of the app's, an import moved) and a downgrade()-only change (fixing what
 * downgrade-incomplete asks for) are notices: nothing that already ran differs.
 */
function severityOf(changes: CodeChange[] | null): Severity {
  if (!changes) return 'error';
  if (changes.every((change) => change.scope === 'downgrade()')) return 'notice';
  // At module level, the revision identifiers and what was there before (a constant the ops read) count; a new line
  // (a logger) changes nothing by itself: the code that uses it is a change of its own.
  const schema = changes.some(
    (change) =>
      (change.scope === 'module level' && !IMPORT_OR_DEFINITION.test(change.what) && (change.kind !== 'added' || IDENTIFIER.test(change.what))) ||
      (change.scope !== 'downgrade()' && change.ops.length > 0),
  );
  return schema ? 'error' : 'notice';
}

function message(revision: Revision): string {
  const changes = revision.editChanges;
  if (!changes) {
    // A version that does not compile: compared as text.
    return (
      `Revision ${revision.id} exists at base and this pull request changes it: databases that already ran it ` +
      'will never run the new version, so their schema silently differs.'
    );
  }
  const named = changes.slice(0, NAMED).map(phrase);
  const more = changes.length - named.length;
  const what = named.join('; ') + (more > 0 ? `; and ${more} more change${more === 1 ? '' : 's'}` : '');
  return `Revision ${revision.id} exists at base and this pull request changes what it does: ${what} — ${consequence(changes)}.`;
}

/** `upgrade() now also calls op.add_column(...)`, `in upgrade(), op.create_index(...) changed its columns (...)`. */
function phrase(change: CodeChange): string {
  const verbFirst = /^(now |no longer |defines |changed )/.test(change.what);
  if (change.scope === 'module level') return verbFirst ? `the module ${change.what}` : change.what;
  return verbFirst ? `${change.scope} ${change.what}` : `in ${change.scope}, ${change.what}`;
}

function consequence(changes: CodeChange[]): string {
  const scopes = new Set(changes.map((change) => change.scope));
  if (severityOf(changes) === 'notice' && !scopes.has('downgrade()')) {
    return 'no op.* call changed, so databases that already ran it keep their schema, but they keep the data its base version wrote while new databases run the new code';
  }
  if (scopes.size === 1 && scopes.has('downgrade()')) {
    return 'only downgrade() changed, so databases that already ran it keep their schema and will roll back with the new downgrade()';
  }
  if (scopes.size === 1 && scopes.has('module level')) {
    return 'databases that already ran it keep what its base version did';
  }
  return 'databases that already ran it will never run the new version, so their schema silently differs';
}

function suggestion(graph: MigrationGraph, revision: Revision): string {
  const restore = graph.baseCommit ? ` (\`git checkout ${graph.baseCommit.slice(0, 12)} -- ${revision.file}\`)` : '';
  const changes = revision.editChanges ?? [];
  if (changes.length > 0 && changes.every((change) => change.scope === 'downgrade()')) {
    return (
      `Only downgrade() changed. If the old one could not undo what upgrade() does and the new one can, keep the fix and ` +
      `say so with \`# alembic-guard: ignore[edited-migration] <reason>\` at module level in \`${revision.file}\`; ` +
      `otherwise revert the file${restore} and put the change in a new migration (\`alembic revision -m "..."\`).`
    );
  }
  if (severityOf(revision.editChanges) === 'notice') {
    return (
      `Fine if this only lets the migration run again on a fresh database (frozen tables instead of the app's models, a ` +
      `crash fixed). Databases that already ran ${revision.id} never run this code: if their data needs the same fix, ` +
      `write it in a new migration (\`alembic revision -m "..."\`). Say why with \`# alembic-guard: ignore[edited-migration] <reason>\` ` +
      `at module level in \`${revision.file}\`.`
    );
  }
  const hints = changes.filter((change) => change.scope === 'upgrade()' && change.hint).map((change) => change.hint!);
  const complete = hints.length > 0 && changes.filter((change) => change.scope === 'upgrade()').every((change) => change.hint);
  const revert = `Revert the changes to this file${restore} and make them in a new migration (\`alembic revision -m "..."\`)`;
  if (!complete) return `${revert}, so that databases that already ran ${revision.id} get them too.`;
  return (
    `${revert}, so that databases that already ran ${revision.id} get them too; its upgrade() would be:\n\n` +
    codeBlock('python', hints.join('\n')) +
    '\n\nwith the inverse in its downgrade().'
  );
}
