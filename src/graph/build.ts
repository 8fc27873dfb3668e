// Builds the MigrationGraph from what Alembic loaded and from git: which revisions are new, which history files changed.
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { blobsAtCommit, blobsOfFiles, readBlobs } from '../git/repository.js';
import type { LoadResult, ScannedFile } from '../python/protocol.js';
import type { MigrationGraph, Revision } from './graph.js';

export interface BaseCommit {
  /** Repository root. */
  root: string;
  commit: string;
  /** How the user named it, for the report. */
  label: string;
}

/** Reads revision ids out of migration sources without running them (the helper parses them with `ast`). */
export type SourceScanner = (files: { path: string; text: string }[]) => Promise<ScannedFile[]>;

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
  }));
  const byId = new Map(revisions.map((r) => [r.id, r]));

  if (base) {
    const dirs = loaded.versionLocations.map((dir) => toPosix(relative(base.root, dir)) || '.');
    const atBase = await blobsAtCommit(base.root, base.commit, dirs);
    const headBlobs = await blobsOfFiles(
      base.root,
      revisions.map((r) => r.file),
    );
    const unchanged = new Set<string>();
    revisions.forEach((revision, index) => {
      if (atBase.get(revision.file) === headBlobs[index]) {
        revision.isNew = false;
        unchanged.add(revision.file);
      }
    });
    // Files that are not byte-identical at the same path: read them at base to learn their revision ids.
    const others = [...atBase].filter(([path]) => path.endsWith('.py') && !unchanged.has(path));
    const texts = await readBlobs(
      base.root,
      others.map(([, oid]) => oid),
    );
    const scanned = await scan(others.map(([path, oid]) => ({ path, text: texts.get(oid) ?? '' })));
    const baseContent = new Map<string, string>();
    scanned.forEach((file, index) => {
      if (file.revision) baseContent.set(file.revision, texts.get(others[index][1]) ?? '');
    });
    for (const [id, before] of baseContent) {
      const revision = byId.get(id);
      if (!revision || !revision.isNew) continue;
      revision.isNew = false;
      const now = readFileSync(revision.absolutePath, 'utf8');
      if (now !== before) {
        revision.edited = true;
        revision.firstEditedLine = firstDifferentLine(before, now);
      }
    }
  }

  const history = revisions.filter((r) => !r.isNew);
  const historyParents = new Set(history.flatMap((r) => r.parents));
  const historyHeads = history.filter((r) => !historyParents.has(r.id)).map((r) => r.id);

  return {
    revisions,
    byId,
    heads: loaded.heads,
    historyHeads,
    base: base ? base.label : 'no git base: every migration is treated as new',
  };
}

/** 1-based line of the working-tree text where it first differs from the base text. */
export function firstDifferentLine(before: string, now: string): number {
  const a = before.split('\n');
  const b = now.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.min(i, Math.max(b.length - 1, 0)) + 1;
}
