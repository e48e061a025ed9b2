"""Small Kafka helpers of the benchmark: committed offsets of a group, committed record counts."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Optional, Sequence

from confluent_kafka import Consumer, TopicPartition


@contextlib.contextmanager
def broker_for(bootstrap: Optional[str]) -> Iterator[str]:
    """The given broker, or a local one (``tools.kafka_local``) started for the run and stopped
    after it; yields its bootstrap address."""
    if bootstrap is not None:
        yield bootstrap
        return
    from tools.kafka_local import start_broker

    broker = start_broker(heap="1g")
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def committed_offsets(bootstrap: str, group: str, topics: Sequence[str]
                      ) -> dict[tuple[str, int], int]:
    """{(topic, partition): offset the consumer group has committed} of every partition of
    ``topics`` (none committed yet: 0).

    The job's Kafka source commits its offsets when a checkpoint completes, so right after
    checkpoint N these are the positions that checkpoint N covers.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(timeout=10)
        parts = [TopicPartition(t, p) for t in topics for p in meta.topics[t].partitions]
        committed = consumer.committed(parts, timeout=5)
        return {(tp.topic, tp.partition): max(0, tp.offset) for tp in committed}
    finally:
        consumer.close()


def count_committed(bootstrap: str, topics: Sequence[str], timeout_s: float = 120.0
                    ) -> dict[str, int]:
    """Committed records per topic (``read_committed``, values not decoded), to the end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    counts = dict.fromkeys(topics, 0)
    try:
        meta = consumer.list_topics(timeout=10)
        parts = [TopicPartition(t, p, 0) for t in topics if t in meta.topics
                 for p in meta.topics[t].partitions]
        # read_committed stops at the last stable offset: the high watermark of a finished job
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1]
                for tp in parts}
        parts = [tp for tp in parts if ends[(tp.topic, tp.partition)] > 0]
        if not parts:
            return counts
        consumer.assign(parts)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error() is None:
                    counts[msg.topic()] += 1
            positions = consumer.position(parts)
            if all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in positions):
                break
        return counts
    finally:
        consumer.close()
