"""The dataflow, independent of where records come from and go to.

    contact events ─ normalize ─ event time ─┐ keyBy ContactId
    CTRs ─────────── normalize ─ event time ─┴─ ContactState ─ queue puts ───┐ keyBy queue
                                                  │                 missed ──┴─ QueueWindows ─┐
                                                  └─ fact puts ─┐ keyBy agent   │             │
    agent events ─── normalize ─ event time ── keyBy agent ─────┴─ AgentState ──┘ agent       │
                                                                  metrics, contact facts ─────┤
    (--report-windows) primary window totals of both ─ keyBy queue / agent ─ ReportWindows ───┤
    dead letters (parse errors, late records) ────────────────────────────────────────── sink

Each stream gets its own watermarks before anything is connected (SPEC §3), so one stream's read
speed never makes another's records late. ``build_pipeline`` takes the raw-line streams and returns
the one stream of output rows; the caller attaches the sink (file writer or Kafka).
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.datastream import DataStream, KeyedStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from udfs.flink_agent_state import AgentStateFunction
from udfs.flink_contact_state import ContactStateFunction
from udfs.flink_normalize import NormalizeFunction
from udfs.flink_outputs import (
    AGENT_PUT_TAG,
    KEYED_TYPE,
    MISSED_PUT_TAG,
    OUTPUT_ROW_TYPE,
    OUTPUT_TAG,
    REPORT_TAG,
    TIMED_KEYED_TYPE,
)
from udfs.flink_queue_windows import QueueWindowsFunction
from udfs.flink_reports import ReportWindowsFunction
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import Settings

PICKLED = Types.PICKLED_BYTE_ARRAY()


def watermark_strategy(settings: Settings, idleness_ms: Optional[int]) -> WatermarkStrategy:
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_millis(settings.out_of_orderness_ms))
    if idleness_ms:
        strategy = strategy.with_idleness(Duration.of_millis(idleness_ms))
    return strategy


def with_event_time(timed: DataStream, strategy: WatermarkStrategy) -> DataStream:
    """Timestamps and watermarks for a stream of ``(Row(key, record), event_ms)``, in Java.

    The same Java pieces PyFlink's ``assign_timestamps_and_watermarks`` uses after its own Python
    extraction step (``CustomTimestampAssigner`` reads field 1, ``RemoveTimestampMapFunction``
    keeps field 0); the normalizer already computed the event time, so that step is skipped.
    """
    jvm = get_gateway().jvm.org.apache.flink.streaming.api.functions.python.eventtime
    j_strategy = strategy._j_watermark_strategy.withTimestampAssigner(
        jvm.CustomTimestampAssigner())
    j_stream = timed._j_data_stream.assignTimestampsAndWatermarks(j_strategy)
    return DataStream(j_stream.map(jvm.RemoveTimestampMapFunction(),
                                   KEYED_TYPE.get_java_type_info()))


def keyed(rows: DataStream) -> KeyedStream:
    """Key a stream of ``Row(key, record)`` by field 0 in Java: what PyFlink's ``key_by`` does
    after its Python ``AddKey`` step, which computes the key and re-pickles every record."""
    gateway = get_gateway()
    j_keyed = rows._j_data_stream.keyBy(gateway.jvm.KeyByKeySelector(),
                                        Types.ROW([Types.STRING()]).get_java_type_info())
    return KeyedStream(j_keyed, PICKLED, rows)


def normalized(raw: DataStream, stream: str, settings: Settings,
               idleness_ms: Optional[int]) -> tuple[DataStream, DataStream]:
    """(Row(key, record) with event time and watermarks, dead-letter rows) of one raw stream."""
    parsed = raw.process(NormalizeFunction(stream, settings),
                         output_type=TIMED_KEYED_TYPE).name(f"normalize {stream}")
    dead = parsed.get_side_output(OUTPUT_TAG)
    timed = with_event_time(parsed, watermark_strategy(settings, idleness_ms))
    return timed.name(f"event time {stream}"), dead


def _empty(env: StreamExecutionEnvironment) -> DataStream:
    return env.from_collection([], type_info=KEYED_TYPE)


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
    contacts = agent_puts = agents = queue_rows = None
    if ce is not None or ct is not None:
        ce = ce if ce is not None else _empty(env)
        ct = ct if ct is not None else _empty(env)
        contacts = (keyed(ce).connect(keyed(ct))
                    .process(ContactStateFunction(settings), output_type=KEYED_TYPE)
                    .name("contact state"))
        outputs.append(contacts.get_side_output(OUTPUT_TAG))
        agent_puts = contacts.get_side_output(AGENT_PUT_TAG)
    if ae is not None or agent_puts is not None:
        ae = ae if ae is not None else _empty(env)
        agent_puts = agent_puts if agent_puts is not None else _empty(env)
        agents = (keyed(ae).connect(keyed(agent_puts))
                  .process(AgentStateFunction(settings), output_type=OUTPUT_ROW_TYPE)
                  .name("agent state"))
        outputs.append(agents)
        outputs.append(agents.get_side_output(OUTPUT_TAG))
    if contacts is not None:
        queue_puts = contacts
        if agents is not None:  # contacts_missed: the agents' MISSED/REJECTED, keyed by queue
            queue_puts = contacts.union(agents.get_side_output(MISSED_PUT_TAG))
        queue_rows = (keyed(queue_puts)
                      .process(QueueWindowsFunction(settings), output_type=OUTPUT_ROW_TYPE)
                      .name("queue windows"))
        outputs.append(queue_rows)
    if settings.report_windows:
        primaries = [op.get_side_output(REPORT_TAG) for op in (queue_rows, agents)
                     if op is not None]
        if primaries:
            first, rest = primaries[0], primaries[1:]
            outputs.append(keyed(first.union(*rest) if rest else first)
                           .process(ReportWindowsFunction(settings), output_type=OUTPUT_ROW_TYPE)
                           .name("report windows"))
    first, rest = outputs[0], outputs[1:]
    return first.union(*rest) if rest else first
