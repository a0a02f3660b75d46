/** Paths tests share. Tests run from the repository root (npm test) or anywhere with RLIV_DATA_DIR set. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The real KuaiRand-Pure feature tables (never copied into the repository). */
export const KUAIRAND_PURE_DIR = process.env.RLIV_DATA_DIR ?? resolve(process.cwd(), '../shared/data/kuairand-pure');
export const USER_FEATURES_PURE = join(KUAIRAND_PURE_DIR, 'user_features_pure.csv');
export const VIDEO_FEATURES_PURE = join(KUAIRAND_PURE_DIR, 'video_features_basic_pure.csv');
export const HAS_KUAIRAND_PURE = existsSync(USER_FEATURES_PURE) && existsSync(VIDEO_FEATURES_PURE);

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'rliv-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
