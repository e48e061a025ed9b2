"""Output record builders: exact field names, order, keys, timestamps and null handling."""

from __future__ import annotations

import orjson
import pytest

from udfs.agent_intervals import AgentTimes, agent_time_fields
from udfs.contact_metrics import ctr_contribution, handled_fields, queue_fields
from udfs.output_records import (
    agent_record,
    contact_fact_record,
    dead_letter_record,
    queue_record,
    window_key_iso,
)
from udfs.records import ContactRecord, DeadLetter

B = 1_705_305_660_000  # 2024-01-15T08:01:00Z
QUEUE = "arn:aws:connect:us-east-1:111122223333:instance/i-1/queue/q-1"
AGENT = "arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/a-1"


def test_window_key_iso():
    assert window_key_iso(B) == "2024-01-15T08:01:00Z"
    assert window_key_iso(B + 250) == "2024-01-15T08:01:00.250Z"
    assert window_key_iso(0) == "1970-01-01T00:00:00Z"


def test_queue_record_for_a_window_with_only_early_signals():
    rec = queue_record(QUEUE, "VOICE", B, 60_000, 1, None, queue_fields([], [15, 20], 2, 1))
    assert rec == {
        "key": f"{QUEUE}|VOICE|2024-01-15T08:01:00Z",
        "revision": 1,
        "window_start": "2024-01-15T08:01:00Z",
        "window_end": "2024-01-15T08:02:00Z",
        "window_seconds": 60,
        "queue_arn": QUEUE,
        "queue_name": None,
        "channel": "VOICE",
        "contacts_queued": 0,
        "contacts_handled": 0,
        "contacts_abandoned": 0,
        "abandonment_rate": None,
        "avg_queue_answer_time": None,
        "avg_queue_abandon_time": None,
        "max_queued_time": None,
        "contacts_answered_in_x": {"15": 0, "20": 0},
        "contacts_abandoned_in_x": {"15": 0, "20": 0},
        "service_level": {"15": None, "20": None},
        "avg_handle_time": None,
        "avg_interaction_time": None,
        "avg_after_contact_work_time": None,
        "avg_hold_time": None,
        "contacts_put_on_hold": 0,
        "contacts_transferred_out": 0,
        "contacts_handled_by_initiation_method": {},
        "contacts_transferred_out_by_agent": 0,
        "contacts_transferred_out_external": 0,
        "contacts_transferred_in": 0,
        "avg_contact_duration": None,
        "contacts_disconnected_by_reason": {},
        "sum_queue_answer_time": 0.0,
        "sum_queue_abandon_time": 0.0,
        "sum_handle_time": 0.0,
        "sum_interaction_time": 0.0,
        "sum_after_contact_work_time": 0.0,
        "sum_hold_time": 0.0,
        "sum_contact_duration": 0.0,
        "contacts_queued_by_enqueue": 2,
        "contacts_connected_to_agent": 1,
        "contacts_missed": 0,
    }
    assert list(rec) == [
        "key",
        "revision",
        "window_start",
        "window_end",
        "window_seconds",
        "queue_arn",
        "queue_name",
        "channel",
        "contacts_queued",
        "contacts_handled",
        "contacts_abandoned",
        "abandonment_rate",
        "avg_queue_answer_time",
        "avg_queue_abandon_time",
        "max_queued_time",
        "contacts_answered_in_x",
        "contacts_abandoned_in_x",
        "service_level",
        "avg_handle_time",
        "avg_interaction_time",
        "avg_after_contact_work_time",
        "avg_hold_time",
        "contacts_put_on_hold",
        "contacts_transferred_out",
        "contacts_handled_by_initiation_method",
        "contacts_transferred_out_by_agent",
        "contacts_transferred_out_external",
        "contacts_transferred_in",
        "avg_contact_duration",
        "contacts_disconnected_by_reason",
        "sum_queue_answer_time",
        "sum_queue_abandon_time",
        "sum_handle_time",
        "sum_interaction_time",
        "sum_after_contact_work_time",
        "sum_hold_time",
        "sum_contact_duration",
        "contacts_queued_by_enqueue",
        "contacts_connected_to_agent",
        "contacts_missed",
    ]


def test_queue_record_field_order_does_not_depend_on_the_fields_dict_order():
    fields = queue_fields([], [15], 0, 0)
    shuffled = dict(reversed(list(fields.items())))
    a = queue_record(QUEUE, "CHAT", B, 60_000, 3, "Sales", fields)
    b = queue_record(QUEUE, "CHAT", B, 60_000, 3, "Sales", shuffled)
    assert list(a) == list(b)
    assert a == b
    assert a["key"] == f"{QUEUE}|CHAT|2024-01-15T08:01:00Z"
    assert a["revision"] == 3
    assert a["queue_name"] == "Sales"


