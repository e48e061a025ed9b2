"""Per-agent state: status timeline, configuration history, handled contacts, window emission.

Why one state per agent: agent time metrics, the missed-contact count, the agent's handled CTRs and
the enrichment of contact facts all need the same timeline of the agent's snapshots, so the operator
keyed by agent ARN owns all of it (one shuffle, one state read per record).

- Every distinct event (dedupe by EventId) becomes a *point* (event time, category flags,
  EventId) in a time-ordered list; arrival order does not matter within the allowed lateness,
  because a window's numbers are recomputed from the points when it is emitted (see
  ``udfs.agent_intervals``).
- The configuration (username, routing profile, hierarchy) is kept as a history of changes, so a
  contact fact is enriched with the snapshot valid when the contact reached the agent, not the
  latest.
- A window is emitted when the watermark passes its end, and re-emitted with ``revision`` + 1 when a
  late event or CTR changes its numbers; nothing is emitted when nothing changed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from udfs.agent_intervals import (
    AgentTimes,
    agent_time_fields,
    newly_missed,
    state_flags,
    window_times,
)
from udfs.contact_metrics import CtrContribution, ctr_contribution, handled_fields
from udfs.digest import digest
from udfs.records import AgentConfig, AgentEvent, ContactRecord
from udfs.windows import window_start

LOGOUT = "LOGOUT"


@dataclass
class AgentState:
    points: list = field(default_factory=list)  # [(event_ms, flags, EventId)] in time order
    event_ids: dict = field(default_factory=dict)  # EventId -> event_ms of the points (dedupe)
    configs: list = field(default_factory=list)  # [(valid_from_ms, AgentConfig)] changes only
    missed_first: dict = field(default_factory=dict)  # contact_id -> first MISSED/REJECTED ms
    ctrs: dict = field(default_factory=dict)  # window_start -> {contact_id: CTR entry}
    emitted: dict = field(default_factory=dict)  # window_start -> (revision, digest)
    # window_start -> its time fields, kept once no agent event can change them any more while a
    # CTR still can (CTRs may have a longer allowed lateness; the points they need are gone)
    frozen: dict = field(default_factory=dict)
    # contact_id -> (revision, ts_ms) of a fact revision whose retraction could not be applied (its
    # window was closed for good): the revision's put must not count either (never double count)
    rejected: dict = field(default_factory=dict)
    # contact_id -> release time of its latest fact waiting here for the join (revision order)
    waiting: dict = field(default_factory=dict)
    releases: set = field(default_factory=set)  # release times some waiting fact has


def stored_history(state: AgentState) -> tuple:
    """The rarely changing parts, as the operator's one ``ValueState`` value."""
    return state.configs, state.missed_first, state.rejected


def restore_history(state: AgentState, stored: tuple) -> None:
    """Inverse of ``stored_history``; also reads the older two-part value (no ``rejected``)."""
    state.configs, state.missed_first = stored[0], stored[1]
    state.rejected = stored[2] if len(stored) > 2 else {}


class Inserted(NamedTuple):
    """What ``insert_event`` changed, so the caller stores only that."""

    point: tuple  # the new (event_ms, flags, EventId)
    configs: bool  # the configuration history changed
    missed: bool  # a first MISSED/REJECTED time was added or moved earlier


def insert_event(state: AgentState, ev: AgentEvent) -> Optional[Inserted]:
    """Add one agent event to the timeline; None if it is a duplicate (same EventId)."""
    if ev.event_id in state.event_ids:
        return None
    state.event_ids[ev.event_id] = ev.event_ms
    flags = 0 if ev.event_type == LOGOUT else state_flags(
        ev.status, [c.state for c in ev.contacts])
    point = (ev.event_ms, flags, ev.event_id)
    bisect.insort_right(state.points, point, key=_first)
    configs = ev.config is not None and _insert_config(state, ev.event_ms, ev.config)
    missed = False
    for cid in newly_missed((), ev.contacts):
        first = state.missed_first.get(cid)
        if first is None or ev.event_ms < first:
            state.missed_first[cid] = ev.event_ms
            missed = True
    return Inserted(point, configs, missed)


def restore_points(state: AgentState, log) -> None:
    """Rebuild the timeline from points stored in arrival order (``log``): a stable sort by time
    gives the order ``insert_event`` builds (equal times stay in arrival order)."""
    state.points = sorted(log, key=_first)
    state.event_ids = {p[2]: p[0] for p in state.points}


