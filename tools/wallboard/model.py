"""The wallboard's view model: committed output records in, what the page shows out.

Pure functions and one small class, no Kafka and no web server, so every rule is unit-tested:
the highest ``revision`` per windowed ``key`` wins (what a compacted topic holds), the newest
live record per key wins (a gauge is never revised; a later tick replaces it), the page's
numbers are formatted here (the browser only places text), and the board's clock is event time
(the newest ``as_of`` or ``window_end`` seen), never the wall clock, because the demo's clock runs
fast and a replay's runs in the past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

QUEUE = "queue"
AGENT = "agent"
QUEUE_LIVE = "queue_live"
AGENT_LIVE = "agent_live"
KINDS = (QUEUE, AGENT, QUEUE_LIVE, AGENT_LIVE)
#: How far back the chart and the rollup look, and how long windowed records are kept.
HISTORY_S = 3600
#: The chart's rates are over this many seconds up to each window's end.
ROLLING_S = 900
#: The service-level threshold the board shows (seconds, a key of ``service_level``).
DEFAULT_THRESHOLD = "20"
#: Activities that come from a contact, with the contact states that define them (SPEC §4).
ACTIVITY_STATES = {
    "Error": ("ERROR",), "Missed": ("MISSED",), "Rejected": ("REJECTED",),
    "On contact": ("CONNECTED", "CONNECTED_ONHOLD", "CONNECTING"),
    "After contact work": ("ENDED",), "Incoming": ("INCOMING", "CONNECTING", "PENDING"),
}
QUEUE_GAUGES = ("contacts_in_queue", "oldest_contact_age", "agents_online", "agents_staffed",
                "agents_available", "agents_on_contact", "agents_after_contact_work",
                "agents_non_productive", "agents_error")


def parse_ts(text: Optional[str]) -> Optional[float]:
    """ISO-8601 (with ``Z``, with or without fractions) -> epoch seconds; None stays None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_number(value: Optional[float], digits: int = 1) -> str:
    """Integers as they are, other numbers with ``digits`` decimals, nothing as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}"


def fmt_percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.1f} %"


def fmt_seconds(value: Optional[float]) -> str:
    """A duration as the page shows it: ``42 s``, ``3:07``, ``1:02:09``; nothing as a dash."""
    if value is None:
        return "–"
    total = max(0, int(value))
    if total < 60:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def newer_revision(old: Optional[dict], new: dict) -> bool:
    """A windowed record replaces the one held for its key only with a higher revision."""
    return old is None or new.get("revision", 0) > old.get("revision", 0)


def newer_tick(old: Optional[dict], new: dict) -> bool:
    """A live record replaces the one held for its key unless it describes an earlier tick."""
    return old is None or (parse_ts(new.get("as_of")) or 0) >= (parse_ts(old.get("as_of")) or 0)


def activity_since(agent: dict) -> Optional[float]:
    """When the agent's current activity began: the earliest ``state_since`` of the contacts in
    the states that make the activity, else its status' ``status_since``."""
    states = ACTIVITY_STATES.get(agent.get("activity") or "")
    if states:
        starts = [parse_ts(c.get("state_since")) for c in agent.get("contacts") or ()
                  if c.get("state") in states]
        starts = [s for s in starts if s is not None]
        if starts:
            return min(starts)
    return parse_ts(agent.get("status_since"))


def rollup(windows: list[dict], threshold: str = DEFAULT_THRESHOLD) -> dict:
    """Service level, abandonment rate and handle time over several windows, from their sums
    and counts (a rate is never averaged): the figures of one longer interval."""
    queued = sum(w.get("contacts_queued") or 0 for w in windows)
    handled = sum(w.get("contacts_handled") or 0 for w in windows)
    abandoned = sum(w.get("contacts_abandoned") or 0 for w in windows)
    # service_level x queued / 100 = the contacts queued less than X s (exact up to rounding)
    within = sum(((w.get("service_level") or {}).get(threshold) or 0.0)
                 * (w.get("contacts_queued") or 0) / 100.0 for w in windows)
    # the sum behind the average where the record has it, else average x count (the same)
    handle = sum(w["sum_handle_time"] if w.get("sum_handle_time") is not None
                 else (w.get("avg_handle_time") or 0.0) * (w.get("contacts_handled") or 0)
                 for w in windows)
    return {
        "contacts_queued": queued, "contacts_handled": handled, "contacts_abandoned": abandoned,
        "service_level": 100.0 * within / queued if queued else None,
        "abandonment_rate": 100.0 * abandoned / queued if queued else None,
        "avg_handle_time": handle / handled if handled else None,
    }


