"""Per-agent timeline, config history, handled CTRs and window emission (udfs.agent_state)."""

from __future__ import annotations

import copy
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import (
    CONFIG_A,
    CONFIG_B,
    MIN,
    T0,
    TIMEOUT,
    S,
    W,
    agent_config,
    agent_event,
    ctr,
)
from udfs.agent_intervals import IDLE, ONLINE, state_flags
from udfs.agent_state import (
    AgentState,
    config_at,
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
    window_parts,
)
from udfs.records import AVAILABLE, CUSTOM, OFFLINE, AgentConfig, AgentEvent

NAMES_A = ("jdoe", "Basic", ("Site", "Team"))
NAMES_B = ("jdoe2", "Premium", ("Site", "Team B"))
CTR_NAMES = ("ctr-user", "CTR Profile", ("CTR Site",))
NO_HANDLED = {"contacts_handled": 0, "avg_handle_time": None, "avg_after_contact_work_time": None,
              "avg_interaction_time": None, "avg_hold_time": None, "contacts_put_on_hold": 0,
              "sum_handle_time": 0.0, "sum_interaction_time": 0.0,
              "sum_after_contact_work_time": 0.0, "sum_hold_time": 0.0}
# c9 (the scripted call): 50 s talk + 0 s hold + 10 s ACW
C9_HANDLED = {"contacts_handled": 1, "avg_handle_time": 60.0, "avg_after_contact_work_time": 10.0,
              "avg_interaction_time": 50.0, "avg_hold_time": None, "contacts_put_on_hold": 0,
              "sum_handle_time": 60.0, "sum_interaction_time": 50.0,
              "sum_after_contact_work_time": 10.0, "sum_hold_time": 0.0}


def times(online: float = 0.0, npt: float = 0.0, contact: float = 0.0, handle: float = 0.0,
          acw: float = 0.0, idle: float = 0.0, error: float = 0.0,
          occupancy: Optional[float] = None, connecting: float = 0.0) -> dict:
    return {"online_time": online, "non_productive_time": npt, "contact_time": contact,
            "contact_handle_time": handle, "after_contact_work_time": acw, "idle_time": idle,
            "error_time": error, "occupancy": occupancy, "connecting_time": connecting}


def state_with(*events: AgentEvent) -> AgentState:
    state = AgentState()
    for ev in events:
        assert insert_event(state, ev)
    return state


# The scripted shift (all times after T0):
#   10 s login, idle | 40 s c9 connected | 100 s c9 in ACW | 130 s break | 150 s c8 missed
#   170 s idle | 200 s logout
TIMELINE = (
    agent_event("e1", T0 + 10 * S, event_type="LOGIN"),
    agent_event("e2", T0 + 40 * S, contacts=(("c9", "CONNECTED"),)),
    agent_event("e3", T0 + 100 * S, contacts=(("c9", "ENDED"),)),
    agent_event("e4", T0 + 130 * S, status=CUSTOM),
    agent_event("e5", T0 + 150 * S, contacts=(("c8", "MISSED"),)),
    agent_event("e6", T0 + 170 * S),
    agent_event("e7", T0 + 200 * S, event_type="LOGOUT", status=OFFLINE),
)
C9 = ctr("c9", at=T0 + 100 * S)  # enqueued at 20 s, connected at 40 s, disconnected at 100 s

EXPECTED_TIMES = {
    # [0, 60): 10-40 idle, 40-60 on contact
    0: times(online=50, contact=20, handle=20, idle=30, occupancy=40.0),
    # [60, 120): 60-100 on contact, 100-120 ACW (on contact too)
    1: times(online=60, contact=60, handle=60, acw=20, occupancy=100.0),
    # [120, 180): 120-130 ACW, 130-150 break, 150-170 idle with a missed contact, 170-180 idle
    2: times(online=60, npt=20, contact=10, handle=10, acw=10, idle=30, error=20, occupancy=25.0),
    # [180, 240): 180-200 idle, then logged out
    3: times(online=20, idle=20, occupancy=0.0),
    4: times(),
}


def scripted() -> AgentState:
    state = state_with(*TIMELINE)
    put_ctr(state, C9, W)
    return state


