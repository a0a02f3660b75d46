/**
 * One job of the experiment: train one model on one seed with the generic
 * training loop in the learned simulator, then evaluate the trained policy
 * in the ground-truth world (sim-to-real). Runs the same in the main thread
 * and in a worker thread (experiment-worker.ts): every random choice comes
 * from the seed, so where a job runs never changes its result.
 */
import { createAgent } from '../agents/registry.js';
import type { Rng } from '../numeric/rng.js';
import { Environment, type EnvironmentOptions } from '../simulator/environment.js';
import { computeMetrics } from '../simulator/metrics.js';
import type { SlatePolicy } from '../simulator/slate-policy.js';
import type { SessionTrace } from '../simulator/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ResponseModel } from '../world/response.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import { REPORT_METRICS, type ReportMetric, type SeedRun } from './results.js';
import type { TrainPreset } from './train-presets.js';
import { evaluateRanker, evaluationUsers, TrainingRun, type EvaluationMetrics } from './training-loop.js';

/** What every job needs: the same for all models and seeds of a run. */
export interface JobSetup {
  catalog: Catalog;
  /** The learned simulator (training and the paper's evaluation). */
  simulator: ResponseModel;
  /** The ground truth (sim-to-real evaluation). */
  groundTruth: ResponseModel;
  /** Environment options shared by both. */
  environment: Partial<EnvironmentOptions>;
  loggingPolicy: (rng: Rng) => SlatePolicy;
  /** The training schedule of every model. */
  train: TrainPreset;
  /** Greedy rounds in the world after training; the world figure is the mean of the last `lastEpochsForFigure`. */
  worldRounds: number;
  /** Each model's agent config (batch size and the user's overrides; see model-configs.ts). */
  agentConfigs: Record<string, Record<string, unknown>>;
}

export interface JobResult {
  run: SeedRun;
  trainSeconds: number;
  worldSeconds: number;
}

/** The metrics a figure is made of, from one evaluation's sessions. */
export function reportMetrics(sessions: readonly SessionTrace[], catalog: Catalog): EvaluationMetrics {
  const m = computeMetrics(sessions, catalog);
  const out: EvaluationMetrics = {};
  for (const k of REPORT_METRICS) out[k] = m[k];
  return out;
}

function lastMean(rounds: EvaluationMetrics[], last: number, metric: string): number {
  const tail = rounds.slice(Math.max(0, rounds.length - last));
  return tail.reduce((a, r) => a + r[metric]!, 0) / tail.length;
}

/**
 * Trains `name` on `seed` and evaluates it; `onUnit` is called after every
 * training epoch and every world round (the progress bar's unit).
 */
export function runModelSeed(setup: JobSetup, name: string, seed: number, onUnit: (note: string) => void): JobResult {
  const { catalog } = setup;
  const t = setup.train;
  const t0 = performance.now();
  const agentConfig = setup.agentConfigs[name] ?? { batchSize: t.batchSize };
  const agent = createAgent(name, { catalog, seed }, agentConfig);
  // Every model of a seed gets the same environment seed: the same candidates and random streams (common random numbers).
  const env = new ReplayableEnvironment(new Environment(catalog, setup.simulator, { ...setup.environment, seed }), setup.loggingPolicy);
  const run = new TrainingRun(env, agent, {
    agentName: name,
    agentConfig,
    seed,
    epochs: t.epochs,
    sessionsPerEpoch: t.sessionsPerEpoch,
    evalSessionsPerEpoch: t.evalSessionsPerEpoch,
    stepsPerEpoch: t.stepsPerEpoch,
    heldOutFraction: t.heldOutFraction,
    lastEpochsForFigure: t.lastEpochsForFigure,
    exploration: t.exploration,
  }, (sessions) => reportMetrics(sessions, catalog));
  const result = run.run(() => onUnit(`${name} seed ${seed}`));
  const trainSeconds = (performance.now() - t0) / 1000;

  // The same held-out panel the loop evaluated on, now in a fresh ground-truth world.
  const t1 = performance.now();
  const panel = evaluationUsers(catalog.numUsers, t.heldOutFraction, t.evalSessionsPerEpoch, seed);
  const worldEnv = new ReplayableEnvironment(new Environment(catalog, setup.groundTruth, { ...setup.environment, seed }), setup.loggingPolicy);
  const world = evaluateRanker(worldEnv, agent, panel, setup.worldRounds, (sessions) => {
    onUnit(`${name} seed ${seed} (world)`);
    return reportMetrics(sessions, catalog);
  }).rounds;
  const worldSeconds = (performance.now() - t1) / 1000;

  const sim = {} as Record<ReportMetric, number>;
  const real = {} as Record<ReportMetric, number>;
  const curve = { epoch: result.reports.map((r) => r.epoch + 1) } as SeedRun['curve'];
  for (const m of REPORT_METRICS) {
    sim[m] = result.figure[m]!;
    real[m] = lastMean(world, t.lastEpochsForFigure, m);
    curve[m] = result.reports.map((r) => r.eval[m]!);
  }
  return { run: { seed, sim, real, curve }, trainSeconds, worldSeconds };
}
