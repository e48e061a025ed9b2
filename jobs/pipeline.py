"""The dataflow, independent of where records come from and go to.

    contact events ─ normalize ─ event time ─┐ keyBy ContactId
    CTRs ─────────── normalize ─ event time ─┴─ ContactState ─ queue puts ─ keyBy queue ─┐
                                                  │                            QueueWindows ─┐
                                                  └─ fact puts ─┐ keyBy agent                │
    agent events ─── normalize ─ event time ── keyBy agent ─────┴─ AgentState ─ agent       │
                                                                  metrics, contact facts ───┤
    dead letters (parse errors, late records) ──────────────────────────────────────── sink

Each stream gets its own watermarks before anything is connected (SPEC §3), so one stream's read
speed never makes another's records late. ``build_pipeline`` takes the raw-line streams and returns
the one stream of output rows; the caller attaches the sink (file writer or Kafka).
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from udfs.flink_agent_state import AgentStateFunction
from udfs.flink_contact_state import ContactStateFunction
from udfs.flink_normalize import EventTimeAssigner, NormalizeFunction
from udfs.flink_outputs import AGENT_PUT_TAG, OUTPUT_ROW_TYPE, OUTPUT_TAG
from udfs.flink_queue_windows import QueueWindowsFunction, queue_key
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import Settings

PICKLED = Types.PICKLED_BYTE_ARRAY()


def watermark_strategy(settings: Settings, idleness_ms: Optional[int]) -> WatermarkStrategy:
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_millis(settings.out_of_orderness_ms))
    if idleness_ms:
        # with_idleness returns a new strategy without any assigner: set the assigner after it.
        strategy = strategy.with_idleness(Duration.of_millis(idleness_ms))
    return strategy.with_timestamp_assigner(EventTimeAssigner())


def normalized(raw: DataStream, stream: str, settings: Settings,
               idleness_ms: Optional[int]) -> tuple[DataStream, DataStream]:
    """(records with event time and watermarks, dead-letter rows) of one raw input stream."""
    parsed = raw.process(NormalizeFunction(stream, settings),
                         output_type=PICKLED).name(f"normalize {stream}")
    dead = parsed.get_side_output(OUTPUT_TAG)
    timed = parsed.assign_timestamps_and_watermarks(watermark_strategy(settings, idleness_ms))
    return timed.name(f"event time {stream}"), dead


def _empty(env: StreamExecutionEnvironment, type_info) -> DataStream:
    return env.from_collection([], type_info=type_info)


def build_pipeline(env: StreamExecutionEnvironment, settings: Settings,
                   contact_events: Optional[DataStream], ctrs: Optional[DataStream],
                   agent_events: Optional[DataStream],
                   idleness_ms: Optional[int] = None) -> DataStream:
    """Wire the job; any input may be None (that feed is simply absent). Returns output rows."""
    outputs = []
    streams = {}
    for name, raw in ((STREAM_CONTACT_EVENTS, contact_events), (STREAM_CTRS, ctrs),
                      (STREAM_AGENT_EVENTS, agent_events)):
        if raw is None:
            streams[name] = None
            continue
        streams[name], dead = normalized(raw, name, settings, idleness_ms)
        outputs.append(dead)

    ce, ct, ae = streams[STREAM_CONTACT_EVENTS], streams[STREAM_CTRS], streams[STREAM_AGENT_EVENTS]
    agent_puts = None
    if ce is not None or ct is not None:
        ce = ce if ce is not None else _empty(env, PICKLED)
        ct = ct if ct is not None else _empty(env, PICKLED)
        contacts = (ce.key_by(lambda r: r.contact_id, key_type=Types.STRING())
                    .connect(ct.key_by(lambda r: r.contact_id, key_type=Types.STRING()))
                    .process(ContactStateFunction(settings), output_type=PICKLED)
                    .name("contact state"))
        outputs.append(contacts.get_side_output(OUTPUT_TAG))
        agent_puts = contacts.get_side_output(AGENT_PUT_TAG)
        queue_rows = (contacts.key_by(queue_key, key_type=Types.STRING())
                      .process(QueueWindowsFunction(settings), output_type=OUTPUT_ROW_TYPE)
                      .name("queue windows"))
        outputs.append(queue_rows)
    if ae is not None or agent_puts is not None:
        ae = ae if ae is not None else _empty(env, PICKLED)
        agent_puts = agent_puts if agent_puts is not None else _empty(env, PICKLED)
        agents = (ae.key_by(lambda r: r.agent_arn, key_type=Types.STRING())
                  .connect(agent_puts.key_by(lambda p: p.agent_arn, key_type=Types.STRING()))
                  .process(AgentStateFunction(settings), output_type=OUTPUT_ROW_TYPE)
                  .name("agent state"))
        outputs.append(agents)
        outputs.append(agents.get_side_output(OUTPUT_TAG))
    first, rest = outputs[0], outputs[1:]
    return first.union(*rest) if rest else first
