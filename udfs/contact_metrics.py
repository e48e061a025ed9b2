"""Contact-record-driven metric formulas (SPEC §4), shared by queue and agent metric records.

A final, deduped CTR is first reduced to a ``CtrContribution`` (what it adds to a window), so a
window operator can keep small tuples in state instead of whole records and a re-delivered CTR
can replace its old contribution. A window's contributions are then summed into totals
(``QueueTotals`` / ``HandledTotals``: counts, sums, per-threshold counts, maxima, keyed counts)
and the record's fields are computed from the totals only. Totals add, so a report interval's
record is the same function applied to the sum of its primary windows' totals (``udfs.reports``):
one formula serves both, and the rollup is exact by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Optional

from udfs.records import ContactRecord

UNKNOWN_INITIATION_METHOD = "UNKNOWN"
UNKNOWN_DISCONNECT_REASON = "UNKNOWN"
#: SPEC §4: every object keyed by an input value is bounded the same way.
MAX_KEY_CHARS = 64
MAX_KEYS = 32
OTHER_KEY = "OTHER"
TRANSFER_IN_METHODS = frozenset(("TRANSFER", "QUEUE_TRANSFER"))


def cap_key(value: str) -> str:
    """An input value used as an object key, capped to ``MAX_KEY_CHARS`` characters."""
    return value[:MAX_KEY_CHARS]


def cap_keys(counts: Mapping[str, int]) -> dict:
    """Counts keyed by input values, bounded: keys capped to 64 characters (counts of keys that
    become equal add up) and at most 32 keys, the largest counts kept (ties: smaller key first)
    and the rest added under ``"OTHER"``. Sorted by key. Order-independent, and applying it to
    merged capped objects is how report intervals merge them."""
    merged: dict = {}
    for key, n in counts.items():
        k = cap_key(key)
        merged[k] = merged.get(k, 0) + n
    if len(merged) > MAX_KEYS:
        other = merged.pop(OTHER_KEY, 0)
        ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        merged = dict(ranked[: MAX_KEYS - 1])
        merged[OTHER_KEY] = other + sum(n for _, n in ranked[MAX_KEYS - 1:])
    return dict(sorted(merged.items()))


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
    initiation_method: str | None  # capped to MAX_KEY_CHARS
    transferred_by_agent: bool = False  # handled and NextContactId
    transferred_external: bool = False  # TransferCompletedTimestamp
    transferred_in: bool = False  # queued and InitiationMethod TRANSFER / QUEUE_TRANSFER
    contact_duration: float | None = None  # DisconnectTimestamp - InitiationTimestamp
    disconnect_reason: str | None = None  # capped to MAX_KEY_CHARS


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
    method = rec.initiation_method
    contact_duration = None
    if rec.disconnect_ms is not None and rec.initiation_ms is not None:
        contact_duration = (rec.disconnect_ms - rec.initiation_ms) / 1000.0
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
        initiation_method=None if method is None else cap_key(method),
        transferred_by_agent=handled and has_next,
        transferred_external=external_transfer,
        transferred_in=queued and method in TRANSFER_IN_METHODS,
        contact_duration=contact_duration,
        disconnect_reason=(None if rec.disconnect_reason is None
                           else cap_key(rec.disconnect_reason)),
    )


# --- handled-contact totals (queue and agent records) -------------------------------------------


class HandledTotals(NamedTuple):
    """Sums over the handled contributions of a window (one pass serves every consumer)."""

    handled: int
    handle_time: float
    after_contact_work_time: float
    interaction_time: float
    on_hold: int  # handled with NumberOfHolds > 0
    hold_time: float  # summed over the on_hold ones only


def handled_totals(contribs: Iterable[CtrContribution]) -> HandledTotals:
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
    return HandledTotals(n, handle, acw, interaction, n_hold, hold)


def _mean(total: float, count: int) -> float | None:
    """SPEC: an average over zero items is null."""
    return total / count if count else None


def handled_fields_of(t: HandledTotals) -> dict:
    """The agent record's contact-record fields from their totals, in output order."""
    return {
        "contacts_handled": t.handled,
        "avg_handle_time": _mean(t.handle_time, t.handled),
        "avg_after_contact_work_time": _mean(t.after_contact_work_time, t.handled),
        "avg_interaction_time": _mean(t.interaction_time, t.handled),
        "avg_hold_time": _mean(t.hold_time, t.on_hold),
        "contacts_put_on_hold": t.on_hold,
        "sum_handle_time": t.handle_time,
        "sum_interaction_time": t.interaction_time,
        "sum_after_contact_work_time": t.after_contact_work_time,
        "sum_hold_time": t.hold_time,
    }


def handled_fields(contribs: Iterable[CtrContribution]) -> dict:
    """contacts_handled, the handled-contact averages and their sums (queue and agent records).

    avg_hold_time averages CustomerHoldDuration over handled contacts that were put on hold, so
    a window of unheld calls has null (not 0) hold time, as in Connect.
    """
    return handled_fields_of(handled_totals(contribs))


def handled_totals_of(fields: Mapping) -> HandledTotals:
    """The totals behind an agent record's contact-record fields (its counts and sums)."""
    return HandledTotals(fields["contacts_handled"], fields["sum_handle_time"],
                         fields["sum_after_contact_work_time"], fields["sum_interaction_time"],
                         fields["contacts_put_on_hold"], fields["sum_hold_time"])


# --- queue totals -------------------------------------------------------------------------------


