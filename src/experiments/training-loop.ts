/**
 * The generic trainer (docs/design.md §4.9 and §6.5): one loop for every
 * agent behind the `Ranker` interface.
 *
 * Each epoch e:
 *   1. collect: one session for each of `sessionsPerEpoch` TRAINING users,
 *      ranked by the agent's current scores plus exploration (offline agents
 *      — `learnsOffline` — get sessions of the environment's logging policy
 *      instead, never sessions of their own);
 *   2. `agent.observe(sessions)`, then `agent.train(stepsPerEpoch)`; a NaN or
 *      infinite loss stops the run with a {@link TrainingDivergedError} and
 *      the last good checkpoint is left as it was;
 *   3. evaluate: one greedy session for each of `evalSessionsPerEpoch`
 *      HELD-OUT users (never trained on), scored by the metrics function;
 *   4. checkpoint (atomic, checksummed): agent bytes + environment state +
 *      this loop's state.
 * The model's figure is the mean of the last `lastEpochsForFigure` (paper:
 * 10) evaluation epochs.
 *
 * Fairness and resumability come from the same rule: the loop's random
 * streams of epoch e are forked from (seed, purpose, e) — which training
 * users, the exploration draws — never carried over from earlier epochs.
 * Every model therefore gets the same users in the same epochs (and the same
 * held-out panel), and a resumed run needs only the agent's and the
 * environment's own saved state to continue bit-for-bit.
 */
import { explorationAtEpoch, GREEDY, validateExploration, type ExplorationOptions } from '../agents/exploration.js';
import { RankerPolicy } from '../agents/ranker-policy.js';
import type { Ranker, TrainStats } from '../agents/ranker.js';
import { Rng } from '../numeric/rng.js';
import type { SlatePolicy } from '../environment/slate-policy.js';
import type { SessionTrace } from '../environment/trace.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../agents/checkpoint.js';
import { PartClock } from './thread-clock.js';

/** What the loop needs from an environment (the learned simulator or the ground-truth world). */
export interface TrainingEnvironment {
  /** Number of users; dense ids 0..numUsers-1. */
  readonly numUsers: number;
  /**
   * Runs one session for each listed user (distinct ids, in this order) with
   * `policy`. The environment draws from its own seeded streams, which are
   * part of its saved state.
   */
  runSessions(users: readonly number[], policy: SlatePolicy): SessionTrace[];
  /** The behaviour policy whose sessions offline agents learn from. */
  loggingPolicy(rng: Rng): SlatePolicy;
  /** Serializes the evolving state (pair counts, clocks, its RNG streams, ...) for checkpoints. */
  saveState(): Uint8Array;
  /** Restores what `saveState` produced. */
  loadState(bytes: Uint8Array): void;
}

/** Figures of one evaluation (docs/design.md §6.4 metrics), e.g. sessionLength, watchTime, ctr. */
export type EvaluationMetrics = Record<string, number>;

/** Turns the sessions of one evaluation into metrics. */
export type MetricsFunction = (sessions: readonly SessionTrace[]) => EvaluationMetrics;

export interface TrainingLoopOptions {
  /** Exact agent name (registry key); recorded in checkpoints. */
  agentName: string;
  /** Agent config overrides (recorded in checkpoints so `evaluate` and `--resume` rebuild the same agent). */
  agentConfig: Record<string, unknown>;
  /** Seed of the split and of every per-epoch random stream. */
  seed: number;
  /** Number of epochs to run in total (a resumed run continues up to this). */
  epochs: number;
  /** Training sessions collected per epoch: one each for this many distinct training users (capped at their number). */
  sessionsPerEpoch: number;
  /** Held-out sessions evaluated per epoch: one each for this many distinct held-out users (capped at their number). */
  evalSessionsPerEpoch: number;
  /** Gradient steps per epoch (`agent.train(stepsPerEpoch)`). */
  stepsPerEpoch: number;
  /** Fraction of users held out for evaluation, in (0, 1). */
  heldOutFraction: number;
  /**
   * Seed of the split into training, validation and held-out users (default:
   * `seed`). The experiment fixes it per world, so every training seed is
   * judged on the same held-out users and tuning can avoid all of them.
   */
  splitSeed?: number;
  /**
   * Share of the non-held-out users reserved as VALIDATION users (default 0):
   * they are never trained on; `rliv tune` evaluates on them (`evaluateOn`)
   * and never on the held-out users.
   */
  validationFraction?: number;
  /** Users of the per-epoch evaluation: 'held-out' (default) or 'validation' (tuning). */
  evaluateOn?: 'held-out' | 'validation';
  /** The figure is the mean of this many last evaluation epochs (paper: 10). */
  lastEpochsForFigure: number;
  /** Exploration while collecting (decays per epoch); evaluation is always greedy. */
  exploration: ExplorationOptions;
  /** Extra JSON kept in checkpoints (e.g. the CLI's environment choice), returned on resume. */
  meta?: Record<string, unknown>;
}

