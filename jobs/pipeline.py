"""The dataflow, independent of where records come from and go to.

    contact events ─ source: key, event time ─┐ keyBy ContactId
    CTRs ─────────── source: key, event time ─┴─ ContactState ─ queue puts ─ keyBy queue ─┐
                                                  │                            QueueWindows ─┐
                                                  └─ fact puts ─┐ keyBy agent                │
    agent events ─── source: key, event time ── keyBy agent ────┴─ AgentState ─ agent       │
                                                                  metrics, contact facts ───┤
    unreadable records ─ Reject ─┐                                                          │
    dead letters (parse errors, late records) ──────────────────────────────────────── sink

Event time and watermarks come from the sources (``jobs.sources``: per partition, in Java), one
strategy per input stream, so neither a reader that owns several partitions nor one stream's read
speed makes another's records late (SPEC §3). The keyed operators receive each record as the raw
JSON the source read and parse it themselves (``udfs.flink_ingest``). ``build_pipeline`` takes a
source factory and returns the one stream of output rows; the caller attaches the sink.
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Types
from pyflink.datastream import DataStream, KeyedStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from jobs.sources import SourceFactory, key_time_class
from udfs.flink_agent_state import AgentStateFunction
from udfs.flink_contact_state import ContactStateFunction
from udfs.flink_ingest import RejectFunction
from udfs.flink_outputs import (
    AGENT_PUT_TAG,
    KEYED_RAW_TYPE,
    KEYED_TYPE,
    OUTPUT_ROW_TYPE,
    OUTPUT_TAG,
)
from udfs.flink_queue_windows import QueueWindowsFunction
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import Settings

PICKLED = Types.PICKLED_BYTE_ARRAY()


def keyed(rows: DataStream, value_type=PICKLED) -> KeyedStream:
    """Key a stream of ``Row(key, value)`` by field 0 in Java: what PyFlink's ``key_by`` does
    after its Python ``AddKey`` step, which computes the key and re-pickles every record."""
    gateway = get_gateway()
    j_keyed = rows._j_data_stream.keyBy(gateway.jvm.KeyByKeySelector(),
                                        Types.ROW([Types.STRING()]).get_java_type_info())
    return KeyedStream(j_keyed, value_type, rows)


def split_readable(timed: DataStream) -> tuple[DataStream, DataStream]:
    """(``Row(key, raw)`` of the records the source read, raw strings of those it could not)."""
    j_routed = timed._j_data_stream.process(key_time_class("Route")(),
                                            KEYED_RAW_TYPE.get_java_type_info())
    readable = DataStream(j_routed)
    unreadable = DataStream(j_routed.getSideOutput(key_time_class("").unreadableTag()))
    return readable, unreadable


def raw_inputs(source: SourceFactory, settings: Settings, names: tuple[str, ...],
               out_of_orderness_ms: int) -> tuple[dict, list]:
    """{stream: Row(key, raw) stream or None} and the dead-letter rows of unreadable records."""
    streams, dead = {}, []
    for name in names:
        timed = source(name, out_of_orderness_ms)
        if timed is None:
            streams[name] = None
            continue
        readable, unreadable = split_readable(timed)
        streams[name] = readable
        dead.append(unreadable.process(RejectFunction(name, settings),
                                       output_type=OUTPUT_ROW_TYPE).name(f"unreadable {name}"))
    return streams, dead


def _empty(env: StreamExecutionEnvironment, type_info) -> DataStream:
    return env.from_collection([], type_info=type_info)


def build_pipeline(env: StreamExecutionEnvironment, settings: Settings,
                   source: SourceFactory) -> DataStream:
    """Wire the job; ``source(name, out_of_orderness_ms)`` may return None for an absent feed.
    Returns the output rows."""
    streams, outputs = raw_inputs(source, settings,
                                  (STREAM_CONTACT_EVENTS, STREAM_CTRS, STREAM_AGENT_EVENTS),
                                  settings.out_of_orderness_ms)
    ce, ct, ae = streams[STREAM_CONTACT_EVENTS], streams[STREAM_CTRS], streams[STREAM_AGENT_EVENTS]
    agent_puts: Optional[DataStream] = None
    if ce is not None or ct is not None:
        ce = ce if ce is not None else _empty(env, KEYED_RAW_TYPE)
        ct = ct if ct is not None else _empty(env, KEYED_RAW_TYPE)
        contacts = (keyed(ce, Types.STRING()).connect(keyed(ct, Types.STRING()))
                    .process(ContactStateFunction(settings), output_type=KEYED_TYPE)
                    .name("contact state"))
        outputs.append(contacts.get_side_output(OUTPUT_TAG))
        agent_puts = contacts.get_side_output(AGENT_PUT_TAG)
        queue_rows = (keyed(contacts)
                      .process(QueueWindowsFunction(settings), output_type=OUTPUT_ROW_TYPE)
                      .name("queue windows"))
        outputs.append(queue_rows)
    if ae is not None or agent_puts is not None:
        ae = ae if ae is not None else _empty(env, KEYED_RAW_TYPE)
        agent_puts = agent_puts if agent_puts is not None else _empty(env, KEYED_TYPE)
        agents = (keyed(ae, Types.STRING()).connect(keyed(agent_puts))
                  .process(AgentStateFunction(settings), output_type=OUTPUT_ROW_TYPE)
                  .name("agent state"))
        outputs.append(agents)
        outputs.append(agents.get_side_output(OUTPUT_TAG))
    first, rest = outputs[0], outputs[1:]
    return first.union(*rest) if rest else first
