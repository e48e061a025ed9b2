"""The live path (SPEC §4 "Live metrics"): wallboard gauges at every tick, in event time.

    contact events ─────────────── keyBy ContactId ─┐
    CTRs ─ CTR ends (no hold-back) ─ keyBy ContactId ┴─ live contact ─ stays ──────────┐
    agent events ── keyBy AgentARN ── live agent ─ views ──────────────────────────────┤
                                               └─ members ─ keyBy profile ─ live profiles ─┴─ keyBy
        tick key ─ live ticks (+ broadcast clock) ─ queue live / agent live rows

(``udfs.live.messages``: an agent event goes to its routing profile, which sends each (queue,
channel) its agents' summed share once per tick.)

Inputs are ``jobs.pipeline.batched`` streams (CTRs: ``Row(key, raw)``) with their own live
timestamps and watermarks (SPEC §4: ``--live-out-of-orderness``; ``live_sources`` builds them
from the job's source factory), keyed by ContactId / AgentARN; the live path parses them itself
and never dead-letters (the main path does). ``build_live`` returns the output rows
``Row(topic, key, json)``, or None when there is nothing to compute.
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from jobs.batches import batched, keyed_input, keyed_process, rows, side_output
from udfs.flink_outputs import KEYED_TYPE, OUTPUT_ROW_TYPE
from udfs.live.flink_live import (
    CLOCK_STATE,
    CLOCK_TAG,
    PROFILE_TAG,
    LiveAgentFunction,
    LiveContactFunction,
    LiveCtrEnds,
    LiveProfileFunction,
    LiveTickFunction,
)
from udfs.settings import Settings

#: (Row(ContactId, CtrEnd), timestamp) on its way to the timestamp assigner
TIMED_KEYED_TYPE = Types.TUPLE([KEYED_TYPE, Types.LONG()])


def live_sources(source, settings: Settings) -> dict:
    """{stream: Row(key, raw) with the live path's own event time, or None}, from the job's
    source factory (``jobs.sources``: a second source per feed, with
    ``--live-out-of-orderness``); records the source cannot read are left to the main path."""
    from jobs.pipeline import split_readable

    out = {}
    for name in ("contact_events", "ctrs", "agent_events"):
        timed = source(name, settings.live_out_of_orderness_ms)
        if timed is None:
            out[name] = None
            continue
        readable = split_readable(timed)[0]
        # CTRs go through "live ctr ends" one by one (they are few); the others in batches
        out[name] = readable if name == "ctrs" else batched(readable, settings)
    return out


def ctr_ends(ctrs: DataStream, idleness_ms: Optional[int]) -> DataStream:
    """CTRs for the live path: parsed, stamped so that they never hold back the live watermark
    (they come minutes after the contact events; their times are read from the record)."""
    timed = ctrs.process(LiveCtrEnds(), output_type=TIMED_KEYED_TYPE).name("live ctr ends")
    strategy = WatermarkStrategy.for_monotonous_timestamps()
    if idleness_ms:  # an empty CTR topic must not hold back the live ticks either
        strategy = strategy.with_idleness(Duration.of_millis(idleness_ms))
    # PyFlink's own timestamp assignment, without its Python extraction step: field 1 is the
    # timestamp, field 0 goes on
    jvm = get_gateway().jvm.org.apache.flink.streaming.api.functions.python.eventtime
    j_strategy = strategy._j_watermark_strategy.withTimestampAssigner(
        jvm.CustomTimestampAssigner())
    j_stream = timed._j_data_stream.assignTimestampsAndWatermarks(j_strategy)
    return DataStream(j_stream.map(jvm.RemoveTimestampMapFunction(),
                                   KEYED_TYPE.get_java_type_info())).name("live ctr time")


def build_live(env: StreamExecutionEnvironment, settings: Settings,
               contact_events: Optional[DataStream], ctrs: Optional[DataStream],
               agent_events: Optional[DataStream],
               idleness_ms: Optional[int] = None) -> Optional[DataStream]:
    """Wire the live path; any input may be None. Returns the live output rows, or None when
    live metrics are off (``--live-interval 0``) or there is neither contact nor agent feed."""
    if settings.live_interval_ms <= 0 or (contact_events is None and agent_events is None):
        return None
    messages, clocks = [], []
    if contact_events is not None:
        ends = (ctr_ends(ctrs, idleness_ms) if ctrs is not None
                else env.from_collection([], type_info=KEYED_TYPE))
        contacts = keyed_process(
            keyed_input(contact_events, settings)
            .connect(keyed_input(batched(ends, settings, raw=False), settings, raw=False)),
            LiveContactFunction(settings), KEYED_TYPE, settings).name("live contact")
        messages.append(batched(contacts, settings, raw=False))
        clocks.append(contacts.get_side_output(CLOCK_TAG))
    if agent_events is not None:
        agents = keyed_process(keyed_input(agent_events, settings), LiveAgentFunction(settings),
                               KEYED_TYPE, settings).name("live agent")
        messages.append(batched(agents, settings, raw=False))
        members = batched(side_output(agents, PROFILE_TAG, settings), settings, raw=False)
        profiles = keyed_process(keyed_input(members, settings, raw=False),
                                 LiveProfileFunction(settings), KEYED_TYPE,
                                 settings).name("live profiles")
        messages.append(batched(profiles, settings, raw=False))
        clocks.append(agents.get_side_output(CLOCK_TAG))
    merged = messages[0].union(*messages[1:]) if len(messages) > 1 else messages[0]
    clock = clocks[0].union(*clocks[1:]) if len(clocks) > 1 else clocks[0]
    ticks = keyed_process(
        keyed_input(merged, settings, raw=False).connect(clock.broadcast(CLOCK_STATE)),
        LiveTickFunction(settings), OUTPUT_ROW_TYPE, settings).name("live ticks")
    return rows(ticks, settings)
