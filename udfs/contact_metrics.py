"""Contact-record-driven metric formulas (SPEC §4), shared by queue and agent metric records.

A final, deduped CTR is first reduced to a ``CtrContribution`` (what it adds to a window), so a
window operator can keep small tuples in state instead of whole records and a re-delivered CTR
can replace its old contribution. The aggregations below are plain loops: they run once per
window firing, over every contribution of that window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from udfs.records import ContactRecord

UNKNOWN_INITIATION_METHOD = "UNKNOWN"


class CtrContribution(NamedTuple):
    """What one final CTR contributes to a window (durations in seconds, missing = 0)."""

    queued: bool  # Queue.EnqueueTimestamp present
    handled: bool  # Agent.ConnectedToAgentTimestamp present
    abandoned: bool  # queued, not handled, no NextContactId, no TransferCompletedTimestamp
    queue_duration: float | None  # D = Queue.Duration
    handle_time: float  # interaction + customer hold + after contact work
    interaction_time: float  # AgentInteractionDuration
    after_contact_work_time: float  # AfterContactWorkDuration
    on_hold: bool  # NumberOfHolds > 0
    hold_time: float  # CustomerHoldDuration
    transferred_out: bool  # (handled and NextContactId) or TransferCompletedTimestamp
    initiation_method: str | None


def _seconds(value: float | None) -> float:
    """A CTR duration as float seconds; a missing duration counts 0 (SPEC: missing terms = 0)."""
    return 0.0 if value is None else float(value)


def ctr_contribution(rec: ContactRecord) -> CtrContribution:
    """Reduce a final CTR to the facts the queue and agent formulas need."""
    queued = rec.enqueue_ms is not None
    handled = rec.connected_to_agent_ms is not None
    has_next = bool(rec.next_contact_id)
    external_transfer = rec.transfer_completed_ms is not None
    interaction = _seconds(rec.agent_interaction_duration)
    hold = _seconds(rec.customer_hold_duration)
    acw = _seconds(rec.after_contact_work_duration)
    duration = rec.queue_duration
    return CtrContribution(
        queued=queued,
        handled=handled,
        abandoned=queued and not handled and not has_next and not external_transfer,
        queue_duration=None if duration is None else float(duration),
        handle_time=interaction + hold + acw,
        interaction_time=interaction,
        after_contact_work_time=acw,
        on_hold=(rec.number_of_holds or 0) > 0,
        hold_time=hold,
        transferred_out=(handled and has_next) or external_transfer,
        initiation_method=rec.initiation_method,
    )


class _HandledTotals(NamedTuple):
    """Sums over the handled contributions of a window (one pass serves every consumer)."""

    handled: int
    handle_time: float
    after_contact_work_time: float
    interaction_time: float
    on_hold: int  # handled with NumberOfHolds > 0
    hold_time: float  # summed over the on_hold ones only


def _handled_totals(contribs: Iterable[CtrContribution]) -> _HandledTotals:
    n = n_hold = 0
    handle = acw = interaction = hold = 0.0
    for c in contribs:
        if not c.handled:
            continue
        n += 1
        handle += c.handle_time
        acw += c.after_contact_work_time
        interaction += c.interaction_time
        if c.on_hold:
            n_hold += 1
            hold += c.hold_time
    return _HandledTotals(n, handle, acw, interaction, n_hold, hold)


def _mean(total: float, count: int) -> float | None:
    """SPEC: an average over zero items is null."""
    return total / count if count else None


def _handled_dict(t: _HandledTotals) -> dict:
    return {
        "contacts_handled": t.handled,
        "avg_handle_time": _mean(t.handle_time, t.handled),
        "avg_after_contact_work_time": _mean(t.after_contact_work_time, t.handled),
        "avg_interaction_time": _mean(t.interaction_time, t.handled),
        "avg_hold_time": _mean(t.hold_time, t.on_hold),
    }


def handled_fields(contribs: Iterable[CtrContribution]) -> dict:
    """contacts_handled and the handled-contact averages, identical for queue and agent records.

    avg_hold_time averages CustomerHoldDuration over handled contacts that were put on hold, so
    a window of unheld calls has null (not 0) hold time, as in Connect.
    """
    return _handled_dict(_handled_totals(contribs))


def queue_fields(
    contribs: Iterable[CtrContribution],
    thresholds: Sequence[int],
    queued_by_enqueue: int,
    connected_to_agent: int,
) -> dict:
    """Every queue metric field except the common ones, in the output record's field order.

    Contributions whose D is None still count in contacts_queued/handled/abandoned (and in the
    service-level denominator) but are left out of D-based means, max and threshold counts.
    """
    if not isinstance(contribs, Sequence):
        contribs = tuple(contribs)
    keys = [str(int(x)) for x in thresholds]
    n_th = len(keys)
    answered_in = [0] * n_th
    abandoned_in = [0] * n_th
    queued_in = [0] * n_th

    queued = abandoned = transferred = 0
    answer_sum = abandon_sum = 0.0
    answer_n = abandon_n = 0
    max_d: float | None = None
    by_method: dict[str, int] = {}

    for c in contribs:
        d = c.queue_duration
        if c.transferred_out:
            transferred += 1
        if c.handled:
            method = c.initiation_method or UNKNOWN_INITIATION_METHOD
            by_method[method] = by_method.get(method, 0) + 1
            if d is not None:
                answer_sum += d
                answer_n += 1
                for i in range(n_th):
                    if d < thresholds[i]:
                        answered_in[i] += 1
        if c.queued:
            queued += 1
            if d is not None:
                if max_d is None or d > max_d:
                    max_d = d
                for i in range(n_th):
                    if d < thresholds[i]:
                        queued_in[i] += 1
        if c.abandoned:
            abandoned += 1
            if d is not None:
                abandon_sum += d
                abandon_n += 1
                for i in range(n_th):
                    if d < thresholds[i]:
                        abandoned_in[i] += 1

    totals = _handled_totals(contribs)
    handled = _handled_dict(totals)
    return {
        "contacts_queued": queued,
        "contacts_handled": totals.handled,
        "contacts_abandoned": abandoned,
        "abandonment_rate": 100.0 * abandoned / queued if queued else None,
        "avg_queue_answer_time": _mean(answer_sum, answer_n),
        "avg_queue_abandon_time": _mean(abandon_sum, abandon_n),
        "max_queued_time": max_d,
        "contacts_answered_in_x": dict(zip(keys, answered_in)),
        "contacts_abandoned_in_x": dict(zip(keys, abandoned_in)),
        "service_level": {
            k: (100.0 * n / queued if queued else None) for k, n in zip(keys, queued_in)
        },
        "avg_handle_time": handled["avg_handle_time"],
        "avg_interaction_time": handled["avg_interaction_time"],
        "avg_after_contact_work_time": handled["avg_after_contact_work_time"],
        "avg_hold_time": handled["avg_hold_time"],
        "contacts_put_on_hold": totals.on_hold,
        "contacts_transferred_out": transferred,
        "contacts_handled_by_initiation_method": dict(sorted(by_method.items())),
        "contacts_queued_by_enqueue": queued_by_enqueue,
        "contacts_connected_to_agent": connected_to_agent,
    }
