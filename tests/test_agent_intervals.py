"""Agent status flags, interval/window overlap and occupancy, against hand-computed times."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs.agent_intervals import (
    AFTER_CONTACT_WORK,
    CONNECTING,
    CONTACT,
    CONTACT_HANDLE,
    ERROR,
    IDLE,
    NON_PRODUCTIVE,
    ONLINE,
    AgentTimes,
    agent_time_fields,
    newly_missed,
    state_flags,
    window_times,
)
from udfs.records import AVAILABLE, CUSTOM, OFFLINE, AgentContact

B = 1_705_305_600_000  # 2024-01-15T08:00:00Z, minute aligned
S = 1000  # one second in ms
W = 60 * S

AV_IDLE = state_flags(AVAILABLE, ())
AV_ROUTING = state_flags(AVAILABLE, ("CONNECTING",))
AV_CONNECTED = state_flags(AVAILABLE, ("CONNECTED",))
AV_ACW = state_flags(AVAILABLE, ("ENDED",))
AV_MISSED = state_flags(AVAILABLE, ("MISSED",))
BREAK = state_flags(CUSTOM, ())
LOGOUT = 0


def times(online=0.0, npt=0.0, contact=0.0, handle=0.0, acw=0.0, idle=0.0, error=0.0,
          connecting=0.0):
    return AgentTimes(online, npt, contact, handle, acw, idle, error, connecting)


def in_window(points, k, timeout_ms=240_000):
    """Times of the k-th minute after B."""
    return window_times(points, B + k * W, B + (k + 1) * W, timeout_ms)


# --- state_flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "states", "expected"),
    [
        (AVAILABLE, [], ONLINE | IDLE),
        (CUSTOM, [], ONLINE | NON_PRODUCTIVE),
        (OFFLINE, [], 0),
        (None, [], 0),
        ("SOMETHING_ELSE", [], 0),
        (AVAILABLE, ["CONNECTED"], ONLINE | CONTACT | CONTACT_HANDLE),
        (AVAILABLE, ["CONNECTED_ONHOLD"], ONLINE | CONTACT | CONTACT_HANDLE),
        (AVAILABLE, ["ENDED"], ONLINE | CONTACT | CONTACT_HANDLE | AFTER_CONTACT_WORK),
        # routing time: neither idle nor contact
        # routing time: neither idle nor contact, but connecting
        (AVAILABLE, ["INCOMING"], ONLINE | CONNECTING),
        (AVAILABLE, ["PENDING"], ONLINE | CONNECTING),
        (AVAILABLE, ["CONNECTING"], ONLINE | CONNECTING),
        (CUSTOM, ["INCOMING"], ONLINE | NON_PRODUCTIVE | CONNECTING),
        (AVAILABLE, ["CONNECTED", "INCOMING"], ONLINE | CONTACT | CONTACT_HANDLE),
        (AVAILABLE, ["CONNECTED_ONHOLD", "CONNECTING"], ONLINE | CONTACT | CONTACT_HANDLE),
        # failed contacts: idle and error at once
        (AVAILABLE, ["MISSED"], ONLINE | IDLE | ERROR),
        (AVAILABLE, ["REJECTED"], ONLINE | IDLE | ERROR),
        (AVAILABLE, ["ERROR"], ONLINE | IDLE | ERROR),
        (AVAILABLE, ["MISSED", "CONNECTING"], ONLINE | ERROR | CONNECTING),
        (AVAILABLE, ["ERROR", "CONNECTED"], ONLINE | CONTACT | CONTACT_HANDLE | ERROR),
        # concurrent chats
        (AVAILABLE, ["CONNECTED", "ENDED"], ONLINE | CONTACT | CONTACT_HANDLE),
        (AVAILABLE, ["ENDED", "ENDED"], ONLINE | CONTACT | CONTACT_HANDLE | AFTER_CONTACT_WORK),
        (AVAILABLE, ["CONNECTED_ONHOLD", "ENDED"], ONLINE | CONTACT | CONTACT_HANDLE),
        (
            AVAILABLE,
            ["ENDED", "CONNECTING"],
            ONLINE | CONTACT | CONTACT_HANDLE | AFTER_CONTACT_WORK | CONNECTING,
        ),
        # custom status with a contact: NPT + handle, not "on contact"
        (CUSTOM, ["CONNECTED"], ONLINE | NON_PRODUCTIVE | CONTACT_HANDLE),
        (CUSTOM, ["ENDED"], ONLINE | NON_PRODUCTIVE | CONTACT_HANDLE | AFTER_CONTACT_WORK),
        (CUSTOM, ["MISSED"], ONLINE | NON_PRODUCTIVE | ERROR),
        # offline with a contact: handle only
        (OFFLINE, ["CONNECTED"], CONTACT_HANDLE),
        (None, ["CONNECTED_ONHOLD"], CONTACT_HANDLE),
        (OFFLINE, ["ENDED"], CONTACT_HANDLE | AFTER_CONTACT_WORK),
        # unknown states count for nothing; MISSED contacts no longer there are gone
        (AVAILABLE, ["PAUSED", "WHATEVER"], ONLINE | IDLE),
        (AVAILABLE, ["ENDED", "PAUSED"], ONLINE | CONTACT | CONTACT_HANDLE | AFTER_CONTACT_WORK),
    ],
)
def test_state_flags(status, states, expected):
    assert state_flags(status, states) == expected


def test_state_flags_accepts_any_iterable():
    assert state_flags(AVAILABLE, (s for s in ["CONNECTED"])) == ONLINE | CONTACT | CONTACT_HANDLE


def test_flags_are_distinct_bits():
    bits = [ONLINE, NON_PRODUCTIVE, CONTACT, CONTACT_HANDLE, AFTER_CONTACT_WORK, IDLE, ERROR,
            CONNECTING]
    assert sum(bits) == 255
    assert all(b & (b - 1) == 0 for b in bits)


# --- window_times -----------------------------------------------------------------------------


def test_no_points():
    assert window_times([], B, B + W) == times()


def test_single_point_inside_window_holds_until_window_end():
    assert in_window([(B + 10 * S, AV_IDLE)], 0) == times(online=50, idle=50)


def test_milliseconds_become_fractional_seconds():
    assert in_window([(B + 10_250, AV_IDLE)], 0) == times(online=49.75, idle=49.75)


def test_status_spanning_several_windows_with_heartbeats():
    points = [
        (B + 30 * S, AV_IDLE),
        (B + 150 * S, AV_IDLE),  # heartbeat
        (B + 270 * S, AV_CONNECTED),
        (B + 300 * S, LOGOUT),
    ]
    assert in_window(points, 0) == times(online=30, idle=30)
    assert in_window(points, 1) == times(online=60, idle=60)
    assert in_window(points, 2) == times(online=60, idle=60)
    assert in_window(points, 3) == times(online=60, idle=60)
    assert in_window(points, 4) == times(online=60, idle=30, contact=30, handle=30)
    assert in_window(points, 5) == times()
    assert in_window(points, -1) == times()


def test_timeout_inside_a_window():
    points = [(B + 10 * S, AV_IDLE), (B + 400 * S, AV_IDLE)]
    # 240 s after B+10 s is B+250 s: 10 s into window 4, then offline until B+400 s
    assert in_window(points, 3) == times(online=60, idle=60)
    assert in_window(points, 4) == times(online=10, idle=10)
    assert in_window(points, 5) == times()
    assert in_window(points, 6) == times(online=20, idle=20)


def test_timeout_exactly_at_window_boundary():
    points = [(B, AV_IDLE)]
    assert in_window(points, 3) == times(online=60, idle=60)
    assert in_window(points, 4) == times()


def test_next_event_exactly_at_timeout_keeps_agent_continuous():
    points = [(B, AV_IDLE), (B + 240 * S, BREAK)]
    assert in_window(points, 3) == times(online=60, idle=60)
    assert in_window(points, 4) == times(online=60, npt=60)


def test_custom_timeout():
    points = [(B + 5 * S, AV_IDLE)]
    assert in_window(points, 0, timeout_ms=30 * S) == times(online=30, idle=30)


def test_last_point_before_window_start_sets_the_state():
    points = [
        (B - 500 * S, AV_CONNECTED),  # long gone: timed out at B-260 s
        (B - 300 * S, AV_IDLE),  # ends at B-100 s
        (B - 100 * S, BREAK),  # holds into the window until B+20 s
        (B + 20 * S, AV_IDLE),
        (B + 70 * S, AV_CONNECTED),  # after the window: ignored
    ]
    assert in_window(points, 0) == times(online=60, npt=20, idle=40)


def test_point_exactly_at_window_start():
    points = [(B - 30 * S, BREAK), (B, AV_IDLE)]
    assert in_window(points, 0) == times(online=60, idle=60)
    assert in_window(points, -1) == times(online=30, npt=30)


def test_point_exactly_at_window_end_belongs_to_next_window():
    points = [(B, AV_IDLE), (B + W, AV_CONNECTED)]
    assert in_window(points, 0) == times(online=60, idle=60)
    assert in_window(points, 1) == times(online=60, contact=60, handle=60)


def test_equal_timestamps_later_point_supersedes():
    points = [(B + 10 * S, BREAK), (B + 10 * S, AV_CONNECTED), (B + 10 * S, AV_IDLE)]
    assert in_window(points, 0) == times(online=50, idle=50)


def test_equal_timestamps_at_window_start():
    points = [(B - 10 * S, AV_CONNECTED), (B, BREAK), (B, AV_IDLE)]
    assert in_window(points, 0) == times(online=60, idle=60)


def test_logout_ends_the_state_before_the_timeout():
    points = [(B, AV_IDLE), (B + 20 * S, LOGOUT)]
    assert in_window(points, 0) == times(online=20, idle=20)
    assert in_window(points, 1) == times()


def test_login_after_logout():
    points = [(B, AV_IDLE), (B + 20 * S, LOGOUT), (B + 50 * S, AV_IDLE)]
    assert in_window(points, 0) == times(online=30, idle=30)


def test_contact_lifecycle_with_routing_time():
    points = [
        (B, AV_IDLE),
        (B + 10 * S, AV_ROUTING),  # ringing 5 s: neither idle nor contact, but connecting
        (B + 15 * S, AV_CONNECTED),
        (B + 40 * S, AV_ACW),
        (B + 50 * S, AV_IDLE),
    ]
    t = in_window(points, 0)
    assert t == times(online=60, contact=35, handle=35, acw=10, idle=20, connecting=5)
    assert agent_time_fields(t)["occupancy"] == pytest.approx(100 * 35 / 55)


def test_missed_contact_is_idle_and_error_at_once():
    points = [(B, AV_MISSED), (B + 30 * S, AV_IDLE)]
    assert in_window(points, 0) == times(online=60, idle=60, error=30)


def test_concurrent_chats_connected_plus_ended_is_contact_not_acw():
    points = [
        (B, state_flags(AVAILABLE, ("CONNECTED", "ENDED"))),
        (B + 30 * S, state_flags(AVAILABLE, ("ENDED", "ENDED"))),
    ]
    assert in_window(points, 0) == times(online=60, contact=60, handle=60, acw=30)


def test_custom_status_with_contact():
    points = [(B, state_flags(CUSTOM, ("CONNECTED",)))]
    t = in_window(points, 0)
    assert t == times(online=60, npt=60, handle=60)
    assert agent_time_fields(t)["occupancy"] is None


def test_offline_status_with_contact():
    points = [(B, state_flags(OFFLINE, ("CONNECTED",)))]
    assert in_window(points, 0) == times(handle=60)


def test_unsorted_points_never_give_negative_time():
    points = [(B + 30 * S, AV_IDLE), (B + 10 * S, AV_IDLE)]
    t = in_window(points, 0)
    assert min(t) >= 0


def test_window_times_accepts_tuple_history():
    points = ((B, AV_IDLE), (B + 30 * S, BREAK))
    assert in_window(points, 0) == times(online=60, idle=30, npt=30)


# --- agent_time_fields ------------------------------------------------------------------------


def test_agent_time_fields_order_and_values():
    f = agent_time_fields(times(online=60, npt=5, contact=30, handle=35, acw=10, idle=10, error=2,
                                connecting=4))
    assert f == {
        "online_time": 60,
        "non_productive_time": 5,
        "contact_time": 30,
        "contact_handle_time": 35,
        "after_contact_work_time": 10,
        "idle_time": 10,
        "error_time": 2,
        "occupancy": 75.0,
        "connecting_time": 4,
    }
    assert list(f) == [
        "online_time",
        "non_productive_time",
        "contact_time",
        "contact_handle_time",
        "after_contact_work_time",
        "idle_time",
        "error_time",
        "occupancy",
        "connecting_time",
    ]


@pytest.mark.parametrize(
    ("contact", "idle", "occupancy"),
    [(0.0, 0.0, None), (0.0, 60.0, 0.0), (60.0, 0.0, 100.0), (15.0, 45.0, 25.0)],
)
def test_occupancy(contact, idle, occupancy):
    assert agent_time_fields(times(contact=contact, idle=idle))["occupancy"] == occupancy


def test_occupancy_never_rounds_above_100():
    assert agent_time_fields(times(contact=29.999, idle=0.0))["occupancy"] == 100.0


# --- newly_missed -----------------------------------------------------------------------------


def _contact(cid: str, state: str) -> AgentContact:
    return AgentContact(contact_id=cid, state=state, channel="CHAT", state_start_ms=B)


def test_newly_missed_in_order_without_duplicates_or_already_counted():
    contacts = [
        _contact("c1", "MISSED"),
        _contact("c2", "CONNECTED"),
        _contact("c3", "REJECTED"),
        _contact("c1", "MISSED"),
        _contact("c5", "ERROR"),
        _contact("c4", "REJECTED"),
    ]
    assert newly_missed({"c3"}, contacts) == ["c1", "c4"]
    assert newly_missed(frozenset(), contacts) == ["c1", "c3", "c4"]
    assert newly_missed(frozenset({"c1", "c3", "c4"}), contacts) == []
    assert newly_missed(set(), []) == []


# --- invariants over random timelines ---------------------------------------------------------

_STATUSES = st.sampled_from([AVAILABLE, CUSTOM, OFFLINE, None])
_STATES = st.lists(
    st.sampled_from(
        [
            "INCOMING",
            "PENDING",
            "CONNECTING",
            "CONNECTED",
            "CONNECTED_ONHOLD",
            "MISSED",
            "REJECTED",
            "ERROR",
            "ENDED",
            "PAUSED",
        ]
    ),
    max_size=3,
)
_EVENT = st.tuples(
    st.integers(min_value=0, max_value=300 * S),  # gap to previous event (0: same timestamp)
    st.booleans(),  # logout?
    _STATUSES,
    _STATES,
)


@st.composite
def _timelines(draw):
    t = B + draw(st.integers(min_value=-600 * S, max_value=600 * S))
    points = []
    for gap, logout, status, states in draw(st.lists(_EVENT, max_size=25)):
        t += gap
        points.append((t, 0 if logout else state_flags(status, states)))
    return points


def _reference_times(points, ws, we, timeout_ms):
    """Brute force: every point's interval against the window, no search, no shortcuts."""
    acc = [0] * 8
    bits = [ONLINE, NON_PRODUCTIVE, CONTACT, CONTACT_HANDLE, AFTER_CONTACT_WORK, IDLE, ERROR,
            CONNECTING]
    for i, (ms, flags) in enumerate(points):
        end = ms + timeout_ms
        if i + 1 < len(points):
            end = min(end, points[i + 1][0])
        overlap = max(0, min(end, we) - max(ms, ws))
        for k, bit in enumerate(bits):
            if flags & bit:
                acc[k] += overlap
    return AgentTimes(*(a / 1000 for a in acc))


