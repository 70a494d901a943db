"""Pairwise distances and CKA: torch on the GPU against numpy on the CPU.

Workloads (random activation-like data, float64):

- pairwise distances of ``--points`` points in 512 dimensions:
  :func:`tda_widgets.topology.pairwise_distances` (numpy) vs
  :func:`tda_widgets.gpu.pairwise_distances_torch`;
- linear CKA between 8 layers of ``--examples`` examples with ResNet-18-like widths
  (4096, 4096, 2048, 2048, 1024, 1024, 512, 512 features):
  :func:`tda_widgets.topology.cka_matrix` vs :func:`tda_widgets.gpu.cka_matrix_torch`.

Where CUDA is available the torch functions run there (timed with ``torch.cuda.synchronize``,
after a warm-up call) and the speed-up over numpy is printed; otherwise the script says
"no GPU" (and times torch on the CPU for reference). Results are checked equal within 1e-5.

Run: ``python benchmarks/bench_gpu.py [--points 4000] [--examples 2000] [--repeats N]``.
Ends with ``gpu: ...``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

WIDTHS = (4096, 4096, 2048, 2048, 1024, 1024, 512, 512)


def _median_time(fn, repeats: int, sync=None):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4000)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 with a GPU, 1 without")
    args = parser.parse_args()

    import numpy as np
    import torch

    from tda_widgets.gpu import cka_matrix_torch, pairwise_distances_torch
    from tda_widgets.topology import cka_matrix, pairwise_distances

    has_gpu = torch.cuda.is_available()
    device = "cuda" if has_gpu else "cpu"
    sync = torch.cuda.synchronize if has_gpu else None
    if args.repeats is None:
        args.repeats = 3 if has_gpu else 1
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"torch {torch.__version__}; "
          + (f"GPU {torch.cuda.get_device_name(0)}" if has_gpu else "no CUDA GPU visible to torch"))

    rng = np.random.default_rng(0)
    points = np.maximum(rng.normal(size=(args.points, 512)), 0.0)  # ReLU-like
    base = rng.normal(size=(args.examples, 64))
    features = [np.maximum(base @ rng.normal(size=(64, w)) + 0.5 * rng.normal(size=(args.examples, w)), 0.0)
                for w in WIDTHS]

    rows = []
    ok = True
    for name, numpy_fn, torch_fn in (
        (f"pairwise distances {args.points} x 512", lambda: pairwise_distances(points),
         lambda: pairwise_distances_torch(points, device=device)),
        (f"linear CKA, 8 layers x {args.examples} examples", lambda: cka_matrix(features),
         lambda: cka_matrix_torch(features, device=device)),
    ):
        torch_fn()  # warm-up (CUDA context, kernels)
        t_np, r_np = _median_time(numpy_fn, args.repeats)
        t_t, r_t = _median_time(torch_fn, args.repeats, sync)
        diff = float(np.abs(r_np - r_t).max())
        ok &= diff <= 1e-5
        rows.append((name, t_np, t_t))
        print(f"{name}: numpy {_fmt(t_np)}, torch on {device} {_fmt(t_t)} "
              f"({t_np / t_t:.1f} x), max difference {diff:.1e}")
    equal = "yes" if ok else "no"
    if has_gpu:
        speedups = ", ".join(f"{name.split(',')[0].split(' ')[0]} {t_np / t_t:.1f} x" for name, t_np, t_t in rows)
        print(f"gpu: {speedups} on {torch.cuda.get_device_name(0)} (equal results: {equal})")
    else:
        print("gpu: no GPU (torch on the CPU vs numpy: "
              + ", ".join(f"{t_np / t_t:.1f} x" for _, t_np, t_t in rows) + f"; equal results: {equal})")


if __name__ == "__main__":
    main()
