/**
 * `rliv bench simulator`: speed and memory of the environment and the learned
 * simulator layers.
 *
 * - generate: `generateDataset` without calibration (world + logging policy
 *   + environment + KuaiRand-format writers) on a synthetic world sized to
 *   give about 1,000,000 log rows; rows written per second;
 * - load: `loadLogDirectory` (streaming reader + id mapping + gift join)
 *   over that generated log; rows per second;
 * - simulator respond: the learned simulator's `respond` on batches of 4,096
 *   exposures (median of 3 repeats);
 * - environment: `Environment.runDays` over the learned simulator with a
 *   random policy (N = `--candidates`, default 100, K = 6): item responses
 *   per second of the whole loop (candidate generation, pair counts, traces,
 *   quit/return). A smaller N shows how much of the loop's cost is
 *   per-candidate work (generation, f_ua reads, the trace's candidate
 *   columns) rather than per-response work;
 * - peak RSS of the process.
 * Rates are per wall second (the headline figures) and per CPU second (a
 * fairer clock on a shared machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.js';
import { Rng } from '../src/numeric/rng.js';
import { Environment } from '../src/environment/environment.js';
import type { LearnedSimulator } from '../src/simulator/learned-simulator.js';
import { loadLogDirectory } from '../src/environment/log-dataset.js';
import { generateDataset } from '../src/environment/log-generation.js';
import { fitSimulator } from '../src/simulator/simulator-training.js';
import { RandomPolicy } from '../src/environment/slate-policy.js';
import { sessionOptionsFromWorld } from '../src/environment/world-session-options.js';
import { benchResponses } from './world.js';

interface Clock {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

const start = (): Clock => ({ wall: performance.now(), cpu: process.cpuUsage() });
const elapsed = (c: Clock): { wall: number; cpu: number } => {
  const d = process.cpuUsage(c.cpu);
  return { wall: (performance.now() - c.wall) / 1000, cpu: (d.user + d.system) / 1e6 };
};

/** The learned simulator's `respond` on random exposures: responses per wall and CPU second. */
export function benchSimulatorRespond(sim: LearnedSimulator, batchSize = 4096, batches = 40): { perSec: number; perCpuSec: number } {
  return benchResponses(sim, sim.catalog, batchSize, batches, 5);
}

/** `rliv bench simulator`'s flags (checked by the command). */
export interface SimulatorBenchFlags {
  /** `--iterations N`: synthetic users of the generated world (>= 50; 9,000 gives ~1,000,000 log rows). */
  users: number;
  /** `--candidates N`: candidates per request in the environment loop (6..300; the target is stated for 100). */
  candidates: number;
}

export async function runSimulatorBench(flags: SimulatorBenchFlags, ctx: BenchContext): Promise<Record<string, unknown>> {
  const users = flags.users;
  const numCandidates = flags.candidates;
  const dir = mkdtempSync(join(tmpdir(), 'rliv-bench-sim-'));
  try {
    ctx.log(`generate: ${users} synthetic users, 20,000 items, 3 days, no calibration ...`);
    let t = start();
    const gen = await generateDataset({
      outDir: dir,
      seed: ctx.seed,
      skipCalibration: true,
      scale: {
        numUsers: users,
        numItems: 20_000,
        days: 3,
        warmUpDays: 0,
        numCandidates: 100,
        calibrationUserDays: 0,
        calibrationRounds: 0,
        randomRequestRate: 0.3,
      },
    });
    let e = elapsed(t);
    const genRows = gen.rows + gen.randomRows;
    const generateRowsPerSec = genRows / e.wall;
    ctx.log(
      `generate: ${genRows} rows (${gen.rows} standard + ${gen.randomRows} random) in ${e.wall.toFixed(1)} s: ${Math.round(generateRowsPerSec)} rows/s (${Math.round(genRows / e.cpu)} per CPU s)`,
    );

    t = start();
    const loaded = await loadLogDirectory(dir, gen.catalog);
    e = elapsed(t);
    const loadRowsPerSec = loaded.log.count / e.wall;
    ctx.log(
      `load: ${loaded.log.count} rows (reader + id mapping + gift join) in ${e.wall.toFixed(1)} s: ${Math.round(loadRowsPerSec)} rows/s (${Math.round(loaded.log.count / e.cpu)} per CPU s)`,
    );

    // A learned simulator fitted on part of the log (one pass: speed, not quality, is measured here) — whole
    // users, as fit-simulator's cap takes them: a prefix of the rows would be the random log alone, and a
    // simulator of random traffic alone gives the environment shorter, less engaged sessions to simulate.
    const part = (await loadLogDirectory(dir, gen.catalog, { maxRows: 200_000, seed: ctx.seed })).log;
    t = start();
    const { simulator, report } = fitSimulator(part, gen.catalog, { epochs: 1, minSteps: 0, seed: ctx.seed });
    e = elapsed(t);
    ctx.log(
      `fit: ${report.trainRows} rows x ${report.epochs} epoch in ${e.wall.toFixed(1)} s (${Math.round(report.trainRows / e.wall)} rows/s); held-out click AUC ${report.heads.click.auc.toFixed(3)}`,
    );

    const respond = benchSimulatorRespond(simulator);
    ctx.log(`simulator respond: ${Math.round(respond.perSec)} responses/s (${Math.round(respond.perCpuSec)} per CPU s), batches of 4,096`);

    const env = new Environment(gen.catalog, simulator, { seed: ctx.seed, numCandidates, ...sessionOptionsFromWorld(gen.world.config) });
    const policy = new RandomPolicy(new Rng(ctx.seed));
    env.runDays(1, policy); // warm-up
    const before = env.responsesServed;
    t = start();
    env.runDays(2, policy);
    e = elapsed(t);
    const served = env.responsesServed - before;
    const envItemResponsesPerSec = served / e.wall;
    ctx.log(
      `environment (learned simulator, random policy, N=${numCandidates}, K=6): ${served} item responses in ${e.wall.toFixed(1)} s: ${Math.round(envItemResponsesPerSec)} /s (${Math.round(served / e.cpu)} per CPU s)`,
    );

    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    ctx.log(`peak RSS: ${peakRssMb.toFixed(0)} MB`);
    return {
      bench: 'simulator',
      envItemResponsesPerSec: Math.round(envItemResponsesPerSec),
      envItemResponsesPerCpuSec: Math.round(served / e.cpu),
      envCandidatesPerRequest: numCandidates,
      simulatorRespondPerSec: Math.round(respond.perSec),
      simulatorRespondPerCpuSec: Math.round(respond.perCpuSec),
      generateRowsPerSec: Math.round(generateRowsPerSec),
      loadRowsPerSec: Math.round(loadRowsPerSec),
      generatedRows: genRows,
      peakRssMb: Math.round(peakRssMb),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
