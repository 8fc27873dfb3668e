// index-not-concurrent: CREATE INDEX or DROP INDEX on an existing table without CONCURRENTLY.
import type { Evidence, RelationLock, RevisionEvidence, StatementEvidence } from '../evidence/evidence.js';
import type { Finding } from '../findings.js';
import type { MigrationGraph } from '../graph/graph.js';
import { dropStatement, indexStatement, isConcurrently, nodeAs, renameStatement, statementsOf, type IndexInfo, type Node } from '../sql/ast.js';
import { parseStatement } from '../sql/parse.js';
import { codeBlock, finding, type Rule } from './rule.js';

export const indexNotConcurrent: Rule = {
  id: 'index-not-concurrent',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    for (const site of statementSites(graph, evidence)) {
      const index = indexStatement(site.node);
      if (index && !index.concurrent && site.existing.has(index.table)) findings.push(createFinding(site, index));
      const drop = dropStatement(site.node);
      if (drop?.objectType === 'index' && !drop.concurrent) {
        for (const name of drop.names) {
          const table = indexTable(site, name);
          if (table && site.existing.has(table)) findings.push(dropFinding(site, name, table, drop.ifExists));
        }
      }
    }
    return findings;
  },
};

function createFinding(site: StatementSite, index: IndexInfo): Finding {
  const held = heldLocks(site, [index.table], 'ShareLock');
  const message = held
    ? `${inlineSql(site.statement.sql)} ${lockClause(held)}: ${blockedClause(held)} for the whole build.`
    : `${inlineSql(site.statement.sql)} builds an index on the existing table \`${index.table}\` without CONCURRENTLY: ` +
      'Postgres holds a SHARE lock on it, blocking writes, for the whole build.';
  const partitioned = site.revision.before.tables.get(index.table)?.kind === 'p';
  const suggestion = partitioned
    ? `\`${index.table}\` is partitioned, and Postgres cannot build an index CONCURRENTLY on a partitioned table: ` +
      'create the index `ON ONLY` the parent (instant, invalid until every partition has one), build it CONCURRENTLY ' +
      'on each partition, then `ALTER INDEX ... ATTACH PARTITION` each of them.'
    : 'Build it CONCURRENTLY: writes go on during the build. It cannot run inside a transaction, hence the autocommit ' +
      'block; if it fails it leaves an INVALID index behind, to drop before retrying.\n\n' +
      codeBlock('python', `with op.get_context().autocommit_block():\n    ${concurrentCreate(site, index)}`);
  return findingAt(indexNotConcurrent, site, message, suggestion);
}

function dropFinding(site: StatementSite, name: string, table: string, ifExists: boolean): Finding {
  const held = heldLocks(site, [table], 'AccessExclusiveLock');
  const sql = inlineSql(site.statement.sql);
  const message = held
    ? `${sql} ${lockClause(held)}: ${blockedClause(held)} until the migration commits` +
      (held[0]!.own ? ', and the drop first waits for every query already running on it.' : '.')
    : `${sql} drops an index of the existing table \`${table}\` without CONCURRENTLY: Postgres takes an ACCESS EXCLUSIVE ` +
      'lock on the table, so reads and writes queue behind the drop, which waits for every query already running on it.';
  const { schema, name: bare } = splitQualified(name);
  const kwargs = [`table_name=${py(splitQualified(table).name)}`];
  if (schema) kwargs.push(`schema=${py(schema)}`);
  if (ifExists) kwargs.push('if_exists=True');
  kwargs.push('postgresql_concurrently=True');
  const suggestion =
    'Drop it CONCURRENTLY (it waits for running queries instead of blocking new ones; it cannot run inside a ' +
    'transaction, hence the autocommit block):\n\n' +
    codeBlock('python', `with op.get_context().autocommit_block():\n    op.drop_index(${[py(bare), ...kwargs].join(', ')})`);
  return findingAt(indexNotConcurrent, site, message, suggestion);
}

