/**
 * The ground-truth world (docs/design.md §5.3): latent user interests, author
 * styles and qualities, item vectors, and the familiarity by which a
 * user-author relationship deepens (click -> follow -> gift). It answers
 * exposures as a {@link ResponseModel}; it is stateless given the batch — the
 * environment owns the pair counts f_ua and the session repetition counts.
 *
 *   z_u ~ N(0, I_d)                user interest
 *   w_a ~ N(0, I_d), b_a ~ N(0, σ_q²)   author style (stored as int8, 1/32 steps) and quality
 *   e_t ~ N(0, tagScale² I_d)      tag embedding
 *   v_i = w_a(i) + e_tag(i) + itemNoise · n_i,  n_i ~ N(0, I_d) stored as int8 (1/32 steps)
 *   a_ui = <z_u, v_i>/sqrt(d),  a_ua = <z_u, w_a>/sqrt(d)
 *
 * Heads and their formulas are documented on {@link WorldConfig}. Play-time
 * rules are KuaiRand's: a valid play (`is_click`) is play >= duration when
 * duration <= 7 s, else play > 7 s; `long_view` likewise with 18 s. The world
 * draws an "engaged" event with the click probability and then a play time
 * that satisfies (engaged) or fails (skim) the valid-play rule, so `click`
 * always equals the rule applied to `playTimeMs` (KuaiRand's definition).
 *
 * Gifts are ours (KuaiRand has none): only live-streamer authors receive
 * them, only on a click; amounts are coins, log-normal, rounded, >= 1.
 *
 * Random numbers: every exposure consumes the same fixed number of draws
 * (10 32-bit draws: 8 uniforms and 2 table-lookup normals, see
 * fast-normal.ts) whatever its outcome, so two policies run from the same
 * seed see common random numbers position by position. Latent parameters
 * are drawn with the same table-lookup normals.
 */
import { Rng } from '../numeric/rng.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT } from '../data/interaction-kinds.js';
import type { Catalog } from './catalog.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from './response.js';
import { type WorldConfig, DEFAULT_WORLD_CONFIG, validateWorldConfig } from './world-config.js';
import { fillNormals, normalTable } from './fast-normal.js';

/** KuaiRand's valid-play threshold (ms) for `is_click`. */
export const CLICK_PLAY_THRESHOLD_MS = 7000;
/** KuaiRand's threshold (ms) for `long_view`. */
export const LONG_VIEW_PLAY_THRESHOLD_MS = 18000;

/** KuaiRand's play-time rule: play >= duration when duration <= threshold, else play > threshold. */
export function passesPlayRule(playMs: number, durationMs: number, thresholdMs: number): boolean {
  return durationMs <= thresholdMs ? playMs >= durationMs : playMs > thresholdMs;
}

const NOISE_QUANT = 32;

let quantizedTable: Int8Array | null = null;

/**
 * n standard normals quantized to int8 in steps of 1/NOISE_QUANT (clamped to
 * ±127): the normal table pre-quantized, two values per 32-bit draw, so
 * hundreds of millions of them (KuaiRand-27K scale) take seconds.
 */
