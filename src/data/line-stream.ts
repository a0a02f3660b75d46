/**
 * Streams a text file as chunks of lines in bounded memory (one read buffer
 * plus the lines of one chunk), for multi-GB KuaiRand logs. Handles `\n` and
 * `\r\n`, multi-byte UTF-8 split across reads, and a last line without a
 * trailing newline. Embedded newlines inside quoted CSV fields are not
 * supported (KuaiRand has none); the CSV splitter reports the unterminated
 * quote instead.
 */
import { createReadStream } from 'node:fs';

export interface LineChunk {
  /** The lines, without their line terminators. */
  lines: string[];
  /** 1-based file line number of lines[0]. */
  firstLine: number;
  /** True when the file ended without a newline after the last line of this chunk. */
  lastLineUnterminated: boolean;
}

export interface LineStreamOptions {
  /** Read buffer size in bytes. Default 1 MiB. */
  highWaterMark?: number;
}

/** Async iterable of line chunks (one per read buffer); memory stays O(buffer size). */
export async function* readLineChunks(path: string, options: LineStreamOptions = {}): AsyncGenerator<LineChunk> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: options.highWaterMark ?? 1 << 20 });
  let carry = '';
  let lineNo = 1;
  try {
    for await (const piece of stream as AsyncIterable<string>) {
      const text = carry.length ? carry + piece : piece;
      const lines = text.split('\n');
      carry = lines.pop()!;
      if (lines.length === 0) continue;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.length && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      }
      yield { lines, firstLine: lineNo, lastLineUnterminated: false };
      lineNo += lines.length;
    }
  } finally {
    stream.destroy();
  }
  if (carry.length) {
    const l = carry.charCodeAt(carry.length - 1) === 13 ? carry.slice(0, -1) : carry;
    yield { lines: [l], firstLine: lineNo, lastLineUnterminated: true };
  }
}

/**
 * Splits one CSV line into `out` (RFC 4180 quoting: "a,b" and "" escapes).
 * Returns the number of fields, or -1 when a quote is not terminated.
 */
export function splitCsvLine(line: string, out: string[]): number {
  let n = 0;
  let i = 0;
  const len = line.length;
  if (line.indexOf('"') < 0) {
    // Fast path: no quoting on this line.
    let start = 0;
    for (;;) {
      const c = line.indexOf(',', start);
      if (c < 0) {
        out[n++] = line.slice(start);
        return n;
      }
      out[n++] = line.slice(start, c);
      start = c + 1;
    }
  }
  for (;;) {
    if (i < len && line.charCodeAt(i) === 34) {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return -1;
        value += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out[n++] = value;
      if (i >= len) return n;
      if (line.charCodeAt(i) !== 44) return -1;
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out[n++] = line.slice(i);
        return n;
      }
      out[n++] = line.slice(i, c);
      i = c + 1;
    }
  }
}
