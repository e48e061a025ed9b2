"""ISO-8601 UTC text for epoch-millisecond timestamps, in the shapes Amazon Connect uses.

Why not ``datetime``: the simulator formats several timestamps per record and a benchmark run
has a million records, so the date part is cached per day and the rest is integer arithmetic.
"""

from __future__ import annotations

import datetime as _dt

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_day_prefix: dict[int, str] = {}


def _date_prefix(day: int) -> str:
    prefix = _day_prefix.get(day)
    if prefix is None:
        prefix = (_EPOCH.date() + _dt.timedelta(days=day)).isoformat() + "T"
        _day_prefix[day] = prefix
    return prefix


_second_text: dict[int, str] = {}
_SECOND_CACHE_MAX = 200_000


def _second(sec: int) -> str:
    """``2024-01-15T08:00:00`` for an epoch second (cached: timestamps cluster in time)."""
    text = _second_text.get(sec)
    if text is None:
        if len(_second_text) >= _SECOND_CACHE_MAX:
            _second_text.clear()
        day, rem = divmod(sec, 86_400)
        hour, rem = divmod(rem, 3600)
        minute, s = divmod(rem, 60)
        text = f"{_date_prefix(day)}{hour:02d}:{minute:02d}:{s:02d}"
        _second_text[sec] = text
    return text


def iso_ms(ms: int) -> str:
    """``2024-01-15T08:00:00.123Z`` (agent events, contact events)."""
    sec, milli = divmod(ms, 1000)
    return f"{_second(sec)}.{milli:03d}Z"


def iso_s(ms: int) -> str:
    """``2024-01-15T08:00:00Z``, truncated to the second (CTRs, EventBridge envelope ``time``)."""
    return _second(ms // 1000) + "Z"


def iso_output(ms: int) -> str:
    """The job's output format: whole seconds without a fraction, else with milliseconds."""
    return iso_s(ms) if ms % 1000 == 0 else iso_ms(ms)


def floor_s(ms: int) -> int:
    """Truncate to the whole second, as Connect does for CTR timestamps."""
    return ms - ms % 1000


def parse_iso(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 timestamp (``Z`` or offset; naive means UTC)."""
    value = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return (value - _EPOCH) // _dt.timedelta(milliseconds=1)
