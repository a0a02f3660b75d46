/**
 * One job of the experiment: train one model on one seed with the generic
 * training loop in the learned simulator, then evaluate the trained policy
 * in the ground-truth world (sim-to-real). Runs the same in the main thread
 * and in a worker thread (experiment-worker.ts): every random choice comes
 * from the seed, so where a job runs never changes its result.
 */
import { GREEDY } from '../agents/exploration.js';
import { RankerPolicy } from '../agents/ranker-policy.js';
import type { Ranker } from '../agents/ranker.js';
import { createAgent } from '../agents/registry.js';
import { Rng } from '../numeric/rng.js';
import { Environment, type EnvironmentOptions } from '../simulator/environment.js';
import { computeMetrics } from '../simulator/metrics.js';
import type { SlatePolicy } from '../simulator/slate-policy.js';
import type { SessionTrace } from '../simulator/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ResponseModel } from '../world/response.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import { REPORT_METRICS, type ReportMetric, type SeedRun } from './results.js';
import type { TrainPreset } from './train-presets.js';
import { splitUsers, TrainingRun, type EvaluationMetrics } from './training-loop.js';

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

/** The held-out panel the training loop evaluates on: the same rule (seeded shuffle of the held-out users, cycled). */
export function heldOutPanel(numUsers: number, heldOutFraction: number, seed: number, count: number): number[] {
  const pool = splitUsers(numUsers, heldOutFraction, seed).heldOut;
  const rng = new Rng(seed).fork('eval-users');
  const out: number[] = [];
  while (out.length < count) {
    for (const u of rng.shuffle(pool.slice())) {
      if (out.length === count) break;
      out.push(u);
    }
  }
  return out;
}

/**
 * Runs a trained policy greedily over `responder` on the panel for `rounds`
 * rounds (one session per panel user each); returns each round's metrics.
 */
export function evaluateInEnvironment(
  agent: Ranker,
  catalog: Catalog,
  responder: ResponseModel,
  environment: Partial<EnvironmentOptions>,
  panel: readonly number[],
  rounds: number,
  seed: number,
  onRound?: () => void,
): EvaluationMetrics[] {
  const env = new Environment(catalog, responder, { ...environment, seed });
  const policy: SlatePolicy = new RankerPolicy(agent, new Rng(seed).fork('world-eval'), GREEDY);
  const out: EvaluationMetrics[] = [];
  for (let r = 0; r < rounds; r++) {
    out.push(reportMetrics(env.runSessions(panel, policy), catalog));
    onRound?.();
  }
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
  const agent = createAgent(name, { catalog, seed }, { batchSize: t.batchSize });
  // Every model of a seed gets the same environment seed: the same candidates and random streams (common random numbers).
  const env = new ReplayableEnvironment(new Environment(catalog, setup.simulator, { ...setup.environment, seed }), setup.loggingPolicy);
  const run = new TrainingRun(env, agent, {
    agentName: name,
    agentConfig: { batchSize: t.batchSize },
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

  const t1 = performance.now();
  const panel = heldOutPanel(catalog.numUsers, t.heldOutFraction, seed, t.evalSessionsPerEpoch);
  const world = evaluateInEnvironment(agent, catalog, setup.groundTruth, setup.environment, panel, setup.worldRounds, seed, () => onUnit(`${name} seed ${seed} (world)`));
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
