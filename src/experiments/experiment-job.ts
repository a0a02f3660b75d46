/**
 * One job of the experiment: train one model on one seed with the generic
 * training loop in the learned simulator, then evaluate the trained policy
 * in the ground-truth world (sim-to-real). Runs the same in the main thread
 * and in a worker thread (experiment-worker.ts): every random choice comes
 * from the seed, so where a job runs never changes its result.
 */
import type { ExplorationOptions } from '../agents/exploration.js';
import type { Ranker } from '../agents/ranker.js';
import { createAgent } from '../agents/registry.js';
import { Rng } from '../numeric/rng.js';
import { DEFAULT_QUIT_OPTIONS } from '../environment/quit-model.js';
import { GreedyClickPolicy, type ClickProbabilityModel } from '../environment/reference-policies.js';
import { RandomPolicy } from '../environment/slate-policy.js';
import { Environment, type EnvironmentOptions } from '../environment/environment.js';
import type { EnvironmentHistory } from '../environment/environment-history.js';
import { computeMetrics } from '../environment/metrics.js';
import type { SlatePolicy } from '../environment/slate-policy.js';
import type { SessionTrace } from '../environment/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ResponseModel } from '../world/response.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import type { PolicyFigures } from './fidelity.js';
import { REPORT_METRICS, type ReportMetric, type SeedRun } from './results.js';
import type { TrainPreset } from './train-presets.js';
import { evaluationUsers, TrainingRun, type EvaluationMetrics, type TrainingResult } from './training-loop.js';

/** What every job needs: the same for all models and seeds of a run. */
export interface JobSetup {
  catalog: Catalog;
  /** The learned simulator (training and the paper's evaluation). */
  simulator: ResponseModel;
  /** The ground truth (sim-to-real evaluation); absent for real logs, whose jobs are evaluated in the simulator only. */
  groundTruth?: ResponseModel;
  /** Environment options shared by both; its `history` is the logs. */
  environment: Partial<EnvironmentOptions>;
  /**
   * What the world's environments start after when the world had traffic
   * before its logs (that traffic, then the logs; docs/design.md §5.5):
   * the simulator never saw it. Absent: `environment.history`.
   */
  worldHistory?: EnvironmentHistory;
  loggingPolicy: (rng: Rng) => SlatePolicy;
  /** The training schedule of every model. */
  train: TrainPreset;
  /** Greedy rounds in the world after training; the world figure is the mean of the last `lastEpochsForFigure`. */
  worldRounds: number;
  /** Each model's agent config (batch size and the user's overrides; see model-configs.ts). */
  agentConfigs: Record<string, Record<string, unknown>>;
}

/** The environment options of the world's environments: `environment` with the world's own history when it has one. */
export function worldEnvironmentOf(setup: Pick<JobSetup, 'environment' | 'worldHistory'>): Partial<EnvironmentOptions> {
  return setup.worldHistory ? { ...setup.environment, history: setup.worldHistory } : setup.environment;
}

export interface JobResult {
  run: SeedRun;
  /** Seconds of the whole training run (every epoch's collect, train and evaluation, plus building the agent). */
  trainSeconds: number;
  /** Seconds of the evaluation in the ground-truth world after training. */
  worldSeconds: number;
  /** The job's wall-clock seconds by part, summed over epochs (see {@link JobParts}). */
  parts: JobParts;
  /** The same parts in CPU seconds of the thread that ran the job; null where the platform has no per-thread clock. */
  cpuParts: JobParts | null;
}

/** Where a job's time went, summed over epochs. */
export interface JobParts {
  /** Sessions collected with the policy plus exploration (or the logging policy, for offline agents). */
  collect: number;
  /** `agent.observe`: storing the sessions in the agent's replay. */
  observe: number;
  /** `agent.train`: the gradient steps (and whatever an agent recomputes before them). */
  trainSteps: number;
  /** Greedy evaluation on the held-out users in the learned simulator. */
  evaluation: number;
  /** Greedy evaluation in the ground-truth world after training. */
  world: number;
}

/**
 * One job of the experiment as plain JSON data: with the run's
 * {@link JobSetup} it determines the job's result completely, so a job runner
 * (job-runner.ts: in this thread, on worker threads, or on a BullMQ queue
 * across machines, queue-runner.ts) may run it anywhere, and a queue may key
 * its result by a hash of the job and the setup. A new kind of job is one
 * more member of this union and one more case in {@link runJob}; the runners
 * carry it unchanged.
 */
