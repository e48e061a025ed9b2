"""End-to-end latency at a fixed input rate: window end -> committed metric record.

Set-up. Contact centers are simulated ahead of time into spool files (so generating them costs no
CPU while the job is measured), then replayed with the simulator's own realtime pacing
(``Pacing(speed=1)``): a record whose delivery time is ``d`` is produced at wall time
``T0 + (d - P) / 1000``, where ``P`` is the *pace start* (simulated) and ``T0`` the wall time
production began. Simulated time therefore advances exactly with the wall clock (offset by a
constant: the centers are simulated from "now, rounded down to the minute" before the job is
started). Records before ``P`` (the warm-up: agents logging in, queues filling) go out at once.
To reach the input rate, identical-shape centers (2,000 agents each, different seeds = different
Connect instances) are added until the paced span carries at least ``rate`` records/s.

Definition. For each *first emission* (``revision`` 1) of a window ending at ``E`` (queue and
agent metrics), with ``seen`` = the wall time our ``read_committed`` consumer received it::

    latency = seen - (T0 + (E - P) / 1000 + out_of_orderness)

i.e. measured from the earliest instant the watermark (max event time - out-of-orderness) can
pass ``E``. It includes: how far the slowest input stream's watermark lags that ideal (a CTR
carries ``DisconnectTimestamp`` but is delivered after ACW, so the CTR stream's maximum event
time trails the clock by seconds), the time to process the window's timers and outputs, and the
wait for the next checkpoint to commit the Kafka transaction (uniform in [0, interval] + the
checkpoint's own duration). The two parts are also reported separately, exactly:
``input_watermark_lag`` (replaying the spool in delivery order gives the instant each operator's
inputs first allow its watermark past ``E``) and ``after_input_watermark`` (seen minus the wall
time that instant was produced at: processing + watermark interval + commit wait).

Only windows that start at or after ``P`` and whose ``E + out_of_orderness`` is at least
``MARGIN_S`` before the end of the paced input count; of those, emissions that appear in their
topic after the first emission of a later window are *late-created* windows (a late CTR opened a
window the watermark had already passed; revision 1 is then emitted on arrival, not by the
watermark) and are reported separately.

Live path. Each live record (queue live and agent live, SPEC §4) carries its tick instant ``T``
(``as_of``), and a tick is emitted once the live watermark (max event time -
``live_out_of_orderness``, from the contact and agent events; CTRs never hold it back) passes
``T``. Mirroring the windows, with the same ``T0`` and ``P``::

    live latency = seen - (T0 + (T - P) / 1000 + live_out_of_orderness)

for every live record seen (no revisions: a gauge is never revised). Only ticks whose interval
``(T - live_interval, T]`` lies in the paced span (``T >= P + live_interval``, as windows start at
or after ``P``) and with ``T + live_out_of_orderness`` at least ``MARGIN_S`` before its end count.
Its input share is computed the same way as the windows' (a tick's timer fires at watermark
``>= T``, i.e. once both live feeds delivered an event time ``>= T + live_out_of_orderness + 1``).
"""

from __future__ import annotations

import heapq
import marshal
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, Optional

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.jobrun import JobRun, RunningJob
from bench.workload import CONTACTS_PER_AGENT_HOUR, STREAMS, log
from tools.kafka_local import create_topics
from tools.sim.config import FaultConfig, SimConfig
from tools.sim.delivery import DeliveredRecord
from tools.sim.kafka_out import KEEP_FOREVER, Pacing, produce
from tools.sim.simulation import Simulation

AGENTS_PER_CENTER = 2000
MAX_CENTERS = 40
TAIL_S = 300  # simulated beyond the horizon so shift ends (logout bursts) stay out of the span
MARGIN_S = 5.0
QUEUE_VERTEX = "queue windows"
AGENT_VERTEX = "agent state"
LIVE_VERTEX = "live ticks"
#: the input streams whose watermarks each operator waits for
WINDOW_INPUTS = {QUEUE_VERTEX: ("contact_events", "ctrs"),
                 AGENT_VERTEX: ("contact_events", "ctrs", "agent_events")}
LIVE_INPUTS = {LIVE_VERTEX: ("contact_events", "agent_events")}  # live CTRs never hold it back
#: the live path's aim (issue #16): p99 <= this + the checkpoint interval
LIVE_AIM_BASE_S = 2.0
#: keys of the live output topics in ``LatencyRun``'s topics
LIVE_OUTPUTS = ("queue_live", "agent_live")


