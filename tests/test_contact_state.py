"""Per-contact dedupe, revisions, early signals and cleanup (udfs.contact_state)."""

from __future__ import annotations

import copy
import json
from typing import Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import (
    AGENT_A,
    AGENT_B,
    MIN,
    QUEUE_A,
    QUEUE_B,
    T0,
    S,
    W,
    contact_event,
    ctr,
)
from udfs.contact_metrics import ctr_contribution
from udfs.contact_state import (
    AFTER_CLEARING,
    APPLIED,
    CONNECTED_TO_AGENT,
    DUPLICATE,
    LATE,
    QUEUED,
    AgentPut,
    ContactState,
    QueuePut,
    Signal,
    SignalPut,
    cleanup_timer_ms,
    cleanup_times,
    contact_event_outcome,
    fact_ref,
    from_stored,
    is_duplicate,
    on_cleanup,
    on_contact_event,
    on_ctr,
    signal_of,
    to_stored,
)
from udfs.queue_windows import QueueWindow, apply_queue_put, apply_signal_put, is_empty
from udfs.records import ContactEvent, ContactRecord
from udfs.windows import window_start

HOUR = 60 * MIN
RETENTION = 24 * HOUR
DEDUPE_RETENTION = 7 * 24 * HOUR


def accepted(rec: ContactRecord) -> ContactState:
    """A state that has accepted ``rec`` as its first fact."""
    state = ContactState()
    outcome, _ = on_ctr(state, rec, W)
    assert outcome == "fact"
    return state


def put(rec: ContactRecord) -> QueuePut:
    return QueuePut(rec.queue_arn, rec.channel, rec.event_ms, rec.contact_id, rec)


def agent_put(rec: ContactRecord, revision: int) -> AgentPut:
    return AgentPut(rec.agent_arn or "", rec.contact_id, rec.event_ms, revision, rec)


# --- CTR dedupe ---------------------------------------------------------------------------------


def test_first_ctr_is_a_fact_with_a_queue_put_and_an_agent_put() -> None:
    rec = ctr(at=T0 + 90 * S, updated=T0 + 100 * S)
    state = ContactState()
    outcome, outputs = on_ctr(state, rec, W)
    assert outcome == "fact"
    assert outputs == [
        QueuePut(QUEUE_A, "VOICE", T0 + 90 * S, "c1", rec),
        AgentPut(AGENT_A, "c1", T0 + 90 * S, 1, rec),
    ]
    assert (state.fingerprint, state.fact, state.revision) == (T0 + 100 * S, fact_ref(rec), 1)
    assert state.last_event_ms == T0 + 90 * S


def test_is_duplicate_on_an_empty_state_is_false() -> None:
    assert is_duplicate(ContactState(), ctr()) is False


@pytest.mark.parametrize("delta", [0, -1, -HOUR], ids=["equal", "older-1ms", "older-1h"])
def test_equal_or_older_copy_is_a_duplicate_and_changes_nothing(delta: int) -> None:
    first = ctr(updated=T0 + 10 * MIN)
    state = accepted(first)
    before = copy.deepcopy(state)
    # even a copy that differs in content: only LastUpdateTimestamp decides
    again = ctr(updated=T0 + 10 * MIN + delta, after_contact_work_duration=99.0)
    assert is_duplicate(state, again)
    assert on_ctr(state, again, W) == ("duplicate", [])
    assert state == before


def test_newer_copy_with_identical_facts_is_unchanged_and_emits_nothing() -> None:
    first = ctr(updated=T0 + 10 * MIN)
    state = accepted(first)
    newer = first._replace(last_update_ms=T0 + 20 * MIN)
    assert on_ctr(state, newer, W) == ("unchanged", [])
    assert state.revision == 1
    assert state.fingerprint == T0 + 20 * MIN
    assert state.fact == fact_ref(newer)
    # the copy between the two is now older than the accepted one: a duplicate
    assert on_ctr(state, first._replace(last_update_ms=T0 + 15 * MIN), W) == ("duplicate", [])


