// index-not-concurrent: CREATE INDEX or DROP INDEX on an existing table without CONCURRENTLY.
import type { Finding } from '../findings.js';
import { dropStatement, indexStatement, nodeAs, statementsOf, type IndexInfo } from '../sql/ast.js';
import { parseStatement } from '../sql/parse.js';
import { codeBlock, type FindingGroup, type Rule } from './rule.js';
import { blockedClause, lockClause } from './support/lock-phrases.js';
import { locksHeld } from './support/locks.js';
import { existedBefore, findingAt, pullRequestStatements, rewrittenEarlier, type PullRequestStatement } from './support/pull-request.js';
import { py, pyList } from './support/python-code.js';
import { qualifiedLike, splitQualified } from './support/qualified-name.js';
import { inlineSql, sqlIdentifier } from './support/sql-text.js';

export const indexNotConcurrent: Rule = {
  id: 'index-not-concurrent',
  severity: 'warning',
  check({ graph, evidence }) {
    const findings: Finding[] = [];
    for (const site of pullRequestStatements(graph, evidence)) {
      const index = indexStatement(site.node);
      if (index && !index.concurrent && existedBefore(site, index.table) && !rewrittenEarlier(site, index.table)) {
        findings.push(createFinding(site, index));
      }
      const drop = dropStatement(site.node);
      if (drop?.objectType === 'index' && !drop.concurrent) {
        for (const name of drop.names) {
          const table = indexTable(site, name);
          // An index dropped on the way to dropping its table, in the same migration: the table's drop is what counts.
          if (table && existedBefore(site, table) && site.revision.after.tables.has(table)) {
            findings.push(dropFinding(site, name, table, drop.ifExists));
          }
        }
      }
    }
    return findings;
  },
  group: { noun: 'index', plural: 'indexes', summarize },
};

const BUILD_CONCURRENTLY =
  'Build it CONCURRENTLY: writes go on during the build. It cannot run inside a transaction, hence the autocommit ' +
  'block; if it fails it leaves an INVALID index behind, to drop before retrying.';
const DROP_CONCURRENTLY =
  'Drop it CONCURRENTLY (it waits for running queries instead of blocking new ones; it cannot run inside a ' +
  'transaction, hence the autocommit block):';

/** Several indexes built, or dropped, the same way in one migration: one finding, one block of code. */
function summarize({ findings, listed, code }: FindingGroup): { message: string; suggestion: string } | null {
  const advice = findings[0]!.suggestion ?? '';
  if (advice.startsWith(BUILD_CONCURRENTLY)) {
    const stronger = findings.some((f) => f.message.includes('ACCESS EXCLUSIVE'))
      ? ', and reads as well where the migration already held an ACCESS EXCLUSIVE lock on it'
      : '';
    return {
      message:
        `${findings.length} indexes built on existing tables without CONCURRENTLY: ${listed}; each build blocks writes to its ` +
        `table until it ends${stronger}.`,
      suggestion:
        'Build them CONCURRENTLY: writes go on during each build. CONCURRENTLY cannot run inside a transaction, hence the ' +
        'autocommit block; a build that fails leaves an INVALID index behind, to drop before retrying.\n\n' +
        codeBlock('python', code[0]!),
    };
  }
  if (advice.startsWith(DROP_CONCURRENTLY)) {
    return {
      message:
        `${findings.length} indexes of existing tables dropped without CONCURRENTLY: ${listed}; each drop takes an ACCESS ` +
        'EXCLUSIVE lock on its table, so reads and writes queue behind it while it waits for the queries already running.',
      suggestion:
        'Drop them CONCURRENTLY (each waits for running queries instead of blocking new ones; it cannot run inside a ' +
        'transaction, hence the autocommit block):\n\n' +
        codeBlock('python', code[0]!),
    };
  }
  return null;
}

