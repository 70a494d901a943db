"""Vietoris–Rips persistence of a point cloud, with the points behind each bar.

Two exact backends compute the same diagrams: ripser.py (``ripser.ripser``) and giotto-ph
(``gph.ripser_parallel``, multi-threaded, typically 2-3x faster). Both are fed the same
Euclidean distance matrix: the one ``ripser.ripser(points)`` builds internally
(``sklearn.metrics.pairwise_distances``), except that pairs whose distance the Gram identity
lost to cancellation are recomputed from coordinate differences
(:func:`~tda_widgets.topology.refine_close_pairs`). So the diagrams equal a direct call of either
library on that matrix, and on the cloud itself wherever no two points nearly coincide; where
they do, a direct ``ripser(points)`` reports phantom H0 bars (coincident points ~1e-5 apart at
norms ~100), whose number depends on the processor's BLAS kernel. giotto-ph always runs with ``collapse_edges=False``: edge collapse was
30-100x slower on dense activation clouds.

Representatives (``representatives=True``) name the points behind every bar, for linked
thumbnails:

- H0, finite bar: the two endpoints of the minimum-spanning-tree edge whose length is the
  bar's death (the edge that merges two components).
- H0, infinite bar: the points of one connected component of the Rips graph at ``thresh``;
  with the default ``thresh=inf`` there is one such bar and it holds all points.
- H1: the vertices of a loop: the bar's birth edge plus the path between its endpoints in
  the minimum spanning tree (a cycle that the birth edge closes: every edge of that path is
  no longer than the birth edge, so the loop exists when the bar is born). For the long bar
  of a noisy circle these are points all around the circle. The birth edge comes from
  ripser's representative cocycle (its edge whose length equals the birth) or from
  giotto-ph's generators.
- H2 and above: the vertices of ripser's representative cocycle, or the vertices of
  giotto-ph's birth and death edges (the birth edge alone for infinite bars).

Every representative is a sorted array of unique point indices.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Optional

import numpy as np

from ..core._display import RichDisplay
from ..core.errors import BudgetExceededError, TDAInputError, TDATypeError
from ..core.formatting import format_bytes
from ..core.options import Spec, option
from .scaling import SCALES, refine_close_pairs, rescale_points, validate_cloud

__all__ = [
    "BACKENDS",
    "PersistenceResult",
    "bar_points",
    "estimate_persistence_cost",
    "check_persistence_budget",
    "persistence",
    "rescaled_persistence",
]

#: Accepted values of the ``backend`` parameter of :func:`persistence`.
BACKENDS = ("auto", "ripser", "giotto-ph")


@dataclass(frozen=True)
class PersistenceSpec(Spec):
    """Options of a layer's persistence step (declared once; see :mod:`tda_widgets.options`)."""

    maxdim: int = option(1, "highest homology dimension computed (H0 to H_maxdim)", kind=Integral,
                         minimum=0, maximum=3, label="max dim")
    scale: str = option("median", "rescaling of each cloud before persistence, so that layers are "
                        "compared by shape, not scale", choices=SCALES, label="rescale clouds")
    backend: str = option("auto", "Vietoris-Rips backend (identical diagrams; auto picks the faster)",
                          choices=BACKENDS, label="PH backend")

_SYMMETRY_RTOL = 1e-9


@dataclass(frozen=True, repr=False)
class PersistenceResult(RichDisplay):
    """Persistence diagrams of one point cloud.

    Attributes
    ----------
    diagrams : tuple of ndarray
        ``diagrams[d]`` is a float64 ndarray of shape (n_bars, 2) holding (birth, death) of
        the H_d bars, sorted by birth then death. Deaths of bars that never die are ``inf``
        (H0 always has one such bar when ``thresh`` is infinite).
    maxdim : int
        The highest homology dimension computed; ``len(diagrams) == maxdim + 1``.
    backend : str
        The library that computed the diagrams: ``"ripser"`` or ``"giotto-ph"``.
    n_points : int
        The number of points (rows of the distance matrix).
    representatives : tuple or None
        ``None`` unless computed. Otherwise ``representatives[d][k]`` is an int ndarray of the
        point indices behind bar ``diagrams[d][k]`` (see the module docstring for what they
        are in each dimension).
    thresh : float
        The filtration threshold used.
    coeff : int
        The prime field of coefficients used.
    """

    diagrams: tuple
    maxdim: int
    backend: str
    n_points: int
    representatives: Optional[tuple] = None
    thresh: float = math.inf
    coeff: int = 2

    _figure_builder = "persistence_result_figure"

    def summary(self) -> str:
        """One line: points, bars per dimension (infinite ones counted), backend; also the
        ``repr``. In a notebook the result shows as its persistence diagram."""
        bars = []
        for dim, diagram in enumerate(self.diagrams):
            infinite = int(np.isinf(np.asarray(diagram)[:, 1]).sum()) if len(diagram) else 0
            bars.append(f"H{dim} {len(diagram)} bars" + (f" ({infinite} infinite)" if infinite else ""))
        return f"PersistenceResult: {self.n_points} points, {', '.join(bars)}; {self.backend}"


