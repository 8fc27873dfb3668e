// model-drift: what the models' create_all() and the migrations build differently, where autogenerate does not look
// (enum labels, server defaults, CHECK definitions, identity and generated columns, sequence types, index method,
// columns, INCLUDE and predicate, foreign key actions, collations). Differential like missing-migration: only the
// pull request's drift is reported at its severity; drift already on base is one notice.
import type { Finding } from '../findings.js';
import type { CatalogConstraint, CatalogIndex } from '../schema/catalog.js';
import { enumLabels, type Drift, type Generation, type IndexProperty } from '../schema/drift.js';
import { codeBlock, finding, type Rule } from './rule.js';
import { opTable, py, pyReadable } from './support/python-code.js';
import { pullRequestStatements, type PullRequestStatement } from './support/pull-request.js';
import { escapeRegExp, mentions } from '../sql/mentions.js';
import { sqlIdentifier, sqlTable } from './support/sql-text.js';
import { plural } from './support/words.js';

const SHOWN = 5;

export const modelDrift: Rule = {
  id: 'model-drift',
  severity: 'error',
  check({ modelDrift: compared, baseModelDrift: base, replay, graph, evidence }) {
    if (!compared || compared.kind !== 'compared' || replay.failure) return [];
    const old = base?.kind === 'compared' ? new Set(base.old) : new Set<Drift>();
    const sites = [...pullRequestStatements(graph, evidence)].reverse();
    const anchor = (d: Drift) => {
      for (const built of buildersOf(d)) {
        const site = sites.find((s) => built(s.statement.sql));
        if (site) return site;
      }
      return null;
    };
    const findings: Finding[] = compared.drift.filter((d) => !old.has(d)).map((d) => driftFinding(d, anchor(d)));
    if (base?.kind === 'compared' && base.old.length > 0) {
      findings.push(
        notice(
          `${plural(base.old.length, 'difference')} between the models and the migrations that autogenerate does not compare ` +
            `${base.old.length === 1 ? 'is' : 'are'} already at ${base.label}, not this pull request's: ${listed(base.old)}.`,
          'Fix them in a migration of their own, or, where a difference is on purpose, name the object in `ignore-objects` ' +
            'under `[tool.alembic-guard]` in pyproject.toml.' +
            fixesOf(base.old),
        ),
      );
    }
    if (base?.kind === 'compared' && base.removed.length > 0) {
      findings.push(
        notice(
          `This pull request removes ${plural(base.removed.length, 'difference')} between the models and the migrations that ` +
            `${base.removed.length === 1 ? 'was' : 'were'} at ${base.label}: ${listed(base.removed)}.`,
          null,
        ),
      );
    }
    if (base?.kind === 'unavailable' && compared.drift.length > 0) {
      findings.push(
        notice(
          `The models at ${base.label} could not be compared with create_all() (${base.reason}), so every model-drift ` +
            "difference counts as this pull request's, including any that were already there.",
          null,
        ),
      );
    }
    return findings;
  },
};

/** The code of each old difference, one block: the migration that would clear them. */
function fixesOf(drift: Drift[]): string {
  const code = drift.map((d) => describe(d).code).filter((c): c is string => c !== null);
  return code.length ? `\n\n${codeBlock('python', code.join('\n\n'))}` : '';
}

function notice(message: string, suggestion: string | null): Finding {
  return { ...finding(modelDrift, { message, suggestion }), severity: 'notice' };
}

function listed(drift: Drift[]): string {
  const names = drift.slice(0, SHOWN).map(shortName);
  return `${names.join(', ')}${drift.length > SHOWN ? ` and ${drift.length - SHOWN} more` : ''}`;
}

function shortName(d: Drift): string {
  switch (d.kind) {
    case 'enum':
      return `enum \`${d.object}\``;
    case 'index':
      return `index \`${d.object}\``;
    case 'constraint':
      return `constraint \`${d.object}\``;
    case 'default':
      return `\`${d.object}\` server default`;
    default:
      return `\`${d.object}\` ${d.kind}`;
  }
}

