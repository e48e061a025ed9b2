"""The agent operator's policy: timers, pruning horizons, the join wait, late refreshes, clean-up.

Why plain functions: these decide when an agent window is final, what state can go and when a
contact fact may leave, so they are unit-tested here; ``udfs.flink_agent_state`` only loads the
state, calls them, writes what they say changed and routes the outputs.

Timers carry no state of their own; their timestamp tells them apart:

- *window timers* at a window's fire time (``start + window - 1``). Each emits its window, chains
  the next one while the agent's last state can still hold there (one timer per event instead of
  one per window it may touch), and prunes. When the chain ends it schedules the clean-up, again
  as a window timer: once the newest window is closed for good (then its records go), then once
  the agent has been quiet for ``contact_retention_ms`` (then the key is dropped, SPEC §3).
- *join timers* at a contact fact's release time: the fact waits until the agent's watermark
  reaches the moment the contact reached the agent, so the join sees every event up to then.

A join time may coincide with a window time; every handler is idempotent, so that is harmless.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from udfs.agent_state import (
    AgentState,
    Pruned,
    enrichment,
    freeze_times,
    join_time,
    last_point_reaches,
    prune,
)
from udfs.contact_state import AgentPut
from udfs.records import ContactRecord
from udfs.settings import Settings
from udfs.windows import fire_time, is_late, window_start

PRUNE_BATCH = 32  # old points dropped (and the stored timeline rewritten) this many at a time
HISTORY_PRUNE_MS = 3_600_000  # configuration history / first-missed times: pruned hourly

APPLY = "apply"  # the put changes the agent's handled CTRs (and its fact goes out)
LATE = "late"  # its window is closed for good: not applied, dead-lettered
REJECTED = "rejected"  # its revision's retraction was late: counting it would count twice


# -- window timers -------------------------------------------------------------------------------
def window_timer(ts_ms: int, window_ms: int) -> int:
    """The timer of the window containing ``ts_ms``."""
    return fire_time(window_start(ts_ms, window_ms), window_ms)


def is_window_timer(timer_ms: int, window_ms: int) -> bool:
    return (timer_ms + 1) % window_ms == 0


def timer_window(timer_ms: int, window_ms: int) -> int:
    """Start of the window a window timer completes."""
    return timer_ms + 1 - window_ms


def refresh_windows(from_ms: int, watermark: int, window_ms: int) -> range:
    """Starts of the windows already emitted from the one containing ``from_ms`` on: a late event
    (within the allowed lateness) may change each of them; each is re-emitted only if its numbers
    changed. Empty when the event's window has not fired yet."""
    return range(window_start(from_ms, window_ms), watermark - window_ms + 2, window_ms)


def event_is_late(event_ms: int, watermark: int, s: Settings) -> bool:
    return is_late(event_ms, watermark, s.window_ms, s.allowed_lateness_ms)


def put_lateness_ms(s: Settings) -> int:
    """How long an agent window accepts contact-fact puts: CTRs may have an allowed lateness of
    their own (``ctr_allowed_lateness_ms``, SPEC §3), never shorter than the agent events'."""
    return max(s.allowed_lateness_ms, getattr(s, "ctr_allowed_lateness_ms", 0) or 0)


class Horizons(NamedTuple):
    """What a timer at some time may forget (see ``udfs.agent_state.prune``)."""

    points_from: int  # points before it (but the last one) can no longer matter
    history_from: Optional[int]  # configs / first-missed / rejected before it; None: keep
    windows_from: int  # windows starting before it are closed for good (for puts too)
    events_from: int  # windows starting before it are closed for agent events (times final)


def horizons(timer_ms: int, s: Settings, history: bool) -> Horizons:
    """At a timer ``timer_ms`` (the watermark has reached it): windows whose allowed lateness is
    over (for agent events, and for puts), the points only the former could see (the state of a
    point lasts at most the agent timeout), and, when ``history``, what only joins and
    non-response counts older than the contact retention could need."""
    events_from = timer_ms + 1 - s.window_ms - s.allowed_lateness_ms
    return Horizons(events_from - s.agent_timeout_ms,
                    timer_ms - s.contact_retention_ms if history else None,
                    timer_ms + 1 - s.window_ms - put_lateness_ms(s), events_from)


def prunes_history(timer_ms: int, window_ms: int) -> bool:
    """The configuration history spans the contact retention: pruned at the timer of the window
    ending on each hour, not at every window."""
    return (timer_ms + 1) % HISTORY_PRUNE_MS < window_ms


def cleanup_timer(state: AgentState, timer_ms: int, s: Settings) -> Optional[int]:
    """When to look again at an agent whose window chain has ended; None when nothing is left.

    First when its newest window is closed for good (its records can then go), then when the
    agent has been quiet for the retention (its configuration history then only matters to
    contacts no longer accepted).
    """
    starts = state.ctrs.keys() | state.emitted.keys()
    if starts:
        return window_timer(max(starts) + s.window_ms + put_lateness_ms(s), s.window_ms)
    if state.points and state.points[-1][0] + s.contact_retention_ms > timer_ms:
        return window_timer(state.points[-1][0] + s.contact_retention_ms, s.window_ms)
    return None


