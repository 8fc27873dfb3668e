// Posting to the pull request against the fake GitHub: stickiness, no duplicate inline comments, the fallbacks, the limits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishToPullRequest, type PublishRequest } from '../../src/action/publish.js';
import type { Finding } from '../../src/findings.js';
import { describeRequestError, GitHubClient, type GitHubRequestError } from '../../src/github/client.js';
import { findingId } from '../../src/github/review-comments.js';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { finding, makeReport, passingReport } from '../report/fixtures.js';
import type { Report } from '../../src/report/report.js';

const HEAD = 'a'.repeat(40);
const NEW_FILE = 'migrations/versions/004_add_status.py';
const OLD_FILE = 'migrations/versions/003_add_phone_to_users.py';

/** A new migration (all 30 lines in the diff) and an edited old one whose hunk shows lines 19 to 25. */
const FILES = [
  { filename: NEW_FILE, status: 'added' as const, patch: `@@ -0,0 +1,30 @@\n${Array.from({ length: 30 }, (_, i) => `+line ${i + 1}`).join('\n')}` },
  { filename: OLD_FILE, status: 'modified' as const, patch: '@@ -19,7 +19,7 @@ def upgrade():\n a\n b\n c\n-d\n+D\n e\n f\n g' },
];

const IN_DIFF = finding({ rule: 'not-null-without-default', severity: 'error', message: 'Adds `posts.status` NOT NULL.', file: NEW_FILE, line: 16, suggestion: 'Add it nullable first.' });
const EDITED = finding({ rule: 'edited-migration', severity: 'error', message: 'Edited.', file: OLD_FILE, line: 22 });
const OUTSIDE = finding({ rule: 'edited-migration', severity: 'error', message: 'Edited far away.', file: OLD_FILE, line: 80 });
const NO_LINE = finding({ rule: 'missing-migration', severity: 'error', message: 'A migration is missing.' });

let fake: FakeGitHub;
const logs: string[] = [];

beforeEach(async () => {
  fake = await startFakeGitHub({ tokens: { writer: 'write', reader: 'read' } });
  fake.addPullRequest({ number: 7, headSha: HEAD, files: FILES });
  logs.length = 0;
});
afterEach(async () => {
  await fake.stop();
});

function client(token = 'writer'): GitHubClient {
  return new GitHubClient({ token, apiUrl: fake.url, repository: { owner: 'octo-org', repo: 'blog' }, log: (line) => logs.push(line), timeScale: 0.001 });
}

function publish(report: Report | { error: string }, overrides: Partial<PublishRequest> = {}) {
  return publishToPullRequest({
    client: client(),
    pullRequest: { number: 7, baseSha: 'b'.repeat(40), headSha: HEAD, fromFork: false },
    outcome: 'status' in report ? { report } : report,
    comment: 'always',
    reviewComments: true,
    commentKey: 'alembic.ini',
    runUrl: 'https://github.com/octo-org/blog/actions/runs/1',
    log: (line) => logs.push(line),
    ...overrides,
  });
}

const failing = (findings: Finding[]) => makeReport({ findings });

