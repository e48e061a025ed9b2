"""Mini-cluster test of the live path on a scripted scenario, every gauge at every tick by hand.

Ticks every 10 s; agent timeout 60 s (``--agent-timeout``) so the scenario stays short.

- ann serves Support (VOICE) and her own agent queue: idle, c1 rings (09:00:21), she answers
  (:25), ACW (:55), idle again (09:01:05), a heartbeat (09:01:35), then silence: offline from
  09:02:35.
- bob serves Support (VOICE) and Chat (CHAT): idle from 09:00:05, chat c3 (:38), Break while on
  c3 (:44), c3 gone (09:01:00), LOGOUT (09:01:08).
- cat logs in at 09:03:00 and serves nothing: the last event time read, so ticks stop there.
- c1 queued :12 -> answered :25; c2 queued :18 -> abandoned :47; c3 (chat) queued :27 ->
  answered :38; c4 queued 09:01:11 and its later events are lost: its CTR (LastUpdate 09:01:30)
  ends its stay from 09:01:31; c5 waits in ann's agent queue 09:01:15-09:01:22.
"""

from __future__ import annotations

import pytest

from tests.live_job import run_live
from tests.payloads import agent_arn, agent_event, contact_event, ctr, queue_arn

SUPPORT, CHAT, ANN_Q = queue_arn("support"), queue_arn("chat"), queue_arn("agent/ann")
ANN, BOB, CAT = agent_arn("ann"), agent_arn("bob"), agent_arn("cat")
DAY = "2024-01-15T"

ANN_KW = dict(username="ann", routing_profile="Voice RP",
              queues=(("support", ("VOICE",), "Support"), ("agent/ann", ("VOICE",), None)))
BOB_KW = dict(username="bob", routing_profile="Blended RP",
              queues=(("support", ("VOICE",), "Support"), ("chat", ("CHAT",), "Chat")))


def agent_lines() -> list[str]:
    c1 = ("c1", "CONNECTING", "support", "VOICE", "INBOUND")
    c3 = ("c3", "CONNECTED", "chat", "CHAT", "INBOUND")
    ann = [
        ("a1", "LOGIN", "09:00:00", "Available", (), 1),
        ("a2", "STATE_CHANGE", "09:00:21", "Available", (c1,), 0),
        ("a3", "STATE_CHANGE", "09:00:25", "Available", (c1[:1] + ("CONNECTED",) + c1[2:],), 0),
        ("a4", "STATE_CHANGE", "09:00:55", "Available", (c1[:1] + ("ENDED",) + c1[2:],), 0),
        ("a5", "STATE_CHANGE", "09:01:05", "Available", (), 1),
        ("a6", "HEART_BEAT", "09:01:35", "Available", (), 1),
    ]
    bob = [
        ("b1", "LOGIN", "09:00:05", "Available", (), (1, 2)),
        ("b2", "STATE_CHANGE", "09:00:38", "Available", (c3,), (0, 1)),
        ("b3", "STATE_CHANGE", "09:00:44", "Break", (c3 + ("09:00:38",),), (0, 1)),
        ("b4", "STATE_CHANGE", "09:01:00", "Break", (), (1, 2)),
        ("b5", "LOGOUT", "09:01:08", "Offline", (), (1, 2)),
    ]
    lines = [(at, agent_event("ann", i, typ, at, status=st, contacts=c,
                              slots=(("VOICE", v),), **ANN_KW))
             for i, typ, at, st, c, v in ann]
    lines += [(at, agent_event("bob", i, typ, at, status=st, contacts=c,
                               slots=(("VOICE", v), ("CHAT", ch)), **BOB_KW))
              for i, typ, at, st, c, (v, ch) in bob]
    lines.append(("09:00:25", lines[2][1]))  # a duplicate (same EventId) changes nothing
    lines.append(("09:03:00", agent_event("cat", "k1", "LOGIN", "09:03:00", status="Available")))
    return [line for _, line in sorted(lines, key=lambda p: p[0])]


