import { describe, expect, it } from 'vitest';
import { renderText } from '../../src/report/text.js';
import { finding, makeReport, passingReport } from './fixtures.js';

const ESC = '\x1b';

function lines(text: string): string[] {
  return text.split('\n');
}

describe('renderText', () => {
  it('starts with one line per stage with its time and detail, then the total', () => {
    const out = lines(renderText(makeReport(), { color: false }));
    expect(out.slice(0, 4)).toEqual([
      '✓ postgres    0.71 s  binaries (PostgreSQL 15.18)',
      '✓ replay      1.20 s  6 revisions, 3 new',
      '✓ compare     0.40 s  1 difference',
      '  total       2.50 s',
    ]);
  });

  it('marks the replay stage when the replay failed', () => {
    const report = makeReport({
      findings: [finding({ rule: 'replay-failed', severity: 'error', message: 'Upgrading fails.' })],
    });
    expect(renderText(report, { color: false })).toMatch(/^✗ replay {6}1\.20 s/m);
  });

  it('prints each finding as file:line, severity, rule and message', () => {
    const out = renderText(makeReport(), { color: false });
    expect(out).toMatch(
      /^migrations\/versions\/004_add_status\.py:16 {2}error {4}not-null-without-default {2}Column `status<b>` added/m,
    );
    expect(out).toMatch(/^migrations\/versions\/005_drop legacy\.py:9 {2}warning {2}drop-column {2}Drops column/m);
    expect(out).toMatch(/^migrations\/versions\/006_nothing\.py {2}notice {3}empty-migration {2}Revision d0000000006e/m);
    // No file: no location column.
    expect(out).toMatch(/^error {4}multiple-heads {2}The revision graph has 2 heads/m);
  });

  it("keeps the report's order, errors first, in blocks of one file and one severity", () => {
    // As judge() sorts them: by severity, then file (none last), then line.
    const report = makeReport({
      findings: [
        finding({ rule: 'not-null-without-default', severity: 'error', message: 'a20', file: 'a.py', line: 20 }),
        finding({ rule: 'not-null-without-default', severity: 'error', message: 'a25', file: 'a.py', line: 25 }),
        finding({ rule: 'set-not-null', severity: 'error', message: 'b5', file: 'b.py', line: 5 }),
        finding({ rule: 'replay-failed', severity: 'error', message: 'no file' }),
        finding({ rule: 'drop-column', severity: 'warning', message: 'a3', file: 'a.py', line: 3 }),
        finding({ rule: 'empty-migration', severity: 'notice', message: 'a1', file: 'a.py', line: 1 }),
      ],
    });
    const out = renderText(report, { color: false });
    const order = ['a20', 'a25', 'b5', 'no file', 'a3', 'a1'].map((message) => out.indexOf(message));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    // The errors of a.py are adjacent lines; a blank line separates files and severities.
    expect(out).toMatch(/^a\.py:20 .*a20\na\.py:25 .*a25\n\nb\.py:5 .*b5\n\nerror .*no file\n\na\.py:3 .*a3\n\na\.py:1 .*a1$/m);
  });

  it('lists the objects of a grouped finding under its message', () => {
    const report = makeReport({
      findings: [
        finding({
          rule: 'index-not-concurrent',
          severity: 'warning',
          message: '2 indexes built on existing tables without CONCURRENTLY: `ix_a` and `ix_b` (lines 12–13).',
          file: 'm.py',
          line: 12,
          suggestion: 'Build them CONCURRENTLY:\n\n```python\nop.create_index("ix_a")\nop.create_index("ix_b")\n```',
          objects: ['ix_a (line 12)', 'ix_b (line 13)'],
        }),
      ],
    });
    expect(renderText(report, { color: false })).toContain(
      'm.py:12  warning  index-not-concurrent  2 indexes built on existing tables without CONCURRENTLY: `ix_a` and `ix_b` (lines 12–13).\n' +
        '    2 objects: ix_a (line 12), ix_b (line 13)\n' +
        '    Build them CONCURRENTLY:\n\n        op.create_index("ix_a")\n        op.create_index("ix_b")\n',
    );
  });

  it('indents suggestions below the finding and shows code without markdown fences', () => {
    const out = renderText(makeReport(), { color: false });
    expect(out).not.toContain('```python');
    expect(out).toContain('\n    Add it nullable, backfill, then set NOT NULL.');
    expect(out).toContain('\n        op.add_column("posts", sa.Column("status", sa.Text(), nullable=True))\n');
    expect(out).toContain('\n    Then:\n\n        op.alter_column("posts", "status", nullable=False)\n');
    expect(out).toContain('\n        alembic merge -m "merge heads" a1 b2\n');
    // A fence line inside the code (a longer fence around it) is code, shown as it is.
    expect(out).toContain('\n        NOTE = """\n        ```\n        </details><img src=x>\n        """\n');
  });

  it('ends with the verdict of a failing check', () => {
    const out = renderText(makeReport(), { color: false });
    expect(out.endsWith('\nFAIL  2 errors, 1 warning, 1 notice (fail-on: error)\n')).toBe(true);
  });

  it('says PASS with no findings', () => {
    const out = renderText(passingReport(), { color: false });
    expect(out.endsWith('\nPASS  no findings\n')).toBe(true);
  });

  it('says PASS and why when the findings are below the gate', () => {
    const report = passingReport({
      findings: [finding({ rule: 'drop-column', severity: 'warning', message: 'Drops a column.', file: 'x.py', line: 1 })],
    });
    expect(renderText(report, { color: false }).endsWith('\nPASS  1 warning below fail-on error\n')).toBe(true);
    const never = passingReport({
      failOn: 'never',
      findings: [
        finding({ rule: 'multiple-heads', severity: 'error', message: 'Two heads.' }),
        finding({ rule: 'drop-table', severity: 'warning', message: 'a' }),
        finding({ rule: 'drop-column', severity: 'warning', message: 'b' }),
      ],
    });
    expect(renderText(never, { color: false }).endsWith('\nPASS  1 error, 2 warnings (fail-on: never)\n')).toBe(true);
  });

  it('has no escape codes at all without colour, even when the project puts some in its messages', () => {
    const report = makeReport({
      findings: [
        finding({
          rule: 'drop-column',
          severity: 'warning',
          message: `Drops \x1b[2Jcolumn \x1b]8;;http://evil\x07x`,
          file: `evil\x1b[31m.py`,
          line: 1,
          suggestion: `\x1b[1mbold`,
        }),
      ],
    });
    const out = renderText(report, { color: false });
    expect(out).not.toContain(ESC);
    expect(out).not.toContain('\x07');
    expect(out).toContain('Drops \uFFFD[2Jcolumn');
  });

  it('colours severities, dims timings and bolds the verdict when asked', () => {
    const out = renderText(makeReport(), { color: true });
    expect(out).toContain(`${ESC}[31merror`);
    expect(out).toContain(`${ESC}[33mwarning`);
    expect(out).toContain(`${ESC}[36mnotice`);
    expect(out).toMatch(new RegExp(`${ESC}\\[2m +0\\.71 s${ESC}\\[22m`));
    expect(out).toContain(`${ESC}[1m${ESC}[31mFAIL${ESC}[39m${ESC}[22m`);
    // Only our own codes: the text between them is the same as without colour.
    expect(out.replace(/\x1b\[\d+m/g, '')).toBe(renderText(makeReport(), { color: false }));
  });

  it('shows PASS in bold green', () => {
    expect(renderText(passingReport(), { color: true })).toContain(`${ESC}[1m${ESC}[32mPASS`);
  });
});
