// Which earlier statements a one-row proof replays: those that name the statement's table, found in the real AST.
import { beforeAll, expect, it } from 'vitest';
import { relationsNamed, tableNeedingProof } from '../../src/evidence/prove.js';
import { loadSqlParser, parseStatement } from '../../src/sql/parse.js';

beforeAll(loadSqlParser);

it('finds the tables a statement names, in typed fields and in node lists alike', () => {
  expect([...relationsNamed(parseStatement('ALTER TABLE posts ADD COLUMN slug VARCHAR(80)'))]).toEqual(['posts']);
  expect([...relationsNamed(parseStatement("UPDATE users SET status = 'active'"))]).toEqual(['users']);
  expect([...relationsNamed(parseStatement('UPDATE posts SET slug = u.username FROM users u WHERE u.id = posts.user_id'))].sort()).toEqual(['posts', 'users']);
  expect([...relationsNamed(parseStatement('CREATE INDEX ix ON audit.events (at)'))]).toEqual(['audit.events']);
});

it('asks for a proof only where a table with rows makes the statement fail', () => {
  expect(tableNeedingProof('ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL')).toBe('users');
  expect(tableNeedingProof("ALTER TABLE users ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'x'")).toBeNull();
  expect(tableNeedingProof('ALTER TABLE users ALTER COLUMN status SET NOT NULL')).toBe('users');
  expect(tableNeedingProof('ALTER TABLE users ADD COLUMN bio TEXT')).toBeNull();
});
