"""Thin Flink functions of the live path: load state, call ``udfs.live``, route the messages.

    contact events ──┐ key ContactId
    CTRs ─ ends ─────┴─ LiveContactFunction ── QueueStay ──┐ key queue|channel or agent
    agent events ─ key AgentARN ─ LiveAgentFunction ─ AgentShare, AgentView ─┴─ LiveTickFunction
    both functions ── clock (latest event time read, broadcast) ──────────────────┘

Every input record is parsed here with the project's normalizers; a record they reject is
dropped without a trace here, because the main path already dead-letters it. Each function
also reports, through the clock side output, the latest event time its subtask has read
(whenever it reaches a new tick), so that at the end of a bounded input the tick operator stops
at the last event time read by the whole job (Flink's final watermark fires every timer).
"""

from __future__ import annotations

from pyflink.common import Row, Types
from pyflink.datastream import OutputTag
from pyflink.datastream.functions import (
    KeyedBroadcastProcessFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    ProcessFunction,
    RuntimeContext,
)
from pyflink.datastream.state import (
    ListStateDescriptor,
    MapStateDescriptor,
    ValueStateDescriptor,
)

from udfs.cached_state import CachedLists, CachedValue
from udfs.flink_batches import write_back_of
from udfs.flink_outputs import KEYED_TYPE, output_row
from udfs.live import agent_board, profile_board, queue_gauges
from udfs.live.agent_live import (
    AgentLive,
    next_deadline,
    on_agent_event,
    on_timeout,
    timeout_at,
)
from udfs.live.contact_live import (
    NOT_MINE,
    ContactLive,
    on_contact_event,
    on_ctr,
    on_retention,
    on_retention_timer,
    retention_timer,
    stale_enqueue,
)
from udfs.live.live_records import agent_live_record, queue_live_record
from udfs.live.messages import AGENT_KEY_PREFIX, AgentView, ctr_end, split_queue_key
from udfs.live.ticks import (
    CTR_LIVE_TS,
    TICK_SLOTS,
    first_tick,
    is_end_of_input,
    split_due,
    tick_allowed,
    tick_at_or_before,
    tick_slot,
)
from udfs.records import DeadLetter
from udfs.registered_timers import RegisteredTimers
from udfs.settings import AGENT_LIVE, QUEUE_LIVE, Settings

PICKLED = Types.PICKLED_BYTE_ARRAY()
CLOCK_TAG = OutputTag("live-clock", Types.LONG())
CLOCK_STATE = MapStateDescriptor("live-clock", Types.STRING(), Types.LONG())
CLOCK_KEY = "last_read_ms"
#: the agent operator's messages to the routing profiles (``ProfileMember``)
PROFILE_TAG = OutputTag("live-profile", KEYED_TYPE)


class _Clock:
    """The latest event time this subtask has read; reported when it reaches a new tick."""

    def __init__(self, interval_ms: int):
        self.interval = interval_ms
        self.latest = None
        self.reported = None

    def saw(self, event_ms: int):
        if self.latest is not None and event_ms <= self.latest:
            return None
        self.latest = event_ms
        tick = tick_at_or_before(event_ms, self.interval)
        if self.reported is None or tick > self.reported:
            self.reported = tick
            return CLOCK_TAG, event_ms
        return None


class LiveCtrEnds(ProcessFunction):
    """CTR ``Row(ContactId, raw)`` -> ``(Row(ContactId, CtrEnd), CTR_LIVE_TS)``."""

    def __init__(self):
        self.normalize = None

    def open(self, runtime_context: RuntimeContext):
        from udfs.parse_ctr import normalize_ctr
        self.normalize = normalize_ctr

    def process_element(self, value, ctx: ProcessFunction.Context):
        rec = self.normalize(value[1])
        if type(rec) is not DeadLetter:
            yield Row(rec.contact_id, ctr_end(rec)), CTR_LIVE_TS


