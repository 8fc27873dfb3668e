import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/markdown.js';
import { FAILING_FINDINGS, finding, makeReport, passingReport } from './fixtures.js';

const ZWJ = '\u200D';
const OUR_TAGS = /<\/?(?:details|summary|code|sub)>/g;

/** Fenced code blocks as a CommonMark reader finds them at the top level (written independently of escape.ts). */
function fencedBlocks(markdown: string): { info: string; code: string }[] {
  const blocks: { info: string; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const close = new RegExp(`^\`{${open[1].length},}\\s*$`);
    const code: string[] = [];
    for (i++; i < lines.length && !close.test(lines[i]); i++) code.push(lines[i]);
    blocks.push({ info: open[2], code: code.join('\n') });
  }
  return blocks;
}

/** The markdown a reader sees as text: fenced blocks, backslash escapes and code spans removed. */
function outsideCode(markdown: string): string {
  const kept: string[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})[^`]*$/.exec(lines[i]);
    if (!open) {
      kept.push(lines[i]);
      continue;
    }
    const close = new RegExp(`^\`{${open[1].length},}\\s*$`);
    for (i++; i < lines.length && !close.test(lines[i]); i++);
  }
  const text = kept
    .join('\n')
    .replace(/\\[\\`*_[\]|~$]/g, 'X')
    // Mentions are not linked inside <code> either; its content is entity-escaped by then.
    .replace(/<code>[^<]*<\/code>/g, 'CODE');
  return withoutCodeSpans(text);
}

/** CommonMark code spans: a run of n backticks up to the next run of exactly n; an unmatched run is literal. */
function withoutCodeSpans(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '`') {
      out += text[i++];
      continue;
    }
    let n = 0;
    while (text[i + n] === '`') n++;
    const closer = new RegExp(`(?<!\`)\`{${n}}(?!\`)`, 'g');
    closer.lastIndex = i + n;
    const match = closer.exec(text);
    if (match) {
      out += 'CODE';
      i = match.index + n;
    } else {
      out += text.slice(i, i + n);
      i += n;
    }
  }
  return out;
}

function tableRows(markdown: string, header: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(header);
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i]);
  return rows;
}

/** Cells the way GFM splits a row: on pipes without a backslash before them. */
function cells(row: string): string[] {
  return row
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((cell) => cell.trim());
}

const FINDINGS_HEADER = '| Severity | Rule | Location | Message |';