/** At the pull request's last statement that built what differs, when one did (else the finding has no line). */
function driftFinding(d: Drift, site: PullRequestStatement | null): Finding {
  const { message, code, advice } = describe(d);
  const lead = site ? 'Correct this migration to build what the models say, or add to a new one:' : 'In a new migration:';
  const parts = [advice, code ? `${lead}\n\n${codeBlock('python', code)}` : null].filter((p): p is string => !!p);
  const where = site ? { file: site.file, line: site.line, revision: site.revision.revision } : {};
  return { ...finding(modelDrift, { message, suggestion: parts.join('\n\n') || null, ...where }), severity: d.severity };
}

/**
 * Tests of a statement, most telling first: whether it made or changed what the drift is about. A column is built by
 * an ALTER TABLE that adds or alters it, else by the CREATE TABLE that has it; an index, type, sequence or constraint
 * by a statement naming it.
 */
function buildersOf(d: Drift): ((sql: string) => boolean)[] {
  const named = (name: string) => (sql: string) => mentions(sql, bare(name));
  const column = (qualified: string) => {
    const dot = qualified.lastIndexOf('.');
    const [table, name] = [qualified.slice(0, dot), escapeRegExp(qualified.slice(dot + 1))];
    const altered = new RegExp(`\\b(ADD|ALTER)(\\s+COLUMN)?(\\s+IF\\s+NOT\\s+EXISTS)?\\s+"?${name}"?(\\s|$)`, 'i');
    const created = new RegExp(`^\\s*CREATE\\s+(\\w+\\s+)*TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?("?\\w+"?\\.)?"?${escapeRegExp(bare(table))}"?\\s*\\(`, 'i');
    return [
      (sql: string) => /^\s*ALTER\s+TABLE\b/i.test(sql) && named(table)(sql) && altered.test(sql),
      (sql: string) => created.test(sql) && named(qualified.slice(dot + 1))(sql),
    ];
  };
  switch (d.kind) {
    case 'enum':
      return [(sql) => /^\s*(CREATE|ALTER)\s+TYPE\b/i.test(sql) && named(d.migrationsType)(sql), ...d.columns.flatMap(column)];
    case 'index':
      return [named(d.migrations.name)];
    case 'constraint':
      return d.migrations ? [named(d.migrations.name)] : d.models.columns.flatMap((c) => column(`${d.table}.${c}`));
    case 'sequence':
      return [(sql) => /^\s*ALTER\s+SEQUENCE\b/i.test(sql) && named(d.sequence)(sql), ...column(d.object)];
    default:
      return column(d.object);
  }
}

interface Described {
  message: string;
  code: string | null;
  advice: string | null;
}

function describe(d: Drift): Described {
  switch (d.kind) {
    case 'enum':
      return describeEnum(d);
    case 'default':
      return describeDefault(d);
    case 'generation':
      return describeGeneration(d);
    case 'generated':
      return describeGenerated(d);
    case 'sequence':
      return {
        message:
          `\`${d.object}\`: its sequence \`${d.sequence}\` is ${d.migrations} in the migrations and ${d.models} in the models` +
          (d.severity === 'error' ? `, so new ids run out at the ${d.migrations} limit whatever the column's type.` : '.'),
        code: `op.execute(${pyReadable(`ALTER SEQUENCE ${sqlTable(d.sequence)} AS ${d.models}`)})`,
        advice: null,
      };
    case 'collation':
      return {
        message:
          `\`${d.object}\`: the models give it ${collation(d.models)}, the migrations ${collation(d.migrations)}: ` +
          'sorting, comparisons and unique indexes on it follow the database\'s.',
        code: `op.execute(${pyReadable(`ALTER TABLE ${sqlTable(d.column.table)} ALTER COLUMN ${sqlIdentifier(d.column.name)} TYPE ${d.column.type} COLLATE ${d.models ? `"${d.models.replace(/"/g, '""')}"` : '"default"'}`)})`,
        advice: 'Changing the collation rebuilds the indexes on the column.',
      };
    case 'index':
      return describeIndex(d);
    case 'constraint':
      return describeConstraint(d);
  }
}