function createFinding(site: PullRequestStatement, index: IndexInfo): Finding {
  const held = locksHeld(site.revision, site.at.statement, [index.table], 'ShareLock');
  const message = held
    ? `${inlineSql(site.statement.sql)} ${lockClause(held, site)}: ${blockedClause(held)} for the whole build.`
    : `${inlineSql(site.statement.sql)} builds an index on the existing table \`${index.table}\` without CONCURRENTLY: ` +
      'Postgres holds a SHARE lock on it, blocking writes, for the whole build.';
  const partitioned = site.revision.before.tables.get(index.table)?.kind === 'p';
  const suggestion = partitioned
    ? `\`${index.table}\` is partitioned, and Postgres cannot build an index CONCURRENTLY on a partitioned table: ` +
      'create the index `ON ONLY` the parent (instant, invalid until every partition has one), build it CONCURRENTLY ' +
      'on each partition, then `ALTER INDEX ... ATTACH PARTITION` each of them.'
    : `${BUILD_CONCURRENTLY}\n\n` + codeBlock('python', `with op.get_context().autocommit_block():\n    ${concurrentCreate(site, index)}`);
  const object = index.name ?? `${index.table} (${[...index.columns, ...index.expressions.map(() => '…')].join(', ')})`;
  return { ...findingAt(indexNotConcurrent, site, message, suggestion), object };
}

function dropFinding(site: PullRequestStatement, name: string, table: string, ifExists: boolean): Finding {
  const held = locksHeld(site.revision, site.at.statement, [table], 'AccessExclusiveLock');
  const sql = inlineSql(site.statement.sql);
  const message = held
    ? `${sql} ${lockClause(held, site)}: ${blockedClause(held)} until the migration commits` +
      (held[0]!.own ? ', and the drop first waits for every query already running on it.' : '.')
    : `${sql} drops an index of the existing table \`${table}\` without CONCURRENTLY: Postgres takes an ACCESS EXCLUSIVE ` +
      'lock on the table, so reads and writes queue behind the drop, which waits for every query already running on it.';
  const { schema, name: bare } = splitQualified(name);
  const kwargs = [`table_name=${py(splitQualified(table).name)}`];
  if (schema) kwargs.push(`schema=${py(schema)}`);
  if (ifExists) kwargs.push('if_exists=True');
  kwargs.push('postgresql_concurrently=True');
  const suggestion =
    `${DROP_CONCURRENTLY}\n\n` +
    codeBlock('python', `with op.get_context().autocommit_block():\n    op.drop_index(${[py(bare), ...kwargs].join(', ')})`);
  return { ...findingAt(indexNotConcurrent, site, message, suggestion), object: name };
}

/** `op.create_index(...)` with postgresql_concurrently=True, or the statement itself with CONCURRENTLY when op.create_index cannot say it. */
function concurrentCreate(site: PullRequestStatement, index: IndexInfo): string {
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
    const args = [py(index.name!), py(name), pyList(index.columns)];
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
    index.name !== null ? sqlIdentifier(index.name) : null,
    'ON',
    index.statement.relation?.inh === false ? 'ONLY' : null,
  ];
  const candidate = `${head.filter((w) => w !== null).join(' ')} ${rest}`;
  const again = indexStatement(statementsOf(parseStatement(candidate))[0]);
  return again?.concurrent && again.table === index.table && again.name === index.name ? candidate : null;
}

/** The table an index belongs to: from the schema before the revision, or from a CREATE INDEX earlier in it. */
function indexTable(site: PullRequestStatement, name: string): string | null {
  const known = site.revision.before.indexes.get(name)?.table;
  if (known) return known;
  for (const earlier of site.revision.statements.slice(0, site.at.statement)) {
    for (const node of statementsOf(earlier.ast)) {
      const index = indexStatement(node);
      if (index?.name !== null && index?.name !== undefined && qualifiedLike(index.table, index.name) === name) return index.table;
    }
  }
  return null;
}
