// Makes text that comes from the project (messages, file names, identifiers, suggestions) safe to put in markdown, HTML or a terminal.

/** Collapses line breaks to spaces: table cells, list items and HTML attributes must stay on one line. */
export function oneLine(text: string): string {
  return text.replace(/[ \t]*(?:\r\n|\r|\n)+[ \t]*/g, ' ');
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** For text inside raw HTML (`<summary>`, `<code>`): markdown is not parsed there, so only entities matter. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

/**
 * Keeps GitHub from notifying people or teams: `@octocat` becomes `@\u200Doctocat` (a zero-width joiner after
 * the `@`), which reads the same and links to no one.
 */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, '@\u200D');
}

/**
 * Plain text to markdown that renders as the same text: no HTML, no links, no emphasis, no math, no table
 * cell breaks (`|` is escaped, so it is safe in a table cell), no mentions. Line breaks become spaces.
 */
export function escapeMarkdownText(text: string): string {
  const escaped = oneLine(text).replace(/[\\`*_[\]|~$<>&]/g, (c) => {
    if (c === '&' || c === '<' || c === '>') return HTML_ENTITIES[c];
    return `\\${c}`;
  });
  return neutraliseMentions(escaped);
}

function longestRun(text: string, char: '`' | '~'): number {
  let longest = 0;
  for (const match of text.matchAll(char === '`' ? /`+/g : /~+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}

/**
 * A code span showing `text` literally: the delimiter is longer than any backtick run inside, so a backtick in
 * the text cannot end it. In a table cell `|` must be escaped even inside code (GitHub splits cells first and
 * turns `\|` back into `|`); outside a table that backslash would be shown, hence the option.
 */
export function inlineCode(text: string, options: { inTable?: boolean } = {}): string {
  let content = oneLine(text);
  if (options.inTable) content = content.replace(/\|/g, '\\|');
  if (content === '') return '` `';
  const delimiter = '`'.repeat(longestRun(content, '`') + 1);
  // CommonMark strips one space from each side when both are present, and needs a space next to a backtick.
  const pad = content.startsWith('`') || content.endsWith('`') || /^ .*[^ ].* $/.test(content) ? ' ' : '';
  return `${delimiter}${pad}${content}${pad}${delimiter}`;
}

/**
 * One-sentence messages from the rules quote identifiers in backticks (`posts.status`). Those pairs become code
 * spans; everything else is escaped as plain text. Each piece is escaped on its own, so a stray or hostile
 * backtick only changes how the message looks, never what markdown it produces.
 */
export function messageMarkdown(message: string, options: { inTable?: boolean } = {}): string {
  const text = oneLine(message);
  let out = '';
  let last = 0;
  for (const match of text.matchAll(/`([^`]+)`/g)) {
    out += escapeMarkdownText(text.slice(last, match.index));
    out += inlineCode(match[1], options);
    last = match.index + match[0].length;
  }
  return out + escapeMarkdownText(text.slice(last));
}

/** A fenced code block that its content cannot close: the fence is longer than any backtick run inside. */
export function fencedCodeBlock(code: string, language = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
  const info = language.replace(/[^\w+#.-]/g, '');
  return `${fence}${info}\n${code.replace(/\n+$/, '')}\n${fence}`;
}

export type MarkdownSegment =
  | { kind: 'prose'; text: string }
  | { kind: 'code'; language: string; code: string };

/**
 * Splits markdown into prose and fenced code blocks (``` or ~~~, as CommonMark reads them at the top level).
 * A fence left open runs to the end, as it would on GitHub.
 */
export function splitFencedCode(markdown: string): MarkdownSegment[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const segments: MarkdownSegment[] = [];
  let prose: string[] = [];
  const flushProse = () => {
    if (prose.length > 0) segments.push({ kind: 'prose', text: prose.join('\n') });
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    // A backtick fence's info string cannot contain a backtick (that line is a code span instead).
    if (!open || (open[2][0] === '`' && open[3].includes('`'))) {
      prose.push(lines[i]);
      continue;
    }
    flushProse();
    const [, indent, fence, info] = open;
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    const code: string[] = [];
    for (i++; i < lines.length && !close.test(lines[i]); i++) {
      // CommonMark removes the opening fence's indentation from the content lines.
      code.push(lines[i].replace(new RegExp(`^ {0,${indent.length}}`), ''));
    }
    segments.push({ kind: 'code', language: info.trim().split(/\s+/)[0] ?? '', code: code.join('\n') });
  }
  flushProse();
  return segments;
}

/**
 * Markdown from the rules (prose with project identifiers, and fenced Python/SQL) made safe to embed in a
 * comment: code blocks are kept byte for byte but re-fenced at the top level with a fence their content
 * cannot close; in the prose, `<`, `>` and `&` become entities (no HTML, so no closing our `<details>`) and
 * mentions are neutralised. Markdown formatting in the prose (emphasis, code spans, lists) is kept.
 */
export function sanitizeMarkdown(markdown: string): string {
  return splitFencedCode(markdown)
    .map((segment) =>
      segment.kind === 'code'
        ? fencedCodeBlock(segment.code, segment.language)
        : neutraliseMentions(segment.text.replace(/[&<>]/g, (c) => HTML_ENTITIES[c])),
    )
    .join('\n');
}

/**
 * For the terminal: control characters (ESC and the rest of C0/C1 except tab and newline) and bidirectional
 * overrides could recolour, move the cursor or reorder what the reader sees; they become U+FFFD.
 */
export function stripControlCharacters(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\uFFFD');
}
