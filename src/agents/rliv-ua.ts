/**
 * The RLIV-UA agent (paper §2-§3): a `Ranker` that ranks candidates by the
 * lifelong interaction value (LIV) of the user-author pair behind each item.
 *
 * Data path (the real pipeline of Fig. 4, not a shortcut):
 *   SessionTrace -> impression + feedback events (mdp/trace-events)
 *   -> LabelJoiner -> ASA sample builder (s, a, r, s') -> ReplayBuffer
 *   -> batches -> RlivUaNetwork.step (MTCL towers + SL + AL, soft targets).
 * The state f_ua^t of each exposure is the pair's counts at the time of the
 * request (RequestRecord.candidatePairCounts).
 *
 * Ranking: per-tower LIV = min(Q_1, Q_2) (eq. 5); the score is a weighted sum
 * of the towers' LIVs standardized over the request's candidates
 * (combineTowerLivs in tower-liv.ts; default: the watch-time LIV alone, as the
 * paper does offline). No exploration here:
 * the training loop adds it (agents/exploration.ts).
 *
 * Usage:
 *   const agent = new RlivUaAgent({ catalog, seed }, { batchSize: 256 });
 *   agent.observe(sessions); agent.train(100); agent.score(request, out);
 *   agent.livPerTower(request, livs);   // N x 4, TOWERS order, for serving
 */
import { Rng } from '../numeric/rng.js';
import { deserializeParams, readParamsHeader, readParamsMeta } from '../numeric/params-io.js';
import { Param } from '../numeric/param.js';
import { TOWERS, TOWER_COUNT as TOWER_COUNT_IMPORT, type Tower } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import type { SessionTrace } from '../environment/trace.js';
import { LabelJoiner, type JoinedInteraction, type JoinerCounters } from '../mdp/label-joiner.js';
import { AsaSampleBuilder } from '../mdp/adjacent-state-approximation.js';
import { ReplayBuffer } from '../mdp/replay-buffer.js';
import { allocSampleBatch, type SampleBatch } from '../mdp/scri-mdp.js';
import { feedSessionToJoiner } from '../mdp/trace-events.js';
import type { Ranker, RankerContext, RankRequest, TowerLiv, TrainStats } from './ranker.js';
import { combineTowerLivs, towerWeightVector } from './tower-liv.js';
import {
  AgentCheckpointError,
  agentCheckpointSections,
  loadAgentCheckpoint,
  loadAgentState,
  saveAgentCheckpoint,
  type AgentState,
  type CheckpointedStore,
} from './agent-checkpoint.js';
import { parseRlivUaConfig, type RlivUaConfig } from './rliv-ua-config.js';
import { RlivUaNetwork, type StepLosses } from './rliv-ua-network.js';

const TOWER_COUNT = TOWER_COUNT_IMPORT;
/** Samples staged between the joiner and the replay buffer. */
const STAGING_ROWS = 4096;

/** Figures of the sample pipeline since the agent was created (or loaded). */
export interface RlivUaPipelineStats {
  /** Sessions observed. */
  sessions: number;
  /** Samples pushed to the replay buffer. */
  samples: number;
  /** Summed counters of the label joiner. */
  joiner: JoinerCounters;
}

export class RlivUaAgent implements Ranker, TowerLiv {
  readonly name: string;
  /** The agent is its own per-tower LIV source. */
  readonly towerLiv: TowerLiv = this;
  readonly learnsOffline = false;
  readonly config: RlivUaConfig;
  readonly catalog: Catalog;
  readonly network: RlivUaNetwork;
  private replayBuffer: ReplayBuffer;
  private readonly seed: number;
  /** Draws the next items of the TD target's max. */
  private readonly rng: Rng;
  private readonly asa: AsaSampleBuilder;
  private readonly staging: SampleBatch;
  private readonly batch: SampleBatch;
  private livs: Float32Array;
  private readonly weightMask = new Uint8Array(TOWER_COUNT);
  private readonly weights = new Float64Array(TOWER_COUNT);
  private readonly stats: RlivUaPipelineStats;
  /** Set by loadParameters: the replay buffer was not restored, so save() refuses. */
  private parametersOnly = false;

