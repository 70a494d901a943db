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
                               "count": 5, "labels": ["labels"], "own_labels": True,
                               "fits": None, "why": ""}
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
    out = describe_model({"net": net}, "net")  # no images in the kernel: no output shapes
    assert out["class"] == "Sequential"
    assert [l["name"] for l in out["layers"]] == ["0", "1", "2", "3"]
    assert out["presets"]["conv"] == {"layers": ["0"]}
    assert out["presets"]["linear"] == {"layers": ["3"]}
    assert "error" in out["presets"]["stages"]  # needs images for a model without layerN
    # images in the kernel that fit: the first is the default and gives the output shapes
    default = describe_model({"net": net, "images": torch.zeros(2, 1, 8, 8)}, "net")
    assert default["default_images"] == "images" and default["layers"][0]["output_shape"] == [4, 6, 6]
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


# --------------------------------------------------------------- one level deep (issue 29)

class _Trap:
    """An object whose property and repr fail the test: the listing must read neither."""

    def __init__(self, net, images):
        self.net = net
        self.images = images

    @property
    def expensive(self):  # pragma: no cover - must not run
        raise AssertionError("property read")

    def __repr__(self):  # pragma: no cover - must not run
        raise AssertionError("repr called")


def test_models_and_images_one_level_down_are_listed_by_their_expression():
    from dataclasses import dataclass
    from types import SimpleNamespace

    @dataclass
    class Holder:
        model: nn.Module
        images: torch.Tensor
        labels: np.ndarray

    @dataclass(slots=True)
    class Slotted:
        model: nn.Module

    a, b, c, d = _net(), _net(), _net(), _net()
    images = torch.zeros(7, 1, 8, 8)
    ns = {"demo": Holder(a, images, np.arange(7)), "models": {"first": b, 3: c, "_hidden": d},
          "bag": SimpleNamespace(net=d, x=np.zeros((4, 1, 8, 8))), "trap": _Trap(c, torch.zeros(2, 1, 8, 8)),
          "slotted": Slotted(_net()), "alias": a, "nested": {"deeper": {"model": _net()}}}
    listing = inspect_namespace(ns)
    names = [m["name"] for m in listing["models"]]
    # `a` is listed once, under its top-level name; the int key and the private key are skipped
    assert names == ["alias", 'models["first"]', "bag.net", "trap.net", "slotted.model"], names
    imgs = {i["name"]: i for i in listing["images"]}
    assert set(imgs) == {"demo.images", "bag.x", "trap.images"}
    assert imgs["demo.images"]["labels"] == ["demo.labels"]  # labels of the right length only
    assert imgs["bag.x"]["labels"] == []
    assert all(i["fits"] is None and i["why"] == "" for i in listing["images"])  # no model chosen yet
    json.dumps(listing)


def test_the_expressions_resolve_to_the_listed_objects_and_nothing_else():
    from tda_widgets.extension.namespace import resolve

    net = _net()
    ns = {"demo": {"model": net}, "trap": _Trap(net, None)}
    assert resolve(ns, 'demo["model"]') is net
    assert resolve(ns, "trap.net") is net
    for bad in ("trap.expensive", "demo.model", "__import__('os')", "trap.net.weight", "missing", "1 +"):
        with pytest.raises(KeyError):
            resolve(ns, bad)


def test_describe_marks_which_image_sets_the_model_takes_and_picks_the_first_that_fits():
    net = _net()  # Conv2d(1, 4, 3) then Linear(144, 10): takes 1 x 8 x 8 images only
    ns = {"diagram": np.zeros((78, 2), dtype=np.float32), "wrong_size": torch.zeros(3, 1, 9, 9),
          "demo": {"model": net, "images": torch.rand(5, 1, 8, 8), "labels": np.arange(5)}}
    calls = []
    net.register_forward_pre_hook(lambda module, args: calls.append(tuple(args[0].shape)))
    inspect_namespace(ns)
    assert calls == []  # listing runs nothing
    out = describe_model(ns, 'demo["model"]')
    fits = {i["name"]: (i["fits"], i["why"]) for i in out["images"]}
    assert fits['demo["images"]'] == (True, "")
    assert fits["diagram"][0] is False and "shape 2" in fits["diagram"][1]
    assert fits["wrong_size"][0] is False and "1×9×9" in fits["wrong_size"][1]
    assert out["default_images"] == 'demo["images"]' == out["shapes_from"]
    # one image per set for the fit, in the listing's order, then one-image passes for the shapes
    assert calls[:3] == [(1, 2), (1, 1, 9, 9), (1, 1, 8, 8)], calls
    assert all(shape[0] == 1 for shape in calls), calls
    layers = {l["name"]: l for l in out["layers"]}
    assert layers["0"]["output_shape"] == [4, 6, 6]  # Conv2d 3x3 on 8x8, no padding
    assert net.training  # the model's mode is restored
    json.dumps(out)


def test_fit_checks_wait_for_the_model_lock_and_say_so_when_busy():
    import threading

    from tda_widgets.capture import model_lock
    from tda_widgets.extension import namespace

    net = _net()
    ns = {"net": net, "x": torch.zeros(2, 1, 8, 8)}
    held, release = threading.Event(), threading.Event()

    def hold():
        with model_lock(net):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    old = namespace.FIT_LOCK_TIMEOUT_S
    namespace.FIT_LOCK_TIMEOUT_S = 0.1
    try:
        out = describe_model(ns, "net", "x")
    finally:
        namespace.FIT_LOCK_TIMEOUT_S = old
        release.set()
        thread.join()
    assert out["images"][0]["fits"] is None and "busy" in out["images"][0]["why"]
    assert describe_model(ns, "net", "x")["images"][0]["fits"] is True


def test_the_estimate_takes_an_expression():
    from tda_widgets.extension.namespace import estimate_explorer

    ns = {"demo": {"model": _net(), "images": torch.rand(6, 1, 8, 8)}}
    est = estimate_explorer(ns, 'demo["model"]', 'demo["images"]', ["0"], "persistence")
    assert "error" not in est, est
    assert est["n_images"] == 6 and est["layers"][0]["output_shape"] == [4, 6, 6]
