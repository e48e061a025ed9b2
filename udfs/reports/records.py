"""Report-interval messages and records: one function per direction for queues and agents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from udfs.contact_metrics import QueueTotals
from udfs.output_records import agent_record, queue_record
from udfs.reports.compact import (
    add_agent,
    add_queue,
    agent_compact,
    agent_fields_of_compact,
    queue_compact,
    queue_fields_of_compact,
)
from udfs.reports.messages import PrimaryWindow
from udfs.settings import AGENT, QUEUE

ADD = {QUEUE: add_queue, AGENT: add_agent}


def queue_message(key: str, ws: int, queue_name: Optional[str],
                  totals: QueueTotals) -> PrimaryWindow:
    """``key``: the queue operator's ``queue_arn|channel``."""
    return PrimaryWindow(QUEUE, key, ws, (queue_name,), queue_compact(totals))


def agent_message(agent_arn: str, ws: int, names: tuple, time_fields: dict,
                  non_response: int, handled: dict) -> PrimaryWindow:
    return PrimaryWindow(AGENT, agent_arn, ws, tuple(names),
                         agent_compact(time_fields, non_response, handled))


def report_fields(kind: str, total: tuple, thresholds: Sequence[int]):
    """The numbers of a report window (what its digest and record are made of)."""
    if kind == QUEUE:
        return queue_fields_of_compact(total, thresholds)
    return agent_fields_of_compact(total)


def report_record(kind: str, entity: str, start: int, size: int, revision: int, names: tuple,
                  fields) -> dict:
    """The report window's record: the primary record's format with the report's window."""
    if kind == QUEUE:
        queue_arn, _, channel = entity.rpartition("|")
        return queue_record(queue_arn, None if channel == "None" else channel, start, size,
                            revision, names[0], fields)
    time_fields, non_response, handled = fields
    username, profile, hierarchy = names
    return agent_record(entity, start, size, revision, username, profile, hierarchy,
                        time_fields, non_response, handled)
