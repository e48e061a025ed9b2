"""normalize_contact_event: doc samples, casing, event time per type, rejects."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from udfs.parse_contact_event import normalize_contact_event
from udfs.records import ContactEvent, DeadLetter

FIXTURES = Path(__file__).parent / "fixtures"
DAY = 1_628_035_200_000  # 2021-08-04T00:00:00Z


def at(h: int, m: int, s: int, ms: int = 0) -> int:
    """Epoch ms of a time on 2021-08-04 (UTC), computed independently of the parser."""
    return DAY + ((h * 60 + m) * 60 + s) * 1000 + ms


ARN = "arn:aws::connect:us-west-2:123456789012:instance/12345678-1234-1234-1234-123456789012"


def test_sample_connected_to_agent_bare_detail() -> None:
    raw = (FIXTURES / "contact_event_connected_to_agent.json").read_bytes()
    assert normalize_contact_event(raw) == ContactEvent(
        contact_id="11111111-1111-1111-1111-111111111111",
        event_type="CONNECTED_TO_AGENT",
        event_ms=at(17, 29, 9),
        channel="VOICE",
        initiation_method="INBOUND",
        queue_arn=f"{ARN}/queue/12345678-1234-1234-1234-123456789012",
        agent_arn=f"{ARN}/agent/12345678-1234-1234-1234-123456789012",
        initial_contact_id=None,
        previous_contact_id=None,
        initiation_ms=at(17, 17, 53),
        enqueue_ms=at(17, 29, 4),
        connected_to_agent_ms=at(17, 29, 9),
        disconnect_ms=None,
    )


def test_sample_disconnected_envelope_mixed_casing() -> None:
    raw = (FIXTURES / "contact_event_disconnected.json").read_bytes()
    assert normalize_contact_event(raw) == ContactEvent(
        contact_id="11111111-1111-1111-1111-111111111111",
        event_type="DISCONNECTED",
        event_ms=at(17, 18, 37),  # disconnectTimestamp, not the envelope time 17:43:48
        channel="VOICE",  # "Voice" in the payload
        initiation_method="OUTBOUND",
        queue_arn="arn",
        agent_arn="arn",  # from "AgentInfo": {"AgentArn": ...}
        initial_contact_id="11111111-2222-3333-4444-555555555555",
        previous_contact_id="11111111-2222-3333-4444-555555555555",
        initiation_ms=at(17, 17, 53),
        enqueue_ms=at(17, 29, 4),
        connected_to_agent_ms=at(17, 29, 9),
        disconnect_ms=at(17, 18, 37),
    )


def _event(event_type: str, **detail: object) -> dict:
    return {"contactId": "C1", "eventType": event_type, **detail}


def _envelope(detail: dict, time: object = "2021-08-04T17:43:48Z") -> bytes:
    return orjson.dumps(
        {"detail-type": "Amazon Connect Contact Event", "time": time, "detail": detail}
    )


FULL_TIMES = {
    "initiationTimestamp": "2021-08-04T17:00:00.000Z",
    "connectedToSystemTimestamp": "2021-08-04T17:00:01Z",
    "queueInfo": {"queueArn": "q", "enqueueTimestamp": "2021-08-04T17:00:02.5Z"},
    "agentInfo": {"agentArn": "a", "connectedToAgentTimestamp": "2021-08-04T17:00:03Z"},
    "disconnectTimestamp": "2021-08-04T17:00:04.000Z",
}


@pytest.mark.parametrize(
    "event_type, expected_ms",
    [
        ("INITIATED", at(17, 0, 0)),
        ("CONNECTED_TO_SYSTEM", at(17, 0, 1)),
        ("QUEUED", at(17, 0, 2, 500)),
        ("CONNECTED_TO_AGENT", at(17, 0, 3)),
        ("DISCONNECTED", at(17, 0, 4)),
        ("queued", at(17, 0, 2, 500)),  # event type casing
        ("COMPLETED", at(17, 43, 48)),  # unknown types use the envelope time
        ("CONTACT_DATA_UPDATED", at(17, 43, 48)),
        ("PAUSED", at(17, 43, 48)),
    ],
)
def test_event_time_per_type(event_type: str, expected_ms: int) -> None:
    rec = normalize_contact_event(_envelope(_event(event_type, **FULL_TIMES)))
    assert type(rec) is ContactEvent
    assert rec.event_type == event_type.upper()
    assert rec.event_ms == expected_ms


@pytest.mark.parametrize(
    "event_type", ["INITIATED", "CONNECTED_TO_SYSTEM", "QUEUED", "CONNECTED_TO_AGENT",
                   "DISCONNECTED"]
)
def test_event_time_falls_back_to_envelope_when_type_field_is_null(event_type: str) -> None:
    detail = _event(event_type, initiationTimestamp=None, connectedToSystemTimestamp=None,
                    disconnectTimestamp=None, queueInfo={"enqueueTimestamp": None},
                    agentInfo=None)
    rec = normalize_contact_event(_envelope(detail))
    assert type(rec) is ContactEvent and rec.event_ms == at(17, 43, 48)


def test_no_usable_time_is_dead_letter() -> None:
    rec = normalize_contact_event(orjson.dumps(_event("QUEUED", queueInfo={"queueArn": "q"})))
    assert type(rec) is DeadLetter
    assert rec.error == ("missing_field: time (no queueInfo.enqueueTimestamp, envelope time or "
                         "lifecycle timestamp)")
    assert rec.stream == "contact_events"
    rec = normalize_contact_event(orjson.dumps(_event("COMPLETED")))
    assert rec.error == "missing_field: time (no envelope time or lifecycle timestamp)"
    rec = normalize_contact_event(_envelope(_event("COMPLETED"), time=None))
    assert rec.error == "missing_field: time (no envelope time or lifecycle timestamp)"


# --- bare events of the newer types (no envelope time): SPEC §2's lifecycle fallback --------

NEW = "arn:aws:connect:us-east-1:111122223333:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"
MAR_5 = 1_709_596_800_000  # 2024-03-05T00:00:00Z


def mar5(h: int, m: int, s: int, ms: int = 0) -> int:
    return MAR_5 + ((h * 60 + m) * 60 + s) * 1000 + ms


def test_bare_completed_uses_its_disconnect_timestamp() -> None:
    """Issue 15.7: Connect sends COMPLETED without an envelope; it was 'missing_field: time'."""
    raw = (FIXTURES / "contact_event_completed_bare.json").read_bytes()
    assert normalize_contact_event(raw) == ContactEvent(
        contact_id="77777777-7777-7777-7777-777777777777",
        event_type="COMPLETED",
        event_ms=mar5(14, 6, 40, 7),  # disconnectTimestamp: the latest stage it carries
        channel="VOICE",
        initiation_method="INBOUND",
        queue_arn=f"{NEW}/queue/bbbbbbbb-0000-0000-0000-000000000001",
        agent_arn=f"{NEW}/agent/cccccccc-0000-0000-0000-000000000001",
        initial_contact_id="77777777-7777-7777-7777-777777777777",
        previous_contact_id=None,
        initiation_ms=mar5(14, 0, 1, 120),
        enqueue_ms=mar5(14, 0, 12, 300),
        connected_to_agent_ms=mar5(14, 0, 31, 900),
        disconnect_ms=mar5(14, 6, 40, 7),
    )


def test_bare_contact_data_updated_uses_its_latest_lifecycle_timestamp() -> None:
    """updatedProperties, Tags, SegmentAttributes, ContactAssociationId are accepted, not read."""
    raw = (FIXTURES / "contact_event_contact_data_updated_bare.json").read_bytes()
    assert normalize_contact_event(raw) == ContactEvent(
        contact_id="88888888-8888-8888-8888-888888888888",
        event_type="CONTACT_DATA_UPDATED",
        event_ms=mar5(15, 10, 20, 750),  # connected to agent; no disconnect yet
        channel="CHAT",
        initiation_method="API",
        queue_arn=f"{NEW}/queue/bbbbbbbb-0000-0000-0000-000000000002",
        agent_arn=f"{NEW}/agent/cccccccc-0000-0000-0000-000000000002",
        initial_contact_id=None,
        previous_contact_id=None,
        initiation_ms=mar5(15, 10, 0),
        enqueue_ms=mar5(15, 10, 4, 250),
        connected_to_agent_ms=mar5(15, 10, 20, 750),
        disconnect_ms=None,
    )


FALLBACK_ORDER = [  # (field present, its time in FULL_TIMES), latest stage first
    ("disconnectTimestamp", at(17, 0, 4)),
    ("agentInfo", at(17, 0, 3)),
    ("queueInfo", at(17, 0, 2, 500)),
    ("connectedToSystemTimestamp", at(17, 0, 1)),
    ("initiationTimestamp", at(17, 0, 0)),
]


@pytest.mark.parametrize("event_type", ["COMPLETED", "CONTACT_DATA_UPDATED", "PAUSED"])
@pytest.mark.parametrize("first", range(len(FALLBACK_ORDER)))
def test_fallback_is_the_first_present_in_lifecycle_order(event_type: str, first: int) -> None:
    """Without the envelope: disconnect, connected to agent, enqueue, connected to system,
    initiation — the first one present (the fields before ``first`` are absent)."""
    absent = {name for name, _ in FALLBACK_ORDER[:first]}
    detail = _event(event_type, **{k: v for k, v in FULL_TIMES.items() if k not in absent})
    rec = normalize_contact_event(orjson.dumps(detail))
    assert type(rec) is ContactEvent and rec.event_ms == FALLBACK_ORDER[first][1]


def test_fallback_takes_the_order_not_the_maximum() -> None:
    """The rule is positional (the Java source mirrors it): a disconnect earlier than the
    enqueue (bad data) still wins."""
    detail = _event("COMPLETED", disconnectTimestamp="2021-08-04T16:00:00Z",
                    queueInfo={"enqueueTimestamp": "2021-08-04T17:00:00Z"})
    assert normalize_contact_event(orjson.dumps(detail)).event_ms == at(16, 0, 0)


def test_envelope_time_wins_over_the_fallback() -> None:
    rec = normalize_contact_event(_envelope(_event("COMPLETED", **FULL_TIMES)))
    assert rec.event_ms == at(17, 43, 48)


@pytest.mark.parametrize("event_type", ["QUEUED", "CONNECTED_TO_AGENT", "DISCONNECTED",
                                        "INITIATED", "CONNECTED_TO_SYSTEM"])
def test_typed_event_without_its_timestamp_or_envelope_falls_back(event_type: str) -> None:
    field = {"QUEUED": "queueInfo", "CONNECTED_TO_AGENT": "agentInfo",
             "DISCONNECTED": "disconnectTimestamp", "INITIATED": "initiationTimestamp",
             "CONNECTED_TO_SYSTEM": "connectedToSystemTimestamp"}[event_type]
    detail = _event(event_type, **{k: v for k, v in FULL_TIMES.items() if k != field})
    expected = next(ms for name, ms in FALLBACK_ORDER if name != field)
    assert normalize_contact_event(orjson.dumps(detail)).event_ms == expected


@pytest.mark.parametrize("value", [5, {"id": "x"}, ["a"], True])
def test_unused_contact_ids_malformed_are_ignored(value: object) -> None:
    """initialContactId / previousContactId feed nothing: a bad one is dropped, not fatal."""
    detail = _event("INITIATED", initiationTimestamp="2021-08-04T17:00:00Z",
                    initialContactId=value, previousContactId=value)
    rec = normalize_contact_event(orjson.dumps(detail))
    assert type(rec) is ContactEvent
    assert (rec.initial_contact_id, rec.previous_contact_id) == (None, None)


def test_all_pascal_case_and_upper_case_keys() -> None:
    detail = {
        "ContactId": "C1",
        "EventType": "QUEUED",
        "Channel": "chat",
        "InitiationMethod": "Api",
        "QueueInfo": {"QueueArn": "q", "EnqueueTimestamp": "2021-08-04T17:00:02Z"},
        "AGENTINFO": {"AGENTARN": "a"},
        "INITIALCONTACTID": "I",
        "PreviousContactId": "P",
    }
    raw = orjson.dumps({"Detail": detail, "Time": "2021-08-04T17:43:48Z"})
    assert normalize_contact_event(raw) == ContactEvent(
        "C1", "QUEUED", at(17, 0, 2), "CHAT", "API", "q", "a", "I", "P", None, at(17, 0, 2),
        None, None,
    )


def test_minimal_and_null_everywhere() -> None:
    detail = {
        "contactId": "C1", "eventType": "INITIATED",
        "initiationTimestamp": "2021-08-04T17:00:00Z", "channel": None, "initiationMethod": None,
        "initialContactId": None, "previousContactId": "", "queueInfo": None, "agentInfo": None,
        "disconnectTimestamp": None, "connectedToSystemTimestamp": None,
    }
    assert normalize_contact_event(orjson.dumps(detail)) == ContactEvent(
        "C1", "INITIATED", at(17, 0, 0), None, None, None, None, None, None, at(17, 0, 0),
        None, None, None,
    )


def test_str_input_and_unknown_fields_and_pii_ignored() -> None:
    detail = _event(
        "INITIATED",
        initiationTimestamp="2021-08-04T17:00:00Z",
        customerEndpoint={"address": "+15555550100"},
        attributes={"ssn": "123"},
        somethingNew=[1, 2, 3],
    )
    rec = normalize_contact_event(orjson.dumps(detail).decode())
    assert rec == ContactEvent("C1", "INITIATED", at(17, 0, 0), None, None, None, None, None,
                               None, at(17, 0, 0), None, None, None)
    assert "+15555550100" not in repr(rec) and "123" not in repr(rec)


@pytest.mark.parametrize(
    "raw, error",
    [
        ({"eventType": "INITIATED"}, "missing_field: contactId"),
        ({"contactId": None, "eventType": "X"}, "missing_field: contactId"),
        ({"contactId": "", "eventType": "X"}, "bad_value: contactId: empty string"),
        ({"contactId": 7, "eventType": "X"}, "bad_type: contactId: expected string, got int"),
        ({"contactId": "C1"}, "missing_field: eventType"),
        ({"contactId": "C1", "eventType": ""}, "bad_value: eventType: empty string"),
        ({"contactId": "C1", "eventType": ["QUEUED"]},
         "bad_type: eventType: expected string, got list"),
        ({"detail": "x", "time": "2021-08-04T17:43:48Z"},
         "bad_type: detail: expected object, got str"),
        ({"detail": {"contactId": "C1", "eventType": "X"}, "time": "yesterday"},
         "bad_timestamp: time: not an ISO-8601 timestamp: 'yesterday'"),
        ({"detail": {"contactId": "C1", "eventType": "X"}, "time": 1628099028},
         "bad_timestamp: time: expected ISO-8601 string, got int"),
        (_event("INITIATED", initiationTimestamp="2021-08-04T17:00:00"),
         "bad_timestamp: initiationTimestamp: timestamp has no UTC offset: "
         "'2021-08-04T17:00:00'"),
        (_event("QUEUED", queueInfo=["q"]), "bad_type: queueInfo: expected object, got list"),
        (_event("QUEUED", queueInfo={"enqueueTimestamp": 5}),
         "bad_timestamp: queueInfo.enqueueTimestamp: expected ISO-8601 string, got int"),
        (_event("QUEUED", queueInfo={"queueArn": 5}),
         "bad_type: queueInfo.queueArn: expected string, got int"),
        (_event("X", agentInfo={"agentArn": True}),
         "bad_type: agentInfo.agentArn: expected string, got bool"),
        (_event("X", channel=1), "bad_type: channel: expected string, got int"),
        (_event("X", disconnectTimestamp="2021-02-30T00:00:00Z"),
         "bad_timestamp: disconnectTimestamp: day 30 out of range 1..28"),
    ],
)
def test_rejects(raw: dict, error: str) -> None:
    rec = normalize_contact_event(orjson.dumps(raw))
    assert type(rec) is DeadLetter
    assert rec.error == error
    assert rec.raw == orjson.dumps(raw).decode()


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"", "not_json: "),
        (b"\xff\xfe", "not_json: "),
        (b"[1, 2]", "not_object: got list"),
        (b"42", "not_object: got int"),
        (b"{" * 5000, "not_json: "),
    ],
)
def test_not_json_or_not_object(raw: bytes, error: str) -> None:
    rec = normalize_contact_event(raw)
    assert type(rec) is DeadLetter and rec.error.startswith(error)


def test_too_large() -> None:
    raw = b'{"contactId": "C1", "pad": "' + b"x" * 1_048_576 + b'"}'
    rec = normalize_contact_event(raw)
    assert type(rec) is DeadLetter
    assert rec.error == f"too_large: {len(raw)} >= 1048576"
    assert len(rec.raw) == 65_536