/** What one epoch did. */
export interface EpochReport {
  /** 0-based epoch index. */
  epoch: number;
  /** Training sessions collected and their mean length (requests per session). */
  trainSessions: number;
  trainSessionLength: number;
  /** What `agent.train` reported. */
  train: TrainStats;
  /** Metrics of the greedy evaluation on held-out users. */
  eval: EvaluationMetrics;
  /**
   * Metrics of the probe evaluation (when the run has a
   * {@link TrainingRun.probeEnvironment}): the same greedy policy on the
   * same held-out users, in a fresh environment that starts every epoch from
   * the same state. A policy that no longer changes gets the same figures
   * every epoch, so the convergence criterion reads this curve.
   */
  probe?: EvaluationMetrics;
  /**
   * Metrics of the mirror evaluation (when the run has a
   * {@link TrainingRun.mirrorEnvironment}): the same greedy policy on the
   * same panel in a second environment that, like the evaluation's, keeps
   * the panel's history from epoch to epoch (the ground-truth world of an
   * experiment: the simulator's protocol, run in the world).
   */
  mirror?: EvaluationMetrics;
  /** Wall-clock seconds of collect / train / eval / the mirror evaluation; `observe` (the agent storing the sessions) is the part of `train` before the gradient steps. */
  seconds: { collect: number; train: number; eval: number; observe?: number; mirror?: number };
  /** The same parts in CPU seconds of the thread that ran them (absent where the platform has no per-thread clock, see thread-clock.ts). */
  cpuSeconds?: { collect: number; train: number; eval: number; observe: number; mirror?: number };
}

/** Outcome of a run. */
export interface TrainingResult {
  agent: string;
  epochs: number;
  /** Per metric, the mean of the last `lastEpochsForFigure` evaluation epochs. */
  figure: EvaluationMetrics;
  /** The same from the mirror evaluations, when the run has a {@link TrainingRun.mirrorEnvironment}. */
  mirrorFigure?: EvaluationMetrics;
  /** Every epoch's report, in order (includes the epochs before a resume). */
  reports: EpochReport[];
}

/** A NaN or infinite training loss: the run stops, the last good checkpoint stays. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/**
 * Training, validation and held-out users: a seeded shuffle, the last
 * `heldOutFraction` held out; then `validationFraction` of the remaining
 * users (a second seeded shuffle) are validation users, the rest training
 * users. The held-out users do not depend on `validationFraction`.
 */
export function splitUsers(
  numUsers: number,
  heldOutFraction: number,
  seed: number,
  validationFraction = 0,
): { train: number[]; validation: number[]; heldOut: number[] } {
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) throw new RangeError(`heldOutFraction must be in (0, 1); got ${heldOutFraction}`);
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new RangeError(`validationFraction must be in [0, 1); got ${validationFraction}`);
  const ids = Array.from({ length: numUsers }, (_, i) => i);
  new Rng(seed).fork('split-users').shuffle(ids);
  const held = Math.max(1, Math.round(numUsers * heldOutFraction));
  if (numUsers - held < 1) throw new RangeError(`need at least 2 users to split into training and held-out; got ${numUsers}`);
  const rest = ids.slice(0, numUsers - held);
  const val = validationFraction > 0 ? Math.max(1, Math.round(rest.length * validationFraction)) : 0;
  if (rest.length - val < 1) throw new RangeError(`no training users left: ${rest.length} non-held-out users, ${val} of them for validation`);
  if (val > 0) new Rng(seed).fork('validation-users').shuffle(rest);
  return {
    train: rest.slice(0, rest.length - val).sort((a, b) => a - b),
    validation: rest.slice(rest.length - val).sort((a, b) => a - b),
    heldOut: ids.slice(numUsers - held).sort((a, b) => a - b),
  };
}

/** How a run splits its users (see {@link TrainingLoopOptions}); `splitUsersOf` applies it. */
export type UserSplitOptions = Pick<TrainingLoopOptions, 'seed' | 'heldOutFraction' | 'splitSeed' | 'validationFraction' | 'evaluateOn'>;

