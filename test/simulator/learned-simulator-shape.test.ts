/**
 * The learned simulator's shape options of the offline instrument
 * (docs/design.md §10.3): separate cross factors, the log-source input,
 * the click-logit offsets of session repeats, and old files loading with
 * the shape they were fitted with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { saveParams } from '../../src/numeric/index.js';
import { allocExposureBatch } from '../../src/environment/environment.js';
import {
  DEFAULT_SIMULATOR_SHAPE,
  HEAD_CLICK,
  LEGACY_SIMULATOR_SHAPE,
  LearnedSimulator,
  OUTPUT_DIM,
  catalogFingerprint,
  log2Bucket,
} from '../../src/simulator/learned-simulator.js';
import { loadSimulatorEnsemble } from '../../src/simulator/simulator-ensemble.js';
import { selectionPairs } from '../../src/simulator/selection-model.js';
import type { ExposureBatch } from '../../src/world/response.js';
import { tempDir } from '../helpers/paths.js';
import { tinyCatalog } from '../helpers/tiny-world.js';

const catalog = tinyCatalog();

function randomBatch(n: number, seed: number): ExposureBatch {
  const b = allocExposureBatch(n);
  const rng = new Rng(seed);
  b.count = n;
  for (let e = 0; e < n; e++) {
    b.user[e] = rng.int(catalog.numUsers);
    b.item[e] = rng.int(catalog.numItems);
    b.repeatAuthor[e] = rng.int(20);
    b.repeatTag[e] = rng.int(40);
    b.position[e] = e % 6;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) b.pairCounts[e * PAIR_COUNT_DIM + k] = rng.int(3) * rng.int(9);
  }
  return b;
}

function encoded(sim: LearnedSimulator, b: ExposureBatch, standardLog?: Uint8Array): Int32Array {
  const rows = new Int32Array(b.count * sim.lookups);
  sim.encode(b.count, b.user, b.item, b.pairCounts, b.repeatAuthor, b.repeatTag, b.position, rows, standardLog);
  return rows;
}

test("the defaults are the instrument's shape; old files get the shape they were fitted with", () => {
  assert.equal(DEFAULT_SIMULATOR_SHAPE.crossRows, 'separate');
  assert.equal(DEFAULT_SIMULATOR_SHAPE.logSourceInput, true);
  assert.equal(DEFAULT_SIMULATOR_SHAPE.sessionContext, 'offset');
  assert.equal(DEFAULT_SIMULATOR_SHAPE.selectionDim, 16);
  assert.equal(DEFAULT_SIMULATOR_SHAPE.fatigueFrom, 'unselected');
  assert.deepEqual(LEGACY_SIMULATOR_SHAPE, {
    crossRows: 'shared',
    repeatBuckets: 'linear',
    logSourceInput: false,
    sessionContext: 'trunk',
    selectionDim: 0,
    fatigueFrom: 'all',
  });
  assert.throws(() => new LearnedSimulator(catalog, { selectionDim: 1.5 }), /selectionDim must be an integer >= 0 \(0 = no selection model\), got 1.5/);
  assert.throws(() => new LearnedSimulator(catalog, { crossRows: 'both' as 'shared' }), /crossRows must be "separate" or "shared", got "both"/);
  assert.throws(() => new LearnedSimulator(catalog, { sessionContext: 'mlp' as 'trunk' }), /sessionContext must be "offset" or "trunk"/);
});

test('crossRows: shared crosses multiply the id rows; separate crosses have rows of their own', () => {
  const b = randomBatch(20, 1);
  for (const crossRows of ['shared', 'separate'] as const) {
    const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8], crossRows, logSourceInput: false, sessionContext: 'trunk' }, 3);
    const rows = encoded(sim, b);
    const L = sim.lookups;
    const idUser = rows[0]!; // the first lookup of an exposure is the user id, then the user features, then the item id and author
    const nuf = catalog.userFeatureFields.length;
    for (let e = 0; e < b.count; e++) {
      const cross = [rows[e * L + L - 3]!, rows[e * L + L - 2]!, rows[e * L + L - 1]!];
      const ids = [rows[e * L]!, rows[e * L + 1 + nuf]!, rows[e * L + 2 + nuf]!];
      if (crossRows === 'shared') assert.deepEqual(cross, ids);
      else for (let j = 0; j < 3; j++) assert.notEqual(cross[j], ids[j]);
    }
    assert.ok(idUser >= 0);
  }
});

test("scatterGrad puts the crosses' gradient on the cross rows: finite differences of <dX, gatherInput(table)>", () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, embeddingDim: 4, hidden: [8] }, 5);
  const table = sim.embedding.table;
  const rng = new Rng(9);
  for (let i = 0; i < table.value.length; i++) table.value[i] = 0.5 * rng.normal();
  const b = randomBatch(6, 2);
  const rows = encoded(sim, b);
  const x = new Float32Array(b.count * sim.inputDim);
  const dx = Float32Array.from({ length: x.length }, () => rng.normal());
  const objective = (): number => {
    sim.gatherInput(rows, b.count, x);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += dx[i]! * x[i]!;
    return s;
  };
  table.grad.fill(0);
  sim.gatherInput(rows, b.count, x);
  sim.scatterGrad(rows, b.count, Float32Array.from(dx), x);
  const d = sim.shape.embeddingDim;
  const L = sim.lookups;
  // The cross rows of the first exposure (user, item, author factors) and its item-id row.
  for (const row of [rows[L - 3]!, rows[L - 2]!, rows[L - 1]!, rows[1 + catalog.userFeatureFields.length]!]) {
    for (let j = 0; j < d; j++) {
      const i = row * d + j;
      const keep = table.value[i]!;
      const h = 1e-2;
      table.value[i] = keep + h;
      const up = objective();
      table.value[i] = keep - h;
      const down = objective();
      table.value[i] = keep;
      const numeric = (up - down) / (2 * h);
      assert.ok(
        Math.abs(numeric - table.grad[i]!) < 2e-2 * (1 + Math.abs(numeric)),
        `row ${row} dim ${j}: finite difference ${numeric} vs scatterGrad ${table.grad[i]}`,
      );
    }
  }
});

test("logSourceInput: a standard-log exposure reads its own row; simulation answers as the random log's", () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8] }, 7);
  const b = randomBatch(10, 3);
  const L = sim.lookups;
  const unselected = encoded(sim, b);
  const standard = encoded(sim, b, new Uint8Array(b.count).fill(1));
  const source = L - 4; // the source lookup closes the context lookups, before the three cross rows
  for (let e = 0; e < b.count; e++) {
    assert.notEqual(standard[e * L + source], unselected[e * L + source]);
    for (let l = 0; l < L; l++) if (l !== source) assert.equal(standard[e * L + l], unselected[e * L + l]);
  }
  // The factored forward (what simulation runs) equals the training path with every exposure unselected.
  const rng = new Rng(4);
  for (const p of sim.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = 0.3 * rng.normal();
  sim.invalidateCache();
  const factored = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  const x = new Float32Array(b.count * sim.inputDim);
  sim.gatherInput(unselected, b.count, x);
  const direct = Float32Array.from(sim.mlp.forward(x, b.count).subarray(0, b.count * OUTPUT_DIM)); // the trunk reuses its output buffer
  sim.addClickOffsets(b.count, b, undefined, direct);
  for (let i = 0; i < b.count * OUTPUT_DIM; i++) assert.ok(Math.abs(factored[i]! - direct[i]!) < 1e-4, `output ${i}: ${factored[i]} vs ${direct[i]}`);
  sim.gatherInput(standard, b.count, x);
  const asStandard = sim.mlp.forward(x, b.count);
  let moved = 0;
  for (let e = 0; e < b.count; e++) moved += Math.abs(asStandard[e * OUTPUT_DIM + HEAD_CLICK]! - direct[e * OUTPUT_DIM + HEAD_CLICK]!);
  assert.ok(moved > 1e-3, 'the source row changes the click logit');
});

test("the log's own policy: exposures marked standardLog are answered through the standard-log row, offsets and selection weight, exactly as the training path", () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8] }, 7);
  assert.ok(sim.selectionWeight && sim.clickOffsets, 'the default shape has the selection weight and the click offsets');
  const b = randomBatch(12, 5);
  const marks = new Uint8Array(b.count);
  for (let e = 0; e < b.count; e++) marks[e] = e % 3 === 0 ? 0 : 1;
  b.standardLog!.set(marks);
  const rng = new Rng(6);
  for (const p of sim.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = 0.3 * rng.normal();
  sim.invalidateCache();
  const factored = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  const x = new Float32Array(b.count * sim.inputDim);
  sim.gatherInput(encoded(sim, b, marks), b.count, x);
  const direct = Float32Array.from(sim.mlp.forward(x, b.count).subarray(0, b.count * OUTPUT_DIM));
  sim.addClickOffsets(b.count, b, marks, direct);
  for (let i = 0; i < b.count * OUTPUT_DIM; i++) assert.ok(Math.abs(factored[i]! - direct[i]!) < 1e-4, `output ${i}: ${factored[i]} vs ${direct[i]}`);
  // Unmarked, the same exposures give other click logits where they were marked, the same where they were not.
  b.standardLog!.fill(0);
  const unmarked = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  for (let e = 0; e < b.count; e++) {
    const d = Math.abs(unmarked[e * OUTPUT_DIM + HEAD_CLICK]! - factored[e * OUTPUT_DIM + HEAD_CLICK]!);
    if (marks[e] === 1) assert.ok(d > 1e-4, `exposure ${e}: marking it changes its click logit`);
    else assert.ok(d < 1e-6, `exposure ${e}: unmarked in both`);
  }
});

test('sessionContext offset: the click logit moves by the random-log offsets of the repeat buckets exactly; the trunk sees no repeats', () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8] }, 11);
  const off = sim.clickOffsets!;
  assert.ok(off, 'offsets exist by default');
  const b = randomBatch(12, 5);
  const base = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  // 64 offsets: (source, kind, bucket) = ((source * 2 + kind) * 16 + bucket).
  for (let i = 0; i < off.value.length; i++) off.value[i] = 0.01 * (i + 1);
  sim.invalidateCache();
  const moved = sim.forward(b);
  for (let e = 0; e < b.count; e++) {
    const expected = 0.01 * (log2Bucket(b.repeatAuthor[e]!, 15) + 1) + 0.01 * (16 + log2Bucket(b.repeatTag[e]!, 15) + 1);
    assert.ok(Math.abs(moved[e * OUTPUT_DIM + HEAD_CLICK]! - base[e * OUTPUT_DIM + HEAD_CLICK]! - expected) < 1e-5, `exposure ${e}`);
    for (let h = 0; h < OUTPUT_DIM; h++) if (h !== HEAD_CLICK) assert.equal(moved[e * OUTPUT_DIM + h], base[e * OUTPUT_DIM + h]);
  }
  // No repeat count reaches the trunk: changing them changes nothing but the offsets.
  off.value.fill(0);
  sim.invalidateCache();
  const before = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  for (let e = 0; e < b.count; e++) b.repeatAuthor[e] = b.repeatAuthor[e]! + 7;
  const after = sim.forward(b);
  for (let i = 0; i < b.count * OUTPUT_DIM; i++) assert.equal(after[i], before[i]);
  // The gradient: each exposure's click-logit gradient lands on its two offsets of its own source.
  const grad = new Float32Array(b.count * OUTPUT_DIM);
  for (let e = 0; e < b.count; e++) grad[e * OUTPUT_DIM + HEAD_CLICK] = e + 1;
  const standard = Uint8Array.from({ length: b.count }, (_, e) => e % 2);
  off.grad.fill(0);
  sim.clickOffsetsBackward(b.count, b, standard, grad);
  const expected = new Float64Array(off.value.length);
  for (let e = 0; e < b.count; e++) {
    expected[standard[e]! * 2 * 16 + log2Bucket(b.repeatAuthor[e]!, 15)]! += e + 1;
    expected[(standard[e]! * 2 + 1) * 16 + log2Bucket(b.repeatTag[e]!, 15)]! += e + 1;
  }
  for (let i = 0; i < expected.length; i++) assert.equal(off.grad[i], expected[i]);
});

test('fatigueFrom unselected: a logged random-log exposure after a chosen repeat reads the after-chosen set; standard rows and simulation do not', () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8] }, 17);
  const off = sim.clickOffsets!;
  assert.equal(off.value.length, 3 * 2 * 16, 'three offset sets: random, standard, random after a chosen repeat');
  assert.equal(new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8], fatigueFrom: 'all' }, 17).clickOffsets!.value.length, 2 * 2 * 16);
  assert.throws(() => new LearnedSimulator(catalog, { fatigueFrom: 'some' as 'all' }), /fatigueFrom must be "unselected" or "all", got "some"/);
  const b = randomBatch(12, 9);
  off.value.fill(0);
  sim.invalidateCache();
  const base = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  for (let i = 0; i < off.value.length; i++) off.value[i] = 0.01 * (i + 1);
  sim.invalidateCache();
  // Simulation: no chosen counts, so every unmarked exposure reads set 0 (as in the test above).
  const simulated = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  // Logged: exposures 0-3 after a chosen author, 4-7 after a chosen tag, 8-11 neither; odd ones are standard-log rows.
  const logged = { ...b, chosenRepeatAuthor: new Float32Array(12), chosenRepeatTag: new Float32Array(12), standardLog: new Uint8Array(12) };
  for (let e = 0; e < 12; e++) {
    if (e < 4) logged.chosenRepeatAuthor[e] = 1 + e;
    else if (e < 8) logged.chosenRepeatTag[e] = 1;
    logged.standardLog[e] = e % 2;
  }
  const y = sim.forward(logged);
  for (let e = 0; e < 12; e++) {
    const std = e % 2 === 1;
    const setA = std ? 1 : e < 4 ? 2 : 0;
    const setT = std ? 1 : e >= 4 && e < 8 ? 2 : 0;
    const expected = 0.01 * (setA * 2 * 16 + log2Bucket(b.repeatAuthor[e]!, 15) + 1) + 0.01 * ((setT * 2 + 1) * 16 + log2Bucket(b.repeatTag[e]!, 15) + 1);
    const start = std ? undefined : base[e * OUTPUT_DIM + HEAD_CLICK]!;
    if (start !== undefined) assert.ok(Math.abs(y[e * OUTPUT_DIM + HEAD_CLICK]! - start - expected) < 1e-5, `exposure ${e}`);
    if (!std)
      assert.ok(
        Math.abs(
          simulated[e * OUTPUT_DIM + HEAD_CLICK]! -
            base[e * OUTPUT_DIM + HEAD_CLICK]! -
            (0.01 * (log2Bucket(b.repeatAuthor[e]!, 15) + 1) + 0.01 * (16 + log2Bucket(b.repeatTag[e]!, 15) + 1)),
        ) < 1e-5,
      );
  }
  // The gradient lands on the same sets.
  const grad = new Float32Array(12 * OUTPUT_DIM);
  for (let e = 0; e < 12; e++) grad[e * OUTPUT_DIM + HEAD_CLICK] = e + 1;
  off.grad.fill(0);
  sim.clickOffsetsBackward(12, logged, logged.standardLog, grad);
  const expected = new Float64Array(off.value.length);
  for (let e = 0; e < 12; e++) {
    const std = e % 2 === 1;
    expected[(std ? 1 : e < 4 ? 2 : 0) * 2 * 16 + log2Bucket(b.repeatAuthor[e]!, 15)]! += e + 1;
    expected[((std ? 1 : e >= 4 && e < 8 ? 2 : 0) * 2 + 1) * 16 + log2Bucket(b.repeatTag[e]!, 15)]! += e + 1;
  }
  for (let i = 0; i < expected.length; i++) assert.equal(off.grad[i], expected[i]);
});

test('a simulator file without the new shape fields loads as it was fitted: shared crosses, linear repeats in the trunk, no source input', () => {
  const old = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8], ...LEGACY_SIMULATOR_SHAPE }, 13);
  const path = join(tempDir('rliv-sim-shape-'), 'old.bin');
  const { crossRows: _c, repeatBuckets: _r, logSourceInput: _l, sessionContext: _s, selectionDim: _q, fatigueFrom: _f, ...oldShape } = old.shape;
  saveParams(path, old.params(), {
    kind: 'rliv-learned-simulator',
    version: 1,
    shape: oldShape,
    calibration: old.calibration,
    catalog: catalogFingerprint(catalog),
  });
  const loaded = loadSimulatorEnsemble(path, catalog);
  const m = loaded.members[0]!;
  assert.equal(m.shape.crossRows, 'shared');
  assert.equal(m.shape.repeatBuckets, 'linear');
  assert.equal(m.shape.logSourceInput, false);
  assert.equal(m.shape.sessionContext, 'trunk');
  assert.equal(m.clickOffsets, null);
  assert.equal(m.shape.selectionDim, 0);
  assert.equal(m.selection, null);
  assert.equal(m.selectionWeight, null);
  const b = randomBatch(8, 6);
  const a = Float32Array.from(old.forward(b).subarray(0, 8 * OUTPUT_DIM));
  const c = m.forward(b);
  for (let i = 0; i < 8 * OUTPUT_DIM; i++) assert.equal(c[i], a[i]);
});

test('selection model: r is the factor dot product plus three biases; its loss gradient matches finite differences; the click moves by w_source * r, and its gradient reaches w only', () => {
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 12, hidden: [8], sessionContext: 'trunk', selectionDim: 3 }, 17);
  const sel = sim.selection!;
  const table = sel.table;
  const rng = new Rng(21);
  for (let i = 0; i < table.value.length; i++) table.value[i] = 0.4 * rng.normal();
  // r by hand for one pair: rows are users, then authors, then tags, each 3 factors and a bias.
  {
    const u = 2,
      i = 5;
    const row = (r: number) => Array.from(table.value.subarray(r * 4, r * 4 + 4));
    const su = row(u),
      sa = row(catalog.numUsers + catalog.itemAuthor[i]!),
      st = row(catalog.numUsers + catalog.numAuthors + catalog.itemTag[i]!);
    const byHand = su[3]! + sa[3]! + st[3]! + su[0]! * (sa[0]! + st[0]!) + su[1]! * (sa[1]! + st[1]!) + su[2]! * (sa[2]! + st[2]!);
    assert.ok(Math.abs(sim.selectionLogit(u, i) - byHand) < 1e-6, `r ${sim.selectionLogit(u, i)} vs by hand ${byHand}`);
  }
  const b = randomBatch(16, 9);
  const label = Uint8Array.from({ length: b.count }, (_, e) => ((e * 7) % 3 === 0 ? 0 : 1));
  // The mean BCE of sigmoid(r) against the label, recomputed from selectionLogit.
  const loss = (): number => {
    let s = 0;
    for (let e = 0; e < b.count; e++) {
      const z = sim.selectionLogit(b.user[e]!, b.item[e]!);
      s += label[e] === 1 ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }
    return s / b.count;
  };
  table.grad.fill(0);
  const reported = sel.backward(b.count, b.user, b.item, label);
  assert.ok(Math.abs(reported - loss()) < 1e-9, `reported loss ${reported} vs ${loss()}`);
  let checked = 0;
  for (let i = 0; i < table.value.length && checked < 60; i++) {
    if (table.grad[i] === 0) continue;
    const keep = table.value[i]!;
    const h = 1e-2;
    table.value[i] = keep + h;
    const up = loss();
    table.value[i] = keep - h;
    const down = loss();
    table.value[i] = keep;
    const numeric = (up - down) / (2 * h);
    assert.ok(
      Math.abs(numeric - table.grad[i]!) < 1e-3 * (1 + Math.abs(numeric)),
      `table element ${i}: finite difference ${numeric} vs backward ${table.grad[i]}`,
    );
    checked++;
  }
  assert.ok(checked >= 40, `checked ${checked} gradient entries`);

  // The click logit: simulation adds w[0] * r (the random log's weight); nothing else moves.
  const w = sim.selectionWeight!;
  w.value.fill(0);
  sim.invalidateCache();
  const base = Float32Array.from(sim.forward(b).subarray(0, b.count * OUTPUT_DIM));
  w.value[0] = 0.7;
  w.value[1] = -3;
  sim.invalidateCache();
  const moved = sim.forward(b);
  for (let e = 0; e < b.count; e++) {
    const r = sim.selectionLogit(b.user[e]!, b.item[e]!);
    assert.ok(Math.abs(moved[e * OUTPUT_DIM + HEAD_CLICK]! - base[e * OUTPUT_DIM + HEAD_CLICK]! - 0.7 * r) < 1e-4, `exposure ${e}`);
    for (let hd = 0; hd < OUTPUT_DIM; hd++) if (hd !== HEAD_CLICK) assert.equal(moved[e * OUTPUT_DIM + hd], base[e * OUTPUT_DIM + hd]);
  }
  // Its gradient lands on the weight of each exposure's own source, times r; the selection model gets none from the click.
  const grad = new Float32Array(b.count * OUTPUT_DIM);
  for (let e = 0; e < b.count; e++) grad[e * OUTPUT_DIM + HEAD_CLICK] = e + 1;
  w.grad.fill(0);
  table.grad.fill(0);
  sim.clickOffsetsBackward(b.count, b, label, grad);
  const expected = [0, 0];
  for (let e = 0; e < b.count; e++) expected[label[e]!]! += (e + 1) * sim.selectionLogit(b.user[e]!, b.item[e]!);
  assert.ok(Math.abs(w.grad[0]! - expected[0]!) < 1e-3 && Math.abs(w.grad[1]! - expected[1]!) < 1e-3, `w grad ${Array.from(w.grad)} vs ${expected}`);
  assert.ok(
    table.grad.every((g) => g === 0),
    'the click loss does not train the selection model',
  );
});

test('selection pairs: each standard-log row is a positive with its negatives for the same user, drawn from the pool; random-log rows are negatives', () => {
  const user = Int32Array.of(4, 7, 9),
    item = Int32Array.of(10, 11, 12),
    standard = Uint8Array.of(1, 0, 1);
  const pool = Int32Array.of(100, 200);
  const cap = 3 * 3;
  const ou = new Int32Array(cap),
    oi = new Int32Array(cap),
    ol = new Uint8Array(cap);
  const n = selectionPairs(3, user, item, standard, 2, pool, new Rng(3), ou, oi, ol);
  assert.equal(n, 1 + 2 + 1 + 1 + 2);
  assert.deepEqual(Array.from(ou.subarray(0, n)), [4, 4, 4, 7, 9, 9, 9]);
  assert.deepEqual(Array.from(ol.subarray(0, n)), [1, 0, 0, 0, 1, 0, 0]);
  assert.deepEqual([oi[0], oi[3], oi[4]], [10, 11, 12]);
  for (const k of [1, 2, 5, 6]) assert.ok(oi[k] === 100 || oi[k] === 200, `negative ${k} comes from the pool`);
  // Same seed, same draws.
  const oi2 = new Int32Array(cap);
  selectionPairs(3, user, item, standard, 2, pool, new Rng(3), new Int32Array(cap), oi2, new Uint8Array(cap));
  assert.deepEqual(oi2, oi);
});
