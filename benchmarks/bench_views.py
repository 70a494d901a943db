"""The speed goals of issue 11: a metric change on cached diagrams, and warm view changes.

1. **Metric change** (goals: sliced Wasserstein <= 300 ms, Wasserstein-1 <= 1 s). With every
   layer's diagrams cached (H0 and H1, default scale), a metric change is exactly one call of
   ``tda_widgets.topology.distances.layer_distance_matrix`` on them (on the Study's executor).
   Baseline, same diagrams: a plain persim loop over the 10 layer pairs, on finite H0 (each H0
   holds exactly one infinite bar, born at 0, which our default ``infinite="match"`` adds
   nothing for) and on H1, summed over the two: ``persim.sliced_wasserstein(a, b, M=50)`` and
   ``persim.wasserstein(a, b)``. The matrices are checked equal to 1e-9. Baseline timed once.
2. **Warm view change** (goal: <= 30 ms each). On a Study that has shown every view once:
   colour (CKA panel as similarity), dims shown (H1 only, then back to H0+H1) as the
   layer-distance widget does it (``bench_cache.show``: compare + heat-map figure), and back
   to a layer seen before as the persistence explorer redraws it (cloud + diagrams with
   representatives from the cache, then the diagram and barcode figures). Each result is
   checked equal to the one shown the first time.

The digits CNN's five DEMO_LAYERS, all 1,797 digits, ``CloudSpec(mode="auto", max_points=500)``.

Run: ``python benchmarks/bench_views.py [--points 500] [--repeats 5] [--executor processes]``.
"""

from __future__ import annotations

import argparse
import statistics
import warnings

import numpy as np

from _common import demo_images, final_line, fmt_seconds, machine_line, median_time, timed

#: metric -> (goal in seconds, persim call on two finite diagrams)
METRIC_GOALS = {"sliced-wasserstein": 0.3, "wasserstein-1": 1.0}
VIEW_GOAL = 0.030