def test_newer_copy_changing_a_field_in_the_same_window_emits_only_puts() -> None:
    first = ctr(updated=T0 + 10 * MIN)
    state = accepted(first)
    newer = ctr(updated=T0 + 20 * MIN, after_contact_work_duration=25.0)
    outcome, outputs = on_ctr(state, newer, W)
    assert outcome == "fact"
    assert outputs == [put(newer), agent_put(newer, 2)]
    assert (state.revision, state.fact, state.fingerprint) == (2, fact_ref(newer), T0 + 20 * MIN)


def test_revision_moving_to_another_window_retracts_queue_and_agent_contribution() -> None:
    first = ctr(at=T0 + 50 * S, updated=T0 + 10 * MIN)
    state = accepted(first)
    newer = ctr(at=T0 + 70 * S, updated=T0 + 20 * MIN)  # window T0 -> window T0 + 60 s
    outcome, outputs = on_ctr(state, newer, W)
    assert outcome == "fact"
    assert outputs == [
        QueuePut(QUEUE_A, "VOICE", T0 + 50 * S, "c1", None),
        QueuePut(QUEUE_A, "VOICE", T0 + 70 * S, "c1", newer),
        AgentPut(AGENT_A, "c1", T0 + 50 * S, 2, None),
        AgentPut(AGENT_A, "c1", T0 + 70 * S, 2, newer),
    ]
    assert state.last_event_ms == T0 + 70 * S


def test_revision_moving_within_the_same_window_emits_only_puts() -> None:
    state = accepted(ctr(at=T0 + 10 * S, updated=T0 + 10 * MIN))
    newer = ctr(at=T0 + 59 * S, updated=T0 + 20 * MIN)
    assert on_ctr(state, newer, W) == ("fact", [put(newer), agent_put(newer, 2)])


@pytest.mark.parametrize(
    "change",
    [{"queue_arn": QUEUE_B, "queue_name": "Support"}, {"channel": "CHAT"}],
    ids=["queue", "channel"],
)
def test_revision_moving_to_another_queue_or_channel_retracts_the_old_queue_window(
        change: dict) -> None:
    first = ctr(updated=T0 + 10 * MIN)
    state = accepted(first)
    newer = ctr(updated=T0 + 20 * MIN, **change)
    outcome, outputs = on_ctr(state, newer, W)
    assert outcome == "fact"
    assert outputs == [
        QueuePut(QUEUE_A, "VOICE", T0 + 90 * S, "c1", None),
        put(newer),
        agent_put(newer, 2),  # same agent, same window: no agent retraction
    ]


def test_revision_moving_to_another_agent_retracts_the_old_agent() -> None:
    state = accepted(ctr(updated=T0 + 10 * MIN))
    newer = ctr(updated=T0 + 20 * MIN, agent_arn=AGENT_B)
    assert on_ctr(state, newer, W) == ("fact", [
        put(newer),
        AgentPut(AGENT_A, "c1", T0 + 90 * S, 2, None),
        AgentPut(AGENT_B, "c1", T0 + 90 * S, 2, newer),
    ])


def test_revision_losing_queue_and_agent_retracts_both() -> None:
    state = accepted(ctr(updated=T0 + 10 * MIN))
    newer = ctr(updated=T0 + 20 * MIN, queue=False, agent=False)
    assert on_ctr(state, newer, W) == ("fact", [
        QueuePut(QUEUE_A, "VOICE", T0 + 90 * S, "c1", None),
        AgentPut(AGENT_A, "c1", T0 + 90 * S, 2, None),
        # the fact follows the older revision to its agent, so it cannot overtake it (SPEC §4)
        AgentPut(AGENT_A, "c1", T0 + 90 * S, 2, newer),
    ])


def test_revision_gaining_an_agent_has_nothing_to_retract() -> None:
    state = accepted(ctr(updated=T0 + 10 * MIN, agent=False))
    newer = ctr(updated=T0 + 20 * MIN)
    assert on_ctr(state, newer, W) == ("fact", [put(newer), agent_put(newer, 2)])


def test_ctr_without_queue_and_agent_emits_only_an_agentless_agent_put() -> None:
    rec = ctr(queue=False, agent=False)
    assert on_ctr(ContactState(), rec, W) == ("fact", [AgentPut("", "c1", T0 + 90 * S, 1, rec)])