# --- insert_event -----------------------------------------------------------------------------


def test_insert_event_adds_a_point_with_its_flags_and_logout_has_none() -> None:
    state = state_with(TIMELINE[0], TIMELINE[6])
    assert state.points == [(T0 + 10 * S, ONLINE | IDLE, "e1"), (T0 + 200 * S, 0, "e7")]
    assert state.event_ids == {"e1": T0 + 10 * S, "e7": T0 + 200 * S}


def test_duplicate_event_id_is_ignored_even_with_other_content() -> None:
    state = state_with(TIMELINE[0])
    before = copy.deepcopy(state)
    assert insert_event(state, TIMELINE[0]) is None
    assert insert_event(state, agent_event("e1", T0 + 99 * S, status=CUSTOM,
                                           contacts=(("c1", "MISSED"),), config=CONFIG_B)) is None
    assert state == before


def test_points_are_time_ordered_whatever_the_arrival_order() -> None:
    state = state_with(TIMELINE[3], TIMELINE[0], TIMELINE[6], TIMELINE[1])
    assert state.points == [
        (T0 + 10 * S, state_flags(AVAILABLE, ()), "e1"),
        (T0 + 40 * S, state_flags(AVAILABLE, ("CONNECTED",)), "e2"),
        (T0 + 130 * S, state_flags(CUSTOM, ()), "e4"),
        (T0 + 200 * S, 0, "e7"),
    ]


@settings(max_examples=100, deadline=None)
@given(st.permutations(TIMELINE))
def test_any_arrival_order_gives_the_same_windows(arrival: list[AgentEvent]) -> None:
    state = state_with(*arrival)
    put_ctr(state, C9, W)
    in_order = scripted()
    assert state.points == in_order.points
    assert state.missed_first == in_order.missed_first
    for k in EXPECTED_TIMES:
        assert window_parts(state, T0 + k * W, W, TIMEOUT) == window_parts(
            in_order, T0 + k * W, W, TIMEOUT)


def test_missed_first_keeps_the_earliest_time_per_contact() -> None:
    state = state_with(
        agent_event("e1", T0 + 50 * S, contacts=(("c8", "MISSED"), ("c8", "MISSED"),
                                                 ("c7", "CONNECTED"))),
        agent_event("e2", T0 + 90 * S, contacts=(("c8", "MISSED"),)),
    )
    assert state.missed_first == {"c8": T0 + 50 * S}
    inserted = insert_event(state, agent_event("e0", T0 + 30 * S, contacts=(
        ("c8", "REJECTED"), ("c6", "REJECTED"))))
    assert state.missed_first == {"c8": T0 + 30 * S, "c6": T0 + 30 * S}
    # what moved, for the queues' contacts_missed: c8 from 50 s, c6 new
    assert inserted is not None and inserted.moved == (("c8", T0 + 50 * S), ("c6", None))
    later = insert_event(state, agent_event("e3", T0 + 95 * S, contacts=(("c8", "MISSED"),)))
    assert later is not None and later.moved == () and not later.missed


# --- configuration history --------------------------------------------------------------------


def test_config_history_stores_changes_only() -> None:
    state = state_with(
        agent_event("e1", T0 + 10 * S),
        agent_event("e2", T0 + 70 * S, event_type="HEART_BEAT"),  # same config: not stored
        agent_event("e3", T0 + 100 * S, config=None),  # no Configuration: not stored
        agent_event("e4", T0 + 130 * S, config=CONFIG_B),
        # an equal (not identical) configuration object is not a change either
        agent_event("e5", T0 + 190 * S, config=agent_config("jdoe2", "Premium",
                                                             ("Site", "Team B"))),
    )
    assert state.configs == [(T0 + 10 * S, CONFIG_A), (T0 + 130 * S, CONFIG_B)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T0, None),  # before the first config
        (T0 + 10 * S - 1, None),
        (T0 + 10 * S, CONFIG_A),  # at a change
        (T0 + 129_999, CONFIG_A),  # between changes
        (T0 + 130 * S, CONFIG_B),
        (T0 + 24 * 60 * MIN, CONFIG_B),
    ],
)
def test_config_at(at: int, expected: Optional[AgentConfig]) -> None:
    for arrival in ((0, 1), (1, 0)):  # same history whatever the arrival order
        events = [agent_event("e1", T0 + 10 * S), agent_event("e2", T0 + 130 * S, config=CONFIG_B)]
        state = state_with(*(events[i] for i in arrival))
        assert config_at(state, at) == expected


