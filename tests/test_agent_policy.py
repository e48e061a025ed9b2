"""The agent operator's policy (udfs.agent_policy): timers, horizons, clean-up, join wait, puts."""

from __future__ import annotations

import pytest

from tests.builders import AGENT_A, LATENESS, MIN, T0, TIMEOUT, S, W, agent_event, ctr
from udfs.agent_policy import (
    APPLY,
    LATE,
    PRUNE_BATCH,
    REJECTED,
    after_window_timer,
    cleanup_timer,
    event_is_late,
    fact_names,
    horizons,
    is_droppable,
    is_window_timer,
    plan_put,
    prunes_history,
    put_lateness_ms,
    refresh_windows,
    release_time,
    released,
    releases_at,
    restore_waiting,
    timer_window,
    wait,
    window_timer,
)
from udfs.agent_state import AgentState, insert_event, put_ctr
from udfs.contact_state import AgentPut
from udfs.settings import Settings

# CTRs as late as the events (the CTR lateness has its own tests, ``CtrLateness``)
SET = Settings(ctr_allowed_lateness_ms=Settings().allowed_lateness_ms)
HOUR = 60 * MIN
RETENTION = SET.contact_retention_ms


def with_events(*times: int) -> AgentState:
    st = AgentState()
    for i, at in enumerate(times):
        insert_event(st, agent_event(f"e{i}", at))
    return st


# -- window timers ----------------------------------------------------------------------------
def test_window_timer_is_the_fire_time_of_the_events_window() -> None:
    assert window_timer(T0 + 90 * S, W) == T0 + 2 * MIN - 1
    assert window_timer(T0, W) == T0 + MIN - 1
    assert is_window_timer(T0 + MIN - 1, W) and not is_window_timer(T0 + 30 * S, W)
    assert timer_window(T0 + 2 * MIN - 1, W) == T0 + MIN


@pytest.mark.parametrize("event, watermark, expected", [
    (T0 + 10 * S, T0 + 30 * S, []),  # its window has not fired: nothing to refresh
    (T0 + 10 * S, T0 + MIN - 1, [T0]),  # exactly at the fire time: fired
    (T0 + 10 * S, T0 + 3 * MIN + 5 * S, [T0, T0 + MIN, T0 + 2 * MIN]),
    (T0 + 70 * S, T0 + 3 * MIN - 1, [T0 + MIN, T0 + 2 * MIN]),
])
def test_refresh_windows_are_the_fired_windows_from_the_events_on(event, watermark,
                                                                  expected) -> None:
    assert list(refresh_windows(event, watermark, W)) == expected


def test_event_is_late_only_past_the_allowed_lateness() -> None:
    closes = T0 + MIN - 1 + LATENESS  # the cleanup time of the window at T0
    assert not event_is_late(T0 + 10 * S, closes - 1, SET)
    assert event_is_late(T0 + 10 * S, closes, SET)


def test_horizons_follow_lateness_timeout_and_retention() -> None:
    timer = T0 + 20 * MIN - 1
    h = horizons(timer, SET, history=True)
    assert h.windows_from == T0 + 19 * MIN - LATENESS
    assert h.points_from == h.windows_from - TIMEOUT
    assert h.history_from == timer - RETENTION
    assert horizons(timer, SET, history=False).history_from is None


def test_history_is_pruned_at_the_window_ending_on_each_hour() -> None:
    assert prunes_history(T0 + HOUR - 1, W)
    assert not prunes_history(T0 + HOUR + MIN - 1, W)


def test_the_chain_runs_while_the_last_state_can_hold() -> None:
    st = with_events(T0 + 10 * S)  # holds until T0 + 250 s
    assert after_window_timer(st, T0 + MIN - 1, SET).chain == T0 + 2 * MIN - 1
    assert after_window_timer(st, T0 + 4 * MIN - 1, SET).chain == T0 + 5 * MIN - 1
    after = after_window_timer(st, T0 + 5 * MIN - 1, SET)
    assert after.chain is None and not after.drop
    assert after.cleanup is not None