describe('the sticky comment', () => {
  it('is created once, then updated in place on every run (never a second one)', async () => {
    const first = await publish(failing([NO_LINE]));
    expect(fake.commentsOn(7)).toHaveLength(1);
    const [comment] = fake.commentsOn(7);
    expect(first.commentUrl).toBe(comment.html_url);
    expect(comment.body.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error');
    expect(comment.body.trimEnd().split('\n').pop()).toBe('<!-- alembic-guard:comment key=alembic.ini findings=1 -->');

    await publish(failing([NO_LINE, EDITED]));
    expect(fake.commentsOn(7)).toHaveLength(1);
    expect(fake.commentsOn(7)[0].id).toBe(comment.id);
    expect(fake.commentsOn(7)[0].body.split('\n')[0]).toBe('### ❌ alembic-guard: 2 errors');
    expect(fake.writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      'POST /repos/octo-org/blog/issues/7/comments',
      'POST /repos/octo-org/blog/pulls/7/reviews',
      `PATCH /repos/octo-org/blog/issues/comments/${comment.id}`,
    ]);
  });

  it('says so when the pull request becomes clean', async () => {
    await publish(failing([NO_LINE, EDITED]));
    await publish(passingReport({ newRevisions: [] }));
    const [comment] = fake.commentsOn(7);
    expect(comment.body.split('\n')[0]).toBe('### ✅ alembic-guard: migrations and models agree');
    expect(comment.body).toContain('All 2 findings reported earlier on this pull request are fixed.');
    expect(comment.body).toContain('findings=0 -->');
  });

  it('finds its comment across pages of other comments, and leaves a person\'s copy of the marker alone', async () => {
    fake.maxPerPage = 2;
    for (let i = 0; i < 3; i++) fake.seedIssueComment(7, `LGTM ${i}`, { login: 'alice', type: 'User' });
    const pasted = fake.seedIssueComment(7, 'quoting: <!-- alembic-guard:comment key=alembic.ini findings=9 -->', { login: 'mallory', type: 'User' });
    const ours = fake.seedIssueComment(7, 'old\n<!-- alembic-guard:comment key=alembic.ini findings=1 -->');
    await publish(failing([NO_LINE]));
    expect(fake.requests.filter((r) => r.path.endsWith('/issues/7/comments') && r.method === 'GET').map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    expect(fake.commentsOn(7)).toHaveLength(5);
    expect(fake.commentsOn(7).find((c) => c.id === pasted.id)!.body).toContain('quoting');
    expect(fake.commentsOn(7).find((c) => c.id === ours.id)!.body.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error');
  });

  it('keeps one comment per project: another key is another comment', async () => {
    await publish(failing([NO_LINE]), { commentKey: 'services/api/alembic.ini' });
    await publish(failing([NO_LINE]), { commentKey: 'services/billing/alembic.ini' });
    await publish(failing([NO_LINE]), { commentKey: 'services/api/alembic.ini' });
    expect(fake.commentsOn(7).map((c) => /key=(\S+)/.exec(c.body)![1])).toEqual(['services/api/alembic.ini', 'services/billing/alembic.ini']);
  });

  it('with comment: on-findings, posts nothing for a clean PR but still updates an existing comment', async () => {
    await publish(passingReport({ newRevisions: [] }), { comment: 'on-findings' });
    expect(fake.commentsOn(7)).toHaveLength(0);
    await publish(failing([NO_LINE]), { comment: 'on-findings' });
    await publish(passingReport({ newRevisions: [] }), { comment: 'on-findings' });
    expect(fake.commentsOn(7)).toHaveLength(1);
    expect(fake.commentsOn(7)[0].body).toContain('is fixed');
  });

  it('says when the check could not run', async () => {
    await publish(failing([NO_LINE]));
    await publish({ error: 'No alembic.ini in /work/x.' });
    const [comment] = fake.commentsOn(7);
    expect(comment.body.split('\n')[0]).toBe('### ⚠️ alembic-guard: the check could not run');
    expect(comment.body).toContain('No alembic.ini in /work/x.');
    // The count of the last judged run is kept, so that a fix after the error still reads as one.
    expect(comment.body).toContain('findings=1 -->');
  });

  it('cuts a body over 65,536 characters cleanly, with a pointer to the job summary (GitHub would answer 422)', async () => {
    const huge = 'op.add_column("t", sa.Column("c", sa.Integer()))\n'.repeat(2_000);
    const result = await publish(makeReport({ findings: [NO_LINE], missingMigration: { upgrade: huge, downgrade: huge } }));
    expect(result.problem).toBeNull();
    const [comment] = fake.commentsOn(7);
    expect(comment.body.length).toBeLessThanOrEqual(65_536);
    expect(comment.body).toContain("_This comment is cut to fit GitHub's limit of 65,536 characters: the whole report is in the [job summary](https://github.com/octo-org/blog/actions/runs/1)._");
    expect(comment.body).not.toContain('op.add_column("t"');
    expect(comment.body.split('\n')[0]).toBe('### ❌ alembic-guard: 1 error');
  });
});

describe('inline review comments', () => {
  it('posts one review (event COMMENT, on the head commit) with a comment on each finding line in the diff', async () => {
    const result = await publish(failing([IN_DIFF, EDITED, NO_LINE]));
    const reviews = fake.reviews.get(7)!;
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ event: 'COMMENT', commit_id: HEAD });
    expect(reviews[0].comments.map((c) => [c.path, c.line, c.side])).toEqual([
      [NEW_FILE, 16, 'RIGHT'],
      [OLD_FILE, 22, 'RIGHT'],
    ]);
    const body = reviews[0].comments[0].body;
    expect(body.split('\n')[0]).toBe('**❌ error** `not-null-without-default` — Adds `posts.status` NOT NULL.');
    expect(body).toContain('<details><summary>Suggestion</summary>\n\nAdd it nullable first.');
    expect(body.trimEnd().endsWith(`<!-- alembic-guard:review id=${findingId(IN_DIFF)} -->`)).toBe(true);
    expect(result.reviewComments).toBe(2);
    expect(result.notInline).toEqual([]);
  });

  it('never posts the same comment twice: a re-run posts only what is new, and no review when nothing is', async () => {
    await publish(failing([IN_DIFF]));
    await publish(failing([IN_DIFF]));
    expect(fake.reviews.get(7)).toHaveLength(1);
    await publish(failing([IN_DIFF, EDITED]));
    expect(fake.reviews.get(7)).toHaveLength(2);
    expect(fake.reviews.get(7)![1].comments.map((c) => c.line)).toEqual([22]);
    expect(fake.reviewComments.get(7)).toHaveLength(2);
    expect(logs).toContain('review: 1 inline comment(s) already on the pull request from an earlier run, not posted again');
  });

  it('puts a finding on a line outside the diff into the sticky comment, without asking GitHub', async () => {
    const result = await publish(failing([IN_DIFF, OUTSIDE]));
    expect(result.notInline).toEqual([OUTSIDE]);
    expect(fake.reviews.get(7)![0].comments.map((c) => c.line)).toEqual([16]);
    expect(fake.requests.filter((r) => r.status === 422)).toEqual([]);
    expect(fake.commentsOn(7)[0].body).toContain(
      "This finding is on a line that the pull request's diff does not show, so there is no inline comment for it:\n\n" +
        `- \`${OLD_FILE}:80\` \`edited-migration\`: Edited far away.`,
    );
  });

  it('falls back to the sticky comment when GitHub still refuses the review (422), without failing', async () => {
    // GitHub's diff moved between listing the files and posting (a push during the run): the fake now shows another hunk.
    fake.pullRequests.get(7)!.files = [FILES[0], { ...FILES[1], patch: '@@ -1,3 +1,3 @@\n-a\n+A\n b\n c' }];
    const result = await publishWithStaleFiles();
    expect(result.problem).toBeNull();
    // GitHub does not say which comment it refused: the review's findings all go into the sticky comment.
    expect(result.notInline).toEqual([IN_DIFF, EDITED]);
    expect(fake.requests.filter((r) => r.path.endsWith('/reviews')).map((r) => r.status)).toEqual([422]);
    expect(fake.reviews.get(7)).toBeUndefined();
    expect(fake.commentsOn(7)[0].body).toContain(`- \`${OLD_FILE}:22\` \`edited-migration\`: Edited.`);
    expect(logs.some((line) => line.includes('GitHub refused the inline comments (422 Unprocessable Entity: Pull request review thread line must be part of the diff'))).toBe(true);
  });

  it('retries a 502 and a secondary rate limit, then posts once', async () => {
    fake.failNext('POST', /\/pulls\/7\/reviews$/, 502);
    fake.failNext('POST', /\/issues\/7\/comments$/, 403, {
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      headers: { 'retry-after': '1' },
    });
    const result = await publish(failing([IN_DIFF]));
    expect(result.problem).toBeNull();
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => `${r.status} ${r.path}`)).toEqual([
      '502 /repos/octo-org/blog/pulls/7/reviews',
      '200 /repos/octo-org/blog/pulls/7/reviews',
      '403 /repos/octo-org/blog/issues/7/comments',
      '201 /repos/octo-org/blog/issues/7/comments',
    ]);
    expect(fake.reviews.get(7)).toHaveLength(1);
    expect(fake.commentsOn(7)).toHaveLength(1);
  });

  it('gives up on a server that keeps failing, says what was not posted, and posts the rest', async () => {
    fake.failNext('POST', /\/pulls\/7\/reviews$/, 503, { times: 10 });
    const result = await publish(failing([IN_DIFF]));
    expect(fake.requests.filter((r) => r.path.endsWith('/reviews')).length).toBe(4); // the first try and 3 retries
    expect(result.problem?.level).toBe('warning');
    expect(result.problem?.message).toMatch(/^Part of the report was not posted to pull request #7: Posting the review failed: GitHub answered 503/);
    expect(fake.commentsOn(7)).toHaveLength(1);
  });
});

