"""ISO-8601 <-> epoch ms: exact values for every accepted shape, clear errors otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs import timestamps
from udfs.timestamps import format_iso_ms, parse_iso_ms

# 2021-08-04T00:00:00Z = 18843 days after the epoch = 1_628_035_200 s.
DAY = 1_628_035_200_000
T_172904 = DAY + (17 * 3600 + 29 * 60 + 4) * 1000  # 1_628_098_144_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-08-04T17:29:04.000Z", T_172904),
        ("2021-08-04T17:29:04Z", T_172904),
        ("2021-08-04T17:29:04.123Z", T_172904 + 123),
        ("2021-08-04T17:29:04.1Z", T_172904 + 100),
        ("2021-08-04T17:29:04.12Z", T_172904 + 120),
        ("2021-08-04T17:29:04.123456Z", T_172904 + 123),  # sub-ms digits truncated
        ("2021-08-04T17:29:04.999999999Z", T_172904 + 999),  # 9 digits, floor
        ("2021-08-04T17:29:04,5Z", T_172904 + 500),  # ISO decimal comma
        ("2021-08-04t17:29:04.000z", T_172904),
        ("2021-08-04 17:29:04Z", T_172904),
        ("2021-08-04T17:29:04+00:00", T_172904),
        ("2021-08-04T17:29:04.000+00:00", T_172904),
        ("2021-08-04T17:29:04-00:00", T_172904),
        ("2021-08-04T19:29:04+02:00", T_172904),
        ("2021-08-04T19:29:04+0200", T_172904),
        ("2021-08-04T19:29:04+02", T_172904),
        ("2021-08-04T12:59:04-04:30", T_172904),
        ("2021-08-04T17:29Z", T_172904 - 4000),  # seconds omitted
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2000-02-29T00:00:00Z", 951_782_400_000),  # leap day of a /400 year
        ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
    ],
)
def test_parse_accepts(text: str, expected: int) -> None:
    assert parse_iso_ms(text) == expected
    assert parse_iso_ms(text) == expected  # second call may take the memoised fast path


def test_fast_path_is_exact_at_minute_boundaries() -> None:
    parse_iso_ms("2021-08-04T17:29:00Z")  # warm the minute cache
    assert parse_iso_ms("2021-08-04T17:29:59.999Z") == DAY + (17 * 3600 + 29 * 60 + 59) * 1000 + 999
    assert parse_iso_ms("2021-08-04T17:29:59Z") == DAY + (17 * 3600 + 29 * 60 + 59) * 1000
    with pytest.raises(ValueError, match="second 60"):
        parse_iso_ms("2021-08-04T17:29:60Z")
    with pytest.raises(ValueError, match="second 60"):
        parse_iso_ms("2021-08-04T17:29:60.000Z")


def test_minute_cache_stays_bounded() -> None:
    timestamps._MINUTE_CACHE.clear()
    for minute in range(timestamps._MINUTE_CACHE_MAX + 10):
        parse_iso_ms(format_iso_ms(minute * 60_000 + 1))
    assert len(timestamps._MINUTE_CACHE) <= timestamps._MINUTE_CACHE_MAX


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2021-08-04T17:29:04", "no UTC offset"),
        ("2021-08-04T17:29:04.123", "no UTC offset"),
        ("2021-08-04", "not an ISO-8601 timestamp"),
        ("", "not an ISO-8601 timestamp"),
        ("yesterday", "not an ISO-8601 timestamp"),
        ("2021-08-04X17:29:04Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:04 Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:04.Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:04:123Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29.04Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:04.1234567890Z", "not an ISO-8601 timestamp"),  # 10 digits
        (" 2021-08-04T17:29:04Z", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:04Z ", "not an ISO-8601 timestamp"),
        ("2021-08-04T17:29:0\u0664Z", "not an ISO-8601 timestamp"),  # Arabic-Indic digit
        ("20210804T172904Z", "not an ISO-8601 timestamp"),  # basic format
        ("2021-W31-3T17:29:04Z", "not an ISO-8601 timestamp"),  # week date
        ("2021-02-29T00:00:00Z", "day 29 out of range 1..28"),
        ("2021-04-31T00:00:00Z", "day 31 out of range 1..30"),
        ("2021-13-01T00:00:00Z", "month 13"),
        ("2021-00-01T00:00:00Z", "month 0"),
        ("2021-08-00T00:00:00Z", "day 0"),
        ("2021-08-04T24:00:00Z", "hour 24"),
        ("2021-08-04T17:60:00Z", "minute 60"),
        ("0000-01-01T00:00:00Z", "year 0"),
        ("2021-08-04T17:29:04+24:00", "offset hours 24"),
        ("2021-08-04T17:29:04+01:60", "offset minutes 60"),
        ("0001-01-01T00:00:00+01:00", "out of range 0001..9999"),
        ("9999-12-31T23:59:59-01:00", "out of range 0001..9999"),
        (1628098144000, "expected ISO-8601 string, got int"),
        (1628098144.0, "expected ISO-8601 string, got float"),
        (True, "expected ISO-8601 string, got bool"),
        (None, "expected ISO-8601 string, got NoneType"),
        (b"2021-08-04T17:29:04Z", "expected ISO-8601 string, got bytes"),
        (["2021-08-04T17:29:04Z"], "expected ISO-8601 string, got list"),
    ],
)
def test_parse_rejects(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_iso_ms(value)


@pytest.mark.parametrize(
    "ms, text",
    [
        (T_172904, "2021-08-04T17:29:04Z"),
        (T_172904 + 123, "2021-08-04T17:29:04.123Z"),
        (T_172904 + 5, "2021-08-04T17:29:04.005Z"),
        (T_172904 + 120, "2021-08-04T17:29:04.120Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_format(ms: int, text: str) -> None:
    assert format_iso_ms(ms) == text


def test_format_rejects() -> None:
    with pytest.raises(TypeError):
        format_iso_ms(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_iso_ms(True)
    with pytest.raises(ValueError):
        format_iso_ms(253_402_300_800_000)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
def test_round_trip_matches_datetime(value: dt.datetime) -> None:
    aware = value.replace(tzinfo=dt.timezone.utc)
    ms = (aware - _EPOCH) // dt.timedelta(milliseconds=1)
    assert format_iso_ms(ms) == aware.isoformat(timespec="seconds")[:19] + (
        f".{ms % 1000:03d}Z" if ms % 1000 else "Z"
    )
    assert parse_iso_ms(format_iso_ms(ms)) == ms
    assert parse_iso_ms(aware.isoformat()) == ms  # "+00:00" and 6 fraction digits


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_offsets_match_datetime(value: dt.datetime, offset_minutes: int) -> None:
    aware = value.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))
    assert parse_iso_ms(aware.isoformat()) == (aware - _EPOCH) // dt.timedelta(milliseconds=1)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_never_raises_anything_but_value_error(text: str) -> None:
    try:
        result = parse_iso_ms(text)
    except ValueError:
        return
    assert type(result) is int


def test_memos_stay_bounded_and_exact() -> None:
    """The parse memo and the format prefix memo are cleared when full, never wrong."""
    for i in range(max(timestamps._VALUE_CACHE_MAX, timestamps._PREFIX_CACHE_MAX) + 10):
        ms = i * 60_001  # a new minute and a new value every time
        text = format_iso_ms(ms)
        assert parse_iso_ms(text) == ms
        assert parse_iso_ms(text) == ms  # the memoised value
    assert len(timestamps._VALUE_CACHE) <= timestamps._VALUE_CACHE_MAX
    assert len(timestamps._PREFIX_CACHE) <= timestamps._PREFIX_CACHE_MAX
    assert format_iso_ms(-1) == "1969-12-31T23:59:59.999Z"  # a memoised minute, ms of it
    assert format_iso_ms(-60_000) == "1969-12-31T23:59:00Z"
