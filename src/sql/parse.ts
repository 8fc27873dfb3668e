// Parses captured SQL with Postgres's own parser (libpg-query, WASM), after turning driver placeholders into $n parameters.
import type { ParseResult, ScanToken } from 'libpg-query';

export type { ParseResult } from 'libpg-query';

/**
 * How the driver wrote bound parameters into the captured statement.
 * - `pyformat`: psycopg2 / psycopg 3 (and asyncpg on SQLAlchemy 1.4, which compiles to `%s`): `%(name)s` and
 *   `%s` are placeholders and every literal `%` is doubled (`LIKE 'x%%'`, `a %% 2`) — SQLAlchemy doubles them.
 * - `numeric_dollar`: asyncpg on SQLAlchemy 2.x: `$1` placeholders, which Postgres parses as they are; `%` is literal.
 * - `auto` (default): `numeric_dollar` when the statement holds a `$n` parameter, `pyformat` otherwise.
 */
export type Paramstyle = 'auto' | 'pyformat' | 'numeric_dollar';

export interface ParseOptions {
  paramstyle?: Paramstyle;
}

/** A statement with its driver placeholders rewritten as Postgres `$n` parameters. */
export interface BoundStatement {
  sql: string;
  /** The name behind each `$n`, at index n - 1: the pyformat name, or null for a positional `%s` (or a `$n`). */
  parameters: (string | null)[];
}

type LibPgQuery = typeof import('libpg-query');

let parser: LibPgQuery | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the WASM parser; parseStatement() can be called once it resolves. Idempotent.
 * The module is imported lazily so that commands that never parse SQL do not pay for compiling the WASM.
 */
export function loadSqlParser(): Promise<void> {
  loading ??= (async () => {
    try {
      const module = await import('libpg-query');
      await module.loadModule();
      parser = module;
    } catch (error) {
      loading = undefined;
      throw new Error(`could not load the Postgres SQL parser (libpg-query.wasm): ${String(error)}`, { cause: error });
    }
  })();
  return loading;
}

function loaded(): LibPgQuery {
  if (!parser) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  return parser;
}

/** The statement(s) in `sql` parsed by Postgres's parser, or null when they do not parse. Call loadSqlParser() first. */
export function parseStatement(sql: string, options: ParseOptions = {}): ParseResult | null {
  const outcome = parseBound(sql, options);
  return 'result' in outcome ? outcome.result : null;
}

/** Why `sql` does not parse (Postgres's message and where), or null when it parses. For debugging. */
export function parseError(sql: string, options: ParseOptions = {}): string | null {
  const outcome = parseBound(sql, options);
  return 'error' in outcome ? outcome.error : null;
}

function parseBound(sql: string, options: ParseOptions): { result: ParseResult } | { error: string } {
  const lib = loaded();
  const bound = bindParameters(sql, options.paramstyle ?? 'auto');
  try {
    // parseSync refuses '' (and only ''); Postgres reads it as no statement at all, like ' '.
    return { result: lib.parseSync(bound.sql === '' ? ' ' : bound.sql) };
  } catch (error) {
    if (!(error instanceof lib.SqlError)) throw error;
    const at = error.sqlDetails?.cursorPosition;
    const near = at === undefined ? '' : ` at character ${at + 1}: ${JSON.stringify(bound.sql.slice(at, at + 40))}`;
    const rewritten = bound.sql === sql ? '' : ` (in the statement as rewritten: ${JSON.stringify(bound.sql)})`;
    return { error: `${error.message}${near}${rewritten}` };
  }
}

/**
 * Rewrites driver placeholders as `$n` so that Postgres's parser accepts the statement, finding them with
 * Postgres's own scanner: a placeholder is a `%` that ends an operator token (the scanner reads `%`, `=%`, `%%`
 * as operators) followed, with nothing in between, by `(` name `)` `s`, or by `s`. In pyformat every literal
 * `%` is written `%%`, inside string literals and quoted names as well as in operators: those become `%` again.
 * A repeated name reuses its number, as the drivers do. Call loadSqlParser() first.
 */
