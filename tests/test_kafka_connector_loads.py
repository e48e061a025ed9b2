"""lib/connect-metrics-deps.jar in PyFlink 2.2: our Java helpers and the Kafka connector load.

Why: the jar is built by Maven (tools/setup.sh) and only PyFlink uses it, so a wrong shading,
relocation or class name would otherwise surface only when a job first runs against Kafka.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration, Row, Types, WatermarkStrategy
from pyflink.common.serialization import DeserializationSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaSink,
    KafkaSource,
)
from pyflink.java_gateway import get_gateway

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPS_JAR = REPO_ROOT / "lib" / "connect-metrics-deps.jar"
HELPERS = "io.connectmetrics.flink"
ROW_OF_STRINGS = Types.ROW([Types.STRING(), Types.STRING(), Types.STRING()])


def new_env() -> StreamExecutionEnvironment:
    """A thread-mode environment with the deps jar, as the job builds it."""
    assert DEPS_JAR.is_file(), f"{DEPS_JAR} missing: run tools/setup.sh"
    config = Configuration()
    config.set_string("python.execution-mode", "thread")
    # Thread mode finds libpython by running `python.executable` (default: `python` on PATH).
    config.set_string("python.executable", sys.executable)
    # Fail, do not restart forever (the default once checkpointing is on).
    config.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.add_jars(DEPS_JAR.as_uri())
    env.set_parallelism(1)
    return env


def java_helper(name: str):
    """A new instance of one of our Java classes (the jar must be added first)."""
    package = get_gateway().jvm
    for part in f"{HELPERS}.{name}".split("."):
        package = getattr(package, part)
    return package()


def java_row(*fields: str | None):
    row = get_gateway().jvm.org.apache.flink.types.Row.withPositions(len(fields))
    for position, value in enumerate(fields):
        row.setField(position, value)
    return row


def kafka_source(bootstrap: str, topic: str) -> KafkaSource:
    return (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap)
        .set_topics(topic)
        .set_group_id(f"test-{uuid.uuid4().hex}")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(
            DeserializationSchema(java_helper("NullSafeStringDeserializationSchema"))
        )
        .build()
    )


def kafka_sink(bootstrap: str) -> KafkaSink:
    builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap)
        .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .set_transactional_id_prefix(f"test-{uuid.uuid4().hex[:12]}")
    )
    builder._j_builder.setRecordSerializer(java_helper("TopicKeyValueSerializationSchema"))
    return builder.build()


@pytest.fixture(scope="module", autouse=True)
def _jar_on_gateway() -> None:
    new_env()


def test_serializer_writes_topic_key_and_value_as_utf8() -> None:
    serializer = java_helper("TopicKeyValueSerializationSchema")
    row = java_row("connect.metrics.queue", "q1|VOICE|0", "välue")
    record = serializer.serialize(row, None, 60)
    assert record.getClass().getName() == (
        "org.apache.flink.kafka.shaded.org.apache.kafka.clients.producer.ProducerRecord"
    )
    assert record.topic() == "connect.metrics.queue"
    assert record.key() == b"q1|VOICE|0"
    assert record.value() == "välue".encode()
    assert record.timestamp() is None  # stamped by the producer at write time, not event time
    assert record.partition() is None


def test_serializer_null_key_null_value_and_no_timestamp() -> None:
    serializer = java_helper("TopicKeyValueSerializationSchema")
    keyless = serializer.serialize(java_row("t", None, "v"), None, None)
    assert (keyless.key(), keyless.value(), keyless.timestamp()) == (None, b"v", None)
    tombstone = serializer.serialize(java_row("t", "k", None), None, -1)
    assert (tombstone.key(), tombstone.value(), tombstone.timestamp()) == (b"k", None, None)


def test_serializer_rejects_a_row_without_topic() -> None:
    serializer = java_helper("TopicKeyValueSerializationSchema")
    for row in (java_row("t", "k"), java_row(None, "k", "v")):
        with pytest.raises(Py4JJavaError, match="IllegalArgumentException"):
            serializer.serialize(row, None, None)


def test_deserializer_never_fails() -> None:
    deserializer = java_helper("NullSafeStringDeserializationSchema")
    assert deserializer.deserialize(None) == ""
    assert deserializer.deserialize(b"") == ""
    assert deserializer.deserialize('{"a": "é"}'.encode()) == '{"a": "é"}'
    assert deserializer.deserialize(b"\xff{}") == "\ufffd{}"
    assert deserializer.isEndOfStream("") is False
    assert deserializer.getProducedType().toString() == "String"


def test_pyflink_wires_source_and_sink_with_the_java_classes() -> None:
    env = new_env()
    # PyFlink's reset strategy names the relocated kafka-clients class: proves the relocation.
    KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST)
    stream = env.from_source(
        kafka_source("127.0.0.1:9", "in"), WatermarkStrategy.no_watermarks(), "kafka-in"
    )
    stream.map(lambda value: Row("out", None, value), output_type=ROW_OF_STRINGS).sink_to(
        kafka_sink("127.0.0.1:9")
    ).name("kafka-out")
    plan = env.get_execution_plan()
    assert "kafka-in" in plan and "kafka-out" in plan


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exactly_once_round_trip_through_flink(kafka_bootstrap: str, kafka_topics) -> None:
    topics = kafka_topics(["in", "out"])
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for key, value in (("a", '{"n": 1}'), ("b", None), ("c", "not json")):
        producer.produce(topics["in"], key=key, value=value)
    assert producer.flush(10) == 0

    env = new_env()
    env.enable_checkpointing(500)
    out = topics["out"]
    (
        env.from_source(
            kafka_source(kafka_bootstrap, topics["in"]), WatermarkStrategy.no_watermarks(), "in"
        )
        .map(lambda value: Row(out, value or None, f"<{value}>"), output_type=ROW_OF_STRINGS)
        .sink_to(kafka_sink(kafka_bootstrap))
    )
    env.execute("kafka-round-trip")

    consumer = Consumer({
        "bootstrap.servers": kafka_bootstrap,
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })
    consumer.subscribe([out])
    records = []
    try:
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.key(), message.value()))
            if len(records) == 3:
                break
    finally:
        consumer.close()
    assert records == [
        (b'{"n": 1}', b'<{"n": 1}>'),
        (None, b"<>"),  # the tombstone reached Python as ""
        (b"not json", b"<not json>"),
    ]
