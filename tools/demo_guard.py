"""No orphans: a tiny watchdog that ends what the demo started when the demo dies, however.

Why: the demo starts the job (whose Flink JVM is a grandchild), the simulator, the wallboard and
a Kafka broker JVM, each in its own process group. A demo killed with SIGKILL runs no cleanup,
so this watchdog — started first, in a session of its own — holds the read end of a pipe whose
only write end the demo keeps. The demo writes the process-group id of each child it starts;
when the pipe reaches end of file (the demo exited or was killed: the kernel closes its end), the
watchdog SIGTERMs every registered group, SIGKILLs what is left after ``GRACE_S`` and exits.

    guard = Guard.start()        # in the demo
    guard.watch(child.pid)       # a child started with start_new_session=True
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Optional

GRACE_S = 4.0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_groups(pgids: list[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM each process group, SIGKILL those with members left after ``grace_s``."""
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_group_alive(p) for p in pgids):
        time.sleep(0.1)
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(fd: int) -> int:
    """The watchdog's loop: read group ids until end of file, then end those groups."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the demo's to handle
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal must not stop the guard
    pgids: list[int] = []
    buffer = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        pgids += [int(line) for line in lines if line.strip().isdigit()]
    end_groups([p for p in dict.fromkeys(pgids) if p > 1 and p != os.getpgrp()])
    return 0


class Guard:
    """The demo's side: the pipe's write end and the watchdog process."""

    def __init__(self, write_fd: int, process: subprocess.Popen):
        self.write_fd: Optional[int] = write_fd
        self.process = process

    @classmethod
    def start(cls) -> Guard:
        read_fd, write_fd = os.pipe()
        os.set_inheritable(read_fd, True)
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.demo_guard", str(read_fd)], pass_fds=(read_fd,),
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(read_fd)
        return cls(write_fd, process)

    def watch(self, pgid: int) -> None:
        if self.write_fd is not None:
            os.write(self.write_fd, f"{pgid}\n".encode())

    def close(self, timeout: float = 2 * GRACE_S + 5) -> None:
        """End the watch (the demo stopped its children itself); the guard ends leftovers."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1])))
