"""normalize_ctr: data-model fixtures, derived queue duration, casing, nulls, rejects, PII."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from udfs.parse_ctr import normalize_ctr
from udfs.records import ContactRecord, DeadLetter

FIXTURES = Path(__file__).parent / "fixtures"
DAY = 1_628_035_200_000  # 2021-08-04T00:00:00Z
INSTANCE = "arn:aws:connect:us-west-2:111122223333:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"


def at(h: int, m: int, s: int, ms: int = 0) -> int:
    """Epoch ms of a time on 2021-08-04 (UTC), computed independently of the parser."""
    return DAY + ((h * 60 + m) * 60 + s) * 1000 + ms


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _no_agent() -> dict:
    return dict(agent_arn=None, agent_username=None, agent_routing_profile=None,
                agent_hierarchy=None, connected_to_agent_ms=None,
                agent_interaction_duration=None, customer_hold_duration=None,
                after_contact_work_duration=None, number_of_holds=None,
                longest_hold_duration=None)


def test_inbound_handled() -> None:
    assert normalize_ctr(_fixture("ctr_inbound_handled.json")) == ContactRecord(
        contact_id="11111111-1111-1111-1111-111111111111",
        last_update_ms=at(17, 37, 42),
        event_ms=at(17, 36, 9),
        channel="VOICE",
        initiation_method="INBOUND",
        initial_contact_id=None,
        previous_contact_id=None,
        next_contact_id=None,
        initiation_ms=at(17, 28, 52),
        connected_to_system_ms=at(17, 28, 52),
        disconnect_ms=at(17, 36, 9),
        disconnect_reason="CUSTOMER_DISCONNECT",
        transfer_completed_ms=None,
        queue_arn=f"{INSTANCE}/queue/q-billing",
        queue_name="Billing",
        enqueue_ms=at(17, 29, 4),
        dequeue_ms=at(17, 29, 9),
        queue_duration=5.0,
        agent_arn=f"{INSTANCE}/agent/agent-1",
        agent_username="jdoe",
        agent_routing_profile="Basic Routing Profile",
        agent_hierarchy=("EMEA", "Dublin", "Billing Team"),
        connected_to_agent_ms=at(17, 29, 9),
        agent_interaction_duration=366.0,
        customer_hold_duration=54.0,
        after_contact_work_duration=31.0,
        number_of_holds=2,
        longest_hold_duration=40.0,
    )


def test_inbound_abandoned_agent_null() -> None:
    assert normalize_ctr(_fixture("ctr_inbound_abandoned.json")) == ContactRecord(
        contact_id="22222222-2222-2222-2222-222222222222",
        last_update_ms=at(17, 42, 1),
        event_ms=at(17, 41, 13),
        channel="VOICE",
        initiation_method="INBOUND",
        initial_contact_id=None,
        previous_contact_id=None,
        next_contact_id=None,
        initiation_ms=at(17, 40, 0),
        connected_to_system_ms=at(17, 40, 0),
        disconnect_ms=at(17, 41, 13),
        disconnect_reason="CUSTOMER_DISCONNECT",
        transfer_completed_ms=None,
        queue_arn=f"{INSTANCE}/queue/q-billing",
        queue_name="Billing",
        enqueue_ms=at(17, 40, 15),
        dequeue_ms=at(17, 41, 13),
        queue_duration=58.0,
        **_no_agent(),
    )


def test_transferred_external_duration_derived_from_timestamps() -> None:
    assert normalize_ctr(_fixture("ctr_transferred_external.json")) == ContactRecord(
        contact_id="33333333-3333-3333-3333-333333333333",
        last_update_ms=at(18, 4, 40),
        event_ms=at(18, 4, 5),
        channel="VOICE",
        initiation_method="TRANSFER",
        initial_contact_id="44444444-4444-4444-4444-444444444444",
        previous_contact_id="44444444-4444-4444-4444-444444444444",
        next_contact_id="55555555-5555-5555-5555-555555555555",
        initiation_ms=at(18, 1, 55),
        connected_to_system_ms=at(18, 1, 55),
        disconnect_ms=at(18, 4, 5),
        disconnect_reason="AGENT_DISCONNECT",
        transfer_completed_ms=at(18, 4, 4),
        queue_arn=f"{INSTANCE}/queue/q-sales",
        queue_name="Sales",
        enqueue_ms=at(18, 2, 1),
        dequeue_ms=at(18, 2, 30),
        queue_duration=29.0,  # Duration null: (18:02:30 - 18:02:01)
        agent_arn=f"{INSTANCE}/agent/agent-2",
        agent_username="asmith",
        agent_routing_profile="Sales",
        agent_hierarchy=None,
        connected_to_agent_ms=at(18, 2, 30),
        agent_interaction_duration=95.0,
        customer_hold_duration=0.0,
        after_contact_work_duration=0.0,
        number_of_holds=0,
        longest_hold_duration=0.0,
    )


def test_chat_without_queue_or_disconnect_uses_last_update() -> None:
    assert normalize_ctr(_fixture("ctr_chat_flow_only.json")) == ContactRecord(
        contact_id="66666666-6666-6666-6666-666666666666",
        last_update_ms=at(19, 3, 10, 500),
        event_ms=at(19, 3, 10, 500),
        channel="CHAT",  # "Chat"
        initiation_method="API",  # "Api"
        initial_contact_id=None,
        previous_contact_id=None,
        next_contact_id=None,
        initiation_ms=at(19, 0, 0, 250),
        connected_to_system_ms=at(19, 0, 0, 250),
        disconnect_ms=None,
        disconnect_reason=None,
        transfer_completed_ms=None,
        queue_arn=None,
        queue_name=None,
        enqueue_ms=None,
        dequeue_ms=None,
        queue_duration=None,
        **_no_agent(),
    )


MINIMAL = {"ContactId": "C1", "LastUpdateTimestamp": "2021-08-04T17:00:00Z"}


def test_minimal_ctr_queue_and_agent_absent() -> None:
    rec = normalize_ctr(orjson.dumps(MINIMAL))
    assert rec == ContactRecord("C1", at(17, 0, 0), at(17, 0, 0), *([None] * 25))


def test_lower_and_camel_case_keys() -> None:
    raw = {
        "contactId": "C1",
        "lastUpdateTimestamp": "2021-08-04T17:05:00.000Z",
        "DISCONNECTTIMESTAMP": "2021-08-04T17:04:00Z",
        "channel": "task",
        "queue": {"arn": "q", "name": "Q", "enqueueTimestamp": "2021-08-04T17:00:00Z",
                  "dequeueTimestamp": "2021-08-04T17:00:10.500Z", "duration": None},
        "agent": {"Arn": "a", "username": "u", "routingProfile": {"name": "RP"},
                  "hierarchyGroups": {"level1": {"groupName": "L1"}, "Level2": {"Name": "L2"}},
                  "connectedToAgentTimestamp": "2021-08-04T17:00:10Z",
                  "agentInteractionDuration": 1.5, "numberOfHolds": 1.0},
    }
    rec = normalize_ctr(orjson.dumps(raw))
    assert rec == ContactRecord(
        "C1", at(17, 5, 0), at(17, 4, 0), "TASK", None, None, None, None, None, None,
        at(17, 4, 0), None, None, "q", "Q", at(17, 0, 0), at(17, 0, 10, 500), 10.5,
        "a", "u", "RP", ("L1", "L2"), at(17, 0, 10), 1.5, None, None, 1, None,
    )


def test_empty_objects_and_empty_strings_mean_absent() -> None:
    raw = dict(MINIMAL, Queue={}, Agent={"RoutingProfile": None, "HierarchyGroups": {}},
               NextContactId="", DisconnectTimestamp="", Channel="")
    rec = normalize_ctr(orjson.dumps(raw))
    assert rec == ContactRecord("C1", at(17, 0, 0), at(17, 0, 0), *([None] * 25))


def test_queue_duration_not_derived_from_one_timestamp() -> None:
    raw = dict(MINIMAL, Queue={"EnqueueTimestamp": "2021-08-04T17:00:00Z"})
    assert normalize_ctr(orjson.dumps(raw)).queue_duration is None


def test_pii_never_copied() -> None:
    rec = normalize_ctr(_fixture("ctr_inbound_handled.json"))
    text = repr(rec)
    for secret in ("+15555550100", "+15555550199", "9876543210", "connect-recordings"):
        assert secret not in text
    rec = normalize_ctr(_fixture("ctr_transferred_external.json"))
    assert "+15555550177" not in repr(rec) and "Jane Customer" not in repr(rec)


def test_endpoint_and_attribute_garbage_is_ignored() -> None:
    raw = dict(MINIMAL, CustomerEndpoint=5, Attributes="x", References={"a": [1]},
               ContactDetails=None, SystemEndpoint=[1])
    assert type(normalize_ctr(orjson.dumps(raw))) is ContactRecord


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"ContactId": None}, "missing_field: ContactId"),
        ({"ContactId": 12}, "bad_type: ContactId: expected string, got int"),
        ({"ContactId": ""}, "bad_value: ContactId: empty string"),
        ({"LastUpdateTimestamp": None}, "missing_field: LastUpdateTimestamp"),
        ({"LastUpdateTimestamp": "2021-08-04T17:00:00"},
         "bad_timestamp: LastUpdateTimestamp: timestamp has no UTC offset: "
         "'2021-08-04T17:00:00'"),
        ({"LastUpdateTimestamp": 1628096400000},
         "bad_timestamp: LastUpdateTimestamp: expected ISO-8601 string, got int"),
        ({"DisconnectTimestamp": "soon"},
         "bad_timestamp: DisconnectTimestamp: not an ISO-8601 timestamp: 'soon'"),
        ({"Queue": "Billing"}, "bad_type: Queue: expected object, got str"),
        ({"Agent": []}, "bad_type: Agent: expected object, got list"),
        ({"Queue": {"Duration": "abc"}}, "bad_type: Queue.Duration: expected number, got str"),
        ({"Queue": {"Duration": True}}, "bad_type: Queue.Duration: expected number, got bool"),
        ({"Queue": {"Duration": -3}}, "bad_value: Queue.Duration: negative duration -3"),
        ({"Queue": {"EnqueueTimestamp": "2021-08-04T17:00:10Z",
                    "DequeueTimestamp": "2021-08-04T17:00:00Z"}},
         "bad_value: Queue.Duration: DequeueTimestamp before EnqueueTimestamp"),
        ({"Queue": {"ARN": ["q"]}}, "bad_type: Queue.ARN: expected string, got list"),
        ({"Queue": {"EnqueueTimestamp": 5}},
         "bad_timestamp: Queue.EnqueueTimestamp: expected ISO-8601 string, got int"),
        ({"Agent": {"NumberOfHolds": "x"}},
         "bad_type: Agent.NumberOfHolds: expected integer, got str"),
        ({"Agent": {"NumberOfHolds": 1.5}},
         "bad_value: Agent.NumberOfHolds: not a non-negative integer: 1.5"),
        ({"Agent": {"CustomerHoldDuration": -0.5}},
         "bad_value: Agent.CustomerHoldDuration: negative duration -0.5"),
        ({"Agent": {"AgentInteractionDuration": "12"}},
         "bad_type: Agent.AgentInteractionDuration: expected number, got str"),
        ({"Agent": {"AfterContactWorkDuration": {}}},
         "bad_type: Agent.AfterContactWorkDuration: expected number, got dict"),
        ({"Agent": {"LongestHoldDuration": False}},
         "bad_type: Agent.LongestHoldDuration: expected number, got bool"),
        ({"Agent": {"RoutingProfile": "RP"}},
         "bad_type: Agent.RoutingProfile: expected object, got str"),
        ({"Agent": {"RoutingProfile": {"Name": 1}}},
         "bad_type: Agent.RoutingProfile.Name: expected string, got int"),
        ({"Agent": {"HierarchyGroups": {"Level1": {"GroupName": 1}}}},
         "bad_type: Agent.HierarchyGroups.Level1.GroupName: expected string, got int"),
        ({"Agent": {"ConnectedToAgentTimestamp": "2021-08-04T25:00:00Z"}},
         "bad_timestamp: Agent.ConnectedToAgentTimestamp: hour 25 out of range 0..23"),
        ({"Channel": 3}, "bad_type: Channel: expected string, got int"),
        ({"NextContactId": 3}, "bad_type: NextContactId: expected string, got int"),
        ({"DisconnectReason": ["x"]}, "bad_type: DisconnectReason: expected string, got list"),
    ],
)
def test_rejects(extra: dict, error: str) -> None:
    raw = orjson.dumps(dict(MINIMAL, **extra))
    rec = normalize_ctr(raw)
    assert type(rec) is DeadLetter
    assert rec.error == error
    assert rec.stream == "ctrs"
    assert rec.raw == raw.decode()


def test_missing_required_fields() -> None:
    assert normalize_ctr(b'{"LastUpdateTimestamp": "2021-08-04T17:00:00Z"}').error == (
        "missing_field: ContactId"
    )
    assert normalize_ctr(b'{"ContactId": "C1"}').error == "missing_field: LastUpdateTimestamp"
    assert normalize_ctr(b"[]").error == "not_object: got list"
    assert normalize_ctr(b"{]").error.startswith("not_json: ")


NEW = "arn:aws:connect:us-east-1:111122223333:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"
MAR_5 = 1_709_596_800_000  # 2024-03-05T00:00:00Z


def mar5(h: int, m: int, s: int, ms: int = 0) -> int:
    return MAR_5 + ((h * 60 + m) * 60 + s) * 1000 + ms


def test_disconnect_flow_ctr_with_agent_and_queue_null() -> None:
    """The segment Connect writes for a disconnect flow: InitiationMethod DISCONNECT, no queue,
    no agent, and the newer top-level fields (Tags, SegmentAttributes, ContactAssociationId,
    DisconnectDetails, ...), which are accepted and never read."""
    rec = normalize_ctr(_fixture("ctr_disconnect_flow.json"))
    assert rec == ContactRecord(
        contact_id="99999999-9999-9999-9999-999999999999",
        last_update_ms=mar5(14, 8, 31),
        event_ms=mar5(14, 7, 25, 500),
        channel="VOICE",
        initiation_method="DISCONNECT",
        initial_contact_id="77777777-7777-7777-7777-777777777777",
        previous_contact_id="77777777-7777-7777-7777-777777777777",
        next_contact_id=None,
        initiation_ms=mar5(14, 6, 40, 7),
        connected_to_system_ms=mar5(14, 6, 40, 120),
        disconnect_ms=mar5(14, 7, 25, 500),
        disconnect_reason="CONTACT_FLOW_DISCONNECT",
        transfer_completed_ms=None,
        queue_arn=None,
        queue_name=None,
        enqueue_ms=None,
        dequeue_ms=None,
        queue_duration=None,
        **_no_agent(),
    )
    assert "+15555550100" not in repr(rec) and "surveyResult" not in repr(rec)


@pytest.mark.parametrize("value", ["yesterday", 5, {"t": 1}])
def test_unused_connected_to_system_timestamp_malformed_is_ignored(value: object) -> None:
    """Nothing downstream reads ConnectedToSystemTimestamp: a bad one must not lose the CTR."""
    rec = normalize_ctr(orjson.dumps(dict(MINIMAL, ConnectedToSystemTimestamp=value)))
    assert type(rec) is ContactRecord and rec.connected_to_system_ms is None