def test_bug_config_reverted_while_a_change_arrives_late() -> None:
    """BUG (fixed in udfs/agent_state.py insert_event): A at 10 s, B at 20 s, A again at 30 s,
    arriving 10, 30, 20. The 30 s event was not stored (A was already in effect then), so when
    the late B arrived it stayed in effect after 30 s and contacts were enriched with B.
    """
    state = state_with(
        agent_event("e1", T0 + 10 * S, config=CONFIG_A),
        agent_event("e3", T0 + 30 * S, config=CONFIG_A),
        agent_event("e2", T0 + 20 * S, config=CONFIG_B),
    )
    assert config_at(state, T0 + 19_999) == CONFIG_A
    assert config_at(state, T0 + 20 * S) == CONFIG_B
    assert config_at(state, T0 + 29_999) == CONFIG_B
    assert config_at(state, T0 + 30 * S) == CONFIG_A
    assert config_at(state, T0 + 10 * MIN) == CONFIG_A


@st.composite
def configured_events(draw: st.DrawFn) -> list[AgentEvent]:
    """Events at distinct times, each with one of two configurations, in time order."""
    offsets = sorted(draw(st.sets(st.integers(0, 600), min_size=1, max_size=8)))
    return [agent_event(f"e{s}", T0 + s * S, config=draw(st.sampled_from([CONFIG_A, CONFIG_B])))
            for s in offsets]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_config_at_is_the_latest_events_config_whatever_the_arrival_order(
        data: st.DataObject) -> None:
    events = data.draw(configured_events())
    state = state_with(*data.draw(st.permutations(events)))
    for ev in events:
        assert config_at(state, ev.event_ms) == ev.config
        assert config_at(state, ev.event_ms + 999) == ev.config
    assert config_at(state, events[0].event_ms - 1) is None


# --- handled CTRs and enrichment ----------------------------------------------------------


def test_put_ctr_stores_a_handled_ctr_in_the_window_of_its_event_time() -> None:
    state = AgentState()
    assert put_ctr(state, C9, W) == T0 + W
    assert list(state.ctrs) == [T0 + W]
    assert set(state.ctrs[T0 + W]) == {"c9"}
    assert state.ctrs[T0 + W]["c9"][1:] == CTR_NAMES


def test_put_ctr_ignores_a_ctr_the_agent_never_connected_to() -> None:
    state = AgentState()
    assert put_ctr(state, ctr("c1", connected_to_agent_ms=None), W) is None
    assert state.ctrs == {}


def test_bug_a_revision_that_is_no_longer_handled_leaves_the_agent_window() -> None:
    """BUG (fixed in udfs/agent_state.py put_ctr): a newer CTR copy of the same contact, agent
    and window without ConnectedToAgentTimestamp returned None and left the old handled entry,
    so the agent kept counting the contact as handled.
    """
    state = AgentState()
    put_ctr(state, C9, W)
    unhandled = C9._replace(last_update_ms=C9.last_update_ms + 1, connected_to_agent_ms=None)
    assert put_ctr(state, unhandled, W) == T0 + W  # the window changed: re-emit it
    assert state.ctrs == {}
    assert put_ctr(state, unhandled, W) is None  # and again: nothing to change


def test_retract_ctr_removes_the_contact_and_drops_an_empty_window() -> None:
    state = AgentState()
    put_ctr(state, C9, W)
    put_ctr(state, ctr("c10", at=T0 + 110 * S), W)
    assert retract_ctr(state, "c9", T0 + 100 * S, W) == T0 + W
    assert set(state.ctrs[T0 + W]) == {"c10"}
    assert retract_ctr(state, "c10", T0 + 61 * S, W) == T0 + W
    assert state.ctrs == {}
    assert retract_ctr(state, "c10", T0 + 61 * S, W) == T0 + W  # absent: no error


