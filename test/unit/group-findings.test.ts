// groupFindings: a pure function of findings and rules, tested on synthetic findings shaped as the rules write them.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/findings.js';
import { groupFindings, mergeBlocks } from '../../src/rules/group.js';
import { RULES } from '../../src/rules/index.js';
import { codeBlock, finding as ruleFinding, type Rule } from '../../src/rules/rule.js';

const FILE = 'migrations/versions/004_x.py';

/** A rule with no group wording of its own: the generic wording applies. */
const plain: Rule = { id: 'set-not-null', severity: 'warning', check: () => [] };

function f(fields: Partial<Finding> & { object?: string }): Finding {
  return {
    rule: 'set-not-null',
    severity: 'warning',
    message: `SET NOT NULL on \`${fields.object ?? 'x'}\` scans the table.`,
    file: FILE,
    line: 10,
    revision: 'c0000000004a',
    suggestion: `Add a CHECK constraint NOT VALID first:\n\n${codeBlock('python', `op.execute("ALTER TABLE t ADD CHECK (${fields.object} IS NOT NULL) NOT VALID")`)}`,
    ...fields,
  };
}

/** What index-not-concurrent writes for `CREATE INDEX name ON table (column)`. */
function indexFinding(name: string, table: string, line: number): Finding {
  const suggestion =
    'Build it CONCURRENTLY: writes go on during the build. It cannot run inside a transaction, hence the autocommit ' +
    'block; if it fails it leaves an INVALID index behind, to drop before retrying.\n\n' +
    codeBlock('python', `with op.get_context().autocommit_block():\n    op.create_index("${name}", "${table}", ["c"], postgresql_concurrently=True)`);
  return {
    rule: 'index-not-concurrent',
    severity: 'warning',
    message: `\`CREATE INDEX ${name} ON ${table} (c)\` took a SHARE lock on \`${table}\`: writes to it are blocked for the whole build.`,
    file: FILE,
    line,
    revision: 'c0000000004a',
    suggestion,
    object: name,
  };
}

