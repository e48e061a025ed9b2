"""The demo a newcomer runs first: ``python -m tools.demo`` (``make demo`` sets up first).

It starts a local Kafka broker, creates the topics, starts the metrics job (Kafka in, exactly-once
Kafka out), runs the simulator paced on an accelerated clock (default 30x: a one-minute window
closes every two seconds), serves the web wallboard (``tools.wallboard``, its address is printed)
and shows a live view of the queue and agent metrics in the terminal, as they are committed
(read_committed). Ctrl-C stops everything cleanly. ``--duration SECONDS`` stops by itself, prints
the final metrics and exits 0 (1 if no metric record arrived).

The simulated center is staffed for its load (``tools.demo_staffing``: Erlang C for 80 % answered
within 20 s, plus shrinkage) at realistic handle times, over a timeline of at most five simulated
hours that ends before the wall clock (no event time lies in the future), with a short rush
halfway through runs of two hours or more. If the demo dies in any
way, SIGKILL included, a watchdog (``tools.demo_guard``) ends everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Optional

from tools.demo_guard import Guard
from tools.demo_staffing import agents_for
from tools.demo_view import MetricsBoard, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUTS = {"contact_events": "connect.contact-events", "ctrs": "connect.ctrs",
          "agent_events": "connect.agent-events"}
OUTPUTS = {"queue": "connect.metrics.queue", "agent": "connect.metrics.agent",
           "contact": "connect.contacts", "deadletter": "connect.deadletter",
           "queue_live": "connect.metrics.queue.live", "agent_live": "connect.metrics.agent.live"}
COMPACTED = ("queue", "agent", "contact", "queue_live", "agent_live")
#: Everybody works the whole run up to five simulated hours (tools/sim/schedule.py); longer
#: runs stagger shifts, which would leave a one-hour demo with a fraction of its agents.
MAX_SIM_S = 5 * 3600
WALLBOARD_PORT = 8050
RUSH_S, RUSH_FACTOR = 1200, 1.7


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--duration", type=float, default=None,
                   help="stop after this many seconds and print the final metrics "
                        "(default: run until Ctrl-C)")
    p.add_argument("--speed", type=float, default=30.0,
                   help="simulated seconds per real second")
    p.add_argument("--agents", type=int, default=None,
                   help="agents of the simulated center (default: staffed for the load, "
                        "Erlang C, 80 %% answered within 20 s)")
    p.add_argument("--contacts-per-hour", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--refresh", type=float, default=1.0, help="screen refresh, seconds")
    p.add_argument("--bootstrap-servers", default=None,
                   help="use this Kafka instead of starting a local broker")
    p.add_argument("--workdir", default=os.path.join(ROOT, "var", "demo"),
                   help="logs of the job, the simulator and the wallboard")
    p.add_argument("--wallboard-port", type=int, default=WALLBOARD_PORT,
                   help="port of the web wallboard (0 or a busy port: any free port)")
    p.add_argument("--no-wallboard", action="store_true", help="terminal view only")
    args = p.parse_args(argv)
    if args.contacts_per_hour <= 0:
        p.error("--contacts-per-hour: expected a positive number")
    if args.agents is not None and args.agents <= 0:
        p.error("--agents: expected a positive number")
    if args.speed <= 0:
        p.error("--speed: expected a positive number")
    return args


def sim_span_s(duration: Optional[float], speed: float) -> int:
    """Simulated seconds of arrivals: what the run shows plus ten minutes, at most five hours."""
    if duration is None:
        return MAX_SIM_S
    return int(min(MAX_SIM_S, max(600.0, duration * speed + 600)))


def sim_rush(span_s: int) -> Optional[tuple[int, int, float]]:
    """A short rush (20 min, 1.7x the arrivals) halfway through a run of two hours or more:
    the service level dips and recovers, as in a real center."""
    if span_s < 2 * 3600:
        return None
    return (span_s // 2 // 60 * 60, RUSH_S, RUSH_FACTOR)


def sim_contacts(contacts_per_hour: float, span_s: int) -> int:
    """Contacts over the run: the hourly load, plus the rush's extra arrivals."""
    rush = sim_rush(span_s)
    extra_s = rush[1] * (rush[2] - 1.0) if rush else 0.0
    return int(contacts_per_hour * (span_s + extra_s) / 3600)


def sim_start(now_s: float, span_s: int) -> str:
    """The simulated timeline ends at the start instant, whole minutes: never in the future."""
    start = int(now_s - span_s) // 60 * 60
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))


def pick_port(wanted: int) -> int:
    """``wanted`` if free on 127.0.0.1, else any free port."""
    import socket

    from tools.kafka_local import free_ports

    if wanted:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", wanted))
                return wanted
            except OSError:
                pass
    return free_ports(1)[0]


