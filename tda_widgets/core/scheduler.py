"""One way to run a set of step calls: serially, on the local process pool, or on any
:class:`concurrent.futures.Executor` (dask.distributed's ``client.get_executor()`` included),
with progress that moves after each finished call and cooperative cancellation.

Used by the study (persistence per layer), the layer-distance matrix (distance per pair) and
the checkpoint grid (persistence per layer and checkpoint, then distances). Before, each kept
its own copy of the submit / poll / cancel loop.

A :class:`Batch` runs a serial call at once (so the caller's ``on_result`` can store it before
the next starts: a cancelled run keeps every finished result) and submits an executor call at
once (so work overlaps with whatever the caller does next, e.g. loading the next checkpoint);
:meth:`Batch.results` then waits for them in order. Leaving the ``with`` block cancels every
call not yet started, also after an error or a cancel.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Callable, Hashable, Optional

from ._progress import CancelEvent, ProgressCallback, check_cancel, report, wait_result
from .errors import TDAInputError

__all__ = ["Batch", "resolve_executor", "local_process_pool"]

_POOL: Optional[ProcessPoolExecutor] = None
_POOL_LOCK = threading.Lock()


def local_process_pool(max_workers: int = 2) -> ProcessPoolExecutor:
    """A shared process pool (spawned workers: safe beside torch's threads), created once."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            import multiprocessing

            _POOL = ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"))
        return _POOL


def resolve_executor(executor: Any, where: str) -> Optional[Executor]:
    """None (serial), ``"processes"`` (the local pool) or an executor-like object with ``submit``."""
    if executor is None:
        return None
    if isinstance(executor, str) and executor == "processes":
        return local_process_pool()
    if isinstance(executor, Executor) or (not isinstance(executor, str) and hasattr(executor, "submit")):
        return executor
    raise TDAInputError(f"The 'executor' parameter of {where} must be None, 'processes' or a "
                        f"concurrent.futures.Executor (e.g. dask's client.get_executor()). Got {executor!r} instead.")


class Batch:
    """Calls run serially or on an executor, their results collected in the order added.

    Parameters
    ----------
    executor : Executor or None
        Where the calls run (None: in this thread, at once).
    where : str
        Named in a cancellation message.
    progress, cancel
        ``progress(done, total, message)`` after each finished call; ``cancel.is_set()`` checked
        before each call and while waiting.
    total : int, optional
        The progress total (default: the number of calls); ``done`` is where progress starts.
    on_result : callable, optional
        ``on_result(key, result)`` as each call finishes, in order.

    Examples
    --------
    >>> with Batch(None, "squares") as batch:
    ...     for k in range(3):
    ...         batch.add(k, pow, k, 2)
    ...     batch.results()
    {0: 0, 1: 1, 2: 4}
    """

    def __init__(self, executor: Optional[Executor], where: str, *, progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelEvent] = None, total: Optional[int] = None, done: int = 0,
                 on_result: Optional[Callable[[Hashable, Any], None]] = None):
        self.executor, self.where = executor, where
        self.progress, self.cancel, self.total, self.done = progress, cancel, total, done
        self.on_result = on_result
        self._pending: dict = {}     # key -> (future, message), executor calls not yet collected
        self._results: dict = {}

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, *exc) -> None:
        for future, _ in self._pending.values():
            future.cancel()
        self._pending.clear()

    def add(self, key: Hashable, fn: Callable, *args: Any, message: str = "", **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` now (serial) or submit it (executor)."""
        check_cancel(self.cancel, self.where)
        if self.executor is None:
            self._finish(key, fn(*args, **kwargs), message)
        else:
            self._pending[key] = (self.executor.submit(fn, *args, **kwargs), message)

    def results(self) -> dict:
        """Every call's result by key, in the order added (waiting for submitted ones)."""
        for key in list(self._pending):
            future, message = self._pending[key]
            value = wait_result(future, self.cancel, self.where)
            del self._pending[key]
            self._finish(key, value, message)
        return dict(self._results)

    def _finish(self, key, value, message) -> None:
        self._results[key] = value
        if self.on_result is not None:
            self.on_result(key, value)
        self.done += 1
        report(self.progress, self.done, self.total if self.total is not None else self.done + len(self._pending),
               message or f"{self.where}: {key}")