def test_a_quiet_agent_is_cleaned_up_in_two_steps_then_dropped() -> None:
    """Chain end -> newest window closed for good (records pruned) -> retention -> drop."""
    st = with_events(T0 + 10 * S)
    st.emitted[T0 + 4 * MIN] = (1, b"d")
    end = after_window_timer(st, T0 + 5 * MIN - 1, SET)
    first = T0 + 4 * MIN + W + LATENESS + W - 1
    assert end.cleanup == first
    after = after_window_timer(st, first, SET)
    assert not st.emitted and after.pruned.windows == (T0 + 4 * MIN,)
    assert after.cleanup == window_timer(T0 + 10 * S + RETENTION, W) and not after.drop
    assert len(st.points) == 1  # the last point marks when the agent was last seen
    last = after_window_timer(st, after.cleanup, SET)
    assert last.drop and last.cleanup is None


def test_a_new_event_before_the_retention_timer_postpones_the_drop() -> None:
    st = with_events(T0 + 10 * S)
    insert_event(st, agent_event("later", T0 + HOUR))
    assert cleanup_timer(st, window_timer(T0 + 10 * S + RETENTION, W), SET) == window_timer(
        T0 + HOUR + RETENTION, W)


def test_waiting_facts_keep_the_key() -> None:
    st = AgentState()
    wait(st, "c1", T0 + HOUR)
    after = after_window_timer(st, T0 + MIN - 1, SET)
    assert after.cleanup is None and not after.drop
    assert not is_droppable(st, T0 + HOUR, SET)
    released(st, T0 + HOUR, [(1, ctr("c1"))])
    assert is_droppable(st, T0 + HOUR, SET)


def test_points_are_pruned_in_batches_while_the_chain_runs_and_fully_when_it_ends() -> None:
    base = T0 + 60 * MIN
    st = with_events(*(T0 + i * S for i in range(10)), base)  # 10 old points + a recent one
    running = after_window_timer(st, base + MIN - 1, SET)
    assert running.chain is not None and not running.pruned.points and len(st.points) == 11
    st = with_events(*(T0 + i * S for i in range(PRUNE_BATCH + 1)), base)
    assert after_window_timer(st, base + MIN - 1, SET).pruned.points
    assert len(st.points) == 2  # the last old one (its state may still hold) and the recent
    st = with_events(*(T0 + i * S for i in range(10)))
    assert after_window_timer(st, base + MIN - 1, SET).pruned.points
    assert len(st.points) == 1


# -- puts ---------------------------------------------------------------------------------------
def put(record=None, *, ts: int = T0 + 90 * S, revision: int = 2) -> AgentPut:
    return AgentPut(AGENT_A, "c1", ts, revision, record)


def closed_for(ts: int) -> int:
    """A watermark at which the window of ``ts`` is closed for good."""
    return ts - ts % W + W - 1 + LATENESS


def test_puts_inside_the_lateness_apply() -> None:
    st = AgentState()
    assert plan_put(st, put(ctr()), closed_for(T0 + 90 * S) - 1, SET) == APPLY
    assert plan_put(st, put(None), closed_for(T0 + 90 * S) - 1, SET) == APPLY


def test_bug_a_late_retraction_rejects_its_revision_so_nothing_counts_twice() -> None:
    """Copy 1 counted at 10:01 (closed for good); copy 2 moves it to 10:19: the retraction cannot
    be applied, so copy 2 must not count either (today it counted in both windows)."""
    st = AgentState()
    newer = ctr(at=T0 + 19 * MIN)
    wm = closed_for(T0 + 90 * S)
    assert plan_put(st, put(None, ts=T0 + 90 * S), wm, SET) == LATE
    assert st.rejected == {"c1": (2, T0 + 90 * S)}
    assert plan_put(st, put(newer, ts=newer.event_ms), wm, SET) == REJECTED
    assert st.rejected == {}
    assert plan_put(st, put(newer, ts=newer.event_ms, revision=3), wm, SET) == APPLY


