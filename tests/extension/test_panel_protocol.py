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
        "images = torch.zeros(7, 1, 8, 8)\nlabels = torch.arange(7)", timeout=300)
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
    assert [i["name"] for i in listing["images"]] == ["images"]
    assert [l["name"] for l in listing["labels"]] == ["labels"]
    assert set(published) == {"status"}, published  # no execute_input, no output
    count = content["execution_count"]
    content, _ = _silent(kernel, _expression("list"))
    assert content["execution_count"] == count


def test_the_describe_request_gives_presets_and_shapes(kernel):
    content, _ = _silent(kernel, _expression("describe", model="net", images="images"))
    description = json.loads(content["user_expressions"]["tda"]["data"]["text/plain"])
    assert description["presets"]["conv"] == {"layers": ["0"]}
    assert description["layers"][0] == {"name": "0", "type": "Conv2d", "output_shape": [4, 6, 6]}
