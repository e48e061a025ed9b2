"""Parsing raw input inside Flink functions: the normalizer, the event-time bounds and the
dead-letter counters (metric group ``deadletter``, per stream and error kind) in one object.

Records reach Python as the raw strings the source read (key and event time were read in Java at
the source, SPEC §3); ``Ingest.parse`` is what each operator's entry calls. ``RejectFunction``
serves the records the source could not read: the normalizer names the reason.
"""

from __future__ import annotations

from typing import Optional

from pyflink.datastream.functions import ProcessFunction, RuntimeContext

from udfs.dead_letter import INTERNAL, dead_letter, error_kind, make_error, now_ms
from udfs.flink_outputs import dead_letter_row
from udfs.ingest import normalize_raw
from udfs.records import DeadLetter
from udfs.settings import DEADLETTER, Settings


class Ingest:
    """Per stream: ``parse(raw) -> (record, None) | (None, dead-letter row)``."""

    def __init__(self, stream: str, settings: Settings):
        self.stream = stream
        self.topic = settings.outputs[DEADLETTER]
        self.min_ms = settings.min_event_ms
        self.max_future_ms = settings.max_future_ms
        self.max_record_bytes = settings.max_record_bytes
        self.metrics = None
        self.counters: dict = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self.metrics = runtime_context.get_metrics_group().add_group("deadletter").add_group(
            "stream", self.stream)
        self.counters = {}

    def _max_ms(self) -> int:
        return now_ms() + self.max_future_ms

    def dead(self, d: DeadLetter):
        kind = error_kind(d.error)
        counter = self.counters.get(kind)
        if counter is None:
            counter = self.counters[kind] = self.metrics.counter(kind)
        counter.inc()
        return dead_letter_row(self.topic, d, self.max_record_bytes)

    def parse(self, raw: Optional[str]):
        rec = normalize_raw(self.stream, raw, self.min_ms, self._max_ms())
        if type(rec) is DeadLetter:
            return None, self.dead(rec)
        return rec, None


class RejectFunction(ProcessFunction):
    """Dead-letters the records whose key or event time the source could not read.

    The normalizer gives the reason; a record it accepts anyway (the Java reader and it disagree,
    or the wall-clock bound moved between the two reads) is still dead-lettered, never counted:
    it took no part in the watermarks, so counting it could change closed windows.
    """

    def __init__(self, stream: str, settings: Settings):
        self.ingest = Ingest(stream, settings)

    def open(self, runtime_context: RuntimeContext):
        self.ingest.open(runtime_context)

    def process_element(self, value, ctx: ProcessFunction.Context):
        rec, dead = self.ingest.parse(value)
        if dead is None:
            dead = self.ingest.dead(dead_letter(self.ingest.stream, make_error(
                INTERNAL, "the source could not read this record's key and event time"), value))
        yield dead
