import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../src/findings.js';
import { RULE_DESCRIPTIONS, renderSarif, type SarifLog } from '../../src/report/sarif.js';
import { finding, GROUPED_FINDINGS, groupedReport, makeReport, passingReport } from './fixtures.js';

function sarif(report = makeReport()): SarifLog {
  return JSON.parse(renderSarif(report)) as SarifLog;
}

describe('renderSarif', () => {
  it('is a SARIF 2.1.0 log with one run by alembic-guard', () => {
    const log = sarif();
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toContain('sarif-2.1.0');
    expect(log.runs).toHaveLength(1);
    expect(log.runs[0].tool.driver.name).toBe('alembic-guard');
    expect(log.runs[0].tool.driver.informationUri).toMatch(/^https:\/\//);
  });

  it('lists each rule that appears, once, with a short description', () => {
    const { rules } = sarif().runs[0].tool.driver;
    expect(rules.map((rule) => rule.id)).toEqual([
      'not-null-without-default',
      'multiple-heads',
      'drop-column',
      'empty-migration',
    ]);
    for (const rule of rules) expect(rule.shortDescription.text.length).toBeGreaterThan(10);
    expect(rules[0].name).toBe('NotNullWithoutDefault');
  });

  it('lists a rule once even when it has several results', () => {
    const report = makeReport({
      findings: [
        finding({ rule: 'drop-column', severity: 'warning', file: 'a.py', line: 1 }),
        finding({ rule: 'drop-column', severity: 'warning', file: 'b.py', line: 2 }),
      ],
    });
    const run = sarif(report).runs[0];
    expect(run.tool.driver.rules.map((rule) => rule.id)).toEqual(['drop-column']);
    expect(run.results.map((result) => result.ruleIndex)).toEqual([0, 0]);
  });

  it('has a description for every rule id', () => {
    for (const id of RULE_IDS) expect(RULE_DESCRIPTIONS[id]).toMatch(/\.$/);
  });

  it('maps severities to SARIF levels and keeps rule ids and messages', () => {
    const run = sarif().runs[0];
    expect(run.results.map((result) => [result.ruleId, result.level])).toEqual([
      ['not-null-without-default', 'error'],
      ['multiple-heads', 'error'],
      ['drop-column', 'warning'],
      ['empty-migration', 'note'],
    ]);
    for (const result of run.results) {
      expect(run.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
    }
    expect(run.results[0].message.text).toBe(makeReport().findings[0].message);
  });

  it('locates results by relative file and start line', () => {
    const [withLine, noFile, spaced, noLine] = sarif().runs[0].results;
    expect(withLine.locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: 'migrations/versions/004_add_status.py', uriBaseId: '%SRCROOT%' },
          region: { startLine: 16 },
        },
      },
    ]);
    expect(noFile.locations).toBeUndefined();
    expect(spaced.locations![0].physicalLocation.artifactLocation.uri).toBe('migrations/versions/005_drop%20legacy.py');
    expect(noLine.locations![0].physicalLocation.artifactLocation.uri).toBe('migrations/versions/006_nothing.py');
    expect(noLine.locations![0].physicalLocation.region).toBeUndefined();
  });

  it('makes one result of a grouped finding, at its first line, with each object as a related location', () => {
    const [indexes, , columns] = sarif(groupedReport()).runs[0].results;
    expect(indexes.locations![0].physicalLocation.region).toEqual({ startLine: 25 });
    expect(indexes.message.text).toBe(GROUPED_FINDINGS[0].message);
    expect(indexes.relatedLocations).toEqual(
      [
        ['ix_posts_editor_id', 25],
        ['ix_posts_reviewer_id', 26],
        ['ix_users_invited_by_id', 27],
      ].map(([name, line], id) => ({
        id,
        physicalLocation: { artifactLocation: { uri: 'migrations/versions/004_editors.py', uriBaseId: '%SRCROOT%' }, region: { startLine: line } },
        message: { text: name },
      })),
    );
    // Objects on one line have no location of their own; the message, which names five, gets the whole list.
    expect(columns.relatedLocations).toBeUndefined();
    expect(columns.message.text).toBe(`${GROUPED_FINDINGS[2].message} Objects: users.a, users.b, users.c, users.d, users.e, users.f, users.g.`);
  });

  it('has no rules and no results for a clean run', () => {
    const run = sarif(passingReport()).runs[0];
    expect(run.tool.driver.rules).toEqual([]);
    expect(run.results).toEqual([]);
  });
});
