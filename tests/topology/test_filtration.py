"""The Rips complex at a value, Betti numbers, representative cycles and 2-D maps (issue 32),
checked against direct ripser and gudhi calls, brute-force counts and scikit-learn."""

import doctest
import itertools

import gudhi
import numpy as np
import pytest
from ripser import ripser
from scipy.spatial.distance import pdist, squareform

import tda_widgets.topology.embedding as embedding_module
import tda_widgets.topology.filtration as filtration_module
from tda_widgets.errors import BudgetExceededError, TDAInputError
from tda_widgets.topology import persistence
from tda_widgets.topology.embedding import embed_2d, procrustes_align
from tda_widgets.topology.filtration import betti_numbers, representative_cycle, rips_complex


def circle(n=40, noise=0.03, seed=0, centre=(0.0, 0.0), radius=1.0):
    rng = np.random.default_rng(seed)
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.5 * np.pi / n, n)
    return np.c_[centre[0] + radius * np.cos(theta), centre[1] + radius * np.sin(theta)] + noise * rng.standard_normal((n, 2))


def two_circles(seed=0):
    return np.vstack([circle(30, seed=seed), circle(30, seed=seed + 1, centre=(3.0, 0.0))])


def figure_eight(seed=0):
    # two loops sharing a point: a lemniscate of Gerono
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    return np.c_[np.cos(t), np.sin(2 * t) / 2] + 0.01 * rng.standard_normal((60, 2))


SHAPES = {"circle": circle(), "two circles": two_circles(), "figure eight": figure_eight()}


def gudhi_betti(points, value):
    tree = gudhi.RipsComplex(points=points, max_edge_length=value).create_simplex_tree(max_dimension=2)
    tree.compute_persistence(persistence_dim_max=True)
    betti = tree.betti_numbers() + [0, 0]
    return betti[0], betti[1]


@pytest.mark.parametrize("name", SHAPES)
def test_betti_numbers_equal_ripser_bars_alive_and_gudhis_complex(name):
    points = SHAPES[name]
    dgms = ripser(points)["dgms"]
    result = persistence(points, backend="ripser")
    d = pdist(points)
    for value in np.quantile(d, [0.01, 0.03, 0.08, 0.15, 0.3, 0.6]):
        alive = tuple(int(np.sum((g[:, 0] <= value) & (value < g[:, 1]))) for g in dgms)
        assert betti_numbers(result.diagrams, value) == alive
        assert betti_numbers(result.diagrams, value) == gudhi_betti(points, value)


def test_the_known_shapes_have_their_loops():
    # a value where each shape's loops are all formed and not yet filled
    assert betti_numbers(persistence(SHAPES["circle"]).diagrams, 0.6)[1] == 1
    assert betti_numbers(persistence(SHAPES["two circles"]).diagrams, 0.6) == (2, 2)
    assert betti_numbers(persistence(SHAPES["figure eight"]).diagrams, 0.3)[1] == 2


def test_complex_edges_and_triangles_equal_brute_force_counts():
    points = circle(25, noise=0.2, seed=4)
    d = squareform(pdist(points))
    for value in (0.2, 0.5, 1.0):
        complex_ = rips_complex(points, value)
        edges = [(i, j) for i, j in itertools.combinations(range(25), 2) if d[i, j] <= value]
        triangles = [(i, j, k) for i, j, k in itertools.combinations(range(25), 3)
                     if d[i, j] <= value and d[j, k] <= value and d[i, k] <= value]
        assert complex_.edges.tolist() == [list(e) for e in edges]
        assert complex_.triangles.tolist() == [list(t) for t in triangles]
        assert complex_.n_points == 25 and complex_.value == value


def test_complex_refuses_too_many_triangles_before_listing_them():
    points = np.random.default_rng(0).standard_normal((60, 3))
    with pytest.raises(BudgetExceededError, match="max_triangles=100"):
        rips_complex(points, 10.0, max_triangles=100)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "1", True])
def test_complex_rejects_bad_values(bad):
    with pytest.raises(TDAInputError, match="'value' parameter of rips_complex"):
        rips_complex([[0, 0], [1, 1]], bad)