def persim_matrix(diagrams, metric):
    """The baseline: persim per pair on finite H0 and on H1, summed over the two."""
    import persim

    call = (lambda a, b: persim.sliced_wasserstein(a, b, M=50)) if metric == "sliced-wasserstein" else persim.wasserstein
    n = len(diagrams)
    matrix = np.zeros((n, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(n):
            for j in range(i + 1, n):
                h0 = [d[0][np.isfinite(d[0][:, 1])] for d in (diagrams[i], diagrams[j])]
                matrix[i, j] = matrix[j, i] = call(*h0) + call(diagrams[i][1], diagrams[j][1])
    return matrix


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--executor", choices=("none", "processes"), default="none")
    args = parser.parse_args(argv)

    import tda_widgets
    from bench_cache import DEFAULT_VIEW, show
    from tda_widgets.compute import CloudSpec, Study
    from tda_widgets.data import DEMO_LAYERS
    from tda_widgets.figures.diagrams import barcode_figure, persistence_diagram_figure
    from tda_widgets.topology.distances import layer_distance_matrix
    from tda_widgets.engine import resolve_executor

    print(machine_line())
    demo, images, labels, what = demo_images(args.points)
    spec = CloudSpec(mode="auto", max_points=args.points)
    executor = None if args.executor == "none" else "processes"
    print(f"images: {what}; layers: {', '.join(DEMO_LAYERS)}; {args.points} points per layer; "
          f"executor={executor!r}; median of {args.repeats} runs; tda_widgets from {tda_widgets.__file__}")

    study = Study(demo.model, images, labels, DEMO_LAYERS, executor=executor)
    seconds, results = timed(study.diagrams, None, spec)
    diagrams = [list(results[layer].diagrams) for layer in DEMO_LAYERS]
    for layer_diagrams in diagrams:
        h0 = layer_diagrams[0]
        assert np.isinf(h0[:, 1]).sum() == 1 and h0[np.isinf(h0[:, 1]), 0][0] == 0.0, "H0: one infinite bar at 0"
    print(f"diagrams of {len(DEMO_LAYERS)} layers (H0, H1), computed once: {fmt_seconds(seconds)}")
    print()

    rows, ratios = [], []  # (what, ours, baseline or goal, ratio / met, equal)
    print("1. metric change on cached diagrams (layer_distance_matrix vs a persim loop)")
    for metric, goal in METRIC_GOALS.items():
        def ours():
            return layer_distance_matrix(diagrams, metric, dims=(0, 1), executor=resolve_executor(study.executor, "bench_views"))

        ours_s, times, ours_matrix = median_time(ours, args.repeats)
        base_s, base_matrix = timed(persim_matrix, diagrams, metric)
        diff = float(np.max(np.abs(ours_matrix - base_matrix)))
        equal, met = diff <= 1e-9, ours_s <= goal
        ratios.append(base_s / ours_s)
        print(f"  {metric}: ours {fmt_seconds(ours_s)} (runs: {', '.join(fmt_seconds(t) for t in times)}), "
              f"persim {fmt_seconds(base_s)}, {base_s / ours_s:.0f}x, max abs difference {diff:.2e}")
        print(f"  goal: {metric} <= {fmt_seconds(goal)}: {'met' if met else 'NOT met'}", flush=True)
        rows.append((f"metric -> {metric}", ours_s, f"persim {fmt_seconds(base_s)}; goal <= {fmt_seconds(goal)}",
                     f"{base_s / ours_s:.0f}x; {'met' if met else 'NOT met'}", f"yes ({diff:.1e})" if equal else f"NO ({diff:.1e})"))

    print()
    print(f"2. warm view change (goal <= {fmt_seconds(VIEW_GOAL)} each)")
    colour, h1_only = dict(DEFAULT_VIEW, cka_display="similarity"), dict(DEFAULT_VIEW, dims=(1,))

    def redraw(layer):
        """The persistence explorer's work for one layer (PersistenceExplorer.recompute + _show)."""
        cloud = study.cloud(layer, spec)
        result = study.diagrams([layer], spec, representatives=True)[layer]
        title = (f"{layer} · {cloud.mode} · {cloud.n_points} points in {cloud.n_dims} dims · "
                 f"median scale · {result.backend}")
        return (persistence_diagram_figure(list(result.diagrams), title=title),
                barcode_figure(list(result.diagrams), title="barcode"))

    switch = DEMO_LAYERS[:2]
    #: (label, the timed call of repeat k, what it shows: compared with its first showing)
    cases = [("colour: CKA panel as similarity", lambda k: show(study, spec, colour)[1], lambda k: "colour"),
             ("dims shown: H1 only", lambda k: show(study, spec, h1_only)[1], lambda k: "h1"),
             ("dims shown: back to H0+H1", lambda k: show(study, spec, DEFAULT_VIEW)[1], lambda k: "default"),
             (f"persistence explorer: a layer seen before ({' <-> '.join(switch)})",
              lambda k: redraw(switch[k % 2]), lambda k: switch[k % 2])]

    def as_json(figures):
        return [f.to_json() for f in (figures if isinstance(figures, tuple) else (figures,))]

    first = {}
    for name, view in (("default", DEFAULT_VIEW), ("colour", colour), ("h1", h1_only)):
        first[name] = as_json(show(study, spec, view)[1])
    for layer in switch:
        first[layer] = as_json(redraw(layer))
    before = dict(study.stats)
    times = {label: [] for label, _, _ in cases}
    same = {label: True for label, _, _ in cases}
    for k in range(args.repeats):  # interleaved, so each H1 / back / layer change really changes something
        for label, call, key in cases:
            seconds, figures = timed(call, k)
            times[label].append(seconds)
            same[label] &= as_json(figures) == first[key(k)]
    assert study.stats == before, f"a view change recomputed something: {before} -> {study.stats}"
    for label, _, _ in cases:
        ours_s = statistics.median(times[label])
        met = ours_s <= VIEW_GOAL
        print(f"  {label}: {fmt_seconds(ours_s)} (runs: {', '.join(fmt_seconds(t) for t in times[label])}); "
              f"goal <= {fmt_seconds(VIEW_GOAL)}: {'met' if met else 'NOT met'}", flush=True)
        rows.append((label, ours_s, f"goal <= {fmt_seconds(VIEW_GOAL)}", "met" if met else "NOT met",
                     "yes (as first shown)" if same[label] else "NO"))

    print()
    print("| what | ours | baseline / goal | ratio / goal | equal |")
    print("|---|---:|---|---|---|")
    for label, ours_s, reference, verdict, equal in rows:
        print(f"| {label} | {fmt_seconds(ours_s)} | {reference} | {verdict} | {equal} |")
    print()
    print(final_line("bench_views", statistics.median(ratios), all(r[4].startswith("yes") for r in rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
