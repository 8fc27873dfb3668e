// foreign-key-validates: a foreign key added to an existing table without NOT VALID, or validated in the same transaction.
import type { Finding } from '../findings.js';
import type { Schema } from '../schema/schema.js';
import { alterTableCommands, columnConstraints, type ConstraintInfo } from '../sql/ast.js';
import { codeBlock, type FindingGroup, type Rule } from './rule.js';
import { chosenConstraintName } from './support/constraint-names.js';
import { blockedClause, lockClause } from './support/lock-phrases.js';
import { locksHeld, runsInTransaction } from './support/locks.js';
import { existedBefore, findingAt, pullRequestStatements, rewrittenEarlier, type PullRequestStatement } from './support/pull-request.js';
import { py, pyList } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { inlineSql, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { joinAnd } from './support/words.js';

export const foreignKeyValidates: Rule = {
  id: 'foreign-key-validates',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    // Foreign keys added NOT VALID, by revision, table and name: validating one in the same transaction undoes NOT VALID.
    const notValid = new Map<string, { site: PullRequestStatement; fk: ConstraintInfo }>();
    for (const site of pullRequestStatements(graph, evidence)) {
      for (const command of alterTableCommands(site.node)) {
        if (!existedBefore(site, command.table)) continue;
        if (command.subtype === 'AT_ValidateConstraint' && command.name) {
          const added = notValid.get(key(site, command.table, command.name));
          if (added && validatedInSameTransaction(added.site, site, command.table)) {
            const finding = sameTransactionFinding(site, command.table, command.name, added);
            if (finding) findings.push(finding);
          }
          continue;
        }
        const fk =
          command.subtype === 'AT_AddConstraint' && command.constraint?.type === 'foreign'
            ? command.constraint
            : command.subtype === 'AT_AddColumn' && command.column
              ? columnConstraints(command.column).references
              : null;
        if (!fk || !fk.enforced) continue;
        // Both tables already rewritten by this transaction (a key type swap): the check adds no lock they do not hold.
        if (rewrittenEarlier(site, command.table) && rewrittenEarlier(site, fk.referencedTable ?? command.table)) continue;
        const name = fk.name ?? chosenConstraintName(site.revision, command.table, { type: 'f', columns: fk.columns, referencedTable: fk.referencedTable });
        if (fk.skipValidation) notValid.set(key(site, command.table, name), { site, fk });
        else findings.push(validatingFinding(site, command.table, name, fk, command.subtype === 'AT_AddColumn' || site.statement.op?.call === 'add_column'));
      }
    }
    return findings;
  },
  group: { noun: 'foreign key', plural: 'foreign keys', summarize },
};

const ADD_NOT_VALID = 'Add it NOT VALID: Postgres then checks only new and updated rows, and holds its locks for an instant';
const VALIDATE_LATER =
  'Then check the existing rows in a later migration, deployed on its own (VALIDATE CONSTRAINT scans under ' +
  'SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):';
const COMMIT_FIRST =
  'Commit the NOT VALID constraint before validating it: move the validation to a later migration deployed on its ' +
  'own, or run it in an autocommit block, which commits what ran before it (VALIDATE CONSTRAINT alone holds SHARE ' +
  'UPDATE EXCLUSIVE, which lets reads and writes go on):';

