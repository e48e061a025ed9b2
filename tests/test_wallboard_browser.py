"""The wallboard in a real browser: during a demo run, Debian's headless Chromium shows the same
numbers as the latest committed records (read_committed), for two queues and one agent.

Chromium is driven over the DevTools protocol (a websocket; no driver, no browser download).
The test skips only where no Chromium is installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Optional

import pytest

from tests.kafka_io import consume_to_end
from tools.wallboard.model import fmt_seconds

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                  "--remote-debugging-port=0"]
TOPICS = {"queue": "connect.metrics.queue", "agent": "connect.metrics.agent",
          "queue_live": "connect.metrics.queue.live", "agent_live": "connect.metrics.agent.live"}
#: What the page shows, read from its data-* attributes and data-field elements.
SNAPSHOT_JS = """(() => {
  const read = (root) => { const f = {window: root.dataset.window, revision: root.dataset.revision,
                                      as_of: root.dataset.asOf};
    for (const e of root.querySelectorAll('[data-field]')) f[e.dataset.field] = e.textContent;
    return f; };
  const out = {clock: document.body.dataset.clock || null, queues: {}, agents: {}};
  for (const c of document.querySelectorAll('.card.queue')) out.queues[c.dataset.id] = read(c);
  for (const r of document.querySelectorAll('tr.agent')) out.agents[r.dataset.id] = read(r);
  return out; })()"""


class Chromium:
    """One headless Chromium with a fresh profile, driven over the DevTools protocol."""

    def __init__(self, profile: Path, log: Path):
        from websockets.sync.client import connect

        self.proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                      "about:blank"], stdout=subprocess.DEVNULL,
                                     stderr=open(log, "w"), start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=20))
        self.next_id = 0

    def call(self, method: str, timeout: float = 30.0, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()


class DemoRun:
    """``python -m tools.demo --duration ...`` with its stderr lines collected."""

    def __init__(self, workdir: Path, duration: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.demo", "--duration", str(duration), "--workdir",
             str(workdir), "--wallboard-port", "0"], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def value_after(self, marker: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if marker in line:
                    return line.split(marker, 1)[1].split()[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"the demo never logged {marker!r}:\n{''.join(self.lines)[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.1f} %"


def count(value: Optional[int]) -> str:
    return "–" if value is None else str(value)


def newest(records: list[dict], **ident) -> Optional[dict]:
    """The record a compacted topic ends with for this queue/agent: newest window, highest
    revision (live records: newest tick)."""
    rows = [r for r in records if all(r.get(k) == v for k, v in ident.items())]
    order = (lambda r: r["as_of"]) if rows and "as_of" in rows[0] else \
        (lambda r: (r["window_start"], r["revision"]))
    return max(rows, key=order, default=None)


def check_queue(card: dict, records: dict, arn: str, channel: str) -> Optional[str]:
    """None if the card shows the committed record it names; else what differs."""
    rec = next((r for r in records["queue"] if r["queue_arn"] == arn and r["channel"] == channel
                and r["window_start"] == card["window"]
                and str(r["revision"]) == card["revision"]), None)
    if rec is None:
        return f"no committed record for {arn}|{channel} {card['window']} rev {card['revision']}"
    shown = {k: card.get("window." + k) for k in ("service_level", "abandonment_rate",
                                                   "avg_handle_time", "contacts_queued",
                                                   "contacts_handled", "contacts_abandoned")}
    expected = {"service_level": pct((rec["service_level"] or {}).get("20")),
                "abandonment_rate": pct(rec["abandonment_rate"]),
                "avg_handle_time": fmt_seconds(rec["avg_handle_time"]),
                "contacts_queued": count(rec["contacts_queued"]),
                "contacts_handled": count(rec["contacts_handled"]),
                "contacts_abandoned": count(rec["contacts_abandoned"])}
    assert shown == expected, (arn, channel, card["window"], card["revision"])
    if card.get("as_of"):
        live = next(r for r in records["queue_live"] if r["key"] == f"{arn}|{channel}"
                    and r["as_of"] == card["as_of"])
        for field in ("contacts_in_queue", "agents_available", "agents_on_contact",
                      "agents_after_contact_work"):
            assert card["live." + field] == count(live[field]), field
        assert card["live.oldest_contact_age"] == fmt_seconds(live["oldest_contact_age"])
    return None


def fresh(card: dict, before: dict, **ident) -> bool:
    """The card is not older than what was committed before the page was read."""
    rec = newest(before["queue" if "queue_arn" in ident else "agent"], **ident)
    return rec is None or (card["window"], int(card["revision"] or 0)) >= (
        rec["window_start"], rec["revision"])


def committed(bootstrap: str) -> dict:
    records = consume_to_end(bootstrap, list(TOPICS.values()))
    out: dict = {k: [] for k in TOPICS}
    names = {v: k for k, v in TOPICS.items()}
    for r in records:
        out[names[r.pop("_topic")]].append(r)
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_wallboard_shows_the_committed_numbers_in_a_real_browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine: install Debian's package (apt-get install "
                    "chromium) to run the wallboard's browser test")
    demo = DemoRun(tmp_path / "demo", duration=240)
    browser = None
    try:
        bootstrap = demo.value_after("Kafka at ")
        url = demo.value_after("wallboard: ")
        browser = Chromium(tmp_path / "profile", tmp_path / "chromium.log")
        browser.call("Page.enable")
        browser.call("Page.navigate", url=url)
        deadline = time.monotonic() + 200
        page: dict = {}
        while time.monotonic() < deadline:
            page = browser.evaluate(SNAPSHOT_JS) or {}
            queues = [k for k, c in page.get("queues", {}).items() if c["window"]]
            agents = [k for k, a in page.get("agents", {}).items() if a["window"] or a["as_of"]]
            if len(queues) >= 2 and agents:
                break
            time.sleep(2)
        else:
            raise AssertionError(f"the page never showed two queues and an agent: {page}\n"
                                 + "".join(demo.lines)[-2000:])
        for attempt in range(10):
            before = committed(bootstrap)
            time.sleep(3)  # the page's own read and push (a few hundred ms) catch up
            page = browser.evaluate(SNAPSHOT_JS)
            after = committed(bootstrap)
            ids = sorted(k for k, c in page["queues"].items() if c["window"])[:2]
            agent_id = sorted(k for k, a in page["agents"].items() if a["window"])[0]
            idents = [dict(zip(("queue_arn", "channel"), k.rsplit("|", 1))) for k in ids]
            if not all(fresh(page["queues"][k], before, **i) for k, i in zip(ids, idents)) or \
                    not fresh(page["agents"][agent_id], before, agent_arn=agent_id):
                continue  # the page was behind the committed records; read again
            for k, ident in zip(ids, idents):
                assert check_queue(page["queues"][k], after, ident["queue_arn"],
                                   ident["channel"]) is None
            agent = page["agents"][agent_id]
            rec = next(r for r in after["agent"] if r["agent_arn"] == agent_id
                       and r["window_start"] == agent["window"]
                       and str(r["revision"]) == agent["revision"])
            assert agent["window.occupancy"] == pct(rec["occupancy"])
            assert agent["window.contacts_handled"] == count(rec["contacts_handled"])
            assert agent["name"] == (rec["username"] or agent_id.rsplit("/", 1)[-1][:8])
            if agent["as_of"]:
                live = next(r for r in after["agent_live"] if r["agent_arn"] == agent_id
                            and r["as_of"] == agent["as_of"])
                assert agent["live.activity"] == (live["activity"] or live["status"])
                assert agent["live.status"] == live["status"]
            break
        else:
            raise AssertionError("the page stayed behind the committed records")
        shots = ROOT / "target"
        shots.mkdir(exist_ok=True)
        browser.screenshot(shots / "wallboard-test.png")
        assert (shots / "wallboard-test.png").stat().st_size > 10_000
    finally:
        if browser is not None:
            browser.close()
        demo.stop()
