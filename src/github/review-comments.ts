// Inline review comments: which findings go on which diff line, and which are already there from an earlier run.
import { createHash } from 'node:crypto';
import type { Finding } from '../findings.js';
import { renderFindingComment, truncateMarkdown } from '../report/markdown.js';
import type { NewReviewComment, ReviewComment } from './client.js';
import { isCommentable, type CommentableLines } from './diff.js';

/** GitHub refuses comment bodies longer than this (and answers 422). */
export const BODY_LIMIT = 65_536;

const MARKER = /<!-- alembic-guard:review id=([0-9a-f]{16}) -->/;

/** Same finding, same place, same words: same id. A finding that moved or changed is a new comment. */
export function findingId(finding: Finding): string {
  return createHash('sha256')
    .update([finding.rule, finding.file ?? '', String(finding.line ?? ''), finding.message].join('\0'))
    .digest('hex')
    .slice(0, 16);
}

export function reviewMarker(finding: Finding): string {
  return `<!-- alembic-guard:review id=${findingId(finding)} -->`;
}

export function reviewCommentBody(finding: Finding): string {
  const marker = reviewMarker(finding);
  const notice = '_Cut at GitHub\'s comment size limit: the full finding is in the pull request comment and the job summary._';
  return `${truncateMarkdown(renderFindingComment(finding), BODY_LIMIT - marker.length - 2, notice)}\n\n${marker}`;
}

export interface InlinePlan {
  /** New comments for this run's review. */
  post: { finding: Finding; comment: NewReviewComment }[];
  /** Findings whose comment an earlier run already posted. */
  alreadyPosted: Finding[];
  /** Findings on a line the pull request's diff does not show: they can only be in the sticky comment. */
  outsideDiff: Finding[];
}

/** Sorts the findings that have a line: comment on it, skip it (already there), or leave it to the sticky comment. */
export function planInlineComments(
  findings: readonly Finding[],
  lines: CommentableLines,
  existing: readonly ReviewComment[],
): InlinePlan {
  const posted = new Set<string>();
  for (const comment of existing) {
    const match = MARKER.exec(comment.body ?? '');
    if (match) posted.add(match[1]);
  }
  const plan: InlinePlan = { post: [], alreadyPosted: [], outsideDiff: [] };
  const planned = new Set<string>();
  for (const finding of findings) {
    if (finding.file === null || finding.line === null) continue;
    const id = findingId(finding);
    if (posted.has(id)) plan.alreadyPosted.push(finding);
    else if (!isCommentable(lines, finding.file, finding.line)) plan.outsideDiff.push(finding);
    else if (!planned.has(id)) {
      planned.add(id);
      plan.post.push({ finding, comment: { path: finding.file, line: finding.line, side: 'RIGHT', body: reviewCommentBody(finding) } });
    }
  }
  return plan;
}

/** The review's own text, above its inline comments. */
export function reviewBody(count: number): string {
  return `alembic-guard: ${count} finding${count === 1 ? '' : 's'} on the lines below. The verdict and everything else is in the alembic-guard comment on this pull request.`;
}
