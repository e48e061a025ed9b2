"""Where the thread-mode job spends its time: py-spy on the JVM's embedded Python, plus CPU.

    python -m bench.profile --events 200000            # thread mode, Python stacks
    python -m bench.profile --events 200000 --native   # with native (C) frames

In thread mode the Python operators run inside the Flink JVM (pemja), in the task threads, all
sharing ONE interpreter and therefore one GIL. py-spy attaches to the JVM like to any process with
libpython loaded and samples the Python stacks of every thread (``--gil``: only the thread that
holds the GIL, i.e. the Python work that actually serialises the job). The raw (collapsed) stacks
are aggregated here into: share per operator (which ``udfs/flink_*.py`` frame is on the stack),
inclusive and self time per function, and the GIL-held share of wall time. Separately, the JVM's
CPU time per thread group (``/proc/PID/task``) shows how much of the work is not Python at all.

The job runs exactly as in ``bench.run`` (bounded, exactly-once sink, parallelism 1); py-spy's
own sampling slows it down, so use ``bench.run`` for rates and this for shares.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from bench.jobrun import RunningJob
from bench.kafka_util import broker_for
from bench.workload import describe, log, produce_workload, scaled_config
from tests.kafka_io import job_args

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = (
    ("flink_ingest.py", "parse at operator entry"),
    ("flink_contact_state.py", "contact state"),
    ("flink_queue_windows.py", "queue windows"),
    ("flink_agent_state.py", "agent state"),
    ("flink_reports.py", "report windows"),
    ("flink_live.py", "live path"),
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    exe = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                       os.environ.get("PATH", "")]))
    if exe is None:
        raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")
    return exe


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    return f"{m.group('func')} ({os.path.basename(m.group('file'))})"


def _operator(frames: list[str]) -> str:
    for marker, name in OPERATORS:
        if any(marker in f for f in frames):
            return name
    joined = ";".join(frames)
    if "pyflink" in joined:
        return "PyFlink runtime only (conversion, pickling, timers, state)"
    return "other"


def aggregate(raw_path: Path, top: int = 25) -> dict:
    """Collapsed stacks (``f1;f2;...;fN count``) -> shares per operator and per function."""
    total = 0
    by_op: Counter = Counter()
    self_t: Counter = Counter()
    incl: Counter = Counter()
    with open(raw_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [fr for fr in stack.split(";") if fr and not fr.startswith("thread ")
                      and not fr.startswith("process ")]
            if not frames:
                continue
            total += n
            by_op[_operator(frames)] += n
            shorts = [_short(fr) for fr in frames]
            self_t[shorts[-1]] += n
            for s in set(shorts):
                incl[s] += n

    def share(c: Counter) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)] if total else []

    return {"samples": total, "by_operator_pct": share(by_op), "self_pct": share(self_t),
            "inclusive_pct": share(incl)}


def thread_cpu(pid: int, seen: dict[int, tuple[str, float]]) -> None:
    """Note CPU seconds per JVM thread (``/proc/PID/task``) into ``seen`` (tid -> name, s)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm", encoding="utf-8") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="utf-8") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[int(tid)] = (name, (int(rest[11]) + int(rest[12])) / tick)


def group_threads(seen: dict[int, tuple[str, float]]) -> dict:
    """CPU seconds per thread-name group (names are cut to 15 characters by the kernel)."""
    out: Counter = Counter()
    for name, cpu in seen.values():
        out[re.sub(r"[-#\s]*\d+$", "", name) or name] += cpu
    return {k: round(v, 1) for k, v in out.most_common(25)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.profile",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=200_000, help="simulated input records")
    p.add_argument("--mode", choices=("thread", "process"), default="thread",
                   help="execution mode (process: py-spy on the Python workers)")
    p.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    p.add_argument("--gil", action="store_true", help="py-spy --gil (only the GIL holder)")
    p.add_argument("--rate", type=int, default=100, help="py-spy samples/s")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--checkpoint-interval", default="5s")
    p.add_argument("--bootstrap-servers", help="use this broker instead of starting one")
    p.add_argument("--work-dir", type=Path, help="default: var/bench/profile-<time>")
    p.add_argument("--job-arg", action="append", default=[], metavar="FLAG",
                   help="extra job flag, repeatable (e.g. --job-arg=--live-interval "
                        "--job-arg=0)")
    return p


def _targets(job: RunningJob, mode: str) -> list[int]:
    stats = job.monitor.stats
    return stats.pids("jvm") if mode == "thread" else stats.pids("python-worker")


def profile(args: argparse.Namespace, bootstrap: str, work: Path) -> dict:
    cfg = scaled_config(args.events, args.seed)
    log(f"profile: workload {describe(cfg)}")
    wl = produce_workload(bootstrap, cfg, f"bench.prof.{uuid.uuid4().hex[:6]}")
    suffix = uuid.uuid4().hex[:6]
    topics = {**wl.topics, **{k: f"bench.prof.{suffix}.{k}"
                              for k in ("queue", "agent", "contacts", "deadletter")}}
    argv = job_args(bootstrap, topics, [
        "--bounded", "--execution-mode", args.mode, "--checkpoint-interval",
        args.checkpoint_interval, "--min-pause", "1s",
        "--checkpoint-dir", (work / "checkpoints").as_uri(), *args.job_arg])
    job = RunningJob(f"profile-{args.mode}", "jobs.connect_metrics", argv, work / "job", wl.total)
    spies: list[subprocess.Popen] = []
    try:
        if not job.wait_until(lambda f: f.first_split_at is not None, 300):
            raise SystemExit("the job did not start reading")
        pids: list[int] = []
        for _ in range(60):  # the monitor may not have classified the JVM yet
            job.monitor.sample()
            pids = _targets(job, args.mode)
            if pids:
                break
            time.sleep(0.5)
        for pid in pids:
            cmd = [py_spy(), "record", "--pid", str(pid), "--rate", str(args.rate),
                   "--format", "raw", "--output", str(work / f"pyspy-{pid}.txt"), "--nonblocking"]
            if args.native:
                cmd.append("--native")
            if args.gil:
                cmd.append("--gil")
            spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                          stderr=open(work / f"pyspy-{pid}.err", "wb")))
        log(f"profile: py-spy on pid(s) {pids}")
        threads: dict[int, tuple[str, float]] = {}
        while job.proc.poll() is None:
            if args.mode == "thread" and pids:
                thread_cpu(pids[0], threads)
            time.sleep(0.5)
        run = job.finish()
    except BaseException:
        job.kill()
        raise
    finally:
        for s in spies:
            try:
                s.wait(timeout=30)
            except subprocess.TimeoutExpired:
                s.terminate()
        shutil.rmtree(work / "checkpoints", ignore_errors=True)
    stacks = {}
    for raw in work.glob("pyspy-*.txt"):
        stacks[raw.name] = aggregate(raw)
    processing = run.processing_s or 0.0
    samples = sum(s["samples"] for s in stacks.values())
    return {"events": wl.total, "mode": args.mode, "native": args.native, "gil": args.gil,
            "run": run.summary(), "py_spy": stacks,
            "python_busy_share_of_processing": round(samples / args.rate / processing, 3)
            if processing else None,
            "jvm_cpu_s_by_thread": group_threads(threads)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    from bench.run import exit_on_sigterm

    exit_on_sigterm()
    args = build_parser().parse_args(argv)
    work = (args.work_dir or ROOT / "var" / "bench" /
            f"profile-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    with broker_for(args.bootstrap_servers) as bootstrap:
        result = profile(args, bootstrap, work)
    (work / "profile.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"profile: written to {work / 'profile.json'}")
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
