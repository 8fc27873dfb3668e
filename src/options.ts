// Turns the command line into one typed CheckOptions object; every bad value is a UserError naming the flag.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from './errors.js';
import type { DatabaseChoice } from './postgres/provider.js';
import { majorOfImageTag } from './postgres/testcontainers.js';
import type { MigrationsRun } from './settings/settings.js';

export type OutputFormat = 'text' | 'markdown' | 'json' | 'sarif';
export type FailOnSetting = 'error' | 'warning' | 'never';

export interface CheckOptions {
  /** The project root: where alembic.ini is, and where the project's Python runs. */
  cwd: string;
  /** Absolute path of the Alembic config file. */
  config: string;
  /** Section of the config file (`--name`). */
  section: string;
  python: string | undefined;
  base: string | undefined;
  database: DatabaseChoice;
  databaseUrl: string | undefined;
  postgresVersion: number | undefined;
  /** The image for --database testcontainers (and auto when Docker answers); undefined = postgres:<version>-alpine. */
  postgresImage?: string | undefined;
  failOn: FailOnSetting;
  /** KEY -> TEMPLATE with {host} {port} {user} {password} {database} {url}. */
  databaseEnv: Record<string, string>;
  flaskApp: string | undefined;
  format: OutputFormat;
  /**
   * Settings that are not about the database, for the project's Python (`--env NAME` or `--env NAME=VALUE`): names
   * given explicitly, values resolved at parse time. Nothing else of the caller's environment reaches that Python.
   */
  env: Record<string, string>;
  /**
   * `migrations-run` over `[tool.alembic-guard]`: set by the action's input (no CLI flag: the CLI reads pyproject.toml);
   * undefined = pyproject.toml's value.
   */
  migrationsRun?: MigrationsRun | undefined;
  /** Seconds the whole check may take (`--timeout`, default 600); 0 = no limit. */
  timeout?: number;
}

export const DEFAULT_TIMEOUT = 600;

/** A `--timeout` / `timeout` value: whole seconds, 0 for none. */
export function parseTimeout(name: string, value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_TIMEOUT;
  const seconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(seconds)) {
    throw new UserError(`${name} ${value}: give the seconds the whole check may take, e.g. 600, or 0 for no limit.`);
  }
  return seconds;
}

const DATABASES: DatabaseChoice[] = ['auto', 'testcontainers', 'binaries', 'embedded', 'url'];
const FORMATS: OutputFormat[] = ['text', 'markdown', 'json', 'sarif'];
const FAIL_ON: FailOnSetting[] = ['error', 'warning', 'never'];

export const USAGE = `Usage: alembic-guard check [options]

Replays every Alembic migration on a disposable Postgres, compares the result with the
SQLAlchemy models and judges the migrations this branch adds.

Options:
  --base REF               git ref the change is compared with (default: merge base with origin's default branch)
  --config FILE            Alembic config file (default: alembic.ini, else migrations/alembic.ini); repeatable:
                           each config is checked from its own directory and reported under its own heading
  --name SECTION           section of the config file (default: alembic)
  --python CMD             interpreter with the project installed (default: $VIRTUAL_ENV, .venv, python3)
  --database KIND          auto | testcontainers | binaries | embedded | url (default: auto)
  --database-url URL       server for --database url (a scratch database is created and dropped in it)
  --postgres-version N     Postgres major version
  --postgres-image IMAGE   image for testcontainers (default: postgres:<version>-alpine); its tag's major
                           version also picks among installed servers
  --fail-on LEVEL          error | warning | never (default: error)
  --database-env KEY=TPL   environment variable for the project's Python, repeatable; TPL may use
                           {host} {port} {user} {password} {database} {url}
  --env NAME[=VALUE]       environment variable for the project's Python that is not about the database, e.g.
                           APP_ENV=test; repeatable. NAME alone passes its value from this environment. Only
                           the names given are passed, and the project's code can read their values
  --flask-app MOD:FACTORY  run env.py inside this Flask application's context
  --format FORMAT          text | markdown | json | sarif (default: text)
  --timeout SECONDS        stop the whole check after this long, naming what was running (default: 600; 0: none)
  --cwd DIR                project directory (default: the current directory)
  -h, --help               show this help
  --version                show the version

Exit codes: 0 no finding at or above --fail-on, 1 findings at the gate, 2 the check could not run.
`;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as string[]).includes(value)) {
    throw new UserError(`${flag} ${value}: not a valid value. Use one of: ${allowed.join(', ')}.`);
  }
  return value as T;
}

/** `projects`: one CheckOptions per config when --config was given more than once (`options` is the first). */
export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'check'; options: CheckOptions; projects?: CheckOptions[] };

