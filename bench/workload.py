"""The benchmark's input: a simulated contact center scaled to about N events, produced to Kafka.

Why the simulator and not synthetic records: throughput and state size depend on the real mix
(agent events are ~5 KB snapshots, CTRs ~3 KB, contact events ~1 KB), on duplicates, late copies
and malformed lines, and on how many contacts are open at once; ``tools.sim`` produces all of that
with record timestamps equal to event time, as the real Connect bridges do.

Scaling: the center keeps a fixed shape (``CONTACTS_PER_AGENT_HOUR`` contacts per staffed
agent-hour over ``hours`` of arrivals, one queue per ~40 agents) and only its size grows with N.
A pilot at 1/50 of the size measures events per contact for that shape; the real run is then
sized from it, and the exact count it produced is reported.

Input topics are created with ``retention.ms=-1``: the simulated timeline starts in January 2024,
and with Kafka's default 7-day retention the broker deletes such "old" records within minutes
(its retention check runs every 5 minutes), which would leave later phases nothing to read.
"""

from __future__ import annotations

import math
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

from tools.kafka_local import create_topics
from tools.sim.config import SimConfig
from tools.sim.delivery import AGENT_EVENTS, CONTACT_EVENTS, CTRS, DeliveredRecord
from tools.sim.kafka_out import KEEP_FOREVER, Pacing, produce
from tools.sim.progress import Progress
from tools.sim.simulation import Simulation

STREAMS = (CONTACT_EVENTS, CTRS, AGENT_EVENTS)
CONTACTS_PER_AGENT_HOUR = 30
AGENTS_PER_QUEUE = 40
#: One contact in this many (by a hash of its ContactId) is kept for the state-size replay.
STATE_SAMPLE_EVERY = 16


def center_config(contacts: int, hours: float, seed: int) -> SimConfig:
    """A center of the benchmark's fixed shape with ``contacts`` customer contacts."""
    duration_s = int(hours * 3600)
    agents = max(5, round(contacts / (CONTACTS_PER_AGENT_HOUR * hours)))
    queues = max(4, min(50, agents // AGENTS_PER_QUEUE))
    return SimConfig(seed=seed, agents=agents, contacts=max(1, contacts),
                     duration_s=duration_s, queues=queues)


def count_events(cfg: SimConfig) -> int:
    return sum(1 for _ in Simulation(cfg).records())


def scaled_config(n_events: int, seed: int, hours: Optional[float] = None) -> SimConfig:
    """A config expected to produce about ``n_events`` records (pilot-calibrated)."""
    if hours is None:
        hours = 4.0 if n_events >= 200_000 else 1.0
    guess = 12.0  # events per contact, refined by the pilot below
    pilot_contacts = max(200, round(n_events / guess / 50))
    if pilot_contacts * guess >= n_events * 0.5:  # small runs: the pilot is the run itself
        pilot_contacts = max(50, round(n_events / guess))
    pilot = center_config(pilot_contacts, hours, seed)
    per_contact = count_events(pilot) / pilot.contacts
    return center_config(round(n_events / per_contact), hours, seed)


@dataclass
class Workload:
    """Topics holding the produced input, and what the benchmark needs to know about them."""

    topics: dict[str, str]  # stream -> topic
    counts: dict[str, int]  # stream -> records produced
    config: SimConfig
    produce_s: float
    # (stream, partition) -> (offset, ContactId) of the contact-event and CTR records the broker
    # took (None: malformed line), for the number of contacts held at a checkpoint's offsets.
    keys: dict[tuple[str, int], list[tuple[int, Optional[str]]]] = field(default_factory=dict)
    # Lines of a 1/STATE_SAMPLE_EVERY sample of contacts (stream, value), delivery order.
    sample_lines: list[tuple[str, bytes]] = field(default_factory=list)
    bytes_total: int = 0
    partitions: int = 1  # of each input topic (records keyed by ContactId / AgentARN)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def contacts_at(self, offsets: dict[tuple[str, int], int]) -> int:
        """Distinct ContactIds among the records below ``offsets[(stream, partition)]`` of every
        partition of both topics (a consumer group's committed positions)."""
        seen: set[str] = set()
        for (stream, partition), records in self.keys.items():
            end = offsets.get((stream, partition), 0)
            seen.update(k for offset, k in records if offset < end and k)
        return len(seen)

    def delivered(self, topic: str, partition: int, offset: int, key: Optional[bytes]) -> None:
        """``tools.sim.kafka_out.produce``'s delivery report: where a record landed."""
        stream = self.streams.get(topic)
        if stream in (CONTACT_EVENTS, CTRS):
            self.keys.setdefault((stream, partition), []).append(
                (offset, key.decode() if key else None))

    @cached_property
    def streams(self) -> dict[str, str]:
        """Topic -> stream (asked once per delivered record)."""
        return {t: s for s, t in self.topics.items()}


def _tap(records: Iterator[DeliveredRecord], wl: Workload) -> Iterator[DeliveredRecord]:
    """Pass records through, noting the bytes and the state-size sample."""
    sample = wl.sample_lines
    for r in records:
        wl.bytes_total += len(r.value)
        if r.stream != AGENT_EVENTS:
            if r.key and zlib.crc32(r.key.encode()) % STATE_SAMPLE_EVERY == 0:
                sample.append((r.stream, r.value))
        yield r


def produce_workload(bootstrap: str, cfg: SimConfig, prefix: str,
                     quiet: bool = False, partitions: int = 1) -> Workload:
    """Create fresh input topics named ``{prefix}.{stream}`` (``partitions`` each) and produce
    the simulation, keyed as Connect's producers key it."""
    topics = {s: f"{prefix}.{s}" for s in STREAMS}
    create_topics(bootstrap, list(topics.values()), partitions=partitions, configs=KEEP_FOREVER)
    wl = Workload(topics, {}, cfg, 0.0, partitions=partitions)
    sim = Simulation(cfg)
    progress = Progress(cfg.start_ms, cfg.end_ms, enabled=not quiet, every_s=10.0,
                        what="bench: simulate+produce")
    started = time.monotonic()
    counts = produce(_tap(sim.records(), wl), bootstrap, topics, Pacing(), progress,
                     on_delivered=wl.delivered)
    progress.finish()
    wl.produce_s = time.monotonic() - started
    wl.counts = {s: counts.get(s, 0) for s in STREAMS}
    return wl


def describe(cfg: SimConfig) -> str:
    return (f"seed {cfg.seed}, {cfg.agents} agents, {cfg.queues} queues, {cfg.contacts} contacts, "
            f"{cfg.duration_s / 3600:g} h of arrivals")


_T0 = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the benchmark started."""
    print(f"[bench {time.monotonic() - _T0:6.0f}s] {message}", file=sys.stderr, flush=True)


def ceil_div(a: float, b: float) -> int:
    return int(math.ceil(a / b))