def contact_lines() -> list[str]:
    return [
        contact_event("QUEUED", "c1", queue="support", enqueued="09:00:12"),
        contact_event("QUEUED", "c1", queue="support", enqueued="09:00:12"),  # repeated
        contact_event("QUEUED", "c2", queue="support", enqueued="09:00:18"),
        contact_event("CONNECTED_TO_AGENT", "c1", queue="support", enqueued="09:00:12",
                      agent="ann", connected="09:00:25"),
        contact_event("QUEUED", "c3", channel="Chat", queue="chat", enqueued="09:00:27"),
        contact_event("CONNECTED_TO_AGENT", "c3", channel="CHAT", queue="chat",
                      enqueued="09:00:27", agent="bob", connected="09:00:38"),
        contact_event("DISCONNECTED", "c2", queue="support", enqueued="09:00:18",
                      disconnected="09:00:47"),
        contact_event("DISCONNECTED", "c1", queue="support", enqueued="09:00:12",
                      agent="ann", connected="09:00:25", disconnected="09:00:55"),
        contact_event("QUEUED", "c4", queue="support", enqueued="09:01:11"),
        contact_event("QUEUED", "c5", queue="agent/ann", enqueued="09:01:15"),
        contact_event("DISCONNECTED", "c5", queue="agent/ann", enqueued="09:01:15",
                      disconnected="09:01:22"),
    ]


# one CTR: read before the contact stream's watermark moves (its own starts at the CTR)
CTRS = [ctr("c4", last_update="09:01:30", disconnect="09:01:24", queue="support",
            queue_name="Support", enqueued="09:01:11", dequeued="09:01:24", duration=13)]

GAUGES = ("contacts_in_queue", "oldest_contact_age", "agents_online", "agents_staffed",
          "agents_available", "agents_on_contact", "agents_non_productive",
          "agents_after_contact_work", "agents_error", "slots_active", "slots_available")


def rows(queue: str, name, channel: str, table: list[tuple]) -> list[dict]:
    return [{"key": f"{queue}|{channel}", "as_of": f"{DAY}{at}Z", "queue_arn": queue,
             "queue_name": name, "channel": channel, **dict(zip(GAUGES, values))}
            for at, *values in table]


