"""Peak memory of the streamed study against the naive "keep every activation" study.

ResNet-18 (random weights, seed 0) on FakeData CIFAR-size images (3x32x32), every residual
block (preset "blocks"), one point per image (``image-avgpool``), a random budget of
``--points`` points per layer, H0+H1 diagrams of every layer:

- streaming: ``Study(model, images, layers="blocks").diagrams(spec)``; pooled modes pool each
  batch on the model's device during capture, so only ``(N, C, 1, 1)`` is ever stored;
- naive: the same with ``stream_pooled=False``: every block's full ``(N, C, H, W)``
  activations are captured and kept, and the clouds pooled from them.

Each path runs in a fresh interpreter. Two peaks are measured there, from just before the
study to the end: ``tracemalloc`` (every numpy allocation: stored activations, clouds,
distance matrices; torch's own buffers are not traced) and the resident set size (VmHWM,
reset through ``/proc/self/clear_refs`` where allowed, else minus the RSS before the study).
The diagrams of both paths are compared by bottleneck distance (pooling in float32 on the
device vs in float64 in numpy differs by rounding only, hence a 1e-5 tolerance).

Run: ``python benchmarks/bench_memory.py [--n-images 1000] [--points 500]``. Ends with
``memory: RATIO x (equal results: yes/no)``, RATIO = naive tracemalloc peak / streaming peak.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _inputs(n_images: int):
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    data = torchvision.datasets.FakeData(size=n_images, image_size=(3, 32, 32), num_classes=10,
                                         transform=torchvision.transforms.ToTensor())
    images = torch.stack([data[i][0] for i in range(n_images)])
    return model, images


def child(path: str, n_images: int, points: int, out: str) -> None:
    import tracemalloc

    from tda_widgets.compute import CloudSpec, Study

    import numpy as np

    from tda_widgets.topology import persistence

    model, images = _inputs(n_images)
    spec = CloudSpec(mode="image-avgpool", max_points=points)
    # Import the persistence stack first (scipy, sklearn, giotto-ph): module code would
    # otherwise count as tens of MiB of traced allocations in whichever path ran first.
    persistence(np.random.default_rng(0).normal(size=(20, 3)), maxdim=1)
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak_rss()
    tracemalloc.start()
    start = time.perf_counter()
    study = Study(model, images, layers="blocks", stream_pooled=(path == "streaming"))
    diagrams = study.diagrams(spec=spec)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _status_kib("VmHWM")
    stored = sum(study._get(k).nbytes for k in study.cache_keys() if k[0] == "activations")
    rss_peak = (hwm - rss_before) * 1024
    layers = list(study.layers)
    del study
    with open(out, "wb") as fh:
        pickle.dump({"traced_peak": traced_peak, "rss_peak": rss_peak, "rss_reset": reset, "seconds": seconds,
                     "stored": stored, "layers": layers,
                     "diagrams": {k: [d for d in v.diagrams] for k, v in diagrams.items()}}, fh)


def _mib(n: float) -> str:
    return f"{n / 1024**2:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--child", choices=("streaming", "naive"))
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n_images, args.points, args.out)
        return

    import numpy as np

    from tda_widgets.budget import estimate_study, format_bytes
    from tda_widgets.compute import CloudSpec

    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    model, images = _inputs(2)
    spec = CloudSpec(mode="image-avgpool", max_points=args.points)
    est = estimate_study(model, images[:1], "blocks", args.n_images, spec)
    print(f"ResNet-18, {len(est.layers)} blocks, {args.n_images} FakeData images 3x32x32, "
          f"{args.points} points per layer; estimate:")
    print(est.table())
    import torch

    big = estimate_study(model, torch.zeros(1, 3, 224, 224), "blocks", args.n_images, spec)
    print(f"(at 224x224 the estimate would be {format_bytes(big.naive_capture_bytes)} of activations kept "
          f"naively vs {format_bytes(big.capture_bytes)} streamed)")

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in ("streaming", "naive"):
            out = os.path.join(tmp, path + ".pkl")
            subprocess.run([sys.executable, __file__, "--child", path, "--n-images", str(args.n_images),
                            "--points", str(args.points), "--out", out], check=True)
            with open(out, "rb") as fh:
                results[path] = pickle.load(fh)
    for path, r in results.items():
        print(f"{path:>9}: activations stored {_mib(r['stored'])}, tracemalloc peak {_mib(r['traced_peak'])}, "
              f"peak RSS {_mib(r['rss_peak'])} above the start{'' if r['rss_reset'] else ' (peak not reset: upper bound)'}, "
              f"{r['seconds']:.1f} s")
    from tda_widgets.topology import diagram_distance

    s, n = results["streaming"], results["naive"]
    # Diagrams are compared by bottleneck distance per dimension: sorting two bars with nearly
    # equal births can swap rows, so an elementwise comparison would overstate tiny rounding.
    worst = 0.0
    equal = s["layers"] == n["layers"]
    for layer in s["layers"]:
        for a, b in zip(s["diagrams"][layer], n["diagrams"][layer]):
            worst = max(worst, diagram_distance(a, b, "bottleneck"))
    equal &= worst <= 1e-5
    print(f"diagrams: largest bottleneck distance between the two paths {worst:.2e} "
          f"(H0 and H1 of {len(s['layers'])} layers)")
    print(f"RSS: {n['rss_peak'] / max(s['rss_peak'], 1):.1f} x")
    ratio = n["traced_peak"] / s["traced_peak"]
    print(f"memory: {ratio:.1f} x (equal results: {'yes' if equal else 'no'})")


if __name__ == "__main__":
    main()
