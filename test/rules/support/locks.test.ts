// Locks a statement held, and how messages say it, on hand-made evidence.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RevisionEvidence, StatementEvidence } from '../../../src/evidence/evidence.js';
import type { Schema } from '../../../src/schema/schema.js';
import { loadSqlParser, parseStatement } from '../../../src/sql/parse.js';
import { blockedClause, lockClause, lockHolding, lockPhrase } from '../../../src/rules/support/lock-phrases.js';
import { lockHeld, lockModeName, locksHeld, lockStrength, transactionStart } from '../../../src/rules/support/locks.js';

const EMPTY: Schema = { tables: new Map(), indexes: new Map(), constraints: [], enums: new Map() };

function statement(sql: string, line: number | null, locks: [string, string][]): StatementEvidence {
  const taken = locks.map(([relation, mode]) => ({ relation, kind: 'r', mode }));
  return { sql, line, op: null, seconds: 0, ast: parseStatement(sql), locks: taken, rewrote: [], proof: null };
}

function revision(...statements: StatementEvidence[]): RevisionEvidence {
  return { revision: 'r0', before: EMPTY, after: EMPTY, statements, heldAtStart: [], downgrade: null };
}

describe('locks', () => {
  beforeAll(loadSqlParser);

  it('names and orders the table lock modes', () => {
    expect(lockModeName('ShareUpdateExclusiveLock')).toBe('SHARE UPDATE EXCLUSIVE');
    expect(lockStrength('AccessShareLock')).toBe(1);
    expect(lockStrength('AccessExclusiveLock')).toBe(8);
    expect(lockStrength('SIReadLock')).toBe(0);
  });

  it('finds the strongest lock held on a table, taken by the statement or an earlier one; the latest of equal ones', () => {
    const r = revision(
      statement('LOCK users', 18, [['users', 'AccessExclusiveLock']]),
      statement('SELECT 1', 19, [['users', 'AccessShareLock']]),
      statement('ALTER TABLE users ADD COLUMN a int', 20, [['users', 'AccessExclusiveLock']]),
      statement('SELECT 2', 21, []),
    );
    expect(lockHeld(r, 1, 'users')).toEqual({ relation: 'users', mode: 'AccessExclusiveLock', takenBy: 0, own: false, line: 18 });
    expect(lockHeld(r, 2, 'users')).toEqual({ relation: 'users', mode: 'AccessExclusiveLock', takenBy: 2, own: true, line: 20 });
    expect(lockHeld(r, 3, 'users')?.takenBy).toBe(2);
    expect(lockHeld(r, 3, 'posts')).toBeNull();
  });

  it('looks no further back than the transaction, which CONCURRENTLY commits, and keeps the locks of a given strength', () => {
    const r = revision(
      statement('LOCK users', 18, [['users', 'AccessExclusiveLock']]),
      statement('CREATE INDEX CONCURRENTLY ix ON posts (id)', 19, [['posts', 'ShareUpdateExclusiveLock']]),
      statement('ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES posts', 20, [
        ['users', 'ShareRowExclusiveLock'],
        ['posts', 'RowShareLock'],
      ]),
    );
    expect(transactionStart(r, 2)).toBe(2);
    expect(transactionStart(r, 1)).toBe(0);
    expect(lockHeld(r, 2, 'users')?.mode).toBe('AccessExclusiveLock');
    expect(locksHeld(r, 2, ['users', 'posts', 'users'], 'ShareRowExclusiveLock')).toEqual([
      { relation: 'users', mode: 'ShareRowExclusiveLock', takenBy: 2, own: true, line: 20 },
    ]);
    expect(locksHeld(r, 2, ['posts'], 'ShareRowExclusiveLock')).toBeNull();
  });
});

describe('locks in words', () => {
  beforeAll(loadSqlParser);

  // Two calls on line 20 after a LOCK on line 18, in one transaction.
  const sameCall = () =>
    revision(
      statement('LOCK users', 18, [['users', 'AccessExclusiveLock']]),
      statement('ALTER TABLE posts ADD COLUMN a int', 20, [['posts', 'AccessExclusiveLock']]),
      statement('ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES users', 20, [['posts', 'ShareRowExclusiveLock']]),
    );

  it('says which lock a statement took or ran under, or which Postgres takes (the nullability rules)', () => {
    const r = sameCall();
    expect(lockPhrase(lockHeld(r, 0, 'users'), 'users')).toBe('took ACCESS EXCLUSIVE on `users`');
    expect(lockPhrase(lockHeld(r, 2, 'users'), 'users')).toBe('ran under the ACCESS EXCLUSIVE lock on `users` taken at line 18');
    expect(lockPhrase(null, 'users', 'ShareLock')).toBe('takes SHARE on `users`');
    expect(lockHolding(lockHeld(r, 2, 'users'))).toBe('ACCESS EXCLUSIVE on it (taken at line 18)');
  });

  it('says which locks a statement held on several tables, and what they blocked (the locking rules)', () => {
    const r = sameCall();
    const site = { revision: r, statement: r.statements[2]! };
    const held = locksHeld(r, 2, ['posts', 'users'], 'ShareRowExclusiveLock')!;
    expect(lockClause(held, site)).toBe(
      'held the ACCESS EXCLUSIVE lock that `ALTER TABLE posts ADD COLUMN a int` (the same call) took on `posts` and ' +
        'the ACCESS EXCLUSIVE lock that line 18 took on `users` in the same transaction',
    );
    expect(blockedClause(held)).toBe('reads and writes to both tables are blocked');
    const own = locksHeld(r, 0, ['users'], 'ShareLock')!;
    expect(lockClause(own, { revision: r, statement: r.statements[0]! })).toBe('took an ACCESS EXCLUSIVE lock on `users`');
    expect(blockedClause(own)).toBe('reads and writes to it are blocked');
  });
});
