"""Overhead of our ``persistence()`` over the raw backend call on the same cloud.

For each cloud (the digits CNN's fc1 and block3 clouds, 500 and 1,000 points, rescaled to unit
median distance), and each backend:

- giotto-ph: ``tda_widgets.topology.persistence(cloud, maxdim=1, backend="giotto-ph")`` against
  ``gph.ripser_parallel(cloud, maxdim=1)`` (both with all threads, no edge collapse);
- ripser: ``persistence(cloud, maxdim=1, backend="ripser")`` against
  ``ripser.ripser(cloud, maxdim=1)``.

Ours adds input validation, the memory estimate, an explicit distance matrix and sorted
float64 diagrams. Runs alternate between ours and raw; the median of ``--repeats`` runs is
reported, and the diagrams are checked to be equal.

Run: ``python benchmarks/bench_overhead.py [--repeats 9]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _common import demo_images, final_line, fmt_seconds, machine_line


def sorted_diagrams(dgms):
    out = []
    for d in dgms:
        d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
        out.append(d[np.lexsort((d[:, 1], d[:, 0]))])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--sizes", default="500,1000")
    args = parser.parse_args(argv)

    from gph import ripser_parallel
    from ripser import ripser

    from tda_widgets.compute import CloudSpec, Study
    from tda_widgets.data import DEMO_LAYERS
    from tda_widgets.topology import persistence, rescale_points

    print(machine_line())
    sizes = [int(s) for s in args.sizes.split(",")]
    demo, images, labels, what = demo_images(max(sizes))
    study = Study(demo.model, images, labels, DEMO_LAYERS)
    print(f"images: {what}; median of {args.repeats} alternating runs")

    backends = {
        "giotto-ph": (lambda x: persistence(x, maxdim=1, backend="giotto-ph"),
                      lambda x: ripser_parallel(x, maxdim=1, collapse_edges=False, n_threads=-1)),
        "ripser": (lambda x: persistence(x, maxdim=1, backend="ripser"),
                   lambda x: ripser(x, maxdim=1)),
    }
    rows = []
    for layer in ("fc1", "block3"):
        for n_points in sizes:
            cloud, _ = rescale_points(study.cloud(layer, CloudSpec(mode="auto", max_points=n_points)).points)
            for backend, (ours_fn, raw_fn) in backends.items():
                ours_fn(cloud), raw_fn(cloud)  # warm-up
                ours_times, raw_times = [], []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    ours = ours_fn(cloud)
                    ours_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    raw = raw_fn(cloud)
                    raw_times.append(time.perf_counter() - start)
                raw_dgms = sorted_diagrams(raw["dgms"])
                equal = all(np.array_equal(a, b) for a, b in zip(ours.diagrams, raw_dgms))
                ours_s, raw_s = statistics.median(ours_times), statistics.median(raw_times)
                rows.append((layer, n_points, backend, ours_s, raw_s, ours_s / raw_s, equal))
                print(f"  {layer} {n_points} points {backend}: ours {fmt_seconds(ours_s)}, raw {fmt_seconds(raw_s)}",
                      flush=True)

    print()
    print("| cloud | points | backend | ours | raw call | ours / raw | equal diagrams |")
    print("|---|---:|---|---:|---:|---:|---|")
    for layer, n_points, backend, ours_s, raw_s, ratio, equal in rows:
        print(f"| {layer} | {n_points} | {backend} | {fmt_seconds(ours_s)} | {fmt_seconds(raw_s)} | "
              f"{ratio:.3f} | {'yes' if equal else 'NO'} |")
    ratios = [row[5] for row in rows]
    worst = max(ratios)
    print()
    print(f"overhead: median {100 * (statistics.median(ratios) - 1):+.1f} %, worst {100 * (worst - 1):+.1f} % "
          f"(target <= +10 %); the final line is the worst ratio ours / raw")
    print(final_line("bench_overhead", worst, all(row[6] for row in rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
