"""Diagram, barcode and matching figures: trace data against the input bars."""

import json
import numpy as np
import plotly.graph_objects as go
import pytest
from ripser import ripser

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.figures import (
    barcode_figure,
    diagram_point_to_bar,
    matching_figure,
    persistence_diagram_figure,
)


def trace(fig, name):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, f"expected one trace named {name!r}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def circle_dgms():
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, 60)
    points = np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(0, 0.05, (60, 2))
    return ripser(points, maxdim=1)["dgms"]


HAND = [
    np.array([[0.0, 0.3], [0.0, 0.7], [0.0, np.inf]]),
    np.array([[0.4, 1.2], [0.5, 0.6]]),
]


def test_diagram_points_equal_ripser_bars(circle_dgms):
    fig = persistence_diagram_figure(circle_dgms)
    top = fig.layout.meta["top"]
    finite_max = max(np.max(d[np.isfinite(d)]) for d in circle_dgms)
    assert top == pytest.approx(1.05 * finite_max)
    for dim, dgm in enumerate(circle_dgms):
        t = trace(fig, f"H{dim}")
        assert len(t.x) == len(dgm)
        finite = np.isfinite(dgm[:, 1])
        np.testing.assert_array_equal(np.asarray(t.x), dgm[:, 0])
        np.testing.assert_array_equal(np.asarray(t.y)[finite], dgm[finite, 1])
        np.testing.assert_array_equal(np.asarray(t.y)[~finite], top)
    # the noisy circle: exactly one infinite H0 bar, none in H1, one long H1 bar
    assert np.sum(np.asarray(trace(fig, "H0").y) == top) == 1
    persistence = np.asarray(trace(fig, "H1").customdata, dtype=float)[:, 4]
    assert np.sum(persistence > 0.5) == 1


def test_customdata_maps_back_to_bar():
    fig = persistence_diagram_figure(HAND)
    for dim, dgm in enumerate(HAND):
        data = np.asarray(trace(fig, f"H{dim}").customdata)
        for point, row in enumerate(data):
            assert row[0] == dim
            bar = int(row[1])
            assert bar == point  # diagram points keep input order
            assert row[2] == dgm[bar, 0]
            if np.isfinite(dgm[bar, 1]):
                assert row[3] == dgm[bar, 1] and row[4] == dgm[bar, 1] - dgm[bar, 0]
            else:  # JSON has no inf: an infinite death travels as null
                assert row[3] is None and row[4] is None
            assert diagram_point_to_bar(fig, f"H{dim}", point) == (dim, bar)
    h0 = trace(fig, "H0")
    json.dumps(fig.to_plotly_json()["data"][0]["customdata"].tolist(), allow_nan=False)  # valid JSON
    assert "death ∞" in h0.text[2] and "persistence ∞" in h0.text[2]
    assert "death 0.7" in h0.text[1] and "birth 0" in h0.text[1]


def test_reference_lines_span_the_range():
    fig = persistence_diagram_figure(HAND)
    top = 1.05 * 1.2
    assert fig.layout.meta["top"] == pytest.approx(top)
    diagonal = trace(fig, "diagonal")
    assert list(diagonal.x) == list(diagonal.y)
    low, high = fig.layout.xaxis.range
    assert tuple(fig.layout.yaxis.range) == (low, high)
    assert diagonal.x[0] == pytest.approx(low) and diagonal.x[-1] == pytest.approx(high)
    assert low <= 0.0 and high >= top
    infinity = trace(fig, "infinity")
    assert list(infinity.y) == pytest.approx([top, top])
    assert "∞" in infinity.text
    assert infinity.line.dash == "dash"


def test_trace_structure_is_stable():
    names = lambda fig: [t.name for t in fig.data]  # noqa: E731
    expected = ["H0", "H1", "diagonal", "infinity"]
    assert names(persistence_diagram_figure(HAND)) == expected
    empty = persistence_diagram_figure([np.zeros((0, 2)), []], dims=(0, 1))
    assert names(empty) == expected
    assert len(trace(empty, "H1").x) == 0
    assert empty.layout.meta["top"] == 1.0  # no finite value -> top line at 1
    # a requested dimension beyond the diagrams gets an empty trace, not a missing one
    only_h0 = persistence_diagram_figure(HAND[:1], dims=(0, 1))
    assert names(only_h0) == expected and len(trace(only_h0, "H1").x) == 0
    assert names(persistence_diagram_figure(HAND, dims=[1])) == ["H1", "diagonal", "infinity"]
    all_infinite = persistence_diagram_figure([np.array([[0.0, np.inf], [0.0, np.inf]])])
    assert list(trace(all_infinite, "H0").y) == [1.0, 1.0]


def test_template_none_and_serialisable():
    fig = persistence_diagram_figure(HAND, title="conv1")
    fig.update_layout(template=None)
    assert fig.layout.width == 460 and fig.layout.height == 420
    go.Figure(fig.to_dict())  # round-trips
    assert "conv1" in fig.to_json()


