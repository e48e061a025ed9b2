"""The gauges of one (queue, channel) at a tick, from the stays and agent shares it was sent.

State per (queue, channel): each contact's stay (``enqueue <= T < exit`` means in queue at tick
``T``) and each serving agent's shares in time order (the share at ``T`` is the last one from at
or before ``T``; later ones wait for their tick). What the ticks have passed is pruned, so the
state holds the contacts in queue, the serving agents online and the changes still ahead.
Emission (SPEC §4): at every tick while a contact is in queue or a serving agent is online, and
once more, all zeros, when that ends; an agent's own queue only while a contact is in it.
"""

from __future__ import annotations

import bisect
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
    shares: dict = field(default_factory=dict)  # agent ARN -> [(from_ms, Share | None)]
    shown: bool = False  # the last emitted tick showed something (a zero record is due)
    last_tick: Optional[int] = None
    timer: Optional[int] = None  # the tick timer registered, if any


def is_agent_queue(queue_arn: str) -> bool:
    return AGENT_QUEUE_MARK in queue_arn


def apply_stay(board: QueueBoard, contact_id: str, stay: QueueStay) -> int:
    """Record a contact's stay; returns the time from which the gauges change."""
    old = board.stays.get(contact_id)
    board.stays[contact_id] = (stay.enqueue_ms, stay.exit_ms)
    if old is None:
        return stay.enqueue_ms
    changed = [t for t in (old[0], stay.enqueue_ms, old[1], stay.exit_ms) if t is not None]
    return min(changed) if old != (stay.enqueue_ms, stay.exit_ms) else stay.enqueue_ms


def apply_share(board: QueueBoard, msg: AgentShare) -> int:
    """Record an agent's share from ``msg.from_ms`` on; returns that time."""
    if msg.queue_name is not None:
        board.queue_name = msg.queue_name
    timeline = board.shares.setdefault(msg.agent_arn, [])
    i = bisect.bisect_right([f for f, _ in timeline], msg.from_ms)
    timeline.insert(i, (msg.from_ms, msg.share))
    return msg.from_ms


def gauges_at(board: QueueBoard, tick: int) -> Gauges:
    in_queue = 0
    oldest = None
    for enqueue, exit_ in board.stays.values():
        if enqueue <= tick and (exit_ is None or tick < exit_):
            in_queue += 1
            if oldest is None or enqueue < oldest:
                oldest = enqueue
    total = [0] * len(ZERO_SHARE)
    for timeline in board.shares.values():
        share = None
        for from_ms, s in timeline:
            if from_ms > tick:
                break
            share = s
        if share is not None:
            for i, v in enumerate(share):
                total[i] += v
    return Gauges(in_queue, oldest, Share(*total))


def shows_something(board: QueueBoard, g: Gauges) -> bool:
    if g.contacts_in_queue:
        return True
    return not board.agent_queue and g.agents.online > 0


def prune(board: QueueBoard, upto: int) -> None:
    """Forget what no tick after ``upto`` can show."""
    for contact_id in [c for c, (_, exit_) in board.stays.items()
                       if exit_ is not None and exit_ <= upto]:
        del board.stays[contact_id]
    for arn in list(board.shares):
        timeline = board.shares[arn]
        i = 0
        while i + 1 < len(timeline) and timeline[i + 1][0] <= upto:
            i += 1
        if i:
            del timeline[:i]
        if timeline[0][0] <= upto and timeline[0][1] is None:
            del timeline[0]
        if not timeline:
            del board.shares[arn]


def next_change_after(board: QueueBoard, tick: int) -> Optional[int]:
    """The earliest time after ``tick`` at which the gauges can change, if any is known."""
    times = []
    for enqueue, exit_ in board.stays.values():
        for t in (enqueue, exit_):
            if t is not None and t > tick:
                times.append(t)
    if not board.agent_queue:  # an agent's own queue shows only while a contact is in it
        for timeline in board.shares.values():
            for from_ms, _ in timeline:
                if from_ms > tick:
                    times.append(from_ms)
                    break
    return min(times) if times else None


def on_tick(board: QueueBoard, tick: int) -> Optional[Gauges]:
    """The gauges to emit at ``tick``: all zeros at the first tick with nothing to show (an
    agent queue's serving agent is no reason to show it), None after that."""
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
