"""How many agents the demo's simulated center schedules for its load (Erlang C).

Why: a demo whose center is staffed far below its load shows only abandons; a real center
plans its agents for a service level (here 80 % answered within 20 s) from the forecast load,
plus shrinkage (breaks, late starts, missed offers). The load comes from the simulator's own
workload model at realistic handle times (``handle_scale`` 1.0), so the two agree.
"""

from __future__ import annotations

import math

from tools.sim.workload import _BASE_HANDLE_S, KIND_MIX

TARGET_SERVICE_LEVEL = 0.80
TARGET_ANSWER_S = 20.0
#: Planned share of paid time agents are not routable: a break in about half of the short
#: shifts, late starts and early leaves, rings that are missed, agents split over queues.
SHRINKAGE = 0.10
MIN_AGENTS = 3


def offered_load(contacts_per_hour: float, handle_scale: float = 1.0) -> tuple[float, float]:
    """(Erlangs, mean agent-seconds per contact) of the simulator's contact mix."""
    aht = sum(w * _BASE_HANDLE_S[kind] for kind, w in KIND_MIX) * handle_scale
    return contacts_per_hour * aht / 3600.0, aht


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a contact waits (Erlang C), 1.0 when the agents cannot carry the load."""
    if agents <= erlangs:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < agents
    for k in range(1, agents):
        term *= erlangs / k
        total += term
    term *= erlangs / agents
    top = term * agents / (agents - erlangs)
    return top / (total + top)


def service_level(agents: int, erlangs: float, aht_s: float,
                  answer_s: float = TARGET_ANSWER_S) -> float:
    """Share of contacts answered within ``answer_s`` (Erlang C's waiting-time distribution)."""
    if agents <= erlangs:
        return 0.0
    return 1.0 - erlang_c(agents, erlangs) * math.exp(-(agents - erlangs) * answer_s / aht_s)


def agents_for(contacts_per_hour: float, target: float = TARGET_SERVICE_LEVEL,
               answer_s: float = TARGET_ANSWER_S, shrinkage: float = SHRINKAGE) -> int:
    """Scheduled agents for ``contacts_per_hour``: the fewest routable agents that reach the
    target service level, grossed up for shrinkage."""
    erlangs, aht = offered_load(contacts_per_hour)
    routable = max(1, math.ceil(erlangs))
    while service_level(routable, erlangs, aht, answer_s) < target:
        routable += 1
    return max(MIN_AGENTS, math.ceil(routable / (1.0 - shrinkage)))
