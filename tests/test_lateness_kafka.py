"""Lateness end to end over Kafka: within the allowed lateness a record still counts (its window
is re-emitted or emitted late), beyond it the record goes to the dead-letter topic with error
``"late"`` and changes nothing (SPEC §3: never silently away).

Records are produced in steps and the test waits for the job's output between them, so the
watermark is known when the late records arrive: CTR ``b`` at 11:40 moves the CTR stream's
watermark to 11:39 (60 s out-of-orderness); the other two streams are empty and idle after 3 s.
Then, with the CTR allowed lateness of 2 h and the contact events' 15 min:

- a CTR at 10:00 is 1 h 39 min behind: it counts (a CTR arrives after the agent's ACW);
- a CTR at 09:01 is 2 h 38 min behind: late;
- the second copy of ``e`` (disconnect 10:30) would retract ``e``'s first copy (no
  DisconnectTimestamp, counted at 09:00:40) from the 09:00 window, closed for good: the copy is
  late as a whole and the first one keeps counting;
- a QUEUED contact event at 11:00 is 39 min behind: late.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.jobrun import latest_by_key
from tests.kafka_io import (
    INPUTS,
    OUTPUTS,
    by_output,
    consume,
    event_time,
    produce,
    start_unbounded,
    stop_job,
)
from tests.payloads import agent_event, contact_event, ctr, queue_arn
from tools.reference import expected_metrics, late_ctr_ids
from tools.sim.config import FaultConfig, SimConfig
from tools.sim.simulation import Simulation
from tools.sim.timefmt import parse_iso

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

Q = queue_arn("support")


def _ctr(contact_id: str, disconnect: str, last_update: str = "") -> str:
    return ctr(contact_id, last_update=last_update or disconnect, disconnect=disconnect,
               queue="support", queue_name="Support", enqueued=disconnect, dequeued=disconnect,
               duration=5)


def _without_disconnect(line: str) -> str:
    record = json.loads(line)
    record["DisconnectTimestamp"] = None
    return json.dumps(record)


def window_key(minute: str) -> str:
    return f"{Q}|VOICE|2024-01-15T{minute}:00Z"


@pytest.mark.timeout(420)
def test_late_within_lateness_counts_beyond_it_is_dead_lettered(kafka_bootstrap, kafka_topics,
                                                                tmp_path) -> None:
    topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3],
                          configs={"retention.ms": "-1"})
    e_first = _without_disconnect(_ctr("e", "09:00:40"))
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", [_ctr("a", "09:00:30"), e_first,
                                                      _ctr("b", "11:40:00")])
    log = tmp_path / "job.log"
    job = start_unbounded(kafka_bootstrap, topics, ["--idleness", "3s"], log_path=str(log))
    e_second = _ctr("e", "10:30:00", last_update="10:30:10")
    queued_late = contact_event("QUEUED", "f", queue="support", enqueued="11:00:00")
    try:
        first = consume(kafka_bootstrap, [topics["queue"]], timeout_s=180,
                        until=lambda rs: any(r["key"] == window_key("09:00") for r in rs))
        assert any(r["key"] == window_key("09:00") for r in first), log.read_text()[-3000:]
        produce(kafka_bootstrap, topics["ctrs"], "ctrs", [_ctr("c-too-late", "09:01:00"),
                                                          _ctr("d-in-time", "10:00:00"),
                                                          e_second])
        produce(kafka_bootstrap, topics["contact_events"], "contact_events", [queued_late])
        outputs = [topics[o] for o in OUTPUTS]
        consume(kafka_bootstrap, outputs, timeout_s=120,
                until=lambda rs: sum(r.get("error") == "late" for r in rs) >= 3
                and any(r["key"] == window_key("10:00") for r in rs))
    finally:
        stop_job(job)
    out = by_output(consume(kafka_bootstrap, [topics[o] for o in OUTPUTS], timeout_s=30,
                            idle_s=4), topics)
    queues = latest_by_key(out["queue_metrics"])
    assert queues[window_key("09:00")]["contacts_queued"] == 2  # a and e's first copy
    assert [r["revision"] for r in out["queue_metrics"] if r["key"] == window_key("09:00")] == [1]
    assert queues[window_key("10:00")]["contacts_queued"] == 1  # d: 1 h 39 min late, counted
    for minute in ("10:30", "11:00", "11:40"):  # e refused, f late, b's window still open
        assert window_key(minute) not in queues
    late = sorted((d["stream"], d["key"], d["raw"]) for d in out["deadletter"]
                  if d["error"] == "late")
    assert [(stream, key) for stream, key, _ in late] == [
        ("contact_events", "f"), ("ctrs", "c-too-late"), ("ctrs", "e")]
    raw = late[2][2]  # the refused copy itself (raw: the record's JSON until the keyed
    # operators receive the raw line, then the line as produced)
    assert raw == e_second or json.loads(raw)["event_ms"] == parse_iso("2024-01-15T10:30:00Z")
    facts = latest_by_key(out["contacts"])
    assert sorted(facts) == ["a", "b", "d-in-time", "e"]
    assert [r["revision"] for r in out["contacts"] if r["key"] == "e"] == [1]


# --- the simulator's long-ACW fault mode, beyond the CTR lateness included ---------------------

LONG_ACW = replace(FaultConfig.long_after_contact_work(), very_late_ctrs=0.25, malformed=0.0)
HOUR_MS = 3_600_000


def _mark(expected: list[dict], produced: dict) -> str:
    """The key of the latest expected queue window the job must emit once it has read what was
    produced: its end is 2 min before the contact streams' maximum event time (the contact
    operator's watermark is the smaller of the two, minus the 60 s out-of-orderness)."""
    reached = min(max((event_time(s, x) for x in produced[s]), default=0)
                  for s in ("contact_events", "ctrs"))
    return max((parse_iso(r["window_end"]), r["key"]) for r in expected
               if parse_iso(r["window_end"]) <= reached - 2 * 60_000)[1]