def log(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


class Demo:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.broker = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.board = MetricsBoard()
        self.started = time.time()
        self.guard = Guard.start()
        self.wallboard_url: Optional[str] = None
        self.agents = args.agents or agents_for(args.contacts_per_hour)

    # -- processes --------------------------------------------------------------------------
    def start_broker(self) -> str:
        if self.args.bootstrap_servers:
            return self.args.bootstrap_servers
        from tools.kafka_local import start_broker

        self.broker = start_broker(tempfile.mkdtemp(prefix="connect-demo-kafka-"))
        self.guard.watch(self.broker.pid)  # its own process group (start_new_session)
        return self.broker.bootstrap

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        os.makedirs(self.args.workdir, exist_ok=True)
        out = open(os.path.join(self.args.workdir, f"{name}.log"), "w")
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.guard.watch(proc.pid)
        self.procs[name] = proc
        log(f"{name} started (pid {proc.pid}, log {out.name})")
        return proc

    def start_job(self, bootstrap: str) -> None:
        run = uuid.uuid4().hex[:6]
        self.spawn("job", ["jobs.connect_metrics", "--source", "kafka", "--sink", "kafka",
                           "--bootstrap-servers", bootstrap, "--group-id", f"demo-{run}",
                           "--transactional-id-prefix", f"demo-{run}",
                           "--checkpoint-interval", "2s", "--min-pause", "500ms",
                           "--idleness", "5s", "--job-name", "connect-metrics-demo"])
        # no --max-future: the simulated timeline ends before the wall clock (sim_start)

    def start_simulator(self, bootstrap: str) -> None:
        span = sim_span_s(self.args.duration, self.args.speed)
        rush = sim_rush(span)
        self.spawn("simulator", [
            "tools.simulate", "--to-kafka", "--bootstrap-servers", bootstrap, "--realtime",
            "--speed", str(self.args.speed), "--seed", str(self.args.seed),
            "--start", sim_start(time.time(), span), "--handle-scale", "1",
            "--agents", str(self.agents),
            "--contacts", str(sim_contacts(self.args.contacts_per_hour, span)),
            "--duration", str(span), *(["--rush", ",".join(map(str, rush))] if rush else [])])
        log(f"simulated center: {self.agents} agents for {self.args.contacts_per_hour} contacts "
            f"per hour, {span / 3600:.2f} simulated hours at x{self.args.speed:g}"
            + (f", a {rush[1] // 60}-minute rush {rush[0] / 3600:.1f} h in" if rush else ""))

    def start_wallboard(self, bootstrap: str) -> None:
        port = pick_port(self.args.wallboard_port)
        self.spawn("wallboard", ["tools.wallboard", "--bootstrap-servers", bootstrap,
                                 "--port", str(port),
                                 "--queue-live-topic", OUTPUTS["queue_live"],
                                 "--agent-live-topic", OUTPUTS["agent_live"]])
        self.wallboard_url = f"http://127.0.0.1:{port}/"
        if wait_http(self.wallboard_url + "healthz", self.procs["wallboard"]):
            log(f"wallboard: {self.wallboard_url}  (open it in a browser)")
        else:
            log("the wallboard did not start; see its log in " + self.args.workdir)
            self.wallboard_url = None

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        self.guard.close()  # the watchdog ends whatever a child left in its process group

    # -- view -------------------------------------------------------------------------------
    def status(self) -> str:
        job, sim = self.procs.get("job"), self.procs.get("simulator")
        state = "job running" if job is not None and job.poll() is None else "job STOPPED"
        sim_state = "simulator running" if sim is not None and sim.poll() is None else \
            "simulator finished"
        board = f" - wallboard {self.wallboard_url}" if self.wallboard_url else ""
        return (f"Amazon Connect real-time metrics demo - {time.time() - self.started:5.0f} s - "
                f"{state}, {sim_state} - clock x{self.args.speed:g}{board} - Ctrl-C to stop")

    def watch(self, bootstrap: str) -> None:
        import orjson
        from confluent_kafka import Consumer

        kinds = {OUTPUTS["queue"]: "queue", OUTPUTS["agent"]: "agent",
                 OUTPUTS["deadletter"]: "deadletter", OUTPUTS["queue_live"]: "queue_live"}
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
                if self.procs["job"].poll() is not None:
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


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    """True once ``url`` answers 200; False if ``proc`` exits or ``timeout`` passes."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


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
        log(f"Kafka at {bootstrap}")
        ensure_topics(bootstrap, list(OUTPUTS.values()),
                      compacted=[OUTPUTS[k] for k in COMPACTED])
        demo.start_job(bootstrap)
        demo.start_simulator(bootstrap)
        if not args.no_wallboard:
            demo.start_wallboard(bootstrap)
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