def test_ctr_without_queue_but_with_agent_emits_no_queue_put() -> None:
    rec = ctr(queue=False)
    assert on_ctr(ContactState(), rec, W) == ("fact", [
        AgentPut(AGENT_A, "c1", T0 + 90 * S, 1, rec)])


def test_ctr_with_empty_queue_arn_emits_no_queue_put() -> None:
    rec = ctr(queue_arn="")
    assert on_ctr(ContactState(), rec, W) == ("fact", [agent_put(rec, 1)])


# --- early signals --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [QUEUED, CONNECTED_TO_AGENT])
def test_first_signal_emits_and_a_repeat_or_later_one_does_nothing(kind: str) -> None:
    state = ContactState()
    ev = contact_event(kind, at=T0 + 30 * S)
    sig = Signal(kind, QUEUE_A, "VOICE", T0 + 30 * S)
    assert on_contact_event(state, ev) == [SignalPut(sig, "c1", True)]
    assert state.signals == {kind: sig}
    assert on_contact_event(state, ev) == []  # duplicate event
    assert on_contact_event(state, contact_event(kind, at=T0 + 40 * S)) == []  # later one
    assert on_contact_event(state, contact_event(kind, at=T0 + 30 * S, queue=QUEUE_B)) == []
    assert state.signals == {kind: sig}
    assert state.last_event_ms == T0 + 40 * S


@pytest.mark.parametrize("kind", [QUEUED, CONNECTED_TO_AGENT])
def test_earlier_signal_arriving_later_moves_the_signal(kind: str) -> None:
    state = ContactState()
    on_contact_event(state, contact_event(kind, at=T0 + 70 * S))
    earlier = contact_event(kind, at=T0 + 20 * S, queue=QUEUE_B, channel="CHAT")
    assert on_contact_event(state, earlier) == [
        SignalPut(Signal(kind, QUEUE_A, "VOICE", T0 + 70 * S), "c1", False),
        SignalPut(Signal(kind, QUEUE_B, "CHAT", T0 + 20 * S), "c1", True),
    ]
    assert state.last_event_ms == T0 + 70 * S


def test_queued_and_connected_signals_are_independent() -> None:
    state = ContactState()
    q = on_contact_event(state, contact_event(QUEUED, at=T0 + 10 * S))
    c = on_contact_event(state, contact_event(CONNECTED_TO_AGENT, at=T0 + 30 * S))
    assert q == [SignalPut(Signal(QUEUED, QUEUE_A, "VOICE", T0 + 10 * S), "c1", True)]
    assert c == [SignalPut(Signal(CONNECTED_TO_AGENT, QUEUE_A, "VOICE", T0 + 30 * S), "c1", True)]
    assert set(state.signals) == {QUEUED, CONNECTED_TO_AGENT}


@pytest.mark.parametrize("kind", [QUEUED, CONNECTED_TO_AGENT])
def test_bug_tied_signals_do_not_depend_on_arrival_order(kind: str) -> None:
    """BUG (fixed in udfs/contact_state.py): with two events of one kind at the same time but
    different queue or channel, the first to arrive won, so the contact's signal landed in a
    different queue window depending on arrival order. Ties now go to the smaller (queue, channel).
    """
    voice = contact_event(kind, at=T0 + 20 * S, queue=QUEUE_B, channel="VOICE")
    chat = contact_event(kind, at=T0 + 20 * S, queue=QUEUE_B, channel="CHAT")
    other_queue = contact_event(kind, at=T0 + 20 * S, queue=QUEUE_A, channel="VOICE")
    winner = Signal(kind, QUEUE_A, "VOICE", T0 + 20 * S)
    for order in ([voice, chat, other_queue], [other_queue, chat, voice], [chat, other_queue]):
        state = ContactState()
        for ev in order:
            on_contact_event(state, ev)
        assert state.signals == {kind: winner}
    state = ContactState()
    on_contact_event(state, chat)
    assert on_contact_event(state, other_queue) == [
        SignalPut(Signal(kind, QUEUE_B, "CHAT", T0 + 20 * S), "c1", False),
        SignalPut(winner, "c1", True),
    ]