def _check_cycle(points, cycle, birth):
    assert len(cycle) >= 3
    for (a, b), (c, _) in zip(cycle, cycle[1:] + cycle[:1]):
        assert b == c  # each edge starts where the last one ended; the last closes the loop
    d = squareform(pdist(points))
    # in ripser's float32: the edges are in the complex at the bar's birth
    assert all(np.float32(d[a, b]) <= np.float32(birth) for a, b in cycle)
    assert len({a for a, _ in cycle}) == len(cycle)  # a simple loop


def winding_number(points, cycle, centre):
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    total = 0.0
    for a, b in cycle:
        step = angles[b] - angles[a]
        total += (step + np.pi) % (2 * np.pi) - np.pi
    return total / (2 * np.pi)


@pytest.mark.parametrize("name", SHAPES)
def test_every_h1_cycle_is_closed_and_born_with_its_bar(name):
    points = SHAPES[name]
    h1 = persistence(points, backend="ripser").diagrams[1]
    assert len(h1) >= 1
    for index in range(len(h1)):
        _check_cycle(points, representative_cycle(points, index), h1[index, 0])


def test_the_circles_long_bar_winds_once_around_it():
    points = circle(50, noise=0.05, seed=2)
    h1 = persistence(points).diagrams[1]
    longest = int(np.argmax(h1[:, 1] - h1[:, 0]))
    cycle = representative_cycle(points, longest)
    assert abs(round(winding_number(points, cycle, (0.0, 0.0)))) == 1
    assert len(cycle) > 20  # around the circle, not a small noise loop


def test_regular_polygon_ties_still_give_a_loop():
    theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    points = np.c_[np.cos(theta), np.sin(theta)]
    cycle = representative_cycle(points, 0)
    assert len(cycle) == 12 and abs(round(winding_number(points, cycle, (0, 0)))) == 1


def test_cycle_rejects_an_index_outside_the_diagram():
    with pytest.raises(TDAInputError, match=r"'bar_index' parameter of representative_cycle .*\(0 to 0; it has 1 bars\)"):
        representative_cycle(circle(20, noise=0.0), 5)


# --- 2-D maps ---------------------------------------------------------------------------


def test_pca_map_equals_sklearn_pca_up_to_sign():
    from sklearn.decomposition import PCA

    x = np.random.default_rng(3).standard_normal((80, 12)) @ np.diag(np.linspace(3, 0.1, 12))
    ours = embed_2d(x)
    theirs = PCA(n_components=2).fit_transform(x)
    for k in range(2):
        sign = np.sign(ours[:, k] @ theirs[:, k])
        np.testing.assert_allclose(ours[:, k], sign * theirs[:, k], atol=1e-10)


def test_tsne_map_is_seeded():
    x = np.random.default_rng(0).standard_normal((40, 5))
    np.testing.assert_array_equal(embed_2d(x, "tsne", seed=1), embed_2d(x, "tsne", seed=1))
    assert embed_2d(x, "tsne").shape == (40, 2)


def test_unknown_method_names_the_choices():
    with pytest.raises(TDAInputError, match="'method' parameter of embed_2d must be one of"):
        embed_2d(np.eye(3), "isomap")


def test_procrustes_never_increases_the_mean_displacement():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.standard_normal((30, 2))
        b = a @ np.linalg.qr(rng.standard_normal((2, 2)))[0] + 0.3 * rng.standard_normal((30, 2)) + rng.standard_normal(2)
        aligned = procrustes_align(a, b)
        before = np.mean(np.sum((b - b.mean(0) + a.mean(0) - a) ** 2, axis=1))
        after = np.mean(np.sum((aligned - a) ** 2, axis=1))
        assert after <= before + 1e-12
        # an orthogonal map: pairwise distances within the moving map are kept
        np.testing.assert_allclose(pdist(aligned), pdist(b), atol=1e-10)


@pytest.mark.parametrize("module", [filtration_module, embedding_module])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module)
    assert attempted > 0 and failures == 0
