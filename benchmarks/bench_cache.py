"""View changes on a warm cache against recomputing from scratch.

A view change is what the layer-distance widget does when a control moves:
``study.compare(...)`` (PH distances beside CKA) and the heat-map figure
(``tda_widgets.figures.layer_distance_figure``). "Warm": the Study has already shown the
default view (bottleneck on H0+H1, 1 - CKA), so its activations, clouds, diagrams and CKA are
cached. "From scratch": a fresh Study computes the same view (capture, clouds, giotto-ph
persistence on the 2-process pool, distances, CKA, figure). Both use the same images, clouds
and pool (started before timing). The results of both are checked to be equal.

The digits CNN's five DEMO_LAYERS, all 1,797 digits, 500 points per layer (``mode="auto"``).

Run: ``python benchmarks/bench_cache.py [--points 500] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _common import demo_images, final_line, fmt_seconds, machine_line

DEFAULT_VIEW = dict(metric="bottleneck", dims=(0, 1), cka_display="distance")

#: (what changes, the view after it); None: back to the default view after showing H1 only.
VIEW_CHANGES = [
    ("colour: CKA panel as similarity", dict(DEFAULT_VIEW, cka_display="similarity")),
    ("back to a view seen before (H1 only -> H0+H1)", None),
    ("dimension shown: H1 only", dict(DEFAULT_VIEW, dims=(1,))),
    ("metric: -> sliced-wasserstein (new distances, cached diagrams)", dict(DEFAULT_VIEW, metric="sliced-wasserstein")),
    ("metric: -> wasserstein-1 (new distances, cached diagrams)", dict(DEFAULT_VIEW, metric="wasserstein-1")),
]


def show(study, spec, view):
    """The widget's work for one view: both matrices, then the figure."""
    from tda_widgets.figures import layer_distance_figure

    result = study.compare(spec=spec, metric=view["metric"], dims=view["dims"])
    rho = result["spearman"]
    figure = layer_distance_figure(result["ph"], result["cka"], result["layers"], metric=result["metric"],
                                   rank_correlation=None if np.isnan(rho) else rho, scale=result["scale"],
                                   dims=result["dims"], cka_display=view["cka_display"])
    return result, figure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    from tda_widgets.compute import CloudSpec, Study
    from tda_widgets.data import DEMO_LAYERS

    print(machine_line())
    demo, images, labels, what = demo_images(args.points)
    spec = CloudSpec(mode="auto", max_points=args.points)
    print(f"images: {what}; layers: {', '.join(DEMO_LAYERS)}; {args.points} points per layer; "
          f"executor='processes'; median of {args.repeats} runs")

    def fresh():
        return Study(demo.model, images, labels, DEMO_LAYERS, executor="processes")

    show(fresh(), CloudSpec(mode="auto", max_points=50), DEFAULT_VIEW)  # start the pool, warm imports

    rows = []
    for label, view in VIEW_CHANGES:
        previous = DEFAULT_VIEW
        if view is None:
            previous, view = dict(DEFAULT_VIEW, dims=(1,)), DEFAULT_VIEW
        warm_times, scratch_times, equal = [], [], True
        for _ in range(args.repeats):
            study = fresh()
            show(study, spec, DEFAULT_VIEW)
            show(study, spec, previous)
            persistence_before = study.stats["persistence"]
            start = time.perf_counter()
            warm_result, warm_figure = show(study, spec, view)
            warm_times.append(time.perf_counter() - start)
            assert study.stats["persistence"] == persistence_before, "a view change recomputed diagrams"

            start = time.perf_counter()
            scratch_result, scratch_figure = show(fresh(), spec, view)
            scratch_times.append(time.perf_counter() - start)
            equal &= bool(np.array_equal(warm_result["ph"], scratch_result["ph"])
                          and np.array_equal(warm_result["cka"], scratch_result["cka"])
                          and warm_figure.to_plotly_json() == scratch_figure.to_plotly_json())
        warm, scratch = statistics.median(warm_times), statistics.median(scratch_times)
        rows.append((label, warm, scratch, scratch / warm, equal))
        print(f"  {label}: warm {fmt_seconds(warm)}, from scratch {fmt_seconds(scratch)}", flush=True)

    print()
    print("| view change | warm cache | from scratch | speed-up | equal |")
    print("|---|---:|---:|---:|---|")
    for label, warm, scratch, ratio, equal in rows:
        print(f"| {label} | {fmt_seconds(warm)} | {fmt_seconds(scratch)} | {ratio:.0f}x | {'yes' if equal else 'NO'} |")
    ratios = [row[3] for row in rows]
    print()
    print(f"speed-up over the {len(rows)} view changes: median {statistics.median(ratios):.0f}x, "
          f"smallest {min(ratios):.0f}x (a metric change computes new distances), largest {max(ratios):.0f}x")
    print(final_line("bench_cache", statistics.median(ratios), all(row[4] for row in rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
