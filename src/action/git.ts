// The few git commands the action runs itself (the check runs its own): is a commit here, fetch it, the parents of HEAD.
import { execFile } from 'node:child_process';

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs git in `cwd` and never throws: the caller decides what a failure means. */
export type Git = (args: string[]) => Promise<GitResult>;

export function gitIn(cwd: string, env: NodeJS.ProcessEnv): Git {
  return (args) =>
    new Promise((resolve) => {
      execFile('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ ok: !error, stdout: stdout ?? '', stderr: (stderr || (error?.message ?? '')).trim() }),
      );
    });
}

export async function hasCommit(git: Git, commit: string): Promise<boolean> {
  return (await git(['cat-file', '-e', `${commit}^{commit}`])).ok;
}

/** `git fetch --no-tags --depth=1 origin <sha>`: enough of base for the check, which reads its files, not its history. */
export function fetchCommit(git: Git, commit: string): Promise<GitResult> {
  return git(['-c', 'protocol.version=2', 'fetch', '--no-tags', '--depth=1', 'origin', commit]);
}

/** HEAD's parents as the commit object lists them (a shallow clone still records them, though it lacks the commits). */
export async function headParents(git: Git): Promise<string[]> {
  const result = await git(['cat-file', '-p', 'HEAD']);
  if (!result.ok) return [];
  const parents: string[] = [];
  for (const line of result.stdout.split('\n')) {
    if (line === '') break; // the headers end at the first blank line
    const match = /^parent ([0-9a-f]{40,64})$/.exec(line);
    if (match) parents.push(match[1]);
  }
  return parents;
}

export async function repositoryTop(git: Git): Promise<string | null> {
  const result = await git(['rev-parse', '--show-toplevel']);
  return result.ok ? result.stdout.trim() : null;
}
