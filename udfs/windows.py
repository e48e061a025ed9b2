"""Event-time window arithmetic shared by every windowed operator.

Windows are tumbling and aligned to the epoch (a 60 s window starts on a whole minute UTC). A window
[start, end) is complete once the watermark reaches ``end - 1`` (Flink's convention: a watermark W
promises no more records with timestamp <= W), and it accepts late records until the watermark
reaches ``end - 1 + allowed_lateness``; after that its state is gone and a record for it is late.
"""

from __future__ import annotations


def window_start(ts_ms: int, size_ms: int) -> int:
    """Start of the window containing ``ts_ms`` (an event at exactly ``end`` opens the next one)."""
    return ts_ms - ts_ms % size_ms


def fire_time(start_ms: int, size_ms: int) -> int:
    """The timer timestamp at which the window [start, start+size) is complete."""
    return start_ms + size_ms - 1


def cleanup_time(start_ms: int, size_ms: int, lateness_ms: int) -> int:
    """The timer timestamp after which the window accepts no more late data."""
    return start_ms + size_ms - 1 + lateness_ms


def is_late(ts_ms: int, watermark: int, size_ms: int, lateness_ms: int) -> bool:
    """True when the window of ``ts_ms`` is already past its allowed lateness."""
    return watermark >= cleanup_time(window_start(ts_ms, size_ms), size_ms, lateness_ms)


def is_fired(start_ms: int, watermark: int, size_ms: int) -> bool:
    """True when the window starting at ``start_ms`` has already been emitted once."""
    return watermark >= fire_time(start_ms, size_ms)
