"""Poll the mini-cluster's REST API during a run: source progress and per-operator checkpoints.

Why: the log has whole-job checkpoint sizes only; the REST API has them per vertex (so the contact
state can be told apart from the agent and queue state), and the sources' record counts over time
(a steady-state rate without start-up and the final-checkpoint wait). The REST port is random per
run: it is read from the run's log. Metrics are refreshed by the JobManager's metric fetcher, which
``bench.jobrun`` sets to 500 ms in the run's own Flink configuration (monitoring only).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bench import flinklog

SOURCE_PREFIX = "Source: "
#: a feed's second reader (the live path's, ``jobs.sources``) is named "... (5000 ms)"
_SECOND_READER = re.compile(r"^Source: \S+ \S+ \(\d+ ms\)")


def is_first_reader(vertex_name: str) -> bool:
    """A source vertex that reads a feed for the main path: the input records, counted once."""
    return vertex_name.startswith(SOURCE_PREFIX) and not _SECOND_READER.match(vertex_name)


def get(port: int, path: str, timeout: float = 2.0) -> Optional[Any]:
    """GET http://localhost:PORT/PATH as JSON; None on any error (the job may be ending)."""
    try:
        with urllib.request.urlopen(f"http://localhost:{port}{path}", timeout=timeout) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


@dataclass
class VertexCheckpoint:
    """One completed checkpoint as REST reports it, with per-vertex state sizes (bytes)."""

    id: int
    ack_at: float  # epoch s of the last acknowledgement
    total_bytes: int
    duration_ms: int
    by_vertex: dict[str, int]  # vertex name -> state size
    extra: dict = field(default_factory=dict)  # filled by the on_checkpoint hook


@dataclass
class RestSamples:
    """What the poller saw; times are epoch seconds."""

    port: Optional[int] = None
    job_id: Optional[str] = None
    vertex_names: dict[str, str] = field(default_factory=dict)  # id -> name
    source_out: list[tuple[float, int]] = field(default_factory=list)  # (t, records out)
    checkpoints: dict[int, VertexCheckpoint] = field(default_factory=dict)

    def first_output_at(self) -> Optional[float]:
        return next((t for t, n in self.source_out if n > 0), None)

    def steady_rate(self, lo: float = 0.1, hi: float = 0.9) -> Optional[float]:
        """Records/s of the sources between ``lo`` and ``hi`` of their final count (the middle
        of the run: no start-up, no tail)."""
        if len(self.source_out) < 3 or self.source_out[-1][1] <= 0:
            return None
        total = self.source_out[-1][1]
        first = next(((t, n) for t, n in self.source_out if n >= lo * total), None)
        last = next(((t, n) for t, n in self.source_out if n >= hi * total), None)
        if first is None or last is None or last[0] <= first[0]:
            return None
        return (last[1] - first[1]) / (last[0] - first[0])


class RestPoller:
    """Background thread: find the REST port in the log, then poll until ``stop()``.

    ``on_checkpoint(checkpoint)`` runs in the poller thread right after a newly completed
    checkpoint is seen (e.g. to read the consumer group's committed offsets, which the Kafka
    source commits when that checkpoint completes).
    """

    def __init__(self, log_dir: str, interval_s: float = 0.5,
                 on_checkpoint: Optional[Callable[[VertexCheckpoint], None]] = None):
        self.log_dir = log_dir
        self.interval_s = interval_s
        self.on_checkpoint = on_checkpoint
        self.samples = RestSamples()
        self._source_metric: dict = {}  # vertex id -> the source operator's numRecordsOut id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rest-poller", daemon=True)

    def start(self) -> "RestPoller":
        self._thread.start()
        return self

    def stop(self) -> RestSamples:
        self._stop.set()
        self._thread.join(timeout=15)
        return self.samples

    def _find_port(self) -> Optional[int]:
        return flinklog.find_rest_port(flinklog.log_path(self.log_dir))

    def _loop(self) -> None:
        s = self.samples
        while not self._stop.is_set():
            try:
                if s.port is None:
                    s.port = self._find_port()
                elif s.job_id is None:
                    jobs = (get(s.port, "/jobs/overview") or {}).get("jobs") or []
                    if jobs:
                        s.job_id = jobs[0]["jid"]
                else:
                    self._poll_job()
            except Exception:  # noqa: BLE001 - monitoring must never break the benchmark
                pass
            self._stop.wait(self.interval_s)

    def _source_records(self, vertex: dict) -> int:
        """Records the source operator of a vertex emitted: the vertex's ``write-records`` count
        what leaves the chain, which is batches when the source is chained to the batcher
        (``--input-batch``); the operator's own ``numRecordsOut`` counts records."""
        s = self.samples
        vid = vertex["id"]
        path = f"/jobs/{s.job_id}/vertices/{vid}/subtasks/metrics"
        metric = self._source_metric.get(vid)
        if metric is None:  # listed once the task has reported its metrics
            ids = [m.get("id", "") for m in get(s.port, path) or []]
            metric = next((i for i in ids if i.startswith("Source__")
                           and i.endswith(".numRecordsOut")), None)
            if metric is not None:
                self._source_metric[vid] = metric
        if metric is not None:
            for m in get(s.port, f"{path}?get={metric}&agg=sum") or []:
                if m.get("id") == metric and m.get("sum") is not None:
                    return int(m["sum"])
        return int(vertex.get("metrics", {}).get("write-records", 0))

    def _poll_job(self) -> None:
        s = self.samples
        now = time.time()
        job = get(s.port, f"/jobs/{s.job_id}")
        if job:
            out = 0
            for v in job.get("vertices", []):
                s.vertex_names[v["id"]] = v["name"]
                if is_first_reader(v["name"]):
                    out += self._source_records(v)
            s.source_out.append((now, out))
        ck = get(s.port, f"/jobs/{s.job_id}/checkpoints")
        if not ck:
            return
        for h in ck.get("history", []):
            if h.get("status") != "COMPLETED" or h["id"] in s.checkpoints:
                continue
            details = get(s.port, f"/jobs/{s.job_id}/checkpoints/details/{h['id']}") or {}
            by_vertex = {s.vertex_names.get(vid, vid): int(t.get("state_size", 0))
                         for vid, t in details.get("tasks", {}).items()}
            c = VertexCheckpoint(h["id"], h["latest_ack_timestamp"] / 1000,
                                 int(h.get("state_size", 0)), int(h.get("end_to_end_duration", 0)),
                                 by_vertex)
            s.checkpoints[c.id] = c
            if self.on_checkpoint is not None:
                self.on_checkpoint(c)
