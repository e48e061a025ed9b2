"""Mini-cluster tests of the whole job on a scripted scenario with hand-computed results.

Two agents over seven minutes: ann (voice: a call with hold and ACW that she transfers on, a
missed call, lunch, a routing-profile change, logout) and bob (two concurrent chats, then his
browser closes: no more events, offline 240 s after the last one); one transferred-in contact that
a flow sends to an external number. Every field of every output record is asserted, and the same
contacts delivered shuffled and with duplicated / re-delivered CTRs must give the same output. The
5-minute report interval is the rollup of the hand-computed minutes.
"""

from __future__ import annotations

import random

import pytest

from tests.jobrun import latest_by_key, run_files
from tests.payloads import agent_arn, agent_event, contact_event, ctr, queue_arn
from tests.rollup import rollup

THRESHOLDS = ("15", "20", "30", "60", "90", "120")
Q1, QCHAT = queue_arn("support"), queue_arn("chat")
ANN, BOB = agent_arn("ann"), agent_arn("bob")


def ann_events() -> list[str]:
    kw = dict(username="ann", routing_profile="Sales RP", hierarchy=("EU", "Team1"))
    e = [
        ("a1", "LOGIN", "09:00:00", "Available", ()),
        ("a2", "STATE_CHANGE", "09:00:30", "Available", (("c1", "CONNECTING", "support"),)),
        ("a3", "STATE_CHANGE", "09:00:40", "Available", (("c1", "CONNECTED", "support"),)),
        ("a4", "STATE_CHANGE", "09:01:10", "Available", (("c1", "CONNECTED_ONHOLD", "support"),)),
        ("a5", "STATE_CHANGE", "09:01:20", "Available", (("c1", "CONNECTED", "support"),)),
        ("a6", "STATE_CHANGE", "09:01:50", "Available", (("c1", "ENDED", "support"),)),
        ("a7", "STATE_CHANGE", "09:02:10", "Available", ()),
        ("a8", "STATE_CHANGE", "09:02:30", "Available", (("c2", "CONNECTING", "support"),)),
        ("a9", "STATE_CHANGE", "09:02:45", "Available", (("c2", "MISSED", "support"),)),
        ("a10", "STATE_CHANGE", "09:02:50", "Available", ()),
        ("a11", "STATE_CHANGE", "09:03:00", "Lunch", ()),
        ("a12", "HEART_BEAT", "09:05:00", "Lunch", ()),
    ]
    lines = [agent_event("ann", i, typ, at, status=st, contacts=c, **kw) for i, typ, at, st, c in e]
    v2 = dict(kw, routing_profile="Sales RP v2")
    lines.append(agent_event("ann", "a13", "STATE_CHANGE", "09:06:00", status="Available", **v2))
    lines.append(agent_event("ann", "a14", "LOGOUT", "09:06:30", status="Offline", **v2))
    lines.insert(4, lines[2])  # a duplicate event (same EventId) counts once
    return lines


def bob_events() -> list[str]:
    kw = dict(username="bob", routing_profile="Chat RP")
    e = [
        ("b1", "LOGIN", "09:00:00", ()),
        ("b2", "STATE_CHANGE", "09:01:00", (("c3", "CONNECTED"),)),
        ("b3", "STATE_CHANGE", "09:01:30", (("c3", "CONNECTED"), ("c4", "CONNECTED"))),
        ("b4", "STATE_CHANGE", "09:02:00", (("c3", "ENDED"), ("c4", "CONNECTED"))),
        ("b5", "STATE_CHANGE", "09:02:20", (("c4", "CONNECTED"),)),
        ("b6", "STATE_CHANGE", "09:02:40", (("c4", "ENDED"),)),
        ("b7", "STATE_CHANGE", "09:03:00", ()),
    ]
    return [agent_event("bob", i, typ, at, status="Available", contacts=c, **kw)
            for i, typ, at, c in e]


def agent_lines() -> list[str]:
    return sorted(ann_events() + bob_events(), key=lambda line: line.split('"EventTimestamp": ')[1])


