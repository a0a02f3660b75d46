/**
 * CPU time of the calling thread, for the experiment's phase table: the
 * machine is shared, so wall-clock seconds of a part include the time its
 * thread waited for a core; CPU seconds do not. Node 20 has no per-thread
 * CPU clock (`process.cpuUsage` sums every thread of the process, and the
 * experiment's jobs run on worker threads), so this reads Linux's
 * `/proc/thread-self/schedstat` (first field: nanoseconds the thread has run).
 * Synchronous file reads run on the calling thread, so a worker reads its own.
 * Elsewhere it returns null and only wall-clock figures are reported.
 */
import { readFileSync } from 'node:fs';

const SCHEDSTAT = '/proc/thread-self/schedstat';
let available: boolean | undefined;

/** Seconds of CPU the calling thread has used so far, or null where the platform does not say. */
export function threadCpuSeconds(): number | null {
  if (available === false) return null;
  try {
    const text = readFileSync(SCHEDSTAT, 'latin1');
    const ns = Number(text.slice(0, text.indexOf(' ')));
    if (!Number.isFinite(ns)) throw new Error('unreadable');
    available = true;
    return ns / 1e9;
  } catch {
    available = false;
    return null;
  }
}

/** A stopwatch of wall-clock and thread-CPU seconds (CPU null where unavailable). */
export class PartClock {
  private wall0 = 0;
  private cpu0: number | null = null;

  /** Starts (or restarts) the watch. */
  start(): void {
    this.wall0 = performance.now();
    this.cpu0 = threadCpuSeconds();
  }

  /** Seconds since `start`: wall clock and thread CPU. */
  lap(): { wall: number; cpu: number | null } {
    const wall = (performance.now() - this.wall0) / 1000;
    const c = this.cpu0 === null ? null : threadCpuSeconds();
    return { wall, cpu: c === null || this.cpu0 === null ? null : c - this.cpu0 };
  }
}