/** The run's training users and the users its evaluation draws from (validation or held-out users). */
export function splitUsersOf(numUsers: number, o: UserSplitOptions): { train: number[]; evaluation: number[] } {
  const split = splitUsers(numUsers, o.heldOutFraction, o.splitSeed ?? o.seed, o.validationFraction ?? 0);
  if ((o.evaluateOn ?? 'held-out') === 'validation' && split.validation.length === 0)
    throw new RangeError('evaluateOn "validation" needs validationFraction > 0');
  return { train: split.train, evaluation: (o.evaluateOn ?? 'held-out') === 'validation' ? split.validation : split.heldOut };
}

/** Mean of each metric over the last `last` reports. */
export function figureOf(reports: readonly EpochReport[], last: number, of: 'eval' | 'mirror' = 'eval'): EvaluationMetrics {
  const tail = reports.slice(Math.max(0, reports.length - last));
  const out: EvaluationMetrics = {};
  if (tail.length === 0) return out;
  const evals = tail.map((r) => {
    const m = r[of];
    if (!m) throw new Error(`epoch ${r.epoch + 1} has no ${of} evaluation: the figure's last ${last} epochs need one each (a resumed run has no mirror)`);
    return m;
  });
  for (const key of Object.keys(evals[0]!)) {
    let s = 0;
    for (const m of evals) s += m[key]!;
    out[key] = s / tail.length;
  }
  return out;
}

function validateOptions(o: TrainingLoopOptions): void {
  for (const f of ['epochs', 'sessionsPerEpoch', 'evalSessionsPerEpoch', 'lastEpochsForFigure'] as const) {
    if (!(Number.isInteger(o[f]) && o[f] >= 1)) throw new RangeError(`training option ${f} must be an integer >= 1; got ${o[f]}`);
  }
  if (!(Number.isInteger(o.stepsPerEpoch) && o.stepsPerEpoch >= 0))
    throw new RangeError(`training option stepsPerEpoch must be an integer >= 0; got ${o.stepsPerEpoch}`);
  validateExploration(o.exploration);
}

/**
 * Users for one epoch: a seeded sample without replacement (the environment
 * runs one session per user per call), capped at the pool size.
 */
function pickUsers(pool: readonly number[], count: number, rng: Rng): number[] {
  const order = rng.shuffle(pool.slice());
  return order.slice(0, Math.min(count, pool.length));
}

function meanSessionLength(sessions: readonly SessionTrace[]): number {
  if (sessions.length === 0) return 0;
  let s = 0;
  for (const t of sessions) s += t.requests.length;
  return s / sessions.length;
}

/**
 * Greedy evaluation of a trained agent outside training: `rounds` rounds of
 * one session for each of `users`, metrics per round and their mean (the
 * paper's "mean of the last 10 epochs" without the training in between).
 */
export function evaluateRanker(
  env: TrainingEnvironment,
  agent: Ranker,
  users: readonly number[],
  rounds: number,
  metrics: MetricsFunction,
): { mean: EvaluationMetrics; rounds: EvaluationMetrics[] } {
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`evaluation rounds must be an integer >= 1; got ${rounds}`);
  if (users.length === 0) throw new RangeError('evaluation needs at least one user');
  const perRound: EvaluationMetrics[] = [];
  const policy = new RankerPolicy(agent, new Rng(0), GREEDY);
  for (let r = 0; r < rounds; r++) perRound.push(metrics(env.runSessions(users, policy)));
  const mean: EvaluationMetrics = {};
  for (const key of Object.keys(perRound[0]!)) mean[key] = perRound.reduce((s, m) => s + m[key]!, 0) / rounds;
  return { mean, rounds: perRound };
}

/**
 * The evaluation panel of a run: `count` of its held-out users (or, with
 * `evaluateOn: 'validation'`, of its validation users), seeded by `seed`;
 * all of them when fewer.
 */
export function evaluationUsers(
  numUsers: number,
  heldOutFraction: number,
  count: number,
  seed: number,
  split: Omit<UserSplitOptions, 'seed' | 'heldOutFraction'> = {},
): number[] {
  const pool = splitUsersOf(numUsers, { seed, heldOutFraction, ...split }).evaluation;
  return pickUsers(pool, Math.min(count, pool.length), new Rng(seed).fork('eval-users'));
}

/**
 * One training run of one agent in one environment. Construct fresh, or
 * {@link TrainingRun.resume} from a checkpoint; then {@link TrainingRun.run}.
 */