const collation = (name: string | null) => (name ? `collation "${name}"` : "its type's default collation");

function describeEnum(d: Drift & { kind: 'enum' }): Described {
  const { missing, extra } = enumLabels(d);
  const used = d.columns.length ? ` (${d.columns.map((c) => `\`${c}\``).join(', ')})` : '';
  const typeName = d.migrationsType === d.object ? '' : ` as type \`${d.migrationsType}\``;
  const labels = (list: string[]) => list.map((l) => `'${l}'`).join(', ');
  let message = `Enum \`${d.object}\`${used}: the models have the labels ${labels(d.models)}; the migrations create${typeName} ${labels(d.migrations)}.`;
  if (missing.length) message += ` Writing ${labels(missing)} fails with \`invalid input value for enum\`.`;
  else if (extra.length) message += ` Loading a row that holds ${labels(extra)} fails in SQLAlchemy (\`LookupError\`).`;
  else message += ' Ordering and comparing by this column follow the database\'s order.';
  const inOrder = d.migrations.filter((l) => d.models.includes(l)).every((l, i, kept) => i === 0 || d.models.indexOf(kept[i - 1]!) < d.models.indexOf(l));
  const code =
    missing.length && inOrder
      ? [
          '# ALTER TYPE ... ADD VALUE runs outside the migration\'s transaction: a new label cannot be used in the transaction that adds it.',
          'with op.get_context().autocommit_block():',
          ...missing.map((label) => `    op.execute(${pyReadable(addValue(d.migrationsType, label, d.models))})`),
        ].join('\n')
      : null;
  const advice =
    extra.length || !inOrder
      ? 'Postgres cannot drop or reorder the labels of an enum. Change the models to the labels the database has, or replace ' +
        'the type in a migration: create the new type, convert each column with `ALTER TABLE … ALTER COLUMN … TYPE new_type ' +
        'USING column::text::new_type`, drop the old type and rename the new one.'
      : null;
  return { message, code, advice };
}

/** `ALTER TYPE t ADD VALUE IF NOT EXISTS 'x' AFTER 'y'`, placed where the models have it. */
function addValue(type: string, label: string, order: string[]): string {
  const i = order.indexOf(label);
  const quoted = (l: string) => `'${l.replace(/'/g, "''")}'`;
  const place = i > 0 ? ` AFTER ${quoted(order[i - 1]!)}` : order.length > 1 ? ` BEFORE ${quoted(order[1]!)}` : '';
  return `ALTER TYPE ${sqlTable(type)} ADD VALUE IF NOT EXISTS ${quoted(label)}${place}`;
}

function describeDefault(d: Drift & { kind: 'default' }): Described {
  const [table, schema] = opTable(d.column.table);
  const message =
    d.migrations === null
      ? `\`${d.object}\`: the models declare the server default \`${d.models}\`; the migrations create the column without one. ` +
        'An insert through the models leaves the column to the database, which stores NULL (or fails on NOT NULL).'
      : `\`${d.object}\`: the models declare the server default \`${d.models}\`; the migrations give it \`${d.migrations}\`. ` +
        'Rows inserted without a value get the database\'s.';
  return {
    message,
    code: `op.alter_column(${table}, ${py(d.column.name)}${schema}, server_default=sa.text(${pyReadable(d.models)}))`,
    advice: 'autogenerate does not compare server defaults unless env.py passes `compare_server_default=True` to `context.configure`.',
  };
}

const GENERATION_WORDS: Record<Generation, string> = {
  'identity always': 'an identity column (GENERATED ALWAYS)',
  'identity by default': 'an identity column (GENERATED BY DEFAULT)',
  serial: 'a serial column (a sequence default)',
  none: 'a plain column with no default',
};

