#!/usr/bin/env python3
"""PyTorch references of ONE training step of each baseline (bench/models.ts).

`--model` picks the network; each is the same network and the same work per
step as the TypeScript agent in src/agents/, written the way a PyTorch user
would write it (dense tensors, autograd, nn.EmbeddingBag with sparse
gradients + SparseAdam for the hashed table, Adam for the rest):

  RankingModel  DeepFM (deepfm.ts): F = U + I + 7 fields of 32, first-order
                weights (4 heads), FM term with its 1 -> 4 head, deep MLP
                F*32-64-64-4; BCE x 3 + MSE on B logged exposures.
  DQN           double DQN (dqn.ts): Q([h_user | h_userCats | h_item |
                h_author | h_tag | h_itemCats | summary]) 6*32+8-64-64-1;
                targets over the C kept candidates of each next request
                (online net picks, target net evaluates), Huber on the B
                logged items, Polyak update.
  CQL           DQN plus the conservative term (cql.ts): Q of all C kept
                candidates of each current request, logsumexp - Q(logged).
  TD3           twin critics [state | action] 72+32-64-64-1 and targets,
                actor 72-64-64-32 and target, target policy smoothing, the
                logged action = mean item embedding of the K-item slate;
                actor + target updates every 2nd step (td3.ts).
  RLUR          one DeepFM step, the standardized signals (4 per candidate)
                of the entries a step samples, actor over state -> 4
                weights, soft slate profiles, 2 x 2 critics 72+4-64-64-1 and
                targets, RND 72-64-64-16 (target fixed, predictor trained),
                actor every 2nd step (rlur.ts).

The replay is synthetic (random table rows, responses and done flags with
the rates the TypeScript side measured); only the time of the step matters.
One thread (torch.set_num_threads(1); the parent also sets OMP/OPENBLAS=1).

--serve: prints {"torch": version, "ready": model} and then, for each line
"step N" on stdin, runs N steps and prints {"wall": s, "cpu": s}; "quit" ends
(torch_common.serve_steps). Without --serve: prints {"torch",
"stepSamplesPerSec", "stepSamplesPerCpuSec"}.
"""
import argparse
import copy
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_common import mlp, report_steps, serve_steps

SUMMARY = 8
SIGNALS = 4




def frozen_copy(module):
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def smoothed_target_action(actor_target, s, width, max_a=1.0, noise=0.2, clip=0.5):
    """TD3's target policy smoothing: clip(max_a tanh(pi'(s)) + clip(N(0, (noise max_a)^2), +-clip max_a), +-max_a)."""
    eps = (torch.randn(s.shape[0], width) * noise * max_a).clamp(-clip * max_a, clip * max_a)
    return (max_a * torch.tanh(actor_target(s)) + eps).clamp(-max_a, max_a)


def optimize(loss, *optimizers):
    """One gradient step of `loss` for every optimizer given."""
    for o in optimizers:
        o.zero_grad(set_to_none=True)
    loss.backward()
    for o in optimizers:
        o.step()


def soft_update(target, online, tau):
    with torch.no_grad():
        tp = list(target.parameters())
        torch._foreach_mul_(tp, 1 - tau)
        torch._foreach_add_(tp, list(online.parameters()), alpha=tau)


class Replay:
    """Synthetic request-level replay: per entry a user (U field rows), a summary, C kept candidates
    (I field rows and 7 pair-count rows each, the slate first), the slate's responses and a done flag."""

    def __init__(self, a):
        E, C, U, I = a.entries, a.candidates, a.user_fields, a.item_fields
        self.E, self.C, self.K = E, C, a.slate
        self.user = torch.randint(0, a.rows, (E, U))
        self.summary = torch.randn(E, SUMMARY)
        self.items = torch.randint(0, a.rows, (E, C, I))
        self.pairs = torch.randint(0, a.rows, (E, C, 7))
        self.reward = torch.rand(E, a.slate)  # per slate position
        self.click = (torch.rand(E, a.slate) < 0.3).float()
        self.long_view = (torch.rand(E, a.slate) < 0.15).float()
        self.watch = torch.rand(E, a.slate) * 3
        self.follow = (torch.rand(E, a.slate) < 0.01).float()
        self.done = torch.rand(E) < a.done_rate
        self.ret = torch.rand(E)

    def sample(self, B):
        idx = torch.randint(0, self.E - 1, (B,))
        return idx, idx + 1


