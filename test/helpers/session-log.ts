import { allocInteractionLog, type InteractionLog } from '../../src/environment/interaction-log.js';

/** A hand-built log of one user: one row per [item, time_ms, fromRandomLog] (rows sharing a time form one request, in slate order). */
export function sessionLog(rows: ReadonlyArray<readonly [number, number, number]>, user = 0): InteractionLog {
  const log = allocInteractionLog(rows.length);
  rows.forEach(([item, timeMs, random], e) => {
    log.user[e] = user;
    log.item[e] = item;
    log.timeMs[e] = timeMs;
    log.fromRandomLog[e] = random;
  });
  log.count = rows.length;
  return log;
}