IDLE_ANN = (1, 1, 1, 0, 0, 0, 0, 0, 1)
#                 in  oldest online staffed avail on npt acw err s_act s_avail
SUPPORT_TABLE = [
    ("09:00:00", 0, None, *IDLE_ANN),
    ("09:00:10", 0, None, 2, 2, 2, 0, 0, 0, 0, 0, 2),
    ("09:00:20", 2, 8.0, 2, 2, 2, 0, 0, 0, 0, 0, 2),
    ("09:00:30", 1, 12.0, 2, 2, 1, 1, 0, 0, 0, 1, 1),
    ("09:00:40", 1, 22.0, 2, 2, 0, 2, 0, 0, 0, 1, 0),
    ("09:00:50", 0, None, 2, 1, 0, 2, 1, 0, 0, 1, 0),
    ("09:01:00", 0, None, 2, 1, 0, 1, 1, 1, 0, 1, 0),
    ("09:01:10", 0, None, *IDLE_ANN),
    ("09:01:20", 1, 9.0, *IDLE_ANN),
    ("09:01:30", 1, 19.0, *IDLE_ANN),
    *[(f"09:0{m}:{s}0", 0, None, *IDLE_ANN) for m, s in
      ((1, 4), (1, 5), (2, 0), (2, 1), (2, 2), (2, 3))],
    ("09:02:40", 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
]
CHAT_TABLE = [
    ("09:00:10", 0, None, 1, 1, 1, 0, 0, 0, 0, 0, 2),
    ("09:00:20", 0, None, 1, 1, 1, 0, 0, 0, 0, 0, 2),
    ("09:00:30", 1, 3.0, 1, 1, 1, 0, 0, 0, 0, 0, 2),
    ("09:00:40", 0, None, 1, 1, 0, 1, 0, 0, 0, 1, 1),
    ("09:00:50", 0, None, 1, 0, 0, 1, 1, 0, 0, 1, 0),
    ("09:01:00", 0, None, 1, 0, 0, 0, 1, 0, 0, 0, 0),
    ("09:01:10", 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
]
ANN_Q_TABLE = [  # an agent's own queue: only while a contact waits in it, then one zero record
    ("09:01:20", 1, 5.0, *IDLE_ANN),
    ("09:01:30", 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
]


def agent_row(arn: str, at: str, status: str, since: str, activity: str, contacts=(),
              username=None, routing_profile="Basic", online=True) -> dict:
    status_type = {"Available": "ROUTABLE", "Offline": "OFFLINE"}.get(status, "CUSTOM")
    return {"key": arn, "as_of": f"{DAY}{at}Z", "agent_arn": arn, "username": username,
            "routing_profile": routing_profile, "hierarchy": None, "status": status,
            "status_type": status_type, "status_since": f"{DAY}{since}Z", "activity": activity,
            "online": online,
            "contacts": [{"contact_id": cid, "channel": ch, "state": state,
                          "state_since": f"{DAY}{s}Z", "queue_arn": q}
                         for cid, ch, state, s, q in contacts]}


def expected_agents() -> list[dict]:
    a = dict(username="ann", routing_profile="Voice RP")
    b = dict(username="bob", routing_profile="Blended RP")
    c3 = ("c3", "CHAT", "CONNECTED", "09:00:38", CHAT)
    return [
        agent_row(ANN, "09:00:00", "Available", "09:00:00", "Available", **a),
        agent_row(ANN, "09:00:30", "Available", "09:00:00", "On contact",
                  [("c1", "VOICE", "CONNECTED", "09:00:25", SUPPORT)], **a),
        agent_row(ANN, "09:01:00", "Available", "09:00:00", "After contact work",
                  [("c1", "VOICE", "ENDED", "09:00:55", SUPPORT)], **a),
        agent_row(ANN, "09:01:10", "Available", "09:00:00", "Available", **a),
        agent_row(ANN, "09:02:40", "Offline", "09:02:35", "Offline", online=False, **a),
        agent_row(BOB, "09:00:10", "Available", "09:00:05", "Available", **b),
        agent_row(BOB, "09:00:40", "Available", "09:00:05", "On contact", [c3], **b),
        agent_row(BOB, "09:00:50", "Break", "09:00:44", "On contact", [c3], **b),
        agent_row(BOB, "09:01:00", "Break", "09:00:44", "Break", **b),
        agent_row(BOB, "09:01:10", "Offline", "09:01:08", "Offline", online=False, **b),
        agent_row(CAT, "09:03:00", "Available", "09:03:00", "Available", username="cat"),
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> dict:
    return run_live(tmp_path_factory.mktemp("live"), contact_events=contact_lines(), ctrs=CTRS,
                    agent_events=agent_lines(), extra=["--agent-timeout", "60s"])


def by_key(records: list[dict], key: str) -> list[dict]:
    return sorted((r for r in records if r["key"] == key), key=lambda r: r["as_of"])


def test_queue_gauges_at_every_tick(live):
    got = live["queue_live"]
    assert by_key(got, f"{SUPPORT}|VOICE") == rows(SUPPORT, "Support", "VOICE", SUPPORT_TABLE)
    assert by_key(got, f"{CHAT}|CHAT") == rows(CHAT, "Chat", "CHAT", CHAT_TABLE)
    assert by_key(got, f"{ANN_Q}|VOICE") == rows(ANN_Q, None, "VOICE", ANN_Q_TABLE)
    assert len(got) == len(SUPPORT_TABLE) + len(CHAT_TABLE) + len(ANN_Q_TABLE)


def test_agent_records_when_they_change(live):
    got = sorted(live["agent_live"], key=lambda r: (r["key"], r["as_of"]))
    assert got == sorted(expected_agents(), key=lambda r: (r["key"], r["as_of"]))