@pytest.mark.timeout(600)
def test_simulated_long_acw_counts_within_the_ctr_lateness_and_dead_letters_beyond(
        kafka_bootstrap, kafka_topics, tmp_path) -> None:
    """ACW up to 60 min and CTR exports up to 2 h late count (window revisions); CTRs exported
    beyond the CTR lateness are dead-lettered as late: exactly those the reference names from its
    ground truth. The feeds are produced in hours of simulated delivery time, waiting for the job
    between them (so delayed CTRs meet windows already emitted); the very late CTRs come last,
    once the watermark has passed the rest (they are delivered in the last hour anyway)."""
    sim = Simulation(SimConfig(seed=7, agents=6, contacts=150, duration_s=3 * 3600,
                               faults=LONG_ACW))
    records = list(sim.records())
    late_ids = late_ctr_ids(sim.truth)
    expected = expected_metrics(sim.truth)
    expected_queue = expected.queue
    assert len(late_ids) >= 5
    very_late = [r.value.decode() for r in records if r.stream == "ctrs" and r.key in late_ids]
    assert len(very_late) == len(late_ids)  # one copy each, nothing else of theirs
    start = sim.cfg.start_ms
    chunks: list[list] = [[] for _ in range(4)]  # by hour of delivery (the last: the rest)
    for r in records:
        if r.stream != "ctrs" or r.key not in late_ids:
            chunks[min(3, max(0, (r.delivery_ms - start) // HOUR_MS))].append(r)
    assert sum(map(len, chunks)) + len(very_late) == len(records)

    topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3])
    produced: dict = {s: [] for s in INPUTS}
    log = tmp_path / "job.log"
    job = start_unbounded(kafka_bootstrap, topics, ["--idleness", "3s"], log_path=str(log))
    outputs = [topics[o] for o in OUTPUTS]
    try:
        for chunk in chunks:
            for stream in INPUTS:
                lines = [r.value.decode() for r in chunk if r.stream == stream]
                produce(kafka_bootstrap, topics[stream], stream, lines)
                produced[stream] += lines
            mark = _mark(expected_queue, produced)
            seen = consume(kafka_bootstrap, [topics["queue"]], timeout_s=300,
                           until=lambda rs: any(r["key"] == mark for r in rs))
            assert any(r["key"] == mark for r in seen), log.read_text()[-3000:]
        needed = max(parse_iso(json.loads(x)["DisconnectTimestamp"]) // 60_000 * 60_000
                     for x in very_late) + 60_000 + 2 * HOUR_MS
        assert parse_iso(mark.rpartition("|")[2]) + 60_000 >= needed, "the run is too short"
        # the very late CTRs, then one record per stream 12 h ahead: every window closes
        flush = "23:59:00"
        produce(kafka_bootstrap, topics["ctrs"], "ctrs",
                [*very_late, ctr("flush", last_update=flush, disconnect=flush)])
        produce(kafka_bootstrap, topics["contact_events"], "contact_events",
                [contact_event("INITIATED", "flush", initiated=flush)])
        produce(kafka_bootstrap, topics["agent_events"], "agent_events",
                [agent_event("flush", "flush-1", "LOGOUT", flush, status="Offline")])
        agent_windows = {r["key"] for r in expected.agent}
        consume(kafka_bootstrap, outputs, timeout_s=180,
                until=lambda rs: sum(r.get("error") == "late" for r in rs) >= len(late_ids)
                and any(r["key"] == expected_queue[-1]["key"] for r in rs)
                and agent_windows <= {r["key"] for r in rs})
    finally:
        stop_job(job)
    out = by_output(consume(kafka_bootstrap, outputs, timeout_s=60, idle_s=5), topics)
    late = [x for x in out["deadletter"] if x["error"] == "late"]
    assert sorted(x["key"] for x in late) == sorted(late_ids)
    assert {x["stream"] for x in late} == {"ctrs"} and len(out["deadletter"]) == len(late)
    for name, want in (("queue_metrics", expected_queue), ("agent_metrics", expected.agent)):
        got = {k: {f: v for f, v in r.items() if f != "revision"}
               for k, r in latest_by_key(out[name]).items()}
        extra = set(got) - {r["key"] for r in want}
        assert {r["key"] for r in want} <= set(got) and all("flush" in k for k in extra), name
        for exp in want:
            if name == "queue_metrics" and exp["contacts_queued"] + exp["contacts_handled"] == 0:
                assert got[exp["key"]]["queue_name"] in (None, exp["queue_name"])
                got[exp["key"]]["queue_name"] = exp["queue_name"]
            assert got[exp["key"]] == exp, exp["key"]
    # windows revised by CTRs that came long after the windows were first emitted
    revised = {r["key"] for r in out["queue_metrics"] if r["revision"] > 1}
    assert revised, "no delayed CTR met an emitted window"
    facts = latest_by_key(out["contacts"])
    assert late_ids.isdisjoint(facts) and "flush" in facts
