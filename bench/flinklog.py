"""What the mini-cluster's log says about one run: job states, reads, checkpoints, REST port.

Why the log: the job under test is the real entry point (``python -m jobs.connect_metrics``), so
the benchmark cannot instrument it; the JVM's INFO log already carries every instant we need.
Each run gets its own log folder (``FLINK_LOG_DIR``), so concurrent runs never mix lines.

Lines look like ``2026-11-22 06:20:04,131 INFO  org.apache...CheckpointCoordinator [] - ...`` in
the JVM's local time zone (this machine: UTC; we parse with the same local zone).
"""

from __future__ import annotations

import glob
import os
import re
import time
from dataclasses import dataclass, field
from typing import Optional

_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
_REST = re.compile(r"Rest endpoint listening at ([\w.\-]+):(\d+)")
_JOB_STATE = re.compile(r"Job .+ \(([0-9a-f]{32})\) switched from state (\w+) to (\w+)")
_SPLIT = re.compile(r"Adding split\(s\) to reader: \[\[Partition: (\S+)-(\d+),")
_FINISHED_SPLIT = re.compile(r"Finished reading split\(s\) \[([^\]]+)\]")
_COMPLETED = re.compile(r"Completed checkpoint (\d+) for job [0-9a-f]+ \((\d+) bytes, "
                        r"checkpointDuration=(\d+) ms")
_TRIGGER = re.compile(r"Triggering checkpoint (\d+) ")
_DECLINED = re.compile(r"Decline checkpoint (\d+) ")


def log_path(log_dir: str) -> Optional[str]:
    """The one Flink log file in a run's own ``FLINK_LOG_DIR`` (None until the JVM wrote it)."""
    found = sorted(glob.glob(os.path.join(log_dir, "flink-*.log")), key=os.path.getmtime)
    return found[-1] if found else None


def find_rest_port(path: Optional[str]) -> Optional[int]:
    """The REST port the mini-cluster logged (random per run), or None if not (yet) there."""
    if path is None or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "Rest endpoint listening" in line:
                m = _REST.search(line)
                if m:
                    return int(m.group(2))
    return None


def parse_ts(line: str) -> Optional[float]:
    """Epoch seconds of a log line's timestamp, or None for continuation lines."""
    m = _TS.match(line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


@dataclass
class Checkpoint:
    id: int
    triggered_at: Optional[float] = None
    completed_at: Optional[float] = None
    size_bytes: Optional[int] = None
    duration_ms: Optional[int] = None


@dataclass
class FlinkLog:
    """Facts of one run, filled by ``parse``; times are epoch seconds."""

    rest_port: Optional[int] = None
    job_id: Optional[str] = None
    job_states: list[tuple[float, str]] = field(default_factory=list)  # (when, new state)
    splits_added: dict[str, float] = field(default_factory=dict)  # topic -> when
    splits_finished: dict[str, float] = field(default_factory=dict)  # topic -> when
    checkpoints: dict[int, Checkpoint] = field(default_factory=dict)
    declined: set[int] = field(default_factory=set)
    first_line_at: Optional[float] = None

    def state_at(self, state: str) -> Optional[float]:
        """When the job first entered ``state`` (RUNNING, FINISHED, ...)."""
        return next((t for t, s in self.job_states if s == state), None)

    @property
    def first_split_at(self) -> Optional[float]:
        return min(self.splits_added.values(), default=None)

    @property
    def last_split_finished_at(self) -> Optional[float]:
        return max(self.splits_finished.values(), default=None)

    def completed(self) -> list[Checkpoint]:
        return sorted((c for c in self.checkpoints.values() if c.completed_at is not None),
                      key=lambda c: c.id)


def parse(path: Optional[str]) -> FlinkLog:
    """Read the whole log (it is small: a few MB at INFO for a long run)."""
    out = FlinkLog()
    if path is None or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            ts = parse_ts(line)
            if ts is None:
                continue
            if out.first_line_at is None:
                out.first_line_at = ts
            if "CheckpointCoordinator" in line:
                m = _COMPLETED.search(line)
                if m:
                    c = out.checkpoints.setdefault(int(m.group(1)), Checkpoint(int(m.group(1))))
                    c.completed_at, c.size_bytes = ts, int(m.group(2))
                    c.duration_ms = int(m.group(3))
                    continue
                m = _TRIGGER.search(line)
                if m:
                    out.checkpoints.setdefault(int(m.group(1)),
                                               Checkpoint(int(m.group(1)))).triggered_at = ts
                    continue
                m = _DECLINED.search(line)
                if m:
                    out.declined.add(int(m.group(1)))
                    continue
            if "Adding split(s)" in line:
                m = _SPLIT.search(line)
                if m:
                    out.splits_added.setdefault(m.group(1), ts)
                continue
            if "Finished reading split(s)" in line:
                m = _FINISHED_SPLIT.search(line)
                if m:
                    topic = m.group(1).rsplit("-", 1)[0]
                    out.splits_finished.setdefault(topic, ts)
                continue
            if "switched from state" in line and "ExecutionGraph" in line:
                m = _JOB_STATE.search(line)
                if m:
                    out.job_id = m.group(1)
                    out.job_states.append((ts, m.group(3)))
                continue
            if out.rest_port is None and "Rest endpoint listening" in line:
                m = _REST.search(line)
                if m:
                    out.rest_port = int(m.group(2))
    return out
