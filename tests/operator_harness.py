"""Drive a keyed Flink process function in plain Python: keyed states, event-time timers and the
watermark as Flink's contract defines them, so a unit test can run an operator's routing on
thousands of keys and then look at every byte of its state and every timer it left behind.

Why not only the mini-cluster: there a test sees the outputs, never the checkpointed state, and
cannot order the watermark by hand. This is no substitute for the integration tests (which run the
same function in Flink); it checks what they cannot see.

Flink's semantics reproduced here: state is per (state name, current key); a timer is unique per
(key, timestamp); when the watermark advances to W every timer <= W fires in timestamp order (also
those registered while firing), with ``current_watermark()`` == W; a side output is a
``(tag, row)`` pair and the main output a bare row.
"""

from __future__ import annotations

import heapq
import pickle
from typing import Any, Iterable

MIN_WATERMARK = -(2 ** 63)


class _Keyed:
    def __init__(self, harness: "Harness", name: str):
        self.h, self.name = harness, name

    def _get(self, default=None):
        self.h.state_calls += 1
        return self.h.data.get((self.name, self.h.key), default)

    def _set(self, value) -> None:
        self.h.state_calls += 1
        if value is None or value == [] or value == {}:
            self.h.data.pop((self.name, self.h.key), None)
        else:
            # what Flink keeps is a serialized copy: a later in-place change must not leak in
            self.h.data[(self.name, self.h.key)] = pickle.loads(pickle.dumps(value))

    def clear(self) -> None:
        self._set(None)


class ValueState(_Keyed):
    def value(self):
        v = self._get()
        return None if v is None else pickle.loads(pickle.dumps(v))

    def update(self, value) -> None:
        self._set(value)


class ListState(_Keyed):
    def get(self):
        return list(pickle.loads(pickle.dumps(self._get([]))))

    def add(self, value) -> None:
        self._set(self._get([]) + [value])

    def add_all(self, values) -> None:
        self._set(self._get([]) + list(values))

    def update(self, values) -> None:
        self._set(list(values))


class MapState(_Keyed):
    def _map(self) -> dict:
        return pickle.loads(pickle.dumps(self._get({})))

    def get(self, key):
        return self._map().get(key)

    def put(self, key, value) -> None:
        m = self._map()
        m[key] = value
        self._set(m)

    def remove(self, key) -> None:
        m = self._map()
        m.pop(key, None)
        self._set(m)

    def items(self):
        return list(self._map().items())

    def contains(self, key) -> bool:
        return key in self._get({})

    def is_empty(self) -> bool:
        return not self._get({})


class _Counter:
    def __init__(self):
        self.count = 0

    def inc(self, n: int = 1) -> None:
        self.count += n


class _Metrics:
    def __init__(self, counters: dict):
        self.counters = counters

    def add_group(self, _name: str, _value: str | None = None) -> "_Metrics":
        return self

    def counter(self, name: str) -> _Counter:
        return self.counters.setdefault(name, _Counter())


class _RuntimeContext:
    def __init__(self, harness: "Harness"):
        self.h = harness

    def get_state(self, d):
        return ValueState(self.h, d.name)

    def get_list_state(self, d):
        return ListState(self.h, d.name)

    def get_map_state(self, d):
        return MapState(self.h, d.name)

    def get_metrics_group(self):
        return _Metrics(self.h.counters)


class _TimerService:
    def __init__(self, harness: "Harness"):
        self.h = harness

    def current_watermark(self) -> int:
        return self.h.watermark

    def register_event_time_timer(self, ts: int) -> None:
        self.h.timer_calls += 1
        if (ts, self.h.key) not in self.h.timer_set:
            self.h.timer_set.add((ts, self.h.key))
            heapq.heappush(self.h.timers, (ts, self.h.key))


class _Context:
    def __init__(self, harness: "Harness"):
        self.h = harness
        self._timers = _TimerService(harness)

    def get_current_key(self):
        return self.h.key

    def timer_service(self) -> _TimerService:
        return self._timers


class Harness:
    """One keyed operator instance (one or two inputs); ``out`` collects everything it emitted.

    ``write_back``: the function's cached states hold their changes until ``flush`` (the flush
    marker before a checkpoint barrier, ``udfs.cached_state``); ``data`` is then what a
    checkpoint would hold, and ``restored`` starts a new instance from it."""

    def __init__(self, function: Any, write_back: bool = False):
        self.fn = function
        self.write_back = None
        self.data: dict = {}
        self.timers: list = []
        self.timer_set: set = set()
        self.counters: dict = {}
        self.state_calls = 0  # state reads and writes (each costs the GIL twice in thread mode)
        self.timer_calls = 0
        self.key: Any = None
        self.watermark = MIN_WATERMARK
        self.out: list = []
        self.ctx = _Context(self)
        context = _RuntimeContext(self)
        if write_back:
            from udfs.cached_state import WriteBack
            from udfs.flink_batches import _WRITE_BACK

            self.write_back = WriteBack(self._set_key)
            setattr(context, _WRITE_BACK, self.write_back)
        function.open(context)

    def _set_key(self, key) -> None:
        self.key = key

    def flush(self) -> int:
        """The flush marker: every held change is written (0 without write-back)."""
        return 0 if self.write_back is None else self.write_back.flush(current=self.key)

    def restored(self, function: Any) -> "Harness":
        """A new instance of ``function`` restored from this one's state and timers (after a
        ``flush``, that is a checkpoint), at the same watermark."""
        h = Harness(function, write_back=self.write_back is not None)
        h.data = pickle.loads(pickle.dumps(self.data))
        h.timers, h.timer_set = list(self.timers), set(self.timer_set)
        h.watermark = self.watermark
        return h

    def _run(self, gen: Iterable) -> None:
        if gen is not None:
            self.out.extend(gen)

    def element(self, key, value) -> None:
        """One record into a one-input keyed function (``process_element``)."""
        self.key = key
        self._run(self.fn.process_element(value, self.ctx))

    def element1(self, key, value) -> None:
        self.key = key
        self._run(self.fn.process_element1(value, self.ctx))

    def element2(self, key, value) -> None:
        self.key = key
        self._run(self.fn.process_element2(value, self.ctx))

    def call(self, key, method: str, *args) -> None:
        """Run another generator method of the function as if for an element of ``key``: its
        arguments, then the context (for entry points behind the parsing of raw input)."""
        self.key = key
        self._run(getattr(self.fn, method)(*args, self.ctx))

    def advance(self, watermark: int) -> None:
        """The watermark reaches ``watermark``: fire every due timer, in timestamp order."""
        self.watermark = max(self.watermark, watermark)
        watermark = self.watermark
        while self.timers and self.timers[0][0] <= watermark:
            ts, key = heapq.heappop(self.timers)
            self.timer_set.discard((ts, key))
            self.key = key
            self._run(self.fn.on_timer(ts, self.ctx))

    def count(self, name: str) -> int:
        c = self.counters.get(name)
        return 0 if c is None else c.count

    def state_bytes(self) -> int:
        """Pickled size of every keyed state entry left: what a checkpoint would hold."""
        return sum(len(pickle.dumps(v)) for v in self.data.values())

    def keys_with_state(self) -> set:
        return {key for _, key in self.data}
