"""Training dynamics: a layer x checkpoint grid of persistence diagrams on any executor.

:func:`checkpoint_grid` loads each checkpoint into a copy of the model (the model passed in is
never changed), captures the chosen layers on the same images, turns them into point clouds
exactly as :class:`tda_widgets.Study` does, and computes one persistence diagram per
(layer, checkpoint) cell. Per layer it then gives the diagram distance between consecutive
checkpoints (how much the layer's topology moved from one checkpoint to the next) and,
optionally, the full checkpoint x checkpoint distance matrix.

Capture runs in the calling process, one checkpoint at a time (only the clouds are kept);
persistence and distances are submitted to ``executor``: None (serially), ``"processes"`` (a
local pool of two spawned processes) or any :class:`concurrent.futures.Executor`. For a
dask.distributed cluster pass ``client.get_executor()``::

    from distributed import Client
    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(...))
    grid = checkpoint_grid(model, state_dicts, images, "blocks", executor=client.get_executor())

The workers run only the torch-free :mod:`tda_widgets.topology` functions on numpy arrays,
so they need tda-widgets installed but no model, data or GPU. The numbers are the same as a
serial run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
from torch import nn

from ..core._progress import CancelEvent, ProgressCallback
from ..core._display import RichDisplay, one_line
from ..core.errors import TDAInputError, TDATypeError
from ..topology.distances import DistanceSpec
from ..topology.persistence import PersistenceSpec

_D, _P = DistanceSpec(), PersistenceSpec()  # the declared defaults

__all__ = ["CheckpointGrid", "checkpoint_grid"]


@dataclass(frozen=True, repr=False)
class CheckpointGrid(RichDisplay):
    """Diagrams of every (layer, checkpoint) and the distances between checkpoints per layer.

    Attributes
    ----------
    layers : list of str
    checkpoints : list
        Checkpoint labels, in the order given (indices ``0..K-1`` for a sequence).
    diagrams : dict of (str, label) to PersistenceResult
        The persistence diagrams of each layer's rescaled cloud at each checkpoint.
    consecutive : ndarray of shape (n_layers, n_checkpoints - 1)
        ``consecutive[i, k]``: distance between the diagrams of ``layers[i]`` at checkpoints
        ``k`` and ``k + 1``.
    matrices : dict of str to ndarray of shape (n_checkpoints, n_checkpoints), or None
        Per layer, the distances between every pair of checkpoints (with ``full_matrix=True``).
    scale_factors : dict of (str, label) to float
        What each cloud was divided by before persistence (see ``scale``).
    n_points : dict of (str, label) to int
    metric, dims, scale, maxdim, infinite, spec
        The settings used.
    """

    layers: list
    checkpoints: list
    diagrams: dict
    consecutive: np.ndarray
    matrices: Optional[dict]
    scale_factors: dict
    n_points: dict
    metric: str
    dims: tuple
    scale: str
    maxdim: int
    infinite: str
    spec: Any = field(default=None, repr=False)

    _figure_builder = "checkpoint_grid_figure"

    def summary(self) -> str:
        """One line: grid size, metric, and the largest move between consecutive checkpoints;
        also the ``repr``. In a notebook the grid shows as a heat map of those moves."""
        dims = ", ".join(f"H{d}" for d in self.dims)
        text = (f"CheckpointGrid: {len(self.layers)} layers x {len(self.checkpoints)} checkpoints, "
                f"{self.metric} on {dims}")
        moves = np.asarray(self.consecutive, dtype=np.float64)
        if moves.size and np.isfinite(moves).any():
            i, k = np.unravel_index(np.nanargmax(np.where(np.isfinite(moves), moves, np.nan)), moves.shape)
            text += (f"; largest move {moves[i, k]:.3g} ({self.layers[i]}, checkpoint {self.checkpoints[k]!r} -> "
                     f"{self.checkpoints[k + 1]!r})")
        return one_line(text)

    def diagram(self, layer: str, checkpoint: Any):
        """The :class:`~tda_widgets.topology.PersistenceResult` of one cell."""
        try:
            return self.diagrams[(layer, checkpoint)]
        except KeyError:
            raise TDAInputError(
                f"No cell ({layer!r}, {checkpoint!r}) in this grid; layers are {self.layers} and checkpoints "
                f"{self.checkpoints}."
            ) from None

    def consecutive_distances(self, layer: str) -> np.ndarray:
        """Distances between consecutive checkpoints of one layer, shape (n_checkpoints - 1,)."""
        if layer not in self.layers:
            raise TDAInputError(f"Layer {layer!r} is not in this grid; its layers are {self.layers}.")
        return self.consecutive[self.layers.index(layer)].copy()


def _as_checkpoints(checkpoints: Any) -> tuple[list, list]:
    if isinstance(checkpoints, (str, os.PathLike)) or isinstance(checkpoints, nn.Module):
        raise TDATypeError(
            "The 'checkpoints' parameter of checkpoint_grid must be a sequence or a mapping of checkpoints "
            f"(state dicts, models or file paths). Got a single {type(checkpoints).__name__}; wrap it in a list."
        )
    if isinstance(checkpoints, Mapping):
        if checkpoints and all(isinstance(k, str) for k in checkpoints) and \
                all(hasattr(v, "shape") for v in checkpoints.values()):
            raise TDATypeError(
                "The 'checkpoints' parameter of checkpoint_grid got a single state dict (names -> tensors). "
                "Pass a list of state dicts, or a mapping label -> state dict, e.g. {0: sd0, 10: sd10}."
            )
        labels, items = list(checkpoints.keys()), list(checkpoints.values())
    else:
        try:
            items = list(checkpoints)
        except TypeError:
            raise TDATypeError(
                "The 'checkpoints' parameter of checkpoint_grid must be a sequence or a mapping of state dicts, "
                f"models or file paths. Got {type(checkpoints).__name__} instead."
            ) from None
        labels = list(range(len(items)))
    if not items:
        raise TDAInputError("The 'checkpoints' parameter of checkpoint_grid is empty; pass at least one checkpoint "
                            "(two or more to get distances between them).")
    return labels, items


def _load(base: nn.Module, checkpoint: Any, label: Any) -> nn.Module:
    """A copy of ``base`` holding ``checkpoint``'s weights (base itself is never touched)."""
    from ..data.loaders import _strip_prefixes, _unwrap_state_dict, load_checkpoint

    model = copy.deepcopy(base)
    if isinstance(checkpoint, (str, os.PathLike)):
        return load_checkpoint(model, checkpoint)
    if isinstance(checkpoint, nn.Module):
        state = checkpoint.state_dict()
    elif isinstance(checkpoint, Mapping):
        state = _unwrap_state_dict(checkpoint, f"checkpoint {label!r}")
    else:
        raise TDATypeError(
            f"Checkpoint {label!r} is a {type(checkpoint).__name__}; each checkpoint must be a state dict, "
            "an nn.Module of the same architecture, or the path of a file written by torch.save."
        )
    expected = model.state_dict()
    state = _strip_prefixes(dict(state), set(expected))
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise TDAInputError(
            f"Checkpoint {label!r} does not match {type(model).__name__}: missing keys {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}. Pass checkpoints of the model's architecture."
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise TDAInputError(f"Checkpoint {label!r} does not fit {type(model).__name__}: {exc}") from exc
    return model


def checkpoint_grid(
    model: Union[nn.Module, Callable[[], nn.Module]],
    checkpoints: Union[Sequence[Any], Mapping[Any, Any]],
    images: Any,
    layers: Any = None,
    *,
    spec: Any = None,
    maxdim: int = _P.maxdim,
    metric: str = _D.metric,
    dims: Sequence[int] = _D.dims,
    scale: str = _P.scale,
    infinite: str = _D.infinite,
    backend: str = _P.backend,
    full_matrix: bool = False,
    executor: Any = None,
    batch_size: Optional[int] = None,
    max_memory_bytes: int = 2 * 1024**3,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelEvent] = None,
) -> CheckpointGrid:
    """Persistence diagrams of ``layers`` at every checkpoint, and how far they move.

    Parameters
    ----------
    model : torch.nn.Module or callable returning one
        The architecture. A module is deep-copied for every checkpoint (it is never changed);
        a factory (e.g. ``lambda: torchvision_model("resnet18", num_classes=10)``) is called
        once and its result copied.
    checkpoints : sequence or mapping
        State dicts (nested ``"state_dict"`` and ``module.`` prefixes handled), models of the
        same architecture, or checkpoint file paths; a mapping gives each a label (e.g. the
        epoch), a sequence labels them ``0..K-1``.
    images : tensor, ndarray, Dataset or DataLoader
        The same images at every checkpoint.
    layers : str, sequence of str or None
        Layer names, a preset ("blocks", "stages", ...), or None for the direct children.
    spec : CloudSpec, optional
        How each layer becomes a cloud (default ``CloudSpec()``).
    maxdim : int, default 1
    metric : {"bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein"}
    dims : sequence of int, default (0, 1)
        Homology dimensions compared (at most ``maxdim``).
    scale : {"median", "diameter", "none"}, default "median"
        Rescaling of each cloud before persistence, as in :meth:`tda_widgets.Study.diagrams`.
    infinite : {"match", "drop", "error"}, default "match"
        Policy for infinite bars (see :func:`tda_widgets.topology.diagram_distance`).
    backend : str, default "auto"
        Persistence backend (see :func:`tda_widgets.topology.persistence`).
    full_matrix : bool, default False
        Also compute every checkpoint pair per layer (``K (K - 1) / 2`` distances per layer
        instead of ``K - 1``).
    executor : None, "processes" or concurrent.futures.Executor
        Where persistence and distances run; ``client.get_executor()`` for dask.distributed.
    batch_size : int, optional
        Images per forward pass (default: derived from the budget, see :class:`Study`).
    max_memory_bytes : int, default 2 GiB
        Per-cell persistence memory budget.
    progress : callable, optional
        ``progress(done, total, message)``.
    cancel : object with ``is_set()``, optional
        Checked between checkpoints and while waiting for results; raises
        :class:`~tda_widgets.errors.Cancelled` and cancels what is still queued.

    Returns
    -------
    CheckpointGrid

    Raises
    ------
    TDAInputError
        Empty or mismatched checkpoints, unknown layers, metric, scale or dims.
    TDATypeError
        A model that is neither a module nor a factory of one, or checkpoints of the wrong type.

    Examples
    --------
    >>> from tda_widgets.data.digits import load_digits_checkpoints, load_demo
    >>> demo = load_demo(n_images=100)
    >>> grid = checkpoint_grid(demo.model, load_digits_checkpoints(), demo.images,
    ...                        ["block2", "fc1"])                     # doctest: +SKIP
    >>> grid.consecutive.shape                                        # doctest: +SKIP
    (2, 3)
    """
    from . import steps
    from .cache import shared_cache
    from .steps import build_context
    from .study import CloudSpec
    from ..core.scheduler import Batch, resolve_executor
    from ..topology.distances import DistanceSpec, diagrams_distance
    from ..topology.persistence import PersistenceSpec

    where = "checkpoint_grid"
    if isinstance(model, nn.Module):
        base = model
    elif callable(model):
        base = model()
        if not isinstance(base, nn.Module):
            raise TDATypeError(f"The model factory passed to {where} returned {type(base).__name__}, "
                               "not a torch.nn.Module.")
    else:
        raise TDATypeError(f"The 'model' parameter of {where} must be an nn.Module or a function returning one. "
                           f"Got {type(model).__name__} instead.")
    spec = CloudSpec() if spec is None else spec
    DistanceSpec.check(where, metric=metric, infinite=infinite)
    PersistenceSpec.check(where, scale=scale, backend=backend)
    if isinstance(maxdim, bool) or not isinstance(maxdim, int) or maxdim < 0:
        raise TDAInputError(f"The 'maxdim' parameter of {where} must be an int >= 0. Got {maxdim!r} instead.")
    dims = tuple(sorted({int(d) for d in dims}))
    if not dims or dims[0] < 0 or dims[-1] > maxdim:
        raise TDAInputError(f"The 'dims' parameter of {where} must be non-empty dimensions in 0..maxdim={maxdim}. "
                            f"Got {dims!r} instead; raise maxdim or drop the higher dimensions.")
    executor = resolve_executor(executor, where)
    labels, items = _as_checkpoints(checkpoints)
    if len(set(map(repr, labels))) != len(labels):
        raise TDAInputError(f"Checkpoint labels must be distinct; got {labels}.")

    names = list(build_context(base, images, None, layers, batch_size=batch_size).layers)
    n_ck, n_layers = len(items), len(names)
    n_pairs = n_ck * (n_ck - 1) // 2 if full_matrix else max(n_ck - 1, 0)
    total = n_ck + n_layers * n_ck + n_layers * n_pairs

    pairs = ([(a, b) for a in range(n_ck) for b in range(a + 1, n_ck)] if full_matrix
             else [(a, a + 1) for a in range(n_ck - 1)])
    cache = shared_cache(base)  # every checkpoint's cells are keyed by its own weights' fingerprint

    def context_of(label, item):  # made when its turn comes: one checkpoint's model at a time
        return lambda: build_context(_load(base, item, label), images, None, names, batch_size=batch_size,
                                     max_memory_bytes=max_memory_bytes, cache=cache)

    checkpoint_contexts = [(label, context_of(label, item)) for label, item in zip(labels, items)]
    finished = steps.checkpoint_diagrams(checkpoint_contexts, names, spec, scale, maxdim, backend, executor, progress=progress,
                                         cancel=cancel, total=total, where=where)
    counts = {key: value[2] for key, value in finished.items()}
    results = {key: value[0] for key, value in finished.items()}
    factors = {key: value[1] for key, value in finished.items()}
    with Batch(executor, f"{where} (distances)", progress=progress, cancel=cancel, total=total,
               done=total - n_layers * n_pairs) as batch:
        for name in names:
            for a, b in pairs:
                batch.add((name, a, b), diagrams_distance, results[(name, labels[a])].diagrams,
                          results[(name, labels[b])].diagrams, metric, dims=dims, infinite=infinite,
                          message=f"distance of {name!r} between checkpoints")
        distances = batch.results()

    consecutive = np.array([[distances[(name, k, k + 1)] for k in range(n_ck - 1)] for name in names],
                           dtype=np.float64).reshape(n_layers, max(n_ck - 1, 0))
    matrices = None
    if full_matrix:
        matrices = {}
        for name in names:
            matrix = np.zeros((n_ck, n_ck))
            for a, b in pairs:
                matrix[a, b] = matrix[b, a] = distances[(name, a, b)]
            matrices[name] = matrix
    return CheckpointGrid(layers=names, checkpoints=labels, diagrams=results, consecutive=consecutive,
                          matrices=matrices, scale_factors=factors, n_points=counts, metric=metric, dims=dims,
                          scale=scale, maxdim=maxdim, infinite=infinite, spec=spec)