describe('renderMarkdown', () => {
  it('starts with the verdict of a failing check', () => {
    expect(renderMarkdown(makeReport()).split('\n')[0]).toBe('### ❌ alembic-guard: 2 errors, 1 warning, 1 notice');
  });

  it('says the migrations and models agree when there is nothing to report', () => {
    const out = renderMarkdown(passingReport({ newRevisions: [] }));
    expect(out.split('\n')[0]).toBe('### ✅ alembic-guard: migrations and models agree');
    expect(out).not.toContain(FINDINGS_HEADER);
    expect(out).not.toContain('<details>');
    expect(out).not.toContain('Missing migration');
  });

  it('passes with findings below the gate, and says so', () => {
    const report = passingReport({ findings: [finding({ rule: 'drop-column', severity: 'warning', message: 'x' })] });
    expect(renderMarkdown(report).split('\n')[0]).toBe('### ✅ alembic-guard: 1 warning, below fail-on error');
  });

  it('says when the check could not run', () => {
    expect(renderMarkdown(makeReport({ status: 'error' })).split('\n')[0]).toBe(
      '### ⚠️ alembic-guard: the check could not run',
    );
  });

  it('gives the context on one line', () => {
    expect(renderMarkdown(makeReport()).split('\n')[2]).toBe(
      'Base: origin/main (3f2a1c9) · config `alembic.ini` · 6 revisions, 3 new',
    );
  });

  it('has a findings table with one four-cell row per finding', () => {
    const rows = tableRows(renderMarkdown(makeReport()), FINDINGS_HEADER);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(cells(row)).toHaveLength(4);
    expect(cells(rows[0]).slice(0, 3)).toEqual([
      '❌ error',
      '`not-null-without-default`',
      '`migrations/versions/004_add_status.py:16`',
    ]);
    expect(cells(rows[1])[2]).toBe('—');
    expect(cells(rows[2])[0]).toBe('⚠️ warning');
    expect(cells(rows[3])[0]).toBe('ℹ️ notice');
    expect(cells(rows[3])[2]).toBe('`migrations/versions/006_nothing.py`');
    expect(cells(rows[1])[3]).toBe('The revision graph has 2 heads (a1, b2): `alembic upgrade head` fails.');
  });

  it('neutralises the hostile message: no HTML, no link, no mention, the table row intact', () => {
    const out = renderMarkdown(makeReport());
    const row = tableRows(out, FINDINGS_HEADER)[0];
    const message = cells(row)[3];
    expect(message).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(message).toContain('\\| pipe');
    expect(message).toContain(`@${ZWJ}octocat`);
    expect(message).toContain('\\[link\\]');
    expect(message).toContain('\\*bold\\*');
    // The identifier the rule quoted stays code, where <b> is shown literally.
    expect(message).toContain('`status<b>`');
  });

  it('leaves no raw HTML, mention or link outside code anywhere in the comment', () => {
    const report = makeReport({
      base: 'no base <b>found</b> for @octocat',
      config: 'conf`ig <x>.ini',
      findings: [
        ...FAILING_FINDINGS,
        finding({
          rule: 'drop-table',
          severity: 'warning',
          message: 'Drops `a``b` <script>x</script> @octocat',
          file: 'evil|<img src=x>@octocat`.py',
          line: 3,
          suggestion: '</details><img src=x> hi @octocat\n```\nunclosed <b> fence',
        }),
      ],
    });
    const out = renderMarkdown(report);
    const text = outsideCode(out).replace(OUR_TAGS, '');
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/@[A-Za-z0-9]/);
    expect(text).not.toMatch(/\]\(/);
    // Our <details> blocks stay balanced: the suggestions cannot close them.
    const markup = outsideCode(out);
    expect(markup.match(/<details>/g)).toHaveLength(3);
    expect(markup.match(/<\/details>/g)).toHaveLength(3);
    expect(markup.match(/&lt;\/details&gt;/g)).toHaveLength(1);
    for (const row of tableRows(out, FINDINGS_HEADER)) expect(cells(row)).toHaveLength(4);
    // A summary is raw HTML: there the file name is entity-escaped.
    expect(out).toContain('<summary>Suggestion for <code>drop-table</code> at <code>evil|&lt;img src=x&gt;@octocat`.py:3</code></summary>');
  });

  it('shows each suggestion in a details block with its code intact', () => {
    const out = renderMarkdown(makeReport());
    expect(out).toContain(
      '<details><summary>Suggestion for <code>not-null-without-default</code> at ' +
        '<code>migrations/versions/004_add_status.py:16</code></summary>\n\nAdd it nullable',
    );
    expect(out).toContain('<details><summary>Suggestion for <code>multiple-heads</code></summary>\n\nAdd a merge revision:');
    const blocks = fencedBlocks(out);
    // The line ending in ``` is still code: the fence around it is longer.
    expect(blocks).toContainEqual({
      info: 'python',
      code:
        'op.add_column("posts", sa.Column("status", sa.Text(), nullable=True))\n' +
        "op.execute(\"UPDATE posts SET status = '<draft>' WHERE status IS NULL\")  # @octocat ```\n" +
        'NOTE = """\n```\n</details><img src=x>\n"""',
    });
    expect(blocks).toContainEqual({ info: 'python', code: 'op.alter_column("posts", "status", nullable=False)' });
    expect(blocks).toContainEqual({ info: 'sh', code: 'alembic merge -m "merge heads" a1 b2' });
    // No details block for findings without a suggestion.
    expect(out.match(/<details>/g)).toHaveLength(2);
    expect(out).toMatch(/\n\n<\/details>/);
  });

  it('shows the missing migration in a python block that its code cannot close', () => {
    const out = renderMarkdown(makeReport());
    const heading = out.indexOf('#### Missing migration');
    expect(heading).toBeGreaterThan(0);
    const after = fencedBlocks(out.slice(heading));
    expect(after[0]).toEqual({
      info: 'python',
      code:
        'def upgrade() -> None:\n    op.execute("""\n```\n<img src=x> @octocat\n""")\n\n\n' +
        'def downgrade() -> None:\n    op.drop_column("posts", "note")',
    });
  });

  it('lists the new revisions with their message and replay time', () => {
    const rows = tableRows(renderMarkdown(makeReport()), '| Revision | Message | File | Replay |');
    expect(rows).toHaveLength(2);
    expect(cells(rows[0])).toEqual([
      '`b0000000004c`',
      `add status &lt;img src=x&gt; \\| @${ZWJ}octocat`,
      '`migrations/versions/004_add_status.py`',
      '0.12 s',
    ]);
    expect(cells(rows[1])[3]).toBe('—');
  });

  it('ends with the timings', () => {
    const out = renderMarkdown(makeReport());
    expect(out.endsWith('\n<sub>database 0.71 s · replay 1.20 s · compare 0.40 s · total 2.50 s</sub>\n')).toBe(true);
  });
});
