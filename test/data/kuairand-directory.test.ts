import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findKuaiRandDirectory, KuaiRandDirectoryError, KUAIRAND_REQUIRED_FILES } from '../../src/data/kuairand-directory.js';
import { KuaiRandFormatError } from '../../src/data/kuairand-format-error.js';
import { LOG_COLUMNS, USER_FEATURE_COLUMNS, VIDEO_BASIC_COLUMNS } from '../../src/data/kuairand-schema.js';
import { tempDir } from '../helpers/paths.js';

/** KuaiRand-Pure's file names, each with its header (the directory check reads headers only). */
const PURE: Record<string, readonly string[]> = {
  'log_standard_4_08_to_4_21_pure.csv': LOG_COLUMNS,
  'log_standard_4_22_to_5_08_pure.csv': LOG_COLUMNS,
  'log_random_4_22_to_5_08_pure.csv': LOG_COLUMNS,
  'user_features_pure.csv': USER_FEATURE_COLUMNS,
  'video_features_basic_pure.csv': VIDEO_BASIC_COLUMNS,
};

function writeDir(dir: string, files: Record<string, readonly string[]>, skip?: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, cols] of Object.entries(files)) if (name !== skip) writeFileSync(join(dir, name), cols.join(',') + '\n');
}

test('a KuaiRand-Pure directory: the files by role, sorted; also found from the folder above data/', () => {
  const root = tempDir('rliv-krdir-');
  writeDir(root, {
    ...PURE,
    'video_features_statistic_pure.csv': ['video_id'],
    'gifts_rliv.csv': ['user_id', 'author_id', 'time_ms', 'amount'],
    'notes.txt': [],
  });
  const d = findKuaiRandDirectory(root);
  assert.equal(d.dir, root);
  assert.deepEqual(d.standardLogs, [join(root, 'log_standard_4_08_to_4_21_pure.csv'), join(root, 'log_standard_4_22_to_5_08_pure.csv')]);
  assert.deepEqual(d.randomLogs, [join(root, 'log_random_4_22_to_5_08_pure.csv')]);
  assert.equal(d.userFeatures, join(root, 'user_features_pure.csv'));
  assert.equal(d.videoFeatures, join(root, 'video_features_basic_pure.csv'), 'the statistic table is not the basic one');
  assert.deepEqual(d.gifts, [join(root, 'gifts_rliv.csv')]);

  // The download unpacks to KuaiRand-Pure/data/: the folder above is accepted.
  const top = tempDir('rliv-krdir-top-');
  writeDir(join(top, 'data'), PURE);
  assert.equal(findKuaiRandDirectory(top).dir, join(top, 'data'));
});

test('an incomplete KuaiRand directory names each missing file and what the directory must contain', () => {
  for (const required of KUAIRAND_REQUIRED_FILES) {
    const dir = tempDir('rliv-krdir-missing-');
    // Without every file of the role (the standard log has two).
    writeDir(dir, Object.fromEntries(Object.entries(PURE).filter(([n]) => !required.pattern.test(n))));
    assert.throws(
      () => findKuaiRandDirectory(dir),
      (err: Error) => {
        assert.ok(err instanceof KuaiRandDirectoryError, String(err));
        assert.ok(err.message.includes(`is not a complete KuaiRand directory: missing ${required.name} (`), err.message);
        // Only that one is named missing; the message lists what is there and what must be.
        for (const other of KUAIRAND_REQUIRED_FILES) if (other !== required) assert.ok(!err.message.includes(`missing ${other.name}`), err.message);
        assert.match(err.message, /it has .*\.csv/);
        assert.match(err.message, /must contain log_standard_\*\.csv .*log_random_\*\.csv .*user_features_\*\.csv .*video_features_basic_\*\.csv/);
        return true;
      },
    );
  }
  // Two missing at once: both named.
  const dir = tempDir('rliv-krdir-two-');
  writeDir(dir, { 'user_features_pure.csv': USER_FEATURE_COLUMNS, 'video_features_basic_pure.csv': VIDEO_BASIC_COLUMNS });
  assert.throws(() => findKuaiRandDirectory(dir), /missing log_standard_\*\.csv \(the standard log, [^)]*\), log_random_\*\.csv \(the random log, /);
  // Empty, absent, a file.
  assert.throws(() => findKuaiRandDirectory(tempDir('rliv-krdir-empty-')), /missing log_standard_\*\.csv .*it has no \.csv files/);
  assert.throws(
    () => findKuaiRandDirectory(join(dir, 'nope')),
    (err: Error) => err instanceof KuaiRandDirectoryError && /nope: no such directory; a KuaiRand-Pure, -1K or -27K directory/.test(err.message),
  );
  assert.throws(() => findKuaiRandDirectory(join(dir, 'user_features_pure.csv')), /is a file, not a directory/);
});

test('an ambiguous table or a foreign header is refused, naming the files', () => {
  const dir = tempDir('rliv-krdir-ambiguous-');
  writeDir(dir, { ...PURE, 'user_features_1k.csv': USER_FEATURE_COLUMNS });
  assert.throws(
    () => findKuaiRandDirectory(dir),
    /has 2 files matching user_features_\*\.csv \(user_features_1k\.csv, user_features_pure\.csv\); it must contain exactly one/,
  );

  const bad = tempDir('rliv-krdir-header-');
  writeDir(bad, { ...PURE, 'log_random_4_22_to_5_08_pure.csv': ['user_id', 'video_id', 'day'] });
  assert.throws(
    () => findKuaiRandDirectory(bad),
    (err: Error) => {
      assert.ok(err instanceof KuaiRandFormatError, String(err));
      assert.equal(err.file, join(bad, 'log_random_4_22_to_5_08_pure.csv'));
      assert.equal(err.column, 'date');
      assert.match(err.message, /header has 'day' where 'date' is expected/);
      return true;
    },
  );
  const empty = tempDir('rliv-krdir-emptyfile-');
  writeDir(empty, PURE);
  writeFileSync(join(empty, 'video_features_basic_pure.csv'), '');
  assert.throws(() => findKuaiRandDirectory(empty), /video_features_basic_pure\.csv: line 1: empty file/);
});