export class TrainingRun {
  /** Completed epochs. */
  epoch = 0;
  readonly reports: EpochReport[] = [];
  /**
   * Builds the environment of the probe evaluation (see
   * {@link EpochReport.probe}): called once per epoch, it must return an
   * environment in the same initial state every time (a fresh one with a
   * fixed seed). Absent: no probe.
   *
   * Why: the evaluation users keep their history (pair counts, follows)
   * from epoch to epoch, so the per-epoch evaluation of a frozen policy
   * drifts (a frozen logging policy's session length rises by 1.9 % per
   * epoch over epochs 11-20 in the world; docs/design.md §8.3), and its
   * curve cannot tell learning from that drift.
   */
  probeEnvironment: (() => Pick<TrainingEnvironment, 'runSessions'>) | undefined = undefined;
  /**
   * A second environment the greedy policy is evaluated in after every
   * epoch, on the same panel (see {@link EpochReport.mirror}). It lives
   * through the run as the training environment does, so the panel's
   * history grows in it as in the evaluation: its last epochs' mean
   * ({@link TrainingResult.mirrorFigure}) is measured exactly as the
   * figure is. Set before the first epoch; its state is not checkpointed
   * (a resumed run has none).
   */
  mirrorEnvironment: Pick<TrainingEnvironment, 'runSessions'> | undefined = undefined;
  private readonly trainUsers: number[];
  /** The users every evaluation epoch (and the probe) runs: held-out or validation users. */
  readonly evalUsers: number[];
  private readonly root: Rng;

  /**
   * @param checkpointPath written atomically after every epoch (omit to skip checkpoints).
   */
  constructor(
    readonly env: TrainingEnvironment,
    readonly agent: Ranker,
    readonly options: TrainingLoopOptions,
    readonly metrics: MetricsFunction,
    readonly checkpointPath?: string,
  ) {
    validateOptions(options);
    this.trainUsers = splitUsersOf(env.numUsers, options).train;
    // Evaluation always runs the same held-out (or, tuning, validation) users, so every model and every epoch is judged on one panel.
    // One session per user per call: with fewer such users than asked, the panel is all of them.
    this.evalUsers = evaluationUsers(env.numUsers, options.heldOutFraction, options.evalSessionsPerEpoch, options.seed, options);
    this.root = new Rng(options.seed);
  }

  /**
   * Rebuilds a run from a checkpoint: the agent (built by `makeAgent` from
   * the recorded name and config, then `load`ed), the environment state and
   * the completed epochs. `overrides` may raise the epoch count or change the
   * checkpoint path; everything else comes from the checkpoint.
   */
  static resume(
    checkpoint: string | Checkpoint,
    env: TrainingEnvironment,
    makeAgent: (name: string, config: Record<string, unknown>) => Ranker,
    metrics: MetricsFunction,
    overrides: { epochs?: number; checkpointPath?: string } = {},
  ): TrainingRun {
    const path = typeof checkpoint === 'string' ? checkpoint : undefined;
    const ckpt = typeof checkpoint === 'string' ? loadCheckpoint(checkpoint) : checkpoint;
    const state = ckpt.state as { options?: TrainingLoopOptions; epoch?: number; reports?: EpochReport[] };
    if (!state.options || typeof state.epoch !== 'number' || !Array.isArray(state.reports)) {
      throw new Error(`${path ?? 'checkpoint'} holds no training-loop state (was it written by "rliv train"?)`);
    }
    const model = ckpt.sections.model;
    const envState = ckpt.sections.env;
    if (!model || !envState) throw new Error(`${path ?? 'checkpoint'} lacks its "model" or "env" section`);
    const options = { ...state.options, epochs: overrides.epochs ?? state.options.epochs };
    const agent = makeAgent(ckpt.agent, ckpt.agentConfig);
    agent.load(model);
    env.loadState(envState);
    const run = new TrainingRun(env, agent, options, metrics, overrides.checkpointPath ?? path);
    run.epoch = state.epoch;
    run.reports.push(...state.reports);
    return run;
  }

  /** True when every epoch has run. */
  get done(): boolean {
    return this.epoch >= this.options.epochs;
  }