  /**
   * @param context catalog and seed.
   * @param config overrides of the defaults in rliv-ua-config.ts (validated; an unknown key is an error).
   */
  constructor(context: RankerContext, config: Record<string, unknown> = {}) {
    this.config = parseRlivUaConfig(config);
    this.name = this.config.name;
    this.catalog = context.catalog;
    this.seed = context.seed;
    const root = new Rng(context.seed).fork('rliv-ua');
    this.network = new RlivUaNetwork(context.catalog, this.config, root.fork('init'));
    this.rng = root.fork('next-items');
    this.replayBuffer = this.newReplay();
    this.asa = new AsaSampleBuilder({ giftReward: this.config.giftReward });
    this.staging = allocSampleBatch(STAGING_ROWS);
    this.batch = allocSampleBatch(this.config.batchSize);
    this.livs = new Float32Array(this.config.maxCandidates * TOWER_COUNT);
    this.stats = { sessions: 0, samples: 0, joiner: emptyCounters() };
    this.setScoreWeights(this.config.scoreWeights);
  }

  /** The replay buffer (read-only use: size, totalPushed, storage). */
  get replay(): ReplayBuffer {
    return this.replayBuffer;
  }

  /** Sample-pipeline figures (copies). */
  pipelineStats(): RlivUaPipelineStats {
    return { sessions: this.stats.sessions, samples: this.stats.samples, joiner: { ...this.stats.joiner } };
  }

  /** Towers this variant trains (TOWERS order). */
  get trainedTowers(): readonly Tower[] {
    return this.config.towers;
  }

  /**
   * Changes the ranking weights over the towers' standardized LIVs (e.g.
   * the serving layer's choice). Validated like the config field.
   */
  setScoreWeights(weights: Partial<Record<Tower, number>>): void {
    const checked = parseRlivUaConfig({ scoreWeights: weights }, { ...this.config, scoreWeights: { watchTime: 1 } }).scoreWeights;
    this.config.scoreWeights = checked;
    towerWeightVector(checked, this.weights);
    for (let c = 0; c < TOWER_COUNT; c++) this.weightMask[c] = this.weights[c] !== 0 ? 1 : 0;
  }

  /** The tower weights `score` ranks by (a copy of the config's). */
  get scoreWeights(): Readonly<Partial<Record<Tower, number>>> {
    return { ...this.config.scoreWeights };
  }

  /**
   * The ranking score: {@link combineTowerLivs} of the weighted towers' LIVs
   * with `scoreWeights` (each tower standardized over the candidates; only
   * the weighted towers are computed).
   */
  score(request: RankRequest, out: Float32Array): void {
    this.scoreRequests([request], out);
  }

  /**
   * {@link score} of several requests in one pass of every weighted tower
   * over all their candidates (back to back in `out`); each request's towers
   * are standardized over its own candidates.
   */
  scoreRequests(requests: readonly RankRequest[], out: Float32Array): void {
    let n = 0;
    for (const q of requests) n += q.candidates.length;
    if (out.length < n) throw new RangeError(`${this.name}.score: out holds ${out.length} scores, ${n} candidates given`);
    if (this.livs.length < n * TOWER_COUNT) this.livs = new Float32Array(n * TOWER_COUNT);
    this.network.livPerTowerRequests(requests, this.livs, this.weightMask);
    let row = 0;
    for (const q of requests) {
      const m = q.candidates.length;
      combineTowerLivs(this.livs.subarray(row * TOWER_COUNT), m, this.weights, out.subarray(row, row + m));
      row += m;
    }
  }

  /**
   * The LIV of every tower for the request's candidates: out[i * 4 + t] with t
   * in TOWERS order (click, watchTime, follow, gift); NaN for towers this
   * variant does not train. `out` needs N * 4 floats. For the serving layer.
   */
  livPerTower(request: RankRequest, out: Float32Array): void {
    const n = request.candidates.length;
    if (out.length < n * TOWER_COUNT) throw new RangeError(`${this.name}.livPerTower: out holds ${out.length} floats, ${n} x ${TOWER_COUNT} needed`);
    for (let c = 0; c < TOWER_COUNT; c++) {
      if (this.config.towers.includes(TOWERS[c]!)) continue;
      for (let i = 0; i < n; i++) out[i * TOWER_COUNT + c] = NaN;
    }
    this.network.livPerTower(request.user, request.candidates, request.candidatePairCounts, n, out, null);
  }

