// Provider `testcontainers`: one Postgres container per check (@testcontainers/postgresql), data on tmpfs, removed on every exit path.
//
// testcontainers is imported lazily: it needs Node >= 22.22 (the action runs on Node 24; the CLI still runs on Node 20
// with the other providers), and loading it costs ~0.3 s that a check without Docker should not pay.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { isUserError, UserError } from '../errors.js';
import { trackResource, untrackResource, type TrackedResource } from './cleanup.js';
import { parseServerVersion } from './cluster.js';
import type { DisposablePostgres, PostgresProvider, StartOptions } from './provider.js';

/** The image when neither `postgres-image` nor `--postgres-version` says otherwise: the current major, alpine variant. */
export const DEFAULT_MAJOR = 18;
export const SCRATCH_DATABASE = 'alembic_guard';
const SUPERUSER = 'postgres';
const MINIMUM_NODE = [22, 22] as const;
const ANSWER_TIMEOUT_MS = 10_000;
const STARTUP_TIMEOUT_MS = 120_000;
const LABEL = 'dev.alembic-guard.check';
/**
 * The data directory, inside a tmpfs mounted on /var/lib/postgresql. Not the image's default PGDATA: images before 18
 * declare VOLUME /var/lib/postgresql/data, which Docker would mount (on disk) over a tmpfs at the parent; 18 declares
 * VOLUME /var/lib/postgresql, which the tmpfs replaces.
 */
const TMPFS = '/var/lib/postgresql';
const PGDATA = `${TMPFS}/alembic-guard`;
/** Durability is worthless for a database removed in a minute; UTC because the replay must not depend on a zone. */
const SERVER_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'timezone=UTC'];

/** postgres:18-alpine, or the image the user gave; a tag whose major contradicts --postgres-version is refused. */
export function imageFor(options: Pick<StartOptions, 'postgresImage' | 'postgresVersion'>): string {
  const image = options.postgresImage?.trim();
  if (!image) return `postgres:${options.postgresVersion ?? DEFAULT_MAJOR}-alpine`;
  const tagMajor = majorOfImageTag(image);
  if (options.postgresVersion !== undefined && tagMajor !== undefined && tagMajor !== options.postgresVersion) {
    throw new UserError(
      `--postgres-image ${image} is Postgres ${tagMajor} by its tag, but --postgres-version asks for ${options.postgresVersion}. ` +
        'Give one of them, or make them agree.',
    );
  }
  return image;
}

/** postgres:16, postgres:16.4-alpine, postgis/postgis:17-3.5 -> the major; latest, a digest or no tag -> undefined. */
export function majorOfImageTag(image: string): number | undefined {
  const tag = /:(\d+)(?:[.-][^/:@]*)?$/.exec(image.replace(/@sha256:[0-9a-f]+$/i, ''));
  return tag ? Number(tag[1]) : undefined;
}

export function createTestcontainersProvider(env: NodeJS.ProcessEnv = process.env): PostgresProvider {
  return {
    name: 'testcontainers',
    unavailableReason: () => dockerUnavailableReason(env),
    async start(options: StartOptions): Promise<DisposablePostgres> {
      const requestedAt = performance.now();
      const image = imageFor(options);
      const reason = await dockerUnavailableReason(env);
      if (reason) {
        throw new UserError(
          `--database testcontainers: ${reason}. Start Docker (or set DOCKER_HOST to an engine that answers), or use ` +
            '--database auto, binaries or embedded.',
        );
      }
      return startContainer(image, options, requestedAt);
    },
  };
}

export const testcontainersProvider: PostgresProvider = createTestcontainersProvider();

