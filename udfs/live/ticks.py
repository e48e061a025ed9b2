"""Tick arithmetic of the live path: ticks are the multiples of ``--live-interval`` (epoch-aligned).

A tick ``T`` shows the state at instant ``T`` from the events with event time <= ``T``; it is
emitted once, when the live watermark passes it, and never revised. A change known only after its
tick was emitted shows from the next tick on.
"""

from __future__ import annotations

from typing import Optional

#: Flink's final watermark (end of a bounded input).
MAX_WATERMARK = (1 << 63) - 1
#: A CTR's timestamp in the live path: CTRs only end stays, at their own (parsed) times, and
#: must never hold back the live watermark (they arrive minutes after the contact events).
CTR_LIVE_TS = MAX_WATERMARK - 1
#: The live watermark once only the CTRs hold it: their own watermark (monotonous timestamps:
#: ``CTR_LIVE_TS - 1``), reached when the contact and agent events ended (or went idle) first.
CTR_ONLY_WATERMARK = CTR_LIVE_TS - 1


def tick_at_or_after(ms: int, interval: int) -> int:
    return -(-ms // interval) * interval


def tick_at_or_before(ms: int, interval: int) -> int:
    return ms - ms % interval


def first_tick(effect_ms: int, watermark: int, interval: int) -> Optional[int]:
    """The first tick that shows a change effective at ``effect_ms``: the tick at or after it,
    but never one the watermark has already passed (emitted ticks are never revised); None
    when there is none (the watermark is at the end of time: Flink timers are longs)."""
    tick = max(tick_at_or_after(effect_ms, interval),
               tick_at_or_before(watermark, interval) + interval)
    return tick if tick <= MAX_WATERMARK else None


def is_end_of_input(watermark: int) -> bool:
    """Whether no tick can follow the data any more: Flink's final watermark, or the CTRs' own
    watermark, which the live watermark jumps to when the other feeds ended before the CTRs
    did (a bounded input whose CTR file or topic is read last). Without the second, the ticks
    up to the end of time would fire as if the data reached them."""
    return watermark >= CTR_ONLY_WATERMARK


def tick_allowed(tick: int, watermark: int, last_read_ms) -> bool:
    """Ticks run while the watermark passes them; at the end of a bounded input (Flink's final
    watermark fires every timer) they stop at the last event time read, so nothing is
    extrapolated past the data."""
    if not is_end_of_input(watermark):
        return True
    return last_read_ms is not None and tick <= last_read_ms


#: Pending live messages are spread over this many lists by tick (``tick_slot``): at the default
#: 10 s interval a message up to ~10 min ahead of the watermark (the default watermark drift)
#: waits in a list no earlier tick reads.
TICK_SLOTS = 64


def tick_slot(tick: int, interval: int) -> int:
    return (tick // interval) % TICK_SLOTS


def split_due(pending, tick: int) -> tuple[list, list]:
    """(messages due at ``tick`` in the order sent, ``(tick, message)`` pairs still waiting) of
    the ``(tick, message)`` pairs a key holds."""
    due, later = [], []
    for at, msg in pending or ():
        if at <= tick:
            due.append(msg)
        else:
            later.append((at, msg))
    return due, later
