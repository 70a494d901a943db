"""Kornblith et al. (2019, section 6.1)'s test across models: does each layer of model A find
the corresponding layer of model B as its most similar one?

Pure functions on numpy arrays (no torch, no widgets), shared by
:func:`tda_widgets.crossmodel.cross_model_comparison` and the cross-model figure, so the
figure's marks and the reported fraction are one computation.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..core.errors import TDAInputError

__all__ = ["best_matches", "identified_layers"]

KINDS = ("distance", "similarity")


def best_matches(matrix, kind: str, where: str = "best_matches") -> tuple[np.ndarray, np.ndarray]:
    """Each row's best column of a layers-of-A x layers-of-B matrix, and whether it is unique.

    Parameters
    ----------
    matrix : array_like of shape (L_A, L_B)
    kind : {"distance", "similarity"}
        Smaller is better (a distance) or larger is better (a similarity).

    Returns
    -------
    best : ndarray of int, shape (L_A,)
        The first best column of each row (-1 for a row without a finite value).
    unique : ndarray of bool, shape (L_A,)
        Whether no other column ties with it.

    Examples
    --------
    >>> best, unique = best_matches([[0.0, 1.0], [0.5, 0.5]], "distance")
    >>> best.tolist(), unique.tolist()
    ([0, 0], [True, False])
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise TDAInputError(f"The 'matrix' parameter of {where} must be a non-empty 2-D array (layers of A x layers "
                            f"of B). Got shape {m.shape}.")
    if kind not in KINDS:
        raise TDAInputError(f"The 'kind' parameter of {where} must be 'distance' or 'similarity'. "
                            f"Got {kind!r} instead.")
    m = np.where(np.isnan(m), np.inf, m if kind == "distance" else -m)
    best = np.full(m.shape[0], -1, dtype=np.int64)
    unique = np.zeros(m.shape[0], dtype=bool)
    for i, row in enumerate(m):
        if not np.isfinite(row).any() and not np.isneginf(row).any():
            continue
        low = np.min(row)
        best[i] = int(np.argmin(row))
        unique[i] = np.count_nonzero(row == low) == 1
    return best, unique


def identified_layers(matrix, kind: str, layers_a: Optional[Sequence[str]] = None,
                      layers_b: Optional[Sequence[str]] = None) -> np.ndarray:
    """For each row i: is the corresponding column strictly the best?

    The corresponding column is column i of a square matrix, or, given names, the column of
    ``layers_b`` named like row i of ``layers_a`` (a row whose name B lacks is never identified).

    Parameters
    ----------
    matrix : array_like of shape (L, L) or (L_A, L_B) with names
    kind : {"distance", "similarity"}
    layers_a, layers_b : sequence of str, optional

    Returns
    -------
    ndarray of bool, shape (L_A,)

    Examples
    --------
    >>> identified_layers([[0.0, 1.0], [0.5, 0.5]], "distance").tolist()
    [True, False]
    """
    m = np.asarray(matrix, dtype=np.float64)
    if layers_a is None and layers_b is None:
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise TDAInputError(f"identified_layers needs a square matrix (the same layers in both models) or the "
                                f"layer names of both. Got shape {m.shape}.")
        partner = np.arange(m.shape[0])
    else:
        if layers_a is None or layers_b is None or m.ndim != 2 or (len(layers_a), len(layers_b)) != m.shape:
            raise TDAInputError("identified_layers: pass both layers_a and layers_b, one name per row and per column "
                                f"of the matrix (shape {m.shape}).")
        column = {str(name): j for j, name in enumerate(layers_b)}
        partner = np.array([column.get(str(name), -2) for name in layers_a])
    best, unique = best_matches(m, kind, "identified_layers")
    return (best == partner) & unique
