"""CKA streamed during the capture (issue 14): minibatch CKA in the study, one forward pass for
compare(), every capture in one seeded order."""

import numpy as np
import pytest

from tda_widgets import Study, load_demo
from tda_widgets.capture import capture_activations
from tda_widgets.compute import CloudSpec
from tda_widgets.engine.steps import CAPTURE_ORDER_SEED
from tda_widgets.errors import TDAInputError
from tda_widgets.topology.minibatch_cka import minibatch_cka_matrix

LAYERS = ["block1", "block2", "block3", "fc1", "head"]


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=300)


def test_capture_in_an_order_stores_every_image_in_its_own_row(demo):
    order = np.random.default_rng(3).permutation(300)
    plain = capture_activations(demo.model, demo.images, LAYERS, batch_size=64)
    shuffled = capture_activations(demo.model, demo.images, LAYERS, batch_size=64, order=order)
    for layer in LAYERS:
        np.testing.assert_allclose(shuffled[layer], plain[layer], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(shuffled.outputs, plain.outputs, rtol=1e-5, atol=1e-6)


def test_study_minibatch_cka_is_the_minibatch_estimate_in_the_capture_order(demo):
    study = Study(demo.model, demo.images, demo.labels, LAYERS, batch_size=64)
    got = study.cka(estimator="minibatch")
    # reference: the full activations (a plain capture), visited in the study's seeded order
    full = capture_activations(demo.model, demo.images, LAYERS, batch_size=64)
    order = np.random.default_rng(CAPTURE_ORDER_SEED).permutation(300)
    expected = minibatch_cka_matrix([full[layer].reshape(300, -1)[order] for layer in LAYERS], batch_size=64)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # nothing of the layers was kept: no full activations in the cache, a few KB in all
    assert not [k for k in study.cache_keys() if k[0] == "activations"]
    assert study.cache.stats["bytes"] < 100_000
    # close to the exact debiased CKA of the same images (stated tolerance: 0.06 at minibatches of 64)
    exact = study.cka(estimator="exact", debiased=True)
    assert np.abs(got - exact).max() < 0.06


def test_compare_runs_one_forward_pass_and_gives_the_same_diagrams(demo):
    spec = CloudSpec(max_points=120)
    one = Study(demo.model, demo.images, demo.labels, LAYERS, batch_size=64)
    result = one.compare(spec=spec, estimator="minibatch")
    assert one.stats["captures"] == 1 and result.cka_estimator == "minibatch"
    assert one.predictions() is not None and one.stats["captures"] == 1  # outputs came with it
    apart = Study(demo.model, demo.images, demo.labels, LAYERS, batch_size=64)
    np.testing.assert_array_equal(result.ph, apart.distance_matrix(spec=spec))
    np.testing.assert_allclose(result.cka, apart.cka(estimator="minibatch"), rtol=1e-12)


def test_auto_streams_only_when_the_full_activations_exceed_the_budget(demo):
    small = Study(demo.model, demo.images, demo.labels, LAYERS)
    assert small.compare(spec=CloudSpec(max_points=60)).cka_estimator == "exact"
    tight = Study(demo.model, demo.images, demo.labels, LAYERS, max_bytes=1_000_000)  # full: ~5 MB
    result = tight.compare(spec=CloudSpec(max_points=60))
    assert result.cka_estimator == "minibatch" and tight.stats["captures"] == 1


def test_minibatch_needs_the_linear_kernel(demo):
    study = Study(demo.model, demo.images, demo.labels, LAYERS)
    with pytest.raises(TDAInputError, match="kernel='linear'"):
        study.cka(kernel="rbf", estimator="minibatch")
    with pytest.raises(TDAInputError, match="estimator"):
        study.cka(estimator="streamed")


def test_batch_size_comes_from_the_budget_and_a_given_one_wins_unless_impossible():
    import torch
    import torchvision

    from tda_widgets.budget import forward_bytes_per_image
    from tda_widgets.errors import BudgetExceededError

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    images = torch.rand(8, 3, 224, 224)
    per_image = forward_bytes_per_image(model, images)
    # an independent count: ResNet-18's stem at 224 px keeps conv1's and bn1's (64, 112, 112) outputs alive
    assert 2 * 64 * 112 * 112 * 4 <= per_image <= 3 * 64 * 112 * 112 * 4
    study = Study(model, images, layers="blocks")  # 2 GiB: a quarter over per_image
    assert study.batch_size == min(256, int(0.25 * 2 * 1024**3 // per_image)) and 4 <= study.batch_size < 256
    assert Study(model, images, layers="blocks", max_bytes=64 * 1024**2).batch_size == 4  # the floor
    assert Study(model, images, layers="blocks", batch_size=3).batch_size == 3  # a given one wins
    with pytest.raises(BudgetExceededError, match=r"batch_size=64 needs about .* max_bytes"):
        Study(model, images, layers="blocks", batch_size=64, max_bytes=100 * 1024**2).activations(reduce="avg")
    with pytest.raises(TDAInputError, match="'batch_size' parameter of Study"):
        Study(model, images, layers="blocks", batch_size=0)
