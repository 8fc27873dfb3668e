// The json format: the one document of the CLI contract in DESIGN.md (external checks parse it, so only these keys).
import type { RuleId, Severity } from '../findings.js';
import type { Report, Status } from './report.js';

export interface JsonFinding {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string | null;
  line: number | null;
  revision: string | null;
  suggestion: string | null;
  /** A grouped finding only (one rule, one migration, one fix, several objects): the objects, "ix_a (line 12)". */
  objects?: string[];
}

export interface JsonTimings {
  database: number;
  replay: number;
  compare: number;
  total: number;
}

export interface JsonReport {
  version: 1;
  status: Status;
  findings: JsonFinding[];
  revisions: { heads: string[]; new: string[]; total: number };
  timings: JsonTimings;
}

/** What `--format json` prints when the check could not run (exit code 2). */
export interface JsonErrorReport extends JsonReport {
  status: 'error';
  error: { message: string; file: string | null; line: number | null };
}

export function renderJson(report: Report): string {
  const document: JsonReport = {
    version: 1,
    status: report.status,
    // Copied key by key: a field added to Finding later must not leak into the contract.
    findings: report.findings.map((finding) => ({
      rule: finding.rule,
      severity: finding.severity,
      message: finding.message,
      file: finding.file,
      line: finding.line,
      revision: finding.revision,
      suggestion: finding.suggestion,
      ...(finding.objects && finding.objects.length > 0 ? { objects: [...finding.objects] } : {}),
    })),
    revisions: {
      heads: [...report.revisions.heads],
      new: [...report.revisions.new],
      total: report.revisions.total,
    },
    timings: {
      database: roundSeconds(report.timings.database),
      replay: roundSeconds(report.timings.replay),
      compare: roundSeconds(report.timings.compare),
      total: roundSeconds(report.timings.total),
    },
  };
  return serialize(document);
}

export function renderJsonError(message: string, file: string | null = null, line: number | null = null): string {
  const document: JsonErrorReport = {
    version: 1,
    status: 'error',
    error: { message, file, line },
    findings: [],
    revisions: { heads: [], new: [], total: 0 },
    timings: { database: 0, replay: 0, compare: 0, total: 0 },
  };
  return serialize(document);
}

/** Three decimals; a stage that did not run (or a non-finite value) is 0, since the contract promises numbers. */
function roundSeconds(seconds: number): number {
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : 0;
}

function serialize(document: JsonReport): string {
  return JSON.stringify(document, null, 2) + '\n';
}
