// A local HTTP server that answers like GitHub's REST API for the endpoints the action uses, and records every request.
//
// Issue comments (list, create, update), pull request review comments (list), reviews (create) and pull request files
// (list), with GitHub's status codes: 401 for an unknown token, 403 "Resource not accessible by integration" when a
// read-only token writes, 422 for a review comment on a line outside the diff and for a body over 65,536 characters,
// 404 for an unknown route or object, pagination with a Link header, and failures injected on demand (502, rate limits).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUser {
  login: string;
  type: 'Bot' | 'User';
}

export interface FakeComment {
  id: number;
  body: string;
  user: FakeUser;
  html_url: string;
  created_at: string;
  updated_at: string;
}

export interface FakeReviewComment {
  id: number;
  pull_request_review_id: number;
  body: string;
  path: string;
  line: number | null;
  side: string;
  commit_id: string;
  user: FakeUser;
}

export interface FakeReview {
  id: number;
  body: string;
  event: string;
  commit_id: string;
  comments: { path: string; line: number; side?: string; body: string }[];
}

export interface FakeFile {
  filename: string;
  status: 'added' | 'modified' | 'removed' | 'renamed';
  patch?: string;
}

export interface FakePullRequest {
  number: number;
  headSha: string;
  files: FakeFile[];
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  token: string | null;
  body: any;
  status: number;
}

interface InjectedFailure {
  method: string;
  path: RegExp;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  times: number;
}

export const BODY_LIMIT = 65_536;
const BOT: FakeUser = { login: 'github-actions[bot]', type: 'Bot' };

