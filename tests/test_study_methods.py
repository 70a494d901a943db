"""The study's own methods (issue 19): the image-top-l2 and image-random-position clouds and the
post-activation option, each against a direct torch computation of its definition."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from tda_widgets import Study
from tda_widgets.budget import estimate_study
from tda_widgets.capture import ELEMENTWISE, capture_activations
from tda_widgets.clouds import ACTIVATIONS, CloudSpec, make_cloud, random_positions
from tda_widgets.errors import TDAInputError

MODES = ("image-top-l2", "image-random-position")


# ------------------------------------------------------------------ references, written out


def top_l2_reference(acts: torch.Tensor):
    """The study's script: the position of largest ``torch.linalg.norm`` over channels."""
    y = acts.flatten(start_dim=2)
    idx = torch.linalg.norm(y, ord=2, dim=1).argmax(dim=-1)
    return y[torch.arange(y.shape[0]), :, idx], idx


def splitmix64(seed: int, i: int) -> int:
    """The (i + 1)-th output of SplitMix64 seeded with ``seed`` (Steele, Lea & Flood 2014), in
    plain Python integers."""
    mask = 2**64 - 1
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def random_position_reference(acts: torch.Tensor, seed: int, image_index=None):
    n, _, h, w = acts.shape
    image_index = range(n) if image_index is None else image_index
    flat = torch.tensor([splitmix64(seed, int(i)) % (h * w) for i in image_index])
    return acts.flatten(start_dim=2)[torch.arange(n), :, flat], flat


def rows_cols(flat, width):
    flat = np.asarray(flat)
    return np.stack([flat // width, flat % width], axis=1)


def toy_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 5, 3, padding=1),
        nn.BatchNorm2d(5),               # eval-mode outputs of both signs: ReLU matters
        nn.ReLU(inplace=True),           # changes "1"'s output in place after its hook ran
        nn.Conv2d(5, 4, 3, stride=2, padding=1),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    ).eval()


@pytest.fixture(scope="module")
def images():
    return torch.randn(23, 2, 8, 8, generator=torch.Generator().manual_seed(3))


def direct(model, images, layer):
    """A layer's output from a forward pass with a hook of our own (a clone, before in-place ops)."""
    out = {}

    def hook(module, args, output):  # returns None: a hook's return value would replace the output
        out["x"] = output.clone()

    handle = dict(model.named_modules())[layer].register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return out["x"]


# ------------------------------------------------------------------ the modes, from full activations


def test_top_l2_equals_the_studys_torch_computation_on_random_activations():
    acts = torch.randn(40, 6, 5, 7, generator=torch.Generator().manual_seed(0))
    want, idx = top_l2_reference(acts)
    cloud = make_cloud(acts.numpy(), "image-top-l2")
    np.testing.assert_array_equal(cloud.points, want.double().numpy())
    np.testing.assert_array_equal(cloud.position, rows_cols(idx, 7))
    np.testing.assert_array_equal(cloud.image_index, np.arange(40))
    assert cloud.mode == "image-top-l2" and cloud.n_dims == 6
    assert cloud.params["spatial_shape"] == (5, 7)


