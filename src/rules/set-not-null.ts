// set-not-null: SET NOT NULL on an existing column: full scan under ACCESS EXCLUSIVE, fails on nulls.
import type { Evidence, RevisionEvidence } from '../evidence/evidence.js';
import type { Finding } from '../findings.js';
import type { Schema } from '../schema/schema.js';
import { alterTableCommands, columnConstraints, nodeAs, statementsOf, stringValues, type Node } from '../sql/ast.js';
import { parseStatement } from '../sql/parse.js';
import { lockAndData } from './migrations-run.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { backfillValue, alterNotNull, primaryKey } from './support/backfill.js';
import { columnTypeName } from './support/format-type.js';
import { lockPhrase } from './support/lock-phrases.js';
import { lockHeld } from './support/locks.js';
import { proofFailure } from './support/proof.js';
import { addedColumn, existedBefore, pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { opTable, pyReadable, withPostgresqlImport } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { inlineSqlFirstLine, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOf } from './support/sqlalchemy-type.js';

export const setNotNull: Rule = {
  id: 'set-not-null',
  severity: 'warning',
  check({ graph, evidence }) {
    if (!evidence) return [];
    const findings: Finding[] = [];
    let state = null as NullabilityState | null;
    for (const context of pullRequestStatements(graph, evidence, 'as-written')) {
      if (state?.revision !== context.revision) state = new NullabilityState(context.revision);
      for (const cmd of alterTableCommands(context.node)) {
        if (cmd.objectType !== 'OBJECT_TABLE' || cmd.subtype !== 'AT_SetNotNull' || !cmd.name) continue;
        const { table, name: column } = cmd;
        // A column the pull request added is the last step of add-nullable/backfill/SET NOT NULL
        // (not-null-without-default speaks when nothing fills it).
        if (!existedBefore(context, table) || addedColumn(context, table, column)) continue;
        // Already NOT NULL: nothing to check. A validated CHECK (column IS NOT NULL): PostgreSQL 12+ skips the scan.
        if (state.isNotNull(table, column) || state.hasValidatedCheck(table, column)) continue;
        findings.push(report(context, table, column, foreignKeyOf(evidence, context.at.revision, table, column)));
      }
      state.apply(context.node);
    }
    return findings;
  },
};

function report(context: PullRequestStatement, table: string, column: string, reference: Reference | null): Finding {
  const held = lockHeld(context.revision, context.at.statement, table);
  // The proof's row is inserted where the revision starts: an UPDATE of an earlier revision of the pull request
  // did not run on it, so its failure would say nothing about the data that revision leaves.
  const earlierUpdate = (context.updates.get(table) ?? []).some((at) => at.revision < context.at.revision);
  const proof = context.statement.proof;
  const failure = earlierUpdate ? null : proofFailure(proof);
  // Succeeded on a row after the revision's earlier statements (a backfill): the scan is the cost left to tell.
  const succeeded = !earlierUpdate && proof !== null && 'error' in proof && proof.error === null;
  const sql = inlineSqlFirstLine(context.statement.sql);
  const message =
    `${sql} ${lockPhrase(held, table)} and scans the whole table for nulls while holding it` +
    (failure ? `; it fails if any row is null: ${failure}.` : succeeded ? '.' : ', and fails if any row is null.');

  const before = context.revision.before;
  const typeName = columnTypeName(before, table, column);
  const type = sqlAlchemyTypeOf(typeName, before);
  const check = constraintName(table, column);
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  const fill = backfill(table, column, reference, before);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const code = withPostgresqlImport(
    [
      `# Rows holding NULL make VALIDATE fail: fill them first if there may be some, e.g.`,
      `# op.execute(${pyReadable(fill.sql)})`,
      ...fill.note.map((line) => `# ${line}`),
      `op.create_check_constraint(op.f(${pyReadable(check)}), ${tableArg}, ${pyReadable(`${c} IS NOT NULL`)}, postgresql_not_valid=True${schemaArg})`,
      '# VALIDATE scans under SHARE UPDATE EXCLUSIVE (reads and writes go on), in its own transaction.',
      'with op.get_context().autocommit_block():',
      `    op.execute(${pyReadable(`ALTER TABLE ${t} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`,
      '# PostgreSQL 12+ sees the validated check and skips the scan: ACCESS EXCLUSIVE only for an instant.',
      alterNotNull(table, column, type),
      `op.drop_constraint(op.f(${pyReadable(check)}), ${tableArg}, type_="check"${schemaArg})`,
    ].join('\n'),
    type.dialect,
  );
  const found: Finding = {
    ...finding(setNotNull, {
      message,
      file: context.file,
      line: context.statement.line,
      revision: context.revision.revision,
      suggestion: [
        'Prove the column has no nulls with a CHECK constraint validated without blocking writes, then set NOT NULL (PostgreSQL 12+):',
        codeBlock('python', code),
      ].join('\n\n'),
    }),
    object: `${table}.${column}`,
  };
  // The revision's own statements filled the column (the proof passed): only the scan under the lock is left.
  if (succeeded) return { ...found, concern: 'lock' };

  // With the app stopped, the lock does not matter: what is left is the failure on nulls, fixed by filling them.
  const offlineCode = withPostgresqlImport(
    [...fill.note.map((line) => `# ${line}`), `op.execute(${pyReadable(fill.sql)})  # TODO: ${fill.todo}`, alterNotNull(table, column, type)].join('\n'),
    type.dialect,
  );
  return lockAndData(found, {
    message: `${sql} fails if any row of \`${table}\` holds NULL in \`${column}\`` + (failure ? `: ${failure}.` : '.'),
    suggestion: [
      'Fill the rows that hold NULL in the same migration, before SET NOT NULL:',
      codeBlock('python', offlineCode),
      'Or look for them first:',
      codeBlock('sql', `SELECT count(*) FROM ${t} WHERE ${c} IS NULL;`),
    ].join('\n\n'),
  });
}

/** What a foreign key column points at: the referenced table and column. */
interface Reference {
  table: string;
  column: string | null;
}

/**
 * The table and column `table.column` references, when it is a foreign key before the revision, or becomes one in it
 * or in a later revision of the pull request.
 */
function foreignKeyOf(evidence: Evidence, revisionIndex: number, table: string, column: string): Reference | null {
  const schemas = [evidence.revisions[revisionIndex]!.before, ...evidence.revisions.slice(revisionIndex).map((r) => r.after)];
  for (const schema of schemas) {
    for (const constraint of schema.constraints) {
      if (constraint.type !== 'f' || constraint.table !== table || !constraint.referencedTable) continue;
      const position = constraint.columns.indexOf(column);
      if (position < 0) continue;
      const [stmt] = statementsOf(parseStatement(`ALTER TABLE t ADD ${constraint.definition}`));
      const referenced = alterTableCommands(stmt)[0]?.constraint?.referencedColumns ?? [];
      return { table: constraint.referencedTable, column: referenced[position] ?? null };
    }
  }
  return null;
}

/**
 * The UPDATE that fills the column's nulls, a note to read before it, and what the developer has to choose. A foreign
 * key gets the key of a referenced row: a made-up value (a random uuid, 0) would break the foreign key.
 */
function backfill(table: string, column: string, reference: Reference | null, before: Schema): { note: string[]; sql: string; todo: string } {
  const t = sqlTable(table);
  const c = sqlIdentifier(column);
  if (reference) {
    const key = reference.column ?? primaryKey(before, reference.table) ?? 'id';
    const value = `(SELECT ${sqlIdentifier(key)} FROM ${sqlTable(reference.table)} LIMIT 1)`;
    return {
      note: [
        `\`${column}\` is a foreign key to \`${reference.table}\`: each row needs the key of an existing \`${reference.table}\` row`,
        '(a made-up value breaks the foreign key); choose which.',
      ],
      sql: `UPDATE ${t} SET ${c} = ${value} WHERE ${c} IS NULL`,
      todo: `the ${reference.table} row each one belongs to`,
    };
  }
  const value = backfillValue(columnTypeName(before, table, column), before);
  return { note: [], sql: `UPDATE ${t} SET ${c} = ${value.sql} WHERE ${c} IS NULL`, todo: 'the value existing rows get' };
}

/** `ck_users_phone_not_null`, within Postgres's 63-byte limit. */
function constraintName(table: string, column: string): string {
  const name = `ck_${splitQualified(table).name}_${column}_not_null`;
  return Buffer.byteLength(name) <= 63 ? name : `ck_${column}_not_null`.slice(0, 63);
}

/** A column or constraint by its name within its table. */
function nameKey(table: string, name: string): string {
  return `${table}\u0000${name}`;
}

interface NotNullCheck {
  table: string;
  columns: string[];
  validated: boolean;
}

/** Within one revision: which columns are NOT NULL, and which CHECK constraints prove a column has no nulls. */
class NullabilityState {
  private readonly notNull = new Map<string, boolean>();
  /** By constraint name within its table: `table\0name`. */
  private readonly checks = new Map<string, NotNullCheck>();

  constructor(readonly revision: RevisionEvidence) {
    for (const table of revision.before.tables.values()) {
      for (const column of table.columns) this.notNull.set(nameKey(table.name, column.name), column.notNull);
    }
    for (const constraint of revision.before.constraints) {
      if (constraint.type !== 'c') continue;
      const columns = notNullColumns(checkExpression(constraint.definition));
      if (columns.length > 0) {
        this.checks.set(nameKey(constraint.table, constraint.name), { table: constraint.table, columns, validated: constraint.validated });
      }
    }
  }

  isNotNull(table: string, column: string): boolean {
    return this.notNull.get(nameKey(table, column)) === true;
  }

  hasValidatedCheck(table: string, column: string): boolean {
    return [...this.checks.values()].some((c) => c.table === table && c.validated && c.columns.includes(column));
  }

  apply(node: Node): void {
    for (const cmd of alterTableCommands(node)) {
      if (cmd.objectType !== 'OBJECT_TABLE') continue;
      const key = cmd.name === null ? null : nameKey(cmd.table, cmd.name);
      switch (cmd.subtype) {
        case 'AT_AddColumn':
          if (key && cmd.column) this.notNull.set(key, columnConstraints(cmd.column).notNull);
          break;
        case 'AT_SetNotNull':
          if (key) this.notNull.set(key, true);
          break;
        case 'AT_DropNotNull':
          if (key) this.notNull.set(key, false);
          break;
        case 'AT_AddConstraint': {
          const constraint = cmd.constraint;
          if (constraint?.type !== 'check' || !constraint.enforced) break;
          const columns = notNullColumns(constraint.expression);
          // Postgres names an unnamed check after its table and first column (`users_phone_check`).
          if (columns.length > 0) {
            this.checks.set(nameKey(cmd.table, constraint.name ?? `${splitQualified(cmd.table).name}_${columns[0]}_check`), {
              table: cmd.table,
              columns,
              validated: !constraint.skipValidation,
            });
          }
          break;
        }
        case 'AT_ValidateConstraint': {
          const check = key ? this.checks.get(key) : undefined;
          if (check) check.validated = true;
          break;
        }
        case 'AT_DropConstraint':
          if (key) this.checks.delete(key);
          break;
        default:
          break;
      }
    }
  }
}

/** The expression of a CHECK constraint as pg_get_constraintdef prints it (`CHECK ((phone IS NOT NULL)) NOT VALID`). */
function checkExpression(definition: string): Node | null {
  const [stmt] = statementsOf(parseStatement(`ALTER TABLE t ADD ${definition}`));
  const cmd = alterTableCommands(stmt)[0];
  return cmd?.constraint?.type === 'check' ? cmd.constraint.expression : null;
}

/** The columns an expression proves NOT NULL: `col IS NOT NULL`, alone or as a term of an AND. */
function notNullColumns(expression: Node | null): string[] {
  if (!expression) return [];
  const test = nodeAs(expression, 'NullTest');
  if (test) {
    if (test.nulltesttype !== 'IS_NOT_NULL') return [];
    const fields = stringValues(nodeAs(test.arg, 'ColumnRef')?.fields);
    return fields.length === 1 ? fields : [];
  }
  const bool = nodeAs(expression, 'BoolExpr');
  if (bool?.boolop === 'AND_EXPR') return (bool.args ?? []).flatMap((arg) => notNullColumns(arg));
  return [];
}
