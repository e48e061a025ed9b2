"""Shared by the failure and bad-input tests: a simulated hour on Kafka and its exact checks.

Why one module: the broker-restart, TaskManager-kill, savepoint and bad-input tests all do the
same things — generate a simulated hour with its independently computed reference
(``tools.simulate.generate``), produce its three feeds to Kafka (at once, or paced in compressed
real time so a failure lands mid-stream: ``PacedFeed``), watch what a ``read_committed`` consumer
sees and when (``OutputCollector``), and compare the outputs with the reference on every field
(as ``tests/test_simulated_hour.py`` does in file mode), plus the exactly-once invariants that
only a failure can break: no (key, revision) committed twice, no window missing, nothing counted
twice.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from confluent_kafka import Consumer, Producer

from tests.jobrun import latest_by_key, read_jsonl
from tests.kafka_io import INPUTS, OUTPUTS, by_output, consume_to_end, event_time
from tests.payloads import agent_event, contact_event, ctr
from tools.kafka_local import MAX_MESSAGE_BYTES
from tools.sim.config import FaultConfig, SimConfig
from tools.sim.kafka_out import KEEP_FOREVER
from tools.sim.simulation import Simulation
from tools.simulate import generate

#: Every delivery fault of the simulator on, as in tests/test_simulated_hour.py.
FAULTS = FaultConfig(ctr_duplicates=0.1, late_redeliveries=0.05, out_of_order_s=30.0,
                     agent_duplicates=0.05, malformed=0.01)
#: Topic settings for test topics: simulated event times are in 2024, so time-based retention
#: must never delete them (the record timestamp is the event time).
FEED_FILES = {stream: f"{stream}.jsonl" for stream in INPUTS}


#: The end-of-feed marker's key (contact id / agent name): see ``sentinels``.
SENTINEL = "zz-end-of-feed"


@dataclass
class SimulatedHour:
    """A generated hour: input files, reference metrics and ``truth.json`` in ``dir``."""

    dir: Path
    truth: dict
    config: SimConfig

    def lines(self, stream: str) -> list[bytes]:
        return [line for line in (self.dir / FEED_FILES[stream]).read_bytes().split(b"\n")
                if line]

    def bad_lines(self) -> dict[str, int]:
        return {s: self.truth["files"][FEED_FILES[s]]["bad_lines"] for s in INPUTS}


def simulate_hour(out: Path, seed: int = 11, agents: int = 12, contacts: int = 400,
                  faults: FaultConfig = FAULTS, duration_s: int = 3600) -> SimulatedHour:
    cfg = SimConfig(seed=seed, agents=agents, contacts=contacts, duration_s=duration_s,
                    faults=faults)
    return SimulatedHour(out, generate(cfg, out), cfg)


#: The production shape (SPEC §3, §5): multi-partition input topics read at parallelism 2.
PARTITIONS = 4
PARALLELISM_ARGS = ["--parallelism", "2"]


def hour_topics(kafka_topics: Callable[..., dict[str, str]],
                partitions: int = PARTITIONS) -> dict[str, str]:
    """Inputs (``partitions`` each) and the dead-letter topic plain, metric/contact topics
    compacted (as the job creates them)."""
    return kafka_topics([*INPUTS, "deadletter"], compacted=["queue", "agent", "contacts"],
                        configs=KEEP_FOREVER, partitions=partitions)


def unique_topics(bootstrap: str, partitions: int = 1) -> dict[str, str]:
    """``hour_topics`` without the function-scoped fixture (for module fixtures, own brokers)."""
    from tools.kafka_local import create_topics

    suffix = uuid.uuid4().hex[:8]
    topics = {name: f"{name}-{suffix}" for name in (*INPUTS, *OUTPUTS)}
    create_topics(bootstrap, [topics[n] for n in (*INPUTS, "deadletter")],
                  compacted=[topics[n] for n in ("queue", "agent", "contacts")],
                  configs=KEEP_FOREVER, partitions=partitions)
    return topics


def producer(bootstrap: str, **config: object) -> Producer:
    """An idempotent producer that also takes records up to the broker's 8 MiB limit."""
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True,
                     "message.max.bytes": MAX_MESSAGE_BYTES, "compression.type": "lz4",
                     **config})