class LiveContactFunction(KeyedCoProcessFunction):
    """Key ContactId. Input 1: contact event lines; input 2: ``CtrEnd`` (keyed functions get
    the record field of each ``Row(key, record)``)."""

    def __init__(self, settings: Settings):
        self.retention_ms = settings.contact_retention_ms
        self.interval = settings.live_interval_ms
        self.state = None
        self.normalize = None
        self.clock = None

    def open(self, runtime_context: RuntimeContext):
        from udfs.parse_contact_event import normalize_contact_event
        self.normalize = normalize_contact_event
        self.state = CachedValue(runtime_context.get_state(
            ValueStateDescriptor("live-contact", PICKLED)),
            write_back=write_back_of(runtime_context))
        self.clock = _Clock(self.interval)

    def _apply(self, ctx, key: str, event_ms: int, apply):
        """``key``: the record's ContactId, which is its Flink key (read by the same rules in
        Java at the source, ``tests/test_source_key_time.py``): no context call."""
        st = self.state.get(key) or ContactLive()
        messages = apply(st)
        timer = retention_timer(st, self.retention_ms)
        if timer is not None:
            ctx.timer_service().register_event_time_timer(timer)
        self.state.put(key, st)
        clock = self.clock.saw(event_ms)
        if clock is not None:
            yield clock
        for key, msg in messages:
            yield Row(key, msg)

    def process_element1(self, value, ctx: KeyedCoProcessFunction.Context):
        ev = self.normalize(value)
        if type(ev) is DeadLetter:
            return
        if ev.enqueue_ms is not None and stale_enqueue(  # (the watermark is a call into Java)
                ev, ctx.timer_service().current_watermark(), self.retention_ms):
            return
        yield from self._apply(ctx, ev.contact_id, ev.event_ms,
                               lambda st: on_contact_event(st, ev))

    def process_element2(self, value, ctx: KeyedCoProcessFunction.Context):
        rec = value
        yield from self._apply(ctx, rec.contact_id, rec.event_ms, lambda st: on_ctr(st, rec))

    def on_timer(self, timestamp: int, ctx: KeyedCoProcessFunction.OnTimerContext):
        contact_id = ctx.get_current_key()
        st = self.state.get(contact_id)
        if st is None:
            return
        later = on_retention_timer(st, timestamp)
        if later == NOT_MINE:
            return
        if later is not None:
            ctx.timer_service().register_event_time_timer(later)
            self.state.put(contact_id, st)
            return
        for key, msg in on_retention(st, contact_id, timestamp):
            yield Row(key, msg)
        self.state.clear(contact_id)


def _routed(messages):
    """An agent operator's messages: views to the tick operator, the rest to the profiles."""
    for key, msg in messages:
        if type(msg) is AgentView:
            yield Row(key, msg)
        else:
            yield PROFILE_TAG, Row(key, msg)


class _Pending:
    """Messages waiting for their tick, per key: append-only ListStates, one per tick slot
    (``tick_slot``), so a message costs one ``add`` and never a read, and a tick reads only its
    own slot (messages read far ahead of the watermark in a replay are not read again at every
    tick, and no bucket is re-pickled on every message); each timer is registered once. With
    write-back the lists are ``CachedLists`` in memory between checkpoints."""

    def __init__(self, runtime_context: RuntimeContext, name: str, interval: int):
        self.interval = interval
        self.lists = CachedLists([runtime_context.get_list_state(
            ListStateDescriptor(f"{name}-{i}", PICKLED)) for i in range(TICK_SLOTS)],
            write_back_of(runtime_context))
        self.timers = RegisteredTimers()

    def add(self, ctx, key, effective_ms: int, msg) -> None:
        timers = ctx.timer_service()
        tick = first_tick(effective_ms, timers.current_watermark(), self.interval)
        if tick is None:  # after the final watermark: no tick can show it
            return
        self.lists.add(key, tick_slot(tick, self.interval), (tick, msg))
        self.wake(ctx, key, tick)

    def wake(self, ctx, key, tick: int) -> None:
        if self.timers.first(key, tick):
            ctx.timer_service().register_event_time_timer(tick)

    def fired(self, key, tick: int) -> None:
        self.timers.fired(key, tick)

    def take(self, key, tick: int) -> tuple[list, bool]:
        """(the messages due at ``tick``, whether others still wait in its slot)."""
        slot = tick_slot(tick, self.interval)
        due, later = split_due(self.lists.take(key, slot), tick)
        self.lists.keep(key, slot, later, taken=bool(due))
        return due, bool(later)


class LiveAgentFunction(KeyedProcessFunction):
    """Key AgentARN. Input: agent event lines.

    One timer per agent at a time (``AgentLive.timer_ms``): an event moves the agent's deadline
    later, and the timer, when it fires early, waits again for the current deadline instead of
    every event registering one of its own.
    """

    def __init__(self, settings: Settings):
        self.timeout_ms = settings.agent_timeout_ms
        self.interval = settings.live_interval_ms
        self.state = None
        self.normalize = None
        self.clock = None

    def open(self, runtime_context: RuntimeContext):
        from udfs.parse_agent_event import normalize_agent_event
        self.normalize = normalize_agent_event
        self.state = CachedValue(runtime_context.get_state(
            ValueStateDescriptor("live-agent", PICKLED)),
            write_back=write_back_of(runtime_context))
        self.clock = _Clock(self.interval)

    def _wait(self, ctx, st: AgentLive, at: int) -> None:
        st.timer_ms = at
        ctx.timer_service().register_event_time_timer(at)

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        ev = self.normalize(value)
        if type(ev) is DeadLetter:
            return
        clock = self.clock.saw(ev.event_ms)
        if clock is not None:
            yield clock
        key = ev.agent_arn  # the Flink key (read by the same rules in Java at the source)
        st = self.state.get(key) or AgentLive()
        messages = on_agent_event(st, ev, self.timeout_ms)
        if messages is None:
            return
        at = next_deadline(st, self.timeout_ms)
        if st.timer_ms is None or at < st.timer_ms:
            self._wait(ctx, st, at)
        self.state.put(key, st)
        yield from _routed(messages)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        key = ctx.get_current_key()
        st = self.state.get(key)
        if st is None or st.timer_ms != timestamp:
            return
        st.timer_ms = None
        messages = ()
        if timeout_at(st, self.timeout_ms) == timestamp:
            messages = on_timeout(st, key, timestamp)
        at = next_deadline(st, self.timeout_ms)
        if not st.online and timestamp >= at:
            self.state.clear(key)  # offline for a while: the next event starts afresh
            return
        self._wait(ctx, st, at)
        self.state.put(key, st)
        yield from _routed(messages)


