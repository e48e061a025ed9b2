"""The keyed value state's read cache (udfs.cached_state)."""

from __future__ import annotations

from udfs.cached_state import CachedValue


class FakeKeyedValue:
    """A keyed ValueState: one value per current key, with its reads counted."""

    def __init__(self) -> None:
        self.key = None
        self.values: dict = {}
        self.reads = 0

    def value(self):
        self.reads += 1
        return self.values.get(self.key)

    def update(self, v) -> None:
        self.values[self.key] = v

    def clear(self) -> None:
        self.values.pop(self.key, None)


def test_reads_come_from_the_cache_and_writes_go_through() -> None:
    state = FakeKeyedValue()
    c = CachedValue(state, size=2, decode=tuple, encode=list)
    state.key = "a"
    assert c.get("a") is None and state.reads == 1
    c.put("a", (1, 2))
    assert state.values["a"] == [1, 2]  # encoded, written through
    assert c.get("a") == (1, 2) and state.reads == 1  # no second read


def test_an_evicted_or_cleared_key_is_read_again_from_state() -> None:
    state = FakeKeyedValue()
    c = CachedValue(state, size=1, decode=tuple, encode=list)
    for key, v in (("a", (1,)), ("b", (2,))):
        state.key = key
        c.put(key, v)
    state.key = "a"  # evicted by "b": read from state and decoded
    assert c.get("a") == (1,) and state.reads == 1
    c.clear("a")
    assert "a" not in state.values and c.get("a") is None and state.reads == 2
