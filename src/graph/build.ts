// Builds the MigrationGraph from what Alembic loaded and from git: which revisions are new, which history files changed, which are gone.
import { existsSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { blobsAtCommit, blobsOfFiles, changedSinceCommit, readBlobs } from '../git/repository.js';
import { decodePythonSource, readPythonSource } from '../python/source-text.js';
import type { LoadResult, ScannedFile, ScanRequestFile } from '../python/protocol.js';
import type { MigrationGraph, RemovedRevision, Revision } from './graph.js';

export interface BaseCommit {
  /** Repository root. */
  root: string;
  commit: string;
  /** How the user named it, for the report. */
  label: string;
}

/**
 * Reads migration sources without running them (the helper parses them with `ast`): revision ids, and on request what
 * a file's code changed since its base text, and its imports of the project's own modules.
 */
export type SourceScanner = (files: ScanRequestFile[]) => Promise<ScannedFile[]>;

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

export async function buildMigrationGraph(
  loaded: LoadResult,
  repositoryRoot: string,
  base: BaseCommit | null,
  scan: SourceScanner,
): Promise<MigrationGraph> {
  const revisions: Revision[] = loaded.revisions.map((r) => ({
    id: r.revision,
    parents: r.downRevisions,
    dependsOn: r.dependsOn,
    branchLabels: r.branchLabels,
    file: toPosix(relative(repositoryRoot, r.path)),
    absolutePath: r.path,
    message: r.message,
    revisionLine: r.revisionLine,
    downRevisionLine: r.downRevisionLine,
    upgradeLine: r.upgradeLine,
    downgradeLine: r.downgradeLine,
    upgradeIsEmpty: r.upgradeIsEmpty,
    ops: r.ops,
    directives: r.directives,
    isNew: true,
    edited: false,
    firstEditedLine: null,
    editChanges: null,
    appImports: [],
  }));
  const byId = new Map(revisions.map((r) => [r.id, r]));
  const versionDirs = loaded.versionLocations.map((dir) => toPosix(relative(repositoryRoot, dir)) || '.');
  const removed = base ? await compareWithBase(revisions, versionDirs, base, scan) : [];
  await findAppImports(revisions.filter((r) => r.isNew), repositoryRoot, scan);

  const history = revisions.filter((r) => !r.isNew);
  const historyParents = new Set(history.flatMap((r) => r.parents));
  const historyHeads = history.filter((r) => !historyParents.has(r.id)).map((r) => r.id);

  return {
    revisions,
    byId,
    heads: loaded.heads,
    historyHeads,
    removed,
    base: base ? base.label : 'no git base: every migration is treated as new',
    baseCommit: base?.commit ?? null,
  };
}

/** A revision as the base commit has it. */
interface BaseRevision {
  id: string;
  parents: string[];
  /** At base, relative to the repository root. */
  path: string;
  line: number | null;
  /** Null when it is byte-identical to the working-tree file of the same id. */
  text: string | null;
}

/**
 * Marks the revisions that exist at base (by revision id, wherever their files were) as history, and the changed ones as
 * edited; returns the revisions of this project that base has and the working tree does not.
 *
 * The base files looked at: every .py file of the current version locations, and every .py file anywhere that the pull
 * request deleted or changed (a moved folder, a changed id, a deleted revision), found by one `git diff` against the
 * working tree (file stats, not contents: a `git grep` of the base tree costs ten times more on a large repository). A
 * base file unchanged at its path can only be the original of a copied migration: the listing of the whole base tree
 * finds those by their bytes. Cheap first: a base file with the bytes of a working-tree migration is that revision,
 * unchanged, without being read. Of the rest, only the version locations' files and those that name a revision id of
 * this project (transitively) are scanned: the other projects of a monorepo are not.
 */
async function compareWithBase(revisions: Revision[], versionDirs: string[], base: BaseCommit, scan: SourceScanner): Promise<RemovedRevision[]> {
  const { root, commit } = base;
  // Listed beside the rest (a listing reads no file), awaited only when a migration is not found otherwise.
  const wholeTree = blobsAtCommit(root, commit, []);
  wholeTree.catch(() => {}); // a failure surfaces where it is awaited; unawaited, the listing was not needed
  const [inLocations, changed, headBlobs] = await Promise.all([
    blobsAtCommit(root, commit, versionDirs),
    changedSinceCommit(root, commit, '*.py'),
    blobsOfFiles(
      root,
      revisions.map((r) => r.file),
    ),
  ]);
  const revisionOfBlob = new Map(revisions.map((revision, index) => [headBlobs[index], revision]));
  const baseFiles = new Map([...[...inLocations].filter(([path]) => path.endsWith('.py')), ...changed]);

  const atBase: BaseRevision[] = [];
  const unread: [string, string][] = [];
  for (const [path, oid] of baseFiles) {
    const same = revisionOfBlob.get(oid);
    // The same bytes as a working-tree migration: the same revision, unchanged (at the same path, or moved).
    if (same) atBase.push({ id: same.id, parents: same.parents, path, line: same.revisionLine, text: null });
    else unread.push([path, oid]);
  }

  // Read what is left; scan the version locations' files, then whatever names an id already known, until nothing new is named.
  const texts = await readBlobs(
    root,
    unread.map(([, oid]) => oid),
    decodePythonSource,
  );
  const known = new Set(revisions.flatMap((r) => [r.id, ...r.parents]));
  let pending = unread.map(([path, oid]) => ({ path, text: texts.get(oid) ?? '', inLocations: inLocations.has(path) }));
  let next = pending.filter((file) => file.inLocations || namesAny(file.text, known));
  while (next.length > 0) {
    const scanning = new Set(next);
    pending = pending.filter((file) => !scanning.has(file));
    const scanned = await scan(next.map(({ path, text }) => ({ path, text })));
    scanned.forEach((result, index) => {
      if (typeof result.revision !== 'string') return;
      const parents = parentsOf(result.downRevision);
      atBase.push({ id: result.revision, parents, path: next[index].path, line: result.revisionLine ?? null, text: next[index].text });
      [result.revision, ...parents].forEach((id) => known.add(id));
    });
    next = pending.filter((file) => namesAny(file.text, known));
  }

  // A migration still unaccounted for may be a copy of a file that is unchanged elsewhere in the base tree (a folder copied
  // rather than moved): look its bytes up in the listing of the whole tree, which reads no file.
  const found = new Set(atBase.map((r) => r.id));
  const unaccounted = new Map(revisions.flatMap((revision, index) => (found.has(revision.id) ? [] : [[headBlobs[index], revision] as const])));
  if (unaccounted.size > 0) {
    for (const [path, oid] of await wholeTree) {
      const same = unaccounted.get(oid);
      if (same) atBase.push({ id: same.id, parents: same.parents, path, line: same.revisionLine, text: null });
    }
  }

  // History by revision id: its file at base is the one at the same path, else one with the same bytes, else one in the
  // version locations. Changed code is an edited migration.
  const baseFileOf = new Map<string, BaseRevision>();
  const changedText: { revision: Revision; before: string; now: string }[] = [];
  for (const revision of revisions) {
    const candidates = atBase.filter((r) => r.id === revision.id);
    const before =
      candidates.find((r) => r.path === revision.file) ??
      candidates.find((r) => r.text === null) ??
      candidates.find((r) => inLocations.has(r.path)) ??
      candidates[0];
    if (!before) continue;
    revision.isNew = false;
    baseFileOf.set(revision.id, before);
    if (before.text === null) continue;
    const now = readPythonSource(revision.absolutePath);
    if (now !== before.text) changedText.push({ revision, before: before.text, now });
  }
  await markEdited(changedText, scan);

  // Which base revisions are this project's. Revision ids are global names, so a file connected to this project's
  // revisions (by down_revision, either way) counts only in the version locations, in a folder the project's surviving
  // history was in at base, or, deleted, in a folder with no copy of its revisions: another project of the repository
  // started from the same template (same ids) is not this one's history.
  const connected = connectedTo(atBase, revisions.map((r) => r.id));
  const inVersionDirs = (path: string) => versionDirs.some((dir) => dir === '.' || path.startsWith(`${dir}/`));
  const projectDirs = new Set([...versionDirs, ...[...baseFileOf.values()].map((r) => posix.dirname(r.path))]);
  const deleted = (path: string) => !existsSync(join(root, path));
  const outside = atBase.filter(
    (r) => r.text !== null && connected.has(r.id) && !inVersionDirs(r.path) && !projectDirs.has(posix.dirname(r.path)) && deleted(r.path),
  );
  const foreignDirs = new Set<string>();
  const outsideDirs = [...new Set(outside.map((r) => posix.dirname(r.path)))];
  if (outsideDirs.length > 0) {
    const ourBlobs = new Set(headBlobs);
    for (const [path, oid] of await blobsAtCommit(root, commit, outsideDirs)) {
      if (ourBlobs.has(oid)) foreignDirs.add(outsideDirs.find((dir) => path.startsWith(`${dir}/`)) ?? posix.dirname(path));
    }
  }
  const ours = atBase.filter((r) => {
    const dir = posix.dirname(r.path);
    if (inVersionDirs(r.path)) return true;
    return connected.has(r.id) && (projectDirs.has(dir) || (deleted(r.path) && !foreignDirs.has(dir)));
  });
  return removedRevisions(ours, revisions, inVersionDirs);
}

/**
 * Of the history files whose text differs from base, the ones whose code does something else: the helper compares the
 * two versions with docstrings, comments, formatting and type annotations left out, and says what changed. When either
 * version does not compile, the texts are compared.
 */
async function markEdited(changed: { revision: Revision; before: string; now: string }[], scan: SourceScanner): Promise<void> {
  if (changed.length === 0) return;
  const scanned = await scan(changed.map(({ revision, before, now }) => ({ path: revision.absolutePath, text: now, base: before })));
  changed.forEach(({ revision, before, now }, index) => {
    const edit = scanned[index]?.edit;
    if (edit?.same) return;
    revision.edited = true;
    revision.firstEditedLine = edit?.line ?? firstDifferentLine(before, now);
    revision.editChanges = edit ? edit.changes : null;
  });
}

/** The new revisions' imports of the project's own modules (read with `ast`, resolved without importing them). */
async function findAppImports(revisions: Revision[], repositoryRoot: string, scan: SourceScanner): Promise<void> {
  if (revisions.length === 0) return;
  const scanned = await scan(
    revisions.map((revision) => ({ path: revision.absolutePath, text: readPythonSource(revision.absolutePath), appImportsWithin: repositoryRoot })),
  );
  revisions.forEach((revision, index) => {
    revision.appImports = scanned[index]?.appImports ?? [];
  });
}

/** The ids linked to `ids` through the base revisions' down_revisions, either way (them included). */
function connectedTo(atBase: BaseRevision[], ids: string[]): Set<string> {
  const neighbours = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!neighbours.has(a)) neighbours.set(a, new Set());
    neighbours.get(a)!.add(b);
  };
  for (const revision of atBase) {
    for (const parent of revision.parents) {
      link(revision.id, parent);
      link(parent, revision.id);
    }
  }
  const connected = new Set<string>();
  const stack = [...ids];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (connected.has(id)) continue;
    connected.add(id);
    stack.push(...(neighbours.get(id) ?? []));
  }
  return connected;
}