class AfterWindow(NamedTuple):
    """What the operator does after emitting the window of a window timer."""

    chain: Optional[int]  # the next window's timer
    cleanup: Optional[int]  # the clean-up timer, once the chain has ended
    drop: bool  # nothing is left: clear every state of the key
    pruned: Pruned  # which parts of the state changed
    windows: tuple  # starts of the windows whose stored record changed (pruned or frozen)


def after_window_timer(state: AgentState, timer_ms: int, s: Settings) -> AfterWindow:
    """Chain, prune and clean up after the window timer ``timer_ms`` (see the module docstring).

    While the chain runs, old points go in batches (``PRUNE_BATCH``: they are harmless and each
    prune rewrites the stored timeline); when it ends, everything that can go goes. Windows that
    puts may still revise after agent events no longer can keep their time fields first.
    """
    w = s.window_ms
    nxt = timer_window(timer_ms, w) + w
    chain = window_timer(nxt, w) if last_point_reaches(state, nxt, s.agent_timeout_ms) else None
    h = horizons(timer_ms, s, chain is None or prunes_history(timer_ms, w))
    frozen = freeze_times(state, h.windows_from, h.events_from, w, s.agent_timeout_ms)
    pruned = prune(state, keep_from_ms=h.points_from, config_keep_from_ms=h.history_from,
                   window_keep_from=h.windows_from,
                   min_points=PRUNE_BATCH if chain is not None else 1)
    cleanup = None if chain is not None else cleanup_timer(state, timer_ms, s)
    drop = chain is None and cleanup is None and not state.waiting
    return AfterWindow(chain, cleanup, drop, pruned, tuple(sorted({*pruned.windows, *frozen})))


def is_droppable(state: AgentState, timer_ms: int, s: Settings) -> bool:
    """After a join timer: nothing waits, no window is open and the agent has been quiet."""
    return not state.waiting and cleanup_timer(state, timer_ms, s) is None


# -- contact-fact puts ---------------------------------------------------------------------------
def plan_put(state: AgentState, put: AgentPut, watermark: int, s: Settings) -> str:
    """APPLY, LATE or REJECTED for a put (upsert or retraction) of this agent.

    The contact operator sends nothing into a window closed for good (SPEC §3: such a copy is late
    as a whole). Should it happen anyway, nothing is counted twice: a late retraction cannot be
    applied, so the upsert of the same revision that follows it (same key, same channel) is
    rejected too and the old copy keeps counting. ``state.rejected`` remembers the revision
    (checkpointed: a barrier may fall between the two).
    """
    if is_late(put.ts_ms, watermark, s.window_ms, put_lateness_ms(s)):
        if put.record is None:
            state.rejected[put.contact_id] = (put.revision, put.ts_ms)
        return LATE
    if put.record is not None:
        rejected = state.rejected.get(put.contact_id)
        if rejected is not None and rejected[0] == put.revision:
            del state.rejected[put.contact_id]
            return REJECTED
    return APPLY


def joins(rec: ContactRecord) -> bool:
    """A fact is joined with this agent's snapshot only if it has an agent; a fact without one
    that follows an older revision with this agent (``udfs.contact_state``) only waits here."""
    return bool(rec.agent_arn)


def release_time(state: AgentState, rec: ContactRecord, watermark: int) -> Optional[int]:
    """When the fact may leave; None: now.

    It waits for the agent's watermark to reach its join time (the moment the contact reached the
    agent), and never leaves before an older revision of the same contact still waiting here
    (SPEC §4: revisions of one key leave in order).
    """
    at = join_time(rec) if joins(rec) else watermark
    behind = state.waiting.get(rec.contact_id)
    if behind is not None:
        at = max(at, behind)
    return None if at <= watermark else at


def wait(state: AgentState, contact_id: str, release_ms: int) -> None:
    state.waiting[contact_id] = release_ms
    state.releases.add(release_ms)


def restore_waiting(state: AgentState, pending) -> None:
    """Rebuild the in-memory index of waiting facts from the stored ``(release, [(revision,
    record)])`` items."""
    state.waiting, state.releases = {}, set()
    for release_ms, facts in pending:
        for _, rec in facts:
            if state.waiting.get(rec.contact_id, release_ms - 1) < release_ms:
                state.waiting[rec.contact_id] = release_ms
        state.releases.add(release_ms)


def releases_at(state: AgentState, timer_ms: int) -> bool:
    """Whether facts wait for this timer (saves a state read at every window timer)."""
    return timer_ms in state.releases


def released(state: AgentState, timer_ms: int, facts) -> None:
    """The facts waiting for ``timer_ms`` have left."""
    state.releases.discard(timer_ms)
    for _, rec in facts:
        if state.waiting.get(rec.contact_id) == timer_ms:
            del state.waiting[rec.contact_id]


def fact_names(state: Optional[AgentState], rec: ContactRecord) -> tuple:
    """(username, routing profile, hierarchy) of a fact: the agent's snapshot valid when the
    contact reached it; a fact without an agent keeps its own (null) fields."""
    if state is None or not joins(rec):
        return rec.agent_username, rec.agent_routing_profile, rec.agent_hierarchy
    return enrichment(state, rec)
