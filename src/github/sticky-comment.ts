// The one pull request comment alembic-guard keeps per project: found by a hidden marker, updated in place, never posted twice.
import type { GitHubClient, IssueComment } from './client.js';

/**
 * The hidden last line of the comment. `key` tells apart the projects of a monorepo (one comment each); `findings`
 * remembers how many findings the comment showed, so the next run can say when they are all fixed.
 */
export interface StickyMarker {
  key: string;
  findings: number;
}

const MARKER = /<!-- alembic-guard:comment key=(\S+) findings=(\d+) -->/;

/** The marker as an HTML comment. The key keeps to characters that cannot end the comment or break the pattern. */
export function stickyMarker(marker: StickyMarker): string {
  return `<!-- alembic-guard:comment key=${stickyKey(marker.key)} findings=${marker.findings} -->`;
}

export function stickyKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._/]/g, '_') || '.';
}

export function parseStickyMarker(body: string): StickyMarker | null {
  const match = MARKER.exec(body);
  return match ? { key: match[1], findings: Number(match[2]) } : null;
}

/**
 * The comment to update among the PR's comments: the oldest carrying this project's marker, written by a bot (the
 * Actions token posts as github-actions[bot]) when there is one, so that a person pasting the marker cannot take it over.
 */
export function findStickyComment(comments: readonly IssueComment[], key: string): IssueComment | null {
  const ours = comments.filter((comment) => parseStickyMarker(comment.body ?? '')?.key === stickyKey(key));
  return ours.find((comment) => comment.user?.type === 'Bot') ?? ours[0] ?? null;
}

export interface StickyResult {
  action: 'created' | 'updated' | 'unchanged' | 'skipped';
  comment: IssueComment | null;
}

/**
 * Creates or updates the comment. `render` gets the marker of the comment already there (or null) and returns
 * the new body, or null to post nothing (e.g. `comment: on-findings` on a clean PR without a comment yet).
 */
export async function upsertStickyComment(
  client: GitHubClient,
  issue: number,
  key: string,
  render: (previous: StickyMarker | null) => string | null,
): Promise<StickyResult> {
  const existing = findStickyComment(await client.listIssueComments(issue), key);
  const body = render(existing ? parseStickyMarker(existing.body) : null);
  if (body === null) return { action: 'skipped', comment: existing };
  if (existing) {
    if (existing.body === body) return { action: 'unchanged', comment: existing };
    return { action: 'updated', comment: await client.updateIssueComment(existing.id, body) };
  }
  return { action: 'created', comment: await client.createIssueComment(issue, body) };
}
