"""Report-interval windows: the rollup of the primary windows they cover, with revisions.

Per key (queue+channel or agent) the rollup keeps, instead of records:
- the vectors of the primary windows that can still be revised (``open``: at most allowed
  lateness / window + 1 of them), replaced by each new revision;
- per report window a ``ReportWindow``: the sum of the primary windows already final (folded in
  once their lateness has passed, so a daily window holds one vector, not 1,440), the names of
  the latest of them, and the emission bookkeeping.

A report window's numbers are ``folded + sum(open vectors inside it)``; it is emitted when the
watermark passes its end and re-emitted with ``revision`` + 1 whenever a primary revision changes
its numbers, until its own allowed lateness ends. Nothing here knows Flink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Optional

from udfs.digest import digest
from udfs.windows import cleanup_time, window_start


@dataclass
class ReportWindow:
    folded: Optional[tuple] = None  # sum of the final primary windows' vectors
    names_at: Optional[tuple] = None  # (primary window start, names) of the latest folded one
    revision: int = 0
    emitted: Optional[bytes] = None  # digest of the last emitted numbers


def covering(ws: int, intervals: Iterable[int]) -> list[tuple[int, int]]:
    """(interval ms, report window start) of each report interval containing primary ``ws``."""
    return [(size, window_start(ws, size)) for size in intervals]


def is_final(ws: int, window_ms: int, lateness_ms: int, watermark: int) -> bool:
    """A primary window past its allowed lateness can no longer be revised."""
    return watermark >= cleanup_time(ws, window_ms, lateness_ms)


def _later(a: Optional[tuple], b: Optional[tuple]) -> Optional[tuple]:
    if a is None:
        return b
    return a if b is None or a[0] >= b[0] else b


def fold(report: ReportWindow, ws: int, compact: tuple, names: tuple,
         add: Callable[[tuple, tuple], tuple]) -> None:
    """Add a final primary window to a report window."""
    report.folded = compact if report.folded is None else add(report.folded, compact)
    report.names_at = _later(report.names_at, (ws, names))


def rollup(report: ReportWindow, start: int, size: int, open_windows: Mapping[int, tuple],
           add: Callable[[tuple, tuple], tuple]) -> Optional[tuple[tuple, tuple]]:
    """(summed vector, names of the latest primary window) of the report window, or None when
    no primary window of it was ever seen. ``open_windows``: ws -> (vector, names)."""
    total, names_at = report.folded, report.names_at
    for ws in sorted(open_windows):
        if start <= ws < start + size:
            compact, names = open_windows[ws]
            total = compact if total is None else add(total, compact)
            names_at = _later(names_at, (ws, names))
    if total is None or names_at is None:
        return None
    return total, names_at[1]


def next_emission(report: ReportWindow, names: tuple, fields: dict) -> Optional[int]:
    """The revision to emit when the report window's numbers changed, else None."""
    fingerprint = digest([names, fields])
    if fingerprint == report.emitted:
        return None
    report.emitted = fingerprint
    report.revision += 1
    return report.revision


def to_stored(report: ReportWindow) -> tuple:
    return (report.folded, report.names_at, report.revision, report.emitted)


def from_stored(stored: tuple) -> ReportWindow:
    return ReportWindow(*stored)
