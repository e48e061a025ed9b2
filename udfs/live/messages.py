"""The messages between the live operators (all small NamedTuples, pickled between operators).

contact operator (key ContactId) ──── QueueStay ───────────────────────────┐
agent operator (key AgentARN) ─ ProfileMember ─ profile operator ─ AgentShare ┼─ tick operator
                              └────── AgentView ───────────────────────────┘ (key queue|channel
both ──────────────────────────────── clock (max event time read, broadcast) ┘  or agent)

An agent event changes its agent's share of every (queue, channel) it serves, up to 17 here; the
agent operator sends one ``ProfileMember`` to its routing profile instead, and the profile
operator sends each (queue, channel) its agents' summed share once per tick when it changed.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

QUEUE_KEY_PREFIX = "q|"
AGENT_KEY_PREFIX = "a|"
PROFILE_KEY_PREFIX = "p|"


def queue_key(queue_arn: str, channel: str) -> str:
    return f"{QUEUE_KEY_PREFIX}{queue_arn}|{channel}"


def agent_key(agent_arn: str) -> str:
    return f"{AGENT_KEY_PREFIX}{agent_arn}"


def profile_key(routing_profile_arn: Optional[str]) -> str:
    return f"{PROFILE_KEY_PREFIX}{routing_profile_arn or ''}"


def channel_of(queue_key_: str) -> str:
    return queue_key_.rpartition("|")[2]


def split_queue_key(key: str) -> tuple[str, str]:
    """(queue ARN, channel) of a ``queue_key``."""
    arn, _, channel = key[len(QUEUE_KEY_PREFIX):].rpartition("|")
    return arn, channel


class QueueStay(NamedTuple):
    """A contact's stay in one (queue, channel): in queue at ticks ``enqueue_ms <= T < exit_ms``.
    Each message replaces the previous one of the same contact."""

    contact_id: str
    enqueue_ms: int
    exit_ms: Optional[int]  # None: still in queue as far as known


class CtrEnd(NamedTuple):
    """What the live contact operator needs of a CTR copy (not the whole ``ContactRecord``, which
    would be pickled twice on its way there)."""

    contact_id: str
    event_ms: int
    channel: Optional[str]
    last_update_ms: int


def ctr_end(rec) -> CtrEnd:
    """The ``CtrEnd`` of a ``ContactRecord``."""
    return CtrEnd(rec.contact_id, rec.event_ms, rec.channel, rec.last_update_ms)


class Share(NamedTuple):
    """What one serving agent adds to the gauges of one (queue, channel)."""

    online: int
    staffed: int
    available: int
    on_contact: int
    non_productive: int
    after_contact_work: int
    error: int
    slots_active: int
    slots_available: int


class AgentShare(NamedTuple):
    """The share of one member of a (queue, channel) — a routing profile's serving agents,
    summed — from ``from_ms`` on (None: none of them serves it online any more)."""

    agent_arn: str  # the member: a profile key
    from_ms: int
    share: Optional[Share]
    queue_name: Optional[str]


class ProfileMember(NamedTuple):
    """An agent's part in its routing profile from ``from_ms`` on."""

    agent_arn: str
    from_ms: int
    shares: Optional[tuple]  # ((channel, Share), ...) while online; None: offline
    #: ((queue key, queue name), ...) it serves, when that changed (None: unchanged; (): it left)
    served: Optional[tuple]


class AgentView(NamedTuple):
    """What the agent live record shows, from ``from_ms`` on."""

    from_ms: int
    username: Optional[str]
    routing_profile: Optional[str]
    hierarchy: Optional[tuple[str, ...]]
    status: Optional[str]
    status_type: Optional[str]
    status_since_ms: Optional[int]
    activity: Optional[str]
    online: bool
    contacts: tuple  # ((contact_id, channel, state, state_since_ms, queue_arn), ...)

    def same_as(self, other: Optional[AgentView]) -> bool:
        return other is not None and self[1:] == other[1:]