/** The line numbers on the new side of a unified diff's hunks (written apart from the action's own parser). */
function newSideLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let line = -1;
  for (const text of patch.split('\n')) {
    const hunk = text.match(/^@@ -[0-9,]+ \+(\d+)/);
    if (hunk) line = Number(hunk[1]);
    else if (line >= 0 && (text[0] === '+' || text[0] === ' ')) lines.add(line++);
  }
  return lines;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly issueComments = new Map<number, FakeComment[]>();
  readonly reviewComments = new Map<number, FakeReviewComment[]>();
  readonly reviews = new Map<number, FakeReview[]>();
  readonly pullRequests = new Map<number, FakePullRequest>();
  /** token -> what it may do. */
  readonly tokens = new Map<string, 'write' | 'read'>();
  /** Items per page at most (GitHub: 100); small values exercise pagination. */
  maxPerPage = 100;
  private failures: InjectedFailure[] = [];
  private nextId = 1000;
  private server: Server | null = null;
  url = '';

  constructor(readonly owner = 'octo-org', readonly repo = 'blog') {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) => {
        response.statusCode = 500;
        response.end(JSON.stringify({ message: `fake-github bug: ${(error as Error).stack}` }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  addPullRequest(pr: FakePullRequest): void {
    this.pullRequests.set(pr.number, pr);
  }

  /** A comment as someone else wrote it (a person, or this bot in an earlier run). */
  seedIssueComment(issue: number, body: string, user: FakeUser = BOT): FakeComment {
    return this.storeComment(issue, body, user);
  }

  /** The next `times` requests matching method and path get this answer instead. */
  failNext(method: string, path: RegExp, status: number, options: { body?: unknown; headers?: Record<string, string>; times?: number } = {}): void {
    this.failures.push({
      method,
      path,
      status,
      body: options.body ?? { message: status >= 500 ? 'Server Error' : 'Error' },
      headers: options.headers ?? {},
      times: options.times ?? 1,
    });
  }

  /** Requests that changed something (POST, PATCH), in order. */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method !== 'GET');
  }

  commentsOn(issue: number): FakeComment[] {
    return this.issueComments.get(issue) ?? [];
  }

  private storeComment(issue: number, body: string, user: FakeUser): FakeComment {
    const id = this.nextId++;
    const now = new Date().toISOString();
    const comment: FakeComment = {
      id,
      body,
      user,
      html_url: `https://github.com/${this.owner}/${this.repo}/pull/${issue}#issuecomment-${id}`,
      created_at: now,
      updated_at: now,
    };
    const list = this.issueComments.get(issue) ?? [];
    list.push(comment);
    this.issueComments.set(issue, list);
    return comment;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    let raw = '';
    for await (const chunk of request) raw += chunk;
    let body: any = null;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.send(response, request, url, body, 400, { message: 'Problems parsing JSON' });
      }
    }
    const auth = request.headers.authorization ?? '';
    const token = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1] ?? null;
    const method = request.method ?? 'GET';

    const failure = this.failures.find((f) => f.method === method && f.path.test(url.pathname));
    if (failure) {
      if (--failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return this.send(response, request, url, body, failure.status, failure.body, failure.headers, token);
    }

    if (token === null || !this.tokens.has(token)) {
      return this.send(response, request, url, body, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' }, {}, token);
    }
    const base = `/repos/${this.owner}/${this.repo}`;
    const reply = (status: number, data: unknown, headers: Record<string, string> = {}) =>
      this.send(response, request, url, body, status, data, headers, token);
    const readOnly = this.tokens.get(token) === 'read';
    const forbidden = () =>
      reply(403, {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
        status: '403',
      });
    const tooLong = (resource: string) =>
      reply(422, {
        message: 'Validation Failed',
        errors: [{ resource, code: 'custom', field: 'body', message: `body is too long (maximum is ${BODY_LIMIT} characters)` }],
        documentation_url: 'https://docs.github.com/rest',
        status: '422',
      });

    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^${base}/issues/(\\d+)/comments$`).exec(url.pathname))) {
      const issue = Number(match[1]);
      if (method === 'GET') return this.page(reply, url, this.commentsOn(issue));
      if (method === 'POST') {
        if (readOnly) return forbidden();
        if (typeof body?.body !== 'string') return reply(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.' });
        if (body.body.length > BODY_LIMIT) return tooLong('IssueComment');
        return reply(201, this.storeComment(issue, body.body, BOT));
      }
    }
    if ((match = new RegExp(`^${base}/issues/comments/(\\d+)$`).exec(url.pathname)) && method === 'PATCH') {
      const id = Number(match[1]);
      const comment = [...this.issueComments.values()].flat().find((c) => c.id === id);
      if (!comment) return reply(404, { message: 'Not Found' });
      if (readOnly) return forbidden();
      if (typeof body?.body !== 'string') return reply(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.' });
      if (body.body.length > BODY_LIMIT) return tooLong('IssueComment');
      comment.body = body.body;
      comment.updated_at = new Date().toISOString();
      return reply(200, comment);
    }
    if ((match = new RegExp(`^${base}/pulls/(\\d+)/(comments|files|reviews)$`).exec(url.pathname))) {
      const pr = this.pullRequests.get(Number(match[1]));
      if (!pr) return reply(404, { message: 'Not Found' });
      const what = match[2];
      if (what === 'comments' && method === 'GET') return this.page(reply, url, this.reviewComments.get(pr.number) ?? []);
      if (what === 'files' && method === 'GET') return this.page(reply, url, pr.files);
      if (what === 'reviews' && method === 'POST') {
        if (readOnly) return forbidden();
        return this.createReview(pr, body, reply, tooLong);
      }
    }
    return reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  private createReview(
    pr: FakePullRequest,
    body: any,
    reply: (status: number, data: unknown) => void,
    tooLong: (resource: string) => void,
  ): void {
    const event = body?.event ?? 'PENDING';
    if (!['APPROVE', 'REQUEST_CHANGES', 'COMMENT', 'PENDING'].includes(event)) return reply(422, { message: 'Unprocessable Entity', errors: ['Event is invalid'] });
    if ((event === 'COMMENT' || event === 'REQUEST_CHANGES') && !body?.body) {
      return reply(422, { message: 'Unprocessable Entity', errors: ['Body is required for this event'] });
    }
    if (body.commit_id && body.commit_id !== pr.headSha) return reply(422, { message: 'Unprocessable Entity', errors: ['Commit is not part of the pull request'] });
    const comments: FakeReview['comments'] = body.comments ?? [];
    for (const comment of comments) {
      if (typeof comment.body !== 'string' || comment.body.length > BODY_LIMIT) return tooLong('PullRequestReviewComment');
      const file = pr.files.find((f) => f.filename === comment.path);
      const onNewSide = file?.patch !== undefined ? newSideLines(file.patch).has(comment.line) : file?.status === 'added';
      if (!file || (comment.side ?? 'RIGHT') !== 'RIGHT' || !onNewSide) {
        // What GitHub answers when a comment's line is not part of the diff (the whole review is refused).
        return reply(422, { message: 'Unprocessable Entity', errors: ['Pull request review thread line must be part of the diff'], status: '422' });
      }
    }
    const review: FakeReview = { id: this.nextId++, body: body.body, event, commit_id: body.commit_id ?? pr.headSha, comments };
    const reviews = this.reviews.get(pr.number) ?? [];
    reviews.push(review);
    this.reviews.set(pr.number, reviews);
    const stored = this.reviewComments.get(pr.number) ?? [];
    for (const comment of comments) {
      stored.push({
        id: this.nextId++,
        pull_request_review_id: review.id,
        body: comment.body,
        path: comment.path,
        line: comment.line,
        side: 'RIGHT',
        commit_id: review.commit_id,
        user: BOT,
      });
    }
    this.reviewComments.set(pr.number, stored);
    reply(200, { id: review.id, body: review.body, state: event === 'COMMENT' ? 'COMMENTED' : event, html_url: `https://github.com/${this.owner}/${this.repo}/pull/${pr.number}#pullrequestreview-${review.id}` });
  }

  /** One page of a list, with GitHub's Link header (rel="next", rel="last") when there is more. */
  private page(reply: (status: number, data: unknown, headers?: Record<string, string>) => void, url: URL, items: unknown[]): void {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, this.maxPerPage);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const headers: Record<string, string> = {};
    const link = (n: number, rel: string) => {
      const target = new URL(url);
      target.searchParams.set('per_page', String(perPage));
      target.searchParams.set('page', String(n));
      return `<${target.href}>; rel="${rel}"`;
    };
    const links = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length > 0) headers.link = links.join(', ');
    reply(200, items.slice((page - 1) * perPage, page * perPage), headers);
  }

  private send(
    response: ServerResponse,
    request: IncomingMessage,
    url: URL,
    body: unknown,
    status: number,
    data: unknown,
    headers: Record<string, string> = {},
    token: string | null = null,
  ): void {
    this.requests.push({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      token,
      body,
      status,
    });
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      ...headers,
    });
    response.end(JSON.stringify(data));
  }
}

export async function startFakeGitHub(options: { tokens?: Record<string, 'write' | 'read'> } = {}): Promise<FakeGitHub> {
  const fake = new FakeGitHub();
  for (const [token, access] of Object.entries(options.tokens ?? {})) fake.tokens.set(token, access);
  return fake.start();
}