function describeGeneration(d: Drift & { kind: 'generation' }): Described {
  const table = sqlTable(d.column.table);
  const column = sqlIdentifier(d.column.name);
  const head = `\`${d.object}\`: the models make it ${GENERATION_WORDS[d.models]}; the migrations make it ${GENERATION_WORDS[d.migrations]}`;
  if (d.migrations === 'none') {
    const kind = d.models === 'identity always' ? 'ALWAYS' : 'BY DEFAULT';
    const nullable = !d.migrated.notNull;
    return {
      message: nullable
        ? `${head}: an insert that leaves it to the database stores NULL.`
        : `${head}: an insert that leaves it to the database fails with a not-null violation.`,
      code: [
        // An identity column must be NOT NULL first (rows already NULL need a value before that).
        nullable ? `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`)})` : null,
        `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} ADD GENERATED ${kind} AS IDENTITY`)})`,
        `op.execute(${pyReadable(`SELECT setval(pg_get_serial_sequence('${table.replace(/'/g, "''")}', '${d.column.name.replace(/'/g, "''")}'), coalesce(max(${column}), 0) + 1, false) FROM ${table}`)})`,
      ]
        .filter((line): line is string => line !== null)
        .join('\n'),
      advice: nullable ? 'Rows that already hold NULL in it need a value before SET NOT NULL.' : null,
    };
  }
  if (d.models === 'identity always') {
    return {
      message: `${head}: the database accepts explicit values the models' table refuses.`,
      code: d.migrations === 'identity by default' ? `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET GENERATED ALWAYS`)})` : null,
      advice: d.migrations === 'serial' ? 'Replace the sequence default by an identity column (drop the default and the sequence, `ADD GENERATED ALWAYS AS IDENTITY`, then `setval` past the highest id).' : null,
    };
  }
  return {
    message: `${head}: inserts that give it a value (fixtures, copies of data) fail with \`cannot insert a non-DEFAULT value\`.`,
    code: `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} SET GENERATED BY DEFAULT`)})`,
    advice: null,
  };
}

function describeGenerated(d: Drift & { kind: 'generated' }): Described {
  const table = sqlTable(d.column.table);
  const column = sqlIdentifier(d.column.name);
  if (d.models !== null && d.migrations !== null) {
    return {
      message: `\`${d.object}\`: the models compute it as \`${d.models}\`; the migrations as \`${d.migrations}\`.`,
      code: [
        dropColumn(d),
        `op.execute(${pyReadable(`ALTER TABLE ${table} ADD COLUMN ${column} ${d.column.type} GENERATED ALWAYS AS ${d.models} STORED`)})`,
      ].join('\n'),
      advice: 'A generated column\'s expression cannot be altered before PostgreSQL 17 (`ALTER COLUMN … SET EXPRESSION`): drop the column and add it again.',
    };
  }
  if (d.models !== null) {
    return {
      message: `\`${d.object}\`: the models make it a generated column (\`${d.models}\`); the migrations a plain one that nothing fills.`,
      code: [
        dropColumn(d),
        `op.execute(${pyReadable(`ALTER TABLE ${table} ADD COLUMN ${column} ${d.column.type} GENERATED ALWAYS AS ${d.models} STORED`)})`,
      ].join('\n'),
      advice: null,
    };
  }
  return {
    message: `\`${d.object}\`: the migrations make it a generated column (\`${d.migrations}\`); the models a plain one: writing it fails with \`cannot insert a non-DEFAULT value into column\`.`,
    code: `op.execute(${pyReadable(`ALTER TABLE ${table} ALTER COLUMN ${column} DROP EXPRESSION`)})`,
    advice: null,
  };
}

const INDEX_WORDS: Record<IndexProperty, (i: CatalogIndex) => string> = {
  unique: (i) => (i.unique ? 'unique' : 'not unique'),
  'nulls not distinct': (i) => (i.nullsNotDistinct ? 'NULLS NOT DISTINCT' : 'NULLS DISTINCT'),
  method: (i) => `USING ${i.method}`,
  columns: (i) => `(${i.keys.join(', ')})`,
  include: (i) => (i.include.length ? `INCLUDE (${i.include.join(', ')})` : 'no INCLUDE'),
  predicate: (i) => (i.predicate ? `WHERE ${i.predicate}` : 'no WHERE'),
  definition: (i) => i.body,
};