export function bindParameters(sql: string, paramstyle: Paramstyle = 'auto'): BoundStatement {
  // No percent sign: nothing to rewrite in any paramstyle (a `$n` statement is already Postgres's own syntax).
  if (paramstyle === 'numeric_dollar' || !sql.includes('%')) return { sql, parameters: [] };
  const lib = loaded();
  let tokens: ScanToken[];
  try {
    tokens = lib.scanSync(sql).tokens ?? [];
  } catch {
    // The scanner rejects the text (an unterminated literal, ...): so will the parser; leave it to say why.
    return { sql, parameters: [] };
  }
  if (paramstyle === 'auto' && tokens.some((t) => t.tokenName === 'PARAM')) return { sql, parameters: [] };
  return rewritePyformat(sql, tokens);
}

const OPERATOR_CHARS = new Set('+-*/<>=~!@#%^&|`?');
const COMMENT_TOKENS = new Set(['SQL_COMMENT', 'C_COMMENT']);

function isOperatorToken(token: ScanToken): boolean {
  if (COMMENT_TOKENS.has(token.tokenName) || token.text === '') return false;
  for (const ch of token.text) if (!OPERATOR_CHARS.has(ch)) return false;
  return true;
}

// Characters that would glue onto a `$n` and change what the scanner reads (`a$1` is one identifier, `$12` another parameter).
function isWordChar(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const code = ch.charCodeAt(0);
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) ||
    ch === '_' || ch === '$' || code >= 0x80
  );
}

function rewritePyformat(sql: string, tokens: ScanToken[]): BoundStatement {
  // Scanner offsets count UTF-8 bytes.
  const bytes = new TextEncoder().encode(sql);
  const decoder = new TextDecoder();
  const raw = (start: number, end: number): string => decoder.decode(bytes.subarray(start, end));

  const parameters: (string | null)[] = [];
  const numbers = new Map<string, number>();
  let out = '';
  let pos = 0;

  // `following` is what comes right after the placeholder, to keep the scanner from gluing it onto `$n`.
  const emitParameter = (name: string | null, following: string | undefined): void => {
    let number: number;
    if (name !== null && numbers.has(name)) {
      number = numbers.get(name)!;
    } else {
      parameters.push(name);
      number = parameters.length;
      if (name !== null) numbers.set(name, number);
    }
    out += `${isWordChar(out.at(-1)) ? ' ' : ''}$${number}${isWordChar(following) ? ' ' : ''}`;
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    out += raw(pos, token.start);
    pos = token.end;
    const text = raw(token.start, token.end);
    if (!isOperatorToken(token) || !text.includes('%')) {
      // Literals, quoted names and comments hold `%%` for each `%` too; other tokens cannot hold a `%`.
      out += text.replaceAll('%%', '%');
      continue;
    }
    for (let k = 0; k < text.length; k++) {
      const ch = text[k]!;
      if (ch === '%' && text[k + 1] === '%') {
        out += '%';
        k++;
      } else if (ch === '%' && k === text.length - 1) {
        const placeholder = placeholderAfter(tokens, i, raw);
        if (placeholder) {
          // The placeholder's last token starts with its `s`; a word glued after it (`%sfoo`) is kept.
          const last = tokens[placeholder.last]!;
          const rest = raw(last.start + 1, last.end);
          emitParameter(placeholder.name, (rest || raw(last.end, last.end + 1))[0]);
          out += rest;
          i = placeholder.last;
          pos = last.end;
        } else {
          out += ch;
        }
      } else {
        out += ch;
      }
    }
  }
  out += raw(pos, bytes.length);
  return { sql: out, parameters };
}

/** The pyformat placeholder whose `%` ends tokens[i]: its name (null for `%s`) and the index of its last token. */
function placeholderAfter(
  tokens: ScanToken[],
  i: number,
  raw: (start: number, end: number) => string,
): { name: string | null; last: number } | null {
  const startsWithS = (t: ScanToken | undefined, after: ScanToken): boolean =>
    t !== undefined && t.start === after.end && raw(t.start, t.start + 1) === 's';
  const next = tokens[i + 1];
  if (next === undefined || next.start !== tokens[i]!.end) return null;
  if (next.text === '(') {
    // `%(name)s`: the name runs to the first `)`, as in the drivers.
    for (let j = i + 2; j < tokens.length; j++) {
      if (tokens[j]!.text !== ')') continue;
      return startsWithS(tokens[j + 1], tokens[j]!) ? { name: raw(next.end, tokens[j]!.start), last: j + 1 } : null;
    }
    return null;
  }
  return startsWithS(next, tokens[i]!) ? { name: null, last: i + 1 } : null;
}
