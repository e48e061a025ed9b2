"""The demo's terminal view: the latest metrics per queue and per agent, as plain text tables.

Pure functions over the records read from the output topics, so the view is unit-tested without
Kafka. ``MetricsBoard`` keeps the highest revision per key (what a compacted topic holds) and
answers "the newest complete window" per queue and agent; of the live queue gauges
(``connect.metrics.queue.live``) it keeps the newest tick per queue and channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from tools.wallboard.model import fmt_seconds, newer_revision, newer_tick


@dataclass
class MetricsBoard:
    queues: dict = field(default_factory=dict)  # key -> latest revision of a queue record
    agents: dict = field(default_factory=dict)
    live: dict = field(default_factory=dict)  # key -> newest tick of a queue live record
    records: int = 0
    revisions: int = 0  # records that corrected an earlier revision
    dead_letters: int = 0

    def add(self, kind: str, record: dict) -> None:
        self.records += 1
        if kind == "deadletter":
            self.dead_letters += 1
            return
        if kind == "queue_live":
            if newer_tick(self.live.get(record["key"]), record):
                self.live[record["key"]] = record
            return
        table = self.queues if kind == "queue" else self.agents
        old = table.get(record["key"])
        if not newer_revision(old, record):
            return
        if old is not None:
            self.revisions += 1
        table[record["key"]] = record

    def latest(self, table: dict, by: str, also: Optional[str] = None) -> list[dict]:
        """The newest window of each queue/agent (``by`` = the identity field, ``also`` a
        second one: queue records are per queue and channel)."""
        newest: dict = {}
        names: dict = {}  # a window fed only by records without a name has queue_name null
        for r in table.values():
            ident = (r[by], r.get(also)) if also else r[by]
            cur = newest.get(ident)
            if cur is None or r["window_start"] > cur["window_start"]:
                newest[ident] = r
            if r.get("queue_name"):
                names[r[by]] = r["queue_name"]
        newest = {k: {**r, "queue_name": names[r[by]]}
                  if names.get(r[by]) and not r.get("queue_name") else r
                  for k, r in newest.items()}
        return sorted(newest.values(), key=lambda r: (r.get("queue_name") or r.get("username")
                                                      or r[by], r.get("channel") or ""))


def _num(value: Optional[float], width: int, digits: int = 1) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, int):
        return str(value).rjust(width)
    return f"{value:.{digits}f}".rjust(width)


def _name(value: Optional[str], arn: str, width: int) -> str:
    text = value or arn.rsplit("/", 1)[-1][:8]
    return text[:width].ljust(width)


def queue_table(rows: list[dict], threshold: str = "20") -> list[str]:
    out = [f"{'queue':<22} {'chan':<5} {'window':<6} {'queued':>6} {'handled':>7} "
           f"{'aband.':>6} {'SL' + threshold:>6} {'ASA s':>6} {'AHT s':>6} {'in q':>5} {'rev':>3}"]
    for r in rows:
        out.append(
            f"{_name(r['queue_name'], r['queue_arn'], 22)} {str(r['channel'])[:5]:<5} "
            f"{r['window_start'][11:16]:<6} {_num(r['contacts_queued'], 6)} "
            f"{_num(r['contacts_handled'], 7)} {_num(r['contacts_abandoned'], 6)} "
            f"{_num((r['service_level'] or {}).get(threshold), 6)} "
            f"{_num(r['avg_queue_answer_time'], 6)} {_num(r['avg_handle_time'], 6)} "
            f"{_num(r['contacts_queued_by_enqueue'], 5)} {r['revision']:>3}")
    return out


def live_table(rows: list[dict]) -> list[str]:
    """The live queue gauges: what a supervisor reads first."""
    out = [f"{'queue':<22} {'chan':<5} {'as of':<8} {'in q':>5} {'oldest':>7} {'avail':>5} "
           f"{'on ct':>5} {'ACW':>4} {'online':>6}"]
    for r in rows:
        out.append(
            f"{_name(r['queue_name'], r['queue_arn'], 22)} {str(r['channel'])[:5]:<5} "
            f"{str(r['as_of'])[11:19]:<8} {_num(r['contacts_in_queue'], 5)} "
            f"{fmt_seconds(r['oldest_contact_age']).rjust(7)} {_num(r['agents_available'], 5)} "
            f"{_num(r['agents_on_contact'], 5)} {_num(r['agents_after_contact_work'], 4)} "
            f"{_num(r['agents_online'], 6)}")
    return out


def live_rows(board: MetricsBoard) -> list[dict]:
    """Queues with someone waiting or serving agents online, by name; an agent's personal
    queue only while a contact waits in it."""
    rows = [r for r in board.live.values()
            if r.get("contacts_in_queue") or ("/queue/agent/" not in r["queue_arn"]
                                              and r.get("agents_online"))]
    return sorted(rows, key=lambda r: ((r.get("queue_name") or r["queue_arn"]).lower(),
                                       r.get("channel") or ""))


def agent_table(rows: list[dict], limit: int = 15) -> list[str]:
    out = [f"{'agent':<16} {'window':<6} {'online':>6} {'idle':>5} {'contact':>7} {'ACW':>5} "
           f"{'NPT':>5} {'occ %':>6} {'handled':>7} {'missed':>6}"]
    for r in rows[:limit]:
        out.append(
            f"{_name(r['username'], r['agent_arn'], 16)} {r['window_start'][11:16]:<6} "
            f"{_num(r['online_time'], 6, 0)} {_num(r['idle_time'], 5, 0)} "
            f"{_num(r['contact_time'], 7, 0)} {_num(r['after_contact_work_time'], 5, 0)} "
            f"{_num(r['non_productive_time'], 5, 0)} {_num(r['occupancy'], 6)} "
            f"{_num(r['contacts_handled'], 7)} {_num(r['agent_non_response'], 6)}")
    if len(rows) > limit:
        out.append(f"... and {len(rows) - limit} more agents")
    return out


def render(board: MetricsBoard, status: str) -> str:
    """The whole screen: status line, queue table, agent table, counters."""
    queues = board.latest(board.queues, "queue_arn", "channel")
    agents = board.latest(board.agents, "agent_arn")
    lines = [status, ""]
    live = live_rows(board)
    if live:
        lines += ["Live queues (in q = contacts in queue now, oldest = longest wait, avail / on ct "
                  "/ ACW = serving agents)"] + live_table(live) + [""]
    lines += ["Queues (newest window; SL = service level %, ASA = avg answer time)"]
    lines += queue_table(queues) if queues else ["  waiting for the first window to close..."]
    lines += ["", "Agents (newest window; times in seconds)"]
    lines += agent_table(agents) if agents else ["  waiting for the first window to close..."]
    lines += ["", f"records read: {board.records}  corrected revisions: {board.revisions}  "
                  f"dead letters: {board.dead_letters}  queue windows: {len(board.queues)}  "
                  f"agent windows: {len(board.agents)}"]
    return "\n".join(lines)
