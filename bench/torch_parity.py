#!/usr/bin/env python3
"""PyTorch side of the parity test (test/numeric/torch-parity.test.ts).

Reads an rliv params file (format documented in src/numeric/params-io.ts:
magic "RLIVPARM", version, JSON header, float32 payload, CRC-32), rebuilds
the same networks in PyTorch from those weights, runs forward + Huber loss
+ backward, and prints one JSON line with the losses, outputs and every
gradient, which the test compares with the rliv core to 1e-4.

The file holds an Mlp (params "mlp.*"), an EmbeddingTable "emb" and an
MlpGroup (fused params "group.*": layer 0 weight [G*h1, in], layer l > 0
weight [G, h_{l+1}, h_l], biases [G*h]); its meta carries the inputs.

Usage: python3 bench/torch_parity.py FILE
"""
import json
import struct
import sys
import zlib

import torch
import torch.nn.functional as F


def read_params(path):
    data = open(path, 'rb').read()
    if data[:8] != b'RLIVPARM':
        raise SystemExit(f'{path}: not an rliv params file')
    version, hlen = struct.unpack_from('<II', data, 8)
    if version != 1:
        raise SystemExit(f'{path}: unsupported version {version}')
    (crc,) = struct.unpack_from('<I', data, len(data) - 4)
    if zlib.crc32(data[:-4]) & 0xffffffff != crc:
        raise SystemExit(f'{path}: checksum mismatch')
    header = json.loads(data[16:16 + hlen].decode('utf-8'))
    off = (16 + hlen + 3) & ~3
    params = {}
    for entry in header['params']:
        n = 1
        for d in entry['shape']:
            n *= d
        values = torch.frombuffer(bytearray(data[off:off + 4 * n]), dtype=torch.float32).clone()
        params[entry['name']] = values.reshape(entry['shape']) if entry['shape'] else values
        off += 4 * n
    return params, header['meta']


def mlp_forward(x, weights, biases):
    h = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        h = F.linear(h, w, b)
        if l + 1 < len(weights):
            h = F.relu(h)
    return h


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    torch.set_num_threads(1)
    params, meta = read_params(sys.argv[1])
    for p in params.values():
        p.requires_grad_(True)
    L = len(meta['sizes']) - 1
    out = {}

    # Single MLP.
    x = torch.tensor(meta['mlpX'], dtype=torch.float32).reshape(meta['batch'], meta['sizes'][0]).requires_grad_(True)
    ws = [params[f'mlp.{l}.weight'] for l in range(L)]
    bs = [params[f'mlp.{l}.bias'] for l in range(L)]
    y = mlp_forward(x, ws, bs)
    target = torch.tensor(meta['mlpTarget'], dtype=torch.float32).reshape(y.shape)
    loss = F.huber_loss(y, target, delta=meta['delta'])
    loss.backward()
    out['mlp'] = {'loss': float(loss), 'out': flat(y), 'dx': flat(x.grad),
                  'grads': {n: flat(params[n].grad) for n in params if n.startswith('mlp.')}}

    # Embedding + MlpGroup, sum of per-head Huber losses.
    G, B, dim = meta['heads'], meta['batch'], meta['dim']
    table = params['emb']
    x = torch.cat([table[torch.tensor(rows, dtype=torch.long)] for rows in meta['groupRows']], dim=1)
    sizes = meta['sizes']
    outs = []
    for g in range(G):
        wg, bg = [], []
        for l in range(L):
            fin, fout = sizes[l], sizes[l + 1]
            w = params[f'group.{l}.weight']
            wg.append(w[g * fout:(g + 1) * fout] if l == 0 else w[g])
            bg.append(params[f'group.{l}.bias'][g * fout:(g + 1) * fout])
        outs.append(mlp_forward(x, wg, bg))
    y = torch.cat(outs, dim=1)  # [B, G*out]
    target = torch.tensor(meta['groupTarget'], dtype=torch.float32).reshape(B, G)
    loss = sum(F.huber_loss(y[:, g], target[:, g], delta=meta['delta']) for g in range(G))
    loss.backward()
    out['group'] = {'loss': float(loss), 'out': flat(y),
                    'grads': {n: flat(params[n].grad) for n in params if n.startswith('group.') or n == 'emb'}}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
