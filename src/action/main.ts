// The action, top to bottom: read the inputs and the event, choose the base, run the check, then report and gate.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runCheck } from '../check.js';
import { isUserError } from '../errors.js';
import type { Finding } from '../findings.js';
import { GitHubClient } from '../github/client.js';
import {
  annotationCommand,
  ANNOTATIONS_PER_LEVEL,
  appendStepSummary,
  capAnnotations,
  type AnnotationCounts,
  STEP_SUMMARY_LIMIT,
  stopCommands,
  workflowCommand,
  writeOutputs,
} from '../github/workflow-commands.js';
import { renderJson, renderJsonError } from '../report/json.js';
import { renderCheckError, renderMarkdown, truncateMarkdown } from '../report/markdown.js';
import type { Report } from '../report/report.js';
import { renderSarif } from '../report/sarif.js';
import { countFindings, describeCounts } from '../report/text.js';
import { chooseBase } from './base.js';
import { readRunContext, type RunContext } from './context.js';
import { gitIn, repositoryTop } from './git.js';
import { readInputs, type ActionSettings } from './inputs.js';
import { publishToPullRequest, type PublishResult } from './publish.js';

export interface ActionIO {
  /** The job log (stdout): progress, workflow commands. */
  write: (text: string) => void;
}

/** Runs the action as the runner starts it (index.ts): exit code 0 pass, 1 findings at the gate, 2 the check could not run. */
export async function run(): Promise<void> {
  try {
    process.exitCode = await runAction(process.env, { write: (text) => process.stdout.write(text) });
  } catch (error) {
    // A bug, not the user's to fix: the whole stack, and the job fails as when the check cannot run.
    process.stdout.write(`${workflowCommand('error', { title: 'alembic-guard internal error' }, 'alembic-guard failed with an internal error (please report it); the stack is in the log.')}\n`);
    process.stderr.write(`alembic-guard: internal error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  }
}

/** The environment the action's own git commands get: no token, no inputs (git reads its credentials from .git/config). */
function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^(INPUT_|ACTIONS_)/.test(key) && key !== 'GITHUB_TOKEN') kept[key] = value;
  }
  return kept;
}

export async function runAction(env: NodeJS.ProcessEnv, io: ActionIO): Promise<number> {
  const log = (line: string) => io.write(`${line}\n`);
  log(`alembic-guard on Node ${process.version}`);
  let context: RunContext | null = null;
  let settings: ActionSettings | null = null;
  let repositoryRoot: string | null = null;
  let report: Report | null = null;
  let failure: string | null = null;
  try {
    context = readRunContext(env);
    settings = readInputs(env);
    const git = gitIn(settings.projectDir, withoutSecrets(env));
    repositoryRoot = await repositoryTop(git);
    const decision = await chooseBase(context, settings.base, git, log);
    log(`base: ${decision.base ?? "the check's default"} (${decision.reason})`);
    report = await check(settings, decision.base, env, io);
  } catch (error) {
    if (!isUserError(error)) throw error;
    failure = error.message;
  }
  if (!context) {
    log(workflowCommand('error', { title: 'alembic-guard: the check could not run' }, failure ?? ''));
    return 2;
  }

  // The gate's evidence, in the log: one annotation per finding, on its file and line when it has them, the most severe
  // first and no more than GitHub shows; a last notice counts the others.
  if (report) {
    const workspace = settings?.workspace ?? process.cwd();
    const prefix = repositoryRoot ? relative(workspace, repositoryRoot).split('\\').join('/') : '';
    // Posting to a pull request may end in one warning or notice of its own (what could not be posted): room is kept for it.
    const posting = settings !== null && context.pullRequest !== null && (settings.comment !== 'never' || settings.reviewComments);
    const annotations = capAnnotations(
      report.findings.map((finding) => annotationOf(finding, prefix)),
      { reserve: posting ? { warning: 1, notice: 1 } : {}, overflow: overflowAnnotation },
    );
    for (const annotation of annotations) log(annotationCommand(annotation));
  } else {
    log(workflowCommand('error', { title: 'alembic-guard: the check could not run' }, failure ?? ''));
  }
  const outcome = report ? { report } : { error: failure ?? '' };

  const reportFile = join(context.tempDir, 'alembic-guard', `${context.stepId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  mkdirSync(dirname(reportFile), { recursive: true });
  writeFileSync(reportFile, report ? renderJson(report) : renderJsonError(failure ?? ''));
  if (report && settings?.sarifFile) {
    mkdirSync(dirname(settings.sarifFile), { recursive: true });
    writeFileSync(settings.sarifFile, renderSarif(report));
    log(`sarif: ${settings.sarifFile}`);
  }

  // Posting comes after everything the gate needs, and whatever happens to it the verdict stays.
  const published = settings ? await publish(settings, context, outcome, env, log) : null;

  if (context.summaryFile) {
    const markdown = report ? renderMarkdown(report, { notInline: published?.notInline ?? [] }) : renderCheckError(failure ?? '');
    const notice = `_Cut at the job summary's 1 MiB limit: every finding is in the JSON report (\`report\` output, ${reportFile}) and in the annotations._`;
    appendStepSummary(context.summaryFile, truncateMarkdown(markdown, STEP_SUMMARY_LIMIT, notice));
  }

  const counts = report ? countFindings(report.findings) : { error: 0, warning: 0, notice: 0 };
  if (context.outputFile) {
    writeOutputs(context.outputFile, {
      status: report ? report.status : 'error',
      errors: String(counts.error),
      warnings: String(counts.warning),
      notices: String(counts.notice),
      report: reportFile,
      'comment-url': published?.commentUrl ?? '',
      'sarif-file': report && settings?.sarifFile ? settings.sarifFile : '',
    });
  }

  if (!report) {
    log(`alembic-guard: the check could not run: ${failure}`);
    return 2;
  }
  log(`alembic-guard: ${report.status === 'fail' ? 'FAIL' : 'PASS'}  ${describeCounts(counts) || 'no findings'} (fail-on: ${report.failOn})`);
  return report.status === 'fail' ? 1 : 0;
}

/** The check, its progress in a collapsed log group, with workflow commands off: it prints what the project's code and Postgres say. */
async function check(settings: ActionSettings, base: string | undefined, env: NodeJS.ProcessEnv, io: ActionIO): Promise<Report> {
  const verbose = env.RUNNER_DEBUG === '1' || Boolean(env.ALEMBIC_GUARD_VERBOSE);
  const { stop, resume } = stopCommands();
  io.write(`::group::alembic-guard check (${settings.commentKey})\n${stop}\n`);
  try {
    return await runCheck(
      {
        cwd: settings.projectDir,
        config: settings.config,
        section: settings.section,
        python: settings.python,
        base,
        database: settings.database,
        databaseUrl: settings.databaseUrl,
        postgresVersion: settings.postgresVersion,
        postgresImage: settings.postgresImage,
        failOn: settings.failOn,
        timeout: settings.timeout,
        databaseEnv: settings.databaseEnv,
        env: settings.env,
        flaskApp: settings.flaskApp,
        migrationsRun: settings.migrationsRun,
        format: 'json',
      },
      {
        log: (line) => io.write(`${line}\n`),
        pythonOutput: (text) => {
          if (verbose) io.write(text);
        },
      },
    );
  } finally {
    io.write(`${resume}\n::endgroup::\n`);
  }
}

function annotationOf(finding: Finding, prefix: string) {
  const file = finding.file === null ? undefined : prefix && prefix !== '.' ? `${prefix}/${finding.file}` : finding.file;
  return {
    level: finding.severity,
    title: `alembic-guard: ${finding.rule}`,
    message: finding.message,
    file,
    line: file === undefined ? undefined : (finding.line ?? undefined),
  };
}

/** The one line that says how many findings got no annotation, and where they all are. */
function overflowAnnotation(omitted: AnnotationCounts): { title: string; message: string } {
  const total = omitted.error + omitted.warning + omitted.notice;
  return {
    title: 'alembic-guard: more findings in the job summary',
    message:
      `${total} more finding${total === 1 ? ' is' : 's are'} not annotated (${describeCounts(omitted)}): GitHub shows ` +
      `${ANNOTATIONS_PER_LEVEL} annotations of each level per step. Every finding is in the job summary.`,
  };
}

async function publish(
  settings: ActionSettings,
  context: RunContext,
  outcome: { report: Report } | { error: string },
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<PublishResult | null> {
  if (settings.comment === 'never' && !settings.reviewComments) return null;
  if (!context.pullRequest) {
    log(`github: not a pull request event (${context.eventName || 'no event'}): nothing to comment on; the report is in the job summary`);
    return null;
  }
  if (!settings.token || !context.repository) {
    log(
      `github: nothing posted to pull request #${context.pullRequest.number}: ${settings.token ? '$GITHUB_REPOSITORY is not set' : 'the `github-token` input is empty'}`,
    );
    return null;
  }
  // Tests shorten GitHub's waits (retry backoff, spacing between writes) with ALEMBIC_GUARD_GITHUB_TIME_SCALE.
  const scale = Number(env.ALEMBIC_GUARD_GITHUB_TIME_SCALE);
  const client = new GitHubClient({
    token: settings.token,
    apiUrl: context.apiUrl,
    repository: context.repository,
    log: (line) => log(`github: ${line}`),
    timeScale: Number.isFinite(scale) && scale > 0 ? scale : 1,
  });
  try {
    const result = await publishToPullRequest({
      client,
      pullRequest: context.pullRequest,
      outcome,
      comment: settings.comment,
      reviewComments: settings.reviewComments,
      commentKey: settings.commentKey,
      runUrl: context.runUrl,
      log: (line) => log(`github: ${line}`),
    });
    if (result.problem) log(workflowCommand(result.problem.level, { title: 'alembic-guard: not posted to the pull request' }, result.problem.message));
    return result;
  } catch (error) {
    // A bug in posting: said loudly, but the verdict stands on the check alone.
    log(workflowCommand('error', { title: 'alembic-guard internal error' }, `Posting to the pull request failed with an internal error (please report it): ${(error as Error)?.stack ?? String(error)}`));
    return null;
  }
}
