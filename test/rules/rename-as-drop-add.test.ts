// rename-as-drop-add through the real CLI: real git, real Alembic, a real disposable Postgres. The rule judges where a
// migration leaves each column: a copy-and-swap keeps the data, autogenerate's drop + add of a renamed attribute does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blogProject, checkJson, migration, type FixtureProject } from '../support/fixtures.js';
import type { JsonFinding as Finding } from '../support/rule-check.js';

const V = 'migrations/versions';

let project: FixtureProject;
afterAll(() => project?.remove());

describe('rename-as-drop-add judges the end state of each migration', () => {
  let findings: Finding[];
  let dropped: Finding[];
  let lineOf: (file: string, text: string) => number;
  const of = (revision: string) => findings.filter((f) => f.revision === revision);

  beforeAll(async () => {
    project = blogProject(
      {
        // What autogenerate writes after renaming User.name to User.full_name.
        [`${V}/005_full_name.py`]: migration(
          'a0000000005a',
          'a0000000004a',
          'full name',
          `op.add_column("users", sa.Column("full_name", sa.String(length=100), nullable=True))\nop.drop_column("users", "name")`,
        ),
        // Copy-and-swap: a bigint user_id built beside the old one, filled, then put in its place.
        [`${V}/006_user_id_bigint.py`]: migration(
          'a0000000006a',
          'a0000000005a',
          'posts.user_id to bigint',
          [
            `op.add_column("posts", sa.Column("new_user_id", sa.BigInteger(), nullable=True))`,
            `op.execute("UPDATE posts SET new_user_id = user_id")`,
            `op.drop_column("posts", "user_id")`,
            `op.alter_column("posts", "new_user_id", new_column_name="user_id")`,
          ].join('\n'),
        ),
        // The swap the other way round: the old column moved aside first.
        [`${V}/007_phone_swap.py`]: migration(
          'a0000000007a',
          'a0000000006a',
          'longer phone',
          [
            `op.alter_column("users", "phone", new_column_name="old_phone")`,
            `op.add_column("users", sa.Column("phone", sa.String(length=32), nullable=True))`,
            `op.execute("UPDATE users SET phone = old_phone")`,
            `op.drop_column("users", "old_phone")`,
          ].join('\n'),
        ),
        // The values copied into a column of another name before the drop: nothing is lost.
        [`${V}/008_contact_email.py`]: migration(
          'a0000000008a',
          'a0000000007a',
          'contact email',
          [
            `op.add_column("users", sa.Column("contact_email", sa.String(length=100), nullable=True))`,
            `op.execute("UPDATE users SET contact_email = email")`,
            `op.drop_column("users", "email")`,
          ].join('\n'),
        ),
        // Unrelated columns that happen to meet in one migration: a timestamp is no integer.
        [`${V}/009_login_count.py`]: migration(
          'a0000000009a',
          'a0000000008a',
          'login count',
          `op.add_column("users", sa.Column("login_count", sa.Integer(), nullable=True))\nop.drop_column("users", "created_at")`,
        ),
        // A rename with a wider type: still the trap.
        [`${V}/010_heading.py`]: migration(
          'a0000000010a',
          'a0000000009a',
          'heading',
          `op.add_column("posts", sa.Column("heading", sa.Text(), nullable=True))\nop.drop_column("posts", "title")`,
        ),
        // Dropped and added straight back under its name: the values are gone.
        [`${V}/011_body.py`]: migration(
          'a0000000011a',
          'a0000000010a',
          'body as text',
          `op.drop_column("posts", "body")\nop.add_column("posts", sa.Column("body", sa.Text(), nullable=True))`,
        ),
        // Added under a scratch name, renamed to its real one; the old column dropped without a copy.
        [`${V}/012_nickname.py`]: migration(
          'a0000000012a',
          'a0000000011a',
          'nickname',
          [
            `op.add_column("users", sa.Column("tmp_nickname", sa.String(length=50), nullable=True))`,
            `op.alter_column("users", "tmp_nickname", new_column_name="nickname")`,
            `op.drop_column("users", "username")`,
          ].join('\n'),
        ),
      },
      {
        baseChanges: {
          [`${V}/004_name.py`]: migration(
            'a0000000004a',
            'b0000000003c',
            'name',
            `op.add_column("users", sa.Column("name", sa.String(length=100), nullable=True))`,
            `op.drop_column("users", "name")`,
          ),
        },
      },
    );
    const { report, stderr } = await checkJson(project);
    expect(report.status, stderr).not.toBe('error');
    findings = report.findings.filter((f: Finding) => f.rule === 'rename-as-drop-add');
    dropped = report.findings.filter((f: Finding) => f.rule === 'drop-column');
    lineOf = (file, text) => {
      const lines = project.read(file).split('\n');
      const hits = lines.flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
      expect(hits, `${file} should contain ${text} once`).toHaveLength(1);
      return hits[0]!;
    };
  }, 60_000);

  it("flags autogenerate's drop + add of a renamed attribute, at the drop, in one readable sentence", () => {
    const file = `${V}/005_full_name.py`;
    expect(of('a0000000005a')).toHaveLength(1);
    const [f] = of('a0000000005a');
    expect(f).toMatchObject({ severity: 'warning', file, line: lineOf(file, 'op.drop_column("users", "name")') });
    expect(f!.message).toBe(
      `Drops column users.name (character varying(100)) and adds users.full_name (character varying(100)) on line ` +
        `${lineOf(file, '"full_name"')} in the same migration: this looks like a rename of name to full_name, which ` +
        'autogenerate writes as a drop and an add; run as written, the migration deletes every value of name instead ' +
        'of keeping the values under full_name.',
    );
    expect(f!.suggestion).toContain('```python\nop.alter_column("users", "name", new_column_name="full_name")\n```');
    expect(f!.suggestion).toContain('```python\nop.alter_column("users", "full_name", new_column_name="name")\n```');
  });

  it('does not flag a copy-and-swap: the added column is filled from the old one and takes its name', () => {
    expect(of('a0000000006a')).toEqual([]);
    expect(of('a0000000007a')).toEqual([]);
  });

  it('drop-column says nothing of a copy-and-swap either (the column is there when the migration ends), and still flags a plain drop', () => {
    const droppedIn = (revision: string) => dropped.filter((f) => f.revision === revision).map((f) => f.message.split(',')[0]);
    expect(droppedIn('a0000000006a')).toEqual([]);
    expect(droppedIn('a0000000007a')).toEqual([]);
    expect(droppedIn('a0000000012a')).toEqual(['Drops column users.username (character varying(50) NOT NULL)']);
  });

  it('does not flag a drop whose values were copied into the added column first', () => {
    expect(of('a0000000008a')).toEqual([]);
  });

  it('does not pair columns of incompatible types', () => {
    expect(of('a0000000009a')).toEqual([]);
  });

  it('pairs compatible types (varchar to text) and renames with the new type', () => {
    const file = `${V}/010_heading.py`;
    expect(of('a0000000010a')).toHaveLength(1);
    const [f] = of('a0000000010a');
    expect(f).toMatchObject({ file, line: lineOf(file, 'op.drop_column("posts", "title")') });
    expect(f!.message).toContain(
      'this looks like a rename of title to heading with its type changed from character varying(200) to text',
    );
    expect(f!.suggestion).toContain(
      'op.alter_column("posts", "title", new_column_name="heading", type_=sa.Text(), existing_type=sa.String(length=200))',
    );
    expect(f!.suggestion).toContain(
      'op.alter_column("posts", "heading", new_column_name="title", type_=sa.String(length=200), existing_type=sa.Text())',
    );
  });

  it('still flags a column dropped and added straight back under its name, with the in-place alteration', () => {
    const file = `${V}/011_body.py`;
    expect(of('a0000000011a')).toHaveLength(1);
    const [f] = of('a0000000011a');
    expect(f).toMatchObject({ file, line: lineOf(file, 'op.drop_column("posts", "body")') });
    expect(f!.message).toContain('Drops column posts.body (character varying NOT NULL) and adds it back (text)');
    expect(f!.message).toContain('every value it held is deleted');
    expect(f!.suggestion).toContain('op.alter_column("posts", "body", type_=sa.Text(), postgresql_using="body::text")');
  });

  it('follows a later rename of the added column and suggests the rename to its final name', () => {
    const file = `${V}/012_nickname.py`;
    expect(of('a0000000012a')).toHaveLength(1);
    const [f] = of('a0000000012a');
    expect(f).toMatchObject({ file, line: lineOf(file, 'op.drop_column("users", "username")') });
    expect(f!.message).toContain(
      `adds users.tmp_nickname (character varying(50)) on line ${lineOf(file, 'sa.Column("tmp_nickname"')}, renamed to nickname on line ${lineOf(file, 'new_column_name="nickname"')},`,
    );
    expect(f!.message).toContain('looks like a rename of username to nickname,');
    expect(f!.suggestion).toContain('op.alter_column("users", "username", new_column_name="nickname")');
  });

  it('reports nothing else', () => {
    expect(findings.map((f) => f.revision).sort()).toEqual(['a0000000005a', 'a0000000010a', 'a0000000011a', 'a0000000012a']);
  });
});
