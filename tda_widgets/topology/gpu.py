"""Pairwise distances and CKA with torch: on the GPU when there is one, else on the CPU.

The same numbers as the numpy functions :func:`tda_widgets.topology.pairwise_distances` and
:func:`tda_widgets.topology.cka_matrix` (float64 throughout; the tests check 1e-5 on the CPU),
computed with torch so that large clouds and many layers use a GPU. Results come back as
numpy arrays on the CPU.

``device=None`` picks ``"cuda"`` when ``torch.cuda.is_available()``, else ``"cpu"``. On Apple
GPUs (``"mps"``), which have no float64, pass ``device="cpu"``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch

from ..core._progress import CancelEvent, ProgressCallback, check_cancel, report
from ..core.errors import TDAInputError, TDATypeError

__all__ = ["default_device", "pairwise_distances_torch", "linear_cka_torch", "cka_matrix_torch"]

_KERNELS = ("linear", "rbf")


def default_device(device: Any = None) -> torch.device:
    """``device`` as a ``torch.device``; None gives CUDA when available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise TDAInputError(
            f"The 'device' parameter must be None, 'cpu', 'cuda' or a torch.device. Got {device!r} instead."
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TDAInputError(
            f"device={str(device)!r} was requested but torch sees no CUDA GPU "
            f"(torch {torch.__version__}); pass device=None or 'cpu'."
        )
    if device.type == "mps":
        raise TDAInputError("device='mps' has no float64 arithmetic; pass device='cpu' (or None).")
    return device


def _as_tensor(array: Any, name: str, where: str, device: torch.device) -> torch.Tensor:
    if isinstance(array, torch.Tensor):
        t = array.detach()
    else:
        try:
            t = torch.from_numpy(np.asarray(array, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TDATypeError(
                f"The '{name}' parameter of {where} must be a numeric array. Got {type(array).__name__} ({exc})."
            ) from exc
    if t.ndim < 2:
        raise TDAInputError(
            f"The '{name}' parameter of {where} must be 2-D (one row per point or example). Got shape "
            f"{tuple(t.shape)}; reshape with .reshape(-1, 1) for 1-D points."
        )
    t = t.reshape(t.shape[0], -1).to(device=device, dtype=torch.float64)
    if t.shape[0] < 1 or t.shape[1] < 1:
        raise TDAInputError(f"The '{name}' parameter of {where} is empty (shape {tuple(t.shape)}).")
    if not bool(torch.isfinite(t).all()):
        raise TDAInputError(
            f"The '{name}' parameter of {where} must hold only finite numbers; it has "
            f"{int((~torch.isfinite(t)).sum())} NaN or infinite values. Fix the activations first."
        )
    return t


def _distances(x: torch.Tensor) -> torch.Tensor:
    x = x - x.mean(dim=0, keepdim=True)
    sq = (x * x).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    d = d2.clamp_min_(0.0).sqrt_()
    d = 0.5 * (d + d.T)
    d.fill_diagonal_(0.0)
    return d


def pairwise_distances_torch(points: Any, device: Any = None) -> np.ndarray:
    """Euclidean distance matrix of a point cloud, computed with torch in float64.

    Parameters
    ----------
    points : array_like or torch.Tensor of shape (n_points, n_dims)
    device : None, str or torch.device
        None: CUDA when available, else the CPU.

    Returns
    -------
    ndarray of shape (n_points, n_points), float64
        Symmetric, zero diagonal (on the CPU).

    Raises
    ------
    TDAInputError
        Not 2-D, empty, non-finite, or a CUDA device without a GPU.

    Examples
    --------
    >>> pairwise_distances_torch([[0.0, 0.0], [3.0, 4.0]], device="cpu")
    array([[0., 5.],
           [5., 0.]])
    """
    dev = default_device(device)
    x = _as_tensor(points, "points", "pairwise_distances_torch", dev)
    return _distances(x).cpu().numpy()


def _center(gram: torch.Tensor, debiased: bool) -> torch.Tensor:
    n = gram.shape[0]
    if debiased:
        gram = gram.clone()
        gram.fill_diagonal_(0.0)
        means = gram.sum(dim=0) / (n - 2)
        means = means - means.sum() / (2 * (n - 1))
        gram = gram - means[:, None] - means[None, :]
        gram.fill_diagonal_(0.0)
        return gram
    # H K H with H = I - 11^T / n
    row = gram.mean(dim=0, keepdim=True)
    col = gram.mean(dim=1, keepdim=True)
    return gram - row - col + gram.mean()


def _gram(x: torch.Tensor, kernel: str, sigma_factor: float, name: str, where: str) -> torch.Tensor:
    if kernel == "linear":
        xc = x - x.mean(dim=0, keepdim=True)
        return xc @ xc.T
    d = _distances(x)
    n = d.shape[0]
    iu = torch.triu_indices(n, n, offset=1, device=d.device)
    # numpy's median (mean of the two middle values); torch.quantile caps its input size
    values = d[iu[0], iu[1]].sort().values
    m = values.numel()
    median = float(0.5 * (values[(m - 1) // 2] + values[m // 2])) if m else 0.0
    if not median > 0:
        raise TDAInputError(
            f"RBF CKA in {where} needs a positive median pairwise distance; '{name}' has median 0 "
            "(most rows identical). Remove duplicate rows or use the linear kernel."
        )
    sigma = sigma_factor * median
    return torch.exp(-(d * d) / (2.0 * sigma * sigma))


def _check_options(kernel, debiased, n, where):
    if kernel not in _KERNELS:
        raise TDAInputError(f"The 'kernel' parameter of {where} must be one of {set(_KERNELS)}. Got {kernel!r} instead.")
    if not isinstance(debiased, bool):
        raise TDATypeError(f"The 'debiased' parameter of {where} must be a bool. Got {debiased!r} instead.")
    need = 4 if debiased else 2
    if n < need:
        raise TDAInputError(
            f"{where} needs at least {need} examples{' for the debiased estimator' if debiased else ''}; got {n}."
        )


def _degenerate(name: str, where: str) -> TDAInputError:
    return TDAInputError(
        f"CKA is undefined in {where}: the representation '{name}' has zero variance after centring "
        "(all rows identical, e.g. a dead layer). Drop it or check the layer's activations."
    )


def linear_cka_torch(X: Any, Y: Any, *, debiased: bool = False, device: Any = None) -> float:
    """Linear CKA between two representations of the same examples, computed with torch.

    Parameters
    ----------
    X : array_like or tensor of shape (n_examples, n_features_x)
        Extra dimensions are flattened.
    Y : array_like or tensor of shape (n_examples, n_features_y)
    debiased : bool, default False
        The unbiased HSIC estimator of Song et al. (2012).
    device : None, str or torch.device

    Returns
    -------
    float

    Raises
    ------
    TDAInputError
        Different numbers of rows, too few rows, non-finite values or a constant representation.
    """
    return float(cka_matrix_torch([X, Y], debiased=debiased, device=device)[0, 1])


def cka_matrix_torch(features: Sequence[Any], *, kernel: str = "linear", debiased: bool = False,
                     sigma_factor: float = 1.0, device: Any = None,
                     progress: Optional[ProgressCallback] = None,
                     cancel: Optional[CancelEvent] = None) -> np.ndarray:
    """CKA between every pair of representations, computed with torch (GPU when available).

    Parameters
    ----------
    features : sequence of array_like or tensors, each of shape (n_examples, n_features_l)
    kernel : {"linear", "rbf"}, default "linear"
    debiased : bool, default False
    sigma_factor : float, default 1.0
        RBF bandwidth as a multiple of each representation's median pairwise distance.
    device : None, str or torch.device
        None: CUDA when available, else the CPU.
    progress : callable, optional
        ``progress(done, total, message)`` once per Gram matrix.
    cancel : object with ``is_set()``, optional

    Returns
    -------
    ndarray of shape (n_layers, n_layers), float64
        Symmetric with unit diagonal.

    Raises
    ------
    TDAInputError
        As :func:`tda_widgets.topology.cka_matrix`.
    """
    where = "cka_matrix_torch"
    if isinstance(features, (np.ndarray, torch.Tensor)):
        raise TDAInputError(
            f"The 'features' parameter of {where} must be a sequence of representations (one array per "
            f"layer). Got a single array of shape {tuple(features.shape)}; wrap it in a list, e.g. [X, Y]."
        )
    features = list(features)
    if not features:
        raise TDAInputError(f"The 'features' parameter of {where} must hold at least one representation. Got none.")
    dev = default_device(device)
    n = None
    grams = []
    for i, f in enumerate(features):
        check_cancel(cancel, f"{where} (Gram matrix of layer {i})")
        x = _as_tensor(f, f"features[{i}]", where, dev)
        if n is None:
            n = x.shape[0]
            _check_options(kernel, debiased, n, where)
        elif x.shape[0] != n:
            raise TDAInputError(
                f"All representations in {where} must have the same number of rows (examples). "
                f"features[0] has {n} and features[{i}] has {x.shape[0]}; use the same images for every layer."
            )
        if bool((x == x[0]).all()):
            raise _degenerate(f"features[{i}]", where)
        g = _center(_gram(x, kernel, sigma_factor, f"features[{i}]", where), debiased)
        grams.append(g)
        report(progress, i + 1, len(features), f"Gram matrix {i + 1}/{len(features)}")
    flat = torch.stack([g.reshape(-1) for g in grams])
    dots = flat @ flat.T
    norms = dots.diagonal().sqrt()
    for i, value in enumerate(norms.tolist()):
        if not value > 0:
            raise _degenerate(f"features[{i}]", where)
    matrix = dots / (norms[:, None] * norms[None, :])
    matrix = 0.5 * (matrix + matrix.T)
    matrix.fill_diagonal_(1.0)
    return matrix.cpu().numpy()
