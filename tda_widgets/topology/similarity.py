"""Representational similarity measures beside PH and CKA, as pure functions on numpy arrays.

Every measure compares two representations of the *same* images: ``X`` of shape
``(n_images, n_features_x)`` and ``Y`` of shape ``(n_images, n_features_y)``, row ``i`` of both
being image ``i`` (feature counts may differ). Each follows its authors' published code; where
ours differs, the function's docstring says so and why.

=============== =========== ================ =============================================
measure         kind        identical inputs reference (code read)
=============== =========== ================ =============================================
``rtd``         distance    0                Barannikov et al., ICML 2022 (IlyaTrofimov/RTD)
``svcca``       similarity  1                Raghu et al., NeurIPS 2017 (google/svcca)
``pwcca``       similarity  1                Morcos et al., NeurIPS 2018 (google/svcca)
``procrustes``  distance    0                Ding et al., NeurIPS 2021 (js-d/sim_metric)
``rsa``         similarity  1                Kriegeskorte et al. 2008 (RDMs + Spearman)
=============== =========== ================ =============================================

:data:`MEASURE_INFO` holds that table, :class:`SimilaritySpec` declares the measures' options
once (see :mod:`tda_widgets.options`), :func:`representation_similarity` dispatches on a name
and :func:`similarity_matrix` fills the layers x layers matrix, preparing each layer once.

All arithmetic is float64 except the persistence inside RTD (ripser and giotto-ph compute in
float32). No torch, no widgets.

Every public function runs its linear algebra with one BLAS thread (threadpoolctl, which
scikit-learn installs): the matrices here are small (at most n_images wide), and on a busy
2-core machine OpenBLAS's two spinning threads made SVCCA on the demo's pooled layers ~100x
slower (1.9 s instead of 18 ms for the 10 layer pairs). The limit is process-wide while a
measure runs.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable, Optional, Sequence

import numpy as np

from ..core._progress import check_cancel, report
from ..core.errors import TDAInputError, TDATypeError
from ..core.options import Spec, option
from .persistence import BACKENDS, persistence
from .scaling import pairwise_distances

__all__ = [
    "MEASURES", "MEASURE_INFO", "MeasureInfo", "RSA_METRICS", "SimilaritySpec",
    "rtd", "svcca", "pwcca", "procrustes_distance", "rsa",
    "representation_similarity", "similarity_matrix",
]

#: Dissimilarities between images that :func:`rsa` can build its RDMs from (scipy ``pdist`` names).
RSA_METRICS = ("correlation", "euclidean", "cosine")

#: Our default RTD subsample: see :func:`rtd` for why it is smaller than the authors' 500 x 10.
RTD_BATCH = 50
RTD_TRIALS = 5
#: google/svcca's tutorials call ``get_cca_similarity(..., epsilon=1e-10)`` for SVCCA and PWCCA.
CCA_EPSILON = 1e-10
#: SVCCA's share of each layer's variance kept by the SVD step (Raghu et al.: 0.99).
SVCCA_KEEP = 0.99


@dataclass(frozen=True)
class MeasureInfo:
    """What a measure's number means, for figures, tables and rank correlations.

    Attributes
    ----------
    name : str
        The key in :data:`MEASURES`.
    label : str
        A short label for a figure or a table.
    kind : {"similarity", "distance"}
        Whether larger means more alike (similarity) or less alike (distance).
    identical : float
        The value for two identical representations (a matrix's diagonal).
    bounds : tuple of float
        The range of values (``inf`` when unbounded).
    reference : str
        The paper and the code its conventions follow.
    description : str
        One line: what the measure compares (shown in dropdowns' tooltips and the report).
    options : tuple of (str, str)
        The measure's own options: ``(keyword of its function, field of SimilaritySpec)``; only
        these enter its cache key (changing RTD's batch keeps SVCCA's results).
    function : callable
        ``function(X, Y, **options) -> float``.
    prepare_layers : callable or None
        ``prepare_layers(arrays, **options) -> (prepared, pair)``, for :func:`similarity_matrix`:
        the per-layer work of the measure done once per layer (SVCCA's SVD step, Procrustes'
        normalisation, RSA's RDM ranks), validated once, and ``pair(prepared_i, prepared_j) ->
        float``, equal to ``function`` on the two layers. None: ``function`` runs on every pair
        (a measure with no per-layer work, or whose per-pair work depends on both layers).
    """

    name: str
    label: str
    kind: str
    identical: float
    bounds: tuple
    reference: str
    description: str = ""
    options: tuple = ()
    function: Optional[Callable] = None
    prepare_layers: Optional[Callable] = None

    @property
    def keywords(self) -> tuple:
        """The keywords of the measure's function (its options' first halves)."""
        return tuple(keyword for keyword, _ in self.options)


# --------------------------------------------------------------------------- validation


_BLAS = []


def _one_blas_thread(function):
    """Run ``function`` with BLAS limited to one thread (see the module docstring)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not _BLAS:
            try:
                from threadpoolctl import ThreadpoolController

                _BLAS.append(ThreadpoolController())
            except Exception:  # pragma: no cover - threadpoolctl comes with scikit-learn
                _BLAS.append(None)
        limit = _BLAS[0].limit(limits=1, user_api="blas") if _BLAS[0] is not None else contextlib.nullcontext()
        with limit:
            return function(*args, **kwargs)

    return wrapper


def _representation(X, name: str, where: str) -> np.ndarray:
    """``X`` as a finite float64 array of shape (n_images, n_features); trailing dims flattened."""
    try:
        array = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TDATypeError(f"The '{name}' parameter of {where} must be an array of shape (n_images, n_features). "
                           f"Could not convert it to an array: {exc}") from exc
    if array.dtype == object or np.iscomplexobj(array) or not (
            np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)):
        raise TDATypeError(f"The '{name}' parameter of {where} must hold real numbers. Got dtype {array.dtype}; "
                           "convert it with np.asarray(..., dtype=float).")
    if array.ndim < 2:
        raise TDAInputError(f"The '{name}' parameter of {where} must have shape (n_images, n_features), one row "
                            f"per image. Got shape {array.shape}; for a single feature use {name}.reshape(-1, 1).")
    array = array.reshape(array.shape[0], -1).astype(np.float64, copy=False)
    if array.shape[1] == 0:
        raise TDAInputError(f"The '{name}' parameter of {where} has no features (shape {array.shape}); "
                            "pass at least one feature column.")
    finite = np.isfinite(array)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise TDAInputError(f"The '{name}' parameter of {where} must be finite. Got {int((~finite).sum())} NaN or "
                            f"infinite value(s) in {bad_rows.size} of {array.shape[0]} images (first bad row: "
                            f"{int(bad_rows[0])}); drop those images from both representations or fix the "
                            "activations (a diverged model?).")
    return array


def _pair(X, Y, where: str, min_images: int, why: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate two representations of the same images."""
    X = _representation(X, "X", where)
    Y = _representation(Y, "Y", where)
    if X.shape[0] != Y.shape[0]:
        raise TDAInputError(f"{where} compares two representations of the same images, so 'X' and 'Y' must have "
                            f"the same number of rows. Got shapes {X.shape} and {Y.shape}; compute both on the "
                            "same images in the same order (one row per image).")
    if X.shape[0] < min_images:
        raise TDAInputError(f"{where} needs at least {min_images} images ({why}). Got {X.shape[0]}; pass more "
                            "images.")
    return X, Y


def _int_option(value, name: str, where: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)) or value < minimum:
        raise TDAInputError(f"The '{name}' parameter of {where} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def _epsilon(value, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating)) or not (
            np.isfinite(value) and value >= 0):
        raise TDAInputError(f"The 'epsilon' parameter of {where} must be a finite number >= 0 (google/svcca's "
                            f"tutorials use 1e-10). Got {value!r} instead.")
    return float(value)


def _centred(X: np.ndarray) -> np.ndarray:
    return X - X.mean(axis=0, keepdims=True)


# --------------------------------------------------------------------------- RTD


def _cross_matrix(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """The authors' 2N x 2N matrix ``[[0, r1^T], [r1, min(r1, r2)]]``, entries below 1e-6 of the
    mean of ``r1`` set to 0 (``calc_embed_dist`` with its defaults)."""
    n = r1.shape[0]
    d = np.zeros((2 * n, 2 * n))
    d[n:, :n] = r1
    d[:n, n:] = r1.T
    d[n:, n:] = np.minimum(r1, r2)
    d[d < r1.mean() * 1e-6] = 0.0
    return d


def _h1_total_length(d: np.ndarray, backend: str) -> float:
    # maxdim=1, thresh=inf: every H1 bar of a complete Rips filtration dies (the complex ends a cone).
    diagram = persistence(d, maxdim=1, backend=backend, distance_matrix=True, n_threads=1,
                          max_memory_bytes=None).diagrams[1]
    return float(np.sum(diagram[:, 1] - diagram[:, 0]))


def _quantile_normalised(D: np.ndarray, name: str) -> np.ndarray:
    q = float(np.quantile(D, 0.9))
    if not q > 0:
        raise TDAInputError(f"rtd divides each distance matrix by its 0.9 quantile, and that of '{name}' is 0 (over "
                            "90 % of the pairs of images coincide in this subsample). Remove duplicate images or "
                            "pass a larger batch.")
    return D / q


@_one_blas_thread
def rtd(X, Y, *, batch: int = RTD_BATCH, trials: int = RTD_TRIALS, seed: int = 0, backend: str = "auto") -> float:
    """Representation Topology Divergence (Barannikov et al., ICML 2022): a **distance**, 0 for
    representations with the same topology at every scale.

    For each of ``trials`` random subsamples of ``batch`` images (the same images in ``X`` and
    ``Y``, seeded by ``seed``): the Euclidean distance matrices ``r1`` of ``X`` and ``r2`` of ``Y``,
    each divided by its 0.9 quantile (taken over the full matrix, diagonal included, as the
    authors' ``np.quantile(r1, 0.9)``); the 2N x 2N matrix ``[[0, r1^T], [r1, min(r1, r2)]]`` with
    entries below ``1e-6 * mean(r1)`` set to 0; the sum of the lengths of its H1 bars (the H1
    R-Cross-Barcode). RTD is half the sum of the two directions (``r1`` and ``r2`` swapped),
    averaged over the trials — the authors' ``rtd``/``rtd1``/``calc_embed_dist(norm="quantile")``.

    Parameters
    ----------
    X : array_like of shape (n_images, n_features_x)
    Y : array_like of shape (n_images, n_features_y)
        The same images in the same order.
    batch : int, default=50
        Images per subsample; ``min(batch, n_images)`` as in the authors' code.
    trials : int, default=5
        Subsamples averaged.
    seed : int, default=0
        Seed of the subsamples (``numpy.random.default_rng(seed)``).
    backend : {"auto", "ripser", "giotto-ph"}, default="auto"
        The package's Vietoris-Rips backend (:func:`~tda_widgets.topology.persistence`).

    Returns
    -------
    float
        RTD >= 0; symmetric in ``X`` and ``Y``. Its size grows with ``batch`` (more points, more
        bars): compare values computed with the same ``batch``.

    Raises
    ------
    TDAInputError
        If ``X`` and ``Y`` have different numbers of rows, hold NaN or inf, have fewer than 3
        images, if a parameter is invalid, or if a subsample's 0.9 distance quantile is 0.

    Notes
    -----
    Where ours differs from the authors' code, and why:

    - Default subsample: 5 trials of 50 images instead of their 10 of 500. Their code runs
      ripser++ on a GPU; on our busy 2-core machine one 1,000 x 1,000 cross matrix (batch 500)
      took 3 s with giotto-ph, so their defaults take about a minute per layer pair, while
      the demo's 10 pairs take ~1 s at 5 x 50 (``benchmarks/bench_measures.py``). Values grow
      with ``batch`` (about 2x from 50 to 100 on the demo), and so does their precision: on the
      demo's 10 layer pairs (500 images, pooled), the ranking at 50 x 5 had Spearman 0.87 with
      the one at 100 x 3 and 0.78 with 200 x 2 (those two: 0.98). Pass ``batch=500, trials=10``
      for the paper's numbers where time allows.
    - Subsamples are seeded (theirs use NumPy's global state, unseeded), so results repeat.
    - When ``batch >= n_images`` every trial holds all images; a permutation does not change a
      barcode, so the barcode is computed once instead of ``trials`` times (same value).
    - Persistence by ripser.py or giotto-ph (float32, exact) instead of ripser++ (float32, GPU),
      and distances by the package's Gram-trick :func:`pairwise_distances` instead of sklearn's
      (equal to ~1e-15).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> rtd(X, 2 * X + 1, batch=40)
    0.0
    """
    where = "rtd"
    X, Y = _pair(X, Y, where, 3, "H1 needs three points")
    batch = _int_option(batch, "batch", where, 3)
    trials = _int_option(trials, "trials", where, 1)
    seed = _int_option(seed, "seed", where, 0)
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise TDAInputError(f"The 'backend' parameter of rtd must be one of {list(BACKENDS)}. Got {backend!r} "
                            "instead.")
    n = X.shape[0]
    batch = min(batch, n)
    if batch == n:
        trials_run = 1  # every trial would hold all images (a permutation leaves the barcode unchanged)
    else:
        trials_run = trials
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(trials_run):
        index = np.sort(rng.permutation(n)[:batch])
        r1 = _quantile_normalised(pairwise_distances(X[index]), "X")
        r2 = _quantile_normalised(pairwise_distances(Y[index]), "Y")
        total += 0.5 * (_h1_total_length(_cross_matrix(r1, r2), backend)
                        + _h1_total_length(_cross_matrix(r2, r1), backend))
    return total / trials_run


# --------------------------------------------------------------------------- CCA


def _inverse_sqrt(sigma: np.ndarray) -> np.ndarray:
    """``pinv(sigma)^(1/2)`` of a symmetric positive semi-definite matrix (google/svcca takes
    ``np.linalg.pinv`` then the square root by ``eigh``; one ``eigh`` gives the same matrix)."""
    w, v = np.linalg.eigh(sigma)
    tiny = w.max(initial=0.0) * sigma.shape[0] * np.finfo(np.float64).eps  # pinv's default cutoff
    inv_sqrt = np.zeros_like(w)
    inv_sqrt[w > tiny] = 1.0 / np.sqrt(w[w > tiny])
    return (v * inv_sqrt) @ v.T


def _cca(X: np.ndarray, Y: np.ndarray, epsilon: float, where: str):
    """Canonical correlations as google/svcca's ``get_cca_similarity`` computes them.

    Returns the coefficients (decreasing), the kept neurons of X and of Y (boolean masks), and
    the canonical variates of the side with fewer kept neurons as rows (``(k, n_images)``),
    with which side it is (0: X, 1: Y).
    """
    n = X.shape[0]
    Xc, Yc = _centred(X), _centred(Y)
    sxx, syy, sxy = Xc.T @ Xc / (n - 1), Yc.T @ Yc / (n - 1), Xc.T @ Yc / (n - 1)  # np.cov's scaling
    xmax, ymax = np.abs(sxx).max(), np.abs(syy).max()
    for name, top in (("X", xmax), ("Y", ymax)):
        if not top > 0:
            raise TDAInputError(f"{where}: every feature of '{name}' is constant over the images, so there is "
                                "nothing to correlate. Check the layer (a dead layer?) or the images.")
    sxx, syy, sxy = sxx / xmax, syy / ymax, sxy / np.sqrt(xmax * ymax)
    keep_x, keep_y = np.diagonal(sxx) >= epsilon, np.diagonal(syy) >= epsilon
    sxx = sxx[np.ix_(keep_x, keep_x)] + epsilon * np.eye(keep_x.sum())
    syy = syy[np.ix_(keep_y, keep_y)] + epsilon * np.eye(keep_y.sum())
    sxy = sxy[np.ix_(keep_x, keep_y)]
    inv_x, inv_y = _inverse_sqrt(sxx), _inverse_sqrt(syy)
    u, s, vt = np.linalg.svd(inv_x @ sxy @ inv_y)
    coefficients = np.clip(np.abs(s), 0.0, 1.0)
    if keep_x.sum() <= keep_y.sum():
        variates, side = (inv_x @ u).T @ (Xc[:, keep_x] / np.sqrt(xmax)).T, 0
    else:
        variates, side = (inv_y @ vt.T).T @ (Yc[:, keep_y] / np.sqrt(ymax)).T, 1
    return coefficients, keep_x, keep_y, variates, side


def _svd_reduce(X: np.ndarray, keep: float, n_components: Optional[int], name: str, where: str) -> np.ndarray:
    """The SVD step of SVCCA: the centred ``X`` on its top singular directions, ``(n, k)``."""
    u, s, _ = np.linalg.svd(_centred(X), full_matrices=False)
    if n_components is not None:
        if n_components > s.size:
            raise TDAInputError(f"The 'n_components' parameter of {where} must be at most {s.size} for '{name}' "
                                f"(min(n_images, n_features) of its shape {X.shape}). Got {n_components}; lower "
                                "it or use keep= instead.")
        k = n_components
    else:
        variance = s ** 2
        if not variance.sum() > 0:
            raise TDAInputError(f"{where}: '{name}' is constant over the images (zero variance); check the layer "
                                "or the images.")
        k = int(np.searchsorted(np.cumsum(variance) / variance.sum(), keep * (1 - 1e-12))) + 1
        k = min(k, s.size)
    return u[:, :k] * s[:k]


def _check_cca_shape(A: np.ndarray, B: np.ndarray, where: str, what: str, fix: str) -> None:
    # google/svcca asserts neurons < datapoints: with as many features as images the canonical
    # correlations are all 1 whatever the data.
    for name, M in (("X", A), ("Y", B)):
        if M.shape[1] >= M.shape[0]:
            raise TDAInputError(f"{where} needs fewer {what} than images, or every canonical correlation is 1 "
                                f"whatever the data. '{name}' has {M.shape[1]} {what} for {M.shape[0]} images; "
                                f"{fix}.")


def _svcca_options(keep, n_components, epsilon, where: str = "svcca"):
    if isinstance(keep, np.bool_):
        keep = bool(keep)  # refused as a bool below
    SimilaritySpec.check(where, keep=keep)  # the declared rule: 0 < keep <= 1
    if n_components is not None:
        n_components = _int_option(n_components, "n_components", where, 1)
    return float(keep), n_components, _epsilon(epsilon, where)


@_one_blas_thread
def svcca(X, Y, *, keep: float = SVCCA_KEEP, n_components: Optional[int] = None,
          epsilon: float = CCA_EPSILON) -> float:
    """SVCCA similarity (Raghu et al., NeurIPS 2017): a **similarity** in [0, 1], 1 when the two
    representations' top singular subspaces coincide.

    Each representation is centred (per feature, over the images) and projected onto its top
    singular directions (those holding the fraction ``keep`` of its variance, or
    ``n_components`` of them); CCA between the two projections as google/svcca's
    ``cca_core.get_cca_similarity`` computes it (``np.cov`` covariances divided by their largest
    entry, directions with normalised variance below ``epsilon`` dropped, ``epsilon`` added to
    the diagonals, ``pinv`` square roots, SVD); SVCCA is the mean of all the canonical
    correlations, as in google/svcca's tutorial (``np.mean(results["cca_coef1"])``).

    Parameters
    ----------
    X : array_like of shape (n_images, n_features_x)
    Y : array_like of shape (n_images, n_features_y)
        The same images in the same order.
    keep : float in (0, 1], default=0.99
        Fraction of the variance (sum of squared singular values) kept, as in the paper.
    n_components : int, optional
        Keep this many directions instead (google/svcca's tutorial keeps 20); overrides ``keep``.
    epsilon : float, default=1e-10
        google/svcca's regulariser, the value its tutorials pass.

    Returns
    -------
    float
        Mean canonical correlation of the two SVD-reduced representations; symmetric.

    Raises
    ------
    TDAInputError
        On different numbers of rows, NaN or inf, fewer than 3 images, a constant
        representation, an invalid option, or as many kept directions as images.

    Notes
    -----
    Invariant to invertible linear maps of either side only where the SVD step keeps the whole
    subspace (e.g. ``keep=1`` with fewer features than images): the SVD step itself is invariant to
    rotations and isotropic scaling only. Differences from google/svcca:

    - ``keep`` counts variance as squared singular values (the paper's "99 % of the variance");
      their tutorial prints ``sum(s[:20]) / sum(s)``, a fraction of singular values.
    - The canonical correlations are clipped to [0, 1] (theirs may exceed 1 by rounding).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> round(svcca(X, X @ rng.normal(size=(5, 5)), keep=1.0), 6)
    1.0
    """
    where = "svcca"
    X, Y = _pair(X, Y, where, 3, "CCA needs more images than directions")
    keep, n_components, epsilon = _svcca_options(keep, n_components, epsilon)
    A = _svd_reduce(X, keep, n_components, "X", where)
    B = _svd_reduce(Y, keep, n_components, "Y", where)
    return _svcca_reduced(A, B, epsilon, where)


def _svcca_reduced(A: np.ndarray, B: np.ndarray, epsilon: float, where: str) -> float:
    _check_cca_shape(A, B, where, "kept SVD directions",
                     "lower keep or n_components, or pass more images")
    return float(np.mean(_cca(A, B, epsilon, where)[0]))


@_one_blas_thread
def pwcca(X, Y, *, epsilon: float = CCA_EPSILON) -> float:
    """Projection-weighted CCA (Morcos et al., NeurIPS 2018): a **similarity** in [0, 1].

    CCA between ``X`` and ``Y`` (as :func:`svcca`'s CCA step, on all features); the canonical
    correlations ``rho_i`` are averaged with weights ``alpha_i = sum_j |<h_i, x_j>|``, ``h_i`` the
    i-th canonical variate orthonormalised (QR) and ``x_j`` the j-th feature of the side with fewer
    kept features (google/svcca's ``compute_pwcca`` choice), normalised to sum to 1.

    Parameters
    ----------
    X : array_like of shape (n_images, n_features_x)
    Y : array_like of shape (n_images, n_features_y)
        The same images in the same order; each with fewer features than images.
    epsilon : float, default=1e-10
        google/svcca's regulariser (``compute_pwcca(..., epsilon=1e-10)`` in their tutorial).

    Returns
    -------
    float
        ``sum_i alpha_i rho_i``. Symmetric unless both sides keep the same number of features
        (then the weights come from ``X``, as in google/svcca).

    Raises
    ------
    TDAInputError
        On different numbers of rows, NaN or inf, fewer than 3 images, a constant
        representation, or as many features as images (pool the layer, e.g. the ``image-avgpool``
        cloud mode, pass more images, or use :func:`svcca`, which reduces dimensions first).

    Notes
    -----
    Where ours differs from google/svcca's ``pwcca.compute_pwcca``, and why:

    - ``h_i`` are the canonical variates ``u_i^T Sigma_xx^(-1/2) X_c`` of the paper (and of
      cca_core's own ``compute_dirns`` and of Ding et al.'s ``pwcca_dist``); ``compute_pwcca``
      orthonormalises ``u^T X_c + means`` instead, leaving out ``Sigma_xx^(-1/2)`` and adding the
      neuron means back. The two agree when the chosen side's features are centred and
      uncorrelated with equal variance (a test checks that case against their code).
    - Whether the features ``x_j`` are centred does not matter here (the variates are centred,
      so the means drop out of ``<h_i, x_j>``); in ``compute_pwcca`` it does, through the means
      added to its directions.
    - When Y has fewer features, its own activations are used; ``compute_pwcca`` indexes ``acts1``
      there (google/svcca pull request #9).

    Google's value is a similarity; Ding et al. report the distance ``1 - pwcca``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> round(pwcca(X, X @ rng.normal(size=(4, 4))), 6)
    1.0
    """
    where = "pwcca"
    X, Y = _pair(X, Y, where, 3, "CCA needs more images than features")
    epsilon = _epsilon(epsilon, where)
    _check_cca_shape(X, Y, where, "features",
                     "pool the layer (the image-avgpool cloud mode), pass more images, or use svcca, which "
                     "reduces each side to its top singular directions first")
    return _pwcca_checked(X, Y, epsilon, where)


def _pwcca_checked(X: np.ndarray, Y: np.ndarray, epsilon: float, where: str) -> float:
    coefficients, keep_x, keep_y, variates, side = _cca(X, Y, epsilon, where)
    features = _centred(X)[:, keep_x] if side == 0 else _centred(Y)[:, keep_y]
    q, _ = np.linalg.qr(variates.T)
    weights = np.abs(q.T @ features).sum(axis=1)
    weights = weights / weights.sum()
    return float(np.clip(np.sum(weights[: coefficients.size] * coefficients), 0.0, 1.0))


# --------------------------------------------------------------------------- Procrustes


def _procrustes_prepared(X: np.ndarray, name: str, where: str) -> np.ndarray:
    """Centred, unit Frobenius norm, and reduced to at most n_images columns (same products)."""
    Xc = _centred(X)
    norm = np.linalg.norm(Xc)
    if not norm > 0:
        raise TDAInputError(f"{where} divides each centred representation by its Frobenius norm, and '{name}' is "
                            "constant over the images (norm 0). Check the layer (a dead layer?) or the images.")
    Xc = Xc / norm
    if Xc.shape[1] > Xc.shape[0]:
        # X = R^T Q^T with Q orthonormal: X^T Y and R^T... have the same singular values.
        Xc = np.linalg.qr(Xc.T, mode="r").T
    return Xc


def _procrustes_from_prepared(A: np.ndarray, B: np.ndarray) -> float:
    nuclear = float(np.linalg.svd(A.T @ B, compute_uv=False).sum())
    return max(0.0, 2.0 - 2.0 * nuclear)


@_one_blas_thread
def procrustes_distance(X, Y) -> float:
    """Orthogonal Procrustes distance (Ding et al., NeurIPS 2021): a **distance** in [0, 2].

    With ``A`` and ``B`` the representations centred (each feature over the images) and divided
    by their Frobenius norms, ``|A|_F^2 + |B|_F^2 - 2 |A^T B|_* = 2 - 2 |A^T B|_*`` (nuclear
    norm), which is ``min over orthogonal R of |A R - B|_F^2`` — the formula of Ding et al.'s
    ``procrustes`` in js-d/sim_metric, with their ``score_local_pair`` preprocessing.

    Parameters
    ----------
    X : array_like of shape (n_images, n_features_x)
    Y : array_like of shape (n_images, n_features_y)
        The same images in the same order (feature counts may differ: the smaller side is
        padded with zeros, implicitly).

    Returns
    -------
    float
        0 when ``Y`` is ``X`` rotated, translated and scaled; symmetric.

    Raises
    ------
    TDAInputError
        On different numbers of rows, NaN or inf, fewer than 2 images, or a constant
        representation.

    Notes
    -----
    Differences from js-d/sim_metric: their arrays are (features, images), ours (images,
    features), so their row centring is our column centring; results below 0 by rounding are
    returned as 0; with more features than images each side is first reduced by a QR
    factorisation (the nuclear norm is unchanged), which is only faster.

    Examples
    --------
    >>> procrustes_distance([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], [[0.0, 0.0], [0.0, 1.0], [-2.0, 0.0]])
    0.0
    """
    where = "procrustes_distance"
    X, Y = _pair(X, Y, where, 2, "centring one image leaves nothing")
    return _procrustes_from_prepared(_procrustes_prepared(X, "X", where), _procrustes_prepared(Y, "Y", where))


# --------------------------------------------------------------------------- RSA


def _rdm_ranks(X: np.ndarray, metric: str, name: str, where: str) -> np.ndarray:
    """Ranks (average ranks for ties) of the RDM's upper triangle, ``pdist``'s order."""
    from scipy.spatial.distance import pdist
    from scipy.stats import rankdata

    if metric in ("correlation", "cosine"):
        rows = _centred(X.T).T if metric == "correlation" else X
        flat = np.flatnonzero(np.linalg.norm(rows, axis=1) == 0)
        if flat.size:
            raise TDAInputError(f"{where} with metric={metric!r} needs every image's activations in '{name}' to "
                                f"{'vary over features' if metric == 'correlation' else 'be non-zero'}; "
                                f"{flat.size} image(s) do not (first: row {int(flat[0])}). Use metric='euclidean', "
                                "or drop those images from both representations.")
    rdm = pdist(X, metric=metric)
    if np.ptp(rdm) == 0:
        raise TDAInputError(f"{where}: every pair of images is equally dissimilar in '{name}', so its RDM has no "
                            "ranking to correlate. Check the layer or the images.")
    return rankdata(rdm)


def _rsa_from_ranks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float(np.clip(a @ b / np.sqrt((a @ a) * (b @ b)), -1.0, 1.0))


@_one_blas_thread
def rsa(X, Y, *, metric: str = "correlation") -> float:
    """Representational similarity analysis (Kriegeskorte et al. 2008): a **similarity** in [-1, 1].

    Each representation gives a representational dissimilarity matrix (RDM) over the images:
    ``metric`` between every two images' activation vectors (``"correlation"``: 1 - Pearson
    correlation, the classic choice; ``"euclidean"``; ``"cosine"``). RSA is the Spearman
    correlation of the two RDMs' upper triangles (diagonal excluded).

    Parameters
    ----------
    X : array_like of shape (n_images, n_features_x)
    Y : array_like of shape (n_images, n_features_y)
        The same images in the same order.
    metric : {"correlation", "euclidean", "cosine"}, default="correlation"
        Dissimilarity in the RDMs (scipy's ``pdist`` names).

    Returns
    -------
    float
        Spearman's rho of the RDMs (average ranks for ties, as ``scipy.stats.spearmanr``);
        symmetric; 1 for identical representations.

    Raises
    ------
    TDAInputError
        On different numbers of rows, NaN or inf, fewer than 3 images, an unknown metric, an
        image whose correlation (or cosine) distance is undefined, or a constant RDM.

    Notes
    -----
    There is no single reference code; this is the comparison rsatoolbox calls ``"spearman"``,
    on RDMs computed as ``scipy.spatial.distance.pdist`` computes them.

    Examples
    --------
    >>> rsa([[0.0], [1.0], [3.0]], [[0.0], [2.0], [3.0]], metric="euclidean")
    0.5
    """
    where = "rsa"
    X, Y = _pair(X, Y, where, 3, "an RDM of two images has one entry, with nothing to rank")
    SimilaritySpec.check(where, metric=metric)  # the declared choices (RSA_METRICS)
    return _rsa_from_ranks(_rdm_ranks(X, metric, "X", where), _rdm_ranks(Y, metric, "Y", where))


# --------------------------------------------------------------------------- each layer prepared once


def _svcca_layers(arrays: list, *, keep: float, n_components: Optional[int], epsilon: float):
    keep, n_components, epsilon = _svcca_options(keep, n_components, epsilon)
    _pair(arrays[0], arrays[0], "svcca", 3, "CCA needs more images than directions")
    prepared = [_svd_reduce(a, keep, n_components, f"representations[{k}]", "svcca") for k, a in enumerate(arrays)]
    return prepared, lambda a, b: _svcca_reduced(a, b, epsilon, "svcca")


def _procrustes_layers(arrays: list):
    _pair(arrays[0], arrays[0], "procrustes_distance", 2, "centring one image leaves nothing")
    return ([_procrustes_prepared(a, f"representations[{k}]", "procrustes_distance") for k, a in enumerate(arrays)],
            _procrustes_from_prepared)


def _rsa_layers(arrays: list, *, metric: str):
    SimilaritySpec.check("similarity_matrix", metric=metric)  # the declared choices (RSA_METRICS)
    _pair(arrays[0], arrays[0], "rsa", 3, "an RDM of two images has one entry, with nothing to rank")
    return [_rdm_ranks(a, metric, f"representations[{k}]", "rsa") for k, a in enumerate(arrays)], _rsa_from_ranks


# --------------------------------------------------------------------------- the measures' records

#: One record per measure: what its number means, its options and its function. Adding a measure
#: is one record here, its options in :class:`SimilaritySpec` and its test (see CONTRIBUTING.md);
#: the engine's step, the cross-model view, the report and the dropdowns read these records.
MEASURE_INFO = {
    "rtd": MeasureInfo("rtd", "RTD", "distance", 0.0, (0.0, np.inf),
                       "Barannikov et al., ICML 2022; github.com/IlyaTrofimov/RTD",
                       "representation topology divergence: persistence of the two clouds' joint graph",
                       (("batch", "rtd_batch"), ("trials", "rtd_trials"), ("seed", "seed"), ("backend", "backend")),
                       rtd),
    "svcca": MeasureInfo("svcca", "SVCCA", "similarity", 1.0, (0.0, 1.0),
                         "Raghu et al., NeurIPS 2017; github.com/google/svcca",
                         "mean canonical correlation of the two layers' top singular directions",
                         (("keep", "keep"), ("n_components", "n_components"), ("epsilon", "epsilon")), svcca,
                         _svcca_layers),
    "pwcca": MeasureInfo("pwcca", "PWCCA", "similarity", 1.0, (0.0, 1.0),
                         "Morcos et al., NeurIPS 2018; github.com/google/svcca",
                         "canonical correlations weighted by how much of a layer each direction explains",
                         (("epsilon", "epsilon"),), pwcca),
    "procrustes": MeasureInfo("procrustes", "Procrustes", "distance", 0.0, (0.0, 2.0),
                              "Ding et al., NeurIPS 2021; github.com/js-d/sim_metric",
                              "orthogonal Procrustes distance between the normalised, centred layers", (),
                              procrustes_distance, _procrustes_layers),
    "rsa": MeasureInfo("rsa", "RSA", "similarity", 1.0, (-1.0, 1.0),
                       "Kriegeskorte et al., Front. Syst. Neurosci. 2008",
                       "Spearman correlation of the two layers' image-by-image dissimilarity matrices",
                       (("metric", "metric"),), rsa, _rsa_layers),
}
#: The measures, by the name the spec, the engine and the report use (the records' keys).
MEASURES = tuple(MEASURE_INFO)


@dataclass(frozen=True)
class SimilaritySpec(Spec):
    """Options of the representational-similarity step (declared once; see :mod:`tda_widgets.options`).

    ``measure`` picks the function; :meth:`measure_kwargs` gives that function's keywords.
    """

    measure: str = option("svcca", "representational similarity measure shown beside PH and CKA",
                          choices=MEASURES, label="measure")
    rtd_batch: int = option(RTD_BATCH, "RTD: images per random subsample (the authors use 500; the "
                            "cost grows about with its cube)", kind=Integral, minimum=3, label="RTD batch")
    rtd_trials: int = option(RTD_TRIALS, "RTD: random subsamples averaged (the authors use 10)", kind=Integral,
                             minimum=1, label="RTD trials")
    seed: int = option(0, "RTD: seed of the random subsamples", kind=Integral, minimum=0)
    backend: str = option("auto", "RTD: Vietoris-Rips backend (identical barcodes)", choices=BACKENDS,
                          label="PH backend")
    keep: float = option(SVCCA_KEEP, "SVCCA: fraction of each layer's variance kept by the SVD step (Raghu et al.: "
                         "0.99)", kind=Real, minimum=0.0, maximum=1.0, closed="right", label="SVCCA variance kept")
    n_components: Optional[int] = option(None, "SVCCA: keep this many SVD directions instead of a variance "
                                         "fraction", kind=Integral, minimum=1, allow_none=True,
                                         label="SVCCA directions")
    epsilon: float = option(CCA_EPSILON, "SVCCA/PWCCA: google/svcca's regulariser (neurons with smaller "
                            "normalised variance are dropped; added to the covariances' diagonal)",
                            kind=Real, minimum=0.0, label="CCA epsilon")
    metric: str = option("correlation", "RSA: dissimilarity between two images' activations in each RDM",
                         choices=RSA_METRICS, label="RSA metric")

    def measure_kwargs(self) -> dict:
        """The keyword arguments of the chosen measure's function (``rtd_batch`` -> ``batch``, ...),
        read from the measure's record (:data:`MEASURE_INFO`)."""
        return {keyword: getattr(self, field) for keyword, field in MEASURE_INFO[self.measure].options}




def _check_measure(measure, where: str) -> str:
    SimilaritySpec.check(where, measure=measure)  # the declared choices
    return measure


def _measure_options(measure: str, options: dict, where: str) -> dict:
    """A measure's keywords with the declared default of each one left out, read from its record
    (:attr:`MeasureInfo.options`) and :class:`SimilaritySpec`; an unknown keyword is an error
    naming the measure's own."""
    record = MEASURE_INFO[measure]
    unknown = sorted(set(options) - set(record.keywords))
    if unknown:
        own = f"its options are {', '.join(record.keywords)}" if record.keywords else "it takes no options"
        raise TDAInputError(f"{where}({measure!r}) got unknown option(s) {unknown}; {own}.")
    return {keyword: options.get(keyword, SimilaritySpec.default(field)) for keyword, field in record.options}


def representation_similarity(X, Y, measure: str = "svcca", **options) -> float:
    """One measure of :data:`MEASURES` between two representations, by name.

    ``options`` are the measure's keywords (e.g. ``batch=`` for ``"rtd"``); see
    :meth:`SimilaritySpec.measure_kwargs` for the declared defaults.

    Examples
    --------
    >>> representation_similarity([[0.0], [1.0], [3.0]], [[0.0], [2.0], [3.0]], "rsa", metric="euclidean")
    0.5
    """
    function = MEASURE_INFO[_check_measure(measure, "representation_similarity")].function
    assert function is not None  # every measure's record names its function
    return function(X, Y, **_measure_options(measure, options, "representation_similarity"))


@_one_blas_thread
def similarity_matrix(representations: Sequence, measure: str = "svcca", *, progress=None, cancel=None,
                      **options) -> np.ndarray:
    """The L x L matrix of one measure between every pair of L representations of the same images.

    Each layer is prepared once (SVD step of SVCCA, normalisation of Procrustes, RDM ranks of
    RSA), then each pair ``i < j`` computed once; the matrix is mirrored (for PWCCA the weights
    come from the side with fewer features, so ``(i, j)`` and ``(j, i)`` agree unless both have
    the same number) and its diagonal holds the value for identical inputs
    (:attr:`MeasureInfo.identical`).

    Parameters
    ----------
    representations : sequence of array_like, each of shape (n_images, n_features_l)
    measure : str, default="svcca"
        One of :data:`MEASURES`.
    progress : callable, optional
        Called as ``progress(done, total, message)`` after each layer pair.
    cancel : object with ``is_set()``, optional
        Checked before each pair; raises :class:`~tda_widgets.errors.Cancelled` when set.
    **options
        The measure's keywords.

    Returns
    -------
    ndarray of shape (L, L)
        Entry ``(i, j)`` equals ``representation_similarity(reps[i], reps[j], measure, **options)``.

    Examples
    --------
    >>> reps = [[[0.0], [1.0], [3.0]], [[0.0], [2.0], [3.0]]]
    >>> similarity_matrix(reps, "rsa", metric="euclidean")
    array([[1. , 0.5],
           [0.5, 1. ]])
    """
    measure = _check_measure(measure, "similarity_matrix")
    record = MEASURE_INFO[measure]
    options = _measure_options(measure, options, "similarity_matrix")
    reps = list(representations)
    L = len(reps)
    matrix = np.full((L, L), record.identical)
    if L < 2:
        return matrix
    if record.prepare_layers is None:
        assert record.function is not None  # every measure's record names its function
        function = record.function
        prepared: list = reps
        pair = lambda a, b: function(a, b, **options)  # noqa: E731
    else:
        # Validate every layer's shape once, then reuse each layer's preparation.
        prepared, pair = record.prepare_layers(_same_images(reps, "similarity_matrix"), **options)
    total, done = L * (L - 1) // 2, 0
    for i in range(L):
        for j in range(i + 1, L):
            check_cancel(cancel, f"{measure} of layer pair ({i}, {j})")
            matrix[i, j] = matrix[j, i] = pair(prepared[i], prepared[j])
            done += 1
            report(progress, done, total, f"{record.label} {done}/{total} layer pairs")
    return matrix


def _same_images(reps: list, where: str) -> list:
    """Each representation as a float64 array; every one with the same number of rows (images)."""
    n = None
    arrays = []
    for k, rep in enumerate(reps):
        name = f"representations[{k}]"
        array = _representation(rep, name, where)
        if n is not None and array.shape[0] != n:
            raise TDAInputError(f"{where} compares representations of the same images, so every one must have "
                                f"the same number of rows. Got {n} in representations[0] and {array.shape[0]} in "
                                f"{name}; compute all on the same images in the same order.")
        n = array.shape[0]
        arrays.append(array)
    return arrays
