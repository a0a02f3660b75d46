import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_KUAIRAND_PURE, USER_FEATURES_PURE, VIDEO_FEATURES_PURE, tempDir } from '../helpers/paths.js';
import {
  loadUserFeatures,
  loadVideoFeatures,
  loadVideoStatistics,
  readKuaiRandLog,
  readGiftLog,
  parseDecimal,
  type LogBatch,
} from '../../src/data/kuairand-reader.js';
import { KuaiRandFormatError } from '../../src/data/kuairand-format-error.js';
import { KuaiRandLogWriter, GiftLogWriter, emptyLogRow, kuaiRandDate, kuaiRandHourMin } from '../../src/data/kuairand-log-writer.js';
import { LOG_COLUMNS, USER_CATEGORICAL_COLUMNS } from '../../src/data/kuairand-schema.js';
import { splitCsvLine } from '../../src/data/line-stream.js';

const HEADER = LOG_COLUMNS.join(',');

async function readAll(path: string, batchSize?: number): Promise<LogBatch[]> {
  const out: LogBatch[] = [];
  for await (const b of readKuaiRandLog(path, { batchSize })) out.push(b);
  return out;
}

/** Asserts that `promise` rejects with a KuaiRandFormatError whose message is exactly `message`. */
async function rejectsWith(promise: Promise<unknown>, message: string, line: number, column?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KuaiRandFormatError, `expected KuaiRandFormatError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.equal(err.line, line);
    assert.equal(err.column, column);
    return true;
  });
}

test('real user table: 27,285 users, 31 columns, sentinels are missing', { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' }, async () => {
  const users = await loadUserFeatures(USER_FEATURES_PURE);
  assert.equal(users.count, 27285);
  assert.equal(users.userId[0], 0);
  assert.equal(users.userId[27284], 27284);
  assert.deepEqual(
    users.categorical.map((c) => c.name),
    USER_CATEGORICAL_COLUMNS,
  );
  const live = users.categorical.find((c) => c.name === 'is_live_streamer')!;
  // -124 is the missing-value sentinel: only '1' is a real value.
  assert.deepEqual(live.vocabulary, ['1']);
  let missing = 0;
  for (const c of live.codes) if (c === 0) missing++;
  assert.equal(missing, 21127);
  assert.equal(live.codes[1], 0); // user 1 has is_live_streamer = -124
  assert.equal(live.codes[0], 1);
  // Empty fields are missing too; '1.0' and '1' are one value.
  const f4 = users.categorical.find((c) => c.name === 'onehot_feat4')!;
  assert.equal(Array.from(f4.codes).filter((c) => c === 0).length, 874);
  assert.ok(f4.vocabulary.includes('1') && !f4.vocabulary.includes('1.0'));
  const degree = users.categorical.find((c) => c.name === 'user_active_degree')!;
  assert.equal(degree.vocabulary.length, 9);
  assert.equal(degree.vocabulary[degree.codes[0]! - 1], 'full_active');
  assert.equal(users.numeric.follow_user_num[0], 514);
  assert.equal(users.numeric.register_days[1], 1474);
  // Quoted range values survive: user 0 has fans_user_num_range "[100,1k)".
  const fans = users.categorical.find((c) => c.name === 'fans_user_num_range')!;
  assert.equal(fans.vocabulary[fans.codes[0]! - 1], '[100,1k)');
});

test(
  'real video table: 7,583 videos, 6,510 authors, missing durations and tags',
  { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' },
  async () => {
    const videos = await loadVideoFeatures(VIDEO_FEATURES_PURE);
    assert.equal(videos.count, 7583);
    assert.equal(new Set(videos.authorId).size, 6510);
    assert.equal(videos.authorId[0], 7349781);
    assert.equal(videos.durationMs[0], 87433);
    assert.equal(videos.primaryTag[0], 39);
    assert.equal(Array.from(videos.durationMs).filter((d) => Number.isNaN(d)).length, 239);
    assert.equal(Array.from(videos.primaryTag).filter((t) => t < 0).length, 96);
    const musicType = videos.categorical.find((c) => c.name === 'music_type')!;
    assert.equal(Array.from(musicType.codes).filter((c) => c === 0).length, 203);
    assert.equal(videos.numeric.music_id[0], 9155697141);
  },
);

test('log writer: exact header and field formats, round trip through the streaming reader', async () => {
  const dir = tempDir();
  const path = join(dir, 'log_standard_test.csv');
  const w = new KuaiRandLogWriter(path);
  const row = emptyLogRow();
  // 2022-04-08 16:05 Beijing time = 08:05 UTC.
  const t0 = Date.UTC(2022, 3, 8, 8, 5, 0, 123);
  const n = 10;
  for (let i = 0; i < n; i++) {
    Object.assign(row, {
      userId: i,
      videoId: 100 + i,
      timeMs: t0 + Math.floor(i / 6),
      isClick: i % 2,
      isLike: i === 3 ? 1 : 0,
      longView: i % 4 === 1 ? 1 : 0,
      playTimeMs: 1234.4 * i,
      durationMs: i === 5 ? NaN : 60000,
      isRand: i === 7 ? 1 : 0,
      tab: 1,
    });
    w.append(row);
  }
  assert.equal(existsSync(path), false, 'the log is written to .partial until close');
  w.close();
  const text = readFileSync(path, 'utf8').split('\n');
  assert.equal(text[0], HEADER);
  assert.equal(text[1], `0,100,20220408,1605,${t0},0,0,0,0,0,0,0,0,60000,0,0,0,0,1`);
  assert.equal(text[6], `5,105,20220408,1605,${t0},1,0,0,0,0,0,1,6172,,0,0,0,0,1`);
  assert.equal(text.length, n + 2); // header + rows + trailing newline
  const batches = await readAll(path, 4);
  assert.deepEqual(
    batches.map((b) => b.count),
    [4, 4, 2],
  );
  assert.equal(batches[0]!.firstLine, 2);
  assert.equal(batches[2]!.userId.length, 2, 'the last batch is trimmed');
  const b1 = batches[1]!;
  assert.equal(b1.userId[1], 5);
  assert.ok(Number.isNaN(b1.durationMs[1]!));
  assert.equal(b1.playTimeMs[1], 6172);
  assert.equal(b1.isClick[1], 1);
  assert.equal(b1.date[0], 20220408);
  assert.equal(b1.hourmin[0], 1605);
  assert.equal(b1.timeMs[2], t0 + 1);
  assert.equal(batches[2]!.isRand[0], 0);
  assert.equal(b1.isRand[3], 1);
  // Tiny read buffers split lines across reads: same rows.
  const small: LogBatch[] = [];
  for await (const b of readKuaiRandLog(path, { batchSize: 3, highWaterMark: 7 })) small.push(b);
  const flat = (bs: LogBatch[], k: keyof LogBatch) => bs.flatMap((b) => Array.from(b[k] as Float64Array));
  for (const k of ['userId', 'videoId', 'timeMs', 'playTimeMs', 'isClick', 'longView', 'isRand', 'tab'] as const)
    assert.deepEqual(flat(small, k), flat(batches, k), k);
});

test('log fields in KuaiRand float spelling and negative values parse', async () => {
  const path = join(tempDir(), 'log_float.csv');
  writeFileSync(path, [HEADER, '1,2,20220408,1600,1649404800000,1,0,0,0,0,0,1,20000.0,30000.5,-1,0.25,0,0,1', ''].join('\n'));
  const [b] = await readAll(path);
  assert.equal(b!.playTimeMs[0], 20000);
  assert.equal(b!.durationMs[0], 30000.5);
  assert.equal(b!.profileStayTime[0], -1);
  assert.equal(b!.commentStayTime[0], 0.25);
});

test('date and hourmin are Beijing time', () => {
  assert.equal(kuaiRandDate(Date.UTC(2022, 3, 8, 15, 59)), 20220408);
  assert.equal(kuaiRandDate(Date.UTC(2022, 3, 8, 16, 0)), 20220409); // midnight in Beijing
  assert.equal(kuaiRandHourMin(Date.UTC(2022, 3, 8, 16, 0)), 0);
  assert.equal(kuaiRandHourMin(Date.UTC(2022, 3, 8, 1, 7)), 907);
});

function writeLog(lines: string[], trailingNewline = true): string {
  const path = join(tempDir(), 'log.csv');
  writeFileSync(path, lines.join('\n') + (trailingNewline ? '\n' : ''));
  return path;
}
const GOOD = '1,2,20220408,1600,1649404800000,1,0,0,0,0,0,1,20000,30000,0,0,0,0,1';

test('a truncated log is rejected naming file and line', async () => {
  const path = writeLog([HEADER, GOOD, GOOD, '1,2,20220408,1600,16494'], false);
  await rejectsWith(readAll(path), `log.csv: line 4: expected 19 fields, found 5; the file looks truncated (last line cut short) (file ${path})`, 4);
});

test('a mistyped log field is rejected naming file, line and column', async () => {
  const bad = GOOD.split(',');
  bad[12] = 'abc';
  const path = writeLog([HEADER, GOOD, bad.join(',')]);
  await rejectsWith(readAll(path), `log.csv: line 3, column 13 'play_time_ms': expected a number, got 'abc' (file ${path})`, 3, 'play_time_ms');
  const flag = GOOD.split(',');
  flag[5] = '2';
  const p2 = writeLog([HEADER, flag.join(',')]);
  await rejectsWith(readAll(p2), `log.csv: line 2, column 6 'is_click': expected 0 or 1, got '2' (file ${p2})`, 2, 'is_click');
  const id = GOOD.split(',');
  id[0] = '1.5';
  const p3 = writeLog([HEADER, id.join(',')]);
  await rejectsWith(readAll(p3), `log.csv: line 2, column 1 'user_id': expected a 32-bit integer, got '1.5' (file ${p3})`, 2, 'user_id');
  const missing = GOOD.split(',');
  missing[1] = '';
  const p4 = writeLog([HEADER, GOOD, GOOD, missing.join(',')]);
  await rejectsWith(readAll(p4), `log.csv: line 4, column 2 'video_id': missing value in a required column (file ${p4})`, 4, 'video_id');
  const p5 = writeLog([HEADER, GOOD + ',7']);
  await rejectsWith(readAll(p5), `log.csv: line 2: expected 19 fields, found 20 (file ${p5})`, 2);
});

test('log header problems and empty files are named', async () => {
  const wrong = HEADER.replace('play_time_ms', 'play_time');
  const p1 = writeLog([wrong, GOOD]);
  await rejectsWith(
    readAll(p1),
    `log.csv: line 1, column 13 'play_time_ms': header has 'play_time' where 'play_time_ms' is expected (file ${p1})`,
    1,
    'play_time_ms',
  );
  const p2 = writeLog([], false);
  await rejectsWith(readAll(p2), `log.csv: line 1: empty file: expected a header with 19 columns (user_id, video_id, date, ...) (file ${p2})`, 1);
  // Missing optional values are NaN, CRLF line ends and a final line without newline are fine.
  const opt = GOOD.split(',');
  opt[13] = '';
  const p3 = join(tempDir(), 'crlf.csv');
  writeFileSync(p3, [HEADER, GOOD, opt.join(',')].join('\r\n'));
  const [b] = await readAll(p3);
  assert.equal(b!.count, 2);
  assert.equal(b!.durationMs[0], 30000);
  assert.ok(Number.isNaN(b!.durationMs[1]!));
  assert.equal(b!.tab[1], 1);
});

test('user and video fixtures: sentinels, missing values, mistyped ids', async () => {
  const dir = tempDir();
  const realUserHeader =
    'user_id,user_active_degree,is_lowactive_period,is_live_streamer,is_video_author,follow_user_num,follow_user_num_range,fans_user_num,fans_user_num_range,friend_user_num,friend_user_num_range,register_days,register_days_range,' +
    Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`).join(',');
  const onehots = (x: string) => Array.from({ length: 18 }, () => x).join(',');
  const users = join(dir, 'user_features_x.csv');
  writeFileSync(
    users,
    [
      realUserHeader,
      `0,full_active,0,1,1,5,"(0,10]",-1,0,3,"[1,5)",100,91-180,${onehots('1')}`,
      `1,high_active,0,-124,0,,"(0,10]",2,"[1,10)",0,0,7,8-14,${onehots('')}`,
    ].join('\n') + '\n',
  );
  const t = await loadUserFeatures(users);
  assert.equal(t.count, 2);
  const live = t.categorical.find((c) => c.name === 'is_live_streamer')!;
  assert.deepEqual(Array.from(live.codes), [1, 0]);
  assert.ok(Number.isNaN(t.numeric.fans_user_num[0]!), 'negative count = missing');
  assert.ok(Number.isNaN(t.numeric.follow_user_num[1]!), 'empty count = missing');
  assert.equal(t.categorical.find((c) => c.name === 'onehot_feat3')!.codes[1], 0);
  const follow = t.categorical.find((c) => c.name === 'follow_user_num_range')!;
  assert.deepEqual(follow.vocabulary, ['(0,10]']);

  const badUsers = join(dir, 'user_features_bad.csv');
  writeFileSync(badUsers, [realUserHeader, `x7,full_active,0,1,1,5,"(0,10]",1,0,3,"[1,5)",100,91-180,${onehots('1')}`].join('\n'));
  await rejectsWith(
    loadUserFeatures(badUsers),
    `user_features_bad.csv: line 2, column 1 'user_id': expected a non-negative integer id, got 'x7' (file ${badUsers})`,
    2,
    'user_id',
  );
  const quote = join(dir, 'user_features_quote.csv');
  writeFileSync(quote, [realUserHeader, `0,full_active,0,1,1,5,"(0,10],-1`].join('\n'));
  await rejectsWith(loadUserFeatures(quote), `user_features_quote.csv: line 2: unterminated quote (file ${quote})`, 2);

  const videos = join(dir, 'video_features_basic_x.csv');
  const vh = 'video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag';
  writeFileSync(
    videos,
    [vh, '0,7,NORMAL,2022-04-10,Web,0.0,,720.0,1280.0,5,9.0,"12,62"', '1,7,AD,2022-04-10,Web,0.0,5000.0,720.0,1280.0,5,,'].join('\n') + '\n',
  );
  const v = await loadVideoFeatures(videos);
  assert.equal(v.count, 2);
  assert.ok(Number.isNaN(v.durationMs[0]!));
  assert.equal(v.durationMs[1], 5000);
  assert.deepEqual(Array.from(v.primaryTag), [12, -1]);
  assert.deepEqual(Array.from(v.categorical.find((c) => c.name === 'music_type')!.codes), [1, 0]);
  const badVideos = join(dir, 'video_features_basic_bad.csv');
  writeFileSync(badVideos, [vh, '0,7,NORMAL,2022-04-10,Web,0.0,long,720.0,1280.0,5,9.0,3'].join('\n'));
  await rejectsWith(
    loadVideoFeatures(badVideos),
    `video_features_basic_bad.csv: line 2, column 7 'video_duration': expected a number or an empty field, got 'long' (file ${badVideos})`,
    2,
    'video_duration',
  );
  const wrongHeader = join(dir, 'video_features_basic_hdr.csv');
  writeFileSync(wrongHeader, [vh.replace(',tag', ''), '0,7,NORMAL,2022-04-10,Web,0.0,1,720.0,1280.0,5,9.0'].join('\n'));
  await rejectsWith(
    loadVideoFeatures(wrongHeader),
    `video_features_basic_hdr.csv: line 1, column 12 'tag': header ends after 11 columns; expected 'tag' here (12 columns in all) (file ${wrongHeader})`,
    1,
    'tag',
  );
});