def estimate_persistence_cost(n_points: int, n_dims: int, maxdim: int) -> dict:
    """Rough memory estimate of a Vietoris–Rips persistence computation.

    The estimate is deliberately conservative (an upper bound rather than a prediction): the
    input points, two dense float64 distance matrices (the matrix and sklearn's temporary),
    the float32 condensed matrix passed to the C++ core, and 16 bytes for every simplex of
    dimension 1 to ``maxdim`` (the columns the reduction may store). It ignores ``thresh``.

    Parameters
    ----------
    n_points : int
        Number of points.
    n_dims : int
        Coordinates per point (0 when a distance matrix is given).
    maxdim : int
        Highest homology dimension.

    Returns
    -------
    dict
        Keys ``n_points``, ``n_dims``, ``maxdim``, ``n_edges``, ``distance_matrix_bytes``
        (``n_points**2 * 8``), ``simplex_bytes`` and ``estimated_bytes``.

    Examples
    --------
    >>> estimate_persistence_cost(1000, 64, 1)["distance_matrix_bytes"]
    8000000
    """
    n = int(n_points)
    n_edges = n * (n - 1) // 2
    distance_matrix_bytes = n * n * 8
    simplex_bytes = sum(math.comb(n, d + 1) * 16 for d in range(1, int(maxdim) + 1))
    estimated = (
        n * int(n_dims) * 8 + 2 * distance_matrix_bytes + n_edges * 4 + simplex_bytes
    )
    return {
        "n_points": n,
        "n_dims": int(n_dims),
        "maxdim": int(maxdim),
        "n_edges": n_edges,
        "distance_matrix_bytes": distance_matrix_bytes,
        "simplex_bytes": simplex_bytes,
        "estimated_bytes": int(estimated),
    }


def _is_prime(value: int) -> bool:
    if value < 2:
        return False
    return all(value % k for k in range(2, int(math.isqrt(value)) + 1))


def _giotto_available() -> bool:
    return importlib.util.find_spec("gph") is not None


def _validate_parameters(maxdim, backend, thresh, coeff, max_memory_bytes, n_threads):
    if isinstance(maxdim, bool) or not isinstance(maxdim, Integral):
        raise TDATypeError(
            f"The 'maxdim' parameter of persistence must be an int >= 0. "
            f"Got {maxdim!r} of type {type(maxdim).__name__} instead."
        )
    if maxdim < 0:
        raise TDAInputError(
            f"The 'maxdim' parameter of persistence must be >= 0 (0 for components only, "
            f"1 for loops too). Got {maxdim} instead."
        )
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise TDAInputError(
            f"The 'backend' parameter of persistence must be one of {set(BACKENDS)}. "
            f"Got {backend!r} instead."
        )
    if (
        isinstance(thresh, bool)
        or not isinstance(thresh, Real)
        or math.isnan(thresh)
        or thresh <= 0
    ):
        raise TDAInputError(
            f"The 'thresh' parameter of persistence must be a positive number or inf "
            f"(the largest edge length in the filtration). Got {thresh!r} instead."
        )
    if isinstance(coeff, bool) or not isinstance(coeff, Integral) or not _is_prime(int(coeff)):
        raise TDAInputError(
            f"The 'coeff' parameter of persistence must be a prime number (the field Z/pZ of "
            f"coefficients; 2 is usual). Got {coeff!r} instead."
        )
    if max_memory_bytes is not None and (
        isinstance(max_memory_bytes, bool)
        or not isinstance(max_memory_bytes, Real)
        or not max_memory_bytes > 0
    ):
        raise TDAInputError(
            f"The 'max_memory_bytes' parameter of persistence must be a positive number of "
            f"bytes or None (no check). Got {max_memory_bytes!r} instead."
        )
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, Integral)
        or (n_threads < 1 and n_threads != -1)
    ):
        raise TDAInputError(
            f"The 'n_threads' parameter of persistence must be a positive int or -1 (all "
            f"cores). Got {n_threads!r} instead."
        )


