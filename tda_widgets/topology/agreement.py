"""How layer-comparison measures agree with each other, and whether each grows with depth.

Given the layers x layers matrices of several measures on the same layers (PH distances, CKA,
RTD, SVCCA, ...), :func:`measures_table` gives

- the **agreement** of every pair of measures: Spearman's rank correlation over the layer pairs
  (the strict upper triangles), each measure first turned into a dissimilarity
  (``1 - s`` for a similarity ``s``, so that every entry reads "larger = more different" and a
  positive ρ means the two measures rank layer pairs alike);
- the **layer monotonicity** of every measure, the ReSi benchmark's test (Klabunde et al., 2024,
  "ReSi: A Comprehensive Benchmark for Representational Similarity Measures"): layers further
  apart in the network should be more different. Two numbers per measure:

  * ``monotonicity``: over every triple of layers ``i < j < k``, the fraction with
    ``d(i, k) >= max(d(i, j), d(j, k))`` (the outer pair at least as different as either inner
    pair; ties count as monotone). 1 for a measure that never contradicts depth;
  * ``depth_correlation``: Spearman's ρ between the number of layers between two layers
    ``|i - j|`` and their dissimilarity, over the layer pairs.

Layers are taken in the order given (the network's order). Pure numpy / scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Optional

import numpy as np

from ..core.errors import TDAInputError
from .cka import rank_correlation

__all__ = ["KINDS", "MeasuresTable", "as_dissimilarity", "layer_monotonicity", "depth_correlation",
           "measure_agreement", "measures_table"]

#: Whether larger means less alike ("distance") or more alike ("similarity").
KINDS = ("distance", "similarity")


def _square(matrix, name: str, where: str) -> np.ndarray:
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise TDAInputError(f"The '{name}' matrix of {where} must be square, (n_layers, n_layers). "
                            f"Got shape {array.shape} instead.")
    return array


def _check_kind(kind, where: str) -> str:
    if kind not in KINDS:
        raise TDAInputError(f"The 'kind' parameter of {where} must be one of {list(KINDS)}. Got {kind!r} instead.")
    return kind


def as_dissimilarity(matrix, kind: str = "distance") -> np.ndarray:
    """``matrix`` as a dissimilarity: unchanged for a distance, ``1 - matrix`` for a similarity.

    >>> as_dissimilarity([[1.0, 0.25], [0.25, 1.0]], "similarity")
    array([[0.  , 0.75],
           [0.75, 0.  ]])
    """
    array = _square(matrix, "matrix", "as_dissimilarity")
    return array if _check_kind(kind, "as_dissimilarity") == "distance" else 1.0 - array


def layer_monotonicity(matrix, kind: str = "distance") -> float:
    """Fraction of layer triples ``i < j < k`` with ``d(i, k) >= max(d(i, j), d(j, k))``.

    ``d`` is ``matrix`` as a dissimilarity (:func:`as_dissimilarity`); triples with a NaN entry
    are left out. NaN with fewer than 3 layers (or no complete triple).

    Examples
    --------
    >>> d = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))   # |i - j|: fully monotone
    >>> layer_monotonicity(d)
    1.0
    """
    d = as_dissimilarity(matrix, kind)
    good = total = 0
    for i, j, k in combinations(range(d.shape[0]), 3):
        values = (d[i, k], d[i, j], d[j, k])
        if np.isnan(values).any():
            continue
        total += 1
        good += bool(values[0] >= max(values[1], values[2]))
    return good / total if total else float("nan")


def depth_correlation(matrix, kind: str = "distance") -> float:
    """Spearman's ρ between ``|i - j|`` and the dissimilarity of layers ``i`` and ``j`` over the
    layer pairs (:func:`~tda_widgets.topology.cka.rank_correlation`); NaN with fewer than 3
    layers or a constant dissimilarity."""
    d = as_dissimilarity(matrix, kind)
    n = d.shape[0]
    if n < 3:
        return float("nan")
    gap = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(np.float64)
    return rank_correlation(gap, d)


def measure_agreement(matrices: Mapping[str, np.ndarray], kinds: Mapping[str, str]) -> np.ndarray:
    """The M x M Spearman correlations between every pair of M measures over the layer pairs.

    Entry ``(a, b)`` is :func:`~tda_widgets.topology.cka.rank_correlation` of the two measures as
    dissimilarities (so a distance and a similarity that rank pairs alike give a positive ρ); 1 on
    the diagonal; NaN with fewer than 3 layers or a constant measure.
    """
    names = list(matrices)
    d = [as_dissimilarity(matrices[name], kinds[name]) for name in names]
    shapes = {m.shape for m in d}
    if len(shapes) > 1:
        raise TDAInputError(f"measure_agreement compares measures over the same layers; got matrices of shapes "
                            f"{sorted(shapes)}. Compute every measure on the same list of layers.")
    out = np.eye(len(names))
    for a, b in combinations(range(len(names)), 2):
        rho = rank_correlation(d[a], d[b]) if d[a].shape[0] >= 3 else float("nan")
        out[a, b] = out[b, a] = rho
    return out


@dataclass(frozen=True)
class MeasuresTable:
    """What :func:`measures_table` returns.

    Attributes
    ----------
    names : list of str
        The measures, in the order given.
    labels : list of str
        Their display labels.
    kinds : list of str
        "distance" or "similarity" per measure.
    agreement : ndarray of shape (M, M)
        Spearman ρ between every pair of measures over the layer pairs (as dissimilarities).
    monotonicity : ndarray of shape (M,)
        Fraction of layer triples where the outer pair is at least as different as either inner
        pair (:func:`layer_monotonicity`).
    depth_correlation : ndarray of shape (M,)
        Spearman ρ between layer gap and dissimilarity (:func:`depth_correlation`).
    layers : list of str
    skipped : dict of str to str
        Measures left out, with why (see :meth:`tda_widgets.Study.measures_table`).
    """

    names: list
    labels: list
    kinds: list
    agreement: np.ndarray
    monotonicity: np.ndarray
    depth_correlation: np.ndarray
    layers: list
    skipped: dict = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One dict per measure: label, kind, monotonicity, depth correlation and ρ with every other."""
        return [{"measure": label, "kind": kind, "monotonicity": float(self.monotonicity[a]),
                 "depth_correlation": float(self.depth_correlation[a]),
                 **{other: float(self.agreement[a, b]) for b, other in enumerate(self.labels)}}
                for a, (label, kind) in enumerate(zip(self.labels, self.kinds))]


