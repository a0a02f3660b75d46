/**
 * The checkpoint of a baseline agent (RankingModel, DQN, CQL, TD3, RLUR):
 * its params-io agent state (config + parameters + Adam moments + RNGs +
 * counters, agent-checkpoint.ts) plus the snapshots of its sample stores
 * (request replays), so `rliv train --resume` continues exactly where the
 * uninterrupted run would be.
 *
 * Format "RLIVBASE" version 1, little-endian:
 *
 *   0      8   magic "RLIVBASE"
 *   8      4   version, uint32 (= 1)
 *   12     4   K = number of sections, uint32 (1 agent state + K-1 stores)
 *   then K times: uint32 length L, L bytes (section 0 = agent state)
 *   end-4  4   CRC-32 of every byte before it
 *
 * Loading verifies the outer checksum, then every store section (decoded,
 * not installed), then the agent state (which installs itself only once
 * verified), and only then installs the stores: corrupt or mismatched bytes
 * throw and leave the agent unchanged. Bytes of the older params-only
 * format (magic "RLIVPARM") still load, with empty stores: they carry no
 * samples, so resuming from them is not exact (evaluation is unaffected).
 */
import { crc32, PARAMS_MAGIC } from '../numeric/params-io.js';
import { AgentCheckpointError, loadAgentState, saveAgentState, type AgentState } from './agent-checkpoint.js';
import type { ReplayLimits, RequestReplay } from './request-replay.js';

export const BASELINE_CHECKPOINT_MAGIC = 'RLIVBASE';
const VERSION = 1;

/** A sample store an agent checkpoints with itself (RequestReplay implements it). */
export interface CheckpointedStore {
  save(): Uint8Array;
  /** Verifies the bytes (null = empty store) and returns the install step, which cannot fail. */
  prepareLoad(bytes: Uint8Array | null): () => void;
}

/** A request replay as a checkpointed store whose ids are checked against `limits` on load. */
export function replayStore(replay: RequestReplay, limits: ReplayLimits): CheckpointedStore {
  return { save: () => replay.save(), prepareLoad: (bytes) => replay.prepareLoad(bytes, limits) };
}

/** Serializes the agent state and its stores (see file comment). */
export function saveBaselineCheckpoint(state: AgentState, stores: readonly CheckpointedStore[]): Uint8Array {
  const sections = [saveAgentState(state), ...stores.map((s) => s.save())];
  let total = 16 + 4;
  for (const s of sections) total += 4 + s.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (let k = 0; k < 8; k++) out[k] = BASELINE_CHECKPOINT_MAGIC.charCodeAt(k);
  view.setUint32(8, VERSION, true);
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
 * Restores what {@link saveBaselineCheckpoint} wrote into `state`'s live
 * objects and `stores`, all or nothing; returns the saved counters.
 */
export function loadBaselineCheckpoint(bytes: Uint8Array, state: AgentState, stores: readonly CheckpointedStore[]): Record<string, number> {
  const who = `${state.agent}.load`;
  if (!(bytes instanceof Uint8Array) || bytes.length < 20) {
    throw new AgentCheckpointError(`${who}: expected the bytes written by save() (got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes})`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic === PARAMS_MAGIC) {
    const installs = stores.map((s) => s.prepareLoad(null));
    const counters = loadAgentState(bytes, state);
    for (const install of installs) install();
    return counters;
  }
  if (magic !== BASELINE_CHECKPOINT_MAGIC) {
    throw new AgentCheckpointError(`${who}: not a baseline checkpoint (magic "${magic.replace(/[^\x20-\x7e]/g, '?')}", expected "${BASELINE_CHECKPOINT_MAGIC}")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 4;
  if (view.getUint32(end, true) !== crc32(bytes, 0, end)) throw new AgentCheckpointError(`${who}: checkpoint checksum mismatch: the bytes are corrupt or truncated`);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new AgentCheckpointError(`${who}: checkpoint format version ${version}, this build reads ${VERSION}`);
  const count = view.getUint32(12, true);
  if (count !== 1 + stores.length) throw new AgentCheckpointError(`${who}: checkpoint has ${count - 1} sample stores, this agent keeps ${stores.length}`);
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
  const installs = stores.map((s, k) => s.prepareLoad(sections[k + 1]!));
  const counters = loadAgentState(sections[0]!, state);
  for (const install of installs) install();
  return counters;
}