def test_queue_record_missing_metric_fails_loudly():
    fields = queue_fields([], [15], 0, 0)
    del fields["service_level"]
    with pytest.raises(KeyError):
        queue_record(QUEUE, "VOICE", B, 60_000, 1, None, fields)


def test_queue_record_with_window_size_and_millisecond_start():
    rec = queue_record(QUEUE, "TASK", B + 500, 300_000, 2, "Q", queue_fields([], [15], 0, 0))
    assert rec["window_start"] == "2024-01-15T08:01:00.500Z"
    assert rec["window_end"] == "2024-01-15T08:06:00.500Z"
    assert rec["window_seconds"] == 300
    assert rec["key"] == f"{QUEUE}|TASK|2024-01-15T08:01:00.500Z"


AGENT_FIELD_ORDER = [
    "key",
    "revision",
    "window_start",
    "window_end",
    "window_seconds",
    "agent_arn",
    "username",
    "routing_profile",
    "hierarchy",
    "online_time",
    "non_productive_time",
    "contact_time",
    "contact_handle_time",
    "after_contact_work_time",
    "idle_time",
    "error_time",
    "occupancy",
    "agent_non_response",
    "connecting_time",
    "contacts_handled",
    "avg_handle_time",
    "avg_after_contact_work_time",
    "avg_interaction_time",
    "avg_hold_time",
    "contacts_put_on_hold",
    "sum_handle_time",
    "sum_interaction_time",
    "sum_after_contact_work_time",
    "sum_hold_time",
]


def _ctr(**kw) -> ContactRecord:
    base = dict.fromkeys(ContactRecord._fields)
    base.update(contact_id="c-1", last_update_ms=B + 90_000, event_ms=B + 30_000)
    base.update(kw)
    return ContactRecord(**base)


def test_agent_record():
    tf = agent_time_fields(AgentTimes(60.0, 0.0, 45.0, 45.0, 5.0, 15.0, 0.0, 3.0))
    handled = handled_fields(
        [
            ctr_contribution(
                _ctr(
                    connected_to_agent_ms=B,
                    agent_interaction_duration=40.0,
                    customer_hold_duration=10.0,
                    after_contact_work_duration=6.0,
                    number_of_holds=1,
                )
            ),
            ctr_contribution(_ctr(connected_to_agent_ms=B, agent_interaction_duration=20.0)),
        ]
    )
    rec = agent_record(
        AGENT, B, 60_000, 2, "jdoe", "Basic Routing Profile", ("Europe", "Paris"), tf, 1, handled
    )
    assert rec == {
        "key": f"{AGENT}|2024-01-15T08:01:00Z",
        "revision": 2,
        "window_start": "2024-01-15T08:01:00Z",
        "window_end": "2024-01-15T08:02:00Z",
        "window_seconds": 60,
        "agent_arn": AGENT,
        "username": "jdoe",
        "routing_profile": "Basic Routing Profile",
        "hierarchy": ["Europe", "Paris"],
        "online_time": 60.0,
        "non_productive_time": 0.0,
        "contact_time": 45.0,
        "contact_handle_time": 45.0,
        "after_contact_work_time": 5.0,
        "idle_time": 15.0,
        "error_time": 0.0,
        "occupancy": 75.0,
        "agent_non_response": 1,
        "connecting_time": 3.0,
        "contacts_handled": 2,
        "avg_handle_time": 38.0,  # (56 + 20) / 2
        "avg_after_contact_work_time": 3.0,
        "avg_interaction_time": 30.0,
        "avg_hold_time": 10.0,
        "contacts_put_on_hold": 1,
        "sum_handle_time": 76.0,
        "sum_interaction_time": 60.0,
        "sum_after_contact_work_time": 6.0,
        "sum_hold_time": 10.0,
    }
    assert list(rec) == AGENT_FIELD_ORDER


