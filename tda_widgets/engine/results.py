"""The results of the study's composite steps (:class:`Comparison`), kept apart from the
Study so that the steps (:mod:`tda_widgets.engine.steps`) build them without importing it."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..core._display import RichDisplay, one_line
from ..clouds.make import CloudSpec
from ..topology.distances import DistanceSpec

__all__ = ["Comparison"]

_D = DistanceSpec()


@dataclass(frozen=True, repr=False)
class Comparison(RichDisplay):
    """What :meth:`Study.compare` returns: PH distances beside 1 - CKA, with the settings used.

    Dict-style access (``result["ph"]``, ``result.keys()``) is kept for older notebooks.

    Attributes
    ----------
    layers : list of str
    ph : ndarray of shape (L, L)
        Diagram distances between layers.
    cka : ndarray of shape (L, L)
        CKA similarity between layers (1 on the diagonal).
    spearman : float
        Rank correlation of ``ph`` and ``1 - cka`` over layer pairs (nan with fewer than 3 layers
        or infinite distances).
    metric, dims, maxdim, scale, spec, infinite, cka_estimator
        The settings the numbers come from ("exact" or "minibatch" CKA).
    """

    layers: list
    ph: np.ndarray
    cka: np.ndarray
    spearman: float
    metric: str
    dims: tuple
    maxdim: int
    scale: str
    spec: CloudSpec
    infinite: str = _D.infinite
    cka_estimator: str = "exact"

    _figure_builder = "comparison_figure"

    def summary(self) -> str:
        """One line: layers, metric and dimensions, Spearman rho; also the ``repr``. In a
        notebook the comparison shows as the two heat maps (PH distances beside 1 - CKA)."""
        dims = ", ".join(f"H{d}" for d in self.dims)
        names = list(self.layers)
        shown = ", ".join(map(str, names)) if len(names) <= 4 else f"{names[0]} … {names[-1]}"
        rho = "n/a" if np.isnan(self.spearman) else f"{self.spearman:.2f}"
        return one_line(f"Comparison of {len(names)} layers ({shown}): {self.metric} on {dims}, "
                        f"Spearman rho(PH, 1 - CKA) = {rho}")

    def keys(self):
        return [f.name for f in fields(self)]

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(f"{key!r}: a Comparison has {self.keys()}")
        return getattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self.keys()
