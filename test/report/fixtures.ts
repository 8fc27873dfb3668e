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

/** What judge() makes of a migration that builds three indexes and adds three foreign keys on existing tables. */
export const GROUPED_FINDINGS: Finding[] = [
  finding({
    rule: 'index-not-concurrent',
    severity: 'warning',
    message:
      '3 indexes built on existing tables without CONCURRENTLY: `ix_posts_editor_id`, `ix_posts_reviewer_id` and ' +
      '`ix_users_invited_by_id` (lines 25–27); each build blocks writes to its table until it ends.',
    file: 'migrations/versions/004_editors.py',
    line: 25,
    revision: 'c0000000004a',
    suggestion: [
      'Build them CONCURRENTLY: writes go on during each build. CONCURRENTLY cannot run inside a transaction, hence the ' +
        'autocommit block; a build that fails leaves an INVALID index behind, to drop before retrying.',
      '',
      '```python',
      'with op.get_context().autocommit_block():',
      '    op.create_index("ix_posts_editor_id", "posts", ["editor_id"], postgresql_concurrently=True)',
      '    op.create_index("ix_posts_reviewer_id", "posts", ["reviewer_id"], postgresql_concurrently=True)',
      '    op.create_index("ix_users_invited_by_id", "users", ["invited_by_id"], postgresql_concurrently=True)',
      '```',
    ].join('\n'),
    objects: ['ix_posts_editor_id (line 25)', 'ix_posts_reviewer_id (line 26)', 'ix_users_invited_by_id (line 27)'],
  }),
  finding({
    rule: 'foreign-key-validates',
    severity: 'warning',
    message:
      '3 foreign keys added to existing tables without NOT VALID: `fk_posts_editor_id_users`, `fk_posts_reviewer_id_users` ' +
      'and `fk_users_invited_by_id_users` (lines 28–30); for each, Postgres checks every existing row while holding SHARE ROW ' +
      'EXCLUSIVE on its table and the one it references, blocking writes to them until the check ends.',
    file: 'migrations/versions/004_editors.py',
    line: 28,
    revision: 'c0000000004a',
    suggestion: [
      'Add them NOT VALID: Postgres then checks only new and updated rows, and holds its locks for an instant:',
      '',
      '```python',
      'op.create_foreign_key("fk_posts_editor_id_users", "posts", "users", ["editor_id"], ["id"], postgresql_not_valid=True)',
      'op.create_foreign_key("fk_posts_reviewer_id_users", "posts", "users", ["reviewer_id"], ["id"], postgresql_not_valid=True)',
      'op.create_foreign_key("fk_users_invited_by_id_users", "users", "users", ["invited_by_id"], ["id"], postgresql_not_valid=True)',
      '```',
      '',
      'Then check the existing rows in a later migration, deployed on its own (VALIDATE CONSTRAINT scans under SHARE UPDATE ' +
        'EXCLUSIVE, which lets reads and writes go on):',
      '',
      '```python',
      'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_editor_id_users")',
      'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_reviewer_id_users")',
      'op.execute("ALTER TABLE users VALIDATE CONSTRAINT fk_users_invited_by_id_users")',
      '```',
    ].join('\n'),
    objects: ['fk_posts_editor_id_users (line 28)', 'fk_posts_reviewer_id_users (line 29)', 'fk_users_invited_by_id_users (line 30)'],
  }),
  finding({
    rule: 'drop-column',
    severity: 'warning',
    message:
      'Drops 7 columns that exist before this pull request: `users.a`, `users.b`, `users.c`, `users.d`, `users.e` and 2 more ' +
      '(line 31): code deployed before the migration still reads and writes them and fails until the new code is out, and ' +
      'their data is deleted.',
    file: 'migrations/versions/004_editors.py',
    line: 31,
    revision: 'c0000000004a',
    suggestion: null,
    objects: ['users.a', 'users.b', 'users.c', 'users.d', 'users.e', 'users.f', 'users.g'],
  }),
];

export function groupedReport(overrides: Partial<Report> = {}): Report {
  return passingReport({
    findings: GROUPED_FINDINGS,
    revisions: { heads: ['c0000000004a'], new: ['c0000000004a'], total: 4 },
    newRevisions: [
      { revision: 'c0000000004a', file: 'migrations/versions/004_editors.py', message: 'editors and reviewers', isNew: true, seconds: 0.31, statements: 16 },
    ],
    ...overrides,
  });
}

/**
 * A big pull request: 2 errors, 14 warnings and 6 notices over four migrations, each warning with a suggestion of a
 * dozen lines, as judge() orders them (errors, warnings, notices; by file and line).
 */
export function manyFindings(): Finding[] {
  const code = (name: string) =>
    `Build it CONCURRENTLY:\n\n\`\`\`python\nwith op.get_context().autocommit_block():\n${Array.from({ length: 10 }, (_, i) => `    op.create_index("${name}_${i}", "t", ["c${i}"], postgresql_concurrently=True)`).join('\n')}\n\`\`\``;
  const files = ['004_a.py', '005_b.py', '006_c.py', '007_d.py'].map((f) => `migrations/versions/${f}`);
  const errors = [0, 1].map((i) =>
    finding({ rule: 'not-null-without-default', severity: 'error', message: `\`ALTER TABLE t${i} ADD COLUMN c text NOT NULL\` fails on a table with rows.`, file: files[i], line: 16, revision: `r${i}`, suggestion: code(`e${i}`) }),
  );
  const warnings = Array.from({ length: 14 }, (_, i) =>
    finding({ rule: i % 2 ? 'drop-column' : 'index-not-concurrent', severity: 'warning', message: `Warning number ${i} about \`t${i}\`.`, file: files[i % 4], line: 20 + i, revision: `r${i % 4}`, suggestion: code(`w${i}`) }),
  ).sort((a, b) => a.file!.localeCompare(b.file!) || a.line! - b.line!);
  const notices = Array.from({ length: 6 }, (_, i) =>
    finding({ rule: 'rename-column', severity: 'notice', message: `Notice number ${i}.`, file: files[i % 4], line: 40 + i, revision: `r${i % 4}`, suggestion: 'Rename in steps.' }),
  ).sort((a, b) => a.file!.localeCompare(b.file!) || a.line! - b.line!);
  return [...errors, ...warnings, ...notices];
}
