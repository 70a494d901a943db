"""A catalogue of bad inputs across the public API (issue 8, part 1).

Every case asserts the error type and that the message names the problem AND the fix (two
separate patterns). Where the documented behaviour is to accept the input (a point budget
larger than the cloud, a model returning a tuple or dict, inputs of another dtype), the test
asserts that behaviour against an independent reference instead.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from tda_widgets.capture import as_labels, capture_activations, describe_layers, resolve_layers
from tda_widgets.clouds import make_cloud
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.data.loaders import DataNotFoundError, cifar10, image_folder, load_checkpoint
from tda_widgets.errors import BudgetExceededError, TDAInputError, TDATypeError
from tda_widgets.topology.cka import cka_matrix
from tda_widgets.topology.distances import diagram_distance, layer_distance_matrix
from tda_widgets.topology.mapper import mapper_graph
from tda_widgets.topology.persistence import persistence
from tda_widgets.topology.scaling import rescale_points

from . import LAYERS, TinyCNN, assert_model_unchanged, raises_with, snapshot, tiny_images


@pytest.fixture(scope="module")
def model():
    return TinyCNN().eval()


@pytest.fixture(scope="module")
def images():
    return tiny_images(24)


def direct(model, x):
    """Layer outputs computed by calling the blocks in order (no hooks, no capture code)."""
    with torch.no_grad():
        b1 = model.block1(x)
        b2 = model.block2(b1)
        fc = model.fc(model.flatten(b2))
        return {"block1": b1, "block2": b2, "fc": fc, "head": model.head(fc)}


# ------------------------------------------------------------------ layers


def test_unknown_layer_lists_close_names_and_where_to_look(model, images):
    with raises_with(TDAInputError, r"Unknown layer 'blok1' in TinyCNN", r"Did you mean 'block1'"):
        capture_activations(model, images, ["blok1"])
    with raises_with(TDAInputError, r"Unknown layer 'fc\.O'", r"describe_layers"):
        Study(model, images, layers=["block1", "fc.O"])


def test_layer_listed_twice(model):
    with raises_with(TDAInputError, r"'fc' is listed twice", r"list each layer once"):
        resolve_layers(model, ["fc", "block1", "fc"])


def test_layer_used_twice_in_the_model_is_refused(images):
    class Shared(nn.Module):  # one ReLU object called in two places
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.act = nn.ReLU()
            self.lin = nn.Linear(128, 4)

        def forward(self, x):
            return self.act(self.lin(self.act(self.conv(x)).flatten(1)))

    net = Shared()
    before = snapshot(net)
    with raises_with(TDAInputError, r"'act' ran more than once in one forward pass",
                     r"Capture a layer that runs once"):
        capture_activations(net, images, ["act"])
    assert_model_unchanged(net, before)
    # Its non-shared neighbours are still fine, and equal a direct call.
    acts = capture_activations(net, images, ["conv"])
    np.testing.assert_allclose(acts["conv"], net.conv(images).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_layer_that_does_not_run(images):
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Conv2d(1, 2, 3)
            self.spare = nn.Linear(3, 3)

        def forward(self, x):
            return self.used(x)

    with raises_with(TDAInputError, r"\['spare'\] did not run in the forward pass",
                     r"pick layers that the model's forward\(\) calls"):
        capture_activations(Unused(), images, ["spare"])


def test_layer_whose_output_is_not_a_tensor():
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 3, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0]

    with raises_with(TDATypeError, r"'lstm' returned a tuple", r"pick a sub-module whose output is a single tensor"):
        capture_activations(Recurrent(), torch.randn(5, 6, 4), ["lstm"])


# ------------------------------------------------------------------ images


def test_empty_image_set(model, images):
    with raises_with(TDAInputError, r"images is empty \(0 images\)", r"pass at least 2 images"):
        Study(model, images[:0])
    with raises_with(TDAInputError, r"holds no images \(0 items\)", r"pass at least 2 images"):
        capture_activations(model, images[:0])


def test_one_image(model, images):
    study = Study(model, images[:1])
    with raises_with(TDAInputError, r"at least 2 points\. Got 1 point", r"the number of images"):
        study.diagrams(["fc"])
    # Channel mode has one point per channel, so a single image still gives a cloud.
    cloud = study.cloud("block1", CloudSpec(mode="channel", max_points=None))
    assert cloud.n_points == 4 and cloud.n_dims == 64


def test_wrong_channel_count(model, images):
    rgb = images.repeat(1, 3, 1, 1)
    with raises_with(TDAInputError, r"rejected inputs of shape \(24, 3, 8, 8\).*1 channels, but got 3",
                     r"Pass images in the shape the model expects"):
        capture_activations(model, rgb)


@pytest.mark.parametrize("shape", [(4, 1, 1, 8, 8), (8,)])
def test_wrong_rank(model, shape):
    with raises_with(TDAInputError, r"rejected inputs of shape " + re.escape(str(shape)),
                     r"batch first, e\.g\. \(N, C, H, W\)"):
        capture_activations(model, torch.zeros(shape))


def test_integer_pixels_name_the_dtype_fix(model, images):
    pixels = (images.clamp(0, 1) * 255).to(torch.uint8)
    with raises_with(TDAInputError, r"dtype torch\.uint8", r"\.float\(\) / 255"):
        capture_activations(model, pixels)


@pytest.mark.parametrize("bad", ["images.npy", 42, {"x": 1}, None])
def test_input_that_is_not_images(model, bad):
    with raises_with(TDATypeError, r"inputs must be a torch\.Tensor, a numpy array, a torch Dataset or a DataLoader; got",
                     r"torch\.as_tensor"):
        capture_activations(model, bad)


def test_dataset_items_that_are_not_tensors(model):
    class PILLike(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return object(), 0  # e.g. a PIL image without a ToTensor transform

    with raises_with(TDATypeError, r"a dataset item held a object", r"ToTensor"):
        capture_activations(model, PILLike())


def test_labels_of_the_wrong_length(model, images):
    with raises_with(TDAInputError, r"labels has 3 entries but there are 24 images", r"pass one label per image"):
        Study(model, images, labels=[0, 1, 2])
    with raises_with(TDAInputError, r"labels must be 1-D.*shape \(24, 2\)", r"one label per image"):
        as_labels(np.zeros((24, 2)), 24)


# ------------------------------------------------------------------ values


def test_nan_activations(model, images):
    x = images.clone()
    x[3, 0, 2, 2] = float("nan")
    with raises_with(TDAInputError, r"Non-finite \(NaN or infinite\) activations: layer 'block1'",
                     r"Check the inputs for NaN/inf"):
        capture_activations(model, x, ["block1", "head"])


def test_infinite_activations_from_a_diverged_checkpoint(images):
    net = TinyCNN().eval()
    with torch.no_grad():
        net.head.bias[1] = float("inf")
    with raises_with(TDAInputError, r"layer 'head': 24 of 72 values", r"the model's weights \(a diverged checkpoint\)"):
        Study(net, images, layers=["fc", "head"]).diagrams()
    with raises_with(TDAInputError, r"2 non-finite .* values in its 'linear' cloud", r"check the inputs"):
        make_cloud(np.array([[0.0, 1.0], [np.inf, 2.0], [np.nan, 0.0]]), "linear", layer="x")


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # sklearn PCA
def test_constant_layer(images):
    net = TinyCNN().eval()
    with torch.no_grad():  # a dead layer: every image maps to the same point
        net.fc[0].weight.zero_()
    study = Study(net, images, layers=["fc"])
    with raises_with(TDAInputError, r"all points are equal; the layer is constant",
                     r"use scale='none', choose another layer"):
        study.diagrams()
    # The suggested fix works: without rescaling, every H0 bar of a constant cloud dies at 0.
    h0 = study.diagrams(scale="none", maxdim=0)["fc"].diagrams[0]
    assert np.isinf(h0[:, 1]).sum() == 1 and np.all(h0[np.isfinite(h0[:, 1])] == 0.0)
    with raises_with(TDAInputError, r"constant along dimension", r"Choose another lens"):
        study.mapper("fc", CloudSpec(max_points=None))
    with raises_with(TDAInputError, r"zero variance after centring \(all rows identical",
                     r"Drop that representation"):
        cka_matrix([np.ones((24, 3)), np.random.default_rng(0).normal(size=(24, 3))])


# ------------------------------------------------------------------ budgets


def test_cloud_over_the_memory_budget():
    with raises_with(BudgetExceededError, r"would have 6400 points in 8 dimensions.*over the budget",
                     r"Lower max_points .*or raise max_bytes"):
        make_cloud(np.zeros((100, 8, 8, 8), dtype=np.float32), "spatial", max_bytes=100_000)
    # The same cloud with the suggested smaller point budget is built (a random budget for
    # spatial mode is drawn before gathering).
    assert make_cloud(np.zeros((100, 8, 8, 8), dtype=np.float32), "spatial", max_points=1000,
                      max_bytes=100_000).n_points == 1000


def test_capture_and_persistence_over_their_budgets(model, images):
    with raises_with(BudgetExceededError, r"Capturing 4 layers for 24 images needs about",
                     r"Use fewer images .*or raise max_bytes"):
        Study(model, images, max_bytes=1000).diagrams()
    with raises_with(BudgetExceededError, r"persistence of 24 points up to H1 needs an estimated",
                     r"Lower the point budget .*or raise max_memory_bytes"):
        Study(model, images, max_memory_bytes=1000).diagrams(["fc"])


def test_maxdim_too_high_for_the_point_count(model, images):
    with raises_with(TDAInputError, r"maxdim=2 needs at least 4 points\. Got 3 point", r"lower maxdim"):
        Study(model, images[:3]).diagrams(["fc"], maxdim=2)
    with raises_with(TDAInputError, r"maxdim=1 needs at least 3 points\. Got 2", r"pass more points"):
        persistence(np.eye(2), maxdim=1)


def test_point_budget_larger_than_the_cloud_keeps_every_point_and_records_it(model, images):
    acts = np.random.default_rng(0).normal(size=(10, 5))
    cloud = make_cloud(acts, "linear", max_points=1000, subsample="farthest")
    np.testing.assert_array_equal(cloud.points, acts)  # every point, in order, unchanged
    np.testing.assert_array_equal(cloud.image_index, np.arange(10))
    assert cloud.params["max_points"] == 1000
    assert cloud.params["n_points_before_budget"] == 10
    assert cloud.params["subsample"] is None  # recorded: no subsample was drawn
    study_cloud = Study(model, images).cloud("fc", CloudSpec(max_points=500))
    assert study_cloud.n_points == 24 and study_cloud.params["max_points"] == 500


# ------------------------------------------------------------------ unknown names


def test_unknown_mode(model, images):
    # refused where the spec is made (the declaration's rule), before anything is captured
    with raises_with(TDAInputError, r"'mode' parameter of CloudSpec must be one of .*Got 'spatail'",
                     r"Did you mean 'spatial'"):
        Study(model, images).cloud("block1", CloudSpec(mode="spatail"))
    with raises_with(TDAInputError, r"'mode' parameter of make_cloud must be one of .*Got 'spatail'",
                     r"Did you mean 'spatial'"):
        make_cloud(np.ones((3, 4, 2, 2)), mode="spatail")


def test_mode_that_does_not_fit_the_layer(model, images):
    with raises_with(TDAInputError, r"mode 'spatial' needs a convolutional layer's output .* shape \(24, 8\)",
                     r"Use mode='linear' or 'image-flatten'"):
        Study(model, images).cloud("fc", CloudSpec(mode="spatial"))


def test_unknown_metric(model, images):
    with raises_with(TDAInputError, r"Got 'botleneck' instead", r"must be one of .*'bottleneck'"):
        diagram_distance([[0, 1]], [[0, 2]], metric="botleneck")
    with raises_with(TDAInputError, r"Got 'wasserstein' instead", r"must be one of .*'wasserstein-1'"):
        Study(model, images).distance_matrix(metric="wasserstein")


def test_unknown_lens(model, images):
    with raises_with(TDAInputError, r"'lens' parameter of (mapper_graph|MapperSpec) must be one of .*Got 'pcaa'",
                     r"Did you mean 'pca'"):
        Study(model, images).mapper("fc", lens="pcaa")


def test_unknown_backend(model, images):
    with raises_with(TDAInputError, r"Got 'gudhi' instead", r"must be one of .*'giotto-ph'"):
        Study(model, images).diagrams(["fc"], backend="gudhi")


def test_unknown_scale_and_infinite_policy():
    with raises_with(TDAInputError, r"Got 'max' instead", r"must be one of .*'diameter'"):
        rescale_points(np.eye(3), scale="max")
    with raises_with(TDAInputError, r"Got 'ignore' instead", r"must be one of .*'drop'"):
        diagram_distance([[0, 1]], [[0, 2]], infinite="ignore")


def test_infinite_bars_with_the_error_policy_say_how_to_compare_them():
    with raises_with(TDAInputError, r"diagram 'a' has 1 bar\(s\) with infinite death",
                     r"Pass infinite='match' .*or infinite='drop'"):
        diagram_distance([[0, np.inf]], [[0, 1]], infinite="error")


def test_invalid_diagrams():
    with raises_with(TDAInputError, r"must not hold NaN", r"remove them or recompute"):
        diagram_distance([[0, np.nan]], [[0, 1]])
    with raises_with(TDAInputError, r"death >= birth.*\[2\.0, 1\.0\]", r"not swapped"):
        layer_distance_matrix([[[[0, 1]]], [[[2, 1]]]], dims=(0,))


# ------------------------------------------------------------------ mapper settings


@pytest.mark.parametrize("n_cubes", [0, -3])
def test_n_cubes_not_positive(model, images, n_cubes):
    with raises_with(TDAInputError, rf"'n_cubes' .* must be an int >= 1\. Got {n_cubes}",
                     r"Try n_cubes=10"):
        Study(model, images).mapper("fc", n_cubes=n_cubes)


@pytest.mark.parametrize("overlap", [0.0, 1.0, 1.5, -0.2])
def test_overlap_outside_zero_one(overlap):
    points = np.random.default_rng(0).normal(size=(30, 3))
    with raises_with(TDAInputError, rf"'overlap' .* must be a number > 0\.0 and < 1\.0\. Got {overlap!r}",
                     r"Try overlap=0\.3"):
        mapper_graph(points, overlap=overlap)


def test_mapper_settings_that_give_an_empty_graph(model, images):
    with raises_with(TDAInputError, r"mapper_graph produced no node", r"Raise eps, lower min_samples"):
        Study(model, images).mapper("fc", eps=1e-9, min_samples=2)
    with raises_with(TDAInputError, r"'min_samples' .* is 50, more than the 24 points", r"Lower min_samples"):
        Study(model, images).mapper("fc", min_samples=50)


# ------------------------------------------------------------------ files


def test_checkpoint_that_does_not_match_the_model(tmp_path):
    path = tmp_path / "other.pt"
    torch.save(TinyCNN().state_dict(), path)
    target = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 3))
    before = snapshot(target)
    with raises_with(TDAInputError, r"does not match Sequential: missing keys .*unexpected keys",
                     r"Build the same architecture the checkpoint was trained with"):
        load_checkpoint(target, path)
    assert_model_unchanged(target, before)  # nothing half-loaded

    wider = TinyCNN()
    wider.head = nn.Linear(8, 5)
    with raises_with(TDAInputError, r"'head\.weight': checkpoint \(3, 8\) vs model \(5, 8\)", r"num_classes"):
        load_checkpoint(wider, path)


def test_paths_that_do_not_exist(tmp_path):
    missing = tmp_path / "nowhere"
    with raises_with(DataNotFoundError, r"checkpoint file .*nowhere.* does not exist", r"torch\.save"):
        load_checkpoint(TinyCNN(), missing)
    with raises_with(DataNotFoundError, r"image folder .*nowhere.* does not exist", r"one sub-folder"):
        image_folder(missing)
    with raises_with(DataNotFoundError, r"CIFAR10 was not found", r"Nothing is downloaded at run time"):
        cifar10(missing)
    assert issubclass(DataNotFoundError, FileNotFoundError)


# ------------------------------------------------------------------ models and devices


class TupleOut(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x), {"aux": 1}


class DictOut(TupleOut):
    def forward(self, x):
        return {"aux": x.mean(), "logits": self.inner(x)}


class NoTensorOut(TupleOut):
    def forward(self, x):
        self.inner(x)
        return "done"


@pytest.mark.parametrize("wrapper", [TupleOut, DictOut, NoTensorOut])
def test_model_returning_a_tuple_dict_or_no_tensor(images, wrapper):
    """Documented: layers are recorded by hooks, so the output type only decides predictions:
    the first tensor of a tuple, 'logits' (or 'out', 'output') of a dict, none otherwise."""
    inner = TinyCNN().eval()
    net = wrapper(inner)
    acts = capture_activations(net, images, ["inner.fc", "inner.head"])
    ref = direct(inner, images)
    np.testing.assert_allclose(acts["inner.fc"], ref["fc"].numpy(), rtol=1e-6, atol=1e-6)
    study = Study(net, images, layers=["inner.fc", "inner.head"])
    if wrapper is NoTensorOut:
        assert acts.outputs is None and study.predictions() is None
    else:
        np.testing.assert_allclose(acts.outputs, ref["head"].numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(study.predictions(), ref["head"].argmax(1).numpy())


def test_inputs_are_moved_to_the_models_dtype(images):
    """CPU only here: inputs go to the model's device and floating dtype before the forward pass
    (``batch.to(model_device(model))``, then the parameters' dtype)."""
    net = TinyCNN().eval()
    ref = direct(net, images)
    acts64 = capture_activations(net, images.double(), ["block2", "head"])  # float64 inputs, float32 model
    np.testing.assert_array_equal(acts64["head"], ref["head"].numpy())
    net64 = TinyCNN().eval().double()
    ref64 = direct(net64, images.double())
    acts = capture_activations(net64, images, ["head"])  # float32 inputs, float64 model
    np.testing.assert_allclose(acts["head"], ref64["head"].float().numpy(), rtol=1e-6, atol=1e-7)
    assert all(p.dtype == torch.float64 for p in net64.parameters())


def test_model_on_the_meta_device(images):
    with torch.device("meta"):
        ghost = TinyCNN()
    before = snapshot(ghost)
    with raises_with(TDAInputError, r"'meta' device", r"load_checkpoint|load_state_dict"):
        capture_activations(ghost, images)
    assert_model_unchanged(ghost, before)
    with raises_with(TDAInputError, r"inputs are on the 'meta' device", r"real tensors"):
        capture_activations(TinyCNN(), images.to("meta"))


def test_describe_layers_needs_an_example(model, images):
    with raises_with(TDAInputError, r"example holds no image", r"images\[:1\]"):
        describe_layers(model, images[:0])
    shapes = {d["name"]: d["output_shape"] for d in describe_layers(model, images)}
    assert shapes["block2"] == (6, 4, 4) and shapes["head"] == (3,)


def test_every_default_layer_of_the_tiny_model(model):
    assert tuple(resolve_layers(model)) == LAYERS  # Flatten is skipped by default

