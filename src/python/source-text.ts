// Python source text as Python reads it (PEP 263): a UTF-8 BOM, else a coding line on the first or second line, else
// UTF-8. The working tree's files and the base commit's blobs are decoded alike, so that an unchanged latin-1
// migration compares equal to itself.
import { readFileSync } from 'node:fs';

const CODING = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const BLANK_OR_COMMENT = /^[ \t\f]*(#.*)?\r?$/;

export function decodePythonSource(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  const [first = '', second = ''] = bytes.subarray(0, 512).toString('latin1').split('\n', 2);
  const declared = CODING.exec(first)?.[1] ?? (BLANK_OR_COMMENT.test(first) ? CODING.exec(second)?.[1] : undefined);
  if (declared) {
    try {
      return new TextDecoder(declared.toLowerCase().replace(/_/g, '-')).decode(bytes);
    } catch {
      // A label the platform does not know: read as UTF-8, as before (Python itself reports what it cannot decode).
    }
  }
  return bytes.toString('utf8');
}

export function readPythonSource(path: string): string {
  return decodePythonSource(readFileSync(path));
}
