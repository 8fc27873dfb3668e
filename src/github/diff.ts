// Which lines of the pull request a review comment may point at: the new side of each hunk of the PR's files.

/** One entry of GET /repos/{owner}/{repo}/pulls/{n}/files. */
export interface PullRequestFile {
  filename: string;
  status: string;
  /** The unified diff's hunks; GitHub leaves it out for binary files and very large diffs. */
  patch?: string;
}

/** Lines a comment can go on, per file: a set of 1-based line numbers, or every line of a file added whole. */
export type CommentableLines = Map<string, Set<number> | 'all'>;

/** Line numbers on the new side (RIGHT) of a patch: added lines and the context lines around them. */
export function rightSideLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let next = 0;
  let inHunk = false;
  for (const line of patch.split('\n')) {
    const header = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (header) {
      next = Number(header[1]);
      inHunk = true;
      continue;
    }
    if (!inHunk) continue;
    if (line.startsWith('+') || line.startsWith(' ')) lines.add(next++);
    // `-` lines are on the old side only; `\ No newline at end of file` is on neither.
  }
  return lines;
}

export function commentableLines(files: readonly PullRequestFile[]): CommentableLines {
  const map: CommentableLines = new Map();
  for (const file of files) {
    if (file.patch !== undefined) map.set(file.filename, rightSideLines(file.patch));
    // A file added by the PR is in the diff whole, even when GitHub does not send its (too large) patch.
    else if (file.status === 'added') map.set(file.filename, 'all');
  }
  return map;
}

export function isCommentable(lines: CommentableLines, file: string, line: number): boolean {
  const onFile = lines.get(file);
  return onFile === 'all' || (onFile !== undefined && onFile.has(line));
}