class Common:
    def __init__(self, a):
        self.a = a
        self.B = a.batch
        self.d = a.dim
        self.emb = nn.EmbeddingBag(a.rows, a.dim, mode='sum', sparse=True)
        nn.init.normal_(self.emb.weight, std=0.05)
        self.rp = Replay(a)

    def state(self, entries):
        """[h_user | h_userCats | summary] (B x 72)."""
        u = self.rp.user[entries]
        return torch.cat([self.emb(u[:, :1]), self.emb(u[:, 1:]), self.rp.summary[entries]], dim=1)

    def item_slots(self, rows):
        """[h_item | h_author | h_tag | h_itemCats] of item field rows (N x I) -> N x 128."""
        return torch.cat([self.emb(rows[:, 0:1]), self.emb(rows[:, 1:2]), self.emb(rows[:, 2:3]), self.emb(rows[:, 3:])], dim=1)


class DeepFm(nn.Module):
    """deepfm.ts: fields U + I + 7, each its own 32-d embedding; first order, FM, deep part."""

    def __init__(self, a):
        super().__init__()
        self.F = a.user_fields + a.item_fields + 7
        self.emb = nn.Embedding(a.rows, a.dim, sparse=True)
        nn.init.normal_(self.emb.weight, std=0.05)
        self.first = nn.EmbeddingBag(a.rows, 4, mode='sum', sparse=True)
        nn.init.normal_(self.first.weight, std=0.01)
        self.deep = mlp([self.F * a.dim, a.hidden, a.hidden, 4])
        self.fm_head = nn.Linear(1, 4)
        self.dense_opt = torch.optim.Adam(list(self.deep.parameters()) + list(self.fm_head.parameters()), lr=1e-3)
        self.sparse_opt = torch.optim.SparseAdam(list(self.emb.parameters()) + list(self.first.parameters()), lr=1e-3)

    def forward(self, rows):
        v = self.emb(rows)  # N x F x d
        s = v.sum(1)
        fm = 0.5 * (s * s - (v * v).sum(1)).sum(1, keepdim=True)
        return self.first(rows) + self.deep(v.flatten(1)) + self.fm_head(fm)

    def train_step(self, rows, click, long_view, watch, follow):
        z = self(rows)
        loss = (F.binary_cross_entropy_with_logits(z[:, 0], click) + F.binary_cross_entropy_with_logits(z[:, 1], long_view)
                + F.mse_loss(z[:, 2], torch.log1p(watch)) + F.binary_cross_entropy_with_logits(z[:, 3], follow))
        optimize(loss, self.dense_opt, self.sparse_opt)


def exposure_rows(rp, idx, pos):
    """Field rows of B logged exposures (user, item, pair counts): B x F."""
    return torch.cat([rp.user[idx], rp.items[idx, pos], rp.pairs[idx, pos]], dim=1)


def build_ranking_model(a):
    rp = Replay(a)
    model = DeepFm(a)
    B = a.batch

    def step():
        idx, _ = rp.sample(B)
        pos = torch.randint(0, a.slate, (B,))
        model.train_step(exposure_rows(rp, idx, pos), rp.click[idx, pos], rp.long_view[idx, pos], rp.watch[idx, pos], rp.follow[idx, pos])

    return step


def build_dqn(a, cql):
    c = Common(a)
    rp, B, C = c.rp, c.B, a.candidates
    in_dim = 6 * a.dim + SUMMARY
    q = mlp([in_dim, a.hidden, a.hidden, 1])
    q_target = frozen_copy(q)
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    sparse = torch.optim.SparseAdam(list(c.emb.parameters()), lr=1e-3)
    gamma, tau, alpha = 0.9, 0.005, 1.0

    def rows_of(entries):
        """Q inputs of every kept candidate of each entry: n x C x in_dim."""
        n = entries.numel()
        s = c.state(entries)
        it = c.item_slots(rp.items[entries].reshape(n * C, -1)).view(n, C, -1)
        return torch.cat([s.unsqueeze(1).expand(n, C, s.shape[1]), it], dim=2)

    def step():
        idx, nxt = rp.sample(B)
        pos = torch.randint(0, a.slate, (B,))
        live = (~rp.done[idx]).nonzero().squeeze(1)
        r = rp.reward[idx, pos]
        with torch.no_grad():
            y = r.clone()
            if live.numel() > 0:
                xn = rows_of(nxt[live])
                best = q(xn).squeeze(2).argmax(1, keepdim=True)
                y[live] += gamma * q_target(xn).squeeze(2).gather(1, best).squeeze(1)
        if cql:
            qa = q(rows_of(idx)).squeeze(2)  # B x C
            q_logged = qa.gather(1, pos.unsqueeze(1)).squeeze(1)
            loss = F.huber_loss(q_logged, y) + alpha * (torch.logsumexp(qa, 1) - q_logged).mean()
        else:
            x = torch.cat([c.state(idx), c.item_slots(rp.items[idx, pos])], dim=1)
            loss = F.huber_loss(q(x).squeeze(1), y)
        optimize(loss, opt, sparse)
        soft_update(q_target, q, tau)

    return step