@settings(max_examples=400, deadline=None)
@given(
    _timelines(),
    st.integers(min_value=-20, max_value=40),
    st.integers(min_value=1, max_value=10),
    st.sampled_from([240_000, 30_000, 1]),
)
def test_invariants_over_random_timelines(points, first_window, n_windows, timeout_ms):
    ws = B + first_window * W
    we = ws + n_windows * W
    t = window_times(points, ws, we, timeout_ms)
    length = (we - ws) / 1000
    assert all(v >= 0 for v in t)
    assert t.online_time <= length
    assert t.idle_time <= t.online_time
    assert t.contact_time <= t.online_time
    assert t.non_productive_time <= t.online_time
    assert t.idle_time + t.contact_time + t.non_productive_time <= t.online_time + 1e-9
    assert t.contact_time <= t.contact_handle_time
    assert t.after_contact_work_time <= t.contact_handle_time
    assert t.contact_handle_time <= length
    assert t.error_time <= length
    occupancy = agent_time_fields(t)["occupancy"]
    assert occupancy is None or 0.0 <= occupancy <= 100.0
    assert (occupancy is None) == (t.contact_time + t.idle_time == 0)

    # Same answer as brute force, and windows add up to their union.
    assert t == _reference_times(points, ws, we, timeout_ms)
    parts = [
        window_times(points, ws + k * W, ws + (k + 1) * W, timeout_ms) for k in range(n_windows)
    ]
    assert t.connecting_time <= t.online_time or t.connecting_time <= length
    for field in range(8):
        assert sum(p[field] for p in parts) == pytest.approx(t[field])