@pytest.mark.parametrize(
    "ev",
    [
        contact_event(QUEUED, queue=None),
        contact_event(QUEUED, queue=""),
        contact_event(CONNECTED_TO_AGENT, queue=None),
        contact_event("INITIATED"),
        contact_event("DISCONNECTED", at=T0 + 5 * MIN),
        contact_event("COMPLETED", at=T0 + 5 * MIN),
    ],
    ids=["queued-no-queue", "queued-empty-queue", "connected-no-queue", "initiated",
         "disconnected", "completed"],
)
def test_events_without_a_signal_emit_nothing_but_extend_the_contact_life(
        ev: ContactEvent) -> None:
    state = ContactState()
    assert signal_of(ev) is None
    assert on_contact_event(state, ev) == []
    assert state.signals == {}
    assert state.last_event_ms == ev.event_ms


# --- cleanup --------------------------------------------------------------------------------


def test_cleanup_times_follow_the_last_event() -> None:
    state = accepted(ctr(at=T0 + 90 * S))
    on_contact_event(state, contact_event(QUEUED, at=T0 + 10 * S))  # older: does not move it
    assert cleanup_times(state, RETENTION, DEDUPE_RETENTION) == (
        T0 + 90 * S + RETENTION, T0 + 90 * S + DEDUPE_RETENTION)


def test_cleanup_before_retention_keeps_everything() -> None:
    state = accepted(ctr(at=T0 + 90 * S))
    assert on_cleanup(state, T0 + 90 * S + RETENTION - 1, RETENTION, DEDUPE_RETENTION) is state


def test_cleanup_after_retention_keeps_only_the_fingerprint() -> None:
    rec = ctr(at=T0 + 90 * S, updated=T0 + 10 * MIN)
    state = accepted(rec)
    on_contact_event(state, contact_event(QUEUED, at=T0 + 10 * S))
    kept = on_cleanup(state, T0 + 90 * S + RETENTION, RETENTION, DEDUPE_RETENTION)
    assert kept == ContactState(fingerprint=T0 + 10 * MIN, fact=None, revision=1, signals={},
                                last_event_ms=T0 + 90 * S, cleared=True)
    # a second timer before the fingerprint expires changes nothing
    assert on_cleanup(kept, T0 + 90 * S + RETENTION + HOUR, RETENTION, DEDUPE_RETENTION) is kept
    # until dedupe retention: then everything goes
    assert on_cleanup(kept, T0 + 90 * S + DEDUPE_RETENTION - 1, RETENTION,
                      DEDUPE_RETENTION) is kept
    assert on_cleanup(kept, T0 + 90 * S + DEDUPE_RETENTION, RETENTION, DEDUPE_RETENTION) is None


def test_cleanup_of_a_contact_with_only_events_drops_everything() -> None:
    state = ContactState()
    on_contact_event(state, contact_event(QUEUED, at=T0 + 10 * S))
    assert on_cleanup(state, T0 + 10 * S + RETENTION - 1, RETENTION, DEDUPE_RETENTION) is state
    assert on_cleanup(state, T0 + 10 * S + RETENTION, RETENTION, DEDUPE_RETENTION) is None


def test_copy_after_cleanup_is_deduped_and_never_counts_twice() -> None:
    rec = ctr(updated=T0 + 10 * MIN)
    kept = on_cleanup(accepted(rec), T0 + 90 * S + RETENTION, RETENTION, DEDUPE_RETENTION)
    assert kept is not None
    assert on_ctr(kept, rec, W) == ("duplicate", [])
    assert on_ctr(kept, rec._replace(last_update_ms=T0), W) == ("duplicate", [])
    # a newer copy after cleanup is refused (a dead letter), never counted a second time, and
    # the state stays as it was, so its re-delivery is refused the same way
    newer = ctr(updated=T0 + 30 * MIN, after_contact_work_duration=30.0)
    before = copy.deepcopy(kept)
    assert on_ctr(kept, newer, W) == ("after_clearing", [])
    assert kept == before
    assert on_ctr(kept, newer, W) == ("after_clearing", [])
    # even a newer copy with the very same facts: after clearing nothing proves it a duplicate
    assert on_ctr(kept, rec._replace(last_update_ms=T0 + 40 * MIN), W)[0] == "after_clearing"
    assert on_ctr(kept, newer, W, closed_before(T0 + HOUR)) == ("late", [])


