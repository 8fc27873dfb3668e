// backfill-under-lock: an UPDATE or DELETE of every row of an existing table while its transaction holds ACCESS EXCLUSIVE on it.
import type { RelationLock } from '../evidence/evidence.js';
import type { Finding } from '../findings.js';
import type { OpCall } from '../python/protocol.js';
import { alterTableCommands, columnConstraints, nodeAs, relationName, statementsOf, stringValues, type Node, type RangeVar } from '../sql/ast.js';
import { bindParameters, parseStatement } from '../sql/parse.js';
import { suggestionSegments, withMergedCode } from './group.js';
import { codeBlock, type Rule } from './rule.js';
import { alterNotNull, primaryKey } from './support/backfill.js';
import { columnTypeName } from './support/format-type.js';
import { lockHeld, lockModeName, lockStrength, transactionStart, type HeldLock } from './support/locks.js';
import { addedColumn, after, existedBefore, findingAt, pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { opTable, pyReadable, withPostgresqlImport } from './support/python-code.js';
import { splitQualified } from './support/qualified-name.js';
import { inlineSql, sqlIdentifier, sqlTable } from './support/sql-text.js';
import { sqlAlchemyTypeOf } from './support/sqlalchemy-type.js';
import { joinAnd } from './support/words.js';

export const backfillUnderLock: Rule = {
  id: 'backfill-under-lock',
  severity: 'warning',
  // Several backfills of one migration read as one finding only when they are about the same table (the message
  // names the statement that locked it), and need the same fix.
  group: {
    noun: 'statement',
    plural: 'statements',
    fix: (finding) =>
      [
        finding.object ?? '',
        parsedMessage(finding.message)?.lock ?? finding.message,
        ...suggestionSegments(finding.suggestion ?? '').map((s) => (s.kind === 'code' ? '\u0001code\u0001' : s.lines.join(' '))),
      ].join('\u0000'),
    summarize: (group) => {
      const parsed = group.findings.map((f) => parsedMessage(f.message));
      if (parsed.some((p) => p === null)) return null;
      const [first] = parsed as ParsedMessage[];
      const statements = joinAnd((parsed as ParsedMessage[]).map((p) => `${p.sql}${p.line}`));
      const message =
        `${statements} ${first!.kind === 'update' ? 'update' : 'delete'} every row of \`${group.findings[0]!.object}\` while their ` +
        `transaction holds the ${first!.lock}: reads and writes to \`${group.findings[0]!.object}\` wait for all of them and until ` +
        'the migration commits.';
      return { message, suggestion: withMergedCode(group.findings[0]!.suggestion, group.code) };
    },
  },
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      const target = dmlTarget(site.node);
      // Tables the pull request created have no readers yet: filling them blocks nobody.
      if (!target || !existedBefore(site, target.table)) continue;
      const everyRow = everyRowReasons(site, target);
      if (!everyRow) continue;
      const held = accessExclusiveHeld(site, target.table, graph.byId.get(site.revision.revision)?.ops ?? []);
      if (held) findings.push(report(site, target, everyRow, held));
    }
    return findings;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The statement: an UPDATE or DELETE, and whether it touches every row

interface DmlTarget {
  kind: 'update' | 'delete';
  table: string;
  /** The names the statement may qualify the table's columns with: its alias, else its name. */
  ownNames: Set<string>;
  /** The names of the other relations of FROM (UPDATE) or USING (DELETE). */
  joinedNames: Map<string, string>;
  where: Node | null;
  /** UPDATE: the columns it sets. */
  sets: string[];
  /** No WITH, RETURNING, FROM or USING: the statement can be cut into key ranges by appending a WHERE. */
  plain: boolean;
}

function dmlTarget(node: Node): DmlTarget | null {
  const update = nodeAs(node, 'UpdateStmt');
  const del = nodeAs(node, 'DeleteStmt');
  const stmt = update ?? del;
  if (!stmt?.relation) return null;
  const table = relationName(stmt.relation);
  const others = (update ? update.fromClause : del?.usingClause) ?? [];
  const joinedNames = new Map<string, string>();
  for (const item of others) {
    const range = nodeAs(item, 'RangeVar');
    if (range) joinedNames.set(range.alias?.aliasname ?? range.relname ?? '', relationName(range));
  }
  return {
    kind: update ? 'update' : 'delete',
    table,
    ownNames: new Set(ownNames(stmt.relation)),
    joinedNames,
    where: stmt.whereClause ?? null,
    sets: (update?.targetList ?? []).flatMap((t) => nodeAs(t, 'ResTarget')?.name ?? []),
    plain: !stmt.withClause && !stmt.returningClause && others.length === 0,
  };
}

function ownNames(relation: RangeVar): string[] {
  if (relation.alias?.aliasname) return [relation.alias.aliasname];
  return [relation.relname ?? '', relationName(relation)];
}

/**
 * Why the statement touches every row: [] without a WHERE; the reasons its WHERE does not narrow it (an IS NULL on
 * a column the pull request just added, a join with the FROM list); null when the WHERE may narrow it (a key range,
 * `id = 1`, a subquery: anything else).
 */
function everyRowReasons(site: PullRequestStatement, target: DmlTarget): string[] | null {
  if (!target.where) return [];
  const reasons: string[] = [];
  for (const term of conjuncts(target.where)) {
    const reason = nullOfAddedColumn(site, target, term) ?? joinCondition(target, term) ?? (isTrue(term) ? '' : null);
    if (reason === null) return null;
    if (reason !== '' && !reasons.includes(reason)) reasons.push(reason);
  }
  return reasons;
}

function conjuncts(node: Node): Node[] {
  const bool = nodeAs(node, 'BoolExpr');
  if (bool?.boolop === 'AND_EXPR') return (bool.args ?? []).flatMap(conjuncts);
  return [node];
}

/** A column reference of the statement's own table: its name, or null. */
function ownColumn(target: DmlTarget, node: Node | undefined): string | null {
  const fields = stringValues(nodeAs(node, 'ColumnRef')?.fields);
  if (fields.length === 1) return target.joinedNames.size === 0 ? fields[0]! : null;
  const qualifier = fields.slice(0, -1).join('.');
  return fields.length > 1 && target.ownNames.has(qualifier) ? fields.at(-1)! : null;
}

/**
 * `col IS NULL` where col is a column the pull request added to the table without a default, and nothing has
 * written to the table since: every row holds NULL there. The reason, or null.
 */
function nullOfAddedColumn(site: PullRequestStatement, target: DmlTarget, term: Node): string | null {
  const test = nodeAs(term, 'NullTest');
  if (test?.nulltesttype !== 'IS_NULL') return null;
  const column = ownColumn(target, test.arg);
  const added = column ? addedColumn(site, target.table, column) : null;
  if (!column || !added) return null;
  const constraints = columnConstraints(added.column);
  if (constraints.hasDefault || constraints.notNull || constraints.identity || constraints.generated) return null;
  const writtenSince = (site.updates.get(target.table) ?? []).some((at) => after(at, added.at));
  if (writtenSince) return null;
  const where = added.line === null ? '' : added.file === site.file ? ` on line ${added.line}` : ` on line ${added.line} of ${added.file}`;
  return `\`${column}\`, added${where} with no default, is NULL in every row`;
}

/** `t.a = other.b` joining the table with a relation of FROM / USING: it does not narrow the table. The reason, or null. */
function joinCondition(target: DmlTarget, term: Node): string | null {
  const expr = nodeAs(term, 'A_Expr');
  if (expr?.kind !== 'AEXPR_OP' || stringValues(expr.name).join('.') !== '=') return null;
  const joined = (node: Node | undefined) => {
    const fields = stringValues(nodeAs(node, 'ColumnRef')?.fields);
    return fields.length > 1 ? (target.joinedNames.get(fields.slice(0, -1).join('.')) ?? null) : null;
  };
  const other = ownColumn(target, expr.lexpr) !== null ? joined(expr.rexpr) : ownColumn(target, expr.rexpr) !== null ? joined(expr.lexpr) : null;
  return other === null ? null : `its WHERE only joins it with \`${other}\``;
}

function isTrue(term: Node): boolean {
  return nodeAs(term, 'A_Const')?.boolval?.boolval === true;
}

// ---------------------------------------------------------------------------------------------------------------
// The lock

/**
 * The ACCESS EXCLUSIVE lock on the table that an earlier statement of the statement's transaction took (or an earlier
 * revision run in the same transaction), or null. A commit in between releases it, and the evidence shows commits
 * only indirectly, so any sign of one counts:
 * - the statement itself did not run in a transaction: in an autocommit block its ROW EXCLUSIVE lock is gone by the
 *   time it returns, so neither it nor an earlier statement of the transaction shows one;
 * - an `autocommit_block()` of the migration between the line that took the lock and the statement (it commits);
 * - a statement since the lock was taken took a lock on the table again that the transaction had already taken
 *   (pg_locks shows each statement only the locks new to its transaction).
 */
function accessExclusiveHeld(site: PullRequestStatement, table: string, ops: readonly OpCall[]): HeldLock | null {
  const { revision } = site;
  const index = site.at.statement;
  const from = transactionStart(revision, index);
  const held = lockHeld(revision, index, table, from);
  if (!held || held.own || lockStrength(held.mode) < lockStrength('AccessExclusiveLock')) return null;
  const onTable = (locks: readonly RelationLock[]) => locks.filter((lock) => lock.relation === table);
  const inTransaction =
    revision.statements.slice(from, index + 1).some((s) => onTable(s.locks).some((lock) => lock.mode === 'RowExclusiveLock')) ||
    (from === 0 && onTable(revision.heldAtStart).some((lock) => lock.mode === 'RowExclusiveLock'));
  if (!inTransaction) return null;
  const takenAtLine = held.takenBy >= 0 ? held.line : null;
  const autocommitBetween = ops.some(
    (op) => op.function === 'upgrade' && op.call === 'autocommit_block' && (takenAtLine === null || op.line > takenAtLine) && (site.line === null || op.line < site.line),
  );
  if (autocommitBetween) return null;
  const seen = new Set(from === 0 ? onTable(revision.heldAtStart).map((lock) => lock.mode) : []);
  for (let k = from; k <= index; k++) {
    for (const lock of onTable(revision.statements[k]!.locks)) {
      if (seen.has(lock.mode) && k > held.takenBy) return null;
      seen.add(lock.mode);
    }
  }
  return held;
}

/** "line 16 of migrations/versions/004_status.py (`ALTER TABLE ...`)": the statement that took the lock. */
function lockTaker(site: PullRequestStatement, held: HeldLock): string {
  if (held.file !== undefined) {
    const where = held.line === null ? held.file : `line ${held.line} of ${held.file}`;
    return `${where} (an earlier revision, run in the same transaction)`;
  }
  const statement = site.revision.statements[held.takenBy]!;
  const where = statement.line === null ? 'an earlier statement' : `line ${statement.line} of ${site.file ?? 'this migration'}`;
  return `${where} (${inlineSql(statement.sql)})`;
}

// ---------------------------------------------------------------------------------------------------------------
// The finding

interface ParsedMessage {
  sql: string;
  /** " (line 17)", or ''. */
  line: string;
  kind: 'update' | 'delete';
  /** "ACCESS EXCLUSIVE lock that line 16 of … took on `users`". */
  lock: string;
}

/** This rule's own message taken apart again, for the wording of a group (see report()). */
function parsedMessage(message: string): ParsedMessage | null {
  const match = /^(`+ .+? `+|`[^`]+`)( on line (\d+))? (updates|deletes) every row of `[^`]+`.*? while its transaction holds the (.+? lock that .+ took on `[^`]+`): /.exec(message);
  if (!match) return null;
  return { sql: match[1]!, line: match[3] ? ` (line ${match[3]})` : '', kind: match[4] === 'updates' ? 'update' : 'delete', lock: match[5]! };
}

function report(site: PullRequestStatement, target: DmlTarget, reasons: string[], held: HeldLock): Finding {
  const { table } = target;
  const sql = inlineSql(site.statement.sql);
  const line = site.line === null ? '' : ` on line ${site.line}`;
  const verb = target.kind === 'update' ? 'updates' : 'deletes';
  const why = reasons.length > 0 ? ` (${joinAnd(reasons)})` : '';
  const work = target.kind === 'update' ? 'backfill' : 'delete';
  const message =
    `${sql}${line} ${verb} every row of \`${table}\`${why} while its transaction holds the ${lockModeName(held.mode)} lock ` +
    `that ${lockTaker(site, held)} took on \`${table}\`: reads and writes to \`${table}\` wait for the whole ${work} ` +
    'and until the migration commits.';
  const result = findingAt(backfillUnderLock, site, message, suggestion(site, target, held));
  return { ...result, concern: 'lock', object: table };
}

function suggestion(site: PullRequestStatement, target: DmlTarget, held: HeldLock): string {
  const { table } = target;
  const parts: string[] = [];
  const batched = batchedCode(site, target);
  const sql = site.statement.sql.trim().replace(/;\s*$/, '');
  // SQL with the driver's placeholders is not what the migration wrote (a SQLAlchemy construct, bound values).
  const own = `with op.get_context().autocommit_block():\n    ${
    hasPlaceholders(sql) ? `...  # the ${target.kind === 'update' ? 'backfill' : 'delete'}${site.line === null ? '' : ` of line ${site.line}`}, as written now` : `op.execute(${pySql(sql)})`
  }`;
  parts.push(
    `Commit what took the lock before the ${target.kind === 'update' ? 'backfill' : 'delete'}, and run it in a transaction of its own: ` +
      '`autocommit_block()` commits what ran before it (releasing the lock) and runs its statements outside the ' +
      'migration\'s transaction' +
      (batched ? '. On a big table, in batches, each committed on its own, so that no batch holds row locks for long:' : ' (in batches on a big table):'),
    codeBlock('python', batched ?? own),
  );
  const notNull = laterSetNotNull(site, target);
  if (notNull) parts.push(...notNullSteps(site, table, notNull));
  parts.push(
    held.file !== undefined
      ? `The lock comes from ${held.file}, an earlier migration that env.py runs in the same transaction as this one ` +
          "(Alembic's default when one `upgrade` applies several revisions): `transaction_per_migration=True` in env.py's " +
          '`context.configure(...)` commits each revision on its own, which also releases it before this one.'
      : "Or move it to a migration of its own, with `transaction_per_migration=True` in env.py's `context.configure(...)`: " +
          'Alembic otherwise runs all the revisions of one `upgrade` in one transaction, and the lock is held through them all.',
  );
  return parts.join('\n\n');
}

/**
 * The statement cut into key ranges of 10,000 on the table's one-column integer primary key, each committed on its
 * own; null when the table has no such key or the statement is not one that a WHERE can be appended to or combined with.
 */
function batchedCode(site: PullRequestStatement, target: DmlTarget): string | null {
  const schema = site.revision.before;
  const key = primaryKey(schema, target.table);
  const keyType = key ? schema.tables.get(target.table)?.columns.find((c) => c.name === key)?.type : undefined;
  if (!key || !keyType || !['smallint', 'integer', 'bigint'].includes(keyType)) return null;
  if (!target.plain || statementsOf(site.statement.ast).length !== 1) return null;
  const sql = site.statement.sql.trim().replace(/;\s*$/, '');
  // Bound parameters (`%(name)s`, `$1`) would clash with the batch's own.
  if (hasPlaceholders(sql) || /%|(^|[^:]):\w/.test(sql)) return null;
  const k = sqlIdentifier(key);
  const range = `${k} >= :start AND ${k} < :stop`;
  let ranged: string;
  if (!target.where) {
    ranged = `${sql} WHERE ${range}`;
  } else {
    const where = whereText(sql, target.where);
    if (where === null) return null;
    ranged = `${where.head} WHERE (${where.condition}) AND ${range}`;
  }
  // The rewrite must still be the same statement on the same table, with the range added.
  const [reparsed] = statementsOf(parseStatement(ranged.replace(':start', '0').replace(':stop', '1')));
  const again = reparsed ? dmlTarget(reparsed) : null;
  const terms = (where: Node | null) => (where ? conjuncts(where).length : 0);
  if (!again || again.table !== target.table || again.kind !== target.kind || terms(again.where) !== terms(target.where) + 2) return null;
  const t = sqlTable(target.table);
  return [
    'with op.get_context().autocommit_block():',
    '    bind = op.get_bind()',
    `    low, high = bind.execute(sa.text(${pyReadable(`SELECT min(${k}), max(${k}) FROM ${t}`)})).one()`,
    '    for start in range(low or 0, (high or -1) + 1, 10000):',
    `        bind.execute(sa.text(${pySql(ranged)}), {"start": start, "stop": start + 10000})`,
  ].join('\n');
}

/** The statement's text up to `WHERE`, and its condition (to the end), cut where the parser says the condition starts. */
function whereText(sql: string, where: Node): { head: string; condition: string } | null {
  let start = Infinity;
  JSON.stringify(where, (key, value) => {
    if (key === 'location' && typeof value === 'number' && value >= 0) start = Math.min(start, value);
    return value;
  });
  if (!Number.isFinite(start)) return null;
  const bytes = Buffer.from(sql, 'utf8');
  const head = bytes.subarray(0, start).toString('utf8');
  const condition = bytes.subarray(start).toString('utf8').trim();
  const match = /\bWHERE\s*$/i.exec(head);
  if (!match || condition === '') return null;
  return { head: head.slice(0, match.index).trimEnd(), condition };
}

/** A later `SET NOT NULL`, in the same revision, of a column the UPDATE sets: the third step of the backfill. */
function laterSetNotNull(site: PullRequestStatement, target: DmlTarget): string | null {
  if (target.kind !== 'update') return null;
  for (const statement of site.revision.statements.slice(site.at.statement + 1)) {
    for (const node of statementsOf(statement.ast)) {
      for (const cmd of alterTableCommands(node)) {
        if (cmd.subtype === 'AT_SetNotNull' && cmd.table === target.table && cmd.name && target.sets.includes(cmd.name)) return cmd.name;
      }
    }
  }
  return null;
}

function notNullSteps(site: PullRequestStatement, table: string, column: string): string[] {
  const after = site.revision.after;
  const type = sqlAlchemyTypeOf(columnTypeName(after, table, column), after);
  const check = `ck_${splitQualified(table).name}_${column}_not_null`.slice(0, 63);
  const [tableArg, schemaArg] = opTable(table, pyReadable);
  const code = [
    `op.create_check_constraint(${pyReadable(check)}, ${tableArg}, ${pyReadable(`${sqlIdentifier(column)} IS NOT NULL`)}, postgresql_not_valid=True${schemaArg})`,
    'with op.get_context().autocommit_block():',
    `    op.execute(${pyReadable(`ALTER TABLE ${sqlTable(table)} VALIDATE CONSTRAINT ${sqlIdentifier(check)}`)})`,
    alterNotNull(table, column, type),
    `op.drop_constraint(${pyReadable(check)}, ${tableArg}, type_="check"${schemaArg})`,
  ].join('\n');
  return [
    `Then make \`${column}\` NOT NULL (rows the running code inserts meanwhile need a value too: a server default gives ` +
      'them one). `SET NOT NULL` scans the table under ACCESS EXCLUSIVE; on a big table, first prove it with a CHECK ' +
      'constraint added NOT VALID and validated under SHARE UPDATE EXCLUSIVE (reads and writes go on), which ' +
      'PostgreSQL 12+ uses to skip that scan:',
    codeBlock('python', withPostgresqlImport(code, type.dialect)),
  ];
}

/** A Python str literal of SQL: triple-quoted when it runs over several lines, so that it reads as written. */
function pySql(sql: string): string {
  if (sql.includes('\n') && !sql.includes('"""') && !sql.includes('\\') && !sql.endsWith('"')) return `"""${sql}"""`;
  return pyReadable(sql.includes('\n') ? sql.split(/\s*\n\s*/).join(' ') : sql);
}

/** The driver's placeholders (`%(name)s`, `%s`, `$1`): the statement was built by SQLAlchemy with bound values. */
function hasPlaceholders(sql: string): boolean {
  return /\$\d/.test(sql) || bindParameters(sql).parameters.length > 0;
}
