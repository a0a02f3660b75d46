/**
 * Open-loop HTTP load generator for `rliv bench serve`: one POST every
 * 1000 / rate ms, evenly paced on an absolute schedule (request i is due at
 * start + i * interval, so a late timer never shifts the requests after it,
 * and a stalled server does not slow the senders down: requests keep being
 * issued while earlier ones wait). It replaced autocannon, whose `overallRate`
 * sends each connection's per-second quota as a burst at the start of every
 * second, so up to 16 requests queued at the server at once and the latency
 * measured the burst rather than the service.
 *
 * Two latencies per request:
 * - from its scheduled time: free of coordinated omission (a request held up
 *   by a slow generator or a full connection pool still counts from when it
 *   was due): the figure the target is checked against;
 * - from when it was actually issued (what a closed-loop tool reports).
 * Their difference is the generator's own lateness (timer granularity,
 * ~1 ms), also reported.
 *
 * Runs in a worker thread (`runOpenLoopInWorker`) so that it does not share
 * the event loop of the server it measures. Keep-alive connections from a
 * `node:http` Agent; a connection is opened only when all open ones are busy.
 */
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../src/serving/worker-entry.js';

/** Configuration of one open-loop run. */
export interface OpenLoopOptions {
  /** Server origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  /** Request path, e.g. /v1/rank. */
  path: string;
  /** JSON bodies, used in turn. */
  bodies: string[];
  /** Requests per second, evenly spaced. */
  rate: number;
  /** Seconds of measured load; rate * durationS requests are measured. */
  durationS: number;
  /**
   * Seconds of load at the same rate before the measured part, on the same
   * schedule, not recorded: it warms the JIT for the paths under test (a
   * store's read path, this generator's HTTP client) and opens the
   * connections. Default 0.
   */
  warmupS?: number;
  /** Most concurrent keep-alive connections (requests beyond it wait in the pool, and that wait counts). */
  connections: number;
  /** A request without a complete response after this many ms counts as an error. */
  timeoutMs: number;
}

/** Latency percentiles of one run, in ms. */
export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What one run measured. */
export interface OpenLoopResult {
  /** Requests measured (scheduled and sent after the warm-up). */
  requests: number;
  /** Warm-up requests without a 2xx response (not in the figures below). */
  warmupFailures: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** Responses with another status. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Measured 2xx responses per second (first measured scheduled send to last response). */
  rps: number;
  /** Latency from each request's scheduled send time (coordinated-omission free). */
  fromScheduled: LatencyFigures;
  /** Latency from when each request was actually issued. */
  fromSend: LatencyFigures;
  /** How late the generator issued requests relative to their schedule. */
  sendLag: LatencyFigures;
  /** Most connections opened. */
  connectionsOpened: number;
}

/** The value at quantile q of an ascending array. */
export function percentile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function figures(values: Float64Array): LatencyFigures {
  const s = values.slice().sort();
  return { p50: percentile(s, 0.5), p90: percentile(s, 0.9), p99: percentile(s, 0.99), p999: percentile(s, 0.999), max: s.length ? s[s.length - 1]! : NaN };
}

/** Runs the load in this thread (the worker's body; tests call it directly). */
export function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const warm = Math.round(o.rate * (o.warmupS ?? 0));
  const measured = Math.round(o.rate * o.durationS);
  const total = warm + measured;
  const interval = 1000 / o.rate;
  const url = new URL(o.path, o.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections });
  const bodies = o.bodies.map((b) => Buffer.from(b));
  const fromScheduled = new Float64Array(measured);
  const fromSend = new Float64Array(measured);
  const sendLag = new Float64Array(measured);
  let warmupFailures = 0;
  let okCount = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let lastEnd = 0;
  let connectionsOpened = 0;
  const sockets = new WeakSet<object>();
  let next = 0;
  const start = performance.now() + 20;

  const result = (): OpenLoopResult => ({
    requests: measured,
    warmupFailures,
    ok: okCount,
    non2xx,
    errors,
    rps: measured === 0 ? 0 : okCount / ((lastEnd - (start + warm * interval)) / 1000),
    fromScheduled: figures(fromScheduled),
    fromSend: figures(fromSend),
    sendLag: figures(sendLag),
    connectionsOpened,
  });

  return new Promise((resolve) => {
    const finishOne = (i: number, due: number, sent: number, status: number): void => {
      const end = performance.now();
      const ok = status >= 200 && status < 300;
      if (i < warm) {
        if (!ok) warmupFailures++;
      } else {
        const m = i - warm;
        fromScheduled[m] = end - due;
        fromSend[m] = end - sent;
        sendLag[m] = sent - due;
        if (ok) okCount++;
        else if (status > 0) non2xx++;
        else errors++;
        lastEnd = end;
      }
      if (++done === total) {
        agent.destroy();
        resolve(result());
      }
    };
    const fire = (i: number, due: number): void => {
      const sent = performance.now();
      const body = bodies[i % bodies.length]!;
      let settled = false;
      const settle = (status: number): void => {
        if (settled) return;
        settled = true;
        finishOne(i, due, sent, status);
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          timeout: o.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => settle(res.statusCode ?? 0));
          res.on('error', () => settle(0));
        },
      );
      req.on('socket', (socket) => {
        if (!sockets.has(socket)) {
          sockets.add(socket);
          connectionsOpened++;
        }
      });
      req.on('timeout', () => {
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => settle(0));
      req.end(body);
    };
    // Absolute schedule: request i is due at start + i * interval; every due request is issued on each wake-up.
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        fire(next, start + next * interval);
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    if (total === 0) resolve(result());
    else setTimeout(tick, Math.max(0, start - performance.now()));
  });
}

/** Runs the load in a worker thread (its own event loop and heap) and resolves with its figures. */
export function runOpenLoopInWorker(o: OpenLoopOptions): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerEntry(import.meta.url, './open-loop-worker'), { workerData: o });
    let result: OpenLoopResult | null = null;
    worker.once('message', (r: OpenLoopResult) => {
      result = r;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result !== null) resolve(result);
      else reject(new Error(`load generator thread exited with code ${code} before reporting`));
    });
  });
}
