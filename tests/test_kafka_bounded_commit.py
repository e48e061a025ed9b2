"""A bounded Kafka run commits everything it produced, every time (regression for the flaky
"the job wrote nothing").

The failure looked like an uncommitted final transaction, but its cause was the local broker: the
inputs carry their 2024 event time as record timestamp, and a broker with the default 7-day
``log.retention`` deleted them in its first retention pass, 30 s after it started
(``Deleting segment ... due to log retention time 604800000ms breach based on the largest record
timestamp``). When that pass fell between producing and reading, which happens under load, the
job found ``earliest == latest`` offset, read nothing, and had nothing to commit. The final
checkpoint (FLIP-147, on by default) was never the problem: the JobMaster triggers one when every
task reaches end of data, and the sink's committer commits on it.

So each run checks both halves: the input is still whole after the job (low watermark 0, high
watermark = records produced), and every record's output is readable with read_committed:
exact per-window queue counts for the 1,000 QUEUED events, and one dead letter per garbage line,
matched by its raw text. An open transaction would leave ``consume_to_end`` short of the end.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.jobrun import latest_by_key
from tests.kafka_io import (
    INPUTS,
    OUTPUTS,
    by_output,
    consume_to_end,
    event_time,
    flink_log_tail,
    job_args,
)
from tests.payloads import contact_event, queue_arn

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RUNS = 3
QUEUED = 1000
GARBAGE = 200


def watermarks(bootstrap: str, topic: str) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bounded-commit-offsets"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()


def produce_historical(bootstrap: str, topic: str, lines: list[str]) -> int:
    """Like ``kafka_io.produce`` (record timestamp = event time), but a garbage line, which has
    no event time, gets the previous line's, so that every record is historical: one current
    timestamp would make the broker keep the whole segment and hide a retention problem."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    stamp = 0
    for line in lines:
        stamp = event_time("contact_events", line) or stamp
        producer.produce(topic, line.encode(), timestamp=stamp)
    producer.flush()
    return len(lines)


def scenario(seed: int) -> tuple[list[str], Counter, set[str]]:
    """(input lines, expected queue counts per window key, garbage lines)."""
    start = datetime(2024, 1, 15, 10, 0, tzinfo=timezone.utc)
    rng = random.Random(seed)
    good, expected = [], Counter()
    for i in range(QUEUED):
        at = start + timedelta(milliseconds=1500 * i + rng.randint(0, 999))
        queue = f"q{i % 3}"
        good.append(contact_event("QUEUED", f"contact-{seed}-{i}", queue=queue,
                                  enqueued=at.strftime("%H:%M:%S.%f")[:-3],
                                  envelope_time=at.strftime("%H:%M:%S")))
        minute = at.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        expected[f"{queue_arn(queue)}|VOICE|{minute}"] += 1
    garbage = [f"{{not json #{seed}-{i}" for i in range(GARBAGE)]
    lines, step = [], QUEUED // GARBAGE
    for i, line in enumerate(good):
        lines.append(line)
        if i % step == step - 1:
            lines.append(garbage[i // step])
    return lines, expected, set(garbage)


@pytest.mark.timeout(600)
def test_every_bounded_run_commits_all_output(kafka_bootstrap, kafka_topics):
    from jobs.connect_metrics import main

    for run in range(RUNS):
        topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3])
        lines, expected, garbage = scenario(run)
        assert produce_historical(kafka_bootstrap, topics["contact_events"], lines) >= 1000

        assert main(job_args(kafka_bootstrap, topics, ["--bounded"])) == 0

        # the input must still be whole: a broker deleting it (time retention on historical
        # record timestamps) would make the job read nothing, which is not a sink problem
        low, high = watermarks(kafka_bootstrap, topics["contact_events"])
        assert (low, high) == (0, len(lines)), \
            f"run {run}: the broker deleted input records (offsets {low}..{high} of " \
            f"0..{len(lines)} left), so this run says nothing about the sink\n" + flink_log_tail()
        out = by_output(consume_to_end(kafka_bootstrap, [topics[o] for o in OUTPUTS]), topics)
        counts = {k: r["contacts_queued_by_enqueue"]
                  for k, r in latest_by_key(out["queue_metrics"]).items()}
        dead = Counter(d["raw"] for d in out["deadletter"])
        problem = []
        if counts != dict(expected):
            problem.append(f"queue counts: {sum(counts.values())} of {QUEUED} committed, "
                           f"{len(counts)} of {len(expected)} windows")
        if set(dead) != garbage or any(n != 1 for n in dead.values()):
            problem.append(f"dead letters: {len(dead)} distinct of {GARBAGE} committed")
        assert not problem, f"run {run}: " + "; ".join(problem) + "\n" + flink_log_tail()