export type ExperimentJob =
  /**
   * Train `model` on `seed` in the learned simulator, then evaluate it in
   * the world ({@link runModelSeed}); `exploration` (a tuned model's own)
   * replaces the schedule's.
   */
  | { kind: 'model-seed'; model: string; seed: number; agentConfig: Record<string, unknown>; exploration?: ExplorationOptions }
  /**
   * `rliv tune`: train `model` with candidate config number `config` on
   * `seed` in the learned simulator, evaluating on the VALIDATION users
   * (never the held-out users) ({@link runTuneJob}).
   */
  | { kind: 'tune'; model: string; seed: number; config: number; agentConfig: Record<string, unknown>; exploration?: ExplorationOptions };

/** What a tuning job returns: the validation figure and curves of one candidate config on one seed. */
export interface TuneJobResult {
  /** Per metric, the mean of the last `lastEpochsForFigure` evaluation epochs on the validation users. */
  figure: Record<ReportMetric, number>;
  /** Per-epoch validation figures. */
  curve: SeedRun['curve'];
  parts: JobParts;
  cpuParts: JobParts | null;
}

/** What a job returns, by kind. */
export type ExperimentJobResult = JobResult | TuneJobResult;

/** A short human name of a job (progress notes, errors). */
export function jobLabel(job: ExperimentJob): string {
  return job.kind === 'tune' ? `${job.model} config ${job.config} seed ${job.seed}` : `${job.model} seed ${job.seed}`;
}

/** Runs one job in this thread; `onUnit` is called after every unit of progress (an epoch or a world round). */
export function runJob(setup: JobSetup, job: ExperimentJob, onUnit: (note: string) => void): ExperimentJobResult {
  switch (job.kind) {
    case 'model-seed':
      // The job carries its model's config, so what it computes is the job plus the shared setup.
      return runModelSeed({ ...setup, agentConfigs: { [job.model]: job.agentConfig } }, job.model, job.seed, onUnit, job.exploration);
    case 'tune':
      return runTuneJob(setup, job, onUnit);
    default:
      throw new RangeError(`unknown experiment job kind ${JSON.stringify((job as { kind: unknown }).kind)}`);
  }
}

/**
 * The metrics a figure is made of, from one evaluation's sessions, plus
 * `capShare`: the share of sessions that ended at the request cap
 * `maxRequests` (the fidelity gate G2 reads it).
 */
export function reportMetrics(sessions: readonly SessionTrace[], catalog: Catalog, maxRequests = DEFAULT_QUIT_OPTIONS.maxRequests): EvaluationMetrics {
  const m = computeMetrics(sessions, catalog);
  const out: EvaluationMetrics = {};
  for (const k of REPORT_METRICS) out[k] = m[k];
  out.capShare = capShare(sessions, maxRequests);
  return out;
}

/** Share of sessions with `maxRequests` requests or more (ended by the cap, not by the user). */
export function capShare(sessions: readonly SessionTrace[], maxRequests: number): number {
  if (sessions.length === 0) return NaN;
  let n = 0;
  for (const t of sessions) if (t.requests.length >= maxRequests) n++;
  return n / sessions.length;
}

/** The request cap of the environment options (the quit model's `maxRequests`). */
export function maxRequestsOf(environment: Partial<EnvironmentOptions>): number {
  return environment.quit?.maxRequests ?? DEFAULT_QUIT_OPTIONS.maxRequests;
}

/**
 * What a policy did in one environment, for the fidelity gates: pooled
 * per-exposure rates (clicks, long views, play seconds per exposure) and the
 * per-session figures of the report.
 */
export function policyFigures(sessions: readonly SessionTrace[], catalog: Catalog, maxRequests: number): PolicyFigures {
  let n = 0,
    clicks = 0,
    longViews = 0,
    play = 0;
  for (const t of sessions) {
    for (const r of t.requests) {
      const s = r.responses;
      for (let p = 0; p < r.slate.length; p++) {
        n++;
        clicks += s.click[p]!;
        longViews += s.longView[p]!;
        play += s.playTimeMs[p]!;
      }
    }
  }
  const m = computeMetrics(sessions, catalog);
  return {
    click: clicks / n,
    longView: longViews / n,
    playTimeS: play / n / 1000,
    sessionLength: m.sessionLength,
    watchTime: m.watchTime,
    ctr: m.ctr,
    capShare: capShare(sessions, maxRequests),
    sessions: sessions.length,
  };
}

/**
 * The reference policies of the fidelity gates on the held-out panel of
 * `seed`, `rounds` rounds in each environment (fresh environments with the
 * seed: the same candidates and random streams as the models' evaluation).
 * `world` may be absent (real KuaiRand logs): then only the simulator runs.
 * The logging policy is a reference only when `setup.loggingPolicy` is
 * given (real logs come without theirs).
 */
