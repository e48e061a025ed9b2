"""The wallboard's web side without Kafka: the page, the JSON view and the event stream push a
new view when the board changes. The CLI's flags default to the job's topic names."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_wallboard_model import qlive, qwin
from tools.kafka_local import free_ports
from tools.wallboard.feed import Feed
from tools.wallboard.model import QUEUE, QUEUE_LIVE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served():
    import uvicorn

    from tools.wallboard.app import create_app

    feed = Feed("unused:9092", {})
    port = free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(create_app(feed, start_feed=False), port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield feed, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def add(feed: Feed, kind: str, record: dict) -> None:
    with feed.lock:
        feed.board.add(kind, record)
        feed.version += 1


def read_event(stream) -> dict:
    while True:
        line = stream.readline()
        assert line, "the event stream ended"
        if line.startswith(b"data: "):
            return json.loads(line[6:])


def test_the_page_the_view_and_the_event_stream(served):
    feed, base = served
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        page = r.read().decode()
    assert "EventSource" in page and "<svg" not in page.split("<script>")[0]  # drawn by script
    # nothing loaded from the internet (the SVG namespace is a name, not a download)
    text = page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text and "http://" not in text
    assert "src=" not in page and "<link" not in page
    add(feed, QUEUE, qwin("2024-01-15T08:05:00Z"))
    with urllib.request.urlopen(base + "/api/view", timeout=10) as r:
        assert json.load(r)["queues"][0]["window"]["service_level"] == "75.0 %"
    with urllib.request.urlopen(base + "/events", timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        first = read_event(stream)
        assert first["live"] is False and first["queues"][0]["live"] is None
        add(feed, QUEUE_LIVE, qlive("2024-01-15T08:06:20Z", 4))
        pushed = read_event(stream)  # pushed without asking again
        assert pushed["queues"][0]["live"]["contacts_in_queue"] == "4"


def test_cli_help_and_defaults_follow_the_job():
    from tools.wallboard.__main__ import build_parser

    args = build_parser().parse_args(["--bootstrap-servers", "h:1"])
    assert (args.queue_metrics_topic, args.agent_metrics_topic) == ("connect.metrics.queue",
                                                                    "connect.metrics.agent")
    assert (args.queue_live_topic, args.agent_live_topic) == ("connect.metrics.queue.live",
                                                              "connect.metrics.agent.live")
    assert args.port == 8050
    out = subprocess.run([sys.executable, "-m", "tools.wallboard", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--bootstrap-servers" in out.stdout and "--port" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "tools.wallboard", "--bootstrap-servers", "h:1",
                          "--port", "70000"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "--port" in bad.stderr
