"""A throw-away single-node Apache Kafka 4.x broker (KRaft, broker + controller in one JVM).

Why: tests, the demo and benchmarks need a real broker (transactions, ``read_committed``,
compaction, large records), and this machine has no Docker engine. The broker runs from the jars
Maven copies into ``lib/kafka/`` (``tools/setup.sh``), listens on 127.0.0.1 only, on free ports,
with fresh storage and settings fit for one node.

Library::

    with start_broker() as kafka:                  # temp folder, removed on stop
        create_topics(kafka.bootstrap, ["in", "out"], compacted=["out"])

Failure tests restart the same broker, same port and same storage, mid-stream::

    kafka = start_broker(port=free_ports(1)[0])
    kafka.restart(downtime_s=10)                   # SIGTERM (or kill=True: SIGKILL), wait, start

A SASL/SCRAM listener beside the plaintext one (``scram_users={"alice": "pw"}``) serves
``kafka.sasl_bootstrap`` for security tests.

CLI (a broker that outlives the command, state under ``var/kafka/`` or ``--dir``)::

    python -m tools.kafka_local start --topics a,b   # prints the bootstrap address
    python -m tools.kafka_local status               # exit 0 running, 1 not running
    python -m tools.kafka_local stop                 # idempotent
"""

from __future__ import annotations

import argparse
import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Optional

from tools.processes import pid_alive, terminate

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_LIB = REPO_ROOT / "lib" / "kafka"
DEFAULT_STATE_DIR = REPO_ROOT / "var" / "kafka"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
HOST = "127.0.0.1"
#: Broker and replica-fetch limit, so records of 1 MiB and more can be tested (clients must also
#: raise their own limits, e.g. the producer's ``message.max.bytes``).
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Flink's KafkaSink asks for a 1 h transaction timeout by default; Kafka's default cap is 15 min.
TRANSACTION_MAX_TIMEOUT_MS = 60 * 60 * 1000
DEFAULT_HEAP = "512m"
DEFAULT_STARTUP_TIMEOUT_S = 60.0
DEFAULT_STOP_TIMEOUT_S = 20.0
PROPERTIES_FILE = "server.properties"
LOG4J_FILE = "log4j2.properties"
BROKER_LOG = "broker.log"
JVM_OUTPUT = "broker.out"
DATA_DIR = "data"
TEMP_PREFIX = "kafka-local-"
#: A temp broker folder this old with no broker running in it was left by a killed run.
STALE_TEMP_DIR_AGE_S = 600
PID_FILE = "broker.pid"
STATE_FILE = "state.json"


class KafkaStartError(RuntimeError):
    """The broker could not be formatted or did not come up; the message ends with its log."""