export function runReferencePolicies(
  setup: Pick<JobSetup, 'catalog' | 'simulator' | 'environment' | 'worldHistory' | 'train'> & { loggingPolicy?: JobSetup['loggingPolicy'] },
  world: (ResponseModel & ClickProbabilityModel) | undefined,
  simulatorClicks: ClickProbabilityModel,
  seed: number,
  rounds: number,
): Record<string, { sim: PolicyFigures; world?: PolicyFigures }> {
  const { catalog } = setup;
  const t = setup.train;
  const panel = evaluationUsers(catalog.numUsers, t.heldOutFraction, t.evalSessionsPerEpoch, seed, userSplit(setup));
  const maxRequests = maxRequestsOf(setup.environment);
  const policies: Record<string, () => SlatePolicy> = {
    'uniform random': () => new RandomPolicy(new Rng(seed).fork('reference-random')),
    ...(setup.loggingPolicy ? { 'logging policy': () => setup.loggingPolicy!(new Rng(seed).fork('reference-logging')) } : {}),
    ...(world ? { 'click oracle': () => new GreedyClickPolicy(world) } : {}),
    'simulator-greedy': () => new GreedyClickPolicy(simulatorClicks),
  };
  const run = (responder: ResponseModel, make: () => SlatePolicy, environment: Partial<EnvironmentOptions>): PolicyFigures => {
    const env = new Environment(catalog, responder, { ...environment, seed });
    const policy = make();
    const sessions: SessionTrace[] = [];
    for (let r = 0; r < rounds; r++) sessions.push(...env.runSessions(panel, policy));
    return policyFigures(sessions, catalog, maxRequests);
  };
  const out: Record<string, { sim: PolicyFigures; world?: PolicyFigures }> = {};
  for (const [name, make] of Object.entries(policies))
    out[name] = { sim: run(setup.simulator, make, setup.environment), ...(world ? { world: run(world, make, worldEnvironmentOf(setup)) } : {}) };
  return out;
}

/** The users' split of a job: the schedule's split seed (default: the job's seed) and validation share. */
function userSplit(setup: Pick<JobSetup, 'train'>): { splitSeed?: number; validationFraction: number } {
  const t = setup.train;
  return { ...(t.splitSeed !== undefined ? { splitSeed: t.splitSeed } : {}), validationFraction: t.validationFraction };
}

/**
 * Trains `name` on `seed` in the learned simulator with the generic loop,
 * evaluating every epoch on the held-out users (or, `evaluateOn:
 * 'validation'`, on the validation users); training never uses either.
 */
function trainInSimulator(
  setup: JobSetup,
  name: string,
  seed: number,
  agentConfig: Record<string, unknown>,
  exploration: ExplorationOptions,
  evaluateOn: 'held-out' | 'validation',
  onUnit: () => void,
  /** Evaluate every epoch's policy in the ground-truth world too, exactly as in the simulator (TrainingRun.mirrorEnvironment). */
  mirrorInWorld = false,
): { agent: Ranker; result: TrainingResult } {
  const { catalog } = setup;
  const t = setup.train;
  const maxRequests = maxRequestsOf(setup.environment);
  const agent = createAgent(name, { catalog, seed }, agentConfig);
  // Every model of a seed gets the same environment seed: the same candidates and random streams (common random numbers).
  const env = new ReplayableEnvironment(new Environment(catalog, setup.simulator, { ...setup.environment, seed }), setup.loggingPolicy);
  const run = new TrainingRun(
    env,
    agent,
    {
      agentName: name,
      agentConfig,
      seed,
      epochs: t.epochs,
      sessionsPerEpoch: t.sessionsPerEpoch,
      evalSessionsPerEpoch: t.evalSessionsPerEpoch,
      stepsPerEpoch: t.stepsPerEpoch,
      heldOutFraction: t.heldOutFraction,
      ...userSplit(setup),
      evaluateOn,
      lastEpochsForFigure: t.lastEpochsForFigure,
      exploration,
    },
    (sessions) => reportMetrics(sessions, catalog, maxRequests),
  );
  // The probe: every epoch from the same fresh state (one seed per job), so the convergence criterion sees the policy, not the panel's drift.
  const probeSeed = new Rng(seed).fork('probe-environment').seed;
  // The probe runs the panel alone: only its users' history is copied.
  run.probeEnvironment = () => new Environment(catalog, setup.simulator, { ...setup.environment, seed: probeSeed, historyUsers: run.evalUsers });
  // The world column is measured as the simulator's: every epoch's greedy policy on the same panel, in a world that keeps
  // the panel's history from epoch to epoch, with the same environment seed; the figure is the mean of the last epochs.
  if (mirrorInWorld && setup.groundTruth)
    run.mirrorEnvironment = new ReplayableEnvironment(
      new Environment(catalog, setup.groundTruth, { ...worldEnvironmentOf(setup), seed, historyUsers: run.evalUsers }),
      setup.loggingPolicy,
    );
  return { agent, result: run.run(onUnit) };
}

