/**
 * A KuaiRand release directory (KuaiRand-Pure, -1K or -27K: the `data/`
 * folder of the download, or the folder above it) as `rliv experiment
 * --logs DIR` reads it:
 *
 *   log_standard_*.csv        one or more: the production policy's exposures
 *   log_random_*.csv          one or more: exposures of uniformly random items
 *   user_features_*.csv       exactly one: the users
 *   video_features_basic_*.csv exactly one: the videos, their authors and tags
 *   gifts_*.csv               optional (rliv's own gift log; KuaiRand has none)
 *
 * {@link findKuaiRandDirectory} checks all of it before any work: every
 * required file is there (the error names each missing one and says what the
 * directory must contain), no table is ambiguous, and every file's header is
 * KuaiRand's (a KuaiRandFormatError naming the file and column). Rows are
 * validated later, as the streaming readers reach them.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkHeader } from './kuairand-reader.js';
import { LOG_COLUMNS, USER_FEATURE_COLUMNS, VIDEO_BASIC_COLUMNS } from './kuairand-schema.js';

/** The files of a KuaiRand directory (absolute paths, sorted by name). */
export interface KuaiRandDirectory {
  /** The folder the files are in (DIR, or DIR/data). */
  dir: string;
  standardLogs: string[];
  randomLogs: string[];
  userFeatures: string;
  videoFeatures: string;
  gifts: string[];
}

/** A directory that is missing, incomplete or ambiguous; the message says what it must contain. */
export class KuaiRandDirectoryError extends Error {
  override name = 'KuaiRandDirectoryError';
}

/** The required files, as patterns and as the words of the error message. */
export const KUAIRAND_REQUIRED_FILES = [
  { pattern: /^log_standard_.*\.csv$/, name: 'log_standard_*.csv', what: "the standard log, the production policy's exposures", many: true },
  { pattern: /^log_random_.*\.csv$/, name: 'log_random_*.csv', what: 'the random log, exposures of uniformly random items', many: true },
  { pattern: /^user_features_.*\.csv$/, name: 'user_features_*.csv', what: 'the user feature table', many: false },
  { pattern: /^video_features_basic_.*\.csv$/, name: 'video_features_basic_*.csv', what: 'the basic video feature table', many: false },
] as const;

const GIFTS = /^gifts_.*\.csv$/;

/** What a KuaiRand directory must contain, as one sentence for error messages and help. */
export const KUAIRAND_DIRECTORY_CONTENTS =
  'a KuaiRand-Pure, -1K or -27K directory (the data/ folder of the download, or the folder above it) must contain ' +
  KUAIRAND_REQUIRED_FILES.map((f) => `${f.name} (${f.many ? 'one or more' : 'exactly one'}: ${f.what})`).join(', ');

function csvNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.csv') && statSync(join(dir, n)).isFile())
    .sort();
}

/** The first line of a file (up to 1 MiB), without its line end; undefined for an empty file. */
function firstLine(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    let text = '';
    for (let pos = 0; pos < 1 << 20;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      text += buf.toString('latin1', 0, n);
      pos += n;
      const nl = text.indexOf('\n');
      if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    }
    return text.length > 0 ? text.replace(/\r$/, '') : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Finds and checks the files of a KuaiRand directory (see the file comment).
 * Throws {@link KuaiRandDirectoryError} for a missing, incomplete or
 * ambiguous directory and KuaiRandFormatError for a file whose header is not
 * KuaiRand's. Reads only each file's first line.
 */
export function findKuaiRandDirectory(path: string): KuaiRandDirectory {
  const root = resolve(path);
  if (!existsSync(root)) throw new KuaiRandDirectoryError(`--logs ${path}: no such directory; ${KUAIRAND_DIRECTORY_CONTENTS}`);
  if (!statSync(root).isDirectory()) throw new KuaiRandDirectoryError(`--logs ${path} is a file, not a directory; ${KUAIRAND_DIRECTORY_CONTENTS}`);
  const matches = (names: string[]) => KUAIRAND_REQUIRED_FILES.filter((f) => names.some((n) => f.pattern.test(n))).length;
  let dir = root;
  let names = csvNames(root);
  // The download unpacks to KuaiRand-Pure/data/...: accept the folder above data/.
  const data = join(root, 'data');
  if (matches(names) === 0 && existsSync(data) && statSync(data).isDirectory()) {
    dir = data;
    names = csvNames(data);
  }
  const missing = KUAIRAND_REQUIRED_FILES.filter((f) => !names.some((n) => f.pattern.test(n)));
  if (missing.length > 0) {
    const found = names.length ? `it has ${names.join(', ')}` : 'it has no .csv files';
    throw new KuaiRandDirectoryError(
      `--logs ${path} is not a complete KuaiRand directory: missing ${missing.map((f) => `${f.name} (${f.what})`).join(', ')}; ${found}; ${KUAIRAND_DIRECTORY_CONTENTS}`,
    );
  }
  const pick = (i: number): string[] => names.filter((n) => KUAIRAND_REQUIRED_FILES[i]!.pattern.test(n)).map((n) => join(dir, n));
  const [standardLogs, randomLogs, users, videos] = [pick(0), pick(1), pick(2), pick(3)];
  for (const [files, i] of [
    [users, 2],
    [videos, 3],
  ] as const) {
    if (files.length > 1) {
      const f = KUAIRAND_REQUIRED_FILES[i];
      throw new KuaiRandDirectoryError(
        `--logs ${path} has ${files.length} files matching ${f.name} (${files.map((p) => p.slice(dir.length + 1)).join(', ')}); it must contain exactly one (${f.what}): keep one release's tables per directory`,
      );
    }
  }
  for (const p of [...standardLogs, ...randomLogs]) checkHeader(p, firstLine(p), LOG_COLUMNS);
  checkHeader(users[0]!, firstLine(users[0]!), USER_FEATURE_COLUMNS);
  checkHeader(videos[0]!, firstLine(videos[0]!), VIDEO_BASIC_COLUMNS);
  return {
    dir,
    standardLogs,
    randomLogs,
    userFeatures: users[0]!,
    videoFeatures: videos[0]!,
    gifts: names.filter((n) => GIFTS.test(n)).map((n) => join(dir, n)),
  };
}
