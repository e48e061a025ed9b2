"""When an agent live record is emitted: at the first tick after the agent's view changed.

The views of one agent arrive in time order (possibly ahead of the ticks); the record at tick
``T`` shows the last view from at or before ``T``, and only if it differs from the last one
emitted (SPEC §4: not at every tick).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from udfs.live.messages import AgentView


@dataclass
class AgentBoard:
    views: list = field(default_factory=list)  # [AgentView] not yet shown, in time order
    shown: Optional[AgentView] = None
    timer: Optional[int] = None


def apply_view(board: AgentBoard, view: AgentView) -> int:
    """Queue a view; returns the time from which it shows."""
    board.views.append(view)
    return view.from_ms


def on_tick(board: AgentBoard, tick: int) -> Optional[AgentView]:
    """The view to emit at ``tick`` (None: unchanged since the last record)."""
    current = None
    while board.views and board.views[0].from_ms <= tick:
        current = board.views.pop(0)
    if current is None or current.same_as(board.shown):
        return None
    board.shown = current
    return current


def next_change(board: AgentBoard) -> Optional[int]:
    return board.views[0].from_ms if board.views else None


def is_done(board: AgentBoard) -> bool:
    """Nothing pending and the agent shown offline: the state can go."""
    return not board.views and (board.shown is None or not board.shown.online)
