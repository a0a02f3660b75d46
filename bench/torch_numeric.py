#!/usr/bin/env python3
"""PyTorch reference for `rliv bench numeric` (bench/numeric.ts).

Runs the identical workloads in PyTorch on one thread and prints ONE JSON
line with its figures:
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
Everything uses torch.set_num_threads(1); the parent process also sets
OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1.

Usage: python3 bench/torch_numeric.py [--steps N] [--repeats R] [--score-calls C] [--seed S]
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def rate(step, batch, warmup, steps, repeats):
    """Median samples/s (wall clock, and per CPU-second of this process) over `repeats` timed runs of `steps` steps."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        wall.append(batch * steps / (time.perf_counter() - t0))
        cpu.append(batch * steps / max(1e-9, time.process_time() - c0))
    wall.sort()
    cpu.sort()
    return wall[len(wall) // 2], cpu[len(cpu) // 2]


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
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    B, D, Fd, G, H = args.batch, args.fields * args.dim, args.fields, args.heads, args.hidden
    sizes = [D, H, H, 1]

    # Full step: embedding + 12 heads + summed Huber + Adam / SparseAdam.
    emb = nn.Embedding(args.rows, args.dim, sparse=True)
    heads = nn.ModuleList([mlp(sizes) for _ in range(G)])
    dense_opt = torch.optim.Adam(heads.parameters(), lr=1e-3)
    sparse_opt = torch.optim.SparseAdam(list(emb.parameters()), lr=1e-3)
    n_batches = 8
    ids = [torch.randint(0, args.rows, (B, Fd)) for _ in range(n_batches)]
    targets = [torch.randn(B, G) for _ in range(n_batches)]
    state = {'i': 0}

    def full_step():
        i = state['i'] % n_batches
        state['i'] += 1
        x = emb(ids[i]).view(B, D)
        t = targets[i]
        loss = sum(F.huber_loss(heads[g](x).squeeze(1), t[:, g], delta=1.0) for g in range(G))
        dense_opt.zero_grad(set_to_none=True)
        sparse_opt.zero_grad(set_to_none=True)
        loss.backward()
        dense_opt.step()
        sparse_opt.step()

    full, full_cpu = rate(full_step, B, args.warmup, args.steps, args.repeats)

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

    def fused_step():
        i = state['i'] % n_batches
        state['i'] += 1
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

    fused, _ = rate(fused_step, B, args.warmup, args.steps, args.repeats)

    # Single MLP step.
    one = mlp(sizes)
    opt = torch.optim.Adam(one.parameters(), lr=1e-3)
    xs = [torch.randn(B, D) for _ in range(n_batches)]
    ys = [torch.randn(B) for _ in range(n_batches)]

    def mlp_step():
        i = state['i'] % n_batches
        state['i'] += 1
        loss = F.huber_loss(one(xs[i]).squeeze(1), ys[i], delta=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    mlp_rate, _ = rate(mlp_step, B, args.warmup, args.steps * 4, args.repeats)

    # Scoring 300 candidates.
    cand = torch.randn(args.candidates, D)
    times = []
    with torch.no_grad():
        for _ in range(50):
            one(cand)
        for _ in range(args.score_calls):
            t0 = time.perf_counter()
            one(cand)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    pct = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'fullStepSamplesPerSec': full,
        'fullStepSamplesPerCpuSec': full_cpu,
        'fusedFullStepSamplesPerSec': fused,
        'mlpStepSamplesPerSec': mlp_rate,
        'score300P50Ms': pct(0.5),
        'score300P99Ms': pct(0.99),
    }))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
