"""Tests of tda_widgets.topology.cka against closed forms and a textbook implementation.

The reference below is written from the definitions with explicit Gram matrices, the centring
matrix H = I - 11^T / n, and Song et al.'s (2012) unbiased HSIC formula; it shares no code with
the module under test.
"""

import threading

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from tda_widgets.errors import Cancelled, TDAInputError, TDATypeError
from tda_widgets.topology.cka import (
    _linear_cka_features,
    _linear_cka_gram,
    cka_matrix,
    linear_cka,
    rank_correlation,
    rbf_cka,
)

# ----------------------------------------------------------------- textbook reference


def textbook_linear_gram(X):
    return X @ X.T


def textbook_rbf_gram(X, sigma_factor=1.0):
    distances = squareform(pdist(X))  # scipy, not the Gram trick
    sigma = sigma_factor * np.median(pdist(X))
    return np.exp(-(distances**2) / (2 * sigma**2))


def textbook_hsic_biased(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def textbook_hsic_unbiased(K, L):
    # Song et al. 2012, eq. (5): K~, L~ are K, L with zeroed diagonals.
    n = K.shape[0]
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    one = np.ones(n)
    term1 = np.trace(Kt @ Lt)
    term2 = (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (one @ Kt @ Lt @ one)
    return (term1 + term2 - term3) / (n * (n - 3))


def textbook_cka(K, L, debiased):
    hsic = textbook_hsic_unbiased if debiased else textbook_hsic_biased
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


@pytest.fixture
def pair():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 7))
    # Y shares structure with X plus noise, in a different dimension
    Y = np.tanh(X @ rng.normal(size=(7, 12))) + 0.5 * rng.normal(size=(30, 12))
    return X, Y


def random_orthogonal(d, seed):
    Q, R = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


# ----------------------------------------------------------------- agreement with the textbook


@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_matches_textbook(pair, debiased):
    X, Y = pair
    expected = textbook_cka(textbook_linear_gram(X), textbook_linear_gram(Y), debiased)
    assert linear_cka(X, Y, debiased=debiased) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("sigma_factor", [1.0, 0.4])
def test_rbf_cka_matches_textbook(pair, debiased, sigma_factor):
    X, Y = pair
    expected = textbook_cka(
        textbook_rbf_gram(X, sigma_factor), textbook_rbf_gram(Y, sigma_factor), debiased
    )
    got = rbf_cka(X, Y, sigma_factor=sigma_factor, debiased=debiased)
    assert got == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_feature_space_and_gram_paths_agree(pair, debiased):
    X, Y = pair
    features = _linear_cka_features(X, Y, debiased, "test")
    gram = _linear_cka_gram(X, Y, debiased, "test")
    expected = textbook_cka(textbook_linear_gram(X), textbook_linear_gram(Y), debiased)
    assert features == pytest.approx(gram, abs=1e-10)
    assert features == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_wide_representation_uses_gram_path_and_matches_textbook(debiased):
    # d >= n: the public function takes the Gram path
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 40))
    Y = X[:, :20] ** 2 + rng.normal(size=(12, 20))
    expected = textbook_cka(textbook_linear_gram(X), textbook_linear_gram(Y), debiased)
    assert linear_cka(X, Y, debiased=debiased) == pytest.approx(expected, abs=1e-10)


# ----------------------------------------------------------------- closed forms / invariances


@pytest.mark.parametrize("debiased", [False, True])
def test_orthogonal_invariance(debiased):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 6))
    XQ = X @ random_orthogonal(6, seed=4)
    assert not np.allclose(X, XQ)
    assert linear_cka(X, XQ, debiased=debiased) == pytest.approx(1.0, abs=1e-10)
    assert rbf_cka(X, XQ, debiased=debiased) == pytest.approx(1.0, abs=1e-10)


def test_isotropic_scaling_and_translation_invariance(pair):
    X, Y = pair
    shifted = 3.7 * Y + np.arange(Y.shape[1])  # scale and translate each column
    for func in (linear_cka, rbf_cka):
        assert func(X, shifted) == pytest.approx(func(X, Y), abs=1e-10)
        assert func(X, X * 0.01 - 5.0) == pytest.approx(1.0, abs=1e-10)


def test_self_similarity_is_one(pair):
    X, _ = pair
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)
    assert rbf_cka(X, X) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, X, debiased=True) == pytest.approx(1.0, abs=1e-12)


def test_values_in_unit_interval_and_not_trivial(pair):
    X, Y = pair
    rng = np.random.default_rng(5)
    Z = rng.normal(size=X.shape)
    values = [linear_cka(X, Y), rbf_cka(X, Y), linear_cka(X, Z), rbf_cka(X, Z)]
    assert all(0.0 <= v <= 1.0 for v in values)
    # related representations are more similar than independent noise
    assert linear_cka(X, Y) > linear_cka(X, Z)


def test_one_dimensional_closed_form():
    # For 1-D features, biased linear CKA = squared Pearson correlation.
    rng = np.random.default_rng(6)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    r = np.corrcoef(x, y)[0, 1]
    assert linear_cka(x[:, None], y[:, None]) == pytest.approx(r**2, abs=1e-12)


def test_higher_dimensional_input_is_flattened():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(10, 2, 3, 3))
    B = rng.normal(size=(10, 5))
    assert linear_cka(A, B) == pytest.approx(linear_cka(A.reshape(10, -1), B), abs=1e-12)


