"""A progress line on stderr for long runs: simulated time done/total, records, records/s."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tools.sim.timefmt import iso_s


class Progress:
    """Call ``tick`` per record; prints at most every ``every_s`` seconds of wall time."""

    def __init__(self, start_ms: int, end_ms: int, enabled: bool = True, every_s: float = 2.0,
                 out: TextIO = sys.stderr, what: str = "simulate"):
        self.start_ms, self.end_ms = start_ms, end_ms
        self.enabled, self.every_s, self.out, self.what = enabled, every_s, out, what
        self.records = 0
        self._t0 = self._last = time.monotonic()

    def tick(self, sim_ms: int) -> None:
        self.records += 1
        if self.enabled and self.records % 2000 == 0:
            now = time.monotonic()
            if now - self._last >= self.every_s:
                self._last = now
                self._print(sim_ms, now)

    def _print(self, sim_ms: int, now: float) -> None:
        span = max(1, self.end_ms - self.start_ms)
        share = min(100.0, 100.0 * (sim_ms - self.start_ms) / span)
        rate = self.records / max(1e-9, now - self._t0)
        self.out.write(f"{self.what}: {iso_s(sim_ms)} of {iso_s(self.end_ms)} simulated "
                       f"({share:.0f}%), {self.records:,} records, {rate:,.0f} records/s\n")
        self.out.flush()

    def finish(self) -> float:
        """Print the final line (if enabled); returns the overall records/s."""
        elapsed = max(1e-9, time.monotonic() - self._t0)
        rate = self.records / elapsed
        if self.enabled:
            self.out.write(f"{self.what}: done, {self.records:,} records in {elapsed:.1f} s "
                           f"({rate:,.0f} records/s)\n")
            self.out.flush()
        return rate