/** `op.create_index(...)` with postgresql_concurrently=True, or the statement itself with CONCURRENTLY when op.create_index cannot say it. */
function concurrentCreate(site: StatementSite, index: IndexInfo): string {
  const simple =
    index.name !== null &&
    index.expressions.length === 0 &&
    index.including.length === 0 &&
    index.where === null &&
    index.method === 'btree' &&
    !index.ifNotExists &&
    index.statement.relation?.inh !== false &&
    (index.statement.indexParams ?? []).every((p) => {
      const elem = nodeAs(p, 'IndexElem');
      return elem && !elem.opclass && !elem.collation && (elem.ordering ?? 'SORTBY_DEFAULT') === 'SORTBY_DEFAULT' && (elem.nulls_ordering ?? 'SORTBY_NULLS_DEFAULT') === 'SORTBY_NULLS_DEFAULT';
    });
  if (simple) {
    const { schema, name } = splitQualified(index.table);
    const args = [py(index.name!), py(name), py(index.columns)];
    if (index.unique) args.push('unique=True');
    if (schema) args.push(`schema=${py(schema)}`);
    args.push('postgresql_concurrently=True');
    return `op.create_index(${args.join(', ')})`;
  }
  const sql = concurrentIndexSql(site.statement.sql, index);
  return sql ? `op.execute(${py(sql)})` : `op.create_index(...)  # the same arguments as now, plus postgresql_concurrently=True`;
}

/**
 * The CREATE INDEX statement with CONCURRENTLY: the head rebuilt from the AST, the rest (from the table name on) cut from
 * the original text at the parser's location for the relation, then checked by parsing it again.
 */
function concurrentIndexSql(sql: string, index: IndexInfo): string | null {
  const location = index.statement.relation?.location;
  if (location === undefined || location < 0) return null;
  const rest = Buffer.from(sql, 'utf8').subarray(location).toString('utf8').trim();
  const head = [
    'CREATE',
    index.unique ? 'UNIQUE' : null,
    'INDEX CONCURRENTLY',
    index.ifNotExists ? 'IF NOT EXISTS' : null,
    index.name !== null ? sqlIdent(index.name) : null,
    'ON',
    index.statement.relation?.inh === false ? 'ONLY' : null,
  ];
  const candidate = `${head.filter((w) => w !== null).join(' ')} ${rest}`;
  const again = indexStatement(statementsOf(parseStatement(candidate))[0]);
  return again?.concurrent && again.table === index.table && again.name === index.name ? candidate : null;
}

/** The table an index belongs to: from the schema before the revision, or from a CREATE INDEX earlier in it. */
function indexTable(site: StatementSite, name: string): string | null {
  const known = site.revision.before.indexes.get(name)?.table;
  if (known) return known;
  for (const earlier of site.revision.statements.slice(0, site.index)) {
    for (const node of statementsOf(earlier.ast)) {
      const index = indexStatement(node);
      if (index?.name !== null && index?.name !== undefined && qualify(index.table, index.name) === name) return index.table;
    }
  }
  return null;
}

