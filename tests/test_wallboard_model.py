"""The wallboard's view model: which record wins, what the page shows, all without Kafka."""

from __future__ import annotations

import pytest

from tools.wallboard.model import (
    AGENT,
    AGENT_LIVE,
    QUEUE,
    QUEUE_LIVE,
    Board,
    activity_since,
    fmt_percent,
    fmt_seconds,
    rollup,
)

Q = "arn:aws:connect:us-east-1:1:instance/i/queue/q1"
A = "arn:aws:connect:us-east-1:1:instance/i/agent/a1"


def qwin(start: str, revision: int = 1, **fields) -> dict:
    end = start[:14] + f"{int(start[14:16]) + 1:02d}" + start[16:]
    rec = {"key": f"{Q}|VOICE|{start}", "revision": revision, "window_start": start,
           "window_end": end, "queue_arn": Q, "queue_name": "Sales", "channel": "VOICE",
           "contacts_queued": 4, "contacts_handled": 3, "contacts_abandoned": 1,
           "abandonment_rate": 25.0, "service_level": {"20": 75.0}, "avg_handle_time": 200.0,
           "sum_handle_time": 600.0, "avg_queue_answer_time": 12.0,
           "contacts_queued_by_enqueue": 5}
    rec.update(fields)
    return rec


def qlive(as_of: str, in_queue: int = 2, **fields) -> dict:
    rec = {"key": f"{Q}|VOICE", "as_of": as_of, "queue_arn": Q, "queue_name": "Sales",
           "channel": "VOICE", "contacts_in_queue": in_queue, "oldest_contact_age": 75.5,
           "agents_online": 5, "agents_staffed": 4, "agents_available": 1,
           "agents_on_contact": 3, "agents_non_productive": 1, "agents_after_contact_work": 1,
           "agents_error": 0, "slots_active": 3, "slots_available": 1}
    rec.update(fields)
    return rec


def alive(as_of: str, activity: str, contacts=(), **fields) -> dict:
    rec = {"key": A, "as_of": as_of, "agent_arn": A, "username": "jdoe",
           "routing_profile": "Sales Team", "hierarchy": None, "status": "Available",
           "status_type": "ROUTABLE", "status_since": "2024-01-15T08:00:00Z",
           "activity": activity, "online": True, "contacts": list(contacts)}
    rec.update(fields)
    return rec


def test_highest_revision_per_key_wins_whatever_the_arrival_order():
    board = Board()
    assert board.add(QUEUE, qwin("2024-01-15T08:05:00Z", 2, contacts_queued=9))
    assert not board.add(QUEUE, qwin("2024-01-15T08:05:00Z", 1, contacts_queued=1))
    assert not board.add(QUEUE, qwin("2024-01-15T08:05:00Z", 2, contacts_queued=1))
    [card] = board.view()["queues"]
    assert card["window"]["contacts_queued"] == "9" and card["window"]["revision"] == 2


def test_the_newest_window_is_shown_and_the_hour_is_rolled_up_from_sums():
    board = Board()
    board.add(QUEUE, qwin("2024-01-15T08:06:00Z", contacts_queued=2, contacts_handled=2,
                          contacts_abandoned=0, abandonment_rate=0.0,
                          service_level={"20": 50.0}, sum_handle_time=100.0,
                          avg_handle_time=50.0))
    board.add(QUEUE, qwin("2024-01-15T08:05:00Z"))
    [card] = board.view()["queues"]
    assert card["window"]["start"] == "2024-01-15T08:06:00Z"
    assert card["window"]["service_level"] == "50.0 %"
    assert card["window"]["avg_handle_time"] == "50 s"
    # hour: (75% of 4 + 50% of 2) / 6 queued; 1 of 6 abandoned; 700 s / 5 handled
    assert card["hour"] == {"service_level": "66.7 %", "abandonment_rate": "16.7 %",
                            "avg_handle_time": "2:20", "contacts_queued": "6",
                            "contacts_handled": "5", "contacts_abandoned": "1"}
    assert [(p["t"], p["queued"]) for p in card["chart"]] == [("2024-01-15T08:05:00Z", 4),
                                                               ("2024-01-15T08:06:00Z", 2)]
    # the chart's rates are rolling (15 min): the second point covers both windows
    assert [round(p["sl"], 1) for p in card["chart"]] == [75.0, 66.7]
    assert [round(p["abandon"], 1) for p in card["chart"]] == [25.0, 16.7]
    assert card["live"] is None  # before the live topics exist: windowed metrics only


def test_a_queue_keeps_its_name_when_its_newest_window_has_none():
    board = Board()
    board.add(QUEUE, qwin("2024-01-15T08:05:00Z"))
    board.add(QUEUE, qwin("2024-01-15T08:06:00Z", queue_name=None))
    assert board.view()["queues"][0]["name"] == "Sales"


def test_rollup_of_nothing_is_null_not_zero():
    assert rollup([]) == {"contacts_queued": 0, "contacts_handled": 0, "contacts_abandoned": 0,
                          "service_level": None, "abandonment_rate": None,
                          "avg_handle_time": None}