test('video statistics: any numeric columns after video_id', async () => {
  const path = join(tempDir(), 'video_features_statistic_x.csv');
  writeFileSync(path, ['video_id,counts,show_cnt,play_duration', '0,5,10,1.5', '3,,2,0'].join('\n') + '\n');
  const s = await loadVideoStatistics(path);
  assert.deepEqual(s.columns, ['counts', 'show_cnt', 'play_duration']);
  assert.deepEqual(Array.from(s.videoId), [0, 3]);
  assert.equal(s.values[2], 1.5);
  assert.ok(Number.isNaN(s.values[3]!));
  const bad = join(tempDir(), 'video_features_statistic_bad.csv');
  writeFileSync(bad, ['video_id,counts', '0,many'].join('\n'));
  await assert.rejects(loadVideoStatistics(bad), /line 2, column 2 'counts': expected a number or an empty field, got 'many'/);
});

test('gifts file round trip', async () => {
  const path = join(tempDir(), 'gifts.csv');
  const w = new GiftLogWriter(path);
  w.append(3, 17, 1649404800123, 5);
  w.append(4, 2, 1649404800999, 1);
  assert.throws(() => w.append(1, 1, 1, 0), /amount must be > 0/);
  w.close();
  assert.equal(readFileSync(path, 'utf8'), 'user_id,author_id,time_ms,amount\n3,17,1649404800123,5\n4,2,1649404800999,1\n');
  const g = await readGiftLog(path);
  assert.equal(g.count, 2);
  assert.deepEqual(Array.from(g.authorId), [17, 2]);
  assert.deepEqual(Array.from(g.amount), [5, 1]);
});

