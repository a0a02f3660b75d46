/**
 * The service's log (pino through Fastify) and /metrics' process and
 * event-loop series (prom-client) beside the rliv_* ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { fastifyLoggerOptions, LogLevelError, watchServiceHealth } from '../../src/serving/service-log.js';
import { candidatesOf, captureLog, smallSystem } from './helpers.js';

test('at --log-level info every request is logged (JSON: method, url, status, response time) and client errors say why; at the default warn nothing per request', async () => {
  const info = captureLog();
  const warn = captureLog();
  const a = await smallSystem({ log: { level: 'info', destination: info.destination } });
  const b = await smallSystem({ log: { destination: warn.destination } });
  try {
    for (const sys of [a, b]) {
      const ok = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 1, k: 3, candidates: candidatesOf(sys, 10) } });
      assert.equal(ok.statusCode, 200);
      const bad = await sys.service.app.inject({
        method: 'POST',
        url: '/v1/rank',
        payload: { userId: 1, k: 3, candidates: [{ itemId: 0, authorId: 999999 }] },
      });
      assert.equal(bad.statusCode, 400);
    }
  } finally {
    await a.close();
    await b.close();
  }
  const incoming = info.lines.filter((l) => l.msg === 'incoming request');
  const completed = info.lines.filter((l) => l.msg === 'request completed');
  assert.equal(incoming.length, 2);
  assert.equal(completed.length, 2);
  assert.deepEqual(
    incoming.map((l) => [l.req.method, l.req.url]),
    [
      ['POST', '/v1/rank'],
      ['POST', '/v1/rank'],
    ],
  );
  assert.deepEqual(
    completed.map((l) => l.res.statusCode),
    [200, 400],
  );
  for (const l of completed) {
    assert.equal(l.level, 30);
    assert.ok(typeof l.responseTime === 'number' && l.responseTime >= 0);
    assert.equal(typeof l.reqId, 'string');
    assert.equal(typeof l.time, 'number');
  }
  const refused = info.lines.find((l) => l.msg === 'request refused')!;
  assert.equal(refused.statusCode, 400);
  assert.match(refused.message, /authorId 999999 does not match item 0/);
  assert.deepEqual(warn.lines, [], 'the default level writes nothing for ordinary and refused requests');
});

test('bearer tokens never reach the log, whether accepted or refused', async () => {
  const log = captureLog();
  const token = 'f'.repeat(16) + '0123456789abcdef';
  const wrong = 'e'.repeat(16) + '0123456789abcdef';
  const sys = await smallSystem({ auth: { rankToken: token }, log: { level: 'trace', destination: log.destination } });
  try {
    const payload = { userId: 1, k: 3, candidates: candidatesOf(sys, 10) };
    assert.equal((await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload, headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    assert.equal((await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload, headers: { authorization: `Bearer ${wrong}` } })).statusCode, 401);
  } finally {
    await sys.close();
  }
  const text = JSON.stringify(log.lines);
  assert.deepEqual(
    log.lines.filter((l) => l.msg === 'request completed').map((l) => l.res.statusCode),
    [200, 401],
    'both requests logged',
  );
  assert.ok(!text.includes(token) && !text.includes(wrong), 'no token in the log');
  assert.ok(!/"authorization"\s*:/i.test(text), 'no authorization header in the log');
});

test("a log level that is not pino's is refused, naming the levels", () => {
  assert.throws(
    () => fastifyLoggerOptions({ level: 'verbose' as never }),
    (e: Error) => e instanceof LogLevelError && /one of fatal, error, warn, info, debug, trace, silent; got "verbose"/.test(e.message),
  );
  assert.equal(fastifyLoggerOptions().level, 'warn');
});

test('/metrics: the rliv_* series and the process and event-loop metrics of prom-client, each family once', async () => {
  const sys = await smallSystem();
  try {
    await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 1, k: 3, candidates: candidatesOf(sys, 10) } });
    const m = await sys.service.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(m.statusCode, 200);
    assert.match(m.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const body = m.body;
    assert.match(body, /^rliv_model_version 1$/m);
    assert.match(body, /^rliv_http_requests_total\{route="\/v1\/rank",status="200"\} 1$/m);
    const value = (name: string) => {
      const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      assert.ok(line, `${name} is exported`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    assert.ok(value('process_cpu_seconds_total') > 0);
    assert.ok(value('process_resident_memory_bytes') > 10e6, 'resident memory in bytes');
    assert.ok(value('nodejs_heap_size_used_bytes') > 0);
    assert.ok(value('nodejs_eventloop_lag_seconds') >= 0);
    assert.ok(value('nodejs_eventloop_lag_p99_seconds') >= 0);
    assert.ok(value('nodejs_active_handles_total') >= 1);
    assert.match(body, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    const families = body
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]!);
    assert.equal(new Set(families).size, families.length, 'no metric family twice');
    assert.ok(families.filter((f) => f.startsWith('rliv_')).length >= 10);
    assert.ok(body.endsWith('\n'));
  } finally {
    await sys.close();
  }
});

test('watchServiceHealth: an outage (warn), its end (info, with the reads answered by defaults) and an outage shorter than a poll (warn)', async () => {
  const log = captureLog();
  const status = { healthy: true, readFailures: 0, lastError: undefined as string | undefined };
  const store = { kind: 'redis', status: () => ({ ...status }) } as never;
  const stream = { kind: 'memory', status: () => ({ healthy: true }) } as never;
  const holder = { reload: { failures: 0 }, current: { version: 1 }, onSwap: () => {} } as never;
  const stop = watchServiceHealth(pino({ level: 'info' }, log.destination as never), { holder, store, stream }, 5);
  const tick = () => new Promise((r) => setTimeout(r, 40));
  try {
    await tick();
    assert.equal(log.lines.length, 0, 'nothing while healthy');
    Object.assign(status, { healthy: false, readFailures: 3, lastError: 'connect ECONNREFUSED' });
    await tick();
    Object.assign(status, { healthy: true, readFailures: 5 });
    await tick();
    Object.assign(status, { readFailures: 7 }); // down and up again between two polls
    await tick();
  } finally {
    stop();
  }
  assert.deepEqual(
    (log.lines as Array<Record<string, any>>).map((l) => [l.level, l.msg, l.readsWithDefaults, l.error]),
    [
      [40, 'pair-count store unavailable: ranking with default pair counts (degraded)', undefined, 'connect ECONNREFUSED'],
      [30, 'pair-count store available again', 5, undefined],
      [40, 'pair-count store was briefly unavailable: some requests were ranked with default pair counts', 2, 'connect ECONNREFUSED'],
    ],
  );
});
