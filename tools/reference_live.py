"""Expected live records (SPEC §4 "Live metrics") at every tick, from the simulator's ground truth.

Independent of the job (nothing from ``udfs``/``jobs``): it reads the simulator's own model — the
contact segments with their true (as-reported) timestamps and the agents' event timelines — and
applies the contract's definitions at every tick directly.

What it assumes about the run (the job can only show what the feeds say, when they say it):

- every contact event is delivered (``FaultConfig.dropped_events = 0``): a contact whose events
  were lost is ended by its CTR when the CTR arrives, which no reference can time;
- the job's live out-of-orderness covers the feeds' shuffling (``--live-out-of-orderness`` above
  the 61 s bound of ``tools.sim.delivery``), so no event is late for the live path.

Definitions used:

- tick ``T``: every multiple of the interval from the first event on, up to the last event time
  of the run (ticks stop at the last event time read);
- a contact is in queue at ``T`` when its enqueue (as its events report it) is <= ``T`` and it
  has neither reached an agent nor disconnected by ``T`` (``T`` < the earlier of the two);
- an agent's state at ``T`` is that of its last event at or before ``T``; offline at LOGOUT and
  from 240 s after its last event; an offline agent counts in no gauge;
- an agent serves the (queue, channel) pairs of its routing profile's inbound queues (its own
  agent queue included); a routing profile takes one voice contact or up to ``chat_slots``
  chats, which gives the snapshot's available slots per channel;
- a (queue, channel) is shown while a contact is in queue or (not an agent's own queue) a
  serving agent is online, plus one all-zero record at the first tick after that ends;
- an agent record is emitted at the first tick at or after each change of what it shows; its
  ``status_since`` is the time of the event that started the current status name (a fresh start
  after more than the agent timeout offline). Contacts' ``state_since`` comes from the payload's
  ``StateStartTimestamp``, which the truth does not keep: a contact's state is known to restart
  at the first event showing it (so a record is due), but the value is left out (``None``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

from tools.sim.center import CHAT, VOICE, RoutingProfile
from tools.sim.timefmt import iso_output
from tools.sim.truth import AgentEventTruth, Truth

DEFAULT_INTERVAL_MS = 10_000
AGENT_TIMEOUT_MS = 240_000
AGENT_QUEUE_MARK = "/queue/agent/"

TALKING = frozenset({"CONNECTED", "CONNECTED_ONHOLD"})
ACTIVE = TALKING | {"ENDED"}
FAILED = frozenset({"ERROR", "MISSED", "REJECTED"})
RINGING = frozenset({"INCOMING", "PENDING", "CONNECTING"})
GAUGES = ("agents_online", "agents_staffed", "agents_available", "agents_on_contact",
          "agents_non_productive", "agents_after_contact_work", "agents_error", "slots_active",
          "slots_available")


def _ceil(ms: int, step: int) -> int:
    return -(-ms // step) * step


def _ticks(start: int, end: int, step: int) -> range:
    """Ticks ``T`` with start <= T < end."""
    return range(_ceil(start, step), end, step)


class _Contact:
    """A snapshot contact as the agent event shows it, with what its segment says."""

    def __init__(self, contact_id: str, state: str, channel: str, method: str,
                 queue_arn: Optional[str]):
        self.contact_id, self.state, self.channel = contact_id, state, channel
        self.method, self.queue_arn = method, queue_arn

    @property
    def active(self) -> bool:
        return self.state in ACTIVE or (self.state == "CONNECTING" and self.method == "OUTBOUND")


def _activity(status_name: str, contacts: list[_Contact]) -> str:
    states = {c.state for c in contacts}
    for state, name in (("ERROR", "Error"), ("MISSED", "Missed"), ("REJECTED", "Rejected")):
        if state in states:
            return name
    if any(c.state in TALKING or (c.state == "CONNECTING" and c.method == "OUTBOUND")
           for c in contacts):
        return "On contact"
    if "ENDED" in states:
        return "After contact work"
    if states & RINGING:
        return "Incoming"
    return status_name


class _AgentModel:
    """One agent's timeline reduced to what the live records need."""

    def __init__(self, truth: Truth, arn: str, profiles: dict[str, RoutingProfile],
                 segments: dict):
        self.arn = arn
        self.ident = next(a for a in truth.center.agents if a.arn == arn)
        self.configs = truth.agent_configs[arn]
        self.events: list[AgentEventTruth] = []
        for e in truth.agent_events[arn]:  # unique; drop same-time repeats like the dedupe
            if not self.events or e.ts > self.events[-1].ts:
                self.events.append(e)
        self.profiles = profiles
        self.segments = segments

    def contacts(self, e: AgentEventTruth) -> list[_Contact]:
        out = []
        for cid, state in e.contacts:
            seg = self.segments[cid]
            out.append(_Contact(cid, state, seg.channel, seg.method,
                                seg.queue.arn if seg.queue is not None else None))
        return out

    def profile(self, e: AgentEventTruth) -> RoutingProfile:
        return self.profiles[self.configs[e.config].routing_profile]

    def served(self, e: AgentEventTruth) -> dict[tuple[str, str], Optional[str]]:
        profile = self.profile(e)
        out = {}
        for q in (self.ident.agent_queue, *profile.queues):
            for channel in q.channels:
                out[(q.arn, channel)] = q.name
        return out

    def shares(self, e: AgentEventTruth) -> dict[tuple[str, str], tuple[int, ...]]:
        """(queue ARN, channel) -> the nine agent gauges this event's state adds there."""
        if e.event_type == "LOGOUT" or e.status_type == "OFFLINE":
            return {}
        contacts = self.contacts(e)
        profile = self.profile(e)
        routable = e.status_type == "ROUTABLE"
        voices = sum(1 for c in contacts if c.channel == VOICE)
        chats = len(contacts) - voices
        free = {VOICE: 0 if contacts else 1}
        if profile.chat_slots:
            free[CHAT] = 0 if voices else max(0, profile.chat_slots - chats)
        states = {c.state for c in contacts}
        out = {}
        for arn, channel in self.served(e):
            out[(arn, channel)] = (
                1, int(routable), int(routable and not contacts),
                int(any(c.active for c in contacts)), int(e.status_type == "CUSTOM"),
                int("ENDED" in states), int(bool(states & FAILED)),
                sum(1 for c in contacts if c.channel == channel and c.active),
                free.get(channel, 0) if routable else 0)
        return out

    def intervals(self, timeout_ms: int):
        """(start, end, event, timed out) of each event's state (end: the next event, or the
        timeout when no event comes within it)."""
        for i, e in enumerate(self.events):
            end = e.ts + timeout_ms
            if i + 1 < len(self.events) and self.events[i + 1].ts < end:
                yield e.ts, self.events[i + 1].ts, e, False
            else:
                yield e.ts, end, e, True

    def views(self, timeout_ms: int) -> list[tuple[int, tuple]]:
        """(from, view) of every change of what the agent record shows."""
        out: list[tuple[int, tuple]] = []
        name: Optional[str] = None
        since: Optional[int] = None
        offline_since: Optional[int] = None

        def push(at: int, view: tuple) -> None:
            if not out or out[-1][1] != view:
                out.append((at, view))

        runs: dict[tuple[str, str], int] = {}  # (contact, state) -> start of that state
        for start, end, e, timed_out in self.intervals(timeout_ms):
            runs = {(cid, state): runs.get((cid, state), start) for cid, state in e.contacts}
            if offline_since is not None and start > offline_since + timeout_ms:
                name = None  # offline for longer than the timeout: a fresh start
            cfg = self.configs[e.config]
            ident = (cfg.username, cfg.routing_profile, list(cfg.hierarchy) if cfg.hierarchy
                     else None)
            logout = e.event_type == "LOGOUT"
            status_name = "Offline" if logout and e.status_type != "OFFLINE" else e.status_name
            status_type = "OFFLINE" if logout else e.status_type
            if status_name != name:
                name, since = status_name, start
            online = status_type != "OFFLINE"
            offline_since = None if online else start
            contacts = self.contacts(e) if online else []
            push(start, (*ident, name, status_type, since,
                         _activity(name, contacts) if online else name, online,
                         tuple((c.contact_id, c.channel, c.state,
                                runs[(c.contact_id, c.state)], c.queue_arn)
                               for c in contacts)))
            if online and timed_out:
                at = end  # offline for lack of events
                name, since, offline_since = "Offline", at, at
                push(at, (*ident, "Offline", "OFFLINE", at, "Offline", False, ()))
        return out


