"""Run one Flink job as a child process and measure it: times, memory, CPU, checkpoints.

The job is started exactly as a user would (``python -m jobs.connect_metrics ...``), in its own
process group (so stopping it also stops its JVM and any Python workers) with its own
``FLINK_LOG_DIR`` and ``FLINK_CONF_DIR``. The conf folder is PyFlink's own plus two monitoring-only
settings: the REST metric fetcher refreshes every 500 ms (default 10 s, too coarse to see a run's
start) and the REST checkpoint history keeps 1000 entries (default 10).

Instants (epoch s):

- ``launched``: the client process starts (the JVM does not exist yet);
- ``job_running``: the job switched to RUNNING (log) - graph built, JVM and cluster up;
- ``first_read``: the first Kafka split is assigned to a reader, i.e. the sources start reading
  (log; tasks and their Python interpreters are initialised by then);
- ``finished``: the job switched to FINISHED (log). In Flink 2 a bounded job finishes only after
  its final checkpoint completed and the exactly-once sink committed, so this is also when the
  last output became visible to ``read_committed`` consumers;
- ``exited``: the client process exited.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from bench import flinklog
from bench.procmon import TreeMonitor, TreeStats, rss_mib
from bench.rest import RestPoller, RestSamples, VertexCheckpoint
from bench.workload import log

ROOT = Path(__file__).resolve().parents[1]
MONITORING_CONF = (
    "\n# added by bench.jobrun (monitoring only)\n"
    "metrics.fetcher.update-interval: 500\n"
    "web.checkpoints.history: 1000\n"
)


def flink_conf_dir(run_dir: Path) -> Path:
    """PyFlink's conf folder, copied, plus the monitoring settings."""
    import pyflink

    src = Path(pyflink.__file__).parent / "conf"
    dst = run_dir / "conf"
    shutil.copytree(src, dst, dirs_exist_ok=True)
    with open(dst / "config.yaml", "a", encoding="utf-8") as f:
        f.write(MONITORING_CONF)
    return dst


