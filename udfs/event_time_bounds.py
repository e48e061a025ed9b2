"""Reject records whose event time cannot be real (SPEC §2: bad input goes to the dead letters).

One far-future timestamp would push the stream's watermark years ahead and turn every following
record into a late one; a far-past one would open windows before Amazon Connect existed.
"""

from __future__ import annotations

from udfs.dead_letter import BAD_VALUE, dead_letter, make_error
from udfs.timestamps import format_iso_ms


def event_time_in_range(rec, stream: str, raw: object, min_ms: int, max_ms: int):
    """The record itself, or a dead letter when its event time is outside [min_ms, max_ms]."""
    if min_ms <= rec.event_ms <= max_ms:
        return rec
    return dead_letter(stream, make_error(
        BAD_VALUE, f"event time {format_iso_ms(rec.event_ms)} outside "
                   f"[{format_iso_ms(min_ms)}, {format_iso_ms(max_ms)}]"), raw)