CTRS = {
    "c1": ctr("c1", last_update="09:02:10", disconnect="09:01:50", queue="support",
              queue_name="Support", enqueued="09:00:20", dequeued="09:00:40", duration=20,
              agent="ann", routing_profile="CTR RP", connected="09:00:40", interaction=60,
              hold=10, holds=1, acw=20, next_contact="c1-next"),
    "c3": ctr("c3", last_update="09:02:20", disconnect="09:02:00", channel="CHAT", method="API",
              queue="chat", queue_name="Chat", enqueued="09:00:50", dequeued="09:01:00",
              duration=10, agent="bob", routing_profile="Chat RP", connected="09:01:00",
              interaction=60, hold=0, holds=0, acw=20),
    "c4": ctr("c4", last_update="09:03:00", disconnect="09:02:40", channel="CHAT", method="API",
              queue="chat", queue_name="Chat", enqueued="09:01:10", dequeued="09:01:30",
              duration=20, agent="bob", routing_profile="Chat RP", connected="09:01:30",
              interaction=70, hold=0, holds=0, acw=20),
    "c2": ctr("c2", last_update="09:03:10", disconnect="09:03:10", queue="support",
              queue_name="Support", enqueued="09:02:25", dequeued="09:03:10", duration=45),
    # transferred in to support, then a flow sends it to an external number after 30 s queued
    "c5": ctr("c5", last_update="09:04:50", disconnect="09:04:40", method="TRANSFER",
              initiated="09:03:55", queue="support", queue_name="Support", enqueued="09:04:00",
              dequeued="09:04:30", duration=30, transfer_completed="09:04:30",
              disconnect_reason="THIRD_PARTY_DISCONNECT"),
}


def contact_event_lines() -> list[str]:
    return [
        contact_event("QUEUED", "c1", queue="support", enqueued="09:00:20"),
        contact_event("QUEUED", "c1", queue="support", enqueued="09:00:20"),  # repeated
        contact_event("CONNECTED_TO_AGENT", "c1", queue="support", agent="ann",
                      connected="09:00:40"),
        contact_event("QUEUED", "c3", channel="Chat", method="API", queue="chat",
                      enqueued="09:00:50", bare=True),
        contact_event("CONNECTED_TO_AGENT", "c3", channel="CHAT", method="API", queue="chat",
                      agent="bob", connected="09:01:00"),
        contact_event("QUEUED", "c4", channel="CHAT", method="API", queue="chat",
                      enqueued="09:01:10"),
        contact_event("CONNECTED_TO_AGENT", "c4", channel="CHAT", method="API", queue="chat",
                      agent="bob", connected="09:01:30"),
        contact_event("DISCONNECTED", "c1", disconnected="09:01:50"),
        contact_event("QUEUED", "c2", queue="support", enqueued="09:02:25"),
        contact_event("DISCONNECTED", "c2", disconnected="09:03:10"),
    ]


# ---- expected values, computed by hand ---------------------------------------------------

def queue_expected(queue: str, name: str, channel: str, minute: str, **fields) -> dict:
    base = {
        "window_start": f"2024-01-15T09:{minute}:00Z",
        "window_end": f"2024-01-15T09:{int(minute) + 1:02d}:00Z", "window_seconds": 60,
        "queue_arn": queue, "queue_name": name, "channel": channel,
        "contacts_queued": 0, "contacts_handled": 0, "contacts_abandoned": 0,
        "abandonment_rate": None, "avg_queue_answer_time": None, "avg_queue_abandon_time": None,
        "max_queued_time": None,
        "contacts_answered_in_x": dict.fromkeys(THRESHOLDS, 0),
        "contacts_abandoned_in_x": dict.fromkeys(THRESHOLDS, 0),
        "service_level": dict.fromkeys(THRESHOLDS, None),
        "avg_handle_time": None, "avg_interaction_time": None,
        "avg_after_contact_work_time": None, "avg_hold_time": None,
        "contacts_put_on_hold": 0, "contacts_transferred_out": 0,
        "contacts_handled_by_initiation_method": {},
        "contacts_transferred_out_by_agent": 0, "contacts_transferred_out_external": 0,
        "contacts_transferred_in": 0, "avg_contact_duration": None,
        "contacts_disconnected_by_reason": {},
        "sum_queue_answer_time": 0.0, "sum_queue_abandon_time": 0.0, "sum_handle_time": 0.0,
        "sum_interaction_time": 0.0, "sum_after_contact_work_time": 0.0, "sum_hold_time": 0.0,
        "sum_contact_duration": 0.0,
        "contacts_queued_by_enqueue": 0, "contacts_connected_to_agent": 0, "contacts_missed": 0,
    }
    base.update(fields)
    base["key"] = f"{queue}|{channel}|{base['window_start']}"
    return base


