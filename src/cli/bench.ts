/**
 * `rliv bench <numeric|simulator|serve>`: benchmarks. Each workload lives in
 * bench/<name>.ts, prints its figures to stderr and returns the summary
 * object (`{"bench": name, ...}`) that becomes the final JSON line.
 */
import { UsageError, type CommandContext, type CommandSpec, type OptionValues } from './command.js';

type BenchRunner = (values: OptionValues, ctx: CommandContext) => Promise<Record<string, unknown>>;

/** The table of benchmarks; each module is imported only when chosen. */
const BENCHES: Record<string, { summary: string; load: () => Promise<BenchRunner> }> = {
  numeric: { summary: 'full RLIV-UA training step, MLP step and 300-candidate scoring, vs PyTorch', load: async () => (await import('../../bench/numeric.js')).runNumericBench },
  'rliv-ua': { summary: 'the real RLIV-UA agent\'s full training step and scoring vs the same step in PyTorch', load: async () => (await import('../../bench/rliv-ua-step.js')).runRlivUaStepBenchCommand },
  simulator: { summary: 'environment responses/s, log generation and loading rows/s, peak memory', load: async () => (await import('../../bench/simulator.js')).runSimulatorBench },
  world: { summary: 'catalog building, ground-truth world responses and KuaiRand log write/read rows/s', load: async () => (await import('../../bench/world.js')).runWorldBench },
  serve: { summary: 'in-process scoring and HTTP load test of the ranking service', load: async () => (await import('../../bench/serve.js')).runServeBench },
};

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'run a benchmark: ' + Object.keys(BENCHES).join(', '),
  description: Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(10)}${b.summary}`).join('\n'),
  positionals: `<${Object.keys(BENCHES).join('|')}>`,
  options: {
    iterations: { type: 'string', description: 'override the number of timed iterations (smaller = faster, noisier)', valueName: 'N' },
    duration: { type: 'string', description: 'seconds of load for time-based benchmarks (serve)', valueName: 'S' },
    redis: { type: 'string', description: 'Redis URL for benchmarks that can use it (serve)', valueName: 'URL' },
    items: { type: 'string', description: 'catalog size in items (world)', default: '2000000', valueName: 'N' },
    rows: { type: 'string', description: 'log rows written and read back (world)', default: '1000000', valueName: 'N' },
    candidates: { type: 'string', description: 'candidates per request N in the environment loop (simulator; the target is stated for 100)', default: '100', valueName: 'N' },
  },
  async run(values, positionals, ctx) {
    const which = positionals[0] ?? 'numeric';
    const bench = BENCHES[which];
    if (!bench) throw new UsageError(`unknown benchmark "${which}"; choose one of ${Object.keys(BENCHES).join(', ')}`);
    const runner = await bench.load();
    return runner(values, ctx);
  },
};
