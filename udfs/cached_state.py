"""Keyed state behind bounded in-memory caches, written through or written back at checkpoints:
a value state (``CachedValue``), the slotted list states of pending messages (``CachedLists``)
and the parts of an operator's own cached objects (``HeldParts``).

Why: reading a ``PICKLED_BYTE_ARRAY`` state is a call into Java and an unpickle on every record
(the live agent operator spent 2.3 % of all Python time there), and writing one is a pickle and
a call into Java (``ValueStateImpl.update``: 9.6 % of the GIL-held samples of the live path,
round 5). The read cache is safe because the operator instance is the only writer of its keys'
state and a restore creates a new instance with an empty cache.

Write-back (``WriteBack``; key-group batches only, ``udfs.flink_batches``): a change stays in
memory until the flush marker that the batchers send before every checkpoint barrier; the
operator then writes each changed key once. Its snapshot is taken when the last barrier has
arrived, after the last marker (aligned checkpoints: no record is handled between a channel's
marker and its barrier, and channels that have delivered theirs wait), so it holds every change.
Unaligned checkpoints snapshot before in-flight markers arrive: ``jobs.connect_metrics`` turns
write-back off for them. Bounded: at ``max_dirty`` changed keys everything is written at once.
"""

from __future__ import annotations

from typing import Callable, Generic, Optional, TypeVar

from udfs.lru import LruCache

K = TypeVar("K")
V = TypeVar("V")

#: values kept per operator instance (bounded: SPEC §3)
CACHE_SIZE = 8192
#: changed keys held per state before all of them are written (bounded: SPEC §3)
MAX_DIRTY = 8192
#: (key, slot) pairs remembered as empty in Flink state (bounded; forgetting one costs a read)
KNOWN_EMPTY = 65_536


class WriteBack:
    """The changes an operator instance holds for its cached states; ``set_key(key)`` makes
    ``key`` the current key of the operator's keyed state backend."""

    def __init__(self, set_key: Callable[[object], None]):
        self.set_key = set_key
        self.values: list = []  # CachedValue, CachedLists

    def flush(self, current=None) -> int:
        """Write every held change (each under its own key); then make ``current`` the current
        key again when the caller is in the middle of a record. Returns the writes made."""
        written = 0
        for cached in self.values:
            if cached.dirty:
                written += cached.write(self.set_key)
        if written and current is not None:
            self.set_key(current)
        return written


