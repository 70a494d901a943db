"""Centred kernel alignment (CKA): representational similarity between layers.

CKA compares two representations of the *same* ``n`` examples (rows), whatever their feature
dimensions, through the Hilbert-Schmidt independence criterion (HSIC) of their Gram matrices
(Kornblith et al., "Similarity of Neural Network Representations Revisited", ICML 2019)::

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) * HSIC(L, L))

Two estimators of HSIC are offered:

* biased (default): ``HSIC(K, L) = tr(K H L H) / (n - 1)**2`` with ``H = I - 11^T / n``;
  CKA then lies in [0, 1] and ``CKA(X, X) = 1``;
* debiased (``debiased=True``): the unbiased estimator of Song et al. (2012), as used by
  Nguyen et al. (2021) and Kornblith's reference notebook; it removes the bias towards 1
  at small ``n`` relative to the feature dimension, and may be slightly negative.

Kernels: linear (``K = X X^T``) and RBF (``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))``) with
``sigma = sigma_factor * median pairwise distance`` of that representation. The median is taken
over distinct pairs ``i < j``; Kornblith's notebook takes it over the full ``n x n`` matrix,
zero diagonal included, which gives a slightly smaller bandwidth.

All arithmetic is float64. Linear CKA uses the feature-space formula
``|Y_c^T X_c|_F^2 / (|X_c^T X_c|_F |Y_c^T Y_c|_F)`` when both feature dimensions are below
``n`` (cheaper) and Gram matrices otherwise; the two agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..core._progress import CancelEvent, ProgressCallback, check_cancel, report
from ..core.errors import TDAInputError, TDATypeError
from ..core.options import Spec, option

__all__ = ["linear_cka", "rbf_cka", "cka_matrix", "rank_correlation", "KERNELS", "ESTIMATORS"]

#: Kernels accepted by :func:`cka_matrix`.
KERNELS = ("linear", "rbf")
#: How a study computes CKA: from every image's full activations (kept in memory), or streamed
#: minibatch by minibatch during the capture (:mod:`tda_widgets.topology.minibatch_cka`).
ESTIMATORS = ("auto", "exact", "minibatch")
#: What CKA compares, in one line (the report's measures table reads it).
DESCRIPTION = "centred kernel alignment of the two layers' flattened activations over the same images " \
              "(Kornblith et al. 2019)"


@dataclass(frozen=True)
class CKASpec(Spec):
    """Options of the CKA step (declared once; see :mod:`tda_widgets.options`)."""

    kernel: str = option("linear", "CKA kernel (rbf: Gaussian, bandwidth = median distance)", choices=KERNELS,
                         label="CKA kernel")
    debiased: bool = option(False, "the unbiased HSIC estimator (Song et al. 2012) instead of the biased one",
                            kind=bool)
    estimator: str = option("auto", "exact: from every image's full activations, kept in memory; minibatch: "
                            "linear CKA streamed during the capture, nothing kept (Nguyen et al. 2021; always "
                            "the unbiased HSIC); auto: exact when its peak (the full activations, copies, Gram "
                            "matrices) fits the capture budget max_bytes",
                            choices=ESTIMATORS, label="CKA estimator")


# --------------------------------------------------------------------------- validation


def _as_representation(X, name: str, where: str) -> np.ndarray:
    """Return ``X`` as a finite float64 array of shape (n, d); trailing dims are flattened."""
    try:
        array = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TDATypeError(
            f"The '{name}' parameter of {where} must be an array of shape (n_examples, n_features). "
            f"Could not convert it to an array: {exc}"
        ) from exc
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ) or np.iscomplexobj(array):
        raise TDATypeError(
            f"The '{name}' parameter of {where} must hold real numbers. Got dtype {array.dtype} "
            "instead; convert it with np.asarray(..., dtype=float)."
        )
    if array.ndim < 2:
        raise TDAInputError(
            f"The '{name}' parameter of {where} must have shape (n_examples, n_features) with one "
            f"row per example. Got shape {array.shape} instead; for a single feature use "
            f"{name}.reshape(-1, 1)."
        )
    array = array.reshape(array.shape[0], -1).astype(np.float64, copy=False)
    if array.shape[1] == 0:
        raise TDAInputError(
            f"The '{name}' parameter of {where} has no features (shape {array.shape}); "
            "pass at least one feature column."
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise TDAInputError(
            f"The '{name}' parameter of {where} must be finite. Got {bad} NaN or infinite "
            "value(s); remove or impute them (e.g. np.nan_to_num) before computing CKA."
        )
    return array


def _check_n(n: int, debiased: bool, where: str) -> None:
    minimum = 4 if debiased else 2
    if n < minimum:
        kind = "debiased CKA (the unbiased HSIC estimator divides by n - 3)" if debiased else "CKA"
        raise TDAInputError(
            f"{where} needs at least {minimum} examples (rows) for {kind}. Got {n}; "
            "pass more examples" + (" or set debiased=False." if debiased else ".")
        )


def _check_same_n(X: np.ndarray, Y: np.ndarray, where: str, names=("X", "Y")) -> None:
    if X.shape[0] != Y.shape[0]:
        raise TDAInputError(
            f"{where} compares two representations of the same examples, so '{names[0]}' and "
            f"'{names[1]}' must have the same number of rows. Got shapes {X.shape} and "
            f"{Y.shape}; compute both on the same images in the same order (rows = examples)."
        )


def _check_bool(value, name: str, where: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TDATypeError(
            f"The '{name}' parameter of {where} must be True or False. Got {value!r} instead."
        )
    return bool(value)


def _check_sigma_factor(sigma_factor, where: str) -> float:
    if isinstance(sigma_factor, (bool, np.bool_)) or not isinstance(
        sigma_factor, (int, float, np.integer, np.floating)
    ):
        raise TDATypeError(
            f"The 'sigma_factor' parameter of {where} must be a positive number. "
            f"Got {sigma_factor!r} instead."
        )
    value = float(sigma_factor)
    if not (np.isfinite(value) and value > 0):
        raise TDAInputError(
            f"The 'sigma_factor' parameter of {where} must be a positive finite number (the RBF "
            f"bandwidth is sigma_factor * median pairwise distance). Got {sigma_factor!r} instead; "
            "use 1.0 for the median heuristic."
        )
    return value


# --------------------------------------------------------------------------- kernels


def _squared_distances(X: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances by the Gram trick, clamped at 0, zero diagonal."""
    gram = X @ X.T
    sq_norms = np.diag(gram).copy()
    scale = sq_norms[:, None] + sq_norms[None, :]
    sq = scale - 2.0 * gram
    # Below the Gram trick's rounding error a distance is indistinguishable from 0 (duplicates).
    sq[sq <= 64 * np.finfo(np.float64).eps * scale] = 0.0
    np.fill_diagonal(sq, 0.0)
    return sq


