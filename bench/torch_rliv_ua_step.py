#!/usr/bin/env python3
"""PyTorch reference of the FULL RLIV-UA training step (bench/rliv-ua-step.ts).

The same network and the same work per step as src/agents/rliv-ua-network.ts:
  * one hashed embedding table (rows x 32, sparse gradients, SparseAdam);
    H = concat(h_u, h_a, h_ua), each part the SUM of its fields' vectors
    (nn.EmbeddingBag mode='sum'): user fields, author/item fields, 7 pair
    counts -> 96-d;
  * 4 towers x 3 heads (r_hat, V_1, V_2), each 96-64-64-1, and target copies
    (--towers N, --supervised 0: heads Q_1, Q_2 without r_hat, --assistance 0:
    no gift network: the ablations of rliv-ua-variants.ts);
  * next states H'_j for the author's items (per-sample counts drawn from the
    catalog's histogram, passed by the TS bench): h_u of the sample, h_a of
    item j, h_ua of f_ua^{t+1}; no gradient;
  * y = r + gamma * max_j min(Q'_1, Q'_2)(H'_j) per tower (scatter_reduce amax);
  * loss per tower huber(r_hat, r) + sum_k huber(r_hat.detach() + gamma V_k, y)
    (stop-gradient at r_hat), plus the assistance net 64-64-1 on (h_u, h_a)
    with BCE; Adam (dense) + SparseAdam (table); soft target update tau.
One thread (torch.set_num_threads(1); the parent also sets OMP/OPENBLAS=1).
Prints ONE JSON line: {"torch", "stepSamplesPerSec", "stepSamplesPerCpuSec"}.
"""
import argparse
import copy
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_common import mlp, report_steps, serve_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=1024)
    ap.add_argument('--rows', type=int, default=131072)
    ap.add_argument('--dim', type=int, default=32)
    ap.add_argument('--user-fields', type=int, default=27)
    ap.add_argument('--author-fields', type=int, default=8)
    ap.add_argument('--pair-fields', type=int, default=7)
    ap.add_argument('--towers', type=int, default=4)
    ap.add_argument('--supervised', type=int, default=1, help='1: heads r_hat, V_1, V_2 (SL); 0: heads Q_1, Q_2 (the w/o SL ablations)')
    ap.add_argument('--assistance', type=int, default=1, help='1: the assistance gift network (AL); 0: none')
    ap.add_argument('--serve', action='store_true', help='print a ready line, then answer "step N" lines with {"wall", "cpu"}')
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--next-hist', type=str, default='1', help='comma-separated weights of 1..8 next items per sample')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    warnings.filterwarnings('ignore', message='scatter_reduce')
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    gamma, tau, B, d = 0.9, 0.005, a.batch, a.dim

    emb = nn.EmbeddingBag(a.rows, d, mode='sum', sparse=True)
    nn.init.normal_(emb.weight, std=0.05)
    heads = 3 if a.supervised else 2
    online = nn.ModuleList([nn.ModuleList([mlp([3 * d, a.hidden, a.hidden, 1]) for _ in range(heads)]) for _ in range(a.towers)])
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad_(False)
    assist = mlp([2 * d, a.hidden, 1])
    dense = list(online.parameters()) + (list(assist.parameters()) if a.assistance else [])
    opt = torch.optim.Adam(dense, lr=1e-3)
    opt_sparse = torch.optim.SparseAdam(list(emb.parameters()), lr=1e-3)
    online_params = list(online.parameters())
    target_params = list(target.parameters())

    hist = torch.tensor([float(x) for x in a.next_hist.split(',')])
    batches = []
    for _ in range(8):
        per = torch.multinomial(hist, B, replacement=True) + 1
        seg = torch.repeat_interleave(torch.arange(B), per)
        nn_rows = int(seg.numel())
        batches.append(dict(
            u=torch.randint(0, a.rows, (B, a.user_fields)),
            ai=torch.randint(0, a.rows, (B, a.author_fields)),
            p=torch.randint(0, a.rows, (B, a.pair_fields)),
            ai_n=torch.randint(0, a.rows, (nn_rows, a.author_fields)),
            p_n=torch.randint(0, a.rows, (nn_rows, a.pair_fields)),
            seg=seg,
            r=torch.rand(B, a.towers),
            gift=(torch.rand(B, 1) < 0.05).float(),
        ))
    state = {'i': 0}

    def step():
        b = batches[state['i'] % len(batches)]
        state['i'] += 1
        hu = emb(b['u'])
        H = torch.cat([hu, emb(b['ai']), emb(b['p'])], dim=1)
        with torch.no_grad():
            Hn = torch.cat([hu[b['seg']], emb(b['ai_n']), emb(b['p_n'])], dim=1)
        loss = 0.0
        for t in range(a.towers):
            with torch.no_grad():
                if a.supervised:
                    rt, v1t, v2t = (m(Hn).squeeze(1) for m in target[t])
                    qmin = torch.minimum(rt + gamma * v1t, rt + gamma * v2t)
                else:
                    q1t, q2t = (m(Hn).squeeze(1) for m in target[t])
                    qmin = torch.minimum(q1t, q2t)
                best = torch.full((B,), -float('inf')).scatter_reduce(0, b['seg'], qmin, reduce='amax', include_self=True)
                y = b['r'][:, t] + gamma * best
            if a.supervised:
                r_hat, v1, v2 = (m(H).squeeze(1) for m in online[t])
                loss = loss + F.huber_loss(r_hat, b['r'][:, t], delta=1.0) \
                    + F.huber_loss(r_hat.detach() + gamma * v1, y, delta=1.0) \
                    + F.huber_loss(r_hat.detach() + gamma * v2, y, delta=1.0)
            else:
                q1, q2 = (m(H).squeeze(1) for m in online[t])
                loss = loss + F.huber_loss(q1, y, delta=1.0) + F.huber_loss(q2, y, delta=1.0)
        if a.assistance:
            loss = loss + F.binary_cross_entropy_with_logits(assist(H[:, :2 * d]), b['gift'])
        opt.zero_grad(set_to_none=True)
        opt_sparse.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        opt_sparse.step()
        with torch.no_grad():
            torch._foreach_mul_(target_params, 1 - tau)
            torch._foreach_add_(target_params, online_params, alpha=tau)

    if a.serve:
        serve_steps(step, {'ready': 'rliv-ua'})
        return
    report_steps(step, B, a.warmup, a.steps, a.repeats)

if __name__ == '__main__':
    main()
