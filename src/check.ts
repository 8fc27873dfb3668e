// One check, top to bottom: resolve the change, start Postgres, replay, compare, judge, report.
import { relative } from 'node:path';
import { BaseModels, type BaseDrift } from './compare/base-drift.js';
import { compareWithModels, withoutDifferences, type ModelDiff } from './compare/compare.js';
import { ModelsDatabase, renderIndexes, splitDriftByBase, type BaseModelDrift, type CompareOptions, type ModelDrift } from './compare/model-drift.js';
import { CheckProgress, withinDeadline } from './deadline.js';
import { UserError } from './errors.js';
import { reachesGate, type Finding } from './findings.js';
import { defaultBase, repositoryRoot, resolveCommit } from './git/repository.js';
import { buildMigrationGraph, type BaseCommit } from './graph/build.js';
import type { MigrationGraph } from './graph/graph.js';
import type { CheckOptions } from './options.js';
import type { DisposablePostgres } from './postgres/provider.js';
import { recreateScratchDatabase } from './postgres/recreate.js';
import { startDisposablePostgres } from './postgres/start.js';
import { checkAlembicConfigOf } from './python/alembic-config.js';
import { findPython } from './python/interpreter.js';
import { type AlembicProject, StartedHelper } from './python/project.js';
import { buildEvidence } from './evidence/build.js';
import type { Evidence, StatementEvidence } from './evidence/evidence.js';
import { summarizeTableChanges } from './evidence/summary.js';
import { proveFromBaseline } from './evidence/prove.js';
import type { CapturedStatement, ReplayResult } from './python/protocol.js';
import { loadSqlParser } from './sql/parse.js';
import { runDowngrades, upgradeStatements } from './replay/downgrades.js';
import { applyBaselineSql } from './replay/baseline.js';
import { replayMigrations, type Replay } from './replay/replay.js';
import type { Report, StageTiming } from './report/report.js';
import { judge, validateDirectives, type SuppressedFinding } from './rules/index.js';
import { plural } from './rules/support/words.js';
import { connect, snapshotSchema } from './schema/introspect.js';
import type { Drift } from './schema/drift.js';
import { readProjectSettings } from './settings/settings.js';

export interface CheckIO {
  /** Progress for a person (stderr). */
  log: (line: string) => void;
  /** What the project's Python prints (stderr, or nowhere). */
  pythonOutput: (text: string) => void;
}

type Client = Awaited<ReturnType<typeof connect>>;

const seconds = (since: number) => (performance.now() - since) / 1000;

/** One check, within `--timeout` (src/deadline.ts). */
export function runCheck(options: CheckOptions, io: CheckIO): Promise<Report> {
  return withinDeadline(options.timeout ?? 0, (progress) => checkOnce(options, io, progress));
}

