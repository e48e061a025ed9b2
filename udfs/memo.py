"""A bounded memo: values computed from their keys, kept until it is full, then emptied.

Why: the parsers and the key switch look up the same few values again and again (an agent's
configuration, a contact's timestamps, an operator's keys); SPEC §3 wants every in-memory cache
bounded, and emptying a full memo costs less on these hot paths than keeping LRU order.
"""

from __future__ import annotations


class Memo(dict):
    """A ``dict`` (its ``get`` is the lookup) whose ``keep`` bounds it at ``max_size``."""

    __slots__ = ("max_size",)

    def __init__(self, max_size: int):
        super().__init__()
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self.max_size = max_size

    def keep(self, key, value):
        """Remember ``value`` under ``key`` (emptying the memo first when it is full);
        returns ``value``."""
        if len(self) >= self.max_size:
            self.clear()
        self[key] = value
        return value