def produce_lines(bootstrap: str, topic: str, stream: str, lines: Iterable[bytes],
                  **config: object) -> int:
    """Produce lines in order; record timestamp = event time when the line parses, else now.

    (A malformed line has no event time; a far-future one must not be stamped with it either:
    the broker rejects record timestamps too far ahead of its clock.)
    """
    p = producer(bootstrap, **config)
    failures: list[str] = []

    def on_delivery(err, _msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            failures.append(str(err))

    now = int(time.time() * 1000)
    n = 0
    for line in lines:
        ts = event_time(stream, line.decode("utf-8", "replace")) if len(line) < 1 << 20 else 0
        ts = ts if 0 < ts <= now else None
        while True:
            try:
                p.produce(topic, line, timestamp=ts or 0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        n += 1
    remaining = p.flush(60)
    assert remaining == 0 and not failures, f"{remaining} undelivered, failures {failures[:3]}"
    return n


def sentinels() -> dict[str, bytes]:
    """One record per stream, hours after the simulated hour, that moves every stream's watermark
    past every window and the allowed lateness — what "the hour is over" looks like to an
    unbounded job (file mode and ``--bounded`` get it from the end of their input instead).

    Each is chosen to add nothing to the metrics: a contact event of a type that is no early
    signal, an agent going (and staying) Offline, a CTR without queue or agent. The CTR does make
    one contact fact, keyed ``SENTINEL``, which the comparisons leave out.
    """
    at = "13:00:00"  # the hour is 08:00-09:10; CTR re-deliveries carry their original times
    return {
        "contact_events": contact_event("CONTACT_DATA_UPDATED", SENTINEL, initiated=at).encode(),
        "ctrs": ctr(SENTINEL, last_update=at, disconnect=at).encode(),
        "agent_events": agent_event(SENTINEL, f"{SENTINEL}-1", "STATE_CHANGE", at,
                                    status="Offline").encode(),
    }


class PacedFeed(threading.Thread):
    """Produces a simulated hour to Kafka as it happens, compressed into ``seconds`` of wall
    clock, then the sentinels: the job is *mid-stream* whenever a failure is injected.

    Records go out in the simulator's delivery order across the three feeds (keyed by contact /
    agent, timestamped with event time, like ``python -m tools.simulate --to-kafka
    --realtime``). Only the hour itself is paced: CTR re-deliveries the simulator schedules up
    to 3 h later follow at once. A broker outage only delays it (the producer buffers and
    retries for up to 5 minutes).

    The feed holds at ``hold_at`` (share of the records) until ``release()``: a test releases
    it once the job has committed output, so the failure it injects at a later share really
    hits a running job mid-stream, however long the job took to start.
    """

    def __init__(self, bootstrap: str, topics: dict[str, str], hour: SimulatedHour,
                 seconds: float, hold_at: float = 0.1) -> None:
        super().__init__(daemon=True, name="paced-feed")
        self.bootstrap = bootstrap
        self.topics = topics
        self.hour = hour
        self.seconds = seconds
        self.total = sum(self.hour.truth["files"][f]["good_lines"]
                         + self.hour.truth["files"][f]["bad_lines"] for f in FEED_FILES.values())
        self.produced = 0
        self.delivered_ms = hour.config.start_ms  # delivery time of the last record produced
        self.finished_at: Optional[float] = None
        self.error: Optional[BaseException] = None
        self.hold_at = hold_at
        self._released = threading.Event()

    @property
    def progress(self) -> float:
        return self.produced / self.total

    def release(self) -> None:
        self._released.set()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # noqa: BLE001 - reported by join_feed()
            self.error = e

    def _run(self) -> None:
        cfg = self.hour.config
        speed = (cfg.end_ms + 10 * 60_000 - cfg.start_ms) / 1000 / self.seconds
        p = producer(self.bootstrap, **{"message.timeout.ms": 300_000})
        failures: list[str] = []

        def on_delivery(err, _msg) -> None:  # type: ignore[no-untyped-def]
            if err is not None:
                failures.append(str(err))

        def send(topic: str, value: bytes, key: Optional[bytes], ts: int,
                 partition: Optional[int] = None) -> None:
            where = {} if partition is None else {"partition": partition}
            while True:
                try:
                    p.produce(topic, value, key=key, timestamp=ts, on_delivery=on_delivery,
                              **where)
                    return
                except BufferError:
                    p.poll(0.05)

        # The sentinels' partitions are looked up now: at the end the broker may be down.
        partitions = {stream: sorted(p.list_topics(topic, timeout=60).topics[topic].partitions)
                      for stream, topic in self.topics.items() if stream in INPUTS}
        t0 = time.monotonic()
        for rec in Simulation(cfg).records():
            if not self._released.is_set() and self.produced >= self.hold_at * self.total:
                p.flush(60)
                held = time.monotonic()
                if not self._released.wait(600):
                    raise AssertionError("the feed was never released")
                t0 += time.monotonic() - held
            ahead = t0 + (rec.delivery_ms - cfg.start_ms) / 1000 / speed - time.monotonic()
            if ahead > 0.005:
                time.sleep(min(ahead, 1.0))  # never wait for the 3 h-late re-deliveries
            ts = rec.event_ms if rec.event_ms is not None else rec.delivery_ms
            send(self.topics[rec.stream], rec.value, rec.key.encode() if rec.key else None, ts)
            p.poll(0)
            self.produced += 1
            self.delivered_ms = rec.delivery_ms
        for stream, value in sentinels().items():  # to every partition: each has a watermark
            topic = self.topics[stream]
            for partition in partitions[stream]:
                send(topic, value, SENTINEL.encode(), 0, partition)
        remaining = p.flush(300)
        if remaining or failures:
            raise AssertionError(f"feed: {remaining} undelivered, failures {failures[:3]}")
        self.finished_at = time.monotonic()

    def join_feed(self, timeout: float) -> None:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"the feed did not finish in {timeout:.0f} s")
        if self.error is not None:
            raise AssertionError(f"the feed failed: {self.error!r}") from self.error
        assert self.produced == self.total


class OutputCollector(threading.Thread):
    """Reads the job's output topics read_committed for the whole test, noting when each
    record became visible: that is what a downstream consumer sees, and when."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        super().__init__(daemon=True, name="output-collector")
        self.bootstrap = bootstrap
        self.topics = topics
        self.arrivals: list[tuple[float, str, dict]] = []  # (monotonic, topic, record)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        consumer = Consumer({"bootstrap.servers": self.bootstrap,
                             "group.id": f"collector-{uuid.uuid4().hex}",
                             "isolation.level": "read_committed",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([self.topics[o] for o in OUTPUTS])
        try:
            while not self._stop_event.is_set():
                msg = consumer.poll(0.2)
                if msg is None or msg.error():
                    continue
                record = json.loads(msg.value())
                assert msg.key().decode() == record["key"]
                with self._lock:
                    self.arrivals.append((time.monotonic(), msg.topic(), record))
        finally:
            consumer.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30)

    def count(self) -> int:
        return len(self.arrivals)

    def first_arrival_after(self, t: float) -> Optional[float]:
        with self._lock:
            return next((at for at, _, _ in self.arrivals if at > t), None)

    def outputs(self) -> dict[str, list[dict]]:
        """Everything visible so far, by output name, sentinel fact left out."""
        with self._lock:
            rows = [dict(r, _topic=topic) for _, topic, r in self.arrivals]
        return by_output([r for r in rows if r["key"] != SENTINEL], self.topics)


def converged(hour: SimulatedHour, out: dict[str, list[dict]]) -> bool:
    """Whether the visible outputs already equal the reference (the job has caught up)."""
    try:
        assert_equals_reference(hour, out)
        assert_dead_letters_exact(hour, out)
    except AssertionError:
        return False
    return True


def wait_until_converged(hour: SimulatedHour, collector: OutputCollector, timeout_s: float,
                         settle_s: float = 6.0, on_timeout: Callable[[], str] = lambda: ""
                         ) -> float:
    """Block until the outputs equal the reference, then ``settle_s`` more seconds with nothing
    new arriving (a late duplicate revision would arrive then). Returns the seconds waited.

    On timeout the reference comparison itself fails, naming the first differing key.
    """
    started = time.monotonic()
    while not converged(hour, collector.outputs()):
        if time.monotonic() - started > timeout_s:
            out = collector.outputs()
            try:
                assert_equals_reference(hour, out)
                assert_dead_letters_exact(hour, out)
            except AssertionError as e:
                raise AssertionError(f"outputs did not converge in {timeout_s:.0f} s: {e}\n"
                                     + on_timeout()) from None
        time.sleep(1.0)
    count = collector.count()
    while True:
        time.sleep(settle_s)
        if collector.count() == count:
            return time.monotonic() - started
        count = collector.count()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str,
             interval_s: float = 0.5, on_timeout: Callable[[], str] = lambda: "") -> float:
    """Poll until ``condition()``; returns the seconds waited. Fails with ``what`` on timeout."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n"
                                 + on_timeout())
        time.sleep(interval_s)
    return time.monotonic() - started