def _linear_gram(X: np.ndarray) -> np.ndarray:
    return X @ X.T


def _rbf_gram(X: np.ndarray, sigma_factor: float, name: str, where: str) -> np.ndarray:
    # Centre first: distances are translation invariant, and centring keeps the Gram trick
    # accurate when the representation sits far from the origin.
    X = X - X.mean(axis=0, keepdims=True)
    sq = _squared_distances(X)
    upper = sq[np.triu_indices(sq.shape[0], k=1)]
    median_distance = float(np.median(np.sqrt(upper)))
    if not median_distance > 0:
        raise TDAInputError(
            f"The RBF bandwidth of '{name}' in {where} is sigma_factor * median pairwise distance, "
            "and the median pairwise distance is 0 (at least half of the pairs of rows are "
            "identical). Remove duplicate rows or use the linear kernel."
        )
    sigma = sigma_factor * median_distance
    return np.exp(-sq / (2.0 * sigma * sigma))


def _center_gram(gram: np.ndarray, debiased: bool) -> np.ndarray:
    """Centre a Gram matrix so that the Frobenius dot product of two is a scaled HSIC.

    Biased: ``H K H``, whose dot products are ``(n - 1)**2`` times the biased HSIC.
    Debiased: the U-centring of Song et al. (2012) (zero diagonal), whose dot products are
    ``n (n - 3)`` times the unbiased HSIC. The scale factors cancel in CKA.
    """
    gram = np.array(gram, dtype=np.float64, copy=True)
    n = gram.shape[0]
    if debiased:
        np.fill_diagonal(gram, 0.0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0.0)
    else:
        means = gram.mean(axis=0)
        means -= means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def _is_constant(X: np.ndarray) -> bool:
    """True when every row equals the first (rounding in centring would hide it otherwise)."""
    return bool(np.all(X == X[0]))


def _degenerate_error(name: str, where: str) -> TDAInputError:
    return TDAInputError(
        f"CKA is undefined in {where}: the representation '{name}' has zero variance after "
        "centring (all rows identical, e.g. a dead layer), so its self-similarity is 0. Drop "
        "that representation or check the layer's activations."
    )


