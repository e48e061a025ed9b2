"""A minimal discrete-event scheduler: callbacks run in (time, insertion) order."""

from __future__ import annotations

import heapq
from typing import Any, Callable, Optional


class Scheduler:
    """Simulated clock; ``now`` is the time of the callback being run (epoch ms)."""

    def __init__(self, now_ms: int = 0):
        self._heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self.now = now_ms

    def at(self, when_ms: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (max(when_ms, self.now), self._seq, fn, args))

    def after(self, delay_ms: int, fn: Callable[..., None], *args: Any) -> None:
        self.at(self.now + delay_ms, fn, *args)

    def next_time(self) -> Optional[int]:
        return self._heap[0][0] if self._heap else None

    def step(self) -> None:
        when, _, fn, args = heapq.heappop(self._heap)
        self.now = when
        fn(*args)

    def __bool__(self) -> bool:
        return bool(self._heap)