async function checkOnce(options: CheckOptions, io: CheckIO, progress: CheckProgress): Promise<Report> {
  const started = performance.now();
  const stages: StageTiming[] = [];

  // 1. Resolve the change.
  const repository = await repositoryRoot(options.cwd);
  const root = repository ?? options.cwd;
  checkAlembicConfigOf(options, root);
  const base = await resolveBase(options, repository);
  const settings = readProjectSettings(options.cwd, root, { migrationsRun: options.migrationsRun });
  const python = findPython(options.python, options.cwd, process.env);

  // 2. Start Postgres while Python starts and imports SQLAlchemy and Alembic (no project code yet: the project's
  // modules read settings at import time, and the database's address is one of them).
  const pgStarted = performance.now();
  const postgresPromise = startDisposablePostgres(options.database, {
    postgresVersion: options.postgresVersion,
    postgresImage: options.postgresImage,
    databaseUrl: options.databaseUrl,
    log: io.log,
  });
  let postgres: DisposablePostgres | null = null;
  let helper: StartedHelper | null = null;
  let project: AlembicProject | null = null;
  let client: Client | null = null;
  let baseModels: Promise<BaseModels | null> | null = null;
  /** The databases model-drift fills with create_all(): the head's models' (created beside the replay), the base's (when head drifts). */
  let modelsDatabase: Promise<ModelsDatabase | Error> | null = null;
  let baseModelsDatabase: Promise<ModelsDatabase | Error> | null = null;
  const baseNotNeeded = new AbortController();
  try {
    const pythonStarted = performance.now();
    let pythonSeconds = 0;
    const [pgResult, helperResult] = await Promise.allSettled([
      postgresPromise,
      StartedHelper.start(python, options.cwd, io.pythonOutput, (child) => progress.stops.add(() => child.abandon())).then((started) => {
        pythonSeconds = seconds(pythonStarted);
        return started;
      }),
    ]);
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (helperResult.status === 'fulfilled') helper = helperResult.value;
    if (helperResult.status === 'rejected') throw helperResult.reason;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    helper = helper!;
    postgres = postgres!;
    progress.postgres = postgres;
    stages.push({
      stage: 'postgres',
      seconds: postgres.startSeconds || seconds(pgStarted),
      detail: `${postgres.provider} (PostgreSQL ${postgres.serverVersion})`,
    });

    const sibling = (suffix: string) =>
      ModelsDatabase.create(postgres!, suffix).catch((error: unknown) => new Error(`its database could not be created: ${error instanceof Error ? error.message : String(error)}`));
    // model-drift's database, made while the project loads (one core is free then; during the replay neither is).
    if (!settings.disabled.has('model-drift')) modelsDatabase = sibling('models');

    // The project: its environment first, then its config, env.py's URL and every revision file.
    const loadStarted = performance.now();
    const loadSettings = {
      root: options.cwd,
      config: options.config,
      section: options.section,
      database: {
        host: postgres.host,
        port: postgres.port,
        user: postgres.user,
        password: postgres.password,
        database: postgres.database,
      },
      environment: { ...settings.env, ...options.env },
      databaseEnvironment: options.databaseEnv,
      flaskApp: options.flaskApp,
    };
    progress.stage = "loading the project (its environment, env.py's configuration, the revision files)";
    project = await helper.load(loadSettings);
    const loadSeconds = seconds(loadStarted);
    const graphStarted = performance.now();
    progress.stage = 'building the revision graph';
    const graph = await buildMigrationGraph(project.loaded, root, base, (files) => project!.scan(files));
    progress.files = [...graph.revisions].sort((a, b) => Number(b.isNew) - Number(a.isNew)).map((r) => ({ absolute: r.absolutePath, shown: r.file }));
    const newCount = graph.revisions.filter((r) => r.isNew).length;
    validateDirectives(graph);
    stages.push({
      stage: 'python',
      seconds: pythonSeconds,
      detail: `Python ${project.versions.python}, SQLAlchemy ${project.versions.sqlalchemy}, Alembic ${project.versions.alembic} (${python.source}); started beside Postgres`,
    });
    stages.push({
      stage: 'project',
      seconds: loadSeconds,
      detail: `${relative(root, options.config).split('\\').join('/')} and ${plural(project.loaded.revisions.length, 'revision file')}, with the project's environment set first`,
    });
    stages.push({
      stage: 'graph',
      seconds: seconds(graphStarted),
      detail: `${graph.revisions.length} revisions, ${newCount} new against ${graph.base}`,
    });

    // The base commit's models, in their own Python process while the history replays: the drift already on base.
    if (repository && graph.baseCommit) {
      baseModels = BaseModels.start({
        python,
        repositoryRoot: repository,
        commit: graph.baseCommit,
        label: graph.base,
        cwd: options.cwd,
        load: loadSettings,
        pythonOutput: io.pythonOutput,
      }, baseNotNeeded.signal);
      progress.stops.add(() => baseNotNeeded.abort());
    }

    // 3. Replay.
    if (settings.baselineSql) await applyBaselineSql(postgres, settings.baselineSql, root);
    const replayStarted = performance.now();
    if (newCount > 0) {
      client = await connect(postgres);
      await loadSqlParser();
    }
    progress.stage = 'replaying the migrations';
    const stopWatching = progress.watchLocks();
    const replay = await replayMigrations(project.helper, graph, root, { snapshot: () => snapshotSchema(client!) }).finally(stopWatching);
    const replaySeconds = seconds(replayStarted);
    stages.push({
      stage: 'replay',
      seconds: replaySeconds - replay.evidenceSeconds,
      detail: replay.failure
        ? `failed at ${replay.failure.revision ?? 'env.py'} after ${replay.revisions.length} revisions`
        : `${replay.revisions.length} revisions, ${replay.revisions.reduce((n, r) => n + r.statements.length, 0)} statements`,
    });

    // 4. Compare with the models (only a database that reached head says anything about them).
    let diff: ModelDiff | null = null;
    let modelDrift: ModelDrift | null = null;
    const compareStarted = performance.now();
    if (!replay.failure) {
      progress.stage = 'comparing the migrated database with the models';
      diff = await compareWithModels(project.helper, settings.ignoreObjects, modelsDatabase !== null);
      stages.push({
        stage: 'compare',
        seconds: seconds(compareStarted),
        detail: diff.empty ? 'models match the migrations' : plural(diff.operations.length, 'difference'),
      });
      // model-drift: the same models through create_all() in the second database, both catalogs diffed.
      if (modelsDatabase) {
        const driftStarted = performance.now();
        client ??= await connect(postgres);
        modelDrift = await compareCatalogs(await modelsDatabase, diff, client, settings.ignoreObjects);
        await renderIndexes(project.helper, modelDrift).catch(() => {}); // without it, the index is built from its definition
        stages.push({ stage: 'drift', seconds: seconds(driftStarted), detail: driftDetail(modelDrift) });
      }
    }

    // The drift already on base, compared where the database is in the history state: now when the PR adds no
    // revision, else once the downgrades have brought it back there.
    let baseDrift: BaseDrift | null = null;
    let baseModelDrift: BaseModelDrift | null = null;
    const headDiff = diff;
    const headDrift = modelDrift?.kind === 'compared' && modelDrift.drift.length > 0 ? modelDrift.drift : null;
    /** The base's models matter only when head differs from the migrations in some way. */
    const baseNeeded = (headDiff !== null && !headDiff.empty) || headDrift !== null;
    // Their create_all() needs a database of its own: made now, while the downgrades run.
    if (headDrift && baseModels) baseModelsDatabase = sibling('models_base');
    const compareBase = async () => {
      progress.stage = "comparing the base commit's models";
      const base = await baseModels;
      if (!base || !headDiff || !baseNeeded) return;
      const started = performance.now();
      baseDrift = await base.compare(settings.ignoreObjects, headDiff.operations);
      if (baseDrift.kind === 'compared') diff = await withoutDifferences(project!.helper, headDiff, baseDrift.old);
      if (headDrift && baseModelsDatabase) {
        baseModelDrift = await compareBaseCatalogs(baseDrift, await baseModelsDatabase, client!, settings.ignoreObjects, headDrift, replay.baseline?.enums);
      }
      stages.push({
        stage: 'base',
        seconds: seconds(started),
        detail:
          baseDrift.kind === 'compared'
            ? `${plural(baseDrift.operations.length, 'difference')} already at ${graph.base}` +
              (baseModelDrift?.kind === 'compared' ? `, ${plural(baseModelDrift.drift.length, 'model-drift difference')}` : '')
            : `not compared: ${baseDrift.reason}`,
      });
    };
    // A clean head needs nothing from base (a PR that fixes the last of the old drift just passes): its process stops.
    if (!baseNeeded) baseNotNeeded.abort();
    else if (replay.observed.length === 0) await compareBase();

    // 5. Judge, on the evidence the replay gathered about the new revisions, completed by running their downgrades
    // (which leaves the database below them: the comparison is done) and proving data-dependent failures.
    const judgeStarted = performance.now();
    const baseSecondsBefore = stages.find((s) => s.stage === 'base')?.seconds ?? 0;
    /** Drops and recreates the scratch database, empty (but for the baseline SQL), for a second replay. */
    const recreateDatabase = async () => {
      await client?.end();
      await recreateScratchDatabase(postgres!);
      if (settings.baselineSql) await applyBaselineSql(postgres!, settings.baselineSql, root);
      client = await connect(postgres!);
    };
    progress.stage = "running the new revisions' downgrades and judging them";
    const downgrades =
      replay.observed.length > 0 && !replay.failure
        ? await runDowngrades(project.helper, graph, replay, root, {
            snapshot: () => snapshotSchema(client!),
            recreateDatabase,
          })
        : null;
    if (downgrades) {
      if (!downgrades.atBaseline && baseNeeded && (await baseModels)) {
        // The downgrades did not get back to the history state: build it again for the base's comparison.
        await recreateDatabase();
        const history = graph.historyHeads.length
          ? await project.helper.request<ReplayResult>('replay', { steps: [{ direction: 'upgrade', target: graph.historyHeads }] })
          : null;
        if (history?.failure) {
          baseDrift = (await baseModels)!.unavailable('replaying the history again failed');
          if (headDrift) baseModelDrift = { kind: 'unavailable', label: graph.base, reason: 'replaying the history again failed' };
        }
        else await compareBase();
      } else if (downgrades.atBaseline) {
        await compareBase();
      }
    }
    const proofsStarted = performance.now();
    const proofs =
      downgrades?.atBaseline && replay.baseline
        ? await proveFromBaseline(client!, upgradeStatements(replay), replay.baseline)
        : new Map<CapturedStatement, StatementEvidence['proof']>();
    const proofSeconds = seconds(proofsStarted);
    const evidenceStarted = performance.now();
    const evidence = await buildEvidence(graph, replay, downgrades, proofs);
    const rulesStarted = performance.now();
    if (process.env.ALEMBIC_GUARD_DEBUG_EVIDENCE) printEvidence(evidence);
    const baseSecondsInJudge = (stages.find((s) => s.stage === 'base')?.seconds ?? 0) - baseSecondsBefore;
    const { findings, suppressed } = judge({ graph, replay, diff, baseDrift, modelDrift, baseModelDrift, evidence }, settings);
    if (process.env.ALEMBIC_GUARD_DEBUG_TIMES) {
      io.log(`judge: downgrades ${(evidenceStarted - judgeStarted).toFixed(0)} ms, evidence ${(rulesStarted - evidenceStarted).toFixed(0)} ms, rules ${(performance.now() - rulesStarted).toFixed(0)} ms`);
    }
    stages.push({
      stage: 'judge',
      // The base's comparison may run inside this span (once the downgrades are back at base) but is its own stage.
      seconds: seconds(judgeStarted) + replay.evidenceSeconds - baseSecondsInJudge,
      detail:
        `${plural(findings.length, 'finding')}${suppressed.length ? `, ${suppressed.length} suppressed` : ''}` +
        (evidence
          ? `; snapshots ${replay.evidenceSeconds.toFixed(2)} s, downgrades ${(downgrades?.seconds ?? 0).toFixed(2)} s, proofs ${proofSeconds.toFixed(2)} s`
          : ''),
    });

    // 6. Report.
    return buildReport(options, root, graph, replay, diff, evidence, findings, suppressed, stages, postgres.startSeconds, seconds(started));
  } finally {
    await client?.end().catch(() => {});
    baseNotNeeded.abort();
    // A CREATE DATABASE still running would outlive the drop of a `url` server's databases.
    await Promise.allSettled([modelsDatabase, baseModelsDatabase]);
    await Promise.allSettled([baseModels?.then((base) => base?.close()), (project ?? helper)?.close(), postgres?.stop() ?? postgresPromise.then((pg) => pg.stop())]);
  }
}