test('parseDecimal and splitCsvLine', () => {
  assert.equal(parseDecimal('123'), 123);
  assert.equal(parseDecimal('-124'), -124);
  assert.equal(parseDecimal('87433.0'), 87433);
  assert.equal(parseDecimal('1e3'), 1000);
  assert.ok(Number.isNaN(parseDecimal('0x10')));
  assert.ok(Number.isNaN(parseDecimal(' 5')));
  assert.ok(Number.isNaN(parseDecimal('-')));
  const f: string[] = [];
  assert.equal(splitCsvLine('a,"b,c",,"d""e"', f), 4);
  assert.deepEqual(f.slice(0, 4), ['a', 'b,c', '', 'd"e']);
  assert.equal(splitCsvLine('a,', f), 2);
  assert.equal(f[1], '');
  assert.equal(splitCsvLine('"a"b', f), -1);
});

// ---- impossible values (issue 17): refused with file, line and column ----

test('log: non-finite numbers, negative play times and durations, out-of-range times are refused', async () => {
  const withField = (c: number, v: string) => {
    const f = GOOD.split(',');
    f[c] = v;
    return f.join(',');
  };
  const play = writeLog([HEADER, GOOD, withField(12, '1e400')]);
  await rejectsWith(readAll(play), `log.csv: line 3, column 13 'play_time_ms': expected a finite number, got '1e400' (file ${play})`, 3, 'play_time_ms');
  const longDigits = writeLog([HEADER, withField(13, '1' + '0'.repeat(400))]);
  await rejectsWith(
    readAll(longDigits),
    `log.csv: line 2, column 14 'duration_ms': expected a finite number, got '1000000000000000000000000000000000000000...' (file ${longDigits})`,
    2,
    'duration_ms',
  );
  const negPlay = writeLog([HEADER, GOOD, GOOD, withField(12, '-5')]);
  await rejectsWith(
    readAll(negPlay),
    `log.csv: line 4, column 13 'play_time_ms': out of range: '-5' is not in [0, 86400000] (a play time in ms, at most 24 h) (file ${negPlay})`,
    4,
    'play_time_ms',
  );
  const negDur = writeLog([HEADER, withField(13, '-1000.5')]);
  await rejectsWith(
    readAll(negDur),
    `log.csv: line 2, column 14 'duration_ms': out of range: '-1000.5' is not in [0, 86400000] (a video duration in ms, at most 24 h) (file ${negDur})`,
    2,
    'duration_ms',
  );
  const farTime = writeLog([HEADER, withField(4, '1e300')]);
  await rejectsWith(
    readAll(farTime),
    `log.csv: line 2, column 5 'time_ms': out of range: '1e300' is not in [0, 4102444800000] (ms since 1970-01-01 UTC, before the year 2100) (file ${farTime})`,
    2,
    'time_ms',
  );
  const negTime = writeLog([HEADER, withField(4, '-1')]);
  await rejectsWith(
    readAll(negTime),
    `log.csv: line 2, column 5 'time_ms': out of range: '-1' is not in [0, 4102444800000] (ms since 1970-01-01 UTC, before the year 2100) (file ${negTime})`,
    2,
    'time_ms',
  );
  const badDate = writeLog([HEADER, withField(2, '99999999')]);
  await rejectsWith(
    readAll(badDate),
    `log.csv: line 2, column 3 'date': out of range: '99999999' is not in [19700101, 21001231] (YYYYMMDD) (file ${badDate})`,
    2,
    'date',
  );
  const badHour = writeLog([HEADER, withField(3, '2500')]);
  await rejectsWith(readAll(badHour), `log.csv: line 2, column 4 'hourmin': out of range: '2500' is not in [0, 2359] (HHMM) (file ${badHour})`, 2, 'hourmin');
  // The edges of the ranges are accepted.
  const edges = writeLog([HEADER, withField(12, '86400000'), withField(4, '0')]);
  const [b] = await readAll(edges);
  assert.equal(b!.playTimeMs[0], 86400000);
  assert.equal(b!.timeMs[1], 0);
});

