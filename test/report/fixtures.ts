// Hand-built reports for the renderer tests: every kind of finding, and text a hostile project could write.
import type { Finding } from '../../src/findings.js';
import type { Report } from '../../src/report/report.js';

export const HOSTILE_MESSAGE =
  'Column `status<b>` added <img src=x onerror=alert(1)> to | pipe table by @octocat & [link](https://evil.example) *bold*.';

export const FENCED_SUGGESTION = [
  'Add it nullable, backfill, then set NOT NULL. Ask @octocat, or <script>alert(1)</script>:',
  '',
  '````python',
  'op.add_column("posts", sa.Column("status", sa.Text(), nullable=True))',
  'op.execute("UPDATE posts SET status = \'<draft>\' WHERE status IS NULL")  # @octocat ```',
  'NOTE = """',
  '```',
  '</details><img src=x>',
  '"""',
  '````',
  '',
  'Then:',
  '',
  '```python',
  'op.alter_column("posts", "status", nullable=False)',
  '```',
].join('\n');

export function finding(overrides: Partial<Finding> & Pick<Finding, 'rule' | 'severity'>): Finding {
  return {
    message: 'Something is wrong.',
    file: null,
    line: null,
    revision: null,
    suggestion: null,
    ...overrides,
  };
}

export const FAILING_FINDINGS: Finding[] = [
  finding({
    rule: 'not-null-without-default',
    severity: 'error',
    message: HOSTILE_MESSAGE,
    file: 'migrations/versions/004_add_status.py',
    line: 16,
    revision: 'b0000000004c',
    suggestion: FENCED_SUGGESTION,
  }),
  finding({
    rule: 'multiple-heads',
    severity: 'error',
    message: 'The revision graph has 2 heads (a1, b2): `alembic upgrade head` fails.',
    suggestion: 'Add a merge revision:\n\n```sh\nalembic merge -m "merge heads" a1 b2\n```',
  }),
  finding({
    rule: 'drop-column',
    severity: 'warning',
    message: 'Drops column `posts.legacy`.',
    file: 'migrations/versions/005_drop legacy.py',
    line: 9,
    revision: 'c0000000005d',
  }),
  finding({
    rule: 'empty-migration',
    severity: 'notice',
    message: 'Revision d0000000006e has an upgrade() that does nothing.',
    file: 'migrations/versions/006_nothing.py',
    line: null,
    revision: 'd0000000006e',
  }),
];

export function makeReport(overrides: Partial<Report> = {}): Report {
  return {
    version: 1,
    status: 'fail',
    failOn: 'error',
    findings: FAILING_FINDINGS,
    suppressed: [],
    graph: [],
    tableChanges: [],
    revisions: { heads: ['d0000000006e'], new: ['b0000000004c', 'c0000000005d', 'd0000000006e'], total: 6 },
    timings: { database: 0.71234, replay: 1.2, compare: 0.40049, total: 2.5005 },
    stages: [
      { stage: 'postgres', seconds: 0.71234, detail: 'binaries (PostgreSQL 15.18)' },
      { stage: 'replay', seconds: 1.2, detail: '6 revisions, 3 new' },
      { stage: 'compare', seconds: 0.40049, detail: '1 difference' },
    ],
    newRevisions: [
      {
        revision: 'b0000000004c',
        file: 'migrations/versions/004_add_status.py',
        message: 'add status <img src=x> | @octocat',
        isNew: true,
        seconds: 0.12,
        statements: 3,
      },
      {
        revision: 'c0000000005d',
        file: 'migrations/versions/005_drop legacy.py',
        message: 'drop legacy',
        isNew: true,
        seconds: null,
        statements: 1,
      },
    ],
    missingMigration: {
      upgrade: 'def upgrade() -> None:\n    op.execute("""\n```\n<img src=x> @octocat\n""")\n',
      downgrade: 'def downgrade() -> None:\n    op.drop_column("posts", "note")\n',
    },
    base: 'origin/main (3f2a1c9)',
    config: 'alembic.ini',
    ...overrides,
  };
}

export function passingReport(overrides: Partial<Report> = {}): Report {
  return makeReport({
    status: 'pass',
    findings: [],
    missingMigration: null,
    ...overrides,
  });
}
