// unique-constraint-scan: a unique constraint added to an existing table (its index is built under lock; duplicates make it fail).
import type { Finding } from '../findings.js';
import { alterTableCommands, columnConstraints, type ColumnDef, type ConstraintInfo } from '../sql/ast.js';
import { lockAndData } from './migrations-run.js';
import { codeBlock, type Rule } from './rule.js';
import { chosenConstraintName } from './support/constraint-names.js';
import { blockedClause, lockClause } from './support/lock-phrases.js';
import { locksHeld } from './support/locks.js';
import { addedAllNull, existedBefore, findingAt, nullEverywhere, pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { py, pyList } from './support/python-code.js';
import { qualifiedLike, splitQualified } from './support/qualified-name.js';
import { inlineSql, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { joinAnd } from './support/words.js';

export const uniqueConstraintScan: Rule = {
  id: 'unique-constraint-scan',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        if (!existedBefore(site, command.table)) continue;
        const unique =
          command.subtype === 'AT_AddConstraint' && command.constraint?.type === 'unique'
            ? command.constraint
            : command.subtype === 'AT_AddColumn' && command.column
              ? (columnConstraints(command.column).constraints.find((c) => c.type === 'unique') ?? null)
              : null;
        // USING INDEX adopts an index built beforehand (CONCURRENTLY, one hopes): no build, no scan.
        if (!unique || unique.usingIndex !== null) continue;
        const sameCommand = command.subtype === 'AT_AddColumn' ? command.column : null;
        findings.push(uniqueFinding(site, command.table, unique, sameCommand !== null || site.statement.op?.call === 'add_column', sameCommand));
      }
    }
    return findings;
  },
};

function uniqueFinding(site: PullRequestStatement, table: string, unique: ConstraintInfo, inlineColumn: boolean, addedHere: ColumnDef | null): Finding {
  const name = unique.name ?? chosenConstraintName(site.revision, table, { type: 'u', columns: unique.columns });
  const sql = inlineSql(site.statement.sql);
  const noDuplicates = cannotHoldDuplicates(site, table, unique, addedHere);
  const duplicates =
    unique.columns.length === 1 ? `duplicate values of \`${unique.columns[0]}\`` : `duplicate (${unique.columns.map((c) => `\`${c}\``).join(', ')}) combinations`;
  const fails = noDuplicates ? '' : `, and ${duplicates} make it fail`;
  const built = site.revision.after.indexes.has(qualifiedLike(table, name)) ? `the unique index \`${name}\`` : 'its unique index';
  // ADD CONSTRAINT ... UNIQUE takes ACCESS EXCLUSIVE (the SHARE lock of its index build is then beside the point).
  const held = locksHeld(site.revision, site.at.statement, [table], 'AccessExclusiveLock');
  const message = held
    ? `${sql} ${lockClause(held, site)}, and built ${built} under it: ${blockedClause(held)} for the whole build${fails}.`
    : `${sql} adds a unique constraint to the existing table \`${table}\`: Postgres builds its index while holding ` +
      `ACCESS EXCLUSIVE on the table, blocking reads and writes for the whole build${fails}.`;
  const found: Finding = { ...findingAt(uniqueConstraintScan, site, message, suggestion(table, name, unique, inlineColumn, noDuplicates)), object: name };
  if (noDuplicates) return { ...found, concern: 'lock' };
  // With the app stopped the build blocks no one: the duplicates are what is left.
  return lockAndData(found, {
    message: `${sql} adds a unique constraint to the existing table \`${table}\`: ${duplicates} make it fail.`,
    suggestion: `Look for duplicates first, and resolve them before this migration runs (or in it, before the constraint):\n\n${codeBlock('sql', duplicatesQuery(table, unique))}`,
  });
}

/**
 * Whether the existing rows cannot hold duplicates: one of the columns was added by the same migration without a
 * default and not written since, so it is NULL in every row, and NULLs are distinct (unless NULLS NOT DISTINCT). A column
 * an earlier migration added may have been written by the app in between, if they are deployed apart.
 */
function cannotHoldDuplicates(site: PullRequestStatement, table: string, unique: ConstraintInfo, addedHere: ColumnDef | null): boolean {
  if (unique.constraint.nulls_not_distinct) return false;
  return unique.columns.some((column) => (addedHere?.colname === column ? addedAllNull(addedHere) : nullEverywhere(site, table, column)));
}

function duplicatesQuery(table: string, unique: ConstraintInfo): string {
  const columns = unique.columns.map((column) => sqlIdentifier(column)).join(', ');
  return `SELECT ${columns}, count(*) FROM ${sqlTable(table)} GROUP BY ${columns} HAVING count(*) > 1;`;
}

function suggestion(table: string, name: string, unique: ConstraintInfo, inlineColumn: boolean, noDuplicates: boolean): string {
  const { schema, name: bare } = splitQualified(table);
  const args = [py(name), py(bare), pyList(unique.columns), 'unique=True'];
  if (schema) args.push(`schema=${py(schema)}`);
  const c = unique.constraint;
  if (c.nulls_not_distinct) args.push('postgresql_nulls_not_distinct=True');
  const including = (c.including ?? []).flatMap((n) => ('String' in n && n.String?.sval ? [n.String.sval] : []));
  if (including.length > 0) args.push(`postgresql_include=${pyList(including)}`);
  args.push('postgresql_concurrently=True');
  const deferrable = c.deferrable ? (c.initdeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE') : '';
  const attach = `ALTER TABLE ${sqlTable(table)} ADD CONSTRAINT ${sqlIdentifier(name)} UNIQUE USING INDEX ${sqlIdentifier(name)}${deferrable}`;
  const build =
    'Build the unique index CONCURRENTLY (reads and writes go on; it cannot run inside a transaction, hence the ' +
    'autocommit block), then make it the constraint, which holds ACCESS EXCLUSIVE only for an instant' +
    (inlineColumn ? '. Declare the column without `unique=True` and add:' : ':') +
    '\n\n' +
    codeBlock('python', `with op.get_context().autocommit_block():\n    op.create_index(${args.join(', ')})\nop.execute(${py(attach)})`);
  if (noDuplicates) return build;
  return (
    `${build}\n\nThe build still fails on ${joinAnd(unique.columns.map((col) => `\`${col}\``))} duplicates (and leaves an INVALID ` +
    'index to drop before retrying): look for them first.\n\n' +
    codeBlock('sql', duplicatesQuery(table, unique))
  );
}