@dataclass
class Spool:
    """Pre-simulated input: per-center spool files merged in delivery order on replay."""

    paths: list[str]
    start_ms: int  # simulated start of every center
    pace_start_ms: int  # P: delivery time that maps to T0
    horizon_ms: int  # nothing delivered after this is replayed
    records: int = 0
    paced_records: int = 0
    agents: int = 0
    centers: int = 0

    @property
    def paced_s(self) -> float:
        return (self.horizon_ms - self.pace_start_ms) / 1000

    def replay(self) -> Iterator[DeliveredRecord]:
        readers = [_read_spool(p) for p in self.paths]
        for rec in heapq.merge(*readers, key=lambda r: r.delivery_ms):
            yield rec


def _read_spool(path: str) -> Iterator[DeliveredRecord]:
    with open(path, "rb") as f:
        while True:
            try:
                yield DeliveredRecord(*marshal.load(f))
            except EOFError:
                return


def build_spool(run_dir: Path, rate: float, warmup_s: float, duration_s: float, seed: int,
                faults: Optional[FaultConfig] = None,
                agents_per_center: int = AGENTS_PER_CENTER) -> Spool:
    """Simulate centers until the paced span carries >= ``rate`` records/s."""
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % 60_000
    pace_ms = start_ms + int(warmup_s * 1000)
    horizon = pace_ms + int(duration_s * 1000)
    sim_s = int(warmup_s + duration_s + TAIL_S)
    per_agent_rate = 0.11  # records/s per agent in steady state at this shape (a first guess)
    agents = max(50, min(agents_per_center, math.ceil(rate / per_agent_rate)))
    contacts = max(10, round(agents * CONTACTS_PER_AGENT_HOUR * sim_s / 3600))
    spool = Spool([], start_ms, pace_ms, horizon)
    while spool.paced_records < rate * duration_s and spool.centers < MAX_CENTERS:
        cfg = SimConfig(seed=seed + spool.centers, agents=agents, contacts=contacts,
                        start_ms=start_ms, duration_s=sim_s, queues=max(4, agents // 40),
                        faults=faults or FaultConfig())
        path = str(run_dir / f"center-{spool.centers}.spool")
        with open(path, "wb") as f:
            for r in Simulation(cfg).records():
                if r.delivery_ms > horizon:
                    break
                marshal.dump(tuple(r), f)
                spool.records += 1
                if r.delivery_ms >= pace_ms:
                    spool.paced_records += 1
        spool.paths.append(path)
        spool.centers += 1
        spool.agents += agents
        log(f"latency: simulated center {spool.centers} ({agents} agents): "
            f"{spool.paced_records / duration_s:,.0f} records/s in the paced span so far")
    return spool


@dataclass
class Seen:
    topic: str
    offset: int
    at: float
    instant_ms: int  # a metric record's window_end; a live record's tick (as_of)
    revision: int  # 0 for live records (never revised)


def seen_record(topic: str, offset: int, at: float, value: dict, live: bool) -> Seen:
    if live:
        return Seen(topic, offset, at, _epoch_ms(value["as_of"]), 0)
    return Seen(topic, offset, at, _epoch_ms(value["window_end"]), int(value["revision"]))


class CommittedWatcher:
    """A read_committed consumer noting when each metric and live record becomes visible."""

    def __init__(self, bootstrap: str, topics: list[str], live_topics: tuple[str, ...] = ()):
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"bench-lat-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed", "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,  # the broker answers at once when a commit lands
        })
        self.live_topics = frozenset(live_topics)
        self.consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING)
                              for t in [*topics, *live_topics]])
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="committed-watcher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for msg in self.consumer.consume(num_messages=1000, timeout=0.1):
                if msg.error() is not None:
                    continue
                at = time.time()
                topic = msg.topic()
                self.seen.append(seen_record(topic, msg.offset(), at, orjson.loads(msg.value()),
                                             topic in self.live_topics))

    def stop(self) -> list[Seen]:
        self._stop.set()
        self._thread.join(timeout=10)
        self.consumer.close()
        return self.seen


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[min(len(v) - 1, int(p * len(v)))], 3)

    return {"count": len(v), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(v[-1], 3),
            "min": round(v[0], 3)}


@dataclass
class LatencyResult:
    summary: dict
    run: Optional[JobRun] = None


def wall_time(t0: float, simulated_ms: int, pace_start_ms: int) -> float:
    """The wall time at which the pacing clock reaches ``simulated_ms``."""
    return t0 + (simulated_ms - pace_start_ms) / 1000


