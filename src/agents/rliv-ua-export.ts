/**
 * RLIV-UA's weights for other tools (`rliv export --format safetensors`):
 * every parameter under its own name, plus the embedding lookups a caller
 * needs to build H without this project's hashing, and metadata saying how
 * the towers turn H into LIV.
 *
 * Tensors (float32, row-major; d = embedding dim, B = count buckets, G = heads of a tower):
 *   lookup.user                 [numUsers, d]   h_u of every user of the catalog
 *   lookup.item                 [numItems, d]   h_a of every item (its author, id, tag, duration, live flag, features)
 *   lookup.count                [7, B, d]       e(k, b): h_ua = sum over the 7 count kinds k of e(k, bucket(count_k))
 *   rliv.embedding              [rows, d]       the hashed table the lookups are sums of
 *   rliv.<tower>.<l>.weight     l = 0: [G*f1, 3d]; l >= 1: [G, f_{l+1}, f_l]   online heads of a tower
 *   rliv.<tower>.<l>.bias       [G*f_{l+1}]
 *   rliv.<tower>.target.*       the target copies (same shapes)
 *   rliv.assistance.*           the assistance gift network (when the variant has it)
 *
 * LIV of tower t for a candidate: H = concat(h_u, h_a, h_ua) (3d); x =
 * relu(W0 H + b0) viewed as G rows of f1; each later layer applies head g's
 * own weights to row g (relu between layers, none after the last); the G
 * outputs are [r_hat, V_1, V_2] with SL (Q_k = r_hat + gamma V_k) or [V_1, V_2]
 * without (Q_k = V_k); LIV = min(Q_1, Q_2). bucket(c) = 0 for c < 1, else
 * floor(log2 c) + 1, capped at B - 1. scripts/rliv_safetensors.py does all
 * of this with numpy.
 */
import { PAIR_COUNT_DIM, PAIR_COUNT_KINDS, TOWERS } from '../data/interaction-kinds.js';
import type { SafetensorsTensor } from '../numeric/safetensors.js';
import type { Ranker } from './ranker.js';
import { RlivUaAgent } from './rliv-ua.js';

/** What `rliv export` writes for one agent. */
export interface ExportedWeights {
  tensors: SafetensorsTensor[];
  /** String metadata (JSON values as text), stored in the file's `__metadata__`. */
  metadata: Record<string, string>;
}

/** A model that cannot be exported in the asked format. */
export class ExportError extends Error {
  override name = 'ExportError';
}

/** The tensors and metadata of an RLIV-UA agent (any variant); other agents are an {@link ExportError}. */
export function rlivUaWeights(agent: Ranker): ExportedWeights {
  if (!(agent instanceof RlivUaAgent)) throw new ExportError(`${agent.name}: safetensors export is for RLIV-UA and its variants (the towers, embedding and lookups); this checkpoint holds ${agent.name}`);
  const net = agent.network;
  const emb = net.embedding;
  const d = emb.dim;
  const cat = agent.catalog;
  const user = new Float32Array(cat.numUsers * d);
  for (let u = 0; u < cat.numUsers; u++) emb.userVector(u, user, u * d);
  const item = new Float32Array(cat.numItems * d);
  for (let i = 0; i < cat.numItems; i++) emb.authorVector(i, item, i * d);
  const B = emb.countBuckets;
  const count = new Float32Array(PAIR_COUNT_DIM * B * d);
  for (let k = 0; k < PAIR_COUNT_DIM; k++) for (let b = 0; b < B; b++) emb.countVector(k, b, count, (k * B + b) * d);
  const tensors: SafetensorsTensor[] = [
    { name: 'lookup.user', shape: [cat.numUsers, d], data: user },
    { name: 'lookup.item', shape: [cat.numItems, d], data: item },
    { name: 'lookup.count', shape: [PAIR_COUNT_DIM, B, d], data: count },
    ...net.allParams().map((p) => ({ name: p.name, shape: p.shape.slice(), data: p.value })),
  ];
  const towers = net.towers.map((t, i) => ({
    tower: t.tower, column: TOWERS.indexOf(t.tower), prefix: t.online.name, heads: t.online.heads, sizes: t.online.sizes.slice(),
    rewardHead: t.rewardHeadIndex, index: i,
  }));
  const { scoreWeights, ...config } = agent.config;
  return {
    tensors,
    metadata: {
      format: 'rliv-ua-weights/1',
      agent: agent.name,
      embeddingDim: String(d),
      countBuckets: String(B),
      countKinds: JSON.stringify(PAIR_COUNT_KINDS),
      gamma: String(agent.config.gamma),
      towers: JSON.stringify(towers),
      scoreWeights: JSON.stringify(scoreWeights),
      config: JSON.stringify(config),
      catalog: JSON.stringify({ users: cat.numUsers, items: cat.numItems, authors: cat.numAuthors }),
    },
  };
}