def test_top_l2_ties_go_to_the_first_position_in_row_major_order():
    acts = torch.rand(3, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    big = torch.tensor([5.0, -3.0, 2.0, 1.0])
    acts[0, :, 2, 1] = big          # flat 7
    acts[0, :, 0, 2] = big          # flat 2: the same norm, earlier
    acts[1, :, 1, 0] = -big         # flat 3: the same norm with every sign flipped...
    acts[1, :, 1, 1] = big          # ...flat 4
    acts[2] = 0.0                   # every position ties at 0
    cloud = make_cloud(acts.numpy(), "image-top-l2")
    _, idx = top_l2_reference(acts)
    assert idx.tolist() == [2, 3, 0]  # torch.argmax's rule, the reference
    np.testing.assert_array_equal(cloud.position, [[0, 2], [1, 0], [0, 0]])
    np.testing.assert_array_equal(cloud.points[1], -big.double().numpy())


@pytest.mark.parametrize("mode", MODES)
def test_a_one_by_one_spatial_map_gives_its_only_vector(mode):
    acts = torch.randn(6, 3, 1, 1, generator=torch.Generator().manual_seed(2))
    cloud = make_cloud(acts.numpy(), mode, seed=4)
    np.testing.assert_array_equal(cloud.points, acts[:, :, 0, 0].double().numpy())
    np.testing.assert_array_equal(cloud.position, np.zeros((6, 2)))


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_random_position_equals_the_seeded_definition(seed):
    acts = torch.randn(30, 4, 3, 5, generator=torch.Generator().manual_seed(seed))
    want, flat = random_position_reference(acts, seed)
    cloud = make_cloud(acts.numpy(), "image-random-position", seed=seed)
    np.testing.assert_array_equal(cloud.points, want.double().numpy())
    np.testing.assert_array_equal(cloud.position, rows_cols(flat, 5))


def test_random_positions_depend_on_the_image_and_seed_only():
    everyone = random_positions(np.arange(500), 6, 6, seed=7)
    # the same image gets the same position in any subset and any order
    subset = np.array([499, 3, 250, 0])
    np.testing.assert_array_equal(random_positions(subset, 6, 6, seed=7), everyone[subset])
    assert (random_positions(np.arange(500), 6, 6, seed=8) != everyone).mean() > 0.9  # a new seed, new positions
    # uniform over the 36 positions: every count within 40 % of the expected 10000 / 36
    counts = np.bincount(random_positions(np.arange(10_000), 6, 6, seed=0), minlength=36)
    assert counts.min() > 0.6 * 10_000 / 36 and counts.max() < 1.4 * 10_000 / 36


@pytest.mark.parametrize("mode", MODES)
def test_provenance_points_at_the_vector_after_the_point_budget(mode):
    acts = np.random.default_rng(5).standard_normal((50, 3, 4, 4)).astype(np.float32)
    cloud = make_cloud(acts, mode, max_points=17, seed=9, subsample="farthest")
    assert cloud.n_points == 17 and len(set(cloud.image_index.tolist())) == 17
    for point, image, (row, col) in zip(cloud.points, cloud.image_index, cloud.position):
        np.testing.assert_array_equal(point, acts[image, :, row, col])


# ------------------------------------------------------------------ streamed during the capture


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layer", ["1", "3"])
def test_a_studys_streamed_cloud_equals_make_cloud_on_the_full_activations(images, mode, layer):
    model = toy_model()
    spec = CloudSpec(mode=mode, max_points=None, seed=3)
    study = Study(model, images, layers=["1", "3"], batch_size=4)  # 6 batches, in the study's seeded order
    got = study.cloud(layer, spec)
    full = direct(model, images, layer)
    want = make_cloud(full.numpy(), mode, seed=3)
    # The study's batches of 4 and one batch of 23 round the convolutions differently (float32),
    # so values agree to rounding; the positions and the images exactly.
    np.testing.assert_allclose(got.points, want.points, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.position, want.position)
    np.testing.assert_array_equal(got.image_index, want.image_index)
    assert got.params["spatial_shape"] == tuple(full.shape[2:])
    # ...and both equal the definition, computed with torch
    ref, flat = top_l2_reference(full) if mode == "image-top-l2" else random_position_reference(full, 3)
    np.testing.assert_allclose(got.points, ref.double().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.position, rows_cols(flat, full.shape[3]))
    # only (N, C + 4) was kept, never (N, C, H, W)
    stored = [study._get(k) for k in study.cache_keys() if k[0] == "activations"]
    assert [a.shape for a in stored] == [(len(images), full.shape[1] + 4)]


@pytest.mark.parametrize("mode", MODES)
def test_the_cloud_is_the_same_whichever_capture_ran_first(images, mode):
    spec = CloudSpec(mode=mode, max_points=10, seed=1)
    streamed = Study(toy_model(), images, layers=["1"], batch_size=5).cloud("1", spec)
    full_first = Study(toy_model(), images, layers=["1"], batch_size=5)
    full_first.activations(["1"])  # the full activations cached first: reduced as the stream does
    unstreamed = Study(toy_model(), images, layers=["1"], batch_size=5, stream_pooled=False)
    for other in (full_first.cloud("1", spec), unstreamed.cloud("1", spec)):
        np.testing.assert_array_equal(other.points, streamed.points)
        np.testing.assert_array_equal(other.position, streamed.position)
        np.testing.assert_array_equal(other.image_index, streamed.image_index)


def test_random_positions_do_not_depend_on_batch_size_or_image_order(images):
    from tda_widgets.engine.steps import PositionSelector

    model = toy_model()
    runs = []
    for batch_size, order in ((1, None), (23, None), (4, np.random.default_rng(0).permutation(23))):
        acts = capture_activations(model, images, ["1"], batch_size=batch_size, order=order,
                                   reducers={"1": PositionSelector("random-position", "1", seed=5)})
        runs.append(acts["1"])
    for run in runs[1:]:  # positions exactly; values up to the convolution's batch-dependent rounding
        np.testing.assert_array_equal(run[:, -4:], runs[0][:, -4:])
        np.testing.assert_allclose(run, runs[0], rtol=1e-5, atol=1e-6)
    want, flat = random_position_reference(direct(model, images, "1"), 5)
    np.testing.assert_allclose(runs[0][:, :-4], want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(runs[0][:, -4:-2], rows_cols(flat, 8))
    assert (runs[0][:, -2:] == [8, 8]).all()


@pytest.mark.parametrize("mode", MODES)
def test_the_budget_counts_what_a_streamed_one_position_capture_keeps(images, mode):
    study = Study(toy_model(), images, layers=["1"], batch_size=4)
    study.cloud("1", CloudSpec(mode=mode))
    stored = sum(study._get(k).nbytes for k in study.cache_keys() if k[0] == "activations")
    est = estimate_study(toy_model(), images, ["1"], n_images=len(images), spec=CloudSpec(mode=mode))
    assert est.layers[0].captured_bytes == stored == 4 * len(images) * (5 + 4)
    assert est.layers[0].full_bytes == 4 * len(images) * 5 * 8 * 8


# ------------------------------------------------------------------ post-activation capture

REFERENCE_FUNCTIONS = {  # written out here, apart from tda_widgets.capture.ELEMENTWISE
    "relu": lambda t: torch.clamp(t, min=0),
    "gelu": lambda t: 0.5 * t * (1 + torch.erf(t / 2**0.5)),
    "sigmoid": lambda t: 1 / (1 + torch.exp(-t)),
    "tanh": lambda t: (torch.exp(2 * t) - 1) / (torch.exp(2 * t) + 1),
    "abs": lambda t: torch.where(t < 0, -t, t),
}


def test_the_declared_names_are_the_functions_the_capture_applies():
    assert set(ACTIVATIONS) - {None} == set(ELEMENTWISE) == set(REFERENCE_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(REFERENCE_FUNCTIONS))
def test_post_activation_capture_equals_the_function_applied_to_the_plain_capture(images, name):
    model = toy_model()
    plain = capture_activations(model, images, ["1", "3"], batch_size=5)
    activated = capture_activations(model, images, ["1", "3"], batch_size=5, activation=name)
    for layer in ("1", "3"):
        want = REFERENCE_FUNCTIONS[name](torch.from_numpy(plain[layer].copy())).numpy()
        np.testing.assert_allclose(activated[layer], want, rtol=1e-5, atol=1e-6)
    assert (plain["1"] < 0).any()  # so relu and abs did change something
    # the model's own outputs are those of the unchanged model
    with torch.no_grad():
        np.testing.assert_array_equal(activated.outputs, model(images).numpy())


def test_relu_capture_equals_torch_relu_of_the_layer_and_a_callable_works(images):
    model = toy_model()
    bn = direct(model, images, "1")
    for activation in ("relu", torch.relu, lambda t: t.clamp(min=0)):
        got = capture_activations(model, images, ["1"], batch_size=4, activation=activation)["1"]
        np.testing.assert_array_equal(got, torch.relu(bn).numpy())


def test_the_model_is_unchanged_and_no_hook_is_left_with_an_activation(images):
    model = toy_model().train()
    before = copy.deepcopy(model.state_dict())
    flags = [m.training for m in model.modules()]
    capture_activations(model, images, ["1", "3"], activation="relu")

    class Boom(Exception):
        pass

    def exploding(t):
        raise Boom

    with pytest.raises(Boom):
        capture_activations(model, images, ["1", "3"], activation=exploding)
    for module in model.modules():
        assert not module._forward_hooks
    assert [m.training for m in model.modules()] == flags
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_study_cloud_with_relu_equals_make_cloud_on_relu_of_the_layer(images):
    model = toy_model()
    bn = direct(model, images, "1")
    study = Study(model, images, layers=["1"], batch_size=4)
    for mode in ("image-top-l2", "image-avgpool", "spatial"):
        spec = CloudSpec(mode=mode, max_points=None, activation="relu")
        got = study.cloud("1", spec)
        want = make_cloud(torch.relu(bn).numpy(), mode)
        np.testing.assert_allclose(got.points, want.points, rtol=1e-6, atol=1e-7)
        if want.position is not None:
            np.testing.assert_array_equal(got.position, want.position)


def test_the_cache_tells_activation_functions_apart(images, tmp_path):
    study = Study(toy_model(), images, layers=["1"], batch_size=4, store=tmp_path)
    clouds = {}
    for activation in (None, "relu", "abs"):
        captures = study.stats["captures"]
        clouds[activation] = study.cloud("1", CloudSpec(mode="image-avgpool", max_points=None, activation=activation))
        assert study.stats["captures"] == captures + 1  # each function is captured anew, never a cache hit
    assert not np.allclose(clouds[None].points, clouds["relu"].points)
    assert not np.allclose(clouds["relu"].points, clouds["abs"].points)
    keys = [k for k in study.cache_keys() if k[0] == "activations"]
    assert len(keys) == len(set(keys)) == 3
    # asked again, each is the cached one
    captures = study.stats["captures"]
    assert study.cloud("1", CloudSpec(mode="image-avgpool", max_points=None, activation="relu")) is clouds["relu"]
    assert study.stats["captures"] == captures
    # diagrams: named functions go to the disk store, a callable (known only by identity) does not
    study.diagrams(["1"], CloudSpec(max_points=None, activation="relu"))
    writes = study.store.stats["writes"]
    assert writes == 1
    study.diagrams(["1"], CloudSpec(max_points=None, activation=lambda t: t.clamp(min=0)))
    assert study.store.stats["writes"] == writes


def test_compare_keeps_cka_on_the_layers_own_outputs(images):
    study = Study(toy_model(), images, layers=["1", "3"], batch_size=4)
    plain = study.compare(spec=CloudSpec(max_points=None), estimator="minibatch")
    relu = study.compare(spec=CloudSpec(max_points=None, activation="relu"), estimator="minibatch")
    np.testing.assert_array_equal(relu.cka, plain.cka)
    assert not np.allclose(relu.ph, plain.ph)


# ------------------------------------------------------------------ bad input


def test_an_unknown_activation_names_the_parameter_the_choices_and_the_fix(images):
    pattern = (r"The 'activation' parameter of {} must be one of \[None, 'relu', 'gelu', 'sigmoid', 'tanh', 'abs'\] "
               r"or a callable\. Got 'rleu' instead\. Did you mean 'relu'\? Or pass your own function")
    with pytest.raises(TDAInputError, match=pattern.format("CloudSpec")):
        CloudSpec(activation="rleu")
    with pytest.raises(TDAInputError, match=pattern.format("capture_activations")):
        capture_activations(toy_model(), images, ["1"], activation="rleu")
    with pytest.raises(TDAInputError, match=pattern.format(r"Study\.activations")):
        Study(toy_model(), images, layers=["1"], batch_size=4).activations(["1"], activation="rleu")


def test_an_activation_that_is_not_element_wise_is_refused(images):
    with pytest.raises(TDAInputError,
                       match=r"must be element-wise .* layer '1' it turned \(5, 5, 8, 8\) into \(5, 8, 8\)"):
        capture_activations(toy_model(), images, ["1"], batch_size=5, activation=lambda t: t.sum(dim=1))


@pytest.mark.parametrize("mode", MODES)
def test_a_one_position_mode_needs_a_convolutional_layer(images, mode):
    with pytest.raises(TDAInputError, match=rf"mode '{mode}' needs a convolutional layer's output .* shape \(4, 3\)"):
        make_cloud(np.zeros((4, 3)), mode)
    study = Study(toy_model(), images, layers=["1", "5"], batch_size=4)
    with pytest.raises(TDAInputError, match=rf"mode '{mode}' needs a convolutional layer's output .* layer '5'"):
        study.cloud("5", CloudSpec(mode=mode))


def test_selected_vectors_need_their_positions_in_the_right_shape():
    with pytest.raises(TDAInputError, match=r"position of shape \(N, 2\)"):
        make_cloud(np.zeros((4, 3)), "image-top-l2", position=np.zeros((3, 2)))
    with pytest.raises(TDAInputError, match=r"position=\.\.\.\) takes the vectors already selected"):
        make_cloud(np.zeros((4, 3)), "image-avgpool", position=np.zeros((4, 2)))
