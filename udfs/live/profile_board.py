"""A routing profile's agents, summed per (queue, channel) they serve, at each tick.

Agents of one routing profile serve the same (queue, channel) pairs (plus each its own agent
queue), so one message per agent event to its profile, and one summed share per changed
(queue, channel) per tick from the profile, replace an agent event's message to each of the up
to 17 pairs it serves. Members' messages wait for their tick like the tick operator's (the
first tick at or after their effect that the watermark has not passed, ``udfs.live.ticks``); at
a tick the profile sends a (queue, channel) its new sum, from that tick on, when it changed, and
None when no member serves it online any more. The sums at a tick are exactly the sums of the
members' shares due by then, so the gauges are those of the shares sent one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import add, sub
from typing import Optional

from udfs.live.messages import AgentShare, ProfileMember, Share, channel_of
from udfs.memo import Memo


@dataclass
class ProfileBoard:
    #: agent ARN -> (served queue keys, ((channel, Share), ...) or None while offline)
    members: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)  # queue key -> queue name
    sent: dict = field(default_factory=dict)  # queue key -> Share last sent
    last_tick: Optional[int] = None
    #: (served queue keys, channel) -> (members online, their summed Share): kept as members
    #: change, so that a tick does not sum every member again (None: a board stored before
    #: there were totals; ``_totals`` makes them from the members)
    totals: Optional[dict] = None


def effective_ms(msg: ProfileMember) -> int:
    return msg.from_ms


def _count(totals: dict, keys: tuple, shares: Optional[tuple], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one member's shares from the totals."""
    for channel, share in shares or ():
        group = (keys, channel)
        n, total = totals.get(group, (0, None))
        n += sign
        if n == 0:
            totals.pop(group, None)
        elif total is None:
            totals[group] = (n, share)
        else:
            totals[group] = (n, Share(*map(add if sign > 0 else sub, total, share)))


def _totals(board: ProfileBoard) -> dict:
    if board.totals is None:
        board.totals = {}
        for keys, shares in board.members.values():
            _count(board.totals, keys, shares, 1)
    return board.totals


def apply(board: ProfileBoard, messages) -> None:
    """Apply members' messages, in the order they were sent. Members that serve the same keys
    share one tuple of them, so that a board of many agents pickles each set once (pickle keeps
    the sharing)."""
    totals = _totals(board)
    interned = {keys: keys for keys, _ in board.members.values()}
    for msg in messages:
        old = board.members.get(msg.agent_arn)
        if old is not None:
            _count(totals, old[0], old[1], -1)
        if msg.served == ():
            board.members.pop(msg.agent_arn, None)
            continue
        if msg.served is None:
            keys = old[0] if old is not None else ()
        else:
            for key, name in msg.served:
                if name is not None:
                    board.names[key] = name
            keys = tuple(key for key, _ in msg.served)
            keys = interned.setdefault(keys, keys)
        board.members[msg.agent_arn] = (keys, msg.shares)
        _count(totals, keys, msg.shares, 1)


#: (served queue keys, channel) -> the keys of that channel
_OF_CHANNEL = Memo(4_096)


def _of_channel(keys: tuple, channel: str) -> tuple:
    group = (keys, channel)
    found = _OF_CHANNEL.get(group)
    if found is None:
        found = _OF_CHANNEL.keep(group, tuple(k for k in keys if channel_of(k) == channel))
    return found


def sums(board: ProfileBoard) -> dict:
    """(queue key -> summed Share) of the members online now."""
    acc: dict = {}
    for (keys, channel), (_, total) in _totals(board).items():
        for key in _of_channel(keys, channel):
            current = acc.get(key)
            acc[key] = total if current is None else Share(*map(add, current, total))
    return acc


def on_tick(board: ProfileBoard, profile: str, tick: int, messages=()
            ) -> list[tuple[str, AgentShare]]:
    """Apply the tick's messages; the (queue key, share) messages whose sum changed."""
    apply(board, messages)
    board.last_tick = tick
    now = sums(board)
    out = []
    for key in [k for k in board.sent if k not in now]:
        del board.sent[key]
        out.append((key, AgentShare(profile, tick, None, board.names.get(key))))
    for key, share in now.items():
        if board.sent.get(key) != share:
            board.sent[key] = share
            out.append((key, AgentShare(profile, tick, share, board.names.get(key))))
    return out


def is_empty(board: ProfileBoard) -> bool:
    return not board.members and not board.sent
