"""The latency phase's arithmetic (``bench.latency``), on hand-made inputs: no Flink, no Kafka.

Why: the benchmark's latency figures are only as right as the instant each record is measured
from; these pin the live path's definition (tick + live out-of-orderness on the pacing clock),
which ticks count, and the input's share, with values worked out by hand.
"""

from __future__ import annotations

import marshal
from pathlib import Path

import orjson

from bench.latency import (
    Seen,
    Spool,
    analyse,
    analyse_live,
    ideal_wall,
    live_aim,
    live_samples,
    seen_record,
    span_note,
)
from bench.report import render
from bench.run import headline
from tools.sim.delivery import DeliveredRecord

P = 1_800_000_000_000  # pace start (simulated ms): 2027-01-15T08:00:00Z
T0 = 5000.0  # wall time production began
INTERVAL = 10_000
LIVE_OOO = 5_000
LIVE = frozenset({"q.live", "a.live"})
NAMES = {"q.live": "queue_live", "a.live": "agent_live"}


def spool(tmp_path: Path, records: list[DeliveredRecord] = (), paced_s: int = 60) -> Spool:
    path = tmp_path / "center-0.spool"
    with open(path, "wb") as f:
        for r in sorted(records, key=lambda r: r.delivery_ms):
            marshal.dump(tuple(r), f)
    return Spool([str(path)], P - 120_000, P, P + paced_s * 1000)


def rec(stream: str, delivery_ms: int, event_ms: int) -> DeliveredRecord:
    return DeliveredRecord(stream, delivery_ms, event_ms, "k", b"{}", True)


def live(topic: str, tick: int, at: float, offset: int = 0) -> Seen:
    return Seen(topic, offset, at, tick, 0)


def test_a_live_record_is_measured_from_its_tick() -> None:
    value = {"key": "arn:q|VOICE", "as_of": "2027-01-15T08:00:10.000Z", "contacts_in_queue": 2}
    s = seen_record("q.live", 7, 123.5, orjson.loads(orjson.dumps(value)), live=True)
    assert (s.instant_ms, s.revision, s.offset, s.at) == (P + 10_000, 0, 7, 123.5)
    m = seen_record("q", 3, 1.0, {"window_end": "2027-01-15T08:01:00Z", "revision": 2},
                    live=False)
    assert (m.instant_ms, m.revision) == (P + 60_000, 2)


def test_ideal_is_the_pacing_clock_plus_the_out_of_orderness() -> None:
    # a tick 10 s into the paced span, 5 s live out-of-orderness: T0 + 10 + 5
    assert ideal_wall(T0, P + 10_000, P, LIVE_OOO) == 5015.0
    # the windows' formula is the same function: E 60 s in, 60 s out-of-orderness
    assert ideal_wall(T0, P + 60_000, P, 60_000) == 5120.0


def test_live_latency_per_record_and_which_ticks_count(tmp_path: Path) -> None:
    sp = spool(tmp_path)  # 60 s paced: ticks P+10 s .. P+50 s count (60 - 5 ooo - 5 margin)
    seen = [
        live("q.live", P, T0 + 5.5),  # its interval (P-10 s, P] is warm-up: not counted
        live("q.live", P + 10_000, T0 + 16.25),  # 15 s ideal -> 1.25 s
        live("a.live", P + 10_000, T0 + 17.5, 1),  # -> 2.5 s
        live("q.live", P + 50_000, T0 + 55.75, 2),  # the last tick that counts -> 0.75 s
        live("q.live", P + 60_000, T0 + 66.0, 3),  # 60 + 5 > 60 - 5 margin: not counted
        Seen("q", 0, T0 + 999.0, P + 20_000, 1),  # a window, not a live record
    ]
    got = [(s.topic, s.instant_ms - P, latency)
           for s, latency in live_samples(seen, sp, T0, INTERVAL, LIVE_OOO, LIVE)]
    assert got == [("q.live", 10_000, 1.25), ("a.live", 10_000, 2.5), ("q.live", 50_000, 0.75)]


def test_live_analysis_with_the_inputs_share(tmp_path: Path) -> None:
    # tick P+10 s fires once both live feeds reached T + ooo + 1 ms = P+15.001 s
    sp = spool(tmp_path, [
        rec("ctrs", P + 12_000, P + 90_000),  # CTRs never hold back (or advance) the live ticks
        rec("contact_events", P + 15_200, P + 15_000),  # T + ooo exactly: not yet past T
        rec("contact_events", P + 15_500, P + 15_001),
        rec("agent_events", P + 16_000, P + 15_001),  # both feeds now: delivered at P+16 s
        rec("contact_events", P + 25_300, P + 25_001),
        rec("agent_events", P + 25_400, P + 25_200),  # tick P+20 s: both past at P+25.4 s
    ])
    seen = [live("q.live", P + 10_000, T0 + 16.25), live("a.live", P + 10_000, T0 + 17.5, 1),
            live("q.live", P + 20_000, T0 + 26.0, 2)]
    out = analyse_live(seen, sp, T0, INTERVAL, LIVE_OOO, NAMES, stopped_at=T0 + 70.0)
    ideal = out["from_ideal_watermark_s"]
    assert (ideal["count"], ideal["min"], ideal["p50"], ideal["max"]) == (3, 1.0, 1.25, 2.5)
    assert out["by_output"]["queue_live"]["count"] == 2
    assert out["by_output"]["agent_live"]["max"] == 2.5
    assert out["ticks"] == 2
    # the inputs let the watermark pass 1.0 s / 0.4 s after the ideal
    lag = out["input_watermark_lag_s"]
    assert (lag["count"], lag["min"], lag["max"]) == (2, 0.4, 1.0)
    # the job's part: seen minus the wall time of that delivery (T0 + 16 s, T0 + 25.4 s)
    after = out["after_input_watermark_s"]
    assert (after["count"], after["min"], after["max"]) == (3, 0.25, 1.5)
    assert out["ticks_considered"] == {"from_ms": P + 10_000, "to_ms": P + 50_000}
    # P+30 s .. P+50 s never showed by the stop: the earliest is >= 70 - (30 + 5) s late
    assert out["ticks_expected"] == 5
    assert out["unseen_ticks"] == {"count": 3, "earliest_at_least_s": 35.0}
    assert out["by_tick"] == [{"tick_s": 10.0, "records": 2, "max_s": 2.5},
                              {"tick_s": 20.0, "records": 1, "max_s": 1.0}]


