"""Peak memory and CPU of a process tree, sampled from /proc (Linux; no psutil needed).

Why a tree: the benchmark launches ``python -m jobs.connect_metrics`` (the *client*), which starts
the Flink JVM (mini-cluster; in thread mode it also hosts the embedded Python interpreter), which
in process mode starts Python worker processes. Each gets its own peak.

Peaks come from the kernel's high-water mark ``VmHWM`` (``/proc/PID/status``), so sampling every
half second loses nothing except a peak reached after the last sample of a process (its exit).
CPU is ``utime + stime`` from ``/proc/PID/stat``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Optional

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class ProcPeak:
    """What was seen of one process: its role, peak RSS and last CPU time."""

    pid: int
    role: str  # client / jvm / python-worker / other
    name: str
    peak_rss_bytes: int = 0
    cpu_s: float = 0.0


@dataclass
class TreeStats:
    """The sampled processes of one run, by pid."""

    procs: dict[int, ProcPeak] = field(default_factory=dict)

    def peak(self, role: str) -> int:
        """Largest single-process peak RSS of a role (bytes)."""
        return max((p.peak_rss_bytes for p in self.procs.values() if p.role == role), default=0)

    def total_peak(self, role: str) -> int:
        """Sum of per-process peaks of a role (bytes): an upper bound of their joint peak."""
        return sum(p.peak_rss_bytes for p in self.procs.values() if p.role == role)

    def cpu(self, role: str) -> float:
        return sum(p.cpu_s for p in self.procs.values() if p.role == role)

    def count(self, role: str) -> int:
        return sum(1 for p in self.procs.values() if p.role == role)

    def pids(self, role: str) -> list[int]:
        return [p.pid for p in self.procs.values() if p.role == role]


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _stat(pid: int) -> Optional[tuple[str, int, float]]:
    """(comm, ppid, cpu seconds) of a live process, else None."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    lpar, rpar = raw.find("("), raw.rfind(")")
    comm = raw[lpar + 1:rpar]
    rest = raw[rpar + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def _hwm_bytes(pid: int) -> int:
    raw = _read(f"/proc/{pid}/status")
    if raw is None:
        return 0
    for line in raw.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = _stat(int(entry))
        if st is not None:
            kids.setdefault(st[1], []).append(int(entry))
    return kids


def _cmdline(pid: int) -> str:
    raw = _read(f"/proc/{pid}/cmdline")
    return (raw or "").replace("\0", " ").strip()


def _role(pid: int, root: int, comm: str, under_jvm: bool) -> str:
    if pid == root:
        return "client"
    if comm == "java":
        return "jvm"
    if under_jvm and comm.startswith("python"):
        return "python-worker"
    return "other"


class TreeMonitor:
    """Samples a process and all its descendants in a background thread until ``stop()``."""

    def __init__(self, root_pid: int, interval_s: float = 0.5):
        self.root = root_pid
        self.interval_s = interval_s
        self.stats = TreeStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="procmon", daemon=True)

    def start(self) -> "TreeMonitor":
        self._thread.start()
        return self

    def stop(self) -> TreeStats:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.stats

    def sample(self) -> None:
        """One pass over the tree: update each process's peak RSS and CPU time."""
        kids = _children_map()
        todo = [(self.root, False)]
        while todo:
            pid, under_jvm = todo.pop()
            st = _stat(pid)
            if st is None:
                continue
            comm, _, cpu = st
            seen = self.stats.procs.get(pid)
            if seen is None:
                seen = self.stats.procs[pid] = ProcPeak(pid, "other", comm)
            if seen.role == "other" or seen.name != comm:  # a fresh child may exec later
                role = _role(pid, self.root, comm, under_jvm)
                if role == "other" and "pyflink" in _cmdline(pid) and under_jvm:
                    role = "python-worker"  # the worker may start as a shell wrapper
                if seen.name != comm:  # exec'd: the pre-exec copy's memory was not its own
                    seen.peak_rss_bytes, seen.cpu_s = 0, 0.0
                seen.role, seen.name = role, comm
            seen.peak_rss_bytes = max(seen.peak_rss_bytes, _hwm_bytes(pid))
            seen.cpu_s = max(seen.cpu_s, cpu)
            child_under_jvm = under_jvm or comm == "java"
            todo.extend((k, child_under_jvm) for k in kids.get(pid, ()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)
        self.sample()


def rss_mib(value: int) -> float:
    return round(value / 1024 / 1024, 1)
