"""The job's sources: each input as ``Row(key, raw, event_ms)`` with event time and watermarks.

Event time is read in Java, in the source (``io.connectmetrics.flink.SourceKeyTime``, the same
rules as the Python normalizers): for Kafka and Kinesis inside the deserializer, so the watermark
strategy given to ``from_source`` runs per partition / shard (Flink's per-split watermarks) and a
reader that owns several partitions never makes records late by reading one ahead of another
(SPEC §3). A JSON Lines file is one split read in order, so there the same Java reader runs right
after the file source. Records Java cannot read carry no key and the timestamp ``Long.MIN_VALUE``
(they never move a watermark); the pipeline hands them to the Python normalizer, which
dead-letters them with the reason.

A ``SourceFactory`` builds one input stream per call (``stream name, out-of-orderness``), so the
live path can read the same inputs under its own watermarks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Optional

from jobs.config import KINESIS_POSITIONS, ConfigError, JobConfig

KINESIS_SOURCE_CLASS = "org.apache.flink.connector.kinesis.source.KinesisStreamsSource"
#: Watermark alignment: how often the sources of one group exchange their watermarks.
ALIGNMENT_UPDATE_MS = 1_000
ALIGNMENT_GROUP = "connect-feeds"

SourceFactory = Callable[[str, int], Optional[object]]  # (stream, out-of-orderness ms) -> stream


def _jvm():
    from pyflink.java_gateway import get_gateway

    return get_gateway().jvm


def key_time_class(name: str):
    """``io.connectmetrics.flink.KeyTimeRows`` or one of its nested classes (``Lines``, ...)."""
    package = _jvm().io.connectmetrics.flink
    return getattr(package, "KeyTimeRows" + (f"${name}" if name else ""))


def key_time_type():
    """``Row(key, raw, event_ms)`` as PyFlink type information."""
    from pyflink.common import Types

    return Types.ROW([Types.STRING(), Types.STRING(), Types.LONG()])


@dataclass(frozen=True)
class EventTime:
    """How the sources assign event time: the bound, idleness per split, alignment."""

    out_of_orderness_ms: int
    idleness_ms: Optional[int] = None  # None / 0: never idle (bounded replays, files)
    max_drift_ms: Optional[int] = None  # watermark alignment across the feeds; None / 0: off
    alignment_group: str = ALIGNMENT_GROUP

    def strategy(self):
        """The Java watermark strategy (PyFlink wrapper) with our Java timestamp assigner."""
        from pyflink.common import WatermarkStrategy

        jvm = _jvm()
        duration = jvm.java.time.Duration
        j = (jvm.org.apache.flink.api.common.eventtime.WatermarkStrategy
             .forBoundedOutOfOrderness(duration.ofMillis(self.out_of_orderness_ms))
             .withTimestampAssigner(key_time_class("Assigner")()))
        if self.idleness_ms:
            j = j.withIdleness(duration.ofMillis(self.idleness_ms))
        if self.max_drift_ms:
            j = j.withWatermarkAlignment(self.alignment_group, duration.ofMillis(self.max_drift_ms),
                                         duration.ofMillis(ALIGNMENT_UPDATE_MS))
        return WatermarkStrategy(j)


def reader_args(stream: str, min_event_ms: int, max_future_ms: int) -> tuple:
    """Arguments of the Java ``SourceKeyTime`` reader (the same bounds as the normalizers')."""
    return stream, min_event_ms, max_future_ms


def file_source(env, path: str, stream: str, cfg: JobConfig, event_time: EventTime):
    from pyflink.common import WatermarkStrategy
    from pyflink.datastream import DataStream
    from pyflink.datastream.connectors.file_system import FileSource, StreamFormat

    s = cfg.settings
    src = FileSource.for_record_stream_format(StreamFormat.text_line_format(),
                                              os.path.abspath(path)).build()
    lines = env.from_source(src, WatermarkStrategy.no_watermarks(), f"file {stream}")
    rows = lines._j_data_stream.flatMap(
        key_time_class("Lines")(
            *reader_args(stream, s.min_event_ms, s.max_future_ms)),
        key_time_type().get_java_type_info()).name(f"key and event time {stream}")
    timed = rows.assignTimestampsAndWatermarks(event_time.strategy()._j_watermark_strategy)
    return DataStream(timed.name(f"watermarks {stream}"))


def deserializer(stream: str, cfg: JobConfig):
    s = cfg.settings
    return _jvm().io.connectmetrics.flink.KeyTimeDeserializationSchema(
        *reader_args(stream, s.min_event_ms, s.max_future_ms))


def kafka_source(env, cfg: JobConfig, topic: str, stream: str, event_time: EventTime,
                 name_suffix: str = "", group_id: Optional[str] = None):
    from pyflink.common.serialization import DeserializationSchema
    from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource

    offsets = {"earliest": KafkaOffsetsInitializer.earliest(),
               "latest": KafkaOffsetsInitializer.latest(),
               "committed": KafkaOffsetsInitializer.committed_offsets()}[cfg.starting_offsets]
    builder = (KafkaSource.builder()
               .set_bootstrap_servers(cfg.bootstrap_servers)
               .set_topics(topic)
               .set_group_id(group_id or cfg.group_id)
               .set_starting_offsets(offsets)
               .set_value_only_deserializer(DeserializationSchema(deserializer(stream, cfg))))
    if cfg.bounded:
        builder = builder.set_bounded(KafkaOffsetsInitializer.latest())
    for key, value in cfg.kafka_properties.items():
        builder = builder.set_property(key, value)
    return env.from_source(builder.build(), event_time.strategy(), f"kafka {stream}{name_suffix}",
                           type_info=key_time_type())


def kinesis_source(env, cfg: JobConfig, stream_arn: str, stream: str, event_time: EventTime,
                   name_suffix: str = ""):
    """A Kinesis Data Streams source (flink-connector-aws-kinesis-streams, in the jar only when
    it was built with ``mvn -Pkinesis package``); event time per shard, as for Kafka. Untested:
    the connector cannot be resolved on the build machine."""
    from py4j.java_gateway import JavaClass
    from pyflink.common import Configuration
    from pyflink.datastream.connectors import Source

    jvm = _jvm()
    source_class = jvm
    for part in KINESIS_SOURCE_CLASS.split("."):
        source_class = getattr(source_class, part)
    if not isinstance(source_class, JavaClass):
        raise ConfigError(f"--source kinesis: {KINESIS_SOURCE_CLASS} is not in the jar; build "
                          "it with the Kinesis connector: `mvn -B -q -Pkinesis package`")
    config = Configuration()
    config.set_string("aws.region", cfg.kinesis_region)
    config.set_string("source.init.position", KINESIS_POSITIONS[cfg.starting_offsets])
    for key, value in cfg.kinesis_properties.items():
        config.set_string(key, value)
    source = (source_class.builder()
              .setStreamArn(stream_arn)
              .setSourceConfig(config._j_configuration)
              .setDeserializationSchema(deserializer(stream, cfg))
              .build())
    return env.from_source(Source(source), event_time.strategy(),
                           f"kinesis {stream}{name_suffix}", type_info=key_time_type())


def source_factory(env, cfg: JobConfig) -> SourceFactory:
    """``(stream, out-of-orderness ms) -> Row(key, raw, event_ms) stream`` for the configured
    inputs (None for an input that is not given)."""
    built: dict = {}

    def make(stream: str, out_of_orderness_ms: int):
        count = built[stream] = built.get(stream, 0) + 1
        suffix = "" if count == 1 else f" ({out_of_orderness_ms} ms)"
        if cfg.source == "files":
            path = getattr(cfg, stream)
            return file_source(env, path, stream, cfg, EventTime(out_of_orderness_ms)) \
                if path else None
        # A bounded replay must not declare a slow split idle: the others would run ahead and
        # turn its records late. Idleness is for live streams that really go quiet. Alignment
        # only unbounded: a bounded source finishes its splits, and the Kafka connector's split
        # pausing races with that (FLINK-39728: "No current assignment for partition").
        if cfg.bounded:
            event_time = EventTime(out_of_orderness_ms)
        else:
            event_time = EventTime(out_of_orderness_ms, cfg.idleness_ms,
                                   cfg.max_watermark_drift_ms)
        if cfg.source == "kinesis":
            arn = cfg.streams_in.get(stream)
            return kinesis_source(env, cfg, arn, stream, event_time, suffix) if arn else None
        topic = cfg.topics_in.get(stream)
        # a second reader of a feed (the live path) commits its offsets under a group of its own
        group = cfg.group_id if count == 1 else f"{cfg.group_id}.{count}"
        return kafka_source(env, cfg, topic, stream, event_time, suffix, group) if topic else None

    return make