def _first(item: tuple) -> int:
    return item[0]


def _insert_config(state: AgentState, ms: int, config: AgentConfig) -> bool:
    """Store a configuration change at ``ms`` (an unchanged configuration is not stored).

    The events after ``ms`` up to the next stored change were not stored because they repeated
    the previous configuration; when a change arrives out of order, that configuration resumes at
    the first of them (the first point after ``ms``: exact when every event has a Configuration).
    """
    previous = config_at(state, ms)
    if previous == config:
        return False
    i = bisect.bisect_right(state.configs, ms, key=_first)
    state.configs.insert(i, (ms, config))
    if previous is None:
        return True  # every configured event after ms differed from None, so it is stored already
    j = bisect.bisect_right(state.points, ms, key=_first)
    if j < len(state.points) and (i + 1 == len(state.configs)
                                  or state.points[j][0] < state.configs[i + 1][0]):
        state.configs.insert(i + 1, (state.points[j][0], previous))
    return True


def config_at(state: AgentState, ms: int) -> Optional[AgentConfig]:
    """The configuration in effect at ``ms`` (from the latest event at or before it)."""
    i = bisect.bisect_right(state.configs, ms, key=_first)
    return state.configs[i - 1][1] if i else None


def ctr_entry(rec: ContactRecord) -> tuple[CtrContribution, Optional[str], Optional[str], object]:
    return (ctr_contribution(rec), rec.agent_username, rec.agent_routing_profile,
            rec.agent_hierarchy)


def put_ctr(state: AgentState, rec: ContactRecord, window_ms: int) -> Optional[int]:
    """Record a handled CTR of this agent; returns its window start (None if nothing changed).

    A CTR the agent never connected to is not counted, and a newer copy that is no longer handled
    removes the contact's earlier entry from its window.
    """
    ws = window_start(rec.event_ms, window_ms)
    if rec.connected_to_agent_ms is None:
        if rec.contact_id not in state.ctrs.get(ws, {}):
            return None
        return retract_ctr(state, rec.contact_id, rec.event_ms, window_ms)
    state.ctrs.setdefault(ws, {})[rec.contact_id] = ctr_entry(rec)
    return ws


def retract_ctr(state: AgentState, contact_id: str, ts_ms: int, window_ms: int) -> int:
    ws = window_start(ts_ms, window_ms)
    entries = state.ctrs.get(ws)
    if entries is not None:
        entries.pop(contact_id, None)
        if not entries:
            del state.ctrs[ws]
    return ws


def enrichment(state: AgentState, rec: ContactRecord) -> tuple:
    """(username, routing profile name, hierarchy) valid when the contact reached the agent."""
    at = rec.connected_to_agent_ms if rec.connected_to_agent_ms is not None else rec.event_ms
    cfg = config_at(state, at)
    if cfg is None:
        return rec.agent_username, rec.agent_routing_profile, rec.agent_hierarchy
    return cfg.username, cfg.routing_profile_name, cfg.hierarchy


def join_time(rec: ContactRecord) -> int:
    return rec.connected_to_agent_ms if rec.connected_to_agent_ms is not None else rec.event_ms


def window_agent_times(state: AgentState, ws: int, window_ms: int,
                       timeout_ms: int) -> AgentTimes:
    """The window's time metrics from the agent's timeline."""
    we = ws + window_ms
    pts = state.points
    lo = max(bisect.bisect_right(pts, ws, key=_first) - 1, 0)
    hi = bisect.bisect_left(pts, we, key=_first)
    return window_times(pts[lo:hi], ws, we, timeout_ms)


def freeze_times(state: AgentState, from_ws: int, before_ws: int, window_ms: int,
                 timeout_ms: int) -> list:
    """Keep the time fields of the emitted windows in ``[from_ws, before_ws)``: no agent event can
    change them any more, and the points they come from are about to be pruned, but a CTR may
    still revise them. Returns the starts of the windows frozen now."""
    changed = []
    for ws in state.emitted:
        if from_ws <= ws < before_ws and ws not in state.frozen:
            # a plain tuple: a few bytes per window in the checkpoint
            state.frozen[ws] = tuple(window_agent_times(state, ws, window_ms, timeout_ms))
            changed.append(ws)
    return changed