  /** Runs one epoch (collect, observe, train, evaluate, checkpoint). */
  runEpoch(): EpochReport {
    const e = this.epoch;
    const o = this.options;
    const clock = new PartClock();
    clock.start();

    // 1. Collect sessions of training users.
    const users = pickUsers(this.trainUsers, o.sessionsPerEpoch, this.root.fork(`train-users/${e}`));
    const exploreRng = this.root.fork(`explore/${e}`);
    const policy: SlatePolicy = this.agent.learnsOffline
      ? this.env.loggingPolicy(exploreRng)
      : new RankerPolicy(this.agent, exploreRng, explorationAtEpoch(o.exploration, e));
    const sessions = this.env.runSessions(users, policy);
    const collect = clock.lap();

    // 2. Learn.
    clock.start();
    this.agent.observe(sessions);
    const observe = clock.lap();
    const diverged = (what: string): TrainingDivergedError => {
      const kept =
        this.checkpointPath && e > 0 ? `the last good checkpoint ${this.checkpointPath} (after epoch ${e}) is kept` : 'no checkpoint was written yet';
      return new TrainingDivergedError(
        `${this.agent.name} produced ${what} in epoch ${e + 1}; training stopped and ${kept}. Lower the learning rate or check the rewards fed to the agent.`,
      );
    };
    let stats: TrainStats;
    try {
      stats = this.agent.train(o.stepsPerEpoch);
    } catch (err) {
      // Agents may stop themselves on a non-finite loss (before their optimizer step).
      if ((err as Error).name === 'NonFiniteLossError') throw diverged(`a non-finite loss (${(err as Error).message})`);
      throw err;
    }
    for (const [component, value] of Object.entries(stats.losses)) {
      if (!Number.isFinite(value)) throw diverged(`a non-finite ${component} loss (${value})`);
    }
    const train = clock.lap();

    // 3. Evaluate greedily on held-out users.
    clock.start();
    const evalPolicy = new RankerPolicy(this.agent, this.root.fork(`eval-policy/${e}`), GREEDY);
    const evalSessions = this.env.runSessions(this.evalUsers, evalPolicy);
    const evalMetrics = this.metrics(evalSessions);
    let probe: EvaluationMetrics | undefined;
    if (this.probeEnvironment) {
      const probePolicy = new RankerPolicy(this.agent, this.root.fork(`probe-policy/${e}`), GREEDY);
      probe = this.metrics(this.probeEnvironment().runSessions(this.evalUsers, probePolicy));
    }
    const evaluation = clock.lap();
    let mirror: EvaluationMetrics | undefined;
    let mirrorLap: { wall: number; cpu: number | null } | undefined;
    if (this.mirrorEnvironment) {
      clock.start();
      const mirrorPolicy = new RankerPolicy(this.agent, this.root.fork(`mirror-policy/${e}`), GREEDY);
      mirror = this.metrics(this.mirrorEnvironment.runSessions(this.evalUsers, mirrorPolicy));
      mirrorLap = clock.lap();
    }

    const report: EpochReport = {
      epoch: e,
      trainSessions: sessions.length,
      trainSessionLength: meanSessionLength(sessions),
      train: stats,
      eval: evalMetrics,
      ...(probe ? { probe } : {}),
      ...(mirror ? { mirror } : {}),
      seconds: { collect: collect.wall, train: train.wall, eval: evaluation.wall, observe: observe.wall, ...(mirrorLap ? { mirror: mirrorLap.wall } : {}) },
      ...(collect.cpu !== null && observe.cpu !== null && train.cpu !== null && evaluation.cpu !== null && (!mirrorLap || mirrorLap.cpu !== null)
        ? {
            cpuSeconds: {
              collect: collect.cpu,
              train: train.cpu,
              eval: evaluation.cpu,
              observe: observe.cpu,
              ...(mirrorLap ? { mirror: mirrorLap.cpu! } : {}),
            },
          }
        : {}),
    };
    this.reports.push(report);
    this.epoch = e + 1;
    if (this.checkpointPath) this.writeCheckpoint(this.checkpointPath);
    return report;
  }

  /** Runs the remaining epochs; `onEpoch` sees each report right after its checkpoint is written. */
  run(onEpoch?: (report: EpochReport, run: TrainingRun) => void): TrainingResult {
    while (!this.done) {
      const report = this.runEpoch();
      onEpoch?.(report, this);
    }
    return this.result();
  }

  result(): TrainingResult {
    return {
      agent: this.options.agentName,
      epochs: this.epoch,
      figure: figureOf(this.reports, this.options.lastEpochsForFigure),
      ...(this.mirrorEnvironment ? { mirrorFigure: figureOf(this.reports, this.options.lastEpochsForFigure, 'mirror') } : {}),
      reports: this.reports.slice(),
    };
  }

  /** The checkpoint of the current state (after `epoch` completed epochs). */
  checkpoint(): Checkpoint {
    return {
      agent: this.options.agentName,
      agentConfig: this.options.agentConfig,
      state: { options: this.options, epoch: this.epoch, reports: this.reports },
      sections: { model: this.agent.save(), env: this.env.saveState() },
    };
  }

  writeCheckpoint(path: string): void {
    saveCheckpoint(path, this.checkpoint());
  }
}