@pytest.mark.parametrize("hierarchy", [None, ()])
def test_agent_record_without_hierarchy_or_activity(hierarchy):
    tf = agent_time_fields(AgentTimes(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    rec = agent_record(AGENT, B, 60_000, 1, None, None, hierarchy, tf, 0, handled_fields([]))
    assert rec["hierarchy"] is None
    assert rec["username"] is None
    assert rec["routing_profile"] is None
    assert rec["occupancy"] is None
    assert rec["contacts_handled"] == 0
    assert rec["avg_handle_time"] is None
    assert list(rec) == AGENT_FIELD_ORDER


def test_contact_fact_record_full():
    rec = _ctr(
        contact_id="c-2",
        last_update_ms=B + 400_123,
        event_ms=B + 300_000,
        channel="VOICE",
        initiation_method="TRANSFER",
        initial_contact_id="c-0",
        previous_contact_id="c-1",
        next_contact_id="c-3",
        initiation_ms=B,
        connected_to_system_ms=B + 1_000,
        disconnect_ms=B + 300_000,
        disconnect_reason="AGENT_DISCONNECT",
        transfer_completed_ms=B + 299_500,
        queue_arn=QUEUE,
        queue_name="Sales",
        enqueue_ms=B + 2_000,
        dequeue_ms=B + 14_000,
        queue_duration=12,
        agent_arn=AGENT,
        agent_username="ctr-username",
        agent_routing_profile="ctr-profile",
        agent_hierarchy=("ctr-level",),
        connected_to_agent_ms=B + 14_000,
        agent_interaction_duration=200,
        customer_hold_duration=30.0,
        after_contact_work_duration=15.0,
        number_of_holds=2,
        longest_hold_duration=20.0,
    )
    fact = contact_fact_record(rec, 4, "jdoe", "Basic", ("Europe", "Paris", "Team 1"))
    assert fact == {
        "key": "c-2",
        "revision": 4,
        "contact_id": "c-2",
        "channel": "VOICE",
        "initiation_method": "TRANSFER",
        "initial_contact_id": "c-0",
        "previous_contact_id": "c-1",
        "next_contact_id": "c-3",
        "initiation_timestamp": "2024-01-15T08:01:00Z",
        "enqueue_timestamp": "2024-01-15T08:01:02Z",
        "dequeue_timestamp": "2024-01-15T08:01:14Z",
        "connected_to_agent_timestamp": "2024-01-15T08:01:14Z",
        "disconnect_timestamp": "2024-01-15T08:06:00Z",
        "last_update_timestamp": "2024-01-15T08:07:40.123Z",
        "disconnect_reason": "AGENT_DISCONNECT",
        "transfer_completed_timestamp": "2024-01-15T08:05:59.500Z",
        "queue_arn": QUEUE,
        "queue_name": "Sales",
        "queue_duration": 12.0,
        "agent_arn": AGENT,
        "username": "jdoe",
        "routing_profile": "Basic",
        "hierarchy": ["Europe", "Paris", "Team 1"],
        "agent_interaction_duration": 200.0,
        "customer_hold_duration": 30.0,
        "after_contact_work_duration": 15.0,
        "number_of_holds": 2,
        "longest_hold_duration": 20.0,
    }
    assert list(fact) == [
        "key",
        "revision",
        "contact_id",
        "channel",
        "initiation_method",
        "initial_contact_id",
        "previous_contact_id",
        "next_contact_id",
        "initiation_timestamp",
        "enqueue_timestamp",
        "dequeue_timestamp",
        "connected_to_agent_timestamp",
        "disconnect_timestamp",
        "last_update_timestamp",
        "disconnect_reason",
        "transfer_completed_timestamp",
        "queue_arn",
        "queue_name",
        "queue_duration",
        "agent_arn",
        "username",
        "routing_profile",
        "hierarchy",
        "agent_interaction_duration",
        "customer_hold_duration",
        "after_contact_work_duration",
        "number_of_holds",
        "longest_hold_duration",
    ]
    assert type(fact["queue_duration"]) is float
    assert type(fact["agent_interaction_duration"]) is float


def test_contact_fact_record_nulls():
    fact = contact_fact_record(_ctr(), 1, None, None, None)
    assert fact["key"] == "c-1"
    assert fact["last_update_timestamp"] == "2024-01-15T08:02:30Z"
    nullable = set(fact) - {"key", "revision", "contact_id", "last_update_timestamp"}
    assert {name: fact[name] for name in nullable} == dict.fromkeys(nullable)


def test_dead_letter_record():
    d = DeadLetter(
        key="ctrs:abc", stream="ctrs", error="not JSON", raw="{oops", at="2024-01-15T08:01:00Z"
    )
    rec = dead_letter_record(d)
    assert rec == {
        "key": "ctrs:abc",
        "stream": "ctrs",
        "error": "not JSON",
        "raw": "{oops",
        "at": "2024-01-15T08:01:00Z",
    }
    assert list(rec) == ["key", "stream", "error", "raw", "at"]


def test_records_serialize_to_json_in_field_order():
    rec = queue_record(QUEUE, "VOICE", B, 60_000, 1, "Q", queue_fields([], [15], 0, 0))
    text = orjson.dumps(rec).decode()
    assert text.startswith('{"key":"' + QUEUE + '|VOICE|2024-01-15T08:01:00Z","revision":1,')
    assert '"service_level":{"15":null}' in text
    assert orjson.loads(text) == rec
