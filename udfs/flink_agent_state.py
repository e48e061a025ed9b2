"""The operator keyed by agent ARN: agent metric windows and the contact-fact join.

Input 1: agent events (raw JSON, parsed here); input 2: contact-fact puts from the contact
operator (keyed by the fact's agent, or by the agent of an older revision of the same contact;
"" when neither exists: such a fact is emitted as it is). Decisions live in ``udfs.agent_state``
(timeline, windows, handled CTRs) and ``udfs.agent_policy`` (timers, pruning, clean-up, the join
wait, late puts); this wrapper loads and stores the state, registers the timers those return and
routes the outputs.

Why the state is split and cached (profiled: reading and writing one pickled ``AgentState`` per
event and timer was over half of all Python time, and facts waiting for their join made it grow
with how far the contact streams ran ahead of the agent stream):

- the ``AgentState`` parts live in states that change at different rates and only the parts that
  changed are written: the timeline's points in a ``ListState`` that each event appends one point
  to (rewritten only when old points are pruned), the configuration history, first-missed times
  and rejected revisions (rarely change) in a ``ValueState``, and each window's handled CTRs,
  emission record and (once agent events can no longer change them) time fields in a
  ``MapState`` entry by window start, so a put or an emission writes one window;
- facts waiting for the agent's watermark live in a ``MapState`` by release time, read only by
  the timer that releases them (an in-memory index says which timers release facts);
- the deserialized ``AgentState`` of recently used agents is kept in a bounded LRU
  (``self.cache``), so reads cost nothing. Safe because this operator instance is the only writer
  of its keys' state, every mutation is written (through, or at the next flush marker), and a
  restore creates a new instance with an empty cache;
- with key-group batches (write-back, ``udfs.cached_state``) the timeline, history and window
  entries an agent changed are written once per checkpoint, at the flush marker, instead of at
  every event (``HeldParts``); the waiting facts are written through.
"""

from __future__ import annotations

import logging
from typing import Optional

from pyflink.common import Types
from pyflink.datastream.functions import KeyedCoProcessFunction, RuntimeContext
from pyflink.datastream.state import (
    ListStateDescriptor,
    MapStateDescriptor,
    ValueStateDescriptor,
)

from udfs.agent_policy import (
    APPLY,
    LATE,
    after_window_timer,
    event_is_late,
    fact_names,
    is_droppable,
    is_window_timer,
    plan_put,
    refresh_windows,
    release_time,
    released,
    releases_at,
    restore_waiting,
    timer_window,
    wait,
    window_timer,
)
from udfs.agent_state import (
    AgentState,
    insert_event,
    next_emission,
    put_ctr,
    restore_history,
    restore_points,
    retract_ctr,
    stored_history,
)
from udfs.cached_state import HeldParts
from udfs.flink_batches import write_back_of
from udfs.flink_ingest import Ingest
from udfs.flink_outputs import (
    MISSED_PUT_TAG,
    OUTPUT_TAG,
    REPORT_TAG,
    dead_letter_row,
    keyed_row,
    output_row,
)
from udfs.late import late_raw_dead_letter, record_json
from udfs.lru import LruCache
from udfs.missed_contacts import missed_key, missed_puts
from udfs.output_records import agent_record, contact_fact_record
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CTRS
from udfs.registered_timers import RegisteredTimers
from udfs.reports.messages import report_key
from udfs.reports.records import agent_message
from udfs.settings import AGENT, CONTACT, DEADLETTER, Settings
from udfs.windows import fire_time, is_fired

PICKLED = Types.PICKLED_BYTE_ARRAY()
AGENT_CACHE_SIZE = 4096  # deserialized agents kept in memory per operator instance
#: the parts of an agent's state besides its windows (``_store``)
POINTS, APPENDED, HISTORY = "points", "appended", "history"
log = logging.getLogger(__name__)


