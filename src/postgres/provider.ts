// The contract every disposable-Postgres provider fulfils: start a server, hand back a running handle, stop it.

export type ProviderName = 'testcontainers' | 'binaries' | 'embedded' | 'url';
export type DatabaseChoice = 'auto' | ProviderName;

/** A running Postgres with one empty database that belongs to this check. */
export interface DisposablePostgres {
  readonly provider: ProviderName;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The scratch database migrations run in; created by this check. */
  readonly database: string;
  /** Server version as reported by the server binaries, e.g. "15.18". */
  readonly serverVersion: string;
  /** Seconds from the start request to accepting connections. */
  readonly startSeconds: number;
  /** Where CREATE/DROP DATABASE of the scratch database run; `postgres` when unset. */
  readonly maintenanceDatabase?: string;
  /**
   * Only on a server that is not the check's own (`url`): a database created beside the scratch one (see
   * createSiblingDatabase), dropped with it.
   */
  dropsWithIt?(database: string): void;
  /** Stops the server (or drops the scratch database) and deletes what it created. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Postgres major version wanted; undefined = whatever the provider has. */
  postgresVersion?: number;
  /** The image for `testcontainers` (e.g. postgis/postgis:17-3.5); undefined = postgres:<version>-alpine. */
  postgresImage?: string;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
}

export interface PostgresProvider {
  readonly name: ProviderName;
  /** Why this provider cannot run here, or null when it can. Cheap: no server is started. */
  unavailableReason(options: StartOptions): Promise<string | null>;
  start(options: StartOptions): Promise<DisposablePostgres>;
}

/** postgresql://user:password@host:port/database, with an optional SQLAlchemy driver (`postgresql+psycopg`). */
export function connectionUrl(pg: DisposablePostgres, scheme = 'postgresql'): string {
  const auth = pg.password
    ? `${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}`
    : encodeURIComponent(pg.user);
  return `${scheme}://${auth}@${pg.host}:${pg.port}/${encodeURIComponent(pg.database)}`;
}
