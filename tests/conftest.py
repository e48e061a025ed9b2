"""Shared fixtures: one Kafka broker for the whole test session.

Why: Kafka tests need a real broker (transactions, ``read_committed``), starting one costs a few
seconds, so a session shares it; each test takes its own uniquely named topics (``kafka_topics``).

Where the broker comes from, first match wins:

- ``CONNECT_METRICS_KAFKA_BOOTSTRAP=host:port``: an already running broker (never stopped here);
- ``CONNECT_METRICS_KAFKA=docker``, or ``auto`` (the default) with a Docker engine answering a
  ping: testcontainers' Kafka module in KRaft mode;
- otherwise (or ``CONNECT_METRICS_KAFKA=local``): ``tools.kafka_local``, the jars in lib/kafka.

testcontainers is imported only on the Docker path, so a machine without Docker never needs it.
Tests that use ``kafka_bootstrap`` get the ``kafka`` marker automatically.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import pytest

from tools.kafka_local import MAX_MESSAGE_BYTES, TRANSACTION_MAX_TIMEOUT_MS, create_topics

log = logging.getLogger(__name__)

BOOTSTRAP_ENV = "CONNECT_METRICS_KAFKA_BOOTSTRAP"
BACKEND_ENV = "CONNECT_METRICS_KAFKA"
IMAGE_ENV = "CONNECT_METRICS_KAFKA_IMAGE"
#: testcontainers' own default image, the one its KRaft mode is tested with.
DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
DOCKER_PING_TIMEOUT_S = 0.5

#: Which broker this session used, for the closing summary line.
_kafka_used: list[str] = []

# Whatever started pytest (`make test`, `.venv/bin/python -m pytest`, an IDE), a bare `python`
# in a child process must be this interpreter: PyFlink's thread mode runs `python` to find
# libpython unless python.executable is set, and would otherwise pick a Python without pemja.
_bin = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
    os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])


def docker_engine_reachable(timeout: float = DOCKER_PING_TIMEOUT_S) -> bool:
    """Ping the Docker engine (``DOCKER_HOST`` or the default socket); False on any doubt."""
    url = urlparse(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    try:
        if url.scheme == "unix":
            if not os.path.exists(url.path):
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(url.path)
        elif url.scheme == "tcp" and url.hostname:
            sock = socket.create_connection((url.hostname, url.port or 2375), timeout=timeout)
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).split(b"\r\n", 1)[0].endswith(b" 200 OK")
    except OSError:
        return False


def _docker_kafka() -> Iterator[str]:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # older testcontainers releases
        from testcontainers.kafka import KafkaContainer

    container = KafkaContainer(os.environ.get(IMAGE_ENV, DEFAULT_KAFKA_IMAGE)).with_kraft()
    # The same single-node settings as tools.kafka_local, so both back-ends behave alike.
    for key, value in {
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_MIN_INSYNC_REPLICAS": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_TRANSACTION_MAX_TIMEOUT_MS": str(TRANSACTION_MAX_TIMEOUT_MS),
        "KAFKA_MESSAGE_MAX_BYTES": str(MAX_MESSAGE_BYTES),
        "KAFKA_REPLICA_FETCH_MAX_BYTES": str(MAX_MESSAGE_BYTES),
        "KAFKA_LOG_RETENTION_MS": "-1",  # inputs carry historical event-time timestamps
    }.items():
        container.with_env(key, value)
    container.start()
    try:
        bootstrap = container.get_bootstrap_server()
        _announce(f"testcontainers Kafka ({container.image}) at {bootstrap}")
        yield bootstrap
    finally:
        container.stop()


def _local_kafka() -> Iterator[str]:
    from tools.kafka_local import start_broker

    broker = start_broker()
    try:
        _announce(f"local Kafka broker (lib/kafka) at {broker.bootstrap}, pid {broker.pid}")
        yield broker.bootstrap
    finally:
        broker.stop()


def _announce(what: str) -> None:
    _kafka_used.append(what)
    log.info("kafka_bootstrap: %s", what)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a Kafka broker shared by the session; stopped at its end if started here."""
    external = os.environ.get(BOOTSTRAP_ENV)
    if external:
        _announce(f"external Kafka at {external} (from {BOOTSTRAP_ENV})")
        yield external
        return
    backend = os.environ.get(BACKEND_ENV, "auto")
    if backend not in ("auto", "docker", "local"):
        raise pytest.UsageError(f"{BACKEND_ENV} must be auto, docker or local, not {backend!r}")
    if backend == "docker" or (backend == "auto" and docker_engine_reachable()):
        yield from _docker_kafka()
    else:
        yield from _local_kafka()


KafkaTopics = Callable[..., dict[str, str]]


@pytest.fixture
def kafka_topics(kafka_bootstrap: str) -> KafkaTopics:
    """Create topics for one test: ``kafka_topics(["in", "out"], compacted=["out"])``.

    Returns {logical name: real topic name}; real names get a random suffix so tests sharing the
    session broker never see each other's records (``unique=False`` keeps names as given).
    Topics keep records forever (``retention.ms=-1``): inputs carry historical event-time
    timestamps, which any broker's time retention would otherwise delete within minutes.
    """

    def create(
        names: Iterable[str],
        *,
        partitions: int = 1,
        compacted: Iterable[str] = (),
        configs: Optional[Mapping[str, str]] = None,
        unique: bool = True,
    ) -> dict[str, str]:
        names, compacted = list(names), list(compacted)
        suffix = f"-{uuid.uuid4().hex[:8]}" if unique else ""
        real = {name: f"{name}{suffix}" for name in [*names, *compacted]}
        create_topics(
            kafka_bootstrap,
            [real[name] for name in names],
            partitions=partitions,
            compacted=[real[name] for name in compacted],
            configs={"retention.ms": "-1", **(configs or {})},
        )
        return real

    return create


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the broker, so ``-m "not kafka"`` reliably skips them."""
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what in _kafka_used:
        terminalreporter.write_line(f"kafka_bootstrap used: {what}")