def measures_table(matrices: Mapping[str, np.ndarray], kinds: Mapping[str, str],
                   labels: Optional[Mapping[str, str]] = None, layers=None) -> MeasuresTable:
    """The agreement between every pair of measures and each measure's layer monotonicity.

    Parameters
    ----------
    matrices : mapping of str to ndarray of shape (L, L)
        Each measure's layers x layers matrix, layers in network order.
    kinds : mapping of str to {"distance", "similarity"}
        Per measure, whether larger means less or more alike.
    labels : mapping of str to str, optional
        Display labels (default: the names).
    layers : sequence of str, optional
        The layer names (kept in the result).

    Returns
    -------
    MeasuresTable

    Examples
    --------
    >>> d = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))
    >>> t = measures_table({"gap": d, "sim": 1 - d / 3}, {"gap": "distance", "sim": "similarity"})
    >>> float(t.agreement[0, 1]), t.monotonicity.tolist()
    (1.0, [1.0, 1.0])
    """
    names = list(matrices)
    missing = [name for name in names if name not in kinds]
    if missing:
        raise TDAInputError(f"measures_table needs the kind ('distance' or 'similarity') of every measure; "
                            f"missing for {missing}.")
    for name in names:
        _check_kind(kinds[name], "measures_table")
    return MeasuresTable(
        names=names, labels=[(labels or {}).get(name, name) for name in names], kinds=[kinds[n] for n in names],
        agreement=measure_agreement(matrices, kinds),
        monotonicity=np.array([layer_monotonicity(matrices[n], kinds[n]) for n in names]),
        depth_correlation=np.array([depth_correlation(matrices[n], kinds[n]) for n in names]),
        layers=list(layers) if layers is not None else [])
