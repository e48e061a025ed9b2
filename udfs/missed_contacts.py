"""The message from the agent operator to the queue operator for ``contacts_missed``.

SPEC §4: a queue's ``contacts_missed`` counts the contacts of that queue (the agent snapshot
contact's ``Queue.ARN`` and ``Channel``) that entered MISSED or REJECTED for some agent, once per
contact and agent, at that event's time. The agent operator already finds the first MISSED /
REJECTED time of each contact per agent (for ``agent_non_response``); when it is set or moves
earlier it sends these puts, keyed by queue, to the queue windows: an add at the new time and a
retraction at the old one, so a late, earlier event moves the count to its window.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Optional


class MissedPut(NamedTuple):
    """Add (``add`` True) or retract one (contact, agent) miss in a queue window."""

    queue_arn: str
    channel: Optional[str]
    ts_ms: int
    contact_id: str
    agent_arn: str
    add: bool


def missed_key(put: MissedPut) -> str:
    """The queue operator's key (the same as ``contact_state.queue_key``)."""
    return f"{put.queue_arn}|{put.channel}"


def missed_puts(agent_arn: str, event_ms: int, contacts: Iterable,
                moved: Iterable[tuple[str, Optional[int]]]) -> list[MissedPut]:
    """The puts for first-miss times set (``previous`` None) or moved earlier to ``event_ms``.

    ``contacts`` are the event's snapshot contacts (``AgentContact``: queue ARN and channel);
    ``moved`` the ``(contact_id, previous first-miss ms)`` the agent state reported. A contact
    without a queue counts in no queue.
    """
    by_id = {c.contact_id: c for c in contacts}
    out = []
    for contact_id, previous in moved:
        c = by_id.get(contact_id)
        queue_arn = c.queue_arn if c is not None else None
        if not queue_arn:
            continue
        if previous is not None:
            out.append(MissedPut(queue_arn, c.channel, previous, contact_id, agent_arn, False))
        out.append(MissedPut(queue_arn, c.channel, event_ms, contact_id, agent_arn, True))
    return out
