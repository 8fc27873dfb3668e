// Project-wide settings from `[tool.alembic-guard]` in pyproject.toml: severities, disabled rules, objects to leave out,
// how the project runs its migrations.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { UserError } from '../errors.js';
import { RULE_IDS, type RuleId, type Severity } from '../findings.js';

export interface ProjectSettings {
  /** Rules that never report. */
  disabled: Set<RuleId>;
  /** Severity overrides. */
  severity: Map<RuleId, Severity>;
  /** Names (`ix_users_name_trgm`, `users.search_vector`, `legacy_table`) left out of missing-migration. */
  ignoreObjects: string[];
  /** Absolute path of a SQL file run on the empty database before the first revision (`baseline-sql`), or null. */
  baselineSql: string | null;
  /**
   * Environment variables for the project's Python that are not about the database (`env = { APP_ENV = "test" }`);
   * `--env` (the action's `env` input) wins over a name given here too.
   */
  env: Record<string, string>;
  /**
   * How the project's migrations run (`migrations-run`): `online` while the app serves (locks block it: the default),
   * or `offline`, with the app stopped (`alembic upgrade head` at startup, before serving): lock findings become notices.
   * The action's `migrations-run` input wins over pyproject.toml.
   */
  migrationsRun: MigrationsRun;
  /** Where they came from, for messages: "pyproject.toml" or null when there is none. */
  source: string | null;
}

export const DEFAULT_SETTINGS: ProjectSettings = {
  disabled: new Set(),
  severity: new Map(),
  ignoreObjects: [],
  baselineSql: null,
  env: {},
  migrationsRun: 'online',
  source: null,
};

export type MigrationsRun = 'online' | 'offline';
export const MIGRATIONS_RUN: readonly MigrationsRun[] = ['online', 'offline'];

/** What the caller says over pyproject.toml (the action's inputs); undefined = pyproject.toml's value. */
export interface SettingOverrides {
  migrationsRun?: MigrationsRun | undefined;
}

const KNOWN_KEYS = ['disable', 'severity', 'ignore-objects', 'baseline-sql', 'env', 'migrations-run'];
/** An environment variable's name: letters, digits and `_`, not starting with a digit (as --env takes it). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SEVERITIES: Severity[] = ['error', 'warning', 'notice'];

export function isRuleId(id: string): id is RuleId {
  return (RULE_IDS as readonly string[]).includes(id);
}

function unknownRule(where: string, id: string): UserError {
  return new UserError(`${where}: unknown rule id "${id}". Known rules: ${RULE_IDS.join(', ')}.`);
}

/**
 * Reads `[tool.alembic-guard]` from `projectRoot/pyproject.toml` (defaults when the file or the table is absent), then
 * applies what the caller overrides.
 */
export function readProjectSettings(projectRoot: string, repositoryRoot: string, overrides: SettingOverrides = {}): ProjectSettings {
  const settings = readPyproject(projectRoot, repositoryRoot);
  return overrides.migrationsRun ? { ...settings, migrationsRun: overrides.migrationsRun } : settings;
}

