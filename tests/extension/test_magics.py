"""The %tda magic (issue 12, 3) without a kernel: run_tda on a plain namespace."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tda_widgets import TDAInputError, TDATypeError
from tda_widgets.clouds import CloudSpec
from tda_widgets.extension.magics import build_parser, check_layers, lookup, run_tda
from tda_widgets.topology.mapper import MapperSpec


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


@pytest.fixture
def namespace():
    torch.manual_seed(0)
    return {"net": Net(), "pictures": torch.randn(6, 1, 8, 8), "labels": [0, 1, 2, 0, 1, 2], "numbers": [1, 2]}


def test_settings_flags_come_from_the_declarations():
    explore = build_parser()._subparsers._group_actions[0].choices["explore"]
    actions = {a.dest: a for a in explore._actions}
    assert actions["mode"].choices == list(CloudSpec.options()["mode"].choices)
    assert MapperSpec.options()["n_cubes"].help in actions["n_cubes"].help
    assert actions["n_cubes"].type is int and actions["overlap"].type is float
    report = build_parser()._subparsers._group_actions[0].choices["report"]
    assert {"metric", "mode", "max_points", "scale", "lens", "n_cubes", "out"} <= {a.dest for a in report._actions}


def test_help_prints_and_returns_none(namespace, capsys):
    assert run_tda("explore --help", namespace) is None
    out = capsys.readouterr().out
    assert "usage: %tda explore" in out and "--n-cubes" in out and "(default 10)" in out
    assert run_tda("", namespace) is None and "{explore,report,layers}" in capsys.readouterr().out


def test_unknown_variable_names_the_closest(namespace):
    with pytest.raises(TDAInputError, match=r"no variable 'picturs' \(the images\).*Did you mean 'pictures'"):
        run_tda("explore net picturs", namespace)
    with pytest.raises(TDAInputError, match="must be the name of a variable"):
        lookup(namespace, "pictures[:3]", "images")
    with pytest.raises(TDAInputError, match=r"has no attribute 'shap'.*'shape'"):
        lookup(namespace, "pictures.shap", "images")
    assert lookup(namespace, "pictures.shape", "images") == (6, 1, 8, 8)


def test_not_a_model_lists_the_models(namespace):
    with pytest.raises(TDATypeError, match=r"'numbers' is a list, not a torch.nn.Module. Models in this notebook: net"):
        run_tda("explore numbers pictures", namespace)


def test_unknown_layer_names_the_closest(namespace):
    with pytest.raises(TDAInputError, match=r"Net has no layer 'haed'. Did you mean 'head'"):
        run_tda("explore net pictures --layers features,haed", namespace)
    assert check_layers(namespace["net"], "conv") == "conv"
    assert check_layers(namespace["net"], "features.0, head") == ["features.0", "head"]


def test_usage_errors_are_input_errors_with_a_hint(namespace):
    with pytest.raises(TDAInputError, match="invalid choice: 'maper'.*Did you mean 'mapper'"):
        run_tda("explore net pictures --explorer maper", namespace)
    with pytest.raises(TDAInputError, match="unrecognized arguments: --n-cube.*Did you mean '--n-cubes'"):
        run_tda("explore net pictures --explorer mapper --n-cube 3", namespace)
    with pytest.raises(TDAInputError, match="--n-cubes is not a setting of the persistence explorer; it applies to: "
                                            "mapper, dashboard"):
        run_tda("explore net pictures --n-cubes 3", namespace)


def test_layers_lists_modules_shapes_and_presets(namespace, capsys):
    run_tda("layers net pictures", namespace)
    out = capsys.readouterr().out
    assert "features.0  Conv2d" in out and "(4, 8, 8)" in out and "(3,)" in out
    assert "conv      features.0" in out and "linear    head" in out


def test_report_writes_the_file(namespace, tmp_path):
    link = run_tda(f"report net pictures --labels labels --points 6 --quiet --n-cubes 2 --out {tmp_path / 'r.html'}",
                   namespace)
    assert (tmp_path / "r.html").stat().st_size > 100_000 and link.path.endswith("r.html")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_tda(f"report net pictures --out {tmp_path / 'missing' / 'r.html'}", namespace)