def test_barcode_lengths_equal_persistence(circle_dgms):
    fig = barcode_figure(circle_dgms)
    assert [t.name for t in fig.data] == ["H0 bars", "H1 bars", "infinite ends", "infinity"]
    top = fig.layout.meta["top"]
    for dim, dgm in enumerate(circle_dgms):
        t = trace(fig, f"H{dim} bars")
        data = np.asarray(t.customdata)
        bars = dgm[data[:, 1].astype(int)]
        assert sorted(data[:, 1].astype(int)) == list(range(len(dgm)))
        base, length = np.asarray(t.base, dtype=float), np.asarray(t.x, dtype=float)
        np.testing.assert_array_equal(base, bars[:, 0])
        finite = np.isfinite(bars[:, 1])
        np.testing.assert_allclose(length[finite], bars[finite, 1] - bars[finite, 0])
        np.testing.assert_allclose(base[~finite] + length[~finite], top)
        assert len(set(t.y)) == len(dgm)  # one row per bar
    ends = trace(fig, "infinite ends")
    n_infinite = sum(int(np.isinf(d[:, 1]).sum()) for d in circle_dgms)
    assert len(ends.x) == n_infinite == 1
    assert list(ends.x) == [top]
    assert trace(fig, "infinity").x[0] == top


def test_barcode_rows_do_not_overlap_across_dims():
    fig = barcode_figure(HAND)
    rows0, rows1 = set(trace(fig, "H0 bars").y), set(trace(fig, "H1 bars").y)
    assert not rows0 & rows1
    assert max(rows0) < min(rows1)  # H0 first
    empty = barcode_figure([[], []], dims=(0, 1))
    assert [len(t.x) for t in empty.data[:3]] == [0, 0, 0]


def test_matching_segments_join_matched_rows():
    a = np.array([[0.0, 1.0], [0.2, 0.5], [0.1, np.inf]])
    b = np.array([[0.1, 1.1], [0.6, 0.9], [0.0, np.inf]])
    pairs = np.array([[0, 0], [1, -1], [-1, 1], [2, 2]])
    fig = matching_figure(a, b, pairs, names=("conv1", "conv2"))
    assert [t.name for t in fig.data] == ["A", "B", "diagonal", "infinity", "matching"]
    top = fig.layout.meta["top"]
    assert top == pytest.approx(1.05 * 1.1)
    m = trace(fig, "matching")
    xs, ys = list(m.x), list(m.y)
    assert len(xs) == 3 * len(pairs)
    assert xs[2::3] == [None] * len(pairs) and ys[2::3] == [None] * len(pairs)
    segments = [((xs[3 * k], ys[3 * k]), (xs[3 * k + 1], ys[3 * k + 1])) for k in range(len(pairs))]
    expected = [
        ((0.0, 1.0), (0.1, 1.1)),
        ((0.2, 0.5), (0.35, 0.35)),  # projection ((b + d) / 2, (b + d) / 2)
        ((0.6, 0.9), (0.75, 0.75)),
        ((0.1, top), (0.0, top)),  # infinite bars on the infinity line
    ]
    for got, want in zip(segments, expected):
        assert np.ravel(got).tolist() == pytest.approx(np.ravel(want).tolist())
    assert [row[0] for row in m.customdata[::3]] == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.asarray(trace(fig, "A").x), a[:, 0])
    np.testing.assert_array_equal(np.asarray(trace(fig, "B").customdata)[:, 1], [0, 1, 2])
    assert trace(fig, "A").legendgrouptitle.text == "conv1"


@pytest.mark.filterwarnings("ignore:As of 0.4.0:UserWarning")
def test_matching_accepts_persim_matching():
    persim = pytest.importorskip("persim")
    a = np.array([[0.0, 1.0], [0.2, 0.5]])
    b = np.array([[0.1, 1.1]])
    _, matching = persim.bottleneck(a, b, matching=True)
    fig = matching_figure(a, b, matching)
    assert len(trace(fig, "matching").x) == 3 * len(matching)
    empty = matching_figure(a, b, np.zeros((0, 2), int))
    assert len(trace(empty, "matching").x) == 0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: persistence_diagram_figure(np.zeros((3, 2))), TDAInputError, "list of diagrams"),
        (lambda: persistence_diagram_figure("dgm"), TDATypeError, "'diagrams'"),
        (lambda: persistence_diagram_figure([np.zeros((3, 3))]), TDAInputError, r"\(3, 3\)"),
        (lambda: persistence_diagram_figure([[[0, np.nan]]]), TDAInputError, "NaN"),
        (lambda: persistence_diagram_figure([[[np.inf, 1]]]), TDAInputError, "births"),
        (lambda: persistence_diagram_figure(HAND, dims=(0, 0)), TDAInputError, "repeat"),
        (lambda: barcode_figure(HAND, dims=(-1,)), TDAInputError, "non-negative"),
        (lambda: matching_figure(HAND[0], HAND[1], [[5, 0]]), TDAInputError, "'pairs'"),
        (lambda: matching_figure(HAND[0], HAND[1], [[-1, -1]]), TDAInputError, "diagonal"),
        (lambda: matching_figure(HAND[0], HAND[1], [1, 2]), TDAInputError, r"shape \(k, 2\)"),
    ],
)
def test_bad_input_names_the_problem(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