def test_enrichment_uses_the_config_valid_when_the_contact_reached_the_agent() -> None:
    state = state_with(agent_event("e1", T0, config=CONFIG_A),
                       agent_event("e2", T0 + 10 * MIN, config=CONFIG_B))
    # connected before the change, disconnected after it: A, not the latest B
    rec = ctr("c1", at=T0 + 12 * MIN, connected_to_agent_ms=T0 + 5 * MIN)
    assert join_time(rec) == T0 + 5 * MIN
    assert enrichment(state, rec) == NAMES_A
    assert enrichment(state, rec._replace(connected_to_agent_ms=T0 + 10 * MIN)) == NAMES_B
    # not connected: the CTR's own event time decides
    unconnected = ctr("c2", at=T0 + 11 * MIN, connected_to_agent_ms=None)
    assert join_time(unconnected) == T0 + 11 * MIN
    assert enrichment(state, unconnected) == NAMES_B


def test_enrichment_falls_back_to_the_ctrs_agent_fields() -> None:
    state = state_with(agent_event("e1", T0 + 10 * MIN))
    assert enrichment(state, ctr("c1", at=T0 + 6 * MIN)) == CTR_NAMES  # connected before config
    assert enrichment(AgentState(), ctr("c1")) == CTR_NAMES


# --- windows and emission -----------------------------------------------------------------


@pytest.mark.parametrize("k", sorted(EXPECTED_TIMES))
def test_window_parts_of_the_scripted_shift(k: int) -> None:
    parts = window_parts(scripted(), T0 + k * W, W, TIMEOUT)
    assert parts == (
        EXPECTED_TIMES[k],
        1 if k == 2 else 0,  # c8 missed at 150 s
        C9_HANDLED if k == 1 else NO_HANDLED,
        NAMES_A,
    )


def test_window_parts_of_an_agent_that_stops_sending_events() -> None:
    state = state_with(agent_event("e1", T0 + 10 * S))  # then silence: offline 240 s later
    online = [window_parts(state, T0 + k * W, W, TIMEOUT)[0]["online_time"] for k in range(6)]
    assert online == [50.0, 60.0, 60.0, 60.0, 10.0, 0.0]
    assert window_parts(state, T0 - W, W, TIMEOUT)[0] == times()


def test_next_emission_emits_each_window_once_unless_it_changes() -> None:
    state = scripted()
    assert next_emission(state, T0 + W, W, TIMEOUT) == (1, EXPECTED_TIMES[1], 0, C9_HANDLED,
                                                        NAMES_A)
    assert next_emission(state, T0 + W, W, TIMEOUT) is None
    assert next_emission(state, T0 + 4 * W, W, TIMEOUT) is None  # never online, no CTR
    assert T0 + 4 * W not in state.emitted
    # a late duplicate changes nothing
    assert not insert_event(state, TIMELINE[2])
    assert next_emission(state, T0 + W, W, TIMEOUT) is None
    assert state.emitted[T0 + W][0] == 1


def test_a_late_event_re_emits_the_window_with_revision_2() -> None:
    state = scripted()
    assert next_emission(state, T0, W, TIMEOUT) is not None
    # a break from 20 s to 40 s that arrived late
    insert_event(state, agent_event("late", T0 + 20 * S, status=CUSTOM))
    assert next_emission(state, T0, W, TIMEOUT) == (
        2, times(online=50, npt=20, contact=20, handle=20, idle=10, occupancy=100 * 20 / 30),
        0, NO_HANDLED, NAMES_A)
    assert next_emission(state, T0, W, TIMEOUT) is None


def test_a_config_change_re_emits_the_window_with_the_new_names() -> None:
    state = scripted()
    next_emission(state, T0 + 2 * W, W, TIMEOUT)
    # a late idle heartbeat at 175 s (same status as at 170 s) with a new configuration: the
    # window's names are the configuration valid at its end (the logout at 200 s has A again)
    insert_event(state, agent_event("rename", T0 + 175 * S, config=CONFIG_B))
    emission = next_emission(state, T0 + 2 * W, W, TIMEOUT)
    assert emission == (2, EXPECTED_TIMES[2], 1, NO_HANDLED, NAMES_B)
    assert window_parts(state, T0 + 3 * W, W, TIMEOUT)[3] == NAMES_A


