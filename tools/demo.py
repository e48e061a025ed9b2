"""The demo a newcomer runs first: ``python -m tools.demo`` (``make demo`` sets up first).

It starts a local Kafka broker, creates the topics, starts the metrics job (Kafka in, exactly-once
Kafka out), runs the simulator paced on an accelerated clock (default 30x: a one-minute window
closes every two seconds), and shows a live view of the queue and agent metrics as they are
committed (read_committed). Ctrl-C stops everything cleanly. ``--duration SECONDS`` stops by
itself, prints the final metrics and exits 0 (1 if no metric record arrived).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Optional

from tools.demo_view import MetricsBoard, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUTS = {"contact_events": "connect.contact-events", "ctrs": "connect.ctrs",
          "agent_events": "connect.agent-events"}
OUTPUTS = {"queue": "connect.metrics.queue", "agent": "connect.metrics.agent",
           "contact": "connect.contacts", "deadletter": "connect.deadletter"}


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--duration", type=float, default=None,
                   help="stop after this many seconds and print the final metrics "
                        "(default: run until Ctrl-C)")
    p.add_argument("--speed", type=float, default=30.0,
                   help="simulated seconds per real second")
    p.add_argument("--agents", type=int, default=12)
    p.add_argument("--contacts-per-hour", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--refresh", type=float, default=1.0, help="screen refresh, seconds")
    p.add_argument("--bootstrap-servers", default=None,
                   help="use this Kafka instead of starting a local broker")
    p.add_argument("--workdir", default=os.path.join(ROOT, "var", "demo"),
                   help="logs of the job and the simulator")
    return p.parse_args(argv)


def log(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


class Demo:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.broker = None
        self.procs: list[subprocess.Popen] = []
        self.board = MetricsBoard()
        self.started = time.time()

    # -- processes --------------------------------------------------------------------------
    def start_broker(self) -> str:
        if self.args.bootstrap_servers:
            return self.args.bootstrap_servers
        from tools.kafka_local import start_broker

        self.broker = start_broker(tempfile.mkdtemp(prefix="connect-demo-kafka-"))
        return self.broker.bootstrap

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        os.makedirs(self.args.workdir, exist_ok=True)
        out = open(os.path.join(self.args.workdir, f"{name}.log"), "w")
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        log(f"{name} started (pid {proc.pid}, log {out.name})")
        return proc

    def start_job(self, bootstrap: str) -> None:
        run = uuid.uuid4().hex[:6]
        self.spawn("job", ["jobs.connect_metrics", "--source", "kafka", "--sink", "kafka",
                           "--bootstrap-servers", bootstrap, "--group-id", f"demo-{run}",
                           "--transactional-id-prefix", f"demo-{run}",
                           "--checkpoint-interval", "2s", "--min-pause", "500ms",
                           "--idleness", "5s", "--job-name", "connect-metrics-demo",
                           # the simulated clock runs --speed times faster than the wall clock:
                           # its event times get that far ahead of now (SPEC §3's 5 minutes
                           # would dead-letter them)
                           "--max-future", f"{math.ceil(self.simulated_hours()) + 1}h"])

    def simulated_hours(self) -> float:
        return max(1.0, (self.args.duration or 4 * 3600) * self.args.speed / 3600 + 0.5)

    def start_simulator(self, bootstrap: str) -> None:
        hours = self.simulated_hours()
        self.spawn("simulator", [
            "tools.simulate", "--to-kafka", "--bootstrap-servers", bootstrap, "--realtime",
            "--speed", str(self.args.speed), "--seed", str(self.args.seed),
            "--agents", str(self.args.agents),
            "--contacts", str(int(self.args.contacts_per_hour * hours)),
            "--duration", str(int(hours * 3600))])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    # -- view -------------------------------------------------------------------------------
    def status(self) -> str:
        job, sim = (self.procs + [None, None])[:2]
        state = "job running" if job is not None and job.poll() is None else "job STOPPED"
        sim_state = "simulator running" if sim is not None and sim.poll() is None else \
            "simulator finished"
        return (f"Amazon Connect real-time metrics demo - {time.time() - self.started:5.0f} s - "
                f"{state}, {sim_state} - clock x{self.args.speed:g} - Ctrl-C to stop")

    def watch(self, bootstrap: str) -> None:
        import orjson
        from confluent_kafka import Consumer

        kinds = {OUTPUTS["queue"]: "queue", OUTPUTS["agent"]: "agent",
                 OUTPUTS["deadletter"]: "deadletter"}
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-view-{os.getpid()}",
                             "isolation.level": "read_committed",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe(list(kinds))
        tty = sys.stdout.isatty()
        next_draw = 0.0
        deadline = self.started + self.args.duration if self.args.duration else None
        try:
            while deadline is None or time.time() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    self.board.add(kinds[msg.topic()], orjson.loads(msg.value()))
                if self.procs and self.procs[0].poll() is not None:
                    log("the job stopped; see its log in " + self.args.workdir)
                    break
                if time.time() >= next_draw:
                    next_draw = time.time() + (self.args.refresh if tty else 10.0)
                    if tty:
                        sys.stdout.write("\x1b[H\x1b[2J" + render(self.board, self.status()) + "\n")
                        sys.stdout.flush()
                    else:
                        print(f"[demo] {time.time() - self.started:.0f} s: {self.board.records} "
                              f"records, {len(self.board.queues)} queue windows, "
                              f"{len(self.board.agents)} agent windows", flush=True)
        finally:
            consumer.close()


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    demo = Demo(args)
    interrupted = False
    try:
        log("starting a local Kafka broker..." if not args.bootstrap_servers else
            f"using Kafka at {args.bootstrap_servers}")
        bootstrap = demo.start_broker()
        from jobs.topics import ensure_topics
        from tools.sim.kafka_out import KEEP_FOREVER

        ensure_topics(bootstrap, list(INPUTS.values()), topic_config=KEEP_FOREVER)
        ensure_topics(bootstrap, list(OUTPUTS.values()),
                      compacted=[OUTPUTS["queue"], OUTPUTS["agent"], OUTPUTS["contact"]])
        demo.start_job(bootstrap)
        demo.start_simulator(bootstrap)
        log("the first windows close about 20-40 s after start (job start-up + watermarks)")
        demo.watch(bootstrap)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        log("stopping the simulator, the job and the broker...")
        demo.stop()
    print(render(demo.board, f"Final metrics after {time.time() - demo.started:.0f} s"))
    if interrupted:
        return 130
    got_metrics = bool(demo.board.queues or demo.board.agents)
    if not got_metrics:
        log("no metric record arrived; see the logs in " + args.workdir)
    return 0 if got_metrics else 1


if __name__ == "__main__":
    sys.exit(main())
