/**
 * Process and runtime metrics for /metrics, from prom-client's
 * `collectDefaultMetrics`: CPU seconds, resident memory, open file
 * descriptors, heap spaces, active handles, GC durations by kind, and the
 * event loop's delay (min, mean, max, p50/p90/p99, from Node's
 * `monitorEventLoopDelay`, and the lag of a `setImmediate` measured at
 * scrape time). They describe the whole process, so one registry serves
 * every ranking service in it (created on first use). Names are
 * prom-client's (`process_*`, `nodejs_*`); the service's own series are
 * `rliv_*` (metrics.ts).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/** The process-wide registry of default metrics (created, and its collectors started, on the first call). */
export function processMetricsRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  return registry;
}

/** The Prometheus text (format 0.0.4) of the process metrics. */
export function processMetricsText(): Promise<string> {
  return processMetricsRegistry().metrics();
}