def x(*values) -> dict:
    return dict(zip(THRESHOLDS, values))


EXPECTED_QUEUES = [
    queue_expected(Q1, "Support", "VOICE", "00", contacts_queued_by_enqueue=1,
                   contacts_connected_to_agent=1),
    queue_expected(Q1, "Support", "VOICE", "01", contacts_queued=1, contacts_handled=1,
                   abandonment_rate=0.0, avg_queue_answer_time=20.0, max_queued_time=20.0,
                   contacts_answered_in_x=x(0, 0, 1, 1, 1, 1),
                   service_level=x(0.0, 0.0, 100.0, 100.0, 100.0, 100.0),
                   avg_handle_time=90.0, avg_interaction_time=60.0,
                   avg_after_contact_work_time=20.0, avg_hold_time=10.0,
                   contacts_put_on_hold=1, contacts_handled_by_initiation_method={"INBOUND": 1},
                   # ann passed c1 on (NextContactId); initiated 09:00:20, disconnected 09:01:50
                   contacts_transferred_out=1, contacts_transferred_out_by_agent=1,
                   avg_contact_duration=90.0,
                   contacts_disconnected_by_reason={"CUSTOMER_DISCONNECT": 1},
                   sum_queue_answer_time=20.0, sum_handle_time=90.0, sum_interaction_time=60.0,
                   sum_after_contact_work_time=20.0, sum_hold_time=10.0,
                   sum_contact_duration=90.0),
    # c2 rang at ann and she missed it at 09:02:45
    queue_expected(Q1, "Support", "VOICE", "02", contacts_queued_by_enqueue=1,
                   contacts_missed=1),
    queue_expected(Q1, "Support", "VOICE", "03", contacts_queued=1, contacts_abandoned=1,
                   abandonment_rate=100.0, avg_queue_abandon_time=45.0, max_queued_time=45.0,
                   contacts_abandoned_in_x=x(0, 0, 0, 1, 1, 1),
                   service_level=x(0.0, 0.0, 0.0, 100.0, 100.0, 100.0),
                   avg_contact_duration=45.0,
                   contacts_disconnected_by_reason={"CUSTOMER_DISCONNECT": 1},
                   sum_queue_abandon_time=45.0, sum_contact_duration=45.0),
    # c5: queued 30 s (not < 30), transferred out externally, so not abandoned
    queue_expected(Q1, "Support", "VOICE", "04", contacts_queued=1, abandonment_rate=0.0,
                   max_queued_time=30.0, service_level=x(0.0, 0.0, 0.0, 100.0, 100.0, 100.0),
                   contacts_transferred_out=1, contacts_transferred_out_external=1,
                   contacts_transferred_in=1, avg_contact_duration=45.0,
                   contacts_disconnected_by_reason={"THIRD_PARTY_DISCONNECT": 1},
                   sum_contact_duration=45.0),
    queue_expected(QCHAT, "Chat", "CHAT", "00", contacts_queued_by_enqueue=1),
    queue_expected(QCHAT, "Chat", "CHAT", "01", contacts_queued_by_enqueue=1,
                   contacts_connected_to_agent=2),
    queue_expected(QCHAT, "Chat", "CHAT", "02", contacts_queued=2, contacts_handled=2,
                   abandonment_rate=0.0, avg_queue_answer_time=15.0, max_queued_time=20.0,
                   contacts_answered_in_x=x(1, 1, 2, 2, 2, 2),
                   service_level=x(50.0, 50.0, 100.0, 100.0, 100.0, 100.0),
                   avg_handle_time=85.0, avg_interaction_time=65.0,
                   avg_after_contact_work_time=20.0,
                   contacts_handled_by_initiation_method={"API": 2},
                   # c3 09:00:50-09:02:00, c4 09:01:10-09:02:40
                   avg_contact_duration=80.0,
                   contacts_disconnected_by_reason={"CUSTOMER_DISCONNECT": 2},
                   sum_queue_answer_time=30.0, sum_handle_time=170.0, sum_interaction_time=130.0,
                   sum_after_contact_work_time=40.0, sum_contact_duration=160.0),
]


