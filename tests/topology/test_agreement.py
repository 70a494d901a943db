"""The measures table (issue 18 part 4): agreement between measures and layer monotonicity."""

from itertools import combinations

import numpy as np
import pytest
from scipy.stats import spearmanr

from tda_widgets.errors import TDAInputError
from tda_widgets.topology.agreement import depth_correlation, layer_monotonicity, measure_agreement, measures_table


def _upper(m):
    return m[np.triu_indices(m.shape[0], k=1)]


def _random_symmetric(rng, n):
    a = rng.random((n, n))
    a = a + a.T
    np.fill_diagonal(a, 0.0)
    return a


def test_agreement_is_scipy_spearman_on_the_upper_triangles():
    rng = np.random.default_rng(3)
    dist, other = _random_symmetric(rng, 6), _random_symmetric(rng, 6)
    sim = 1.0 - _random_symmetric(rng, 6) / 2
    names = {"a": dist, "b": other, "c": sim}
    kinds = {"a": "distance", "b": "distance", "c": "similarity"}
    got = measure_agreement(names, kinds)
    as_d = {"a": dist, "b": other, "c": 1.0 - sim}
    for (i, x), (j, y) in combinations(enumerate("abc"), 2):
        expected = spearmanr(_upper(as_d[x]), _upper(as_d[y])).statistic
        assert got[i, j] == pytest.approx(expected) and got[j, i] == pytest.approx(expected)
    # a similarity is turned into a dissimilarity: against its own 1 - s, rho is +1, not -1
    assert measure_agreement({"d": 1.0 - sim, "s": sim}, {"d": "distance", "s": "similarity"})[0, 1] == 1.0
    assert np.allclose(np.diag(got), 1.0)


def test_monotonicity_on_constructed_matrices():
    gap = np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
    assert layer_monotonicity(gap) == 1.0
    assert depth_correlation(gap) == pytest.approx(1.0)
    assert layer_monotonicity(1.0 - gap / 10, "similarity") == 1.0
    # 4 layers; only d(0, 2) breaks depth order: d(0,2)=0.1 < d(0,1)=1, so triples (0,1,2) fails
    # and (0,2,3)? d(0,3)=3 >= max(d(0,2)=0.1, d(2,3)=1): holds. 4 triples, 1 fails -> 0.75
    d = gap[:4, :4].copy()
    d[0, 2] = d[2, 0] = 0.1
    assert layer_monotonicity(d) == pytest.approx(3 / 4)
    # the same by brute force
    brute = np.mean([d[i, k] >= max(d[i, j], d[j, k]) for i, j, k in combinations(range(4), 3)])
    assert layer_monotonicity(d) == pytest.approx(brute)
    # reversed depth: the outer pair is the most alike in every triple
    assert layer_monotonicity(gap.max() - gap + np.eye(5) * 0) == 0.0
    assert np.isnan(layer_monotonicity(gap[:2, :2]))


def test_measures_table_rows_and_errors():
    gap = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))
    table = measures_table({"g": gap, "s": 1 - gap / 3}, {"g": "distance", "s": "similarity"},
                           labels={"g": "Gap"}, layers=list("abcd"))
    assert table.labels == ["Gap", "s"]
    rows = table.rows()
    assert rows[0]["measure"] == "Gap" and rows[0]["s"] == pytest.approx(1.0) and rows[1]["monotonicity"] == 1.0
    with pytest.raises(TDAInputError, match="kind"):
        measures_table({"g": gap}, {"g": "similar"})
    with pytest.raises(TDAInputError, match="missing"):
        measures_table({"g": gap}, {})
