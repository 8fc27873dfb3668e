#!/usr/bin/env node
// Benchmark: `alembic-guard check` against doing the same thing by hand
// (throwaway Postgres + `alembic upgrade head` + `alembic check`) on a synthetic
// Alembic project with many tables and a long linear migration chain.
//
//   node bench/check-vs-by-hand.mjs [--migrations 300] [--tables 100] [--new 5] [--runs 3]
//                                   [--keep] [--drift] [--pg-bindir DIR]
//
// Plain Node ESM, no dependencies. Writes bench/out/check-vs-by-hand.json.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const VENV_BIN = join(REPO, '.venv', 'bin');
const PYTHON = join(VENV_BIN, 'python');
const ALEMBIC = join(VENV_BIN, 'alembic');
// ALEMBIC_GUARD_CLI measures another build (e.g. `node scripts/build.mjs /tmp/x`); default: the committed dist/.
const CLI = process.env.ALEMBIC_GUARD_CLI ?? join(REPO, 'dist', 'cli.js');
const OUT_DIR = join(HERE, 'out');
const OUT_FILE = join(OUT_DIR, 'check-vs-by-hand.json');
const NOBODY = 65534;
const PG_USER = 'postgres';
const DB_NAME = 'bench';
// The same server settings alembic-guard's binaries provider uses (src/postgres/cluster.ts), so
// neither side gets a faster server than the other.
const PG_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'listen_addresses=127.0.0.1'];

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = { migrations: 300, tables: 100, new: 5, runs: 3, keep: false, pgBindir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number.parseInt(value(), 10);
      if (!Number.isInteger(v) || v < 0) fail(`${flag} expects a non-negative integer`);
      return v;
    };
    switch (flag) {
      case '--migrations': opts.migrations = int(); break;
      case '--tables': opts.tables = int(); break;
      case '--new': opts.new = int(); break;
      case '--runs': opts.runs = int(); break;
      case '--keep': opts.keep = true; break;
      case '--drift': opts.drift = true; break;
      case '--pg-bindir': opts.pgBindir = value(); break;
      case '-h': case '--help':
        console.log('usage: node bench/check-vs-by-hand.mjs [--migrations 300] [--tables 100] [--new 5] [--runs 3] [--keep] [--drift] [--pg-bindir DIR]');
        process.exit(0);
      default: fail(`unknown argument ${arg}`);
    }
  }
  if (opts.tables < 1) fail('--tables must be at least 1');
  if (opts.migrations < 2) fail('--migrations must be at least 2');
  if (opts.runs < 1) fail('--runs must be at least 1');
  if (opts.new < 1 || opts.new >= opts.migrations) fail('--new must be between 1 and --migrations - 1');
  return opts;
}