def test_contact_events_after_cleanup_with_a_signal_are_refused() -> None:
    state = accepted(ctr())
    on_contact_event(state, contact_event(QUEUED, at=T0 + 10 * S))
    kept = on_cleanup(state, T0 + 90 * S + RETENTION, RETENTION, DEDUPE_RETENTION)
    assert kept is not None and kept.cleared
    for kind in (QUEUED, CONNECTED_TO_AGENT):  # the repeat of the counted one included
        assert contact_event_outcome(kept, contact_event(kind, at=T0 + 10 * S)) == AFTER_CLEARING
    # an event without a signal changes nothing, with or without the state
    for ev in (contact_event("DISCONNECTED", at=T0 + 90 * S),
               contact_event(QUEUED, at=T0 + 10 * S, queue=None)):
        assert contact_event_outcome(kept, ev) == APPLIED
        assert on_contact_event(kept, ev) == []


def test_contact_event_outcomes_before_cleanup() -> None:
    state = ContactState()
    ev = contact_event(QUEUED, at=T0 + 10 * S)
    assert contact_event_outcome(state, ev) == APPLIED
    on_contact_event(state, ev)
    closed = closed_before(T0 + 10 * MIN)
    assert contact_event_outcome(state, ev, closed) == DUPLICATE  # a repeat, however late
    assert contact_event_outcome(state, contact_event(QUEUED, at=T0 + 5 * S), closed) == LATE
    assert contact_event_outcome(state, contact_event(QUEUED, at=T0 + 11 * MIN), closed) == APPLIED


# --- late as a whole (SPEC §3) -----------------------------------------------------------------


def closed_before(ms: int):
    """``is_closed`` for windows that end at or before ``ms``."""
    return lambda ts: window_start(ts, W) + W <= ms


def test_copy_retracting_from_a_closed_window_is_late_as_a_whole() -> None:
    # copy 1 without DisconnectTimestamp: event time LastUpdateTimestamp 10:00:30 -> window 10:00
    first = ctr(at=T0 + 30 * S, updated=T0 + 30 * S, disconnect_ms=None)
    state = accepted(first)
    before = copy.deepcopy(state)
    # copy 2 at 10:19 arrives when the 10:00 window is closed for good: refused, the old copy
    # keeps counting (no retraction that downstream could not apply, never in two windows)
    second = ctr(at=T0 + 19 * MIN, updated=T0 + 19 * MIN + 10 * S)
    assert on_ctr(state, second, W, closed_before(T0 + 5 * MIN)) == ("late", [])
    assert state == before
    assert on_ctr(state, second, W, closed_before(T0 + 5 * MIN)) == ("late", [])  # re-delivery
    # with the 10:00 window still open it is an ordinary revision that moves the contribution
    outcome, outputs = on_ctr(state, second, W, closed_before(T0))
    assert outcome == "fact"
    assert outputs[0] == QueuePut(QUEUE_A, "VOICE", T0 + 30 * S, "c1", None)


def test_copy_retracting_only_an_agent_contribution_from_a_closed_window_is_late() -> None:
    first = ctr(at=T0 + 30 * S, queue=False)
    state = accepted(first)
    second = ctr(at=T0 + 19 * MIN, queue=False, agent_arn=AGENT_B)
    assert on_ctr(state, second, W, closed_before(T0 + 5 * MIN)) == ("late", [])
    # without an agent the old copy contributed to no window: nothing to retract, accepted
    state = accepted(ctr(at=T0 + 30 * S, queue=False, agent=False))
    outcome, _ = on_ctr(state, ctr(at=T0 + 19 * MIN, queue=False, agent=False,
                                   disconnect_reason="X"), W, closed_before(T0 + 5 * MIN))
    assert outcome == "fact"


