"""The study's machinery: one result cache, one scheduler, an optional on-disk store; no torch here."""

from .cache import DEFAULT_CACHE_BYTES, ResultCache, reset_shared_caches, nbytes, shared_cache
from ..core.scheduler import Batch, local_process_pool, resolve_executor
from .store import DiskStore

__all__ = ["ResultCache", "DEFAULT_CACHE_BYTES", "nbytes", "shared_cache", "reset_shared_caches", "Batch",
           "resolve_executor", "local_process_pool", "DiskStore"]
