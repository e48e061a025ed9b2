"""End-to-end tests against a real Kafka broker: the job reads topics, writes with the
exactly-once transactional sink, and the outputs are read back with read_committed."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from tests import test_scenario_scripted as scripted
from tests.jobrun import latest_by_key
from tests.kafka_io import (
    INPUTS,
    OUTPUTS,
    by_output,
    consume,
    consume_to_end,
    flink_log_tail,
    produce,
    run_bounded,
    start_unbounded,
    stop_job,
)
from tests.payloads import contact_event, ctr, queue_arn

pytestmark = pytest.mark.kafka


@pytest.fixture
def topics(kafka_topics) -> dict:
    return kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3])


def test_queued_counts_per_window_exact(kafka_bootstrap, topics):
    """>= 1,000 QUEUED events (some delivered twice) -> exact contacts_queued_by_enqueue."""
    start = datetime(2024, 1, 15, 10, 0, tzinfo=timezone.utc)
    rng = random.Random(3)
    lines, expected = [], Counter()
    for i in range(1200):
        at = start + timedelta(milliseconds=1500 * i + rng.randint(0, 999))
        queue = f"q{i % 3}"
        lines.append(contact_event("QUEUED", f"contact-{i}", queue=queue,
                                   enqueued=at.strftime("%H:%M:%S.%f")[:-3],
                                   envelope_time=at.strftime("%H:%M:%S")))
        minute = at.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        expected[f"{queue_arn(queue)}|VOICE|{minute}"] += 1
    lines += rng.sample(lines, 100)  # contact events are best effort: repeats count once
    produce(kafka_bootstrap, topics["contact_events"], "contact_events", lines)

    run_bounded(kafka_bootstrap, topics)

    out = by_output(consume_to_end(kafka_bootstrap, [topics[o] for o in OUTPUTS]), topics)
    counts = {k: r["contacts_queued_by_enqueue"] for k, r in
              latest_by_key(out["queue_metrics"]).items()}
    assert counts == dict(expected)
    assert sum(counts.values()) == 1200
    assert out["deadletter"] == []


def test_scripted_scenario_over_kafka(kafka_bootstrap, topics):
    """The scripted scenario gives exactly the file-mode expectations through Kafka."""
    produce(kafka_bootstrap, topics["contact_events"], "contact_events",
            scripted.contact_event_lines())
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", list(scripted.CTRS.values()))
    produce(kafka_bootstrap, topics["agent_events"], "agent_events", scripted.agent_lines())

    run_bounded(kafka_bootstrap, topics, ["--report-windows", "5m"])  # creates the .5m topics

    out = by_output(consume_to_end(kafka_bootstrap, [topics[o] for o in OUTPUTS]), topics)
    scripted.assert_expected(out)
    reports = consume_to_end(kafka_bootstrap, [f"{topics['queue']}.5m", f"{topics['agent']}.5m"])
    by_topic: dict = {f"{topics['queue']}.5m": [], f"{topics['agent']}.5m": []}
    for r in reports:
        by_topic[r.pop("_topic")].append(r)
    scripted.assert_five_minute_report(by_topic[f"{topics['queue']}.5m"],
                                       by_topic[f"{topics['agent']}.5m"])


def test_late_ctr_produces_exactly_one_corrected_revision(kafka_bootstrap, topics, tmp_path):
    """A corrected CTR copy after its window fired -> one revision 2 with the full new values."""
    produce(kafka_bootstrap, topics["contact_events"], "contact_events",
            scripted.contact_event_lines())
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", list(scripted.CTRS.values()))
    key = f"{scripted.Q1}|VOICE|2024-01-15T09:01:00Z"
    job = start_unbounded(kafka_bootstrap, topics, ["--idleness", "3s"],
                          log_path=str(tmp_path / "job.log"))
    try:
        first = consume(kafka_bootstrap, [topics["queue"]], timeout_s=120,
                        until=lambda rs: any(r["key"] == key for r in rs))
        assert [r["revision"] for r in first if r["key"] == key] == [1], \
            (tmp_path / "job.log").read_text()[-3000:] + flink_log_tail(job.pid)
        corrected = ctr("c1", last_update="09:05:00", disconnect="09:01:50", queue="support",
                        queue_name="Support", enqueued="09:00:20", dequeued="09:00:40",
                        duration=20, agent="ann", routing_profile="CTR RP", connected="09:00:40",
                        interaction=60, hold=10, holds=1, acw=30, next_contact="c1-next")
        produce(kafka_bootstrap, topics["ctrs"], "ctrs", [corrected, corrected])  # twice
        later = consume(kafka_bootstrap, [topics["queue"]], timeout_s=60,
                        until=lambda rs: sum(r["key"] == key for r in rs) >= 2)
        revisions = [r for r in later if r["key"] == key]
        assert [r["revision"] for r in revisions] == [1, 2]
        assert revisions[1]["avg_handle_time"] == 100.0  # 60 + 10 + 30
        assert revisions[1]["avg_after_contact_work_time"] == 30.0
        assert (revisions[1]["sum_handle_time"], revisions[1]["sum_after_contact_work_time"]) == (
            100.0, 30.0)
        changed = ("revision", "avg_handle_time", "avg_after_contact_work_time", "sum_handle_time",
                   "sum_after_contact_work_time")
        assert {k: v for k, v in revisions[1].items() if k not in changed} == \
            {k: v for k, v in revisions[0].items() if k not in changed}
        facts = consume(kafka_bootstrap, [topics["contacts"]], timeout_s=90,
                        until=lambda rs: sum(r["key"] == "c1" for r in rs) >= 2)
        assert [(f["revision"], f["after_contact_work_duration"]) for f in facts
                if f["key"] == "c1"] == [(1, 20.0), (2, 30.0)]
    finally:
        stop_job(job)
    # nothing else was emitted for that window: no third revision after the duplicate copy
    final = consume(kafka_bootstrap, [topics["queue"]], timeout_s=15)
    assert [r["revision"] for r in final if r["key"] == key] == [1, 2]
    json.dumps(final)