def _validate_distance_matrix(matrix: np.ndarray) -> np.ndarray:
    n_rows, n_cols = matrix.shape
    if n_rows != n_cols:
        raise TDAInputError(
            f"With distance_matrix=True, the 'points' parameter of persistence must be a "
            f"square matrix. Got shape {matrix.shape}; pass distance_matrix=False for a "
            f"point cloud."
        )
    if (matrix < 0).any():
        raise TDAInputError(
            f"With distance_matrix=True, the entries of 'points' must be >= 0. Got "
            f"{int((matrix < 0).sum())} negative entries (min {matrix.min():.6g}); pass "
            f"distances, not similarities."
        )
    if np.any(np.diagonal(matrix) != 0):
        raise TDAInputError(
            "With distance_matrix=True, the diagonal of 'points' must be 0 (each point is at "
            f"distance 0 from itself). Got a largest diagonal entry of "
            f"{np.abs(np.diagonal(matrix)).max():.6g}; set it with np.fill_diagonal(D, 0)."
        )
    asymmetry = np.abs(matrix - matrix.T)
    if np.any(asymmetry > _SYMMETRY_RTOL * max(1.0, float(np.abs(matrix).max()))):
        i, j = np.unravel_index(int(np.argmax(asymmetry)), matrix.shape)
        raise TDAInputError(
            f"With distance_matrix=True, 'points' must be symmetric. Got D[{i}, {j}] = "
            f"{matrix[i, j]:.6g} but D[{j}, {i}] = {matrix[j, i]:.6g}; symmetrise it, e.g. "
            f"(D + D.T) / 2."
        )
    return matrix


def check_persistence_budget(n_points: int, n_dims: int, maxdim: int, max_memory_bytes: Optional[float]) -> None:
    """Refuse, before anything large is built, a persistence computation over its memory budget.

    Parameters
    ----------
    n_points, n_dims, maxdim : int
        As in :func:`estimate_persistence_cost`.
    max_memory_bytes : float or None
        The budget; ``None`` checks nothing.

    Raises
    ------
    BudgetExceededError
        When :func:`estimate_persistence_cost` exceeds ``max_memory_bytes``.
    """
    cost = estimate_persistence_cost(n_points, n_dims, maxdim)
    if max_memory_bytes is not None and cost["estimated_bytes"] > max_memory_bytes:
        raise BudgetExceededError(
            f"persistence of {n_points} points up to H{maxdim} needs an estimated "
            f"{format_bytes(cost['estimated_bytes'])} "
            f"(distance matrix {format_bytes(cost['distance_matrix_bytes'])}), over the "
            f"budget max_memory_bytes={format_bytes(max_memory_bytes)}. Lower the point "
            f"budget (n_points) or maxdim, or raise max_memory_bytes."
        )


def rescaled_persistence(points, scale: str, *, maxdim: int = 1, backend: str = "auto",
                         representatives: bool = False,
                         max_memory_bytes: Optional[float] = 2 * 1024**3) -> tuple["PersistenceResult", float]:
    """Rescale a cloud (:func:`~tda_widgets.topology.rescale_points`), then :func:`persistence`.

    The memory budget is checked first: rescaling builds the full distance matrix, so a
    request over the budget is refused before anything of size ``n_points**2`` exists.
    Module-level and torch-free, so process pools and dask workers run it directly.

    Returns
    -------
    (PersistenceResult, float)
        The diagrams of the rescaled cloud and the factor the cloud was divided by.
    """
    array = np.asarray(points)
    if array.ndim == 2 and isinstance(maxdim, Integral) and not isinstance(maxdim, bool):
        check_persistence_budget(array.shape[0], array.shape[1], int(maxdim), max_memory_bytes)
    scaled, factor = rescale_points(points, scale)
    result = persistence(scaled, maxdim=maxdim, backend=backend, representatives=representatives,
                         max_memory_bytes=max_memory_bytes)
    return result, factor