function readPyproject(projectRoot: string, repositoryRoot: string): ProjectSettings {
  const path = join(projectRoot, 'pyproject.toml');
  if (!existsSync(path)) return DEFAULT_SETTINGS;
  const name = relative(repositoryRoot, path) || 'pyproject.toml';
  let document: Record<string, unknown>;
  try {
    document = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${name} is not valid TOML: ${(error as Error).message.split('\n')[0]}`);
  }
  const table = (document.tool as Record<string, unknown> | undefined)?.['alembic-guard'];
  if (table === undefined) return DEFAULT_SETTINGS;
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new UserError(`${name}: [tool.alembic-guard] must be a table.`);
  }
  const settings = table as Record<string, unknown>;
  for (const key of Object.keys(settings)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw new UserError(`${name}: [tool.alembic-guard] has an unknown key "${key}". Known keys: ${KNOWN_KEYS.join(', ')}.`);
    }
  }

  const disabled = new Set<RuleId>();
  const disable = settings.disable ?? [];
  if (!Array.isArray(disable) || disable.some((id) => typeof id !== 'string')) {
    throw new UserError(`${name}: [tool.alembic-guard] disable must be a list of rule ids, e.g. disable = ["drop-column"].`);
  }
  for (const id of disable as string[]) {
    if (!isRuleId(id)) throw unknownRule(`${name}: [tool.alembic-guard] disable`, id);
    disabled.add(id);
  }

  const severity = new Map<RuleId, Severity>();
  const levels = settings.severity ?? {};
  if (typeof levels !== 'object' || levels === null || Array.isArray(levels)) {
    throw new UserError(`${name}: [tool.alembic-guard] severity must be a table, e.g. severity = { "drop-column" = "error" }.`);
  }
  for (const [id, level] of Object.entries(levels as Record<string, unknown>)) {
    if (!isRuleId(id)) throw unknownRule(`${name}: [tool.alembic-guard] severity`, id);
    if (typeof level !== 'string' || !(SEVERITIES as string[]).includes(level)) {
      throw new UserError(`${name}: [tool.alembic-guard] severity "${id}" = ${JSON.stringify(level)}: use "error", "warning" or "notice".`);
    }
    severity.set(id, level as Severity);
  }

  const ignore = settings['ignore-objects'] ?? [];
  if (!Array.isArray(ignore) || ignore.some((item) => typeof item !== 'string')) {
    throw new UserError(
      `${name}: [tool.alembic-guard] ignore-objects must be a list of names, e.g. ignore-objects = ["ix_users_name_trgm"].`,
    );
  }

  let baselineSql: string | null = null;
  const baseline = settings['baseline-sql'];
  if (baseline !== undefined) {
    if (typeof baseline !== 'string' || baseline === '') {
      throw new UserError(`${name}: [tool.alembic-guard] baseline-sql must be the path of a SQL file, e.g. baseline-sql = "db/baseline.sql".`);
    }
    baselineSql = resolve(projectRoot, baseline);
    if (!existsSync(baselineSql)) {
      throw new UserError(
        `${name}: [tool.alembic-guard] baseline-sql = "${baseline}": ${relative(repositoryRoot, baselineSql)} does not exist. ` +
          'Give the path of the schema to start from, relative to pyproject.toml (e.g. pg_dump --schema-only of a database made by create_all).',
      );
    }
  }
  return {
    disabled,
    severity,
    ignoreObjects: ignore as string[],
    baselineSql,
    env: readEnv(settings.env, name),
    migrationsRun: readMigrationsRun(settings['migrations-run'], name),
    source: name,
  };
}

/** `migrations-run = "online"` (the default) or `"offline"`. */
function readMigrationsRun(value: unknown, name: string): MigrationsRun {
  if (value === undefined) return 'online';
  if (typeof value === 'string' && (MIGRATIONS_RUN as readonly string[]).includes(value)) return value as MigrationsRun;
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value)
      : value instanceof Date
        ? 'a date'
        : Array.isArray(value)
          ? 'a list'
          : typeof value === 'object'
            ? 'a table'
            : String(value);
  throw new UserError(
    `${name}: [tool.alembic-guard] migrations-run = ${shown}: use "online" (the app serves while its migrations run: the default) ` +
      'or "offline" (the app is stopped while they run, e.g. `alembic upgrade head` at startup before serving).',
  );
}

/** `env = { APP_ENV = "test" }` (or an `[tool.alembic-guard.env]` table): names and string values. */
function readEnv(value: unknown, name: string): Record<string, string> {
  if (value === undefined) return {};
  const example = 'e.g. env = { APP_ENV = "test" }';
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
    throw new UserError(`${name}: [tool.alembic-guard] env must be a table of environment variables and their values, ${example}.`);
  }
  const env: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!ENV_NAME.test(key)) {
      throw new UserError(
        `${name}: [tool.alembic-guard] env: ${JSON.stringify(key)} is not an environment variable name ` +
          `(letters, digits and _, not starting with a digit), ${example}.`,
      );
    }
    if (typeof item !== 'string') {
      const scalar = typeof item === 'number' || typeof item === 'boolean' || typeof item === 'bigint';
      const shown = scalar ? String(item) : item instanceof Date ? 'a date' : Array.isArray(item) ? 'a list' : 'a table';
      throw new UserError(
        `${name}: [tool.alembic-guard] env ${key} = ${shown}: the values of env must be strings; quote it, e.g. ${key} = "${scalar ? String(item) : 'value'}".`,
      );
    }
    env[key] = item;
  }
  return env;
}
