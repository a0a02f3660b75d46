#!/usr/bin/env node
/**
 * Diagnostic behind docs/design.md §10.2 "Pair counts past the logs' range":
 * where does the learned simulator answer a trained policy differently from
 * the ground-truth world?
 *
 * Retrains one (model, seed) job of a finished `rliv experiment` run exactly
 * as the run did (its config.json, world.json, simulator.bin and
 * history.bin; the same job, so the same sessions), and on every exposure
 * the world answers in the job's world mirror (the held-out panel, last
 * `lastEpochsForFigure` epochs) also asks the simulator. Prints, per bucket
 * of the exposure's context, the world's and the simulator's click rate and
 * play seconds per click on those very exposures, and their ratio
 * (simulator / world). Buckets: slate position, the session's author and
 * tag repeats, the pair's click and gift counts and follow, item duration, the world's
 * affinity and familiarity phi.
 *
 *   node scripts/play-per-click-probe.mjs --run runs/quick --model RLUR [--seed 1]
 *
 * Needs `npm run build`. The job's figures it prints equal the run's
 * perSeed figures for that model and seed (results.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { run: { type: 'string' }, model: { type: 'string' }, seed: { type: 'string' } } });
if (!values.run || !values.model) {
  console.error('usage: node scripts/play-per-click-probe.mjs --run DIR --model NAME [--seed N]  (DIR: an "rliv experiment" output directory)');
  process.exit(2);
}
const dist = new URL('../dist/src/', import.meta.url).href;
const { rebuildJobWorld, withHistoryFile } = await import(dist + 'experiments/instrument.js');
const { loadSimulatorEnsemble } = await import(dist + 'simulator/simulator-ensemble.js');
const { runModelSeed } = await import(dist + 'experiments/experiment-job.js');
const { allocResponseBatch } = await import(dist + 'world/response.js');
const { Rng } = await import(dist + 'numeric/rng.js');
const { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT } = await import(dist + 'data/interaction-kinds.js');

const run = values.run;
const model = values.model;
const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
const seed = Number(values.seed ?? cfg.seeds?.[0] ?? 1);
if (!cfg.models?.[model]) throw new Error(`${run}/config.json has no model ${JSON.stringify(model)}; it has ${Object.keys(cfg.models ?? {}).join(', ')}`);
const description = JSON.parse(readFileSync(join(run, 'world.json'), 'utf8'));
const { catalog, groundTruth, loggingPolicy } = await rebuildJobWorld({ description });
const simulator = loadSimulatorEnsemble(join(run, 'simulator.bin'), catalog);
// config.json records the resolved environment with a description of the seed and the history in their place.
const { seed: _seed, history: _history, ...environmentOptions } = cfg.environment;
const { environment, worldHistory } = withHistoryFile(catalog, environmentOptions, simulator.pairHistory, join(run, 'history.bin'));
const train = cfg.training;

const bucketOf = (n, edges, labels) => labels[edges.findIndex((x) => n < x)] ?? labels[labels.length - 1];
const COUNT_EDGES = [1, 4, 16, 64, 128, 256, 512, 1024];
const COUNT_LABELS = ['0', '1-3', '4-15', '16-63', '64-127', '128-255', '256-511', '512-1023', '1024+'];
const DURATION_EDGES = [10e3, 30e3, 60e3, 120e3];
const DURATION_LABELS = ['<10 s', '10-30 s', '30-60 s', '60-120 s', '120+ s'];
const stats = new Map();
const add = (key, w, s) => {
  let b = stats.get(key);
  if (!b) stats.set(key, (b = { n: 0, worldClicks: 0, worldPlay: 0, simClicks: 0, simPlay: 0 }));
  b.n++;
  b.worldClicks += w.click;
  b.worldPlay += w.click ? w.play : 0;
  b.simClicks += s.click;
  b.simPlay += s.click ? s.play : 0;
};

let epoch = 0;
const simOut = allocResponseBatch(4096);
const simRng = new Rng(12345);
// The world, asking the simulator about every exposure of the last epochs' mirror.
const world = new Proxy(groundTruth, {
  get(target, prop) {
    if (prop !== 'respond') {
      const v = target[prop];
      return typeof v === 'function' ? v.bind(target) : v;
    }
    return (batch, rng, out) => {
      target.respond(batch, rng, out);
      if (epoch < train.epochs - train.lastEpochsForFigure) return;
      simulator.respond(batch, simRng, simOut);
      for (let e = 0; e < batch.count; e++) {
        const item = batch.item[e];
        const w = { click: out.click[e], play: out.playTimeMs[e] / 1000 };
        const s = { click: simOut.click[e], play: simOut.playTimeMs[e] / 1000 };
        const keys = [
          'all',
          `position ${batch.position[e]}`,
          `author repeats ${Math.min(3, batch.repeatAuthor[e])}${batch.repeatAuthor[e] >= 3 ? '+' : ''}`,
          `tag repeats ${Math.min(3, batch.repeatTag[e])}${batch.repeatTag[e] >= 3 ? '+' : ''}`,
          `n_ua clicks ${bucketOf(batch.pairCounts[e * PAIR_COUNT_DIM + PC_CLICK], COUNT_EDGES, COUNT_LABELS)}`,
          `n_ua gifts ${bucketOf(batch.pairCounts[e * PAIR_COUNT_DIM + PC_GIFT], COUNT_EDGES, COUNT_LABELS)}`,
          `following ${batch.pairCounts[e * PAIR_COUNT_DIM + PC_FOLLOW] > 0 ? 'yes' : 'no'}`,
          `duration ${bucketOf(catalog.itemDurationMs[item], DURATION_EDGES, DURATION_LABELS)}`,
          `world affinity ${Math.max(-2, Math.min(3, Math.floor(target.affinity(batch.user[e], item))))}`,
          `world familiarity phi ${Math.min(6, Math.floor(target.familiarity(batch.pairCounts, e * PAIR_COUNT_DIM)))}`,
        ];
        for (const k of keys) add(k, w, s);
      }
    };
  },
});

const setup = {
  catalog,
  simulator,
  groundTruth: world,
  environment,
  ...(worldHistory ? { worldHistory } : {}),
  loggingPolicy,
  train,
  worldRounds: train.lastEpochsForFigure,
  agentConfigs: { [model]: cfg.models[model] },
};
const { run: figures } = runModelSeed(setup, model, seed, () => epoch++, cfg.explorations?.[model]);
console.log(`${model} seed ${seed}: simulator ${JSON.stringify(figures.sim)}`);
console.log(`${model} seed ${seed}: world     ${JSON.stringify(figures.real)}`);
console.log(`\nexposures of the world mirror's last ${train.lastEpochsForFigure} epochs, each answered by both`);
console.log('| bucket | exposures | click world / sim | play s per click world / sim | ratio sim / world |');
console.log('|---|---|---|---|---|');
for (const [k, b] of [...stats].sort(([a], [c]) => (a === 'all' ? -1 : c === 'all' ? 1 : a.localeCompare(c, 'en', { numeric: true })))) {
  const pw = b.worldPlay / b.worldClicks;
  const ps = b.simPlay / b.simClicks;
  console.log(
    `| ${k} | ${b.n} | ${(b.worldClicks / b.n).toFixed(3)} / ${(b.simClicks / b.n).toFixed(3)} | ${pw.toFixed(1)} / ${ps.toFixed(1)} | ${(ps / pw).toFixed(3)} |`,
  );
}