def _log(message: str) -> None:
    print(f"[kafka-local] {message}", file=sys.stderr, flush=True)


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (all held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def new_cluster_id() -> str:
    """A random KRaft cluster id in Kafka's format (22-char URL-safe base64 of a UUID)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka's Uuid avoids these: they look like CLI flags
            return cluster_id


#: The SASL mechanism of the optional SCRAM listener (``LocalKafka(scram_users=...)``).
SCRAM_MECHANISM = "SCRAM-SHA-256"


def server_properties(data_dir: Path, port: int, controller_port: int,
                      sasl_port: Optional[int] = None) -> str:
    """``server.properties`` for one combined broker + controller node on 127.0.0.1.

    With ``sasl_port`` a second client listener, SASL_PLAINTEXT with SCRAM-SHA-256, is added
    (the users are created when the storage is formatted); brokers talk PLAINTEXT among
    themselves either way.
    """
    listeners = [f"PLAINTEXT://{HOST}:{port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
    if sasl_port is not None:
        listeners.append(f"SASL_PLAINTEXT://{HOST}:{sasl_port}")
        protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "listeners": ",".join([*listeners, f"CONTROLLER://{HOST}:{controller_port}"]),
        "advertised.listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
        "log.dirs": str(data_dir),
        # One node: every internal topic has one replica and accepts writes with one in sync.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "transaction.max.timeout.ms": str(TRANSACTION_MAX_TIMEOUT_MS),
        "message.max.bytes": str(MAX_MESSAGE_BYTES),
        "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        # Tests, the demo and replays produce records timestamped with their (often historical)
        # event time; time-based retention would delete them minutes after they were written.
        "log.retention.ms": "-1",
        # A small machine (2 cores): fewer threads than Kafka's server defaults.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "4",
    }
    if sasl_port is not None:
        settings["sasl.enabled.mechanisms"] = SCRAM_MECHANISM
        settings[f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;")
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def log4j_properties(log_file: Path) -> str:
    """Log4j2 configuration: everything at INFO to one rolling file in the broker's folder."""
    return "\n".join(
        [
            "rootLogger.level=INFO",
            "rootLogger.appenderRef.file.ref=FILE",
            "appender.file.type=RollingFile",
            "appender.file.name=FILE",
            f"appender.file.fileName={log_file}",
            f"appender.file.filePattern={log_file}.%i",
            "appender.file.layout.type=PatternLayout",
            "appender.file.layout.pattern=[%d] %p %m (%c)%n",
            "appender.file.policies.type=Policies",
            "appender.file.policies.size.type=SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size=50MB",
            "appender.file.strategy.type=DefaultRolloverStrategy",
            "appender.file.strategy.max=2",
            # Per-request and state-change chatter would drown the useful lines.
            "logger.request.name=kafka.request.logger",
            "logger.request.level=WARN",
            "logger.statechange.name=state.change.logger",
            "logger.statechange.level=WARN",
            "",
        ]
    )


def _classpath() -> str:
    if not any(KAFKA_LIB.glob("kafka_2.13-*.jar")):
        raise KafkaStartError(
            f"no Kafka broker jars in {KAFKA_LIB}: run tools/setup.sh (or `make setup`) first"
        )
    return str(KAFKA_LIB / "*")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def is_broker_process(pid: int, properties: Path) -> bool:
    """True if ``pid`` is a live broker JVM started with this ``server.properties``.

    Why: a pid file can outlive its process and the pid be reused; never signal a stranger.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        pid_alive(pid)
        and MAIN_CLASS.encode() in cmdline
        and str(properties).encode() in cmdline
    )


def broker_pids(path: Path) -> list[int]:
    """Pids of live broker JVMs whose command line mentions ``path`` (a folder or file)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if MAIN_CLASS.encode() in cmdline and any(str(path).encode() in arg for arg in cmdline):
                if pid_alive(int(entry.name)):
                    pids.append(int(entry.name))
    return pids


def remove_stale_temp_dirs() -> list[Path]:
    """Remove temp broker folders of killed runs (no broker in them, untouched for 10 min)."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        try:
            idle = time.time() - path.stat().st_mtime
        except OSError:
            continue
        if idle > STALE_TEMP_DIR_AGE_S and not broker_pids(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def stop_process(pid: int, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
    """SIGTERM ``pid`` (a clean broker shutdown), SIGKILL it if still alive after ``timeout``.

    Returns True if it had to be killed.
    """
    return bool(terminate([pid], timeout))


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000})


def wait_until_ready(
    bootstrap: str,
    timeout: float = DEFAULT_STARTUP_TIMEOUT_S,
    process: Optional[subprocess.Popen] = None,
    log_path: Optional[Path] = None,
) -> None:
    """Block until the broker answers a metadata request listing itself.

    Raises KafkaStartError (with the tail of ``log_path``) on timeout or if ``process`` exits.
    """
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    admin = None
    while True:
        if process is not None and process.poll() is not None:
            raise KafkaStartError(
                f"Kafka broker exited with code {process.returncode} during start-up; "
                f"log {log_path}:\n{_tail(log_path) if log_path else ''}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise KafkaStartError(
                f"Kafka broker at {bootstrap} not ready after {timeout:.0f} s; "
                f"log {log_path}:\n{_tail(log_path) if log_path else ''}"
            )
        try:
            # A plain connect first: cheap, and keeps librdkafka from logging refused connections.
            with socket.create_connection((host, int(port)), timeout=0.5):
                pass
            admin = admin or _admin(bootstrap)
            if admin.list_topics(timeout=min(2.0, max(remaining, 0.1))).brokers:
                return
        except Exception:  # noqa: BLE001 - not up yet, whatever the reason; retried until timeout
            pass
        time.sleep(0.1)


def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 1,
    compacted: Iterable[str] = (),
    configs: Optional[Mapping[str, str]] = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create topics (idempotent) and wait until each has a leader for every partition.

    ``compacted`` topics get ``cleanup.policy=compact`` (they are created even if not in
    ``names``); ``configs`` (topic configs, e.g. ``{"retention.ms": "-1"}``) apply to every topic
    created here. Existing topics are left as they are. Returns the topic names, in order.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    compacted = set(compacted)
    wanted = list(dict.fromkeys([*names, *sorted(compacted)]))
    if not wanted:
        return []
    admin = _admin(bootstrap)
    new_topics = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=1,
            config={
                **(configs or {}),
                **({"cleanup.policy": "compact"} if name in compacted else {}),
            },
        )
        for name in wanted
    ]
    futures = admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"creating Kafka topic {name!r} failed: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout)
        missing = [
            name
            for name in wanted
            if name not in metadata.topics
            or metadata.topics[name].error is not None
            or not metadata.topics[name].partitions
            or any(p.leader < 0 for p in metadata.topics[name].partitions.values())
        ]
        if not missing:
            return wanted
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kafka topics without a leader after {timeout:.0f} s: {missing}")
        time.sleep(0.1)


class LocalKafka:
    """One broker JVM in ``base_dir`` (``server.properties``, ``data/``, ``broker.log``).

    ``base_dir=None`` uses a temporary folder that ``stop()`` removes. A given ``base_dir`` is
    kept (with its log) but its ``data/`` is wiped on every ``start()``: storage is fresh.
    ``restart()`` is the exception: it keeps the storage and the ports, like a real broker that
    goes down and comes back (failure tests). ``port`` pins the client port (else a free one).
    With ``die_with_parent`` the JVM gets SIGTERM when the thread that started it exits (Linux
    parent-death signal), so a killed test run leaves no broker behind; the CLI turns it off.
    ``scram_users`` ({user: password}) adds a SASL_PLAINTEXT/SCRAM-SHA-256 listener.
    """

    def __init__(
        self,
        base_dir: Optional[os.PathLike | str] = None,
        heap: str = DEFAULT_HEAP,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S,
        die_with_parent: bool = True,
        port: Optional[int] = None,
        scram_users: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._owns_dir = base_dir is None
        if self._owns_dir:
            remove_stale_temp_dirs()
        self.base_dir = Path(
            tempfile.mkdtemp(prefix=TEMP_PREFIX) if base_dir is None else base_dir
        ).resolve()
        self.heap = heap
        self.startup_timeout = startup_timeout
        self.die_with_parent = die_with_parent
        self.fixed_port = port
        self.scram_users = dict(scram_users or {})
        self.port: Optional[int] = None
        self.controller_port: Optional[int] = None
        self.sasl_port: Optional[int] = None
        self.process: Optional[subprocess.Popen] = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise RuntimeError("broker not started")
        return f"{HOST}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        """``host:port`` of the SASL_PLAINTEXT/SCRAM listener (needs ``scram_users``)."""
        if self.sasl_port is None:
            raise RuntimeError("broker not started, or started without scram_users")
        return f"{HOST}:{self.sasl_port}"

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    @property
    def properties_path(self) -> Path:
        return self.base_dir / PROPERTIES_FILE

    @property
    def log_path(self) -> Path:
        return self.base_dir / BROKER_LOG

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> LocalKafka:
        """Format fresh storage, start the JVM and wait until it serves metadata."""
        if self.is_running():
            return self
        classpath = _classpath()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.base_dir / DATA_DIR, ignore_errors=True)
        ports = free_ports(3)
        if self.fixed_port is not None:
            ports = [self.fixed_port, *[p for p in ports if p != self.fixed_port]]
        self.port, self.controller_port = ports[0], ports[1]
        self.sasl_port = ports[2] if self.scram_users else None
        self.properties_path.write_text(
            server_properties(self.base_dir / DATA_DIR, self.port, self.controller_port,
                              self.sasl_port)
        )
        (self.base_dir / LOG4J_FILE).write_text(log4j_properties(self.log_path))
        self._format(classpath)
        return self._launch(classpath)

    def restart(self, downtime_s: float = 0.0, kill: bool = False) -> LocalKafka:
        """Stop the JVM (SIGTERM, or SIGKILL with ``kill``), wait ``downtime_s``, start it again
        on the same ports with the same storage (topics, offsets, transactions survive)."""
        if self.port is None:
            raise RuntimeError("broker never started")
        self.halt(kill=kill)
        if downtime_s > 0:
            time.sleep(downtime_s)
        return self._launch(_classpath())

    def halt(self, kill: bool = False, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stop the JVM but keep its storage and ports for ``resume()``/``restart()``."""
        if self.process is not None and self.process.poll() is None:
            if kill:
                os.kill(self.process.pid, signal.SIGKILL)
            else:
                stop_process(self.process.pid, timeout)
        if self.process is not None:
            self.process.wait()
        _log(f"broker at {self.bootstrap} {'killed' if kill else 'stopped'} (storage kept)")

    def resume(self) -> LocalKafka:
        """Start a halted broker again on its ports and storage."""
        if self.port is None:
            raise RuntimeError("broker never started")
        if self.is_running():
            return self
        return self._launch(_classpath())

    def _format(self, classpath: str) -> None:
        java = shutil.which("java") or "java"
        scram = []
        for user, password in self.scram_users.items():
            scram += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]"]
        fmt = subprocess.run(
            [java, "-Xmx256m", f"-Dlog4j2.configurationFile=file:{self.base_dir / LOG4J_FILE}",
             "-cp", classpath, STORAGE_TOOL_CLASS, "format", "--standalone",
             "-t", new_cluster_id(), "-c", str(self.properties_path), *scram],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise KafkaStartError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")

    def _launch(self, classpath: str) -> LocalKafka:
        """Start the JVM on the configured ports and storage; wait until it serves metadata."""
        started = time.monotonic()
        java = shutil.which("java") or "java"
        jvm_opts = [
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile=file:{self.base_dir / LOG4J_FILE}",
            f"-Dkafka.logs.dir={self.base_dir}",
        ]
        prefix = []
        if self.die_with_parent and shutil.which("setpriv"):
            prefix = [shutil.which("setpriv"), "--pdeathsig", "TERM"]
        command = [*prefix, java, *jvm_opts, "-cp", classpath, MAIN_CLASS,
                   str(self.properties_path)]
        with open(self.base_dir / JVM_OUTPUT, "ab") as jvm_output:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=jvm_output,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                start_new_session=True,
            )
        if self not in _started_brokers:
            _started_brokers.append(self)
        try:
            wait_until_ready(self.bootstrap, self.startup_timeout, self.process, self.log_path)
        except BaseException:
            self.stop()
            raise
        _log(f"broker up at {self.bootstrap} in {time.monotonic() - started:.1f} s "
             f"(pid {self.pid}, dir {self.base_dir})")
        return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stop the JVM (SIGTERM, SIGKILL after ``timeout``) and drop its storage; idempotent."""
        if self.process is not None:
            if self.process.poll() is None:
                stop_process(self.process.pid, timeout)
            self.process.wait()
        if self in _started_brokers:
            _started_brokers.remove(self)
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        else:
            shutil.rmtree(self.base_dir / DATA_DIR, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


_started_brokers: list[LocalKafka] = []


@atexit.register
def _stop_forgotten_brokers() -> None:
    """Why: a library user that forgets ``stop()`` must not leave a JVM running."""
    for broker in list(_started_brokers):
        if broker.die_with_parent:
            broker.stop()


def start_broker(base_dir: Optional[os.PathLike | str] = None, **options: object) -> LocalKafka:
    """Start a broker (see ``LocalKafka``) and return its handle: ``.bootstrap``, ``.stop()``,
    ``.restart()``."""
    return LocalKafka(base_dir, **options).start()  # type: ignore[arg-type]


# --- CLI: a detached broker whose pid and address are kept in a state folder -----------------


def read_state(state_dir: Path) -> Optional[dict]:
    """The state of the CLI broker in ``state_dir`` if it is running, else None."""
    try:
        state = json.loads((state_dir / STATE_FILE).read_text())
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    if state.get("pid") != pid or not is_broker_process(pid, state_dir / PROPERTIES_FILE):
        return None
    return state


def _clear_state(state_dir: Path) -> None:
    for name in (PID_FILE, STATE_FILE):
        (state_dir / name).unlink(missing_ok=True)


def cli_start(state_dir: Path, topics: list[str], compacted: list[str], partitions: int,
              heap: str) -> int:
    state = read_state(state_dir)
    if state is None:
        _clear_state(state_dir)
        broker = LocalKafka(state_dir, heap=heap, die_with_parent=False).start()
        _started_brokers.remove(broker)  # outlives this command by design
        state = {
            "pid": broker.pid,
            "bootstrap": broker.bootstrap,
            "port": broker.port,
            "controller_port": broker.controller_port,
            "dir": str(broker.base_dir),
            "log": str(broker.log_path),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (state_dir / PID_FILE).write_text(f"{broker.pid}\n")
        (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    else:
        _log(f"already running (pid {state['pid']})")
    if topics or compacted:
        created = create_topics(state["bootstrap"], topics, partitions, compacted)
        _log(f"topics ready: {', '.join(created)}")
    print(state["bootstrap"])
    return 0


def cli_stop(state_dir: Path, timeout: float) -> int:
    state = read_state(state_dir)
    if state is None:
        _clear_state(state_dir)
        _log("not running")
        return 0
    killed = stop_process(int(state["pid"]), timeout)
    _clear_state(state_dir)
    shutil.rmtree(state_dir / DATA_DIR, ignore_errors=True)
    _log(f"stopped pid {state['pid']}" + (" (killed after timeout)" if killed else ""))
    return 0


def cli_status(state_dir: Path) -> int:
    state = read_state(state_dir)
    if state is None:
        print("not running")
        return 1
    print(f"running {state['bootstrap']} (pid {state['pid']}, dir {state['dir']})")
    return 0


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.kafka_local",
        description="Run a local single-node Kafka 4.x broker (KRaft) on 127.0.0.1 in the "
        "background. Needs the jars from tools/setup.sh in lib/kafka/.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="folder for the broker's pid file, state.json, config, data and log "
        "(default: %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser(
        "start",
        help="start the broker (fresh storage) unless running; print its bootstrap address",
    )
    start.add_argument("--topics", type=_split, default=[], help="comma-separated topics to create")
    start.add_argument(
        "--compacted", type=_split, default=[], help="comma-separated topics to create compacted"
    )
    start.add_argument("--partitions", type=int, default=1, help="partitions per topic (default 1)")
    start.add_argument("--heap", default=DEFAULT_HEAP, help="JVM max heap (default %(default)s)")
    stop = commands.add_parser("stop", help="stop the broker (SIGTERM, then SIGKILL); idempotent")
    stop.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_STOP_TIMEOUT_S,
        help="seconds to wait after SIGTERM before SIGKILL (default %(default)s)",
    )
    commands.add_parser("status", help="print 'running ADDRESS' (exit 0) or 'not running' (exit 1)")
    for sub in commands.choices.values():  # accept --dir after the command too
        sub.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    state_dir = args.dir.resolve()
    try:
        if args.command == "start":
            return cli_start(state_dir, args.topics, args.compacted, args.partitions, args.heap)
        if args.command == "stop":
            return cli_stop(state_dir, args.timeout)
        return cli_status(state_dir)
    except KafkaStartError as exc:
        _log(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
