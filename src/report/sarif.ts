// The sarif format: SARIF 2.1.0 for GitHub code scanning and other static-analysis viewers.
import type { Finding, RuleId, Severity } from '../findings.js';
import { findingObjects, messageOmitsObjects } from './objects.js';
import type { Report } from './report.js';

const INFORMATION_URI = 'https://github.com/alembic-guard/alembic-guard';

/** One line per rule, as in the rule table of DESIGN.md and RULES.md. */
export const RULE_DESCRIPTIONS: Record<RuleId, string> = {
  'replay-failed': 'An upgrade fails: history from an empty database, or the new revisions on a database at base.',
  'removed-migration': 'A revision that exists at base is gone or renamed: databases stamped at it cannot upgrade.',
  'backfill-under-lock': 'A whole-table UPDATE or DELETE runs while its transaction holds ACCESS EXCLUSIVE on that table.',
  'migration-imports-app': "A new migration imports the project's own modules, so it breaks when they change.",
  'multiple-heads': 'The revision graph has more than one head.',
  'edited-migration': 'A migration that exists at base was changed by the pull request.',
  'missing-migration': 'The models differ from the migrated schema: a migration is missing.',
  'model-drift': 'The models and the schema differ in what autogenerate does not compare.',
  'not-null-without-default': 'NOT NULL column added to an existing table without a server default.',
  'set-not-null': 'SET NOT NULL on an existing column scans the table under ACCESS EXCLUSIVE.',
  'drop-column': 'A column is dropped: running code and data break.',
  'drop-table': 'A table is dropped: running code and data break.',
  'rename-as-drop-add': 'A column is dropped and another added in the same table and migration (a rename that loses data).',
  'rename-column': 'A column is renamed: running code breaks between migrate and deploy.',
  'rename-table': 'A table is renamed: running code breaks between migrate and deploy.',
  'column-type-change': 'A column type change rewrites the table or can lose data.',
  'index-not-concurrent': 'CREATE INDEX on an existing table without CONCURRENTLY blocks writes.',
  'foreign-key-validates': 'Foreign key added to an existing table without NOT VALID validates every row under lock.',
  'unique-constraint-scan': 'Unique constraint added to an existing table builds an index under lock.',
  'volatile-default': 'Column added with a volatile default rewrites the table.',
  'empty-migration': 'A new migration whose upgrade does nothing.',
  'downgrade-incomplete': 'The downgrade fails or does not restore the schema it started from.',
};

const LEVEL: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', notice: 'note' };

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifResult {
  ruleId: RuleId;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations?: SarifLocation[];
  /** A grouped finding: one location per object on a line of its own, with the object's name. */
  relatedLocations?: (SarifLocation & { id: number; message: { text: string } })[];
}

export interface SarifLocation {
  physicalLocation: {
    artifactLocation: { uri: string; uriBaseId: '%SRCROOT%' };
    region?: { startLine: number };
  };
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: Array<{
    tool: {
      driver: {
        name: 'alembic-guard';
        informationUri: string;
        rules: Array<{ id: RuleId; name: string; shortDescription: { text: string } }>;
      };
    };
    results: SarifResult[];
  }>;
}

export function renderSarif(report: Report): string {
  // Only the rules that appear, in order of first appearance; results point at them by index.
  const ruleIds = [...new Set(report.findings.map((finding) => finding.rule))];
  const log: SarifLog = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'alembic-guard',
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({
              id,
              name: ruleName(id),
              shortDescription: { text: RULE_DESCRIPTIONS[id] },
            })),
          },
        },
        results: report.findings.map((finding) => result(finding, ruleIds.indexOf(finding.rule))),
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

/**
 * One result per finding, a grouped one included: it is one alert (one fix), at its first object's line, with each
 * object's line as a related location; the message names every object (the list is added when it names only some).
 */
function result(finding: Finding, ruleIndex: number): SarifResult {
  const objects = findingObjects(finding);
  const named = messageOmitsObjects(finding) ? ` Objects: ${objects.map((o) => (o.line === null ? o.name : `${o.name} (line ${o.line})`)).join(', ')}.` : '';
  const sarif: SarifResult = {
    ruleId: finding.rule,
    ruleIndex,
    level: LEVEL[finding.severity],
    message: { text: `${finding.message}${named}` },
  };
  if (finding.file !== null) {
    sarif.locations = [location(finding.file, finding.line)];
    const placed = objects.filter((object) => object.line !== null && object.line >= 1);
    if (placed.length > 0) {
      sarif.relatedLocations = placed.map((object, id) => ({ id, ...location(finding.file!, object.line), message: { text: object.name } }));
    }
  }
  return sarif;
}

function location(file: string, line: number | null): SarifLocation {
  return {
    physicalLocation: {
      artifactLocation: { uri: fileUri(file), uriBaseId: '%SRCROOT%' },
      ...(line !== null && line >= 1 ? { region: { startLine: line } } : {}),
    },
  };
}

/** A relative URI reference: each path segment percent-encoded (spaces, `#`, `?`), the slashes kept. */
function fileUri(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/** SARIF's `name` is an identifier-like label: `not-null-without-default` becomes `NotNullWithoutDefault`. */
function ruleName(id: RuleId): string {
  return id
    .split('-')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}
