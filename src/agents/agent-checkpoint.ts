/**
 * The checkpoint of an agent — what `Ranker.save()` returns and `load()`
 * takes, for every agent (RLIV-UA and its variants, RankingModel, DQN, CQL,
 * TD3, RLUR) — in one sectioned container:
 *
 *   section 0: the agent state, through numeric params-io (checksummed):
 *              config + parameters + Adam moments + RNG states + counters;
 *   section k: the snapshot of the agent's k-th sample store (RLIV-UA's
 *              replay buffer, the baselines' request replays), so
 *              `rliv train --resume` continues exactly where the
 *              uninterrupted run would be.
 *
 * Format "RLIVAGNT" version 1, little-endian:
 *
 *   0      8   magic "RLIVAGNT"
 *   8      4   version, uint32 (= 1)
 *   12     4   K = number of sections, uint32 (1 agent state + K-1 stores)
 *   then K times: uint32 length L, L bytes
 *   end-4  4   CRC-32 of every byte before it
 *
 * Loading verifies the outer checksum, then every store section (decoded,
 * not installed), then the agent state (decoded into shadow copies, checked
 * against the agent's name and config), and only then installs everything:
 * corrupt or mismatched bytes throw a clear error and change nothing.
 *
 * Older formats still load: "RLIVBASE" (the baselines' container, the same
 * layout under another name), "RLIVUA01" (RLIV-UA's former container: magic,
 * uint32 length + agent state, uint32 length + replay, CRC-32) and a bare
 * params-io agent state ("RLIVPARM", the baselines' first format: no stores,
 * so resuming from it is not exact; evaluation is unaffected). Saving always
 * writes RLIVAGNT, so loading and saving converts a file.
 *
 * Also the typed error every agent throws on a NaN/infinite loss (before the
 * optimizer step, so the parameters stay as they were).
 */
import type { Adam } from '../numeric/adam.js';
import { Param } from '../numeric/param.js';
import { crc32, deserializeParams, PARAMS_MAGIC, serializeParams } from '../numeric/params-io.js';
import type { Rng, RngState } from '../numeric/rng.js';
import type { ReplayLimits, RequestReplay } from './request-replay.js';

/** A NaN or infinite training loss; thrown before the optimizer step, so parameters are unchanged by it. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    readonly agent: string,
    readonly component: string,
    readonly value: number,
    readonly step: number,
  ) {
    super(`${agent}: loss "${component}" is ${value} at training step ${step}; lower the learning rate or check the rewards/features for non-finite values`);
  }
}

/** Throws {@link NonFiniteLossError} unless `value` is finite. */
export function assertFiniteLoss(agent: string, component: string, value: number, step: number): void {
  if (!Number.isFinite(value)) throw new NonFiniteLossError(agent, component, value, step);
}

/** Bytes that cannot be loaded into this agent. */
export class AgentCheckpointError extends Error {
  override name = 'AgentCheckpointError';
}

/** Everything of an agent that a checkpoint holds. */
export interface AgentState {
  /** Registry name of the agent. */
  agent: string;
  /** The resolved config (must equal the loading agent's). */
  config: unknown;
  /** All parameters (online and target networks, embedding tables). */
  params: readonly Param[];
  /** Optimizers, in a fixed order. */
  optimizers: readonly Adam[];
  /** Random generators, in a fixed order. */
  rngs: readonly Rng[];
  /** Small JSON counters (training steps, running statistics). */
  counters: Record<string, number>;
}

interface Meta {
  agent: string;
  config: unknown;
  optimizerSteps: number[];
  rngs: RngState[];
  counters: Record<string, number>;
}

/** Serializes an agent (see file comment). */
export function saveAgentState(state: AgentState): Uint8Array {
  const all: Param[] = state.params.slice();
  state.optimizers.forEach((opt, o) => {
    const s = opt.getState();
    opt.params.forEach((p, i) => {
      all.push(new Param({ name: `adam${o}.m.${p.name}`, shape: [s.m[i]!.length], value: s.m[i]! }));
      all.push(new Param({ name: `adam${o}.v.${p.name}`, shape: [s.v[i]!.length], value: s.v[i]! }));
    });
  });
  const meta: Meta = {
    agent: state.agent,
    config: state.config,
    optimizerSteps: state.optimizers.map((o) => o.stepCount),
    rngs: state.rngs.map((r) => r.getState()),
    counters: state.counters,
  };
  return serializeParams(all, meta);
}

/**
 * Restores what {@link saveAgentState} wrote into the live objects of
 * `state`; returns the saved counters. Throws (AgentCheckpointError or the
 * params-io ParamsFormatError) and changes nothing when the bytes are
 * corrupt, come from another agent or another config.
 */
