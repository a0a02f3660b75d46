import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/paths.js';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedis, waitFor } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const runningTs = import.meta.url.endsWith('.ts');
const root = runningTs ? resolve(here, '../..') : resolve(here, '../../..');
const entry = runningTs ? resolve(root, 'src/cli/main.ts') : resolve(root, 'dist/src/cli/main.js');

interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [...(runningTs ? ['--import', 'tsx'] : []), entry, ...args], { cwd: root });
  const p: Proc = { child, stdout: '', stderr: '', exited: new Promise((r) => child.on('close', (code) => r(code ?? -1))) };
  child.stdout!.on('data', (d) => (p.stdout += d));
  child.stderr!.on('data', (d) => (p.stderr += d));
  return p;
}

async function address(p: Proc): Promise<string> {
  await waitFor(() => /listening on (http:\/\/\S+)/.test(p.stderr) || p.child.exitCode !== null, 180_000, 'the server to listen');
  const m = /listening on (http:\/\/\S+)/.exec(p.stderr);
  if (!m) throw new Error(`serve did not start:\n${p.stderr}`);
  return m[1]!;
}

async function json(url: string, body?: unknown): Promise<any> {
  const r = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

/** The newcomer's loop: rank with curl-like requests, send feedback. */
async function traffic(base: string, requests: number): Promise<number> {
  let version = 0;
  for (let i = 0; i < requests; i++) {
    // Items 0..29 of the default world; their authors come from a first rank's errors-free echo.
    const r = await json(`${base}/v1/rank`, { userId: i % 50, candidates: CANDIDATES, k: 6 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    version = r.body.modelVersion;
    const events = r.body.items.map((it: any) => ({ requestId: r.body.requestId, itemId: it.itemId, kind: 'click', value: 1 }));
    assert.equal((await json(`${base}/v1/feedback/batch`, { events })).status, 202);
  }
  return version;
}

let CANDIDATES: { itemId: number; authorId: number }[] = [];

/** Learns the authors of items 0..29 from the 400 the service gives for a wrong author. */
async function discoverCandidates(base: string): Promise<void> {
  CANDIDATES = [];
  for (let item = 0; item < 30; item++) {
    const r = await json(`${base}/v1/rank`, { userId: 0, candidates: [{ itemId: item, authorId: 999999 }], k: 1 });
    assert.equal(r.status, 400);
    const m = /whose author is (\d+)/.exec(r.body.message);
    assert.ok(m, r.body.message);
    CANDIDATES.push({ itemId: item, authorId: Number(m[1]) });
  }
}

test('rliv serve (memory, inline trainer, --log-level info): rank, feedback, the version changes, requests logged as JSON on stderr, SIGTERM prints a summary', async () => {
  const models = tempDir('rliv-cli-models-');
  const bad = start(['serve', '--port', '0', '--models', models, '--log-level', 'chatty']);
  assert.equal(await bad.exited, 2);
  assert.match(bad.stderr, /--log-level must be one of fatal, error, warn, info, debug, trace, silent; got "chatty"/);
  const p = start(['serve', '--port', '0', '--models', models, '--join-window', '0.2', '--publish-every', '24', '--log-level', 'info']);
  try {
    const base = await address(p);
    const h = await json(`${base}/healthz`);
    assert.equal(h.body.modelVersion, 1);
    await discoverCandidates(base);
    await traffic(base, 8);
    await waitFor(async () => (await json(`${base}/healthz`)).body.modelVersion > 1, 180_000, 'a new version');
    assert.ok((await traffic(base, 1)) > 1);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exited, 0, p.stderr);
  const summary = JSON.parse(p.stdout.trim().split('\n').pop()!);
  assert.equal(summary.command, 'serve');
  assert.ok(summary.modelVersion > 1);
  assert.ok(summary.joiner.joinedFeedback > 0);
  // stderr: the CLI's own lines, then pino's JSON lines for every request.
  const logged = p.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const completed = logged.filter((l) => l.msg === 'request completed');
  assert.ok(completed.some((l) => l.res.statusCode === 200) && completed.some((l) => l.res.statusCode === 202), 'rank and feedback requests logged');
  assert.ok(logged.some((l) => l.msg === 'incoming request' && l.req.url === '/v1/rank'));
  assert.ok(logged.some((l) => l.msg === 'serving a new model version' && l.modelVersion > 1));
  assert.equal(p.stdout.trim().split('\n').length, 1, 'stdout has only the summary line');
});

test(
  "rliv serve --redis --trainer none + rliv train-online --redis: the trainer's version is served",
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const redis = await TestRedis.start();
    const models = tempDir('rliv-cli-models-');
    const serve = start(['serve', '--port', '0', '--models', models, '--redis', redis.url, '--trainer', 'none', '--join-window', '0.2']);
    let trainer: Proc | undefined;
    try {
      const base = await address(serve);
      trainer = start(['train-online', '--redis', redis.url, '--models', models, '--publish-every', '24', '--publish-interval', '0', '--versions', '1']);
      await discoverCandidates(base);
      await traffic(base, 8);
      assert.equal(await trainer.exited, 0, trainer.stderr);
      const t = JSON.parse(trainer.stdout.trim().split('\n').pop()!);
      assert.equal(t.published, 1);
      assert.equal(t.lastPublishedVersion, 2);
      await waitFor(async () => (await json(`${base}/healthz`)).body.modelVersion === 2, 60_000, 'the server to hot-reload version 2');
      assert.equal((await json(`${base}/healthz`)).body.store.kind, 'redis');
    } finally {
      serve.child.kill('SIGTERM');
      trainer?.child.kill('SIGTERM');
      await serve.exited;
      await redis.stop();
    }
  },
);
