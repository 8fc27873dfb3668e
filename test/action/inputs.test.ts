// The inputs: action.yml documents each one with the default the code uses, and bad values name the input at fault.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_DEFAULTS, parseDatabaseEnv, parseEnvInput, readInputs } from '../../src/action/inputs.js';
import { UserError } from '../../src/errors.js';
import { REPO_ROOT } from '../support/fixtures.js';

/** action.yml's inputs and outputs: name -> { description, default } (a reader for this file's plain layout). */
function readActionYml(): { inputs: Map<string, Record<string, string>>; outputs: Map<string, Record<string, string>>; text: string } {
  const text = readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8');
  const sections = { inputs: new Map<string, Record<string, string>>(), outputs: new Map<string, Record<string, string>>() };
  let section: Map<string, Record<string, string>> | null = null;
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      section = line === 'inputs:' ? sections.inputs : line === 'outputs:' ? sections.outputs : null;
      continue;
    }
    const name = /^ {2}([a-z-]+):\s*$/.exec(line);
    if (section && name) section.set(name[1], (current = {}));
    const field = /^ {4}([a-z]+):\s*(.*)$/.exec(line);
    if (section && current && field) current[field[1]] = field[2].replace(/^'(.*)'$/, '$1');
  }
  return { ...sections, text };
}

describe('action.yml', () => {
  const yml = readActionYml();

  it('runs dist/index.js on Node 24, with branding', () => {
    expect(yml.text).toMatch(/\nruns:\n {2}using: node24\n {2}main: dist\/index\.js\n/);
    expect(yml.text).toMatch(/\nbranding:\n {2}icon: \S+\n {2}color: \S+\n/);
  });

  it('declares every input the code reads, each with a description and the same default', () => {
    expect([...yml.inputs.keys()].sort()).toEqual(Object.keys(INPUT_DEFAULTS).sort());
    for (const [name, fields] of yml.inputs) {
      expect(fields.description, name).toBeTruthy();
      expect(fields.default, name).toBe(INPUT_DEFAULTS[name as keyof typeof INPUT_DEFAULTS]);
    }
  });

  it('has the outputs of the action contract, each described', () => {
    for (const name of ['status', 'errors', 'warnings', 'report']) expect(yml.outputs.has(name), name).toBe(true);
    for (const [name, fields] of yml.outputs) expect(fields.description, name).toBeTruthy();
  });

  it('documents every input and output in the README table', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## GitHub Action\n');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    for (const name of [...yml.inputs.keys(), ...yml.outputs.keys()]) expect(section, name).toContain(`| \`${name}\` |`);
  });
});