export function loadAgentState(bytes: Uint8Array, state: AgentState): Record<string, number> {
  if (!(bytes instanceof Uint8Array)) throw new AgentCheckpointError(`${state.agent}.load: expected the bytes of save(), got ${typeof bytes}`);
  const shadows = state.params.map((p) => new Param({ name: p.name, shape: p.shape }));
  const moments: { m: Param[]; v: Param[] }[] = state.optimizers.map((opt, o) => ({
    m: opt.params.map((p) => new Param({ name: `adam${o}.m.${p.name}`, shape: [p.size] })),
    v: opt.params.map((p) => new Param({ name: `adam${o}.v.${p.name}`, shape: [p.size] })),
  }));
  const all = shadows.concat(moments.flatMap((x) => x.m.concat(x.v)));
  const meta = deserializeParams(bytes, all, `${state.agent} checkpoint`) as Meta;
  if (!meta || meta.agent !== state.agent) {
    throw new AgentCheckpointError(`${state.agent}.load: these bytes hold agent "${meta?.agent}", not "${state.agent}"`);
  }
  if (JSON.stringify(meta.config) !== JSON.stringify(state.config)) {
    throw new AgentCheckpointError(
      `${state.agent}.load: the checkpoint's config ${JSON.stringify(meta.config)} differs from this agent's ${JSON.stringify(state.config)}; create the agent with the checkpoint's config`,
    );
  }
  if (
    !Array.isArray(meta.rngs) ||
    meta.rngs.length !== state.rngs.length ||
    !Array.isArray(meta.optimizerSteps) ||
    meta.optimizerSteps.length !== state.optimizers.length
  ) {
    throw new AgentCheckpointError(
      `${state.agent}.load: checkpoint lists ${meta.rngs?.length} RNGs and ${meta.optimizerSteps?.length} optimizers; expected ${state.rngs.length} and ${state.optimizers.length}`,
    );
  }
  if (meta.optimizerSteps.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new AgentCheckpointError(`${state.agent}.load: optimizer step counts ${JSON.stringify(meta.optimizerSteps)} are not non-negative integers`);
  }
  if (meta.rngs.some((r) => !r || !Array.isArray(r.s) || r.s.length !== 4 || r.s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff))) {
    throw new AgentCheckpointError(`${state.agent}.load: a saved RNG state is malformed`);
  }
  // Everything verified: commit.
  state.params.forEach((p, i) => p.value.set(shadows[i]!.value));
  state.optimizers.forEach((opt, o) =>
    opt.setState({ step: meta.optimizerSteps[o]!, m: moments[o]!.m.map((p) => p.value), v: moments[o]!.v.map((p) => p.value) }),
  );
  state.rngs.forEach((r, i) => r.setState(meta.rngs[i]!));
  return { ...meta.counters };
}

export const AGENT_CHECKPOINT_MAGIC = 'RLIVAGNT';
const AGENT_CHECKPOINT_VERSION = 1;
/** The baselines' former container: the RLIVAGNT layout under another magic. */
const LEGACY_BASELINE_MAGIC = 'RLIVBASE';
/** RLIV-UA's former two-section container. */
const LEGACY_RLIV_UA_MAGIC = 'RLIVUA01';

/** A sample store an agent checkpoints with itself (RLIV-UA's replay buffer, the baselines' request replays). */
export interface CheckpointedStore {
  save(): Uint8Array;
  /** Verifies the bytes (null = empty store) and returns the install step, which cannot fail. */
  prepareLoad(bytes: Uint8Array | null): () => void;
}

/** A request replay as a checkpointed store whose ids are checked against `limits` on load. */
export function replayStore(replay: RequestReplay, limits: ReplayLimits): CheckpointedStore {
  return { save: () => replay.save(), prepareLoad: (bytes) => replay.prepareLoad(bytes, limits) };
}

/** Serializes the agent state and its stores (format in the file comment). */
export function saveAgentCheckpoint(state: AgentState, stores: readonly CheckpointedStore[]): Uint8Array {
  const sections = [saveAgentState(state), ...stores.map((s) => s.save())];
  let total = 16 + 4;
  for (const s of sections) total += 4 + s.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (let k = 0; k < 8; k++) out[k] = AGENT_CHECKPOINT_MAGIC.charCodeAt(k);
  view.setUint32(8, AGENT_CHECKPOINT_VERSION, true);
  view.setUint32(12, sections.length, true);
  let off = 16;
  for (const s of sections) {
    view.setUint32(off, s.length, true);
    out.set(s, off + 4);
    off += 4 + s.length;
  }
  view.setUint32(off, crc32(out, 0, off), true);
  return out;
}

