"""Progress reporting and cooperative cancellation shared by every long computation.

A ``progress`` callback is called as ``progress(done, total, message)``; ``cancel`` is any
object with an ``is_set()`` method (normally a :class:`threading.Event`), checked between
units of work (batches, layers, pairs).
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol

from .errors import Cancelled

ProgressCallback = Callable[[int, int, str], None]


class CancelEvent(Protocol):
    def is_set(self) -> bool: ...


def check_cancel(cancel: Optional[CancelEvent], where: str = "") -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"cancelled{(' during ' + where) if where else ''}")


def report(progress: Optional[ProgressCallback], done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(int(done), int(total), message)


def wait_result(future, cancel: Optional[CancelEvent], where: str = "", poll_s: float = 0.1):
    """``future.result()``, polled every ``poll_s`` seconds so that ``cancel`` is honoured.

    Catches both the builtin ``TimeoutError`` (dask, Python >= 3.11) and
    ``concurrent.futures.TimeoutError`` (a different class on Python 3.10).
    """
    import concurrent.futures

    while True:
        check_cancel(cancel, where)
        try:
            return future.result(timeout=poll_s)
        except (TimeoutError, concurrent.futures.TimeoutError):
            continue
