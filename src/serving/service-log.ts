/**
 * The ranking service's log: Fastify's own logger (pino), one JSON object
 * per line on stderr (stdout carries the CLI's final summary line).
 *
 * What is logged, by level:
 * - `error`: a request that failed with a 500 (with the error);
 * - `warn`: the pair-count store or the sample stream becoming unavailable,
 *   a model version refused by hot reload;
 * - `info`: every request (Fastify's "incoming request" and "request
 *   completed" with the response time), client errors (4xx), a new model
 *   version served, the store or stream recovering.
 *
 * The default level is `warn`: nothing is written per request, so the
 * load benchmark is unaffected (README: `rliv bench serve`, measured
 * before and after).
 */
import type { FastifyBaseLogger } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import type { ModelHolder } from './model-holder.js';
import type { PairFeatureStore } from './pair-store.js';
import type { SampleStream } from './sample-stream.js';

/** pino's levels, most severe first, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where and how much the service logs. */
export interface ServiceLogOptions {
  /** Least severe level written. Default `warn`. */
  level?: LogLevel;
  /** Where the JSON lines go. Default: stderr (asynchronous writes, flushed when the service closes). */
  destination?: DestinationStream;
}

/** Thrown for a level that is not one of {@link LOG_LEVELS}. */
export class LogLevelError extends RangeError {
  override name = 'LogLevelError';
}

/** The Fastify `logger` option: pino with `level`, writing to `destination`. */
export function fastifyLoggerOptions(options: ServiceLogOptions = {}): { level: LogLevel; stream: DestinationStream } {
  const level = options.level ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new LogLevelError(`log level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`);
  return { level, stream: options.destination ?? pino.destination({ dest: 2, sync: false }) };
}

/** What {@link watchServiceHealth} watches. */
export interface ServiceHealthSources {
  holder: ModelHolder;
  store: PairFeatureStore;
  stream: SampleStream;
}

/**
 * Logs changes of the service's state: model versions served (info), hot
 * reloads refused (warn), the store or stream going down (warn) and coming
 * back (info), and an outage shorter than a poll that still answered reads
 * with defaults (warn). Polls every `intervalMs` (the service passes its
 * tick interval, 200 ms by default); returns the function that stops it.
 */
export function watchServiceHealth(log: FastifyBaseLogger, sources: ServiceHealthSources, intervalMs = 200): () => void {
  const { holder, store, stream } = sources;
  let failures = holder.reload.failures;
  let storeHealthy = store.status().healthy;
  let readFailures = store.status().readFailures;
  let streamHealthy = stream.status().healthy;
  let stopped = false;
  holder.onSwap((m) => {
    if (!stopped) log.info({ modelVersion: m.version, agent: m.agent, sha256: m.sha256 }, 'serving a new model version');
  });
  const check = (): void => {
    if (holder.reload.failures > failures) {
      failures = holder.reload.failures;
      log.warn(
        { version: holder.reload.lastFailedVersion, error: holder.reload.lastError, servingVersion: holder.current.version },
        'model version refused by hot reload; the current version keeps serving',
      );
    }
    const s = store.status();
    if (s.healthy !== storeHealthy) {
      storeHealthy = s.healthy;
      if (s.healthy) log.info({ store: store.kind, readsWithDefaults: s.readFailures - readFailures }, 'pair-count store available again');
      else log.warn({ store: store.kind, error: s.lastError }, 'pair-count store unavailable: ranking with default pair counts (degraded)');
      if (s.healthy) readFailures = s.readFailures;
    } else if (s.healthy && s.readFailures > readFailures) {
      // An outage shorter than one poll: it still left requests ranked with defaults.
      log.warn(
        { store: store.kind, readsWithDefaults: s.readFailures - readFailures, error: s.lastError },
        'pair-count store was briefly unavailable: some requests were ranked with default pair counts',
      );
      readFailures = s.readFailures;
    }
    const t = stream.status();
    if (t.healthy !== streamHealthy) {
      streamHealthy = t.healthy;
      if (t.healthy) log.info({ stream: stream.kind }, 'sample stream available again');
      else log.warn({ stream: stream.kind, error: t.lastError }, 'sample stream unavailable: samples are buffered (bounded) until it returns');
    }
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
