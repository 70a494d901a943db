"""The TDA panel's kernel helper (tda_widgets.extension.namespace): what it lists, never prints."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tda_widgets.extension.namespace import describe_model, inspect_namespace, panel_json


class _Loud(torch.Tensor):
    """A tensor whose repr and str fail the test: listing must never format a value."""

    def __repr__(self):  # pragma: no cover - must not run
        raise AssertionError("repr called")

    __str__ = __repr__


def _net():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def test_lists_models_images_and_labels_with_their_fields():
    net = _net().train()
    images = torch.zeros(5, 1, 8, 8)
    dataset = TensorDataset(images, torch.arange(5))
    ns = {
        "net": net, "eval_net": _net().eval(), "images": images, "arr": np.zeros((3, 8, 8)),
        "dataset": dataset, "loader": DataLoader(dataset, batch_size=2), "labels": torch.arange(5),
        "np_labels": np.arange(3), "scalar": torch.tensor(1.0), "vector": torch.zeros(3),
        "_private": images, "In": [], "nn": nn, "Sequential": nn.Sequential, "x": 3, "s": "text",
    }
    listing = inspect_namespace(ns)
    models = {m["name"]: m for m in listing["models"]}
    assert set(models) == {"net", "eval_net"}
    assert models["net"] == {"name": "net", "class": "Sequential",
                             "parameters": sum(p.numel() for p in net.parameters()),
                             "device": "cpu", "training": True}
    assert models["eval_net"]["training"] is False
    imgs = {i["name"]: i for i in listing["images"]}
    assert set(imgs) == {"images", "arr", "dataset", "loader"}
    assert imgs["images"]["kind"] == "tensor" and imgs["images"]["shape"] == [5, 1, 8, 8]
    assert imgs["arr"]["kind"] == "array" and imgs["arr"]["shape"] == [3, 8, 8]
    assert imgs["dataset"] == {"name": "dataset", "kind": "dataset", "class": "TensorDataset", "length": 5,
                               "count": 5, "labels": ["labels"], "own_labels": True}
    assert imgs["loader"]["kind"] == "dataloader" and imgs["loader"]["length"] == 5
    assert imgs["loader"]["batch_size"] == 2
    assert {l["name"] for l in listing["labels"]} == {"labels", "np_labels"}
    assert listing["truncated"] is False
    json.dumps(listing)  # plain data


def test_a_huge_tensor_is_described_not_printed():
    huge = torch.empty(2_000, 3, 64, 64).as_subclass(_Loud)
    text = repr(panel_json({"huge": huge}))
    assert len(text) < 300
    assert json.loads(text)["images"][0]["shape"] == [2000, 3, 64, 64]


def test_five_hundred_variables_are_listed_quickly():
    ns = {f"t{i}": torch.zeros(4, 3) for i in range(150)}
    ns.update({f"m{i}": nn.Linear(3, 3) for i in range(150)})
    ns.update({f"v{i}": i for i in range(200)})
    inspect_namespace(ns)
    start = time.perf_counter()
    listing = inspect_namespace(ns)
    elapsed = time.perf_counter() - start
    assert len(listing["models"]) == 150 and len(listing["images"]) == 150
    assert elapsed < 0.5, elapsed


def test_describe_model_gives_layers_and_presets():
    net = _net()
    out = describe_model({"net": net, "images": torch.zeros(2, 1, 8, 8)}, "net")
    assert out["class"] == "Sequential"
    assert [l["name"] for l in out["layers"]] == ["0", "1", "2", "3"]
    assert out["presets"]["conv"] == {"layers": ["0"]}
    assert out["presets"]["linear"] == {"layers": ["3"]}
    assert "error" in out["presets"]["stages"]  # needs images for a model without layerN
    with_shapes = describe_model({"net": net, "images": torch.zeros(2, 1, 8, 8)}, "net", images="images")
    assert with_shapes["layers"][0]["output_shape"] == [4, 6, 6]
    assert "layers" in with_shapes["presets"]["stages"]


def test_errors_are_json_not_tracebacks():
    assert "error" in json.loads(repr(panel_json({}, "describe", model="missing")))
    assert "error" in json.loads(repr(panel_json({}, "nonsense")))


def test_listing_does_not_import_torch_itself():
    import subprocess
    import sys

    code = ("import sys; from tda_widgets.extension.namespace import inspect_namespace; "
            "print(inspect_namespace({'a': 1})); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("name", ["not an identifier", "1x"])
def test_names_that_are_not_identifiers_are_left_out(name):
    assert inspect_namespace({name: _net()})["models"] == []
