"""The similarity measures of tda_widgets.topology.similarity against independent references.

References: closed forms and invariances; small cases by hand; google/svcca's own code
(vendored in ``_google_svcca.py``, Apache 2.0); the RTD authors' algorithm
(IlyaTrofimov/RTD, ``rtd/barcodes.py``: ``calc_embed_dist``, ``rtd1``, ``h1sum``) and Ding et
al.'s formulas (js-d/sim_metric, ``dists/scoring.py``: ``procrustes``, ``cca_decomp``,
``pwcca_dist``) written out below from their code (those repositories carry no license, so
they are re-expressed, not copied), with ripser.py standing in for ripser++ and sklearn's
``pairwise_distances`` as in their CPU path.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import ortho_group, spearmanr

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.topology import (MEASURE_INFO, MEASURES, SimilaritySpec, procrustes_distance, pwcca,
                                  representation_similarity, rsa, rtd, similarity_matrix, svcca)

from . import _google_svcca as google


def _rng(seed=0):
    return np.random.default_rng(seed)


def _rotated(X, seed=1, scale=1.0):
    """X rotated by a random orthogonal matrix, scaled and translated."""
    R = ortho_group.rvs(X.shape[1], random_state=seed)
    return scale * X @ R + _rng(seed).normal(size=X.shape[1])


# --------------------------------------------------------------------------- the authors' code, written out


def authors_rtd1(a, b):
    """IlyaTrofimov/RTD ``rtd1``: (h1sum(calc_embed_dist(a, b)) + h1sum(calc_embed_dist(b, a))) / 2,
    ``calc_embed_dist`` with its defaults (norm='quantile', use_max=False, fast=False, dim=1)."""
    import ripser
    from sklearn.metrics import pairwise_distances

    def calc_embed_dist(a, b):
        n = a.shape[0]
        r1 = pairwise_distances(a, a)
        r2 = pairwise_distances(b, b)
        r1 = r1 / np.quantile(r1, 0.9)
        r2 = r2 / np.quantile(r2, 0.9)
        d = np.zeros((2 * n, 2 * n))
        d[n:, :n] = r1
        d[:n, n:] = r1.T
        d[n:, n:] = np.minimum(r1, r2)
        m = r1.mean()
        d[d < m * 1e-6] = 0
        return ripser.ripser(d, maxdim=1, distance_matrix=True)["dgms"]

    def h1sum(dgms):
        return sum(death - birth for birth, death in dgms[1])

    return (h1sum(calc_embed_dist(a, b)) + h1sum(calc_embed_dist(b, a))) / 2


def ding_procrustes(X, Y):
    """js-d/sim_metric: ``score_local_pair``'s preprocessing, then ``procrustes``; arrays are
    (neurons, examples) there."""
    A, B = np.asarray(X, float).T, np.asarray(Y, float).T
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    A, B = A / np.linalg.norm(A), B / np.linalg.norm(B)
    return np.sum(A ** 2) + np.sum(B ** 2) - 2 * np.linalg.norm(A @ B.T, ord="nuc")


def ding_pwcca_dist(X, Y):
    """js-d/sim_metric: ``score_local_pair``'s preprocessing, ``cca_decomp``, ``pwcca_dist``."""
    A, B = np.asarray(X, float).T, np.asarray(Y, float).T
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    A, B = A / np.linalg.norm(A), B / np.linalg.norm(B)

    def inv_sqrt(M):
        evals, evecs = np.linalg.eigh(M)
        evals = (evals + np.abs(evals)) / 2
        inv = np.array([1 / np.sqrt(x) if x > 0 else 0 for x in evals])
        return evecs @ np.diag(inv) @ evecs.T

    ia, ib = inv_sqrt(A @ A.T), inv_sqrt(B @ B.T)
    u, rho, vh = np.linalg.svd(ia @ (A @ B.T) @ ib)
    transformed_a = (u.T @ ia @ A).T
    weights = np.sum(np.abs(transformed_a.T @ A.T), axis=1)
    weights = weights / np.sum(weights)
    dim = min(len(weights), len(rho))
    return 1 - np.dot(weights[:dim], rho[:dim])