describe('readInputs', () => {
  let workspace: string;
  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'alembic-guard-inputs-'));
    writeFileSync(join(workspace, 'alembic.ini'), '[alembic]\n');
    mkdirSync(join(workspace, 'services', 'api'), { recursive: true });
    writeFileSync(join(workspace, 'services', 'api', 'migrations.ini'), '[alembic]\n');
  });
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  const read = (inputs: Record<string, string>, stepEnv: Record<string, string> = {}) =>
    readInputs({
      GITHUB_WORKSPACE: workspace,
      ...stepEnv,
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    });

  it('reads the runner\'s INPUT_ variables, hyphens kept (INPUT_GITHUB-TOKEN)', () => {
    const settings = read({
      'working-directory': 'services/api',
      'alembic-config': 'migrations.ini',
      'github-token': 'ghs_secret',
      'fail-on': 'warning',
      'review-comments': 'false',
      comment: 'on-findings',
      'postgres-image': 'postgres:16.4-alpine',
      'database-env': 'POSTGRES_SERVER={host}\n\n# comment\nPOSTGRES_PORT = {port}\n',
      'sarif-file': 'out/alembic-guard.sarif',
    });
    expect(settings).toMatchObject({
      projectDir: join(workspace, 'services', 'api'),
      config: join(workspace, 'services', 'api', 'migrations.ini'),
      token: 'ghs_secret',
      failOn: 'warning',
      reviewComments: false,
      comment: 'on-findings',
      postgresVersion: 16,
      databaseEnv: { POSTGRES_SERVER: '{host}', POSTGRES_PORT: '{port}' },
      sarifFile: join(workspace, 'out', 'alembic-guard.sarif'),
      commentKey: 'services/api/migrations.ini',
    });
  });

  it('uses action.yml\'s defaults for inputs the runner did not pass', () => {
    expect(read({})).toMatchObject({
      projectDir: workspace,
      section: 'alembic',
      database: 'auto',
      failOn: 'error',
      comment: 'always',
      reviewComments: true,
      python: undefined,
      base: undefined,
      sarifFile: undefined,
      postgresVersion: undefined,
      commentKey: 'alembic.ini',
      env: {},
    });
  });

  it('reads env: NAME=VALUE as written, NAME alone from the step\'s environment, only the names listed', () => {
    const settings = read(
      { env: '# settings the app reads at import\nAPP_MODE=test\n\n  APP_ENV  \r\nURLISH = a=b#c\nEMPTY=\n' },
      { APP_ENV: 'ci', SENTRY_DSN: 'https://key@sentry.example/1' },
    );
    expect(settings.env).toEqual({ APP_MODE: 'test', APP_ENV: 'ci', URLISH: 'a=b#c', EMPTY: '' });
  });

  it.each([
    [{ env: 'APP_ENV' }, {}, "Input `env`, line `APP_ENV`: APP_ENV is not set in the step's environment, so there is no value to pass. Set it in the step's `env:`"],
    [{ env: '1BAD=hunter2' }, {}, 'Input `env`, line `1BAD=...`: expected NAME or NAME=VALUE'],
    [{ env: 'APP ENV=x' }, {}, 'Input `env`, line `APP ENV=...`: expected NAME or NAME=VALUE'],
    [{ env: 'ACTIONS_RUNTIME_TOKEN' }, { ACTIONS_RUNTIME_TOKEN: 'runtime' }, "ACTIONS_RUNTIME_TOKEN is one of the runner's own variables"],
    [{ env: 'INPUT_DATABASE-URL' }, {}, 'Input `env`, line `INPUT_DATABASE-URL`: expected NAME or NAME=VALUE'],
    [{ env: 'INPUT_DATABASE' }, {}, "INPUT_DATABASE is one of the runner's own variables"],
    [{ env: 'GH_TOKEN', 'github-token': 'ghs_secret' }, { GH_TOKEN: 'ghs_secret' }, 'Input `env`, line `GH_TOKEN`: the value of GH_TOKEN is the `github-token`'],
    [{ env: 'T=ghs_secret', 'github-token': 'ghs_secret' }, {}, 'Input `env`, line `T=...`: the value of T is the `github-token`'],
  ])('names the env line at fault, never its value: %o', (inputs, stepEnv, message) => {
    expect(() => read(inputs, stepEnv)).toThrow(UserError);
    expect(() => read(inputs, stepEnv)).toThrow(message);
    expect(() => read(inputs, stepEnv)).not.toThrow(/hunter2|ghs_secret|runtime\b/);
  });

  it('passes a token-like value that is not the github-token, and any value when there is no token', () => {
    expect(parseEnvInput('A=ghs_other\nB', { B: 'ghs_secret' }, 'ghs_secret_not_this')).toEqual({ A: 'ghs_other', B: 'ghs_secret' });
    expect(parseEnvInput('A=', {}, '')).toEqual({ A: '' });
  });

  it.each([
    [{ 'fail-on': 'sometimes' }, 'Input `fail-on: sometimes` is not a valid value. Use one of: error, warning, never.'],
    [{ comment: 'maybe' }, 'Input `comment: maybe` is not a valid value. Use one of: always, on-findings, never.'],
    [{ 'review-comments': 'perhaps' }, 'Input `review-comments: perhaps` is not a boolean. Use true or false.'],
    [{ database: 'url' }, 'Input `database: url` needs `database-url'],
    [{ 'postgres-version': 'latest' }, 'Input `postgres-version: latest`: give a Postgres major version'],
    [{ 'working-directory': 'nowhere' }, 'Input `working-directory: nowhere`:'],
    [{ 'alembic-config': 'missing.ini' }, 'Input `alembic-config: missing.ini`:'],
    [{ 'database-env': 'not a pair' }, 'Input `database-env`, line `not a pair`: expected KEY=TEMPLATE'],
    [{ 'migrations-run': 'stopped' }, 'Input `migrations-run: stopped` is not a valid value. Use one of: online, offline.'],
  ])('names the input at fault: %o', (inputs, message) => {
    expect(() => read(inputs)).toThrow(UserError);
    expect(() => read(inputs)).toThrow(message);
  });

  it('reads migrations-run: online or offline (any case); empty leaves it to pyproject.toml', () => {
    expect(read({ 'migrations-run': 'offline' }).migrationsRun).toBe('offline');
    expect(read({ 'migrations-run': ' Online ' }).migrationsRun).toBe('online');
    expect(read({ 'migrations-run': '' }).migrationsRun).toBeUndefined();
    expect(read({}).migrationsRun).toBeUndefined();
  });

  it('parses database-env as the CLI\'s repeated --database-env', () => {
    expect(parseDatabaseEnv('A={url}\r\nB=x=y')).toEqual({ A: '{url}', B: 'x=y' });
  });
});
