/**
 * `rliv experiment --queue` against a real redis-server on loopback (port
 * 6601, started here), with `rliv worker` processes:
 *   1. two workers, one SIGKILLed in the middle of a job: its job is taken
 *      over by the other through BullMQ's stalled-job check, every job is
 *      counted once, and the figures equal the in-process run's exactly;
 *   2. a coordinator SIGKILLed mid-run and started again with the same
 *      arguments resumes: nothing is enqueued twice, finished jobs are taken
 *      from Redis, and the figures are the in-process run's;
 *   3. the finished experiment is re-assembled from Redis without running a job.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { runCli, REPO_ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedis, waitFor } from '../serving/helpers.js';
import { BULL_PREFIX, decodeRecord, KEY_PREFIX, type ResultRecord } from '../../src/experiments/job-queue.js';

const PORT = 6601;
const URL = `redis://127.0.0.1:${PORT}`;
const skip = !HAS_REDIS_SERVER && NO_REDIS_REASON;
const runningTs = import.meta.url.endsWith('.ts');
const ENTRY = runningTs ? join(REPO_ROOT, 'src/cli/main.ts') : join(REPO_ROOT, 'dist/src/cli/main.js');

let redis: TestRedis | undefined;
let client: Redis | undefined;
const children: ChildProcess[] = [];
before(async () => {
  if (!HAS_REDIS_SERVER) return;
  redis = new TestRedis(PORT);
  await redis.start();
  client = new Redis(URL);
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  client?.disconnect();
  await redis?.stop();
});

/** A CLI process whose stderr is collected as it comes. */
function spawnCli(args: string[]): { child: ChildProcess; stderr: () => string; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...(runningTs ? ['--import', 'tsx'] : []), ENTRY, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

const spawnedWorkers = new Map<string, ReturnType<typeof spawnCli>>();
/** Short locks so a dead worker's job is taken over within seconds (the job computes on a thread; the lock renews on the main loop). */
function worker(name: string) {
  const w = spawnCli(['worker', '--queue', URL, '--concurrency', '1', '--lock-seconds', '4', '--stalled-check-seconds', '1']);
  spawnedWorkers.set(name, w);
  return w;
}

const SMOKE = ['--preset', 'smoke', '--seeds', '2'];
const results = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
const resultCount = async () => (await client!.keys(`${KEY_PREFIX}result:*`)).length;
const workerName = (w: ReturnType<typeof spawnCli>) => /worker (\S+): serving/.exec(w.stderr())?.[1];

let reference: any;

test('in-process reference run (--workers 1)', { skip, timeout: 900_000 }, async () => {
  const out = tempDir('rliv-queue-ref-');
  const r = await runCli(['experiment', ...SMOKE, '--models', 'RLIV-UA,DQN,RLUR', '--workers', '1', '--out', out, '--quiet'], { timeoutMs: 900_000 });
  assert.equal(r.code, 0, r.stderr);
  reference = results(out);
});

test(
  'two workers, one SIGKILLed mid-job: the other takes the job over, every job counted once, figures identical to the in-process run',
  { skip, timeout: 900_000 },
  async () => {
    assert.ok(reference, 'the reference run finished');
    const a = worker('a');
    const b = worker('b');
    await waitFor(() => workerName(a) !== undefined && workerName(b) !== undefined, 60_000, 'both workers to connect');
    const out = tempDir('rliv-queue-kill-');
    const coord = spawnCli(['experiment', ...SMOKE, '--models', 'RLIV-UA,DQN', '--queue', URL, '--out', out]);
    // Each worker takes one job (concurrency 1); kill A while its job computes.
    await waitFor(() => /: started/.test(a.stderr()) && /: started/.test(b.stderr()), 180_000, 'both workers to start a job');
    const killedJob = /(\S+ seed \d+): started/.exec(a.stderr())![1]!;
    assert.doesNotMatch(a.stderr(), new RegExp(`${killedJob.replace(/[()]/g, '\\$&')}: done`), 'A was mid-job');
    a.child.kill('SIGKILL');
    assert.equal(await coord.exited, 0, coord.stderr());
    const summary = JSON.parse(coord.stdout().trim().split('\n').pop()!);
    assert.equal(summary.enqueued, 4);
    assert.match(
      b.stderr(),
      new RegExp(`${killedJob.replace(/[()]/g, '\\$&')}: started \\(attempt 2, taken over 1 time\\(s\\) from a dead worker\\)`),
      b.stderr(),
    );

    // Every job once: four results, four completed jobs, none failed; the killed one finished on B.
    assert.equal(await resultCount(), 4);
    const queue = new Queue(summary.queue, { connection: client!, prefix: BULL_PREFIX });
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait');
    assert.deepEqual(counts, { completed: 4, failed: 0, active: 0, wait: 0 });
    const jobs = await queue.getJobs(['completed']);
    const killed = jobs.find((j) => j.name === killedJob)!;
    assert.equal(killed.processedBy, workerName(b));
    assert.equal(killed.stalledCounter, 1);
    const record = decodeRecord<ResultRecord>((await client!.get(`${KEY_PREFIX}result:${killed.id}`))!);
    assert.equal(record.worker, workerName(b));
    await queue.close();

    // Results: each model has exactly its two seeds, and the figures are the in-process run's, digit for digit.
    const res = results(out);
    assert.match(res.settings.jobRunner, /^BullMQ queue experiment-[0-9a-f]{16} at redis:\/\/127\.0\.0\.1:6601/);
    for (const name of ['RLIV-UA', 'DQN']) {
      assert.deepEqual(res.models[name].sessionLength.values.length, 2);
      assert.deepEqual(res.models[name], reference.models[name], `${name}: queue run = in-process run`);
      assert.deepEqual(res.simToReal[name], reference.simToReal[name]);
    }
  },
);

test(
  'a coordinator SIGKILLed mid-run resumes with the same arguments; a finished experiment is re-assembled without running a job',
  { skip, timeout: 900_000 },
  async () => {
    assert.ok(reference, 'the reference run finished');
    const b = spawnedWorkers.get('b');
    assert.ok(b && b.child.exitCode === null, 'worker B is still serving');
    const before = await resultCount();
    const out = tempDir('rliv-queue-resume-');
    const args = ['experiment', ...SMOKE, '--models', 'RLUR', '--queue', URL, '--out', out];
    const first = spawnCli(args);
    await waitFor(async () => (await resultCount()) >= before + 1, 300_000, 'the first RLUR job to finish');
    first.child.kill('SIGKILL');
    await first.exited;
    const again = await runCli(args, { timeoutMs: 600_000 });
    assert.equal(again.code, 0, again.stderr);
    // Nothing enqueued twice: the finished job came from Redis, the other was still queued or running (or finished meanwhile).
    assert.equal(again.summary!.enqueued, 0, again.stderr);
    assert.ok(again.summary!.reused >= 1);
    assert.equal(again.summary!.reused + again.summary!.attached, 2);
    assert.equal(await resultCount(), before + 2);
    assert.deepEqual(results(out).models.RLUR, reference.models.RLUR, 'resumed run = in-process run');

    // All three models, all finished before: re-assembled, nothing run, same figures.
    const whole = tempDir('rliv-queue-whole-');
    const r = await runCli(['experiment', ...SMOKE, '--models', 'RLIV-UA,DQN,RLUR', '--queue', URL, '--out', whole], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual({ reused: r.summary!.reused, enqueued: r.summary!.enqueued, attached: r.summary!.attached }, { reused: 6, enqueued: 0, attached: 0 });
    assert.match(r.stderr, /6 of 6 job\(s\) finished before/);
    const res = results(whole);
    assert.deepEqual(res.models, reference.models);
    assert.deepEqual(res.simToReal, reference.simToReal);
    assert.deepEqual(res.significance, reference.significance);
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.stderr());
    assert.match(b.stdout(), /"command":"worker"/);
  },
);

test('rliv experiment --queue: a bad URL is a usage error, an unreachable Redis an error before anything is built', { skip }, async () => {
  const bad = await runCli(['experiment', '--preset', 'smoke', '--queue', 'http://127.0.0.1:6601', '--out', join(tempDir('rliv-queue-bad-'), 'never')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--queue must be a redis:\/\/ or rediss:\/\/ URL/);
  const both = await runCli(['experiment', '--preset', 'smoke', '--queue', URL, '--workers', '2', '--out', join(tempDir('rliv-queue-bad-'), 'never')]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--workers and --queue exclude each other/);
  const never = join(tempDir('rliv-queue-down-'), 'never');
  const down = await runCli(['experiment', '--preset', 'smoke', '--queue', 'redis://127.0.0.1:6649', '--out', never]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:6649/);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(never), false);
  const w = await runCli(['worker', '--queue', 'redis://127.0.0.1:6649']);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /cannot reach Redis/);
});
