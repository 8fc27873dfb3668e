import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/findings.js';
import { renderJson, renderJsonError } from '../../src/report/json.js';
import { FAILING_FINDINGS, GROUPED_FINDINGS, groupedReport, makeReport, passingReport } from './fixtures.js';

const FINDING_KEYS = ['rule', 'severity', 'message', 'file', 'line', 'revision', 'suggestion'];

describe('renderJson', () => {
  it('prints one JSON document with exactly the contracted keys', () => {
    const document = JSON.parse(renderJson(makeReport()));
    expect(Object.keys(document)).toEqual(['version', 'status', 'findings', 'revisions', 'timings']);
    expect(document.version).toBe(1);
    expect(document.status).toBe('fail');
    expect(Object.keys(document.revisions)).toEqual(['heads', 'new', 'total']);
    expect(Object.keys(document.timings)).toEqual(['database', 'replay', 'compare', 'total']);
    expect(document.findings).toHaveLength(FAILING_FINDINGS.length);
    for (const finding of document.findings) expect(Object.keys(finding)).toEqual(FINDING_KEYS);
  });

  it('carries the findings as they are, nulls included', () => {
    const document = JSON.parse(renderJson(makeReport()));
    expect(document.findings).toEqual(FAILING_FINDINGS);
    expect(document.findings[1]).toMatchObject({ file: null, line: null, revision: null });
    expect(document.findings[2].suggestion).toBeNull();
    expect(document.revisions).toEqual({
      heads: ['d0000000006e'],
      new: ['b0000000004c', 'c0000000005d', 'd0000000006e'],
      total: 6,
    });
  });

  it('leaves out fields the contract does not have', () => {
    const extra = { ...FAILING_FINDINGS[0], observed: { locks: ['AccessExclusiveLock'] } } as Finding;
    const document = JSON.parse(renderJson(makeReport({ findings: [extra] })));
    expect(Object.keys(document.findings[0])).toEqual(FINDING_KEYS);
    expect(renderJson(makeReport({ findings: [extra] }))).not.toContain('observed');
  });

  it('adds `objects` to a grouped finding only, after every contracted key', async () => {
    const report = groupedReport({ findings: [...GROUPED_FINDINGS, FAILING_FINDINGS[2]] });
    const out = renderJson(report);
    await expect(out).toMatchFileSnapshot('__snapshots__/grouped-report.json');
    const document = JSON.parse(out);
    expect(document.findings.map((f: object) => Object.keys(f))).toEqual([
      [...FINDING_KEYS, 'objects'],
      [...FINDING_KEYS, 'objects'],
      [...FINDING_KEYS, 'objects'],
      FINDING_KEYS,
    ]);
    expect(document.findings[0].objects).toEqual(['ix_posts_editor_id (line 25)', 'ix_posts_reviewer_id (line 26)', 'ix_users_invited_by_id (line 27)']);
    expect(document.findings[2].objects).toHaveLength(7);
    // The internal fields never reach the contract.
    const internal = { ...FAILING_FINDINGS[2], object: 'posts.legacy', concern: 'data' } as Finding;
    expect(Object.keys(JSON.parse(renderJson(makeReport({ findings: [internal] }))).findings[0])).toEqual(FINDING_KEYS);
  });

  it('rounds timings to three decimals', () => {
    const report = makeReport({ timings: { database: 0.71234, replay: 1.2, compare: 0.4006, total: 12.34567 } });
    expect(JSON.parse(renderJson(report)).timings).toEqual({ database: 0.712, replay: 1.2, compare: 0.401, total: 12.346 });
  });

  it('is pretty-printed with two spaces and ends with one newline', () => {
    const out = renderJson(passingReport());
    expect(out.split('\n')[1]).toBe('  "version": 1,');
    expect(out.endsWith('}\n')).toBe(true);
    expect(out.endsWith('\n\n')).toBe(false);
    expect(JSON.parse(out).findings).toEqual([]);
    expect(JSON.parse(out).status).toBe('pass');
  });

  it('keeps hostile text intact (it is data, not markup)', () => {
    const document = JSON.parse(renderJson(makeReport()));
    expect(document.findings[0].message).toBe(FAILING_FINDINGS[0].message);
    expect(document.findings[0].suggestion).toBe(FAILING_FINDINGS[0].suggestion);
  });
});

describe('renderJsonError', () => {
  it('prints the error document of an exit-code-2 run', () => {
    const out = renderJsonError('No alembic.ini in /repo: run from the project root or pass --config.');
    expect(out.endsWith('}\n')).toBe(true);
    const document = JSON.parse(out);
    expect(document).toEqual({
      version: 1,
      status: 'error',
      error: { message: 'No alembic.ini in /repo: run from the project root or pass --config.', file: null, line: null },
      findings: [],
      revisions: { heads: [], new: [], total: 0 },
      timings: { database: 0, replay: 0, compare: 0, total: 0 },
    });
    expect(Object.keys(document)).toEqual(['version', 'status', 'error', 'findings', 'revisions', 'timings']);
  });

  it('escapes the message as JSON', () => {
    const message = 'bad "quote"\nand \\ backslash';
    expect(JSON.parse(renderJsonError(message)).error.message).toBe(message);
  });
});
