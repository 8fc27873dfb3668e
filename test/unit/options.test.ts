import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseCommandLine } from '../../src/options.js';

const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-options-'));
writeFileSync(join(dir, 'alembic.ini'), '[alembic]\nscript_location = migrations\n');

describe('parseCommandLine', () => {
  it('applies the contract defaults', () => {
    const command = parseCommandLine(['check'], dir);
    expect(command.kind).toBe('check');
    if (command.kind !== 'check') return;
    expect(command.options).toMatchObject({
      cwd: dir,
      config: join(dir, 'alembic.ini'),
      section: 'alembic',
      database: 'auto',
      failOn: 'error',
      format: 'text',
      databaseEnv: {},
    });
  });

  it('collects repeated --database-env mappings', () => {
    const command = parseCommandLine(['check', '--database-env', 'POSTGRES_SERVER={host}', '--database-env', 'DSN={url}'], dir);
    expect(command.kind === 'check' && command.options.databaseEnv).toEqual({ POSTGRES_SERVER: '{host}', DSN: '{url}' });
  });

  it.each([
    [['check', '--format', 'yaml'], /--format yaml: not a valid value/],
    [['check', '--database', 'sqlite'], /--database sqlite: not a valid value/],
    [['check', '--database', 'url'], /--database url needs --database-url/],
    [['check', '--postgres-version', 'latest'], /--postgres-version latest/],
    [['check', '--database-env', 'no-equals'], /--database-env no-equals: expected KEY=TEMPLATE/],
    [['check', '--cwd', '/no/such/dir'], /--cwd \/no\/such\/dir: no such directory/],
    [['migrate'], /Unknown command `migrate`/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCommandLine(argv as string[], dir)).toThrow(UserError);
    expect(() => parseCommandLine(argv as string[], dir)).toThrow(message as RegExp);
  });
});
