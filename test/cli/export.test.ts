/**
 * rliv export --format safetensors: the file read back by an independent
 * reader (scripts/rliv_safetensors.py: Python's struct + json + numpy, no
 * code of this project) whose LIV per tower, computed from the exported
 * weights and lookups by the documented recipe, matches the agent's own
 * scorer to 1e-5. Also checked byte by byte here against the format's
 * rules. Skipped, with the reason printed, when /usr/bin/python3 has no numpy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOWERS, TOWER_COUNT, PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { saveCheckpoint } from '../../src/agents/checkpoint.js';
import { freshModel, servingModelCheckpoint, syntheticCatalogSpec } from '../../src/serving/model-registry.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import { countBucket } from '../../src/agents/rliv-ua-embedding.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

const PYTHON = process.env.RLIV_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
const skip = probe.status === 0 ? undefined : `${PYTHON} with numpy not found (apt-get install python3-numpy): the independent reader is not run`;
if (skip) process.stdout.write(`# export test skipped: ${skip}\n`);

/** A small fresh model of `variant`, saved as DIR/model.ckpt and exported with `rliv export --format FORMAT`. */
async function exported(variant: string, format: 'safetensors' | 'onnx') {
  const dir = tempDir(`rliv-export-${format}-`);
  const model = await freshModel(variant, syntheticCatalogSpec(60, 400, 3), 5, { batchSize: 32, minReplaySize: 16, embeddingRows: 4096, replayCapacity: 1000 });
  const ckpt = join(dir, 'model.ckpt');
  saveCheckpoint(ckpt, servingModelCheckpoint(model));
  const r = await runCli(['export', '--checkpoint', ckpt, '--format', format, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, `model.${format}`);
  assert.equal(r.summary!.file, file);
  return { dir, model, ckpt, file };
}

for (const variant of ['RLIV-UA', 'RLIV-UA(w/o SL)']) {
  test(
    `rliv export ${variant} --format safetensors: an independent numpy reader gets the agent's LIV per tower to 1e-5`,
    { skip, timeout: 120_000 },
    async () => {
      const { dir, model, ckpt, file } = await exported(variant, 'safetensors');

      // The format, read here by hand: u64 header length, JSON header padded to 8, contiguous F32 tensors.
      const bytes = readFileSync(file);
      const n = Number(bytes.readBigUInt64LE(0));
      assert.equal(n % 8, 0);
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      let end = 0;
      for (const name of names) {
        const t = header[name];
        assert.equal(t.dtype, 'F32');
        assert.equal(t.data_offsets[0], end, `${name} starts where the previous tensor ends`);
        assert.equal(t.data_offsets[1] - t.data_offsets[0], 4 * t.shape.reduce((a: number, b: number) => a * b, 1));
        end = t.data_offsets[1];
      }
      assert.equal(8 + n + end, bytes.length, 'the tensors fill the file');
      assert.deepEqual(header['lookup.user'].shape, [60, 32]);
      assert.deepEqual(header['lookup.item'].shape, [400, 32]);
      assert.deepEqual(header['lookup.count'].shape[0], PAIR_COUNT_DIM);
      assert.deepEqual(header['rliv.watchTime.0.weight'].shape, [(variant === 'RLIV-UA' ? 3 : 2) * 64, 96]);
      assert.equal(header.__metadata__.agent, variant);

      // The agent's own LIV for a user's candidates, some with pair counts.
      const items = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 400);
      const counts = new Float32Array(items.length * PAIR_COUNT_DIM);
      for (let i = 0; i < items.length; i += 3) for (let k = 0; k < PAIR_COUNT_DIM; k++) counts[i * PAIR_COUNT_DIM + k] = k === 6 ? 17.5 * i : (i + k) % 5;
      const ours = new Float32Array(items.length * TOWER_COUNT);
      model.ranker.towerLiv!.livPerTower({ user: 11, candidates: items, candidatePairCounts: counts, summary: new Float32Array(SESSION_SUMMARY_DIM) }, ours);
      const query = join(dir, 'query.json');
      writeFileSync(
        query,
        JSON.stringify({
          user: 11,
          items: [...items],
          counts: Array.from({ length: items.length }, (_, i) => [...counts.subarray(i * PAIR_COUNT_DIM, (i + 1) * PAIR_COUNT_DIM)]),
        }),
      );
      const py = spawnSync(PYTHON, [join(REPO_ROOT, 'scripts/rliv_safetensors.py'), file, query], { encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      const theirs = JSON.parse(py.stdout) as { agent: string; liv: Record<string, number[]>; shapes: Record<string, number[]> };
      assert.equal(theirs.agent, variant);
      assert.deepEqual(Object.keys(theirs.liv).sort(), [...model.ranker.towerLiv!.trainedTowers].sort());
      let worst = 0;
      for (const [tower, values] of Object.entries(theirs.liv)) {
        const t = TOWERS.indexOf(tower as never);
        values.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - ours[i * TOWER_COUNT + t]!));
        });
      }
      assert.ok(worst <= 1e-5, `largest difference ${worst}`);
      const distinct = new Set(theirs.liv.watchTime!.map((v) => v.toFixed(6))).size;
      assert.ok(distinct > 10, 'the candidates get different LIVs (the comparison is not of constants)');
      assert.deepEqual(theirs.shapes['rliv.embedding'], header['rliv.embedding'].shape);

      // Bad input: an existing --out without --force, a baseline's checkpoint.
      const again = await runCli(['export', '--checkpoint', ckpt, '--quiet']);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /model\.safetensors exists; refusing to overwrite it/);
    },
  );
}