def window_parts(state: AgentState, ws: int, window_ms: int, timeout_ms: int) -> tuple:
    """(time fields, agent_non_response, handled fields, username, routing profile, hierarchy)."""
    we = ws + window_ms
    frozen = state.frozen.get(ws)
    if frozen is None:
        times = agent_time_fields(window_agent_times(state, ws, window_ms, timeout_ms))
    else:
        times = agent_time_fields(AgentTimes(*frozen))
    non_response = sum(1 for ms in state.missed_first.values() if ws <= ms < we)
    entries = state.ctrs.get(ws, {})
    handled = handled_fields(e[0] for e in entries.values())
    cfg = config_at(state, we - 1)
    if cfg is not None:
        names = (cfg.username, cfg.routing_profile_name, cfg.hierarchy)
    elif entries:
        first = entries[min(entries)]
        names = (first[1], first[2], first[3])
    else:
        names = (None, None, None)
    return times, non_response, handled, names


def next_emission(state: AgentState, ws: int, window_ms: int,
                  timeout_ms: int) -> Optional[tuple]:
    """(revision, time fields, non_response, handled, names) when the window must be emitted."""
    times, non_response, handled, names = window_parts(state, ws, window_ms, timeout_ms)
    previous = state.emitted.get(ws)
    if previous is None and not (times["online_time"] > 0 or handled["contacts_handled"] > 0):
        return None
    fingerprint = digest([times, non_response, handled, names])
    if previous is not None and previous[1] == fingerprint:
        return None
    revision = (previous[0] if previous else 0) + 1
    state.emitted[ws] = (revision, fingerprint)
    return revision, times, non_response, handled, names


def last_point_reaches(state: AgentState, ms: int, timeout_ms: int) -> bool:
    """Whether the agent's latest known state can still hold at ``ms`` (so that window needs a
    timer): its last event is at most ``timeout_ms`` before it."""
    return bool(state.points) and state.points[-1][0] + timeout_ms > ms


class Pruned(NamedTuple):
    points: bool  # points (and their event ids)
    history: bool  # configuration history or first-missed times
    windows: tuple  # starts of the windows whose handled CTRs / emission records were dropped


def prune(state: AgentState, keep_from_ms: int, config_keep_from_ms: Optional[int],
          window_keep_from: int, min_points: int = 1) -> Pruned:
    """Forget what no future window, join or dedupe can need; returns which parts changed, so the
    caller stores only those.

    ``keep_from_ms``: oldest time a still-open (or late-acceptable) window can look at; the last
    point before it (and any point at that same time) is kept because its state may still hold
    then. ``config_keep_from_ms``: horizon of the configuration history and first-missed times
    (None: leave them; they span the contact retention, so the operator prunes them hourly).
    ``window_keep_from``: windows starting before it are past their allowed lateness.
    ``min_points``: drop points only once at least this many are droppable (old points are
    harmless, so the operator batches the rewrite of its stored timeline).
    """
    points = history = False
    pts = state.points
    i = bisect.bisect_left(pts, keep_from_ms, key=_first)
    if i > 1:
        cut = bisect.bisect_left(pts, pts[i - 1][0], key=_first)  # never split equal times
        if cut >= min_points:
            del pts[:cut]
            horizon = pts[0][0]
            state.event_ids = {k: v for k, v in state.event_ids.items() if v >= horizon}
            points = True
    if config_keep_from_ms is not None:
        cfgs = state.configs
        j = bisect.bisect_left(cfgs, config_keep_from_ms, key=_first)
        if j > 1:
            del cfgs[: j - 1]
            history = True
        missed = [k for k, v in state.missed_first.items() if v < config_keep_from_ms]
        for k in missed:
            del state.missed_first[k]
        rejected = [k for k, (_, ts) in state.rejected.items() if ts < config_keep_from_ms]
        for k in rejected:
            del state.rejected[k]
        history = history or bool(missed) or bool(rejected)
    windows = set()
    for part in (state.ctrs, state.emitted, state.frozen):
        for ws in [w for w in part if w < window_keep_from]:
            del part[ws]
            windows.add(ws)
    return Pruned(points, history, tuple(sorted(windows)))


def is_empty(state: AgentState) -> bool:
    """Nothing a window needs (the configuration history is kept for joins until pruned)."""
    return not (state.points or state.ctrs or state.emitted or state.frozen)
