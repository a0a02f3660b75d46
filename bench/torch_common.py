"""Helpers shared by the PyTorch reference scripts of `rliv bench` (bench/torch_*.py).

Imported by path: the scripts' own directory is on sys.path when they run.
"""
import json
import sys
import time

import torch
import torch.nn as nn


def mlp(sizes):
    """Linear layers [in, ...hidden, out] with ReLU between them (src/numeric/mlp.ts)."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def timed(step, n):
    """Runs `step` n times: {"wall": seconds, "cpu": seconds of this process}."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        step()
    return {'wall': time.perf_counter() - t0, 'cpu': max(1e-9, time.process_time() - c0)}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def serve_steps(step, ready):
    """--serve mode: prints `ready` as one JSON line, then answers "step N" lines on stdin with timed(step, N); "quit" ends."""
    print(json.dumps({'torch': torch.__version__, **ready}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == 'quit':
            break
        print(json.dumps(timed(step, int(cmd[1]))), flush=True)


def report_steps(step, batch, warmup, steps, repeats):
    """Prints ONE JSON line: median samples per second (wall and per CPU-second) of `repeats` runs of `steps` steps after `warmup`."""
    timed(step, warmup)
    runs = [timed(step, steps) for _ in range(repeats)]
    print(json.dumps({'torch': torch.__version__, 'stepSamplesPerSec': median([batch * steps / r['wall'] for r in runs]),
                      'stepSamplesPerCpuSec': median([batch * steps / r['cpu'] for r in runs])}))
