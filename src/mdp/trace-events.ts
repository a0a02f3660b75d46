/**
 * Turns simulator session traces into the event streams a production system
 * would see (one impression per exposed item, one feedback event per positive
 * response), so offline training goes through the same joiner -> ASA path as
 * the online service.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import type { SessionTrace } from '../environment/trace.js';
import type { LabelJoiner } from './label-joiner.js';

/**
 * Feeds every exposure of `session` to `joiner` as an impression followed by
 * its feedback (click, longView, like, follow, comment, gift with its amount,
 * watchTime in seconds), all at the request's time. Request ids are
 * `u<user>.s<sessionIndex>.r<request>`. Returns the number of impressions fed.
 */
export function feedSessionToJoiner(joiner: LabelJoiner, session: SessionTrace, catalog: Catalog): number {
  const uf = catalog.userFeatureFields.length;
  const itf = catalog.itemFeatureFields.length;
  const userFeatures = catalog.userFeatures.subarray(session.user * uf, session.user * uf + uf);
  let fed = 0;
  for (let r = 0; r < session.requests.length; r++) {
    const req = session.requests[r]!;
    const requestId = `u${session.user}.s${session.sessionIndex}.r${r}`;
    const t = req.timeMs;
    const resp = req.responses;
    for (let j = 0; j < req.slate.length; j++) {
      const c = req.slate[j]!;
      const item = req.candidates[c]!;
      joiner.impression({
        requestId,
        user: req.user,
        item,
        author: catalog.itemAuthor[item]!,
        timeMs: t,
        pairCounts: req.candidatePairCounts.subarray(c * PAIR_COUNT_DIM, c * PAIR_COUNT_DIM + PAIR_COUNT_DIM),
        userFeatures,
        itemFeatures: catalog.itemFeatures.subarray(item * itf, item * itf + itf),
      });
      fed++;
      if (resp.click[j]) joiner.feedback({ requestId, item, kind: 'click', value: 1, timeMs: t });
      if (resp.longView[j]) joiner.feedback({ requestId, item, kind: 'longView', value: 1, timeMs: t });
      if (resp.like[j]) joiner.feedback({ requestId, item, kind: 'like', value: 1, timeMs: t });
      if (resp.follow[j]) joiner.feedback({ requestId, item, kind: 'follow', value: 1, timeMs: t });
      if (resp.comment[j]) joiner.feedback({ requestId, item, kind: 'comment', value: 1, timeMs: t });
      if (resp.giftAmount[j]! > 0) joiner.feedback({ requestId, item, kind: 'gift', value: resp.giftAmount[j]!, timeMs: t });
      if (resp.playTimeMs[j]! > 0) joiner.feedback({ requestId, item, kind: 'watchTime', value: resp.playTimeMs[j]! / 1000, timeMs: t });
    }
  }
  return fed;
}
