#!/usr/bin/env python3
"""Load the weights `rliv export --format safetensors` writes, and compute
RLIV-UA's per-tower LIV with numpy (no rliv code, no safetensors package
needed; with it, `safetensors.numpy.load_file(path)` returns the same dict).

    python3 scripts/rliv_safetensors.py MODEL.safetensors            # names, shapes, metadata
    python3 scripts/rliv_safetensors.py MODEL.safetensors QUERY.json  # LIV per tower as JSON

QUERY.json: {"user": 7, "items": [0, 5, 9], "counts": [[0,0,0,0,0,0,0], [3,1,0,1,0,0,42.5], ...]}
(one row of the 7 pair counts per item: click, longView, like, follow,
comment, gift, watchTimeSec).
"""
import json
import struct
import sys

import numpy as np


def load(path):
    """Reads a safetensors file: (tensors by name as numpy arrays, metadata dict)."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n).decode('utf-8'))
        data = f.read()
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, info in header.items():
        assert info['dtype'] == 'F32', (name, info['dtype'])
        begin, end = info['data_offsets']
        tensors[name] = np.frombuffer(data[begin:end], dtype='<f4').reshape(info['shape'])
    return tensors, meta


def bucket(count, buckets):
    """Log2 bucket of a pair count: 0 below 1, else floor(log2 count) + 1, capped at buckets - 1."""
    if not count >= 1:
        return 0
    return min(int(np.floor(np.log2(count))) + 1, buckets - 1)


def state(tensors, user, items, counts):
    """H = concat(h_u, h_a, h_ua) for each candidate (rows x 3d)."""
    table = tensors['lookup.count']
    kinds, buckets, _ = table.shape
    h_u = np.repeat(tensors['lookup.user'][user][None, :], len(items), axis=0)
    h_a = tensors['lookup.item'][np.asarray(items)]
    h_ua = np.stack([sum(table[k, bucket(row[k], buckets)] for k in range(kinds)) for row in counts])
    return np.concatenate([h_u, h_a, h_ua], axis=1).astype(np.float32)


def tower_liv(tensors, tower, gamma, H):
    """LIV = min(Q_1, Q_2) of one tower's online heads for the rows of H."""
    prefix, G, sizes = tower['prefix'], tower['heads'], tower['sizes']
    x = np.maximum(H @ tensors[f'{prefix}.0.weight'].T + tensors[f'{prefix}.0.bias'], 0).reshape(len(H), G, sizes[1])
    layers = len(sizes) - 1
    for l in range(1, layers):
        W = tensors[f'{prefix}.{l}.weight'].reshape(G, sizes[l + 1], sizes[l])
        x = np.einsum('ngi,goi->ngo', x, W) + tensors[f'{prefix}.{l}.bias'].reshape(G, sizes[l + 1])
        if l + 1 < layers:
            x = np.maximum(x, 0)
    heads = x.reshape(len(H), G)
    if tower['rewardHead'] >= 0:
        q1, q2 = heads[:, 0] + gamma * heads[:, 1], heads[:, 0] + gamma * heads[:, 2]
    else:
        q1, q2 = heads[:, 0], heads[:, 1]
    return np.minimum(q1, q2)


def main():
    tensors, meta = load(sys.argv[1])
    if len(sys.argv) < 3:
        for name, t in tensors.items():
            print(f'{name:40s} {list(t.shape)}')
        print(json.dumps(meta, indent=1))
        return
    with open(sys.argv[2]) as f:
        query = json.load(f)
    H = state(tensors, query['user'], query['items'], query['counts'])
    gamma = float(meta['gamma'])
    out = {t['tower']: tower_liv(tensors, t, gamma, H).tolist() for t in json.loads(meta['towers'])}
    print(json.dumps({'agent': meta['agent'], 'liv': out, 'shapes': {k: list(v.shape) for k, v in tensors.items()}}))


if __name__ == '__main__':
    main()