def google_svcca(X, Y, k):
    """google/svcca's tutorial (001_Introduction, "Using SVCCA"): centre, SVD, keep k
    directions, ``get_cca_similarity(..., epsilon=1e-10)``, mean of ``cca_coef1``."""
    acts1, acts2 = np.asarray(X, float).T, np.asarray(Y, float).T
    cacts1 = acts1 - np.mean(acts1, axis=1, keepdims=True)
    cacts2 = acts2 - np.mean(acts2, axis=1, keepdims=True)
    _, s1, V1 = np.linalg.svd(cacts1, full_matrices=False)
    _, s2, V2 = np.linalg.svd(cacts2, full_matrices=False)
    svacts1 = np.dot(s1[:k] * np.eye(k), V1[:k])
    svacts2 = np.dot(s2[:k] * np.eye(k), V2[:k])
    results = google.get_cca_similarity(svacts1, svacts2, epsilon=1e-10, verbose=False)
    return np.mean(results["cca_coef1"])


# --------------------------------------------------------------------------- Procrustes


def test_procrustes_of_a_rotated_translated_scaled_copy_is_zero():
    X = _rng().normal(size=(60, 7))
    assert procrustes_distance(X, _rotated(X, scale=3.0)) == pytest.approx(0.0, abs=1e-12)
    # and a different representation is not at 0
    assert procrustes_distance(X, _rng(5).normal(size=(60, 7))) > 0.5


def test_procrustes_by_hand_one_feature_is_two_minus_two_abs_correlation():
    # centred, unit norm: a = (-1, 0, 1)/sqrt2, b = (-1, 1, 0)/sqrt2, |<a, b>| = 1/2 -> 2 - 1 = 1
    assert procrustes_distance([[1.0], [2.0], [3.0]], [[1.0], [3.0], [2.0]]) == pytest.approx(1.0)


@pytest.mark.parametrize("shape_y", [(40, 5), (40, 90)])
def test_procrustes_equals_ding_et_al_on_a_fixed_random_case(shape_y):
    X = _rng(2).normal(size=(40, 12))
    Y = np.tanh(X[:, :5] @ _rng(3).normal(size=(5, shape_y[1]))) + 0.3 * _rng(4).normal(size=shape_y)
    expected = ding_procrustes(X, Y)
    assert 0.05 < expected < 2
    assert procrustes_distance(X, Y) == pytest.approx(expected, abs=1e-12)
    assert procrustes_distance(Y, X) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- SVCCA


def test_svcca_of_an_invertible_linear_map_is_one():
    rng = _rng(6)
    X = rng.normal(size=(200, 6))
    A = rng.normal(size=(6, 6))
    assert abs(np.linalg.det(A)) > 1e-3
    assert svcca(X, X @ A, keep=1.0) == pytest.approx(1.0, abs=1e-8)
    # a rank-4 representation in 30 dims: its 99 % subspace is the whole span, kept by both sides
    Z = rng.normal(size=(200, 4))
    X30 = Z @ rng.normal(size=(4, 30))
    assert svcca(X30, X30 @ rng.normal(size=(30, 30)), keep=0.99) == pytest.approx(1.0, abs=1e-8)
    # unrelated representations are far from 1
    assert svcca(X, rng.normal(size=(200, 6)), keep=1.0) < 0.5


def test_svcca_by_hand_one_feature_is_the_absolute_correlation():
    # x = (1, 2, 3), y = (1, 3, 2): Pearson correlation 1/2
    assert svcca([[1.0], [2.0], [3.0]], [[1.0], [3.0], [2.0]], keep=1.0, epsilon=0.0) == pytest.approx(0.5)


@pytest.mark.parametrize("k", [3, 8])
def test_svcca_equals_google_svcca_on_a_fixed_random_case(k):
    rng = _rng(7)
    X = rng.normal(size=(150, 12)) * np.linspace(3, 0.2, 12)
    Y = np.maximum(X @ rng.normal(size=(12, 20)), 0) + rng.normal(size=(150, 20))
    expected = google_svcca(X, Y, k)
    assert 0.2 < expected < 0.999
    assert svcca(X, Y, n_components=k) == pytest.approx(expected, abs=1e-9)