@dataclass
class Board:
    """Everything the page needs, kept bounded: windowed records of the last ``HISTORY_S`` s
    (highest revision per key), the newest live record per key, and a few counters."""

    threshold: str = DEFAULT_THRESHOLD
    queue_windows: dict = field(default_factory=dict)  # key -> record
    agent_windows: dict = field(default_factory=dict)
    queue_live: dict = field(default_factory=dict)  # key -> record
    agent_live: dict = field(default_factory=dict)
    records: int = 0
    clock: Optional[float] = None  # newest event time seen (as_of / window_end), epoch s

    def add(self, kind: str, record: dict) -> bool:
        """Take one committed record; returns True if the view may have changed."""
        self.records += 1
        if kind in (QUEUE, AGENT):
            table = self.queue_windows if kind == QUEUE else self.agent_windows
            if not newer_revision(table.get(record["key"]), record):
                return False
            table[record["key"]] = record
            self._advance(parse_ts(record.get("window_end")))
            return True
        if kind in (QUEUE_LIVE, AGENT_LIVE):
            table = self.queue_live if kind == QUEUE_LIVE else self.agent_live
            if not newer_tick(table.get(record["key"]), record):
                return False
            table[record["key"]] = record
            self._advance(parse_ts(record.get("as_of")))
            return True
        raise ValueError(f"unknown record kind {kind!r}")

    def _advance(self, at: Optional[float]) -> None:
        if at is not None and (self.clock is None or at > self.clock):
            self.clock = at
            self.prune()

    def prune(self) -> None:
        """Drop windowed records older than the chart's hour (state stays bounded)."""
        if self.clock is None:
            return
        horizon = self.clock - HISTORY_S - 60
        for table in (self.queue_windows, self.agent_windows):
            for key in [k for k, r in table.items() if (parse_ts(r["window_end"]) or 0) < horizon]:
                del table[key]

    # -- the page's data ---------------------------------------------------------------------
    def view(self) -> dict:
        return {"clock": iso(self.clock), "threshold": self.threshold,
                "live": bool(self.queue_live or self.agent_live),
                "queues": queue_views(self), "agents": agent_views(self),
                "records": self.records}