def build_td3(a):
    c = Common(a)
    rp, B, d = c.rp, c.B, a.dim
    sd = 2 * d + SUMMARY
    actor = mlp([sd, a.hidden, a.hidden, d])
    actor_target = frozen_copy(actor)
    critics = nn.ModuleList([mlp([sd + d, a.hidden, a.hidden, 1]) for _ in range(2)])
    critic_targets = frozen_copy(critics)
    critic_opt = torch.optim.Adam(critics.parameters(), lr=1e-3)
    sparse = torch.optim.SparseAdam(list(c.emb.parameters()), lr=1e-3)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-4)
    gamma, tau, max_a = 0.9, 0.005, 1.0
    state = {'steps': 0}

    def step():
        idx, nxt = rp.sample(B)
        live = (~rp.done[idx]).nonzero().squeeze(1)
        r = rp.reward[idx].sum(1)
        with torch.no_grad():
            y = r.clone()
            if live.numel() > 0:
                sn = c.state(nxt[live])
                xn = torch.cat([sn, smoothed_target_action(actor_target, sn, d)], 1)
                y[live] += gamma * torch.minimum(critic_targets[0](xn), critic_targets[1](xn)).squeeze(1)
        slate = rp.items[idx, :a.slate].reshape(B * a.slate, -1)
        act = c.emb(slate).view(B, a.slate, d).mean(1)  # item embedding = sum of the item's fields
        x = torch.cat([c.state(idx), act], 1)
        loss = sum(F.mse_loss(critics[k](x).squeeze(1), y) for k in range(2))
        optimize(loss, critic_opt, sparse)
        state['steps'] += 1
        if state['steps'] % 2 == 0:
            with torch.no_grad():
                s = c.state(idx)
            pi = max_a * torch.tanh(actor(s))
            actor_loss = -critics[0](torch.cat([s, pi], 1)).mean()
            optimize(actor_loss, actor_opt)
            soft_update(actor_target, actor, tau)
            soft_update(critic_targets, critics, tau)

    return step


