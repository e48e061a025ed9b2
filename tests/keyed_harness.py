"""A small in-process driver for one keyed Flink function's decisions: per-key state, event-time
timers and a watermark, without a cluster.

Why: what a ``udfs/flink_*.py`` wrapper keeps per key (and whether it ever lets go of it) cannot
be seen from a job's output; this drives the wrapper exactly as Flink calls it (``open``, then
``process_element*`` / ``on_timer`` with a context per key) and exposes the state it left. It
stands in for Flink's operator test harness, which PyFlink does not offer; the pipelines
themselves are still tested on the mini-cluster.
"""

from __future__ import annotations

import heapq
from typing import Any


class _Value:
    def __init__(self, store: dict, name: str, key_of):
        self._store, self._name, self._key = store, name, key_of

    def _cell(self) -> dict:
        return self._store.setdefault(self._key(), {})

    def value(self):
        return self._cell().get(self._name)

    def update(self, v) -> None:
        self._cell()[self._name] = v

    def clear(self) -> None:
        self._cell().pop(self._name, None)


class _Map(_Value):
    def _map(self) -> dict:
        return self._cell().setdefault(self._name, {})

    def get(self, k):
        return self._map().get(k)

    def put(self, k, v) -> None:
        self._map()[k] = v

    def contains(self, k) -> bool:
        return k in self._map()

    def remove(self, k) -> None:
        self._map().pop(k, None)

    def is_empty(self) -> bool:
        return not self._map()

    def items(self):
        return list(self._map().items())

    def clear(self) -> None:
        self._cell().pop(self._name, None)


class _Counter:
    def __init__(self):
        self.count = 0

    def inc(self, n: int = 1) -> None:
        self.count += n


class _Group:
    def __init__(self, counters: dict):
        self._counters = counters

    def add_group(self, name: str) -> _Group:
        return self

    def counter(self, name: str) -> _Counter:
        return self._counters.setdefault(name, _Counter())


class KeyedHarness:
    """Drives one keyed function; ``state`` maps key -> {state name: value} (empty = nothing)."""

    def __init__(self, function: Any):
        self.fn = function
        self.state: dict = {}
        self.counters: dict = {}
        self.watermark = -(2**63)
        self.key = None
        self._timers: list = []  # heap of (timestamp, key)
        self._registered: set = set()
        harness = self

        class Runtime:
            def get_state(self, d):
                return _Value(harness.state, d.get_name(), lambda: harness.key)

            def get_map_state(self, d):
                return _Map(harness.state, d.get_name(), lambda: harness.key)

            def get_metrics_group(self):
                return _Group(harness.counters)

        class Timers:
            def current_watermark(self):
                return harness.watermark

            def register_event_time_timer(self, t):
                if (t, harness.key) not in harness._registered:
                    harness._registered.add((t, harness.key))
                    heapq.heappush(harness._timers, (t, harness.key))

        class Ctx:
            def timer_service(self):
                return Timers()

            def get_current_key(self):
                return harness.key

        self._ctx = Ctx()
        function.open(Runtime())

    def process(self, key, value, method: str = "process_element") -> list:
        self.key = key
        return list(getattr(self.fn, method)(value, self._ctx) or ())

    def advance(self, watermark: int) -> list:
        """Move the watermark; fires every timer at or below it, in time order."""
        out = []
        self.watermark = watermark
        while self._timers and self._timers[0][0] <= watermark:
            t, key = heapq.heappop(self._timers)
            self._registered.discard((t, key))
            self.key = key
            out.extend(self.fn.on_timer(t, self._ctx) or ())
        return out

    def stored(self) -> dict:
        """key -> the states that hold something (an empty map counts as nothing)."""
        return {k: {n: v for n, v in cell.items() if v not in (None, {})}
                for k, cell in self.state.items()
                if any(v not in (None, {}) for v in cell.values())}

    def timers(self) -> int:
        return len(self._timers)
