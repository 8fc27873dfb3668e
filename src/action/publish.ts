// Posts the verdict to the pull request: one review with the new inline comments, then the sticky comment. Never changes the verdict.
import type { Finding } from '../findings.js';
import { describeRequestError, isGitHubRequestError, type GitHubClient, type GitHubRequestError } from '../github/client.js';
import { commentableLines } from '../github/diff.js';
import { BODY_LIMIT, planInlineComments, reviewBody } from '../github/review-comments.js';
import { stickyMarker, upsertStickyComment } from '../github/sticky-comment.js';
import { renderCheckError, renderMarkdown, renderPullRequestComment } from '../report/markdown.js';
import type { Report } from '../report/report.js';
import type { PullRequestContext } from './context.js';
import type { CommentMode } from './inputs.js';

export interface PublishRequest {
  client: GitHubClient;
  pullRequest: PullRequestContext;
  /** The check's report, or the message of a check that could not run. */
  outcome: { report: Report } | { error: string };
  comment: CommentMode;
  reviewComments: boolean;
  /** One sticky comment per project key. */
  commentKey: string;
  /** The run's page, where the job summary is (for the pointer in a cut comment). */
  runUrl: string | null;
  log: (line: string) => void;
}

export interface PublishResult {
  /** Findings with a line that got no inline comment (outside the diff, or refused by GitHub). */
  notInline: Finding[];
  commentUrl: string | null;
  /** Inline comments posted by this run. */
  reviewComments: number;
  /** Why something was not posted: a line for the log (and a warning or notice), or null when all went through. */
  problem: { level: 'warning' | 'notice'; message: string } | null;
}

/** Thrown inside to stop posting when the token cannot write: every further request would be refused the same way. */
class Blocked extends Error {
  constructor(readonly cause: GitHubRequestError) {
    super(cause.message);
  }
}

export async function publishToPullRequest(request: PublishRequest): Promise<PublishResult> {
  const { client, pullRequest: pr, log } = request;
  const report = 'report' in request.outcome ? request.outcome.report : null;
  const result: PublishResult = { notInline: [], commentUrl: null, reviewComments: 0, problem: null };
  const problems: string[] = [];

  /** Runs one GitHub step; a refusal of the token stops everything, any other answer only this step. */
  const step = async <T>(what: string, action: () => Promise<T>): Promise<T | null> => {
    try {
      return await action();
    } catch (error) {
      if (!isGitHubRequestError(error)) throw error;
      if (error.status === 401 || (error.status === 403 && !/rate limit/i.test(describeRequestError(error)))) throw new Blocked(error);
      problems.push(`${what} failed: GitHub answered ${describeRequestError(error)}`);
      return null;
    }
  };

  try {
    if (report && request.reviewComments) {
      const files = await step('Listing the pull request\'s files', () => client.listPullRequestFiles(pr.number));
      const existing = files && (await step('Listing the review comments', () => client.listReviewComments(pr.number)));
      if (files && existing) {
        const plan = planInlineComments(report.findings, commentableLines(files), existing);
        result.notInline.push(...plan.outsideDiff);
        if (plan.alreadyPosted.length > 0) log(`review: ${plan.alreadyPosted.length} inline comment(s) already on the pull request from an earlier run, not posted again`);
        if (plan.outsideDiff.length > 0) log(`review: ${plan.outsideDiff.length} finding(s) on lines outside the diff go into the comment`);
        if (plan.post.length > 0) {
          const posted = await step('Posting the review', async () => {
            try {
              return await client.createReview(pr.number, {
                commitId: pr.headSha,
                body: reviewBody(plan.post.length),
                comments: plan.post.map((item) => item.comment),
              });
            } catch (error) {
              // 422: GitHub would not place a comment (the diff it knows differs from the files listed a moment
              // ago, e.g. a push during the run). Those findings go into the sticky comment instead.
              if (isGitHubRequestError(error) && error.status === 422) {
                log(`review: GitHub refused the inline comments (${describeRequestError(error)}); they go into the comment instead`);
                result.notInline.push(...plan.post.map((item) => item.finding));
                return null;
              }
              throw error;
            }
          });
          if (posted) {
            result.reviewComments = plan.post.length;
            log(`review: posted ${plan.post.length} inline comment(s) in one review`);
          }
        } else if (plan.alreadyPosted.length === 0 && plan.outsideDiff.length === 0) {
          log('review: no finding on a line of the diff, no review posted');
        }
      } else if (files === null || existing === null) {
        // The inline comments could not be planned: every finding with a line is shown in the comment instead.
        result.notInline.push(...report.findings.filter((finding) => finding.file !== null && finding.line !== null));
      }
    }

    if (request.comment !== 'never') {
      const sticky = await step('Posting the comment', () =>
        upsertStickyComment(client, pr.number, request.commentKey, (previous) => {
          const findings = report ? report.findings.length : (previous?.findings ?? 0);
          if (!previous && request.comment === 'on-findings' && report && report.findings.length === 0) return null;
          const markdown = report
            ? renderMarkdown(report, { notInline: result.notInline, previousFindings: previous?.findings ?? 0 })
            : renderCheckError((request.outcome as { error: string }).error);
          return renderPullRequestComment(markdown, {
            marker: stickyMarker({ key: request.commentKey, findings }),
            limit: BODY_LIMIT,
            cutNotice: cutNotice(request.runUrl),
          });
        }),
      );
      if (sticky) {
        result.commentUrl = sticky.comment?.html_url ?? null;
        const said = { created: 'posted', updated: 'updated', unchanged: 'left unchanged', skipped: 'not posted (comment: on-findings, nothing found)' }[sticky.action];
        log(`comment: ${said}${sticky.comment ? ` ${sticky.comment.html_url}` : ''}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Blocked)) throw error;
    result.problem = { level: pr.fromFork ? 'notice' : 'warning', message: blockedMessage(error.cause, pr) };
    return result;
  }

  if (problems.length > 0) {
    result.problem = {
      level: 'warning',
      message: `Part of the report was not posted to pull request #${pr.number}: ${problems.join('; ')}. The verdict, the annotations and the job summary do not depend on it.`,
    };
  }
  return result;
}

function blockedMessage(error: GitHubRequestError, pr: PullRequestContext): string {
  const answer = `GitHub answered ${describeRequestError(error)}`;
  const why =
    error.status === 401
      ? 'The `github-token` input is not a valid token.'
      : pr.fromFork
        ? 'This pull request comes from a fork, and GitHub gives workflows run for forks a read-only token.'
        : 'The token cannot write to pull requests: give the job `permissions: pull-requests: write` (and `contents: read`).';
  return `Nothing was posted to pull request #${pr.number}: ${answer}. ${why} The verdict, the annotations and the job summary do not depend on it.`;
}

function cutNotice(runUrl: string | null): string {
  const where = runUrl ? `the [job summary](${runUrl})` : 'the job summary of this workflow run';
  return `---\n\n_This comment is cut to fit GitHub's limit of 65,536 characters: the whole report is in ${where}._`;
}