def test_copy_in_its_own_closed_window_is_late_unless_it_changes_nothing() -> None:
    first = ctr(at=T0 + 30 * S, updated=T0 + MIN)
    state = accepted(first)
    closed = closed_before(T0 + 5 * MIN)
    changed = ctr(at=T0 + 30 * S, updated=T0 + 2 * MIN, after_contact_work_duration=99.0)
    assert on_ctr(state, changed, W, closed) == ("late", [])
    assert on_ctr(ContactState(), changed, W, closed) == ("late", [])
    # a newer copy with the same facts is provably a duplicate of what was counted
    same = first._replace(last_update_ms=T0 + 3 * MIN)
    assert on_ctr(state, same, W, closed) == ("unchanged", [])
    assert state.fingerprint == T0 + 3 * MIN


# --- property: every contact counts exactly once whatever the arrival order ------------------

Item = Union[ContactRecord, ContactEvent]
WindowKey = tuple
QUEUE_CHOICES = st.sampled_from([QUEUE_A, QUEUE_B, None])
CHANNEL_CHOICES = st.sampled_from(["VOICE", "CHAT"])
AGENT_CHOICES = st.sampled_from([AGENT_A, AGENT_B, None])


@st.composite
def contact_items(draw: st.DrawFn) -> list[Item]:
    """CTR copies (newer revisions and duplicates) and contact events of a few contacts, in order.

    "In order" means each contact's CTR copies by LastUpdateTimestamp and its events by event
    time. Event times are drawn from a small set, so equal timestamps happen.
    """
    items: list[Item] = []
    for k in range(draw(st.integers(1, 4))):
        cid = f"c{k}"
        updates = sorted(draw(st.sets(st.integers(0, 50), min_size=1, max_size=3)))
        rec: ContactRecord | None = None
        for lu in updates:
            if rec is not None and draw(st.booleans()):  # a newer copy with the same facts
                rec = rec._replace(last_update_ms=T0 + HOUR + lu * S)
            else:
                queue = draw(QUEUE_CHOICES)
                agent = draw(AGENT_CHOICES)
                rec = ctr(cid, at=T0 + draw(st.integers(0, 5)) * 30 * S,
                          updated=T0 + HOUR + lu * S,
                          queue=queue is not None, agent=agent is not None,
                          channel=draw(CHANNEL_CHOICES),
                          after_contact_work_duration=draw(st.sampled_from([10.0, 20.0])))
                if queue is not None:
                    rec = rec._replace(queue_arn=queue)
                if agent is not None:
                    rec = rec._replace(agent_arn=agent)
            items.extend([rec] * draw(st.integers(1, 2)))  # at least once: maybe a duplicate
        events = [
            contact_event(draw(st.sampled_from([QUEUED, CONNECTED_TO_AGENT, "INITIATED"])), cid,
                          at=T0 + draw(st.integers(0, 6)) * 20 * S, queue=draw(QUEUE_CHOICES),
                          channel=draw(CHANNEL_CHOICES))
            for _ in range(draw(st.integers(0, 4)))
        ]
        items.extend(sorted(events, key=lambda e: e.event_ms))
    return items


def deliver(items: list[Item]) -> dict[WindowKey, QueueWindow]:
    """Run the items through per-contact states and apply every queue output to windows."""
    states: dict[str, ContactState] = {}
    windows: dict[WindowKey, QueueWindow] = {}
    for item in items:
        state = states.setdefault(item.contact_id, ContactState())
        if isinstance(item, ContactRecord):
            _, outputs = on_ctr(state, item, W)
        else:
            outputs = on_contact_event(state, item)
        for out in outputs:
            if isinstance(out, QueuePut):
                key = (out.queue_arn, out.channel, window_start(out.ts_ms, W))
                apply_queue_put(windows.setdefault(key, QueueWindow()), out)
            elif isinstance(out, SignalPut):
                sig = out.signal
                key = (sig.queue_arn, sig.channel, window_start(sig.ts_ms, W))
                apply_signal_put(windows.setdefault(key, QueueWindow()), out)
    return {k: v for k, v in windows.items() if not is_empty(v)}