def ideal_wall(t0: float, instant_ms: int, pace_start_ms: int, ooo_ms: int) -> float:
    """The wall time at which the watermark can first pass ``instant_ms`` (a window end or a
    tick): when the pacing clock reaches it plus the out-of-orderness."""
    return wall_time(t0, instant_ms, pace_start_ms) + ooo_ms / 1000


def counted_instants(spool: Spool, lead_ms: int, ooo_ms: int) -> tuple[int, int]:
    """``(lo, hi)``: the window ends / ticks that count, whose period of ``lead_ms`` (window or
    live interval) lies in the paced span and that the watermark can pass ``MARGIN_S`` before
    its end."""
    return (spool.pace_start_ms + lead_ms,
            spool.horizon_ms - ooo_ms - int(MARGIN_S * 1000))


def span_note(paced_s: float, lead_ms: int, ooo_ms: int, what: str) -> Optional[str]:
    """Why nothing of ``what`` can count, when the paced span is too short for one period of
    ``lead_ms`` plus the out-of-orderness and the margin (``counted_instants``)."""
    need_s = (lead_ms + ooo_ms) / 1000 + MARGIN_S
    if paced_s >= need_s:
        return None
    return (f"{paced_s:g} s of paced input is shorter than {what}: {need_s:g} s are needed "
            f"(period + out-of-orderness + {MARGIN_S:g} s margin), so none counts")


def input_watermark_times(spool: Spool, ends: list[int], ooo_ms: int,
                          inputs: Optional[dict[str, tuple[str, ...]]] = None
                          ) -> dict[str, dict]:
    """Per operator and window end ``E``: the delivery time (simulated ms) at which the input
    itself lets the operator's watermark pass ``E``.

    Flink's bounded-out-of-orderness watermark is ``max_ts - ooo - 1`` per stream and a window
    ``[s, E)`` fires at watermark ``>= E - 1``, i.e. once every input stream of the operator has
    delivered a record with event time ``>= E + ooo``. The queue operator's inputs are the contact
    events and CTRs; the agent operator's are those (via the contact operator) and agent events
    (``WINDOW_INPUTS``, the default). Replaying the spool in delivery order gives these instants
    exactly (no REST sampling).
    """
    inputs = WINDOW_INPUTS if inputs is None else inputs
    pending = sorted(set(ends))
    out: dict[str, dict] = {op: {} for op in inputs}
    next_i = dict.fromkeys(inputs, 0)
    top: dict[str, int] = {}
    for r in spool.replay():
        if r.event_ms is None:
            continue
        if r.event_ms <= top.get(r.stream, -1):
            continue
        top[r.stream] = r.event_ms
        for op, streams in inputs.items():
            if any(st not in top for st in streams):
                continue
            wm_ts = min(top[st] for st in streams)
            i = next_i[op]
            while i < len(pending) and wm_ts >= pending[i] + ooo_ms:
                out[op][pending[i]] = r.delivery_ms
                i += 1
            next_i[op] = i
    return out


def analyse(seen: list[Seen], spool: Spool, t0: float, window_ms: int, ooo_ms: int,
            vertex_of: dict[str, str]) -> dict:
    """Latency samples of first emissions (see the module docstring)."""
    first = sorted((s for s in seen if s.revision == 1), key=lambda s: (s.topic, s.offset))
    lo, hi = counted_instants(spool, window_ms, ooo_ms)
    considered = [s for s in first if lo <= s.instant_ms <= hi]
    wm_at = input_watermark_times(spool, [s.instant_ms for s in considered], ooo_ms)
    timely, late_created, after_wm = [], [], []
    by_topic: dict[str, list[float]] = {}
    max_end: dict[str, int] = {}
    for s in first:
        later_seen = max_end.get(s.topic, -1) > s.instant_ms
        max_end[s.topic] = max(max_end.get(s.topic, -1), s.instant_ms)
        if not lo <= s.instant_ms <= hi:
            continue
        latency = s.at - ideal_wall(t0, s.instant_ms, spool.pace_start_ms, ooo_ms)
        if later_seen:
            late_created.append(latency)
            continue
        timely.append(latency)
        by_topic.setdefault(s.topic, []).append(latency)
        d = wm_at[vertex_of[s.topic]].get(s.instant_ms)
        if d is not None:
            after_wm.append(s.at - wall_time(t0, d, spool.pace_start_ms))
    lags = {op: _percentiles([(d - end - ooo_ms) / 1000 for end, d in times.items()])
            for op, times in wm_at.items()}
    return {
        "from_ideal_watermark_s": _percentiles(timely),
        "by_output": {t: _percentiles(v) for t, v in by_topic.items()},
        "after_input_watermark_s": _percentiles(after_wm),
        "input_watermark_lag_s": lags,
        "late_created_windows_s": _percentiles(late_created),
        "windows_considered": {"from_end_ms": lo, "to_end_ms": hi},
    }


