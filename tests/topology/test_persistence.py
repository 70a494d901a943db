"""Tests of tda_widgets.topology.persistence against direct ripser calls and known shapes."""

import numpy as np
import pytest
from ripser import ripser
from scipy.spatial.distance import cdist

from tda_widgets.errors import BudgetExceededError, TDAInputError, TDATypeError
from tda_widgets.topology.persistence import (
    PersistenceResult,
    bar_points,
    estimate_persistence_cost,
    persistence,
)

BACKENDS = ["ripser", "giotto-ph"]


def _sorted(diagram):
    diagram = np.asarray(diagram, dtype=np.float64)
    return diagram[np.lexsort((diagram[:, 1], diagram[:, 0]))]


def _noisy_circle(n=80, noise=0.05, seed=1):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(theta), np.sin(theta)] + noise * rng.normal(size=(n, 2))


def _random_cloud(n=60, dims=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dims))


def _assert_same_diagrams(result, reference):
    assert len(result.diagrams) == len(reference)
    for ours, ref in zip(result.diagrams, reference):
        ref = _sorted(ref)
        assert ours.dtype == np.float64 and ours.shape == ref.shape
        assert np.array_equal(np.isinf(ours), np.isinf(ref))
        finite = np.isfinite(ref)
        np.testing.assert_allclose(ours[finite], ref[finite], atol=1e-6, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "cloud",
    [_random_cloud(), _random_cloud(40, 300, seed=3), _noisy_circle()],
    ids=["random-5d", "random-300d", "noisy-circle"],
)
def test_diagrams_equal_direct_ripser(backend, cloud):
    reference = ripser(cloud, maxdim=1)["dgms"] if cloud.shape[0] > cloud.shape[1] else None
    if reference is None:  # ripser warns "transpose?" on wide clouds; feed it the distances
        reference = ripser(cdist(cloud, cloud), maxdim=1, distance_matrix=True)["dgms"]
    result = persistence(cloud, maxdim=1, backend=backend)
    assert isinstance(result, PersistenceResult)
    assert result.backend == backend and result.maxdim == 1
    assert result.n_points == len(cloud)
    assert result.representatives is None
    _assert_same_diagrams(result, reference)
    # H0 has exactly one infinite bar, and diagrams are sorted by (birth, death).
    assert np.isinf(result.diagrams[0][:, 1]).sum() == 1
    for diagram in result.diagrams:
        assert np.array_equal(diagram, _sorted(diagram))


@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_and_coefficients_pass_through(backend):
    cloud = _noisy_circle(50, seed=4)
    reference = ripser(cloud, maxdim=2, thresh=0.6, coeff=3)["dgms"]
    result = persistence(cloud, maxdim=2, backend=backend, thresh=0.6, coeff=3)
    _assert_same_diagrams(result, reference)


def test_distance_matrix_input_equals_ripser():
    cloud = _random_cloud(30, 4, seed=7)
    distances = cdist(cloud, cloud, metric="cityblock")
    reference = ripser(distances, maxdim=1, distance_matrix=True)["dgms"]
    for backend in BACKENDS:
        _assert_same_diagrams(
            persistence(distances, backend=backend, distance_matrix=True), reference
        )


def test_auto_backend_choice_is_recorded():
    cloud = _random_cloud(20, 3)
    assert persistence(cloud).backend == "giotto-ph"
    assert persistence(cloud, representatives=True).backend == "ripser"