  /**
   * Turns sessions into SCRI-MDP samples through the label joiner and ASA and
   * pushes them into the replay buffer. A fresh joiner per call: the sessions
   * of one call are complete, so every impression is flushed at the end and
   * request ids of later calls never collide with remembered keys.
   */
  observe(sessions: readonly SessionTrace[]): void {
    const staging = this.staging;
    staging.count = 0;
    const sink = (rec: JoinedInteraction): void => {
      if (staging.count >= staging.capacity) this.flushStaging();
      this.asa.append(rec, staging);
    };
    const joiner = new LabelJoiner(sink, { windowMs: this.config.joinWindowMs });
    for (const session of sessions) {
      if (session.user < 0 || session.user >= this.catalog.numUsers) {
        throw new RangeError(`${this.name}.observe: session of user ${session.user} is outside the catalog (0..${this.catalog.numUsers - 1})`);
      }
      feedSessionToJoiner(joiner, session, this.catalog);
      this.stats.sessions++;
    }
    joiner.flush();
    this.flushStaging();
    const sum = this.stats.joiner as unknown as Record<string, number>;
    for (const [k, v] of Object.entries(joiner.counters)) sum[k] = (sum[k] ?? 0) + v;
  }

  /**
   * Runs `steps` full training steps on batches sampled from the replay
   * buffer (none while it holds fewer than `minReplaySize` samples). Losses
   * are the means over the steps, per tower, plus 'assistance' and 'total'.
   * Throws NonFiniteLossError naming the tower when a loss is NaN/infinite
   * (that step changes no parameter).
   */
  train(steps: number): TrainStats {
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${this.name}.train: steps must be an integer >= 0, got ${steps}`);
    const sums: Record<string, number> = {};
    if (steps === 0 || this.replayBuffer.size < this.config.minReplaySize) return { steps: 0, losses: {} };
    for (let s = 0; s < steps; s++) {
      this.replayBuffer.sample(this.config.batchSize, this.batch);
      const l: StepLosses = this.network.step(this.batch, this.rng);
      for (const tower of this.config.towers) sums[tower] = (sums[tower] ?? 0) + l.towers[tower]!;
      if (this.config.assistance) sums.assistance = (sums.assistance ?? 0) + l.assistance;
      sums.total = (sums.total ?? 0) + l.total;
    }
    const losses: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) losses[k] = v / steps;
    return { steps, losses };
  }

  /**
   * Config + parameters (online, target, embedding) + Adam state + RNG state
   * + step counter + replay buffer contents and position, in the agent
   * checkpoint container every agent uses (agent-checkpoint.ts: section 0 the
   * agent state, section 1 the replay buffer; an outer CRC-32, and the
   * parameter and replay sections carry their own checksums too).
   */
  save(): Uint8Array {
    if (this.parametersOnly)
      throw new AgentCheckpointError(
        `${this.name}.save: this agent was loaded with loadParameters (serving; no replay buffer); load() the full checkpoint before saving`,
      );
    return saveAgentCheckpoint(this.agentState(), [this.replayStore()]);
  }

  /**
   * Restores what `save` wrote (or RLIV-UA's former RLIVUA01 bytes).
   * Verifies the outer checksum, then loads the replay section into a fresh
   * buffer and the parameters into shadow copies; only when everything
   * checks out does the agent change. On corrupt or mismatched bytes it
   * throws (AgentCheckpointError, ParamsFormatError or
   * ReplayBufferFormatError) and the agent is unchanged.
   */
  load(bytes: Uint8Array): void {
    const counters = loadAgentCheckpoint(bytes, this.agentState(), [this.replayStore()]);
    this.restoreCounters(counters);
    this.parametersOnly = false;
  }

  /** The replay buffer as the checkpoint's store: loads into a fresh buffer, swapped in only by the install step. */
  private replayStore(): CheckpointedStore {
    return {
      save: () => this.replayBuffer.save(),
      prepareLoad: (bytes) => {
        const replay = this.newReplay();
        if (bytes !== null) replay.load(bytes);
        return () => {
          this.replayBuffer = replay;
        };
      },
    };
  }

  private restoreCounters(counters: Record<string, number>): void {
    const weights: Partial<Record<Tower, number>> = {};
    for (const tower of TOWERS) {
      const w = counters[`scoreWeight.${tower}`];
      if (w !== undefined && w !== 0) weights[tower] = w;
    }
    this.setScoreWeights(weights);
    this.network.embedding.invalidate();
    this.network.setSteps(counters.steps ?? 0);
    this.stats.sessions = counters.sessions ?? 0;
    this.stats.samples = counters.samples ?? 0;
  }

  /**
   * Serving load: restores the parameters (and score weights, step counter)
   * of `save()` bytes without the replay buffer and without the outer
   * checksum pass; the parameter section's own CRC-32 is still verified and
   * corrupt bytes throw with the agent unchanged. For callers that verified
   * the whole file already (the model registry checks its SHA-256): on a
   * 71 MB checkpoint this skips ~2/3 of the checksum work and the replay
   * decode. The replay buffer is emptied and `save()` refuses to run until a
   * full `load()`, so a parameters-only agent can never publish a checkpoint
   * that silently lost its replay buffer.
   */
  loadParameters(bytes: Uint8Array): void {
    const agentBytes = agentCheckpointSections(bytes, `${this.name}.load`, false)[0]!;
    const counters = loadAgentState(agentBytes, this.agentState());
    this.enterParametersOnly(counters);
  }

  /**
   * Applies parameters that {@link prepareRlivUaParameters} verified and
   * decoded (typically in a worker thread, so the checksum and decoding of a
   * large checkpoint never block the serving event loop). Checks the agent
   * name, config and every parameter's name and shape before changing
   * anything; then behaves like {@link loadParameters}.
   */
  applyPreparedParameters(prepared: PreparedRlivUaParameters): void {
    const state = this.agentState();
    const meta = prepared.meta as { agent?: string; config?: unknown; counters?: Record<string, number> } | null;
    if (!meta || meta.agent !== state.agent) throw new AgentCheckpointError(`${this.name}.load: these bytes hold agent "${meta?.agent}", not "${state.agent}"`);
    if (JSON.stringify(meta.config) !== JSON.stringify(state.config)) {
      throw new AgentCheckpointError(
        `${this.name}.load: the checkpoint's config ${JSON.stringify(meta.config)} differs from this agent's ${JSON.stringify(state.config)}; create the agent with the checkpoint's config`,
      );
    }
    const byName = new Map(prepared.tensors.map((t) => [t.name, t]));
    for (const p of state.params) {
      const t = byName.get(p.name);
      if (!t) throw new AgentCheckpointError(`${this.name}.load: parameter ${p.name} is not in the checkpoint`);
      if (t.shape.join('x') !== p.shape.join('x') || t.values.length !== p.value.length)
        throw new AgentCheckpointError(`${this.name}.load: parameter ${p.name} has shape [${t.shape}] in the checkpoint but [${p.shape}] here`);
    }
    if (byName.size !== state.params.length)
      throw new AgentCheckpointError(`${this.name}.load: the checkpoint has ${byName.size} parameters, this agent ${state.params.length}`);
    for (const p of state.params) p.value.set(byName.get(p.name)!.values);
    this.enterParametersOnly({ ...(meta.counters ?? {}) });
  }

  /** The end of a parameters-only load: counters restored, replay emptied (reset in place: no reallocation on every serving reload), save() refused until a full load. */
  private enterParametersOnly(counters: Record<string, number>): void {
    this.restoreCounters(counters);
    this.replayBuffer.reset(this.seed);
    this.parametersOnly = true;
  }

  /** Builds an agent from a checkpoint, with the config stored in it (serving, evaluation). */
  static fromCheckpoint(bytes: Uint8Array, context: RankerContext): RlivUaAgent {
    const agentBytes = agentCheckpointSections(bytes, 'RLIV-UA.load')[0]!;
    const meta = readParamsMeta(agentBytes, 'RLIV-UA checkpoint') as { config?: Record<string, unknown>; counters?: Record<string, number> } | null;
    if (!meta || typeof meta.config !== 'object' || meta.config === null) throw new AgentCheckpointError('RLIV-UA checkpoint holds no config');
    const { catalog: _shape, ...config } = meta.config;
    const agent = new RlivUaAgent({ catalog: context.catalog, seed: meta.counters?.seed ?? context.seed }, config);
    agent.load(bytes);
    return agent;
  }

  private agentState(): AgentState {
    const [dense, embedding] = this.network.optimizers();
    // Score weights are a serving choice, not part of what the parameters mean: they travel as counters
    // (restored on load) and are left out of the config that must match.
    const { scoreWeights, ...structural } = this.config;
    const counters: Record<string, number> = { steps: this.network.steps, sessions: this.stats.sessions, samples: this.stats.samples, seed: this.seed };
    for (const tower of TOWERS) counters[`scoreWeight.${tower}`] = scoreWeights[tower] ?? 0;
    return {
      agent: this.name,
      config: { ...structural, catalog: { users: this.catalog.numUsers, authors: this.catalog.numAuthors, items: this.catalog.numItems } },
      params: this.network.allParams(),
      optimizers: [dense, embedding],
      rngs: [this.rng],
      counters,
    };
  }

  private newReplay(): ReplayBuffer {
    return new ReplayBuffer({ capacity: this.config.replayCapacity, seed: this.seed });
  }

  private flushStaging(): void {
    this.replayBuffer.pushBatch(this.staging);
    this.stats.samples += this.staging.count;
    this.staging.count = 0;
  }
}