def persistence(
    points,
    maxdim: int = 1,
    *,
    backend: str = "auto",
    thresh: float = np.inf,
    coeff: int = 2,
    representatives: bool = False,
    max_memory_bytes: Optional[float] = 2 * 1024**3,
    distance_matrix: bool = False,
    n_threads: int = -1,
) -> PersistenceResult:
    """Vietoris–Rips persistence diagrams H0..H_maxdim of a point cloud.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims) or (n_points, n_points)
        The point cloud, or a distance matrix when ``distance_matrix=True``.
    maxdim : int, default=1
        Highest homology dimension computed (1: components and loops).
    backend : {"auto", "ripser", "giotto-ph"}, default="auto"
        ``"auto"`` uses giotto-ph when it is installed and ``representatives`` is False,
        ripser otherwise (ripser's representative cocycles serve H2+ representatives).
        Both give the same diagrams.
    thresh : float, default=inf
        Largest edge length in the filtration; bars alive at ``thresh`` get death ``inf``.
    coeff : int, default=2
        Prime field of coefficients.
    representatives : bool, default=False
        Also compute the point indices behind each bar (see the module docstring).
    max_memory_bytes : float or None, default=2 GiB
        Refuse to start when :func:`estimate_persistence_cost` exceeds this; None disables
        the check.
    distance_matrix : bool, default=False
        Interpret ``points`` as a square, symmetric, finite distance matrix with zero
        diagonal.
    n_threads : int, default=-1
        Threads for giotto-ph (-1: all cores); ignored by ripser.

    Returns
    -------
    PersistenceResult

    Raises
    ------
    TDAInputError
        On an invalid cloud or distance matrix, too few points for ``maxdim`` (at least
        ``maxdim + 2``), or an invalid parameter.
    TDATypeError
        If ``maxdim`` is not an int.
    BudgetExceededError
        If the estimated memory exceeds ``max_memory_bytes`` (checked before computing).

    Examples
    --------
    >>> theta = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    >>> result = persistence(np.c_[np.cos(theta), np.sin(theta)])
    >>> len(result.diagrams[1])
    1
    """
    _validate_parameters(maxdim, backend, thresh, coeff, max_memory_bytes, n_threads)
    maxdim = int(maxdim)
    coeff = int(coeff)
    thresh = float(thresh)
    array = validate_cloud(points, min_points=1)
    if distance_matrix:
        _validate_distance_matrix(array)
    n_points = array.shape[0]
    if n_points < maxdim + 2:
        raise TDAInputError(
            f"persistence up to maxdim={maxdim} needs at least {maxdim + 2} points. "
            f"Got {n_points} point(s); pass more points or lower maxdim."
        )

    check_persistence_budget(n_points, 0 if distance_matrix else array.shape[1], maxdim, max_memory_bytes)

    if backend == "auto":
        backend = "giotto-ph" if (_giotto_available() and not representatives) else "ripser"

    if distance_matrix:
        distances = array
    else:
        # The matrix ripser.ripser and gph.ripser_parallel build from a point cloud, with the
        # pairs that cancellation made wrong (and processor-dependent) recomputed exactly.
        from sklearn.metrics import pairwise_distances as sk_pairwise_distances

        distances = refine_close_pairs(array, sk_pairwise_distances(array, metric="euclidean"))

    if backend == "ripser":
        raw_diagrams, raw_reps = _run_ripser(distances, maxdim, thresh, coeff, representatives)
    else:
        raw_diagrams, raw_reps = _run_giotto(
            distances, maxdim, thresh, coeff, representatives, n_threads
        )

    diagrams = []
    reps = [] if representatives else None
    for dim in range(maxdim + 1):
        diagram = np.asarray(raw_diagrams[dim], dtype=np.float64).reshape(-1, 2)
        order = np.lexsort((diagram[:, 1], diagram[:, 0]))
        diagrams.append(np.ascontiguousarray(diagram[order]))
        if reps is not None:
            reps.append(tuple(raw_reps[dim][k] for k in order))
    return PersistenceResult(
        diagrams=tuple(diagrams),
        maxdim=maxdim,
        backend=backend,
        n_points=n_points,
        representatives=None if reps is None else tuple(reps),
        thresh=thresh,
        coeff=coeff,
    )


