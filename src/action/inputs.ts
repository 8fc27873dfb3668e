// The action's inputs (INPUT_* variables) turned into one typed settings object; every bad value is a UserError naming the input.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { parseTimeout, type FailOnSetting } from '../options.js';
import type { DatabaseChoice } from '../postgres/provider.js';
import { majorOfImageTag } from '../postgres/testcontainers.js';
import { MIGRATIONS_RUN, type MigrationsRun } from '../settings/settings.js';

/** Every input of action.yml with its default (a test keeps the two in step). */
export const INPUT_DEFAULTS = {
  'working-directory': '.',
  'alembic-config': 'alembic.ini',
  'alembic-section': 'alembic',
  python: '',
  base: '',
  database: 'auto',
  'database-url': '',
  'postgres-image': '',
  'postgres-version': '',
  'database-env': '',
  env: '',
  'flask-app': '',
  'migrations-run': '',
  'github-token': '${{ github.token }}',
  comment: 'always',
  'review-comments': 'true',
  'fail-on': 'error',
  timeout: '600',
  'sarif-file': '',
} as const;

export type InputName = keyof typeof INPUT_DEFAULTS;

export type CommentMode = 'always' | 'on-findings' | 'never';

export interface ActionSettings {
  /** $GITHUB_WORKSPACE: where the repository is checked out. */
  workspace: string;
  /** The project directory (where the Alembic config is found). */
  projectDir: string;
  /** Absolute path of the Alembic config file. */
  config: string;
  section: string;
  python: string | undefined;
  /** A ref or commit given by the `base` input; undefined = from the event. */
  base: string | undefined;
  database: DatabaseChoice;
  databaseUrl: string | undefined;
  postgresImage: string | undefined;
  postgresVersion: number | undefined;
  databaseEnv: Record<string, string>;
  /** `env`: settings for the project's Python that are not about the database (CheckOptions.env). */
  env: Record<string, string>;
  flaskApp: string | undefined;
  /** `migrations-run`: wins over `[tool.alembic-guard] migrations-run`; undefined (empty input) = pyproject.toml's value. */
  migrationsRun: MigrationsRun | undefined;
  /** Empty when the workflow passes none (then nothing is posted). */
  token: string;
  comment: CommentMode;
  reviewComments: boolean;
  failOn: FailOnSetting;
  /** `timeout`: seconds the whole check may take; 0 = none. */
  timeout: number;
  /** Absolute path, or undefined for no SARIF file. */
  sarifFile: string | undefined;
  /** One sticky comment per project: the config's path from the workspace ("alembic.ini", "services/api/alembic.ini"). */
  commentKey: string;
}

/**
 * The runner passes input `github-token` as `INPUT_GITHUB-TOKEN`: upper case, spaces as `_`, hyphens kept. A
 * missing variable (a run outside the runner) means the default of action.yml.
 */
export function rawInput(env: NodeJS.ProcessEnv, name: InputName): string {
  const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  if (value === undefined) return name === 'github-token' ? '' : INPUT_DEFAULTS[name];
  return value.trim();
}

function oneOf<T extends string>(name: InputName, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`Input \`${name}: ${value}\` is not a valid value. Use one of: ${allowed.join(', ')}.`);
  }
  return value as T;
}

function booleanInput(env: NodeJS.ProcessEnv, name: InputName): boolean {
  const value = rawInput(env, name).toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(value)) return true;
  if (['false', 'no', 'off', '0'].includes(value)) return false;
  throw new UserError(`Input \`${name}: ${value}\` is not a boolean. Use true or false.`);
}

