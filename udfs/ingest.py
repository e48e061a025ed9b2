"""Raw input -> normalized record or dead letter: the one entry point of every operator that
parses input (the keyed operators and the step that dead-letters what the source could not read).
"""

from __future__ import annotations

from typing import Optional

from udfs.event_time_bounds import event_time_in_range
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS


def normalizer_for(stream: str):
    if stream == STREAM_CONTACT_EVENTS:
        from udfs.parse_contact_event import normalize_contact_event
        return normalize_contact_event
    if stream == STREAM_CTRS:
        from udfs.parse_ctr import normalize_ctr
        return normalize_ctr
    if stream == STREAM_AGENT_EVENTS:
        from udfs.parse_agent_event import normalize_agent_event
        return normalize_agent_event
    raise ValueError(f"unknown stream {stream!r}")


def normalize_raw(stream: str, raw: Optional[str], min_ms: int, max_ms: int):
    """The normalized record of ``raw``, or its ``DeadLetter`` (never raises)."""
    rec = normalizer_for(stream)(raw if raw is not None else "")
    if hasattr(rec, "event_ms"):
        rec = event_time_in_range(rec, stream, raw, min_ms, max_ms)
    return rec
