import { beforeAll, describe, expect, it } from 'vitest';
import { nodeAs, statementsOf, walk } from '../../src/sql/ast.js';
import { bindParameters, loadSqlParser, parseError, parseStatement } from '../../src/sql/parse.js';

beforeAll(async () => {
  await loadSqlParser();
});

/** Every ParamRef number and string constant of a parsed statement, in document order. */
function paramsAndStrings(sql: string): { params: number[]; strings: string[] } {
  const result = parseStatement(sql);
  expect(result, parseError(sql) ?? '').not.toBeNull();
  const params: number[] = [];
  const strings: string[] = [];
  walk(result, (tag, payload) => {
    if (tag === 'ParamRef') params.push((payload as { number: number }).number);
    if (tag === 'A_Const') {
      const sval = (payload as { sval?: { sval?: string } }).sval;
      if (sval) strings.push(sval.sval ?? '');
    }
  });
  return { params, strings };
}

describe('loadSqlParser', () => {
  it('is idempotent', async () => {
    await Promise.all([loadSqlParser(), loadSqlParser()]);
    await loadSqlParser();
    expect(parseStatement('SELECT 1')).not.toBeNull();
  });
});

describe('parseStatement', () => {
  it('parses DDL as SQLAlchemy emits it', () => {
    const result = parseStatement('ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL');
    const [stmt] = statementsOf(result);
    expect(nodeAs(stmt, 'AlterTableStmt')?.relation?.relname).toBe('users');
  });

  it('returns every statement of a multi-statement string', () => {
    expect(statementsOf(parseStatement('UPDATE a SET x = 1; UPDATE b SET y = 2;'))).toHaveLength(2);
  });

  it('returns null for text that is not SQL', () => {
    expect(parseStatement('garbage here')).toBeNull();
    expect(parseStatement('ALTER TABLE users ADD COLUMN')).toBeNull();
    expect(parseStatement("SELECT 'unterminated")).toBeNull();
    expect(parseStatement('SELECT %(unclosed')).toBeNull();
  });

  it('reads an empty or comment-only string as no statement', () => {
    expect(statementsOf(parseStatement(''))).toEqual([]);
    expect(statementsOf(parseStatement('-- nothing'))).toEqual([]);
  });

  it('says why a statement does not parse', () => {
    expect(parseError('garbage here')).toMatch(/syntax error at or near "garbage"/);
    expect(parseError('SELECT 1')).toBeNull();
    expect(parseError('UPDATE users SET status = %(status)s')).toBeNull();
  });
});

