"""Issue 32's FiltrationExplorer in the kernel: what one slider step costs, cold and warm.

A step sets the filtration value: the explorer builds the Rips complex at the value from the
cached distance matrix (``rips_complex``'s vectorised edges, triangles from common neighbours),
draws it (``filtration_figure``) and moves the diagram's and barcode's cursors with one restyle
each. A step seen before reuses its drawing (the page swaps it in before the kernel answers).

Baseline, same cloud and values: the complex by brute force (every pair and triple of points
compared with the value, itertools) — the count checked equal to ours — and a first-time drawing
for each step. Prints medians over the steps, then ``NAME: RATIO x (equal results: yes/no)``.

Run: ``python benchmarks/bench_filtration.py [--points 60] [--steps 20]``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from _common import final_line, fmt_seconds, machine_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(machine_line())

    from scipy.spatial.distance import pdist, squareform

    from tda_widgets.widgets.filtration import FiltrationExplorer

    rng = np.random.default_rng(0)
    theta = np.linspace(0, 2 * np.pi, args.points, endpoint=False)
    points = np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.standard_normal((args.points, 2))
    explorer = FiltrationExplorer(points, threaded=False)
    steps = list(range(5, 5 + args.steps))

    def walk():
        times = []
        for step in steps:
            start = time.perf_counter()
            explorer.step_slider.value = step
            times.append(time.perf_counter() - start)
        return times

    explorer.step_slider.value = 0
    cold = walk()          # first visit of every step
    explorer.step_slider.value = 0
    warm = walk()          # the same steps again: drawings reused

    d = squareform(pdist(points))
    equal = True
    brute_times = []
    for step in steps:
        value = explorer.steps_[step]
        start = time.perf_counter()
        edges = [(i, j) for i, j in itertools.combinations(range(len(points)), 2) if d[i, j] <= value]
        triangles = [t for t in itertools.combinations(range(len(points)), 3)
                     if d[t[0], t[1]] <= value and d[t[1], t[2]] <= value and d[t[0], t[2]] <= value]
        brute_times.append(time.perf_counter() - start)
        explorer.value = value
        complex_ = explorer.complex_
        equal &= len(edges) == len(complex_.edges) and len(triangles) == len(complex_.triangles)
    print(f"{args.points} points, {len(steps)} steps: cold step {fmt_seconds(statistics.median(cold))}, "
          f"warm step {fmt_seconds(statistics.median(warm))}, brute-force complex alone "
          f"{fmt_seconds(statistics.median(brute_times))} (median per step)")
    print(final_line("filtration warm step vs cold", statistics.median(cold) / statistics.median(warm), equal))


if __name__ == "__main__":
    main()
