// The action's inputs (INPUT_* variables) turned into one typed settings object; every bad value is a UserError naming the input.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { FailOnSetting } from '../options.js';
import type { DatabaseChoice } from '../postgres/provider.js';
import { majorOfImageTag } from '../postgres/testcontainers.js';

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
  'flask-app': '',
  'github-token': '${{ github.token }}',
  comment: 'always',
  'review-comments': 'true',
  'fail-on': 'error',
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
  flaskApp: string | undefined;
  /** Empty when the workflow passes none (then nothing is posted). */
  token: string;
  comment: CommentMode;
  reviewComments: boolean;
  failOn: FailOnSetting;
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

  const failOn = oneOf('fail-on', rawInput(env, 'fail-on') || 'error', ['error', 'warning', 'never'] as const);
  let commentValue = (rawInput(env, 'comment') || 'always').toLowerCase();
  if (commentValue === 'true') commentValue = 'always';
  if (commentValue === 'false') commentValue = 'never';
  const comment = oneOf('comment', commentValue, ['always', 'on-findings', 'never'] as const);

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
    flaskApp: rawInput(env, 'flask-app') || undefined,
    token: rawInput(env, 'github-token'),
    comment,
    reviewComments: booleanInput(env, 'review-comments'),
    failOn,
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
