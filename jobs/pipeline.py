"""The dataflow, independent of where records come from and go to.

    contact events ─ source: key, event time ─┐ keyBy ContactId
    CTRs ─────────── source: key, event time ─┴─ ContactState ─ queue puts ───┐ keyBy queue
                                                  │                  missed ──┴─ QueueWindows ─┐
                                                  └─ fact puts ─┐ keyBy agent   │              │
    agent events ─── source: key, event time ── keyBy agent ────┴─ AgentState ──┘ agent        │
                                                                  metrics, contact facts ──────┤
    (--report-windows) primary window totals of both ─ keyBy queue / agent ─ ReportWindows ────┤
    unreadable records ─ Reject ─┐                                                             │
    dead letters (parse errors, late records) ─────────────────────────────────────────── sink

Event time and watermarks come from the sources (``jobs.sources``: per partition, in Java), one
strategy per input stream, so neither a reader that owns several partitions nor one stream's read
speed makes another's records late (SPEC §3). The keyed operators receive each record as the raw
JSON the source read and parse it themselves (``udfs.flink_ingest``); in thread mode every keyed
input arrives in key-group batches (``jobs.batches``). ``build_pipeline`` takes a source factory
and returns the one stream of output rows; the caller attaches the sink.
"""

from __future__ import annotations

from pyflink.datastream import DataStream, StreamExecutionEnvironment

from jobs.batches import batched, keyed_input, keyed_process, rows, side_output, stream_type
from jobs.sources import SourceFactory, key_time_class
from udfs.flink_agent_state import AgentStateFunction
from udfs.flink_contact_state import ContactStateFunction
from udfs.flink_ingest import RejectFunction
from udfs.flink_outputs import (
    AGENT_PUT_TAG,
    KEYED_RAW_TYPE,
    KEYED_TYPE,
    MISSED_PUT_TAG,
    OUTPUT_ROW_TYPE,
    OUTPUT_TAG,
    REPORT_TAG,
)
from udfs.flink_queue_windows import QueueWindowsFunction
from udfs.flink_reports import ReportWindowsFunction
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS
from udfs.settings import Settings


def split_readable(timed: DataStream) -> tuple[DataStream, DataStream]:
    """(``Row(key, raw)`` of the records the source read, raw strings of those it could not)."""
    j_routed = timed._j_data_stream.process(key_time_class("Route")(),
                                            KEYED_RAW_TYPE.get_java_type_info())
    readable = DataStream(j_routed)
    unreadable = DataStream(j_routed.getSideOutput(key_time_class("").unreadableTag()))
    return readable, unreadable


def raw_inputs(source: SourceFactory, settings: Settings, names: tuple[str, ...],
               out_of_orderness_ms: int) -> tuple[dict, list]:
    """{stream: ``batched`` stream or None} and the dead-letter rows of unreadable records."""
    streams, dead = {}, []
    for name in names:
        timed = source(name, out_of_orderness_ms)
        if timed is None:
            streams[name] = None
            continue
        readable, unreadable = split_readable(timed)
        streams[name] = batched(readable, settings)
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
    contacts = agent_puts = agents = queue_rows = None
    if ce is not None or ct is not None:
        ce = ce if ce is not None else _empty(env, stream_type(settings))
        ct = ct if ct is not None else _empty(env, stream_type(settings))
        contacts = keyed_process(keyed_input(ce, settings).connect(keyed_input(ct, settings)),
                                 ContactStateFunction(settings), KEYED_TYPE,
                                 settings).name("contact state")
        outputs.append(rows(side_output(contacts, OUTPUT_TAG, settings), settings))
        agent_puts = batched(side_output(contacts, AGENT_PUT_TAG, settings), settings,
                             raw=False)
    if ae is not None or agent_puts is not None:
        ae = ae if ae is not None else _empty(env, stream_type(settings))
        if agent_puts is None:
            agent_puts = _empty(env, stream_type(settings, raw=False))
        agents = keyed_process(
            keyed_input(ae, settings).connect(keyed_input(agent_puts, settings, raw=False)),
            AgentStateFunction(settings), OUTPUT_ROW_TYPE, settings).name("agent state")
        outputs.append(rows(agents, settings))
        outputs.append(rows(side_output(agents, OUTPUT_TAG, settings), settings))
    if contacts is not None:
        queue_puts = batched(contacts, settings, raw=False)
        if agents is not None:  # contacts_missed: the agents' MISSED/REJECTED, keyed by queue
            queue_puts = queue_puts.union(
                batched(side_output(agents, MISSED_PUT_TAG, settings), settings, raw=False))
        queue_rows = keyed_process(keyed_input(queue_puts, settings, raw=False),
                                   QueueWindowsFunction(settings), OUTPUT_ROW_TYPE,
                                   settings).name("queue windows")
        outputs.append(rows(queue_rows, settings))
    if settings.report_windows:  # report intervals: rollups of the primary windows
        primaries = [batched(side_output(op, REPORT_TAG, settings), settings, raw=False)
                     for op in (queue_rows, agents) if op is not None]
        first, rest = primaries[0], primaries[1:]
        reports = keyed_process(
            keyed_input(first.union(*rest) if rest else first, settings, raw=False),
            ReportWindowsFunction(settings), OUTPUT_ROW_TYPE, settings).name("report windows")
        outputs.append(rows(reports, settings))
    first, rest = outputs[0], outputs[1:]
    return first.union(*rest) if rest else first
