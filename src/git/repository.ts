// The git side of "resolve the change": the repository root, the base commit and files as they were there.
import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return stdout;
}

/** The top of the work tree containing `dir`, or null when it is not in a git repository. */
export async function repositoryRoot(dir: string): Promise<string | null> {
  try {
    return (await git(dir, ['rev-parse', '--show-toplevel'])).trim();
  } catch {
    return null;
  }
}

/** The commit `ref` names; a UserError naming the ref when it does not exist. */
export async function resolveCommit(root: string, ref: string): Promise<string> {
  try {
    return (await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    throw new UserError(
      `--base ${ref}: no such commit in ${root}. Pass a branch, tag or commit that exists (e.g. --base origin/main); ` +
        'in CI fetch enough history (actions/checkout with fetch-depth: 0).',
    );
  }
}

/**
 * The base to compare with when none is given: the merge base with the upstream default branch, so a
 * feature branch's committed migrations count as new; on the default branch itself, HEAD. Never a silent guess: when
 * no such branch is in the clone, or it shares no history with HEAD (a shallow clone), the check stops and says how to
 * give it one, since comparing with HEAD would take the branch's own migrations for history and pass.
 */
export async function defaultBase(root: string): Promise<{ commit: string; ref: string } | null> {
  let head: string;
  try {
    head = (await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])).trim();
  } catch {
    return null; // a repository without commits
  }
  const shallow = (await git(root, ['rev-parse', '--is-shallow-repository']).catch(() => '')).trim() === 'true';
  const fetch = shallow ? 'fetch the history (actions/checkout with `fetch-depth: 0`, or `git fetch --unshallow`), or ' : '';
  for (const ref of DEFAULT_BRANCHES) {
    let commit: string;
    try {
      commit = (await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
    } catch {
      continue;
    }
    let base: string;
    try {
      base = (await git(root, ['merge-base', head, commit])).trim();
    } catch {
      throw new UserError(
        `No --base given, and HEAD shares no history with ${ref} in this ${shallow ? 'shallow clone (its history stops before they meet)' : 'repository'}, ` +
          `so there is no base to tell this change's migrations from history. To check: ${fetch}pass --base with the commit or branch the change is to be merged into.`,
      );
    }
    return { commit: base, ref: base === head ? 'HEAD' : `merge-base with ${ref}` };
  }
  throw new UserError(
    `No --base given, and this ${shallow ? 'shallow clone' : 'repository'} has none of ${DEFAULT_BRANCHES.join(', ')}, so there is no base ` +
      `to tell this change's migrations from history. To check: ${fetch.replace('fetch the history', 'fetch the default branch')}pass --base with the ` +
      'commit or branch the change is to be merged into (e.g. --base origin/develop).',
  );
}

const DEFAULT_BRANCHES = ['origin/HEAD', 'origin/main', 'origin/master', 'main', 'master'];

/** Blob ids of the files under `dirs` at `commit`, keyed by path relative to the root. */
export async function blobsAtCommit(root: string, commit: string, dirs: string[]): Promise<Map<string, string>> {
  return new Map((await blobsInTree(root, commit, dirs)).map((blob) => [blob.path, blob.oid]));
}

interface TreeBlob {
  mode: string;
  oid: string;
  /** In bytes. */
  size: number;
  /** Relative to the root. */
  path: string;
}

/** The blobs (files and symlinks; submodules left out) of `commit`, under `dirs` or everywhere. */
async function blobsInTree(root: string, commit: string, dirs: string[] = []): Promise<TreeBlob[]> {
  const out = await git(root, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit, ...(dirs.length > 0 ? ['--', ...dirs] : [])]);
  const blobs: TreeBlob[] = [];
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [mode, type, oid, size] = entry.slice(0, tab).split(/ +/);
    if (type === 'blob') blobs.push({ mode: mode!, oid: oid!, size: Number(size), path: entry.slice(tab + 1) });
  }
  return blobs;
}

/**
 * The files matching `pathspec` that the working tree deleted or changed since `commit`, with their blob ids at `commit`,
 * keyed by path relative to the root. One `git diff` of the commit against the working tree: it compares file stats, and
 * reads no unchanged file.
 */
export async function changedSinceCommit(root: string, commit: string, pathspec: string): Promise<Map<string, string>> {
  const out = await git(root, ['diff', '--raw', '-z', '--no-abbrev', '--no-renames', '--no-ext-diff', '--diff-filter=DMT', commit, '--', pathspec]);
  const changed = new Map<string, string>();
  const fields = out.split('\0');
  // Each entry is `:<old mode> <new mode> <old blob> <new blob> <status>` then the path.
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [, , oid] = fields[i].split(' ');
    if (fields[i].startsWith(':') && oid && !/^0+$/.test(oid)) changed.set(fields[i + 1], oid);
  }
  return changed;
}

/** The blob ids the working-tree files would have, without writing anything into the repository. */
export async function blobsOfFiles(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const out = await runWithInput(root, ['hash-object', '--stdin-paths'], paths.join('\n') + '\n');
  return out.toString('utf8').trim().split('\n');
}

/** The contents of several blobs in one `git cat-file --batch`, decoded by `decode` (UTF-8 unless told). */
export async function readBlobs(root: string, oids: string[], decode = (bytes: Buffer) => bytes.toString('utf8')): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const [oid, content] of await readBlobContents(root, oids)) texts.set(oid, decode(content));
  return texts;
}

/** The bytes of several blobs in one `git cat-file --batch`; a missing blob (a partial clone) is left out. */
async function readBlobContents(root: string, oids: string[]): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  if (oids.length === 0) return contents;
  const out = await runWithInput(root, ['cat-file', '--batch'], oids.join('\n') + '\n');
  let offset = 0;
  for (const oid of oids) {
    const headerEnd = out.indexOf(0x0a, offset);
    const header = out.subarray(offset, headerEnd).toString('utf8');
    const size = Number(header.split(' ')[2]);
    const start = headerEnd + 1;
    if (!Number.isFinite(size)) {
      offset = start; // "<oid> missing"
      continue;
    }
    contents.set(oid, out.subarray(start, start + size));
    offset = start + size + 1;
  }
  return contents;
}

function runWithInput(cwd: string, args: string[], input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout as Buffer),
    );
    child.stdin!.end(input);
  });
}

/**
 * A copy of the files of `commit` in the folder `into`, read with `git ls-tree` and one `git cat-file --batch`: the
 * repository, its index and its worktree list are left untouched, and no `export-ignore` attribute drops a file (as
 * `git archive` would). Submodules are left out, and files over `skipLargerThan` bytes but Python sources. The caller
 * removes the folder.
 */
export async function copyCommit(root: string, commit: string, into: string, skipLargerThan = Infinity): Promise<void> {
  const files = (await blobsInTree(root, commit)).filter((blob) => blob.size <= skipLargerThan || blob.path.endsWith('.py'));
  const contents = await readBlobContents(root, files.map((f) => f.oid));
  const folders = new Set<string>();
  for (const file of files) {
    const content = contents.get(file.oid);
    if (content === undefined) continue;
    const target = join(into, file.path);
    const folder = dirname(target);
    if (!folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      folders.add(folder);
    }
    if (file.mode === '120000') await symlink(content.toString('utf8'), target);
    else await writeFile(target, content, { mode: file.mode === '100755' ? 0o755 : 0o644 });
  }
}
