"""One in-memory result cache, bounded by bytes, least-recently-used entries evicted first.

Every step of a :class:`tda_widgets.Study` stores its results here under a key made of the
step's name, the model and input fingerprints and the step's arguments (specs are frozen
dataclasses, so they are hashable and compare by value). Without a bound every slider setting
stayed in memory for the life of the notebook; now the cache holds at most ``max_bytes``
(default 2 GiB, settable with ``Study(cache_bytes=...)``), and :attr:`ResultCache.stats` counts
hits, misses and evictions so a test (or a curious user) can see what was reused.

A result larger than the whole budget is returned to its caller but not kept. Stored arrays are
made read-only by the study, so a caller cannot change a cached result in place.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from dataclasses import fields, is_dataclass
from typing import Any, Hashable, Optional

import numpy as np

__all__ = ["ResultCache", "DEFAULT_CACHE_BYTES", "nbytes", "shared_cache", "reset_shared_caches"]

DEFAULT_CACHE_BYTES = 2 * 1024**3


def nbytes(value: Any, _depth: int = 0) -> int:
    """Approximate memory held by a result: numpy arrays by their ``nbytes``, dataclasses,
    mappings and sequences by their parts (numpy-free objects by ``sys.getsizeof``)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if _depth > 6 or value is None or isinstance(value, (bool, int, float, str, bytes)):
        return sys.getsizeof(value) if value is not None else 0
    if is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), _depth + 1) for f in fields(value))
    if isinstance(value, dict):
        return sum(nbytes(k, _depth + 1) + nbytes(v, _depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v, _depth + 1) for v in value)
    return sys.getsizeof(value)


class ResultCache:
    """A thread-safe LRU cache bounded by the bytes of what it holds.

    Parameters
    ----------
    max_bytes : int, default 2 GiB
        The bound; the least recently used entries are evicted to keep under it.

    Examples
    --------
    >>> import numpy as np
    >>> cache = ResultCache(max_bytes=1000)
    >>> _ = cache.put("a", np.zeros(100))     # 800 bytes
    >>> cache.get("a") is not None, cache.get("b")
    (True, None)
    >>> _ = cache.put("c", np.zeros(50))      # 400 more: "a" is evicted
    >>> cache.stats["hits"], cache.stats["misses"], cache.stats["evictions"], list(cache.keys())
    (1, 1, 1, ['c'])
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        from ..core.errors import TDAInputError

        if not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool) or max_bytes < 0:
            raise TDAInputError(f"The 'cache_bytes' parameter must be an int >= 0 (bytes; 0 keeps nothing). "
                                f"Got {max_bytes!r} instead.")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.RLock()
        self._counts = {"hits": 0, "misses": 0, "evictions": 0, "too_large": 0}

    def get(self, key: Hashable, default: Optional[Any] = None) -> Any:
        """The value under ``key`` (now the most recently used), or ``default``; counted as a
        hit or a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._counts["misses"] += 1
                return default
            self._entries.move_to_end(key)
            self._counts["hits"] += 1
            return entry[0]

    def peek(self, key: Hashable) -> bool:
        """Whether ``key`` is held, without counting or reordering."""
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: Any) -> Any:
        """Store ``value`` (evicting least-recently-used entries to make room) and return it."""
        size = nbytes(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                self._counts["too_large"] += 1
                return value
            while self._entries and self._bytes + size > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
                self._counts["evictions"] += 1
            self._entries[key] = (value, size)
            self._bytes += size
        return value

    def keys(self) -> list:
        with self._lock:
            return list(self._entries)

    def items(self) -> list:
        """``(key, value)`` of every entry, least recently used first, without counting or reordering."""
        with self._lock:
            return [(key, entry[0]) for key, entry in self._entries.items()]

    def pin(self, value: Any) -> None:
        """Keep a reference to ``value`` as long as this cache lives: inputs fingerprinted by
        their identity (a Dataset) then keep that identity, so no later object can be given
        the same one while keys made from it are in the cache."""
        with self._lock:
            pinned = self.__dict__.setdefault("_pinned", {})
            pinned[id(value)] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def stats(self) -> dict:
        """``hits``, ``misses``, ``evictions``, ``too_large`` (results not kept), ``entries``,
        ``bytes`` and ``max_bytes``."""
        with self._lock:
            return dict(self._counts, entries=len(self._entries), bytes=self._bytes, max_bytes=self.max_bytes)


_SHARED: "weakref.WeakKeyDictionary[Any, ResultCache]" = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared_cache(model: Any) -> ResultCache:
    """The one result cache of every explorer on ``model`` (made on first use with the default
    bound, :data:`DEFAULT_CACHE_BYTES`; it lives as long as the model object does).

    Sharing is safe because every key is content-addressed: the step, the model's fingerprint
    (every parameter's bytes, so a model trained meanwhile gets new keys), the images'
    fingerprint (and the labels' for a result that reads them) and the step's own arguments.
    A second explorer on the same model then reuses the first one's activations, clouds,
    diagrams and graphs instead of computing them again, and the memory bound holds for all of
    them together.

    Examples
    --------
    >>> class Model:  # a torch module in practice; any object that can be weakly referenced
    ...     pass
    >>> model = Model()
    >>> shared_cache(model) is shared_cache(model), shared_cache(model) is shared_cache(Model())
    (True, False)
    """
    with _SHARED_LOCK:
        cache = _SHARED.get(model)
        if cache is None:
            cache = _SHARED[model] = ResultCache(DEFAULT_CACHE_BYTES)
        return cache


def reset_shared_caches() -> None:
    """Forget every model's shared cache: explorers made afterwards start with an empty one
    (a test's fresh start); studies already holding one keep it."""
    with _SHARED_LOCK:
        _SHARED.clear()
