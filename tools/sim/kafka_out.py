"""Kafka output: each feed to its topic, keyed and timestamped like the real producers.

Key = ContactId (contact events, CTRs) or AgentARN (agent events); record timestamp = the
record's event time per SPEC §2 (malformed lines: their delivery time). Records go out in
delivery order, either as fast as possible, at a fixed rate, or on the simulated clock
(``speed`` x real time).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable, Optional

from tools.sim.delivery import AGENT_EVENTS, CONTACT_EVENTS, CTRS, DeliveredRecord
from tools.sim.progress import Progress

DEFAULT_TOPICS = {CONTACT_EVENTS: "connect.contact-events", CTRS: "connect.ctrs",
                  AGENT_EVENTS: "connect.agent-events"}
# Topic config for simulated feeds: their record timestamps are the simulated event times (by
# default in January 2024), so with the broker's 7-day retention the next retention check (every
# 5 minutes) would delete them before a job started later could read them.
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True)
class Pacing:
    """At most one of ``rate`` (records/s) and ``speed`` (simulated s per real s)."""

    rate: Optional[float] = None
    speed: Optional[float] = None
    start_ms: int = 0  # simulated time that maps to the wall-clock start when pacing by speed


class _Pacer:
    def __init__(self, pacing: Pacing):
        self.pacing = pacing
        self.t0 = time.monotonic()
        self.n = 0

    def wait(self, delivery_ms: int) -> None:
        p = self.pacing
        if p.rate:
            target = self.t0 + self.n / p.rate
        elif p.speed:
            target = self.t0 + (delivery_ms - p.start_ms) / 1000 / p.speed
        else:
            return
        self.n += 1
        ahead = target - time.monotonic()
        if ahead > 0.002:
            time.sleep(ahead)


def produce(records: Iterable[DeliveredRecord], bootstrap_servers: str,
            topics: Optional[dict[str, str]] = None, pacing: Pacing = Pacing(),
            progress: Optional[Progress] = None,
            on_delivered: Optional[Callable[[str, int, int, Optional[bytes]], None]] = None
            ) -> dict[str, int]:
    """Produce every record; returns records per stream. Raises if any delivery failed.
    ``on_delivered(topic, partition, offset, key)`` is called for each record the broker took
    (where it landed: the partitioner picks the partition)."""
    from confluent_kafka import KafkaException, Producer

    topics = {**DEFAULT_TOPICS, **(topics or {})}
    producer = Producer({
        "bootstrap.servers": bootstrap_servers,
        "enable.idempotence": True,
        "linger.ms": 20,
        "compression.type": "lz4",
        "message.max.bytes": 4_000_000,
    })
    failures: list[str] = []

    def on_delivery(err, msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            failures.append(str(err))
        elif on_delivered is not None:
            on_delivered(msg.topic(), msg.partition(), msg.offset(), msg.key())

    counts = dict.fromkeys(topics, 0)
    pacer = _Pacer(pacing)
    for record in records:
        pacer.wait(record.delivery_ms)
        timestamp = record.event_ms if record.event_ms is not None else record.delivery_ms
        while True:
            try:
                producer.produce(topics[record.stream], value=record.value, key=record.key,
                                 timestamp=timestamp, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        counts[record.stream] += 1
        if progress is not None:
            progress.tick(record.delivery_ms)
    remaining = producer.flush(60)
    if remaining or failures:
        raise KafkaException(f"{remaining} records not delivered, {len(failures)} failed: "
                             f"{failures[:3]}")
    return counts
