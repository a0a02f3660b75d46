/**
 * What the experiment's coordinator (queue-runner.ts, `rliv experiment
 * --queue URL`) and its workers (queue-worker.ts, `rliv worker --queue URL`)
 * agree on: the Redis URL, the BullMQ queue of a build, the Redis keys, and
 * the hashes that key a job's result by its inputs.
 *
 * A job's key is SHA-256 over
 *   - the build: the code of this package (every source file under the
 *     directory this module runs from), the V8 version, the CPU architecture
 *     and the numeric backend (OpenBLAS configuration or TypeScript), since
 *     any of them can change a float;
 *   - the setup: the world description, the SHA-256 of the fitted simulator
 *     file and of any real KuaiRand tables the world was built on, the
 *     environment options, the training schedule and the world rounds;
 *   - the job itself (model, seed and that model's agent config), as
 *     canonical JSON (object keys sorted).
 * A result stored under that key is the job's result wherever and whenever
 * it ran: the coordinator never enqueues a job whose result exists, a worker
 * never runs one, and a finished experiment is re-assembled from them.
 *
 * Redis keys (prefix `rliv:exp:`):
 *   setup:<setup hash>   JSON ShippedSetup (7-day expiry, refreshed by each coordinator start)
 *   sim:<sha256>         the simulator file's bytes (same expiry)
 *   result:<job key>     JSON ResultRecord (no expiry: the cache of finished jobs)
 * BullMQ keys: prefix `rliv:bull`, queue `experiment-<build id>`; job id = job key.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { backendName, nativeStatus } from '../numeric/native.js';
import type { EnvironmentOptions } from '../environment/environment.js';
import type { WorldDescription } from '../environment/world-description.js';
import type { ExperimentJob, ExperimentJobResult } from './experiment-job.js';
import type { TrainPreset } from './train-presets.js';

/** Prefix of the keys this module writes. */
export const KEY_PREFIX = 'rliv:exp:';
/** BullMQ's key prefix for the experiment queues. */
export const BULL_PREFIX = 'rliv:bull';
/** How long a setup (and its simulator bytes) stays in Redis after the last coordinator start. */
export const SETUP_TTL_SECONDS = 7 * 24 * 3600;

/** A bad --queue URL or an unreachable Redis: says what to fix. */
export class QueueError extends Error {
  override name = 'QueueError';
}

/** Checks a `--queue` URL (redis:// or rediss://, host and port); returns it unchanged. */
export function checkQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`--queue must be a redis://HOST:PORT URL, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueError(`--queue must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  if (!u.hostname) throw new QueueError(`--queue ${JSON.stringify(url)} names no host`);
  return url;
}

/** The URL without a password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * An ioredis client for BullMQ (which requires maxRetriesPerRequest null) on
 * `url`, once Redis answered PING; an unreachable Redis is a {@link QueueError}
 * after `connectTimeoutMs` instead of an endless retry.
 */
