"""Expected final queue and agent metric records, computed from the simulator's ground truth.

Deliberately independent of the job (nothing from ``udfs``/``jobs``) and of the output files:
it reads the simulator's own model (contact segments with their true timestamps, the final CTR
values via ``ctr_facts``, the agents' event timelines) and applies the product contract's
definitions (SPEC §4) directly, so a comparison with the job's output checks the job rather
than repeating its mistakes.

Lateness (SPEC §3): a CTR counts only if it arrives within the CTR allowed lateness. The
reference decides that from the ground truth alone (``late_ctr_ids``): when the final copy was
delivered, against its own disconnect and the lateness the run aims at, with a margin either
side so that no watermark detail of the job can tip it; the simulator never delivers a CTR in
between (``ValueError`` if it did).

Numbers: timestamps are integer epoch ms; time metrics are summed in integer ms and divided by
1000 once; averages are ``sum / count``; rates ``100.0 * part / whole``. The job may round
differently in the last bit, so compare floats with a relative tolerance (1e-9 is plenty).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple, Optional

from tools.sim.config import CTR_LATENESS_MARGIN_S
from tools.sim.timefmt import floor_s, iso_output
from tools.sim.truth import AgentEventTruth, CtrFacts, Segment, Truth

DEFAULT_WINDOW_S = 60
DEFAULT_THRESHOLDS = (15, 20, 30, 60, 90, 120)
AGENT_TIMEOUT_MS = 240_000  # no event for 240 s: offline from last event + 240 s

ON_CONTACT = frozenset({"CONNECTED", "CONNECTED_ONHOLD", "ENDED"})
TALKING = frozenset({"CONNECTED", "CONNECTED_ONHOLD"})
BUSY = frozenset({"INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "ENDED"})
FAILED = frozenset({"ERROR", "MISSED", "REJECTED"})
NON_RESPONSE = frozenset({"MISSED", "REJECTED"})

RINGING = frozenset({"INCOMING", "PENDING", "CONNECTING"})
TRANSFERRED_IN = frozenset({"TRANSFER", "QUEUE_TRANSFER"})
#: report intervals of the simulated hour's comparison (SPEC "Report intervals")
REPORT_WINDOWS = (("15m", 900), ("30m", 1800), ("1h", 3600), ("1d", 86400))

# agent time metric slots
ONLINE, NPT, CONTACT, HANDLE, ACW, IDLE, ERROR, CONNECTING = range(8)
TIME_FIELDS = ("online_time", "non_productive_time", "contact_time", "contact_handle_time",
               "after_contact_work_time", "idle_time", "error_time", "connecting_time")


QUEUE_FIELD_ORDER = (
    "key", "window_start", "window_end", "window_seconds", "queue_arn", "queue_name", "channel",
    "contacts_queued", "contacts_handled", "contacts_abandoned", "abandonment_rate",
    "avg_queue_answer_time", "avg_queue_abandon_time", "max_queued_time",
    "contacts_answered_in_x", "contacts_abandoned_in_x", "service_level", "avg_handle_time",
    "avg_interaction_time", "avg_after_contact_work_time", "avg_hold_time",
    "contacts_put_on_hold", "contacts_transferred_out", "contacts_handled_by_initiation_method",
    "contacts_transferred_out_by_agent", "contacts_transferred_out_external",
    "contacts_transferred_in", "avg_contact_duration", "contacts_disconnected_by_reason",
    "sum_queue_answer_time", "sum_queue_abandon_time", "sum_handle_time", "sum_interaction_time",
    "sum_after_contact_work_time", "sum_hold_time", "sum_contact_duration",
    "contacts_queued_by_enqueue", "contacts_connected_to_agent", "contacts_missed")
AGENT_FIELD_ORDER = (
    "key", "window_start", "window_end", "window_seconds", "agent_arn", "username",
    "routing_profile", "hierarchy", "online_time", "non_productive_time", "contact_time",
    "contact_handle_time", "after_contact_work_time", "idle_time", "error_time", "occupancy",
    "agent_non_response", "connecting_time", "contacts_handled", "avg_handle_time",
    "avg_after_contact_work_time", "avg_interaction_time", "avg_hold_time",
    "contacts_put_on_hold", "sum_handle_time", "sum_interaction_time",
    "sum_after_contact_work_time", "sum_hold_time")


def _ordered(record: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """The record with its fields in the contract's order (SPEC §4 tables)."""
    return {name: record[name] for name in order}


