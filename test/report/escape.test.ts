import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  escapeMarkdownText,
  fencedCodeBlock,
  inlineCode,
  messageMarkdown,
  neutraliseMentions,
  oneLine,
  sanitizeMarkdown,
  splitFencedCode,
  stripControlCharacters,
} from '../../src/report/escape.js';

const ZWJ = '\u200D';

/** Splits a table row the way GFM does: on pipes not preceded by a backslash. */
function cells(row: string): string[] {
  return row.split(/(?<!\\)\|/).slice(1, -1);
}

describe('neutraliseMentions', () => {
  it('breaks user and team mentions with a zero-width joiner', () => {
    expect(neutraliseMentions('ping @octocat and @github/security')).toBe(`ping @${ZWJ}octocat and @${ZWJ}github/security`);
  });

  it('leaves a lone @ alone', () => {
    expect(neutraliseMentions('a @ b')).toBe('a @ b');
  });
});

describe('escapeHtml', () => {
  it('turns markup into entities', () => {
    expect(escapeHtml(`<img src="x" onerror='y'> & more`)).toBe('&lt;img src=&quot;x&quot; onerror=&#39;y&#39;&gt; &amp; more');
  });
});

describe('escapeMarkdownText', () => {
  it('neutralises HTML, links, emphasis, pipes and mentions', () => {
    const out = escapeMarkdownText('<img src=x> [a](http://e) *b* _c_ ~d~ $x$ | @octocat & `code`');
    expect(out).not.toMatch(/[<>]/);
    expect(out).toContain('&lt;img src=x&gt;');
    expect(out).toContain('\\[a\\](http://e)');
    expect(out).toContain('\\*b\\*');
    expect(out).toContain('\\_c\\_');
    expect(out).toContain('\\~d\\~');
    expect(out).toContain('\\$x\\$');
    expect(out).toContain('\\|');
    expect(out).toContain(`@${ZWJ}octocat`);
    expect(out).toContain('&amp;');
    expect(out).toContain('\\`code\\`');
  });

  it('keeps a table row to one line and its cells intact', () => {
    const row = `| ${escapeMarkdownText('a | b\nc')} | x |`;
    expect(row.split('\n')).toHaveLength(1);
    expect(cells(row)).toHaveLength(2);
  });

  it('escapes a backslash so it cannot escape what follows', () => {
    expect(escapeMarkdownText('a\\|b')).toBe('a\\\\\\|b');
  });
});

describe('inlineCode', () => {
  it('uses a delimiter longer than any backtick run inside', () => {
    expect(inlineCode('a``b')).toBe('```a``b```');
    expect(inlineCode('posts.status')).toBe('`posts.status`');
  });

  it('pads content that starts or ends with a backtick', () => {
    expect(inlineCode('`x')).toBe('`` `x ``');
  });

  it('pads content with a space on both sides so CommonMark keeps the spaces', () => {
    expect(inlineCode(' x ')).toBe('`  x  `');
  });

  it('escapes pipes only in table cells', () => {
    expect(inlineCode('a|b')).toBe('`a|b`');
    expect(inlineCode('a|b', { inTable: true })).toBe('`a\\|b`');
  });

  it('stays on one line', () => {
    expect(inlineCode('a\nb')).toBe('`a b`');
  });
});

describe('messageMarkdown', () => {
  it('turns backtick-quoted identifiers into code spans and escapes the rest', () => {
    expect(messageMarkdown('Column `posts.status` is <new>.')).toBe('Column `posts.status` is &lt;new&gt;.');
  });

  it('escapes a stray backtick instead of opening a span', () => {
    expect(messageMarkdown('a `b` c ` d <x>')).toBe('a `b` c \\` d &lt;x&gt;');
  });

  it('escapes pipes inside code spans in table cells', () => {
    const row = `| ${messageMarkdown('x `a|b` | y', { inTable: true })} |`;
    expect(cells(row)).toHaveLength(1);
  });
});

