import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOpenLoop, runOpenLoopInWorker, type OpenLoopOptions } from '../../bench/open-loop-load.js';

/** A server that answers 200, or 503 for a body containing "fail"; it records what it received. */
async function withServer(fn: (origin: string, bodies: string[]) => Promise<void>): Promise<void> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push(body);
      res.statusCode = body.includes('fail') ? 503 : 200;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, received);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const base = (origin: string): OpenLoopOptions => ({
  origin,
  path: '/x',
  bodies: ['{"a":1}', '{"b":"fail"}', '{"c":3}'],
  rate: 200,
  durationS: 0.15,
  connections: 4,
  timeoutMs: 5000,
});

test('open-loop generator sends rate x duration requests, bodies in turn, and sorts responses by status', async () => {
  await withServer(async (origin, received) => {
    const r = await runOpenLoop(base(origin));
    assert.equal(r.requests, 30);
    assert.equal(received.length, 30);
    assert.equal(r.ok, 20);
    assert.equal(r.non2xx, 10);
    assert.equal(r.errors, 0);
    assert.ok(r.connectionsOpened >= 1 && r.connectionsOpened <= 4);
    // Latency from the schedule includes the generator's lateness; from the send it does not.
    assert.ok(r.fromScheduled.max >= r.fromSend.max && r.fromScheduled.p50 >= r.fromSend.p50);
    assert.ok(r.sendLag.p50 >= 0);
    assert.ok(r.fromScheduled.p50 <= r.fromScheduled.p99 && r.fromScheduled.p99 <= r.fromScheduled.max);
  });
});

test('open-loop generator warm-up requests are sent but not measured', async () => {
  await withServer(async (origin, received) => {
    const r = await runOpenLoop({ ...base(origin), durationS: 0.05, warmupS: 0.05 });
    assert.equal(received.length, 20);
    assert.equal(r.requests, 10);
    assert.equal(r.ok + r.non2xx, 10);
    assert.ok(r.warmupFailures >= 3 && r.warmupFailures <= 4, 'every third body fails');
  });
});

test('open-loop generator counts refused connections as errors, and runs in a worker thread', async () => {
  let port = 0;
  await withServer(async (origin) => {
    port = Number(new URL(origin).port);
    const r = await runOpenLoopInWorker({ ...base(origin), durationS: 0.05 });
    assert.equal(r.requests, 10);
    assert.equal(r.ok + r.non2xx, 10);
  });
  const r = await runOpenLoop({ ...base(`http://127.0.0.1:${port}`), durationS: 0.05 });
  assert.equal(r.errors, 10);
  assert.equal(r.ok, 0);
});
