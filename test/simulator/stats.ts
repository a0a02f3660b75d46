/** Small helpers to compare two policies' sessions with a Welch z statistic. */
import { sessionWatchSeconds } from '../../src/environment/metrics.js';
import type { SessionTrace } from '../../src/environment/trace.js';

function meanVar(x: number[]): [number, number] {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  const v = x.reduce((s, y) => s + (y - m) ** 2, 0) / (x.length - 1);
  return [m, v];
}

export function metricsOf(traces: SessionTrace[]) {
  const len = traces.map((t) => t.requests.length);
  const watch = traces.map(sessionWatchSeconds);
  const [ml, vl] = meanVar(len);
  const [mw, vw] = meanVar(watch);
  const z = (m1: number, v1: number, n1: number, m2: number, v2: number, n2: number) => (m1 - m2) / Math.sqrt(v1 / n1 + v2 / n2);
  return {
    sessions: traces.length,
    meanLength: ml,
    meanWatch: mw,
    lengthZ(o: { meanLength: number; lv: number; sessions: number }) {
      return z(ml, vl, len.length, o.meanLength, o.lv, o.sessions);
    },
    watchZ(o: { meanWatch: number; wv: number; sessions: number }) {
      return z(mw, vw, watch.length, o.meanWatch, o.wv, o.sessions);
    },
    lv: vl,
    wv: vw,
  };
}
