"""The processing settings every operator needs, as one small picklable value.

Built by ``jobs.config`` from flags / application properties and passed to each Flink function's
constructor, so the functions never read global configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUEUE = "queue"
AGENT = "agent"
CONTACT = "contact"
DEADLETTER = "deadletter"
OUTPUT_KINDS = (QUEUE, AGENT, CONTACT, DEADLETTER)


@dataclass(frozen=True)
class Settings:
    window_ms: int = 60_000
    out_of_orderness_ms: int = 60_000
    allowed_lateness_ms: int = 15 * 60_000  # contact events and agent events
    # CTRs: Connect writes a CTR only when after-contact work ends, hours after the contact
    ctr_allowed_lateness_ms: int = 2 * 3_600_000
    thresholds: tuple = (15, 20, 30, 60, 90, 120)
    contact_retention_ms: int = 24 * 3_600_000
    dedupe_retention_ms: int = 7 * 24 * 3_600_000
    agent_timeout_ms: int = 240_000
    # Event-time sanity bounds: a record outside them would drag the watermark to the far future
    # (making every later record late) or open windows years before Amazon Connect existed.
    min_event_ms: int = 1_483_228_800_000  # 2017-01-01T00:00:00Z
    max_future_ms: int = 24 * 3_600_000  # ahead of the wall clock
    # output kind -> Kafka topic (or file stem in file mode)
    outputs: dict = field(default_factory=lambda: {
        QUEUE: "connect.metrics.queue",
        AGENT: "connect.metrics.agent",
        CONTACT: "connect.contacts",
        DEADLETTER: "connect.deadletter",
    })