def signal_order(ev: ContactEvent) -> tuple:
    """Earliest first; a tie in time goes to the smaller (queue, channel)."""
    return (ev.event_ms, ev.queue_arn, ev.channel or "")


def expected_windows(items: list[Item]) -> dict[WindowKey, QueueWindow]:
    """The oracle: each contact's newest CTR copy and earliest signal of each kind, once."""
    windows: dict[WindowKey, QueueWindow] = {}
    newest: dict[str, ContactRecord] = {}
    earliest: dict[tuple[str, str], ContactEvent] = {}
    for item in items:
        if isinstance(item, ContactRecord):
            old = newest.get(item.contact_id)
            if old is None or item.last_update_ms > old.last_update_ms:
                newest[item.contact_id] = item
        elif item.event_type in (QUEUED, CONNECTED_TO_AGENT) and item.queue_arn:
            key = (item.contact_id, item.event_type)
            old_ev = earliest.get(key)
            if old_ev is None or signal_order(item) < signal_order(old_ev):
                earliest[key] = item
    for cid, rec in newest.items():
        if rec.queue_arn:
            win = windows.setdefault(
                (rec.queue_arn, rec.channel, window_start(rec.event_ms, W)), QueueWindow())
            win.ctrs[cid] = (ctr_contribution(rec), rec.queue_name)
    for (cid, kind), ev in earliest.items():
        win = windows.setdefault(
            (ev.queue_arn, ev.channel, window_start(ev.event_ms, W)), QueueWindow())
        (win.queued if kind == QUEUED else win.connected).add(cid)
    return windows


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_arrival_order_counts_every_contact_exactly_once(data: st.DataObject) -> None:
    items = data.draw(contact_items())
    shuffled = data.draw(st.permutations(items))
    in_order = deliver(items)
    assert deliver(shuffled) == in_order
    assert in_order == expected_windows(items)


# --- stored form and cleanup timer ------------------------------------------------------------


def test_stored_form_round_trips_and_is_small() -> None:
    import pickle

    state = accepted(ctr())
    for kind in (QUEUED, CONNECTED_TO_AGENT):
        on_contact_event(state, contact_event(kind, at=T0 + 30 * S))
    stored = to_stored(state)
    assert from_stored(stored) == state
    assert from_stored(to_stored(ContactState())) == ContactState()
    # plain values only: no class or field names in what the state backend holds
    assert b"udfs" not in pickle.dumps(stored)
    assert len(pickle.dumps(stored)) < len(pickle.dumps(state)) * 2 // 3


def test_fact_ref_ignores_the_copy_time_only() -> None:
    rec = ctr()
    assert fact_ref(rec) == fact_ref(rec._replace(last_update_ms=rec.last_update_ms + 1))
    assert fact_ref(rec).digest != fact_ref(rec._replace(customer_hold_duration=7.0)).digest


def test_cleanup_timer_is_rounded_up_so_a_contact_shares_one_timer() -> None:
    state = ContactState(last_event_ms=T0 + 10 * S)
    timer = cleanup_timer_ms(state, RETENTION)
    assert timer % HOUR == 0 and 0 <= timer - (T0 + 10 * S + RETENTION) < HOUR
    assert cleanup_timer_ms(ContactState(last_event_ms=T0 + 20 * S), RETENTION) == timer
    assert cleanup_timer_ms(ContactState(last_event_ms=T0 + 2 * HOUR), RETENTION) > timer
    # a later firing still clears (on_cleanup compares with the exact time)
    kept = on_cleanup(accepted(ctr()), timer + RETENTION, RETENTION, DEDUPE_RETENTION)
    assert kept is not None and kept.cleared


# --- the operator's routing (udfs.flink_contact_state through the keyed harness) --------------


