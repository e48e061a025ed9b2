"""The one entry point from a raw input value to a record or a dead letter.

Whoever reads an input (the keyed operators at their entry, the reject step for values the Java
source could not key or time) calls ``normalize_raw``: the same rules everywhere, so a record is
rejected for the same reason wherever it is looked at. Nothing is dropped here (SPEC §2): a Kafka
tombstone and an empty value are dead letters with their own error kinds. (A blank line of a
JSON Lines file is no record at all; the file reader skips it before it gets here.)
"""

from __future__ import annotations

from typing import Callable, Optional, Union

from udfs.dead_letter import EMPTY, TOMBSTONE, dead_letter, make_error
from udfs.event_time_bounds import event_time_in_range
from udfs.records import (
    STREAM_AGENT_EVENTS,
    STREAM_CONTACT_EVENTS,
    STREAM_CTRS,
    AgentEvent,
    ContactEvent,
    ContactRecord,
    DeadLetter,
)

Record = Union[ContactEvent, ContactRecord, AgentEvent]


_NORMALIZERS: dict[str, Callable[[Union[str, bytes]], Union[Record, DeadLetter]]] = {}


def normalizer_for(stream: str) -> Callable[[Union[str, bytes]], Union[Record, DeadLetter]]:
    """The stream's normalizer (imported lazily, once: each operator needs only its own)."""
    normalize = _NORMALIZERS.get(stream)
    if normalize is None:
        normalize = _NORMALIZERS[stream] = _import_normalizer(stream)
    return normalize


def _import_normalizer(stream: str) -> Callable[[Union[str, bytes]], Union[Record, DeadLetter]]:
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


def blank_value(stream: str, raw: Optional[str]) -> Optional[DeadLetter]:
    """The dead letter for a tombstone (None) or an empty / whitespace-only value, else None."""
    if raw is None:
        return dead_letter(stream, make_error(TOMBSTONE, "null value (Kafka tombstone)"), "")
    if not raw:
        return dead_letter(stream, make_error(EMPTY, "empty value"), raw)
    if raw.isspace():
        return dead_letter(stream, make_error(EMPTY, f"only whitespace ({len(raw)} characters)"),
                           raw)
    return None


def normalize_raw(stream: str, raw: Optional[str], min_ms: int,
                  max_ms: int) -> Union[Record, DeadLetter]:
    """One raw input value -> its record, or a ``DeadLetter`` with the reason (never raises).

    ``[min_ms, max_ms]`` bounds the event time (SPEC §3): ``max_ms`` is the caller's wall clock
    plus ``Settings.max_future_ms``, so a record hours ahead is dead-lettered before it can move
    a watermark.
    """
    if not raw or raw.isspace():  # None, "" or only whitespace (checked first: cheap)
        return blank_value(stream, raw)
    normalize = _NORMALIZERS.get(stream) or normalizer_for(stream)
    rec = normalize(raw)
    if type(rec) is DeadLetter or min_ms <= rec.event_ms <= max_ms:
        return rec
    return event_time_in_range(rec, stream, raw, min_ms, max_ms)