describe('fencedCodeBlock', () => {
  it('chooses a fence that no line of the code can close', () => {
    const code = 'x = 1\n```\n````\n  `````  \ny = 2';
    const block = fencedCodeBlock(code, 'python');
    const fence = /^`+/.exec(block)![0];
    expect(fence.length).toBe(6);
    expect(block).toBe(`${fence}python\n${code}\n${fence}`);
    const inner = block.split('\n').slice(1, -1);
    expect(inner.some((line) => new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`).test(line))).toBe(false);
  });

  it('uses at least three backticks and drops trailing newlines', () => {
    expect(fencedCodeBlock('pass\n\n', 'python')).toBe('```python\npass\n```');
  });
});

describe('splitFencedCode', () => {
  it('separates prose from fenced code of either kind', () => {
    const segments = splitFencedCode('Intro:\n\n```python\na = "<b>"\n```\nmid\n~~~sql\nSELECT 1;\n~~~\nend');
    expect(segments).toEqual([
      { kind: 'prose', text: 'Intro:\n' },
      { kind: 'code', language: 'python', code: 'a = "<b>"' },
      { kind: 'prose', text: 'mid' },
      { kind: 'code', language: 'sql', code: 'SELECT 1;' },
      { kind: 'prose', text: 'end' },
    ]);
  });

  it('needs a closing fence at least as long as the opening one', () => {
    const segments = splitFencedCode('````\n```\ninside\n````\nafter');
    expect(segments[0]).toEqual({ kind: 'code', language: '', code: '```\ninside' });
    expect(segments[1]).toEqual({ kind: 'prose', text: 'after' });
  });

  it('removes the opening fence indentation from the code', () => {
    expect(splitFencedCode('  ```\n    a\n  b\n  ```')).toEqual([{ kind: 'code', language: '', code: '  a\nb' }]);
  });

  it('runs an unclosed fence to the end', () => {
    expect(splitFencedCode('```\n<img>\nmore')).toEqual([{ kind: 'code', language: '', code: '<img>\nmore' }]);
  });

  it('does not take a backtick line with a backtick in its info string for a fence', () => {
    expect(splitFencedCode('``` a ` b\n<x>')).toEqual([{ kind: 'prose', text: '``` a ` b\n<x>' }]);
  });
});

describe('sanitizeMarkdown', () => {
  const suggestion = [
    'Ask @octocat, or <script>alert(1)</script></details> & go:',
    '',
    '```python',
    "op.execute(\"UPDATE posts SET status = '<draft>'\")  # @octocat ```",
    '```',
  ].join('\n');

  it('keeps the code exactly and re-fences it so it cannot be closed early', () => {
    const out = sanitizeMarkdown(suggestion);
    expect(out).toContain("````python\nop.execute(\"UPDATE posts SET status = '<draft>'\")  # @octocat ```\n````");
  });

  it('escapes HTML and mentions in the prose', () => {
    const prose = sanitizeMarkdown(suggestion).split('\n')[0];
    expect(prose).toBe(`Ask @${ZWJ}octocat, or &lt;script&gt;alert(1)&lt;/script&gt;&lt;/details&gt; &amp; go:`);
  });

  it('keeps markdown formatting in the prose', () => {
    expect(sanitizeMarkdown('Use `op.alter_column` and **then** deploy.')).toBe('Use `op.alter_column` and **then** deploy.');
  });

  it('closes a fence the suggestion left open', () => {
    const out = sanitizeMarkdown('Text\n```\ncode <x>');
    expect(out).toBe('Text\n```\ncode <x>\n```');
  });

  it('moves a fence out of a list item to the top level, where it cannot end early', () => {
    // On GitHub the unindented <img> line would end the list item (and its fence) and be raw HTML.
    const out = sanitizeMarkdown('1. foo\n   ```\n<img src=x>');
    expect(out).toBe('1. foo\n```\n<img src=x>\n```');
  });
});

describe('oneLine', () => {
  it('joins lines with single spaces', () => {
    expect(oneLine('a  \r\n\n  b\rc')).toBe('a b c');
  });
});

describe('stripControlCharacters', () => {
  it('removes escape sequences and bidi overrides but keeps tabs and newlines', () => {
    const out = stripControlCharacters('a\x1b[31mred\x07\tb\nc\u202Ed\x9b');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(out).toBe('a\uFFFD[31mred\uFFFD\tb\nc\uFFFDd\uFFFD');
  });
});
