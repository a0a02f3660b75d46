/**
 * The per-thread CPU clock of the phase table: it advances with the calling
 * thread's own work only (a worker thread's clock does not count the main
 * thread's work), and PartClock reports wall and CPU seconds of a part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { PartClock, threadCpuSeconds } from '../../src/experiments/thread-clock.js';

function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

test('threadCpuSeconds advances with this thread\'s work (Linux), else is null', () => {
  const a = threadCpuSeconds();
  if (process.platform !== 'linux') {
    assert.equal(a, null);
    return;
  }
  assert.ok(a !== null && a >= 0);
  spin(60);
  const b = threadCpuSeconds()!;
  assert.ok(b - a! >= 0.02, `60 ms of spinning advanced the clock by ${b - a!} s`);
  const clock = new PartClock();
  clock.start();
  spin(30);
  const lap = clock.lap();
  assert.ok(lap.wall >= 0.03);
  assert.ok(lap.cpu !== null && lap.cpu > 0 && lap.cpu <= lap.wall + 0.02, `cpu ${lap.cpu} s within wall ${lap.wall} s`);
});

test('a worker thread reads its own clock, not the process\'s', { skip: process.platform !== 'linux' }, async () => {
  spin(200); // main-thread work the worker must not see
  const url = new URL('./thread-clock.test.js', import.meta.url).href.replace('thread-clock.test.js', '../../src/experiments/thread-clock.js');
  const code = `const { threadCpuSeconds } = await import(${JSON.stringify(url)}); const { parentPort } = await import('node:worker_threads'); parentPort.postMessage(threadCpuSeconds());`;
  const value = await new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(code)));
    w.once('message', (v: number) => { resolve(v); void w.terminate(); });
    w.once('error', reject);
  });
  const mainCpu = threadCpuSeconds()!;
  assert.ok(value < mainCpu - 0.1, `worker thread clock ${value} s is its own (main thread ${mainCpu} s)`);
});
