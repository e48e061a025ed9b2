"""The operator keyed by agent ARN: agent metric windows and the contact-fact join.

Input 1: normalized agent events; input 2: contact-fact puts from the contact operator (keyed by
the fact's agent; "" for facts without an agent, which are emitted as they are). Decisions live in
``udfs.agent_state``; this wrapper keeps the state, the timers (window ends, join times) and
checks lateness.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream.functions import KeyedCoProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from udfs.agent_state import (
    AgentState,
    enrichment,
    insert_event,
    is_empty,
    join_time,
    last_point_reaches,
    next_emission,
    prune,
    put_ctr,
    retract_ctr,
)
from udfs.flink_outputs import OUTPUT_TAG, dead_letter_row, output_row
from udfs.late import late_dead_letter
from udfs.output_records import agent_record, contact_fact_record
from udfs.records import STREAM_AGENT_EVENTS
from udfs.settings import AGENT, CONTACT, DEADLETTER, Settings
from udfs.windows import fire_time, is_fired, is_late, window_start


class AgentStateFunction(KeyedCoProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.state = None
        self.counters: dict = {}

    def open(self, runtime_context: RuntimeContext):
        self.state = runtime_context.get_state(
            ValueStateDescriptor("agent", Types.PICKLED_BYTE_ARRAY()))
        group = runtime_context.get_metrics_group().add_group("agents")
        self.counters = {name: group.counter(name) for name in (
            "event_duplicates", "late_agent_events", "facts_joined", "late_puts")}

    # -- emission helpers -------------------------------------------------------------------
    def _window_row(self, agent_arn: str, st: AgentState, ws: int):
        emission = next_emission(st, ws, self.s.window_ms, self.s.agent_timeout_ms)
        if emission is None:
            return None
        revision, times, non_response, handled, (username, profile, hierarchy) = emission
        record = agent_record(agent_arn, ws, self.s.window_ms, revision, username, profile,
                              hierarchy, times, non_response, handled)
        return output_row(self.s.outputs[AGENT], record)

    def _fact_row(self, st: AgentState, revision: int, rec):
        username, profile, hierarchy = enrichment(st, rec)
        self.counters["facts_joined"].inc()
        return output_row(self.s.outputs[CONTACT],
                          contact_fact_record(rec, revision, username, profile, hierarchy))

    def _refresh_fired(self, agent_arn: str, st: AgentState, from_ms: int, watermark: int):
        """Re-emit already emitted windows from ``from_ms`` on whose numbers changed."""
        w = self.s.window_ms
        ws = window_start(from_ms, w)
        while is_fired(ws, watermark, w):
            row = self._window_row(agent_arn, st, ws)
            if row is not None:
                yield row
            ws += w

    def _register_window(self, ctx, ts_ms: int):
        """The fire timer of the window containing ``ts_ms``; each fired window chains the next
        one while the agent's state can still last into it (one timer call per event instead of
        one per window the event may touch)."""
        ws = window_start(ts_ms, self.s.window_ms)
        ctx.timer_service().register_event_time_timer(fire_time(ws, self.s.window_ms))

    # -- inputs -----------------------------------------------------------------------------
    def process_element1(self, value, ctx: KeyedCoProcessFunction.Context):
        wm = ctx.timer_service().current_watermark()
        if is_late(value.event_ms, wm, self.s.window_ms, self.s.allowed_lateness_ms):
            self.counters["late_agent_events"].inc()
            yield OUTPUT_TAG, dead_letter_row(
                self.s.outputs[DEADLETTER],
                late_dead_letter(STREAM_AGENT_EVENTS, value, value.event_id))
            return
        st = self.state.value() or AgentState()
        if not insert_event(st, value):
            self.counters["event_duplicates"].inc()
            return
        self._register_window(ctx, value.event_ms)
        if value.event_ms <= wm:  # late but within the allowed lateness: correct the past
            yield from self._refresh_fired(ctx.get_current_key(), st, value.event_ms, wm)
        self.state.update(st)

    def process_element2(self, put, ctx: KeyedCoProcessFunction.Context):
        agent_arn = ctx.get_current_key()
        rec = put.record
        if not agent_arn:  # no agent: nothing to join or count, the fact goes out as it is
            if rec is not None:
                yield self._fact_row(AgentState(), put.revision, rec)
            return
        wm = ctx.timer_service().current_watermark()
        st = self.state.value() or AgentState()
        w = self.s.window_ms
        if is_late(put.ts_ms, wm, w, self.s.allowed_lateness_ms):
            # The window is gone (upstream lateness checks make this unreachable): keep the fact
            # output but do not resurrect the window with partial numbers.
            self.counters["late_puts"].inc()
            if rec is not None:
                yield self._fact_row(st, put.revision, rec)
            return
        if rec is None:
            ws = retract_ctr(st, put.contact_id, put.ts_ms, w)
        else:
            ws = put_ctr(st, rec, w)
            at = join_time(rec)
            if at <= wm:
                yield self._fact_row(st, put.revision, rec)
            else:
                st.pending.append((at, put.revision, rec))
                ctx.timer_service().register_event_time_timer(at)
        if ws is not None:
            if is_fired(ws, wm, w):
                row = self._window_row(agent_arn, st, ws)
                if row is not None:
                    yield row
            else:
                ctx.timer_service().register_event_time_timer(fire_time(ws, w))
        self.state.update(st)

    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        st = self.state.value()
        if st is None:
            return
        agent_arn = ctx.get_current_key()
        if st.pending:
            due = [p for p in st.pending if p[0] <= timestamp]
            if due:
                st.pending = [p for p in st.pending if p[0] > timestamp]
                for _, revision, rec in sorted(due, key=lambda p: p[0]):
                    yield self._fact_row(st, revision, rec)
        w = self.s.window_ms
        if (timestamp + 1) % w == 0:
            ws = timestamp + 1 - w
            row = self._window_row(agent_arn, st, ws)
            if row is not None:
                yield row
            if last_point_reaches(st, ws + w, self.s.agent_timeout_ms):
                ctx.timer_service().register_event_time_timer(fire_time(ws + w, w))
            oldest_open = timestamp + 1 - w - self.s.allowed_lateness_ms
            prune(st, keep_from_ms=oldest_open - self.s.agent_timeout_ms,
                  config_keep_from_ms=timestamp - self.s.contact_retention_ms,
                  window_keep_from=oldest_open)
        if is_empty(st) and not st.configs:
            self.state.clear()
        else:
            self.state.update(st)
