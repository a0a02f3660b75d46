/**
 * The model registry never loses a trained model (issue 17): a damaged
 * LATEST.json is an error naming the file (the service never publishes an
 * untrained model over trained ones), `rliv registry repair` rebuilds it,
 * pointers cannot leave the directory, and data paths recorded in a
 * checkpoint are never read or shown by the service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, HAS_KUAIRAND_PURE, USER_FEATURES_PURE } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { SMALL_AGENT_CONFIG, SMALL_CATALOG, smallSystem } from './helpers.js';
import { encodeCheckpoint } from '../../src/agents/checkpoint.js';
import {
  freshModel,
  modelCheckpoint,
  ModelRegistry,
  RegistryError,
  servingModelCheckpoint,
  sha256Hex,
  syntheticCatalogSpec,
  type CatalogSpec,
} from '../../src/serving/model-registry.js';
import { startOnlineSystem } from '../../src/serving/online-system.js';
import { buildDescribedCatalog } from '../../src/environment/world-description.js';
import { createAgent } from '../../src/agents/registry.js';

/** A registry holding `n` versions of a small RLIV-UA (each a different seed, so each has its own bytes). */
async function trainedRegistry(n: number): Promise<ModelRegistry> {
  const registry = new ModelRegistry(tempDir('rliv-registry-'));
  const spec = syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 7);
  for (let v = 1; v <= n; v++)
    registry.publish(servingModelCheckpoint(await freshModel('RLIV-UA', spec, 100 + v, SMALL_AGENT_CONFIG), { source: `trained ${v}` }));
  return registry;
}

const versionFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^v\d+\.ckpt$/.test(f))
    .sort();

