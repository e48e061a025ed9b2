"""The bounded LRU cache (udfs.lru)."""

from __future__ import annotations

import pytest

from udfs.lru import LruCache


def test_the_least_recently_used_entry_goes_first() -> None:
    c: LruCache = LruCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # "b" is now the least recently used
    c.put("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2


def test_put_refreshes_and_pop_and_clear_forget() -> None:
    c: LruCache = LruCache(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 10)
    c.put("c", 3)
    assert c.get("a") == 10 and "b" not in c
    c.pop("a")
    c.pop("missing")
    assert "a" not in c and len(c) == 1
    c.clear()
    assert len(c) == 0 and c.get("c") is None


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LruCache(0)
