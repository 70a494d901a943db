"""Memory estimates against hand-computed ResNet-18 sizes, and the streamed capture really fitting."""

import re
import numpy as np
import pytest
import torch
import torchvision

from tda_widgets import Study
from tda_widgets.budget import check_budget, estimate_study
from tda_widgets.compute import CloudSpec
from tda_widgets.errors import BudgetExceededError

N = 1000
N_RUN = 300  # images actually captured (the estimates use N)
GB2 = 2 * 1024**3
# ResNet-18 on 3x32x32: the stem gives 8x8, then layer1..layer4 give (64,8,8), (128,4,4), (256,2,2),
# (512,1,1), two blocks each.
BLOCK_SHAPES = [(64, 8, 8)] * 2 + [(128, 4, 4)] * 2 + [(256, 2, 2)] * 2 + [(512, 1, 1)] * 2
NAIVE = 4 * N * sum(c * h * w for c, h, w in BLOCK_SHAPES)          # 61,440,000 bytes
POOLED = 4 * N * sum(c for c, _, _ in BLOCK_SHAPES)                 # 7,680,000 bytes


@pytest.fixture(scope="module")
def resnet_and_images():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    data = torchvision.datasets.FakeData(size=N, image_size=(3, 32, 32), num_classes=10,
                                         transform=torchvision.transforms.ToTensor())
    images = torch.stack([data[i][0] for i in range(N_RUN)])
    return model, images


def test_resnet18_every_block_pooled_fits_2gb_streamed_and_reports_the_naive_size(resnet_and_images):
    model, images = resnet_and_images
    spec = CloudSpec(mode="image-avgpool", max_points=500)
    est = check_budget(model, images[:1], "blocks", N, spec, max_bytes=GB2, cka=None)  # the PH path alone
    assert [r.output_shape for r in est.layers] == BLOCK_SHAPES
    assert est.naive_capture_bytes == NAIVE
    assert est.capture_bytes == POOLED
    assert [r.distance_matrix_bytes for r in est.layers] == [500 * 500 * 8] * 8
    assert [(r.cloud_points, r.cloud_dims) for r in est.layers] == [(500, s[0]) for s in BLOCK_SHAPES]
    assert est.peak_bytes < GB2 and est.naive_peak_bytes > est.peak_bytes
    text = est.table()
    assert "58.6 MiB" in text and "7.3 MiB" in text  # naive and streamed activations, reported
    # naive: the same study without streaming stores every full activation
    naive = estimate_study(model, images[:1], "blocks", N, spec, stream_pooled=False)
    assert naive.capture_bytes == NAIVE
    # with CKA (auto: exact, its peak of 3 x the full activations + 8 Gram matrices fits 2 GB)
    with_cka = estimate_study(model, images[:1], "blocks", N, spec)
    assert with_cka.cka_estimator == "exact" and with_cka.cka_bytes == 3 * NAIVE + 8 * N * N * 8
    assert with_cka.peak_bytes >= with_cka.cka_bytes > est.peak_bytes
    assert estimate_study(model, images[:1], "blocks", N, spec, capture_bytes=100 * 1024**2).cka_estimator == "minibatch"


def test_streamed_capture_runs_where_the_naive_one_is_refused(resnet_and_images):
    model, images = resnet_and_images
    budget = 9 * 10**6  # between the streamed (2.3 MB) and the naive (18.4 MB) activations of 300 images
    spec = CloudSpec(mode="image-avgpool", max_points=None)
    streamed = Study(model, images, layers="blocks", max_bytes=budget)
    streamed.activations(reduce="avg")  # one streamed forward pass for every block
    clouds = {layer: streamed.cloud(layer, spec) for layer in streamed.layers}
    assert streamed.stats["captures"] == 1
    stored = [streamed._get(k) for k in streamed.cache_keys() if k[0] == "activations"]
    assert sum(a.nbytes for a in stored) == POOLED * N_RUN // N  # what was really kept
    # the pooled cloud equals a direct forward pass pooled by hand (last block of layer1)
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(images[:200]))))
        ref = model.layer1(x).mean(dim=(2, 3)).double().numpy()
    np.testing.assert_allclose(clouds["layer1.1"].points[:200], ref, rtol=1e-4, atol=1e-5)
    naive = Study(model, images, layers="blocks", max_bytes=budget, stream_pooled=False)
    with pytest.raises(BudgetExceededError, match="max_bytes"):
        naive.activations()


def test_over_budget_errors_say_the_estimate_the_budget_and_the_knobs(resnet_and_images):
    model, images = resnet_and_images
    flat = CloudSpec(mode="image-flatten", max_points=None)
    with pytest.raises(BudgetExceededError) as info:
        check_budget(model, images[:1], "blocks", N, flat, max_bytes=100 * 1024**2)
    message = str(info.value)
    for needle in ("needs about", "max_bytes is 100.0 MiB", "n_images=", "pooled mode", "fewer layers"):
        assert needle in message, (needle, message)
    # the image count it offers is the largest that fits by the same estimate
    fit = int(re.search(r"n_images=(\d+) fits", message).group(1))
    assert estimate_study(model, images[:1], "blocks", fit, flat).peak_bytes <= 100 * 1024**2
    assert estimate_study(model, images[:1], "blocks", fit + 1, flat).peak_bytes > 100 * 1024**2
    # a point budget whose distance matrices dominate: the message points at max_points
    big = CloudSpec(mode="spatial", max_points=20000)
    with pytest.raises(BudgetExceededError, match="max_points=20000"):
        Study(model, images, layers="stages").estimate(big, max_bytes=GB2)


def test_millions_of_images_are_told_the_image_count_that_fits_not_the_point_budget():
    """Regression: 8 million images of the demo (5 layers, 500-point clouds) were advised to
    'lower the point budget (max_points=500: ... a 1.9 MiB distance matrix)', because the
    largest single step was the cloud's build before subsampling (it grows with the images),
    and got no image count (the old rule needed the budget to exceed that step). The message
    now offers the largest image count that fits by the same estimate, and no point budget."""
    from tda_widgets import load_demo

    demo = load_demo(n_images=20)
    budget = 2 * 1024**3
    with pytest.raises(BudgetExceededError) as info:
        check_budget(demo.model, demo.images[:1], None, 8_000_000, None, max_bytes=budget)
    message = str(info.value)
    assert "point budget" not in message and "max_points" not in message, message
    fit = int(re.search(r"use fewer images \(n_images=(\d+) fits\)", message).group(1))
    assert estimate_study(demo.model, demo.images[:1], None, fit).peak_bytes <= budget
    assert estimate_study(demo.model, demo.images[:1], None, fit + 1).peak_bytes > budget
    assert check_budget(demo.model, demo.images[:1], None, fit, None, max_bytes=budget).n_images == fit
