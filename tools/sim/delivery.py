"""Delivery order: when each rendered line reaches its feed, and the lateness it implies.

Every line gets a delivery time and waits in one heap until the simulated clock has passed it
by more than ``horizon_ms`` (no line is ever created with a delivery time further back than
that), then leaves in (delivery time, creation) order. One global order serves both the files
(each file keeps the order of its own lines) and Kafka pacing.

Lateness bounds the job relies on (its watermark is max event time seen in the stream - 60 s;
it dead-letters a contact or agent event whose window ended > 15 min before the watermark, a CTR
> 2 h):

- contact events: delivered at event time +/- ``out_of_order_s`` (default 20 s), so a good event
  is at most 2 x out_of_order_s (+1 s for whole-second envelope times) behind the stream's
  maximum, and duplicates at most one more ``out_of_order_s``: 61 s with the defaults.
- CTRs: the final copy is delivered at ``LastUpdateTimestamp`` (ACW end, ACW <= 300 s, plus up
  to 20 s) plus up to 10 s; extra copies up to 120 s after that. Since every CTR is delivered
  after its ``DisconnectTimestamp``, a good CTR is at most 300+20+10+120 = 450 s behind the
  maximum. Only the exact-duplicate late re-deliveries (5 min - 3 h later) exceed this, and
  they change nothing. The long-ACW fault mode (``tools.sim.ctr_feed``) goes beyond: CTRs up to
  the CTR lateness minus 5 min behind, and a few more than the CTR lateness plus 10 min.
- agent events: delivered at their ``EventTimestamp`` in time order (a duplicate right after
  its original), so never behind the maximum at all; per agent they are strictly increasing.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from typing import NamedTuple, Optional

from tools.sim.malformed import AGENT_EVENTS, CONTACT_EVENTS, CTRS, malformed_line
from tools.sim.truth import Truth

STREAMS = (CONTACT_EVENTS, CTRS, AGENT_EVENTS)
FILE_NAMES = {CONTACT_EVENTS: "contact_events.jsonl", CTRS: "ctrs.jsonl",
              AGENT_EVENTS: "agent_events.jsonl"}

ORIGINAL = "original"
DUPLICATE = "duplicate"
PRELIMINARY = "preliminary"
LATE_REDELIVERY = "late_redelivery"


class DeliveredRecord(NamedTuple):
    stream: str
    delivery_ms: int
    event_ms: Optional[int]  # the event time per SPEC §2 (None for malformed lines)
    key: Optional[str]  # ContactId / AgentARN (None for malformed lines)
    value: bytes  # one JSON line, without the newline
    good: bool


class DeliveryQueue:
    """Orders lines by delivery time and slips in the malformed share of every file."""

    def __init__(self, truth: Truth, malformed_share: float, rng: random.Random,
                 horizon_ms: int):
        self._heap: list[tuple[int, int, DeliveredRecord]] = []
        self._seq = 0
        self._truth = truth
        self._share = malformed_share
        self._credit = {s: 0.5 for s in STREAMS}  # round(share x good lines) bad lines per file
        self._rng = rng
        self.horizon_ms = horizon_ms

    def _put(self, record: DeliveredRecord) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (record.delivery_ms, self._seq, record))

    def push(self, stream: str, delivery_ms: int, event_ms: int, key: str, line: bytes,
             kind: str = ORIGINAL) -> None:
        counts = self._truth.counts
        counts[f"{stream}.good_lines"] += 1
        counts[f"{stream}.{kind}"] += 1
        self._truth.saw_event_time(event_ms)
        self._put(DeliveredRecord(stream, delivery_ms, event_ms, key, line, True))
        if self._share <= 0:
            return
        self._credit[stream] += self._share
        while self._credit[stream] >= 1.0:
            self._credit[stream] -= 1.0
            bad_kind, bad = malformed_line(stream, line, self._rng)
            counts[f"{stream}.bad_lines"] += 1
            counts[f"{stream}.bad_{bad_kind}"] += 1
            self._put(DeliveredRecord(stream, delivery_ms, None, None, bad, False))

    def next_delivery_ms(self) -> Optional[int]:
        return self._heap[0][0] if self._heap else None

    def due(self, now_ms: int) -> Iterator[DeliveredRecord]:
        """Lines that can no longer be overtaken by anything created at ``now_ms`` or later."""
        limit = now_ms - self.horizon_ms
        heap = self._heap
        while heap and heap[0][0] < limit:
            yield heapq.heappop(heap)[2]

    def drain(self) -> Iterator[DeliveredRecord]:
        heap = self._heap
        while heap:
            yield heapq.heappop(heap)[2]
