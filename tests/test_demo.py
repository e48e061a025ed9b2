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