/** Why no container can be started here, or null. Cheap when there is obviously no engine: no import, no connection. */
export async function dockerUnavailableReason(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1])) {
    return `testcontainers needs Node ${MINIMUM_NODE.join('.')} or later and this is Node ${process.versions.node}`;
  }
  const hint = engineHint(env);
  if (!hint) return 'no Docker engine: DOCKER_HOST is not set and /var/run/docker.sock does not exist';
  try {
    const { getContainerRuntimeClient } = await loadRuntime();
    await withTimeout(getContainerRuntimeClient(), ANSWER_TIMEOUT_MS, `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
    return null;
  } catch (error) {
    return `no Docker engine answers at ${hint} (${firstLine(error)})`;
  }
}

/** Where testcontainers would look for an engine, or undefined when there is nothing to try (its strategies, in short). */
function engineHint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`;
  if (env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE || env.TESTCONTAINERS_HOST_OVERRIDE) return 'the TESTCONTAINERS_* override';
  const home = env.HOME ?? homedir();
  if (existsSync(join(home, '.testcontainers.properties'))) return '~/.testcontainers.properties';
  const sockets = [
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    join(home, '.docker', 'run', 'docker.sock'),
    join(home, '.docker', 'desktop', 'docker.sock'),
    process.getuid ? `/run/user/${process.getuid()}/docker.sock` : '',
  ].filter(Boolean);
  return sockets.find((socket) => existsSync(socket));
}

async function startContainer(image: string, options: StartOptions, requestedAt: number): Promise<DisposablePostgres> {
  const { PostgreSqlContainer, getContainerRuntimeClient } = await loadRuntime();
  const engine = engineAddress((await getContainerRuntimeClient()).container.dockerode.modem as ModemOptions);
  const session = randomBytes(8).toString('hex');
  const password = randomBytes(12).toString('hex');
  // Registered before the container exists: a Ctrl-C during the start removes whatever carries the label by then.
  const tracked = trackResource({
    description: `container labelled ${LABEL}=${session} (${image})`,
    stopSync: () => removeLabelledContainersSync(engine, session),
  });

  let started: Awaited<ReturnType<InstanceType<typeof PostgreSqlContainer>['start']>>;
  try {
    started = await new PostgreSqlContainer(image)
      .withDatabase(SCRATCH_DATABASE)
      .withUsername(SUPERUSER)
      .withPassword(password)
      .withEnvironment({ PGDATA })
      .withTmpFs({ [TMPFS]: 'rw' })
      .withCommand(['postgres', ...SERVER_SETTINGS.flatMap((setting) => ['-c', setting])])
      .withLabels({ [LABEL]: session })
      .withStartupTimeout(STARTUP_TIMEOUT_MS)
      .start();
  } catch (error) {
    removeLabelledContainersSync(engine, session);
    untrackResource(tracked);
    throw new UserError(
      `The Postgres container (${image}) did not start: ${firstLine(error)}. ` +
        (/pull|manifest|not found|no such image|registry|getaddrinfo|denied/i.test(String(error))
          ? 'The image cannot be found or pulled: pull it yourself, give another with --postgres-image, or '
          : 'Check the engine (`docker info`) and the image, or ') +
        'use --database binaries or embedded.',
    );
  }
  if (tracked.removed) {
    // cleanup.ts ran (Ctrl-C) while the container was starting.
    await started.stop({ timeout: 0, remove: true, removeVolumes: true }).catch(() => {});
    throw new UserError('The Postgres start was interrupted.');
  }

  const handle = new PostgresContainer(started, tracked, requestedAt);
  try {
    await handle.readVersion();
  } catch (error) {
    await handle.stop();
    throw new UserError(`The Postgres container (${image}) started but does not answer queries: ${firstLine(error)}.`);
  }
  options.log(`postgres: testcontainers ${handle.serverVersion} (${image}), ready in ${handle.startSeconds.toFixed(2)} s`);
  return handle;
}

interface StartedContainer {
  getHost(): string;
  getPort(): number;
  getId(): string;
  stop(options?: { timeout?: number; remove?: boolean; removeVolumes?: boolean }): Promise<unknown>;
}

class PostgresContainer implements DisposablePostgres {
  readonly provider = 'testcontainers' as const;
  readonly host: string;
  readonly port: number;
  readonly user = SUPERUSER;
  readonly password: string;
  readonly database = SCRATCH_DATABASE;
  readonly containerId: string;
  serverVersion = '';
  #startSeconds = 0;
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly container: StartedContainer & { getPassword(): string },
    private readonly tracked: TrackedResource,
    private readonly requestedAt: number,
  ) {
    // The engine's host may be "localhost", which can resolve to ::1 while the port is published on IPv4 only.
    const host = container.getHost();
    this.host = host === 'localhost' ? '127.0.0.1' : host;
    this.port = container.getPort();
    this.password = container.getPassword();
    this.containerId = container.getId();
  }

  get startSeconds(): number {
    return this.#startSeconds;
  }

  /** The server's own version ("15.18"); the first query also proves the scratch database is there. */
  async readVersion(): Promise<void> {
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({ host: this.host, port: this.port, user: this.user, password: this.password, database: this.database });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('select version()');
      this.serverVersion = parseServerVersion(rows[0]?.version.replace(/^PostgreSQL/, '(PostgreSQL)') ?? '') ?? 'unknown';
    } finally {
      await client.end();
    }
    this.#startSeconds = (performance.now() - this.requestedAt) / 1000;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.tracked.removed) return; // removed by cleanup.ts (signal or exit)
    try {
      // timeout 0: no graceful shutdown, nothing in it is worth keeping; the tmpfs and any volume go with it.
      await this.container.stop({ timeout: 0, remove: true, removeVolumes: true });
    } finally {
      untrackResource(this.tracked);
    }
  }
}