describe('groupFindings', () => {
  it('makes one finding of the same rule, migration, severity and fix, listing the objects with their lines', () => {
    const [grouped, ...rest] = groupFindings([indexFinding('ix_a', 'users', 12), indexFinding('ix_b', 'users', 13), indexFinding('ix_c', 'posts', 30)], RULES);
    expect(rest).toEqual([]);
    expect(grouped).toEqual({
      rule: 'index-not-concurrent',
      severity: 'warning',
      message:
        '3 indexes built on existing tables without CONCURRENTLY: `ix_a`, `ix_b` and `ix_c` (lines 12–30); each build blocks ' +
        'writes to its table until it ends.',
      file: FILE,
      line: 12,
      revision: 'c0000000004a',
      suggestion:
        'Build them CONCURRENTLY: writes go on during each build. CONCURRENTLY cannot run inside a transaction, hence the ' +
        'autocommit block; a build that fails leaves an INVALID index behind, to drop before retrying.\n\n' +
        '```python\nwith op.get_context().autocommit_block():\n' +
        '    op.create_index("ix_a", "users", ["c"], postgresql_concurrently=True)\n' +
        '    op.create_index("ix_b", "users", ["c"], postgresql_concurrently=True)\n' +
        '    op.create_index("ix_c", "posts", ["c"], postgresql_concurrently=True)\n```',
      objects: ['ix_a (line 12)', 'ix_b (line 13)', 'ix_c (line 30)'],
    });
    // Internal fields stay internal: a grouped finding is about several objects, not one.
    expect(grouped).not.toHaveProperty('object');
  });

  it('takes the first object\'s line and lists them top to bottom, whatever order they came in', () => {
    const [grouped] = groupFindings([indexFinding('ix_late', 'users', 40), indexFinding('ix_early', 'users', 22)], RULES);
    expect(grouped.line).toBe(22);
    expect(grouped.objects).toEqual(['ix_early (line 22)', 'ix_late (line 40)']);
    expect(grouped.message).toContain('`ix_early` and `ix_late` (lines 22–40)');
  });

  it('leaves a group of one as it was, and never groups findings without an object or outside a migration', () => {
    const one = indexFinding('ix_a', 'users', 12);
    expect(groupFindings([one], RULES)).toEqual([one]);
    const noObject = [f({ line: 1 }), f({ line: 2 })].map(({ object: _, ...rest }) => rest as Finding);
    expect(groupFindings(noObject, [plain])).toEqual(noObject);
    const noFile = [f({ object: 'a', file: null, line: null }), f({ object: 'b', file: null, line: null })];
    expect(groupFindings(noFile, [plain])).toEqual(noFile);
  });

  it('keeps apart what differs in rule, migration, severity, concern or fix', () => {
    const base = [f({ object: 'users.a', line: 1 }), f({ object: 'users.b', line: 2 })];
    const apart = [
      f({ object: 'users.c', line: 3, revision: 'c0000000005b', file: 'migrations/versions/005_y.py' }),
      f({ object: 'users.d', line: 4, severity: 'notice' }),
      f({ object: 'users.e', line: 5, concern: 'lock' }),
      // Another fix: the advice differs beyond the object's name.
      f({ object: 'users.f', line: 6, suggestion: 'Backfill first:\n\n```python\nop.execute("UPDATE t SET f = 0")\n```' }),
      indexFinding('ix_a', 'users', 7),
    ];
    const out = groupFindings([...base, ...apart], [plain, ...RULES]);
    expect(out).toHaveLength(1 + apart.length);
    expect(out[0].objects).toEqual(['users.a (line 1)', 'users.b (line 2)']);
    expect(out.slice(1)).toEqual(apart);
  });

  it('takes the object\'s own name out of the advice: the same advice about another object is the same fix', () => {
    const advice = (object: string) =>
      `Stop using \`${object}\` first.\n\n${codeBlock('python', `op.drop_column("t", "${object}")`)}`;
    const out = groupFindings([f({ object: 'col_a', line: 1, suggestion: advice('col_a') }), f({ object: 'col_b', line: 2, suggestion: advice('col_b') })], [plain]);
    expect(out).toHaveLength(1);
  });

  it('words a rule without its own wording: the first message, then the others; the first suggestion with the code merged', () => {
    const [grouped] = groupFindings([f({ object: 'users.a', line: 1 }), f({ object: 'users.b', line: 2 }), f({ object: 'posts.c', line: 2 })], [plain]);
    expect(grouped.message).toBe('SET NOT NULL on `users.a` scans the table. The same for `users.b` (line 2) and `posts.c` (line 2).');
    expect(grouped.suggestion).toBe(
      'Add a CHECK constraint NOT VALID first:\n\n```python\n' +
        'op.execute("ALTER TABLE t ADD CHECK (users.a IS NOT NULL) NOT VALID")\n' +
        'op.execute("ALTER TABLE t ADD CHECK (users.b IS NOT NULL) NOT VALID")\n' +
        'op.execute("ALTER TABLE t ADD CHECK (posts.c IS NOT NULL) NOT VALID")\n```',
    );
    // With a noun, the others are counted.
    const counted: Rule = { ...plain, group: { noun: 'column', plural: 'columns' } };
    const [withNoun] = groupFindings([f({ object: 'users.a', line: 1 }), f({ object: 'users.b', line: 2 })], [counted]);
    expect(withNoun.message).toBe('SET NOT NULL on `users.a` scans the table. The same for 1 more column: `users.b` (line 2).');
  });

  it('lists objects without lines when they are all on one line (a batch), and names five of seven in the message', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c) => `users.${c}`);
    const out = groupFindings(
      names.map((object) => ({ ...ruleFinding({ id: 'drop-column', severity: 'warning' }, { message: `Drops column ${object}.`, file: FILE, line: 31, revision: 'c0000000004a', object, suggestion: `Drop a column in two deploys. First, stop using \`${object}\`.\n\n${codeBlock('python', `op.drop_column("users", "${object.slice(6)}")`)}` }) })),
      RULES,
    );
    expect(out).toHaveLength(1);
    expect(out[0].objects).toEqual(names);
    expect(out[0].line).toBe(31);
    expect(out[0].message).toBe(
      'Drops 7 columns that exist before this pull request: `users.a`, `users.b`, `users.c`, `users.d`, `users.e` and 2 more ' +
        '(line 31): code deployed before the migration still reads and writes them and fails until the new code is out, and their data is deleted.',
    );
    expect(out[0].suggestion).toContain('`ignore-objects = ["users.a", "users.b", "users.c", "users.d", "users.e", "users.f", "users.g"]`');
    expect(out[0].suggestion).toContain('```python\nop.drop_column("users", "a")\nop.drop_column("users", "b")\n');
  });

  it('keeps the order of the findings: a group takes the place of its first member', () => {
    const other = f({ object: 'users.z', line: 5, rule: 'set-not-null' });
    const out = groupFindings([indexFinding('ix_a', 'users', 12), other, indexFinding('ix_b', 'users', 13)], [plain, ...RULES]);
    expect(out.map((x) => x.rule)).toEqual(['index-not-concurrent', 'set-not-null']);
  });

  it('keeps the paragraphs added after every suggestion (migrations-run\'s line) under the rule\'s own wording', () => {
    const hint = 'If this app runs its migrations while it is stopped, declare `migrations-run = "offline"`.';
    const withHint = (finding: Finding): Finding => ({ ...finding, concern: 'lock', suggestion: `${finding.suggestion}\n\n${hint}` });
    const [grouped] = groupFindings([withHint(indexFinding('ix_a', 'users', 12)), withHint(indexFinding('ix_b', 'users', 13))], RULES);
    expect(grouped.concern).toBe('lock');
    expect(grouped.suggestion!.startsWith('Build them CONCURRENTLY')).toBe(true);
    expect(grouped.suggestion!.endsWith(`postgresql_concurrently=True)\n\`\`\`\n\n${hint}`)).toBe(true);
    // The generic wording has it already, from the first suggestion: said once.
    const [generic] = groupFindings([f({ object: 'users.a', line: 1 }), f({ object: 'users.b', line: 2 })].map(withHint), [plain]);
    expect(generic.suggestion!.split(hint)).toHaveLength(2);
  });

  it('carries `object` and `concern` through finding() so that rules can set them', () => {
    const made = ruleFinding({ id: 'drop-table', severity: 'warning' }, { message: 'm', object: 'posts', concern: 'data' });
    expect(made).toMatchObject({ object: 'posts', concern: 'data' });
    expect(ruleFinding({ id: 'drop-table', severity: 'warning' }, { message: 'm' })).not.toHaveProperty('object');
  });
});

