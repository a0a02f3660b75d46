/**
 * The per-thread CPU clock of the phase table: it advances with the calling
 * thread's own work only (a worker thread's clock does not count the main
 * thread's work), and PartClock reports wall and CPU seconds of a part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { PartClock, threadCpuSeconds } from '../../src/experiments/thread-clock.js';

/** Busy work until this thread's CPU clock has advanced by `seconds` (a CPU-time spin: on a loaded machine wall time says little). */
function spinCpu(seconds: number): void {
  const start = threadCpuSeconds()!;
  let x = 0;
  while (threadCpuSeconds()! - start < seconds) for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + i);
  if (x < 0) throw new Error('unreachable');
}

test("threadCpuSeconds advances with this thread's work (Linux), else is null", () => {
  const a = threadCpuSeconds();
  if (process.platform !== 'linux') {
    assert.equal(a, null);
    return;
  }
  assert.ok(a !== null && a >= 0);
  spinCpu(0.03);
  const b = threadCpuSeconds()!;
  assert.ok(b - a! >= 0.03, `the clock advanced by ${b - a!} s`);
  const clock = new PartClock();
  clock.start();
  spinCpu(0.02);
  const lap = clock.lap();
  assert.ok(lap.cpu !== null && lap.cpu >= 0.02, `lap cpu ${lap.cpu} s`);
  assert.ok(lap.cpu <= lap.wall + 0.011, `cpu ${lap.cpu} s cannot exceed wall ${lap.wall} s (10 ms clock granularity aside)`);
});

test("a worker thread reads its own clock, not the process's", { skip: process.platform !== 'linux' }, async () => {
  spinCpu(0.3); // main-thread work the worker must not see
  const url = new URL('./thread-clock.test.js', import.meta.url).href.replace('thread-clock.test.js', '../../src/experiments/thread-clock.js');
  const code = `const { threadCpuSeconds } = await import(${JSON.stringify(url)}); const { parentPort } = await import('node:worker_threads'); parentPort.postMessage(threadCpuSeconds());`;
  const value = await new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(code)));
    w.once('message', (v: number) => {
      resolve(v);
      void w.terminate();
    });
    w.once('error', reject);
  });
  const mainCpu = threadCpuSeconds()!;
  assert.ok(mainCpu >= 0.3 && value < mainCpu - 0.2, `worker thread clock ${value} s is its own (main thread ${mainCpu} s)`);
});
