"""The memory estimate holds at ImageNet resolution (issue 14): Study.estimate() against the peak
resident memory that Study.compare() really adds, measured in a fresh interpreter, ResNet-18
(random weights) at 224 x 224, every block: once with exact CKA (one batch), once with CKA
streamed over several batches (a 1 GiB budget)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
import torch, torchvision
from tda_widgets import Study
from tda_widgets.compute import CloudSpec

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

n, max_bytes = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).eval()
images = torch.rand(n, 3, 224, 224, generator=torch.Generator().manual_seed(0))
study = Study(model, images, layers="blocks", max_bytes=max_bytes)
spec = CloudSpec(mode="image-avgpool", max_points=500)
estimate = study.estimate(spec)  # a one-image probe, before anything is captured
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the high-water mark
except OSError:
    pass
before = status("VmRSS")
result = study.compare(spec=spec)
print(json.dumps({"measured": status("VmHWM") - before, "estimate": estimate.peak_bytes,
                  "batch": study.batch_size, "cka": result.cka_estimator, "estimated_cka": estimate.cka_estimator}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("n_images, max_bytes, cka", [(64, 2 * 1024**3, "exact"), (128, 1024**3, "minibatch")])
def test_estimate_is_within_1_3x_of_the_measured_peak(n_images, max_bytes, cka):
    out = subprocess.run([sys.executable, "-c", CHILD, str(n_images), str(max_bytes)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["cka"] == got["estimated_cka"] == cka
    if cka == "minibatch":
        assert n_images > got["batch"]  # several batches
    ratio = got["measured"] / got["estimate"]
    assert 1 / 1.3 <= ratio <= 1.3, got
