"""The operator keyed by ContactId: dedupe contact events and CTRs into contact facts.

Input 1: contact events, input 2: CTRs (both keyed by ContactId, raw JSON, parsed at the entry).
Decisions live in ``udfs.contact_state``; this wrapper gives them the watermark (contact events
are late past ``--allowed-lateness``, CTRs past ``--ctr-allowed-lateness``), keeps the state and
the cleanup timer, and routes what the decisions return: queue puts on the main output (as
Row(queue key, put)), agent puts on a side output (as Row(agent ARN, put)), refused records (late,
after clearing) to the dead-letter rows with the raw input as received.
"""

from __future__ import annotations

from pyflink.common import Row, Types
from pyflink.datastream.functions import KeyedCoProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from udfs.cached_state import CachedValue
from udfs.contact_state import (
    APPLIED,
    DUPLICATE,
    FACT,
    LATE,
    REFUSED,
    AgentPut,
    ContactState,
    cleanup_timer_ms,
    cleanup_times,
    contact_event_outcome,
    from_stored,
    on_cleanup,
    on_contact_event,
    on_ctr,
    queue_key,
    to_stored,
)
from udfs.flink_batches import write_back_of
from udfs.flink_ingest import Ingest
from udfs.flink_outputs import AGENT_PUT_TAG, OUTPUT_TAG
from udfs.late import after_clearing_dead_letter, late_dead_letter
from udfs.records import STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import Settings
from udfs.windows import is_late

AFTER_CLEARING_WHAT = {
    STREAM_CTRS: "a newer CTR copy after the contact's state was cleared",
    STREAM_CONTACT_EVENTS: "a contact event with a queue signal after the contact's state "
                           "was cleared",
}


class ContactStateFunction(KeyedCoProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.state = None
        self.counters: dict = {}
        self.ingest_events = Ingest(STREAM_CONTACT_EVENTS, settings)
        self.ingest_ctrs = Ingest(STREAM_CTRS, settings)

    def open(self, runtime_context: RuntimeContext):
        # read from memory while recent, written at checkpoints with key-group batches
        # (``udfs.cached_state``): a contact's few events come minutes apart
        self.state = CachedValue(
            runtime_context.get_state(ValueStateDescriptor("contact", Types.PICKLED_BYTE_ARRAY())),
            decode=from_stored, encode=to_stored, write_back=write_back_of(runtime_context))
        self.ingest_events.open(runtime_context)
        self.ingest_ctrs.open(runtime_context)
        group = runtime_context.get_metrics_group().add_group("contacts")
        self.counters = {name: group.counter(name) for name in (
            "ctr_duplicates", "ctr_unchanged", "facts", "event_duplicates",
            "late_contact_events", "late_ctrs", "after_clearing_contact_events",
            "after_clearing_ctrs")}

    def _closed(self, ctx, lateness_ms: int):
        """Whether the window of a timestamp is closed for good at the current watermark (read
        once, and only if a decision needs it: a duplicate never does)."""
        w, wm = self.s.window_ms, []

        def closed(ts_ms: int) -> bool:
            if not wm:
                wm.append(ctx.timer_service().current_watermark())
            return is_late(ts_ms, wm[0], w, lateness_ms)
        return closed

    def _refused(self, stream: str, outcome: str, raw, key: str):
        """The dead-letter row of a refused record (``raw`` as received)."""
        self.counters[f"{outcome}_{stream}"].inc()
        if outcome == LATE:
            d = late_dead_letter(stream, raw, key)
        else:
            d = after_clearing_dead_letter(stream, raw, key, AFTER_CLEARING_WHAT[stream])
        ingest = self.ingest_events if stream == STREAM_CONTACT_EVENTS else self.ingest_ctrs
        return OUTPUT_TAG, ingest.dead(d)  # counted per (stream, kind) with the parse errors

    def _load(self, key: str) -> ContactState:
        """The contact's state (the cached object: decisions that refuse a record leave it as
        it was, the others are followed by ``_finish``)."""
        st = self.state.get(key)
        return ContactState() if st is None else st

    def _finish(self, key: str, st: ContactState, timer_before: int, outputs, ctx):
        self.state.put(key, st)
        timer = cleanup_timer_ms(st, self.s.contact_retention_ms)
        if timer != timer_before:
            ctx.timer_service().register_event_time_timer(timer)
        for out in outputs:
            if type(out) is AgentPut:
                yield AGENT_PUT_TAG, Row(out.agent_arn, out)
            else:
                yield Row(queue_key(out), out)

    def _timer_before(self, st: ContactState) -> int:
        """The cleanup timer already registered for this contact (none for a new one)."""
        return -1 if st.last_event_ms == 0 else cleanup_timer_ms(st, self.s.contact_retention_ms)

    def process_element1(self, raw, ctx: KeyedCoProcessFunction.Context):
        ev, dead = self.ingest_events.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        key = ctx.get_current_key()
        st = self._load(key)
        outcome = contact_event_outcome(st, ev, self._closed(ctx, self.s.allowed_lateness_ms))
        if outcome == DUPLICATE:  # a repeat changes nothing, however late it comes
            self.counters["event_duplicates"].inc()
            return
        if outcome != APPLIED:
            yield self._refused(STREAM_CONTACT_EVENTS, outcome, raw, ev.contact_id)
            return
        timer_before = self._timer_before(st)
        yield from self._finish(key, st, timer_before, on_contact_event(st, ev), ctx)

    def process_element2(self, raw, ctx: KeyedCoProcessFunction.Context):
        rec, dead = self.ingest_ctrs.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        key = ctx.get_current_key()
        st = self._load(key)
        timer_before = self._timer_before(st)
        outcome, outputs = on_ctr(st, rec, self.s.window_ms,
                                  self._closed(ctx, self.s.ctr_allowed_lateness_ms))
        if outcome == DUPLICATE:
            self.counters["ctr_duplicates"].inc()
            return
        if outcome in REFUSED:
            yield self._refused(STREAM_CTRS, outcome, raw, rec.contact_id)
            return
        self.counters["facts" if outcome == FACT else "ctr_unchanged"].inc()
        yield from self._finish(key, st, timer_before, outputs, ctx)

    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        key = ctx.get_current_key()
        st = self.state.get(key)
        if st is None:
            return
        kept = on_cleanup(st, timestamp, self.s.contact_retention_ms, self.s.dedupe_retention_ms)
        if kept is None:
            self.state.clear(key)
            return
        if kept is not st:  # just cleared: only the fingerprint stays
            self.state.put(key, kept)
        if kept.cleared:  # until forget_at (also when events came after the clearing)
            _, forget_at = cleanup_times(kept, self.s.contact_retention_ms,
                                         self.s.dedupe_retention_ms)
            ctx.timer_service().register_event_time_timer(forget_at)
        # else: an earlier cleanup timer (the contact had events since); the later one stands
        yield from ()