class ExpectedMetrics(NamedTuple):
    queue: list[dict[str, Any]]
    agent: list[dict[str, Any]]


def late_ctr_ids(truth: Truth) -> set[str]:
    """ContactIds whose only CTR arrived beyond the CTR allowed lateness (dead letters "late").

    Counts: delivered at most lateness - margin after its DisconnectTimestamp (no watermark can
    have passed its window's end + lateness by then). Late: delivered at least lateness + margin
    after it while the feeds ran on for a margin beyond the delivery (every stream's watermark
    has passed the window's end + lateness by then).
    """
    lateness = truth.config.faults.ctr_lateness_s * 1000
    margin = CTR_LATENESS_MARGIN_S * 1000
    late = set()
    for seg in truth.segments:
        if seg.last_update_ms is None or seg.ctr_delivery_ms is None:
            continue
        assert seg.disconnect_ms is not None
        delay = seg.ctr_delivery_ms - floor_s(seg.disconnect_ms)
        if delay <= lateness - margin:
            continue
        ran_on = (truth.last_event_ms or 0) >= seg.ctr_delivery_ms + margin
        if delay >= lateness + margin and ran_on:
            late.add(seg.contact_id)
            continue
        raise ValueError(f"{seg.contact_id}: CTR delivered {delay} ms after its disconnect, "
                         f"too close to the CTR lateness {lateness} ms to tell")
    return late


def counted_ctrs(truth: Truth) -> list[CtrFacts]:
    """The final CTR of every segment whose CTR counts (not late)."""
    late = late_ctr_ids(truth)
    return [f for f in truth.final_ctrs() if f.contact_id not in late]


