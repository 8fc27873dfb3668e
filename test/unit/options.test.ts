import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseCommandLine, USAGE } from '../../src/options.js';

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
      env: {},
    });
  });

  it('resolves --env NAME from the given environment and keeps --env NAME=VALUE as written, repeatable', () => {
    const command = parseCommandLine(
      ['check', '--env', 'APP_ENV', '--env', 'APP_MODE=test', '--env', 'EMPTY=', '--env=JOINED=a=b', '--env', 'APP_MODE=ci'],
      dir,
      { APP_ENV: 'staging', OTHER_SECRET: 'never passed' },
    );
    expect(command.kind === 'check' && command.options.env).toEqual({ APP_ENV: 'staging', APP_MODE: 'ci', EMPTY: '', JOINED: 'a=b' });
  });

  it('takes --env NAME from the process environment by default', () => {
    process.env.ALEMBIC_GUARD_OPTIONS_TEST = 'from-process';
    try {
      const command = parseCommandLine(['check', '--env', 'ALEMBIC_GUARD_OPTIONS_TEST'], dir);
      expect(command.kind === 'check' && command.options.env).toEqual({ ALEMBIC_GUARD_OPTIONS_TEST: 'from-process' });
    } finally {
      delete process.env.ALEMBIC_GUARD_OPTIONS_TEST;
    }
  });

  it('gives every config of a monorepo the same --env', () => {
    const other = join(dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'alembic.ini'), '[alembic]\nscript_location = migrations\n');
    const command = parseCommandLine(['check', '--config', 'alembic.ini', '--config', 'other/alembic.ini', '--env', 'A=1'], dir, {});
    expect(command.kind === 'check' && command.projects?.map((p) => p.env)).toEqual([{ A: '1' }, { A: '1' }]);
  });

  it('stops on --env NAME when NAME is not set, saying to set it or pass NAME=VALUE', () => {
    const run = () => parseCommandLine(['check', '--env', 'APP_ENV'], dir, { PATH: '/usr/bin' });
    expect(run).toThrow(UserError);
    expect(run).toThrow('--env APP_ENV: APP_ENV is not set in this environment, so there is no value to pass. Set it (export APP_ENV=...) or pass --env APP_ENV=VALUE.');
  });

  it.each([
    ['1APP=x', '--env 1APP=...: "1APP" is not an environment variable name'],
    ['APP-ENV', '--env APP-ENV: "APP-ENV" is not an environment variable name'],
    ['=secret', '--env =...: "" is not an environment variable name'],
  ])('rejects --env %s without repeating its value', (item, message) => {
    const run = () => parseCommandLine(['check', '--env', item], dir, {});
    expect(run).toThrow(UserError);
    expect(run).toThrow(message);
    expect(run).not.toThrow(/secret|=x/);
  });

  it('documents --env in the usage text', () => {
    expect(USAGE).toMatch(/^ {2}--env NAME\[=VALUE\] +environment variable for the project's Python/m);
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
