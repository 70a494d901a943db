"""Point-cloud modes against hand computations on tiny tensors, and provenance."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from tda_widgets.clouds import MODES, farthest_point_sample, make_cloud
from tda_widgets.errors import BudgetExceededError, TDAInputError

# activation a[n, c, h, w] = 1000 n + 100 c + 10 h + w: every value names its source
N, C, H, W = 3, 2, 2, 3
A = np.fromfunction(lambda n, c, h, w: 1000 * n + 100 * c + 10 * h + w, (N, C, H, W)).astype(np.float32)


def test_image_flatten():
    cloud = make_cloud(A, "image-flatten")
    assert cloud.points.shape == (3, 12)
    # image 1, channel 1, row 0, col 2 -> flat index 1*6 + 0*3 + 2 = 8
    assert cloud.points[1, 8] == 1000 + 100 + 2
    np.testing.assert_array_equal(cloud.image_index, [0, 1, 2])


def test_image_avgpool_and_maxpool():
    avg = make_cloud(A, "image-avgpool")
    mx = make_cloud(A, "image-maxpool")
    # mean over h in {0,1}, w in {0,1,2}: 10*0.5 + 1 = 6
    np.testing.assert_allclose(avg.points, [[1000 * n + 100 * c + 6 for c in range(C)] for n in range(N)])
    np.testing.assert_allclose(mx.points, [[1000 * n + 100 * c + 12 for c in range(C)] for n in range(N)])
    np.testing.assert_array_equal(avg.image_index, [0, 1, 2])


def test_spatial_points_and_provenance():
    cloud = make_cloud(A, "spatial")
    assert cloud.points.shape == (N * H * W, C)
    for point, img, (row, col) in zip(cloud.points, cloud.image_index, cloud.position):
        # provenance maps every point back to its image and position
        np.testing.assert_array_equal(point, [1000 * img + 100 * c + 10 * row + col for c in range(C)])
    assert np.bincount(cloud.image_index).tolist() == [H * W] * N


def test_channel_mode():
    cloud = make_cloud(A, "channel")
    assert cloud.points.shape == (C, N * H * W)
    assert set(cloud.points[1] // 100 % 10) == {1}
    np.testing.assert_array_equal(cloud.channel_index, [0, 1])
    assert (cloud.image_index == -1).all()
    assert cloud.images_of([0, 1]).size == 0


def test_linear_and_auto():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    cloud = make_cloud(x)
    assert cloud.mode == "linear"
    np.testing.assert_array_equal(cloud.points, x)
    assert make_cloud(A).mode == "image-avgpool"


def test_standardize():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 5, size=(50, 4))
    x[:, 2] = 7.0  # a constant column is centred, not divided by zero
    cloud = make_cloud(x, standardize=True)
    np.testing.assert_allclose(cloud.points.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(cloud.points.std(0), [1, 1, 0, 1], atol=1e-12)


def test_pca_projection_matches_svd_reference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    cloud = make_cloud(x, projection="pca", n_components=2)
    centred = x - x.mean(0)
    eigvals = np.sort(np.linalg.eigvalsh(np.cov(centred.T, bias=True)))[::-1]
    # the variance along the two PCA axes equals the two largest covariance eigenvalues
    np.testing.assert_allclose(np.var(cloud.points, axis=0), eigvals[:2], rtol=1e-9)
    assert cloud.params["projection"] == "pca" and cloud.params["n_components"] == 2


def test_random_projection_is_seeded_and_roughly_isometric():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 500))
    a = make_cloud(x, projection="random", n_components=200, seed=3)
    b = make_cloud(x, projection="random", n_components=200, seed=3)
    np.testing.assert_array_equal(a.points, b.points)
    ratio = cdist(a.points, a.points)[np.triu_indices(30, 1)] / cdist(x, x)[np.triu_indices(30, 1)]
    assert 0.7 < ratio.min() and ratio.max() < 1.3


def test_random_subsample_keeps_provenance():
    cloud = make_cloud(A, "spatial", max_points=7, seed=0)
    assert cloud.n_points == 7
    for point, img, (row, col) in zip(cloud.points, cloud.image_index, cloud.position):
        np.testing.assert_array_equal(point, [1000 * img + 100 * c + 10 * row + col for c in range(C)])
    again = make_cloud(A, "spatial", max_points=7, seed=0)
    np.testing.assert_array_equal(cloud.points, again.points)
    assert cloud.params["subsample"] == "random" and cloud.params["max_points"] == 7


def test_farthest_point_subsample_matches_a_plain_reference():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 3))
    got = farthest_point_sample(x, 10, seed=5)
    # reference: plain greedy loop with scipy distances, same first point
    chosen = [got[0]]
    d = cdist(x, x)
    for _ in range(9):
        chosen.append(int(np.argmax(d[:, chosen].min(axis=1))))
    np.testing.assert_array_equal(got, chosen)
    cloud = make_cloud(x, "linear", max_points=10, subsample="farthest", seed=5)
    np.testing.assert_array_equal(cloud.image_index, got)
    np.testing.assert_array_equal(cloud.points, x[got])


def test_budget_larger_than_the_cloud_keeps_every_point():
    cloud = make_cloud(A, "image-avgpool", max_points=100)
    assert cloud.n_points == 3 and cloud.params["subsample"] is None


def test_every_mode_is_covered():
    assert set(MODES) == {"image-flatten", "image-avgpool", "image-maxpool", "image-top-l2", "image-random-position",
                          "spatial", "channel", "linear"}


# ---------------------------------------------------------------- bad input


def test_unknown_mode_suggests():
    with pytest.raises(TDAInputError, match=r"must be one of .* Got 'spatail' instead. Did you mean 'spatial'"):
        make_cloud(A, "spatail")


def test_mode_that_does_not_fit_the_layer():
    with pytest.raises(TDAInputError, match=r"needs a convolutional layer's output .* shape \(4, 3\)"):
        make_cloud(np.zeros((4, 3)), "image-avgpool")


def test_empty_and_non_finite():
    with pytest.raises(TDAInputError, match="hold no image"):
        make_cloud(np.zeros((0, 3)))
    x = np.ones((4, 3))
    x[1, 1] = np.inf
    with pytest.raises(TDAInputError, match="1 non-finite"):
        make_cloud(x, layer="fc")


def test_budget_checked_before_building():
    big = np.zeros((10, 8, 30, 30), dtype=np.float32)  # spatial: 9000 points x 8 dims x 8 B = 576 KB
    with pytest.raises(BudgetExceededError, match=r"9000 points in 8 dimensions.*Lower max_points"):
        make_cloud(big, "spatial", max_bytes=100_000)
    # with a random point budget only the sample is built, so it fits
    assert make_cloud(big, "spatial", max_points=500, max_bytes=100_000).n_points == 500


def test_projection_needs_components():
    with pytest.raises(TDAInputError, match="needs n_components"):
        make_cloud(A, projection="pca")
