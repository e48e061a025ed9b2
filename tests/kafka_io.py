"""Produce scenario inputs to Kafka and read the job's outputs back with read_committed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Callable, Iterable, Optional, Sequence

from confluent_kafka import Consumer, Producer

from udfs.ingest import normalizer_for

INPUTS = ("contact_events", "ctrs", "agent_events")
OUTPUTS = ("queue", "agent", "contacts", "deadletter")
def event_time(stream: str, line: str) -> int:
    """Record timestamp = event time (what the simulator and Connect bridges do)."""
    rec = normalizer_for(stream)(line)
    return getattr(rec, "event_ms", 0) or 0


def record_key(stream: str, line: str) -> Optional[bytes]:
    """ContactId / AgentARN, as Connect's bridges and the simulator key records (per-agent
    order holds within a partition)."""
    rec = normalizer_for(stream)(line)
    key = getattr(rec, "agent_arn" if stream == "agent_events" else "contact_id", None)
    return key.encode() if key else None


def produce(bootstrap: str, topic: str, stream: str, lines: Iterable[str],
            keyed: bool = False) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    n = 0
    for line in lines:
        producer.produce(topic, line.encode(), timestamp=event_time(stream, line),
                         key=record_key(stream, line) if keyed else None)
        n += 1
        if n % 10_000 == 0:
            producer.flush()
    producer.flush()
    return n


def job_args(bootstrap: str, topics: dict, extra: Sequence[str] = ()) -> list[str]:
    return ["--source", "kafka", "--sink", "kafka", "--bootstrap-servers", bootstrap,
            "--contact-events-topic", topics["contact_events"], "--ctrs-topic", topics["ctrs"],
            "--agent-events-topic", topics["agent_events"],
            "--queue-metrics-topic", topics["queue"], "--agent-metrics-topic", topics["agent"],
            "--contacts-topic", topics["contacts"], "--deadletter-topic", topics["deadletter"],
            "--group-id", f"test-{uuid.uuid4().hex[:8]}",
            "--transactional-id-prefix", f"test-{uuid.uuid4().hex[:8]}",
            "--checkpoint-interval", "1s", "--min-pause", "200ms", "--restart-attempts", "0",
            *extra]


def flink_log_tail(pid: Optional[int] = None, lines: int = 200) -> str:
    """The end of a process's Flink log (this process by default), for failure messages."""
    import glob
    import os

    from jobs.connect_metrics import LOG_DIR

    log_dir = os.environ.get("FLINK_LOG_DIR", LOG_DIR)
    logs = glob.glob(os.path.join(log_dir, f"flink-*-{pid or os.getpid()}-python-*.log"))
    if not logs:
        return f"(no flink log for pid {pid or os.getpid()} in {log_dir})"
    with open(max(logs, key=os.path.getmtime), errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def run_bounded(bootstrap: str, topics: dict, extra: Sequence[str] = ()) -> None:
    """Run the Kafka-mode job in-process until the input present at start is consumed."""
    from jobs.connect_metrics import main

    assert main(job_args(bootstrap, topics, ["--bounded", *extra])) == 0
    ends = end_offsets(bootstrap, [topics[o] for o in ("queue", "agent", "contacts", "deadletter")])
    if not any(ends.values()):
        inputs = end_offsets(bootstrap, [topics[i] for i in INPUTS])
        raise AssertionError(f"the job wrote nothing; inputs {inputs}\n" + flink_log_tail())


def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict:
    from confluent_kafka import TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "offsets"})
    try:
        meta = consumer.list_topics(timeout=10)
        return {t: sum(consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
                       for p in meta.topics[t].partitions) for t in topics}
    finally:
        consumer.close()


def start_unbounded(bootstrap: str, topics: dict, extra: Sequence[str] = (),
                    log_path: Optional[str] = None) -> subprocess.Popen:
    """The job as a separate process that runs until it is stopped (``stop_job``)."""
    import os

    out = open(log_path, "w") if log_path else subprocess.DEVNULL
    env = {k: v for k, v in os.environ.items() if k != "FLINK_IDENT_STRING"}  # its own log file
    return subprocess.Popen([sys.executable, "-m", "jobs.connect_metrics",
                             *job_args(bootstrap, topics, extra)], env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_job(proc: subprocess.Popen) -> None:
    import os
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def consume(bootstrap: str, topics: Sequence[str], *, timeout_s: float = 30.0,
            until: Optional[Callable[[list[dict]], bool]] = None,
            idle_s: float = 3.0) -> list[dict]:
    """All committed records of ``topics`` (JSON values, with ``_topic``).

    Stops when ``until(records)`` is true, or after ``idle_s`` without a new record once at least
    one arrived, or at ``timeout_s``.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe(list(topics))
    records: list[dict] = []
    deadline = time.time() + timeout_s
    last = time.time()
    try:
        while time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                if until is None and records and time.time() - last > idle_s:
                    break
                continue
            value = json.loads(msg.value())
            value["_topic"] = msg.topic()
            assert msg.key().decode() == value["key"]  # the Kafka key is the record's key
            records.append(value)
            last = time.time()
            if until is not None and until(records):
                break
    finally:
        consumer.close()
    return records


def consume_to_end(bootstrap: str, topics: Sequence[str], timeout_s: float = 60.0) -> list[dict]:
    """Every committed record of ``topics`` up to their current end (for finished jobs)."""
    from confluent_kafka import TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(timeout=10)
        parts = [TopicPartition(t, p, 0) for t in topics for p in meta.topics[t].partitions]
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)
                for tp in parts}
        parts = [tp for tp in parts if ends[(tp.topic, tp.partition)][1] > 0]
        if not parts:
            return []
        consumer.assign(parts)
        records: list[dict] = []
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            positions = consumer.position(parts)
            if all(tp.offset >= ends[(tp.topic, tp.partition)][1] for tp in positions):
                return records
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            value = json.loads(msg.value())
            value["_topic"] = msg.topic()
            assert msg.key().decode() == value["key"]
            records.append(value)
        raise AssertionError(f"did not reach the end of {topics} in {timeout_s} s")
    finally:
        consumer.close()


def by_output(records: list[dict], topics: dict) -> dict:
    """{'queue_metrics': [...], 'agent_metrics': [...], 'contacts': [...], 'deadletter': [...]}"""
    names = {topics["queue"]: "queue_metrics", topics["agent"]: "agent_metrics",
             topics["contacts"]: "contacts", topics["deadletter"]: "deadletter"}
    out: dict = {v: [] for v in names.values()}
    for r in records:
        topic = r.pop("_topic")
        out[names[topic]].append(r)
    return out
