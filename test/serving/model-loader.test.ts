import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { freshModel, ModelLoadError, ModelRegistry, servingModelCheckpoint, syntheticCatalogSpec } from '../../src/serving/model-registry.js';
import { ModelLoaderThread } from '../../src/serving/model-loader.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import type { RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { SMALL_AGENT_CONFIG, SMALL_CATALOG } from './helpers.js';

test('loader thread: a published RLIV-UA version serves the same LIV as a full load; corrupt versions are refused', async () => {
  const spec = syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 3);
  const src = await freshModel('RLIV-UA', spec, 5, SMALL_AGENT_CONFIG);
  // Published parameters differ from a fresh agent's: the recycled ranker below must really be overwritten.
  const agent = src.ranker as RlivUaAgent;
  for (const p of agent.network.allParams()) for (let i = 0; i < p.value.length; i += 3) p.value[i]! += 0.05;
  agent.network.embedding.invalidate();
  const other = await freshModel('RLIV-UA', spec, 5, SMALL_AGENT_CONFIG);
  const registry = new ModelRegistry(tempDir('rliv-loader-'));
  const pointer = registry.publish(servingModelCheckpoint(src));
  const loader = new ModelLoaderThread();
  try {
    const full = (await registry.loadLatest())!;
    const viaThread = await loader.load(registry.dir, pointer, other);
    assert.equal(viaThread.ranker, other.ranker, 'recycled ranker');
    assert.equal(viaThread.version, pointer.version);
    assert.equal(viaThread.sha256, pointer.sha256);
    const n = 40;
    const req = {
      user: 7,
      candidates: Int32Array.from({ length: n }, (_, i) => i * 3),
      candidatePairCounts: new Float32Array(n * PAIR_COUNT_DIM).fill(2),
      summary: new Float32Array(SESSION_SUMMARY_DIM),
    };
    const a = new Float32Array(n * TOWER_COUNT);
    const b = new Float32Array(n * TOWER_COUNT);
    full.ranker.towerLiv!.livPerTower(req, a);
    const fresh = new Float32Array(n * TOWER_COUNT);
    (await freshModel('RLIV-UA', spec, 5, SMALL_AGENT_CONFIG)).ranker.towerLiv!.livPerTower(req, fresh);
    assert.notDeepEqual(Array.from(fresh), Array.from(a));
    viaThread.ranker.towerLiv!.livPerTower(req, b);
    assert.deepEqual(Array.from(b), Array.from(a));
    assert.throws(() => viaThread.ranker.save(), /loadParameters/);

    // Corrupt file: the pointer's SHA-256 refuses it, the recycled model is unchanged.
    const path = join(registry.dir, pointer.file);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(path, bytes);
    await assert.rejects(loader.load(registry.dir, pointer, viaThread), (err: unknown) => err instanceof ModelLoadError && /corrupted/.test(err.message));
    const c = new Float32Array(n * TOWER_COUNT);
    viaThread.ranker.towerLiv!.livPerTower(req, c);
    assert.deepEqual(Array.from(c), Array.from(a));
  } finally {
    await loader.close();
  }
});
