"""Tests of tda_widgets.topology.distances against persim and hand-computed diagrams."""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import persim
import pytest

from tda_widgets.errors import Cancelled, TDAInputError, TDATypeError
from tda_widgets.topology import distances
from tda_widgets.topology.distances import (
    METRICS,
    diagram_distance,
    diagrams_distance,
    layer_distance_matrix,
    matching,
)

INF = np.inf


def _random_diagram(rng, n):
    birth = rng.uniform(0, 1, n)
    return np.c_[birth, birth + rng.uniform(0, 1, n) * rng.uniform(0, 1, n)]


def _persim(function, a, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # persim's matching notice
        return function(a, b, **kw)


@pytest.mark.parametrize("sizes", [(5, 8), (40, 33), (0, 6), (1, 1)])
def test_finite_distances_equal_persim(sizes):
    rng = np.random.default_rng(sum(sizes))
    a, b = _random_diagram(rng, sizes[0]), _random_diagram(rng, sizes[1])
    assert diagram_distance(a, b, "bottleneck") == pytest.approx(
        _persim(persim.bottleneck, a, b), abs=1e-9
    )
    assert diagram_distance(a, b, "wasserstein-1") == pytest.approx(
        _persim(persim.wasserstein, a, b), rel=1e-7, abs=1e-9
    )
    assert diagram_distance(a, b, "sliced-wasserstein", n_directions=20) == pytest.approx(
        persim.sliced_wasserstein(a, b, M=20), rel=1e-9, abs=1e-9
    )


def test_wasserstein2_closed_form():
    # a = {(0, 2)}, b = {(0, 1), (3, 4)}: (0,2)<->(0,1) costs 1; (3,4) to the diagonal costs
    # 1/sqrt(2). W2 = sqrt(1 + 1/2). Matching (0,2) with the diagonal instead costs more.
    a = np.array([[0.0, 2.0]])
    b = np.array([[0.0, 1.0], [3.0, 4.0]])
    assert diagram_distance(a, b, "wasserstein-2") == pytest.approx(np.sqrt(1.5), rel=1e-9)
    assert diagram_distance(a, b, "wasserstein-1") == pytest.approx(1 + 1 / np.sqrt(2))
    assert diagram_distance(a, b, "bottleneck") == pytest.approx(1.0)


def test_identical_diagrams_are_at_distance_zero():
    a = np.array([[0.0, 1.0], [0.2, 0.9], [0.0, INF]])
    for metric in METRICS:
        assert diagram_distance(a, a.copy(), metric) == pytest.approx(0.0, abs=1e-7)


# --- infinite bars ------------------------------------------------------------------------

A_INF = np.array([[0.0, 1.0], [0.5, INF]])
B_INF = np.array([[0.0, 1.25], [2.0, INF]])


def test_infinite_match_bottleneck():
    # Finite part: |1 - 1.25| = 0.25; infinite births 0.5 vs 2 -> 1.5; max = 1.5.
    assert diagram_distance(A_INF, B_INF, "bottleneck") == pytest.approx(1.5)


def test_infinite_match_wasserstein():
    # W1: 0.25 + 1.5; W2: sqrt(0.25**2 + 1.5**2).
    assert diagram_distance(A_INF, B_INF, "wasserstein-1") == pytest.approx(1.75)
    assert diagram_distance(A_INF, B_INF, "wasserstein-2") == pytest.approx(
        np.hypot(0.25, 1.5)
    )


def test_infinite_match_sliced_adds_the_birth_gap():
    finite = persim.sliced_wasserstein(A_INF[:1], B_INF[:1], M=50)
    assert np.isfinite(finite)
    assert diagram_distance(A_INF, B_INF, "sliced-wasserstein") == pytest.approx(finite + 1.5)


def test_infinite_match_several_bars_sorted_by_birth():
    a = np.array([[3.0, INF], [0.0, INF]])
    b = np.array([[0.5, INF], [2.0, INF]])
    # Sorted matching 0<->0.5, 3<->2: gaps 0.5 and 1.
    assert diagram_distance(a, b, "bottleneck") == pytest.approx(1.0)
    assert diagram_distance(a, b, "wasserstein-1") == pytest.approx(1.5)


def test_different_numbers_of_infinite_bars_give_inf():
    a = np.array([[0.0, 1.0], [0.0, INF]])
    b = np.array([[0.0, 1.0], [0.0, INF], [0.3, INF]])
    for metric in METRICS:
        assert diagram_distance(a, b, metric) == INF
    # gudhi (independent) agrees for bottleneck.
    import gudhi

    assert gudhi.bottleneck_distance(a, b, e=0) == INF


def test_infinite_error_and_drop():
    with pytest.raises(TDAInputError, match=r"infinite='error'.*'b' has 1 bar"):
        diagram_distance(A_INF[:1], B_INF, infinite="error")
    assert diagram_distance(A_INF[:1], B_INF[:1], infinite="error") == pytest.approx(0.25)
    # drop: only the finite bars count, like persim (which warns).
    for metric, reference in [("bottleneck", persim.bottleneck), ("wasserstein-1", persim.wasserstein)]:
        expected = _persim(reference, A_INF[:1], B_INF[:1])
        assert diagram_distance(A_INF, B_INF, metric, infinite="drop") == pytest.approx(expected)
    b_extra = np.vstack([B_INF, [[0.0, INF]]])
    assert diagram_distance(A_INF, b_extra, infinite="drop") == pytest.approx(0.25)


def test_matches_gudhi_on_diagrams_with_infinite_bars():
    # gudhi's own infinite-bar handling is the policy "match" for bottleneck/Wasserstein.
    import gudhi
    import gudhi.hera

    rng = np.random.default_rng(3)
    a = np.vstack([_random_diagram(rng, 10), [[0.1, INF], [0.7, INF]]])
    b = np.vstack([_random_diagram(rng, 12), [[0.0, INF], [0.2, INF]]])
    assert diagram_distance(a, b) == pytest.approx(gudhi.bottleneck_distance(a, b, e=0))
    for p in (1, 2):
        expected = gudhi.hera.wasserstein_distance(a, b, order=p, internal_p=2, delta=1e-10)
        assert diagram_distance(a, b, f"wasserstein-{p}") == pytest.approx(expected, rel=1e-7)


# --- validation ---------------------------------------------------------------------------


def test_diagram_validation_errors():
    with pytest.raises(TDAInputError, match=r"row 1: \[2.0, 1.0\]"):
        diagram_distance([[0, 1], [2, 1]], [[0, 1]])
    with pytest.raises(TDAInputError, match=r"NaN.*row 0"):
        diagram_distance([[0, np.nan]], [[0, 1]])
    with pytest.raises(TDAInputError, match="finite births.*row 0"):
        diagram_distance([[-INF, 1.0]], [[0, 1]])
    with pytest.raises(TDAInputError, match=r"shape \(n_bars, 2\).*Got shape \(2, 3\)"):
        diagram_distance(np.zeros((2, 3)), [[0, 1]])
    with pytest.raises(TDAInputError, match=r"'metric' parameter of diagram_distance .*Got 'botleneck'"):
        diagram_distance([[0, 1]], [[0, 1]], "botleneck")
    with pytest.raises(TDAInputError, match="'infinite'"):
        diagram_distance([[0, 1]], [[0, 1]], infinite="ignore")
    with pytest.raises(TDAInputError, match="n_directions"):
        diagram_distance([[0, 1]], [[0, 1]], "sliced-wasserstein", n_directions=0)


def test_empty_diagrams():
    assert diagram_distance(np.empty((0, 2)), [], "wasserstein-1") == 0.0
    assert diagram_distance([], [[0.0, 2.0]], "bottleneck") == pytest.approx(1.0)


# --- several dimensions -------------------------------------------------------------------

DGMS_A = [np.array([[0.0, 1.0], [0.0, INF]]), np.array([[0.0, 3.0]])]
DGMS_B = [np.array([[0.0, 2.0], [0.0, INF]]), np.array([[0.0, 1.0]])]


def test_diagrams_distance_combines_dimensions():
    # H0: bottleneck 1, W1 1, W2 1. H1: (0,3) vs (0,1): bottleneck 1.5 (both to diagonal),
    # W1 2 (direct match; to-diagonal costs 3/sqrt2 + 1/sqrt2 = 2.83), W2 2.
    assert diagrams_distance(DGMS_A, DGMS_B, "bottleneck") == pytest.approx(1.5)
    assert diagrams_distance(DGMS_A, DGMS_B, "wasserstein-1") == pytest.approx(3.0)
    assert diagrams_distance(DGMS_A, DGMS_B, "wasserstein-2") == pytest.approx(np.sqrt(5.0))
    expected = sum(persim.sliced_wasserstein(a[np.isfinite(a[:, 1])], b[np.isfinite(b[:, 1])])
                   for a, b in zip(DGMS_A, DGMS_B))
    assert diagrams_distance(DGMS_A, DGMS_B, "sliced-wasserstein") == pytest.approx(expected)
    assert diagrams_distance(DGMS_A, DGMS_B, dims=(1,)) == pytest.approx(1.5)
    assert diagrams_distance(DGMS_A, DGMS_B, dims=[0]) == pytest.approx(1.0)


def test_diagrams_distance_accepts_persistence_results():
    from tda_widgets.topology.persistence import persistence

    rng = np.random.default_rng(0)
    r1 = persistence(rng.normal(size=(20, 2)))
    r2 = persistence(rng.normal(size=(20, 2)))
    assert diagrams_distance(r1, r2) == pytest.approx(diagrams_distance(r1.diagrams, r2.diagrams))


def test_diagrams_distance_dimension_errors():
    with pytest.raises(TDAInputError, match="different homology dimensions.*'dgms_b' holds H0..H0"):
        diagrams_distance(DGMS_A, DGMS_B[:1])
    with pytest.raises(TDAInputError, match="'dims'"):
        diagrams_distance(DGMS_A, DGMS_B, dims=())
    with pytest.raises(TDATypeError, match="list of diagrams"):
        diagrams_distance(5, DGMS_B)
    with pytest.raises(TypeError, match="unexpected keyword"):
        diagrams_distance(DGMS_A, DGMS_B, infinity="drop")


# --- matchings ----------------------------------------------------------------------------


def _matching_cost(a, b, pairs, metric):
    """Cost of a matching computed by hand (independent of the code under test)."""
    costs = []
    for i, j in pairs:
        if i >= 0 and j >= 0:
            if metric == "bottleneck":
                costs.append(np.max(np.abs(a[i] - b[j])))
            else:
                costs.append(np.linalg.norm(a[i] - b[j]))
        else:
            point = a[i] if i >= 0 else b[j]
            half = (point[1] - point[0]) / 2
            costs.append(half if metric == "bottleneck" else half * np.sqrt(2))
    costs = np.array(costs)
    if metric == "bottleneck":
        return costs.max()
    p = 2 if metric == "wasserstein-2" else 1
    return np.sum(costs**p) ** (1 / p)


@pytest.mark.parametrize("metric", ["bottleneck", "wasserstein-1", "wasserstein-2"])
def test_matching_is_optimal_and_complete(metric):
    rng = np.random.default_rng(11)
    a, b = _random_diagram(rng, 12), _random_diagram(rng, 9)
    value, pairs = matching(a, b, metric)
    assert pairs.dtype.kind == "i" and pairs.shape[1] == 2
    assert sorted(pairs[pairs[:, 0] >= 0, 0].tolist()) == list(range(len(a)))
    assert sorted(pairs[pairs[:, 1] >= 0, 1].tolist()) == list(range(len(b)))
    assert value == pytest.approx(diagram_distance(a, b, metric), rel=1e-7)
    assert _matching_cost(a, b, pairs, metric) == pytest.approx(value, rel=1e-7)
    if metric == "bottleneck":
        assert value == pytest.approx(_persim(persim.bottleneck, a, b), abs=1e-12)
    elif metric == "wasserstein-1":
        assert value == pytest.approx(_persim(persim.wasserstein, a, b), rel=1e-12)


def test_matching_maps_back_to_rows_with_infinite_bars():
    a = np.array([[0.0, INF], [0.0, 1.0], [0.1, 0.2]])
    b = np.array([[0.0, 1.1], [0.4, INF]])
    value, pairs = matching(a, b)
    assert value == pytest.approx(0.4)  # infinite births 0 vs 0.4
    assert {tuple(p) for p in pairs.tolist()} == {(1, 0), (2, -1), (0, 1)}
    value, pairs = matching(a, b, infinite="drop")
    assert value == pytest.approx(0.1)
    assert {tuple(p) for p in pairs.tolist()} == {(1, 0), (2, -1)}
    value, pairs = matching(a, b[:1])
    assert value == INF
    assert (0, -1) in {tuple(p) for p in pairs.tolist()}


def test_matching_with_an_empty_side():
    value, pairs = matching([[0.0, 2.0], [1.0, 1.5]], np.empty((0, 2)))
    assert value == pytest.approx(1.0)
    assert pairs.tolist() == [[0, -1], [1, -1]]


def test_matching_rejects_sliced():
    with pytest.raises(TDAInputError, match="no matching"):
        matching([[0, 1]], [[0, 1]], "sliced-wasserstein")


# --- layer distance matrix ----------------------------------------------------------------


def _layers(n_layers=5, seed=0):
    rng = np.random.default_rng(seed)
    return [
        [np.vstack([_random_diagram(rng, 15), [[0.0, INF]]]), _random_diagram(rng, 6)]
        for _ in range(n_layers)
    ]


def test_layer_distance_matrix_equals_direct_persim_loop():
    layers = _layers()
    matrix = layer_distance_matrix(layers, "bottleneck", dims=(0, 1))
    assert matrix.shape == (5, 5)
    assert np.array_equal(matrix, matrix.T)
    assert np.all(np.diagonal(matrix) == 0.0)
    for i in range(5):
        for j in range(5):
            if i != j:
                # Finite parts via persim; the single infinite H0 bars are both born at 0.
                expected = max(_persim(persim.bottleneck, layers[i][d][np.isfinite(layers[i][d][:, 1])],
                                       layers[j][d][np.isfinite(layers[j][d][:, 1])])
                               for d in (0, 1))
                assert matrix[i, j] == pytest.approx(expected, abs=1e-9)


def test_each_pair_computed_once_with_progress(monkeypatch):
    calls = []
    original = distances._pair_distance

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(distances, "_pair_distance", counting)
    seen = []
    matrix = layer_distance_matrix(
        _layers(6), "wasserstein-1", progress=lambda done, total, msg: seen.append((done, total))
    )
    assert len(calls) == 6 * 5 // 2
    assert seen == [(k, 15) for k in range(1, 16)]
    assert np.all(matrix[np.triu_indices(6, 1)] > 0)


@pytest.mark.parametrize("metric", METRICS)
def test_thread_pool_equals_serial(metric):
    layers = _layers(4, seed=2)
    serial = layer_distance_matrix(layers, metric)
    with ThreadPoolExecutor(max_workers=2) as pool:
        parallel = layer_distance_matrix(layers, metric, executor=pool)
    np.testing.assert_array_equal(parallel, serial)


def test_pair_function_is_picklable():
    import pickle

    assert pickle.loads(pickle.dumps(distances._pair_distance)) is distances._pair_distance


def test_cancel_between_pairs(monkeypatch):
    cancel = threading.Event()
    done = []

    def progress(n_done, total, message):
        done.append(n_done)
        if n_done == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        layer_distance_matrix(_layers(5), progress=progress, cancel=cancel)
    assert done == [1, 2]  # stopped right after the event was set
    cancel.set()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with pytest.raises(Cancelled):
            layer_distance_matrix(_layers(5), executor=pool, cancel=cancel)


def test_layer_distance_matrix_errors():
    layers = _layers(3)
    with pytest.raises(TDAInputError, match=r"different homology dimensions: 'diagrams\[1\]'"):
        layer_distance_matrix([layers[0], layers[1][:1], layers[2]])
    with pytest.raises(TDAInputError, match=r"diagrams\[2\]\[0\].*death >= birth"):
        layer_distance_matrix([layers[0], layers[1], [np.array([[1.0, 0.0]]), layers[2][1]]])
    with pytest.raises(TDAInputError, match="'metric'"):
        layer_distance_matrix(layers, "l2")
    with pytest.raises(TDAInputError, match="infinite='error'"):
        layer_distance_matrix(layers, infinite="error")
    assert layer_distance_matrix(layers[:1]).tolist() == [[0.0]]


# --- the fast exact paths: vectorised sliced Wasserstein, one-birth (H0) Wasserstein ----------


@pytest.mark.parametrize("sizes", [(0, 7), (1, 1), (30, 45), (200, 150)])
@pytest.mark.parametrize("n_directions", [1, 7, 50])
def test_sliced_wasserstein_equals_persim(sizes, n_directions):
    rng = np.random.default_rng(sizes[0] * 7 + n_directions)
    a, b = _random_diagram(rng, sizes[0]), _random_diagram(rng, sizes[1])
    expected = persim.sliced_wasserstein(a, b, M=n_directions)
    assert diagram_distance(a, b, "sliced-wasserstein", n_directions=n_directions) == pytest.approx(
        expected, rel=1e-12, abs=1e-12)


def _h0_diagram(rng, n, birth=0.0, ties=False):
    deaths = rng.uniform(0, 1, n)
    if ties:  # repeated deaths and a bar on the diagonal
        deaths = np.round(deaths, 1)
        deaths[0] = 0.0
    return np.c_[np.full(n, birth), birth + deaths]


@pytest.mark.parametrize("metric", ["wasserstein-1", "wasserstein-2"])
@pytest.mark.parametrize("case", [(5, 5, 0.0, False), (60, 41, 0.0, True), (300, 280, 0.0, False),
                                  (9, 12, 0.37, True), (0, 4, 0.0, False)])
def test_h0_wasserstein_equals_the_assignment(metric, case):
    """Bars all born at one value take the exact dynamic programme: equal to persim's
    assignment (Wasserstein-1) and to the same assignment with squared costs (Wasserstein-2)."""
    n, m, birth, ties = case
    rng = np.random.default_rng(n + m)
    a, b = _h0_diagram(rng, n, birth, ties), _h0_diagram(rng, m, birth, ties)
    p = 2 if metric == "wasserstein-2" else 1
    expected = distances._assignment_wasserstein(a[a[:, 1] > a[:, 0]], b[b[:, 1] > b[:, 0]], p)
    if metric == "wasserstein-1" and n and m:
        assert expected == pytest.approx(_persim(persim.wasserstein, a, b), rel=1e-12)
    assert distances._one_birth(a, b) == (birth if n + m else None)
    assert diagram_distance(a, b, metric) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    value, pairs = matching(a, b, metric)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert sorted(pairs[pairs[:, 0] >= 0, 0].tolist()) == list(range(n))
    assert sorted(pairs[pairs[:, 1] >= 0, 1].tolist()) == list(range(m))
    assert _matching_cost(a, b, pairs, metric) == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_h0_wasserstein_brute_force_on_three_bars():
    """Every matching of 3 + 3 bars on one line (each bar to a bar or to the diagonal)."""
    import itertools

    a = np.array([[0.0, 0.2], [0.0, 1.0], [0.0, 3.0]])
    b = np.array([[0.0, 0.9], [0.0, 2.0], [0.0, 2.1]])
    best = np.inf
    for targets in itertools.product([-1, 0, 1, 2], repeat=3):
        used = [t for t in targets if t >= 0]
        if len(used) != len(set(used)):
            continue
        cost = sum(abs(a[i, 1] - b[t, 1]) if t >= 0 else a[i, 1] / np.sqrt(2) for i, t in enumerate(targets))
        cost += sum(b[j, 1] / np.sqrt(2) for j in range(3) if j not in used)
        best = min(best, cost)
    assert diagram_distance(a, b, "wasserstein-1") == pytest.approx(best, rel=1e-14)
