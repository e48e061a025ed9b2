"""Normalize one Amazon Connect contact event (EventBridge envelope or bare ``detail``).

Contact events are best-effort and unordered, so the event time is the timestamp that belongs
to the event type (SPEC §2), not the envelope's delivery ``time``, which is only the fallback;
a bare event of another type (COMPLETED, CONTACT_DATA_UPDATED, ... as Connect sends them today,
with no envelope) falls back to the first lifecycle timestamp it carries, latest stage first.
Customer data (endpoints, attributes, voice activity, tags, segment attributes) is never read;
``initialContactId`` / ``previousContactId`` are carried but used by nothing, so a malformed one
is dropped instead of rejecting the event.
"""

from __future__ import annotations

from typing import Optional

from udfs.dead_letter import MISSING_FIELD
from udfs.json_fields import (
    Obj,
    Rejected,
    key,
    lenient,
    opt_obj,
    opt_text,
    opt_timestamp,
    opt_upper,
    req_text,
    run_normalizer,
)
from udfs.records import STREAM_CONTACT_EVENTS, ContactEvent, DeadLetter

_DETAIL = key("detail")
_TIME = key("time")
_CONTACT_ID = key("contactId")
_EVENT_TYPE = key("eventType")
_CHANNEL = key("channel")
_INITIATION_METHOD = key("initiationMethod")
_INITIAL_CONTACT_ID = key("initialContactId")
_PREVIOUS_CONTACT_ID = key("previousContactId")
_INITIATION_TS = key("initiationTimestamp")
_CONNECTED_TO_SYSTEM_TS = key("connectedToSystemTimestamp")
_DISCONNECT_TS = key("disconnectTimestamp")
_QUEUE_INFO = key("queueInfo")
_QUEUE_ARN = key("queueArn")
_ENQUEUE_TS = key("enqueueTimestamp")
_AGENT_INFO = key("agentInfo")
_AGENT_ARN = key("agentArn")
_CONNECTED_TO_AGENT_TS = key("connectedToAgentTimestamp")

# Event type -> name of the field whose timestamp is that event's time (SPEC §2).
EVENT_TIME_FIELD = {
    "INITIATED": "initiationTimestamp",
    "CONNECTED_TO_SYSTEM": "connectedToSystemTimestamp",
    "QUEUED": "queueInfo.enqueueTimestamp",
    "CONNECTED_TO_AGENT": "agentInfo.connectedToAgentTimestamp",
    "DISCONNECTED": "disconnectTimestamp",
}
# Without the type's timestamp and without an envelope ``time``: the first of these present,
# i.e. the latest stage the contact reached (the Java source mirrors this order exactly).
FALLBACK_TIME_FIELDS = (
    "disconnectTimestamp",
    "agentInfo.connectedToAgentTimestamp",
    "queueInfo.enqueueTimestamp",
    "connectedToSystemTimestamp",
    "initiationTimestamp",
)


def event_time_ms(event_type: str, times: dict, envelope_ms: Optional[int]) -> int:
    """SPEC §2: the type's timestamp, else the envelope ``time``, else the first present of
    ``FALLBACK_TIME_FIELDS``; ``Rejected`` when there is none. ``times``: field -> ms or None."""
    field = EVENT_TIME_FIELD.get(event_type)
    typed_ms = times.get(field) if field is not None else None
    if typed_ms is not None:
        return typed_ms
    if envelope_ms is not None:
        return envelope_ms
    for name in FALLBACK_TIME_FIELDS:
        if times[name] is not None:
            return times[name]
    missing = f"no {field}, " if field else "no "
    raise Rejected(MISSING_FIELD, f"time ({missing}envelope time or lifecycle timestamp)")


def _build(event: Obj) -> ContactEvent:
    envelope_ms: Optional[int] = None
    detail = opt_obj(event.get(_DETAIL), "detail")
    if detail is not None:
        envelope_ms = opt_timestamp(event.get(_TIME), "time")
    else:
        detail = event
    contact_id = req_text(detail.get(_CONTACT_ID), "contactId")
    event_type = req_text(detail.get(_EVENT_TYPE), "eventType").upper()
    initiation_ms = opt_timestamp(detail.get(_INITIATION_TS), "initiationTimestamp")
    connected_to_system_ms = opt_timestamp(
        detail.get(_CONNECTED_TO_SYSTEM_TS), "connectedToSystemTimestamp"
    )
    disconnect_ms = opt_timestamp(detail.get(_DISCONNECT_TS), "disconnectTimestamp")
    queue_arn = enqueue_ms = None
    queue = opt_obj(detail.get(_QUEUE_INFO), "queueInfo")
    if queue is not None:
        queue_arn = opt_text(queue.get(_QUEUE_ARN), "queueInfo.queueArn")
        enqueue_ms = opt_timestamp(queue.get(_ENQUEUE_TS), "queueInfo.enqueueTimestamp")
    agent_arn = connected_to_agent_ms = None
    agent = opt_obj(detail.get(_AGENT_INFO), "agentInfo")
    if agent is not None:
        agent_arn = opt_text(agent.get(_AGENT_ARN), "agentInfo.agentArn")
        connected_to_agent_ms = opt_timestamp(
            agent.get(_CONNECTED_TO_AGENT_TS), "agentInfo.connectedToAgentTimestamp"
        )

    channel = opt_upper(detail.get(_CHANNEL), "channel")
    initiation_method = opt_upper(detail.get(_INITIATION_METHOD), "initiationMethod")
    initial_contact_id = lenient(opt_text, detail.get(_INITIAL_CONTACT_ID), "initialContactId")
    previous_contact_id = lenient(opt_text, detail.get(_PREVIOUS_CONTACT_ID),
                                  "previousContactId")

    times = {
        "initiationTimestamp": initiation_ms,
        "connectedToSystemTimestamp": connected_to_system_ms,
        "queueInfo.enqueueTimestamp": enqueue_ms,
        "agentInfo.connectedToAgentTimestamp": connected_to_agent_ms,
        "disconnectTimestamp": disconnect_ms,
    }
    event_ms = event_time_ms(event_type, times, envelope_ms)

    return ContactEvent(
        contact_id,
        event_type,
        event_ms,
        channel,
        initiation_method,
        queue_arn,
        agent_arn,
        initial_contact_id,
        previous_contact_id,
        initiation_ms,
        enqueue_ms,
        connected_to_agent_ms,
        disconnect_ms,
    )


def normalize_contact_event(raw: str | bytes) -> ContactEvent | DeadLetter:
    """One raw contact event -> ``ContactEvent``, or ``DeadLetter`` (never raises)."""
    return run_normalizer(STREAM_CONTACT_EVENTS, _build, raw)