describe('pyformat placeholders (psycopg2, psycopg 3)', () => {
  it('reads %(name)s as a parameter and %% in a literal as one percent sign', () => {
    // The scanner reads `%` as an operator token, then `(`, `name` (a keyword), `)`, `s`; 'x%%' is one string token.
    const bound = bindParameters("SELECT * FROM t WHERE a = %(name)s AND b LIKE 'x%%'");
    expect(bound).toEqual({ sql: "SELECT * FROM t WHERE a = $1 AND b LIKE 'x%'", parameters: ['name'] });
    expect(paramsAndStrings("SELECT * FROM t WHERE a = %(name)s AND b LIKE 'x%%'")).toEqual({ params: [1], strings: ['x%'] });
  });

  it('parses the UPDATE a migration runs with a bound value', () => {
    const [stmt] = statementsOf(parseStatement('UPDATE users SET status = %(status)s'));
    const update = nodeAs(stmt, 'UpdateStmt');
    const target = nodeAs(update?.targetList?.[0], 'ResTarget');
    expect(target?.name).toBe('status');
    expect(nodeAs(target?.val, 'ParamRef')?.number).toBe(1);
  });

  it('numbers names in order of first use and reuses a repeated name', () => {
    expect(bindParameters('UPDATE t SET a = %(x)s, b = %(y)s WHERE c = %(x)s')).toEqual({
      sql: 'UPDATE t SET a = $1, b = $2 WHERE c = $1',
      parameters: ['x', 'y'],
    });
  });

  it('numbers positional %s placeholders one by one', () => {
    expect(bindParameters('INSERT INTO t (a, b) VALUES (%s, %s)')).toEqual({
      sql: 'INSERT INTO t (a, b) VALUES ($1, $2)',
      parameters: [null, null],
    });
  });

  it('finds a placeholder glued to an operator (the scanner reads `=%` as one operator)', () => {
    expect(bindParameters('UPDATE t SET a=%(v)s WHERE b<>%(w)s').sql).toBe('UPDATE t SET a=$1 WHERE b<>$2');
  });

  it('reads the %% operator as the modulo operator', () => {
    expect(bindParameters('SELECT id %% 2 FROM t WHERE id %%%(n)s = 0')).toEqual({
      sql: 'SELECT id % 2 FROM t WHERE id %$1 = 0',
      parameters: ['n'],
    });
    const [stmt] = statementsOf(parseStatement('SELECT id %% 2 FROM t'));
    let operator = '';
    walk(stmt, (tag, payload) => {
      if (tag === 'A_Expr') operator = JSON.stringify(payload);
    });
    expect(operator).toContain('"sval":"%"');
  });

  it('leaves %% followed by (name)s as the literal text it escapes', () => {
    expect(bindParameters("SELECT %%(a)s, 'b'").sql).toBe("SELECT %(a)s, 'b'");
  });

  it('unescapes %% in every kind of literal, quoted name and comment', () => {
    const sql = `SELECT E'a%%', $$b%%$$, "c%%" FROM t -- 100%%`;
    expect(bindParameters(sql).sql).toBe(`SELECT E'a%', $$b%$$, "c%" FROM t -- 100%`);
  });

  it('does not take %(name)s inside a string literal for a placeholder', () => {
    expect(bindParameters("SELECT '%%(a)s' || %(b)s")).toEqual({ sql: "SELECT '%(a)s' || $1", parameters: ['b'] });
  });

  it('keeps names that are keywords or hold dots and spaces', () => {
    expect(bindParameters('SELECT %(select)s, %(a.b)s, %(c d)s').parameters).toEqual(['select', 'a.b', 'c d']);
  });

  it('keeps $n apart from the words around it', () => {
    expect(bindParameters('SELECT x%(a)s%(b)s1').sql).toBe('SELECT x $1 $2 1');
    expect(bindParameters('SELECT %(a)s::int, 1 IN (%(b)s,%(c)s)').sql).toBe('SELECT $1::int, 1 IN ($2,$3)');
  });

  it('counts scanner offsets in bytes, not characters', () => {
    expect(bindParameters("SELECT 'é' || %(n)s, 'ü%%'")).toEqual({ sql: "SELECT 'é' || $1, 'ü%'", parameters: ['n'] });
    expect(paramsAndStrings("SELECT 'é' || %(n)s, 'ü%%'").strings).toEqual(['é', 'ü%']);
  });

  it('parses a statement with pyformat placeholders in DDL (server defaults)', () => {
    expect(paramsAndStrings("ALTER TABLE t ADD COLUMN a TEXT DEFAULT '100%%'").strings).toEqual(['100%']);
  });

  it('leaves asyncpg $n statements as they are, percent signs included', () => {
    expect(bindParameters("UPDATE t SET a = $1 WHERE b LIKE 'x%%' AND c % 2 = 0")).toEqual({
      sql: "UPDATE t SET a = $1 WHERE b LIKE 'x%%' AND c % 2 = 0",
      parameters: [],
    });
    expect(paramsAndStrings("UPDATE t SET a = $1 WHERE b LIKE 'x%%'").strings).toEqual(['x%%']);
  });

  it('follows an explicit paramstyle', () => {
    expect(bindParameters("SELECT 'x%%'", 'numeric_dollar').sql).toBe("SELECT 'x%%'");
    expect(bindParameters("SELECT 'x%%'", 'pyformat').sql).toBe("SELECT 'x%'");
    expect(bindParameters("SELECT 'x%%', $1", 'pyformat').sql).toBe("SELECT 'x%', $1");
    const parsed = parseStatement("SELECT 'x%%'", { paramstyle: 'numeric_dollar' });
    let value = '';
    walk(parsed, (tag, payload) => {
      if (tag === 'A_Const') value = (payload as { sval: { sval: string } }).sval.sval;
    });
    expect(value).toBe('x%%');
  });

  it('leaves a statement without a percent sign untouched', () => {
    const sql = 'CREATE INDEX CONCURRENTLY ix ON users (email)';
    expect(bindParameters(sql)).toEqual({ sql, parameters: [] });
  });
});
