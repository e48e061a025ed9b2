"""normalize_raw: tombstones and empty values, normalizers per stream, event-time bounds."""

from __future__ import annotations

import json

import pytest

from jobs.config import parse_args
from udfs.dead_letter import BAD_VALUE, EMPTY, ERROR_KINDS, TOMBSTONE, error_kind, now_ms
from udfs.ingest import normalize_raw
from udfs.parse_agent_event import normalize_agent_event
from udfs.parse_contact_event import normalize_contact_event
from udfs.parse_ctr import normalize_ctr
from udfs.records import (
    STREAM_AGENT_EVENTS,
    STREAM_CONTACT_EVENTS,
    STREAM_CTRS,
    AgentEvent,
    ContactEvent,
    ContactRecord,
    DeadLetter,
)
from udfs.settings import Settings
from udfs.timestamps import format_iso_ms

S = Settings()
MIN = S.min_event_ms
HOUR = 3_600_000
STREAMS = (STREAM_CONTACT_EVENTS, STREAM_CTRS, STREAM_AGENT_EVENTS)


def live_bound(settings: Settings = S) -> int:
    """The upper event-time bound a live operator uses: its wall clock + max_future_ms."""
    return now_ms() + settings.max_future_ms


def iso(ms: int) -> str:
    return format_iso_ms(ms)


def contact_event_at(ms: int) -> str:
    return json.dumps({"eventType": "QUEUED", "contactId": "c1", "channel": "VOICE",
                       "queueInfo": {"queueArn": "q1", "enqueueTimestamp": iso(ms)}})


def ctr_at(ms: int) -> str:
    return json.dumps({"ContactId": "c1", "LastUpdateTimestamp": iso(ms),
                       "DisconnectTimestamp": iso(ms), "Channel": "VOICE"})


def agent_event_at(ms: int) -> str:
    return json.dumps({"EventId": "e1", "AgentARN": "a1", "EventType": "HEART_BEAT",
                       "EventTimestamp": iso(ms)})


AT = {STREAM_CONTACT_EVENTS: contact_event_at, STREAM_CTRS: ctr_at,
      STREAM_AGENT_EVENTS: agent_event_at}
TYPES = {STREAM_CONTACT_EVENTS: ContactEvent, STREAM_CTRS: ContactRecord,
         STREAM_AGENT_EVENTS: AgentEvent}


@pytest.mark.parametrize("stream", STREAMS)
def test_tombstone_is_a_dead_letter(stream: str) -> None:
    rec = normalize_raw(stream, None, MIN, live_bound())
    assert type(rec) is DeadLetter
    assert (rec.stream, error_kind(rec.error), rec.raw) == (stream, TOMBSTONE, "")
    assert rec.error == "tombstone: null value (Kafka tombstone)"


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(("raw", "error"), [
    ("", "empty: empty value"),
    (" ", "empty: only whitespace (1 characters)"),
    ("\n\t \r\n", "empty: only whitespace (5 characters)"),
])
def test_empty_value_is_a_dead_letter(stream: str, raw: str, error: str) -> None:
    rec = normalize_raw(stream, raw, MIN, live_bound())
    assert type(rec) is DeadLetter
    assert (rec.stream, rec.error, rec.raw) == (stream, error, raw)
    assert error_kind(rec.error) == EMPTY


def test_new_kinds_are_known() -> None:
    assert {TOMBSTONE, EMPTY} <= ERROR_KINDS


@pytest.mark.parametrize("stream", STREAMS)
def test_valid_record_is_the_normalizers_record(stream: str) -> None:
    ms = now_ms() - HOUR
    raw = AT[stream](ms)
    rec = normalize_raw(stream, raw, MIN, live_bound())
    assert type(rec) is TYPES[stream]
    assert rec.event_ms == ms
    normalize = {STREAM_CONTACT_EVENTS: normalize_contact_event, STREAM_CTRS: normalize_ctr,
                 STREAM_AGENT_EVENTS: normalize_agent_event}[stream]
    assert rec == normalize(raw)


@pytest.mark.parametrize("stream", STREAMS)
def test_normalizer_dead_letters_pass_through(stream: str) -> None:
    rec = normalize_raw(stream, "{not json", MIN, live_bound())
    assert type(rec) is DeadLetter
    assert (rec.stream, error_kind(rec.error), rec.raw) == (stream, "not_json", "{not json")


def test_unknown_stream_raises() -> None:
    with pytest.raises(ValueError, match="unknown stream"):
        normalize_raw("nope", "{}", MIN, live_bound())


@pytest.mark.parametrize("stream", STREAMS)
def test_two_hours_ahead_is_bad_value_in_kafka_mode(stream: str) -> None:
    """One record with a clock 2 h ahead must not drag the watermark (SPEC §3, issue 15.6)."""
    settings = parse_args(["--source", "kafka", "--bootstrap-servers", "b:9092"]).settings
    assert settings.max_future_ms == 5 * 60_000
    raw = AT[stream](now_ms() + 2 * HOUR)
    rec = normalize_raw(stream, raw, settings.min_event_ms, live_bound(settings))
    assert type(rec) is DeadLetter
    assert error_kind(rec.error) == BAD_VALUE and rec.raw == raw and rec.stream == stream
    assert "outside" in rec.error


@pytest.mark.parametrize("stream", STREAMS)
def test_a_minute_ahead_is_accepted(stream: str) -> None:
    """Clock skew within --max-future is normal (Connect's and our clocks differ)."""
    ms = now_ms() + 60_000
    rec = normalize_raw(stream, AT[stream](ms), MIN, live_bound())
    assert type(rec) is TYPES[stream] and rec.event_ms == ms


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("year_typo", ["2062", "2206", "2016", "1026"])
def test_year_typo_is_bad_value_in_every_mode(stream: str, year_typo: str, tmp_path) -> None:
    """A wrong year (2026 typed as 2062, 2016, ...) is dead-lettered in Kafka and file mode."""
    path = tmp_path / "ctrs.jsonl"
    path.write_text("")
    modes = (["--source", "kafka", "--bootstrap-servers", "b:9092"],
             ["--ctrs", str(path), "--output", str(tmp_path / "out")])
    good = now_ms() - 60_000
    raw = AT[stream](good).replace(iso(good)[:4], year_typo)
    for argv in modes:
        settings = parse_args(argv).settings
        rec = normalize_raw(stream, raw, settings.min_event_ms, live_bound(settings))
        assert type(rec) is DeadLetter, argv
        assert error_kind(rec.error) == BAD_VALUE


def test_file_mode_accepts_a_record_two_hours_ahead(tmp_path) -> None:
    """A file replay is history: its bound is wide (only typos), not SPEC's live 5 minutes."""
    path = tmp_path / "ctrs.jsonl"
    path.write_text("")
    settings = parse_args(["--ctrs", str(path), "--output", str(tmp_path / "o")]).settings
    ms = now_ms() + 2 * HOUR
    rec = normalize_raw(STREAM_CTRS, ctr_at(ms), settings.min_event_ms, live_bound(settings))
    assert type(rec) is ContactRecord and rec.event_ms == ms


def test_bounds_are_inclusive() -> None:
    ms = now_ms()
    assert type(normalize_raw(STREAM_CTRS, ctr_at(ms), ms, ms)) is ContactRecord
    assert type(normalize_raw(STREAM_CTRS, ctr_at(ms), ms + 1, ms + 5)) is DeadLetter
    assert type(normalize_raw(STREAM_CTRS, ctr_at(ms), ms - 5, ms - 1)) is DeadLetter
