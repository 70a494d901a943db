"""The study's settings as presets, the knee radius, cross-model comparison and the sensitivity
test (issue 19, deliverables 3-5), each against a direct computation written out here."""

import numpy as np
import pytest

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.topology.mapper import MapperSpec, knee_eps, knee_index, mapper_graph


# ------------------------------------------------------------------ the knee radius


def farthest_below_chord(y):
    """The knee written out geometrically: rescale both axes to [0, 1], then the point with the
    largest perpendicular distance below the line through the first and last points."""
    y = np.asarray(y, dtype=float)
    x = np.linspace(0.0, 1.0, len(y))
    yn = (y - y[0]) / (y[-1] - y[0])
    # signed distance to the line through (0, 0) and (1, 1): positive below it
    distance = (x - yn) / np.hypot(1.0, 1.0)
    return int(np.argmax(distance)), distance


def test_knee_index_is_the_point_farthest_below_the_chord_of_a_constructed_curve():
    # a flat run, then a steep rise: the knee is where the rise starts
    curve = np.r_[np.linspace(0.0, 1.0, 40), 1.0 + np.linspace(0.5, 20.0, 10) ** 1.5]
    expected, distance = farthest_below_chord(curve)
    assert distance[expected] > 0.5
    assert knee_index(curve) == expected == 40   # the first, still low, point of the rise
    # also for an exponential curve, whose knee is not at a corner
    curve = np.exp(np.linspace(0, 6, 101))
    assert knee_index(curve) == farthest_below_chord(curve)[0]


def test_a_curve_without_a_knee_has_none():
    assert knee_index(np.linspace(0, 1, 20)) is None          # a straight line: on the chord
    assert knee_index(np.sqrt(np.linspace(0, 1, 20))) is None  # concave: above the chord
    assert knee_index(np.ones(10)) is None


def test_knee_eps_equals_the_knee_of_nearest_neighbour_distances_computed_directly():
    # points on a line with gaps chosen so that the sorted nearest-neighbour curve has a knee
    rng = np.random.default_rng(4)
    gaps = np.r_[rng.uniform(0.1, 0.2, 60), rng.uniform(2.0, 6.0, 8)]
    rng.shuffle(gaps)
    points = np.c_[np.cumsum(np.r_[0.0, gaps]), np.zeros(len(gaps) + 1)]
    d = np.abs(points[:, 0][:, None] - points[:, 0][None, :])
    np.fill_diagonal(d, np.inf)
    curve = np.sort(d.min(axis=1))               # each point's distance to its nearest other point
    index, _ = farthest_below_chord(curve)
    eps, source = knee_eps(points)
    assert source == "knee"
    assert eps == pytest.approx(curve[index], rel=1e-12)
    assert 0.1 <= eps <= 0.2                      # a within-cluster gap, not a between-cluster one


def test_knee_eps_without_a_knee_uses_the_median():
    points = np.c_[np.arange(10.0), np.zeros(10)]   # every nearest-neighbour distance is 1
    assert knee_eps(points) == (1.0, "knee-median")


def test_eps_knee_is_an_option_of_mapper_anyone_can_choose():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(150, 4))
    graph = mapper_graph(points, lens="l2norm", eps="knee", min_samples=5, overlap=0.5)
    assert graph.params["eps"] == pytest.approx(knee_eps(points)[0])
    assert graph.params["eps_source"] == "knee"
    assert MapperSpec(eps="knee").eps == "knee"
    assert MapperSpec(eps=0.25).eps == 0.25
    with pytest.raises(TDAInputError, match=r"'eps'.*one of \[None, 'knee'\] or a number.*Did you mean 'knee'"):
        MapperSpec(eps="kne")
    with pytest.raises(TDATypeError, match="'eps'"):
        MapperSpec(eps=True)
    with pytest.raises(TDAInputError, match="'eps'"):
        mapper_graph(points, eps="elbow")
