import { describe, expect, it } from 'vitest';
import {
  mermaidText,
  renderCheckError,
  renderFindingComment,
  renderMarkdown,
  renderPullRequestComment,
  truncateMarkdown,
} from '../../src/report/markdown.js';
import type { Report } from '../../src/report/report.js';
import { FAILING_FINDINGS, finding, GROUPED_FINDINGS, groupedReport, makeReport, manyFindings, passingReport } from './fixtures.js';

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

  it('has a findings table with one four-cell row per finding, the notices folded under it', () => {
    const out = renderMarkdown(makeReport());
    const rows = tableRows(out, FINDINGS_HEADER);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(cells(row)).toHaveLength(4);
    expect(cells(rows[0]).slice(0, 3)).toEqual([
      '❌ error',
      '`not-null-without-default`',
      '`migrations/versions/004_add_status.py:16`',
    ]);
    expect(cells(rows[1])[2]).toBe('—');
    expect(cells(rows[2])[0]).toBe('⚠️ warning');
    expect(cells(rows[1])[3]).toBe('The revision graph has 2 heads (a1, b2): `alembic upgrade head` fails.');
    // The notice: right under the table, in a folded table of its own.
    const fold = out.indexOf('<details><summary>1 notice</summary>\n\n' + FINDINGS_HEADER);
    expect(fold).toBe(out.indexOf(rows[2]) + rows[2].length + 2);
    const [notice] = tableRows(out.slice(fold), FINDINGS_HEADER);
    expect(cells(notice).slice(0, 3)).toEqual(['ℹ️ notice', '`empty-migration`', '`migrations/versions/006_nothing.py`']);
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
    // Two suggestions, the hostile one, and the folded notice.
    expect(markup.match(/<details>/g)).toHaveLength(4);
    expect(markup.match(/<\/details>/g)).toHaveLength(4);
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
    // No details block for findings without a suggestion: the two suggestions, and the folded notice.
    expect(out.match(/<details>/g)).toHaveLength(3);
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

/** Two branches off b0000000003c: the base's avatar column and the PR's bio column. */
const FORKED_GRAPH: Report['graph'] = [
  { revision: 'a0000000001a', parents: [], isNew: false, message: 'create users', file: 'migrations/versions/001.py' },
  { revision: 'a0000000002b', parents: ['a0000000001a'], isNew: false, message: 'create posts', file: 'migrations/versions/002.py' },
  { revision: 'b0000000003c', parents: ['a0000000002b'], isNew: false, message: 'add phone', file: 'migrations/versions/003.py' },
  { revision: 'd0000000004e', parents: ['b0000000003c'], isNew: false, message: 'add avatar', file: 'migrations/versions/004_avatar.py' },
  { revision: 'c0000000004d', parents: ['b0000000003c'], isNew: true, message: 'add "bio" <b>`x`</b> @octocat', file: 'migrations/versions/004_bio.py' },
  { revision: 'c0000000005e', parents: ['c0000000004d'], isNew: true, message: 'index bio', file: 'migrations/versions/005_bio.py' },
];

describe('renderMarkdown for the pull request', () => {
  it('draws the history as a Mermaid graph when there are several heads: the branches and where they meet', () => {
    const report = makeReport({ graph: FORKED_GRAPH, revisions: { heads: ['c0000000005e', 'd0000000004e'], new: ['c0000000004d', 'c0000000005e'], total: 6 } });
    const out = renderMarkdown(report);
    expect(out).toContain('#### Revision history');
    expect(out).toContain('The history has 2 heads (`c0000000005e`, `d0000000004e`)');
    const [graph] = fencedBlocks(out).filter((block) => block.info === 'mermaid');
    const lines = graph.code.split('\n');
    expect(lines[0]).toBe('flowchart TB');
    // The shared history before the fork point is left out; the fork point and both branches are drawn.
    expect(graph.code).not.toContain('a0000000001a');
    expect(graph.code).not.toContain('a0000000002b');
    expect(lines).toContain('  r0["b0000000003c: add phone"]');
    expect(lines).toContain('  r1["d0000000004e (head): add avatar"]');
    expect(lines).toContain('  r3["c0000000005e (head, new): index bio"]');
    expect(lines).toEqual(expect.arrayContaining(['  r0 --> r1', '  r0 --> r2', '  r2 --> r3']));
    expect(lines).toContain('  class r2,r3 new');
    // The PR's message cannot close the label, the fence or inject HTML: every such character is an entity.
    const label = lines.find((line) => line.startsWith('  r2['))!;
    expect(label).toBe(`  r2["c0000000004d (new): add #34;bio#34; #60;b#62;#96;x#96;#60;/b#62; #64;octocat"]`);
  });

  it('draws no graph for a single head', () => {
    expect(renderMarkdown(makeReport({ graph: FORKED_GRAPH.slice(0, 3) }))).not.toContain('mermaid');
  });

  it('summarises what the new migrations do to each table, escaped', () => {
    const out = renderMarkdown(
      passingReport({
        tableChanges: [
          { table: 'posts', changes: ['column added status: text not null'] },
          { table: 'users', changes: ['column added bio: varchar(500)', 'index added ix_users_bio <b>@octocat</b>'] },
        ],
      }),
    );
    expect(out).toContain(
      '#### What the new migrations change\n\n- `posts`: column added status: text not null\n' +
        `- \`users\`: column added bio: varchar(500); index added ix\\_users\\_bio &lt;b&gt;@${ZWJ}octocat&lt;/b&gt;`,
    );
  });

  it('folds a long table summary into a details block', () => {
    const tableChanges = Array.from({ length: 12 }, (_, i) => ({ table: `t${i}`, changes: ['table added'] }));
    const out = renderMarkdown(passingReport({ tableChanges }));
    expect(out).toContain('<details><summary>What the new migrations change (12 tables)</summary>');
  });

  it('says that the findings of the previous run are fixed once there are none', () => {
    const clean = renderMarkdown(passingReport({ newRevisions: [] }), { previousFindings: 3 });
    expect(clean.split('\n')[0]).toBe('### ✅ alembic-guard: migrations and models agree');
    expect(clean).toContain('🎉 All 3 findings reported earlier on this pull request are fixed.');
    expect(renderMarkdown(passingReport(), { previousFindings: 1 })).toContain('The finding reported earlier on this pull request is fixed.');
    expect(renderMarkdown(passingReport(), { previousFindings: 0 })).not.toContain('fixed');
    expect(renderMarkdown(makeReport(), { previousFindings: 3 })).not.toContain('fixed');
  });

  it('lists the findings no inline comment could be put on, escaped', () => {
    const out = renderMarkdown(makeReport(), { notInline: [FAILING_FINDINGS[0]] });
    expect(out).toContain("This finding is on a line that the pull request's diff does not show, so there is no inline comment for it:");
    expect(out).toContain('- `migrations/versions/004_add_status.py:16` `not-null-without-default`: Column `status<b>` added &lt;img');
    expect(outsideCode(out).replace(OUR_TAGS, '')).not.toMatch(/[<>]/);
  });

  it('is unchanged for the CLI when there is no graph, table summary or comment option', () => {
    expect(renderMarkdown(makeReport())).toBe(renderMarkdown(makeReport(), {}));
  });
});

describe('renderMarkdown of grouped findings and of a big pull request', () => {
  it('renders a grouped report: one row per finding, its objects and one suggestion in its block', async () => {
    const out = renderMarkdown(groupedReport());
    await expect(out).toMatchFileSnapshot('__snapshots__/grouped-report.md');
    expect(tableRows(out, FINDINGS_HEADER)).toHaveLength(3);
    expect(out).toContain(
      '<details><summary>Suggestion for <code>index-not-concurrent</code> at <code>migrations/versions/004_editors.py:25</code></summary>\n\n' +
        '**3 objects:** `ix_posts_editor_id` (line 25), `ix_posts_reviewer_id` (line 26), `ix_users_invited_by_id` (line 27)\n\nBuild them CONCURRENTLY',
    );
    // A grouped finding without a suggestion still lists every object (its message names only five).
    expect(out).toContain(
      '<details><summary>Objects of <code>drop-column</code> at <code>migrations/versions/004_editors.py:31</code></summary>\n\n' +
        '**7 objects:** `users.a`, `users.b`, `users.c`, `users.d`, `users.e`, `users.f`, `users.g`\n\n</details>',
    );
  });

  it('puts the objects of a grouped finding in its inline review comment', () => {
    const out = renderFindingComment(GROUPED_FINDINGS[1]);
    expect(out.split('\n\n')[1]).toBe(
      '**3 objects:** `fk_posts_editor_id_users` (line 28), `fk_posts_reviewer_id_users` (line 29), `fk_users_invited_by_id_users` (line 30)',
    );
  });

  it('fits what a reviewer sees first of 22 findings on one screen: verdict, counts, errors, the first 10 warnings', () => {
    const findings = manyFindings();
    expect(findings).toHaveLength(22);
    const out = renderMarkdown(makeReport({ findings }));
    const aboveFold = out.slice(0, out.indexOf('<details>')).trimEnd().split('\n');
    expect(aboveFold.length).toBeLessThanOrEqual(40);
    expect(aboveFold[0]).toBe('### ❌ alembic-guard: 2 errors, 14 warnings, 6 notices');
    const shown = tableRows(out, FINDINGS_HEADER);
    expect(shown.map((row) => cells(row)[0])).toEqual(['❌ error', '❌ error', ...Array(10).fill('⚠️ warning')]);
    expect(aboveFold.slice(-shown.length)).toEqual(shown);
    // Right below the table, the rest, folded with their suggestions; every finding is in the comment, in the report's order.
    expect(out.slice(out.indexOf('<details>'))).toMatch(/^<details><summary>4 more warnings and 6 notices<\/summary>\n\n\| Severity/);
    const positions = findings.map((f) => out.indexOf(f.message.replace(/`([^`]+)`/g, '`$1`')));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // Every suggestion is a collapsed block, none is open.
    expect(out.match(/<details><summary>Suggestion for/g)).toHaveLength(22);
    expect(outsideCode(out).match(/<details>/g)!.length).toBe(outsideCode(out).match(/<\/details>/g)!.length);
  });

  it('folds only the notices when there are few warnings, and says "more" only after a table', () => {
    const few = [finding({ rule: 'drop-column', severity: 'warning', message: 'w' }), finding({ rule: 'rename-column', severity: 'notice', message: 'n' })];
    expect(renderMarkdown(makeReport({ findings: few }))).toContain('<details><summary>1 notice</summary>');
    const notices = [finding({ rule: 'rename-column', severity: 'notice', message: 'n1' }), finding({ rule: 'rename-table', severity: 'notice', message: 'n2' })];
    const out = renderMarkdown(passingReport({ findings: notices }));
    expect(out).toContain('<details><summary>2 notices</summary>');
    expect(out.slice(0, out.indexOf('<details>'))).not.toContain(FINDINGS_HEADER);
  });

  it('folds a long missing migration and a long list of findings outside the diff', () => {
    const long = Array.from({ length: 30 }, (_, i) => `    op.add_column("t", sa.Column("c${i}", sa.Text()))`).join('\n');
    const out = renderMarkdown(makeReport({ missingMigration: { upgrade: `def upgrade() -> None:\n${long}\n`, downgrade: 'def downgrade() -> None:\n    pass\n' } }));
    expect(out).toContain('#### Missing migration\n\nThe models differ from the schema the migrations build. `alembic revision --autogenerate` would write:\n\n<details><summary>The migration (35 lines)</summary>\n\n```python\ndef upgrade() -> None:');
    const outside = manyFindings().slice(0, 6);
    expect(renderMarkdown(makeReport(), { notInline: outside })).toContain(
      "<details><summary>6 findings are on lines that the pull request's diff does not show, so there is no inline comment for them</summary>\n\n- `migrations/versions/004_a.py:16`",
    );
  });
});

describe('renderCheckError', () => {
  it('says the check could not run, with the message in a block it cannot close', () => {
    const out = renderCheckError('env.py failed:\n```\n<img src=x> @octocat');
    expect(out.split('\n')[0]).toBe('### ⚠️ alembic-guard: the check could not run');
    expect(fencedBlocks(out)).toEqual([{ info: 'text', code: 'env.py failed:\n```\n<img src=x> @octocat' }]);
  });
});

describe('renderFindingComment', () => {
  it('gives the severity, rule and message, and the suggestion in a details block', () => {
    const out = renderFindingComment(FAILING_FINDINGS[0]);
    expect(out.split('\n')[0]).toMatch(/^\*\*❌ error\*\* `not-null-without-default` — Column `status<b>` added &lt;img/);
    expect(out).toContain('<details><summary>Suggestion</summary>\n\nAdd it nullable');
    expect(outsideCode(out).replace(OUR_TAGS, '')).not.toMatch(/[<>]|@[A-Za-z]/);
    expect(renderFindingComment(FAILING_FINDINGS[2])).not.toContain('<details>');
  });
});

describe('mermaidText', () => {
  it('keeps plain text and turns everything else into entities', () => {
    expect(mermaidText('add col (users.bio): 1/2')).toBe('add col (users.bio): 1/2');
    expect(mermaidText('"]\n`é😀')).toBe('#34;#93;#10;#96;#233;#128512;');
  });
});

describe('truncateMarkdown', () => {
  const NOTICE = '_cut: see the job summary_';

  it('leaves markdown that fits alone', () => {
    expect(truncateMarkdown('short', 100, NOTICE)).toBe('short');
  });

  it('cuts at a line break outside code fences and details blocks, and ends with the notice', () => {
    const code = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const markdown = ['### title', 'para', '```python', code, '```', '<details><summary>x</summary>', '', code, '', '</details>', 'tail'].join('\n');
    for (let limit = 40; limit < markdown.length; limit += 7) {
      const out = truncateMarkdown(markdown, limit, NOTICE);
      expect(out.length).toBeLessThanOrEqual(limit);
      expect(out.endsWith(`\n\n${NOTICE}`)).toBe(true);
      const kept = out.slice(0, -NOTICE.length);
      // Balanced: as many fence lines as an even count, as many <details> as </details>.
      expect((kept.match(/^```/gm) ?? []).length % 2).toBe(0);
      expect((kept.match(/<details>/g) ?? []).length).toBe((kept.match(/<\/details>/g) ?? []).length);
    }
    expect(truncateMarkdown(markdown, 40, NOTICE)).toBe(`### title\n\n${NOTICE}`);
  });

  it('makes a pull request comment of at most the limit, cut cleanly, the marker last', () => {
    const huge = 'x = 1\n'.repeat(20_000);
    const report = makeReport({ missingMigration: { upgrade: huge, downgrade: huge } });
    const markdown = renderMarkdown(report);
    expect(markdown.length).toBeGreaterThan(65_536);
    const marker = '<!-- alembic-guard:comment key=alembic.ini findings=4 -->';
    const out = renderPullRequestComment(markdown, { marker, limit: 65_536, cutNotice: '_Cut: the whole report is in the job summary._' });
    expect(out.length).toBeLessThanOrEqual(65_536);
    expect(out.split('\n')[0]).toBe('### ❌ alembic-guard: 2 errors, 1 warning, 1 notice');
    expect(out.endsWith(`_Cut: the whole report is in the job summary._\n\n${marker}\n`)).toBe(true);
    // The huge missing migration is dropped whole: no code block left open.
    expect(out).not.toContain('x = 1');
    expect(fencedBlocks(out).every((block) => !block.code.includes('<!--'))).toBe(true);
    expect(out).toContain('| Severity | Rule | Location | Message |');
  });

  it('leaves a comment that fits as it is, plus the marker', () => {
    const markdown = renderMarkdown(makeReport());
    expect(renderPullRequestComment(markdown, { marker: '<!-- m -->', limit: 65_536, cutNotice: 'cut' })).toBe(`${markdown}\n<!-- m -->\n`);
  });
});