def expected_live(truth: Truth, interval_ms: int = DEFAULT_INTERVAL_MS,
                  timeout_ms: int = AGENT_TIMEOUT_MS) -> tuple[list[dict], list[dict]]:
    """(queue live records, agent live records), each in (as_of, key) order."""
    first, last = truth.first_event_ms, truth.last_event_ms
    assert first is not None and last is not None
    end = last + 1  # ticks up to and including the last event time
    profiles = {p.name: p for p in truth.center.profiles}
    segments = {s.contact_id: s for s in truth.segments}

    # per (queue, channel): contacts in queue and the oldest enqueue, per tick
    in_queue: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    oldest: dict[tuple, dict[int, int]] = defaultdict(dict)
    for seg in truth.segments:
        if seg.queue is None or seg.enqueue_ms is None:
            continue
        enqueue = seg.stamp(seg.enqueue_ms)
        exits = [seg.stamp(t) for t in (seg.connected_ms, seg.disconnect_ms) if t is not None]
        leave = min(exits) if exits else end
        key = (seg.queue.arn, seg.channel)
        for tick in _ticks(enqueue, min(leave, end), interval_ms):
            in_queue[key][tick] += 1
            if tick not in oldest[key] or enqueue < oldest[key][tick]:
                oldest[key][tick] = enqueue

    # per (queue, channel): the serving agents' gauges per tick
    agents: dict[tuple, dict[int, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0] * len(GAUGES)))
    names: dict[str, Optional[str]] = {}
    models = [_AgentModel(truth, arn, profiles, segments) for arn in sorted(truth.agent_events)]
    for model in models:
        for start, stop, e, _ in model.intervals(timeout_ms):
            names.update({arn: name for (arn, _), name in model.served(e).items()})
            for key, share in model.shares(e).items():
                for tick in _ticks(start, min(stop, end), interval_ms):
                    acc = agents[key][tick]
                    for i, v in enumerate(share):
                        acc[i] += v

    queue_records = []
    for key in sorted(set(in_queue) | set(agents)):
        arn, channel = key
        agent_queue = AGENT_QUEUE_MARK in arn
        shown = False
        for tick in _ticks(first, end, interval_ms):
            n = in_queue[key].get(tick, 0) if key in in_queue else 0
            acc = agents[key].get(tick) if key in agents else None
            gauges = acc or [0] * len(GAUGES)
            showing = n > 0 or (not agent_queue and gauges[0] > 0)
            if not showing and not shown:
                continue
            record: dict[str, Any] = {
                "key": f"{arn}|{channel}", "as_of": iso_output(tick), "queue_arn": arn,
                "queue_name": names.get(arn), "channel": channel,
                "contacts_in_queue": n if showing else 0,
                "oldest_contact_age": ((tick - oldest[key][tick]) / 1000
                                       if showing and n else None),
            }
            record.update(zip(GAUGES, gauges if showing else [0] * len(GAUGES)))
            queue_records.append(record)
            shown = showing

    agent_records = []
    for model in models:
        views = model.views(timeout_ms)
        emitted = None
        ticks = sorted({_ceil(at, interval_ms) for at, _ in views})
        for tick in ticks:
            if tick >= end:
                break
            current = [v for at, v in views if at <= tick][-1]
            if current == emitted:
                continue
            emitted = current
            username, profile, hierarchy, status, status_type, since, activity, online, \
                contacts = current
            agent_records.append({
                "key": model.arn, "as_of": iso_output(tick), "agent_arn": model.arn,
                "username": username, "routing_profile": profile, "hierarchy": hierarchy,
                "status": status, "status_type": status_type, "status_since": iso_output(since),
                "activity": activity, "online": online,
                "contacts": [{"contact_id": cid, "channel": ch, "state": state,
                              "state_since": None, "queue_arn": q}
                             for cid, ch, state, _, q in contacts]})
    queue_records.sort(key=lambda r: (r["as_of"], r["key"]))
    agent_records.sort(key=lambda r: (r["as_of"], r["key"]))
    return queue_records, agent_records
