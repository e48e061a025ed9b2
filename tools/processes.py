"""Process helpers shared by the local broker and cluster tools: is it alive, who mentions a
path, and stopping politely (SIGTERM) before forcefully (SIGKILL) — so no tool leaves a JVM."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not running
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (never this process)."""
    needle = text.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _signal_and_wait(pids: list[int], sig: int, timeout: float) -> list[int]:
    """Send ``sig`` to ``pids`` and wait up to ``timeout`` s; returns those still alive."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


def terminate(pids: Iterable[int], timeout: float = 30.0) -> list[int]:
    """SIGTERM ``pids``, SIGKILL whatever is still alive after ``timeout``; returns the killed."""
    killed = _signal_and_wait([p for p in pids if pid_alive(p)], signal.SIGTERM, timeout)
    _signal_and_wait(killed, signal.SIGKILL, 10)
    return killed