def test_the_windows_analysis_ignores_live_records(tmp_path: Path) -> None:
    sp = spool(tmp_path, [rec("contact_events", P + 66_000, P + 65_000),
                          rec("ctrs", P + 66_500, P + 65_000),
                          rec("agent_events", P + 67_000, P + 65_000)], paced_s=120)
    seen = [Seen("q", 0, T0 + 67.0, P + 60_000, 1), live("q.live", P + 60_000, T0 + 1.0, 1)]
    out = analyse(seen, sp, T0, 60_000, 5_000, {"q": "queue windows"})
    assert out["from_ideal_watermark_s"]["count"] == 1
    assert out["from_ideal_watermark_s"]["max"] == 2.0  # 67 - (60 + 5)
    assert out["after_input_watermark_s"]["max"] == 0.5  # 67 - 66.5 (contact events + CTRs)


def test_live_aim_is_two_seconds_plus_the_checkpoint_interval() -> None:
    assert live_aim(2.9, 1.0) == {"p99_at_most_s": 3.0, "met": True}
    assert live_aim(3.0, 1.0)["met"] is True
    assert live_aim(3.01, 1.0) == {"p99_at_most_s": 3.0, "met": False}
    assert live_aim(None, 5.0) == {"p99_at_most_s": 7.0, "met": None}
    # ticks that never committed are unboundedly late, whatever the seen ones say
    assert live_aim(1.0, 1.0, unseen_ticks=2)["met"] is False
    assert live_aim(None, 1.0, unseen_ticks=2)["met"] is False


def test_a_paced_span_too_short_to_count_anything_says_so() -> None:
    # 60 s windows + 60 s out-of-orderness + 5 s margin do not fit in 120 s of paced input
    assert "125 s are needed" in span_note(120, 60_000, 60_000, "one window")
    assert span_note(125, 60_000, 60_000, "one window") is None
    assert span_note(120, INTERVAL, LIVE_OOO, "one live tick") is None


LAT = {"checkpoint_interval_s": 1.0, "live_interval_s": 10.0, "live_out_of_orderness_s": 5.0,
       "from_ideal_watermark_s": {"count": 9, "p50": 7.5, "p99": 8.25},
       "live": {"from_ideal_watermark_s": {"count": 40, "p50": 1.5, "p99": 3.5, "max": 4.0},
                "ticks": 4, "aim": live_aim(3.5, 1.0)}}


def test_summary_keys_next_to_the_windows() -> None:
    r = headline({"latency": LAT})
    assert (r["p50_live_latency_s"], r["p99_live_latency_s"], r["live_latency_samples"]) == \
        (1.5, 3.5, 40)
    assert (r["p99_latency_s"], r["latency_samples"]) == (8.25, 9)
    assert headline({})["live_latency_samples"] is None  # no latency phase


def test_report_states_the_live_aim() -> None:
    text = render(headline({"latency": LAT}))
    assert ("| live latency p50 / p99, tick + live out-of-orderness → committed live record "
            "(40 records) | 1.50 s / **3.50 s** | p99 ≤ 2 s + the checkpoint interval "
            "(= 3.0 s): **missed** |") in text
    assert "over 40 live records of 4 ticks: p50 **1.50 s**, p99 **3.50 s**, max 4.00 s" in text
    met = {**LAT, "live": {**LAT["live"], "aim": live_aim(2.5, 1.0)}}
    assert "(= 3.0 s): **met** |" in render(headline({"latency": met}))
    behind = {**LAT, "live": {**LAT["live"], "aim": live_aim(1.0, 1.0, 3), "ticks_expected": 7,
                              "unseen_ticks": {"count": 3, "earliest_at_least_s": 41.5}}}
    text = render(headline({"latency": behind}))
    assert "(= 3.0 s): **missed** (3 ticks never committed: the job fell behind) |" in text
    assert "4 of 7 counted ticks committed by the end of the run; 3 never were (the earliest " \
        "at least 41.5 s late" in text
    off = render(headline({"latency": {**LAT, "live": {"off": True}}}))
    assert "Live path: off in this run" in off