test('rliv export refuses a baseline checkpoint and a missing file, naming them', async () => {
  const dir = tempDir('rliv-export-bad-');
  const model = await freshModel('DQN', syntheticCatalogSpec(30, 100, 3), 5, { batchSize: 16 });
  const ckpt = join(dir, 'dqn.ckpt');
  saveCheckpoint(ckpt, servingModelCheckpoint(model));
  const r = await runCli(['export', '--checkpoint', ckpt]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /DQN: export is for RLIV-UA and its variants/);
  const missing = await runCli(['export', '--checkpoint', join(dir, 'nope.ckpt')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--checkpoint .*nope\.ckpt: ENOENT/);
});

for (const variant of ['RLIV-UA', 'RLIV-UA(w/o SL)']) {
  test(
    `rliv export ${variant} --format onnx: onnxruntime-web in Node gives the agent's LIV per tower and ranking score to 1e-5`,
    { timeout: 120_000 },
    async () => {
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = 1;
      const { model, file } = await exported(variant, 'onnx');
      const session = await ort.InferenceSession.create(readFileSync(file));
      assert.deepEqual(session.inputNames, ['H']);
      assert.deepEqual(session.outputNames, ['liv', 'score']);

      // The caller's embedding lookup: H = concat(h_u, h_a, sum_k e(k, bucket(count_k))) per candidate.
      const agent = model.ranker as unknown as {
        network: {
          embedding: {
            dim: number;
            countBuckets: number;
            userVector(u: number, o: Float32Array, at: number): void;
            authorVector(i: number, o: Float32Array, at: number): void;
            countVector(k: number, b: number, o: Float32Array, at: number): void;
          };
        };
      };
      const emb = agent.network.embedding;
      const d = emb.dim;
      const user = 9;
      const items = Int32Array.from({ length: 50 }, (_, i) => (i * 11 + 3) % 400);
      const counts = new Float32Array(items.length * PAIR_COUNT_DIM);
      for (let i = 0; i < items.length; i += 2) for (let k = 0; k < PAIR_COUNT_DIM; k++) counts[i * PAIR_COUNT_DIM + k] = k === 6 ? 9.5 * i : (i * (k + 1)) % 7;
      const H = new Float32Array(items.length * 3 * d);
      const e = new Float32Array(d);
      items.forEach((item, i) => {
        const o = i * 3 * d;
        emb.userVector(user, H, o);
        emb.authorVector(item, H, o + d);
        for (let k = 0; k < PAIR_COUNT_DIM; k++) {
          emb.countVector(k, countBucket(counts[i * PAIR_COUNT_DIM + k]!, emb.countBuckets), e, 0);
          for (let j = 0; j < d; j++) H[o + 2 * d + j]! += e[j]!;
        }
      });
      const out = await session.run({ H: new ort.Tensor('float32', H, [items.length, 3 * d]) });
      const liv = out.liv!.data as Float32Array;
      const score = out.score!.data as Float32Array;
      const request = { user, candidates: items, candidatePairCounts: counts, summary: new Float32Array(SESSION_SUMMARY_DIM) };
      const ours = new Float32Array(items.length * TOWER_COUNT);
      model.ranker.towerLiv!.livPerTower(request, ours);
      const trained = model.ranker.towerLiv!.trainedTowers;
      assert.deepEqual(out.liv!.dims, [items.length, trained.length]);
      let worst = 0;
      trained.forEach((tower, c) => {
        const t = TOWERS.indexOf(tower);
        for (let i = 0; i < items.length; i++) worst = Math.max(worst, Math.abs(liv[i * trained.length + c]! - ours[i * TOWER_COUNT + t]!));
      });
      assert.ok(worst <= 1e-5, `LIV: largest difference ${worst}`);
      const ourScore = new Float32Array(items.length);
      model.ranker.score(request, ourScore);
      let worstScore = 0;
      for (let i = 0; i < items.length; i++) worstScore = Math.max(worstScore, Math.abs(score[i]! - ourScore[i]!));
      assert.ok(worstScore <= 1e-5, `score: largest difference ${worstScore}`);
      assert.ok(new Set(Array.from(ourScore, (v) => v.toFixed(5))).size > 20, 'the scores differ between candidates');
    },
  );
}