function describeIndex(d: Drift & { kind: 'index' }): Described {
  const { models, migrations } = d;
  const differences = d.differences.map((p) => `${INDEX_WORDS[p](models)} in the models, ${INDEX_WORDS[p](migrations)} in the migrations`);
  const consequence = d.differences.includes('unique') && models.unique
    ? ' The database accepts duplicates the models rule out.'
    : d.differences.includes('nulls not distinct') && models.nullsNotDistinct
      ? ' The database accepts rows the models rule out (several NULLs).'
      : '';
  const [table, schema] = opTable(d.table!);
  const drop = migrations.constraint
    ? `op.drop_constraint(${py(migrations.constraint)}, ${table}${schema}, type_=${py(migrations.unique ? 'unique' : 'exclude')})`
    : `    op.drop_index(${py(bare(migrations.name))}, table_name=${table}${schema}, postgresql_concurrently=True)`;
  const create = d.create
    ? d.create.split('\n').map((line) => `    ${line}`).join('\n')
    : `    op.execute(${pyReadable(models.definition.replace(/^CREATE (UNIQUE )?INDEX /, (_, u: string | undefined) => `CREATE ${u ?? ''}INDEX CONCURRENTLY `))})`;
  const constraint = models.constraint
    ? `op.execute(${pyReadable(`ALTER TABLE ${sqlTable(d.table!)} ADD CONSTRAINT ${sqlIdentifier(models.constraint)} ${models.unique ? 'UNIQUE' : 'PRIMARY KEY'} USING INDEX ${sqlIdentifier(bare(models.name))}`)})`
    : null;
  const code = [
    migrations.constraint ? drop : null,
    'with op.get_context().autocommit_block():',
    migrations.constraint ? null : drop,
    create,
    constraint,
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
  return {
    message: `Index \`${d.object}\` on \`${d.table}\`: ${differences.join('; ')}.${consequence}`,
    code,
    advice: null,
  };
}

function describeConstraint(d: Drift & { kind: 'constraint' }): Described {
  const what = { c: 'CHECK constraint', f: 'Foreign key', x: 'Exclusion constraint' }[d.models.type];
  const table = sqlTable(d.table!);
  const [opTableArg, schema] = opTable(d.table!);
  const add = (c: CatalogConstraint) => `ALTER TABLE ${table} ADD CONSTRAINT ${sqlIdentifier(c.name)} ${c.definition}`;
  const validated = d.models.type !== 'x';
  const code = [
    d.migrations
      ? `op.drop_constraint(${py(d.migrations.name)}, ${opTableArg}${schema}, type_=${py({ c: 'check', f: 'foreignkey', x: 'exclude' }[d.migrations.type])})`
      : null,
    `op.execute(${pyReadable(add(d.models) + (validated ? ' NOT VALID' : ''))})`,
    validated ? `op.execute(${pyReadable(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${sqlIdentifier(d.models.name)}`)})` : null,
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
  const message = d.migrations
    ? `${what} \`${d.migrations.name}\` on \`${d.table}\`: the models say \`${d.models.definition}\`; the migrations \`${d.migrations.definition}\`.`
    : `${what} \`${d.models.name}\` of the models (\`${d.models.definition}\`) is not on \`${d.table}\` in the migrations: the database accepts rows the models rule out.`;
  return {
    message,
    code,
    advice: validated ? 'Added NOT VALID and validated apart, the check of existing rows does not block writes.' : null,
  };
}

const bare = (name: string) => name.split('.').pop()!;

function dropColumn(d: Drift & { kind: 'generated' }): string {
  const [table, schema] = opTable(d.column.table);
  return `op.drop_column(${table}, ${py(d.column.name)}${schema})`;
}