test('an unreadable LATEST.json is an error naming the file: serve exits non-zero and publishes nothing', async () => {
  const registry = await trainedRegistry(2);
  const damaged: [string, RegExp][] = [
    ['{"version": 2, "file": "v0000', /is not valid JSON/],
    ['', /is not valid JSON/],
    ['[1,2]', /is not a JSON object/],
    ['{"version": 2, "file": "v000001.ckpt", "sha256": "' + '0'.repeat(64) + '", "agent": "RLIV-UA"}', /names file "v000001.ckpt" for version 2/],
  ];
  for (const [text, problem] of damaged) {
    writeFileSync(registry.pointerPath, text);
    assert.throws(
      () => registry.latest(),
      (err: Error) =>
        err instanceof RegistryError && problem.test(err.message) && err.message.includes(registry.pointerPath) && err.message.includes('rliv registry repair'),
    );
    const r = await runCli(['serve', '--models', registry.dir, '--port', '0', '--duration', '1', '--trainer', 'none']);
    assert.equal(r.code, 1, `pointer ${JSON.stringify(text)}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /RegistryError: model registry pointer .*LATEST\.json/);
    assert.match(r.stderr, problem);
    assert.match(r.stderr, /rliv registry repair --models/);
    assert.deepEqual(versionFiles(registry.dir), ['v000001.ckpt', 'v000002.ckpt'], 'no fresh version was published');
    assert.equal(readFileSync(registry.pointerPath, 'utf8'), text, 'the pointer is left for the operator to repair');
  }
  // A trainer cannot publish over it either.
  const spec = syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 7);
  const model = await freshModel('RLIV-UA', spec, 1, SMALL_AGENT_CONFIG);
  assert.throws(() => registry.publish(servingModelCheckpoint(model)), RegistryError);
  assert.deepEqual(versionFiles(registry.dir), ['v000001.ckpt', 'v000002.ckpt']);
});

test('versions without LATEST.json: serve refuses to treat the registry as empty', async () => {
  const registry = await trainedRegistry(2);
  rmSync(registry.pointerPath);
  const r = await runCli(['serve', '--models', registry.dir, '--port', '0', '--duration', '1', '--trainer', 'none']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /holds 2 model version\(s\) \(newest v000002\.ckpt\) but no LATEST\.json; refusing to treat it as empty; run "rliv registry repair --models /,
  );
  assert.deepEqual(versionFiles(registry.dir), ['v000001.ckpt', 'v000002.ckpt']);
});

test('rliv registry repair points LATEST.json at the newest valid version (a corrupt newer one is skipped); serve then serves it', async () => {
  const registry = await trainedRegistry(3);
  const v2 = registry.readBytes({
    version: 2,
    file: 'v000002.ckpt',
    sha256: sha256Hex(readFileSync(join(registry.dir, 'v000002.ckpt'))),
    agent: 'RLIV-UA',
    publishedAt: '',
  });
  // v3 truncated, the pointer garbage.
  const v3path = join(registry.dir, 'v000003.ckpt');
  writeFileSync(v3path, readFileSync(v3path).subarray(0, 1000));
  writeFileSync(registry.pointerPath, '\u0000\u0000garbage');
  const r = await runCli(['registry', 'repair', '--models', registry.dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.summary!.version, 2);
  assert.equal(r.summary!.skipped.length, 1);
  assert.equal(r.summary!.skipped[0].file, 'v000003.ckpt');
  assert.match(r.summary!.previousProblem, /is not valid JSON/);
  const p = registry.latest()!;
  assert.equal(p.version, 2);
  assert.equal(p.sha256, sha256Hex(v2));
  const sys = await startOnlineSystem({ modelsDir: registry.dir, seed: 1, inlineTrainer: false });
  try {
    assert.equal(sys.service.holder.current.version, 2);
    assert.equal(sys.service.holder.current.sha256, p.sha256);
  } finally {
    await sys.close();
  }
  // Nothing valid at all: repair fails and says why.
  const empty = new ModelRegistry(tempDir('rliv-registry-'));
  mkdirSync(empty.dir, { recursive: true });
  const r2 = await runCli(['registry', 'repair', '--models', empty.dir]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /has no valid model version to point LATEST\.json at \(no v\*\.ckpt files\)/);
  const r3 = await runCli(['registry', 'fix', '--models', empty.dir]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /expected one action, "repair"/);
});

test('a pointer naming ../ or any other path is refused; the file outside the registry is never read', async () => {
  const registry = await trainedRegistry(1);
  const outside = tempDir('rliv-outside-');
  const spec = syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 7);
  const bytes = encodeCheckpoint(servingModelCheckpoint(await freshModel('RLIV-UA', spec, 55, SMALL_AGENT_CONFIG)));
  writeFileSync(join(outside, 'v000009.ckpt'), bytes);
  const rel = `../${outside.split('/').pop()}/v000009.ckpt`;
  for (const file of [rel, join(outside, 'v000009.ckpt'), 'sub/v000009.ckpt']) {
    writeFileSync(registry.pointerPath, JSON.stringify({ version: 9, file, sha256: sha256Hex(bytes), agent: 'RLIV-UA', publishedAt: '' }));
    assert.throws(() => registry.latest(), /names file .* for version 9; only "v000009\.ckpt" inside the registry is allowed/);
    await assert.rejects(registry.loadLatest(), RegistryError);
    assert.throws(() => registry.readBytes({ version: 9, file, sha256: sha256Hex(bytes), agent: 'RLIV-UA', publishedAt: '' }), RegistryError);
  }
});

test('a pointer damaged while serving: the current model keeps serving, healthz reports it, repair clears it', async () => {
  const sys = await smallSystem();
  try {
    const spec = sys.service.holder.current.catalogSpec;
    const p2 = sys.registry.publish(servingModelCheckpoint(await freshModel('RLIV-UA', spec, 3, SMALL_AGENT_CONFIG)));
    assert.equal(await sys.service.holder.checkNow(), true);
    assert.equal(sys.service.holder.current.version, p2.version);
    writeFileSync(sys.registry.pointerPath, '{"version": 3,');
    assert.equal(await sys.service.holder.checkNow(), false);
    assert.equal(await sys.service.holder.checkNow(), false);
    assert.equal(sys.service.holder.current.version, p2.version);
    const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.status, 'degraded');
    assert.equal(h.degraded.modelReload, true);
    assert.match(h.reload.pointerError, /LATEST\.json is not valid JSON/);
    assert.equal(h.reload.failures, 1, 'one damaged pointer is counted once');
    sys.registry.repair();
    await sys.service.holder.checkNow();
    const h2 = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h2.reload.pointerError, undefined);
    assert.equal(h2.degraded.modelReload, false);
  } finally {
    await sys.close();
  }
});

/**
 * A checkpoint of a small RLIV-UA whose recorded world names `recordedPath`
 * as its user table; its agent is built over the catalog of `realPath` when
 * given (the table the operator will name), else over a synthetic catalog of
 * the same size.
 */
async function checkpointNamingTable(recordedPath: string, realPath?: string, numUsers = SMALL_CATALOG.users): Promise<Uint8Array> {
  const description = { catalogSeed: 4242, numUsers, numItems: SMALL_CATALOG.items };
  const catalog = await buildDescribedCatalog({
    kind: 'rliv-world',
    version: 1,
    worldSeed: 1,
    ...description,
    ...(realPath ? { usersPath: realPath } : {}),
  } as never);
  const agent = createAgent('RLIV-UA', { catalog, seed: 5 }, SMALL_AGENT_CONFIG);
  const world = { kind: 'rliv-world', version: 1, worldSeed: 1, ...description, usersPath: recordedPath };
  const spec: CatalogSpec = { env: { kind: 'world', seed: 1, world }, description: { ...description, usersPath: recordedPath } };
  return encodeCheckpoint(modelCheckpoint('RLIV-UA', SMALL_AGENT_CONFIG, agent.save(), spec, 5, {}));
}

test('a data path recorded in a checkpoint is never read or echoed: hot reload, --checkpoint, and healthz', async () => {
  const secretDir = tempDir('rliv-secret-');
  const secret = join(secretDir, 'passwd');
  writeFileSync(secret, 'root:SECRET-FIRST-LINE:0:0\nsecond\n');
  const bytes = await checkpointNamingTable(secret);
  const sys = await smallSystem();
  try {
    const dir = sys.registry.dir;
    writeFileSync(join(dir, 'v000002.ckpt'), bytes);
    writeFileSync(sys.registry.pointerPath, JSON.stringify({ version: 2, file: 'v000002.ckpt', sha256: sha256Hex(bytes), agent: 'RLIV-UA', publishedAt: '' }));
    assert.equal(await sys.service.holder.checkNow(), false);
    assert.equal(sys.service.holder.current.version, 1);
    const body = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).body;
    assert.ok(!body.includes('SECRET-FIRST-LINE'), body);
    assert.ok(!body.includes(secretDir), body);
    assert.match(JSON.parse(body).reload.lastError, /model version 2 was trained on a KuaiRand user table: give the service that table with --users FILE/);
  } finally {
    await sys.close();
  }
  const file = join(tempDir(), 'ckpt.ckpt');
  writeFileSync(file, bytes);
  const r = await runCli(['serve', '--models', tempDir('rliv-models-'), '--checkpoint', file, '--port', '0', '--duration', '1', '--trainer', 'none']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /was trained on a KuaiRand user table: give the service that table with --users FILE/);
  assert.ok(!r.stderr.includes('SECRET-FIRST-LINE') && !r.stderr.includes(secretDir), r.stderr);
});

test(
  'a model trained on a KuaiRand table is served with the table the operator names; healthz shows no path',
  { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' },
  async () => {
    const bytes = await checkpointNamingTable('/somewhere/else/user_features_pure.csv', USER_FEATURES_PURE, 500);
    const file = join(tempDir(), 'ckpt.ckpt');
    writeFileSync(file, bytes);
    const sys = await startOnlineSystem({
      modelsDir: tempDir('rliv-models-'),
      checkpointPath: file,
      tables: { usersPath: USER_FEATURES_PURE },
      seed: 1,
      inlineTrainer: false,
    });
    try {
      assert.equal(sys.service.holder.current.catalog.numUsers, 500);
      const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
      assert.equal(h.model.catalog.usersTable, true);
      assert.equal(h.model.catalog.numUsers, 500);
      const text = JSON.stringify(h);
      assert.ok(!text.includes('user_features_pure.csv'), text);
    } finally {
      await sys.close();
    }
  },
);