def _cka_from_centred(gx: np.ndarray, gy: np.ndarray, names, where: str) -> float:
    norm_x = float(np.sqrt(np.vdot(gx, gx)))
    norm_y = float(np.sqrt(np.vdot(gy, gy)))
    if not norm_x > 0:
        raise _degenerate_error(names[0], where)
    if not norm_y > 0:
        raise _degenerate_error(names[1], where)
    return float(np.vdot(gx, gy) / (norm_x * norm_y))


def _debiased_dot(xty, sum_sq_rows_x, sum_sq_rows_y, sq_norm_x, sq_norm_y, n):
    """Unbiased HSIC (times n(n-3)) from feature-space quantities (Kornblith's notebook)."""
    return (
        xty
        - n / (n - 2.0) * float(sum_sq_rows_x @ sum_sq_rows_y)
        + sq_norm_x * sq_norm_y / ((n - 1) * (n - 2))
    )


def _linear_cka_features(X: np.ndarray, Y: np.ndarray, debiased: bool, where: str) -> float:
    """Linear CKA by the feature-space formula (cost O(n d_x d_y)); inputs are validated."""
    X = X - X.mean(axis=0, keepdims=True)
    Y = Y - Y.mean(axis=0, keepdims=True)
    cross = float(np.linalg.norm(Y.T @ X) ** 2)
    self_x = float(np.linalg.norm(X.T @ X) ** 2)
    self_y = float(np.linalg.norm(Y.T @ Y) ** 2)
    if debiased:
        n = X.shape[0]
        rows_x = np.einsum("ij,ij->i", X, X)
        rows_y = np.einsum("ij,ij->i", Y, Y)
        norm_x, norm_y = float(rows_x.sum()), float(rows_y.sum())
        cross = _debiased_dot(cross, rows_x, rows_y, norm_x, norm_y, n)
        self_x = _debiased_dot(self_x, rows_x, rows_x, norm_x, norm_x, n)
        self_y = _debiased_dot(self_y, rows_y, rows_y, norm_y, norm_y, n)
    if not self_x > 0:
        raise _degenerate_error("X", where)
    if not self_y > 0:
        raise _degenerate_error("Y", where)
    return float(cross / np.sqrt(self_x * self_y))


def _linear_cka_gram(X: np.ndarray, Y: np.ndarray, debiased: bool, where: str) -> float:
    """Linear CKA from centred Gram matrices (cost O(n^2 (d_x + d_y))); inputs are validated."""
    X = X - X.mean(axis=0, keepdims=True)
    Y = Y - Y.mean(axis=0, keepdims=True)
    gx = _center_gram(_linear_gram(X), debiased)
    gy = _center_gram(_linear_gram(Y), debiased)
    return _cka_from_centred(gx, gy, ("X", "Y"), where)


# --------------------------------------------------------------------------- public API


def linear_cka(X, Y, *, debiased: bool = False) -> float:
    """Linear centred kernel alignment between two representations of the same examples.

    Parameters
    ----------
    X : array_like of shape (n_examples, n_features_x)
        First representation, one row per example. Arrays with more than two dimensions
        (e.g. ``(n, C, H, W)`` activations) are flattened to ``(n, -1)``.
    Y : array_like of shape (n_examples, n_features_y)
        Second representation of the same examples in the same order.
    debiased : bool, default False
        Use the unbiased HSIC estimator of Song et al. (2012) instead of the biased one.

    Returns
    -------
    float
        Linear CKA. In [0, 1] when ``debiased=False``; the debiased value may be slightly
        negative for unrelated representations.

    Raises
    ------
    TDAInputError
        If the numbers of rows differ, there are fewer than 2 examples (4 when debiased),
        values are NaN or infinite, or a representation is constant.
    TDATypeError
        If an input is not numeric.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 8))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    >>> round(linear_cka(X, 3.0 * X @ Q + 1.0), 12)
    1.0
    """
    where = "linear_cka"
    debiased = _check_bool(debiased, "debiased", where)
    X = _as_representation(X, "X", where)
    Y = _as_representation(Y, "Y", where)
    _check_same_n(X, Y, where)
    _check_n(X.shape[0], debiased, where)
    for name, array in (("X", X), ("Y", Y)):
        if _is_constant(array):
            raise _degenerate_error(name, where)
    if max(X.shape[1], Y.shape[1]) < X.shape[0]:
        return _linear_cka_features(X, Y, debiased, where)
    return _linear_cka_gram(X, Y, debiased, where)


