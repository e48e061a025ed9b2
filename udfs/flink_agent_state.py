"""The operator keyed by agent ARN: agent metric windows and the contact-fact join.

Input 1: agent events (raw JSON, parsed here); input 2: contact-fact puts from the contact
operator (keyed by the fact's agent; "" for facts without an agent, which are emitted as they
are). Decisions live in ``udfs.agent_state``; this wrapper keeps the state, the timers (window
ends, join times) and checks lateness.

Why the state is split and cached (profiled: reading and writing one pickled ``AgentState`` per
event and timer was over half of all Python time, and facts waiting for their join made it grow
with how far the contact streams ran ahead of the agent stream):

- the ``AgentState`` parts live in states that change at different rates and only the parts that
  changed are written: the timeline's points in a ``ListState`` that each event appends one point
  to (rewritten only when at least ``PRUNE_BATCH`` old points can go), the configuration history
  and first-missed times (rarely change) in a ``ValueState``, and each window's handled CTRs and
  emission record in a ``MapState`` entry by window start, so a put or an emission writes one
  window (in a replay the contact streams run ahead and an agent collects hours of windows);
- facts waiting for the agent's watermark live in a ``MapState`` by join time, read only by the
  timer that releases them;
- the deserialized ``AgentState`` of each agent is kept in memory (``self.cache``) so reads cost
  nothing. Safe because this operator instance is the only writer of its keys' state and a
  restore creates a new instance with an empty cache; every mutation is written through.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream.functions import KeyedCoProcessFunction, RuntimeContext
from pyflink.datastream.state import (
    ListStateDescriptor,
    MapStateDescriptor,
    ValueStateDescriptor,
)

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
    restore_points,
    retract_ctr,
)
from udfs.flink_ingest import Ingest
from udfs.flink_outputs import OUTPUT_TAG, dead_letter_row, output_row
from udfs.late import late_dead_letter
from udfs.output_records import agent_record, contact_fact_record
from udfs.records import STREAM_AGENT_EVENTS
from udfs.settings import AGENT, CONTACT, DEADLETTER, Settings
from udfs.windows import fire_time, is_fired, is_late, window_start

PICKLED = Types.PICKLED_BYTE_ARRAY()
PRUNE_BATCH = 32  # old points dropped (and the stored timeline rewritten) this many at a time
HISTORY_PRUNE_MS = 3_600_000  # configuration history / first-missed times: pruned hourly


class AgentStateFunction(KeyedCoProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.points = self.history = self.windows = self.pending = None
        self.cache: dict = {}
        self.counters: dict = {}
        self.ingest = Ingest(STREAM_AGENT_EVENTS, settings)

    def open(self, runtime_context: RuntimeContext):
        self.points = runtime_context.get_list_state(ListStateDescriptor("agent-points", PICKLED))
        self.history = runtime_context.get_state(ValueStateDescriptor("agent-history", PICKLED))
        self.windows = runtime_context.get_map_state(
            MapStateDescriptor("agent-windows", Types.LONG(), PICKLED))
        self.pending = runtime_context.get_map_state(
            MapStateDescriptor("agent-pending", Types.LONG(), PICKLED))
        self.cache = {}
        self.ingest.open(runtime_context)
        group = runtime_context.get_metrics_group().add_group("agents")
        self.counters = {name: group.counter(name) for name in (
            "event_duplicates", "late_agent_events", "facts_joined", "late_puts")}

    # -- state ------------------------------------------------------------------------------
    def _load(self, agent_arn: str) -> AgentState:
        st = self.cache.get(agent_arn)
        if st is None:
            st = AgentState()
            restore_points(st, self.points.get() or ())
            history = self.history.value()
            if history is not None:
                st.configs, st.missed_first = history
            for ws, (ctrs, emitted) in self.windows.items():
                if ctrs is not None:
                    st.ctrs[ws] = ctrs
                if emitted is not None:
                    st.emitted[ws] = emitted
            self.cache[agent_arn] = st
        return st

    def _store(self, st: AgentState, points: bool = False, history: bool = False,
               windows=()) -> None:
        """Write the parts that changed; ``windows``: starts of the windows that changed."""
        if points:
            self.points.update(st.points)
        if history:
            self.history.update((st.configs, st.missed_first))
        for ws in windows:
            ctrs, emitted = st.ctrs.get(ws), st.emitted.get(ws)
            if ctrs is None and emitted is None:
                self.windows.remove(ws)
            else:
                self.windows.put(ws, (ctrs, emitted))

    def _drop(self, agent_arn: str) -> None:
        self.cache.pop(agent_arn, None)
        self.points.clear()
        self.history.clear()
        self.windows.clear()

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

    def _refresh_fired(self, agent_arn: str, st: AgentState, from_ms: int,
                       watermark: int) -> tuple[list, list]:
        """(rows, their window starts) re-emitting already emitted windows from ``from_ms`` on
        whose numbers changed."""
        w = self.s.window_ms
        ws = window_start(from_ms, w)
        rows, starts = [], []
        while is_fired(ws, watermark, w):
            row = self._window_row(agent_arn, st, ws)
            if row is not None:
                rows.append(row)
                starts.append(ws)
            ws += w
        return rows, starts

    def _register_window(self, ctx, ts_ms: int):
        """The fire timer of the window containing ``ts_ms``; each fired window chains the next
        one while the agent's state can still last into it (one timer call per event instead of
        one per window the event may touch)."""
        ws = window_start(ts_ms, self.s.window_ms)
        ctx.timer_service().register_event_time_timer(fire_time(ws, self.s.window_ms))

    # -- inputs -----------------------------------------------------------------------------
    def process_element1(self, raw, ctx: KeyedCoProcessFunction.Context):
        value, dead = self.ingest.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        wm = ctx.timer_service().current_watermark()
        if is_late(value.event_ms, wm, self.s.window_ms, self.s.allowed_lateness_ms):
            self.counters["late_agent_events"].inc()
            yield OUTPUT_TAG, dead_letter_row(
                self.s.outputs[DEADLETTER],
                late_dead_letter(STREAM_AGENT_EVENTS, value, value.event_id))
            return
        agent_arn = ctx.get_current_key()
        st = self._load(agent_arn)
        inserted = insert_event(st, value)
        if inserted is None:
            self.counters["event_duplicates"].inc()
            return
        self.points.add(inserted.point)
        self._register_window(ctx, value.event_ms)
        rows, starts = [], []
        if value.event_ms <= wm:  # late but within the allowed lateness: correct the past
            rows, starts = self._refresh_fired(agent_arn, st, value.event_ms, wm)
        self._store(st, history=inserted.configs or inserted.missed, windows=starts)
        yield from rows

    def process_element2(self, put, ctx: KeyedCoProcessFunction.Context):
        agent_arn = ctx.get_current_key()
        rec = put.record
        if not agent_arn:  # no agent: nothing to join or count, the fact goes out as it is
            if rec is not None:
                yield self._fact_row(AgentState(), put.revision, rec)
            return
        wm = ctx.timer_service().current_watermark()
        st = self._load(agent_arn)
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
            else:  # wait for the agent's events up to the join time (its timer releases it)
                waiting = self.pending.get(at) or []
                waiting.append((put.revision, rec))
                self.pending.put(at, waiting)
                ctx.timer_service().register_event_time_timer(at)
        if ws is None:
            return
        row = None
        if is_fired(ws, wm, w):
            row = self._window_row(agent_arn, st, ws)
        else:
            ctx.timer_service().register_event_time_timer(fire_time(ws, w))
        self._store(st, windows=(ws,))
        if row is not None:
            yield row

    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        agent_arn = ctx.get_current_key()
        st = self._load(agent_arn)
        waiting = self.pending.get(timestamp)
        if waiting is not None:  # facts whose join time this is, in arrival order
            self.pending.remove(timestamp)
            for revision, rec in waiting:
                yield self._fact_row(st, revision, rec)
        w = self.s.window_ms
        if (timestamp + 1) % w != 0:
            return
        ws = timestamp + 1 - w
        row = self._window_row(agent_arn, st, ws)
        if last_point_reaches(st, ws + w, self.s.agent_timeout_ms):
            ctx.timer_service().register_event_time_timer(fire_time(ws + w, w))
        oldest_open = timestamp + 1 - w - self.s.allowed_lateness_ms
        pruned = prune(st, keep_from_ms=oldest_open - self.s.agent_timeout_ms,
                       config_keep_from_ms=(timestamp - self.s.contact_retention_ms
                                            if (timestamp + 1) % HISTORY_PRUNE_MS < w else None),
                       window_keep_from=oldest_open, min_points=PRUNE_BATCH)
        if is_empty(st) and not st.configs and self.pending.is_empty():
            self._drop(agent_arn)
        else:
            changed = pruned.windows if row is None else (*pruned.windows, ws)
            self._store(st, pruned.points, pruned.history, changed)
        if row is not None:
            yield row