def child_env(run_dir: Path) -> dict:
    env = dict(os.environ)
    env["FLINK_LOG_DIR"] = str(run_dir / "log")
    env["FLINK_CONF_DIR"] = str(flink_conf_dir(run_dir))
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    (run_dir / "log").mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class JobRun:
    """One measured run. Rates use ``events`` (input records) over the named span."""

    name: str
    events: int
    launched: float
    exited: float
    returncode: Optional[int]
    timed_out: bool
    log: flinklog.FlinkLog
    procs: TreeStats
    rest: RestSamples
    run_dir: str
    outputs: dict = field(default_factory=dict)  # topic -> committed records (filled later)
    load_avg: list = field(default_factory=list)  # [at start, at end] (1, 5, 15 min)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def wall_s(self) -> float:
        return self.exited - self.launched

    @property
    def job_s(self) -> Optional[float]:
        start, end = self.log.state_at("RUNNING"), self.log.state_at("FINISHED")
        return end - start if start and end else None

    @property
    def processing_s(self) -> Optional[float]:
        start, end = self.log.first_split_at, self.log.state_at("FINISHED")
        return end - start if start and end else None

    @property
    def startup_s(self) -> Optional[float]:
        """Client start to the first read: JVM, cluster, graph, tasks, Python interpreters."""
        start = self.log.first_split_at
        return start - self.launched if start else None

    def rate(self, seconds: Optional[float]) -> Optional[float]:
        return round(self.events / seconds, 1) if seconds else None

    def checkpoint_summary(self) -> dict:
        done = self.log.completed()
        durations = sorted(c.duration_ms for c in done if c.duration_ms is not None)
        sizes = [c.size_bytes for c in done if c.size_bytes is not None]
        if not durations:
            return {"completed": 0, "declined": len(self.log.declined)}
        return {"completed": len(done), "declined": len(self.log.declined),
                "duration_ms_median": durations[len(durations) // 2],
                "duration_ms_max": durations[-1],
                "duration_ms_mean": round(sum(durations) / len(durations)),
                "size_bytes_max": max(sizes)}

    def summary(self) -> dict:
        """The figures of this run as a JSON-able dict."""
        p = self.procs
        out = {
            "ok": self.ok, "timed_out": self.timed_out, "events": self.events,
            "wall_s": round(self.wall_s, 2),
            "job_s": _r(self.job_s), "processing_s": _r(self.processing_s),
            "startup_s": _r(self.startup_s),
            "events_per_sec_job": self.rate(self.job_s),
            "events_per_sec_excl_startup": self.rate(self.processing_s),
            "events_per_sec_steady": _r(self.rest.steady_rate(), 1),
            "peak_rss_mib": {"jvm": rss_mib(p.peak("jvm")), "client": rss_mib(p.peak("client")),
                             "python_workers": rss_mib(p.total_peak("python-worker"))},
            "python_workers": p.count("python-worker"),
            "cpu_s": {"jvm": round(p.cpu("jvm"), 1), "client": round(p.cpu("client"), 1),
                      "python_workers": round(p.cpu("python-worker"), 1)},
            "checkpoints": self.checkpoint_summary(),
            "load_avg_start_end": self.load_avg,
        }
        # The client counts too: in a local mini-cluster, process mode runs the Python UDF
        # worker inside the client process (PyFlink's "loopback" mode), not in a child.
        cpu = p.cpu("jvm") + p.cpu("python-worker") + p.cpu("client")
        if self.wall_s > 0:
            # average cores the run got, client start to exit (at most nproc)
            out["cores_used"] = round(cpu / self.wall_s, 2)
        done = self.events
        if not self.ok and self.rest.source_out:  # stopped early: per record read so far
            done = self.rest.source_out[-1][1]
        if done and cpu:
            out["cpu_us_per_event"] = round(cpu / done * 1e6, 1)
        if self.outputs:
            out["outputs"] = self.outputs
        return out


def _r(value: Optional[float], digits: int = 2) -> Optional[float]:
    return None if value is None else round(value, digits)


def stop_group(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """SIGTERM the child's process group (client, JVM, workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class RunningJob:
    """A started job with its monitors; ``finish()`` waits (or stops it) and measures."""

    def __init__(self, name: str, module: str, args: Sequence[str], run_dir: Path, events: int,
                 on_checkpoint: Optional[Callable[[VertexCheckpoint], None]] = None):
        self.name = name
        self.events = events
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        env = child_env(run_dir)
        self.out_path = run_dir / "client.out"
        self._out = open(self.out_path, "wb")
        self.launched = time.time()
        self.load_at_start = [round(x, 2) for x in os.getloadavg()]
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=str(ROOT),
                                     env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.monitor = TreeMonitor(self.proc.pid).start()
        self.poller = RestPoller(str(run_dir / "log"), on_checkpoint=on_checkpoint).start()
        self.timed_out = False
        self._progress_stop = threading.Event()
        self._progress = threading.Thread(target=self._report, daemon=True)
        self._progress.start()

    def _report(self, every_s: float = 15.0) -> None:
        """Progress lines on stderr while the job runs."""
        while not self._progress_stop.wait(every_s):
            s = self.poller.samples
            read = s.source_out[-1][1] if s.source_out else 0
            jvm = rss_mib(self.monitor.stats.peak("jvm"))
            log(f"{self.name}: {time.time() - self.launched:.0f} s, sources emitted {read:,} "
                f"of {self.events:,} records, JVM peak RSS {jvm:,.0f} MiB")

    def log_facts(self) -> flinklog.FlinkLog:
        return flinklog.parse(flinklog.log_path(str(self.run_dir / "log")))

    def wait_until(self, predicate: Callable[[flinklog.FlinkLog], bool], timeout_s: float) -> bool:
        """Poll the log until ``predicate`` holds (True) or the job exits / times out (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if predicate(self.log_facts()):
                return True
            time.sleep(0.25)
        return False

    def finish(self, timeout_s: Optional[float] = None, stop: bool = False) -> JobRun:
        """Wait for the job to end by itself (bounded) or stop it now (``stop=True``)."""
        if stop:
            stop_group(self.proc)
        else:
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.timed_out = True
                log(f"{self.name}: no result after {timeout_s:.0f} s; stopping it")
                stop_group(self.proc)
        exited = time.time()
        self._progress_stop.set()
        procs = self.monitor.stop()
        rest = self.poller.stop()
        self._out.close()
        return JobRun(self.name, self.events, self.launched, exited, self.proc.returncode,
                      self.timed_out, self.log_facts(), procs, rest, str(self.run_dir),
                      load_avg=[self.load_at_start, [round(x, 2) for x in os.getloadavg()]])

    def kill(self) -> None:
        """Emergency stop (benchmark aborted)."""
        stop_group(self.proc, timeout_s=10)
        self._progress_stop.set()
        self.monitor.stop()
        self.poller.stop()
        self._out.close()