# --- backends ---------------------------------------------------------------------------


def _run_ripser(distances, maxdim, thresh, coeff, representatives):
    from ripser import ripser

    out = ripser(
        distances,
        maxdim=maxdim,
        thresh=thresh,
        coeff=coeff,
        distance_matrix=True,
        do_cocycles=representatives,
    )
    diagrams = out["dgms"]
    if not representatives:
        return diagrams, None
    tree = _SpanningTree(distances)
    reps = [_h0_representatives(tree, diagrams[0], thresh)]
    for dim in range(1, maxdim + 1):
        dim_reps = []
        for bar, cocycle in zip(diagrams[dim], out["cocycles"][dim]):
            simplices = np.asarray(cocycle, dtype=np.int64)[:, : dim + 1]
            if dim == 1 and len(simplices):
                lengths = distances[simplices[:, 0], simplices[:, 1]]
                u, v = simplices[int(np.argmin(np.abs(lengths - bar[0])))]
                dim_reps.append(tree.loop(int(u), int(v)))
            else:
                dim_reps.append(np.unique(simplices))
        reps.append(dim_reps)
    return diagrams, reps


#: giotto-ph's ripser_parallel is not safe to call from two Python threads at once: measured
#: here (giotto-ph 0.2, 4 threads each computing 20 diagrams of 60 points, n_threads=1), the
#: process hung within 30 s with every thread idle. Explorers compute in threads, so every call
#: holds this lock; ripser.py (the other backend) is thread-safe, and process pools still run
#: giotto-ph in parallel.
_GIOTTO_LOCK = threading.Lock()


def _run_giotto(distances, maxdim, thresh, coeff, representatives, n_threads):
    from gph import ripser_parallel

    with _GIOTTO_LOCK:
        out = ripser_parallel(
            distances,
            maxdim=maxdim,
            thresh=thresh,
            coeff=coeff,
            metric="precomputed",
            collapse_edges=False,
            n_threads=n_threads,
            return_generators=representatives,
        )
    diagrams = out["dgms"]
    if not representatives:
        return diagrams, None
    _finite_0, finite_higher, _essential_0, essential_higher = out["gens"]
    # giotto-ph lists finite bars first, then infinite ones, in the order of its generators.
    tree = _SpanningTree(distances)
    reps = [_h0_representatives(tree, diagrams[0], thresh)]
    for dim in range(1, maxdim + 1):
        dim_reps = []
        # Finite bars: (birth edge, death edge); infinite bars: the birth edge.
        for generator in [*finite_higher[dim - 1], *essential_higher[dim - 1]]:
            if dim == 1:
                dim_reps.append(tree.loop(int(generator[0]), int(generator[1])))
            else:
                dim_reps.append(np.unique(generator))
        if len(dim_reps) != len(diagrams[dim]):  # pragma: no cover - guards a library change
            raise RuntimeError(
                f"giotto-ph returned {len(dim_reps)} generators for {len(diagrams[dim])} H{dim} "
                f"bars; use backend='ripser' for representatives."
            )
        reps.append(dim_reps)
    return diagrams, reps


# --- representatives ----------------------------------------------------------------------


class _SpanningTree:
    """Minimum spanning tree of a dense distance matrix, rooted at point 0.

    Built with Prim's algorithm (scipy's csgraph treats zero entries, i.e. duplicate
    points, as missing edges). ``edges``/``lengths`` are sorted by length.
    """

    def __init__(self, distances: np.ndarray):
        n = distances.shape[0]
        in_tree = np.zeros(n, dtype=bool)
        in_tree[0] = True
        best = distances[0].copy()
        nearest = np.zeros(n, dtype=np.int64)
        parent = np.full(n, -1, dtype=np.int64)
        depth = np.zeros(n, dtype=np.int64)
        edges = np.empty((n - 1, 2), dtype=np.int64)
        lengths = np.empty(n - 1)
        for k in range(n - 1):
            j = int(np.argmin(np.where(in_tree, np.inf, best)))
            parent[j] = nearest[j]
            depth[j] = depth[nearest[j]] + 1
            edges[k] = (nearest[j], j)
            lengths[k] = best[j]
            in_tree[j] = True
            closer = distances[j] < best
            best = np.where(closer, distances[j], best)
            nearest = np.where(closer, j, nearest)
        order = np.argsort(lengths, kind="stable")
        self.edges, self.lengths = edges[order], lengths[order]
        self.parent, self.depth = parent, depth

    def loop(self, u: int, v: int) -> np.ndarray:
        """Sorted vertices of the tree path from u to v (closed into a loop by edge u-v)."""
        path = [u, v]
        while u != v:
            if self.depth[u] >= self.depth[v]:
                u = int(self.parent[u])
                path.append(u)
            else:
                v = int(self.parent[v])
                path.append(v)
        return np.unique(np.array(path, dtype=np.int64))


