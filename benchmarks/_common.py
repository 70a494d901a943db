"""Helpers shared by the benchmark scripts.

Only the standard library and numpy are imported at module level: the scripts start spawned
process-pool workers, which re-import the script (``__mp_main__``) and so this module too.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def median_time(fn, repeats: int):
    """(median seconds over ``repeats`` calls, every time, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, result


def machine_line() -> str:
    """Cores, load and versions, printed at the top of every benchmark."""
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        load = "n/a"
    versions = []
    for name in ("numpy", "ripser", "persim", "gph", "gudhi", "torch"):
        try:
            module = __import__(name)
            versions.append(f"{name} {getattr(module, '__version__', '?')}")
        except ImportError:
            versions.append(f"{name} missing")
    return (f"machine: {os.cpu_count()} cores, load average {load}; Python {platform.python_version()}; "
            + ", ".join(versions))


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def final_line(name: str, ratio: float, equal: bool) -> str:
    """The last line of every benchmark: ``NAME: RATIO x (equal results: yes/no)``."""
    return f"{name}: {ratio:.2f} x (equal results: {'yes' if equal else 'no'})"


def demo_images(n_needed: int):
    """The digits CNN and at least ``n_needed`` images, labels, and a sentence saying which.

    All 1,797 scikit-learn digits (train + test), so that image-level clouds really have
    the requested number of points; when more are needed, copies of the digits with seeded
    Gaussian pixel noise (sigma 0.05, clipped to [0, 1]) are appended (offline, deterministic).
    Noisy copies, not shifted ones: a digit shifted by a pixel gives a spatially averaged
    block1 activation equal to the original's up to rounding, and persim.bottleneck did not
    finish (over 60 s) on H0 diagrams holding such a 1e-7 bar.
    """
    import torch

    from tda_widgets.data import load_demo

    demo = load_demo(subset="all")
    images, labels = demo.images, demo.labels
    what = f"all {len(images)} digits (train + test)"
    generator = torch.Generator().manual_seed(0)
    copies = 0
    while len(images) < n_needed:
        noise = 0.05 * torch.randn(demo.images.shape, generator=generator)
        images = torch.cat([images, (demo.images + noise).clamp(0.0, 1.0)])
        labels = np.concatenate([labels, demo.labels])
        copies += 1
    if copies:
        what += f" + {copies} cop{'y' if copies == 1 else 'ies'} with Gaussian pixel noise (sigma 0.05)"
    return demo, images.contiguous(), labels, f"{what}: {len(images)} images"
