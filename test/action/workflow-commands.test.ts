// Workflow commands and the runner's files: escaping that keeps a message one command, outputs that survive any value.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commentableLines, isCommentable, rightSideLines } from '../../src/github/diff.js';
import { nextPage } from '../../src/github/client.js';
import { annotationCommand, escapeData, escapeProperty, stopCommands, workflowCommand, writeOutputs } from '../../src/github/workflow-commands.js';
import { parseOutputs } from './harness.js';

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