class CachedValue(Generic[K, V]):
    """``state``: a keyed ValueState (``value``/``update``/``clear`` for the current key); the
    caller names the current key, so that the cache holds one entry per key. With
    ``write_back`` (None: every change is written at once) changes wait for its flush."""

    def __init__(self, state, size: int = CACHE_SIZE,
                 decode: Optional[Callable] = None, encode: Optional[Callable] = None,
                 write_back: Optional[WriteBack] = None, max_dirty: int = MAX_DIRTY):
        self.state = state
        self.cache: LruCache = LruCache(size)
        self.decode = decode
        self.encode = encode
        self.write_back = write_back
        self.max_dirty = max_dirty
        #: key -> value changed since the last flush (never evicted before it is written)
        self.dirty: dict = {}
        if write_back is not None:
            write_back.values.append(self)

    def get(self, key: K) -> Optional[V]:
        """The current key's value, or None when it has none."""
        value = self.cache.get(key)
        if value is None:
            value = self.dirty.get(key)
            if value is None:
                stored = self.state.value()
                if stored is None:
                    return None
                value = stored if self.decode is None else self.decode(stored)
            self.cache.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Write ``value`` (it may be the cached object itself, changed in place) now, or at the
        next flush."""
        self.cache.put(key, value)
        if self.write_back is None:
            self.state.update(value if self.encode is None else self.encode(value))
            return
        self.dirty[key] = value
        if len(self.dirty) >= self.max_dirty:
            self.write_back.flush(current=key)

    def clear(self, key: K) -> None:
        self.state.clear()
        self.cache.pop(key)
        self.dirty.pop(key, None)

    def write(self, set_key: Callable[[object], None]) -> int:
        """Write the held changes, each under its key (``WriteBack.flush``)."""
        encode, update = self.encode, self.state.update
        for key, value in self.dirty.items():
            set_key(key)
            update(value if encode is None else encode(value))
        written = len(self.dirty)
        self.dirty = {}
        return written


class CachedLists:
    """Keyed ListStates, one per slot (``states``), of messages that wait for their tick.

    Written through, an append is a call into Java and a pickle. Written back, appends wait in
    memory for the flush, and a slot's stored items are read once: taken out of Flink state
    (which is then known to be empty for that key and slot) together with the held ones, so a
    message that is due before the next checkpoint never reaches Flink state."""

    def __init__(self, states: list, write_back: Optional[WriteBack] = None,
                 max_held: int = MAX_DIRTY, known_empty: int = KNOWN_EMPTY):
        self.states = states
        self.write_back = write_back
        self.max_held = max_held
        #: (key, slot) -> items appended or kept since the last flush, in order
        self.dirty: dict = {}
        self.held = 0
        self.empty: LruCache = LruCache(known_empty)
        if write_back is not None:
            write_back.values.append(self)

    def add(self, key, slot: int, item) -> None:
        if self.write_back is None:
            self.states[slot].add(item)
            return
        self.dirty.setdefault((key, slot), []).append(item)
        self.held += 1
        if self.held >= self.max_held:
            self.write_back.flush(current=key)

    def take(self, key, slot: int) -> list:
        """Every item of the current key's ``slot``, in order, removed: ``keep`` puts back those
        that still wait."""
        state = self.states[slot]
        if self.write_back is None:
            return list(state.get() or ())
        stored = []
        if self.empty.get((key, slot)) is None:
            stored = list(state.get() or ())
            if stored:
                state.clear()
            self.empty.put((key, slot), True)
        held = self.dirty.pop((key, slot), None)
        if held:
            self.held -= len(held)
            return stored + held if stored else held
        return stored

    def keep(self, key, slot: int, items: list, taken: bool) -> None:
        """Put back ``items`` of ``slot`` after a ``take`` (``taken``: some were removed)."""
        if self.write_back is None:
            if taken:  # (nothing removed: the state holds ``items`` already)
                if items:
                    self.states[slot].update(items)
                else:
                    self.states[slot].clear()
            return
        if items:
            self.dirty[key, slot] = items
            self.held += len(items)

    def write(self, set_key: Callable[[object], None]) -> int:
        """Append the held items to Flink state, each (key, slot) under its key."""
        for (key, slot), items in self.dirty.items():
            set_key(key)
            self.states[slot].add_all(items)
            self.empty.pop((key, slot))
        written = len(self.dirty)
        self.dirty, self.held = {}, 0
        return written


class HeldParts:
    """Per key, an object the operator caches itself (the agent operator's ``AgentState``) and
    the parts of it that changed since the last flush; at the flush ``write(key, obj, parts)``
    writes them under the key, from the object as it is then (a part changed ten times is
    written once). The caller reads ``held(key)`` before Flink state on a miss of its own
    cache, which may have evicted the object since. Without ``write_back`` every change is
    written at once, under the caller's current key."""

    def __init__(self, write: Callable[[object, object, set], None],
                 write_back: Optional[WriteBack], max_dirty: int = MAX_DIRTY):
        self.write_parts = write
        self.write_back = write_back
        self.max_dirty = max_dirty
        #: key -> (object, parts changed)
        self.dirty: dict = {}
        if write_back is not None:
            write_back.values.append(self)

    def mark(self, key, obj, parts) -> None:
        if self.write_back is None:
            self.write_parts(key, obj, set(parts))
            return
        entry = self.dirty.get(key)
        if entry is None:
            entry = self.dirty[key] = (obj, set())
        entry[1].update(parts)
        if len(self.dirty) >= self.max_dirty:
            self.write_back.flush(current=key)

    def held(self, key):
        entry = self.dirty.get(key)
        return None if entry is None else entry[0]

    def drop(self, key) -> None:
        """The key's state is cleared: nothing of it is left to write."""
        self.dirty.pop(key, None)

    def write_now(self, key) -> None:
        """Write the key's held parts at once, under the current key (which must be ``key``):
        before the caller asks Flink state a question about all of the key's entries."""
        entry = self.dirty.pop(key, None)
        if entry is not None:
            self.write_parts(key, *entry)

    def write(self, set_key: Callable[[object], None]) -> int:
        for key, (obj, parts) in self.dirty.items():
            set_key(key)
            self.write_parts(key, obj, parts)
        written = len(self.dirty)
        self.dirty = {}
        return written
