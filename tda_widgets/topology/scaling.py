"""Point-cloud validation, pairwise distances and scale normalisation.

Layers differ wildly in activation magnitude, and raw persistence diagrams mostly measure that
magnitude. :func:`rescale_points` divides a cloud by one number (its median or maximum pairwise
distance) so that diagrams of different layers compare shape, not scale.

:func:`validate_cloud` is the single input check shared by the topology modules.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import TDAInputError, TDATypeError

__all__ = ["SCALES", "pairwise_distances", "refine_close_pairs", "rescale_points", "validate_cloud"]

#: Accepted values of the ``scale`` parameter of :func:`rescale_points`.
SCALES = ("median", "diameter", "none")


def validate_cloud(points, *, min_points: int = 2, name: str = "points") -> np.ndarray:
    """Check that ``points`` is a finite 2-D point cloud and return it as float64.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)
        One point per row.
    min_points : int, default=2
        The fewest rows accepted.
    name : str, default="points"
        The parameter name used in error messages.

    Returns
    -------
    ndarray of shape (n_points, n_dims)
        A C-contiguous float64 copy (or view) of ``points``.

    Raises
    ------
    TDATypeError
        If ``points`` cannot be converted to a float array.
    TDAInputError
        If ``points`` is not 2-D, has fewer than ``min_points`` rows, has no columns, or holds
        NaN or infinite values.

    Examples
    --------
    >>> validate_cloud([[0, 0], [1, 0]]).dtype
    dtype('float64')
    """
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TDATypeError(
            f"The '{name}' parameter must be a numeric array of shape (n_points, n_dims). "
            f"Got an object of type {type(points).__name__} that cannot be converted to float "
            f"({exc}). Pass a numpy array of numbers."
        ) from exc
    if array.ndim == 1:
        raise TDAInputError(
            f"The '{name}' parameter must be a 2-D array of shape (n_points, n_dims). "
            f"Got shape {array.shape}; reshape to ({array.shape[0]}, 1) with "
            f"points.reshape(-1, 1) for {array.shape[0]} one-dimensional points, or to "
            f"(1, {array.shape[0]}) for a single point."
        )
    if array.ndim != 2:
        raise TDAInputError(
            f"The '{name}' parameter must be a 2-D array of shape (n_points, n_dims). "
            f"Got an array with {array.ndim} dimensions, shape {array.shape}; flatten each "
            f"point first, e.g. points.reshape(len(points), -1)."
        )
    n_points, n_dims = array.shape
    if n_points < min_points:
        what = "an empty cloud" if n_points == 0 else f"{n_points} point(s)"
        raise TDAInputError(
            f"The '{name}' parameter must hold at least {min_points} points. Got {what} "
            f"(shape {array.shape}); pass more points (raise the point budget or the number "
            f"of images)."
        )
    if n_dims == 0:
        raise TDAInputError(
            f"The '{name}' parameter must have at least one coordinate per point. "
            f"Got shape {array.shape}; check that the layer output is not empty."
        )
    finite = np.isfinite(array)
    if not finite.all():
        n_nan = int(np.isnan(array).sum())
        n_inf = int(np.isinf(array).sum())
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise TDAInputError(
            f"The '{name}' parameter must hold only finite numbers. Got {n_nan} NaN and "
            f"{n_inf} infinite value(s) in {bad_rows.size} of {n_points} points (first bad "
            f"row: {int(bad_rows[0])}). Remove those points or fix the activations "
            f"(e.g. a diverged model or a division by zero upstream)."
        )
    return np.ascontiguousarray(array)


def pairwise_distances(points) -> np.ndarray:
    """Euclidean distance matrix of a point cloud.

    Uses the Gram-matrix identity ``|x - y|^2 = |x|^2 + |y|^2 - 2 x.y`` in float64 (several
    times faster than :func:`scipy.spatial.distance.pdist` in high dimension); rounding
    negatives are clamped to 0, the diagonal is exactly 0 and the result exactly symmetric.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)

    Returns
    -------
    ndarray of shape (n_points, n_points)
        ``D[i, j]`` is the Euclidean distance between points ``i`` and ``j``.

    Raises
    ------
    TDAInputError
        If ``points`` is not a finite 2-D array with at least one point.

    Examples
    --------
    >>> pairwise_distances([[0, 0], [3, 4]])
    array([[0., 5.],
           [5., 0.]])
    """
    x = validate_cloud(points, min_points=1)
    # Centring first reduces cancellation in the Gram identity without changing distances.
    x = x - x.mean(axis=0)
    sq_norms = np.einsum("ij,ij->i", x, x)
    squared = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (x @ x.T)
    np.maximum(squared, 0.0, out=squared)
    distances = np.sqrt(squared, out=squared)
    distances = 0.5 * (distances + distances.T)
    np.fill_diagonal(distances, 0.0)
    return refine_close_pairs(x, distances, sq_norms)


#: Pairs whose squared distance is below this share of their squared norms' sum are recomputed
#: from coordinate differences by :func:`refine_close_pairs`.
CLOSE_PAIR_RTOL = 1e-2
_REFINE_CHUNK = 1 << 16


def refine_close_pairs(points: np.ndarray, distances: np.ndarray, sq_norms=None) -> np.ndarray:
    """Recompute, from coordinate differences, the distances the Gram identity got wrong.

    ``|x|^2 + |y|^2 - 2 x.y`` loses the digits of ``|x - y|^2`` to cancellation when two points
    are close compared with their norms: identical points get ~1e-8 instead of 0, and which
    rounding noise they get depends on the BLAS kernel, i.e. on the processor. Every pair with
    ``D[i, j]**2 < CLOSE_PAIR_RTOL * (|x_i|^2 + |x_j|^2)`` is recomputed as ``|x_i - x_j|`` (in
    blocks, without BLAS), so coincident points are exactly 0 apart on every machine (else a
    Rips diagram gains an H0 bar of length ~1e-8 per duplicate on some processors and not on
    others). Elsewhere the identity's relative error is below ``1e-13`` and the matrix is left as
    it is. ``distances`` is changed in place and returned; it stays symmetric.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_dims)
        The validated float64 cloud the distances were computed from.
    distances : ndarray of shape (n_points, n_points)
        Its Euclidean distance matrix by the Gram identity.
    sq_norms : ndarray of shape (n_points,), optional
        ``|x_i|^2``, if already computed.

    Returns
    -------
    ndarray of shape (n_points, n_points)
        ``distances``, refined.

    Examples
    --------
    >>> x = np.array([[1e4, 1.0], [1e4, 1.0], [0.0, 0.0]])
    >>> d = np.full((3, 3), 1e-8); np.fill_diagonal(d, 0.0)
    >>> float(refine_close_pairs(x, d)[0, 1])
    0.0
    """
    if sq_norms is None:
        sq_norms = np.einsum("ij,ij->i", points, points)
    n = len(points)
    rows = max(1, _REFINE_CHUNK // max(n, 1))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = distances[start:stop]
        close = block * block < CLOSE_PAIR_RTOL * (sq_norms[start:stop, None] + sq_norms[None, :])
        i, j = np.nonzero(close)
        i = i + start
        keep = i < j
        i, j = i[keep], j[keep]
        for lo in range(0, len(i), _REFINE_CHUNK):
            a, b = i[lo:lo + _REFINE_CHUNK], j[lo:lo + _REFINE_CHUNK]
            diff = points[a] - points[b]
            exact = np.sqrt((diff * diff).sum(axis=1))
            distances[a, b] = exact
            distances[b, a] = exact
    return distances


def rescale_points(points, scale: str = "median"):
    """Divide a point cloud by a scale so that diagrams of different clouds compare shape.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)
    scale : {"median", "diameter", "none"}, default="median"
        ``"median"``: the median pairwise distance over distinct pairs becomes 1;
        ``"diameter"``: the largest pairwise distance becomes 1; ``"none"``: unchanged.

    Returns
    -------
    scaled_points : ndarray of shape (n_points, n_dims)
        ``points / factor`` as float64.
    factor : float
        The scale divided out (1.0 for ``"none"``). Persistence values of the scaled cloud
        times ``factor`` are those of the original cloud.

    Raises
    ------
    TDAInputError
        If ``scale`` is unknown, ``points`` is invalid, or the chosen scale is 0 (all points
        equal).

    Examples
    --------
    >>> scaled, factor = rescale_points([[0, 0], [2, 0]], scale="diameter")
    >>> factor
    2.0
    """
    if not isinstance(scale, str) or scale not in SCALES:
        raise TDAInputError(
            f"The 'scale' parameter of rescale_points must be one of {set(SCALES)}. "
            f"Got {scale!r} instead."
        )
    x = validate_cloud(points)
    if scale == "none":
        return x.copy(), 1.0
    distances = pairwise_distances(x)
    upper = distances[np.triu_indices(len(x), k=1)]
    factor = float(np.median(upper) if scale == "median" else upper.max())
    if not factor > 0.0:
        if upper.max() > 0.0:
            reason = (
                "more than half of the point pairs coincide, so the median pairwise "
                "distance is 0"
            )
            fix = "use scale='diameter', or remove duplicate points"
        else:
            reason = "all points are equal; the layer is constant on these inputs"
            fix = (
                "use scale='none', choose another layer, or check that the inputs differ "
                "(a dead layer or identical images)"
            )
        raise TDAInputError(
            f"Cannot rescale the point cloud with scale={scale!r}: {reason}. To fix it, {fix}."
        )
    return x / factor, factor
