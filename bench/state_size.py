"""State per open contact, two ways.

1. ``pickled``: replay a sample of simulated contacts (their contact events and CTRs, delivery
   order) through the contact operator's own decisions (``udfs.contact_state``) and measure
   ``pickle.dumps(to_stored(ContactState))``, which is exactly the value the operator stores (its
   ``ValueState`` is ``PICKLED_BYTE_ARRAY``; thread mode pickles with ``pickle.dumps``). This is
   the value only: no key, no timers, no state-backend overhead.
2. ``checkpoint``: the contact-state operator's share of each completed checkpoint (REST, per
   vertex) against the number of contacts held at that checkpoint. That number is exact: the
   Kafka source commits the checkpoint's offsets to its consumer group when the checkpoint
   completes, and every contact seen so far is still held (the retention, 24 h after the last
   event, is longer than the simulated span). The slope of a least-squares line through
   (contacts, bytes) is the marginal cost of one more contact, key and timers included; the
   ratio at the largest checkpoint includes fixed overhead too.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from statistics import mean
from typing import Optional

from udfs.contact_state import (
    ContactState,
    is_duplicate,
    on_contact_event,
    on_ctr,
    to_stored,
)
from udfs.parse_contact_event import normalize_contact_event
from udfs.parse_ctr import normalize_ctr
from udfs.records import DeadLetter

CONTACT_VERTEX = "contact state"


def _pct(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pickled_sizes(lines: list[tuple[str, bytes]], window_ms: int = 60_000) -> dict:
    """Per-contact pickled ``ContactState`` after all its lines (and the part a fact takes)."""
    states: dict[str, ContactState] = defaultdict(ContactState)
    for stream, raw in lines:
        text = raw.decode("utf-8", errors="replace")
        if stream == "ctrs":
            rec = normalize_ctr(text)
            if type(rec) is DeadLetter:
                continue
            st = states[rec.contact_id]
            if not is_duplicate(st, rec):
                on_ctr(st, rec, window_ms)
        else:
            ev = normalize_contact_event(text)
            if type(ev) is DeadLetter:
                continue
            on_contact_event(states[ev.contact_id], ev)
    if not states:
        return {}
    stored = [to_stored(st) for st in states.values()]
    sizes = [len(pickle.dumps(t)) for t in stored]
    facts = [len(pickle.dumps(t[1])) for t in stored if t[1] is not None]
    signals = [len(pickle.dumps(t[3])) for t in stored if t[3]]
    return {
        "contacts": len(sizes),
        "mean_bytes": round(mean(sizes)),
        "p50_bytes": _pct(sizes, 0.5), "p90_bytes": _pct(sizes, 0.9),
        "p99_bytes": _pct(sizes, 0.99), "max_bytes": max(sizes),
        "fact_mean_bytes": round(mean(facts)) if facts else 0,
        "signals_mean_bytes": round(mean(signals)) if signals else 0,
        "with_fact_share": round(len(facts) / len(sizes), 3),
    }


def _fit(points: list[tuple[int, int]]) -> Optional[float]:
    """Least-squares slope of bytes over contacts."""
    if len(points) < 2:
        return None
    mx = mean(p[0] for p in points)
    my = mean(p[1] for p in points)
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / var


def checkpoint_sizes(points: list[tuple[int, int, int]]) -> dict:
    """``points``: (checkpoint id, contacts held, contact-operator state bytes)."""
    usable = [(c, b) for _, c, b in points if c > 0 and b > 0]
    if not usable:
        return {}
    # the checkpoint where the operator held the most state: in a long run also the one with
    # the most contacts; in the smoke run (8,886 records, read in a few seconds) the one with the
    # most contacts once noted 220 contacts against 4 KB of state (19 B each, cause not found)
    largest = max(usable, key=lambda p: (p[1], p[0]))
    slope = _fit(usable)
    return {
        "checkpoints": len(usable),
        "largest_contacts": largest[0],
        "largest_state_bytes": largest[1],
        "bytes_per_contact_at_largest": round(largest[1] / largest[0], 1),
        "bytes_per_contact_slope": None if slope is None else round(slope, 1),
    }


def contact_vertex_bytes(by_vertex: dict[str, int]) -> int:
    """The contact-state operator's state in a checkpoint (its vertex name starts with it)."""
    return sum(size for name, size in by_vertex.items() if name.startswith(CONTACT_VERTEX))
