"""The messages between the live operators (all small NamedTuples, pickled between operators).

contact operator (key ContactId) ──── QueueStay ─────┐
agent operator (key AgentARN) ─────── AgentShare ────┼─ tick operator (key queue|channel or agent)
                              └────── AgentView ─────┘
both ──────────────────────────────── clock (max event time read, broadcast) ──┘
"""

from __future__ import annotations

from typing import NamedTuple, Optional

QUEUE_KEY_PREFIX = "q|"
AGENT_KEY_PREFIX = "a|"


def queue_key(queue_arn: str, channel: str) -> str:
    return f"{QUEUE_KEY_PREFIX}{queue_arn}|{channel}"


def agent_key(agent_arn: str) -> str:
    return f"{AGENT_KEY_PREFIX}{agent_arn}"


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
    """An agent's share of one (queue, channel) from ``from_ms`` on (None: it no longer serves
    it, or is offline)."""

    agent_arn: str
    from_ms: int
    share: Optional[Share]
    queue_name: Optional[str]


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
