"""Malformed input lines, each one unambiguously bad for the job (it must dead-letter them).

Kinds: not JSON at all, truncated JSON, a JSON array instead of an object, a record without
its identity (ContactId / EventId), an unparseable event timestamp, and a wrongly typed field
(e.g. ``"Queue": {"Duration": "abc"}``). Lines derived from a good record get a fresh
identity, so a job that wrongly accepted one would show it as an extra contact or event
instead of silently merging it with the real one.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from tools.sim.ids import new_uuid

NOT_JSON = "not_json"
TRUNCATED = "truncated_json"
JSON_ARRAY = "json_array"
MISSING_ID = "missing_id"
BAD_TIMESTAMP = "bad_timestamp"
WRONG_TYPE = "wrong_type"
KINDS = (NOT_JSON, TRUNCATED, JSON_ARRAY, MISSING_ID, BAD_TIMESTAMP, WRONG_TYPE)

_GARBAGE = (
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "ContactId=unknown;status=ERROR",
    "{{not json}}",
    "undefined",
    "Traceback (most recent call last): KeyError: 'detail'",
)
_BAD_TIMESTAMPS = ("not-a-timestamp", "2024-13-45T25:61:00Z", "yesterday at noon")

# Which stream a malformed line is for.
CONTACT_EVENTS = "contact_events"
CTRS = "ctrs"
AGENT_EVENTS = "agent_events"


def _detail(obj: dict[str, Any]) -> dict[str, Any]:
    detail = obj.get("detail")
    return detail if isinstance(detail, dict) else obj


def _fresh_identity(stream: str, obj: dict[str, Any], rng: random.Random) -> None:
    if stream == CONTACT_EVENTS:
        _detail(obj)["contactId"] = new_uuid(rng)
        if "detail" in obj:
            obj["id"] = new_uuid(rng)
            obj["resources"] = []
    elif stream == CTRS:
        obj["ContactId"] = new_uuid(rng)
    else:
        obj["EventId"] = new_uuid(rng)


def _drop_identity(stream: str, obj: dict[str, Any]) -> None:
    if stream == CONTACT_EVENTS:
        _detail(obj).pop("contactId", None)
    elif stream == CTRS:
        obj.pop("ContactId", None)
    else:
        obj.pop("EventId", None)


def _break_timestamp(stream: str, obj: dict[str, Any], bad: str) -> None:
    if stream == CTRS:
        obj["DisconnectTimestamp"] = bad
        obj["LastUpdateTimestamp"] = bad
    elif stream == AGENT_EVENTS:
        obj["EventTimestamp"] = bad
    else:
        detail = _detail(obj)
        if "detail" in obj:
            obj["time"] = bad
        event_type = detail.get("eventType")
        if event_type == "INITIATED":
            detail["initiationTimestamp"] = bad
        elif event_type == "QUEUED":
            detail["queueInfo"]["enqueueTimestamp"] = bad
        elif event_type == "CONNECTED_TO_AGENT":
            info = detail.get("agentInfo") or detail.get("AgentInfo")
            info["connectedToAgentTimestamp"] = bad
        elif event_type == "DISCONNECTED":
            detail["disconnectTimestamp"] = bad


def _break_type(stream: str, obj: dict[str, Any]) -> None:
    if stream == CTRS:
        if isinstance(obj.get("Queue"), dict):
            obj["Queue"]["Duration"] = "abc"
        elif isinstance(obj.get("Agent"), dict):
            obj["Agent"]["AgentInteractionDuration"] = "abc"
        else:
            obj["Channel"] = 7
    elif stream == AGENT_EVENTS:
        obj["CurrentAgentSnapshot"] = "Available"
    else:
        detail = _detail(obj)
        detail["eventType"] = "QUEUED"
        detail["queueInfo"] = "Customer Support"


def malformed_line(stream: str, good_line: bytes, rng: random.Random) -> tuple[str, bytes]:
    """(kind, line) of one malformed line modelled on ``good_line`` of ``stream``."""
    kind = rng.choice(KINDS)
    if kind == NOT_JSON:
        return kind, f"{rng.choice(_GARBAGE)} #{rng.randrange(10**6)}".encode()
    if kind == TRUNCATED:
        return kind, good_line[: rng.randint(len(good_line) // 4, len(good_line) - 2)]
    obj = orjson.loads(good_line)
    _fresh_identity(stream, obj, rng)
    if kind == JSON_ARRAY:
        return kind, orjson.dumps([obj])
    if kind == MISSING_ID:
        _drop_identity(stream, obj)
    elif kind == BAD_TIMESTAMP:
        _break_timestamp(stream, obj, rng.choice(_BAD_TIMESTAMPS))
    else:
        _break_type(stream, obj)
    return kind, orjson.dumps(obj)