describe('mergeBlocks', () => {
  it('says a shared header once and keeps each block\'s own lines in order', () => {
    expect(mergeBlocks(['with op.get_context().autocommit_block():\n    a()', 'with op.get_context().autocommit_block():\n    b()'])).toBe(
      'with op.get_context().autocommit_block():\n    a()\n    b()',
    );
  });

  it('puts imports once at the top, and a comment line repeated in every block once', () => {
    const block = (name: string, dialect: boolean) =>
      `${dialect ? 'from sqlalchemy.dialects import postgresql\n\n' : ''}op.add_column("t", sa.Column("${name}"))\n# New rows get the default from now on.\nop.alter_column("t", "${name}")`;
    expect(mergeBlocks([block('a', true), block('b', false), block('c', true)])).toBe(
      [
        'from sqlalchemy.dialects import postgresql',
        '',
        'op.add_column("t", sa.Column("a"))',
        '# New rows get the default from now on.',
        'op.alter_column("t", "a")',
        'op.add_column("t", sa.Column("b"))',
        'op.alter_column("t", "b")',
        'op.add_column("t", sa.Column("c"))',
        'op.alter_column("t", "c")',
      ].join('\n'),
    );
  });

  it('concatenates blocks that share nothing, and leaves each block at least one line of its own', () => {
    expect(mergeBlocks(['x()', 'y()'])).toBe('x()\ny()');
    expect(mergeBlocks(['same()', 'same()'])).toBe('same()\nsame()');
  });
});
