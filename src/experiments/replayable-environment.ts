/**
 * Adapts the simulator's `Environment` (world or learned simulator behind it)
 * to the trainer's {@link TrainingEnvironment}, and makes its evolving state
 * (pair counts f_ua, user clocks, recent authors, its RNG streams)
 * checkpointable without the environment serializing itself.
 *
 * How: the environment is deterministic given its seed and the slates it is
 * shown. The adapter records every `runSessions` call (the users) and every
 * slate the policy chose. `saveState` returns that log; `loadState` builds the
 * state again by replaying the log into a FRESH environment with a policy
 * that returns the recorded slates. Each recorded policy call carries a hash
 * of the candidates offered, so replaying into a different world, seed or
 * code version fails with a clear error instead of silently drifting.
 *
 * The log costs K int32 per request (24 bytes at K = 6); replay runs the
 * environment without any scoring. Slates of the policy that wrote the
 * standard log (`SlatePolicy.wroteTheStandardLog`, which a learned simulator
 * answers differently) are recorded under their own tag with one more word
 * per request (1 = a random request), so the replay marks the same
 * exposures; a log without that tag (older checkpoints) replays unmarked,
 * as it was run.
 */
import type { Rng } from '../numeric/rng.js';
import type { Environment } from '../environment/environment.js';
import { isRandomRequest, type PendingRequest, type SlatePolicy } from '../environment/slate-policy.js';
import type { SessionTrace } from '../environment/trace.js';
import type { TrainingEnvironment } from './training-loop.js';

const TAG_CALL = 1;
const TAG_SLATES = 2;
const TAG_END = 3;
/** Slates of the policy that wrote the standard log, followed by one word per request: 1 = a random request. */
const TAG_SLATES_OF_THE_LOG = 4;
const MAGIC = 0x524c5631; // "RLV1"

/** The recorded history does not match the environment it is replayed into. */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
}

/** FNV-1a over the candidate ids of a batch of requests. */
function candidateHash(requests: readonly PendingRequest[]): number {
  let h = 0x811c9dc5;
  for (const r of requests) {
    h = Math.imul(h ^ r.user, 0x01000193);
    const c = r.candidates;
    for (let i = 0; i < c.length; i++) h = Math.imul(h ^ c[i]!, 0x01000193);
  }
  return h | 0;
}

/** A growable int32 log. */
class IntLog {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/** Forwards to the real policy and records what it chose. */
class RecordingPolicy implements SlatePolicy {
  constructor(
    private readonly inner: SlatePolicy,
    private readonly log: IntLog,
  ) {}

  get wroteTheStandardLog(): boolean {
    return this.inner.wroteTheStandardLog === true;
  }

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const slates = this.inner.chooseSlates(requests, k);
    const log = this.log;
    const ofTheLog = this.wroteTheStandardLog;
    log.push(ofTheLog ? TAG_SLATES_OF_THE_LOG : TAG_SLATES);
    log.push(requests.length);
    log.push(k);
    log.push(candidateHash(requests));
    for (let j = 0; j < requests.length; j++) {
      const s = slates[j];
      // The environment rejects malformed slates right after this; record what fits so the error comes from it.
      for (let p = 0; p < k; p++) log.push(s && p < s.length ? s[p]! : -1);
    }
    if (ofTheLog) {
      const flags = this.inner.lastRandomFlags?.();
      for (let j = 0; j < requests.length; j++) log.push(isRandomRequest(flags?.[j]) ? 1 : 0);
    }
    return slates;
  }

  lastRandomFlags(): readonly Uint8Array[] {
    return this.inner.lastRandomFlags?.() ?? [];
  }
}

/** Returns the recorded slates, checking the environment offers what it offered then. */
class ReplayPolicy implements SlatePolicy {
  /** Whether the slates of the current call were the standard log's policy's (set per call from the tag). */
  wroteTheStandardLog = false;
  private flags: Uint8Array[] = [];