export function parseCommandLine(argv: string[], processCwd: string, env: NodeJS.ProcessEnv = process.env): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        base: { type: 'string' },
        config: { type: 'string', short: 'c', multiple: true },
        name: { type: 'string', short: 'n' },
        python: { type: 'string' },
        database: { type: 'string' },
        'database-url': { type: 'string' },
        'postgres-version': { type: 'string' },
        'postgres-image': { type: 'string' },
        'fail-on': { type: 'string' },
        'database-env': { type: 'string', multiple: true },
        'flask-app': { type: 'string' },
        env: { type: 'string', multiple: true },
        format: { type: 'string' },
        timeout: { type: 'string' },
        cwd: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UserError(`${(error as Error).message}. Run \`alembic-guard --help\` for the options.`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length === 0) return { kind: 'help' };
  if (positionals[0] !== 'check' || positionals.length > 1) {
    throw new UserError(`Unknown command \`${positionals.join(' ')}\`: the command is \`alembic-guard check\`.`);
  }

  const cwd = resolve(processCwd, values.cwd ?? '.');
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    throw new UserError(`--cwd ${values.cwd}: no such directory.`);
  }
  const configArgs = values.config ?? [];
  // Flask-Migrate keeps its alembic.ini inside migrations/.
  const fallback = !existsSync(resolve(cwd, 'alembic.ini')) && existsSync(resolve(cwd, 'migrations', 'alembic.ini'));
  const configs = configArgs.length ? configArgs.map((c) => resolve(cwd, c)) : [resolve(cwd, fallback ? 'migrations/alembic.ini' : 'alembic.ini')];
  configs.forEach((config, i) => {
    if (existsSync(config)) return;
    throw new UserError(
      configArgs.length
        ? `--config ${configArgs[i]}: ${config} does not exist. Pass the path of the project's Alembic config file (relative to --cwd).`
        : `No alembic.ini in ${cwd}. Run alembic-guard from the project root (where alembic.ini is), ` +
            'or pass --cwd DIR or --config path/to/alembic.ini.',
    );
  });
  const config = configs[0]!;

  let postgresVersion: number | undefined;
  if (values['postgres-version'] !== undefined) {
    postgresVersion = Number(values['postgres-version']);
    if (!Number.isInteger(postgresVersion) || postgresVersion < 9) {
      throw new UserError(`--postgres-version ${values['postgres-version']}: give a Postgres major version such as 15 or 17.`);
    }
  }
  const postgresImage = values['postgres-image']?.trim() || undefined;
  // postgres:16-alpine, postgis/postgis:17-3.5: the tag's major picks among installed servers too (auto without Docker).
  postgresVersion ??= postgresImage ? majorOfImageTag(postgresImage) : undefined;

  const databaseEnv: Record<string, string> = {};
  for (const item of values['database-env'] ?? []) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UserError(
        `--database-env ${item}: expected KEY=TEMPLATE, e.g. --database-env POSTGRES_SERVER={host} or DATABASE_URL={url}.`,
      );
    }
    databaseEnv[key] = item.slice(eq + 1);
  }

  const passed = parseEnvFlags(values.env ?? [], env);

  const database = oneOf('--database', values.database, DATABASES, 'auto');
  if (database === 'url' && !values['database-url']) {
    throw new UserError('--database url needs --database-url postgresql://user:password@host:port/dbname.');
  }

  const options: CheckOptions = {
    cwd,
    config,
    section: values.name ?? 'alembic',
    python: values.python,
    base: values.base,
    database,
    databaseUrl: values['database-url'],
    postgresVersion,
    postgresImage,
    failOn: oneOf('--fail-on', values['fail-on'], FAIL_ON, 'error'),
    databaseEnv,
    flaskApp: values['flask-app'],
    format: oneOf('--format', values.format, FORMATS, 'text'),
    timeout: parseTimeout('--timeout', values.timeout),
    env: passed,
  };
  if (configs.length === 1) return { kind: 'check', options };
  const projects = configs.map((c) => ({ ...options, cwd: projectDirectory(c), config: c }));
  return { kind: 'check', options: projects[0]!, projects };
}

/** An environment variable's name as a POSIX shell takes it: letters, digits and `_`, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `--env NAME` (NAME's value in `env`, the caller's environment) and `--env NAME=VALUE`; the last one given for a
 * name wins. Messages never repeat a value: it may be a secret.
 */
function parseEnvFlags(items: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    if (!ENV_NAME.test(name)) {
      throw new UserError(
        `--env ${eq >= 0 ? `${name}=...` : name}: ${JSON.stringify(name)} is not an environment variable name (letters, digits and _, ` +
          'not starting with a digit). Use --env NAME or --env NAME=VALUE, e.g. --env APP_ENV=test.',
      );
    }
    if (eq >= 0) {
      passed[name] = item.slice(eq + 1);
      continue;
    }
    const value = env[name];
    if (value === undefined) {
      throw new UserError(
        `--env ${name}: ${name} is not set in this environment, so there is no value to pass. Set it (export ${name}=...) ` +
          `or pass --env ${name}=VALUE.`,
      );
    }
    passed[name] = value;
  }
  return passed;
}

/** Where `alembic` runs for a config of a monorepo: the folder holding it, or its parent when it sits beside env.py. */
function projectDirectory(config: string): string {
  const folder = dirname(config);
  return existsSync(join(folder, 'env.py')) ? dirname(folder) : folder;
}
