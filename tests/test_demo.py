"""The newcomer's first command: the demo shows committed metrics and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools.demo_view import MetricsBoard, agent_table, queue_table, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def queue_rec(window: str, revision: int, queued: int) -> dict:
    return {"key": f"q|VOICE|{window}", "revision": revision, "window_start": window,
            "queue_arn": "arn:q/abc", "queue_name": "Sales", "channel": "VOICE",
            "contacts_queued": queued, "contacts_handled": 1, "contacts_abandoned": 0,
            "service_level": {"20": 50.0}, "avg_queue_answer_time": 12.5,
            "avg_handle_time": 100.0, "contacts_queued_by_enqueue": 2}


def test_board_keeps_the_highest_revision_and_the_newest_window():
    board = MetricsBoard()
    board.add("queue", queue_rec("2024-01-15T08:00:00Z", 1, 1))
    board.add("queue", queue_rec("2024-01-15T08:00:00Z", 2, 3))
    board.add("queue", queue_rec("2024-01-15T08:00:00Z", 1, 1))  # stale revision: ignored
    board.add("queue", queue_rec("2024-01-15T07:59:00Z", 1, 9))
    board.add("deadletter", {"key": "x"})
    assert board.revisions == 1 and board.dead_letters == 1 and board.records == 5
    [newest] = board.latest(board.queues, "queue_arn")
    assert newest["window_start"] == "2024-01-15T08:00:00Z" and newest["contacts_queued"] == 3


def test_tables_render_values():
    row = queue_table([queue_rec("2024-01-15T08:00:00Z", 2, 3)])[1]
    assert row.split() == ["Sales", "VOICE", "08:00", "3", "1", "0", "50.0", "12.5", "100.0",
                           "2", "2"]
    agent = {"username": None, "agent_arn": "arn:agent/0123456789", "window_start":
             "2024-01-15T08:00:00Z", "online_time": 60.0, "idle_time": 20.0,
             "contact_time": 40.0, "after_contact_work_time": 0.0, "non_productive_time": 0.0,
             "occupancy": 66.66666666666667, "contacts_handled": 1, "agent_non_response": 0}
    assert agent_table([agent])[1].split() == ["01234567", "08:00", "60", "20", "40", "0", "0",
                                               "66.7", "1", "0"]
    assert "waiting for the first window" in render(MetricsBoard(), "status")


@pytest.mark.timeout(300)
def test_demo_runs_unattended_and_shows_metrics(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--duration", "70", "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:] + (tmp_path / "job.log").read_text()[-3000:]
    final = proc.stdout.split("Final metrics", 1)[1]
    assert "Queues" in final and "Agents" in final
    assert "waiting for the first window" not in final
    assert "wallboard: http://127.0.0.1:" in proc.stderr  # the web wallboard ran beside it


def live_rec(as_of: str, in_queue: int, **fields) -> dict:
    rec = {"key": "arn:q/abc|VOICE", "as_of": as_of, "queue_arn": "arn:q/abc",
           "queue_name": "Sales", "channel": "VOICE", "contacts_in_queue": in_queue,
           "oldest_contact_age": 95.0 if in_queue else None, "agents_online": 4,
           "agents_available": 1, "agents_on_contact": 2, "agents_after_contact_work": 1}
    rec.update(fields)
    return rec


def test_live_queue_gauges_show_the_newest_tick():
    board = MetricsBoard()
    board.add("queue_live", live_rec("2024-01-15T08:00:20Z", 3))
    board.add("queue_live", live_rec("2024-01-15T08:00:10Z", 9))  # an older tick: ignored
    screen = render(board, "status")
    row = next(line for line in screen.splitlines() if line.startswith("Sales"))
    assert row.split() == ["Sales", "VOICE", "08:00:20", "3", "1:35", "1", "2", "1", "4"]
    agent_q = live_rec("2024-01-15T08:00:20Z", 0, key="x", queue_arn="arn:i/queue/agent/a1",
                       queue_name=None)
    board.add("queue_live", agent_q)  # an agent's own queue with nobody waiting: not shown
    assert render(board, "s").count("VOICE") == 1
    assert "Live queues" not in render(MetricsBoard(), "status")


def test_demo_staffs_the_center_for_its_load():
    from tools.demo_staffing import agents_for, erlang_c, offered_load, service_level

    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert erlang_c(3, 3.0) == 1.0 and service_level(3, 3.0, 200) == 0.0
    erlangs, aht = offered_load(300)
    n = agents_for(300)
    routable = int(n * 0.9)
    assert service_level(routable, erlangs, aht) >= 0.8 > service_level(int(erlangs), erlangs,
                                                                          aht)
    assert agents_for(600) > agents_for(300) > agents_for(60) >= 3


def test_demo_simulates_the_past_at_most_five_hours():
    from tools.demo import sim_span_s, sim_start

    assert sim_span_s(None, 30) == 5 * 3600 and sim_span_s(60, 30) == 2400
    assert sim_start(1705312845.0, 3600) == "2024-01-15T09:00:00Z"  # 10:00:45 - 1 h, whole min


def test_demo_rush_is_short_and_only_in_long_runs():
    from tools.demo import sim_contacts, sim_rush

    assert sim_rush(3600) is None and sim_contacts(300, 3600) == 300
    assert sim_rush(5 * 3600) == (9000, 1200, 1.7)
    assert sim_contacts(300, 5 * 3600) == 1570  # 1500 + 20 min at 0.7x more
    from tools.simulate import build_parser

    assert build_parser().parse_args(["--rush", "9000,1200,1.7"]).rush == (9000, 1200, 1.7)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--rush", "9000,0,1.7"])


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (pid -> command line), through any depth."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                commands[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = commands.get(child, "")
                todo.append(child)
    return found


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_killing_the_demo_leaves_nothing_running(tmp_path):
    """SIGKILL runs no cleanup: the watchdog must end the job (and its Flink JVM), the
    simulator, the wallboard and the broker JVM within a few seconds."""
    import signal
    import time

    from tools.processes import pid_alive

    demo = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--duration", "600", "--workdir", str(tmp_path),
         "--wallboard-port", "0"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "demo.err", "w"))
    try:
        deadline = time.monotonic() + 180
        started: dict[int, str] = {}
        while time.monotonic() < deadline and demo.poll() is None:
            started = descendants(demo.pid)
            javas = [c for c in started.values() if "java" in c.split(" ", 1)[0]]
            names = " ".join(started.values())
            if len(javas) >= 2 and all(m in names for m in (
                    "tools.simulate", "tools.wallboard", "jobs.connect_metrics",
                    "tools.demo_guard")):
                break  # broker JVM, the job's Flink JVM and every Python child are up
            time.sleep(1)
        else:
            raise AssertionError(f"the demo did not start everything: {started}\n"
                                 + (tmp_path / "demo.err").read_text()[-3000:])
        time.sleep(3)
        started = descendants(demo.pid)
        demo.send_signal(signal.SIGKILL)
        demo.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(pid_alive(p) for p in started):
            time.sleep(0.5)
        left = {p: c for p, c in started.items() if pid_alive(p)}
        assert not left, f"still running after the demo was killed: {left}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_the_guard_ends_the_watched_groups_when_its_pipe_closes():
    """What happens when the demo dies: the kernel closes the pipe's write end."""
    import time

    from tools.demo_guard import Guard
    from tools.processes import pid_alive

    guard = Guard.start()
    # a child that ignores SIGTERM, with a grandchild in its group: both must end
    child = subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 300 & wait"],
                             start_new_session=True)
    time.sleep(0.3)
    grandchildren = [int(p) for p in subprocess.run(["pgrep", "-g", str(child.pid)],
                                                    capture_output=True, text=True).stdout.split()]
    assert len(grandchildren) == 2
    guard.watch(child.pid)
    guard.close()  # like the demo's end of the pipe closing
    child.wait(timeout=10)
    assert not any(pid_alive(p) for p in grandchildren)
    assert guard.process.returncode == 0


def test_handle_scale_overrides_the_fitted_handle_times_and_defaults_stay():
    from tools.sim.simulation import Simulation
    from tools.simulate import build_parser, config_from_args

    base = ["--agents", "12", "--contacts", "600", "--out", "x"]
    fitted = config_from_args(build_parser().parse_args(base))
    assert fitted.handle_scale is None and Simulation(fitted).workload.scale == 0.25
    real = config_from_args(build_parser().parse_args([*base, "--handle-scale", "1"]))
    assert Simulation(real).workload.scale == 1.0
