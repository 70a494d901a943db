"""The study's machinery: one result cache, one scheduler, an optional on-disk store; no torch here."""

from .cache import DEFAULT_CACHE_BYTES, ResultCache, nbytes
from .scheduler import Batch, local_process_pool, resolve_executor
from .store import DiskStore

__all__ = ["ResultCache", "DEFAULT_CACHE_BYTES", "nbytes", "Batch", "resolve_executor", "local_process_pool",
           "DiskStore"]