def test_old_windows_fall_out_of_the_hour_and_out_of_memory():
    board = Board()
    board.add(QUEUE, qwin("2024-01-15T08:00:00Z"))
    board.add(QUEUE, qwin("2024-01-15T09:30:00Z"))
    assert len(board.queue_windows) == 1
    assert len(board.view()["queues"][0]["chart"]) == 1


def test_live_gauges_newest_tick_wins_and_are_formatted():
    board = Board()
    board.add(QUEUE, qwin("2024-01-15T08:05:00Z"))
    assert board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:20Z", 3))
    assert not board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:10Z", 7))  # an older tick
    view = board.view()
    [card] = view["queues"]
    assert view["live"] and view["clock"] == "2024-01-15T08:06:20Z"
    assert card["live"]["contacts_in_queue"] == "3"
    assert card["live"]["oldest_contact_age"] == "1:15"
    assert card["live"]["agents_available"] == "1" and card["live"]["agents_on_contact"] == "3"
    assert card["live"]["agents_after_contact_work"] == "1"
    assert board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:30Z", 0, oldest_contact_age=None))
    assert board.view()["queues"][0]["live"]["oldest_contact_age"] == "–"


def test_an_agent_queue_shows_only_while_a_contact_waits_in_it():
    board = Board()
    arn = "arn:aws:connect:us-east-1:1:instance/i/queue/agent/a1"
    board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:20Z", 1, key=f"{arn}|VOICE", queue_arn=arn,
                                queue_name=None))
    [card] = board.view()["queues"]
    assert card["agent_queue"] and card["name"] == "a1"
    board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:30Z", 0, key=f"{arn}|VOICE", queue_arn=arn,
                                queue_name=None))
    assert board.view()["queues"] == []


def test_agent_time_in_state_runs_on_the_board_clock_from_the_activity_start():
    board = Board()
    contact = {"contact_id": "c1", "channel": "VOICE", "state": "CONNECTED",
               "state_since": "2024-01-15T08:04:00Z", "queue_arn": Q}
    board.add(AGENT_LIVE, alive("2024-01-15T08:04:10Z", "On contact", [contact]))
    board.add(QUEUE_LIVE, qlive("2024-01-15T08:06:10Z"))  # the clock moves on
    [row] = board.view()["agents"]
    assert row["live"]["activity"] == "On contact" and row["live"]["since"] == \
        "2024-01-15T08:04:00Z"
    assert row["live"]["time_in_state"] == "2:10" and row["live"]["contacts"] == 1


def test_activity_since_is_the_status_start_without_a_matching_contact():
    assert activity_since(alive("2024-01-15T08:04:10Z", "Available")) == \
        activity_since({"status_since": "2024-01-15T08:00:00Z"})
    acw = {"state": "ENDED", "state_since": "2024-01-15T08:03:00.500Z"}
    other = {"state": "CONNECTED", "state_since": "2024-01-15T08:01:00Z"}
    assert activity_since(alive("x", "After contact work", [other, acw])) == \
        activity_since({"status_since": "2024-01-15T08:03:00.500Z"})


def test_agents_without_live_records_show_their_newest_window():
    board = Board()
    for start, occ in (("2024-01-15T08:05:00Z", 50.0), ("2024-01-15T08:06:00Z", 80.0)):
        board.add(AGENT, {"key": f"{A}|{start}", "revision": 1, "window_start": start,
                          "window_end": start, "agent_arn": A, "username": "jdoe",
                          "routing_profile": "Sales Team", "online_time": 60.0,
                          "contact_time": 48.0, "after_contact_work_time": 5.0,
                          "idle_time": 12.0, "non_productive_time": 0.0, "occupancy": occ,
                          "contacts_handled": 2})
    [row] = board.view()["agents"]
    assert row["live"] is None and row["name"] == "jdoe"
    assert row["window"]["occupancy"] == "80.0 %" and row["window"]["contacts_handled"] == "2"


def test_offline_agents_sort_after_online_ones():
    board = Board()
    board.add(AGENT_LIVE, alive("2024-01-15T08:04:10Z", "Offline", online=False, username="aa"))
    board.add(AGENT_LIVE, alive("2024-01-15T08:04:10Z", "Available", key="b", agent_arn="b",
                                username="zz"))
    assert [r["name"] for r in board.view()["agents"]] == ["zz", "aa"]


@pytest.mark.parametrize("value,text", [(None, "–"), (0, "0 s"), (59.9, "59 s"), (60, "1:00"),
                                        (3725, "1:02:05"), (-3, "0 s")])
def test_fmt_seconds(value, text):
    assert fmt_seconds(value) == text


def test_fmt_percent_and_unknown_kinds():
    assert fmt_percent(None) == "–" and fmt_percent(83.333) == "83.3 %"
    with pytest.raises(ValueError):
        Board().add("contacts", {"key": "x"})
