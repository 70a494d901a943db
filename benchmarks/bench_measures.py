"""Issue 18's speed goal for the similarity measures: each over the demo's 10 layer pairs in <= 2 s.

The digits CNN's five DEMO_LAYERS on the first 500 of all 1,797 digits, two representations
of each layer (one row per image):

1. **pooled** (the clouds' ``mode="auto"``: conv blocks averaged over positions, linear layers
   as they are; 16, 32, 64, 64 and 10 features) — the representation PH compares;
2. **flattened** (every activation; 1024, 512, 256, 64 and 10 features) — the one CKA compares.

For each measure of ``tda_widgets.topology.MEASURES`` with ``SimilaritySpec``'s defaults (RTD:
5 subsamples of 50 images): ``similarity_matrix`` (each layer prepared once), median of
``--repeats`` runs, against the baseline of one public call per layer pair
(``representation_similarity``, timed once); the two matrices must agree to 1e-9. PWCCA refuses
layers with at least as many features as images (flattened block1 and block2): reported, not
timed.

Run: ``python benchmarks/bench_measures.py [--images 500] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import numpy as np

from _common import final_line, fmt_seconds, machine_line, median_time, timed

GOAL = 2.0


def pairwise(reps, measure, options):
    from tda_widgets.topology import MEASURE_INFO, representation_similarity

    matrix = np.full((len(reps), len(reps)), MEASURE_INFO[measure].identical)
    for i, j in itertools.combinations(range(len(reps)), 2):
        matrix[i, j] = matrix[j, i] = representation_similarity(reps[i], reps[j], measure, **options)
    return matrix


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    print(machine_line())
    import tda_widgets
    from tda_widgets import Study, load_demo
    from tda_widgets.data import DEMO_LAYERS
    from tda_widgets.errors import TDAInputError
    from tda_widgets.topology import MEASURES, SimilaritySpec, similarity_matrix

    demo = load_demo(subset="all")
    study = Study(demo.model, demo.images[: args.images], demo.labels[: args.images], DEMO_LAYERS)
    n = args.images
    representations = {
        "pooled": [np.asarray(a).reshape(n, -1) for a in study.activations(reduce="avg").values()],
        "flattened": [np.asarray(a).reshape(n, -1) for a in study.activations().values()],
    }
    print(f"images: the first {n} digits; layers: {', '.join(DEMO_LAYERS)}; median of {args.repeats} runs; "
          f"tda_widgets from {tda_widgets.__file__}")
    for name, reps in representations.items():
        print(f"  {name}: features per layer {[r.shape[1] for r in reps]}")
    print()

    rows, ratios, all_equal, all_met = [], [], True, True
    for name, reps in representations.items():
        print(f"{name} representations, all 10 layer pairs (goal <= {fmt_seconds(GOAL)} per measure)")
        for measure in MEASURES:
            options = SimilaritySpec(measure=measure).measure_kwargs()
            try:
                ours_s, times, ours = median_time(lambda: similarity_matrix(reps, measure, **options), args.repeats)
            except TDAInputError as exc:
                print(f"  {measure}: refused: {str(exc)[:110]}...", flush=True)
                rows.append((name, measure, None, "refused", "", "", ""))
                continue
            base_s, base = timed(pairwise, reps, measure, options)
            diff = float(np.max(np.abs(ours - base)))
            equal, met = diff <= 1e-9, ours_s <= GOAL
            all_equal &= equal
            all_met &= met
            ratios.append(base_s / ours_s)
            print(f"  {measure}: {fmt_seconds(ours_s)} (runs: {', '.join(fmt_seconds(t) for t in times)}); "
                  f"pairwise calls {fmt_seconds(base_s)}; max abs difference {diff:.1e}; goal "
                  f"{'met' if met else 'NOT met'}; first row {np.round(ours[0], 3).tolist()}", flush=True)
            rows.append((name, measure, ours_s, fmt_seconds(base_s), f"{base_s / ours_s:.1f}x",
                         "met" if met else "NOT met", f"yes ({diff:.0e})" if equal else f"NO ({diff:.0e})"))
        print()

    print("| representation | measure | similarity_matrix | pairwise calls | ratio | goal <= 2 s | equal |")
    print("|---|---|---:|---:|---|---|---|")
    for name, measure, ours_s, base, ratio, met, equal in rows:
        shown = "refused (features >= images)" if ours_s is None else fmt_seconds(ours_s)
        print(f"| {name} | {measure} | {shown} | {base} | {ratio} | {met} | {equal} |")
    print()
    print(f"goal <= {fmt_seconds(GOAL)}: {'met' if all_met else 'NOT met'} for every measure that accepts the "
          "representation")
    print(final_line("bench_measures", statistics.median(ratios), all_equal))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