function quantizedNormals(rng: Rng, n: number): Int8Array {
  if (quantizedTable === null) {
    const t = normalTable();
    quantizedTable = new Int8Array(t.length);
    for (let k = 0; k < t.length; k++) {
      const q = Math.round(t[k]! * NOISE_QUANT);
      quantizedTable[k] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  const table = quantizedTable;
  const out = new Int8Array(n);
  let k = 0;
  for (; k + 1 < n; k += 2) {
    const x = rng.nextUint32();
    out[k] = table[x >>> 16]!;
    out[k + 1] = table[x & 0xffff]!;
  }
  if (k < n) out[k] = table[rng.nextUint32() >>> 16]!;
  return out;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export class GroundTruthWorld implements ResponseModel {
  readonly catalog: Catalog;
  /**
   * The world's own validated copy of its config. `respond` and the oracle
   * read it on every call, so calibration may set head intercepts in place
   * (`world.config.click.intercept = x`); the latent parameters are fixed at
   * construction (changing latentDim/tagScale/itemNoise/authorQualityStd
   * afterwards has no effect on them).
   */
  readonly config: WorldConfig;
  readonly seed: number;
  readonly latentDim: number;
  /** numUsers x d user interests z_u. */
  readonly userInterest: Float32Array;
  /** numAuthors x d author styles w_a quantized to int8 in steps of 1/32 (value = authorStyle[k] / 32; |w| <= 3.97). */
  readonly authorStyle: Int8Array;
  /** Author quality b_a (click-logit offset). */
  readonly authorQuality: Float32Array;
  /** numTags x d tag embeddings e_t. */
  readonly tagEmbedding: Float32Array;
  /** numItems x d item noise n_i quantized to int8 in steps of 1/32 (memory: d bytes per item). */
  readonly itemNoise: Int8Array;

  private readonly invSqrtD: number;
  private readonly noiseScale: number;

  constructor(catalog: Catalog, config: WorldConfig = DEFAULT_WORLD_CONFIG, seed = 0) {
    this.catalog = catalog;
    this.config = validateWorldConfig(config);
    this.seed = seed;
    const d = this.config.latentDim;
    this.latentDim = d;
    this.invSqrtD = 1 / Math.sqrt(d);
    this.noiseScale = this.config.itemNoise / NOISE_QUANT;
    const root = new Rng(seed);

    this.userInterest = fillNormals(root.fork('world-users'), new Float32Array(catalog.numUsers * d));
    const ar = root.fork('world-authors');
    // Int8 like the item noise: millions of authors at d bytes each.
    this.authorStyle = quantizedNormals(ar, catalog.numAuthors * d);
    this.authorQuality = fillNormals(ar, new Float32Array(catalog.numAuthors), this.config.authorQualityStd);
    this.tagEmbedding = fillNormals(root.fork('world-tags'), new Float32Array(catalog.numTags * d), this.config.tagScale);

    // Item noise in int8 steps of 1/32 (memory: d bytes per item).
    this.itemNoise = quantizedNormals(root.fork('world-items'), catalog.numItems * d);
  }

  /** a_ui = <z_u, v_i>/sqrt(d), the user-item affinity (unscaled by s). */
  affinity(user: number, item: number): number {
    const d = this.latentDim;
    const a = this.catalog.itemAuthor[item]!;
    const t = this.catalog.itemTag[item]!;
    const z = this.userInterest,
      w = this.authorStyle,
      e = this.tagEmbedding,
      n = this.itemNoise;
    const zo = user * d,
      wo = a * d,
      eo = t * d,
      no = item * d;
    let zw = 0;
    let zv = 0;
    let zn = 0;
    for (let k = 0; k < d; k++) {
      const zk = z[zo + k]!;
      zw += zk * w[wo + k]!;
      zv += zk * e[eo + k]!;
      zn += zk * n[no + k]!;
    }
    return (zw / NOISE_QUANT + zv + this.noiseScale * zn) * this.invSqrtD;
  }

  /** a_ua = <z_u, w_a>/sqrt(d), the user-author (style) affinity that drives follows and gifts. */
  authorAffinity(user: number, author: number): number {
    const d = this.latentDim;
    const z = this.userInterest,
      w = this.authorStyle;
    let s = 0;
    for (let k = 0; k < d; k++) s += z[user * d + k]! * w[author * d + k]!;
    return (s / NOISE_QUANT) * this.invSqrtD;
  }

  /** v_i written into `out` (length >= d). */
  itemVector(item: number, out: Float32Array): Float32Array {
    const d = this.latentDim;
    const wo = this.catalog.itemAuthor[item]! * d,
      eo = this.catalog.itemTag[item]! * d;
    for (let k = 0; k < d; k++) out[k] = this.authorStyle[wo + k]! / NOISE_QUANT + this.tagEmbedding[eo + k]! + this.noiseScale * this.itemNoise[item * d + k]!;
    return out;
  }

  /** phi_ua = b_n log1p(n_ua) + b_f f_ua + b_g log1p(g_ua) from a count vector at `offset`. */
  familiarity(pairCounts: ArrayLike<number>, offset = 0): number {
    const f = this.config.familiarity;
    return (
      f.clicks * Math.log1p(pairCounts[offset + PC_CLICK]!) +
      (pairCounts[offset + PC_FOLLOW]! > 0 ? f.follow : 0) +
      f.gifts * Math.log1p(pairCounts[offset + PC_GIFT]!)
    );
  }

  /**
   * The true click logit without familiarity and fatigue: c0 + s a_ui + b_a.
   */
  baseClickLogit(user: number, item: number): number {
    return this.config.click.intercept + this.config.affinityScale * this.affinity(user, item) + this.authorQuality[this.catalog.itemAuthor[item]!]!;
  }

  /**
   * The true expected immediate click probability of one exposure:
   * sigmoid(c0 + s a_ui + b_a + phi_ua - fatigue).
   */
  clickProbability(user: number, item: number, pairCounts: ArrayLike<number>, offset = 0, repeatAuthor = 0, repeatTag = 0, position = 0): number {
    const fat = this.config.fatigue;
    return sigmoid(
      this.baseClickLogit(user, item) +
        this.familiarity(pairCounts, offset) -
        fat.author * Math.log1p(repeatAuthor) -
        fat.tag * Math.log1p(repeatTag) -
        fat.position * position,
    );
  }

  /** The true click probability of every exposure of a batch, into `out` (oracle, vectorized). */
  expectedClickProbabilities(batch: ExposureBatch, out: Float32Array): Float32Array {
    for (let j = 0; j < batch.count; j++) {
      out[j] = this.clickProbability(
        batch.user[j]!,
        batch.item[j]!,
        batch.pairCounts,
        j * PAIR_COUNT_DIM,
        batch.repeatAuthor[j]!,
        batch.repeatTag[j]!,
        batch.position[j]!,
      );
    }
    return out;
  }

  /**
   * The world's "true long-term affinity" of a (user, item) pair, independent
   * of the current state: s a_ui + b_a (how much the item itself appeals) plus
   * s a_ua (how much the user likes the author's style, which drives follows,
   * gifts and hence the familiarity that raises all later engagement with
   * the author). An oracle ranks by it.
   */
  longTermAffinity(user: number, item: number): number {
    const s = this.config.affinityScale;
    const a = this.catalog.itemAuthor[item]!;
    return s * this.affinity(user, item) + this.authorQuality[a]! + s * this.authorAffinity(user, a);
  }

  /** {@link longTermAffinity} of `count` items for one user, into `out`. */
  scoreLongTerm(user: number, items: Int32Array, count: number, out: Float32Array): Float32Array {
    for (let j = 0; j < count; j++) out[j] = this.longTermAffinity(user, items[j]!);
    return out;
  }

  /** The starting session budget of a user: budgetBase + budgetPerActivity * activity (config.session). */
  sessionBudget(user: number): number {
    const s = this.config.session;
    return s.budgetBase + s.budgetPerActivity * this.catalog.userActivity[user]!;
  }

  /**
   * Probability that the user returns on any given day (the return gap is
   * geometric with it): sigmoid(r0 + r_act activity + r_sat satisfaction +
   * r_deep log1p(deepPairs)). `satisfaction` is the last session's mean
   * refund per request minus 0.5 (centred); `deepPairs` the followed authors.
   */
  dailyReturnProbability(user: number, satisfaction: number, deepPairs: number): number {
    const r = this.config.returnGap;
    return sigmoid(r.intercept + r.activity * this.catalog.userActivity[user]! + r.satisfaction * satisfaction + r.deepPairs * Math.log1p(deepPairs));
  }

  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    const cfg = this.config;
    const d = this.latentDim;
    const invSqrtD = this.invSqrtD;
    const noiseScale = this.noiseScale;
    const s = cfg.affinityScale;
    const { clicks: bN, follow: bF, gifts: bG } = cfg.familiarity;
    const fatA = cfg.fatigue.author,
      fatT = cfg.fatigue.tag,
      fatP = cfg.fatigue.position;
    const c0 = cfg.click.intercept;
    const wc = cfg.watch;
    const like = cfg.like,
      comment = cfg.comment,
      forward = cfg.forward,
      hate = cfg.hate;
    const fo = cfg.follow,
      gi = cfg.gift;
    const skimMean = wc.skimMeanMs;
    const z = this.userInterest,
      w = this.authorStyle,
      e = this.tagEmbedding,
      nz = this.itemNoise,
      bq = this.authorQuality;
    const itemAuthor = this.catalog.itemAuthor,
      itemTag = this.catalog.itemTag,
      durations = this.catalog.itemDurationMs;
    const isLive = this.catalog.authorIsLive;
    const normal = normalTable();
    const pc = batch.pairCounts;
    const { user: users, item: items, repeatAuthor, repeatTag, position } = batch;
    const count = batch.count;
    if (out.click.length < count) throw new RangeError(`respond: output batch holds ${out.click.length} responses, the exposure batch has ${count}`);

    for (let j = 0; j < count; j++) {
      const u = users[j]!,
        i = items[j]!;
      const a = itemAuthor[i]!,
        t = itemTag[i]!;
      const zo = u * d,
        wo = a * d,
        eo = t * d,
        no = i * d;
      let zw = 0,
        zt = 0,
        zn = 0;
      for (let k = 0; k < d; k++) {
        const zk = z[zo + k]!;
        zw += zk * w[wo + k]!;
        zt += zk * e[eo + k]!;
        zn += zk * nz[no + k]!;
      }
      zw /= NOISE_QUANT;
      const affUA = s * zw * invSqrtD;
      const aff = s * (zw + zt + noiseScale * zn) * invSqrtD;
      const po = j * PAIR_COUNT_DIM;
      const nClicks = pc[po + PC_CLICK]!;
      const following = pc[po + PC_FOLLOW]! > 0 ? 1 : 0;
      const nGifts = pc[po + PC_GIFT]!;
      const lnClicks = Math.log1p(nClicks);
      const lnGifts = Math.log1p(nGifts);
      const phi = bN * lnClicks + bF * following + bG * lnGifts;
      const fatigue = fatA * Math.log1p(repeatAuthor[j]!) + fatT * Math.log1p(repeatTag[j]!) + fatP * position[j]!;
      const pClick = sigmoid(c0 + aff + bq[a]! + phi - fatigue);

      // Fixed draw order: the same number of draws for every exposure.
      const uClick = rng.uniform();
      const uSkim = rng.uniform();
      const epsWatch = normal[rng.nextUint32() >>> 16]!;
      const uLike = rng.uniform();
      const uComment = rng.uniform();
      const uForward = rng.uniform();
      const uHate = rng.uniform();
      const uFollow = rng.uniform();
      const uGift = rng.uniform();
      const epsAmount = normal[rng.nextUint32() >>> 16]!;

      const dur = durations[i]!;
      let play: number;
      if (uClick < pClick) {
        const ratio =
          wc.maxRatio * sigmoid(wc.intercept + wc.affinity * aff + wc.familiarity * phi + wc.duration * Math.log(dur / 60000) + wc.noise * epsWatch);
        play = Math.round(ratio * dur);
        // An engaged view is a valid play by definition.
        if (dur <= CLICK_PLAY_THRESHOLD_MS) {
          if (play < dur) play = Math.ceil(dur);
        } else if (play <= CLICK_PLAY_THRESHOLD_MS) play = CLICK_PLAY_THRESHOLD_MS + 1;
      } else if (skimMean > 0) {
        // A skim stays below the valid-play threshold.
        const limit = dur <= CLICK_PLAY_THRESHOLD_MS ? Math.ceil(dur) - 1 : CLICK_PLAY_THRESHOLD_MS;
        const skim = Math.floor(-skimMean * Math.log(1 - uSkim));
        play = skim < limit ? skim : limit > 0 ? limit : 0;
      } else play = 0;

      const click = passesPlayRule(play, dur, CLICK_PLAY_THRESHOLD_MS) ? 1 : 0;
      out.playTimeMs[j] = play;
      out.click[j] = click;
      out.longView[j] = passesPlayRule(play, dur, LONG_VIEW_PLAY_THRESHOLD_MS) ? 1 : 0;
      out.hate[j] = uHate < sigmoid(hate.intercept + hate.affinity * aff + hate.familiarity * phi) ? 1 : 0;
      if (click) {
        out.like[j] = uLike < sigmoid(like.intercept + like.affinity * aff + like.familiarity * phi) ? 1 : 0;
        out.comment[j] = uComment < sigmoid(comment.intercept + comment.affinity * aff + comment.familiarity * phi) ? 1 : 0;
        out.forward[j] = uForward < sigmoid(forward.intercept + forward.affinity * aff + forward.familiarity * phi) ? 1 : 0;
        out.follow[j] = following === 0 && uFollow < sigmoid(fo.intercept + fo.affinity * affUA + fo.quality * bq[a]! + fo.clicks * lnClicks) ? 1 : 0;
        if (isLive[a] === 1 && uGift < sigmoid(gi.intercept + gi.affinity * affUA + gi.follow * following + gi.gifts * lnGifts)) {
          const amount = Math.round(Math.exp(gi.amountLogMean + gi.amountLogStd * epsAmount));
          out.giftAmount[j] = amount < 1 ? 1 : amount;
        } else out.giftAmount[j] = 0;
      } else {
        out.like[j] = 0;
        out.comment[j] = 0;
        out.forward[j] = 0;
        out.follow[j] = 0;
        out.giftAmount[j] = 0;
      }
    }
  }
}

/** Builds the ground-truth world over `catalog` (config default: the documented defaults). */
export function createWorld(catalog: Catalog, config: WorldConfig = DEFAULT_WORLD_CONFIG, seed = 0): GroundTruthWorld {
  return new GroundTruthWorld(catalog, config, seed);
}
