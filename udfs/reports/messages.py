"""The message from the primary window operators to the report-interval rollup."""

from __future__ import annotations

from typing import NamedTuple

from udfs.settings import AGENT, QUEUE

KINDS = (QUEUE, AGENT)


class PrimaryWindow(NamedTuple):
    """The latest revision of one primary window, reduced to what its rollups need.

    ``entity``: ``queue_arn|channel`` or the agent ARN; ``names``: ``(queue_name,)`` or
    ``(username, routing_profile, hierarchy)``; ``compact``: ``udfs.reports.compact``'s vector.
    """

    kind: str
    entity: str
    window_start: int
    names: tuple
    compact: tuple


def report_key(msg: PrimaryWindow) -> str:
    """The rollup operator's key: one per queue (and channel) or agent."""
    return f"{msg.kind}:{msg.entity}"
