"""The gauges of one (queue, channel) at a tick, from the stays and agent shares it was sent.

Messages wait in per-tick buckets until their tick (the first tick at or after their effective
time that the watermark has not passed): in a replay one feed can be read far ahead of another,
and a message must neither show early nor make every state access carry that backlog. At a tick
the bucket is applied to the current state — each contact's stay (in queue at ``T`` when
``enqueue <= T < exit``) and each serving agent's current share — and the gauges are read from
it; stays that ended are pruned, so the state holds the contacts in queue and the serving agents
online. Emission (SPEC §4): at every tick while a contact is in queue or a serving agent is
online, and once more, all zeros, when that ends; an agent's own queue only while a contact is
in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from udfs.live.messages import AgentShare, QueueStay, Share

AGENT_QUEUE_MARK = "/queue/agent/"


class Gauges(NamedTuple):
    contacts_in_queue: int
    oldest_enqueue_ms: Optional[int]
    agents: Share  # the serving agents' shares, summed


ZERO_SHARE = Share(0, 0, 0, 0, 0, 0, 0, 0, 0)
ZERO = Gauges(0, None, ZERO_SHARE)


@dataclass
class QueueBoard:
    agent_queue: bool = False
    queue_name: Optional[str] = None
    stays: dict = field(default_factory=dict)  # contact_id -> (enqueue_ms, exit_ms | None)
    shares: dict = field(default_factory=dict)  # agent ARN -> Share (online agents only)
    shown: bool = False  # the last emitted tick showed something (a zero record is due)
    last_tick: Optional[int] = None


def is_agent_queue(queue_arn: str) -> bool:
    return AGENT_QUEUE_MARK in queue_arn


def effective_ms(msg) -> int:
    """When a message starts to count: a stay from its enqueue (an update of a stay never
    lands before the stay itself), a share from its ``from_ms``."""
    return msg.enqueue_ms if type(msg) is QueueStay else msg.from_ms


def apply(board: QueueBoard, messages) -> None:
    """Apply the messages of one bucket, in the order they were sent."""
    for msg in messages:
        if type(msg) is QueueStay:
            board.stays[msg.contact_id] = (msg.enqueue_ms, msg.exit_ms)
        elif type(msg) is AgentShare:
            if msg.queue_name is not None:
                board.queue_name = msg.queue_name
            if msg.share is None:
                board.shares.pop(msg.agent_arn, None)
            else:
                board.shares[msg.agent_arn] = msg.share


def gauges_at(board: QueueBoard, tick: int) -> Gauges:
    in_queue = 0
    oldest = None
    for enqueue, exit_ in board.stays.values():
        if enqueue <= tick and (exit_ is None or tick < exit_):
            in_queue += 1
            if oldest is None or enqueue < oldest:
                oldest = enqueue
    total = [0] * len(ZERO_SHARE)
    for share in board.shares.values():
        for i, v in enumerate(share):
            total[i] += v
    return Gauges(in_queue, oldest, Share(*total))


def shows_something(board: QueueBoard, g: Gauges) -> bool:
    if g.contacts_in_queue:
        return True
    return not board.agent_queue and g.agents.online > 0


def prune(board: QueueBoard, upto: int) -> None:
    """Forget the stays no tick after ``upto`` can show."""
    for contact_id in [c for c, (_, exit_) in board.stays.items()
                       if exit_ is not None and exit_ <= upto]:
        del board.stays[contact_id]


def on_tick(board: QueueBoard, tick: int, messages=()) -> Optional[Gauges]:
    """Apply the tick's bucket; the gauges to emit at ``tick``: all zeros at the first tick with
    nothing to show (an agent queue's serving agent is no reason to show it), None after that."""
    apply(board, messages)
    g = gauges_at(board, tick)
    showing = shows_something(board, g)
    was_shown = board.shown
    board.shown = showing
    board.last_tick = tick
    prune(board, tick)
    if showing:
        return g
    return ZERO if was_shown else None


def is_empty(board: QueueBoard) -> bool:
    return not board.stays and not board.shares and not board.shown


def wants_next_tick(board: QueueBoard) -> bool:
    """Whether the tick right after the last one must fire (something shows or a zero is due)."""
    return board.shown
