"""The JSON-ready output records of SPEC §4, with their fields in contract order.

Builders take already computed metric dicts and pick each field by name, so the output order is
fixed here (and a missing metric fails loudly with ``KeyError``) no matter how the dicts were
built. Timestamps go out through ``format_iso_ms``, the job's one output time format.
"""

from __future__ import annotations

import functools

from udfs.records import ContactRecord, DeadLetter
from udfs.timestamps import format_iso_ms

# Queue metric fields after the common ones, in output order.
QUEUE_METRIC_FIELDS = (
    "contacts_queued",
    "contacts_handled",
    "contacts_abandoned",
    "abandonment_rate",
    "avg_queue_answer_time",
    "avg_queue_abandon_time",
    "max_queued_time",
    "contacts_answered_in_x",
    "contacts_abandoned_in_x",
    "service_level",
    "avg_handle_time",
    "avg_interaction_time",
    "avg_after_contact_work_time",
    "avg_hold_time",
    "contacts_put_on_hold",
    "contacts_transferred_out",
    "contacts_handled_by_initiation_method",
    "contacts_transferred_out_by_agent",
    "contacts_transferred_out_external",
    "contacts_transferred_in",
    "avg_contact_duration",
    "contacts_disconnected_by_reason",
    "sum_queue_answer_time",
    "sum_queue_abandon_time",
    "sum_handle_time",
    "sum_interaction_time",
    "sum_after_contact_work_time",
    "sum_hold_time",
    "sum_contact_duration",
    "contacts_queued_by_enqueue",
    "contacts_connected_to_agent",
    "contacts_missed",
)

# Agent time fields (from ``agent_intervals.agent_time_fields``), in output order.
AGENT_TIME_FIELDS = (
    "online_time",
    "non_productive_time",
    "contact_time",
    "contact_handle_time",
    "after_contact_work_time",
    "idle_time",
    "error_time",
    "occupancy",
)

# Agent contact-record fields (from ``contact_metrics.handled_fields``), in output order.
AGENT_HANDLED_FIELDS = (
    "contacts_handled",
    "avg_handle_time",
    "avg_after_contact_work_time",
    "avg_interaction_time",
    "avg_hold_time",
    "contacts_put_on_hold",
    "sum_handle_time",
    "sum_interaction_time",
    "sum_after_contact_work_time",
    "sum_hold_time",
)


@functools.lru_cache(maxsize=4096)
def window_key_iso(ms: int) -> str:
    """A window boundary as it appears in record keys, ``window_start`` and ``window_end``.

    Cached: when a window ends every agent and queue emits it, thousands of times the same value.
    """
    return format_iso_ms(ms)


def _iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else format_iso_ms(ms)


def _float_or_none(value: float | None) -> float | None:
    """Durations go out as float seconds even if a normalizer kept an int."""
    return None if value is None else float(value)


def _hierarchy_list(hierarchy: tuple[str, ...] | None) -> list[str] | None:
    """Level names, Level1 first; null (not []) when the agent has no hierarchy."""
    return list(hierarchy) if hierarchy else None


def queue_record(
    queue_arn: str,
    channel: str | None,
    window_start_ms: int,
    window_ms: int,
    revision: int,
    queue_name: str | None,
    fields: dict,
) -> dict:
    """One queue metric record; ``fields`` is ``contact_metrics.queue_fields(...)``."""
    start = window_key_iso(window_start_ms)
    out = {
        "key": f"{queue_arn}|{channel}|{start}",
        "revision": revision,
        "window_start": start,
        "window_end": window_key_iso(window_start_ms + window_ms),
        "window_seconds": window_ms // 1000,
        "queue_arn": queue_arn,
        "queue_name": queue_name,
        "channel": channel,
    }
    for name in QUEUE_METRIC_FIELDS:
        out[name] = fields[name]
    return out


def agent_record(
    agent_arn: str,
    window_start_ms: int,
    window_ms: int,
    revision: int,
    username: str | None,
    routing_profile: str | None,
    hierarchy: tuple[str, ...] | None,
    time_fields: dict,
    agent_non_response: int,
    handled: dict,
) -> dict:
    """One agent metric record.

    ``time_fields`` is ``agent_intervals.agent_time_fields(...)``; ``agent_non_response`` is the
    number of contacts that entered MISSED/REJECTED in the window (see ``newly_missed``);
    ``handled`` is ``contact_metrics.handled_fields(...)`` over the agent's CTRs of the window.
    """
    start = window_key_iso(window_start_ms)
    out = {
        "key": f"{agent_arn}|{start}",
        "revision": revision,
        "window_start": start,
        "window_end": window_key_iso(window_start_ms + window_ms),
        "window_seconds": window_ms // 1000,
        "agent_arn": agent_arn,
        "username": username,
        "routing_profile": routing_profile,
        "hierarchy": _hierarchy_list(hierarchy),
    }
    for name in AGENT_TIME_FIELDS:
        out[name] = time_fields[name]
    out["agent_non_response"] = agent_non_response
    out["connecting_time"] = time_fields["connecting_time"]
    for name in AGENT_HANDLED_FIELDS:
        out[name] = handled[name]
    return out


def contact_fact_record(
    rec: ContactRecord,
    revision: int,
    username: str | None,
    routing_profile: str | None,
    hierarchy: tuple[str, ...] | None,
) -> dict:
    """The deduped, enriched contact fact; enrichment values are chosen by the caller's join."""
    return {
        "key": rec.contact_id,
        "revision": revision,
        "contact_id": rec.contact_id,
        "channel": rec.channel,
        "initiation_method": rec.initiation_method,
        "initial_contact_id": rec.initial_contact_id,
        "previous_contact_id": rec.previous_contact_id,
        "next_contact_id": rec.next_contact_id,
        "initiation_timestamp": _iso_or_none(rec.initiation_ms),
        "enqueue_timestamp": _iso_or_none(rec.enqueue_ms),
        "dequeue_timestamp": _iso_or_none(rec.dequeue_ms),
        "connected_to_agent_timestamp": _iso_or_none(rec.connected_to_agent_ms),
        "disconnect_timestamp": _iso_or_none(rec.disconnect_ms),
        "last_update_timestamp": format_iso_ms(rec.last_update_ms),
        "disconnect_reason": rec.disconnect_reason,
        "transfer_completed_timestamp": _iso_or_none(rec.transfer_completed_ms),
        "queue_arn": rec.queue_arn,
        "queue_name": rec.queue_name,
        "queue_duration": _float_or_none(rec.queue_duration),
        "agent_arn": rec.agent_arn,
        "username": username,
        "routing_profile": routing_profile,
        "hierarchy": _hierarchy_list(hierarchy),
        "agent_interaction_duration": _float_or_none(rec.agent_interaction_duration),
        "customer_hold_duration": _float_or_none(rec.customer_hold_duration),
        "after_contact_work_duration": _float_or_none(rec.after_contact_work_duration),
        "number_of_holds": rec.number_of_holds,
        "longest_hold_duration": _float_or_none(rec.longest_hold_duration),
    }


def dead_letter_record(d: DeadLetter) -> dict:
    """SPEC §4 dead-letter record: exactly key, stream, error, raw, at."""
    return {"key": d.key, "stream": d.stream, "error": d.error, "raw": d.raw, "at": d.at}