test('gifts: non-finite amounts and out-of-range times are refused', async () => {
  const path = join(tempDir(), 'gifts_bad.csv');
  writeFileSync(path, 'user_id,author_id,time_ms,amount\n3,17,1649404800123,5\n4,2,1649404800999,1e400\n');
  await rejectsWith(readGiftLog(path), `gifts_bad.csv: line 3, column 4 'amount': expected a finite number, got '1e400' (file ${path})`, 3, 'amount');
  const t = join(tempDir(), 'gifts_time.csv');
  writeFileSync(t, 'user_id,author_id,time_ms,amount\n3,17,1e300,5\n');
  await rejectsWith(
    readGiftLog(t),
    `gifts_time.csv: line 2, column 3 'time_ms': out of range: '1e300' is not in [0, 4102444800000] (ms since 1970-01-01 UTC, before the year 2100) (file ${t})`,
    2,
    'time_ms',
  );
});

const VIDEO_HEADER = 'video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag';
const USER_HEADER =
  'user_id,user_active_degree,is_lowactive_period,is_live_streamer,is_video_author,follow_user_num,follow_user_num_range,fans_user_num,fans_user_num_range,friend_user_num,friend_user_num_range,register_days,register_days_range,' +
  Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`).join(',');
const userRow = (id: string, follow = '5') =>
  `${id},full_active,0,1,1,${follow},"(0,10]",1,0,3,"[1,5)",100,91-180,${Array.from({ length: 18 }, () => '1').join(',')}`;
const videoRow = (id: string, duration = '5000.0') => `${id},7,NORMAL,2022-04-10,Web,0.0,${duration},720.0,1280.0,5,9.0,3`;

test('feature tables: header-only tables, duplicate ids, non-finite and negative values are refused', async () => {
  const dir = tempDir();
  const write = (name: string, lines: string[]) => {
    const p = join(dir, name);
    writeFileSync(p, lines.join('\n') + '\n');
    return p;
  };
  const u0 = write('user_features_empty.csv', [USER_HEADER]);
  await rejectsWith(loadUserFeatures(u0), `user_features_empty.csv: line 1: no data rows: the table has a header and nothing else (file ${u0})`, 1);
  const v0 = write('video_features_basic_empty.csv', [VIDEO_HEADER]);
  await rejectsWith(loadVideoFeatures(v0), `video_features_basic_empty.csv: line 1: no data rows: the table has a header and nothing else (file ${v0})`, 1);
  const s0 = write('video_features_statistic_empty.csv', ['video_id,counts']);
  await rejectsWith(
    loadVideoStatistics(s0),
    `video_features_statistic_empty.csv: line 1: no data rows: the table has a header and nothing else (file ${s0})`,
    1,
  );
  const ud = write('user_features_dup.csv', [USER_HEADER, userRow('0'), userRow('1'), userRow('0')]);
  await rejectsWith(loadUserFeatures(ud), `user_features_dup.csv: line 4, column 1 'user_id': duplicate id 0 (first on line 2) (file ${ud})`, 4, 'user_id');
  const vd = write('video_features_basic_dup.csv', [VIDEO_HEADER, videoRow('8'), videoRow('8')]);
  await rejectsWith(
    loadVideoFeatures(vd),
    `video_features_basic_dup.csv: line 3, column 1 'video_id': duplicate id 8 (first on line 2) (file ${vd})`,
    3,
    'video_id',
  );
  const sd = write('video_features_statistic_dup.csv', ['video_id,counts', '1,2', '1,3']);
  await rejectsWith(
    loadVideoStatistics(sd),
    `video_features_statistic_dup.csv: line 3, column 1 'video_id': duplicate id 1 (first on line 2) (file ${sd})`,
    3,
    'video_id',
  );
  const vinf = write('video_features_basic_inf.csv', [VIDEO_HEADER, videoRow('1'), videoRow('2', '1e400')]);
  await rejectsWith(
    loadVideoFeatures(vinf),
    `video_features_basic_inf.csv: line 3, column 7 'video_duration': expected a finite number or an empty field, got '1e400' (file ${vinf})`,
    3,
    'video_duration',
  );
  const vneg = write('video_features_basic_neg.csv', [VIDEO_HEADER, videoRow('1', '-3.0')]);
  await rejectsWith(
    loadVideoFeatures(vneg),
    `video_features_basic_neg.csv: line 2, column 7 'video_duration': out of range: '-3.0' is not in [0, 86400000] (a video duration in ms, at most 24 h; empty or 0 when unknown) (file ${vneg})`,
    2,
    'video_duration',
  );
  const uinf = write('user_features_inf.csv', [USER_HEADER, userRow('0', '1e400')]);
  await rejectsWith(
    loadUserFeatures(uinf),
    `user_features_inf.csv: line 2, column 6 'follow_user_num': expected a finite number or an empty field, got '1e400' (file ${uinf})`,
    2,
    'follow_user_num',
  );
  const sinf = write('video_features_statistic_inf.csv', ['video_id,counts', '1,1e999']);
  await rejectsWith(
    loadVideoStatistics(sinf),
    `video_features_statistic_inf.csv: line 2, column 2 'counts': expected a finite number or an empty field, got '1e999' (file ${sinf})`,
    2,
    'counts',
  );
});
