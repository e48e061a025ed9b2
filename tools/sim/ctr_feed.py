"""Publishing contact trace records: at-least-once, with preliminary and late copies.

The final CTR leaves at its ``LastUpdateTimestamp`` (after ACW). A share of CTRs gets extra
copies: an older *preliminary* copy exported at disconnect while ACW was still running
(delivered before the final, or re-delivered after it), and exact duplicates of the final
shortly after it. Independently, a share is re-delivered as an exact duplicate much later
(5 minutes to 3 hours). Only the final copy (greatest ``LastUpdateTimestamp``) counts.

With the long-ACW fault mode (``FaultConfig.long_after_contact_work``) a share of final CTRs is
exported late: *delayed* within the CTR lateness (minus a margin; they count), or *very late*,
beyond it (plus twice the margin) while the feeds still run on for a margin (they are late as
a whole: the job dead-letters them). A very late CTR has no other copy, so nothing of its contact
counts from CTRs. ``Segment.ctr_delivery_ms`` records when the final copy was delivered: the
reference decides from it which CTRs count.
"""

from __future__ import annotations

import random

import orjson

from tools.sim.center import Center
from tools.sim.config import CTR_LATENESS_MARGIN_S, FaultConfig
from tools.sim.ctr_payload import ctr_payload
from tools.sim.delivery import CTRS, DUPLICATE, LATE_REDELIVERY, PRELIMINARY, DeliveryQueue
from tools.sim.engine import Scheduler
from tools.sim.truth import Segment, ctr_facts

MAX_LAST_UPDATE_DELAY_MS = 20_000
MAX_EXPORT_DELAY_MS = 10_000
MAX_DUPLICATE_DELAY_MS = 120_000
LATE_MIN_MS, LATE_MAX_MS = 300_000, 3 * 3_600_000


class CtrFeed:
    """Exports the CTRs of finished segments, with the configured duplicate copies."""

    def __init__(self, center: Center, sched: Scheduler, delivery: DeliveryQueue,
                 faults: FaultConfig, life: random.Random, fault_rng: random.Random,
                 end_ms: int = 0):
        self.end_ms = end_ms  # end of arrivals: the feeds run on at least until then
        self.center = center
        self.sched = sched
        self.delivery = delivery
        self.faults = faults
        self.life = life
        self.rng = fault_rng

    def on_disconnect(self, seg: Segment) -> None:
        """Decide the extra copies; a preliminary one is exported while ACW is still running."""
        if self._very_late(seg):
            return
        if not self.faults.ctr_duplicates or self.rng.random() >= self.faults.ctr_duplicates:
            return
        extra = 1 if self.rng.random() < 0.7 else 2
        now = self.sched.now
        acw_left = (seg.acw_end_ms - now) if seg.acw_end_ms is not None else 0
        if acw_left > 6000 and self.rng.random() < 0.6:
            at = now + self.rng.randint(1000, min(15_000, acw_left - 3000))
            self.sched.at(at, self._preliminary, seg, self.rng.random() < 0.3)
            extra -= 1
        seg.dup_plan = extra

    def _very_late(self, seg: Segment) -> bool:
        """Whether this contact's only CTR is exported beyond the CTR lateness (decided at its
        disconnect, before any extra copy; only where the feeds run on past the export)."""
        share = self.faults.very_late_ctrs
        if not share or self.rng.random() >= share:
            return False
        margin = CTR_LATENESS_MARGIN_S * 1000
        at = (self.sched.now + self.faults.ctr_lateness_s * 1000 + 2 * margin
              + self.rng.randint(0, margin))
        if at + margin > self.end_ms:
            return False
        seg.ctr_delivery_ms = at
        return True

    def _delivery_ms(self, seg: Segment) -> int:
        """When the final copy reaches the feed: soon after its LastUpdateTimestamp, or (fault
        mode) delayed up to the CTR lateness minus the margin after the disconnect."""
        if seg.ctr_delivery_ms is not None:  # very late, decided at the disconnect
            return seg.ctr_delivery_ms
        assert seg.last_update_ms is not None and seg.disconnect_ms is not None
        at = seg.last_update_ms + self.rng.randint(0, MAX_EXPORT_DELAY_MS)
        share = self.faults.delayed_ctrs
        if share and self.rng.random() < share:
            latest = (seg.disconnect_ms + (self.faults.ctr_lateness_s - CTR_LATENESS_MARGIN_S)
                      * 1000)
            if latest > at:
                at = self.rng.randint(at, latest)
        seg.ctr_delivery_ms = at
        return at

    def _preliminary(self, seg: Segment, after_final: bool) -> None:
        now = self.sched.now
        facts = ctr_facts(seg, last_update_ms=now)
        line = orjson.dumps(ctr_payload(self.center, seg, facts, preliminary=True))
        if after_final:
            seg.late_prelim = line
            return
        self.delivery.push(CTRS, now + self.rng.randint(0, 5000), facts.disconnect_ms,
                           seg.contact_id, line, PRELIMINARY)

    def finalize(self, seg: Segment) -> None:
        """The contact is over (disconnected, ACW done): export its final CTR."""
        now = self.sched.now
        seg.last_update_ms = now + self.life.randint(500, MAX_LAST_UPDATE_DELAY_MS)
        facts = ctr_facts(seg)
        line = orjson.dumps(ctr_payload(self.center, seg, facts))
        very_late = seg.ctr_delivery_ms is not None
        delivery_ms = self._delivery_ms(seg)
        push = self.delivery.push
        push(CTRS, delivery_ms, facts.disconnect_ms, seg.contact_id, line)
        if seg.late_prelim is not None:
            push(CTRS, delivery_ms + self.rng.randint(1000, 60_000), facts.disconnect_ms,
                 seg.contact_id, seg.late_prelim, PRELIMINARY)
            seg.late_prelim = None
        for _ in range(seg.dup_plan):
            push(CTRS, delivery_ms + self.rng.randint(1000, MAX_DUPLICATE_DELAY_MS),
                 facts.disconnect_ms, seg.contact_id, line, DUPLICATE)
        late = self.faults.late_redeliveries
        if late and not very_late and self.rng.random() < late:
            push(CTRS, delivery_ms + self.rng.randint(LATE_MIN_MS, LATE_MAX_MS),
                 facts.disconnect_ms, seg.contact_id, line, LATE_REDELIVERY)
