"""Publishing contact events: render, then lose, shuffle or duplicate them like EventBridge."""

from __future__ import annotations

import random

import orjson

from tools.sim.center import Center
from tools.sim.config import FaultConfig
from tools.sim.contact_event_payload import (
    CONNECTED_TO_AGENT,
    QUEUED,
    contact_event_payload,
    event_time_ms,
)
from tools.sim.delivery import CONTACT_EVENTS, DUPLICATE, DeliveryQueue
from tools.sim.truth import Segment, Truth


class ContactEventFeed:
    """Renders contact events and hands them to delivery with shuffle, drops and duplicates."""

    def __init__(self, center: Center, truth: Truth, delivery: DeliveryQueue,
                 faults: FaultConfig, render_rng: random.Random, ids: random.Random,
                 fault_rng: random.Random):
        self.center = center
        self.truth = truth
        self.delivery = delivery
        self.faults = faults
        self.render_rng = render_rng
        self.ids = ids
        self.fault_rng = fault_rng
        self._shuffle_ms = int(faults.out_of_order_s * 1000)

    def _jitter(self) -> int:
        s = self._shuffle_ms
        return self.fault_rng.randint(-s, s) if s else 0

    def emit(self, seg: Segment, event_type: str, at_ms: int) -> None:
        """One contact event of ``seg`` happening at ``at_ms`` (best effort: may be lost)."""
        payload = contact_event_payload(self.center, seg, event_type, at_ms, self.render_rng,
                                        self.ids)
        event_ms = event_time_ms(seg, event_type, at_ms)
        if self.faults.dropped_events and self.fault_rng.random() < self.faults.dropped_events:
            self.truth.counts["contact_events.dropped"] += 1
            return
        if event_type == QUEUED:
            seg.queued_signal = event_ms
        elif event_type == CONNECTED_TO_AGENT:
            seg.connected_signal = event_ms
        line = orjson.dumps(payload)
        delivery_ms = event_ms + self._jitter()
        self.delivery.push(CONTACT_EVENTS, delivery_ms, event_ms, seg.contact_id, line)
        dup = self.faults.event_duplicates
        if dup and self.fault_rng.random() < dup:
            later = delivery_ms + (self.fault_rng.randint(0, self._shuffle_ms)
                                   if self._shuffle_ms else 0)
            self.delivery.push(CONTACT_EVENTS, later, event_ms, seg.contact_id, line, DUPLICATE)
