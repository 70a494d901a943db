"""Tests of the embedded digits demo: data, split, shipped weights, training determinism.

References are independent of the code under test: scikit-learn's ``load_digits`` and
``train_test_split`` called directly, a plain forward pass, and counts by hand.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tda_widgets.data as data_pkg
from tda_widgets.data import (
    DEMO_LAYERS,
    DemoData,
    DigitsCNN,
    digits_split,
    load_demo,
    load_digits_checkpoints,
    load_digits_tensors,
)
from tda_widgets.data.train_digits import train
from tda_widgets.errors import TDAInputError, TDATypeError

DATA_DIR = Path(data_pkg.__file__).parent


@pytest.fixture(scope="module")
def sk_digits():
    return load_digits()


@pytest.fixture(scope="module")
def reference_split(sk_digits):
    """The split computed straight from scikit-learn, as documented (seed 0, 25 %, stratified)."""
    train_idx, test_idx = train_test_split(
        np.arange(len(sk_digits.target)), test_size=0.25, random_state=0, stratify=sk_digits.target
    )
    return np.sort(train_idx), np.sort(test_idx)


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def _plain_model(filename="digits_cnn.pt"):
    model = DigitsCNN()
    model.load_state_dict(torch.load(DATA_DIR / filename, map_location="cpu", weights_only=True))
    return model.eval()


def _accuracy(model, sk_digits, indices):
    x = torch.tensor(sk_digits.images[indices] / 16.0, dtype=torch.float32).unsqueeze(1)
    with torch.no_grad():
        predicted = model(x).argmax(1).numpy()
    return float((predicted == sk_digits.target[indices]).mean())


# --- data ---------------------------------------------------------------------------------


def test_load_digits_tensors_matches_sklearn(sk_digits):
    images, labels = load_digits_tensors()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    np.testing.assert_allclose(images[:, 0].numpy(), sk_digits.images / 16.0, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(labels, sk_digits.target)
    assert float(images.min()) == 0.0 and float(images.max()) == 1.0


def test_split_is_sklearns_stratified_split(reference_split, sk_digits):
    split = digits_split()
    np.testing.assert_array_equal(split["train"], reference_split[0])
    np.testing.assert_array_equal(split["test"], reference_split[1])
    assert len(np.intersect1d(split["train"], split["test"])) == 0
    assert len(split["train"]) + len(split["test"]) == 1797
    assert len(split["test"]) == 450
    # stratified: each class's test count is its share of 450, within rounding
    totals = np.bincount(sk_digits.target, minlength=10)
    test_counts = np.bincount(sk_digits.target[split["test"]], minlength=10)
    assert np.all(np.abs(test_counts - totals * 450 / 1797) <= 1)


def test_split_depends_on_seed_only():
    a, b, c = digits_split(seed=0), digits_split(seed=0), digits_split(seed=1)
    np.testing.assert_array_equal(a["test"], b["test"])
    assert not np.array_equal(a["test"], c["test"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 5000}, "'n' parameter of digits_split must be at most 1797"),
        ({"test_fraction": 1.5}, "'test_fraction' parameter of digits_split"),
        ({"test_fraction": 0}, "strictly between 0 and 1"),
    ],
)
def test_split_rejects_bad_input(kwargs, match):
    with pytest.raises(TDAInputError, match=match):
        digits_split(**kwargs)


# --- shipped model ------------------------------------------------------------------------


def test_shipped_model_accuracy_on_held_out_split(sk_digits, reference_split):
    accuracy = _accuracy(_plain_model(), sk_digits, reference_split[1])
    assert accuracy >= 0.95


def test_weights_files_are_small():
    assert (DATA_DIR / "digits_cnn.pt").stat().st_size < 1_000_000
    for path in DATA_DIR.glob("digits_cnn_epoch*.pt"):
        assert path.stat().st_size < 200_000, path


def test_layer_names_and_output_shapes():
    model = DigitsCNN().eval()
    modules = dict(model.named_modules())
    assert DEMO_LAYERS == ("block1", "block2", "block3", "fc1", "head")
    for name in ("block1.conv", "block1.bn", "block2.pool", "block3.pool", "fc1.linear", "flatten"):
        assert name in modules
    shapes = {}
    handles = [
        modules[name].register_forward_hook(
            lambda mod, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
        for name in DEMO_LAYERS
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(3, 1, 8, 8))
    finally:
        for handle in handles:
            handle.remove()
    assert shapes == {
        "block1": (3, 16, 8, 8),
        "block2": (3, 32, 4, 4),
        "block3": (3, 64, 2, 2),
        "fc1": (3, 64),
        "head": (3, 10),
    }


def test_shipped_checkpoints_trace_training(sk_digits, reference_split):
    checkpoints = load_digits_checkpoints()
    epochs = list(checkpoints)
    assert epochs == sorted(epochs) and epochs[0] == 0 and len(epochs) >= 3
    accuracies = [_accuracy(m, sk_digits, reference_split[1]) for m in checkpoints.values()]
    assert accuracies[0] < 0.3  # untrained: about chance (0.1)
    assert accuracies[-1] >= 0.95
    final = _plain_model()
    for key, value in final.state_dict().items():
        assert torch.equal(checkpoints[epochs[-1]].state_dict()[key], value)


# --- load_demo ----------------------------------------------------------------------------


def test_load_demo_default_is_test_split(demo, sk_digits, reference_split):
    assert isinstance(demo, DemoData)
    assert demo.subset == "test"
    assert demo.images.shape == (450, 1, 8, 8) and demo.images.dtype == torch.float32
    assert demo.labels.shape == (450,) and demo.labels.dtype == np.int64
    np.testing.assert_array_equal(demo.indices, reference_split[1])
    np.testing.assert_array_equal(demo.labels, sk_digits.target[reference_split[1]])
    np.testing.assert_allclose(
        demo.images[:, 0].numpy(), sk_digits.images[reference_split[1]] / 16.0, atol=1e-7
    )
    assert demo.class_names == [str(d) for d in range(10)]
    assert demo.layers == DEMO_LAYERS
    np.testing.assert_array_equal(demo.split["test"], reference_split[1])
    np.testing.assert_array_equal(demo.test_labels, demo.labels)


def test_load_demo_model_state(demo):
    assert isinstance(demo.model, DigitsCNN)
    assert demo.model.training is False
    assert all(not m.training for m in demo.model.modules())
    assert all(p.requires_grad for p in demo.model.parameters())
    shipped = _plain_model().state_dict()
    for key, value in demo.model.state_dict().items():
        assert torch.equal(value, shipped[key])


@pytest.mark.parametrize("subset, size", [("train", 1347), ("all", 1797)])
def test_load_demo_other_subsets(subset, size, sk_digits):
    demo = load_demo(subset=subset)
    assert demo.images.shape == (size, 1, 8, 8)
    np.testing.assert_array_equal(demo.labels, sk_digits.target[demo.indices])
    assert demo.test_images.shape == (450, 1, 8, 8)


def test_load_demo_subsample_is_class_balanced_and_seeded(sk_digits, reference_split):
    demo = load_demo(n_images=100)
    assert demo.images.shape == (100, 1, 8, 8)
    np.testing.assert_array_equal(np.bincount(demo.labels, minlength=10), np.full(10, 10))
    assert np.all(np.isin(demo.indices, reference_split[1]))
    assert len(np.unique(demo.indices)) == 100
    np.testing.assert_array_equal(demo.labels, sk_digits.target[demo.indices])

    again = load_demo(n_images=100)
    other = load_demo(n_images=100, seed=1)
    np.testing.assert_array_equal(again.indices, demo.indices)
    assert not np.array_equal(other.indices, demo.indices)

    uneven = np.bincount(load_demo(n_images=105).labels, minlength=10)
    assert uneven.sum() == 105 and set(uneven) <= {10, 11}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"subset": "tset"}, TDAInputError, "'subset' parameter of load_demo must be one of"),
        ({"n_images": 451}, TDAInputError, "must be at most 450 .*Got 451"),
        ({"n_images": 0}, TDAInputError, "'n_images' parameter of load_demo must be an int >= 10"),
        ({"n_images": 50.0}, TDATypeError, "'n_images'.*Got 50.0 of type float"),
        ({"seed": -1}, TDAInputError, "'seed' parameter of load_demo"),
    ],
)
def test_load_demo_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_demo(**kwargs)


# --- training -----------------------------------------------------------------------------


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_is_deterministic():
    threads = torch.get_num_threads()
    first, acc_first = train(epochs=1, seed=0)
    second, acc_second = train(epochs=1, seed=0)
    other, _ = train(epochs=1, seed=1)
    a, b, c = _state(first), _state(second), _state(other)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert acc_first == acc_second
    assert first.training is False
    # the global torch settings are restored
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_training_one_epoch_learns(sk_digits, reference_split):
    model, accuracy = train(epochs=1, seed=0)
    assert accuracy == pytest.approx(_accuracy(model, sk_digits, reference_split[1]))
    assert accuracy > 0.8


def test_train_rejects_bad_epochs():
    with pytest.raises(TDAInputError, match="'epochs' parameter of train must be an int >= 1"):
        train(epochs=0)


def test_training_script_writes_checkpoints(tmp_path):
    from tda_widgets.data.train_digits import main

    out = tmp_path / "w.pt"
    assert main(["--epochs", "1", "--out", str(out), "--checkpoints-dir", str(tmp_path)]) == 0
    assert out.exists()
    assert sorted(p.name for p in tmp_path.glob("digits_cnn_epoch*.pt")) == [
        "digits_cnn_epoch0.pt",
        "digits_cnn_epoch1.pt",
    ]


# --- layering -----------------------------------------------------------------------------


def test_data_package_does_not_import_torchvision():
    code = "import sys, tda_widgets.data; print('torchvision' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=DATA_DIR.parents[1]
    )
    assert result.stdout.strip() == "False"