/** The per-metric curves of a training result (epoch numbers from 1). */
function curveOf(result: TrainingResult): SeedRun['curve'] {
  const curve = { epoch: result.reports.map((r) => r.epoch + 1) } as SeedRun['curve'];
  for (const m of REPORT_METRICS) curve[m] = result.reports.map((r) => r.eval[m]!);
  for (const [kind, of] of [
    ['probe', 'probe'],
    ['world', 'mirror'],
  ] as const) {
    if (result.reports.length === 0 || !result.reports.every((r) => r[of])) continue;
    const c = {} as Record<ReportMetric, number[]>;
    for (const m of REPORT_METRICS) c[m] = result.reports.map((r) => r[of]![m]!);
    curve[kind] = c;
  }
  return curve;
}

/** A run's parts summed over epochs, wall and (where available) thread CPU; `world` is filled in by the caller. */
function partsOf(result: TrainingResult): { parts: JobParts; cpuParts: JobParts | null } {
  const parts: JobParts = { collect: 0, observe: 0, trainSteps: 0, evaluation: 0, world: 0 };
  let cpuParts: JobParts | null = { collect: 0, observe: 0, trainSteps: 0, evaluation: 0, world: 0 };
  for (const r of result.reports) {
    addParts(parts, r.seconds);
    if (cpuParts && r.cpuSeconds) addParts(cpuParts, r.cpuSeconds);
    else cpuParts = null;
  }
  return { parts, cpuParts };
}

/**
 * Trains `name` on `seed` and evaluates it, in the simulator and (when
 * there is one) in the world, every epoch by the same protocol: the figures
 * are the means of the last `lastEpochsForFigure` epochs of each. `onUnit`
 * is called after every training epoch (the progress bar's unit).
 * `exploration` replaces the schedule's (a tuned model's own).
 */
export function runModelSeed(setup: JobSetup, name: string, seed: number, onUnit: (note: string) => void, exploration?: ExplorationOptions): JobResult {
  const t = setup.train;
  const t0 = performance.now();
  const agentConfig = setup.agentConfigs[name] ?? { batchSize: t.batchSize };
  const { result } = trainInSimulator(setup, name, seed, agentConfig, exploration ?? t.exploration, 'held-out', () => onUnit(`${name} seed ${seed}`), true);
  const seconds = (performance.now() - t0) / 1000;

  const world = result.mirrorFigure;
  const sim = {} as Record<ReportMetric, number>;
  const real = {} as Record<ReportMetric, number>;
  for (const m of REPORT_METRICS) {
    sim[m] = result.figure[m]!;
    if (world) real[m] = world[m]!;
  }
  const capShare = world ? { sim: result.figure.capShare!, real: world.capShare! } : { sim: result.figure.capShare! };
  const { parts, cpuParts } = partsOf(result);
  const worldSeconds = parts.world;
  const trainSeconds = seconds - worldSeconds;
  return { run: { seed, sim, ...(world ? { real } : {}), curve: curveOf(result), capShare }, trainSeconds, worldSeconds, parts, cpuParts };
}

/**
 * A tuning job: trains the job's model with its candidate config in the
 * learned simulator exactly as the experiment would (same schedule, same
 * training users), but evaluates every epoch on the VALIDATION users; the
 * held-out users are never run. Returns the validation figure (mean of the
 * last `lastEpochsForFigure` epochs) and curves.
 */
export function runTuneJob(setup: JobSetup, job: Extract<ExperimentJob, { kind: 'tune' }>, onUnit: (note: string) => void): TuneJobResult {
  const { result } = trainInSimulator(setup, job.model, job.seed, job.agentConfig, job.exploration ?? setup.train.exploration, 'validation', () =>
    onUnit(jobLabel(job)),
  );
  const figure = {} as Record<ReportMetric, number>;
  for (const m of REPORT_METRICS) figure[m] = result.figure[m]!;
  return { figure, curve: curveOf(result), ...partsOf(result) };
}

/** Adds one epoch's seconds (collect, observe, train including observe, eval) to the job's parts. */
function addParts(parts: JobParts, s: { collect: number; train: number; eval: number; observe?: number; mirror?: number }): void {
  const observe = s.observe ?? 0;
  parts.collect += s.collect;
  parts.observe += observe;
  parts.trainSteps += s.train - observe;
  parts.evaluation += s.eval;
  parts.world += s.mirror ?? 0;
}
