"""The workforce plan: when each agent logs in and out, takes breaks, and misbehaves.

Real shifts are untidy, and the job must cope: some agents start late or leave early, some
close the browser and simply vanish (their events stop without a LOGOUT), some get another
routing profile mid-shift. Runs of up to five hours keep everyone on for the whole run; longer
runs stagger 8.5-hour shifts with a lunch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

from tools.sim.center import Center, RoutingProfile, StatusDef
from tools.sim.config import SimConfig

MINUTE = 60_000
HOUR = 60 * MINUTE
SHORT_RUN_MS = 5 * HOUR
SHIFT_MS = 8 * HOUR + 30 * MINUTE


@dataclass(frozen=True)
class Activity:
    """A planned custom status (break, lunch, training...), taken once the agent is free."""

    start_ms: int
    status: StatusDef
    duration_ms: int


@dataclass(frozen=True)
class AgentPlan:
    login_ms: int
    shift_end_ms: int
    activities: tuple[Activity, ...]
    vanish_ms: Optional[int]  # browser closed: events just stop
    profile_change: Optional[tuple[int, RoutingProfile]]
    miss_prob: float  # chance the agent lets an offered contact ring out
    late_start: bool
    early_leave: bool


def _activities(rng: random.Random, center: Center, login: int, end: int) -> tuple[Activity, ...]:
    span = end - login
    lo, hi = login + 10 * MINUTE, end - 15 * MINUTE
    if hi <= lo:
        return ()
    wanted: list[tuple[int, str, int]] = []

    def at(frac: float) -> int:
        return min(hi, max(lo, login + int(span * frac)))

    if span >= 6 * HOUR:
        wanted.append((at(rng.uniform(0.42, 0.55)), "Lunch", 30 * MINUTE))
        for frac in (0.22, 0.78):
            wanted.append((at(frac + rng.uniform(-0.05, 0.05)), "Break",
                           rng.randint(10, 15) * MINUTE))
    elif span >= 40 * MINUTE and rng.random() < 0.5:
        wanted.append((rng.randint(lo, hi), "Break", rng.randint(8, 15) * MINUTE))
    if rng.random() < 0.08:
        wanted.append((rng.randint(lo, hi), rng.choice(("Training", "Meeting")),
                       rng.randint(15, 30) * MINUTE))
    if rng.random() < 0.10:
        wanted.append((rng.randint(lo, hi), "Admin", rng.randint(8, 20) * MINUTE))
    chosen: list[Activity] = []
    busy_until = 0
    for start, name, duration in sorted(wanted):
        if start >= busy_until and start + duration <= end:
            chosen.append(Activity(start, center.custom[name], duration))
            busy_until = start + duration + 5 * MINUTE
    return tuple(chosen)


def _pick(rng: random.Random, n: int, share: float, at_least: int = 0) -> set[int]:
    """Which of ``n`` agents show a behaviour: ``share`` of them, at least ``at_least``."""
    count = min(n, max(at_least if n >= 5 else 0, round(share * n)))
    return set(rng.sample(range(n), count))


def plan_workforce(rng: random.Random, center: Center, cfg: SimConfig) -> tuple[AgentPlan, ...]:
    start, duration = cfg.start_ms, cfg.duration_s * 1000
    n = len(center.agents)
    late_starters, early_leavers = _pick(rng, n, 0.15), _pick(rng, n, 0.10)
    vanishers, changers = _pick(rng, n, 0.04, at_least=1), _pick(rng, n, 0.06, at_least=1)
    plans = []
    for k in range(n):
        if duration <= SHORT_RUN_MS:
            shift_start, shift_end = start, start + duration
        else:
            shift_ms = min(SHIFT_MS, duration)
            frac = (k + rng.random()) / n
            shift_start = start + int(frac * (duration - shift_ms))
            shift_end = shift_start + shift_ms
        span = shift_end - shift_start
        login = shift_start + rng.randint(0, 90_000)
        late = k in late_starters
        if late:
            login = shift_start + rng.randint(5 * MINUTE, max(5 * MINUTE, min(30 * MINUTE,
                                                                             span // 4)))
        end = shift_end + rng.randint(0, 120_000)
        early = k in early_leavers and span >= 30 * MINUTE
        if early:
            end = max(login + 10 * MINUTE, shift_start + int(span * rng.uniform(0.6, 0.9)))
        vanish = None
        if k in vanishers:
            vanish = rng.randint(login + (end - login) // 5, end - (end - login) // 10)
        change = None
        if k in changers and len(center.profiles) > 1:
            current = center.initial_profiles[k]
            other = rng.choice([p for p in center.profiles if p is not current])
            change = (rng.randint(login + (end - login) // 4, end - (end - login) // 4), other)
        plans.append(AgentPlan(login, end, _activities(rng, center, login, end), vanish, change,
                               rng.uniform(0.01, 0.06), late, early))
    return tuple(plans)
