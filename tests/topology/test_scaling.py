"""Tests of tda_widgets.topology.scaling against scipy and closed forms."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from tda_widgets.errors import TDAInputError
from tda_widgets.topology.scaling import pairwise_distances, rescale_points, validate_cloud


@pytest.mark.parametrize("shape", [(1, 3), (7, 1), (40, 5), (30, 300)])
def test_pairwise_distances_equals_cdist(shape):
    rng = np.random.default_rng(0)
    points = rng.normal(size=shape) * 10 + 3
    distances = pairwise_distances(points)
    assert distances.shape == (shape[0], shape[0])
    assert distances.dtype == np.float64
    np.testing.assert_allclose(distances, cdist(points, points), rtol=1e-9, atol=1e-9)
    assert np.array_equal(distances, distances.T)
    assert np.all(np.diagonal(distances) == 0.0)
    assert np.all(distances >= 0.0)


def test_pairwise_distances_duplicates_are_exactly_zero_not_nan():
    # Gram trick rounding makes tiny negatives for coincident points; they must clamp to 0.
    points = np.array([[1e3, 1e-3, 7.0]] * 4 + [[0.0, 0.0, 0.0]])
    distances = pairwise_distances(points)
    assert not np.isnan(distances).any()
    np.testing.assert_allclose(distances[:4, :4], 0.0, atol=1e-6)
    np.testing.assert_allclose(distances[0, 4], np.linalg.norm(points[0]), rtol=1e-12)


def test_rescale_median_closed_form():
    # Points 0, 1, 3 on a line: pairwise distances 1, 2, 3 -> median 2.
    points = np.array([[0.0], [1.0], [3.0]])
    scaled, factor = rescale_points(points, scale="median")
    assert factor == pytest.approx(2.0)
    np.testing.assert_allclose(scaled, points / 2.0)
    upper = cdist(scaled, scaled)[np.triu_indices(3, 1)]
    assert np.median(upper) == pytest.approx(1.0)


def test_rescale_diameter_closed_form():
    # Unit square scaled by 10: diameter 10 * sqrt(2).
    points = 10.0 * np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    scaled, factor = rescale_points(points, scale="diameter")
    assert factor == pytest.approx(10 * np.sqrt(2))
    assert cdist(scaled, scaled).max() == pytest.approx(1.0)


def test_rescale_none_returns_copy_and_unit_factor():
    points = np.array([[0.0, 1.0], [2.0, 3.0]])
    scaled, factor = rescale_points(points, scale="none")
    assert factor == 1.0
    np.testing.assert_array_equal(scaled, points)
    scaled[0, 0] = 99.0
    assert points[0, 0] == 0.0


def test_rescale_constant_cloud_raises_with_fix():
    with pytest.raises(TDAInputError, match="all points are equal; the layer is constant"):
        rescale_points(np.ones((5, 3)))
    with pytest.raises(TDAInputError, match="scale='none'"):
        rescale_points(np.ones((5, 3)), scale="diameter")


def test_rescale_median_zero_with_duplicates_suggests_diameter():
    points = np.array([[0.0]] * 4 + [[1.0]])
    with pytest.raises(TDAInputError, match="scale='diameter'"):
        rescale_points(points, scale="median")
    _, factor = rescale_points(points, scale="diameter")
    assert factor == 1.0


def test_rescale_unknown_scale():
    with pytest.raises(TDAInputError, match=r"'scale' parameter .* Got 'medain'"):
        rescale_points(np.eye(3), scale="medain")


def test_validate_cloud_returns_float64_contiguous():
    points = np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2]
    out = validate_cloud(points)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, points)


def test_validate_cloud_errors():
    with pytest.raises(TDAInputError, match=r"Got shape \(5,\); reshape to \(5, 1\)"):
        validate_cloud(np.arange(5.0))
    with pytest.raises(TDAInputError, match="at least 2 points. Got an empty cloud"):
        validate_cloud(np.empty((0, 3)))
    with pytest.raises(TDAInputError, match=r"at least 2 points. Got 1 point"):
        validate_cloud(np.zeros((1, 3)))
    bad = np.zeros((4, 2))
    bad[1, 0] = np.nan
    bad[2, 1] = np.inf
    bad[3, 0] = -np.inf
    with pytest.raises(TDAInputError, match="1 NaN and 2 infinite"):
        validate_cloud(bad)
    with pytest.raises(TDAInputError, match="'acts' parameter must be a 2-D array"):
        validate_cloud(np.zeros((2, 3, 4)), name="acts")
    with pytest.raises(TypeError):
        validate_cloud([["a", "b"], ["c", "d"]])
