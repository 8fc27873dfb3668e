// Which commit the change is compared with, from the event: a pull request's base, a merge queue's, a push's previous tip.
import { UserError } from '../errors.js';
import type { RunContext } from './context.js';
import { fetchCommit, hasCommit, headParents, type Git } from './git.js';

export interface BaseDecision {
  /** A commit or ref for the check; undefined = the check's own default (merge base with origin's default branch). */
  base: string | undefined;
  /** Why, for the log. */
  reason: string;
}

const ZERO_SHA = /^0+$/;
const SHA = /^[0-9a-f]{7,64}$/i;

/** The commit is here, or fetched now; a UserError naming the missing checkout option when neither. */
async function ensureCommit(git: Git, commit: string, source: string, log: (line: string) => void): Promise<void> {
  if (await hasCommit(git, commit)) return;
  log(`base: ${commit} (${source}) is not in the clone; fetching it: git fetch --no-tags --depth=1 origin ${commit}`);
  const fetched = await fetchCommit(git, commit);
  if (fetched.ok && (await hasCommit(git, commit))) return;
  const why = fetched.stderr.split('\n').filter(Boolean).pop() ?? 'no error message';
  throw new UserError(
    `The base commit ${commit} (${source}) is not in the clone, and fetching it failed (${why}). ` +
      'alembic-guard compares the pull request with its base: check the repository out with its history, ' +
      'actions/checkout with `fetch-depth: 0` (and its default `persist-credentials: true`, so that the base can be fetched).',
  );
}

export async function chooseBase(context: RunContext, baseInput: string | undefined, git: Git, log: (line: string) => void): Promise<BaseDecision> {
  if (baseInput) {
    if (SHA.test(baseInput) && baseInput.length === 40) await ensureCommit(git, baseInput, 'input `base`', log);
    return { base: baseInput, reason: 'input `base`' };
  }

  const pr = context.pullRequest;
  if (pr) {
    // actions/checkout checks out refs/pull/N/merge: the PR merged into the base branch as it is now. Its first
    // parent is exactly what the PR is merged into, which is newer than pull_request.base.sha when the base branch
    // moved since the event (a re-run, or a merge while the run waited).
    const parents = await headParents(git);
    if (parents.length === 2 && parents[1] === pr.headSha && parents[0] !== pr.baseSha) {
      try {
        await ensureCommit(git, parents[0], "the first parent of the merge commit that is checked out", log);
        return { base: parents[0], reason: `the base branch the checked-out merge commit merges into (pull_request.base.sha is ${pr.baseSha.slice(0, 7)})` };
      } catch {
        // fall back to the payload's base
      }
    }
    await ensureCommit(git, pr.baseSha, 'pull_request.base.sha', log);
    return { base: pr.baseSha, reason: 'pull_request.base.sha' };
  }

  if (context.mergeGroupBase) {
    await ensureCommit(git, context.mergeGroupBase, 'merge_group.base_sha', log);
    return { base: context.mergeGroupBase, reason: 'merge_group.base_sha' };
  }

  if (context.eventName === 'push' && context.pushBefore && !ZERO_SHA.test(context.pushBefore)) {
    try {
      await ensureCommit(git, context.pushBefore, 'the push event\'s `before`', log);
      return { base: context.pushBefore, reason: 'the branch before this push (the push event\'s `before`)' };
    } catch {
      return {
        base: undefined,
        reason: `the branch's tip before this push (${context.pushBefore.slice(0, 7)}) cannot be fetched (a force-push?): the merge base with origin's default branch`,
      };
    }
  }

  return {
    base: undefined,
    reason: `no pull request in the ${context.eventName || 'unknown'} event: the merge base with origin's default branch (on that branch itself, HEAD)`,
  };
}