def test_svcca_keep_counts_squared_singular_values():
    # singular values 10, 1, 0.5 (x sqrt(n-1)): variance fractions 0.9877, 0.9975, 1
    rng = _rng(8)
    Q = np.linalg.qr(rng.normal(size=(100, 3)) - rng.normal(size=(100, 3)).mean(0))[0]
    Q -= Q.mean(axis=0)
    Q = np.linalg.qr(Q)[0]
    X = Q * np.array([10.0, 1.0, 0.5])
    Y = rng.normal(size=(100, 5))  # isotropic: 0.98 and 0.99 keep all of its 5 directions
    # X's singular directions are its columns, so keeping k of them is X[:, :k]
    assert svcca(X, Y, keep=0.99) == pytest.approx(svcca(X[:, :2], Y, keep=1.0), abs=1e-12)
    assert svcca(X, Y, keep=0.98) == pytest.approx(svcca(X[:, :1], Y, keep=1.0), abs=1e-12)
    assert svcca(X, Y, keep=0.99) != pytest.approx(svcca(X, Y, keep=1.0), abs=1e-3)


# --------------------------------------------------------------------------- PWCCA


def test_pwcca_of_an_invertible_linear_map_is_one():
    rng = _rng(9)
    X = rng.normal(size=(120, 5))
    assert pwcca(X, X @ rng.normal(size=(5, 5))) == pytest.approx(1.0, abs=1e-8)
    assert pwcca(X, rng.normal(size=(120, 5))) < 0.5


def test_pwcca_by_hand_one_feature_is_the_absolute_correlation():
    assert pwcca([[1.0], [2.0], [3.0]], [[1.0], [3.0], [2.0]], epsilon=0.0) == pytest.approx(0.5)
    assert pwcca([[1.0], [2.0], [3.0]], [[-1.0], [-3.0], [-2.0]], epsilon=0.0) == pytest.approx(0.5)


def test_pwcca_equals_ding_et_al_on_a_fixed_random_case():
    rng = _rng(10)
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    Y = np.tanh(X @ rng.normal(size=(6, 9))) + 0.5 * rng.normal(size=(200, 9))
    X = X + rng.uniform(-5, 5, size=6)  # offsets: CCA and the weights see centred features
    expected = 1 - ding_pwcca_dist(X, Y)  # X has fewer features: Ding et al. and we weight by X
    assert 0.2 < expected < 0.99
    assert pwcca(X, Y, epsilon=0.0) == pytest.approx(expected, abs=1e-9)
    # the epsilon of google's tutorials changes it only slightly; swapping the sides changes nothing
    assert pwcca(X, Y) == pytest.approx(expected, abs=1e-6)
    assert pwcca(Y, X, epsilon=0.0) == pytest.approx(expected, abs=1e-9)


def test_pwcca_equals_google_compute_pwcca_where_their_directions_are_canonical():
    # compute_pwcca orthonormalises u^T X_c + means, not the canonical variates: the two agree
    # when X's features are centred and uncorrelated with equal variance (Sigma_xx = I)
    rng = _rng(11)
    n = 300
    Xc = rng.normal(size=(n, 4))
    Xc -= Xc.mean(axis=0)
    X = np.linalg.qr(Xc)[0] * np.sqrt(n - 1)
    Y = np.tanh(X @ rng.normal(size=(4, 7))) + 0.7 * rng.normal(size=(n, 7))
    expected, weights, coefs = google.compute_pwcca(X.T, Y.T, epsilon=1e-10)
    assert 0.2 < expected < 0.99
    assert pwcca(X, Y) == pytest.approx(expected, abs=1e-8)
    assert abs(np.mean(coefs) - expected) > 1e-3  # the weighting matters here


def test_cca_coefficients_equal_google_get_cca_similarity():
    # through SVCCA with every direction kept: the mean of google's cca_coef1
    rng = _rng(12)
    X = rng.normal(size=(80, 5)) * [5, 2, 1, 0.5, 0.1]
    Y = X[:, :3] @ rng.normal(size=(3, 7)) + rng.normal(size=(80, 7))
    results = google.get_cca_similarity(X.T, Y.T, epsilon=1e-10, verbose=False)
    assert pwcca(X, Y) == pytest.approx(pwcca(X, Y))  # deterministic
    assert svcca(X, Y, keep=1.0) == pytest.approx(np.mean(results["cca_coef1"]), abs=1e-9)