/** This project's base revisions (`ourBase`) that are gone, with their children at base and their new id when renamed. */
function removedRevisions(ourBase: BaseRevision[], revisions: Revision[], inVersionDirs: (path: string) => boolean): RemovedRevision[] {
  const present = new Map(revisions.map((r) => [r.id, r]));
  // One file per removed id: the one in the version locations when a copy exists elsewhere too.
  const gone = new Map<string, BaseRevision>();
  for (const revision of ourBase) {
    if (present.has(revision.id) || revision.text === null) continue;
    const seen = gone.get(revision.id);
    if (!seen || (!inVersionDirs(seen.path) && inVersionDirs(revision.path))) gone.set(revision.id, revision);
  }
  const children = (id: string) => {
    const found = new Map<string, string[]>();
    for (const revision of ourBase) if (revision.parents.includes(id)) found.set(revision.id, revision.parents);
    return [...found].map(([child, parents]) => ({ id: child, parents })).sort((a, b) => a.id.localeCompare(b.id));
  };

  // Renamed: a new revision with the same down_revision(s) (themselves renamed, when they were) and the same functions.
  // Base order is parents first, so a parent's new id is known before its child's.
  const renamed = new Map<string, string>();
  const bodies = new Map<Revision, string>();
  const bodyOf = (revision: Revision) => {
    if (!bodies.has(revision)) bodies.set(revision, migrationBody(readPythonSource(revision.absolutePath)));
    return bodies.get(revision)!;
  };
  const newRevisions = [...present.values()].filter((r) => r.isNew);
  const removed = sortParentsFirst([...gone.values()]).map((revision): RemovedRevision => {
    const parents = revision.parents.map((parent) => renamed.get(parent) ?? parent).sort();
    const body = migrationBody(revision.text!);
    const twin = newRevisions.find(
      (candidate) =>
        sameMembers([...candidate.parents].sort(), parents) && bodyOf(candidate) === body,
    );
    if (twin) renamed.set(revision.id, twin.id);
    return {
      id: revision.id,
      file: revision.path,
      line: revision.line,
      parents: revision.parents,
      message: docstringTitle(revision.text!),
      children: children(revision.id),
      renamedTo: twin?.id ?? null,
    };
  });
  return removed.sort((a, b) => a.file.localeCompare(b.file));
}

