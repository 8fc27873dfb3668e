// Lock findings read the rest of the migration, as a reviewer does: an index dropped on the way to dropping its table,
// or built on a table the same transaction has already rewritten, is no comment of its own. Real git, Alembic, Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogProject, checkJson, migration, type FixtureProject } from '../support/fixtures.js';

const V = 'migrations/versions';
let project: FixtureProject;
let findings: { rule: string; revision: string; message: string }[];
const rulesOf = (revision: string) => findings.filter((f) => f.revision === revision).map((f) => f.rule).sort();

beforeAll(async () => {
  project = blogProject(
    {
      [`${V}/005_drop_legacy.py`]: migration(
        'c0000000005a',
        'b0000000004a',
        'drop legacy',
        'op.drop_index("ix_legacy_notes_user_id", table_name="legacy_notes")\nop.drop_table("legacy_notes")',
        'op.create_table("legacy_notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("user_id", sa.Integer()))\n' +
          'op.create_index("ix_legacy_notes_user_id", "legacy_notes", ["user_id"])',
      ),
      [`${V}/006_bigint_user_id.py`]: migration(
        'c0000000006a',
        'c0000000005a',
        'bigint user_id, and two indexes',
        [
          'op.alter_column("posts", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())',
          'op.create_index("ix_posts_user_id", "posts", ["user_id"])',
          'op.create_index("ix_users_phone", "users", ["phone"])',
        ].join('\n'),
        [
          'op.drop_index("ix_users_phone", table_name="users")',
          'op.drop_index("ix_posts_user_id", table_name="posts")',
          'op.alter_column("posts", "user_id", type_=sa.Integer(), existing_type=sa.BigInteger())',
        ].join('\n'),
      ),
      // A key type swap: both ends of the new foreign key rewritten first, in the same transaction.
      [`${V}/007_bigint_users.py`]: migration(
        'c0000000007a',
        'c0000000006a',
        'bigint user ids, and who invited whom',
        [
          'op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())',
          'op.alter_column("users", "invited_by", type_=sa.BigInteger(), existing_type=sa.Integer())',
          'op.create_foreign_key("fk_users_invited_by_users", "users", "users", ["invited_by"], ["id"])',
        ].join('\n'),
        [
          'op.drop_constraint("fk_users_invited_by_users", "users", type_="foreignkey")',
          'op.alter_column("users", "invited_by", type_=sa.Integer(), existing_type=sa.BigInteger())',
          'op.alter_column("users", "id", type_=sa.Integer(), existing_type=sa.BigInteger())',
        ].join('\n'),
      ),
    },
    {
      baseChanges: {
        [`${V}/004_legacy.py`]: migration(
          'b0000000004a',
          'b0000000003c',
          'legacy notes',
          'op.create_table("legacy_notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("user_id", sa.Integer()))\n' +
            'op.create_index("ix_legacy_notes_user_id", "legacy_notes", ["user_id"])\n' +
            'op.add_column("users", sa.Column("invited_by", sa.Integer(), nullable=True))',
        ),
      },
    },
  );
  const { report, stderr } = await checkJson(project);
  expect(report.status, stderr).not.toBe('error');
  findings = report.findings;
}, 120_000);
afterAll(() => project.remove());

describe('lock findings in the context of their migration', () => {
  it('an index dropped right before its table is not flagged; the table drop is', () => {
    expect(rulesOf('c0000000005a')).toEqual(['drop-table']);
  });

  it('an index built on a table the transaction already rewrote is not flagged; the rewrite is, and an index on another table is', () => {
    expect(rulesOf('c0000000006a')).toEqual(['column-type-change', 'index-not-concurrent']);
    const index = findings.find((f) => f.revision === 'c0000000006a' && f.rule === 'index-not-concurrent')!;
    expect(index.message).toContain('ix_users_phone');
    expect(index.message).not.toContain('ix_posts_user_id');
  });

  it('a foreign key between tables the transaction already rewrote is not flagged; the rewrites are', () => {
    expect(new Set(rulesOf('c0000000007a'))).toEqual(new Set(['column-type-change']));
  });
});
