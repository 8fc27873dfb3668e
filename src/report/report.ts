// The Report: everything the output formats need, assembled once at the end of the pipeline.
import type { Finding } from '../findings.js';

export type Status = 'pass' | 'fail' | 'error';

export interface StageTiming {
  /** `postgres`, `python`, `load`, `replay`, `compare`, `judge`. */
  stage: string;
  seconds: number;
  /** One short phrase, e.g. "binaries (PostgreSQL 15.18)" or "14 revisions, 3 new". */
  detail: string;
}

export interface RevisionSummary {
  revision: string;
  /** Relative to the repository root. */
  file: string;
  message: string;
  isNew: boolean;
  seconds: number | null;
  statements: number;
}

export interface Report {
  version: 1;
  status: Status;
  /** The severity at which the check fails (from --fail-on). */
  failOn: 'error' | 'warning' | 'never';
  /** Sorted: errors first, then by file and line. */
  findings: Finding[];
  /** Findings silenced by `# alembic-guard: ignore[...]`, with the comment's reason and place. */
  suppressed: (Finding & { reason: string; comment: string })[];
  revisions: {
    heads: string[];
    new: string[];
    total: number;
  };
  /** Seconds, as in the JSON contract. */
  timings: { database: number; replay: number; compare: number; total: number };
  /** Per-stage lines for the text format. */
  stages: StageTiming[];
  /** The new revisions (and, for context, nothing else), in replay order. */
  newRevisions: RevisionSummary[];
  /** The comparison's diff as Python to paste, when there is one. */
  missingMigration: { upgrade: string; downgrade: string } | null;
  /** Every revision with its parents, base first (for a graph of the history when there are several heads). */
  graph: { revision: string; parents: string[]; isNew: boolean; message: string; file: string }[];
  /** What the pull request's migrations do to each table: the schema before its first new migration against after its last. */
  tableChanges: { table: string; changes: string[] }[];
  /** What the check compared against: "origin/main (3f2a1c9)", or a sentence saying there was no base. */
  base: string;
  /** Project config file relative to the repository root. */
  config: string;
}
