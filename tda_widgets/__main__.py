"""Command line: ``python -m tda_widgets demo`` and ``python -m tda_widgets report``."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from tqdm.auto import tqdm

    from .engine.study import CloudSpec, Study
    from .data import load_demo

    demo = load_demo()
    study = Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)
    bar = tqdm(total=1, desc="study", unit="step")

    def progress(done, total, message):
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:40])
        bar.refresh()

    result = study.compare(spec=CloudSpec(max_points=args.max_points), metric=args.metric,
                           progress=progress)
    bar.close()
    names = result["layers"]
    width = max(len(n) for n in names) + 2
    print(f"\nDigits CNN, {study.n_images} held-out images, layers {', '.join(names)}")
    print(f"{args.metric} distance between H0+H1 diagrams (clouds rescaled to unit median distance):")
    print(" " * width + "".join(f"{n:>9}" for n in names))
    for name, row in zip(names, result["ph"]):
        print(f"{name:<{width}}" + "".join(f"{v:9.3f}" for v in row))
    print("1 - linear CKA:")
    for name, row in zip(names, 1 - result["cka"]):
        print(f"{name:<{width}}" + "".join(f"{v:9.3f}" for v in row))
    print(f"Spearman rank correlation (PH vs 1 - CKA): {result['spearman']:.2f}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tda_widgets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="print the embedded study's first result (layer distances beside CKA)")
    from .clouds.make import CloudSpec
    from .core.options import add_arguments
    from .topology.distances import DistanceSpec

    add_arguments(demo, DistanceSpec, only=["metric"])  # choices, default and help as declared
    add_arguments(demo, CloudSpec, only=["max_points"], aliases={"max_points": ["--points"]})
    demo.set_defaults(func=_demo)
    try:
        from .report.cli import add_report_parser
    except ImportError:
        pass
    else:
        add_report_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