export function readInputs(env: NodeJS.ProcessEnv): ActionSettings {
  const workspace = resolve(env.GITHUB_WORKSPACE || process.cwd());

  const workingDirectory = rawInput(env, 'working-directory') || '.';
  const projectDir = resolve(workspace, workingDirectory);
  if (!existsSync(projectDir) || !statSync(projectDir).isDirectory()) {
    throw new UserError(
      `Input \`working-directory: ${workingDirectory}\`: ${projectDir} is not a directory. ` +
        'Give the project directory (where alembic.ini is) relative to the repository root, and check out the repository first (actions/checkout).',
    );
  }
  const configInput = rawInput(env, 'alembic-config') || 'alembic.ini';
  const config = resolve(projectDir, configInput);
  if (!existsSync(config)) {
    throw new UserError(
      `Input \`alembic-config: ${configInput}\`: ${config} does not exist. ` +
        'Set `working-directory` to the project directory, or `alembic-config` to the Alembic config file relative to it.',
    );
  }

  const database = oneOf('database', rawInput(env, 'database') || 'auto', [
    'auto',
    'testcontainers',
    'binaries',
    'embedded',
    'url',
  ] as const);
  const databaseUrl = rawInput(env, 'database-url') || undefined;
  if (database === 'url' && !databaseUrl) {
    throw new UserError('Input `database: url` needs `database-url: postgresql://user:password@host:port/dbname` (from a secret or a service container).');
  }

  const postgresImage = rawInput(env, 'postgres-image') || undefined;
  let postgresVersion: number | undefined;
  const versionInput = rawInput(env, 'postgres-version');
  if (versionInput) {
    postgresVersion = Number(versionInput);
    if (!Number.isInteger(postgresVersion) || postgresVersion < 9) {
      throw new UserError(`Input \`postgres-version: ${versionInput}\`: give a Postgres major version such as 16 or 17.`);
    }
  } else if (postgresImage) {
    // postgres:16, postgres:16.4-alpine, ghcr.io/x/postgis:17-3.5: the tag's major version picks among installed servers too.
    postgresVersion = majorOfImageTag(postgresImage);
  }

  const migrationsRunInput = rawInput(env, 'migrations-run').toLowerCase();
  const migrationsRun = migrationsRunInput ? oneOf('migrations-run', migrationsRunInput, MIGRATIONS_RUN) : undefined;

  const failOn = oneOf('fail-on', rawInput(env, 'fail-on') || 'error', ['error', 'warning', 'never'] as const);
  let commentValue = (rawInput(env, 'comment') || 'always').toLowerCase();
  if (commentValue === 'true') commentValue = 'always';
  if (commentValue === 'false') commentValue = 'never';
  const comment = oneOf('comment', commentValue, ['always', 'on-findings', 'never'] as const);

  const token = rawInput(env, 'github-token');
  const sarifInput = rawInput(env, 'sarif-file');
  const configFromWorkspace = relative(workspace, config).split('\\').join('/');

  return {
    workspace,
    projectDir,
    config,
    section: rawInput(env, 'alembic-section') || 'alembic',
    python: rawInput(env, 'python') || undefined,
    base: rawInput(env, 'base') || undefined,
    database,
    databaseUrl,
    postgresImage,
    postgresVersion,
    databaseEnv: parseDatabaseEnv(rawInput(env, 'database-env')),
    env: parseEnvInput(rawInput(env, 'env'), env, token),
    flaskApp: rawInput(env, 'flask-app') || undefined,
    migrationsRun,
    token,
    comment,
    reviewComments: booleanInput(env, 'review-comments'),
    failOn,
    timeout: parseTimeout('Input `timeout:`', rawInput(env, 'timeout')),
    sarifFile: sarifInput ? (isAbsolute(sarifInput) ? sarifInput : resolve(workspace, sarifInput)) : undefined,
    commentKey: configFromWorkspace.startsWith('..') ? config : configFromWorkspace,
  };
}

/** `database-env`: one KEY=TEMPLATE a line (blank lines and `#` comments skipped), as the CLI's repeated --database-env. */
export function parseDatabaseEnv(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UserError(
        `Input \`database-env\`, line \`${line}\`: expected KEY=TEMPLATE, one a line, e.g. POSTGRES_SERVER={host} or DATABASE_URL={url}.`,
      );
    }
    variables[key] = line.slice(eq + 1).trim();
  }
  return variables;
}

/** An environment variable's name: letters, digits and `_`, not starting with a digit (as the CLI's --env takes it). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `env`: one `NAME` or `NAME=VALUE` a line (blank lines and `#` comments skipped), as the CLI's repeated --env. `NAME`
 * alone takes its value from the action's own environment: the step's `env:` (and the job's and the workflow's). The
 * runner's own variables (`INPUT_*`, `ACTIONS_*`) cannot be named, and no value may be the `github-token`: the token
 * never reaches the project's Python. Messages never repeat a value.
 */
export function parseEnvInput(text: string, processEnv: NodeJS.ProcessEnv, token = ''): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = (eq >= 0 ? line.slice(0, eq) : line).trim();
    const shown = eq >= 0 ? `${name}=...` : name;
    if (!ENV_NAME.test(name)) {
      throw new UserError(
        `Input \`env\`, line \`${shown}\`: expected NAME or NAME=VALUE, one a line, where NAME is an environment variable ` +
          'name (letters, digits and _, not starting with a digit), e.g. APP_ENV=test, or APP_ENV alone to pass the value the step\'s `env:` gives it.',
      );
    }
    let value: string;
    if (eq >= 0) {
      value = line.slice(eq + 1).trim();
    } else {
      if (/^(INPUT_|ACTIONS_)/.test(name)) {
        throw new UserError(
          `Input \`env\`, line \`${name}\`: ${name} is one of the runner's own variables (INPUT_*, ACTIONS_*), which never reach ` +
            "the project's Python. Name the variable the project reads and give it in the step's `env:`.",
        );
      }
      const fromStep = processEnv[name];
      if (fromStep === undefined) {
        throw new UserError(
          `Input \`env\`, line \`${name}\`: ${name} is not set in the step's environment, so there is no value to pass. ` +
            `Set it in the step's \`env:\` (e.g. ${name}: \${{ vars.${name} }}), or write ${name}=VALUE.`,
        );
      }
      value = fromStep;
    }
    if (token !== '' && value === token) {
      throw new UserError(
        `Input \`env\`, line \`${shown}\`: the value of ${name} is the \`github-token\`, which never reaches the project's Python ` +
          '(it runs the pull request\'s code). Remove the line.',
      );
    }
    variables[name] = value;
  }
  return variables;
}
