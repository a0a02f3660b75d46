#!/usr/bin/env python3
"""PyTorch reference for `rliv bench numeric` (bench/numeric.ts).

The identical workloads in PyTorch on one thread:
  * full step: a 100,000 x 32 embedding table (sparse gradients), 3 ids per
    sample gathered into a 96-d input, 12 MLPs 96-64-64-1 (4 towers x (2
    critics + reward head)) as an nn.ModuleList, the sum of the 12 per-head
    Huber losses, Adam on the MLPs and SparseAdam (lazy: touched rows only)
    on the embedding, batch 1024;
  * single-MLP step: one 96-64-64-1 MLP, Huber loss, Adam, batch 1024;
  * scoring 300 candidates with one MLP under torch.no_grad (p50/p99 ms);
  * for reference only, the full step written with the SAME fusion rliv's
    MlpGroup uses (one 96 x 768 Linear for all first layers, then batched
    matmuls per head): how much of the gap is the fusion rather than the
    framework. The headline ratio is against the plain nn.ModuleList step.
torch.set_num_threads(1); the parent also sets OPENBLAS_NUM_THREADS=1.

Two modes:
  python3 bench/torch_numeric.py [--steps N] [--repeats R] ...   runs everything, prints ONE JSON line
  python3 bench/torch_numeric.py --serve ...                      builds the workloads, prints {"ready": ...},
      then answers one JSON line per command read from stdin, so the caller can
      INTERLEAVE its own timings with these (fair on a shared, noisy machine):
        full N | fused N | mlp N   -> {"wall": seconds, "cpu": seconds} for N steps
        score C                    -> {"p50": ms, "p99": ms} over C scoring calls
        quit
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_common import median, mlp, timed


def build(args):
    """The four workloads as functions: full(), fused(), mlp_step(), score()."""
    torch.manual_seed(args.seed)
    B, D, Fd, G, H = args.batch, args.fields * args.dim, args.fields, args.heads, args.hidden
    sizes = [D, H, H, 1]
    n_batches = 8
    ids = [torch.randint(0, args.rows, (B, Fd)) for _ in range(n_batches)]
    targets = [torch.randn(B, G) for _ in range(n_batches)]
    state = {'i': 0}

    def next_batch():
        i = state['i'] % n_batches
        state['i'] += 1
        return i

    # Full step: embedding + 12 heads + summed Huber + Adam / SparseAdam.
    emb = nn.Embedding(args.rows, args.dim, sparse=True)
    heads = nn.ModuleList([mlp(sizes) for _ in range(G)])
    dense_opt = torch.optim.Adam(heads.parameters(), lr=1e-3)
    sparse_opt = torch.optim.SparseAdam(list(emb.parameters()), lr=1e-3)

    def full():
        i = next_batch()
        x = emb(ids[i]).view(B, D)
        t = targets[i]
        loss = sum(F.huber_loss(heads[g](x).squeeze(1), t[:, g], delta=1.0) for g in range(G))
        dense_opt.zero_grad(set_to_none=True)
        sparse_opt.zero_grad(set_to_none=True)
        loss.backward()
        dense_opt.step()
        sparse_opt.step()

    # Reference: the same step with the heads fused the way MlpGroup fuses them.
    emb_f = nn.Embedding(args.rows, args.dim, sparse=True)
    first = nn.Linear(D, G * H)
    bound = 1 / H ** 0.5
    w2 = nn.Parameter(torch.empty(G, H, H).uniform_(-bound, bound))
    b2 = nn.Parameter(torch.empty(G, 1, H).uniform_(-bound, bound))
    w3 = nn.Parameter(torch.empty(G, H, 1).uniform_(-bound, bound))
    b3 = nn.Parameter(torch.empty(G, 1, 1).uniform_(-bound, bound))
    fused_dense = torch.optim.Adam(list(first.parameters()) + [w2, b2, w3, b3], lr=1e-3)
    fused_sparse = torch.optim.SparseAdam(list(emb_f.parameters()), lr=1e-3)

    def fused():
        i = next_batch()
        x = emb_f(ids[i]).view(B, D)
        h1 = F.relu(first(x)).view(B, G, H).transpose(0, 1)  # [G, B, H]
        h2 = F.relu(torch.baddbmm(b2, h1, w2))
        out = torch.baddbmm(b3, h2, w3).squeeze(2).t()  # [B, G]
        loss = F.huber_loss(out, targets[i], delta=1.0) * G  # = sum of the G per-head means
        fused_dense.zero_grad(set_to_none=True)
        fused_sparse.zero_grad(set_to_none=True)
        loss.backward()
        fused_dense.step()
        fused_sparse.step()

    # Single MLP step.
    one = mlp(sizes)
    opt = torch.optim.Adam(one.parameters(), lr=1e-3)
    xs = [torch.randn(B, D) for _ in range(n_batches)]
    ys = [torch.randn(B) for _ in range(n_batches)]

    def mlp_step():
        i = next_batch()
        loss = F.huber_loss(one(xs[i]).squeeze(1), ys[i], delta=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    cand = torch.randn(args.candidates, D)

    def score(calls):
        times = []
        with torch.no_grad():
            for _ in range(calls):
                t0 = time.perf_counter()
                one(cand)
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        pct = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        return {'p50': pct(0.5), 'p99': pct(0.99)}

    return {'full': full, 'fused': fused, 'mlp': mlp_step, 'score': score}






def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--batch', type=int, default=1024)
    ap.add_argument('--rows', type=int, default=100_000)
    ap.add_argument('--dim', type=int, default=32)
    ap.add_argument('--fields', type=int, default=3)
    ap.add_argument('--heads', type=int, default=12)
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--score-calls', type=int, default=2000)
    ap.add_argument('--candidates', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--serve', action='store_true', help='answer timing commands on stdin (see the module docstring)')
    args = ap.parse_args()
    torch.set_num_threads(1)
    w = build(args)
    if args.serve:
        print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            parts = line.split()
            if not parts or parts[0] == 'quit':
                break
            cmd, n = parts[0], int(parts[1]) if len(parts) > 1 else 1
            if cmd == 'score':
                reply = w['score'](n)
            elif cmd in ('full', 'fused', 'mlp'):
                reply = timed(w[cmd], n)
            else:
                reply = {'error': f'unknown command {cmd!r}'}
            print(json.dumps(reply), flush=True)
        return
    B = args.batch
    result = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
    for name, key, steps in (('full', 'fullStep', args.steps), ('fused', 'fusedFullStep', args.steps), ('mlp', 'mlpStep', 4 * args.steps)):
        timed(w[name], args.warmup)
        runs = [timed(w[name], steps) for _ in range(args.repeats)]
        result[key + 'SamplesPerSec'] = median([B * steps / r['wall'] for r in runs])
        result[key + 'SamplesPerCpuSec'] = median([B * steps / r['cpu'] for r in runs])
    w['score'](50)
    s = w['score'](args.score_calls)
    result['score300P50Ms'] = s['p50']
    result['score300P99Ms'] = s['p99']
    print(json.dumps(result))


if __name__ == '__main__':
    main()