/** Several foreign keys added (or validated too soon) the same way in one migration: one finding, each step's code in one block. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } | null {
  const advice = findings[0]!.suggestion ?? '';
  const count = findings.length;
  if (advice.startsWith(ADD_NOT_VALID)) {
    const inline = !advice.startsWith(`${ADD_NOT_VALID}:`);
    return {
      message:
        `${count} foreign keys added to existing tables without NOT VALID: ${listed}; for each, Postgres checks every existing ` +
        'row while holding SHARE ROW EXCLUSIVE on its table and the one it references, blocking writes to them until the check ends.',
      suggestion:
        'Add them NOT VALID: Postgres then checks only new and updated rows, and holds its locks for an instant' +
        (inline ? '. Declare the columns without `sa.ForeignKey(...)` and add the constraints on their own:' : ':') +
        '\n\n' +
        codeBlock('python', code[0]!) +
        '\n\nThen check the existing rows in a later migration, deployed on its own (VALIDATE CONSTRAINT scans under ' +
        'SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):\n\n' +
        codeBlock('python', code[1]!),
    };
  }
  if (advice.startsWith(COMMIT_FIRST)) {
    return {
      message:
        `${count} foreign keys added NOT VALID were validated before that was committed: ${listed}; each validation scanned ` +
        'its table under the locks of the ADD, blocking writes, as if NOT VALID had not been used.',
      suggestion:
        'Commit the NOT VALID constraints before validating them: move the validations to a later migration deployed on ' +
        'its own, or run them in an autocommit block, which commits what ran before it (VALIDATE CONSTRAINT alone holds ' +
        'SHARE UPDATE EXCLUSIVE, which lets reads and writes go on):\n\n' +
        codeBlock('python', code[0]!),
    };
  }
  return null;
}

function key(site: PullRequestStatement, table: string, name: string): string {
  return `${site.revision.revision}\u0000${table}\u0000${name}`;
}

function validatingFinding(site: PullRequestStatement, table: string, name: string, fk: ConstraintInfo, inlineColumn: boolean): Finding {
  const referenced = fk.referencedTable ?? table;
  const sql = inlineSql(site.statement.sql);
  const held = locksHeld(site.revision, site.at.statement, [table, referenced], 'ShareRowExclusiveLock');
  const tables = joinAnd([...new Set([table, referenced])].map((t) => `\`${t}\``));
  const message = held
    ? `${sql} ${lockClause(held, site)}, and checked every existing row of \`${table}\` under ${held.length > 1 ? 'them' : 'it'}: ` +
      `${blockedClause(held)} until the check ends.`
    : `${sql} adds a foreign key to the existing table \`${table}\` without NOT VALID: Postgres checks every existing row ` +
      `while holding SHARE ROW EXCLUSIVE on ${tables}, blocking writes until the check ends.`;
  const validate = `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(name)}`)})`;
  const suggestion =
    ADD_NOT_VALID +
    (inlineColumn ? '. Declare the column without `sa.ForeignKey(...)` and add the constraint on its own:' : ':') +
    '\n\n' +
    codeBlock('python', createForeignKey(site, table, name, fk)) +
    `\n\n${VALIDATE_LATER}\n\n` +
    codeBlock('python', validate);
  return { ...findingAt(foreignKeyValidates, site, message, suggestion), object: name };
}

/** Null when the locks of the ADD were not seen still held: then nothing was measured. */
function sameTransactionFinding(site: PullRequestStatement, table: string, name: string, added: { site: PullRequestStatement; fk: ConstraintInfo }): Finding | null {
  const referenced = added.fk.referencedTable ?? table;
  const held = locksHeld(site.revision, site.at.statement, [table, referenced], 'ShareRowExclusiveLock');
  if (!held) return null;
  const addLine = added.site.line !== null ? `line ${added.site.line}` : 'an earlier statement';
  const message =
    `${inlineSql(site.statement.sql)} ran before the NOT VALID foreign key of ${addLine} was committed, and ` +
    `${lockClause(held, site)}: ${blockedClause(held)} for the whole validation scan, as if NOT VALID had not been used.`;
  const validate = `op.execute(${py(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(name)}`)})`;
  const suggestion = `${COMMIT_FIRST}\n\n` + codeBlock('python', `with op.get_context().autocommit_block():\n    ${validate}`);
  return { ...findingAt(foreignKeyValidates, site, message, suggestion), object: name };
}

/**
 * Whether the VALIDATE ran while the transaction of the NOT VALID ADD was still open: it did when no statement in
 * between ran outside a transaction (CONCURRENTLY, autocommit) and the VALIDATE itself was seen holding a lock on the
 * table afterwards (in autocommit mode its locks are gone when it returns).
 */
function validatedInSameTransaction(add: PullRequestStatement, validate: PullRequestStatement, table: string): boolean {
  const between = validate.revision.statements.slice(add.at.statement + 1, validate.at.statement + 1);
  return between.every(runsInTransaction) && validate.statement.locks.some((lock) => lock.relation === table);
}

const ACTIONS: Record<string, string> = { c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT', r: 'RESTRICT' };

function createForeignKey(site: PullRequestStatement, table: string, name: string, fk: ConstraintInfo): string {
  const source = splitQualified(table);
  const target = splitQualified(fk.referencedTable ?? table);
  const remoteColumns = fk.referencedColumns.length > 0 ? fk.referencedColumns : primaryKey(site.revision.after, fk.referencedTable ?? table);
  const args = [py(name), py(source.name), py(target.name), pyList(fk.columns), remoteColumns ? pyList(remoteColumns) : '[...]'];
  const c = fk.constraint;
  if (c.fk_upd_action && ACTIONS[c.fk_upd_action]) args.push(`onupdate=${py(ACTIONS[c.fk_upd_action]!)}`);
  if (c.fk_del_action && ACTIONS[c.fk_del_action]) args.push(`ondelete=${py(ACTIONS[c.fk_del_action]!)}`);
  if (c.deferrable) args.push('deferrable=True');
  if (c.initdeferred) args.push('initially="DEFERRED"');
  if (c.fk_matchtype === 'f') args.push('match="FULL"');
  if (source.schema) args.push(`source_schema=${py(source.schema)}`);
  if (target.schema) args.push(`referent_schema=${py(target.schema)}`);
  args.push('postgresql_not_valid=True');
  return `op.create_foreign_key(${args.join(', ')})`;
}

function primaryKey(schema: Schema, table: string): string[] | null {
  return schema.constraints.find((c) => c.type === 'p' && c.table === table)?.columns ?? null;
}
