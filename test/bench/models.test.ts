/**
 * `rliv bench models` at toy scale: every model of the experiment trains
 * `steps` steps at the given batch on the same logging-policy sessions and
 * gets a throughput row; with Debian's PyTorch present the same step runs
 * in the reference scripts and the ratios are reported (skipped otherwise,
 * with the reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runModelsBench, type ModelBenchRow } from '../../bench/models.js';
import { torchAvailability } from '../../bench/numeric.js';
import { PAPER_MODEL_ORDER } from '../../src/agents/registry.js';
import { Rng } from '../../src/numeric/rng.js';
import { buildCatalog } from '../../src/world/catalog-builder.js';

const catalog = buildCatalog({ numUsers: 150, numItems: 400 }, new Rng(4));
const quiet = { log: () => {}, seed: 3 };

test('bench models: one row per model, every model steps at the given batch', { timeout: 600_000 }, async () => {
  const r = await runModelsBench({ catalog, batch: 32, steps: 1, warmup: 1, repeats: 1, users: 150, torch: false }, quiet);
  const rows = r.models as ModelBenchRow[];
  assert.deepEqual(
    rows.map((x) => x.model),
    [...PAPER_MODEL_ORDER],
  );
  for (const row of rows) {
    assert.ok(row.samplesPerSec > 0 && row.samplesPerCpuSec > 0 && row.msPerStep > 0, `${row.model}: ${JSON.stringify(row)}`);
    assert.equal(row.ratioWall, undefined);
    assert.match(row.torchSkipped ?? '', /disabled/);
  }
  await assert.rejects(runModelsBench({ catalog, models: ['DQN2'], torch: false }, quiet), /unknown model "DQN2"/);
});

test(
  'bench models: ratios against the PyTorch references',
  { timeout: 600_000, skip: torchAvailability().ok ? false : torchAvailability().reason },
  async () => {
    const r = await runModelsBench(
      { catalog, models: ['DQN', 'RLUR', 'RLIV-UA(w/o SL)'], batch: 32, steps: 1, warmup: 1, repeats: 1, users: 150, torch: true },
      quiet,
    );
    assert.equal(typeof r.torch, 'string');
    for (const row of r.models as ModelBenchRow[]) {
      assert.ok(row.torchSamplesPerSec! > 0 && row.ratioWall! > 0 && row.ratioCpu! > 0, `${row.model}: ${JSON.stringify(row)}`);
      assert.ok(Math.abs(row.ratioWall! - row.samplesPerSec / row.torchSamplesPerSec!) <= 0.01 * row.ratioWall! + 0.01);
    }
  },
);