function fail(message) {
  console.error(`check-vs-by-hand: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Synthetic project

/** Deterministic PRNG (mulberry32) so every run generates the same project. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad3 = (n) => String(n).padStart(3, '0');
const tableName = (j) => `table_${pad3(j)}`;
const className = (j) => `Table${pad3(j)}`;
const revisionId = (i) => createHash('sha1').update(`alembic-guard-bench-${i}`).digest('hex').slice(0, 12);

/**
 * Every table is created with id, name VARCHAR(50) NULL, created_at and (odd tables) parent_id;
 * five later operations per table bring it to the model:
 *   1. add_column code VARCHAR(20)
 *   2. alter_column name: SET NOT NULL (j%3==0), widen to VARCHAR(120) (j%3==1), or both to VARCHAR(200) (j%3==2)
 *   3. create_index ix_<t>_code (even j) or create_foreign_key parent_id -> table_{j/2}.id (odd j)
 *   4. add_column is_active BOOLEAN
 *   5. create_index ix_<t>_created_at (j%4==0) or add_column amount NUMERIC(10,2)
 */
function tablePlan(j) {
  const parent = j % 2 === 1 ? Math.floor(j / 2) : null;
  const nameFinal = [
    { length: 50, nullable: false },
    { length: 120, nullable: true },
    { length: 200, nullable: false },
  ][j % 3];
  const ops = [
    { kind: 'add_column', table: j, column: 'code', type: 'sa.String(length=20)' },
    { kind: 'alter_column', table: j, column: 'name', from: { length: 50, nullable: true }, to: nameFinal },
    j % 2 === 0
      ? { kind: 'create_index', table: j, column: 'code' }
      : { kind: 'create_foreign_key', table: j, column: 'parent_id', parent },
    { kind: 'add_column', table: j, column: 'is_active', type: 'sa.Boolean()' },
    j % 4 === 0
      ? { kind: 'create_index', table: j, column: 'created_at' }
      : { kind: 'add_column', table: j, column: 'amount', type: 'sa.Numeric(precision=10, scale=2)' },
  ];
  return { j, parent, nameFinal, ops };
}

function describeOp(op) {
  const t = tableName(op.table);
  switch (op.kind) {
    case 'create_table': return `create ${t}`;
    case 'add_column': return `add ${op.column} to ${t}`;
    case 'create_index': return `index ${t}.${op.column}`;
    case 'create_foreign_key': return `fk ${t}.${op.column}`;
    case 'alter_column': {
      const parts = [];
      if (op.to.length !== op.from.length) parts.push(`widen ${t}.${op.column}`);
      if (op.to.nullable !== op.from.nullable) parts.push(`${t}.${op.column} not null`);
      return parts.join(', ');
    }
  }
  throw new Error(op.kind);
}

const fkName = (op) => `fk_${tableName(op.table)}_${op.column}_${tableName(op.parent)}`;
const ixName = (op) => `ix_${tableName(op.table)}_${op.column}`;

function renderUpgrade(op) {
  const t = JSON.stringify(tableName(op.table));
  switch (op.kind) {
    case 'create_table': {
      const lines = [
        `    op.create_table(`,
        `        ${t},`,
        `        sa.Column("id", sa.Integer(), nullable=False),`,
        `        sa.Column("name", sa.String(length=50), nullable=True),`,
        `        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),`,
      ];
      if (op.parent !== null) lines.push(`        sa.Column("parent_id", sa.Integer(), nullable=True),`);
      lines.push(`        sa.PrimaryKeyConstraint("id"),`, `    )`);
      return lines.join('\n');
    }
    case 'add_column':
      return `    op.add_column(${t}, sa.Column("${op.column}", ${op.type}, nullable=True))`;
    case 'create_index':
      return `    op.create_index("${ixName(op)}", ${t}, ["${op.column}"], unique=False)`;
    case 'create_foreign_key':
      return `    op.create_foreign_key("${fkName(op)}", ${t}, "${tableName(op.parent)}", ["${op.column}"], ["id"])`;
    case 'alter_column': return renderAlter(t, op.column, op.from, op.to);
  }
  throw new Error(op.kind);
}

function renderDowngrade(op) {
  const t = JSON.stringify(tableName(op.table));
  switch (op.kind) {
    case 'create_table': return `    op.drop_table(${t})`;
    case 'add_column': return `    op.drop_column(${t}, "${op.column}")`;
    case 'create_index': return `    op.drop_index("${ixName(op)}", table_name=${t})`;
    case 'create_foreign_key': return `    op.drop_constraint("${fkName(op)}", ${t}, type_="foreignkey")`;
    case 'alter_column': return renderAlter(t, op.column, op.to, op.from);
  }
  throw new Error(op.kind);
}

function renderAlter(t, column, from, to) {
  const args = [`existing_type=sa.String(length=${from.length})`];
  if (to.length !== from.length) args.push(`type_=sa.String(length=${to.length})`);
  if (to.nullable !== from.nullable) args.push(`nullable=${to.nullable ? 'True' : 'False'}`);
  else args.push(`existing_nullable=${from.nullable ? 'True' : 'False'}`);
  return `    op.alter_column(\n        ${t},\n        "${column}",\n        ${args.join(',\n        ')},\n    )`;
}

function renderMigration(index, revision, downRevision, ops) {
  const message = ops.map(describeOp).join('; ');
  const title = message.length > 60 ? `${message.slice(0, 57)}...` : message;
  const upgrade = ops.map(renderUpgrade).join('\n');
  const downgrade = [...ops].reverse().map(renderDowngrade).join('\n');
  return `"""${title}

Revision ID: ${revision}
Revises: ${downRevision ?? ''}
Create Date: 2024-01-01 00:00:${String(index % 60).padStart(2, '0')}

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "${revision}"
down_revision = ${downRevision ? `"${downRevision}"` : 'None'}
branch_labels = None
depends_on = None


def upgrade() -> None:
${upgrade}


def downgrade() -> None:
${downgrade}
`;
}

function renderModels(plans) {
  const out = [
    '"""Synthetic models for the alembic-guard benchmark (generated)."""',
    'import datetime',
    'import decimal',
    'from typing import Optional',
    '',
    'from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String',
    'from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column',
    '',
    '',
    'class Base(DeclarativeBase):',
    '    pass',
  ];
  for (const plan of plans) {
    const j = plan.j;
    const indexed = new Set(plan.ops.filter((o) => o.kind === 'create_index').map((o) => o.column));
    const idx = (col) => (indexed.has(col) ? ', index=True' : '');
    const name = plan.nameFinal;
    out.push(
      '',
      '',
      `class ${className(j)}(Base):`,
      `    __tablename__ = "${tableName(j)}"`,
      '',
      '    id: Mapped[int] = mapped_column(Integer, primary_key=True)',
      `    name: Mapped[${name.nullable ? 'Optional[str]' : 'str'}] = mapped_column(String(${name.length}), nullable=${name.nullable ? 'True' : 'False'})`,
      `    created_at: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime(timezone=True), nullable=True${idx('created_at')})`,
    );
    if (plan.parent !== null) {
      const fk = plan.ops.find((o) => o.kind === 'create_foreign_key');
      out.push(
        `    parent_id: Mapped[Optional[int]] = mapped_column(`,
        `        Integer, ForeignKey("${tableName(plan.parent)}.id", name="${fkName(fk)}"), nullable=True`,
        '    )',
      );
    }
    out.push(`    code: Mapped[Optional[str]] = mapped_column(String(20), nullable=True${idx('code')})`);
    out.push('    is_active: Mapped[Optional[bool]] = mapped_column(Boolean, nullable=True)');
    if (plan.ops.some((o) => o.kind === 'add_column' && o.column === 'amount')) {
      out.push('    amount: Mapped[Optional[decimal.Decimal]] = mapped_column(Numeric(10, 2), nullable=True)');
    }
  }
  return out.join('\n') + '\n';
}

const ALEMBIC_INI = (url) => `# Synthetic project for the alembic-guard benchmark.
[alembic]
script_location = migrations
prepend_sys_path = .
sqlalchemy.url = ${url}

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
`;

const ENV_PY = `from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.models import Base

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
`;

const SCRIPT_MAKO = `"""\${message}

Revision ID: \${up_revision}
Revises: \${down_revision | comma,n}
Create Date: \${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
\${imports if imports else ""}

revision: str = \${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = \${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = \${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = \${repr(depends_on)}


def upgrade() -> None:
    \${upgrades if upgrades else "pass"}


def downgrade() -> None:
    \${downgrades if downgrades else "pass"}
`;

/** Splits `items` into `slots` contiguous, non-empty-as-possible chunks. */
function chunk(items, slots) {
  const chunks = [];
  for (let i = 0; i < slots; i++) {
    chunks.push(items.slice(Math.floor((i * items.length) / slots), Math.floor(((i + 1) * items.length) / slots)));
  }
  return chunks;
}

function generateProject(dir, opts) {
  const plans = Array.from({ length: opts.tables }, (_, j) => tablePlan(j));

  // Table creations first (one per migration when there is room, grouped otherwise)...
  const createSlots = opts.migrations > opts.tables ? opts.tables : Math.max(1, Math.floor(opts.migrations / 2));
  const opSlots = opts.migrations - createSlots;
  const creations = chunk(
    plans.map((p) => ({ kind: 'create_table', table: p.j, parent: p.parent })),
    createSlots,
  );

  // ...then every table's later operations, interleaved across tables (each table's own
  // operations stay in order: the index on `code` comes after `code` exists).
  const random = prng(20240601);
  const queues = plans.map((p) => [...p.ops]);
  const later = [];
  for (;;) {
    const open = queues.filter((q) => q.length > 0);
    if (open.length === 0) break;
    later.push(open[Math.floor(random() * open.length)].shift());
  }
  // Make sure the PR's tail has one of each kind of change: move the last alter_column and the
  // last create_foreign_key to the end (nothing depends on either, so moving them later is safe).
  for (const kind of ['alter_column', 'create_foreign_key']) {
    const at = later.findLastIndex((op) => op.kind === kind);
    if (at >= 0) later.push(...later.splice(at, 1));
  }
  const groups = [...creations, ...chunk(later, opSlots)].filter((g) => g.length > 0);

  mkdirSync(join(dir, 'app'), { recursive: true });
  mkdirSync(join(dir, 'migrations', 'versions'), { recursive: true });
  writeFileSync(join(dir, 'alembic.ini'), ALEMBIC_INI(`postgresql+psycopg://${PG_USER}@localhost:5432/${DB_NAME}`));
  writeFileSync(join(dir, '.gitignore'), '__pycache__/\n*.pyc\n');
  writeFileSync(join(dir, 'app', '__init__.py'), '');
  // --drift: a model no migration creates, on base and in the PR alike (drift already on main): the check then also
  // compares the base commit's models, in a second Python process.
  const drift = opts.drift
    ? '\n\nclass LegacyNote(Base):\n    __tablename__ = "legacy_notes"\n\n    id: Mapped[int] = mapped_column(Integer, primary_key=True)\n'
    : '';
  writeFileSync(join(dir, 'app', 'models.py'), renderModels(plans) + drift);
  writeFileSync(join(dir, 'migrations', 'env.py'), ENV_PY);
  writeFileSync(join(dir, 'migrations', 'script.py.mako'), SCRIPT_MAKO);

  const files = [];
  let down = null;
  groups.forEach((ops, i) => {
    const n = i + 1;
    const revision = revisionId(n);
    const slug = describeOp(ops[0]).replace(/[^a-z0-9]+/gi, '_').toLowerCase().slice(0, 40);
    const file = join('migrations', 'versions', `${String(n).padStart(4, '0')}_${slug}.py`);
    writeFileSync(join(dir, file), renderMigration(n, revision, down, ops));
    files.push({ file, revision, ops: ops.map(describeOp) });
    down = revision;
  });
  const opCounts = {};
  for (const g of groups) for (const op of g) opCounts[op.kind] = (opCounts[op.kind] ?? 0) + 1;
  return { files, opCounts };
}

function git(dir, args) {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z' },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

function makeRepository(dir, files, newCount) {
  const newFiles = files.slice(files.length - newCount).map((f) => f.file);
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['add', '-A', '--', '.', ...newFiles.map((f) => `:!${f}`)]);
  git(dir, ['commit', '-q', '-m', `base: ${files.length - newCount} migrations`]);
  git(dir, ['tag', 'base']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', `the PR: ${newCount} new migrations`]);
  return newFiles;
}

// ---------------------------------------------------------------------------------------------
// Process helpers

function run(cmd, args, options = {}) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const seconds = (performance.now() - started) / 1000;
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, seconds };
}

function runAsync(cmd, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

function must(step, r) {
  if (r.code !== 0) {
    throw new Error(`${step} failed (exit ${r.code ?? r.signal}):\n${tail(r.stderr)}\n${tail(r.stdout)}`);
  }
  return r;
}

const tail = (text, n = 25) => (text ?? '').trimEnd().split('\n').slice(-n).join('\n');

function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

function findPgBindir(explicit) {
  const ok = (d) => d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')) && existsSync(join(d, 'postgres'));
  if (explicit) {
    if (!ok(explicit)) fail(`--pg-bindir ${explicit} has no initdb/pg_ctl/postgres`);
    return explicit;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  for (const v of versions) if (ok(join(root, v, 'bin'))) return join(root, v, 'bin');
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromConfig.status === 0 && ok(fromConfig.stdout.trim())) return fromConfig.stdout.trim();
  fail('no Postgres server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config --bindir); pass --pg-bindir');
}

const isRoot = process.getuid?.() === 0;
/** Postgres refuses to run as root: run the server tools as nobody when we are root. */
const serverIdentity = () => (isRoot ? { uid: NOBODY, gid: NOBODY } : {});

// ---------------------------------------------------------------------------------------------
// (a) by hand

async function byHand(projectDir, scratchRoot, bindir, runIndex, { verify, drift }) {
  const steps = {};
  const started = performance.now();
  const pgDir = mkdtempSync(join(scratchRoot, `pg-${runIndex}-`));
  if (isRoot) chownSync(pgDir, NOBODY, NOBODY);
  const data = join(pgDir, 'data');
  const serverEnv = { PATH: process.env.PATH, LC_ALL: 'C', LANG: 'C', HOME: pgDir, TZ: 'UTC' };
  let running = false;
  let port;
  try {
    // 1. initdb
    steps.initdb = must('initdb', run(join(bindir, 'initdb'), ['-D', data, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
      cwd: pgDir, env: serverEnv, ...serverIdentity(),
    })).seconds;

    // 2. pg_ctl start -w
    port = await freePort();
    const serverOptions = ['-p', String(port), ...PG_SETTINGS.flatMap((s) => ['-c', s]), '-c', `unix_socket_directories=${pgDir}`].join(' ');
    steps.start = must('pg_ctl start', run(join(bindir, 'pg_ctl'), ['start', '-w', '-s', '-D', data, '-l', join(pgDir, 'server.log'), '-o', serverOptions], {
      cwd: pgDir, env: serverEnv, ...serverIdentity(),
    })).seconds;
    running = true;

    // 3. createdb
    steps.createdb = must('createdb', run(join(bindir, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, DB_NAME], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    })).seconds;

    // A copy of alembic.ini pointing at the throwaway server; the project itself is untouched.
    const url = `postgresql+psycopg://${PG_USER}@127.0.0.1:${port}/${DB_NAME}`;
    const ini = join(pgDir, 'alembic.ini');
    writeFileSync(
      ini,
      ALEMBIC_INI(url)
        .replace('script_location = migrations', `script_location = ${join(projectDir, 'migrations')}`)
        .replace('prepend_sys_path = .', `prepend_sys_path = ${projectDir}`),
    );
    const alembicEnv = { ...process.env };
    delete alembicEnv.DATABASE_URL;

    // 4. alembic upgrade head
    const upgrade = must('alembic upgrade head', run(ALEMBIC, ['-c', ini, 'upgrade', 'head'], { cwd: projectDir, env: alembicEnv }));
    steps.upgrade = upgrade.seconds;

    // 5. alembic check
    const check = run(ALEMBIC, ['-c', ini, 'check'], { cwd: projectDir, env: alembicEnv });
    steps.check = check.seconds;
    const checkOutput = `${check.stdout}${check.stderr}`;
    // With --drift, alembic check must find exactly the model no migration creates.
    const expected = drift ? "Detected added table 'legacy_notes'" : 'No new upgrade operations detected';
    const clean = (check.code === 0) !== drift && checkOutput.includes(expected);
    if (verify) {
      if (!clean) throw new Error(`alembic check did not say "${expected}" on the generated project (exit ${check.code}):\n${tail(checkOutput, 60)}`);
      const applied = (upgrade.stderr.match(/Running upgrade/g) ?? []).length;
      const verdict = checkOutput.split('\n').find((l) => l.includes(expected));
      console.error(`  verify: alembic upgrade head ran ${applied} revisions; alembic check: "${verdict.trim()}"`);
    }

    // 6. stop the server and delete it
    const stopStarted = performance.now();
    must('pg_ctl stop', run(join(bindir, 'pg_ctl'), ['stop', '-w', '-s', '-m', 'fast', '-D', data], { cwd: pgDir, env: serverEnv, ...serverIdentity() }));
    running = false;
    rmSync(pgDir, { recursive: true, force: true });
    steps.stop = (performance.now() - stopStarted) / 1000;
    steps.total = (performance.now() - started) / 1000;
    return { steps, clean, revisionsApplied: (upgrade.stderr.match(/Running upgrade/g) ?? []).length };
  } finally {
    if (running) run(join(bindir, 'pg_ctl'), ['stop', '-w', '-s', '-m', 'immediate', '-D', data], { cwd: pgDir, env: serverEnv, ...serverIdentity() });
    rmSync(pgDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (b) alembic-guard

const GUARD_ARGS = (format) => ['check', '--base', 'base', '--python', PYTHON, '--database', 'binaries', '--format', format];

/** `{replay: 1.12, judge: 0.05, ...}` from the text format's stage lines (`✓ replay      1.12 s  ...`). */
function stageSeconds(stdout) {
  const stages = {};
  for (const line of stdout.split('\n')) {
    const match = /^(?:\S)?\s+([a-z]+)\s+(\d+\.\d+) s/.exec(line); // `✓ replay  1.12 s ...`, and `  total  2.37 s`
    if (match) stages[match[1]] = Number(match[2]);
  }
  return stages;
}

async function guard(projectDir, format) {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.VIRTUAL_ENV;
  const r = await runAsync(process.execPath, [CLI, ...GUARD_ARGS(format)], { cwd: projectDir, env });
  if (format !== 'json') return r;
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    /* reported below */
  }
  return { ...r, report };
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (x) => (x === null || x === undefined ? '—' : x.toFixed(2));
const round3 = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);

function table(rows) {
  const header = ['step', 'by hand (s)', 'alembic-guard (s)'];
  const cells = rows.map((r) => [r.step, fmt(r.byHand), fmt(r.guard)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => `${c[0].padEnd(widths[0])}  ${c[1].padStart(widths[1])}  ${c[2].padStart(widths[2])}`;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(ALEMBIC) || !existsSync(PYTHON)) fail(`no Python venv at ${join(REPO, '.venv')}: run node scripts/setup-python.mjs`);
  const bindir = findPgBindir(opts.pgBindir);

  const scratchRoot = mkdtempSync(join(tmpdir(), 'alembic-guard-bench-'));
  if (isRoot) chownSync(scratchRoot, NOBODY, NOBODY); // nobody creates its data dirs inside
  const projectDir = join(scratchRoot, 'project');
  const cleanup = () => {
    if (!opts.keep) rmSync(scratchRoot, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }

  try {
    mkdirSync(projectDir);
    const genStarted = performance.now();
    const { files, opCounts } = generateProject(projectDir, opts);
    const newFiles = makeRepository(projectDir, files, opts.new);
    const newRevisions = files.slice(files.length - opts.new);
    console.error(
      `generated ${files.length} migrations over ${opts.tables} tables in ${((performance.now() - genStarted) / 1000).toFixed(2)} s: ` +
        Object.entries(opCounts).map(([k, v]) => `${v} ${k}`).join(', '),
    );
    console.error(`project: ${projectDir}${opts.keep ? ' (kept)' : ''}`);
    console.error(`the PR (${opts.new} new migrations):`);
    for (const f of newRevisions) console.error(`  ${f.revision}  ${f.file}: ${f.ops.join('; ')}`);
    console.error(`postgres binaries: ${bindir}; server as ${isRoot ? 'nobody (uid 65534)' : 'the current user'}`);

    // Warm-up (untimed): compile the project's .py files once so neither side pays for it.
    must('warm-up (alembic heads)', run(ALEMBIC, ['heads'], { cwd: projectDir }));
    must('warm-up (import models)', run(PYTHON, ['-c', 'import app.models'], { cwd: projectDir }));

    const cliPresent = existsSync(CLI);
    if (!cliPresent) console.error(`\n${CLI} does not exist (build it with npm run build): timing the by-hand half only.`);

    const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
    const handRuns = [];
    const guardRuns = [];
    for (let i = 0; i < opts.runs; i++) {
      // Alternate the order so neither side always runs on a warmer machine.
      const order = i % 2 === 0 ? ['hand', 'guard'] : ['guard', 'hand'];
      for (const side of order) {
        if (side === 'hand') {
          const r = await byHand(projectDir, scratchRoot, bindir, i, { verify: i === 0, drift: opts.drift });
          handRuns.push(r);
          console.error(`run ${i + 1}/${opts.runs} by hand:       total ${r.steps.total.toFixed(2)} s (upgrade ${r.steps.upgrade.toFixed(2)}, check ${r.steps.check.toFixed(2)})`);
        } else if (cliPresent) {
          const r = await guard(projectDir, 'json');
          guardRuns.push(r);
          const t = r.report?.timings;
          console.error(
            `run ${i + 1}/${opts.runs} alembic-guard: wall ${r.seconds.toFixed(2)} s, exit ${r.code}` +
              (t ? ` (database ${t.database}, replay ${t.replay}, compare ${t.compare}, total ${t.total})` : ' (no JSON report)'),
          );
          if (!r.report || r.code === 2) console.error(tail(r.stderr, 40));
        }
      }
    }

    // Reference points for "where the time goes" (not part of either total): what a bare Python
    // start with the libraries costs, and what Alembic needs to read the script directory.
    const refImport = [];
    const refHeads = [];
    for (let i = 0; i < opts.runs; i++) {
      refImport.push(must('python import', run(PYTHON, ['-c', 'import alembic.command, sqlalchemy, psycopg'], { cwd: projectDir })).seconds);
      refHeads.push(must('alembic heads', run(ALEMBIC, ['heads'], { cwd: projectDir })).seconds);
    }

    // Text-format runs: their stage lines give the judge stage (schema snapshots, downgrades, proofs, rules),
    // which the JSON contract does not carry. The last one is printed as is.
    let textRun = null;
    const stageRuns = [];
    if (cliPresent) {
      for (let i = 0; i < opts.runs; i++) {
        textRun = await guard(projectDir, 'text');
        stageRuns.push(stageSeconds(textRun.stdout));
      }
      console.log(`\n$ node dist/cli.js ${GUARD_ARGS('text').join(' ')}    # exit ${textRun.code}, ${textRun.seconds.toFixed(2)} s`);
      if (textRun.stderr.trim()) console.log(`--- stderr ---\n${textRun.stderr.trimEnd()}`);
      if (textRun.stdout.trim()) console.log(`--- stdout ---\n${textRun.stdout.trimEnd()}`);
    }

    // Medians and the table.
    const h = (k) => median(handRuns.map((r) => r.steps[k]));
    const g = (k) => median(guardRuns.map((r) => r.report?.timings?.[k]));
    const hand = { initdb: h('initdb'), start: h('start'), createdb: h('createdb'), upgrade: h('upgrade'), check: h('check'), stop: h('stop'), total: h('total') };
    const handDatabase = median(handRuns.map((r) => r.steps.initdb + r.steps.start + r.steps.createdb));
    const guardWall = median(guardRuns.map((r) => r.seconds));
    const rows = [
      { step: '  initdb', byHand: hand.initdb, guard: null },
      { step: '  pg_ctl start -w', byHand: hand.start, guard: null },
      { step: '  createdb', byHand: hand.createdb, guard: null },
      { step: 'database (initdb + start + createdb)', byHand: handDatabase, guard: g('database') },
      { step: 'replay (alembic upgrade head)', byHand: hand.upgrade, guard: g('replay') },
      { step: 'compare (alembic check)', byHand: hand.check, guard: g('compare') },
      { step: 'stop + delete server', byHand: hand.stop, guard: null },
      { step: 'total reported by alembic-guard', byHand: null, guard: g('total') },
      { step: 'total wall time', byHand: hand.total, guard: guardWall },
    ];
    const reference = [
      { step: 'python -c "import alembic.command, sqlalchemy, psycopg"', seconds: median(refImport) },
      { step: 'alembic heads (start + read the script directory, no DB)', seconds: median(refHeads) },
    ];
    const ratio = hand.total && guardWall ? guardWall / hand.total : null;
    const stageReplay = median(stageRuns.map((r) => r.replay));
    const stageJudge = median(stageRuns.map((r) => r.judge));
    const judgeShare = stageReplay && stageJudge !== null ? stageJudge / stageReplay : null;
    rows.splice(rows.length - 2, 0, { step: 'judge (snapshots, downgrades, proofs, rules)', byHand: null, guard: stageJudge });
    // Only when the models differ from the migrations (--drift): the base commit's models compared in their own process.
    // model-drift: the models' create_all() in the second database and both catalogs (the database itself is created during the replay).
    const stageDrift = median(stageRuns.map((r) => r.drift ?? null).filter((x) => x !== null));
    if (stageDrift !== null) rows.splice(rows.length - 2, 0, { step: 'drift (create_all + both catalogs)', byHand: null, guard: stageDrift });
    const stageTotal = median(stageRuns.map((r) => r.total ?? null).filter((x) => x !== null));
    const stageBase = median(stageRuns.map((r) => r.base ?? null).filter((x) => x !== null));
    if (stageBase !== null) rows.splice(rows.length - 2, 0, { step: 'base (drift already at base, compared)', byHand: null, guard: stageBase });

    const first = guardRuns.find((r) => r.report)?.report ?? null;
    const findings = first?.findings ?? null;
    const exitCodes = guardRuns.map((r) => r.code);

    const loadAfter = loadavg().map((x) => Math.round(x * 100) / 100);
    console.log(
      `\nmedian of ${opts.runs} run(s); ${files.length} migrations, ${opts.tables} tables, ${opts.new} new; ` +
        `${cpus().length} cores; load average ${loadBefore[0]} before, ${loadAfter[0]} after (other work on the machine skews the figures)`,
    );
    console.log(table(rows));
    console.log('\nreference points (by hand, not in the totals):');
    for (const r of reference) console.log(`  ${r.step.padEnd(60)} ${fmt(r.seconds).padStart(6)}`);
    console.log(ratio === null ? '\nratio of totals: — (alembic-guard did not run)' : `\nratio of totals (alembic-guard wall / by-hand total): ${ratio.toFixed(2)}x`);
    if (judgeShare !== null) {
      console.log(
        `judging the ${opts.new} new migrations adds ${(judgeShare * 100).toFixed(0)}% to the replay time ` +
          `(judge ${fmt(stageJudge)} s / replay ${fmt(stageReplay)} s, medians of the text runs; target: at most 20%)`,
      );
    }
    if (stageDrift !== null && stageTotal) {
      console.log(`model-drift takes ${((stageDrift / stageTotal) * 100).toFixed(0)}% of the check (drift ${fmt(stageDrift)} s / total ${fmt(stageTotal)} s, medians of the text runs; target: at most 15%)`);
    }
    if (cliPresent) {
      console.log(`alembic-guard exit codes: ${exitCodes.join(', ')}; status: ${first?.status ?? '—'}; revisions: ${first ? `${first.revisions.total} total, ${first.revisions.new.length} new` : '—'}`);
      if (findings && findings.length) {
        console.log(`findings (${findings.length}):`);
        for (const f of findings) console.log(`  ${f.severity.padEnd(7)} ${f.rule}  ${f.file}:${f.line}  ${f.message}`);
      } else if (findings) console.log('findings: none');
    }

    const result = {
      benchmark: 'check-vs-by-hand',
      date: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? null, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
      project: { migrations: files.length, tables: opts.tables, new: opts.new, operations: opCounts, newRevisions: newRevisions.map((f) => ({ revision: f.revision, file: f.file, ops: f.ops })) },
      runs: opts.runs,
      postgresBindir: bindir,
      median: {
        byHand: { ...Object.fromEntries(Object.entries(hand).map(([k, v]) => [k, round3(v)])), database: round3(handDatabase) },
        alembicGuard: cliPresent
          ? { database: round3(g('database')), replay: round3(g('replay')), compare: round3(g('compare')), total: round3(g('total')), wall: round3(guardWall) }
          : null,
        ratioOfTotals: round3(ratio),
        judge: round3(stageJudge),
        replayInTextRuns: round3(stageReplay),
        judgeShareOfReplay: round3(judgeShare),
      },
      reference: reference.map((r) => ({ step: r.step, seconds: round3(r.seconds) })),
      table: rows.map((r) => ({ step: r.step.trim(), byHand: round3(r.byHand), alembicGuard: round3(r.guard) })),
      samples: {
        byHand: handRuns.map((r) => Object.fromEntries(Object.entries(r.steps).map(([k, v]) => [k, round3(v)]))),
        alembicGuard: guardRuns.map((r) => ({ wall: round3(r.seconds), exit: r.code, timings: r.report?.timings ?? null, stages: r.report?.stages ?? null })),
      },
      alembicGuard: cliPresent
        ? { command: `node dist/cli.js ${GUARD_ARGS('json').join(' ')}`, exitCodes, status: first?.status ?? null, revisions: first?.revisions ?? null, findings, textOutput: textRun ? { exit: textRun.code, stdout: textRun.stdout, stderr: textRun.stderr } : null }
        : { unavailable: `${CLI} missing` },
      byHandAlembicCheckClean: handRuns.every((r) => r.clean),
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(OUT_FILE, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwrote ${OUT_FILE}`);
  } finally {
    cleanup();
  }
}

main().catch((error) => {
  console.error(`check-vs-by-hand: ${error.stack ?? error}`);
  process.exitCode = 2;
});
