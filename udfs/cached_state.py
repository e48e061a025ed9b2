"""A keyed value state with a bounded read cache of the values as Python objects.

Why: reading a ``PICKLED_BYTE_ARRAY`` state is a call into Java and an unpickle on every record
(the live agent operator spent 2.3 % of all Python time there). The cache is safe because the
operator instance is the only writer of its keys' state, every change is written through, and a
restore creates a new instance with an empty cache.
"""

from __future__ import annotations

from typing import Callable, Generic, Optional, TypeVar

from udfs.lru import LruCache

K = TypeVar("K")
V = TypeVar("V")

#: values kept per operator instance (bounded: SPEC §3)
CACHE_SIZE = 8192


class CachedValue(Generic[K, V]):
    """``state``: a keyed ValueState (``value``/``update``/``clear`` for the current key); the
    caller names the current key, so that the cache holds one entry per key."""

    def __init__(self, state, size: int = CACHE_SIZE,
                 decode: Optional[Callable] = None, encode: Optional[Callable] = None):
        self.state = state
        self.cache: LruCache = LruCache(size)
        self.decode = decode
        self.encode = encode

    def get(self, key: K) -> Optional[V]:
        """The current key's value, or None when it has none."""
        value = self.cache.get(key)
        if value is None:
            stored = self.state.value()
            if stored is None:
                return None
            value = stored if self.decode is None else self.decode(stored)
            self.cache.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Write ``value`` through (it may be the cached object itself, changed in place)."""
        self.state.update(value if self.encode is None else self.encode(value))
        self.cache.put(key, value)

    def clear(self, key: K) -> None:
        self.state.clear()
        self.cache.pop(key)
