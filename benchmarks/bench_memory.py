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

``--imagenet`` measures issue 14's goals at ImageNet resolution instead (random 3x224x224
images, random weights, every block, ``image-avgpool`` at 500 points, default budget), each in a
fresh interpreter, peak resident memory above the start (VmHWM reset):

- ResNet-18 x 500 images, ``compare()`` (PH + CKA, one forward pass): peak <= 2 GB and faster
  than the 60.6 s measured before (6.1 GB then); its diagrams equal those of the PH-only
  streamed path (``distance_matrix()``, run apart) and its peak is set beside ``Study.estimate``;
- ResNet-50 x 1,000 images, 16 blocks, ``compare()``: completes under 4 GB.
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


def imagenet_child(arch: str, n_images: int, what: str, out: str) -> None:
    import numpy as np
    import torch
    import torchvision

    from tda_widgets.compute import CloudSpec, Study
    from tda_widgets.topology import persistence

    persistence(np.random.default_rng(0).normal(size=(20, 3)), maxdim=1)  # import the PH stack first
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    images = torch.rand(n_images, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    spec = CloudSpec(mode="image-avgpool", max_points=500)
    study = Study(model, images, layers="blocks")
    estimate = study.estimate(spec, cka=None if what == "ph" else "auto")
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak_rss()
    start = time.perf_counter()
    if what == "compare":
        result = study.compare(spec=spec)
        cka = result.cka_estimator
    else:
        study.distance_matrix(spec=spec)
        cka = "none"
    seconds = time.perf_counter() - start
    rss_peak = (_status_kib("VmHWM") - rss_before) * 1024
    diagrams = study.diagrams(spec=spec)
    with open(out, "wb") as fh:
        pickle.dump({"rss_peak": rss_peak, "rss_reset": reset, "seconds": seconds, "estimate": estimate.peak_bytes,
                     "batch": study.batch_size, "captures": study.stats["captures"], "cka": cka,
                     "layers": list(study.layers),
                     "diagrams": {k: [d for d in v.diagrams] for k, v in diagrams.items()}}, fh)


def imagenet() -> None:
    from tda_widgets.topology import diagram_distance

    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    runs = [("resnet18", 500, "compare"), ("resnet18", 500, "ph"), ("resnet50", 1000, "compare")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch, n, what in runs:
            out = os.path.join(tmp, f"{arch}-{what}.pkl")
            subprocess.run([sys.executable, __file__, "--imagenet-child", arch, what, "--n-images", str(n),
                            "--out", out], check=True)
            with open(out, "rb") as fh:
                results[(arch, what)] = r = pickle.load(fh)
            print(f"{arch} x {n} x 224 px, {len(r['layers'])} blocks, {what}: peak RSS {_mib(r['rss_peak'])} "
                  f"above the start{'' if r['rss_reset'] else ' (peak not reset: upper bound)'} (estimate "
                  f"{_mib(r['estimate'])}), {r['seconds']:.1f} s, batches of {r['batch']}, "
                  f"{r['captures']} forward pass(es), CKA {r['cka']}", flush=True)
    one, ph = results[("resnet18", "compare")], results[("resnet18", "ph")]
    worst = max(diagram_distance(a, b, "bottleneck") for layer in one["layers"]
                for a, b in zip(one["diagrams"][layer], ph["diagrams"][layer]))
    big = results[("resnet50", "compare")]
    goals = [("ResNet-18 x 500 compare(): peak <= 2 GB", one["rss_peak"] <= 2e9),
             ("ResNet-18 x 500 compare(): faster than 60.6 s", one["seconds"] < 60.6),
             ("ResNet-18 compare() diagrams equal the PH-only streamed path's (bottleneck <= 1e-5)", worst <= 1e-5),
             ("ResNet-18 estimate within 1.3x of the measured peak", 1 / 1.3 <= one["rss_peak"] / one["estimate"] <= 1.3),
             ("ResNet-50 x 1000 x 16 blocks compare(): completes under 4 GB", big["rss_peak"] < 4e9)]
    print(f"diagrams: largest bottleneck distance between compare() and the PH-only path {worst:.2e}")
    for goal, met in goals:
        print(f"  goal: {goal}: {'met' if met else 'NOT met'}")
    print(f"memory_224: {6.1e9 / one['rss_peak']:.1f} x (equal results: {'yes' if worst <= 1e-5 else 'no'})")


def _mib(n: float) -> str:
    return f"{n / 1024**2:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--child", choices=("streaming", "naive"))
    parser.add_argument("--out")
    parser.add_argument("--imagenet", action="store_true", help="issue 14's goals at 224 x 224 (see the docstring)")
    parser.add_argument("--imagenet-child", nargs=2, metavar=("ARCH", "WHAT"))
    args = parser.parse_args()
    if args.imagenet_child:
        imagenet_child(args.imagenet_child[0], args.n_images, args.imagenet_child[1], args.out)
        return
    if args.imagenet:
        imagenet()
        return
    if args.child:
        child(args.child, args.n_images, args.points, args.out)
        return


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
