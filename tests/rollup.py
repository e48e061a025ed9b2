"""Roll primary-window records up to a report interval from their published fields only.

Independent of ``udfs`` on purpose: this is how a consumer would add up 1-minute records, and the
job's report-interval records must equal it (SPEC "Report intervals": sums, counts and time
metrics add; averages and rates are recomputed; max_queued_time is the max). Needs every average's
count to be a published count, which holds when every CTR has its Queue.Duration and
InitiationTimestamp (the scripted scenario and the simulator).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Optional

QUEUE_COUNTS = ("contacts_queued", "contacts_handled", "contacts_abandoned",
                "contacts_put_on_hold", "contacts_transferred_out",
                "contacts_transferred_out_by_agent", "contacts_transferred_out_external",
                "contacts_transferred_in", "contacts_queued_by_enqueue",
                "contacts_connected_to_agent", "contacts_missed")
QUEUE_SUMS = ("sum_queue_answer_time", "sum_queue_abandon_time", "sum_handle_time",
              "sum_interaction_time", "sum_after_contact_work_time", "sum_hold_time",
              "sum_contact_duration")
QUEUE_KEYED = ("contacts_answered_in_x", "contacts_abandoned_in_x",
               "contacts_handled_by_initiation_method", "contacts_disconnected_by_reason")
AGENT_TIMES = ("online_time", "non_productive_time", "contact_time", "contact_handle_time",
               "after_contact_work_time", "idle_time", "error_time", "connecting_time")
AGENT_COUNTS = ("agent_non_response", "contacts_handled", "contacts_put_on_hold")
AGENT_SUMS = ("sum_handle_time", "sum_interaction_time", "sum_after_contact_work_time",
              "sum_hold_time")


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ms % 1000:03d}Z" if ms % 1000 else "Z")


def _mean(total: float, n: int) -> Optional[float]:
    return total / n if n else None


def _add_keyed(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


def _queue(records: list[dict], start: int, size: int) -> dict[str, Any]:
    first, last = records[0], records[-1]
    r: dict[str, Any] = {"window_start": _iso(start), "window_end": _iso(start + size),
                         "window_seconds": size // 1000, "queue_arn": first["queue_arn"],
                         "queue_name": last["queue_name"], "channel": first["channel"]}
    r["key"] = f"{first['queue_arn']}|{first['channel']}|{r['window_start']}"
    counts = {f: sum(x[f] for x in records) for f in QUEUE_COUNTS}
    sums = {f: float(sum(x[f] for x in records)) for f in QUEUE_SUMS}
    keyed = {f: {} for f in QUEUE_KEYED}
    for x in records:
        for f in QUEUE_KEYED:
            keyed[f] = _add_keyed(keyed[f], x[f])
    queued_in: dict = defaultdict(int)
    for x in records:
        for k, rate in x["service_level"].items():
            queued_in[k] += 0 if rate is None else round(rate * x["contacts_queued"] / 100)
    queued, handled = counts["contacts_queued"], counts["contacts_handled"]
    maxima = [x["max_queued_time"] for x in records if x["max_queued_time"] is not None]
    n_ctrs = sum(sum(x["contacts_disconnected_by_reason"].values()) for x in records)
    r.update({
        "contacts_queued": queued, "contacts_handled": handled,
        "contacts_abandoned": counts["contacts_abandoned"],
        "abandonment_rate": (100.0 * counts["contacts_abandoned"] / queued if queued else None),
        "avg_queue_answer_time": _mean(sums["sum_queue_answer_time"], handled),
        "avg_queue_abandon_time": _mean(sums["sum_queue_abandon_time"],
                                        counts["contacts_abandoned"]),
        "max_queued_time": max(maxima) if maxima else None,
        "contacts_answered_in_x": keyed["contacts_answered_in_x"],
        "contacts_abandoned_in_x": keyed["contacts_abandoned_in_x"],
        "service_level": {k: (100.0 * n / queued if queued else None)
                          for k, n in queued_in.items()},
        "avg_handle_time": _mean(sums["sum_handle_time"], handled),
        "avg_interaction_time": _mean(sums["sum_interaction_time"], handled),
        "avg_after_contact_work_time": _mean(sums["sum_after_contact_work_time"], handled),
        "avg_hold_time": _mean(sums["sum_hold_time"], counts["contacts_put_on_hold"]),
        "contacts_handled_by_initiation_method": keyed["contacts_handled_by_initiation_method"],
        "avg_contact_duration": _mean(sums["sum_contact_duration"], n_ctrs),
        "contacts_disconnected_by_reason": keyed["contacts_disconnected_by_reason"],
    })
    r.update(counts)
    r.update(sums)
    return r


def _agent(records: list[dict], start: int, size: int) -> dict[str, Any]:
    last = records[-1]
    r: dict[str, Any] = {"window_start": _iso(start), "window_end": _iso(start + size),
                         "window_seconds": size // 1000, "agent_arn": last["agent_arn"],
                         "username": last["username"], "routing_profile": last["routing_profile"],
                         "hierarchy": last["hierarchy"]}
    r["key"] = f"{last['agent_arn']}|{r['window_start']}"
    for f in AGENT_TIMES:
        r[f] = sum(x[f] for x in records)
    for f in AGENT_COUNTS:
        r[f] = sum(x[f] for x in records)
    for f in AGENT_SUMS:
        r[f] = float(sum(x[f] for x in records))
    busy = r["contact_time"] + r["idle_time"]
    r["occupancy"] = min(100.0, 100.0 * r["contact_time"] / busy) if busy else None
    n, held = r["contacts_handled"], r["contacts_put_on_hold"]
    r["avg_handle_time"] = _mean(r["sum_handle_time"], n)
    r["avg_interaction_time"] = _mean(r["sum_interaction_time"], n)
    r["avg_after_contact_work_time"] = _mean(r["sum_after_contact_work_time"], n)
    r["avg_hold_time"] = _mean(r["sum_hold_time"], held)
    return r


def rollup(records: list[dict], size_ms: int) -> dict[str, dict]:
    """{key: record} of the report interval ``size_ms`` from final primary records (no
    ``revision``), queue or agent records alike."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for x in records:
        start = _ms(x["window_start"])
        entity = x.get("agent_arn") or (x["queue_arn"], x["channel"])
        groups[(entity, start - start % size_ms)].append(x)
    out = {}
    for (entity, start), members in groups.items():
        members.sort(key=lambda x: x["window_start"])
        build = _agent if "agent_arn" in members[0] else _queue
        record = build(members, start, size_ms)
        out[record["key"]] = record
    return out