def agent_expected(agent: str, minute: int, names: tuple, online=0.0, npt=0.0, contact=0.0,
                   handle=0.0, acw=0.0, idle=0.0, error=0.0, occupancy=None, missed=0,
                   handled=0, aht=None, acw_avg=None, interaction=None, hold=None,
                   connecting=0.0, held=0, sums=(0.0, 0.0, 0.0, 0.0)) -> dict:
    start = f"2024-01-15T09:{minute:02d}:00Z"
    return {
        "key": f"{agent}|{start}", "window_start": start,
        "window_end": f"2024-01-15T09:{minute + 1:02d}:00Z", "window_seconds": 60,
        "agent_arn": agent,
        "username": names[0], "routing_profile": names[1], "hierarchy": names[2],
        "online_time": online, "non_productive_time": npt, "contact_time": contact,
        "contact_handle_time": handle, "after_contact_work_time": acw, "idle_time": idle,
        "error_time": error, "occupancy": occupancy, "agent_non_response": missed,
        "connecting_time": connecting,
        "contacts_handled": handled, "avg_handle_time": aht, "avg_after_contact_work_time": acw_avg,
        "avg_interaction_time": interaction, "avg_hold_time": hold,
        "contacts_put_on_hold": held, "sum_handle_time": sums[0], "sum_interaction_time": sums[1],
        "sum_after_contact_work_time": sums[2], "sum_hold_time": sums[3],
    }


ANN_V1 = ("ann", "Sales RP", ["EU", "Team1"])
ANN_V2 = ("ann", "Sales RP v2", ["EU", "Team1"])
BOB_N = ("bob", "Chat RP", None)
EXPECTED_AGENTS = [
    # 30 s idle, 10 s ringing (neither idle nor contact), 20 s on the call
    agent_expected(ANN, 0, ANN_V1, online=60.0, contact=20.0, handle=20.0, idle=30.0,
                   occupancy=40.0, connecting=10.0),
    # talk 10 + hold 10 + talk 30 + ACW 10; c1 disconnected at 09:01:50 -> handled here
    agent_expected(ANN, 1, ANN_V1, online=60.0, contact=60.0, handle=60.0, acw=10.0,
                   occupancy=100.0, handled=1, aht=90.0, acw_avg=20.0, interaction=60.0,
                   hold=10.0, held=1, sums=(90.0, 60.0, 20.0, 10.0)),
    # ACW 10, idle 20, ringing 15, missed 5 (idle and error at once), idle 10
    agent_expected(ANN, 2, ANN_V1, online=60.0, contact=10.0, handle=10.0, acw=10.0, idle=35.0,
                   error=5.0, occupancy=100 * 10.0 / 45.0, missed=1, connecting=15.0),
    agent_expected(ANN, 3, ANN_V1, online=60.0, npt=60.0),
    agent_expected(ANN, 4, ANN_V1, online=60.0, npt=60.0),
    agent_expected(ANN, 5, ANN_V1, online=60.0, npt=60.0),
    agent_expected(ANN, 6, ANN_V2, online=30.0, idle=30.0, occupancy=0.0),
    agent_expected(BOB, 0, BOB_N, online=60.0, idle=60.0, occupancy=0.0),
    agent_expected(BOB, 1, BOB_N, online=60.0, contact=60.0, handle=60.0, occupancy=100.0),
    # c3 ENDED while c4 CONNECTED is contact, not ACW; c4 ENDED alone is ACW
    agent_expected(BOB, 2, BOB_N, online=60.0, contact=60.0, handle=60.0, acw=20.0,
                   occupancy=100.0, handled=2, aht=85.0, acw_avg=20.0, interaction=65.0,
                   sums=(170.0, 130.0, 40.0, 0.0)),
    # no event after 09:03:00: idle until 240 s later, then offline
    *[agent_expected(BOB, m, BOB_N, online=60.0, idle=60.0, occupancy=0.0) for m in (3, 4, 5, 6)],
]

EXPECTED_FACT_NAMES = {  # contact -> (username, routing profile, hierarchy) at connect time
    "c1": ("ann", "Sales RP", ["EU", "Team1"]),
    "c2": (None, None, None),
    "c3": ("bob", "Chat RP", None),
    "c4": ("bob", "Chat RP", None),
    "c5": (None, None, None),
}


def strip_revision(records: dict) -> dict:
    return {k: {f: v for f, v in r.items() if f != "revision"} for k, r in records.items()}