/** Model parameters of an RLIV-UA checkpoint, verified and decoded (structured-clone / transfer friendly). */
export interface PreparedRlivUaParameters {
  /** The parameter section's meta (agent, config, counters, ...). */
  meta: unknown;
  /** Every model parameter (not the optimizer moments). */
  tensors: { name: string; shape: number[]; values: Float32Array }[];
}

/** Names of the Adam moment tensors that saveAgentState stores after the parameters. */
const MOMENT_NAME = /^adam\d+\.[mv]\./;

/**
 * Verifies (parameter section CRC-32, shapes against the section's header)
 * and decodes the model parameters of RLIV-UA `save()` bytes without an
 * agent: the part of a serving load that reads every byte, for a worker
 * thread. The replay section is not read, and the outer checksum is not
 * recomputed (callers verified the whole file's SHA-256). Throws on corrupt
 * bytes.
 */
export function prepareRlivUaParameters(bytes: Uint8Array): PreparedRlivUaParameters {
  const agentBytes = agentCheckpointSections(bytes, 'RLIV-UA.load', false)[0]!;
  // The header's shapes are checked against the section's length before anything is allocated.
  const all = readParamsHeader(agentBytes, 'RLIV-UA checkpoint').params.map((e) => new Param({ name: e.name, shape: e.shape }));
  // deserializeParams checks magic, version, CRC-32, shapes and payload length.
  const meta = deserializeParams(agentBytes, all, 'RLIV-UA checkpoint');
  const tensors = all.filter((p) => !MOMENT_NAME.test(p.name)).map((p) => ({ name: p.name, shape: p.shape.slice(), values: p.value }));
  return { meta, tensors };
}

function emptyCounters(): JoinerCounters {
  return {
    impressions: 0,
    duplicateImpressions: 0,
    evictedImpressions: 0,
    emitted: 0,
    emittedWithFeedback: 0,
    emittedNegative: 0,
    feedback: 0,
    joinedFeedback: 0,
    duplicateFeedback: 0,
    lateFeedback: 0,
    beforeImpressionFeedback: 0,
    outOfOrderJoined: 0,
    orphanFeedback: 0,
    earlyEvicted: 0,
    invalidFeedback: 0,
  };
}
