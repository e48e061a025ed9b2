"""The keyed value state's cache (udfs.cached_state): reads, write-through and write-back."""

from __future__ import annotations

from udfs.cached_state import CachedLists, CachedValue, HeldParts, WriteBack


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


class Backend:
    """The current key of a keyed state backend, shared by its states (``KeySwitch.set``)."""

    def __init__(self, *states: FakeKeyedValue) -> None:
        self.states = states
        self.switches: list = []

    def set_key(self, key) -> None:
        self.switches.append(key)
        for s in self.states:
            s.key = key


def test_write_back_holds_changes_until_the_flush_then_writes_each_key_once() -> None:
    state, other = FakeKeyedValue(), FakeKeyedValue()
    backend = Backend(state, other)
    wb = WriteBack(backend.set_key)
    c = CachedValue(state, encode=list, write_back=wb)
    d = CachedValue(other, write_back=wb)
    for key, v in (("a", (1,)), ("b", (2,)), ("a", (3,))):
        backend.set_key(key)
        c.put(key, v)
    d.put("a", "x")
    assert state.values == {} and other.values == {}  # nothing written yet
    assert c.get("a") == (3,) and state.reads == 0
    backend.switches.clear()
    assert wb.flush() == 3
    assert state.values == {"a": [3], "b": [2]} and other.values == {"a": "x"}
    assert sorted(backend.switches) == ["a", "a", "b"]
    assert wb.flush() == 0  # written once


def test_a_held_change_outlives_its_eviction_from_the_cache_and_a_clear_drops_it() -> None:
    state = FakeKeyedValue()
    backend = Backend(state)
    c = CachedValue(state, size=1, write_back=WriteBack(backend.set_key))
    for key in ("a", "b"):
        backend.set_key(key)
        c.put(key, key.upper())
    backend.set_key("a")  # evicted from the cache, still held: not read from state
    assert c.get("a") == "A" and state.reads == 0
    c.clear("a")
    backend.set_key("a")
    assert c.get("a") is None and state.reads == 1
    c.write_back.flush()
    assert state.values == {"b": "B"}


def test_too_many_held_changes_are_written_at_once_and_the_current_key_comes_back() -> None:
    state = FakeKeyedValue()
    backend = Backend(state)
    c = CachedValue(state, write_back=WriteBack(backend.set_key), max_dirty=3)
    for key in ("a", "b"):
        backend.set_key(key)
        c.put(key, 1)
    assert state.values == {}
    backend.set_key("c")
    c.put("c", 2)  # the third: all written, then "c" is current again for the caller
    assert state.values == {"a": 1, "b": 1, "c": 2} and state.key == "c"
    assert c.dirty == {}


class FakeKeyedList:
    """A keyed ListState with its calls into "Java" counted."""

    def __init__(self) -> None:
        self.key = None
        self.values: dict = {}
        self.calls = 0

    def get(self):
        self.calls += 1
        return iter(self.values.get(self.key, ()))

    def add(self, v) -> None:
        self.calls += 1
        self.values.setdefault(self.key, []).append(v)

    def add_all(self, vs) -> None:
        self.calls += 1
        self.values.setdefault(self.key, []).extend(vs)

    def update(self, vs) -> None:
        self.calls += 1
        self.values[self.key] = list(vs)

    def clear(self) -> None:
        self.calls += 1
        self.values.pop(self.key, None)


def test_lists_written_through_keep_what_waits_and_write_nothing_when_nothing_was_due() -> None:
    slot = FakeKeyedList()
    lists = CachedLists([slot])
    slot.key = "q"
    for item in ("a", "b"):
        lists.add("q", 0, item)
    assert lists.take("q", 0) == ["a", "b"]
    calls = slot.calls
    lists.keep("q", 0, ["a", "b"], taken=False)  # nothing due: no write
    assert slot.calls == calls and slot.values == {"q": ["a", "b"]}
    lists.keep("q", 0, ["b"], taken=True)
    assert slot.values == {"q": ["b"]}
    lists.take("q", 0)
    lists.keep("q", 0, [], taken=True)
    assert slot.values == {}


def test_lists_written_back_never_reach_state_when_due_before_the_flush() -> None:
    slots = [FakeKeyedList(), FakeKeyedList()]
    backend = Backend(*slots)
    lists = CachedLists(slots, WriteBack(backend.set_key))
    backend.set_key("q")
    lists.add("q", 1, "m1")
    lists.add("q", 1, "m2")
    assert lists.take("q", 1) == ["m1", "m2"]  # one read of the empty state ...
    lists.keep("q", 1, ["m2"], taken=True)
    lists.add("q", 1, "m3")
    assert lists.take("q", 1) == ["m2", "m3"]  # ... and none after it
    assert sum(s.calls for s in slots) == 1


def test_lists_written_back_hold_their_order_across_a_flush_and_a_restore() -> None:
    slots = [FakeKeyedList()]
    backend = Backend(*slots)
    wb = WriteBack(backend.set_key)
    lists = CachedLists(slots, wb)
    backend.set_key("q")
    lists.take("q", 0)  # known empty from here on
    lists.add("q", 0, "old")
    backend.set_key("r")
    lists.add("r", 0, "r1")
    assert wb.flush() == 2 and slots[0].values == {"q": ["old"], "r": ["r1"]}
    backend.set_key("q")
    lists.add("q", 0, "new")
    assert lists.take("q", 0) == ["old", "new"]  # stored first, then held
    assert "q" not in slots[0].values  # taken out of state
    restored = CachedLists(slots, WriteBack(backend.set_key))  # a new instance: reads state
    backend.set_key("r")
    assert restored.take("r", 0) == ["r1"]


def test_too_many_held_items_are_written_at_once() -> None:
    slots = [FakeKeyedList()]
    backend = Backend(*slots)
    lists = CachedLists(slots, WriteBack(backend.set_key), max_held=3)
    for key, item in (("a", 1), ("b", 2), ("a", 3)):
        backend.set_key(key)
        lists.add(key, 0, item)
    assert slots[0].values == {"a": [1, 3], "b": [2]} and slots[0].key == "a"
    assert lists.held == 0 and lists.dirty == {}


def test_held_parts_write_the_union_of_changed_parts_once_from_the_object_as_it_is() -> None:
    writes: list = []
    backend = Backend(FakeKeyedValue())
    held = HeldParts(lambda key, obj, parts: writes.append((key, dict(obj),
                                                             sorted(map(str, parts)))),
                     WriteBack(backend.set_key), max_dirty=3)
    a = {"n": 1}
    held.mark("a", a, ("points",))
    a["n"] = 2  # changed again in place: written once, as it is at the flush
    held.mark("a", a, (60_000, "points"))
    held.mark("b", {"n": 9}, ("history",))
    assert held.held("a") is a and held.held("c") is None and writes == []
    held.drop("b")  # cleared: nothing of it is written
    assert held.write_back.flush(current="a") == 1
    assert writes == [("a", {"n": 2}, ["60000", "points"])] and held.dirty == {}
    for key in ("x", "y", "z"):  # the third changed key writes all of them at once
        held.mark(key, {}, ("points",))
    assert [w[0] for w in writes[1:]] == ["x", "y", "z"] and backend.states[0].key == "z"
