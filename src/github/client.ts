// The REST calls the action makes, on an Octokit that retries 5xx answers and waits out rate limits (retry + throttling plugins).
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';
import type { PullRequestFile } from './diff.js';

export interface Repository {
  owner: string;
  repo: string;
}

export interface GitHubUser {
  login: string;
  type: string;
}

export interface IssueComment {
  id: number;
  body: string;
  html_url: string;
  user: GitHubUser | null;
}

export interface ReviewComment {
  id: number;
  body: string;
  path: string;
  /** null once the line is no longer in the diff (the comment is "outdated"). */
  line: number | null;
  user: GitHubUser | null;
}

export interface NewReviewComment {
  path: string;
  line: number;
  side: 'RIGHT';
  body: string;
}

export interface GitHubClientOptions {
  token: string;
  /** $GITHUB_API_URL, e.g. https://api.github.com or https://ghe.example.com/api/v3. */
  apiUrl: string;
  repository: Repository;
  log: (line: string) => void;
  /**
   * Multiplies every wait: retry backoff (1 s, 4 s, 9 s), the secondary-rate-limit wait and the spacing GitHub asks
   * for between writes (1 s, 3 s for ones that notify). 1 in production; tests make it small.
   */
  timeScale?: number;
}

/** An error answer from GitHub (Octokit's RequestError), told apart from bugs without importing its class. */
export interface GitHubRequestError extends Error {
  status: number;
  request: { method: string; url: string };
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

export function isGitHubRequestError(error: unknown): error is GitHubRequestError {
  return error instanceof Error && typeof (error as GitHubRequestError).status === 'number' && 'request' in error;
}

/** "403 Resource not accessible by integration (POST /repos/o/r/issues/1/comments)". */
export function describeRequestError(error: GitHubRequestError): string {
  const data = error.response?.data as { message?: unknown; errors?: unknown } | undefined;
  let message = typeof data?.message === 'string' ? data.message : error.message;
  if (Array.isArray(data?.errors) && data.errors.length > 0) {
    const details = data.errors.map((item) =>
      typeof item === 'string' ? item : typeof item?.message === 'string' ? item.message : JSON.stringify(item),
    );
    message += `: ${details.join('; ')}`;
  }
  const path = error.request?.url ? new URL(error.request.url, 'https://api.github.invalid').pathname : '';
  const status = error.status === 500 && /fetch failed|ECONNREFUSED|ENOTFOUND/.test(message) ? 'network error' : String(error.status);
  return `${status} ${message}${path ? ` (${error.request.method} ${path})` : ''}`;
}

const GuardOctokit = Octokit.plugin(retry, throttling);
type GuardOctokitInstance = InstanceType<typeof GuardOctokit>;

const MAX_PAGES = 50;

export class GitHubClient {
  private readonly octokit: GuardOctokitInstance;
  private readonly repository: Repository;

  constructor(options: GitHubClientOptions) {
    const scale = options.timeScale ?? 1;
    const log = options.log;
    this.repository = options.repository;
    this.octokit = new GuardOctokit({
      auth: options.token,
      baseUrl: options.apiUrl.replace(/\/+$/, ''),
      userAgent: 'alembic-guard',
      headers: { 'x-github-api-version': '2022-11-28' },
      log: { debug: () => {}, info: () => {}, warn: log, error: log },
      // 3 retries of 5xx (and other non-4xx) answers, after 1, 4 and 9 s; 400/401/403/404/410/422/451 are final.
      retry: { retries: 3, retryAfterBaseValue: 1000 * scale },
      throttle: {
        retryAfterBaseValue: 1000 * scale,
        // Our own limiters, so that the spacing between writes scales too (the plugin's defaults are 1 s and 3 s).
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 1000 * scale }),
        notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 3000 * scale }),
        onRateLimit: (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
          // The primary limit resets within the hour: wait for it only when that is soon.
          const wait = retryCount < 1 && retryAfter <= 60;
          log(`GitHub's rate limit is used up (${request.method} ${request.url}): ${wait ? `retrying in ${retryAfter} s` : 'giving up'}.`);
          return wait;
        },
        onSecondaryRateLimit: (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
          const wait = retryCount < 2;
          log(`GitHub's secondary rate limit (${request.method} ${request.url}): ${wait ? `retrying in ${retryAfter} s` : 'giving up'}.`);
          return wait;
        },
      },
    });
  }

  listIssueComments(issue: number): Promise<IssueComment[]> {
    return this.paginate<IssueComment>('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: issue });
  }

  async createIssueComment(issue: number, body: string): Promise<IssueComment> {
    const response = await this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      ...this.repository,
      issue_number: issue,
      body,
    });
    return response.data as IssueComment;
  }

  async updateIssueComment(commentId: number, body: string): Promise<IssueComment> {
    const response = await this.octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...this.repository,
      comment_id: commentId,
      body,
    });
    return response.data as IssueComment;
  }

  listReviewComments(pull: number): Promise<ReviewComment[]> {
    return this.paginate<ReviewComment>('GET /repos/{owner}/{repo}/pulls/{pull_number}/comments', { pull_number: pull });
  }

  listPullRequestFiles(pull: number): Promise<PullRequestFile[]> {
    return this.paginate<PullRequestFile>('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { pull_number: pull });
  }

  /** One review with its comments (event COMMENT: it neither approves nor blocks). */
  async createReview(pull: number, review: { commitId: string; body: string; comments: NewReviewComment[] }): Promise<{ id: number; html_url?: string }> {
    const response = await this.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
      ...this.repository,
      pull_number: pull,
      commit_id: review.commitId,
      event: 'COMMENT',
      body: review.body,
      comments: review.comments,
    });
    return response.data as { id: number; html_url?: string };
  }

  /** Every page of a list, following the Link header's rel="next". */
  private async paginate<T>(route: string, parameters: Record<string, unknown>): Promise<T[]> {
    const items: T[] = [];
    let response = await this.octokit.request(route, { ...this.repository, ...parameters, per_page: 100 });
    for (let page = 1; ; page++) {
      items.push(...(response.data as T[]));
      const next = nextPage(response.headers.link);
      if (!next || page >= MAX_PAGES) return items;
      response = await this.octokit.request('GET {+url}', { url: next });
    }
  }
}

/** The rel="next" URL of a Link header. */
export function nextPage(link: string | undefined): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1];
  }
  return null;
}