def test_an_agent_with_only_ctr_contributions_is_named_from_the_ctr() -> None:
    state = AgentState()
    put_ctr(state, ctr("c2", at=T0 + 30 * S, agent_username="zed"), W)
    put_ctr(state, ctr("c1", at=T0 + 40 * S), W)  # the smallest ContactId names the agent
    assert next_emission(state, T0, W, TIMEOUT) == (1, times(), 0, {
        "contacts_handled": 2, "avg_handle_time": 60.0, "avg_after_contact_work_time": 10.0,
        "avg_interaction_time": 50.0, "avg_hold_time": None, "contacts_put_on_hold": 0,
        "sum_handle_time": 120.0, "sum_interaction_time": 100.0,
        "sum_after_contact_work_time": 20.0, "sum_hold_time": 0.0}, CTR_NAMES)


def test_a_window_whose_only_ctr_is_retracted_is_re_emitted_with_zeros() -> None:
    state = AgentState()
    put_ctr(state, C9, W)
    assert next_emission(state, T0 + W, W, TIMEOUT) is not None
    retract_ctr(state, "c9", C9.event_ms, W)
    assert next_emission(state, T0 + W, W, TIMEOUT) == (2, times(), 0, NO_HANDLED,
                                                        (None, None, None))


def test_last_point_reaches_while_the_timeout_lasts() -> None:
    state = AgentState()
    assert not last_point_reaches(state, T0, TIMEOUT)
    state.points.append((T0 + 10 * S, 0, "e1"))
    assert last_point_reaches(state, T0 + 4 * W, TIMEOUT)  # 10 s + 240 s > 4 min
    assert not last_point_reaches(state, T0 + 10 * S + TIMEOUT, TIMEOUT)


# --- prune --------------------------------------------------------------------------------


def pruneable() -> AgentState:
    state = state_with(
        agent_event("e0", T0, contacts=(("c1", "MISSED"),)),
        agent_event("e1", T0 + 100 * S, config=CONFIG_B),
        agent_event("e2", T0 + 200 * S, config=CONFIG_B),
        agent_event("e3", T0 + 300 * S, contacts=(("c2", "MISSED"),)),
    )
    put_ctr(state, ctr("c3", at=T0 + 190 * S), W)
    put_ctr(state, ctr("c4", at=T0 + 250 * S), W)
    next_emission(state, T0 + 3 * W, W, TIMEOUT)
    next_emission(state, T0 + 4 * W, W, TIMEOUT)
    assert state.configs == [(T0, CONFIG_A), (T0 + 100 * S, CONFIG_B), (T0 + 300 * S, CONFIG_A)]
    return state


def test_prune_keeps_the_last_point_before_the_horizon_and_drops_the_rest() -> None:
    state = pruneable()
    before = [window_parts(state, T0 + k * W, W, TIMEOUT) for k in (4, 5, 6)]
    changed = prune(state, keep_from_ms=T0 + 250 * S, config_keep_from_ms=T0 + 250 * S,
                    window_keep_from=T0 + 4 * W)
    assert changed.points and changed.history and changed.windows == (T0 + 3 * W,)
    assert [p[0] for p in state.points] == [T0 + 200 * S, T0 + 300 * S]
    assert state.event_ids == {"e2": T0 + 200 * S, "e3": T0 + 300 * S}
    assert state.configs == [(T0 + 100 * S, CONFIG_B), (T0 + 300 * S, CONFIG_A)]
    assert state.missed_first == {"c2": T0 + 300 * S}
    assert list(state.ctrs) == [T0 + 4 * W]
    assert list(state.emitted) == [T0 + 4 * W]
    # what later windows need is still there: same numbers as before pruning
    assert [window_parts(state, T0 + k * W, W, TIMEOUT) for k in (4, 5, 6)] == before
    assert config_at(state, T0 + 250 * S) == CONFIG_B