def test_a_late_upsert_is_late() -> None:
    assert plan_put(AgentState(), put(ctr()), closed_for(T0 + 90 * S), SET) == LATE


# -- the join wait --------------------------------------------------------------------------------
def test_a_fact_waits_for_its_join_time_unless_the_watermark_is_past_it() -> None:
    rec = ctr()  # connected at T0 + 30 s
    assert release_time(AgentState(), rec, T0 + 10 * S) == rec.connected_to_agent_ms
    assert release_time(AgentState(), rec, rec.connected_to_agent_ms) is None


def test_bug_a_newer_revision_never_overtakes_an_older_one_waiting_here() -> None:
    st = AgentState()
    wait(st, "c1", T0 + 30 * S)
    no_agent = ctr(agent=False)
    assert release_time(st, no_agent, T0) == T0 + 30 * S  # would leave at once otherwise
    earlier = ctr(connected_to_agent_ms=T0 + 5 * S)
    assert release_time(st, earlier, T0 + 10 * S) == T0 + 30 * S
    assert release_time(AgentState(), no_agent, T0) is None


def test_released_facts_leave_the_index_but_a_later_revision_stays() -> None:
    st = AgentState()
    restore_waiting(st, [(T0 + 30 * S, [(1, ctr())]), (T0 + 40 * S, [(2, ctr())]),
                         (T0 + 50 * S, [(1, ctr("c2"))])])
    assert st.waiting == {"c1": T0 + 40 * S, "c2": T0 + 50 * S}
    assert releases_at(st, T0 + 30 * S) and not releases_at(st, T0 + 35 * S)
    released(st, T0 + 30 * S, [(1, ctr())])
    assert st.waiting == {"c1": T0 + 40 * S, "c2": T0 + 50 * S}
    released(st, T0 + 40 * S, [(2, ctr())])
    assert st.waiting == {"c2": T0 + 50 * S} and st.releases == {T0 + 50 * S}


def test_a_fact_without_an_agent_keeps_its_own_null_names_at_another_agents_key() -> None:
    st = AgentState()
    insert_event(st, agent_event("e1", T0))
    put_ctr(st, ctr(), W)
    assert fact_names(st, ctr())[0] == "jdoe"
    assert fact_names(st, ctr(agent=False)) == (None, None, None)
    assert fact_names(None, ctr()) == ("ctr-user", "CTR Profile", ("CTR Site",))


def test_puts_follow_the_ctr_lateness_when_it_is_longer() -> None:
    from tests.test_agent_operator import CtrLateness

    s = CtrLateness()
    assert put_lateness_ms(SET) == LATENESS and put_lateness_ms(s) == 2 * HOUR
    h = horizons(T0 + 3 * HOUR - 1, s, history=False)
    assert h.events_from == T0 + 3 * HOUR - MIN - LATENESS
    assert h.windows_from == T0 + HOUR - MIN and h.points_from == h.events_from - TIMEOUT
    wm = T0 + 90 * S - (T0 + 90 * S) % W + W - 1 + LATENESS  # agent window closed for events
    assert plan_put(AgentState(), put(ctr()), wm, s) == APPLY


def test_windows_between_the_two_lateness_horizons_get_their_times_frozen() -> None:
    from tests.test_agent_operator import CtrLateness

    s = CtrLateness()
    st = with_events(T0 + 10 * S, *(T0 + i * 2 * MIN for i in range(1, 60)))
    for ws in range(T0, T0 + 100 * MIN, MIN):
        st.emitted[ws] = (1, b"d")
    timer = T0 + 100 * MIN - 1
    after = after_window_timer(st, timer, s)
    h = horizons(timer, s, history=False)
    assert set(st.frozen) == {ws for ws in st.emitted if ws < h.events_from}
    assert st.frozen[T0][0] == 50.0 and st.frozen[T0 + MIN][0] == 60.0  # online time first
    assert set(after.windows) >= set(st.frozen)