/** model-drift at head: the models' DDL (from the comparison) run in the second database, both catalogs diffed. */
async function compareCatalogs(
  database: ModelsDatabase | Error,
  diff: Pick<ModelDiff, 'models' | 'operations'>,
  client: Client,
  ignoreObjects: string[],
  options: CompareOptions = {},
): Promise<ModelDrift> {
  if (database instanceof Error) return { kind: 'unavailable', reason: database.message };
  try {
    return await database.compare(diff.models, client, diff.operations, ignoreObjects, options);
  } catch (error) {
    // A comparison that cannot be made says so in its stage line; it never stops the check.
    return { kind: 'unavailable', reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  }
}

/** model-drift at base: the base's models in their own database, against the history state `client` is at. */
async function compareBaseCatalogs(
  base: BaseDrift,
  database: ModelsDatabase | Error,
  client: Client,
  ignoreObjects: string[],
  head: Drift[],
  historyEnums: Map<string, string[]> | undefined,
): Promise<BaseModelDrift> {
  if (base.kind === 'unavailable') return { kind: 'unavailable', label: base.label, reason: base.reason };
  const compared = await compareCatalogs(database, base, client, ignoreObjects, { enums: historyEnums });
  if (compared.kind === 'unavailable') return { kind: 'unavailable', label: base.label, reason: compared.reason };
  return { kind: 'compared', label: base.label, drift: compared.drift, ...splitDriftByBase(head, compared.drift) };
}

function driftDetail(drift: ModelDrift): string {
  if (drift.kind === 'unavailable') return `not compared: ${drift.reason}`;
  const skipped = drift.skipped.length
    ? `; ${plural(drift.skipped.length, 'statement')} of them could not run and ${drift.skipped.length === 1 ? 'its objects are' : 'their objects are'} not compared (first: ${drift.skipped[0]!.statement.slice(0, 80)}: ${drift.skipped[0]!.error})`
    : '';
  const found = drift.drift.length === 0 ? 'nothing autogenerate misses' : `${plural(drift.drift.length, 'difference')} autogenerate does not compare`;
  return `${found}; the models' create_all() (${plural(drift.statements, 'statement')}) in a second database${skipped}`;
}

/** `root`: the git work tree holding the project, or null outside one. */
async function resolveBase(options: CheckOptions, root: string | null): Promise<BaseCommit | null> {
  if (options.base) {
    if (root === null) {
      throw new UserError(`--base ${options.base}: ${options.cwd} is not inside a git repository, so there is no base to compare with.`);
    }
    const commit = await resolveCommit(root, options.base);
    // A commit id given as the base (the action passes the PR's base sha) is named by its short form only.
    const isId = /^[0-9a-f]{7,40}$/i.test(options.base) && commit.startsWith(options.base.toLowerCase());
    return { root, commit, label: isId ? commit.slice(0, 7) : `${options.base} (${commit.slice(0, 7)})` };
  }
  if (root === null) return null;
  const found = await defaultBase(root);
  return found ? { root, commit: found.commit, label: `${found.ref} (${found.commit.slice(0, 7)})` } : null;
}

function buildReport(
  options: CheckOptions,
  root: string,
  graph: MigrationGraph,
  replay: Replay,
  diff: ModelDiff | null,
  evidence: Evidence | null,
  findings: Finding[],
  suppressed: SuppressedFinding[],
  stages: StageTiming[],
  databaseSeconds: number,
  totalSeconds: number,
): Report {
  const failing = findings.some((f) => reachesGate(f.severity, options.failOn));
  const newRevisions = graph.revisions.filter((r) => r.isNew);
  return {
    version: 1,
    status: failing ? 'fail' : 'pass',
    failOn: options.failOn,
    findings,
    suppressed: suppressed.map((s) => ({ ...s.finding, reason: s.reason, comment: s.comment })),
    revisions: { heads: graph.heads, new: newRevisions.map((r) => r.id), total: graph.revisions.length },
    timings: {
      database: databaseSeconds,
      replay: stages.find((s) => s.stage === 'replay')?.seconds ?? 0,
      compare: stages.find((s) => s.stage === 'compare')?.seconds ?? 0,
      total: totalSeconds,
    },
    stages,
    newRevisions: newRevisions.map((r) => ({
      revision: r.id,
      file: r.file,
      message: r.message,
      isNew: true,
      seconds: replay.byId.get(r.id)?.seconds ?? null,
      statements: replay.byId.get(r.id)?.statements.length ?? 0,
    })),
    missingMigration: diff && !diff.empty ? { upgrade: diff.upgrade, downgrade: diff.downgrade } : null,
    graph: graph.revisions.map((r) => ({ revision: r.id, parents: r.parents, isNew: r.isNew, message: r.message, file: r.file })),
    tableChanges: evidence ? summarizeTableChanges(evidence) : [],
    base: graph.base,
    config: relative(root, options.config).split('\\').join('/'),
  };
}

/** ALEMBIC_GUARD_DEBUG_EVIDENCE=1: what the rules see, on stderr (ASTs and full schemas left out). */
function printEvidence(evidence: Evidence | null): void {
  const shown = evidence?.revisions.map((r) => ({
    revision: r.revision,
    statements: r.statements.map((s) => ({ ...s, ast: s.ast ? '(parsed)' : null })),
    heldAtStart: r.heldAtStart,
    downgrade: r.downgrade && { ...r.downgrade, schemaAfterDowngrade: r.downgrade.schemaAfterDowngrade ? '(snapshot)' : null },
  }));
  if (evidence?.downgradesStopped) process.stderr.write(`downgrades stopped: ${JSON.stringify(evidence.downgradesStopped)}\n`);
  process.stderr.write(`${JSON.stringify(shown ?? null, null, 1)}\n`);
}
