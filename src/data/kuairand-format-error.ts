/**
 * The error every KuaiRand loader throws for a malformed or truncated file.
 * It names the file, the 1-based line (the header is line 1) and, when the
 * problem is one field, the column (name and 1-based position).
 */
import { basename } from 'node:path';

export class KuaiRandFormatError extends Error {
  readonly file: string;
  readonly line: number;
  /** Column name, or undefined when the problem is the whole line. */
  readonly column: string | undefined;

  constructor(file: string, line: number, column: string | undefined, columnIndex: number | undefined, problem: string) {
    const where = column === undefined ? `line ${line}` : `line ${line}, column ${columnIndex !== undefined ? columnIndex + 1 : '?'} '${column}'`;
    super(`${basename(file)}: ${where}: ${problem} (file ${file})`);
    this.name = 'KuaiRandFormatError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}
