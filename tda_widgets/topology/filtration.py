"""The Vietoris–Rips filtration itself: the complex at a value, Betti numbers, cycles.

What the persistence diagram summarises, made visible for teaching and for looking at a layer:

- :func:`rips_complex`: the edges and filled triangles of the Rips complex at ``value`` (an edge
  joins two points whose distance is at most ``value``; a triangle is filled when its three
  edges are). In the drawing, balls of radius ``value / 2`` around the points meet exactly
  where an edge exists. ripser's axes are this edge length, so a bar born at ``b`` is born when
  balls of radius ``b / 2`` touch.
- :func:`betti_numbers`: β_k at ``value`` read off the diagrams: the bars alive there,
  ``birth <= value < death``.
- :func:`representative_cycle`: a closed loop of edges for an H1 bar, in the complex at the
  bar's birth: the bar's birth edge (from ripser's representative cocycle: its edge whose
  length equals the birth) closed by the path between its ends in the minimum spanning tree.
  Every edge of that path is no longer than the birth edge (the spanning tree's minimax
  property), so the loop exists when the bar is born.

Distances are those :func:`~tda_widgets.topology.persistence` uses (the same matrix), always in
the cloud's full dimension; a 2-D projection is only for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..core.errors import BudgetExceededError, TDAInputError
from .scaling import refine_close_pairs, validate_cloud

__all__ = ["RipsComplex", "betti_numbers", "distance_matrix", "representative_cycle", "rips_complex"]

#: The most triangles :func:`rips_complex` lists before it refuses (a drawing of more is a
#: filled blob, and listing them costs memory).
MAX_TRIANGLES = 200_000


@dataclass(frozen=True)
class RipsComplex:
    """The Vietoris–Rips complex of a cloud at one filtration value.

    Attributes
    ----------
    value : float
        The filtration value: the longest edge length allowed.
    n_points : int
        Vertices (every point is a vertex from value 0 on).
    edges : ndarray of shape (n_edges, 2)
        Pairs ``i < j`` with ``D[i, j] <= value``, sorted.
    triangles : ndarray of shape (n_triangles, 3)
        Triples ``i < j < k`` whose three edges are in the complex, sorted.
    """

    value: float
    n_points: int
    edges: np.ndarray
    triangles: np.ndarray

    def summary(self) -> str:
        """One line: value, vertices, edges, triangles."""
        return (f"Rips complex at {self.value:.4g}: {self.n_points} points, {len(self.edges)} edges, "
                f"{len(self.triangles)} triangles")


def distance_matrix(points, *, distance_matrix: bool = False) -> np.ndarray:
    """The Euclidean distance matrix :func:`persistence` gives ripser for ``points`` (or a
    checked copy of a given matrix with ``distance_matrix=True``)."""
    array = validate_cloud(points, min_points=1)
    if distance_matrix:
        if array.shape[0] != array.shape[1] or not np.allclose(array, array.T) or np.any(np.diag(array) != 0):
            raise TDAInputError(
                "With distance_matrix=True, 'points' must be a square, symmetric matrix with a zero "
                f"diagonal. Got shape {array.shape}; pass distance_matrix=False for a point cloud.")
        return array.copy()
    from sklearn.metrics import pairwise_distances as sk_pairwise_distances

    return refine_close_pairs(array, sk_pairwise_distances(array, metric="euclidean"))


def _check_value(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value < 0:
        raise TDAInputError(
            f"The 'value' parameter of {where} must be a finite number >= 0 (an edge length). "
            f"Got {value!r} instead.")
    return float(value)


def rips_complex(points, value: float, *, distance_matrix: bool = False,
                 max_triangles: int = MAX_TRIANGLES) -> RipsComplex:
    """Edges and filled triangles of the Vietoris–Rips complex at ``value``.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)
        The cloud, or a distance matrix with ``distance_matrix=True``.
    value : float
        Filtration value (edge length, ripser's unit; balls of radius ``value / 2`` touch).
    distance_matrix : bool, default=False
        Interpret ``points`` as a distance matrix.
    max_triangles : int, default=MAX_TRIANGLES
        Refuse (before listing them) a complex with more triangles.

    Returns
    -------
    RipsComplex

    Raises
    ------
    TDAInputError
        On an invalid cloud or value.
    BudgetExceededError
        When the complex has more than ``max_triangles`` triangles.

    Examples
    --------
    >>> rips_complex([[0, 0], [1, 0], [0, 1]], 1.0).edges.tolist()
    [[0, 1], [0, 2]]
    >>> len(rips_complex([[0, 0], [1, 0], [0, 1]], 1.5).triangles)
    1
    """
    value = _check_value(value, "rips_complex")
    distances = globals()["distance_matrix"](points, distance_matrix=distance_matrix)
    return _complex_from_distances(distances, value, max_triangles)


def _complex_from_distances(distances: np.ndarray, value: float, max_triangles: int = MAX_TRIANGLES) -> RipsComplex:
    n = distances.shape[0]
    adjacent = distances <= value
    np.fill_diagonal(adjacent, False)
    i, j = np.nonzero(np.triu(adjacent, k=1))
    edges = np.stack([i, j], axis=1).astype(np.int64) if len(i) else np.empty((0, 2), dtype=np.int64)
    # triangles: for each edge (i, j), the common neighbours k > j; refused as soon as the count
    # passes max_triangles, so no more than that is ever listed
    upper = np.triu(adjacent, k=1)
    rows, total = [], 0
    for a, b in edges:
        common = np.flatnonzero(upper[a] & upper[b])
        if len(common):
            total += len(common)
            if total > max_triangles:
                raise BudgetExceededError(
                    f"The Rips complex at value={value:.4g} has more than max_triangles={max_triangles} "
                    "triangles. Use a smaller value, fewer points, or raise max_triangles.")
            rows.append(np.column_stack([np.full(len(common), a), np.full(len(common), b), common]))
    triangles = np.concatenate(rows).astype(np.int64) if rows else np.empty((0, 3), dtype=np.int64)
    if len(triangles):
        triangles = triangles[np.lexsort((triangles[:, 2], triangles[:, 1], triangles[:, 0]))]
    return RipsComplex(value=value, n_points=n, edges=edges, triangles=triangles)


def betti_numbers(diagrams, value: float) -> tuple[int, ...]:
    """Betti numbers at ``value``: per dimension, the bars alive there (``birth <= value < death``).

    Parameters
    ----------
    diagrams : sequence of array_like of shape (n_bars, 2)
        Diagrams H0, H1, ... (a :class:`~tda_widgets.topology.PersistenceResult`'s
        ``diagrams``); infinite deaths count as alive.
    value : float
        Filtration value.

    Returns
    -------
    tuple of int
        ``(beta_0, beta_1, ...)``.

    Examples
    --------
    >>> betti_numbers([[[0, 1.0], [0, np.inf]], [[0.5, 2.0]]], 1.5)
    (1, 1)
    """
    value = _check_value(value, "betti_numbers")
    out = []
    for diagram in diagrams:
        bars = np.asarray(diagram, dtype=np.float64).reshape(-1, 2)
        out.append(int(np.count_nonzero((bars[:, 0] <= value) & (value < bars[:, 1]))))
    return tuple(out)


def representative_cycle(points, bar_index: int, *, distance_matrix: bool = False) -> list[tuple[int, int]]:
    """A closed loop of edges representing one H1 bar, in the complex at the bar's birth.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)
        The cloud (or a distance matrix with ``distance_matrix=True``).
    bar_index : int
        Index of the bar in the H1 diagram of ``persistence(points, maxdim=1)`` (sorted by
        birth, then death, as that function returns it).
    distance_matrix : bool, default=False
        Interpret ``points`` as a distance matrix.

    Returns
    -------
    list of (int, int)
        Edges ``[(a, b), (b, c), ..., (z, a)]``: each starts where the last ended, the last
        ends where the first starts; at least three edges, each no longer than the bar's birth.

    Raises
    ------
    TDAInputError
        If ``bar_index`` is not an index of the H1 diagram.

    Examples
    --------
    >>> theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    >>> cycle = representative_cycle(np.c_[np.cos(theta), np.sin(theta)], 0)
    >>> len(cycle), cycle[0][0] == cycle[-1][1]
    (12, True)
    """
    from ripser import ripser

    distances = globals()["distance_matrix"](points, distance_matrix=distance_matrix)
    out = ripser(distances, maxdim=1, distance_matrix=True, do_cocycles=True)
    raw = np.asarray(out["dgms"][1], dtype=np.float64).reshape(-1, 2)
    order = np.lexsort((raw[:, 1], raw[:, 0]))  # the order persistence() returns
    if isinstance(bar_index, bool) or not isinstance(bar_index, Integral) or not 0 <= bar_index < len(raw):
        raise TDAInputError(
            f"The 'bar_index' parameter of representative_cycle must be an index of the H1 diagram "
            f"(0 to {len(raw) - 1}; it has {len(raw)} bars). Got {bar_index!r} instead.")
    row = int(order[bar_index])
    birth = raw[row, 0]
    cocycle = np.asarray(out["cocycles"][1][row], dtype=np.int64)[:, :2]
    lengths = distances[cocycle[:, 0], cocycle[:, 1]]
    u, v = (int(x) for x in cocycle[int(np.argmin(np.abs(lengths - birth)))])
    path = _shortest_path_without(distances, birth, u, v)
    return [(int(a), int(b)) for a, b in zip(path[:-1], path[1:])] + [(v, u)]


def _shortest_path_without(distances: np.ndarray, birth: float, u: int, v: int) -> list[int]:
    """The shortest path from u to v through edges no longer than ``birth`` (in ripser's
    float32), the edge u-v itself left out: with it, the birth edge closes a loop of the complex
    at the birth. (The spanning-tree path :func:`persistence` uses for representatives may
    contain the birth edge itself when edge lengths tie, as on a regular polygon.)"""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    # ripser filters in float32 and reports births in float32: compare in its precision
    allowed = distances.astype(np.float32) <= np.float32(birth)
    np.fill_diagonal(allowed, False)
    allowed[u, v] = allowed[v, u] = False
    i, j = np.nonzero(allowed)
    # a small positive weight keeps coincident points (distance 0) connected
    weights = distances[i, j] + 1e-12 * max(birth, 1e-300)
    graph = csr_matrix((weights, (i, j)), shape=distances.shape)
    _, predecessors = dijkstra(graph, directed=False, indices=u, return_predecessors=True)
    if predecessors[v] < 0:  # pragma: no cover - an H1 birth edge always closes a loop
        raise RuntimeError(f"No loop closes the birth edge ({u}, {v}); the diagram and matrix disagree.")
    path = [v]
    while path[-1] != u:
        path.append(int(predecessors[path[-1]]))
    return path[::-1]
