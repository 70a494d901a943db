"""The sensitivity test of Ding, Denain & Steinhardt (2021), as the study ran it for PH.

A similarity measure should notice when a representation loses principal components. For one
layer's cloud ``X`` (``n_points x n_features``) this removes ``k`` principal components for
``k = 0, step, 2 step, ... < n_features`` and returns the distance between the original and each
reduced cloud (PH distance, and 1 - linear CKA) against the fraction ``k / n_features`` removed.

As in the study's sensitivity script (opening "Code for performing intuitive sensitivity test
... for SW distance between PDs"; its ``low_rank`` and the loop over ``khats``): the principal
directions are the left singular vectors of ``X.T`` **without centring** (``torch.linalg.svd``),
the reduced cloud is ``X`` projected onto the kept directions (coordinates in that subspace, so
its distances are those of the rank-reduced reconstruction), its diagrams are ripser's, and the
PH distance is persim's sliced Wasserstein on H1 of the unscaled clouds; the steps are
``step = 4`` components (its ``-s`` default). The study removes the **lowest-variance** components
first (it keeps the top ``n_features - k``), as Ding et al. do; ``remove="highest"`` removes the
top components first instead. ``k = 0`` is included (distance 0), the full rank is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..core._progress import check_cancel, report
from ..core.errors import TDAInputError
from .cka import linear_cka
from .distances import DistanceSpec, diagrams_distance
from .persistence import persistence

__all__ = ["SensitivityResult", "pc_removal_sensitivity", "remove_principal_components", "REMOVE_ORDERS"]

#: Which components go first: the study's and Ding et al.'s (lowest variance), or the top ones.
REMOVE_ORDERS = ("lowest", "highest")
_D = DistanceSpec()


@dataclass(frozen=True)
class SensitivityResult:
    """What :func:`pc_removal_sensitivity` returns.

    Attributes
    ----------
    removed : ndarray of int, shape (n_steps,)
        Components removed at each step (starting at 0).
    fraction : ndarray of float, shape (n_steps,)
        ``removed / n_features``.
    distances : dict of str to ndarray, shape (n_steps,)
        ``"ph"``: the diagram distance to the original cloud; ``"cka"``: 1 - linear CKA.
    settings : dict
        metric, dims, maxdim, remove, center, step, n_features.
    """

    removed: np.ndarray
    fraction: np.ndarray
    distances: dict
    settings: dict = field(default_factory=dict)


def _principal_directions(points: np.ndarray, center: bool) -> np.ndarray:
    """(n_features, n_features) directions, by decreasing singular value (the columns)."""
    data = points - points.mean(axis=0) if center else points
    u, _, _ = np.linalg.svd(data.T, full_matrices=True)
    return u


def remove_principal_components(points, k: int, *, remove: str = "lowest", center: bool = False) -> np.ndarray:
    """``points`` with ``k`` principal components removed, in the coordinates of the kept ones.

    Parameters
    ----------
    points : array_like of shape (n_points, n_features)
    k : int
        Components removed, ``0 <= k < n_features``.
    remove : {"lowest", "highest"}, default "lowest"
        Remove the lowest-variance components first (the study's and Ding et al.'s), or the top ones.
    center : bool, default False
        Centre the cloud before the SVD (the study does not).

    Returns
    -------
    ndarray of shape (n_points, n_features - k)
        ``points @ U_kept`` (distances equal those of the rank-reduced reconstruction).
    """
    points = np.asarray(points, dtype=np.float64)
    n_features = points.shape[1]
    if not 0 <= int(k) < n_features:
        raise TDAInputError(f"remove_principal_components: k must be in [0, {n_features}) for "
                            f"{n_features} features. Got {k!r}.")
    if remove not in REMOVE_ORDERS:
        raise TDAInputError(f"The 'remove' parameter must be one of {list(REMOVE_ORDERS)}. Got {remove!r} instead.")
    u = _principal_directions(points, center)
    kept = u[:, : n_features - k] if remove == "lowest" else u[:, k:]
    return points @ kept


def pc_removal_sensitivity(
    points,
    *,
    removed: Optional[Sequence[int]] = None,
    step: int = 4,
    measures: Sequence[str] = ("ph", "cka"),
    metric: str = "sliced-wasserstein",
    dims: Sequence[int] = (1,),
    remove: str = "lowest",
    center: bool = False,
    infinite: str = _D.infinite,
    progress=None,
    cancel=None,
) -> SensitivityResult:
    """Distance between a cloud and itself with principal components removed, per step.

    Parameters
    ----------
    points : array_like of shape (n_points, n_features)
        One layer's cloud (e.g. ``study.cloud(layer, presets.get("ph").cloud).points``).
    removed : sequence of int, optional
        The numbers of components removed; default ``0, step, 2 step, ... < n_features``.
    step : int, default 4
        The study's step (its ``-s`` default).
    measures : sequence of {"ph", "cka"}, default ("ph", "cka")
    metric : str, default "sliced-wasserstein"
        The diagram distance (the study's; any of :data:`~tda_widgets.topology.METRICS`).
    dims : sequence of int, default (1,)
        Homology dimensions compared (the study's: H1).
    remove : {"lowest", "highest"}, default "lowest"
        Which components go first (module docstring).
    center : bool, default False
    infinite : str, default "match"
        Infinite-bar policy (H0 has one infinite bar per cloud, so it matches).
    progress : callable, optional
        ``progress(done_steps, n_steps, message)`` after each step.
    cancel : threading.Event, optional
        Checked before each step; raises :class:`~tda_widgets.errors.Cancelled` when set.

    Returns
    -------
    SensitivityResult
        ``distances["ph"][0] == 0`` and ``distances["cka"][0] == 0`` (nothing removed).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> result = pc_removal_sensitivity(rng.normal(size=(60, 8)) * np.arange(1, 9), step=2)
    >>> result.removed.tolist(), float(result.distances["cka"][0])
    ([0, 2, 4, 6], 0.0)
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] < 2:
        raise TDAInputError("The 'points' parameter of pc_removal_sensitivity must have shape (n_points, "
                            f"n_features) with at least 3 points and 2 features. Got shape {points.shape}.")
    unknown = [m for m in measures if m not in ("ph", "cka")]
    if unknown or not measures:
        raise TDAInputError(f"The 'measures' parameter of pc_removal_sensitivity must hold some of ['ph', 'cka']. "
                            f"Got {list(measures)!r} instead.")
    DistanceSpec.check("pc_removal_sensitivity", metric=metric, infinite=infinite)
    n_features = points.shape[1]
    if removed is None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise TDAInputError(f"The 'step' parameter of pc_removal_sensitivity must be an int >= 1. Got {step!r}.")
        removed = range(0, n_features, step)
    removed = np.array(sorted({int(k) for k in removed}), dtype=np.int64)
    if removed.size == 0 or removed[0] < 0 or removed[-1] >= n_features:
        raise TDAInputError(f"The 'removed' parameter of pc_removal_sensitivity must hold numbers of components "
                            f"in [0, {n_features}). Got {removed.tolist()}.")
    dims = tuple(sorted({int(d) for d in dims}))
    maxdim = max(dims)
    original = persistence(points, maxdim=maxdim).diagrams if "ph" in measures else None
    distances = {m: np.zeros(removed.size) for m in measures}
    for i, k in enumerate(removed):
        check_cancel(cancel, "sensitivity test")
        report(progress, i, removed.size, f"{int(k)} of {n_features} components removed")
        if k == 0:
            continue  # the original itself: 0 for both measures
        reduced = remove_principal_components(points, int(k), remove=remove, center=center)
        if "ph" in measures:
            distances["ph"][i] = diagrams_distance(original, persistence(reduced, maxdim=maxdim).diagrams, metric,
                                                   dims=dims, infinite=infinite)
        if "cka" in measures:
            distances["cka"][i] = 1.0 - linear_cka(points, reduced)
    report(progress, removed.size, removed.size, "sensitivity test")
    settings = {"metric": metric, "dims": dims, "maxdim": maxdim, "remove": remove, "center": center,
                "step": step, "n_features": n_features}
    return SensitivityResult(removed=removed, fraction=removed / n_features, distances=distances, settings=settings)