def test_noisy_circle_has_one_dominant_loop():
    result = persistence(_noisy_circle(), maxdim=1)
    lifetimes = np.sort(np.diff(result.diagrams[1], axis=1).ravel())[::-1]
    assert lifetimes[0] > 1.0  # radius-1 circle: born ~0.3, dies ~sqrt(3)
    assert lifetimes[0] > 5 * lifetimes[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_h0_representatives_are_merging_edges(backend):
    cloud = _random_cloud(40, 3, seed=5)
    distances = cdist(cloud, cloud)
    result = persistence(cloud, maxdim=1, backend=backend, representatives=True)
    h0 = result.diagrams[0]
    assert len(result.representatives[0]) == len(h0)
    for k, (birth, death) in enumerate(h0):
        points = bar_points(result, 0, k)
        if np.isinf(death):
            np.testing.assert_array_equal(points, np.arange(len(cloud)))
        else:
            assert points.shape == (2,)
            assert distances[points[0], points[1]] == pytest.approx(death, abs=1e-6)
    # The merging edges form a spanning tree: they connect all points.
    edges = [bar_points(result, 0, k) for k in range(len(h0) - 1)]
    assert len({int(v) for edge in edges for v in edge}) == len(cloud)


def test_h0_infinite_bars_are_components_below_threshold():
    # Two clusters 10 apart; with thresh=1 they stay separate components.
    cloud = np.array([[0.0, 0], [0.5, 0], [0, 0.5], [10, 0], [10.5, 0]])
    result = persistence(cloud, maxdim=0, thresh=1.0, representatives=True)
    h0 = result.diagrams[0]
    infinite = np.flatnonzero(np.isinf(h0[:, 1]))
    assert len(infinite) == 2
    components = sorted(bar_points(result, 0, k).tolist() for k in infinite)
    assert components == [[0, 1, 2], [3, 4]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_h1_representative_of_circle_spans_the_circle(backend):
    cloud = _noisy_circle(80)
    result = persistence(cloud, maxdim=1, backend=backend, representatives=True)
    h1 = result.diagrams[1]
    assert len(result.representatives[1]) == len(h1)
    longest = int(np.argmax(h1[:, 1] - h1[:, 0]))
    points = bar_points(result, 1, longest)
    assert points.dtype.kind == "i" and np.array_equal(points, np.unique(points))
    radii = np.linalg.norm(cloud[points], axis=1)
    assert np.all(np.abs(radii - 1) < 0.25)  # on the circle
    angles = np.arctan2(cloud[points, 1], cloud[points, 0])
    sectors = np.unique(np.floor((angles + np.pi) / (2 * np.pi) * 8).astype(int) % 8)
    assert len(sectors) == 8  # all the way round
    # The loop is at the scale of the birth: consecutive points are at most "birth" apart,
    # so there are many points, not a handful.
    assert len(points) >= 2 * np.pi / h1[longest, 0] - 1
    # Every H1 representative is a loop (>= 3 points) containing its birth edge.
    distances = cdist(cloud, cloud)
    for k, (birth, _death) in enumerate(h1):
        loop = bar_points(result, 1, k)
        assert len(loop) >= 3
        assert np.min(np.abs(distances[np.ix_(loop, loop)] - birth)) < 1e-6


def test_h2_representatives_present_for_each_bar():
    rng = np.random.default_rng(2)
    sphere = rng.normal(size=(40, 3))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
    for backend in BACKENDS:
        result = persistence(sphere, maxdim=2, backend=backend, representatives=True)
        h2 = result.diagrams[2]
        assert len(h2) >= 1
        assert len(result.representatives[2]) == len(h2)
        longest = int(np.argmax(h2[:, 1] - h2[:, 0]))
        assert len(bar_points(result, 2, longest)) >= 3


def test_estimate_persistence_cost_closed_form():
    cost = estimate_persistence_cost(1000, 64, 1)
    assert cost["n_points"] == 1000 and cost["n_dims"] == 64 and cost["maxdim"] == 1
    assert cost["distance_matrix_bytes"] == 1000 * 1000 * 8
    assert cost["estimated_bytes"] >= cost["distance_matrix_bytes"]
    assert (
        estimate_persistence_cost(1000, 64, 2)["estimated_bytes"]
        > estimate_persistence_cost(1000, 64, 1)["estimated_bytes"]
    )


def test_budget_checked_before_running():
    cloud = _random_cloud(200, 3)
    estimate = estimate_persistence_cost(200, 3, 1)["estimated_bytes"]
    with pytest.raises(BudgetExceededError, match="lower the point budget|Lower the point"):
        persistence(cloud, max_memory_bytes=estimate - 1)
    with pytest.raises(MemoryError, match="max_memory_bytes"):
        persistence(cloud, max_memory_bytes=1000)
    assert len(persistence(cloud, max_memory_bytes=estimate).diagrams) == 2
    assert len(persistence(cloud, max_memory_bytes=None).diagrams) == 2


def test_input_errors():
    cloud = _random_cloud(10, 2)
    with pytest.raises(TDAInputError, match=r"shape \(10,\)"):
        persistence(np.arange(10.0))
    with pytest.raises(TDAInputError, match="1 NaN"):
        bad = cloud.copy()
        bad[3, 1] = np.nan
        persistence(bad)
    with pytest.raises(TDAInputError, match="maxdim.*>= 0"):
        persistence(cloud, maxdim=-1)
    with pytest.raises(TDATypeError, match="maxdim"):
        persistence(cloud, maxdim=1.5)
    with pytest.raises(TDAInputError, match=r"maxdim=2 needs at least 4 points. Got 3"):
        persistence(cloud[:3], maxdim=2)
    with pytest.raises(TDAInputError, match=r"at least 2 points. Got 1 point"):
        persistence(cloud[:1], maxdim=0)
    with pytest.raises(TDAInputError, match=r"'backend' .*'auto'.*Got 'gudhi'"):
        persistence(cloud, backend="gudhi")
    with pytest.raises(TDAInputError, match="coeff"):
        persistence(cloud, coeff=4)
    with pytest.raises(TDAInputError, match="thresh"):
        persistence(cloud, thresh=-1.0)
    with pytest.raises(TDAInputError, match="n_threads"):
        persistence(cloud, n_threads=0)


def test_distance_matrix_errors():
    cloud = _random_cloud(8, 2)
    distances = cdist(cloud, cloud)
    with pytest.raises(TDAInputError, match="square"):
        persistence(distances[:, :5], distance_matrix=True)
    asymmetric = distances.copy()
    asymmetric[1, 2] += 0.5
    with pytest.raises(TDAInputError, match=r"symmetric. Got D\[1, 2\]"):
        persistence(asymmetric, distance_matrix=True)
    nan_matrix = distances.copy()
    nan_matrix[1, 2] = nan_matrix[2, 1] = np.nan  # ripser would silently accept this
    with pytest.raises(TDAInputError, match="2 NaN"):
        persistence(nan_matrix, distance_matrix=True)
    negative = distances.copy()
    negative[1, 2] = negative[2, 1] = -1.0
    with pytest.raises(TDAInputError, match="negative"):
        persistence(negative, distance_matrix=True)
    diagonal = distances + np.eye(8)
    with pytest.raises(TDAInputError, match="diagonal"):
        persistence(diagonal, distance_matrix=True)


def test_bar_points_errors():
    cloud = _random_cloud(10, 2)
    with pytest.raises(TDAInputError, match="representatives=True"):
        bar_points(persistence(cloud), 0, 0)
    result = persistence(cloud, representatives=True)
    with pytest.raises(TDAInputError, match=r"'dim' .*\[0, 1\]. Got 2"):
        bar_points(result, 2, 0)
    with pytest.raises(TDAInputError, match=r"'bar_index' .*H0 has 10 bars\). Got 10"):
        bar_points(result, 0, 10)
    with pytest.raises(TypeError, match="PersistenceResult"):
        bar_points({"dgms": []}, 0, 0)


def test_result_is_frozen():
    result = persistence(_random_cloud(6, 2))
    with pytest.raises(AttributeError):
        result.backend = "other"