def build_rlur(a):
    c = Common(a)
    rp, B, C, K = c.rp, c.B, a.candidates, a.slate
    sd = 2 * a.dim + SUMMARY
    ranking = DeepFm(a)
    actor = mlp([sd, a.hidden, a.hidden, SIGNALS])
    actor_target = frozen_copy(actor)
    critics = nn.ModuleList([mlp([sd + SIGNALS, a.hidden, a.hidden, 1]) for _ in range(4)])  # I1, I2, T1, T2
    critic_targets = frozen_copy(critics)
    rnd_target = frozen_copy(mlp([sd, a.hidden, a.hidden, 16]))
    rnd = mlp([sd, a.hidden, a.hidden, 16])
    critic_opt = torch.optim.Adam(critics.parameters(), lr=1e-3)
    sparse = torch.optim.SparseAdam(list(c.emb.parameters()), lr=1e-3)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-4)
    rnd_opt = torch.optim.Adam(rnd.parameters(), lr=1e-3)
    gamma, tau, max_a, beta = 0.9, 0.005, 1.0, 4.0
    state = {'steps': 0, 'rnd_mean': 0.0}

    def signals(entries):
        """Standardized signals of the entries' kept candidates (n x C x 4), from the current ranking model."""
        n = entries.numel()
        rows = torch.cat([rp.user[entries].unsqueeze(1).expand(n, C, -1), rp.items[entries], rp.pairs[entries]], dim=2).reshape(n * C, -1)
        with torch.no_grad():
            z = ranking(rows).view(n, C, 4)
            x = torch.cat([torch.sigmoid(z[:, :, :2]), z[:, :, 2:3].clamp_min(0), torch.sigmoid(z[:, :, 3:])], 2)
            m = x.mean(1, keepdim=True)
            sdv = (x - m).pow(2).mean(1, keepdim=True).sqrt().clamp_min(1e-3)
            return (x - m) / sdv

    def profile(x, w):
        pi = torch.softmax(beta * (x * w.unsqueeze(1)).sum(2), 1)
        return (pi.unsqueeze(2) * x).sum(1)

    def step():
        # 1. the ranking model's step
        idx, _ = rp.sample(B)
        pos = torch.randint(0, K, (B,))
        ranking.train_step(exposure_rows(rp, idx, pos), rp.click[idx, pos], rp.long_view[idx, pos], rp.watch[idx, pos], rp.follow[idx, pos])
        # 2. critics
        idx, nxt = rp.sample(B)
        live = (~rp.done[idx]).nonzero().squeeze(1)
        x_cur = signals(idx)
        s = c.state(idx)
        rI = rp.reward[idx].sum(1)
        rT = torch.where(rp.done[idx], rp.ret[idx], torch.ones(B))
        with torch.no_grad():
            yI, yT = rI.clone(), rT.clone()
            if live.numel() > 0:
                sn = c.state(nxt[live])
                xn = torch.cat([sn, profile(signals(nxt[live]), smoothed_target_action(actor_target, sn, SIGNALS))], 1)
                yI[live] += gamma * torch.minimum(critic_targets[0](xn), critic_targets[1](xn)).squeeze(1)
                yT[live] += gamma * torch.minimum(critic_targets[2](xn), critic_targets[3](xn)).squeeze(1)
            # RND bonus into yI
            sd_ = s.detach()
        err = (rnd(sd_) - rnd_target(sd_)).pow(2).mean(1)
        rnd_loss = err.mean()
        with torch.no_grad():
            m = rnd_loss.item()
            state['rnd_mean'] = m if state['rnd_mean'] == 0 else 0.99 * state['rnd_mean'] + 0.01 * m
            yI += 0.1 * err.detach() / max(state['rnd_mean'], 1e-12)
        optimize(rnd_loss, rnd_opt)
        x = torch.cat([s, x_cur[:, :K].mean(1)], 1)
        loss = sum(F.mse_loss(critics[k](x).squeeze(1), yI if k < 2 else yT) for k in range(4))
        optimize(loss, critic_opt, sparse)
        state['steps'] += 1
        # 3. actor every 2nd step, then the targets
        if state['steps'] % 2 == 0:
            with torch.no_grad():
                s = c.state(idx)  # the states again, from the updated table
            w = max_a * torch.tanh(actor(s))
            xa = torch.cat([s, profile(x_cur, w)], 1)
            actor_loss = -(critics[2](xa) + critics[0](xa)).mean()
            optimize(actor_loss, actor_opt)
            soft_update(actor_target, actor, tau)
            soft_update(critic_targets, critics, tau)

    return step


BUILDERS = {
    'RankingModel': build_ranking_model,
    'DQN': lambda a: build_dqn(a, False),
    'CQL': lambda a: build_dqn(a, True),
    'TD3': build_td3,
    'RLUR': build_rlur,
}




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True, choices=sorted(BUILDERS))
    ap.add_argument('--batch', type=int, default=1024)
    ap.add_argument('--rows', type=int, default=65536)
    ap.add_argument('--dim', type=int, default=32)
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--user-fields', type=int, default=8)
    ap.add_argument('--item-fields', type=int, default=8)
    ap.add_argument('--candidates', type=int, default=16, help='kept candidates per request')
    ap.add_argument('--slate', type=int, default=6)
    ap.add_argument('--done-rate', type=float, default=0.07, help='share of requests that end their session')
    ap.add_argument('--entries', type=int, default=20000)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--serve', action='store_true')
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    step = BUILDERS[a.model](a)
    if a.serve:
        serve_steps(step, {'ready': a.model})
        return
    report_steps(step, a.batch, a.warmup, a.steps, a.repeats)

if __name__ == '__main__':
    main()
