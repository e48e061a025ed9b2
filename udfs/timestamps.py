"""ISO-8601 UTC timestamps <-> epoch milliseconds, exact and fast.

Every timestamp field of every input record goes through ``parse_iso_ms``, so it is on the hot
path. ``datetime.fromisoformat`` is both slower than needed and too liberal for us (in 3.11 it
accepts ``"2021-08-04X17:29:04 Z"`` or ``"...:04.Z"`` and silently drops fraction digits past
the sixth), so parsing is hand-rolled:

* memo: a timestamp string seen recently is one dict lookup (a contact's lifecycle timestamps
  repeat in each of its events, CTR copies and agent snapshots repeat theirs);
* fast path: the two shapes Connect actually sends, ``YYYY-MM-DDTHH:MM:SSZ`` and
  ``YYYY-MM-DDTHH:MM:SS.mmmZ``; the validated ``YYYY-MM-DDTHH:MM`` prefix is memoised (events
  cluster in time, so almost every call is one dict lookup plus one ``int()``);
* general path: one strict regular expression for the rest of the extended ISO-8601 grammar
  we accept, and plain integer calendar arithmetic (no ``datetime``) so that any valid instant in
  years 0001-9999 converts exactly, offsets included.

Accepted grammar (ASCII only): ``YYYY-MM-DD`` + ``T``/``t``/space + ``HH:MM[:SS[.F]]`` + zone,
where ``F`` is 1-9 digits (``.`` or ``,``) and zone is ``Z``/``z`` or ``+HH:MM``/``+HHMM``/``+HH``
(also ``-``). A timestamp without zone is rejected: it is not an instant. Sub-millisecond digits
are truncated, i.e. the result is the floor of the exact instant in milliseconds.
"""

from __future__ import annotations

import re

from udfs.memo import Memo

_MS_PER_MINUTE = 60_000
_MS_PER_DAY = 86_400_000
_MIN_MS = -719_162 * _MS_PER_DAY  # 0001-01-01T00:00:00Z (proleptic Gregorian)
_MAX_MS = 2_932_897 * _MS_PER_DAY - 1  # 9999-12-31T23:59:59.999Z

_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_ISO_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)",
    re.ASCII,
)
_ISO_NO_ZONE_RE = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?", re.ASCII)

# Timestamp string (valid) -> its epoch ms. Bounded: cleared when full.
_VALUE_CACHE_MAX = 8192
_VALUE_CACHE: Memo = Memo(_VALUE_CACHE_MAX)

# "YYYY-MM-DDTHH:MM" (validated) -> epoch ms of that UTC minute. Bounded: cleared when full.
_MINUTE_CACHE_MAX = 8192
_MINUTE_CACHE: Memo = Memo(_MINUTE_CACHE_MAX)


def _type_name(value: object) -> str:
    return type(value).__name__


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Inverse of ``_days_from_civil``."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} {value} out of range {low}..{high}")


def _minute_ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    """Epoch ms of a wall-clock minute, validating every component."""
    _check_range("year", year, 1, 9999)
    _check_range("month", month, 1, 12)
    last_day = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month]
    _check_range("day", day, 1, last_day)
    _check_range("hour", hour, 0, 23)
    _check_range("minute", minute, 0, 59)
    return (_days_from_civil(year, month, day) * 1440 + hour * 60 + minute) * _MS_PER_MINUTE


def _parse_general(value: str) -> int:
    match = _ISO_RE.fullmatch(value)
    if match is None:
        if _ISO_NO_ZONE_RE.fullmatch(value) is not None:
            raise ValueError(f"timestamp has no UTC offset: {value[:40]!r}")
        raise ValueError(f"not an ISO-8601 timestamp: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    base = _minute_ms(int(year), int(month), int(day), int(hour), int(minute))
    sec = int(second) if second is not None else 0
    _check_range("second", sec, 0, 59)
    ms = base + sec * 1000
    if fraction is not None:
        ms += int((fraction + "00")[:3])
    if zulu is None:
        oh = int(off_h)
        om = int(off_m) if off_m is not None else 0
        _check_range("offset hours", oh, 0, 23)
        _check_range("offset minutes", om, 0, 59)
        offset = (oh * 60 + om) * _MS_PER_MINUTE
        ms = ms - offset if sign == "+" else ms + offset
    elif len(value) in (20, 24) and value[10] == "T" and value[19] in ".Z":
        _MINUTE_CACHE.keep(value[:16], base)
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError(f"timestamp out of range 0001..9999: {value[:40]!r}")
    return ms


def parse_iso_ms(value: object) -> int:
    """Epoch milliseconds of an ISO-8601 timestamp with zone; ``ValueError`` with the reason.

    Non-strings (numbers, bools, None, ...) are rejected: Connect sends timestamps as strings.
    """
    if type(value) is not str:
        raise ValueError(f"expected ISO-8601 string, got {_type_name(value)}")
    ms = _VALUE_CACHE.get(value)
    if ms is None:
        ms = _VALUE_CACHE.keep(value, _parse_str(value))
    return ms


def _parse_str(value: str) -> int:
    n = len(value)
    base = _MINUTE_CACHE.get(value[:16]) if n >= 20 else None
    if base is not None and value[16] == ":":
        if n == 24:
            if value[19] == "." and value[23] == "Z":
                sec_ms = value[17:19] + value[20:23]  # "SSmmm" -> SS * 1000 + mmm
                if sec_ms.isdigit() and sec_ms.isascii():
                    sec_ms_int = int(sec_ms)
                    if sec_ms_int < 60_000:
                        return base + sec_ms_int
        elif n == 20 and value[19] == "Z":
            sec = value[17:19]
            if sec.isdigit() and sec.isascii():
                sec_int = int(sec)
                if sec_int < 60:
                    return base + sec_int * 1000
    return _parse_general(value)


def format_iso_ms(ms: int) -> str:
    """ISO-8601 UTC string of epoch ms: ``...:04Z`` on whole seconds, else ``...:04.123Z``.

    This is the one output format for every timestamp the job emits. The
    ``YYYY-MM-DDTHH:MM:`` prefix is memoised per minute (outputs cluster in time).
    """
    if type(ms) is not int:
        raise TypeError(f"expected int epoch milliseconds, got {_type_name(ms)}")
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError(f"epoch milliseconds {ms} out of range for years 0001..9999")
    minute, ms_of_minute = divmod(ms, _MS_PER_MINUTE)
    prefix = _PREFIX_CACHE.get(minute)
    if prefix is None:
        prefix = _minute_prefix(minute)
    second, millis = divmod(ms_of_minute, 1000)
    if millis:
        return f"{prefix}{second:02d}.{millis:03d}Z"
    return f"{prefix}{second:02d}Z"


# Epoch minute -> "YYYY-MM-DDTHH:MM:" of that minute. Bounded: cleared when full.
_PREFIX_CACHE_MAX = 8192
_PREFIX_CACHE: Memo = Memo(_PREFIX_CACHE_MAX)


def _minute_prefix(minute: int) -> str:
    days, minute_of_day = divmod(minute, 1440)
    year, month, day = _civil_from_days(days)
    hour, minute_of_hour = divmod(minute_of_day, 60)
    return _PREFIX_CACHE.keep(
        minute, f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute_of_hour:02d}:")
