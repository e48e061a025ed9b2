"""Lateness end to end over Kafka: within the allowed lateness a record still counts (its window
is re-emitted or emitted late), beyond it the record goes to the dead-letter topic with error
``"late"`` and changes nothing (SPEC §3: never silently away).

Records are produced in steps and the test waits for the job's output between them, so the
watermark is known when the late records arrive: CTR ``b`` at 09:40 moves the CTR stream's
watermark to 09:39 (60 s out-of-orderness); the other two streams are empty and idle after 3 s.
Then a CTR at 09:30 is 9 minutes behind (allowed: 15 min) and one at 09:01 is 38 minutes behind.
"""

from __future__ import annotations

import pytest

from tests.jobrun import latest_by_key
from tests.kafka_io import (
    INPUTS,
    OUTPUTS,
    by_output,
    consume,
    produce,
    start_unbounded,
    stop_job,
)
from tests.payloads import ctr, queue_arn

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

Q = queue_arn("support")


def _ctr(contact_id: str, disconnect: str) -> str:
    return ctr(contact_id, last_update=disconnect, disconnect=disconnect, queue="support",
               queue_name="Support", enqueued=disconnect, dequeued=disconnect, duration=5)


def window_key(minute: str) -> str:
    return f"{Q}|VOICE|2024-01-15T{minute}:00Z"


@pytest.mark.timeout(420)
def test_late_within_lateness_counts_beyond_it_is_dead_lettered(kafka_bootstrap, kafka_topics,
                                                                tmp_path) -> None:
    topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3],
                          configs={"retention.ms": "-1"})
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", [_ctr("a", "09:00:30"),
                                                      _ctr("b", "09:40:00")])
    log = tmp_path / "job.log"
    job = start_unbounded(kafka_bootstrap, topics, ["--idleness", "3s"], log_path=str(log))
    try:
        first = consume(kafka_bootstrap, [topics["queue"]], timeout_s=180,
                        until=lambda rs: any(r["key"] == window_key("09:00") for r in rs))
        assert any(r["key"] == window_key("09:00") for r in first), log.read_text()[-3000:]
        produce(kafka_bootstrap, topics["ctrs"], "ctrs", [_ctr("c-too-late", "09:01:00"),
                                                          _ctr("d-in-time", "09:30:00")])
        outputs = [topics[o] for o in OUTPUTS]
        consume(kafka_bootstrap, outputs, timeout_s=120,
                until=lambda rs: any(r.get("error") == "late" for r in rs)
                and any(r["key"] == window_key("09:30") for r in rs))
    finally:
        stop_job(job)
    out = by_output(consume(kafka_bootstrap, [topics[o] for o in OUTPUTS], timeout_s=30,
                            idle_s=4), topics)
    queues = latest_by_key(out["queue_metrics"])
    assert queues[window_key("09:00")]["contacts_queued"] == 1  # a only: c changed nothing
    assert [r["revision"] for r in out["queue_metrics"] if r["key"] == window_key("09:00")] == [1]
    assert queues[window_key("09:30")]["contacts_queued"] == 1  # d: 9 min late, still counted
    assert window_key("09:40") not in queues  # still open: the watermark is at 09:39
    late = [d for d in out["deadletter"] if d["error"] == "late"]
    assert len(late) == 1 and late[0]["stream"] == "ctrs" and "c-too-late" in late[0]["raw"]
    assert sorted(latest_by_key(out["contacts"])) == ["a", "b", "d-in-time"]
