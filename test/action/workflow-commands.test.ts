// Workflow commands and the runner's files: escaping that keeps a message one command, outputs that survive any value,
// and no more annotations than GitHub shows (checked on the bundled action too).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentableLines, isCommentable, rightSideLines } from '../../src/github/diff.js';
import { nextPage } from '../../src/github/client.js';
import {
  annotationCommand,
  capAnnotations,
  escapeData,
  escapeProperty,
  stopCommands,
  workflowCommand,
  writeOutputs,
  type Annotation,
} from '../../src/github/workflow-commands.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { blogProject, migration, PYTHON, type FixtureProject } from '../support/fixtures.js';
import { buildActionDirectory, git, NODE24, parseOutputs, pullRequestFiles, pullRequestPayload, runActionBundle } from './harness.js';

describe('workflow commands', () => {
  it('escapes %, CR and LF in messages, and : and , in properties too', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('a:b,c%d\ne')).toBe('a%3Ab%2Cc%25d%0Ae');
  });

  it('writes an annotation with file, line and title', () => {
    expect(
      annotationCommand({ level: 'error', file: 'migrations/versions/004, new.py', line: 16, title: 'alembic-guard: drop-column', message: 'Drops `users.bio`.\nData is lost: 100%.' }),
    ).toBe('::error file=migrations/versions/004%2C new.py,line=16,title=alembic-guard%3A drop-column::Drops `users.bio`.%0AData is lost: 100%25.');
    expect(annotationCommand({ level: 'notice', message: 'no place' })).toBe('::notice::no place');
  });

  it('keeps a hostile message inside one command: no second command can start on a new line', () => {
    const line = workflowCommand('warning', { file: 'x.py' }, 'oops\n::add-mask::secret\r\n::set-env name=A::b');
    expect(line.split(/\r|\n/)).toHaveLength(1);
    expect(line).toBe('::warning file=x.py::oops%0A::add-mask::secret%0D%0A::set-env name=A::b');
  });

  it('stops commands with a token no one can guess, and resumes with it', () => {
    const first = stopCommands();
    const second = stopCommands();
    expect(first.stop).toMatch(/^::stop-commands::alembic-guard-[0-9a-f-]{36}$/);
    expect(first.resume).toBe(`::${first.stop.slice('::stop-commands::'.length)}::`);
    expect(first.stop).not.toBe(second.stop);
  });

  it('writes outputs as delimited blocks, multi-line values included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-outputs-'));
    try {
      const file = join(dir, 'output');
      writeFileSync(file, 'earlier=1\n');
      writeOutputs(file, { status: 'fail', report: '/tmp/r.json', note: 'two\nlines' });
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith('earlier=1\nstatus<<ghadelimiter_')).toBe(true);
      expect(parseOutputs(text)).toEqual({ status: 'fail', report: '/tmp/r.json', note: 'two\nlines' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('diff lines', () => {
  it('reads the new side of each hunk: added and context lines, not removed ones', () => {
    const patch = ['@@ -1,4 +1,5 @@', ' a', '-b', '+B', '+C', ' d', ' e', '@@ -40,2 +41,3 @@ def upgrade():', ' x', '+y', ' z', '\\ No newline at end of file'].join('\n');
    expect([...rightSideLines(patch)]).toEqual([1, 2, 3, 4, 5, 41, 42, 43]);
  });

  it('takes a whole added file whose patch GitHub left out, and nothing of a modified one', () => {
    const lines = commentableLines([
      { filename: 'big.py', status: 'added' },
      { filename: 'huge.py', status: 'modified' },
      { filename: 'small.py', status: 'modified', patch: '@@ -3 +3 @@\n-a\n+b' },
    ]);
    expect(isCommentable(lines, 'big.py', 900)).toBe(true);
    expect(isCommentable(lines, 'huge.py', 1)).toBe(false);
    expect(isCommentable(lines, 'small.py', 3)).toBe(true);
    expect(isCommentable(lines, 'small.py', 4)).toBe(false);
    expect(isCommentable(lines, 'other.py', 1)).toBe(false);
  });

  it('follows the Link header to the next page', () => {
    expect(nextPage('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"')).toBe('https://api.github.com/x?page=2');
    expect(nextPage('<https://api.github.com/x?page=1>; rel="first"')).toBeNull();
    expect(nextPage(undefined)).toBeNull();
  });
});

describe('capAnnotations', () => {
  const make = (level: Annotation['level'], n: number): Annotation[] => Array.from({ length: n }, (_, i) => ({ level, message: `${level} ${i}` }));
  const overflow = (omitted: Record<Annotation['level'], number>) => ({ message: `left out: ${omitted.error} ${omitted.warning} ${omitted.notice}` });
  const levels = (annotations: Annotation[]) => annotations.map((a) => a.level);

  it('keeps all of them, most severe first, when each level fits', () => {
    const out = capAnnotations([...make('notice', 3), ...make('warning', 10), ...make('error', 2)], { overflow });
    expect(out).toHaveLength(15);
    expect(levels(out)).toEqual([...Array(2).fill('error'), ...Array(10).fill('warning'), ...Array(3).fill('notice')]);
  });

  it('shows at most 10 of each level, the first ones, and ends with one notice counting the rest', () => {
    const out = capAnnotations([...make('error', 12), ...make('warning', 11), ...make('notice', 4)], { overflow });
    expect(out.filter((a) => a.level === 'error').map((a) => a.message)).toEqual(make('error', 10).map((a) => a.message));
    expect(out.filter((a) => a.level === 'warning')).toHaveLength(10);
    expect(out.slice(-1)).toEqual([{ level: 'notice', message: 'left out: 2 1 0' }]);
    expect(out.filter((a) => a.level === 'notice')).toHaveLength(5);
  });

  it('takes the room of the counting notice, and of what is reserved, from the level', () => {
    const out = capAnnotations([...make('warning', 10), ...make('notice', 10)], { overflow, reserve: { warning: 1, notice: 1 } });
    expect(out.filter((a) => a.level === 'warning')).toHaveLength(9);
    // 10 notices at most: 1 reserved, the counting one, and 8 findings.
    expect(out.filter((a) => a.level === 'notice')).toHaveLength(9);
    expect(out.at(-1)).toEqual({ level: 'notice', message: 'left out: 0 1 2' });
  });
});

describe('annotations of the bundled action', () => {
  let action: ReturnType<typeof buildActionDirectory>;
  let fake: FakeGitHub;
  let project: FixtureProject;
  const TOKEN = 'ghs_write_0123456789abcdef';

  beforeAll(async () => {
    action = buildActionDirectory();
    // A pull request that adds twelve migrations that do nothing: twelve empty-migration notices.
    const files: Record<string, string> = {};
    let parent = 'b0000000003c';
    for (let i = 0; i < 12; i++) {
      const revision = `e00000000${String(i).padStart(2, '0')}f`;
      files[`migrations/versions/${String(4 + i).padStart(3, '0')}_nothing.py`] = migration(revision, parent, `nothing ${i}`, 'pass');
      parent = revision;
    }
    project = blogProject(files, { commitChanges: true });
    fake = await startFakeGitHub({ tokens: { [TOKEN]: 'write' } });
  }, 120_000);
  afterAll(async () => {
    await fake?.stop();
    project?.remove();
    action?.remove();
  });

  it('prints at most 10 notices, room kept for what posting may say, and one line that counts the rest', async () => {
    const base = git(project.dir, ['rev-parse', 'base']).trim();
    const head = git(project.dir, ['rev-parse', 'HEAD']).trim();
    fake.addPullRequest({ number: 21, headSha: head, files: pullRequestFiles(project.dir, base, head) });
    const run = (options: { event: { name: string; payload: unknown }; inputs?: Record<string, string> }) =>
      runActionBundle({ entry: action.entry, workspace: project.dir, apiUrl: fake.url, token: TOKEN, node: NODE24 ?? process.execPath, ...options, inputs: { python: PYTHON, ...options.inputs } });

    const pr = await run({ event: { name: 'pull_request', payload: pullRequestPayload({ number: 21, baseSha: base, headSha: head }) } });
    expect(pr.code, pr.stdout + pr.stderr).toBe(0);
    expect(pr.report.findings).toHaveLength(12);
    expect(pr.annotations).toHaveLength(9);
    expect(pr.annotations.slice(0, 8).every((a) => a.startsWith('::notice file=migrations/versions/') && a.includes('title=alembic-guard%3A empty-migration::'))).toBe(true);
    expect(pr.annotations[8]).toBe(
      '::notice title=alembic-guard%3A more findings in the job summary::4 more findings are not annotated (4 notices): ' +
        'GitHub shows 10 annotations of each level per step. Every finding is in the job summary.',
    );
    // The summary has every one of them.
    expect(pr.summary.match(/\| ℹ️ notice \| `empty-migration` \|/g)).toHaveLength(12);

    // Nothing to post (a push): no room kept, 9 findings and the line that counts the other 3.
    const push = await run({ event: { name: 'push', payload: { ref: 'refs/heads/main', before: base, after: head } } });
    expect(push.annotations).toHaveLength(10);
    expect(push.annotations[9]).toContain('::3 more findings are not annotated (3 notices)');
  });
});