def assert_expected(out: dict) -> None:
    queues = strip_revision(latest_by_key(out["queue_metrics"]))
    early_only = {q["key"] for q in EXPECTED_QUEUES if q["contacts_queued"] == 0}
    for key in early_only:  # name of a window without CTRs: whatever the job learned so far
        assert queues[key]["queue_name"] in (None, "Support", "Chat")
        queues[key]["queue_name"] = next(q["queue_name"] for q in EXPECTED_QUEUES
                                         if q["key"] == key)
    assert queues == {q["key"]: q for q in EXPECTED_QUEUES}
    agents = strip_revision(latest_by_key(out["agent_metrics"]))
    assert agents == {a["key"]: a for a in EXPECTED_AGENTS}
    facts = latest_by_key(out["contacts"])
    assert set(facts) == set(EXPECTED_FACT_NAMES)
    for cid, names in EXPECTED_FACT_NAMES.items():
        f = facts[cid]
        assert (f["username"], f["routing_profile"], f["hierarchy"]) == names
        assert f["revision"] == 1
    assert facts["c1"]["queue_duration"] == 20.0
    assert facts["c1"]["connected_to_agent_timestamp"] == "2024-01-15T09:00:40Z"
    assert facts["c2"]["agent_arn"] is None
    assert out["deadletter"] == []
    for r in out["queue_metrics"] + out["agent_metrics"] + out["contacts"]:
        assert "+1555" not in str(r) and "accountNumber" not in str(r)


@pytest.fixture(scope="module")
def in_order(tmp_path_factory) -> dict:
    return run_files(tmp_path_factory.mktemp("in_order"), contact_event_lines(),
                     list(CTRS.values()), agent_lines(), extra=["--report-windows", "5m"])


def test_in_order_every_field(in_order):
    assert_expected(in_order)


def test_no_duplicate_revisions_in_order(in_order):
    keys = [r["key"] for r in in_order["contacts"]]
    assert sorted(keys) == ["c1", "c2", "c3", "c4", "c5"]


def test_five_minute_report_is_the_rollup_of_the_minutes(in_order):
    assert_five_minute_report(in_order["queue_metrics_5m"], in_order["agent_metrics_5m"])


def assert_five_minute_report(queue_records: list, agent_records: list) -> None:
    """The ``--report-windows 5m`` records: the rollup of the hand-computed minutes."""
    queues = strip_revision(latest_by_key(queue_records))
    agents = strip_revision(latest_by_key(agent_records))
    assert queues == rollup(EXPECTED_QUEUES, 300_000)
    assert agents == rollup(EXPECTED_AGENTS, 300_000)
    # a few numbers by hand: support 09:00-09:05 had c1, c2 and c5 queued (D 20, 45, 30)
    q1 = queues[f"{Q1}|VOICE|2024-01-15T09:00:00Z"]
    assert (q1["contacts_queued"], q1["max_queued_time"], q1["contacts_missed"]) == (3, 45.0, 1)
    assert q1["service_level"] == x(0.0, 0.0, 100 / 3, 100.0, 100.0, 100.0)
    assert q1["avg_contact_duration"] == 60.0  # (90 + 45 + 45) / 3
    ann = agents[f"{ANN}|2024-01-15T09:00:00Z"]
    assert (ann["online_time"], ann["connecting_time"], ann["window_seconds"]) == (300.0, 25.0, 300)
    assert agents[f"{ANN}|2024-01-15T09:05:00Z"]["routing_profile"] == "Sales RP v2"
    assert len(agents) == 4 and len(queues) == 2
    assert all(r["revision"] == 1 for r in queue_records + agent_records)


def _jittered(lines: list[str], seed: int) -> list[str]:
    """Shuffle lines whose positions are close: within the 60 s out-of-orderness bound."""
    rng = random.Random(seed)
    keyed = [(i + rng.uniform(0, 3), line) for i, line in enumerate(lines)]
    return [line for _, line in sorted(keyed)]


def test_shuffled_within_bounds(tmp_path):
    out = run_files(tmp_path, _jittered(contact_event_lines(), 1),
                    _jittered(list(CTRS.values()), 2), agent_lines())
    assert_expected(out)


def test_duplicated_and_redelivered_ctrs(tmp_path):
    rng = random.Random(7)
    ctrs = []
    for line in CTRS.values():
        ctrs += [line] * rng.choice((2, 3))
    ctrs += [CTRS["c1"], CTRS["c3"]]  # re-delivered after their windows closed
    out = run_files(tmp_path, contact_event_lines(), ctrs, agent_lines())
    assert_expected(out)
