"""What every step works on: a small frozen context (model, inputs and labels keys, budgets,
executor, cache, store), made once by a :class:`~tda_widgets.engine.study.Study`.

A step (:mod:`tda_widgets.engine.steps`) is a function of a context and frozen specs; it reads
the context and never writes onto it. Its only side effects are the context's result cache,
its optional disk store, the counters in :attr:`Context.stats` and the per-model probes in
:attr:`Context.memo` (both plain dicts that the context holds; the context's fields themselves
never change). Two studies of one model on one set of images make equal keys, so explorers
sharing a cache share results.

No torch here (the engine package stays torch-free for process-pool workers).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

__all__ = ["Context", "STAT_NAMES"]

#: The counters of :attr:`Context.stats`: how many times each kind of step actually computed.
STAT_NAMES = ("captures", "persistence", "distance_matrices", "cka", "mapper", "similarity", "sensitivity",
              "cross_model", "measures_tables", "thumbnails")


@dataclass(frozen=True, eq=False)
class Context:
    """The frozen inputs of every step.

    Attributes
    ----------
    model : torch.nn.Module
        The live model (never changed).
    model_key : callable
        Returns the model's fingerprint (hash of every parameter and buffer).
    images, labels
        The prepared images and labels (None without labels).
    inputs_key : str
        The images' fingerprint.
    labels_key : str or None
        The labels' fingerprint; only the steps that read the labels add it to their keys.
    layers : tuple of str
        The study's layers.
    n_images : int
    executor : None, "processes" or concurrent.futures.Executor
    requested_batch_size : int or None
    max_bytes, max_memory_bytes : int
        The capture's and one persistence computation's memory budgets.
    stream_pooled : bool
        Reduce batches during the capture where the cloud's mode allows it.
    cache : ResultCache
    store : DiskStore or None
    stats : dict
        Counters (see :data:`STAT_NAMES`).
    memo : dict
        Per-model probes (output shapes, the forward pass's bytes), keyed by the model's fingerprint.
    """

    model: Any
    model_key: Any
    images: Any
    labels: Any
    inputs_key: str
    labels_key: Optional[str]
    layers: tuple
    n_images: int
    executor: Any
    requested_batch_size: Optional[int]
    max_bytes: int
    max_memory_bytes: int
    stream_pooled: bool
    cache: Any
    store: Any = None
    stats: dict = field(default_factory=lambda: dict.fromkeys(STAT_NAMES, 0))
    memo: dict = field(default_factory=dict)

    def key(self, step: str, *parts) -> tuple:
        """The one way a cache key is made: the step, the model and input fingerprints, then the
        step's own arguments (layers, frozen specs, options), in that order."""
        return (step, self.model_key(), self.inputs_key) + parts

    def with_executor(self, executor: Any) -> "Context":
        """The same context with another executor (same cache, store, counters)."""
        return replace(self, executor=executor)

    @property
    def batch_size(self) -> int:
        """Images per forward pass (:func:`tda_widgets.engine.steps.batch_size`)."""
        from .steps import batch_size

        return batch_size(self)