def _stamp_all(node: object, iso: str) -> None:
    """Every ``*Timestamp`` / ``*timestamp`` field of a payload set to ``iso``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k.lower().endswith("timestamp") and isinstance(v, str):
                node[k] = iso
            else:
                _stamp_all(v, iso)


def raw_ctr(cid: str, at: int, updated: Optional[int] = None, disconnect: bool = True,
            acw: int = 10) -> str:
    """A CTR line disconnected at ``at`` (epoch ms) in queue "support", handled by "ann"."""
    from tests.payloads import ctr as ctr_line
    from udfs.timestamps import format_iso_ms

    rec = json.loads(ctr_line(cid, last_update="08:00:00", disconnect="08:00:00",
                              queue="support", enqueued="08:00:00", dequeued="08:00:00",
                              duration=5, agent="ann", connected="08:00:00", interaction=30,
                              acw=acw))
    _stamp_all(rec, format_iso_ms(at))
    rec["LastUpdateTimestamp"] = format_iso_ms(at if updated is None else updated)
    if not disconnect:
        rec["DisconnectTimestamp"] = None
    return json.dumps(rec)


def raw_queued(cid: str, at: int) -> str:
    from tests.payloads import contact_event as event_line
    from udfs.timestamps import format_iso_ms

    ev = json.loads(event_line("QUEUED", cid, queue="support", enqueued="08:00:00"))
    _stamp_all(ev, format_iso_ms(at))
    ev["time"] = format_iso_ms(at - at % 1000)[:19] + "Z"
    return json.dumps(ev)


def test_operator_dead_letters_refused_records_with_their_raw_input() -> None:
    from tests.operator_harness import Harness
    from udfs.flink_contact_state import ContactStateFunction
    from udfs.settings import Settings

    def dead_letter_of(out) -> dict:
        return json.loads(out[1][2])

    settings = Settings(ctr_allowed_lateness_ms=5 * MIN)
    h = Harness(ContactStateFunction(settings))
    h.element2("c1", raw_ctr("c1", T0 + 30 * S, disconnect=False))
    assert len(h.out) == 2  # a queue put and an agent put
    h.advance(T0 + 18 * MIN)  # the 08:00 window is closed for good (5 min CTR lateness)
    second = raw_ctr("c1", T0 + 19 * MIN, T0 + 19 * MIN + 10 * S)
    h.element2("c1", second)
    record = dead_letter_of(h.out[-1])
    assert len(h.out) == 3
    assert (record["error"], record["stream"], record["key"], record["raw"]) == (
        "late", "ctrs", "c1", second)  # late as a whole, with the input as received
    assert h.count("late_ctrs") == 1 and h.count("late") == 1  # the deadletter group too
    # after the state is cleared a newer copy and a signal are refused with their own kind
    h.advance(T0 + 30 * S + settings.contact_retention_ms + HOUR)
    assert from_stored(h.data[("contact", "c1")]).cleared
    now = T0 + 30 * S + RETENTION + HOUR
    newer = raw_ctr("c1", now)
    h.element2("c1", newer)
    assert dead_letter_of(h.out[-1])["error"].startswith("after_clearing: ")
    assert dead_letter_of(h.out[-1])["raw"] == newer
    h.element2("c1", raw_ctr("c1", now - HOUR, now + 1000))
    assert dead_letter_of(h.out[-1])["error"] == "late"  # late and after clearing: late
    h.element1("c1", raw_queued("c1", now))
    assert dead_letter_of(h.out[-1])["stream"] == "contact_events"
    assert (len(h.out), h.count("after_clearing_contact_events")) == (6, 1)


def test_operator_ctrs_have_their_own_allowed_lateness() -> None:
    from tests.operator_harness import Harness
    from udfs.flink_contact_state import ContactStateFunction
    from udfs.settings import Settings

    settings = Settings()  # contact events 15 min, CTRs 2 h
    h = Harness(ContactStateFunction(settings))
    h.advance(T0 + 90 * MIN)  # 90 min after the window of the contact's disconnect
    h.element2("c1", raw_ctr("c1", T0 + 30 * S, acw=3000))  # 50 min of ACW
    assert len(h.out) == 2 and h.count("facts") == 1  # a queue put and an agent put
    h.element1("c1", raw_queued("c1", T0 + 10 * S))  # contact events: 15 min
    assert h.count("late_contact_events") == 1
    h.advance(T0 + MIN - 1 + settings.ctr_allowed_lateness_ms)
    h.element2("c2", raw_ctr("c2", T0 + 30 * S))
    assert h.count("late_ctrs") == 1 and '"error":"late"' in h.out[-1][1][2]
