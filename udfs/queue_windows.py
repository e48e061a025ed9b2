"""The contents of one queue window and when it must be (re-)emitted.

A window holds, per contact, what that contact contributes (its final CTR's contribution, the
QUEUED and CONNECTED_TO_AGENT early signals). Every update is an upsert or a delete keyed by
ContactId, so a duplicate update is a no-op and a fact revision replaces its earlier version: the
window's numbers are a pure function of its contents, recomputed on emission. A window is emitted
when the watermark passes its end and re-emitted (``revision`` + 1) whenever a late update changes
its numbers; an update that changes nothing emits nothing.

Retention (SPEC §3): contact events are late past ``--allowed-lateness``, CTRs only past
``--ctr-allowed-lateness`` (2 h by default), so a window lives until the longer of the two after
its end. Once the shorter one has passed, its early signals can no longer change: they are
*sealed* into two counts (the contact ids go), so what stays for the rest of the window's life
is only what a late CTR copy needs: the contributions by ContactId, the revision and the digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Sequence

from udfs.contact_metrics import (
    CtrContribution,
    QueueTotals,
    ctr_contribution,
    queue_fields_of,
    queue_totals,
)
from udfs.contact_state import CONNECTED_TO_AGENT, QueuePut, SignalPut
from udfs.digest import digest
from udfs.missed_contacts import MissedPut
from udfs.windows import cleanup_time, fire_time


@dataclass
class QueueWindow:
    ctrs: dict = field(default_factory=dict)  # contact_id -> (CtrContribution, queue name)
    queued: set = field(default_factory=set)  # contact ids with their QUEUED signal here
    connected: set = field(default_factory=set)  # contact ids with CONNECTED_TO_AGENT here
    missed: set = field(default_factory=set)  # (contact id, agent ARN) first missed here
    revision: int = 0
    emitted: Optional[bytes] = None  # digest of the last emitted numbers
    sealed: Optional[tuple] = None  # (queued, connected, missed) counts once signals are final


class WindowTimes(NamedTuple):
    """The event-time timers of one window: emit, seal its signals (None: no need), drop it."""

    fire: int
    seal: Optional[int]
    drop: int


def window_times(start_ms: int, size_ms: int, lateness_ms: int,
                 ctr_lateness_ms: int) -> WindowTimes:
    keep = max(lateness_ms, ctr_lateness_ms)
    seal = cleanup_time(start_ms, size_ms, lateness_ms) if keep > lateness_ms else None
    return WindowTimes(fire_time(start_ms, size_ms), seal, cleanup_time(start_ms, size_ms, keep))


def windows_due(timestamp: int, size_ms: int, lateness_ms: int,
                ctr_lateness_ms: int) -> WindowTimes:
    """The starts of the windows a timer at ``timestamp`` may be for (fire, seal, drop): one
    timestamp can serve all three for different windows, so the caller checks each."""
    keep = max(lateness_ms, ctr_lateness_ms)
    fire = timestamp + 1 - size_ms
    return WindowTimes(fire, fire - lateness_ms if keep > lateness_ms else None, fire - keep)


def seal_signals(win: QueueWindow) -> None:
    """Keep only the counts of the early signals and the missed contacts (their window is past
    the allowed lateness of contact and agent events)."""
    if win.sealed is None:
        win.sealed = signal_counts(win)
        win.queued, win.connected, win.missed = set(), set(), set()


def signal_counts(win: QueueWindow) -> tuple[int, int, int]:
    """(queued by enqueue, connected to agent, missed) of the window."""
    if win.sealed is not None:
        return (*win.sealed, 0) if len(win.sealed) == 2 else win.sealed  # (older 2-tuples)
    return len(win.queued), len(win.connected), len(win.missed)


def apply_queue_put(win: QueueWindow, put: QueuePut) -> None:
    if put.record is None:
        win.ctrs.pop(put.contact_id, None)
    else:
        win.ctrs[put.contact_id] = (ctr_contribution(put.record), put.record.queue_name)


def apply_signal_put(win: QueueWindow, put: SignalPut) -> bool:
    """Apply an early signal; False if the window's signals are sealed (the put is late: the
    contact operator's lateness check makes that unreachable)."""
    if win.sealed is not None:
        return False
    target = win.connected if put.signal.kind == CONNECTED_TO_AGENT else win.queued
    if put.add:
        target.add(put.contact_id)
    else:
        target.discard(put.contact_id)
    return True


def apply_missed_put(win: QueueWindow, put: MissedPut) -> bool:
    """Apply a missed contact; False if the window's signals are sealed (the agent operator's
    lateness check makes that unreachable)."""
    if win.sealed is not None:
        return False
    pair = (put.contact_id, put.agent_arn)
    if put.add:
        win.missed.add(pair)
    else:
        win.missed.discard(pair)
    return True


def is_empty(win: QueueWindow) -> bool:
    return not (win.ctrs or win.queued or win.connected or win.missed
                or any(win.sealed or ()))


def window_queue_name(win: QueueWindow) -> Optional[str]:
    """The queue name its CTRs carry (deterministic: the smallest ContactId's non-null name)."""
    for cid in sorted(win.ctrs):
        name = win.ctrs[cid][1]
        if name:
            return name
    return None


def window_totals(win: QueueWindow, thresholds: Sequence[int]) -> QueueTotals:
    contribs: list[CtrContribution] = [c for c, _ in win.ctrs.values()]
    return queue_totals(contribs, thresholds, *signal_counts(win))


def window_numbers(win: QueueWindow, thresholds: Sequence[int]) -> dict:
    return queue_fields_of(window_totals(win, thresholds), thresholds)


def next_emission(win: QueueWindow, thresholds: Sequence[int], known_name: Optional[str]
                  ) -> Optional[tuple[int, Optional[str], dict, QueueTotals]]:
    """(revision, queue name, numbers, their totals) if the window must be emitted now.

    Nothing is emitted for a window that never had content; a window whose content was retracted
    entirely after an emission is re-emitted with zero counts so the latest revision is right.
    """
    if win.emitted is None and is_empty(win):
        return None
    name = window_queue_name(win) or known_name
    totals = window_totals(win, thresholds)
    numbers = queue_fields_of(totals, thresholds)
    fingerprint = digest([name, numbers])
    if fingerprint == win.emitted:
        return None
    win.emitted = fingerprint
    win.revision += 1
    return win.revision, name, numbers, totals