def _mean(values: Sequence[int]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def _pct(part: int, whole: int) -> Optional[float]:
    return 100.0 * part / whole if whole else None


def _d(f: CtrFacts) -> int:
    return f.queue_duration or 0


def _is_abandoned(f: CtrFacts) -> bool:
    return (f.enqueue_ms is not None and f.connected_ms is None and f.next_contact_id is None
            and f.transfer_completed_ms is None)


def _handled_fields(handled: Sequence[CtrFacts]) -> dict[str, Any]:
    """The contact-record averages shared by queue and agent records (over handled CTRs)."""
    on_hold = [f for f in handled if f.number_of_holds]
    return {
        "avg_handle_time": _mean([(f.interaction or 0) + (f.hold or 0) + (f.acw or 0)
                                  for f in handled]),
        "avg_interaction_time": _mean([f.interaction or 0 for f in handled]),
        "avg_after_contact_work_time": _mean([f.acw or 0 for f in handled]),
        "avg_hold_time": _mean([f.hold or 0 for f in on_hold]),
    }


def _queue_ctr_fields(ctrs: Sequence[CtrFacts], thresholds: Sequence[int]) -> dict[str, Any]:
    queued = [f for f in ctrs if f.enqueue_ms is not None]
    handled = [f for f in ctrs if f.connected_ms is not None]
    abandoned = [f for f in queued if _is_abandoned(f)]
    averages = _handled_fields(handled)
    by_method = Counter(f.initiation_method for f in handled)
    return {
        "contacts_queued": len(queued),
        "contacts_handled": len(handled),
        "contacts_abandoned": len(abandoned),
        "abandonment_rate": _pct(len(abandoned), len(queued)),
        "avg_queue_answer_time": _mean([_d(f) for f in handled]),
        "avg_queue_abandon_time": _mean([_d(f) for f in abandoned]),
        "max_queued_time": float(max(_d(f) for f in queued)) if queued else None,
        "contacts_answered_in_x": {str(x): sum(1 for f in handled if _d(f) < x)
                                   for x in thresholds},
        "contacts_abandoned_in_x": {str(x): sum(1 for f in abandoned if _d(f) < x)
                                    for x in thresholds},
        "service_level": {str(x): _pct(sum(1 for f in queued if _d(f) < x), len(queued))
                          for x in thresholds},
        "avg_handle_time": averages["avg_handle_time"],
        "avg_interaction_time": averages["avg_interaction_time"],
        "avg_after_contact_work_time": averages["avg_after_contact_work_time"],
        "avg_hold_time": averages["avg_hold_time"],
        "contacts_put_on_hold": sum(1 for f in handled if f.number_of_holds),
        "contacts_transferred_out": sum(
            1 for f in ctrs
            if (f.connected_ms is not None and f.next_contact_id) or f.transfer_completed_ms
            is not None),
        "contacts_handled_by_initiation_method": dict(sorted(by_method.items())),
    }


def expected_queue_records(truth: Truth, window_s: int = DEFAULT_WINDOW_S,
                           thresholds: Sequence[int] = DEFAULT_THRESHOLDS
                           ) -> list[dict[str, Any]]:
    """One final record per (queue ARN, channel, window) with CTR contributions or signals."""
    w = window_s * 1000
    ctrs: dict[tuple[str, str, int], list[CtrFacts]] = defaultdict(list)
    for f in counted_ctrs(truth):
        if f.queue_arn:
            ctrs[(f.queue_arn, f.channel.upper(), f.disconnect_ms - f.disconnect_ms % w)].append(f)
    queued_signals: Counter[tuple[str, str, int]] = Counter()
    connected_signals: Counter[tuple[str, str, int]] = Counter()
    names: dict[str, Optional[str]] = {}
    for seg in truth.segments:
        if seg.queue is None:
            continue
        names[seg.queue.arn] = seg.queue.name
        if seg.queued_signal is not None:
            queued_signals[(seg.queue.arn, seg.channel, seg.queued_signal
                            - seg.queued_signal % w)] += 1
        if seg.connected_signal is not None:
            connected_signals[(seg.queue.arn, seg.channel, seg.connected_signal
                               - seg.connected_signal % w)] += 1
    out = []
    missed = _missed_by_queue(truth, w)
    keys = set(ctrs) | set(queued_signals) | set(connected_signals) | set(missed)
    for arn, channel, start in sorted(keys, key=lambda k: (k[2], k[0], k[1])):
        start_iso = iso_output(start)
        record: dict[str, Any] = {
            "key": f"{arn}|{channel}|{start_iso}",
            "window_start": start_iso,
            "window_end": iso_output(start + w),
            "queue_arn": arn,
            "queue_name": names.get(arn),
            "channel": channel,
        }
        record.update(_queue_ctr_fields(ctrs.get((arn, channel, start), []), thresholds))
        record.update(_more_queue_ctr_fields(truth, ctrs.get((arn, channel, start), [])))
        record["window_seconds"] = window_s
        record["contacts_queued_by_enqueue"] = queued_signals[(arn, channel, start)]
        record["contacts_connected_to_agent"] = connected_signals[(arn, channel, start)]
        record["contacts_missed"] = missed[(arn, channel, start)]
        out.append(_ordered(record, QUEUE_FIELD_ORDER))
    return out


def _segments(truth: Truth) -> dict[str, Segment]:
    return {seg.contact_id: seg for seg in truth.segments}


def _more_queue_ctr_fields(truth: Truth, ctrs: Sequence[CtrFacts]) -> dict[str, Any]:
    """The queue fields of issue 18 over a record's final CTRs: transfers, contact duration,
    disconnect reasons and the sums behind the averages. InitiationTimestamp and
    DisconnectReason are what the CTR states (the segment's, the first truncated to the
    second)."""
    segs = _segments(truth) if ctrs else {}
    queued = [f for f in ctrs if f.enqueue_ms is not None]
    handled = [f for f in ctrs if f.connected_ms is not None]
    abandoned = [f for f in queued if _is_abandoned(f)]
    durations = [f.disconnect_ms - floor_s(segs[f.contact_id].initiation_ms) for f in ctrs]
    reasons = Counter(segs[f.contact_id].disconnect_reason or "UNKNOWN" for f in ctrs)
    fields: dict[str, Any] = {
        "contacts_transferred_out_by_agent": sum(1 for f in handled if f.next_contact_id),
        "contacts_transferred_out_external": sum(1 for f in ctrs
                                                 if f.transfer_completed_ms is not None),
        "contacts_transferred_in": sum(1 for f in queued
                                       if f.initiation_method in TRANSFERRED_IN),
        "avg_contact_duration": (sum(durations) / 1000 / len(durations) if durations
                                 else None),
        "contacts_disconnected_by_reason": dict(sorted(reasons.items())),
        "sum_queue_answer_time": float(sum(_d(f) for f in handled)),
        "sum_queue_abandon_time": float(sum(_d(f) for f in abandoned)),
        "sum_contact_duration": sum(durations) / 1000,
    }
    fields.update({k: v for k, v in _more_handled_fields(handled).items()
                   if k.startswith("sum_")})
    return fields


def _more_handled_fields(handled: Sequence[CtrFacts]) -> dict[str, Any]:
    """contacts_put_on_hold and the sums behind the handled-contact averages."""
    on_hold = [f for f in handled if f.number_of_holds]
    return {
        "contacts_put_on_hold": len(on_hold),
        "sum_handle_time": float(sum((f.interaction or 0) + (f.hold or 0) + (f.acw or 0)
                                     for f in handled)),
        "sum_interaction_time": float(sum(f.interaction or 0 for f in handled)),
        "sum_after_contact_work_time": float(sum(f.acw or 0 for f in handled)),
        "sum_hold_time": float(sum(f.hold or 0 for f in on_hold)),
    }


def _missed_by_queue(truth: Truth, w: int) -> Counter[tuple[str, str, int]]:
    """contacts_missed: per (queue, channel, window), the (contact, agent) pairs whose contact
    entered MISSED or REJECTED for that agent, at the first such event."""
    segs = _segments(truth)
    out: Counter[tuple[str, str, int]] = Counter()
    for events in truth.agent_events.values():
        seen: set[str] = set()
        for event in events:
            if event.event_type == "LOGOUT":
                continue
            for contact_id, state in event.contacts:
                if state not in NON_RESPONSE or contact_id in seen:
                    continue
                seen.add(contact_id)
                seg = segs.get(contact_id)
                if seg is not None and seg.queue is not None:
                    out[(seg.queue.arn, seg.channel.upper(), event.ts - event.ts % w)] += 1
    return out


def _time_slots(event: AgentEventTruth) -> tuple[int, ...]:
    """Which agent time metrics the state described by this event counts toward."""
    if event.event_type == "LOGOUT":  # a LOGOUT ends whatever its snapshot says
        status, states = "OFFLINE", set()
    else:
        status, states = event.status_type, {state for _, state in event.contacts}
    available = status == "ROUTABLE"
    slots = []
    if status != "OFFLINE":
        slots.append(ONLINE)
    if status == "CUSTOM":
        slots.append(NPT)
    if states & ON_CONTACT:
        slots.append(HANDLE)
        if available:
            slots.append(CONTACT)
    if "ENDED" in states and not states & TALKING:
        slots.append(ACW)
    if available and not states & BUSY:
        slots.append(IDLE)
    if states & FAILED:
        slots.append(ERROR)
    if states & RINGING and not states & TALKING:
        slots.append(CONNECTING)
    return tuple(slots)


def _agent_times(events: Sequence[AgentEventTruth], w: int
                 ) -> tuple[dict[int, list[int]], Counter[int]]:
    """Per window: the seven time metrics in ms, and the agent non-response count."""
    times: dict[int, list[int]] = defaultdict(lambda: [0] * len(TIME_FIELDS))
    non_response: Counter[int] = Counter()
    seen: set[str] = set()
    for i, event in enumerate(events):
        start = event.ts
        end = start + AGENT_TIMEOUT_MS
        if i + 1 < len(events):
            end = min(end, events[i + 1].ts)
        slots = _time_slots(event)
        if slots:
            window = start - start % w
            while window < end:
                overlap = min(end, window + w) - max(start, window)
                acc = times[window]
                for slot in slots:
                    acc[slot] += overlap
                window += w
        if event.event_type != "LOGOUT":
            for contact_id, state in event.contacts:
                if state in NON_RESPONSE and contact_id not in seen:
                    seen.add(contact_id)
                    non_response[start - start % w] += 1
    return times, non_response


def expected_agent_records(truth: Truth, window_s: int = DEFAULT_WINDOW_S
                           ) -> list[dict[str, Any]]:
    """One final record per (agent, window) with online time or handled contacts."""
    w = window_s * 1000
    handled: dict[tuple[str, int], list[CtrFacts]] = defaultdict(list)
    for f in counted_ctrs(truth):
        if f.agent_arn and f.connected_ms is not None:
            handled[(f.agent_arn, f.disconnect_ms - f.disconnect_ms % w)].append(f)
    out: list[tuple[int, dict[str, Any]]] = []
    arns = sorted(set(truth.agent_events) | {arn for arn, _ in handled})
    for arn in arns:
        events = truth.agent_events.get(arn, [])  # unique, in time order
        configs = truth.agent_configs.get(arn, [])
        stamps = [e.ts for e in events]
        times, non_response = _agent_times(events, w)
        windows = {start for start, acc in times.items() if acc[ONLINE] > 0}
        windows |= {start for a, start in handled if a == arn}
        for start in sorted(windows):
            ctrs = handled.get((arn, start), [])
            i = bisect.bisect_left(stamps, start + w)  # events strictly before the window end
            if i:
                config = configs[events[i - 1].config]
                username, profile, hierarchy = (config.username, config.routing_profile,
                                                config.hierarchy)
            else:
                last = max(ctrs, key=lambda f: f.disconnect_ms)
                username, profile, hierarchy = (last.agent_username, last.agent_routing_profile,
                                                last.agent_hierarchy)
            acc = times.get(start, [0] * len(TIME_FIELDS))
            start_iso = iso_output(start)
            record: dict[str, Any] = {
                "key": f"{arn}|{start_iso}",
                "window_start": start_iso,
                "window_end": iso_output(start + w),
                "agent_arn": arn,
                "username": username,
                "routing_profile": profile,
                "hierarchy": list(hierarchy) if hierarchy else None,
            }
            for name, slot in zip(TIME_FIELDS, range(len(TIME_FIELDS))):
                record[name] = acc[slot] / 1000
            # SPEC: 100 x contact_time / (contact_time + idle_time), over the seconds as emitted
            busy, idle = record["contact_time"], record["idle_time"]
            record["occupancy"] = min(100.0, 100.0 * busy / (busy + idle)) if busy + idle else None
            record["agent_non_response"] = non_response[start]
            record["contacts_handled"] = len(ctrs)
            averages = _handled_fields(ctrs)
            for name in ("avg_handle_time", "avg_after_contact_work_time",
                         "avg_interaction_time", "avg_hold_time"):
                record[name] = averages[name]
            record.update(_more_handled_fields(ctrs))
            record["window_seconds"] = window_s
            out.append((start, _ordered(record, AGENT_FIELD_ORDER)))
    out.sort(key=lambda item: (item[0], item[1]["agent_arn"]))
    return [record for _, record in out]


def expected_metrics(truth: Truth, window_s: int = DEFAULT_WINDOW_S,
                     thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> ExpectedMetrics:
    return ExpectedMetrics(expected_queue_records(truth, window_s, thresholds),
                           expected_agent_records(truth, window_s))


def expected_report_metrics(truth: Truth,
                            report_windows: Sequence[tuple[str, int]] = REPORT_WINDOWS,
                            thresholds: Sequence[int] = DEFAULT_THRESHOLDS
                            ) -> dict[str, ExpectedMetrics]:
    """Per report interval name (e.g. ``15m``), its expected records, straight from the ground
    truth with the interval as the window (not a rollup of the 1-minute records)."""
    return {name: expected_metrics(truth, seconds, thresholds) for name, seconds in report_windows}