  constructor(
    private readonly log: Int32Array,
    public at: number,
  ) {}

  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const log = this.log;
    const tag = log[this.at];
    if (tag !== TAG_SLATES && tag !== TAG_SLATES_OF_THE_LOG)
      throw new ReplayMismatchError('the environment asked for more slates than the recorded run; the checkpoint does not belong to this world/seed/config');
    const n = log[this.at + 1]!;
    const kk = log[this.at + 2]!;
    const hash = log[this.at + 3]!;
    if (n !== requests.length || kk !== k || hash !== candidateHash(requests)) {
      throw new ReplayMismatchError(
        `replay diverged: the environment offered ${requests.length} requests (K=${k}) where the recorded run had ${n} (K=${kk})` +
          (n === requests.length ? ' with different candidates' : '') +
          '; resume with the same --env, world/simulator, seed and rliv version as the original run',
      );
    }
    this.at += 4;
    const out: Int32Array[] = new Array(n);
    for (let j = 0; j < n; j++) {
      out[j] = log.slice(this.at, this.at + k);
      this.at += k;
    }
    this.wroteTheStandardLog = tag === TAG_SLATES_OF_THE_LOG;
    this.flags = [];
    if (this.wroteTheStandardLog) {
      // Only whether a request was random decides its marks (Environment); a random request's flags are all 1.
      for (let j = 0; j < n; j++) this.flags.push(new Uint8Array(k).fill(log[this.at + j] === 1 ? 1 : 0));
      this.at += n;
    }
    return out;
  }
}

export class ReplayableEnvironment implements TrainingEnvironment {
  private readonly log = new IntLog();
  private calls = 0;

  /**
   * @param env a FRESH environment (nothing run yet), so that the log describes its whole history.
   * @param makeLoggingPolicy the behaviour policy offline agents learn from.
   */
  constructor(
    readonly env: Environment,
    private readonly makeLoggingPolicy: (rng: Rng) => SlatePolicy,
  ) {
    if (env.responsesServed !== 0) throw new Error('ReplayableEnvironment needs a fresh Environment (it has already served responses)');
    this.log.push(MAGIC);
  }

  get numUsers(): number {
    return this.env.catalog.numUsers;
  }

  runSessions(users: readonly number[], policy: SlatePolicy): SessionTrace[] {
    this.log.push(TAG_CALL);
    this.log.push(users.length);
    for (const u of users) this.log.push(u);
    const traces = this.env.runSessions(users, new RecordingPolicy(policy, this.log));
    this.log.push(TAG_END);
    this.calls++;
    return traces;
  }

  loggingPolicy(rng: Rng): SlatePolicy {
    return this.makeLoggingPolicy(rng);
  }

  saveState(): Uint8Array {
    return new Uint8Array(this.log.data.buffer.slice(0, this.log.length * 4));
  }

  /** Replays a saved history into this (fresh) environment. */
  loadState(bytes: Uint8Array): void {
    if (this.calls > 0 || this.env.responsesServed !== 0) throw new Error('loadState needs a fresh environment: it replays the saved history from the start');
    if (bytes.byteLength % 4 !== 0) throw new ReplayMismatchError(`environment state has ${bytes.byteLength} bytes, not a whole number of int32 words`);
    const log = new Int32Array(bytes.slice().buffer);
    if (log[0] !== MAGIC) throw new ReplayMismatchError('environment state does not start with the replay-log marker');
    let at = 1;
    while (at < log.length) {
      if (log[at] !== TAG_CALL) throw new ReplayMismatchError(`environment state is malformed at word ${at}`);
      const n = log[at + 1]!;
      const users = Array.from(log.subarray(at + 2, at + 2 + n));
      const replay = new ReplayPolicy(log, at + 2 + n);
      this.env.runSessions(users, replay);
      if (log[replay.at] !== TAG_END)
        throw new ReplayMismatchError('replay diverged: the recorded run asked for more slates than the environment did; use the original world/seed/config');
      at = replay.at + 1;
    }
    // From here on the new history continues the old one.
    this.log.length = 0;
    for (let i = 0; i < log.length; i++) this.log.push(log[i]!);
  }
}
