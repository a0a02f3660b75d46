#!/usr/bin/env node
/**
 * Diagnostic behind docs/results/ab-test-quick.md's "why the w/o SL arm
 * collapses": pre-trains RLIV-UA variants exactly as `rliv ab-test --preset
 * quick` does (same calibrated world, same training loop), then
 *
 * 1. prints each variant's mean LIV per tower over the candidates of 3,000
 *    logging-policy requests, grouped by the state of the candidate's pair
 *    (fresh, clicked but not followed, followed, followed and gifted);
 * 2. serves 600 users for 3 days in the ground-truth world with each variant
 *    ranking by different tower weights (greedy), next to a random and the
 *    logging policy, and prints what the slates look like: session length,
 *    CTR and watch seconds per session (the project's metrics,
 *    src/environment/metrics.ts), follows and gifts per exposure, the share of
 *    exposures from followed / previously clicked / live-streamer authors,
 *    the mean item duration and the share of distinct authors per session.
 *
 * Usage (after `npm run build`):
 *   OPENBLAS_NUM_THREADS=1 node scripts/liv-by-pair-state.mjs [--arms "RLIV-UA(w/o SL),RLIV-UA"] [--seed 1] [--target-critics min|mean]
 * About 2 minutes for the two default arms. `--target-critics mean` trains
 * the arms with the mean of the two target critics in the TD target instead
 * of the paper's min (RlivUaConfig.targetCritics), the control that tests
 * whether the min's low bias is what drives the sparse towers below zero.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    arms: { type: 'string', default: 'RLIV-UA(w/o SL),RLIV-UA' },
    seed: { type: 'string', default: '1' },
    'target-critics': { type: 'string', default: 'min' },
  },
});
const seed = Number(values.seed);
if (!['min', 'mean'].includes(values['target-critics'])) throw new Error(`--target-critics must be min or mean, got ${values['target-critics']}`);
const dist = new URL('../dist/src/', import.meta.url).href;
const { experimentPreset } = await import(dist + 'experiments/experiment-presets.js');
const { buildCalibratedWorld } = await import(dist + 'experiments/experiment-world.js');
const { pretrainArm } = await import(dist + 'experiments/ab-test.js');
const { Environment } = await import(dist + 'environment/environment.js');
const { RankerPolicy } = await import(dist + 'agents/ranker-policy.js');
const { RandomPolicy } = await import(dist + 'environment/slate-policy.js');
const { Rng } = await import(dist + 'numeric/rng.js');
const { SILENT_PROGRESS } = await import(dist + 'experiments/progress.js');
const { ctr, sessionLength, watchTime } = await import(dist + 'environment/metrics.js');
const { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, TOWERS } = await import(dist + 'data/interaction-kinds.js');

const preset = experimentPreset('quick');
const t = preset.train;
const cw = await buildCalibratedWorld({ preset, worldSeed: seed, progress: SILENT_PROGRESS, timed: async (_name, f) => f() });
const { catalog, groundTruth: world, environment } = cw;

// Pre-training by runAbTest's own step 1 (src/experiments/ab-test.ts).
const agents = new Map();
for (const name of values.arms.split(',')) {
  agents.set(name, pretrainArm(cw, preset, name, { batchSize: t.batchSize, targetCritics: values['target-critics'] }, seed));
}
const users = Int32Array.from({ length: 600 }, (_, i) => i);

// 1. LIV per tower by pair state.
const requests = [];
new Environment(catalog, world, { ...environment, seed: seed + 77 }).runDays(
  2,
  cw.loggingPolicy(new Rng(seed + 9)),
  (trace) => {
    for (const r of trace.requests) if (requests.length < 3000) requests.push(r);
  },
  users,
);
const pairState = (pc, i) => {
  const o = i * PAIR_COUNT_DIM;
  if (pc[o + PC_FOLLOW] === 1) return pc[o + PC_GIFT] > 0 ? 'followed + gifted' : 'followed';
  return pc[o + PC_CLICK] > 0 ? 'clicked, no follow' : 'fresh';
};
console.log(`mean LIV per tower (${TOWERS.join(' / ')}) over the candidates of ${requests.length} logging-policy requests`);
for (const [name, agent] of agents) {
  const groups = new Map();
  const out = new Float32Array(300 * TOWERS.length);
  for (const r of requests) {
    agent.livPerTower(r, out);
    for (let i = 0; i < r.candidates.length; i++) {
      const key = pairState(r.candidatePairCounts, i);
      if (!groups.has(key)) groups.set(key, { n: 0, sums: new Float64Array(TOWERS.length) });
      const g = groups.get(key);
      g.n++;
      for (let c = 0; c < TOWERS.length; c++) g.sums[c] += out[i * TOWERS.length + c];
    }
  }
  for (const [key, g] of groups)
    console.log(`  ${name.padEnd(22)} ${key.padEnd(20)} ${String(g.n).padStart(7)} candidates  ${[...g.sums].map((s) => (s / g.n).toFixed(4)).join(' / ')}`);
}

// 2. What each ranking exposes.
function serve(label, policy) {
  const env = new Environment(catalog, world, { ...environment, seed: seed + 76 });
  const sessions = [];
  const s = { exposures: 0, follows: 0, gifts: 0, followed: 0, clickedBefore: 0, live: 0, duration: 0, distinct: 0 };
  env.runDays(
    3,
    policy,
    (trace) => {
      sessions.push(trace);
      const authors = new Set();
      let exposures = 0;
      for (const r of trace.requests) {
        for (let p = 0; p < r.slate.length; p++) {
          const idx = r.slate[p];
          const item = r.candidates[idx];
          const author = catalog.itemAuthor[item];
          const o = idx * PAIR_COUNT_DIM;
          exposures++;
          s.follows += r.responses.follow[p];
          s.gifts += r.responses.giftAmount[p] > 0 ? 1 : 0;
          s.followed += r.candidatePairCounts[o + PC_FOLLOW] === 1 ? 1 : 0;
          s.clickedBefore += r.candidatePairCounts[o + PC_CLICK] > 0 ? 1 : 0;
          s.live += catalog.authorIsLive[author];
          s.duration += catalog.itemDurationMs[item] / 1000;
          authors.add(author);
        }
      }
      s.exposures += exposures;
      s.distinct += authors.size / Math.max(1, exposures);
    },
    users,
  );
  const e = s.exposures;
  console.log(
    `  ${label.padEnd(44)} ${sessionLength(sessions).toFixed(2).padStart(6)} ${ctr(sessions).toFixed(3)} ${watchTime(sessions).toFixed(0).padStart(6)}` +
      ` ${(s.follows / e).toFixed(4)} ${(s.gifts / e).toFixed(4)} ${(s.followed / e).toFixed(3)} ${(s.clickedBefore / e).toFixed(3)} ${(s.live / e).toFixed(3)}` +
      ` ${(s.duration / e).toFixed(1).padStart(6)} ${(s.distinct / sessions.length).toFixed(3)}`,
  );
}
console.log(
  '\n600 users x 3 days, greedy: session length, CTR (per-session mean), watch s/session, follows/exposure, gifts/exposure, exposures of followed authors, of clicked-before authors, of live streamers, mean duration s, distinct-author share',
);
serve('random', new RandomPolicy(new Rng(seed + 3)));
serve('logging policy', cw.loggingPolicy(new Rng(seed + 9)));
for (const [name, agent] of agents) {
  for (const weights of [{ watchTime: 1 }, { follow: 1, gift: 1 }, { follow: 1 }, { gift: 1 }]) {
    agent.setScoreWeights(weights);
    serve(`${name} ${JSON.stringify(weights)}`, new RankerPolicy(agent, new Rng(seed + 5)));
  }
}