/** How to reach the engine without dockerode: what a child process needs to remove containers synchronously. */
interface EngineAddress {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
  /** https and ssh engines need TLS or SSH material: left to the docker CLI. */
  readonly viaCli: boolean;
}

interface ModemOptions {
  socketPath?: string;
  host?: string;
  port?: number | string;
  protocol?: string;
}

function engineAddress(modem: ModemOptions): EngineAddress {
  if (modem.socketPath) return { socketPath: modem.socketPath, viaCli: false };
  if (modem.host && (modem.protocol ?? 'http') === 'http') return { host: modem.host, port: Number(modem.port ?? 2375), viaCli: false };
  return { viaCli: true };
}

/**
 * Force-removes (with volumes) every container labelled with this session, without returning to the event loop: a
 * child Node process talks to the engine's API, so no docker CLI is needed. Used on Ctrl-C, on exit and after a
 * failed start (which may leave a created container behind).
 */
function removeLabelledContainersSync(engine: EngineAddress, session: string): void {
  const filter = `${LABEL}=${session}`;
  if (engine.viaCli) {
    const list = spawnSync('docker', ['ps', '-aq', '--filter', `label=${filter}`], { encoding: 'utf8', timeout: 10_000 });
    const ids = (list.stdout ?? '').split(/\s+/).filter(Boolean);
    if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore', timeout: 20_000 });
    return;
  }
  const result = spawnSync(process.execPath, ['-e', REMOVE_SCRIPT, JSON.stringify({ ...engine, filter })], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (result.status !== 0) throw new Error(`removing the container failed: ${result.stderr?.trim() || result.error?.message || `exit ${result.status}`}`);
}

/** Lists the labelled containers and DELETEs each (force, with volumes) through the Docker Engine API. */
const REMOVE_SCRIPT = `
const http = require('node:http');
const target = JSON.parse(process.argv[1]);
const call = (method, path) => new Promise((resolve, reject) => {
  const request = http.request({ socketPath: target.socketPath, host: target.host, port: target.port, method, path }, (response) => {
    let body = '';
    response.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () =>
      response.statusCode < 300 || response.statusCode === 404 ? resolve(body) : reject(new Error(method + ' ' + path + ': ' + response.statusCode + ' ' + body)));
  });
  request.on('error', reject);
  request.end();
});
(async () => {
  const filters = encodeURIComponent(JSON.stringify({ label: [target.filter] }));
  const containers = JSON.parse(await call('GET', '/containers/json?all=1&filters=' + filters));
  for (const container of containers) await call('DELETE', '/containers/' + container.Id + '?force=1&v=1');
})().catch((error) => { process.stderr.write(String(error.message)); process.exit(1); });
`;

type Runtime = typeof import('./testcontainers-runtime.js');
let runtime: Promise<Runtime> | undefined;

/**
 * testcontainers-runtime.ts: from the bundle, the file the build puts beside it (dist/testcontainers.js); from the
 * sources, the module itself. The specifier is a variable so that esbuild leaves it out of the CLI's bundle.
 */
function loadRuntime(): Promise<Runtime> {
  runtime ??= (async () => {
    const beside = new URL('./testcontainers.js', import.meta.url);
    const bundled = beside.protocol === 'file:' && existsSync(fileURLToPath(beside)) && !import.meta.url.endsWith('.ts');
    const specifier = bundled ? beside.href : './testcontainers-runtime.js';
    return (await import(specifier)) as Runtime;
  })();
  return runtime;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function firstLine(error: unknown): string {
  if (isUserError(error)) return error.message;
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}