export async function connectQueueRedis(url: string, name: string, connectTimeoutMs = 5000): Promise<Redis> {
  checkQueueUrl(url);
  const client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: name, connectTimeout: connectTimeoutMs });
  let lastError = '';
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(lastError || `no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs).unref()),
    ]);
  } catch (err) {
    client.disconnect();
    throw new QueueError(`cannot reach Redis at ${redactUrl(url)} (${(err as Error).message}): start redis-server there or fix --queue`);
  }
  return client;
}

/** JSON with object keys sorted at every level: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function sourceFiles(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.(js|ts|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
}

let buildCache: { id: string; describe: string } | undefined;

/**
 * The build this process runs: a hash of every source file of the package
 * (the directory above this module: dist/src compiled, src under tsx), the V8
 * version, the CPU architecture and the numeric backend. Workers of another
 * build serve another queue, so a job is never run by code that could give
 * other figures.
 */
export function buildIdentity(): { id: string; describe: string } {
  if (buildCache) return buildCache;
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const files: string[] = [];
  sourceFiles(root, files);
  const h = createHash('sha256');
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  const backend = backendName();
  const numeric = backend === 'openblas' ? nativeStatus() : 'typescript';
  h.update(`v8 ${process.versions.v8}\0${process.arch}\0${numeric}`);
  const id = h.digest('hex').slice(0, 16);
  buildCache = { id, describe: `build ${id} (${files.length} source files, node ${process.version}, ${process.arch}, ${numeric})` };
  return buildCache;
}

/** The BullMQ queue of a build. */
export function queueName(buildId: string): string {
  return `experiment-${buildId}`;
}

/** Everything a worker needs to rebuild a run's {@link JobSetup}, as data (the simulator travels separately, by hash). */
export interface ShippedSetup {
  description: WorldDescription;
  /** Real KuaiRand logs (`rliv experiment --logs`): no world, the stand-in behaviour policy's exposures (experiment-worker.ts's WorkerData). */
  logs?: { itemExposures: number[] };
  /** SHA-256 of the real KuaiRand tables the world was built on (absent for a synthetic world). */
  tables: { usersSha256?: string; videosSha256?: string };
  simulatorSha256: string;
  /** SHA-256 of the logs every environment starts after (history.bin; travels separately, by hash), when the run has them. */
  historySha256?: string;
  environment: Partial<EnvironmentOptions>;
  train: TrainPreset;
  worldRounds: number;
}

export function setupHash(setup: ShippedSetup): string {
  return sha256(canonicalJson(setup));
}

/** The key of a job's result: build, setup and job. */
export function jobKey(buildId: string, setupKey: string, job: ExperimentJob): string {
  return sha256(canonicalJson({ build: buildId, setup: setupKey, job }));
}

/** SHA-256 of the real tables a description names (a worker checks its own copies against them). */
export function tableHashes(description: WorldDescription): ShippedSetup['tables'] {
  const out: ShippedSetup['tables'] = {};
  if (description.usersPath) out.usersSha256 = sha256(readFileSync(description.usersPath));
  if (description.videosPath) out.videosSha256 = sha256(readFileSync(description.videosPath));
  return out;
}

export const setupKeyOf = (hash: string): string => `${KEY_PREFIX}setup:${hash}`;
export const simulatorKeyOf = (sha: string): string => `${KEY_PREFIX}sim:${sha}`;
export const historyKeyOf = (sha: string): string => `${KEY_PREFIX}history:${sha}`;
export const resultKeyOf = (key: string): string => `${KEY_PREFIX}result:${key}`;

/** The data of a BullMQ job. */
export interface QueueJobData {
  /** Hash of the {@link ShippedSetup} (key setup:<hash>). */
  setup: string;
  job: ExperimentJob;
}

/** What is stored under result:<job key>. */
export interface ResultRecord {
  key: string;
  job: ExperimentJob;
  result: ExperimentJobResult;
  /** Units of progress the job reported (epochs and world rounds). */
  units: number;
  /** The worker that ran it (`host:pid`) and when it finished. */
  worker: string;
  finishedAt: string;
}

/**
 * JSON that keeps what structured cloning keeps and JSON loses: NaN and
 * infinities, -0, and typed arrays. Numbers round-trip exactly.
 */
export function encodeRecord(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    const raw = (this as Record<string, unknown>)[key];
    if (typeof raw === 'number' && (!Number.isFinite(raw) || Object.is(raw, -0))) return { $num: String(Object.is(raw, -0) ? '-0' : raw) };
    if (ArrayBuffer.isView(raw) && !(raw instanceof DataView)) return { $typed: raw.constructor.name, values: Array.from(raw as unknown as ArrayLike<number>) };
    return v;
  });
}

const TYPED: Record<string, new (values: number[]) => ArrayBufferView> = {
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Uint8Array,
  Uint16Array,
  Uint32Array,
  Uint8ClampedArray,
} as unknown as Record<string, new (values: number[]) => ArrayBufferView>;

export function decodeRecord<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === 'string' && Object.keys(o).length === 1) return o.$num === '-0' ? -0 : Number(o.$num);
      if (typeof o.$typed === 'string' && Array.isArray(o.values) && TYPED[o.$typed]) return new TYPED[o.$typed]!(o.values as number[]);
    }
    return v;
  }) as T;
}