/**
 * Restores what {@link saveAgentCheckpoint} (or an older format, see the
 * file comment) wrote into `state`'s live objects and `stores`, all or
 * nothing; returns the saved counters.
 */
export function loadAgentCheckpoint(bytes: Uint8Array, state: AgentState, stores: readonly CheckpointedStore[]): Record<string, number> {
  const who = `${state.agent}.load`;
  const sections = agentCheckpointSections(bytes, who, true, stores.length);
  const installs = stores.map((s, k) => s.prepareLoad(sections[k + 1] ?? null));
  const counters = loadAgentState(sections[0]!, state);
  for (const install of installs) install();
  return counters;
}

/**
 * The sections of an agent checkpoint: [agent state (params-io bytes),
 * store 1, store 2, ...] — views into `bytes`, for any format the file
 * comment lists (a bare RLIVPARM state is one section). `verify = false`
 * skips the outer CRC-32, for callers that verified the whole file already
 * (the model registry checks its SHA-256); the agent state keeps its own
 * checksum either way. `who` prefixes error messages. `stores`: the number
 * of sample stores the loading agent keeps; a checkpoint with stores must
 * hold exactly that many (a bare agent state holds none and always fits).
 */
export function agentCheckpointSections(bytes: Uint8Array, who: string, verify = true, stores?: number): Uint8Array[] {
  if (!(bytes instanceof Uint8Array) || bytes.length < 20) {
    throw new AgentCheckpointError(
      `${who}: expected the bytes written by save() (got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes})`,
    );
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic === PARAMS_MAGIC) return [bytes];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 4;
  const verifyChecksum = (): void => {
    if (verify && view.getUint32(end, true) !== crc32(bytes, 0, end))
      throw new AgentCheckpointError(`${who}: checkpoint checksum mismatch: the bytes are corrupt or truncated`);
  };
  if (magic === LEGACY_RLIV_UA_MAGIC) {
    verifyChecksum();
    const agentLength = view.getUint32(8, true);
    const replayAt = 12 + agentLength;
    if (replayAt + 4 > end) throw new AgentCheckpointError(`${who}: checkpoint sections run past its end`);
    const replayLength = view.getUint32(replayAt, true);
    if (replayAt + 4 + replayLength !== end)
      throw new AgentCheckpointError(`${who}: checkpoint replay section is ${end - replayAt - 4} bytes, its header says ${replayLength}`);
    if (stores !== undefined && stores !== 1) throw new AgentCheckpointError(`${who}: checkpoint has 1 sample stores, this agent keeps ${stores}`);
    return [bytes.subarray(12, replayAt), bytes.subarray(replayAt + 4, end)];
  }
  if (magic !== AGENT_CHECKPOINT_MAGIC && magic !== LEGACY_BASELINE_MAGIC) {
    throw new AgentCheckpointError(
      `${who}: not an agent checkpoint (magic "${magic.replace(/[^\x20-\x7e]/g, '?')}", expected "${AGENT_CHECKPOINT_MAGIC}"; the older ${LEGACY_BASELINE_MAGIC}, ${LEGACY_RLIV_UA_MAGIC} and ${PARAMS_MAGIC} formats load too)`,
    );
  }
  verifyChecksum();
  const version = view.getUint32(8, true);
  if (version !== AGENT_CHECKPOINT_VERSION) {
    throw new AgentCheckpointError(
      `${who}: checkpoint format version ${version}, this build reads ${AGENT_CHECKPOINT_VERSION}; load it with the rliv version that wrote it`,
    );
  }
  const count = view.getUint32(12, true);
  if (count < 1) throw new AgentCheckpointError(`${who}: checkpoint has no agent state section`);
  if (stores !== undefined && count !== 1 + stores)
    throw new AgentCheckpointError(`${who}: checkpoint has ${count - 1} sample stores, this agent keeps ${stores}`);
  const sections: Uint8Array[] = [];
  let off = 16;
  for (let k = 0; k < count; k++) {
    if (off + 4 > end) throw new AgentCheckpointError(`${who}: checkpoint section ${k} runs past its end`);
    const len = view.getUint32(off, true);
    if (off + 4 + len > end) throw new AgentCheckpointError(`${who}: checkpoint section ${k} (${len} bytes) runs past its end`);
    sections.push(bytes.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  if (off !== end) throw new AgentCheckpointError(`${who}: ${end - off} unexpected bytes after the last checkpoint section`);
  return sections;
}