def rbf_cka(X, Y, *, sigma_factor: float = 1.0, debiased: bool = False) -> float:
    """RBF-kernel centred kernel alignment between two representations of the same examples.

    Each representation gets its own bandwidth ``sigma = sigma_factor * median pairwise
    Euclidean distance`` (over distinct pairs of rows), the convention of Kornblith et al. (2019).

    Parameters
    ----------
    X : array_like of shape (n_examples, n_features_x)
        First representation, one row per example; extra dimensions are flattened.
    Y : array_like of shape (n_examples, n_features_y)
        Second representation of the same examples in the same order.
    sigma_factor : float, default 1.0
        Bandwidth as a multiple of the median pairwise distance (Kornblith et al. also use 0.2,
        0.4 and 0.8).
    debiased : bool, default False
        Use the unbiased HSIC estimator of Song et al. (2012).

    Returns
    -------
    float
        RBF CKA, in [0, 1] when ``debiased=False``.

    Raises
    ------
    TDAInputError
        If the numbers of rows differ, there are too few examples, values are not finite,
        ``sigma_factor`` is not positive, or a median pairwise distance is 0.
    TDATypeError
        If an input is not numeric.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))
    >>> round(rbf_cka(X, 2.0 * X - 7.0), 12)
    1.0
    """
    where = "rbf_cka"
    debiased = _check_bool(debiased, "debiased", where)
    sigma_factor = _check_sigma_factor(sigma_factor, where)
    X = _as_representation(X, "X", where)
    Y = _as_representation(Y, "Y", where)
    _check_same_n(X, Y, where)
    _check_n(X.shape[0], debiased, where)
    for name, array in (("X", X), ("Y", Y)):
        if _is_constant(array):
            raise _degenerate_error(name, where)
    gx = _center_gram(_rbf_gram(X, sigma_factor, "X", where), debiased)
    gy = _center_gram(_rbf_gram(Y, sigma_factor, "Y", where), debiased)
    return _cka_from_centred(gx, gy, ("X", "Y"), where)


def cka_matrix(
    features: Sequence,
    *,
    kernel: str = "linear",
    debiased: bool = False,
    sigma_factor: float = 1.0,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelEvent] = None,
) -> np.ndarray:
    """CKA between every pair of representations (e.g. every pair of layers).

    Each representation's centred Gram matrix is computed once, then every pair costs one
    Frobenius dot product.

    Parameters
    ----------
    features : sequence of array_like, each of shape (n_examples, n_features_l)
        One representation per layer, all over the same examples in the same order.
    kernel : {"linear", "rbf"}, default "linear"
        Kernel of the Gram matrices.
    debiased : bool, default False
        Use the unbiased HSIC estimator of Song et al. (2012).
    sigma_factor : float, default 1.0
        RBF bandwidth as a multiple of each layer's median pairwise distance (ignored for
        the linear kernel).
    progress : callable, optional
        Called as ``progress(done, total, message)``: once per Gram matrix, then once per row.
    cancel : object with ``is_set()``, optional
        Checked between layers and rows; raises :class:`~tda_widgets.errors.Cancelled`.

    Returns
    -------
    ndarray of shape (n_layers, n_layers)
        Symmetric CKA matrix with unit diagonal.

    Raises
    ------
    TDAInputError
        If fewer than one representation is given, row counts differ (the message names the
        layers and shapes), values are not finite, the kernel is unknown, or a layer is constant.
    Cancelled
        If ``cancel`` is set during the computation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 6))
    >>> M = cka_matrix([X, 2 * X, rng.normal(size=(30, 4))])
    >>> M.shape, round(float(M[0, 1]), 12)
    ((3, 3), 1.0)
    """
    where = "cka_matrix"
    if isinstance(kernel, str) and kernel.lower() in KERNELS:
        kernel = kernel.lower()
    else:
        raise TDAInputError(
            f"The 'kernel' parameter of {where} must be one of {set(KERNELS)}. "
            f"Got {kernel!r} instead."
        )
    debiased = _check_bool(debiased, "debiased", where)
    if kernel == "rbf":
        sigma_factor = _check_sigma_factor(sigma_factor, where)
    if isinstance(features, np.ndarray) and features.ndim == 2:
        raise TDAInputError(
            f"The 'features' parameter of {where} must be a sequence of representations (one "
            f"(n_examples, n_features) array per layer). Got a single 2-D array of shape "
            f"{features.shape}; wrap it in a list, e.g. [X, Y]."
        )
    try:
        features = list(features)
    except TypeError as exc:
        raise TDATypeError(
            f"The 'features' parameter of {where} must be a sequence of arrays. "
            f"Got {type(features).__name__} instead."
        ) from exc
    if len(features) == 0:
        raise TDAInputError(
            f"The 'features' parameter of {where} must hold at least one representation. "
            "Got an empty sequence."
        )
    arrays = [_as_representation(f, f"features[{i}]", where) for i, f in enumerate(features)]
    for i, array in enumerate(arrays[1:], start=1):
        _check_same_n(arrays[0], array, where, names=("features[0]", f"features[{i}]"))
    n_layers = len(arrays)
    _check_n(arrays[0].shape[0], debiased, where)

    total = 2 * n_layers
    grams = []
    norms = np.empty(n_layers)
    for i, array in enumerate(arrays):
        check_cancel(cancel, f"{where} (Gram matrix of layer {i})")
        name = f"features[{i}]"
        if _is_constant(array):
            raise _degenerate_error(name, where)
        if kernel == "linear":
            gram = _linear_gram(array - array.mean(axis=0, keepdims=True))
        else:
            gram = _rbf_gram(array, sigma_factor, name, where)
        gram = _center_gram(gram, debiased)
        norms[i] = np.sqrt(np.vdot(gram, gram))
        if not norms[i] > 0:
            raise _degenerate_error(name, where)
        grams.append(gram)
        report(progress, i + 1, total, f"Gram matrix {i + 1}/{n_layers}")

    result = np.eye(n_layers)
    for i in range(n_layers):
        check_cancel(cancel, f"{where} (row {i})")
        for j in range(i + 1, n_layers):
            value = np.vdot(grams[i], grams[j]) / (norms[i] * norms[j])
            result[i, j] = result[j, i] = value
        report(progress, n_layers + i + 1, total, f"CKA row {i + 1}/{n_layers}")
    return result


