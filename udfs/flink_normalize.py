"""Thin Flink wrappers around the normalizers: one operator per input stream.

Valid records continue as ``(Row(key, record), event_ms)``: the key of the operator they go to and
their event time travel with them, so Flink assigns timestamps and keys the stream in Java instead
of two more Python steps per record. Every rejected line leaves through the dead-letter side
output and is counted per (stream, error kind) in the Flink metric group ``deadletter``.
"""

from __future__ import annotations

from pyflink.common import Row
from pyflink.datastream.functions import ProcessFunction, RuntimeContext

from udfs.dead_letter import error_kind, now_ms
from udfs.event_time_bounds import event_time_in_range
from udfs.flink_outputs import OUTPUT_TAG, dead_letter_row
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS, DeadLetter
from udfs.settings import DEADLETTER, Settings


def key_of(stream: str):
    """The key of the operator a stream's records go to: ContactId, or the agent ARN."""
    if stream == STREAM_AGENT_EVENTS:
        return lambda rec: rec.agent_arn
    return lambda rec: rec.contact_id


def normalizer_for(stream: str):
    if stream == STREAM_CONTACT_EVENTS:
        from udfs.parse_contact_event import normalize_contact_event
        return normalize_contact_event
    if stream == STREAM_CTRS:
        from udfs.parse_ctr import normalize_ctr
        return normalize_ctr
    if stream == STREAM_AGENT_EVENTS:
        from udfs.parse_agent_event import normalize_agent_event
        return normalize_agent_event
    raise ValueError(f"unknown stream {stream!r}")


class NormalizeFunction(ProcessFunction):
    def __init__(self, stream: str, settings: Settings):
        self.stream = stream
        self.deadletter_topic = settings.outputs[DEADLETTER]
        self.min_event_ms = settings.min_event_ms
        self.max_future_ms = settings.max_future_ms
        self.normalize = None
        self.key_of = None
        self.metrics = None
        self.counters: dict = {}

    def open(self, runtime_context: RuntimeContext):
        self.normalize = normalizer_for(self.stream)
        self.key_of = key_of(self.stream)
        self.metrics = runtime_context.get_metrics_group().add_group("deadletter").add_group(
            "stream", self.stream)
        self.counters = {}

    def _count(self, kind: str) -> None:
        counter = self.counters.get(kind)
        if counter is None:
            counter = self.counters[kind] = self.metrics.counter(kind)
        counter.inc()

    def process_element(self, value, ctx: ProcessFunction.Context):
        if not value or value.isspace():  # a blank line in a JSON Lines file is no record
            return
        rec = self.normalize(value)
        if type(rec) is not DeadLetter:
            rec = event_time_in_range(rec, self.stream, value, self.min_event_ms,
                                      now_ms() + self.max_future_ms)
        if type(rec) is DeadLetter:
            self._count(error_kind(rec.error))
            yield OUTPUT_TAG, dead_letter_row(self.deadletter_topic, rec)
        else:  # event time = the normalized record's event_ms (SPEC §2)
            yield Row(self.key_of(rec), rec), rec.event_ms
