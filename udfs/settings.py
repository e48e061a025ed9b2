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
QUEUE_LIVE = "queue_live"
AGENT_LIVE = "agent_live"
OUTPUT_KINDS = (QUEUE, AGENT, CONTACT, DEADLETTER, QUEUE_LIVE, AGENT_LIVE)
REPORT_KINDS = (QUEUE, AGENT)


def report_output(kind: str, name: str) -> str:
    """The output kind of a report interval's records, e.g. ``queue.15m`` (its topic is the
    primary topic + ``.15m``, its file ``queue_metrics_15m.jsonl``)."""
    return f"{kind}.{name}"


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
    # Ahead of the wall clock (--max-future): 5 min for live sources; jobs.config widens it for
    # file replays, whose event times have nothing to do with the wall clock.
    max_future_ms: int = 5 * 60_000
    # An output record (Kafka key + JSON value) above this goes to the dead letters instead of
    # the sink (--max-record-bytes; Kafka's default max.request.size is 1 MiB).
    max_record_bytes: int = 900 * 1024
    # report intervals (SPEC "Report intervals"): ((name as given, size ms), ...), each a
    # multiple of window_ms; each adds the outputs report_output(QUEUE / AGENT, name)
    report_windows: tuple = ()
    # Live metrics: ticks every live_interval_ms (0 = off), with their own watermarks.
    live_interval_ms: int = 10_000
    live_out_of_orderness_ms: int = 5_000
    # Thread mode: records reach the keyed Python operators in batches of up to this many records
    # of the key groups one subtask owns (``udfs.flink_batches``); 0 = one record per call
    # (process mode).
    input_batch: int = 0
    # With batches: keep the changes of the live cached states in memory until the flush
    # marker before each checkpoint barrier (``udfs.cached_state``); off for unaligned
    # checkpoints, whose snapshot does not wait for the marker.
    state_write_back: bool = False
    # output kind -> Kafka topic (or file stem in file mode)
    outputs: dict = field(default_factory=lambda: {
        QUEUE: "connect.metrics.queue",
        AGENT: "connect.metrics.agent",
        CONTACT: "connect.contacts",
        DEADLETTER: "connect.deadletter",
        QUEUE_LIVE: "connect.metrics.queue.live",
        AGENT_LIVE: "connect.metrics.agent.live",
    })


def window_lateness_ms(settings: Settings) -> int:
    """How long after its end a primary window can still be revised (the longest lateness any
    input it counts has; CTRs may have their own)."""
    return max(settings.allowed_lateness_ms,
               getattr(settings, "ctr_allowed_lateness_ms", 0) or 0)
