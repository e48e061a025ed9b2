"""The local Kafka broker (tools/kafka_local.py): config, topics, transactions, CLI, clean-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import ConfigResource

from tools import kafka_local
from tools.kafka_local import (
    MAX_MESSAGE_BYTES,
    LocalKafka,
    _admin,
    broker_pids,
    create_topics,
    free_ports,
    new_cluster_id,
    server_properties,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def consume_all(bootstrap: str, topic: str, expected: int, isolation: str = "read_committed",
                timeout: float = 20.0, **config: object) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of the first ``expected`` records of ``topic``, read from the beginning."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
        **config,
    })
    consumer.subscribe([topic])
    records: list[tuple[bytes | None, bytes | None]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            records.append((message.key(), message.value()))
    finally:
        consumer.close()
    return records


# --- no broker needed ---------------------------------------------------------------------------


def test_server_properties_fit_one_node() -> None:
    text = server_properties(Path("/tmp/x/data"), 9092, 9093)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert props["log.dirs"] == "/tmp/x/data"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "min.insync.replicas"):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"
    assert props["message.max.bytes"] == props["replica.fetch.max.bytes"] == str(8 * 1024 * 1024)
    assert props["transaction.max.timeout.ms"] == "3600000"


def test_cluster_id_and_ports() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") and "=" not in i for i in ids)
    ports = free_ports(2)
    assert len(set(ports)) == 2 and all(1024 <= p <= 65535 for p in ports)


def test_missing_jars_give_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_local, "KAFKA_LIB", tmp_path / "nothing")
    with pytest.raises(kafka_local.KafkaStartError, match="tools/setup.sh"):
        LocalKafka(tmp_path / "broker").start()


def test_stale_temp_dirs_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_local.tempfile, "tempdir", str(tmp_path))
    stale, fresh, other = (tmp_path / name for name in ("kafka-local-old", "kafka-local-new", "x"))
    for folder in (stale, fresh, other):
        (folder / "data").mkdir(parents=True)
    an_hour_ago = time.time() - 3600
    for folder in (stale, other):
        os.utime(folder, (an_hour_ago, an_hour_ago))
    assert kafka_local.remove_stale_temp_dirs() == [stale]
    assert not stale.exists() and fresh.exists() and other.exists()


def test_cli_status_and_stop_without_a_broker(tmp_path: Path) -> None:
    assert kafka_local.main(["--dir", str(tmp_path), "status"]) == 1
    assert kafka_local.main(["--dir", str(tmp_path), "stop"]) == 0
    # A stale pid file naming a process that is not our broker (this test) is never signalled.
    (tmp_path / "broker.pid").write_text(f"{os.getpid()}\n")
    (tmp_path / "state.json").write_text(f'{{"pid": {os.getpid()}}}')
    assert kafka_local.main(["--dir", str(tmp_path), "status"]) == 1
    assert kafka_local.main(["--dir", str(tmp_path), "stop"]) == 0
    assert not (tmp_path / "broker.pid").exists()


# --- the session broker -------------------------------------------------------------------------


def test_produce_and_consume(kafka_bootstrap: str, kafka_topics) -> None:
    topic = kafka_topics(["plain"])["plain"]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(3):
        producer.produce(topic, key=f"k{i}", value=f'{{"n": {i}}}')
    assert producer.flush(10) == 0
    assert consume_all(kafka_bootstrap, topic, 3) == [
        (b"k0", b'{"n": 0}'),
        (b"k1", b'{"n": 1}'),
        (b"k2", b'{"n": 2}'),
    ]


def test_transactions_and_read_committed(kafka_bootstrap: str, kafka_topics) -> None:
    topic = kafka_topics(["txn"])["txn"]
    producer = Producer({
        "bootstrap.servers": kafka_bootstrap,
        "transactional.id": f"test-{uuid.uuid4().hex}",
        # What Flink's KafkaSink asks for by default; the broker must accept it.
        "transaction.timeout.ms": 3_600_000,
    })
    producer.init_transactions(20)
    for values, commit in ((["a", "b"], True), (["x"], False), (["c"], True)):
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value=value)
        producer.flush(20)  # abort_transaction would otherwise drop unsent records unseen
        if commit:
            producer.commit_transaction(20)
        else:
            producer.abort_transaction(20)
    committed = consume_all(kafka_bootstrap, topic, 3)
    assert [value for _, value in committed] == [b"a", b"b", b"c"]
    uncommitted = consume_all(kafka_bootstrap, topic, 4, isolation="read_uncommitted")
    assert [value for _, value in uncommitted] == [b"a", b"b", b"x", b"c"]


def test_large_records(kafka_bootstrap: str, kafka_topics) -> None:
    topic = kafka_topics(["large"])["large"]
    value = b"v" * (3 * 1024 * 1024 // 2)  # 1.5 MiB, above Kafka's 1 MiB default
    producer = Producer({
        "bootstrap.servers": kafka_bootstrap,
        "message.max.bytes": MAX_MESSAGE_BYTES,
        "compression.type": "none",
    })
    producer.produce(topic, key=b"big", value=value)
    assert producer.flush(20) == 0
    [(key, got)] = consume_all(kafka_bootstrap, topic, 1, **{"fetch.max.bytes": MAX_MESSAGE_BYTES})
    assert key == b"big" and got == value


def test_create_topics_is_idempotent_and_compacts(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    plain, compact = f"plain-{suffix}", f"compact-{suffix}"
    assert create_topics(kafka_bootstrap, [plain], partitions=2, compacted=[compact]) == [
        plain,
        compact,
    ]
    assert create_topics(kafka_bootstrap, [plain, compact], partitions=2) == [plain, compact]
    admin = _admin(kafka_bootstrap)
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[plain].partitions) == 2
    policies = {}
    for resource, future in admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, name) for name in (plain, compact)]
    ).items():
        policies[resource.name] = future.result()["cleanup.policy"].value
    assert policies == {plain: "delete", compact: "compact"}


# --- brokers started by the test itself ---------------------------------------------------------


@pytest.mark.kafka
def test_library_broker_stops_without_leftovers(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "broker")
    with broker:
        assert broker.is_running()
        pid = broker.pid
        assert broker_pids(tmp_path) == [pid]
        assert create_topics(broker.bootstrap, ["t"]) == ["t"]
    assert not broker.is_running()
    assert broker_pids(tmp_path) == []
    assert (tmp_path / "broker" / "broker.log").stat().st_size > 0  # log kept, data wiped
    assert not (tmp_path / "broker" / "data").exists()
    broker.stop()  # idempotent


@pytest.mark.kafka
def test_cli_start_status_stop(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tools.kafka_local", "--dir", str(tmp_path), *args],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        )

    started = cli("start", "--topics", "in,out", "--compacted", "latest")
    assert started.returncode == 0, started.stderr
    bootstrap = started.stdout.strip()
    host, port = bootstrap.split(":")
    assert host == "127.0.0.1" and port.isdigit()
    pid = int((tmp_path / "broker.pid").read_text())
    assert broker_pids(tmp_path) == [pid]

    status = cli("status")
    assert status.returncode == 0 and bootstrap in status.stdout
    again = cli("start")  # idempotent: same broker, same address
    assert again.returncode == 0 and again.stdout.strip() == bootstrap
    topics = _admin(bootstrap).list_topics(timeout=10).topics
    assert {"in", "out", "latest"} <= set(topics)

    stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert broker_pids(tmp_path) == []
    assert cli("status").returncode == 1
    assert cli("stop").returncode == 0
    assert not (tmp_path / "broker.pid").exists() and not (tmp_path / "state.json").exists()