class AgentStateFunction(KeyedCoProcessFunction):
    def __init__(self, settings: Settings, cache_size: int = AGENT_CACHE_SIZE):
        self.s = settings
        self.cache_size = cache_size
        self.points = self.history = self.windows = self.pending = None
        self.cache: LruCache = LruCache(cache_size)
        self.held: Optional[HeldParts] = None
        self.appended: dict = {}  # agent -> points added since the last write
        self.timers = RegisteredTimers()
        self.counters: dict = {}
        self.ingest = Ingest(STREAM_AGENT_EVENTS, settings)

    def open(self, runtime_context: RuntimeContext):
        self.points = runtime_context.get_list_state(ListStateDescriptor("agent-points", PICKLED))
        self.history = runtime_context.get_state(ValueStateDescriptor("agent-history", PICKLED))
        self.windows = runtime_context.get_map_state(
            MapStateDescriptor("agent-windows", Types.LONG(), PICKLED))
        self.pending = runtime_context.get_map_state(
            MapStateDescriptor("agent-pending", Types.LONG(), PICKLED))
        self.cache = LruCache(self.cache_size)
        write_back = write_back_of(runtime_context)
        self.held = HeldParts(self._write, write_back)
        self.appended = {}
        self.timers = RegisteredTimers()
        self.ingest.open(runtime_context)
        group = runtime_context.get_metrics_group().add_group("agents")
        self.counters = {name: group.counter(name) for name in (
            "event_duplicates", "late_agent_events", "facts_joined", "late_puts",
            "late_retractions", "rejected_puts", "agents_dropped")}

    # -- state ------------------------------------------------------------------------------
    def _load(self, agent_arn: str) -> AgentState:
        st = self.cache.get(agent_arn)
        if st is None:
            st = self.held.held(agent_arn)  # evicted from the cache with changes unwritten
            if st is not None:
                self.cache.put(agent_arn, st)
        if st is None:
            st = AgentState()
            restore_points(st, self.points.get() or ())
            history = self.history.value()
            if history is not None:
                restore_history(st, history)
            for ws, stored in self.windows.items():
                ctrs, emitted, frozen = stored if len(stored) == 3 else (*stored, None)
                if ctrs is not None:
                    st.ctrs[ws] = ctrs
                if emitted is not None:
                    st.emitted[ws] = emitted
                if frozen is not None:
                    st.frozen[ws] = frozen
            restore_waiting(st, self.pending.items())
            self.cache.put(agent_arn, st)
        return st

    def _store(self, agent_arn: str, st: AgentState, points: bool = False,
               history: bool = False, windows=()) -> None:
        """Note the parts that changed (written now, or at the next flush marker); ``windows``:
        starts of the windows that changed."""
        parts = [*windows]
        if points:
            parts.append(POINTS)
        if history:
            parts.append(HISTORY)
        if parts:
            self.held.mark(agent_arn, st, parts)

    def _write(self, agent_arn: str, st: AgentState, parts) -> None:
        """Write the parts of ``st`` named in ``parts`` (``POINTS``: the whole timeline, after a
        prune; ``APPENDED``: the points added since the last write; ``HISTORY``; window starts),
        for the current key."""
        added = self.appended.pop(agent_arn, None)
        if POINTS in parts:
            self.points.update(st.points)  # (the points added since are in it)
        elif added:
            self.points.add_all(added)
        if HISTORY in parts:
            self.history.update(stored_history(st))
        for ws in (p for p in parts if type(p) is int):
            ctrs, emitted, frozen = st.ctrs.get(ws), st.emitted.get(ws), st.frozen.get(ws)
            if ctrs is None and emitted is None and frozen is None:
                self.windows.remove(ws)
            elif frozen is None:
                self.windows.put(ws, (ctrs, emitted))
            else:
                self.windows.put(ws, (ctrs, emitted, frozen))

    def _drop(self, agent_arn: str) -> None:
        """The agent is quiet past its retention with nothing left to emit (SPEC §3)."""
        self.cache.pop(agent_arn)
        self.held.drop(agent_arn)
        self.appended.pop(agent_arn, None)
        self.points.clear()
        self.history.clear()
        self.windows.clear()
        self.pending.clear()
        self.counters["agents_dropped"].inc()

    # -- output rows ------------------------------------------------------------------------
    def _window_emission(self, agent_arn: str, st: AgentState, ws: int) -> list:
        """The window's record (and its report-interval message), if it must be emitted."""
        emission = next_emission(st, ws, self.s.window_ms, self.s.agent_timeout_ms)
        if emission is None:
            return []
        revision, times, non_response, handled, names = emission
        username, profile, hierarchy = names
        record = agent_record(agent_arn, ws, self.s.window_ms, revision, username, profile,
                              hierarchy, times, non_response, handled)
        rows = [output_row(self.s.outputs[AGENT], record, self.s)]
        if self.s.report_windows:
            msg = agent_message(agent_arn, ws, names, times, non_response, handled)
            rows.append((REPORT_TAG, keyed_row(report_key(msg), msg)))
        return rows

    def _window_rows(self, agent_arn: str, st: AgentState, starts) -> tuple[list, list]:
        """(rows, their window starts) of the windows in ``starts`` whose numbers changed."""
        rows, changed = [], []
        for ws in starts:
            emitted = self._window_emission(agent_arn, st, ws)
            if emitted:
                rows.extend(emitted)
                changed.append(ws)
        return rows, changed

    def _fact_row(self, st: Optional[AgentState], revision: int, rec):
        username, profile, hierarchy = fact_names(st, rec)
        self.counters["facts_joined"].inc()
        return output_row(self.s.outputs[CONTACT],
                          contact_fact_record(rec, revision, username, profile, hierarchy), self.s)

    def _late_row(self, stream: str, raw: str, key: str):
        return OUTPUT_TAG, dead_letter_row(self.s.outputs[DEADLETTER],
                                           late_raw_dead_letter(stream, raw, key),
                                           self.s.max_record_bytes)

    # -- agent events -----------------------------------------------------------------------
    def process_element1(self, raw, ctx: KeyedCoProcessFunction.Context):
        ev, dead = self.ingest.parse(raw)
        if dead is not None:
            yield OUTPUT_TAG, dead
            return
        yield from self._agent_event(ev, ctx, raw)

    def _agent_event(self, ev, ctx, raw: Optional[str] = None):
        """One parsed agent event; ``raw``: the input as received, for its late dead letter (the
        normalized record's JSON stands in when there is none, as in unit tests)."""
        wm = ctx.timer_service().current_watermark()
        if event_is_late(ev.event_ms, wm, self.s):
            self.counters["late_agent_events"].inc()
            yield self._late_row(STREAM_AGENT_EVENTS, raw if raw is not None else record_json(ev),
                                 ev.event_id)
            return
        agent_arn = ev.agent_arn  # the Flink key: read by the same rules in Java at the source
        st = self._load(agent_arn)
        inserted = insert_event(st, ev)
        if inserted is None:
            self.counters["event_duplicates"].inc()
            return
        # appended now, or at the flush: all of the agent's new points in one call
        self.appended.setdefault(agent_arn, []).append(inserted.point)
        self.held.mark(agent_arn, st, (APPENDED,))
        for put in missed_puts(agent_arn, ev.event_ms, ev.contacts, inserted.moved):
            yield MISSED_PUT_TAG, keyed_row(missed_key(put), put)
        timer = window_timer(ev.event_ms, self.s.window_ms)
        if self.timers.first(agent_arn, timer):
            ctx.timer_service().register_event_time_timer(timer)
        rows, changed = self._window_rows(agent_arn, st,
                                          refresh_windows(ev.event_ms, wm, self.s.window_ms))
        self._store(agent_arn, st, history=inserted.configs or inserted.missed, windows=changed)
        yield from rows

    # -- contact-fact puts ------------------------------------------------------------------
    def process_element2(self, put, ctx: KeyedCoProcessFunction.Context):
        agent_arn = ctx.get_current_key()
        rec = put.record
        if not agent_arn:  # no agent, now or before: nothing to join, count or wait for
            if rec is not None:
                yield self._fact_row(None, put.revision, rec)
            return
        wm = ctx.timer_service().current_watermark()
        st = self._load(agent_arn)
        outcome = plan_put(st, put, wm, self.s)
        if outcome != APPLY:
            yield from self._unapplied(agent_arn, st, put, outcome)
            return
        w = self.s.window_ms
        if rec is None:
            ws = retract_ctr(st, put.contact_id, put.ts_ms, w)
        else:
            ws = put_ctr(st, rec, w)
            yield from self._join_or_wait(st, put.revision, rec, wm, ctx)
        if ws is None:
            return
        rows = []
        if is_fired(ws, wm, w):
            rows = self._window_emission(agent_arn, st, ws)
        else:
            ctx.timer_service().register_event_time_timer(fire_time(ws, w))
        self._store(agent_arn, st, windows=(ws,))
        yield from rows

    def _unapplied(self, agent_arn: str, st: AgentState, put, outcome: str):
        """A put into a window closed for good, or the upsert of such a retraction's revision:
        counted, logged, and its fact dead-lettered; the old copy keeps counting."""
        if put.record is None:
            self.counters["late_retractions"].inc()
            log.warning("agent %s: retraction of contact %s (revision %d) into a closed window "
                        "not applied; its revision is rejected", put.agent_arn, put.contact_id,
                        put.revision)
            self._store(agent_arn, st, history=True)
            return
        self.counters["late_puts" if outcome == LATE else "rejected_puts"].inc()
        if outcome != LATE:
            self._store(agent_arn, st, history=True)
        yield self._late_row(STREAM_CTRS, record_json(put.record), put.contact_id)

    def _join_or_wait(self, st: AgentState, revision: int, rec, wm: int, ctx):
        release = release_time(st, rec, wm)
        if release is None:
            yield self._fact_row(st, revision, rec)
            return
        waiting = self.pending.get(release) or []
        waiting.append((revision, rec))
        self.pending.put(release, waiting)
        wait(st, rec.contact_id, release)
        ctx.timer_service().register_event_time_timer(release)

    # -- timers -----------------------------------------------------------------------------
    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        agent_arn = ctx.get_current_key()
        self.timers.fired(agent_arn, timestamp)
        st = self._load(agent_arn)
        rows = []
        if releases_at(st, timestamp):  # facts whose release time this is, in arrival order
            facts = self.pending.get(timestamp) or []
            self.pending.remove(timestamp)
            released(st, timestamp, facts)
            rows = [self._fact_row(st, revision, rec) for revision, rec in facts]
        if is_window_timer(timestamp, self.s.window_ms):
            rows += self._window_timer(agent_arn, st, timestamp, ctx)
        elif rows and is_droppable(st, timestamp, self.s):
            self._drop(agent_arn)
        yield from rows

    def _window_timer(self, agent_arn: str, st: AgentState, timestamp: int, ctx) -> list:
        ws = timer_window(timestamp, self.s.window_ms)
        rows = self._window_emission(agent_arn, st, ws)
        after = after_window_timer(st, timestamp, self.s)
        for timer in (after.chain, after.cleanup):
            if timer is not None:
                ctx.timer_service().register_event_time_timer(timer)
        if after.drop:
            self._drop(agent_arn)
        else:
            changed = (*after.windows, ws) if rows else after.windows
            self._store(agent_arn, st, after.pruned.points, after.pruned.history, changed)
        return rows
