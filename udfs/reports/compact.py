"""A primary window's numbers as a compact, exactly addable vector, and back to record fields.

Why a vector of its own: a report interval's record must equal the rollup of its primary windows
(SPEC: sums, counts and time metrics add, averages and rates are recomputed, max is the max). The
primary records alone cannot give that exactly (some averages' counts are not published, and
float sums added in another order round differently), so the primary operators send these
vectors, and the rollup adds them. Durations are integer microseconds, so adding is exact and
order-independent for the millisecond and whole-second values Connect reports; the record fields
of a sum are then computed by the very functions the primary records use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from udfs.agent_intervals import AgentTimes, agent_time_fields
from udfs.contact_metrics import (
    HandledTotals,
    QueueTotals,
    handled_fields_of,
    handled_totals_of,
    queue_fields_of,
)

MICROS = 1_000_000


def _us(seconds: float) -> int:
    return round(seconds * MICROS)


def _s(micros: int) -> float:
    return micros / MICROS


def _add_counts(a: tuple, b: tuple) -> tuple:
    merged = dict(a)
    for k, n in b:
        merged[k] = merged.get(k, 0) + n
    return tuple(sorted(merged.items()))


def _max(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None:
        return b
    return a if b is None or a >= b else b


# --- queue ----------------------------------------------------------------------------------------
# Layout: QueueTotals with float sums as int microseconds, keyed counts as sorted item tuples and
# the HandledTotals flattened as (handled, handle, acw, interaction, on_hold, hold).
_Q_SUMS = frozenset((7, 9, 15))  # answer_sum, abandon_sum, duration_sum
_Q_MAX, _Q_PER_X, _Q_KEYED, _Q_HANDLED = 10, (11, 12, 13), (16, 17), 18
_H_SUMS = (1, 2, 3, 5)


def queue_compact(t: QueueTotals) -> tuple:
    out = []
    for i, v in enumerate(t):
        if i in _Q_SUMS:
            v = _us(v)
        elif i in _Q_KEYED:
            v = tuple(sorted(v.items()))
        elif i == _Q_HANDLED:
            v = tuple(_us(x) if j in _H_SUMS else x for j, x in enumerate(v))
        out.append(v)
    return tuple(out)


def queue_totals_of_compact(c: tuple) -> QueueTotals:
    out = []
    for i, v in enumerate(c):
        if i in _Q_SUMS:
            v = _s(v)
        elif i in _Q_KEYED:
            v = dict(v)
        elif i == _Q_HANDLED:
            v = HandledTotals(*(_s(x) if j in _H_SUMS else x for j, x in enumerate(v)))
        out.append(v)
    return QueueTotals(*out)


def add_queue(a: tuple, b: tuple) -> tuple:
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if i == _Q_MAX:
            out.append(_max(x, y))
        elif i in _Q_PER_X or i == _Q_HANDLED:
            out.append(tuple(p + q for p, q in zip(x, y)))
        elif i in _Q_KEYED:
            out.append(_add_counts(x, y))
        else:
            out.append(x + y)
    return tuple(out)


def queue_fields_of_compact(c: tuple, thresholds) -> dict:
    return queue_fields_of(queue_totals_of_compact(c), thresholds)


# --- agent ----------------------------------------------------------------------------------------
# Layout: the eight times (AgentTimes order) in microseconds, agent_non_response, then the
# handled totals (handled, handle, acw, interaction, on_hold, hold; sums in microseconds).
_A_TIMES = len(AgentTimes._fields)


def agent_compact(time_fields: Mapping, non_response: int, handled: Mapping) -> tuple:
    """From the primary agent record's parts (``agent_time_fields``, ``handled_fields``)."""
    times = tuple(_us(time_fields[name]) for name in AgentTimes._fields)
    h = handled_totals_of(handled)
    return (*times, non_response,
            *(_us(x) if j in _H_SUMS else x for j, x in enumerate(h)))


def add_agent(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b))


def agent_fields_of_compact(c: tuple) -> tuple[dict, int, dict]:
    """(time fields, agent_non_response, handled fields), as ``output_records.agent_record``
    takes them."""
    times = AgentTimes(*(_s(x) for x in c[:_A_TIMES]))
    h = c[_A_TIMES + 1:]
    handled = HandledTotals(*(_s(x) if j in _H_SUMS else x for j, x in enumerate(h)))
    return agent_time_fields(times), c[_A_TIMES], handled_fields_of(handled)
