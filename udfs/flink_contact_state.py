"""The operator keyed by ContactId: dedupe contact events and CTRs into contact facts.

Input 1: contact events, input 2: CTRs (both keyed by ContactId, raw JSON, parsed here). Decisions
live in ``udfs.contact_state``; this wrapper checks lateness against the watermark, keeps the
state and the cleanup timer, and routes what the decisions return: queue puts on the main output
(as Row(queue key, put)), agent puts on a side output (as Row(agent ARN, put)), late records to the
dead-letter rows.
"""

from __future__ import annotations

from pyflink.common import Row, Types
from pyflink.datastream.functions import KeyedCoProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from udfs.contact_state import (
    AgentPut,
    ContactState,
    cleanup_timer_ms,
    cleanup_times,
    from_stored,
    is_duplicate,
    is_repeated_signal,
    on_cleanup,
    on_contact_event,
    on_ctr,
    queue_key,
    to_stored,
)
from udfs.flink_ingest import Ingest
from udfs.flink_outputs import AGENT_PUT_TAG, OUTPUT_TAG, dead_letter_row
from udfs.late import late_dead_letter
from udfs.records import STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import DEADLETTER, Settings
from udfs.windows import is_late


class ContactStateFunction(KeyedCoProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.state = None
        self.counters: dict = {}
        self.ingest_events = Ingest(STREAM_CONTACT_EVENTS, settings)
        self.ingest_ctrs = Ingest(STREAM_CTRS, settings)

    def open(self, runtime_context: RuntimeContext):
        self.state = runtime_context.get_state(
            ValueStateDescriptor("contact", Types.PICKLED_BYTE_ARRAY()))
        self.ingest_events.open(runtime_context)
        self.ingest_ctrs.open(runtime_context)
        group = runtime_context.get_metrics_group().add_group("contacts")
        self.counters = {name: group.counter(name) for name in (
            "ctr_duplicates", "ctr_unchanged", "facts", "event_duplicates",
            "late_contact_events", "late_ctrs")}

    def _late(self, stream: str, rec, ctx):
        wm = ctx.timer_service().current_watermark()
        if is_late(rec.event_ms, wm, self.s.window_ms, self.s.allowed_lateness_ms):
            self.counters["late_" + stream].inc()
            return dead_letter_row(self.s.outputs[DEADLETTER],
                                   late_dead_letter(stream, rec, rec.contact_id),
                                   self.s.max_record_bytes)
        return None

    def _load(self) -> ContactState:
        stored = self.state.value()
        return ContactState() if stored is None else from_stored(stored)

    def _finish(self, st: ContactState, timer_before: int, outputs, ctx):
        self.state.update(to_stored(st))
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
        value, dead = self.ingest_events.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        st = self._load()
        if is_repeated_signal(st, value):  # a repeat changes nothing, however late it comes
            self.counters["event_duplicates"].inc()
            return
        late = self._late(STREAM_CONTACT_EVENTS, value, ctx)
        if late is not None:
            yield OUTPUT_TAG, late
            return
        timer_before = self._timer_before(st)
        yield from self._finish(st, timer_before, on_contact_event(st, value), ctx)

    def process_element2(self, raw, ctx: KeyedCoProcessFunction.Context):
        value, dead = self.ingest_ctrs.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        st = self._load()
        if is_duplicate(st, value):
            self.counters["ctr_duplicates"].inc()
            return
        late = self._late(STREAM_CTRS, value, ctx)
        if late is not None:
            yield OUTPUT_TAG, late
            return
        timer_before = self._timer_before(st)
        outcome, outputs = on_ctr(st, value, self.s.window_ms)
        self.counters["facts" if outcome == "fact" else "ctr_unchanged"].inc()
        yield from self._finish(st, timer_before, outputs, ctx)

    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        stored = self.state.value()
        if stored is None:
            return
        st = from_stored(stored)
        kept = on_cleanup(st, timestamp, self.s.contact_retention_ms, self.s.dedupe_retention_ms)
        if kept is None:
            self.state.clear()
            return
        if kept is not st:  # just cleared: only the fingerprint stays
            self.state.update(to_stored(kept))
        if kept.cleared:  # until forget_at (also when events came after the clearing)
            _, forget_at = cleanup_times(kept, self.s.contact_retention_ms,
                                         self.s.dedupe_retention_ms)
            ctx.timer_service().register_event_time_timer(forget_at)
        # else: an earlier cleanup timer (the contact had events since); the later one stands
        yield from ()