class LiveTickFunction(KeyedBroadcastProcessFunction):
    """Key ``q|queue|channel`` (gauges) or ``a|agent`` (agent record); broadcast: the clock.

    Messages wait for their tick in ``_Pending``; the current board is in a ValueState.
    """

    def __init__(self, settings: Settings):
        self.s = settings
        self.interval = settings.live_interval_ms
        self.queue_topic = settings.outputs[QUEUE_LIVE]
        self.agent_topic = settings.outputs[AGENT_LIVE]
        self.board = self.pending = None

    def open(self, runtime_context: RuntimeContext):
        self.board = CachedValue(runtime_context.get_state(
            ValueStateDescriptor("live-board", PICKLED)),
            write_back=write_back_of(runtime_context))
        self.pending = _Pending(runtime_context, "live-pending", self.interval)

    def process_broadcast_element(self, value, ctx: KeyedBroadcastProcessFunction.Context):
        clock = ctx.get_broadcast_state(CLOCK_STATE)
        latest = clock.get(CLOCK_KEY)
        if latest is None or value > latest:
            clock.put(CLOCK_KEY, value)

    def process_element(self, value, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        effective = (agent_board.effective_ms(value) if type(value) is AgentView
                     else queue_gauges.effective_ms(value))
        self.pending.add(ctx, ctx.get_current_key(), effective, value)

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext):
        key = ctx.get_current_key()
        self.pending.fired(key, timestamp)
        board = self.board.get(key)
        if board is None:
            if key.startswith(AGENT_KEY_PREFIX):
                board = agent_board.AgentBoard()
            else:
                arn, _ = split_queue_key(key)
                board = queue_gauges.QueueBoard(agent_queue=queue_gauges.is_agent_queue(arn))
        if board.last_tick is not None and timestamp <= board.last_tick:
            return
        watermark = ctx.timer_service().current_watermark()
        if is_end_of_input(watermark) and not tick_allowed(
                timestamp, watermark, ctx.get_broadcast_state(CLOCK_STATE).get(CLOCK_KEY)):
            return  # end of a bounded input, past the last event time read
        due, later = self.pending.take(key, timestamp)
        if type(board) is agent_board.AgentBoard:
            view = agent_board.on_tick(board, timestamp, due)
            row = None if view is None else output_row(
                self.agent_topic,
                agent_live_record(key[len(AGENT_KEY_PREFIX):], timestamp, view), self.s)
            done = agent_board.is_done(board)
        else:
            g = queue_gauges.on_tick(board, timestamp, due)
            if queue_gauges.wants_next_tick(board):
                self.pending.wake(ctx, key, timestamp + self.interval)
            arn, channel = split_queue_key(key)
            row = None if g is None else output_row(
                self.queue_topic,
                queue_live_record(arn, channel, board.queue_name, timestamp, g), self.s)
            done = queue_gauges.is_empty(board)
        if done and not later:
            self.board.clear(key)
        else:
            self.board.put(key, board)
        if row is not None:
            yield row


class LiveProfileFunction(KeyedProcessFunction):
    """Key ``p|routing profile``: its agents' ``ProfileMember`` messages -> at each tick where
    they changed something, the summed ``AgentShare`` of each (queue, channel) whose sum
    changed (``udfs.live.profile_board``), keyed by queue for the tick operator."""

    def __init__(self, settings: Settings):
        self.interval = settings.live_interval_ms
        self.board = self.pending = None

    def open(self, runtime_context: RuntimeContext):
        self.board = CachedValue(runtime_context.get_state(
            ValueStateDescriptor("live-profile", PICKLED)),
            write_back=write_back_of(runtime_context))
        self.pending = _Pending(runtime_context, "live-profile-pending", self.interval)

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        self.pending.add(ctx, ctx.get_current_key(), profile_board.effective_ms(value), value)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        key = ctx.get_current_key()
        self.pending.fired(key, timestamp)
        board = self.board.get(key) or profile_board.ProfileBoard()
        if board.last_tick is not None and timestamp <= board.last_tick:
            return
        due, later = self.pending.take(key, timestamp)
        messages = profile_board.on_tick(board, key, timestamp, due)
        if profile_board.is_empty(board) and not later:
            self.board.clear(key)
        else:
            self.board.put(key, board)
        for queue, msg in messages:
            yield Row(queue, msg)