def test_prune_uses_separate_horizons_for_points_and_configs() -> None:
    state = pruneable()
    prune(state, keep_from_ms=T0 + 250 * S, config_keep_from_ms=T0 + 50 * S,
          window_keep_from=T0)
    assert len(state.points) == 2
    assert state.configs == [(T0, CONFIG_A), (T0 + 100 * S, CONFIG_B), (T0 + 300 * S, CONFIG_A)]
    assert state.missed_first == {"c2": T0 + 300 * S}
    assert list(state.ctrs) == [T0 + 3 * W, T0 + 4 * W]


def test_prune_with_nothing_old_enough_changes_nothing() -> None:
    state = pruneable()
    before = copy.deepcopy(state)
    changed = prune(state, keep_from_ms=T0 + 50 * S, config_keep_from_ms=T0 - 1,
                    window_keep_from=T0)
    assert changed == (False, False, ())
    assert state == before


def test_is_empty() -> None:
    assert is_empty(AgentState())
    assert not is_empty(state_with(TIMELINE[0]))
    state = AgentState()
    put_ctr(state, C9, W)
    assert not is_empty(state)
    assert not is_empty(AgentState(emitted={T0: (1, b"")}))


# --- what changed, and the stored timeline ------------------------------------------------------


def test_insert_event_reports_what_it_changed() -> None:
    state = AgentState()
    first = insert_event(state, agent_event("e1", T0 + 10 * S, config=CONFIG_A))
    assert first is not None and first.point == state.points[0] and first.configs
    same_config = insert_event(state, agent_event("e2", T0 + 20 * S, config=CONFIG_A))
    assert same_config is not None and not same_config.configs and not same_config.missed
    missed = insert_event(state, agent_event("e3", T0 + 30 * S, contacts=(("c1", "MISSED"),)))
    assert missed is not None and missed.missed
    again = insert_event(state, agent_event("e4", T0 + 40 * S, contacts=(("c1", "MISSED"),)))
    assert again is not None and not again.missed  # the first MISSED time stands


@settings(max_examples=50, deadline=None)
@given(st.permutations(TIMELINE))
def test_restore_from_points_in_arrival_order_gives_the_same_timeline(
        arrival: list[AgentEvent]) -> None:
    state = AgentState()
    log = []
    for ev in arrival:
        log.append(insert_event(state, ev).point)
    restored = AgentState()
    restore_points(restored, log)
    assert restored.points == state.points
    assert restored.event_ids == state.event_ids


def test_equal_times_keep_their_arrival_order_through_a_restore() -> None:
    state = AgentState()
    a = agent_event("a", T0 + 10 * S)
    b = agent_event("b", T0 + 10 * S, status=CUSTOM)
    log = [insert_event(state, a).point, insert_event(state, b).point]
    restored = AgentState()
    restore_points(restored, log)
    assert [p[2] for p in restored.points] == ["a", "b"] == [p[2] for p in state.points]


def test_prune_waits_for_min_points_and_never_splits_equal_times() -> None:
    state = pruneable()
    before = copy.deepcopy(state.points)
    changed = prune(state, keep_from_ms=T0 + 250 * S, config_keep_from_ms=T0 - 1,
                    window_keep_from=T0, min_points=len(before))
    assert not changed.points and state.points == before
    tie = AgentState()
    for eid, ms in (("x", T0), ("y", T0 + 10 * S), ("z", T0 + 10 * S), ("w", T0 + 500 * S)):
        insert_event(tie, agent_event(eid, ms))
    prune(tie, keep_from_ms=T0 + 100 * S, config_keep_from_ms=T0 - 1, window_keep_from=T0)
    assert [p[2] for p in tie.points] == ["y", "z", "w"]
    assert set(tie.event_ids) == {"y", "z", "w"}


def test_prune_without_a_history_horizon_leaves_configs_and_missed_alone() -> None:
    state = pruneable()
    configs, missed = list(state.configs), dict(state.missed_first)
    changed = prune(state, keep_from_ms=T0 + 250 * S, config_keep_from_ms=None,
                    window_keep_from=T0 + 4 * W)
    assert changed.points and not changed.history
    assert (state.configs, state.missed_first) == (configs, missed)
