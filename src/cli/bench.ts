/**
 * `rliv bench <numeric|simulator|serve>`: benchmarks. Each workload lives in
 * bench/<name>.ts, prints its figures to stderr and returns the summary
 * object (`{"bench": name, ...}`) that becomes the final JSON line.
 */
import { modelsFlag } from './experiment.js';
import { intFlag, UsageError, type CommandContext, type CommandSpec, type OptionValues } from './command.js';

type BenchRunner = (values: OptionValues, ctx: CommandContext) => Promise<Record<string, unknown>>;

/**
 * The table of benchmarks. Each runner checks its flags first (a usage error
 * before any work) and only then imports its workload module, so `rliv`
 * starts without loading them; the workloads take typed options, never the
 * command's flag values.
 */
const BENCHES: Record<string, { summary: string; run: BenchRunner }> = {
  numeric: {
    summary: 'full RLIV-UA training step, MLP step and 300-candidate scoring, vs PyTorch',
    run: async (values, ctx) => {
      const iterations = intFlag(values, 'iterations', 1, 1_000_000);
      return (await import('../../bench/numeric.js')).runNumericBench(iterations !== undefined ? { iterations } : {}, ctx);
    },
  },
  models: {
    summary: 'one training step of every model at batch 1024 vs the same step of the same network in PyTorch (ratios)',
    run: async (values, ctx) => {
      const steps = intFlag(values, 'iterations', 1, 1_000_000);
      const models = modelsFlag(values);
      return (await import('../../bench/models.js')).runModelsBench({ ...(steps !== undefined ? { steps } : {}), ...(models ? { models } : {}) }, ctx);
    },
  },
  'rliv-ua': {
    summary: "the real RLIV-UA agent's full training step and scoring vs the same step in PyTorch",
    run: async (values, ctx) => {
      const steps = intFlag(values, 'iterations', 1, 1_000_000);
      return (await import('../../bench/rliv-ua-step.js')).runRlivUaStepBench(steps !== undefined ? { steps } : {}, (m) => ctx.log(m));
    },
  },
  simulator: {
    summary: 'environment responses/s, log generation and loading rows/s, peak memory',
    run: async (values, ctx) => {
      // --iterations scales the generated world (users); the default targets ~1,000,000 log rows.
      const flags = { users: intFlag(values, 'iterations', 50) ?? 9000, candidates: intFlag(values, 'candidates', 6, 300) ?? 100 };
      return (await import('../../bench/simulator.js')).runSimulatorBench(flags, ctx);
    },
  },
  world: {
    summary: 'catalog building, ground-truth world responses and KuaiRand log write/read rows/s',
    run: async (values, ctx) => {
      const flags = {
        items: intFlag(values, 'items', 1) ?? 2_000_000,
        rows: intFlag(values, 'rows', 1) ?? 1_000_000,
        responseBatches: intFlag(values, 'iterations', 1) ?? 100,
      };
      return (await import('../../bench/world.js')).runWorldBench(flags, ctx);
    },
  },
  serve: {
    summary: 'in-process scoring and HTTP load test of the ranking service',
    run: async (values, ctx) => {
      const durationSeconds = values.duration === undefined ? 60 : Number(values.duration);
      if (!(durationSeconds > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
      const scoreCalls = values.iterations === undefined ? 2000 : Number(values.iterations);
      if (!(Number.isInteger(scoreCalls) && scoreCalls >= 10))
        throw new UsageError(`--iterations must be an integer >= 10, got ${JSON.stringify(values.iterations)}`);
      const redisUrl = typeof values.redis === 'string' ? values.redis : undefined;
      return (await import('../../bench/serve.js')).runServeBench({ durationSeconds, scoreCalls, ...(redisUrl !== undefined ? { redisUrl } : {}) }, ctx);
    },
  },
};

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'run a benchmark: ' + Object.keys(BENCHES).join(', '),
  description: Object.entries(BENCHES)
    .map(([name, b]) => `  ${name.padEnd(10)}${b.summary}`)
    .join('\n'),
  positionals: `<${Object.keys(BENCHES).join('|')}>`,
  options: {
    iterations: { type: 'string', description: 'override the number of timed iterations (smaller = faster, noisier)', valueName: 'N' },
    duration: { type: 'string', description: 'seconds of load for time-based benchmarks (serve)', valueName: 'S' },
    redis: { type: 'string', description: 'Redis URL for benchmarks that can use it (serve)', valueName: 'URL' },
    items: { type: 'string', description: 'catalog size in items (world)', default: '2000000', valueName: 'N' },
    rows: { type: 'string', description: 'log rows written and read back (world)', default: '1000000', valueName: 'N' },
    models: { type: 'string', description: 'comma-separated models (models; default all ten)', valueName: 'LIST' },
    candidates: {
      type: 'string',
      description: 'candidates per request N in the environment loop (simulator; the target is stated for 100)',
      default: '100',
      valueName: 'N',
    },
  },
  async run(values, positionals, ctx) {
    const which = positionals[0] ?? 'numeric';
    const bench = BENCHES[which];
    if (!bench) throw new UsageError(`unknown benchmark "${which}"; choose one of ${Object.keys(BENCHES).join(', ')}`);
    return bench.run(values, ctx);
  },
};
