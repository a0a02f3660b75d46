/**
 * Save/load of a baseline agent through numeric params-io (checksummed):
 * config + parameters + Adam moments + RNG state + step counters in one
 * byte string. Loading decodes into shadow copies, checks the agent name and
 * config, and only then writes into the live parameters and optimizers, so
 * corrupt or mismatched bytes throw a clear error and change nothing.
 *
 * Also the typed error every baseline throws on a NaN/infinite loss (before
 * the optimizer step, so the parameters stay as they were).
 */
import type { Adam } from '../numeric/adam.js';
import { Param } from '../numeric/param.js';
import { deserializeParams, serializeParams } from '../numeric/params-io.js';
import type { Rng, RngState } from '../numeric/rng.js';

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
    throw new AgentCheckpointError(`${state.agent}.load: the checkpoint's config ${JSON.stringify(meta.config)} differs from this agent's ${JSON.stringify(state.config)}; create the agent with the checkpoint's config`);
  }
  if (!Array.isArray(meta.rngs) || meta.rngs.length !== state.rngs.length || !Array.isArray(meta.optimizerSteps) || meta.optimizerSteps.length !== state.optimizers.length) {
    throw new AgentCheckpointError(`${state.agent}.load: checkpoint lists ${meta.rngs?.length} RNGs and ${meta.optimizerSteps?.length} optimizers; expected ${state.rngs.length} and ${state.optimizers.length}`);
  }
  if (meta.optimizerSteps.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new AgentCheckpointError(`${state.agent}.load: optimizer step counts ${JSON.stringify(meta.optimizerSteps)} are not non-negative integers`);
  }
  if (meta.rngs.some((r) => !r || !Array.isArray(r.s) || r.s.length !== 4 || r.s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff))) {
    throw new AgentCheckpointError(`${state.agent}.load: a saved RNG state is malformed`);
  }
  // Everything verified: commit.
  state.params.forEach((p, i) => p.value.set(shadows[i]!.value));
  state.optimizers.forEach((opt, o) => opt.setState({ step: meta.optimizerSteps[o]!, m: moments[o]!.m.map((p) => p.value), v: moments[o]!.v.map((p) => p.value) }));
  state.rngs.forEach((r, i) => r.setState(meta.rngs[i]!));
  return { ...meta.counters };
}
