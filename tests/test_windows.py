"""Window arithmetic (udfs.windows) and the late dead letter (udfs.late)."""

from __future__ import annotations

import orjson
import pytest

from tests.builders import LATENESS, MIN, T0, S, W, agent_event, ctr
from udfs.dead_letter import AFTER_CLEARING, error_kind
from udfs.late import after_clearing_dead_letter, late_dead_letter
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CTRS
from udfs.windows import cleanup_time, fire_time, is_fired, is_late, window_start

# --- window_start -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "size", "expected"),
    [
        (T0, W, T0),
        (T0 + 1, W, T0),
        (T0 + W - 1, W, T0),
        (T0 + W, W, T0 + W),  # an event exactly at a window's end opens the next window
        (T0 + 7 * MIN, 15 * MIN, T0),  # T0 is 08:00, a quarter hour
        (T0 + 15 * MIN, 15 * MIN, T0 + 15 * MIN),
        (T0 + 59 * MIN, 3_600_000, T0),
        (0, W, 0),
        (59_999, W, 0),
        (-1, W, -W),  # before the epoch: still floor, never rounds towards zero
        (90_000 * 7 + 5, 90_000, 90_000 * 7),  # a 90 s window is aligned to the epoch too
        (T0 + 1_500, 1_000, T0 + 1_000),
    ],
)
def test_window_start_is_epoch_aligned(ts: int, size: int, expected: int) -> None:
    assert window_start(ts, size) == expected


def test_fire_and_cleanup_times() -> None:
    assert fire_time(T0, W) == T0 + 59_999
    assert cleanup_time(T0, W, LATENESS) == T0 + 59_999 + 900_000
    assert cleanup_time(T0, W, 0) == fire_time(T0, W)


# --- is_fired / is_late ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watermark", "fired"),
    [(T0 + 59_998, False), (T0 + 59_999, True), (T0 + 60_000, True), (T0 - 1, False)],
)
def test_is_fired_at_the_window_end_minus_one(watermark: int, fired: bool) -> None:
    assert is_fired(T0, watermark, W) is fired


@pytest.mark.parametrize(
    ("ts", "watermark", "late"),
    [
        # window [T0, T0+60 s): state kept until the watermark reaches T0 + 59.999 s + 15 min
        (T0 + 30 * S, T0 + 59_999, False),  # fired, but within the allowed lateness
        (T0 + 30 * S, T0 + 59_999 + LATENESS - 1, False),
        (T0 + 30 * S, T0 + 59_999 + LATENESS, True),
        (T0, T0 + 59_999 + LATENESS, True),
        (T0 + W - 1, T0 + 59_999 + LATENESS, True),
        (T0 + W, T0 + 59_999 + LATENESS, False),  # belongs to the next window
        (T0 + 30 * S, T0 - 10 * S, False),  # a record ahead of the watermark
    ],
)
def test_is_late_edges(ts: int, watermark: int, late: bool) -> None:
    assert is_late(ts, watermark, W, LATENESS) is late


def test_is_late_without_lateness_is_late_once_fired() -> None:
    assert is_late(T0 + 30 * S, T0 + 59_998, W, 0) is False
    assert is_late(T0 + 30 * S, T0 + 59_999, W, 0) is True


def test_initial_watermark_is_never_late() -> None:
    assert is_late(T0, -(2**63), W, LATENESS) is False


# --- late dead letters ----------------------------------------------------------------------


def test_late_ctr_dead_letter_has_error_late_and_the_record_as_json() -> None:
    rec = ctr("c-late", agent_hierarchy=("L1", "L2"))
    d = late_dead_letter(STREAM_CTRS, rec, rec.contact_id)
    assert (d.key, d.stream, d.error) == ("c-late", "ctrs", "late")
    raw = orjson.loads(d.raw)
    assert raw["contact_id"] == "c-late"
    assert raw["event_ms"] == T0 + 90 * S
    assert raw["queue_duration"] == 20.0
    assert raw["agent_hierarchy"] == ["L1", "L2"]
    assert raw == {k: list(v) if isinstance(v, tuple) else v for k, v in rec._asdict().items()}
    assert d.at.endswith("Z") and d.at.startswith("20")


def test_late_agent_event_dead_letter_serializes_nested_records() -> None:
    ev = agent_event("e-1", T0 + 5 * S, contacts=(("c1", "CONNECTED"),))
    d = late_dead_letter(STREAM_AGENT_EVENTS, ev, ev.event_id)
    assert (d.key, d.stream, d.error) == ("e-1", "agent_events", "late")
    raw = orjson.loads(d.raw)
    assert raw["event_id"] == "e-1"
    assert raw["event_ms"] == T0 + 5_000
    assert raw["contacts"] == [
        {"contact_id": "c1", "state": "CONNECTED", "channel": "VOICE", "state_start_ms": T0 + 5000,
         "queue_arn": None, "initiation_method": None}
    ]
    assert raw["config"]["username"] == "jdoe"
    assert raw["config"]["hierarchy"] == ["Site", "Team"]
    assert raw["config"]["inbound_queues"] == [[ev.config.inbound_queues[0][0], "Sales"]]


def test_refused_dead_letters_carry_the_raw_input_as_received() -> None:
    raw = '{"ContactId": "c-late",  "LastUpdateTimestamp": "2024-01-15T08:00:00Z"}'
    d = late_dead_letter(STREAM_CTRS, raw, "c-late")
    assert (d.key, d.stream, d.error, d.raw) == ("c-late", "ctrs", "late", raw)
    d = after_clearing_dead_letter(STREAM_CTRS, raw.encode(), "c-late", "a newer copy")
    assert (d.error, d.raw) == ("after_clearing: a newer copy", raw)
    assert error_kind(d.error) == AFTER_CLEARING
