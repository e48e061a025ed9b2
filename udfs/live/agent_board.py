"""When an agent live record is emitted: at the first tick after the agent's view changed.

Views wait in per-tick buckets (see ``udfs.live.queue_gauges``); the record at tick ``T`` shows
the last view from at or before ``T``, and only if it differs from the last one emitted (SPEC
§4: not at every tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from udfs.live.messages import AgentView


@dataclass
class AgentBoard:
    shown: Optional[AgentView] = None
    last_tick: Optional[int] = None


def effective_ms(view: AgentView) -> int:
    return view.from_ms


def on_tick(board: AgentBoard, tick: int, views=()) -> Optional[AgentView]:
    """The view to emit at ``tick`` (None: unchanged since the last record)."""
    board.last_tick = tick
    if not views:
        return None
    current = views[-1]
    if current.same_as(board.shown):
        return None
    board.shown = current
    return current


def is_done(board: AgentBoard) -> bool:
    """The agent shown offline (or never shown): nothing more to remember once no view waits."""
    return board.shown is None or not board.shown.online
