// The base from the event, on real git repositories: the merge commit's first parent, a fetch into a shallow clone, and when neither works.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBase } from '../../src/action/base.js';
import type { RunContext } from '../../src/action/context.js';
import { gitIn, hasCommit } from '../../src/action/git.js';
import { UserError } from '../../src/errors.js';

let root: string;
let upstream: string;
const sha: Record<string, string> = {};

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function commit(dir: string, file: string, message: string): string {
  writeFileSync(join(dir, file), `${message}\n`);
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** upstream: main = base -> main2; feature = base -> feature; refs/pull/7/merge = feature merged into main2. */
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'alembic-guard-base-'));
  upstream = join(root, 'upstream');
  execFileSync('git', ['init', '-q', '-b', 'main', upstream]);
  sha.base = commit(upstream, 'a.txt', 'base');
  git(upstream, 'checkout', '-q', '-b', 'feature');
  sha.feature = commit(upstream, 'b.txt', 'feature');
  git(upstream, 'checkout', '-q', 'main');
  sha.main2 = commit(upstream, 'c.txt', 'main moved on');
  git(upstream, 'checkout', '-q', '--detach');
  git(upstream, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'merge', '-q', '--no-ff', '-m', 'Merge feature into main', sha.feature);
  sha.merge = git(upstream, 'rev-parse', 'HEAD');
  git(upstream, 'update-ref', 'refs/pull/7/merge', sha.merge);
  git(upstream, 'checkout', '-q', 'main');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A clone the way actions/checkout makes one by default: one commit deep, the PR's merge commit checked out. */
function shallowCheckout(name: string, ref = 'refs/pull/7/merge'): string {
  const dir = join(root, name);
  execFileSync('git', ['init', '-q', dir]);
  git(dir, 'remote', 'add', 'origin', `file://${upstream}`);
  git(dir, 'fetch', '-q', '--no-tags', '--depth=1', 'origin', `+${ref}:refs/remotes/pull/7/merge`);
  git(dir, 'checkout', '-q', '--detach', 'refs/remotes/pull/7/merge');
  return dir;
}

function context(overrides: Partial<RunContext>): RunContext {
  return {
    eventName: 'pull_request',
    repository: { owner: 'o', repo: 'r' },
    apiUrl: 'https://api.github.invalid',
    runUrl: null,
    pullRequest: null,
    pushBefore: null,
    mergeGroupBase: null,
    tempDir: root,
    outputFile: undefined,
    summaryFile: undefined,
    stepId: 'x',
    ...overrides,
  };
}

const pr = () => ({ number: 7, baseSha: sha.base, headSha: sha.feature, fromFork: false });
const logs: string[] = [];
const log = (line: string) => logs.push(line);

describe('chooseBase', () => {
  it('compares a checked-out merge commit with its first parent (the base branch as it is now), fetching it into a shallow clone', async () => {
    const dir = shallowCheckout('merge');
    const git = gitIn(dir, process.env);
    expect(await hasCommit(git, sha.main2)).toBe(false);
    const decision = await chooseBase(context({ pullRequest: pr() }), undefined, git, log);
    expect(decision.base).toBe(sha.main2);
    expect(decision.reason).toContain(`pull_request.base.sha is ${sha.base.slice(0, 7)}`);
    expect(await hasCommit(git, sha.main2)).toBe(true);
    expect(logs).toContain(`base: ${sha.main2} (the first parent of the merge commit that is checked out) is not in the clone; fetching it: git fetch --no-tags --depth=1 origin ${sha.main2}`);
  });

  it('takes pull_request.base.sha when the PR head itself is checked out, fetching it when missing', async () => {
    const dir = shallowCheckout('head', 'refs/heads/feature');
    const git = gitIn(dir, process.env);
    expect(await hasCommit(git, sha.base)).toBe(false);
    expect(await chooseBase(context({ pullRequest: pr() }), undefined, git, log)).toEqual({ base: sha.base, reason: 'pull_request.base.sha' });
    expect(await hasCommit(git, sha.base)).toBe(true);
  });

  it('exits with a message naming fetch-depth: 0 when the base is not in the clone and cannot be fetched', async () => {
    const dir = shallowCheckout('offline', 'refs/heads/feature');
    execFileSync('git', ['remote', 'set-url', 'origin', `file://${join(root, 'gone')}`], { cwd: dir });
    const attempt = chooseBase(context({ pullRequest: pr() }), undefined, gitIn(dir, process.env), log);
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`^The base commit ${sha.base} \\(pull_request\\.base\\.sha\\) is not in the clone, and fetching it failed \\(.+\\)\\. .*actions/checkout with \`fetch-depth: 0\``),
    );
  });

  it('takes the input `base` over the event', async () => {
    const git = gitIn(upstream, process.env);
    expect(await chooseBase(context({ pullRequest: pr() }), 'main', git, log)).toEqual({ base: 'main', reason: 'input `base`' });
  });

  it('push: the branch before the push; a new branch or a vanished commit: the check\'s default', async () => {
    const git = gitIn(upstream, process.env);
    expect((await chooseBase(context({ eventName: 'push', pushBefore: sha.base }), undefined, git, log)).base).toBe(sha.base);
    const created = await chooseBase(context({ eventName: 'push', pushBefore: '0'.repeat(40) }), undefined, git, log);
    expect(created.base).toBeUndefined();
    const forced = await chooseBase(context({ eventName: 'push', pushBefore: 'f'.repeat(40) }), undefined, gitIn(shallowCheckout('forced'), process.env), log);
    expect(forced.base).toBeUndefined();
    expect(forced.reason).toContain('cannot be fetched (a force-push?)');
  });

  it('merge_group: the commit the queued change goes on; other events: the check\'s default', async () => {
    const git = gitIn(upstream, process.env);
    expect((await chooseBase(context({ eventName: 'merge_group', mergeGroupBase: sha.main2 }), undefined, git, log)).base).toBe(sha.main2);
    const dispatch = await chooseBase(context({ eventName: 'workflow_dispatch' }), undefined, git, log);
    expect(dispatch).toEqual({ base: undefined, reason: "no pull request in the workflow_dispatch event: the merge base with origin's default branch (on that branch itself, HEAD)" });
  });
});
