"""Property tests: for ANY input each normalizer returns exactly one record or DeadLetter.

Beyond "never raises", every dead letter must have a known, non-internal kind (an ``internal``
error means a normalizer bug), and every record must satisfy the ``udfs.records`` invariants.
"""

from __future__ import annotations

import math
from typing import Callable

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udfs.dead_letter import ERROR_KINDS, INTERNAL, MAX_RAW_CHARS, error_kind
from udfs.parse_agent_event import normalize_agent_event
from udfs.parse_contact_event import normalize_contact_event
from udfs.parse_ctr import normalize_ctr
from udfs.records import AgentEvent, ContactEvent, ContactRecord, DeadLetter
from udfs.timestamps import parse_iso_ms

PROPS = settings(max_examples=120, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NORMALIZERS: list[tuple[Callable, type, str]] = [
    (normalize_contact_event, ContactEvent, "contact_events"),
    (normalize_ctr, ContactRecord, "ctrs"),
    (normalize_agent_event, AgentEvent, "agent_events"),
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
def mostly(valid: st.SearchStrategy, wild: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """A plausible value 9 times in 10, an arbitrary JSON value otherwise."""
    return st.integers(0, 9).flatmap(lambda i: wild if i == 0 else valid)


valid_timestamps = st.one_of(
    st.sampled_from(["2021-08-04T17:29:04.000Z", "2021-08-04T17:29:04Z",
                     "2021-08-04 17:29:04+02:00", "2021-08-04T17:30:00.5z", None]),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
)
timestamps = mostly(valid_timestamps, st.sampled_from(["2021-02-30T00:00:00Z", "", "later"])
                    | json_values)
ids = mostly(st.sampled_from(["C1", "arn:aws:connect:x", "q", None]), st.just("") | json_values)
enums = mostly(st.sampled_from(["VOICE", "Voice", "chat", "ROUTABLE", "CUSTOM", "OFFLINE",
                                "Available", "Offline", "Lunch", "CONNECTED", "ENDED", None]))
numbers = mostly(st.integers(min_value=0, max_value=10**6) | st.floats(0, 1e6) | st.none(),
                 st.integers(min_value=-5, max_value=-1) | json_values)


def obj(**fields: st.SearchStrategy) -> st.SearchStrategy:
    """An object where each known field may be present (usually with a plausible value)."""
    return mostly(st.fixed_dictionaries({}, optional=fields) | st.none())


def record(required: dict, optional: dict) -> st.SearchStrategy[dict]:
    """A record with its required fields, one of them dropped 1 time in 10."""
    dropped = mostly(st.just(""), st.sampled_from(sorted(required)))
    return st.tuples(st.fixed_dictionaries(required, optional=optional), dropped).map(
        lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
    )


def casing(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name[0].swapcase() + name[1:], name.lower(), name.upper()])


contact_detail = record(
    {"contactId": ids, "eventType": mostly(st.sampled_from(
        ["INITIATED", "QUEUED", "CONNECTED_TO_AGENT", "DISCONNECTED", "CONNECTED_TO_SYSTEM",
         "COMPLETED", "queued"]))},
    {"channel": enums, "initiationMethod": enums, "initialContactId": ids,
     "previousContactId": ids, "initiationTimestamp": timestamps,
     "connectedToSystemTimestamp": timestamps, "disconnectTimestamp": timestamps,
     "queueInfo": obj(queueArn=ids, enqueueTimestamp=timestamps),
     "AgentInfo": obj(AgentArn=ids, connectedToAgentTimestamp=timestamps)},
)
contact_events = st.one_of(
    contact_detail,
    st.fixed_dictionaries({"detail": mostly(contact_detail)},
                          optional={"time": timestamps, "detail-type": json_values}),
)
hierarchy = obj(Level1=obj(GroupName=ids, Name=ids), Level2=obj(GroupName=ids),
                Level5=obj(Name=ids))
ctrs = record(
    {"ContactId": ids, "LastUpdateTimestamp": timestamps},
    {"DisconnectTimestamp": timestamps, "Channel": enums, "InitiationMethod": enums,
     "NextContactId": ids, "InitiationTimestamp": timestamps,
     "TransferCompletedTimestamp": timestamps, "DisconnectReason": enums,
     "CustomerEndpoint": json_values, "Attributes": json_values,
     "Queue": obj(ARN=ids, Name=ids, EnqueueTimestamp=timestamps, DequeueTimestamp=timestamps,
                  Duration=numbers),
     "Agent": obj(ARN=ids, Username=ids, RoutingProfile=obj(Name=ids),
                  HierarchyGroups=hierarchy, ConnectedToAgentTimestamp=timestamps,
                  AgentInteractionDuration=numbers, CustomerHoldDuration=numbers,
                  AfterContactWorkDuration=numbers, NumberOfHolds=mostly(
                      st.integers(0, 9) | st.none()), LongestHoldDuration=numbers)},
)
queue_ref = obj(ARN=ids, Name=ids)
contact_entry = mostly(st.fixed_dictionaries(
    {"ContactId": ids, "State": enums}, optional={"Channel": enums,
                                                  "StateStartTimestamp": timestamps}))
agent_events = record(
    {"EventId": ids, "AgentARN": ids, "EventType": enums, "EventTimestamp": timestamps},
    {"CurrentAgentSnapshot": obj(
        AgentStatus=obj(Type=enums, Name=enums),
        Contacts=mostly(st.lists(contact_entry, max_size=3)),
        Configuration=obj(
            Username=ids, FirstName=ids,
            RoutingProfile=obj(ARN=ids, Name=ids, DefaultOutboundQueue=queue_ref,
                               InboundQueues=mostly(st.lists(queue_ref, max_size=3))),
            AgentHierarchyGroups=hierarchy,
        ),
    )},
)


def check(normalize: Callable, record_type: type, stream: str, raw: object) -> None:
    result = normalize(raw)
    assert type(result) in (record_type, DeadLetter)
    if type(result) is DeadLetter:
        kind = error_kind(result.error)
        assert kind in ERROR_KINDS and kind != INTERNAL, result.error
        assert result.stream == stream
        assert result.key.startswith(f"{stream}:")
        assert type(result.raw) is str and len(result.raw) <= MAX_RAW_CHARS
        result.raw.encode("utf-8")  # valid Unicode, writable as JSON
        parse_iso_ms(result.at)
        return
    check_record(result)


def _is_ms(value: object) -> bool:
    return type(value) is int


def check_record(rec: tuple) -> None:
    """Type invariants of ``udfs.records``: ms ints, non-negative float durations, upper enums."""
    assert _is_ms(rec.event_ms)
    for name, value in rec._asdict().items():
        if value is None:
            continue
        if name.endswith("_ms"):
            assert _is_ms(value), name
        elif name.endswith("duration"):
            assert type(value) is float and value >= 0 and math.isfinite(value), name
        elif name in ("channel", "initiation_method", "event_type", "disconnect_reason"):
            assert type(value) is str and value and value == value.upper(), name
        elif name.endswith("_id") or name.endswith("_arn"):
            assert type(value) is str and value, name
    if type(rec) is AgentEvent:
        assert rec.status in (None, "AVAILABLE", "CUSTOM", "OFFLINE")
        for contact in rec.contacts:
            assert contact.contact_id and contact.state == contact.state.upper()


@PROPS
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    for normalize, record_type, stream in NORMALIZERS:
        check(normalize, record_type, stream, raw)
        check(normalize, record_type, stream, raw.decode("utf-8", errors="surrogateescape"))


@PROPS
@given(json_values)
def test_arbitrary_json_values(value: object) -> None:
    raw = orjson.dumps(value)
    for normalize, record_type, stream in NORMALIZERS:
        check(normalize, record_type, stream, raw)


@PROPS
@given(contact_events, st.booleans())
def test_contact_event_shaped(value: dict, as_str: bool) -> None:
    raw = orjson.dumps(value)
    check(normalize_contact_event, ContactEvent, "contact_events", raw.decode() if as_str else raw)


@PROPS
@given(ctrs, st.booleans())
def test_ctr_shaped(value: dict, as_str: bool) -> None:
    raw = orjson.dumps(value)
    check(normalize_ctr, ContactRecord, "ctrs", raw.decode() if as_str else raw)


@PROPS
@given(agent_events, st.booleans())
def test_agent_event_shaped(value: dict, as_str: bool) -> None:
    raw = orjson.dumps(value)
    check(normalize_agent_event, AgentEvent, "agent_events", raw.decode() if as_str else raw)


@PROPS
@given(st.data())
def test_key_casing_does_not_change_the_result(data: st.DataObject) -> None:
    """Renaming keys to another casing gives the same record (or the same error)."""
    value = data.draw(ctrs)
    renamed = {data.draw(casing(k)): v for k, v in value.items()}
    first, second = normalize_ctr(orjson.dumps(value)), normalize_ctr(orjson.dumps(renamed))
    if type(first) is DeadLetter:
        assert type(second) is DeadLetter and first.error == second.error
    else:
        assert first == second


def test_pathological_inputs() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    nested_obj = b'{"a":' * 2000 + b"1" + b"}" * 2000
    class Text(str):
        pass

    odd = (deep, nested_obj, b"\x00", b"\xef\xbb\xbf{}", "\ud800", bytearray(b"{}"),
           memoryview(b"{}"), memoryview(b"{}abc")[::2], Text("{}"), None, 3.5, [b"{}"],
           b" " * 2_000_000, "\u00e9" * 1_048_576)
    for raw in odd:
        for normalize, record_type, stream in NORMALIZERS:
            check(normalize, record_type, stream, raw)
