"""Agent status intervals and their overlap with metric windows (SPEC §4, agent time metrics).

Each processed agent event is reduced to one small int of bit flags saying which time metrics its
``CurrentAgentSnapshot`` feeds. The operator keeps only ``(event_ms, flags)`` points per agent, and
a window's eight times are the overlap of the points' intervals with the window. A point's state
holds until the agent's next event, or for at most 240 s (two missed 120 s heartbeats) after it,
after which the agent counts as offline.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from udfs.records import AVAILABLE, CUSTOM

ONLINE = 1  # status not Offline
NON_PRODUCTIVE = 2  # status custom (NPT)
CONTACT = 4  # "agent on contact": Available and >= 1 contact connected / on hold / in ACW
CONTACT_HANDLE = 8  # >= 1 contact connected / on hold / in ACW, any status
AFTER_CONTACT_WORK = 16  # >= 1 contact ENDED and none CONNECTED / CONNECTED_ONHOLD
IDLE = 32  # Available and no contact being routed, handled or in ACW
ERROR = 64  # >= 1 contact ERROR / MISSED / REJECTED
CONNECTING = 128  # >= 1 contact INCOMING / PENDING / CONNECTING and none CONNECTED / ONHOLD

DEFAULT_TIMEOUT_MS = 240_000

# Per contact state: which of these facts it establishes about the snapshot.
_HANDLING = 1  # CONNECTED, CONNECTED_ONHOLD or ENDED
_TALKING = 2  # CONNECTED or CONNECTED_ONHOLD (blocks ACW)
_ENDED = 4  # ENDED (ACW)
_BUSY = 8  # not idle: being routed, handled or in ACW
_FAILED = 16  # ERROR, MISSED or REJECTED
_RINGING = 32  # INCOMING, PENDING or CONNECTING
_STATE_FACTS = {
    "INCOMING": _BUSY | _RINGING,
    "PENDING": _BUSY | _RINGING,
    "CONNECTING": _BUSY | _RINGING,
    "CONNECTED": _HANDLING | _TALKING | _BUSY,
    "CONNECTED_ONHOLD": _HANDLING | _TALKING | _BUSY,
    "ENDED": _HANDLING | _ENDED | _BUSY,
    "ERROR": _FAILED,
    "MISSED": _FAILED,
    "REJECTED": _FAILED,
}
_NON_RESPONSE_STATES = frozenset(("MISSED", "REJECTED"))


def state_flags(status: str | None, contact_states: Iterable[str]) -> int:
    """The time-metric flags of one agent snapshot.

    ``status`` is AVAILABLE, CUSTOM or OFFLINE; None (no status in the snapshot) and any other
    value count as Offline. Unknown contact states count for nothing. Routing time (INCOMING,
    PENDING, CONNECTING) is neither idle nor contact, as in Connect; contacts only in ERROR /
    MISSED / REJECTED leave an Available agent idle and add error time at the same time.
    """
    facts = 0
    get = _STATE_FACTS.get
    for state in contact_states:
        facts |= get(state, 0)

    flags = 0
    available = status == AVAILABLE
    if available or status == CUSTOM:
        flags |= ONLINE
        if not available:
            flags |= NON_PRODUCTIVE
    if facts & _HANDLING:
        flags |= CONTACT_HANDLE
        if available:
            flags |= CONTACT
    if facts & _ENDED and not facts & _TALKING:
        flags |= AFTER_CONTACT_WORK
    if available and not facts & _BUSY:
        flags |= IDLE
    if facts & _FAILED:
        flags |= ERROR
    if facts & _RINGING and not facts & _TALKING:
        flags |= CONNECTING
    return flags


class AgentTimes(NamedTuple):
    """An agent's time metrics in one window, in seconds."""

    online_time: float
    non_productive_time: float
    contact_time: float
    contact_handle_time: float
    after_contact_work_time: float
    idle_time: float
    error_time: float
    connecting_time: float = 0.0


def _first_event_ms(point: tuple[int, int]) -> int:
    return point[0]


def window_times(
    points: Sequence[tuple],
    window_start: int,
    window_end: int,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> AgentTimes:
    """Overlap of the agent's status intervals with ``[window_start, window_end)``.

    ``points`` are the agent's processed events in time order as ``(event_ms, flags, ...)`` (flags
    0 for a LOGOUT; further items are ignored). Point i holds on
    ``[ms[i], min(ms[i + 1], ms[i] + timeout_ms))``; the last point holds for ``timeout_ms``. With
    equal timestamps the later point supersedes. Only the last point at or before
    ``window_start`` and the points inside the window are visited (binary search), so long
    per-agent histories stay cheap; points out of time order never count negative time but are
    not otherwise repaired (the caller sorts).
    """
    n = len(points)
    i = max(bisect_right(points, window_start, key=_first_event_ms) - 1, 0)
    online = npt = contact = handle = acw = idle = error = connecting = 0
    while i < n:
        start, flags = points[i][0], points[i][1]
        if start >= window_end:
            break
        i += 1
        end = start + timeout_ms
        if i < n and points[i][0] < end:
            end = points[i][0]
        if flags == 0:
            continue
        lo = max(start, window_start)
        hi = min(end, window_end)
        if hi <= lo:
            continue
        d = hi - lo
        if flags & ONLINE:
            online += d
        if flags & NON_PRODUCTIVE:
            npt += d
        if flags & CONTACT:
            contact += d
        if flags & CONTACT_HANDLE:
            handle += d
        if flags & AFTER_CONTACT_WORK:
            acw += d
        if flags & IDLE:
            idle += d
        if flags & ERROR:
            error += d
        if flags & CONNECTING:
            connecting += d
    return AgentTimes(
        online / 1000.0,
        npt / 1000.0,
        contact / 1000.0,
        handle / 1000.0,
        acw / 1000.0,
        idle / 1000.0,
        error / 1000.0,
        connecting / 1000.0,
    )


def agent_time_fields(times: AgentTimes) -> dict:
    """The agent record's seven time fields plus occupancy (null iff contact + idle is 0)."""
    busy_or_idle = times.contact_time + times.idle_time
    # SPEC's formula as written (100 * c / total, evaluated left to right, as a reader of the
    # definition computes it); the cap only guards float rounding when c == total.
    occupancy = min(100.0, 100.0 * times.contact_time / busy_or_idle) if busy_or_idle else None
    return {
        "online_time": times.online_time,
        "non_productive_time": times.non_productive_time,
        "contact_time": times.contact_time,
        "contact_handle_time": times.contact_handle_time,
        "after_contact_work_time": times.after_contact_work_time,
        "idle_time": times.idle_time,
        "error_time": times.error_time,
        "occupancy": occupancy,
        "connecting_time": times.connecting_time,
    }


def newly_missed(already: frozenset[str] | set[str], contacts: Iterable) -> list[str]:
    """Contact ids newly in MISSED or REJECTED, for agent_non_response (once per contact).

    ``contacts`` are ``udfs.records.AgentContact``-like objects; ids already counted (``already``)
    or repeated within ``contacts`` are returned once at most, in snapshot order.
    """
    out: list[str] = []
    for c in contacts:
        if c.state in _NON_RESPONSE_STATES:
            cid = c.contact_id
            if cid not in already and cid not in out:
                out.append(cid)
    return out
