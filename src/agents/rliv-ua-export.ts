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
import type { OnnxInitializer, OnnxModel, OnnxNode } from '../numeric/onnx.js';
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
  if (!(agent instanceof RlivUaAgent))
    throw new ExportError(`${agent.name}: export is for RLIV-UA and its variants (the towers, embedding and lookups); this checkpoint holds ${agent.name}`);
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
    tower: t.tower,
    column: TOWERS.indexOf(t.tower),
    prefix: t.online.name,
    heads: t.online.heads,
    sizes: t.online.sizes.slice(),
    rewardHead: t.rewardHeadIndex,
    index: i,
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

/**
 * RLIV-UA's scorer as an ONNX model: the towers' online heads on H (the
 * embedding lookup, H = concat(h_u, h_a, h_ua) per candidate, is the
 * caller's, from the safetensors lookups). Input `H` [N, 3d]; outputs `liv`
 * [N, T] (the trained towers, in the order of the `towers` metadata) and
 * `score` [N] (the agent's ranking score: each weighted tower's LIV
 * standardized over the N candidates, summed with the agent's score
 * weights). Later layers of a tower's G heads are one block-diagonal Gemm.
 */
export function rlivUaOnnx(agent: Ranker, producerVersion?: string): OnnxModel {
  const weights = rlivUaWeights(agent);
  const a = agent as RlivUaAgent;
  const net = a.network;
  const hDim = net.embedding.hDim;
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const gamma = a.config.gamma;
  const livs: string[] = [];
  for (const tower of net.towers) {
    const g = tower.online;
    const G = g.heads;
    const P = tower.tower;
    inits.push({ name: `${P}.w0`, dims: [G * g.sizes[1]!, hDim], data: g.weights[0]!.value });
    inits.push({ name: `${P}.b0`, dims: [G * g.sizes[1]!], data: g.biases[0]!.value });
    nodes.push({ op: 'Gemm', inputs: ['H', `${P}.w0`, `${P}.b0`], outputs: [`${P}.z0`], attributes: { transB: 1 } });
    nodes.push({ op: 'Relu', inputs: [`${P}.z0`], outputs: [`${P}.a0`] });
    let prev = `${P}.a0`;
    const L = g.weights.length;
    for (let l = 1; l < L; l++) {
      const fin = g.sizes[l]!;
      const fout = g.sizes[l + 1]!;
      // Block-diagonal [G*fin, G*fout]: head h's W^T on the diagonal.
      const bd = new Float32Array(G * fin * G * fout);
      const w = g.weights[l]!.value;
      for (let h = 0; h < G; h++) {
        for (let o = 0; o < fout; o++) for (let i = 0; i < fin; i++) bd[(h * fin + i) * (G * fout) + h * fout + o] = w[(h * fout + o) * fin + i]!;
      }
      inits.push({ name: `${P}.w${l}`, dims: [G * fin, G * fout], data: bd });
      inits.push({ name: `${P}.b${l}`, dims: [G * fout], data: g.biases[l]!.value });
      nodes.push({ op: 'Gemm', inputs: [prev, `${P}.w${l}`, `${P}.b${l}`], outputs: [`${P}.z${l}`] });
      prev = `${P}.z${l}`;
      if (l + 1 < L) {
        nodes.push({ op: 'Relu', inputs: [prev], outputs: [`${P}.a${l}`] });
        prev = `${P}.a${l}`;
      }
    }
    // Q = heads x M: with SL [r, V1, V2] -> [r + gamma V1, r + gamma V2]; without [V1, V2] -> itself.
    const r = tower.rewardHeadIndex;
    const M = new Float32Array(G * 2);
    if (r >= 0) {
      M[r * 2] = 1;
      M[r * 2 + 1] = 1;
      const v1 = r === 0 ? 1 : 0;
      M[v1 * 2] = gamma;
      M[(v1 + 1) * 2 + 1] = gamma;
    } else {
      M[0] = 1;
      M[3] = 1;
    }
    inits.push({ name: `${P}.q`, dims: [G, 2], data: M });
    nodes.push({ op: 'MatMul', inputs: [prev, `${P}.q`], outputs: [`${P}.Q`] });
    nodes.push({ op: 'ReduceMin', inputs: [`${P}.Q`], outputs: [`${P}.liv`], attributes: { axes: [1], keepdims: 1 } });
    livs.push(`${P}.liv`);
  }
  nodes.push({ op: 'Concat', inputs: livs, outputs: ['liv'], attributes: { axis: 1 } });
  // score = (standardized liv over the N rows) x w, a tower with zero spread contributing 0.
  const w = Float32Array.from(net.towers.map((t) => a.config.scoreWeights[t.tower] ?? 0));
  inits.push({ name: 'score.w', dims: [w.length, 1], data: w });
  inits.push({ name: 'score.eps', dims: [], data: Float32Array.of(1e-12) });
  inits.push({ name: 'score.axes', dims: [1], data: { int64: [1] } });
  nodes.push({ op: 'ReduceMean', inputs: ['liv'], outputs: ['score.mean'], attributes: { axes: [0], keepdims: 1 } });
  nodes.push({ op: 'Sub', inputs: ['liv', 'score.mean'], outputs: ['score.c'] });
  nodes.push({ op: 'Mul', inputs: ['score.c', 'score.c'], outputs: ['score.c2'] });
  nodes.push({ op: 'ReduceMean', inputs: ['score.c2'], outputs: ['score.var'], attributes: { axes: [0], keepdims: 1 } });
  nodes.push({ op: 'Sqrt', inputs: ['score.var'], outputs: ['score.std'] });
  nodes.push({ op: 'Max', inputs: ['score.std', 'score.eps'], outputs: ['score.sd'] });
  nodes.push({ op: 'Div', inputs: ['score.c', 'score.sd'], outputs: ['score.z'] });
  nodes.push({ op: 'MatMul', inputs: ['score.z', 'score.w'], outputs: ['score.col'] });
  nodes.push({ op: 'Squeeze', inputs: ['score.col', 'score.axes'], outputs: ['score'] });
  return {
    name: a.name,
    inputs: [{ name: 'H', dims: ['N', hDim] }],
    outputs: [
      { name: 'liv', dims: ['N', net.towers.length] },
      { name: 'score', dims: ['N'] },
    ],
    nodes,
    initializers: inits,
    metadata: {
      ...weights.metadata,
      input: 'H [N, 3d] = concat(h_u, h_a, h_ua) per candidate (lookups in the safetensors export)',
      outputs: 'liv [N, towers in the order of "towers"], score [N]',
    },
    producerVersion,
  };
}
