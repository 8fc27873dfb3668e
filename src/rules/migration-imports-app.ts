// migration-imports-app: a new migration imports the project's own modules, so it breaks when they change later.
import type { Revision } from '../graph/graph.js';
import type { AppImport, ImportedName } from '../python/protocol.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { joinAnd } from './support/words.js';

/** Columns shown in a `sa.table()` example when the migration names none of them. */
const EXAMPLE_COLUMNS = 6;

export const migrationImportsApp: Rule = {
  id: 'migration-imports-app',
  severity: 'notice',
  check({ graph }) {
    return graph.revisions
      .filter((revision) => revision.isNew)
      .flatMap((revision) => (revision.appImports ?? []).map((imported) => importFinding(revision, imported)));
  },
};

function importFinding(revision: Revision, imported: AppImport) {
  const where = imported.function ? ` in ${imported.function}()` : '';
  const one = imported.modules.length === 1;
  return finding(migrationImportsApp, {
    message:
      `Migration ${revision.id} imports ${imports(imported)}${where}, the project's own code: when ${one ? 'that module changes' : 'those modules change'} ` +
      '(a model renamed or removed, a column or enum value added), every later run of this migration (a new environment, CI) ' +
      'imports the new code and can fail or do something else.',
    file: revision.file,
    line: imported.line,
    revision: revision.id,
    suggestion: suggestion(imported),
    object: imported.modules.join(', '),
  });
}

/** "`User` and `Post` from app.models", "app.models". */
function imports(imported: AppImport): string {
  const parts: string[] = [];
  for (const module of imported.modules) {
    const names = imported.names.filter((name) => name.module === module);
    const taken = names.filter((name) => name.kind !== 'module').map((name) => `\`${name.name}\``);
    parts.push(taken.length > 0 ? `${joinAnd(taken)} from ${module}` : module);
  }
  return joinAnd(parts);
}

/** What the migration would define instead, with the real table and column names when the model's source says them. */
function suggestion(imported: AppImport): string {
  const names = imported.names.flatMap((name) => (name.kind === 'module' ? (name.members ?? []) : [name]));
  const tables = names.filter((name) => name.kind === 'table');
  const copies = names.filter((name) => (name.kind === 'enum' || name.kind === 'constant') && name.source);
  const parts: string[] = [];
  if (tables.length > 0) {
    parts.push(
      `Define what the migration needs inside it: a lightweight table with \`sa.table()\` / \`sa.column()\` holds only the ` +
        `columns it reads or writes, as they are at this revision, and never changes with the models. Instead of ${joinAnd(tables.map((t) => `\`${t.name}\``))}:`,
    );
    parts.push(codeBlock('python', tables.map(tableExample).join('\n\n')));
  }
  if (copies.length > 0) {
    parts.push(
      `Copy ${copies.length === 1 ? 'the value' : 'the values'} into the migration as ${copies.length === 1 ? 'it is' : 'they are'} today ` +
        '(a later change to the application gets its own migration):',
    );
    parts.push(codeBlock('python', copies.map(copyExample).join('\n\n')));
  }
  if (parts.length === 0) {
    parts.push(
      "Keep the migration independent of the application's code: define the tables it touches inside it with `sa.table()` / " +
        '`sa.column()` (lightweight table constructs), and copy the constants or enum values it needs, for example:',
    );
    parts.push(
      codeBlock(
        'python',
        [
          'accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("status", sa.String))',
          'op.execute(accounts.update().where(accounts.c.status.is_(None)).values(status="active"))',
        ].join('\n'),
      ),
    );
  }
  return parts.join('\n\n');
}

function tableExample(model: ImportedName): string {
  const table = model.table ?? null;
  const all = model.columns ?? [];
  const columns = model.columnsUsed ? all : all.slice(0, EXAMPLE_COLUMNS);
  const variable = table && /^[A-Za-z_]\w*$/.test(table) && !RESERVED.has(table) ? table : `${snake(model.name)}_table`;
  const items = [JSON.stringify(table ?? snake(model.name)), ...columns.map((c) => `sa.column(${JSON.stringify(c.name)}${c.type ? `, ${c.type}` : ''})`)];
  const lines = [`${variable} = sa.table(`, ...items.map((item) => `    ${item},`)];
  if (!table) lines.splice(1, 0, `    # TODO: the name of ${model.name}'s table`);
  if (!model.columnsUsed && all.length > columns.length) lines.push('    # ...only the columns this migration uses');
  lines.push(')');
  const updated = columns.find((column) => column.name !== 'id' && /^[A-Za-z_]\w*$/.test(column.name));
  if (updated) lines.push(`# e.g. op.execute(${variable}.update().where(${variable}.c.${updated.name}.is_(None)).values(${updated.name}=...))`);
  return lines.join('\n');
}

function copyExample(name: ImportedName): string {
  const source = name.source!;
  const header = `# copied from ${name.module}`;
  if (name.kind !== 'enum') return `${header}\n${source}`;
  const needs = /\benum\./.test(source) ? 'import enum' : /\b(?:Str|Int)?Enum\b/.test(source) ? `from enum import ${[...new Set(source.match(/\b(?:Str|Int)?Enum\b/g))].join(', ')}` : null;
  return [needs, header, source].filter(Boolean).join('\n');
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Names a table variable must not take: Python keywords a table could be called, and the migration's own `op` and `sa`. */
const RESERVED = new Set(['and', 'as', 'class', 'def', 'del', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'not', 'or', 'pass', 'return', 'with', 'op', 'sa']);
