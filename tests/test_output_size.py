"""sink_row: no output record above --max-record-bytes reaches the sink (issue 15.5)."""

from __future__ import annotations

import orjson
import pytest

from udfs.dead_letter import dead_letter, error_kind
from udfs.output_records import dead_letter_record
from udfs.output_size import MAX_KEY_CHARS, SinkRow, bounded_key, fit_dead_letter, sink_row
from udfs.records import DeadLetter

DL = "connect.deadletter"
QUEUE = "connect.metrics.queue"
KEY = "arn:aws:connect:us-east-1:111122223333:instance/i/queue/q|VOICE|2024-01-15T08:01:00Z"


def size(row: SinkRow) -> int:
    return len(row.key.encode()) + len(row.value.encode())


def queue_record(method_len: int, n: int = 6) -> dict:
    """A queue record whose initiation-method map carries ``n`` keys of ``method_len`` chars."""
    return {"key": KEY, "revision": 3, "window_start": "2024-01-15T08:01:00Z",
            "contacts_handled_by_initiation_method": {
                chr(ord("A") + i) * method_len: 1 for i in range(n)}}


def test_a_record_within_the_limit_goes_out_unchanged() -> None:
    record = queue_record(10)
    row = sink_row(QUEUE, record, 900 * 1024, DL)
    assert row == SinkRow(QUEUE, KEY, orjson.dumps(record).decode())


def test_the_limit_counts_key_and_value_and_is_inclusive() -> None:
    record = queue_record(10)
    exact = len(KEY) + len(orjson.dumps(record))
    assert sink_row(QUEUE, record, exact, DL).topic == QUEUE
    assert sink_row(QUEUE, record, exact - 1, DL).topic == DL


def test_issue_example_six_250kb_initiation_methods_become_a_dead_letter() -> None:
    record = queue_record(250_000)  # ~1.5 MB: the Kafka sink would reject it forever
    row = sink_row(QUEUE, record, 900 * 1024, DL)
    assert row.topic == DL and row.key == KEY
    d = orjson.loads(row.value)
    assert set(d) == {"key", "stream", "error", "raw", "at"}
    assert (d["key"], d["stream"]) == (KEY, QUEUE)
    assert error_kind(d["error"]) == "too_large"
    assert d["error"] == (f"too_large: output record of {len(KEY) + len(orjson.dumps(record))} "
                          "bytes (key + value) exceeds --max-record-bytes 921600")
    assert orjson.dumps(record).decode().startswith(d["raw"])
    assert len(d["raw"]) == 65_536  # the usual raw limit (SPEC §2: 64 KiB)
    assert size(row) <= 900 * 1024


@pytest.mark.parametrize("max_bytes", [1024, 4096, 5000, 20_000, 70_000])
def test_the_dead_letter_itself_fits_a_small_limit(max_bytes: int) -> None:
    record = queue_record(30_000)
    row = sink_row(QUEUE, record, max_bytes, DL)
    assert row.topic == DL and size(row) <= max_bytes
    raw = orjson.loads(row.value)["raw"]
    assert raw and orjson.dumps(record).decode().startswith(raw)
    if max_bytes < 65_536:  # cut no shorter than needed; else the usual 64 KiB raw limit
        assert size(row) > max_bytes - 8
    else:
        assert len(raw) == 65_536


@pytest.mark.parametrize("text", ["\u00e9\u4e2d\U0001f600", '"\\\n\x01'])
def test_multibyte_and_escaped_raw_still_fits(text: str) -> None:
    """Raw characters may be 4 UTF-8 bytes or 6-byte JSON escapes: the cut still fits."""
    record = {"key": KEY, "x": text * 10_000}
    for max_bytes in (1024, 4096, 10_000, 50_000):
        row = sink_row(QUEUE, record, max_bytes, DL)
        assert row.topic == DL and size(row) <= max_bytes
        raw = orjson.loads(row.value)["raw"]
        assert orjson.dumps(record).decode().startswith(raw)


def test_an_oversized_dead_letter_keeps_its_reason_and_key_and_loses_raw_tail() -> None:
    d = dead_letter("ctrs", "late", "x" * 60_000, key="c-1")
    row = sink_row(DL, dead_letter_record(d), 10_000, DL)
    out = orjson.loads(row.value)
    assert (row.topic, row.key, out["key"], out["stream"], out["error"], out["at"]) == (
        DL, "c-1", "c-1", "ctrs", "late", d.at)
    assert out["raw"] == "x" * len(out["raw"]) and 9_000 < len(out["raw"]) < 10_000
    assert size(row) <= 10_000


def test_a_dead_letter_within_the_limit_is_unchanged() -> None:
    d = dead_letter("ctrs", "not_json: x", "{bad")
    row = sink_row(DL, dead_letter_record(d), 4096, DL)
    assert row == SinkRow(DL, d.key, orjson.dumps(dead_letter_record(d)).decode())


def test_a_huge_key_is_bounded_in_the_dead_letter() -> None:
    """The key may be what is too large (an input-derived queue ARN of 500 KB)."""
    key = "q" * 500_000 + "|VOICE|2024-01-15T08:01:00Z"
    row = sink_row(QUEUE, {"key": key, "n": 1}, 900 * 1024, DL)
    assert row.topic == DL and len(row.key) == MAX_KEY_CHARS and size(row) <= 900 * 1024
    assert orjson.loads(row.value)["key"] == row.key
    other = sink_row(QUEUE, {"key": key + "x", "n": 1}, 900 * 1024, DL)
    assert other.key != row.key  # distinct records keep distinct dead letters


def test_bounded_key() -> None:
    assert bounded_key("short") == "short"
    assert bounded_key("k" * MAX_KEY_CHARS) == "k" * MAX_KEY_CHARS
    long = bounded_key("k" * (MAX_KEY_CHARS + 1))
    assert len(long) == MAX_KEY_CHARS and long.startswith("k" * 200)


def test_fit_dead_letter_with_room_to_spare_changes_nothing() -> None:
    d = DeadLetter("k", "ctrs", "late", "raw", "2024-01-15T08:01:00Z")
    assert fit_dead_letter(d, 4096) == ("k", orjson.dumps(dead_letter_record(d)).decode())