# --------------------------------------------------------------------------- RTD


def test_rtd_of_a_rotated_translated_scaled_copy_is_zero():
    X = _rng(13).normal(size=(40, 4))
    assert rtd(X, _rotated(X, scale=2.5), batch=40) == pytest.approx(0.0, abs=1e-5)
    assert rtd(X, _rotated(X, scale=2.5), batch=20, trials=3) == pytest.approx(0.0, abs=1e-5)


def test_rtd_equals_the_authors_algorithm_on_a_fixed_random_case():
    rng = _rng(14)
    theta = rng.uniform(0, 2 * np.pi, 45)
    X = np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.normal(size=(45, 2))  # a noisy circle
    Y = np.c_[np.cos(2 * theta), theta] + 0.05 * rng.normal(size=(45, 2))  # the circle cut open
    expected = authors_rtd1(X, Y)
    assert expected > 0.1
    assert rtd(X, Y, batch=45) == pytest.approx(expected, rel=1e-5)
    assert rtd(X, Y, batch=100, backend="ripser") == pytest.approx(expected, rel=1e-5)  # batch = min(batch, n)
    assert rtd(Y, X, batch=45, backend="giotto-ph") == pytest.approx(expected, rel=1e-5)


def test_rtd_averages_seeded_subsamples_as_the_authors_do():
    rng = _rng(15)
    X = rng.normal(size=(60, 3))
    Y = X + 0.4 * rng.normal(size=(60, 3))
    choose = np.random.default_rng(3)
    expected = np.mean([authors_rtd1(X[i], Y[i]) for i in
                        (np.sort(choose.permutation(60)[:25]) for _ in range(4))])
    assert rtd(X, Y, batch=25, trials=4, seed=3) == pytest.approx(expected, rel=1e-5)
    assert rtd(X, Y, batch=25, trials=4, seed=4) != pytest.approx(expected, rel=1e-3)


# --------------------------------------------------------------------------- RSA


def test_rsa_of_identical_representations_is_one_and_by_hand():
    X = _rng(16).normal(size=(30, 8))
    for metric in ("correlation", "euclidean", "cosine"):
        assert rsa(X, X, metric=metric) == pytest.approx(1.0)
    # euclidean RDMs (1, 3, 2) and (2, 3, 1): ranks differ by (1, 0, 1) -> 1 - 6 * 2 / 24 = 0.5
    assert rsa([[0.0], [1.0], [3.0]], [[0.0], [2.0], [3.0]], metric="euclidean") == pytest.approx(0.5)
    # correlation distance ignores each image's offset and scale
    scaled = X * _rng(17).uniform(0.5, 2, size=(30, 1)) + _rng(18).normal(size=(30, 1))
    assert rsa(X, scaled) == pytest.approx(1.0)
    assert rsa(X, scaled, metric="euclidean") < 0.99


def test_rsa_equals_scipy_spearman_of_pdist():
    rng = _rng(19)
    X = rng.normal(size=(25, 6))
    Y = np.round(np.abs(X @ rng.normal(size=(6, 3))), 1)  # ties in the RDM
    for metric in ("correlation", "euclidean", "cosine"):
        expected = spearmanr(pdist(X, metric), pdist(Y, metric)).statistic
        assert rsa(X, Y, metric=metric) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- matrix, spec, dispatch


@pytest.mark.parametrize("measure", MEASURES)
def test_similarity_matrix_equals_the_pairwise_calls(measure):
    rng = _rng(20)
    base = rng.normal(size=(30, 4))
    reps = [base, np.tanh(base @ rng.normal(size=(4, 6))), rng.normal(size=(30, 3))]
    options = {"batch": 15, "trials": 2} if measure == "rtd" else {}
    matrix = similarity_matrix(reps, measure, **options)
    assert np.diag(matrix) == pytest.approx([MEASURE_INFO[measure].identical] * 3)
    for i in range(3):
        for j in range(i + 1, 3):
            value = representation_similarity(reps[i], reps[j], measure, **options)
            assert matrix[i, j] == pytest.approx(value, abs=1e-12) and matrix[j, i] == matrix[i, j]
    low, high = MEASURE_INFO[measure].bounds
    assert np.all((matrix >= low) & (matrix <= high))