def live_samples(seen: list[Seen], spool: Spool, t0: float, interval_ms: int,
                 ooo_ms: int, live_topics: frozenset[str]) -> list[tuple[Seen, float]]:
    """``(record, latency s)`` of every live record of a counted tick (module docstring)."""
    lo, hi = counted_instants(spool, interval_ms, ooo_ms)
    return [(s, s.at - ideal_wall(t0, s.instant_ms, spool.pace_start_ms, ooo_ms))
            for s in seen if s.topic in live_topics and lo <= s.instant_ms <= hi]


def analyse_live(seen: list[Seen], spool: Spool, t0: float, interval_ms: int, ooo_ms: int,
                 name_of: dict[str, str], stopped_at: Optional[float] = None) -> dict:
    """Latency samples of live records, per record (a tick of many queues counts many times).

    Every counted tick should show (a queue with a serving agent online gets a record at each
    tick); ``unseen_ticks`` are those with no record by ``stopped_at`` (the job fell behind),
    each at least ``stopped_at`` minus its ideal late. ``by_tick`` shows the trend (catching up
    with the warm-up burst, steady, or falling behind)."""
    samples = live_samples(seen, spool, t0, interval_ms, ooo_ms, frozenset(name_of))
    ticks = sorted({s.instant_ms for s, _ in samples})
    lo, hi = counted_instants(spool, interval_ms, ooo_ms)
    expected = range(-(-lo // interval_ms) * interval_ms, hi + 1, interval_ms)
    shown = set(ticks)
    unseen = [t for t in expected if t not in shown]
    by_tick: dict[int, list[float]] = {}
    # a tick's timer fires at watermark >= T, i.e. once the inputs reach T + 1 + ooo
    wm_at = {end - 1: d for end, d in input_watermark_times(
        spool, [t + 1 for t in ticks], ooo_ms, LIVE_INPUTS)[LIVE_VERTEX].items()}
    by_output: dict[str, list[float]] = {}
    after_wm = []
    for s, latency in samples:
        by_output.setdefault(name_of[s.topic], []).append(latency)
        by_tick.setdefault(s.instant_ms, []).append(latency)
        d = wm_at.get(s.instant_ms)
        if d is not None:
            after_wm.append(s.at - wall_time(t0, d, spool.pace_start_ms))
    bound = None
    if unseen and stopped_at is not None:
        bound = round(stopped_at - ideal_wall(t0, unseen[0], spool.pace_start_ms, ooo_ms), 3)
    return {
        "from_ideal_watermark_s": _percentiles([latency for _, latency in samples]),
        "by_output": {name: _percentiles(v) for name, v in sorted(by_output.items())},
        "after_input_watermark_s": _percentiles(after_wm),
        "input_watermark_lag_s": _percentiles([(d - t - ooo_ms) / 1000
                                               for t, d in wm_at.items()]),
        "ticks": len(ticks),
        "ticks_expected": len(expected),
        "unseen_ticks": {"count": len(unseen), "earliest_at_least_s": bound},
        "by_tick": [{"tick_s": (t - spool.pace_start_ms) / 1000, "records": len(v),
                     "max_s": round(max(v), 3)} for t, v in sorted(by_tick.items())],
        "ticks_considered": {"from_ms": lo, "to_ms": hi},
        "live_interval_ms": interval_ms,
        "live_out_of_orderness_ms": ooo_ms,
    }


def live_aim(p99_s: Optional[float], checkpoint_interval_s: float, unseen_ticks: int = 0) -> dict:
    """Issue #16's aim for the live path: p99 <= 2 s + the checkpoint interval (a record waits
    for the next checkpoint to commit); missed too when counted ticks never showed (the job fell
    behind: their latency is unbounded), not measured without either."""
    limit = round(LIVE_AIM_BASE_S + checkpoint_interval_s, 3)
    if unseen_ticks:
        return {"p99_at_most_s": limit, "met": False}
    return {"p99_at_most_s": limit, "met": None if p99_s is None else p99_s <= limit}


class LatencyRun:
    """The unbounded job and the committed-output watcher, started before the input exists.

    Why first: the job's start-up (JVM, cluster, Python interpreters; ~20 s) overlaps the
    simulation of the input, and nothing is produced before the job reads.
    """

    def __init__(self, bootstrap: str, run_dir: Path, job_args: list[str], topics: dict):
        """``topics``: inputs (``STREAMS``), outputs (``queue``, ``agent``, ``contacts``,
        ``deadletter``) and, when the job runs the live path, ``LIVE_OUTPUTS``."""
        self.bootstrap = bootstrap
        self.topics = topics
        self.live_topics = tuple(topics[k] for k in LIVE_OUTPUTS if k in topics)
        create_topics(bootstrap, [topics[s] for s in STREAMS], configs=KEEP_FOREVER)
        create_topics(bootstrap, [topics["deadletter"]],
                      compacted=[topics["queue"], topics["agent"], topics["contacts"],
                                 *self.live_topics])
        self.watcher = CommittedWatcher(bootstrap, [topics["queue"], topics["agent"]],
                                        self.live_topics)
        self.job = RunningJob("latency", "jobs.connect_metrics", job_args, run_dir / "job",
                              events=0)

    def abort(self) -> None:
        self.job.kill()
        self.watcher.stop()

    def measure(self, spool: Spool, window_ms: int, ooo_ms: int, checkpoint_interval_s: float,
                live_interval_ms: int = 0, live_ooo_ms: int = 0,
                startup_timeout_s: float = 240.0) -> LatencyResult:
        """Wait until the job reads, replay the spool in realtime, then analyse (the live
        records too when the job runs the live path: ``live_interval_ms`` > 0)."""
        job, topics = self.job, self.topics
        if not job.wait_until(lambda f: len(f.splits_added) >= 3, startup_timeout_s):
            run = job.finish(stop=True)
            self.watcher.stop()
            return LatencyResult({"ok": False, "error": "the job did not start reading"}, run)
        log(f"latency: job reading; replaying {spool.records:,} records, "
            f"{spool.paced_s:.0f} s paced at ~{spool.paced_records / spool.paced_s:,.0f}/s")
        pacing = Pacing(speed=1.0, start_ms=spool.pace_start_ms)
        t0 = time.time()
        counts = produce(spool.replay(), self.bootstrap, {s: topics[s] for s in STREAMS}, pacing)
        t_end = time.time()
        grace = max(ooo_ms, live_ooo_ms) / 1000 + 2 * checkpoint_interval_s + 5
        log(f"latency: input done ({sum(counts.values()):,} records in {t_end - t0:.0f} s); "
            f"waiting {grace:.0f} s for the last windows")
        time.sleep(grace)
        run = job.finish(stop=True)
        stopped_at = time.time()
        seen = self.watcher.stop()
        run.events = sum(counts.values())
        vertex_of = {topics["queue"]: QUEUE_VERTEX, topics["agent"]: AGENT_VERTEX}
        result = analyse(seen, spool, t0, window_ms, ooo_ms, vertex_of)
        result["by_output"] = {("queue" if t == topics["queue"] else "agent"): v
                               for t, v in result["by_output"].items()}
        live_seen = sum(1 for s in seen if s.revision == 0)
        if live_interval_ms and self.live_topics:
            live = analyse_live(seen, spool, t0, live_interval_ms, live_ooo_ms,
                                {topics[k]: k for k in LIVE_OUTPUTS}, stopped_at)
            live["aim"] = live_aim(live["from_ideal_watermark_s"].get("p99"),
                                   checkpoint_interval_s, live["unseen_ticks"]["count"])
        else:
            live = {"off": True, "from_ideal_watermark_s": _percentiles([])}
        summary = {
            "ok": result["from_ideal_watermark_s"].get("count", 0) > 0,
            "input_records": sum(counts.values()),
            "paced_records": spool.paced_records,
            "paced_s": round(spool.paced_s, 1),
            "input_rate_paced": round(spool.paced_records / spool.paced_s, 1),
            "producer_wall_s": round(t_end - t0, 1),
            "centers": spool.centers, "agents": spool.agents,
            "checkpoint_interval_s": checkpoint_interval_s,
            "checkpoints": run.checkpoint_summary(),
            "metric_records_seen": len(seen) - live_seen,
            "live_records_seen": live_seen,
            **result,
            "live": live,
        }
        largest = max(run.rest.checkpoints.values(), key=lambda c: c.total_bytes, default=None)
        if largest is not None:  # steady-state state per operator (realtime, all streams level)
            summary["largest_checkpoint_by_operator"] = {
                name.split(" -> ")[0]: size for name, size in largest.by_vertex.items()}
        return LatencyResult(summary, run)


def cleanup_spool(spool: Spool) -> None:
    for p in spool.paths:
        try:
            os.remove(p)
        except OSError:
            pass
