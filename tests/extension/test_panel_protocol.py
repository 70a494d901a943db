"""The TDA panel's kernel requests, sent as the panel sends them, to a real kernel.

The panel (labextension/src/kernel.ts) evaluates a silent user expression; here the same
expression (read from the TypeScript source) goes to a fresh python3 kernel through
jupyter_client: the reply's text/plain is the listing's JSON, nothing is published on iopub
(no execute_input, no output) and the execution count does not move.
"""

from __future__ import annotations

import json
import os
import queue
import re
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

REPO_ROOT = Path(__file__).resolve().parents[2]
KERNEL_TS = REPO_ROOT / "labextension" / "src" / "kernel.ts"


def _expression(request: str, **kwargs: str) -> str:
    module = re.search(r"const MODULE =\s*'([^']+)'", KERNEL_TS.read_text()).group(1)
    args = "".join(f", {k}={json.dumps(v)}" for k, v in kwargs.items())
    return f"{module}(globals(), {json.dumps(request)}{args})"


@pytest.fixture(scope="module")
def kernel():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    reply = client.execute_interactive(
        "import torch\nfrom torch import nn\n"
        "net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)).eval()\n"
        "images = torch.zeros(7, 1, 8, 8)\nlabels = torch.arange(7)\n"
        "short_labels = torch.arange(5)\nscores = torch.rand(7)\n"
        "dataset = torch.utils.data.TensorDataset(torch.zeros(5, 1, 8, 8), short_labels)\n"
        "huge = images[:1].expand(8_000_000, -1, -1, -1)", timeout=300)
    assert reply["content"]["status"] == "ok"
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _silent(client, expression: str):
    while True:  # drop what earlier requests left on iopub
        try:
            client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            break
    msg_id = client.execute("", silent=True, store_history=False, user_expressions={"tda": expression},
                            allow_stdin=False, stop_on_error=False)
    reply = client.get_shell_msg(timeout=120)
    assert reply["parent_header"]["msg_id"] == msg_id
    published = []
    while True:
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id:
            published.append(msg["msg_type"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    return reply["content"], published


def test_the_listing_request_answers_json_silently(kernel):
    content, published = _silent(kernel, _expression("list"))
    assert content["status"] == "ok"
    result = content["user_expressions"]["tda"]
    assert result["status"] == "ok"
    listing = json.loads(result["data"]["text/plain"])
    assert [m["name"] for m in listing["models"]] == ["net"]
    assert listing["models"][0]["training"] is False
    assert [i["name"] for i in listing["images"]] == ["images", "dataset", "huge"]
    assert [l["name"] for l in listing["labels"]] == ["labels", "short_labels"]  # not the float scores
    assert set(published) == {"status"}, published  # no execute_input, no output
    count = content["execution_count"]
    content, _ = _silent(kernel, _expression("list"))
    assert content["execution_count"] == count


def test_the_describe_request_gives_presets_and_shapes(kernel):
    content, _ = _silent(kernel, _expression("describe", model="net", images="images"))
    description = json.loads(content["user_expressions"]["tda"]["data"]["text/plain"])
    assert description["presets"]["conv"] == {"layers": ["0"]}
    assert description["layers"][0] == {"name": "0", "type": "Conv2d", "output_shape": [4, 6, 6]}


def _ask(client, request: str, **kwargs):
    content, _ = _silent(client, _expression(request, **kwargs))
    return json.loads(content["user_expressions"]["tda"]["data"]["text/plain"])


def test_the_labels_offered_fit_the_images(kernel):
    images = {entry["name"]: entry for entry in _ask(kernel, "list")["images"]}
    # one label per image: 7 images take 'labels' (7), not 'short_labels' (5)
    assert images["images"]["count"] == 7 and images["images"]["labels"] == ["labels"]
    assert images["images"]["own_labels"] is False
    # a Dataset brings its own labels; the 5-long array fits it too
    assert images["dataset"]["count"] == 5 and images["dataset"]["labels"] == ["short_labels"]
    assert images["dataset"]["own_labels"] is True
    assert images["huge"]["labels"] == []


def test_describe_offers_the_declared_settings_and_explorers(kernel):
    from tda_widgets.clouds import CloudSpec
    from tda_widgets.extension.magics import EXPLORERS

    description = _ask(kernel, "describe", model="net", images="images")
    assert description["explorers"] == EXPLORERS
    declared = CloudSpec.options()
    assert description["settings"]["mode"]["choices"] == list(declared["mode"].choices)
    assert description["settings"]["mode"]["default"] == "auto"
    assert description["settings"]["max_points"]["default"] == declared["max_points"].default


def _persistence_bytes(n: int, d: int, maxdim: int) -> int:
    """ripser's conservative memory bound, written out: the points, two float64 distance
    matrices, the float32 condensed matrix and 16 bytes per simplex of dimension 1..maxdim."""
    from math import comb

    return n * d * 8 + 2 * n * n * 8 + n * (n - 1) // 2 * 4 + sum(comb(n, k + 1) * 16 for k in range(1, maxdim + 1))


def test_the_estimate_request_equals_a_computation_by_hand(kernel):
    # conv layer '0': 4 x 6 x 6 per image; linear layer '3': 10. Mode image-flatten keeps every
    # activation (not streamed): 4 bytes x 7 images x 144 and x 10; the clouds are 7 points.
    estimate = _ask(kernel, "estimate", model="net", images="images", layers=["0", "3"], explorer="persistence",
                    mode="image-flatten", max_points=300)
    rows = {row["layer"]: row for row in estimate["layers"]}
    assert rows["0"]["output_shape"] == [4, 6, 6] and rows["3"]["output_shape"] == [10]
    assert rows["0"]["captured_bytes"] == 4 * 7 * 144 and rows["3"]["captured_bytes"] == 4 * 7 * 10
    assert (rows["0"]["cloud_points"], rows["0"]["cloud_dims"]) == (7, 144)
    assert rows["0"]["persistence_bytes"] == _persistence_bytes(7, 144, 1)
    assert estimate["capture_bytes"] == 4 * 7 * (144 + 10)
    assert estimate["clouds_bytes"] == 8 * 7 * (144 + 10)
    assert estimate["budget_bytes"] == 2 * 1024**3 and estimate["over_budget"] is False
    assert estimate["warnings"] == [] and estimate["cka_estimator"] == "none"
    # the peak is the package's Study.estimate of the same explorer settings, computed here
    import torch
    from torch import nn

    from tda_widgets import Study
    from tda_widgets.clouds import CloudSpec

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)).eval()
    reference = Study(net, torch.zeros(7, 1, 8, 8)).estimate(CloudSpec(mode="image-flatten", max_points=300),
                                                            ["0", "3"], maxdim=1, cka=None)
    assert estimate["peak_bytes"] == reference.peak_bytes
    # the distances explorer adds CKA: exact for 7 images, 3 x the full activations + a 7 x 7 Gram per layer
    distances = _ask(kernel, "estimate", model="net", images="images", layers=["0", "3"], explorer="distances",
                     mode="image-flatten")
    assert distances["cka_estimator"] == "exact"
    assert distances["cka_bytes"] == 3 * 4 * 7 * (144 + 10) + 2 * 7 * 7 * 8


def test_the_estimate_warns_over_the_budget_and_never_runs_the_whole_images(kernel):
    import time

    started = time.perf_counter()
    estimate = _ask(kernel, "estimate", model="net", images="huge", layers=["0", "3"], explorer="persistence",
                    mode="image-flatten")
    elapsed = time.perf_counter() - started
    # 8 million images: full activations of 4 x 8e6 x 154 bytes, over the 2 GiB budget
    assert estimate["capture_bytes"] == 4 * 8_000_000 * 154
    assert estimate["over_budget"] is True and estimate["peak_bytes"] > 2 * 1024**3
    assert "8000000 images" in estimate["warnings"][0] and "To fit" in estimate["warnings"][0]
    assert elapsed < 10, elapsed  # one image's forward pass, not 8 million
    # settings the explorer would refuse come back as errors naming the fix
    bad = _ask(kernel, "estimate", model="net", images="images", layers="conv", explorer="persistence", n_images=50)
    assert "between 2 and the number of images (7)" in bad["error"]
    bad = _ask(kernel, "estimate", model="net", images="images", layers=["nope"], explorer="persistence")
    assert "nope" in bad["error"]