def read_outputs(bootstrap: str, topics: dict[str, str]) -> dict[str, list[dict]]:
    """Every committed output record (read_committed), by output name."""
    return by_output(consume_to_end(bootstrap, [topics[o] for o in OUTPUTS], timeout_s=120),
                     topics)


def without_revision(records: list[dict]) -> dict[str, dict]:
    return {k: {f: v for f, v in r.items() if f != "revision"}
            for k, r in latest_by_key(records).items()}


def assert_equals_reference(hour: SimulatedHour, out: dict[str, list[dict]]) -> None:
    """Final values (highest revision per key) equal the reference on every field, no window
    missing or extra (tests/test_simulated_hour.py's comparison)."""
    expected_q = {r["key"]: r for r in read_jsonl(hour.dir / "expected_queue_metrics.jsonl")}
    got_q = without_revision(out["queue_metrics"])
    assert sorted(set(expected_q) - set(got_q)) == [], "queue windows missing"
    assert sorted(set(got_q) - set(expected_q)) == [], "unexpected queue windows"
    for key, exp in expected_q.items():
        if exp["contacts_queued"] + exp["contacts_handled"] == 0:
            # a window without queued/handled CTRs names its queue by what the job learned so far
            assert got_q[key]["queue_name"] in (None, exp["queue_name"])
            got_q[key]["queue_name"] = exp["queue_name"]
        assert got_q[key] == exp, key
    expected_a = {r["key"]: r for r in read_jsonl(hour.dir / "expected_agent_metrics.jsonl")}
    got_a = without_revision(out["agent_metrics"])
    assert sorted(set(expected_a) - set(got_a)) == [], "agent windows missing"
    assert sorted(set(got_a) - set(expected_a)) == [], "unexpected agent windows"
    for key, exp in expected_a.items():
        assert got_a[key] == exp, key
    assert len(expected_q) > 50 and len(expected_a) > 200


