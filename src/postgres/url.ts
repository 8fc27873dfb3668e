// Provider `url`: a Postgres server the user gives; the check works only in a scratch database it creates there and drops at the end.
//
// The database named in the URL is only the one connected to for CREATE DATABASE and DROP DATABASE: no migration,
// no snapshot, nothing of the project's ever runs in it.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { UserError } from '../errors.js';
import { quoteIdent } from '../sql/quote.js';
import { trackResource, untrackResource, type TrackedResource } from './cleanup.js';
import { parseServerVersion } from './cluster.js';
import type { DisposablePostgres, PostgresProvider, StartOptions } from './provider.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** Scratch databases are named alembic_guard_<12 hex>: unique per check, so concurrent checks on one server never meet. */
export const SCRATCH_PREFIX = 'alembic_guard_';

/** The parts of a postgresql:// URL a check uses. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The database named in the URL: used only to create and drop the scratch database. */
  readonly database: string;
  /** The URL with the password masked, for messages. */
  readonly display: string;
}

/** Parses postgresql://, postgres:// and SQLAlchemy's postgresql+driver:// URLs; anything else is a UserError. */
export function parseServerUrl(text: string): ServerAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--database-url: not a URL. Give postgresql://user:password@host:port/dbname.`);
  }
  if (!/^postgres(ql)?(\+[a-z0-9_]+)?:$/i.test(url.protocol)) {
    throw new UserError(`--database-url ${mask(url)}: expected a postgresql:// URL (postgresql://user:password@host:port/dbname).`);
  }
  if (!url.hostname) throw new UserError(`--database-url ${mask(url)}: the URL names no host.`);
  const user = decodeURIComponent(url.username) || 'postgres';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 5432,
    user,
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || user,
    display: mask(url),
  };
}

function mask(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

export function createUrlProvider(databaseUrl: string | undefined): PostgresProvider {
  return {
    name: 'url',
    async unavailableReason(): Promise<string | null> {
      return databaseUrl ? null : '--database url needs --database-url';
    },
    async start(options: StartOptions): Promise<DisposablePostgres> {
      if (!databaseUrl) throw new UserError('--database url needs --database-url postgresql://user:password@host:port/dbname.');
      return startOnServer(parseServerUrl(databaseUrl), options);
    },
  };
}

async function startOnServer(server: ServerAddress, options: StartOptions): Promise<DisposablePostgres> {
  const requestedAt = performance.now();
  const scratch = `${SCRATCH_PREFIX}${randomBytes(6).toString('hex')}`;
  let version: string;
  const admin = await client(server, server.database);
  try {
    await admin.connect();
  } catch (error) {
    throw new UserError(
      `--database-url ${server.display}: cannot connect (${messageOf(error)}). Check the host, port, user, password and ` +
        'database of the URL, and that the server accepts connections from here.',
    );
  }
  try {
    const { rows } = await admin.query<{ version: string; server_version_num: string }>(
      "select version(), current_setting('server_version_num') as server_version_num",
    );
    version = parseServerVersion(rows[0]?.version.replace(/^PostgreSQL/, '(PostgreSQL)') ?? '') ?? 'unknown';
    const major = Math.floor(Number(rows[0]?.server_version_num) / 10_000);
    if (options.postgresVersion !== undefined && major !== options.postgresVersion) {
      throw new UserError(
        `--postgres-version ${options.postgresVersion} asks for Postgres ${options.postgresVersion}, but the server of ` +
          `--database-url ${server.display} runs Postgres ${version}. Point --database-url at a Postgres ${options.postgresVersion} server, or change --postgres-version.`,
      );
    }
    if (major < 13) {
      // recreate.ts and the final drop use DROP DATABASE ... WITH (FORCE), new in 13.
      throw new UserError(`--database-url ${server.display} runs Postgres ${version}; alembic-guard needs Postgres 13 or later.`);
    }
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
    } catch (error) {
      throw new UserError(
        `--database-url ${server.display}: cannot create the scratch database ${scratch} (${messageOf(error)}). alembic-guard ` +
          `never runs migrations in the database named in the URL (${server.database}): it needs a user that may create ` +
          `databases (\`ALTER ROLE ${quoteIdent(server.user)} CREATEDB\`), or use --database auto, testcontainers, binaries or embedded.`,
      );
    }
  } finally {
    await admin.end().catch(() => {});
  }

  const siblings: string[] = [];
  const dropAll = async () => {
    for (const database of [...siblings, scratch]) await dropScratchDatabase(server, database);
  };
  const tracked = trackResource({ description: `scratch database ${scratch} on ${server.display}`, stopAsync: dropAll });
  const handle = new ScratchDatabase(server, scratch, version, (performance.now() - requestedAt) / 1000, tracked, siblings, dropAll);
  options.log(
    `postgres: url ${version} (${server.display}), scratch database ${scratch} created in ${handle.startSeconds.toFixed(2)} s`,
  );
  return handle;
}

class ScratchDatabase implements DisposablePostgres {
  readonly provider = 'url' as const;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The database named in the URL: only CREATE/DROP DATABASE of the scratch database run there. */
  readonly maintenanceDatabase: string;
  #stopping: Promise<void> | undefined;

  constructor(
    server: ServerAddress,
    readonly database: string,
    readonly serverVersion: string,
    readonly startSeconds: number,
    private readonly tracked: TrackedResource,
    private readonly siblings: string[],
    private readonly dropAll: () => Promise<void>,
  ) {
    this.host = server.host;
    this.port = server.port;
    this.user = server.user;
    this.password = server.password;
    this.maintenanceDatabase = server.database;
  }


  dropsWithIt(database: string): void {
    this.siblings.push(database);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.tracked.removed) return;
    try {
      await this.dropAll();
    } finally {
      untrackResource(this.tracked);
    }
  }
}

/** DROP DATABASE ... WITH (FORCE): the project's engine may still hold connections. */
export async function dropScratchDatabase(server: ServerAddress, scratch: string): Promise<void> {
  if (!scratch.startsWith(SCRATCH_PREFIX) || scratch === server.database) {
    throw new Error(`refusing to drop ${scratch}: not a scratch database of alembic-guard`);
  }
  const admin = await client(server, server.database);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/** pg is loaded on first use: start.ts (and the providers that never need a client) stay light. */
async function client(server: ServerAddress, database: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  return new pgModule.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    application_name: 'alembic-guard',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