describe('tokens that cannot write', () => {
  it('a read-only token: reads, is refused on the first write, stops there and says why', async () => {
    const result = await publish(failing([IN_DIFF, NO_LINE]), { client: client('reader'), pullRequest: { number: 7, baseSha: 'b'.repeat(40), headSha: HEAD, fromFork: true } });
    expect(fake.writes().map((w) => `${w.status} ${w.method} ${w.path}`)).toEqual(['403 POST /repos/octo-org/blog/pulls/7/reviews']);
    expect(result.problem).toEqual({
      level: 'notice',
      message:
        'Nothing was posted to pull request #7: GitHub answered 403 Resource not accessible by integration (POST /repos/octo-org/blog/pulls/7/reviews). ' +
        'This pull request comes from a fork, and GitHub gives workflows run for forks a read-only token. ' +
        'The verdict, the annotations and the job summary do not depend on it.',
    });
  });

  it('a read-only token on a branch of the same repository: the missing permission is named', async () => {
    const result = await publish(failing([NO_LINE]), { client: client('reader') });
    expect(result.problem?.level).toBe('warning');
    expect(result.problem?.message).toContain('give the job `permissions: pull-requests: write`');
  });

  it('a bad token: 401 on the first request, nothing more is tried', async () => {
    const result = await publish(failing([IN_DIFF]), { client: client('nonsense') });
    expect(fake.requests.map((r) => `${r.status} ${r.method}`)).toEqual(['401 GET']);
    expect(result.problem?.message).toContain('GitHub answered 401 Bad credentials');
    expect(result.problem?.message).toContain('The `github-token` input is not a valid token.');
  });
});

/** Posts with the files GitHub listed before its diff changed (so the review is planned on lines it no longer shows). */
async function publishWithStaleFiles() {
  const stale = FILES;
  const fresh = fake.pullRequests.get(7)!.files;
  const planning = client();
  const original = planning.listPullRequestFiles.bind(planning);
  planning.listPullRequestFiles = async (n: number) => {
    await original(n);
    return stale;
  };
  fake.pullRequests.get(7)!.files = fresh;
  return publish(failing([IN_DIFF, EDITED]), { client: planning });
}

describe('the fake GitHub', () => {
  it('refuses a body over 65,536 characters as GitHub does (422), which the comment cut avoids', async () => {
    const error = await client().createIssueComment(7, 'x'.repeat(65_537)).catch((e: unknown) => e);
    expect(describeRequestError(error as GitHubRequestError)).toBe(
      '422 Validation Failed: body is too long (maximum is 65536 characters) (POST /repos/octo-org/blog/issues/7/comments)',
    );
    await expect(client().createIssueComment(7, 'x'.repeat(65_536))).resolves.toMatchObject({ id: expect.any(Number) });
  });
});