def _newest_by(records: list[dict], ident: tuple[str, ...]) -> dict[tuple, list[dict]]:
    """Records grouped by their identity fields, each group oldest window first."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(f) for f in ident), []).append(r)
    for rows in groups.values():
        rows.sort(key=lambda r: r["window_start"])
    return groups


def _name(name: Optional[str], arn: str) -> str:
    return name or arn.rsplit("/", 1)[-1][:8]


def chart_points(rows: list[dict], shown: list[dict], threshold: str) -> list[dict]:
    """Per shown window: contacts queued in it, and service level and abandonment rate over the
    ``ROLLING_S`` up to its end (one-minute rates of a few contacts jump between 0 and 100)."""
    ends = [(parse_ts(w["window_end"]) or 0, w) for w in rows]
    points = []
    for r in shown:
        end = parse_ts(r["window_end"]) or 0
        recent = rollup([w for t, w in ends if end - ROLLING_S < t <= end], threshold)
        points.append({"t": r["window_start"], "queued": r.get("contacts_queued") or 0,
                       "sl": recent["service_level"], "abandon": recent["abandonment_rate"]})
    return points


def queue_views(board: Board) -> list[dict]:
    """One card per (queue, channel): live gauges, the newest window, the hour's rollup and
    the points of its chart."""
    windows = _newest_by(list(board.queue_windows.values()), ("queue_arn", "channel"))
    live = {(r["queue_arn"], r["channel"]): r for r in board.queue_live.values()}
    th = board.threshold
    # a window fed only by records without a name has queue_name null: any record's name serves
    names = {r["queue_arn"]: r["queue_name"] for r in (*board.queue_windows.values(),
                                                       *board.queue_live.values())
             if r.get("queue_name")}
    cards = []
    for ident in sorted(set(windows) | set(live)):
        rows = windows.get(ident, [])
        gauges = live.get(ident)
        latest = rows[-1] if rows else None
        name = names.get(ident[0])
        hour = [r for r in rows if board.clock is None
                or (parse_ts(r["window_end"]) or 0) > board.clock - HISTORY_S]
        total = rollup(hour, th)
        card: dict[str, Any] = {
            "id": f"{ident[0]}|{ident[1]}", "queue_arn": ident[0], "channel": ident[1],
            "name": _name(name, ident[0]), "agent_queue": "/queue/agent/" in ident[0],
            "live": None, "window": None,
            "hour": {"service_level": fmt_percent(total["service_level"]),
                     "abandonment_rate": fmt_percent(total["abandonment_rate"]),
                     "avg_handle_time": fmt_seconds(total["avg_handle_time"]),
                     "contacts_queued": str(total["contacts_queued"]),
                     "contacts_handled": str(total["contacts_handled"]),
                     "contacts_abandoned": str(total["contacts_abandoned"])},
            "chart": chart_points(rows, hour, th),
        }
        if gauges is not None:
            card["live"] = {"as_of": gauges.get("as_of"), **{
                g: (fmt_seconds(gauges.get(g)) if g == "oldest_contact_age"
                    else fmt_number(gauges.get(g))) for g in QUEUE_GAUGES}}
        if latest is not None:
            card["window"] = {
                "start": latest["window_start"], "revision": latest.get("revision", 0),
                "service_level": fmt_percent((latest.get("service_level") or {}).get(th)),
                "abandonment_rate": fmt_percent(latest.get("abandonment_rate")),
                "avg_handle_time": fmt_seconds(latest.get("avg_handle_time")),
                "avg_queue_answer_time": fmt_seconds(latest.get("avg_queue_answer_time")),
                "contacts_queued": fmt_number(latest.get("contacts_queued")),
                "contacts_handled": fmt_number(latest.get("contacts_handled")),
                "contacts_abandoned": fmt_number(latest.get("contacts_abandoned")),
                "contacts_in_queue_events": fmt_number(latest.get("contacts_queued_by_enqueue")),
            }
        # an agent's personal queue only matters while someone waits in it
        if card["agent_queue"] and not (gauges and gauges.get("contacts_in_queue")):
            continue
        cards.append(card)
    cards.sort(key=lambda c: (c["agent_queue"], c["name"].lower(), c["channel"]))
    return cards


def agent_views(board: Board) -> list[dict]:
    """One row per agent: from its live record (activity, time in it on the board's clock),
    else from its newest window (occupancy and the time it spent per state)."""
    windows = _newest_by(list(board.agent_windows.values()), ("agent_arn",))
    live = {r["agent_arn"]: r for r in board.agent_live.values()}
    rows = []
    for arn in sorted(set(a for (a,) in windows) | set(live)):
        latest = (windows.get((arn,)) or [None])[-1]
        agent = live.get(arn)
        row: dict[str, Any] = {"id": arn, "name": _name((agent or latest or {}).get("username"),
                                                        arn),
                               "routing_profile": (agent or latest or {}).get("routing_profile"),
                               "live": None, "window": None}
        if agent is not None:
            since = activity_since(agent)
            now = board.clock if board.clock is not None else parse_ts(agent.get("as_of"))
            row["live"] = {
                "as_of": agent.get("as_of"), "online": bool(agent.get("online")),
                "status": agent.get("status") or "–",
                "activity": agent.get("activity") or agent.get("status") or "–",
                "since": iso(since),
                "time_in_state": fmt_seconds(now - since if now is not None and since is not None
                                             else None),
                "contacts": len(agent.get("contacts") or ()),
            }
        if latest is not None:
            row["window"] = {
                "start": latest["window_start"], "revision": latest.get("revision", 0),
                "online_time": fmt_seconds(latest.get("online_time")),
                "contact_time": fmt_seconds(latest.get("contact_time")),
                "after_contact_work_time": fmt_seconds(latest.get("after_contact_work_time")),
                "idle_time": fmt_seconds(latest.get("idle_time")),
                "non_productive_time": fmt_seconds(latest.get("non_productive_time")),
                "occupancy": fmt_percent(latest.get("occupancy")),
                "contacts_handled": fmt_number(latest.get("contacts_handled")),
            }
        rows.append(row)
    # online agents first, then by name
    rows.sort(key=lambda r: (not (r["live"] or {}).get("online", r["live"] is None),
                             r["name"].lower()))
    return rows
