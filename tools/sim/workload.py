"""How much work arrives, when, of which kind, and how long each piece of it takes.

Arrivals follow the staffing curve (a center schedules agents for its forecast), and handle
times are scaled so the planned agents can roughly carry the requested number of contacts: a
run asked for 600 contacts with 20 agents gets brisker calls than one with 60 agents, instead
of an ever-growing queue where everybody abandons. Every duration here is bounded; the bounds
keep the feeds within the job's lateness budget (see ``delivery``).
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from typing import Optional

from tools.sim.config import CTR_LATENESS_MARGIN_S, MAX_LONG_ACW_S, SimConfig
from tools.sim.schedule import AgentPlan

VOICE_INBOUND = "voice_inbound"
VOICE_API = "voice_api"
CHAT_API = "chat_api"
CHAT_INBOUND = "chat_inbound"
OUTBOUND = "outbound"

KIND_MIX = ((VOICE_INBOUND, 0.56), (CHAT_API, 0.20), (CHAT_INBOUND, 0.06), (OUTBOUND, 0.13),
            (VOICE_API, 0.05))
# Expected agent-seconds per contact at scale 1 (talk + hold + ACW; chats share 2.5 slots).
_BASE_HANDLE_S = {VOICE_INBOUND: 230.0, VOICE_API: 230.0, CHAT_API: 180.0, CHAT_INBOUND: 180.0,
                  OUTBOUND: 150.0}

MAX_ACW_MS = 300_000  # Connect's ACW timeout; bounds how long after disconnect a CTR lands
MAX_TALK_MS = 1_800_000
MIN_SCALE, MAX_SCALE = 0.25, 1.3


@dataclass(frozen=True)
class Arrival:
    at_ms: int
    kind: str


def _lognormal_ms(rng: random.Random, median_s: float, sigma: float, lo_s: float,
                  hi_s: float) -> int:
    value = median_s * math.exp(rng.gauss(0.0, sigma))
    return int(1000 * min(hi_s, max(lo_s, value)))


class Workload:
    """Arrival times and per-contact durations; all randomness comes from the caller's RNG."""

    def __init__(self, cfg: SimConfig, plans: tuple[AgentPlan, ...]):
        self.cfg = cfg
        self.plans = plans
        capacity_s = sum(max(0, p.shift_end_ms - p.login_ms) for p in plans) / 1000 * 0.85
        demand_s = cfg.contacts * sum(w * _BASE_HANDLE_S[k] for k, w in KIND_MIX)
        raw = 0.8 * capacity_s / demand_s if demand_s else 1.0
        self.scale = min(MAX_SCALE, max(MIN_SCALE, raw))
        if cfg.handle_scale is not None:
            self.scale = cfg.handle_scale

    # -- arrivals --------
    def arrivals(self, rng: random.Random) -> list[Arrival]:
        """``cfg.contacts`` arrival instants spread like the staffing curve over the run."""
        start, end = self.cfg.start_ms, self.cfg.end_ms
        bin_ms = 60_000
        edges = list(range(start, end, bin_ms))
        cumulative, total = [], 0.0
        for lo in edges:
            mid = lo + bin_ms // 2
            staffed = sum(1 for p in self.plans if p.login_ms <= mid < p.shift_end_ms)
            total += max(0.2, staffed) * (min(end, lo + bin_ms) - lo) * self.rush_factor(mid)
            cumulative.append(total)
        kinds = [k for k, _ in KIND_MIX]
        weights = [w for _, w in KIND_MIX]
        out = []
        for _ in range(self.cfg.contacts):
            i = bisect.bisect_left(cumulative, rng.random() * total)
            lo = edges[min(i, len(edges) - 1)]
            at = rng.randrange(lo, min(end, lo + bin_ms))
            out.append(Arrival(at, rng.choices(kinds, weights)[0]))
        out.sort(key=lambda a: a.at_ms)
        return out

    def rush_factor(self, at_ms: int) -> float:
        """How much busier than the staffing curve arrivals are at ``at_ms`` (``cfg.rush``)."""
        if self.cfg.rush is None:
            return 1.0
        offset_s, length_s, factor = self.cfg.rush
        begin = self.cfg.start_ms + offset_s * 1000
        return factor if begin <= at_ms < begin + length_s * 1000 else 1.0

    # -- durations --------
    def ivr_ms(self, rng: random.Random, chat: bool) -> int:
        return rng.randint(800, 4000) if chat else rng.randint(5000, 30000)

    def talk_ms(self, rng: random.Random, chat: bool, outbound: bool = False) -> int:
        median = 360.0 if chat else (120.0 if outbound else 150.0)
        return _lognormal_ms(rng, median * self.scale, 0.6, 8.0, MAX_TALK_MS / 1000)

    def acw_ms(self, rng: random.Random, chat: bool) -> Optional[int]:
        """None: the contact skips ACW (the agent clears it at once). With the long-ACW fault a
        share takes 5-60 min (Connect has no ACW limit by default), never so long that its CTR
        could reach the CTR lateness."""
        faults = self.cfg.faults
        if faults.long_acw and rng.random() < faults.long_acw:
            longest = min(MAX_LONG_ACW_S,
                          faults.ctr_lateness_s - 2 * CTR_LATENESS_MARGIN_S) * 1000
            if longest > MAX_ACW_MS:
                return rng.randint(MAX_ACW_MS, longest)
        if rng.random() < 0.10:
            return None
        median = (15.0 if chat else 25.0) * math.sqrt(self.scale)
        return _lognormal_ms(rng, median, 0.7, 2.0, MAX_ACW_MS / 1000)

    def patience_ms(self, rng: random.Random, chat: bool, transferred: bool = False) -> int:
        """How long a customer waits in queue before hanging up (some give up at once)."""
        if not transferred and rng.random() < 0.15:
            return rng.randint(1000, 12000)
        mean_s = (300.0 if chat else 150.0) * (1.5 if transferred else 1.0)
        value_s = rng.expovariate(1.0 / mean_s)
        return int(1000 * min(1800.0 if chat else 1200.0, max(3.0, value_s)))

    def holds_ms(self, rng: random.Random) -> list[int]:
        roll = rng.random()
        n = 0 if roll < 0.68 else 1 if roll < 0.90 else 2 if roll < 0.98 else 3
        return [rng.randint(8000, 90000) for _ in range(n)]

    def ring_ms(self, rng: random.Random, chat: bool) -> int:
        return rng.randint(1000, 6000) if chat else rng.randint(2000, 8000)