def rank_correlation(a, b) -> float:
    """Spearman rank correlation between the strict upper triangles of two L x L matrices.

    Used to compare a layer-distance matrix with a similarity matrix (e.g. bottleneck distances
    against ``1 - CKA``). Pairs where either matrix is NaN are left out.

    Parameters
    ----------
    a, b : array_like of shape (n_layers, n_layers)
        Square matrices of the same shape, ``n_layers >= 3``.

    Returns
    -------
    float
        Spearman's rho over the shared finite upper-triangle entries; NaN when either
        triangle is constant (the correlation is undefined).

    Raises
    ------
    TDAInputError
        If the matrices are not square, their shapes differ, ``n_layers < 3``, or fewer than
        3 pairs remain after leaving out NaN entries.

    Examples
    --------
    >>> a = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    >>> rank_correlation(a, 10 * a)
    1.0
    """
    from scipy.stats import spearmanr

    where = "rank_correlation"
    matrices = []
    for name, value in (("a", a), ("b", b)):
        try:
            matrix = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TDATypeError(
                f"The '{name}' parameter of {where} must be a numeric square matrix. "
                f"Could not convert it: {exc}"
            ) from exc
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise TDAInputError(
                f"The '{name}' parameter of {where} must be a square (n_layers, n_layers) "
                f"matrix. Got shape {matrix.shape} instead."
            )
        matrices.append(matrix)
    a, b = matrices
    if a.shape != b.shape:
        raise TDAInputError(
            f"{where} compares two matrices over the same layers, so 'a' and 'b' must have the "
            f"same shape. Got {a.shape} and {b.shape}; compute both on the same list of layers."
        )
    n_layers = a.shape[0]
    if n_layers < 3:
        raise TDAInputError(
            f"{where} needs at least 3 layers (3 pairs in the upper triangle) for a rank "
            f"correlation. Got {n_layers} x {n_layers} matrices; add layers."
        )
    rows, cols = np.triu_indices(n_layers, k=1)
    x, y = a[rows, cols], b[rows, cols]
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 3:
        raise TDAInputError(
            f"{where} needs at least 3 layer pairs where both matrices are not NaN. Got "
            f"{x.size} of {keep.size}; recompute the NaN entries or add layers."
        )
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    rho = spearmanr(x, y).statistic
    return float(rho)