# ----------------------------------------------------------------- cka_matrix


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_matches_textbook_pairs(kernel, debiased):
    rng = np.random.default_rng(8)
    base = rng.normal(size=(20, 5))
    layers = [base, np.maximum(base @ rng.normal(size=(5, 9)), 0), rng.normal(size=(20, 3)),
              base[:, :2]]
    gram = textbook_linear_gram if kernel == "linear" else textbook_rbf_gram
    matrix = cka_matrix(layers, kernel=kernel, debiased=debiased)
    assert matrix.shape == (4, 4)
    np.testing.assert_allclose(matrix, matrix.T, atol=0)
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-12)
    for i in range(4):
        for j in range(4):
            expected = textbook_cka(gram(layers[i]), gram(layers[j]), debiased)
            assert matrix[i, j] == pytest.approx(expected, abs=1e-10)


def test_cka_matrix_progress_and_cancel():
    rng = np.random.default_rng(9)
    layers = [rng.normal(size=(10, 3)) for _ in range(3)]
    calls = []
    cka_matrix(layers, progress=lambda d, t, m: calls.append((d, t)))
    assert calls[-1] == (6, 6) and len(calls) == 6
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        cka_matrix(layers, cancel=cancel)


# ----------------------------------------------------------------- rank_correlation


def test_rank_correlation_against_direct_spearman():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(10)
    a = rng.random((5, 5))
    a = a + a.T
    b = a**2 + 0.3 * rng.random((5, 5))
    iu = np.triu_indices(5, k=1)
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a[iu], b[iu]).statistic, abs=1e-12)
    # a monotone transform of the upper triangle gives exactly 1; reversed order gives -1
    assert rank_correlation(a, np.exp(a)) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)


def test_rank_correlation_ignores_nan_pairs_and_lower_triangle():
    a = np.array([[0, 1, 2, 3], [9, 0, 4, 5], [9, 9, 0, 6], [9, 9, 9, 0]], dtype=float)
    b = a.copy()
    b[0, 1] = np.nan
    b[2, 3] = -100  # breaks monotonicity on one pair
    kept_a = np.array([2, 3, 4, 5, 6.0])
    kept_b = np.array([2, 3, 4, 5, -100.0])
    from scipy.stats import spearmanr

    assert rank_correlation(a, b) == pytest.approx(spearmanr(kept_a, kept_b).statistic)


def test_rank_correlation_errors():
    with pytest.raises(TDAInputError, match="at least 3 layers"):
        rank_correlation(np.eye(2), np.eye(2))
    with pytest.raises(TDAInputError, match="same shape"):
        rank_correlation(np.eye(3), np.eye(4))
    with pytest.raises(TDAInputError, match="square"):
        rank_correlation(np.ones((3, 4)), np.ones((3, 4)))
    nan = np.full((3, 3), np.nan)
    with pytest.raises(TDAInputError, match="not NaN"):
        rank_correlation(nan, nan)
    assert np.isnan(rank_correlation(np.ones((3, 3)), np.eye(3) + np.arange(9).reshape(3, 3)))


# ----------------------------------------------------------------- validation


def test_different_n_names_both_shapes():
    with pytest.raises(TDAInputError, match=r"\(10, 3\).*\(12, 3\).*same images"):
        linear_cka(np.ones((10, 3)), np.ones((12, 3)))
    with pytest.raises(TDAInputError, match=r"features\[2\]"):
        cka_matrix([np.random.rand(5, 2), np.random.rand(5, 2), np.random.rand(6, 2)])


def test_too_few_examples():
    rng = np.random.default_rng(11)
    with pytest.raises(TDAInputError, match="at least 2 examples"):
        linear_cka(rng.normal(size=(1, 3)), rng.normal(size=(1, 3)))
    with pytest.raises(TDAInputError, match="at least 4 examples.*debiased=False"):
        rbf_cka(rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), debiased=True)
    # 3 examples are enough for the biased estimator
    assert 0 <= linear_cka(rng.normal(size=(3, 3)), rng.normal(size=(3, 2))) <= 1


def test_non_finite_and_bad_types():
    X = np.random.default_rng(12).normal(size=(6, 2))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(TDAInputError, match="'Y'.*finite"):
        linear_cka(X, bad)
    bad[0, 0] = np.inf
    with pytest.raises(TDAInputError, match="finite"):
        cka_matrix([X, bad])
    with pytest.raises(TDAInputError, match=r"reshape\(-1, 1\)"):
        linear_cka(X[:, 0], X)
    with pytest.raises(TDATypeError, match="real numbers"):
        linear_cka(X.astype(str), X)
    with pytest.raises(TDATypeError, match="'debiased'"):
        linear_cka(X, X, debiased="yes")
    with pytest.raises(TDAInputError, match="sigma_factor"):
        rbf_cka(X, X, sigma_factor=0)


def test_unknown_kernel_and_bad_features():
    X = np.random.default_rng(13).normal(size=(6, 2))
    with pytest.raises(TDAInputError, match=r"'kernel'.*Got 'gaussian'"):
        cka_matrix([X, X], kernel="gaussian")
    with pytest.raises(TDAInputError, match="wrap it in a list"):
        cka_matrix(X)
    with pytest.raises(TDAInputError, match="at least one"):
        cka_matrix([])


def test_constant_representation_is_an_error():
    X = np.random.default_rng(14).normal(size=(8, 3))
    dead = np.full((8, 4), 0.1)
    with pytest.raises(TDAInputError, match="'Y' has zero variance"):
        linear_cka(X, dead)
    with pytest.raises(TDAInputError, match="zero variance"):
        rbf_cka(dead, X)
    with pytest.raises(TDAInputError, match=r"features\[1\]"):
        cka_matrix([X, dead])
    # 15 of the 28 pairs identical: the median pairwise distance is 0
    duplicated = np.vstack([np.repeat(X[:1], 6, axis=0), X[1:3]])
    with pytest.raises(TDAInputError, match="median pairwise distance is 0"):
        rbf_cka(duplicated, X)