function parentsOf(downRevision: string | string[] | null | undefined): string[] {
  if (typeof downRevision === 'string') return [downRevision];
  return Array.isArray(downRevision) ? downRevision.filter((d): d is string => typeof d === 'string') : [];
}

/** True when one of the file's words is one of `ids`. */
function namesAny(text: string, ids: Set<string>): boolean {
  for (const [word] of text.matchAll(/[\w.-]+/g)) if (ids.has(word)) return true;
  return false;
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/** Parents before children, among `revisions`; the rest in path order. */
function sortParentsFirst(revisions: BaseRevision[]): BaseRevision[] {
  const ids = new Set(revisions.map((r) => r.id));
  const done = new Set<string>();
  const out: BaseRevision[] = [];
  const visit = (revision: BaseRevision, path: Set<string>) => {
    if (done.has(revision.id) || path.has(revision.id)) return;
    path.add(revision.id);
    for (const parent of revision.parents) {
      const found = ids.has(parent) ? revisions.find((r) => r.id === parent) : undefined;
      if (found) visit(found, path);
    }
    done.add(revision.id);
    out.push(revision);
  };
  for (const revision of [...revisions].sort((a, b) => a.path.localeCompare(b.path))) visit(revision, new Set());
  return out;
}

/** The upgrade and downgrade functions (from the first `def upgrade` on), trailing spaces ignored. */
function migrationBody(text: string): string {
  const start = text.search(/^(async\s+)?def upgrade\b/m);
  if (start < 0) return text;
  return text
    .slice(start)
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/** The first line of the module docstring (what `alembic history` shows as the message). */
function docstringTitle(text: string): string {
  const match = /^(?:\s*#.*\n)*\s*[rRuU]?("""|''')([\s\S]*?)\1/.exec(text);
  return match?.[2].split('\n').find((line) => line.trim())?.trim() ?? '';
}

/** 1-based line of the working-tree text where it first differs from the base text. */
export function firstDifferentLine(before: string, now: string): number {
  const a = before.split('\n');
  const b = now.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.min(i, Math.max(b.length - 1, 0)) + 1;
}