class QueueTotals(NamedTuple):
    """Everything a queue record's numbers are computed from; every field adds across windows
    (``max_d`` by max, the keyed counts by merging and re-capping)."""

    queued: int
    abandoned: int
    transferred_out: int
    transferred_by_agent: int
    transferred_external: int
    transferred_in: int
    answer_n: int  # handled with a D
    answer_sum: float
    abandon_n: int  # abandoned with a D
    abandon_sum: float
    max_d: Optional[float]
    answered_in: tuple  # per threshold: handled with D < X
    abandoned_in: tuple
    queued_in: tuple
    duration_n: int  # CTRs with both DisconnectTimestamp and InitiationTimestamp
    duration_sum: float
    by_method: dict  # handled count by initiation method (capped)
    by_reason: dict  # CTR count by disconnect reason (capped)
    handled: HandledTotals
    queued_by_enqueue: int
    connected_to_agent: int
    missed: int


def queue_totals(
    contribs: Iterable[CtrContribution],
    thresholds: Sequence[int],
    queued_by_enqueue: int = 0,
    connected_to_agent: int = 0,
    missed: int = 0,
) -> QueueTotals:
    """One pass over a window's contributions.

    Contributions whose D is None still count in contacts_queued/handled/abandoned (and in the
    service-level denominator) but are left out of D-based means, max and threshold counts.
    """
    if not isinstance(contribs, Sequence):
        contribs = tuple(contribs)
    n_th = len(thresholds)
    answered_in = [0] * n_th
    abandoned_in = [0] * n_th
    queued_in = [0] * n_th

    queued = abandoned = transferred = by_agent = external = transferred_in = 0
    answer_sum = abandon_sum = duration_sum = 0.0
    answer_n = abandon_n = duration_n = 0
    max_d: float | None = None
    by_method: dict[str, int] = {}
    by_reason: dict[str, int] = {}

    for c in contribs:
        d = c.queue_duration
        if c.transferred_out:
            transferred += 1
        if c.transferred_by_agent:
            by_agent += 1
        if c.transferred_external:
            external += 1
        if c.transferred_in:
            transferred_in += 1
        reason = c.disconnect_reason or UNKNOWN_DISCONNECT_REASON
        by_reason[reason] = by_reason.get(reason, 0) + 1
        if c.contact_duration is not None:
            duration_n += 1
            duration_sum += c.contact_duration
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

    return QueueTotals(
        queued, abandoned, transferred, by_agent, external, transferred_in,
        answer_n, answer_sum, abandon_n, abandon_sum, max_d,
        tuple(answered_in), tuple(abandoned_in), tuple(queued_in),
        duration_n, duration_sum, cap_keys(by_method), cap_keys(by_reason),
        handled_totals(contribs), queued_by_enqueue, connected_to_agent, missed,
    )


def queue_fields_of(t: QueueTotals, thresholds: Sequence[int]) -> dict:
    """Every queue metric field except the common ones, from the totals, in output order."""
    keys = [str(int(x)) for x in thresholds]
    h = t.handled
    handled = handled_fields_of(h)
    queued = t.queued
    return {
        "contacts_queued": queued,
        "contacts_handled": h.handled,
        "contacts_abandoned": t.abandoned,
        "abandonment_rate": 100.0 * t.abandoned / queued if queued else None,
        "avg_queue_answer_time": _mean(t.answer_sum, t.answer_n),
        "avg_queue_abandon_time": _mean(t.abandon_sum, t.abandon_n),
        "max_queued_time": t.max_d,
        "contacts_answered_in_x": dict(zip(keys, t.answered_in)),
        "contacts_abandoned_in_x": dict(zip(keys, t.abandoned_in)),
        "service_level": {
            k: (100.0 * n / queued if queued else None) for k, n in zip(keys, t.queued_in)
        },
        "avg_handle_time": handled["avg_handle_time"],
        "avg_interaction_time": handled["avg_interaction_time"],
        "avg_after_contact_work_time": handled["avg_after_contact_work_time"],
        "avg_hold_time": handled["avg_hold_time"],
        "contacts_put_on_hold": h.on_hold,
        "contacts_transferred_out": t.transferred_out,
        "contacts_handled_by_initiation_method": cap_keys(t.by_method),
        "contacts_transferred_out_by_agent": t.transferred_by_agent,
        "contacts_transferred_out_external": t.transferred_external,
        "contacts_transferred_in": t.transferred_in,
        "avg_contact_duration": _mean(t.duration_sum, t.duration_n),
        "contacts_disconnected_by_reason": cap_keys(t.by_reason),
        "sum_queue_answer_time": t.answer_sum,
        "sum_queue_abandon_time": t.abandon_sum,
        "sum_handle_time": h.handle_time,
        "sum_interaction_time": h.interaction_time,
        "sum_after_contact_work_time": h.after_contact_work_time,
        "sum_hold_time": h.hold_time,
        "sum_contact_duration": t.duration_sum,
        "contacts_queued_by_enqueue": t.queued_by_enqueue,
        "contacts_connected_to_agent": t.connected_to_agent,
        "contacts_missed": t.missed,
    }


def queue_fields(
    contribs: Iterable[CtrContribution],
    thresholds: Sequence[int],
    queued_by_enqueue: int,
    connected_to_agent: int,
    missed: int = 0,
) -> dict:
    """Every queue metric field except the common ones, in the output record's field order."""
    return queue_fields_of(
        queue_totals(contribs, thresholds, queued_by_enqueue, connected_to_agent, missed),
        thresholds)