def _h0_representatives(tree: _SpanningTree, diagram0, thresh):
    diagram0 = np.asarray(diagram0, dtype=np.float64).reshape(-1, 2)
    finite = np.isfinite(diagram0[:, 1])
    # Pairs of zero persistence (duplicate points) are not reported by either backend, and
    # edges longer than thresh never enter the filtration: the finite bars are the longest
    # MST edges not above thresh, matched by rank to the sorted deaths.
    edges = tree.edges[tree.lengths <= thresh]
    n_finite = int(finite.sum())
    finite_edges = edges[len(edges) - n_finite :] if n_finite else edges[:0]
    finite_rows = np.flatnonzero(finite)
    finite_rows = finite_rows[np.argsort(diagram0[finite_rows, 1], kind="stable")]
    reps: list = [None] * len(diagram0)
    for row, edge in zip(finite_rows, finite_edges):
        reps[row] = np.sort(edge)
    # Infinite bars: the connected components of the Rips graph at thresh.
    labels = _components(edges, len(tree.parent))
    components = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    components.sort(key=lambda members: members[0])
    infinite_rows = np.flatnonzero(~finite)
    for row, members in zip(infinite_rows, components):
        reps[row] = members
    for row in infinite_rows[len(components) :]:  # pragma: no cover - defensive
        reps[row] = np.empty(0, dtype=np.int64)
    return reps


def _components(edges: np.ndarray, n_points: int) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_points, n_points)
    )
    return connected_components(graph, directed=False)[1]


def bar_points(result: PersistenceResult, dim: int, bar_index: int) -> np.ndarray:
    """Point indices behind one bar of a persistence result.

    Parameters
    ----------
    result : PersistenceResult
        Computed with ``representatives=True``.
    dim : int
        Homology dimension, ``0 <= dim <= result.maxdim``.
    bar_index : int
        Row of ``result.diagrams[dim]``.

    Returns
    -------
    ndarray of int
        Sorted unique point indices (see the module docstring for their meaning).

    Raises
    ------
    TDAInputError
        If the result has no representatives, or ``dim`` / ``bar_index`` is out of range.

    Examples
    --------
    >>> result = persistence([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]], maxdim=0,
    ...                      representatives=True)
    >>> bar_points(result, 0, 1).tolist()
    [1, 2]
    """
    if not isinstance(result, PersistenceResult):
        raise TDATypeError(
            f"The 'result' parameter of bar_points must be a PersistenceResult. Got "
            f"{type(result).__name__} instead."
        )
    if result.representatives is None:
        raise TDAInputError(
            "bar_points needs representatives, but this result was computed without them. "
            "Call persistence(..., representatives=True)."
        )
    if isinstance(dim, bool) or not isinstance(dim, Integral) or not 0 <= dim <= result.maxdim:
        raise TDAInputError(
            f"The 'dim' parameter of bar_points must be an int in [0, {result.maxdim}]. "
            f"Got {dim!r} instead."
        )
    n_bars = len(result.diagrams[dim])
    if (
        isinstance(bar_index, bool)
        or not isinstance(bar_index, Integral)
        or not 0 <= bar_index < n_bars
    ):
        raise TDAInputError(
            f"The 'bar_index' parameter of bar_points must be an int in [0, {n_bars - 1}] "
            f"(H{dim} has {n_bars} bars). Got {bar_index!r} instead."
        )
    return np.asarray(result.representatives[dim][int(bar_index)], dtype=np.int64)