def assert_exactly_once(out: dict[str, list[dict]], max_revision_share: float = 0.5) -> None:
    """What only a failure can break: every (key, revision) committed once, revisions of a key
    are 1..n without gaps, and the contact facts hold one final record per contact segment.

    A transaction committed twice (or a replay whose first attempt leaked) shows up as a
    repeated (key, revision) pair; a lost one as a gap.
    """
    for name in ("queue_metrics", "agent_metrics", "contacts"):
        pairs = Counter((r["key"], r["revision"]) for r in out[name])
        repeated = [p for p, n in pairs.items() if n > 1]
        assert repeated == [], f"{name}: committed twice: {repeated[:5]}"
        revisions: dict[str, list[int]] = {}
        for key, rev in pairs:
            revisions.setdefault(key, []).append(rev)
        gaps = {k: sorted(v) for k, v in revisions.items()
                if sorted(v) != list(range(1, len(v) + 1))}
        assert gaps == {}, f"{name}: revision gaps: {list(gaps.items())[:5]}"
    # re-emissions are the exception, not the rule (duplicates must not add revisions)
    facts = out["contacts"]
    assert len(facts) < (1 + max_revision_share) * len(latest_by_key(facts))


def assert_contacts_once(hour: SimulatedHour, out: dict[str, list[dict]]) -> None:
    """One contact fact per good CTR's ContactId, no more, no fewer."""
    import json

    rejected = {x["raw"] for x in out["deadletter"] if x["stream"] == "ctrs"}
    good = {json.loads(line)["ContactId"] for line in hour.lines("ctrs")
            if line.decode() not in rejected}
    assert set(latest_by_key(out["contacts"])) == good


def assert_dead_letters_exact(hour: SimulatedHour, out: dict[str, list[dict]],
                              extra: Optional[dict[str, int]] = None) -> None:
    """Exactly the injected bad lines per stream, each once, and nothing late."""
    got = Counter(x["stream"] for x in out["deadletter"])
    want = Counter(hour.bad_lines())
    want.update(extra or {})
    assert dict(got) == {k: v for k, v in want.items() if v}
    assert [x for x in out["deadletter"] if x["error"] == "late"] == []


RESULTS_DIR = Path(__file__).resolve().parents[1] / "target" / "reliability"


def record_result(name: str, result: dict) -> None:
    """Keep a measurement (recovery times, progress at the failure) for RELIABILITY.md: printed
    (``pytest -s``) and appended to ``target/reliability/<name>.jsonl``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result})
    print(f"\n[reliability] {name}: {line}")
    with open(RESULTS_DIR / f"{name}.jsonl", "a", encoding="utf-8") as f:
        f.write(line + "\n")