def test_similarity_spec_declares_the_measures_and_their_defaults():
    spec = SimilaritySpec()
    assert set(SimilaritySpec.options()["measure"].choices) == set(MEASURES) == set(MEASURE_INFO)
    assert spec.replace(measure="rtd", rtd_batch=30).measure_kwargs() == {"batch": 30, "trials": 5, "seed": 0,
                                                                          "backend": "auto"}
    kwargs = spec.replace(measure="svcca").measure_kwargs()
    assert kwargs == {"keep": 0.99, "n_components": None, "epsilon": 1e-10}
    X = _rng(21).normal(size=(40, 3))
    Y = X @ _rng(22).normal(size=(3, 3)) + 0.1 * _rng(23).normal(size=(40, 3))
    for measure in MEASURES:
        value = representation_similarity(X, Y, measure, **spec.replace(measure=measure).measure_kwargs())
        assert np.isfinite(value)
    with pytest.raises(TDAInputError, match="'measure' parameter of SimilaritySpec.*Did you mean 'svcca'"):
        SimilaritySpec(measure="svca")
    with pytest.raises(TDAInputError, match="'keep' parameter"):
        SimilaritySpec(keep=0.0)
    assert {info.kind for info in MEASURE_INFO.values()} == {"similarity", "distance"}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("measure", MEASURES)
def test_every_measure_refuses_bad_input_naming_the_problem(measure):
    rng = _rng(24)
    X = rng.normal(size=(20, 3))
    with pytest.raises(TDAInputError, match="same number of rows.*same images"):
        representation_similarity(X, X[:15], measure)
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(TDAInputError, match="'Y' parameter .* must be finite.*first bad row: 4"):
        representation_similarity(X, bad, measure)
    with pytest.raises(TDAInputError, match="at least"):
        representation_similarity(X[:1], X[:1], measure)
    with pytest.raises(TDAInputError, match="shape \\(n_images, n_features\\)"):
        representation_similarity(X[:, 0], X, measure)
    with pytest.raises(TDATypeError, match="real numbers"):
        representation_similarity(X.astype(str), X, measure)
    with pytest.raises(TDAInputError, match="'measure' parameter .*Did you mean"):
        representation_similarity(X, X, measure + "x")


def test_measure_specific_errors_say_the_fix():
    rng = _rng(25)
    wide = rng.normal(size=(20, 30))
    with pytest.raises(TDAInputError, match="pwcca needs fewer features than images.*'X' has 30 features for 20 "
                                            "images.*image-avgpool.*svcca"):
        pwcca(wide, rng.normal(size=(20, 3)))
    assert 0 < svcca(wide, rng.normal(size=(20, 3))) <= 1  # the SVD step makes it fit
    with pytest.raises(TDAInputError, match="fewer kept SVD directions than images"):
        svcca(wide, rng.normal(size=(20, 25)), n_components=20)
    with pytest.raises(TDAInputError, match="'n_components' parameter of svcca must be at most 3"):
        svcca(rng.normal(size=(20, 3)), rng.normal(size=(20, 3)), n_components=4)
    with pytest.raises(TDAInputError, match=r"'keep' parameter of svcca must be a number > 0.0 and <= 1.0\. Got 1.5"):
        svcca(wide, wide, keep=1.5)
    with pytest.raises(TDAInputError, match="'batch' parameter of rtd must be an int >= 3"):
        rtd(wide, wide, batch=2)
    with pytest.raises(TDAInputError, match="'backend' parameter of rtd"):
        rtd(wide, wide, backend="ripser++")
    with pytest.raises(TDAInputError, match="'metric' parameter of rsa"):
        rsa(wide, wide, metric="manhattan")
    constant = np.ones((20, 3))
    with pytest.raises(TDAInputError, match="constant"):
        procrustes_distance(wide, constant)
    with pytest.raises(TDAInputError, match="constant"):
        svcca(wide, constant)
    with pytest.raises(TDAInputError, match="image\\(s\\) do not.*metric='euclidean'"):
        rsa(wide, constant)
    duplicates = np.repeat(rng.normal(size=(2, 3)), [19, 1], axis=0)  # 362 of 400 distances are 0
    with pytest.raises(TDAInputError, match="0.9 quantile.*duplicate images"):
        rtd(duplicates, wide, batch=20)
