"""The full layer study: our Study engine against the straightforward pipeline.

Study: the digits CNN's five DEMO_LAYERS (block1, block2, block3, fc1, head), one point per
image (``mode="auto"``: spatially averaged conv blocks, linear layers as they are), a random
subsample of N points per layer, each cloud rescaled to unit median pairwise distance,
Vietoris-Rips H0 and H1, bottleneck distance between every pair of layers (max over H0, H1).

- ours: ``Study(model, images, labels, DEMO_LAYERS, executor="processes").distance_matrix()``
  from a fresh Study (capture, clouds, giotto-ph persistence on a two-process pool, gudhi
  bottleneck); the pool is started once per session, so it is timed apart ("cold").
- baseline, on the SAME clouds (taken from the study; capture not timed, which favours the
  baseline): divide each cloud by the median of ``scipy.spatial.distance.pdist``,
  ``ripser.ripser(cloud, maxdim=1)`` per layer, ``persim.bottleneck`` per pair of layers on
  the finite H0 bars (each H0 has exactly one infinite bar, born at 0, which our "match"
  policy pairs at cost 0) and on H1, combined by max.

Run: ``python benchmarks/bench_study.py [--points 500] [--sizes 250,500,1000,2000]``
(default sizes 250,500,1000).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from _common import demo_images, final_line, fmt_seconds, machine_line, median_time, timed


def baseline(clouds: list, budget_s: float):
    """The straightforward pipeline; pairs stop after ``budget_s`` seconds (the rest are
    extrapolated from the mean pair time). Returns (matrix with NaN for skipped pairs,
    ripser seconds, persim seconds for all pairs (estimated if capped), pairs computed)."""
    import persim
    from ripser import ripser
    from scipy.spatial.distance import pdist

    start = time.perf_counter()
    diagrams = []
    for points in clouds:
        scaled = points / np.median(pdist(points))
        diagrams.append(ripser(scaled, maxdim=1)["dgms"])
    ripser_s = time.perf_counter() - start

    n = len(clouds)
    matrix = np.full((n, n), np.nan)
    np.fill_diagonal(matrix, 0.0)
    pairs = list(itertools.combinations(range(n), 2))
    start = time.perf_counter()
    computed = 0
    for i, j in pairs:
        values = []
        for dim in (0, 1):
            a, b = diagrams[i][dim], diagrams[j][dim]
            values.append(persim.bottleneck(a[np.isfinite(a[:, 1])], b[np.isfinite(b[:, 1])]))
        matrix[i, j] = matrix[j, i] = max(values)
        computed += 1
        if time.perf_counter() - start > budget_s and computed < len(pairs):
            break
    persim_s = (time.perf_counter() - start) * len(pairs) / computed
    return matrix, ripser_s, persim_s, computed


def ours(model, images, labels, layers, n_points):
    from tda_widgets.compute import Study

    study = Study(model, images, labels, layers, executor="processes")
    matrix = study.distance_matrix(spec=study_spec(n_points), metric="bottleneck", dims=(0, 1))
    return study, matrix


def compare(ours_matrix, base_matrix):
    done = np.isfinite(base_matrix)
    diff = float(np.max(np.abs(ours_matrix[done] - base_matrix[done])))
    # ripser and giotto-ph compute in float32: allow a float32 rounding of the scale factor.
    return diff <= 1e-6, diff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=500, help="points per layer of the headline run")
    parser.add_argument("--sizes", default="250,500,1000",
                        help="points per layer of the scaling table, e.g. 250,500,1000,2000 (2000 takes "
                             "about 25 min on 2 busy cores)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of ours below 1000 points (median); larger sizes and the baseline run once")
    parser.add_argument("--baseline-budget", type=float, default=30.0,
                        help="seconds of persim pairs per size before the rest are extrapolated")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.points})

    import persim  # noqa: F401  (imports are not timed)
    import ripser  # noqa: F401

    from tda_widgets.compute import local_process_pool
    from tda_widgets.data import DEMO_LAYERS

    print(machine_line())
    demo, images, labels, what = demo_images(max(sizes))
    print(f"images: {what}; layers: {', '.join(DEMO_LAYERS)}; mode 'auto' (image-avgpool for conv "
          f"blocks, linear for fc1/head), random subsample, median scaling, H0+H1, bottleneck")

    cold_s, _ = timed(ours, demo.model, images, labels, DEMO_LAYERS, args.points)
    print(f"ours, cold (first call: starts the 2-process pool): {fmt_seconds(cold_s)} at {args.points} points")
    local_process_pool()

    rows, headline = [], None
    for n_points in sizes:
        ours_s, runs, (study, ours_matrix) = median_time(
            lambda: ours(demo.model, images, labels, DEMO_LAYERS, n_points), args.repeats if n_points < 1000 else 1)
        clouds = [study.cloud(layer, study_spec(n_points)).points for layer in DEMO_LAYERS]
        assert all(len(c) == n_points for c in clouds), [len(c) for c in clouds]
        base_matrix, ripser_s, persim_s, computed = baseline(clouds, args.baseline_budget)
        base_s = ripser_s + persim_s
        equal, diff = compare(ours_matrix, base_matrix)
        rows.append((n_points, ours_s, ripser_s, persim_s, base_s, base_s / ours_s, diff, computed, equal))
        if n_points == args.points:
            headline = rows[-1]
        print(f"  {n_points} points: ours {fmt_seconds(ours_s)} (runs {', '.join(fmt_seconds(t) for t in runs)}), "
              f"baseline {fmt_seconds(base_s)}", flush=True)

    print()
    print("| points/layer | ours (warm pool) | baseline ripser | baseline persim | baseline total | speed-up | max abs diff |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n_points, ours_s, ripser_s, persim_s, base_s, ratio, diff, computed, equal in rows:
        capped = "" if computed == 10 else f" (est. from {computed}/10 pairs)"
        print(f"| {n_points} | {fmt_seconds(ours_s)} | {fmt_seconds(ripser_s)} | {fmt_seconds(persim_s)}{capped} "
              f"| {fmt_seconds(base_s)} | {ratio:.1f}x | {diff:.1e}{'' if equal else ' NOT EQUAL'} |")
    print()
    ratio = headline[5]
    print(f"cold ratio at {args.points} points (pool start-up included): {headline[4] / cold_s:.1f}x")
    print(final_line("bench_study", ratio, all(row[-1] for row in rows)))
    return 0


def study_spec(n_points):
    from tda_widgets.compute import CloudSpec

    return CloudSpec(mode="auto", max_points=n_points)


if __name__ == "__main__":
    raise SystemExit(main())