function qualify(table: string, indexName: string): string {
  const { schema } = splitQualified(table);
  return schema ? `${schema}.${indexName}` : indexName;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared by the locking rules (column-type-change, foreign-key-validates, unique-constraint-scan): walking the new
// revisions' statements with what the replay observed about each.

export interface StatementSite {
  revision: RevisionEvidence;
  /** The revision's file, relative to the repository root. */
  file: string | null;
  /** The op.* call's line, or the upgrade() line when the statement came from elsewhere. */
  line: number | null;
  /** Position of the statement in `revision.statements`. */
  index: number;
  statement: StatementEvidence;
  /** One statement of the parsed SQL (an op.execute() may hold several). */
  node: Node;
  /**
   * Tables that existed before the pull request and still carry that name at this statement: a table created by an
   * earlier statement of the pull request (even over a dropped existing one) is not in it.
   */
  existing: ReadonlySet<string>;
}

/** Every parsed statement of the new revisions, in the order they ran, with the existing tables at that point. */
export function statementSites(graph: MigrationGraph, evidence: Evidence | null): StatementSite[] {
  if (!evidence) return [];
  const sites: StatementSite[] = [];
  let existing = new Set([...evidence.baseline.tables.values()].filter((t) => t.kind === 'r' || t.kind === 'p').map((t) => t.name));
  for (const revision of evidence.revisions) {
    const known = graph.byId.get(revision.revision);
    revision.statements.forEach((statement, index) => {
      for (const node of statementsOf(statement.ast)) {
        sites.push({ revision, file: known?.file ?? null, line: statement.line ?? known?.upgradeLine ?? null, index, statement, node, existing });
        const next = afterStatement(existing, node);
        if (next) existing = next;
      }
    });
  }
  return sites;
}

/** The existing tables after `node` ran, or null when it does not change them (a new set otherwise: sites keep theirs). */
function afterStatement(existing: ReadonlySet<string>, node: Node): Set<string> | null {
  const create = nodeAs(node, 'CreateStmt');
  const createAs = nodeAs(node, 'CreateTableAsStmt');
  const created = create?.relation ?? createAs?.into?.rel;
  if (created) {
    const name = qualifiedRelation(created.schemaname, created.relname);
    // CREATE TABLE IF NOT EXISTS over an existing table does nothing.
    if (!existing.has(name) || create?.if_not_exists || createAs?.if_not_exists) return null;
    return new Set([...existing].filter((t) => t !== name));
  }
  const drop = dropStatement(node);
  if (drop?.objectType === 'table') return new Set([...existing].filter((t) => !drop.names.includes(t)));
  const rename = renameStatement(node);
  if (rename?.objectType === 'table') {
    const next = new Set([...existing].filter((t) => t !== rename.to && t !== rename.from));
    if (existing.has(rename.from)) next.add(rename.to);
    return next;
  }
  return null;
}

function qualifiedRelation(schema: string | undefined, name: string | undefined): string {
  return schema && schema !== 'public' ? `${schema}.${name ?? ''}` : (name ?? '');
}

export function findingAt(rule: Pick<Rule, 'id' | 'severity'>, site: StatementSite, message: string, suggestion: string): Finding {
  return finding(rule, { message, suggestion, file: site.file, line: site.line, revision: site.revision.revision });
}

// Locks. A statement's `locks` are those it newly took in the migration's transaction: a mode that an earlier
// statement of the same transaction already holds is not listed again, so it is looked for there.

const LOCK_STRENGTH: Record<string, number> = {
  AccessShareLock: 1,
  RowShareLock: 2,
  RowExclusiveLock: 3,
  ShareUpdateExclusiveLock: 4,
  ShareLock: 5,
  ShareRowExclusiveLock: 6,
  ExclusiveLock: 7,
  AccessExclusiveLock: 8,
};

export interface HeldLock {
  relation: string;
  mode: string;
  /** Taken by the statement itself; otherwise by an earlier statement of the same transaction. */
  own: boolean;
  /** For an earlier statement: which, as a message says it ("line 18"; the SQL when the same op.* call issued it). */
  takenBy: string | null;
}

/**
 * The strongest lock held on each relation while the statement ran (taken by the statement itself, or by an earlier
 * statement of the same transaction; the statement's own on a tie), when it is at least `atLeast`. Null when none was
 * observed for any of the relations.
 */
export function heldLocks(site: StatementSite, relations: string[], atLeast: string): HeldLock[] | null {
  const held: HeldLock[] = [];
  for (const relation of new Set(relations)) {
    const lock = heldLock(site, relation);
    if (lock && strength(lock.mode) >= strength(atLeast)) held.push(lock);
  }
  return held.length > 0 ? held : null;
}

function heldLock(site: StatementSite, relation: string): HeldLock | null {
  const own = strongest(site.statement.locks, relation);
  let earlier: HeldLock | null = null;
  for (let i = site.index - 1; i >= 0; i--) {
    const statement = site.revision.statements[i]!;
    // CONCURRENTLY and VACUUM run outside any transaction: the migration's transaction was committed before them.
    if (!runsInTransaction(statement)) break;
    const lock = strongest(statement.locks, relation);
    if (lock && (!earlier || strength(lock.mode) > strength(earlier.mode))) {
      const takenBy =
        statement.line === null ? 'an earlier statement' : statement.line === site.statement.line ? `${inlineSql(statement.sql)} (the same call)` : `line ${statement.line}`;
      earlier = { relation, mode: lock.mode, own: false, takenBy };
    }
  }
  if (own && (!earlier || strength(own.mode) >= strength(earlier.mode))) return { relation, mode: own.mode, own: true, takenBy: null };
  return earlier;
}

export function runsInTransaction(statement: StatementEvidence): boolean {
  return !statementsOf(statement.ast).some((node) => isConcurrently(node) || nodeAs(node, 'VacuumStmt') !== undefined);
}

function strongest(locks: RelationLock[], relation: string): RelationLock | null {
  let best: RelationLock | null = null;
  for (const lock of locks) {
    if (lock.relation === relation && (!best || strength(lock.mode) > strength(best.mode))) best = lock;
  }
  return best;
}

function strength(mode: string): number {
  return LOCK_STRENGTH[mode] ?? 0;
}

/** `AccessExclusiveLock` -> `ACCESS EXCLUSIVE`. */
export function lockModeName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function withArticle(modeName: string): string {
  return `${modeName.startsWith('A') || modeName.startsWith('E') ? 'an' : 'a'} ${modeName}`;
}

/**
 * What the statement held, as observed: "took a SHARE lock on `users`", "took SHARE ROW EXCLUSIVE locks on `posts` and
 * `users`", "held the ACCESS EXCLUSIVE lock that line 18 took on `users` in the same transaction".
 */
export function lockClause(held: HeldLock[]): string {
  const parts: string[] = [];
  for (const group of groupBy(held.filter((h) => h.own), (h) => h.mode).values()) {
    const name = lockModeName(group[0]!.mode);
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    parts.push(group.length > 1 ? `took ${name} locks on ${tables}` : `took ${withArticle(name)} lock on ${tables}`);
  }
  const earlier = [...groupBy(held.filter((h) => !h.own), (h) => `${h.mode}|${h.takenBy}`).values()].map((group) => {
    const { mode, takenBy } = group[0]!;
    const tables = joinAnd(group.map((h) => `\`${h.relation}\``));
    return `the ${lockModeName(mode)} lock${group.length > 1 ? 's' : ''} that ${takenBy} took on ${tables}`;
  });
  if (earlier.length > 0) parts.push(`held ${joinAnd(earlier)} in the same transaction`);
  return joinAnd(parts);
}

/** "writes to it are blocked", "reads and writes to both tables are blocked", "reads and writes to `posts` and writes to `users` are blocked". */
export function blockedClause(held: HeldLock[]): string {
  const what = (h: HeldLock) => (strength(h.mode) >= strength('AccessExclusiveLock') ? 'reads and writes' : 'writes');
  if (held.length === 1) return `${what(held[0]!)} to it are blocked`;
  const kinds = new Set(held.map(what));
  if (kinds.size === 1) return `${[...kinds][0]} to ${held.length === 2 ? 'both tables' : 'these tables'} are blocked`;
  return `${joinAnd(held.map((h) => `${what(h)} to \`${h.relation}\``))} are blocked`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

export function joinAnd(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

// Text for messages and suggestions.

/** The statement as one line of inline code (long ones shortened). */
export function inlineSql(sql: string): string {
  let text = sql.trim().split(/\s+/).join(' ');
  if (text.length > 160) text = `${text.slice(0, 157)}...`;
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

/** A Python literal: a str, or a list of str (double-quoted; JSON's escapes are valid in Python). */
export function py(value: string | string[]): string {
  return Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : JSON.stringify(value);
}

/** An identifier as SQL needs it: bare when it is a plain lower-case name, double-quoted otherwise. */
export function sqlIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A qualified relation name (`audit.events`) as SQL. */
export function sqlRelation(name: string): string {
  const { schema, name: bare } = splitQualified(name);
  return schema ? `${sqlIdent(schema)}.${sqlIdent(bare)}` : sqlIdent(bare);
}

const RESERVED = new Set(['user', 'order', 'group', 'table', 'select', 'where', 'from', 'to', 'default', 'check', 'column', 'constraint', 'references', 'primary', 'unique', 'index', 'end', 'limit', 'offset', 'desc', 'asc', 'all', 'and', 'or', 'not', 'null', 'true', 'false', 'window', 'using', 'on', 'in', 'is', 'as', 'case', 'when', 'then', 'else', 'grant', 'analyse', 'analyze', 'array', 'both', 'cast', 'collate', 'create', 'current_user', 'distinct', 'do', 'fetch', 'for', 'foreign', 'having', 'into', 'leading', 'trailing', 'only', 'placing', 'returning', 'some', 'symmetric', 'union', 'variadic', 'with', 'any', 'current_date', 'current_time', 'current_timestamp', 'deferrable', 'except', 'initially', 'intersect', 'lateral', 'localtime', 'localtimestamp', 'session_user']);

/** `audit.events` -> schema `audit`, name `events`; `users` -> no schema. */
export function splitQualified(name: string): { schema: string | null; name: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: null, name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}
