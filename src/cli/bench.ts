/**
 * `rliv bench <numeric|simulator|serve>`: benchmarks. Each prints figures to
 * stderr and returns one JSON summary line (`{"bench": ..., ...}`).
 * (Workloads are filled in by the numeric, simulator and serving modules.)
 */
import { UsageError, type CommandSpec } from './command.js';

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'run a benchmark: numeric (training step vs PyTorch), simulator, serve',
  positionals: '<numeric|simulator|serve>',
  options: {},
  async run(_values, positionals) {
    const which = positionals[0] ?? 'numeric';
    throw new UsageError(`unknown benchmark "${which}"; choose numeric, simulator or serve`);
  },
};
