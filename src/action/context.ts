// What the runner tells the action about the run: the event and its payload, the repository, the API and where to write.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { UserError } from '../errors.js';
import type { Repository } from '../github/client.js';

export interface PullRequestContext {
  number: number;
  /** `pull_request.base.sha`: the base branch's tip when the event fired. */
  baseSha: string;
  /** `pull_request.head.sha`: the PR's last commit, which review comments are made on. */
  headSha: string;
  /** The head is in another repository (a fork): the token GitHub gives such a run is read-only. */
  fromFork: boolean;
}

export interface RunContext {
  eventName: string;
  repository: Repository | null;
  apiUrl: string;
  /** The run's page (where the job summary is), or null outside the runner. */
  runUrl: string | null;
  pullRequest: PullRequestContext | null;
  /** push: the branch's tip before the push (all zeros for a new branch). */
  pushBefore: string | null;
  /** merge_group: the commit the queued change goes on top of. */
  mergeGroupBase: string | null;
  /** Directory for the report file ($RUNNER_TEMP). */
  tempDir: string;
  outputFile: string | undefined;
  summaryFile: string | undefined;
  /** The step's id ($GITHUB_ACTION), to keep two steps' report files apart. */
  stepId: string;
}

type Payload = Record<string, any>;

function readPayload(path: string | undefined): Payload {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Payload;
  } catch (error) {
    throw new UserError(`Cannot read the event payload $GITHUB_EVENT_PATH (${path}): ${(error as Error).message}`);
  }
}

export function readRunContext(env: NodeJS.ProcessEnv): RunContext {
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const pr = payload.pull_request;
  const headRepo = pr?.head?.repo?.full_name;
  const baseRepo = pr?.base?.repo?.full_name;
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    repository: owner && repo ? { owner, repo } : null,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    runUrl:
      env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${serverUrl}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`
        : null,
    pullRequest:
      pr && typeof pr.number === 'number' && pr.base?.sha && pr.head?.sha
        ? {
            number: pr.number,
            baseSha: String(pr.base.sha),
            headSha: String(pr.head.sha),
            // A deleted fork leaves head.repo null.
            fromFork: pr.head.repo === null || (headRepo !== undefined && baseRepo !== undefined && headRepo !== baseRepo),
          }
        : null,
    pushBefore: typeof payload.before === 'string' ? payload.before : null,
    mergeGroupBase: typeof payload.merge_group?.base_sha === 'string' ? payload.merge_group.base_sha : null,
    tempDir: env.RUNNER_TEMP || tmpdir(),
    outputFile: env.GITHUB_OUTPUT || undefined,
    summaryFile: env.GITHUB_STEP_SUMMARY || undefined,
    stepId: env.GITHUB_ACTION || 'alembic-guard',
  };
}
