"""One seeded simulation run: wires the center, the workforce, the contacts and the feeds.

Randomness is split into named streams (center, workforce, arrivals, life, ids, render,
faults, malformed) so that, e.g., changing the fault shares does not change who calls when.
Nothing reads the wall clock: equal configs give byte-identical records.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from dataclasses import dataclass

from tools.sim.agent_event_payload import AgentEventRenderer
from tools.sim.agents import AgentRuntime, AgentServices
from tools.sim.center import Center, build_center
from tools.sim.config import SimConfig
from tools.sim.contact_event_feed import ContactEventFeed
from tools.sim.contacts import ContactLifecycle
from tools.sim.ctr_feed import CtrFeed
from tools.sim.delivery import AGENT_EVENTS, CONTACT_EVENTS, CTRS, DeliveredRecord, DeliveryQueue
from tools.sim.engine import Scheduler
from tools.sim.routing import Router
from tools.sim.schedule import plan_workforce
from tools.sim.truth import Truth
from tools.sim.workload import Workload

HORIZON_SLACK_MS = 2000


class Simulation:
    """Build with a config, iterate ``records()`` once; ``truth`` is complete afterwards."""

    def __init__(self, cfg: SimConfig):
        self.cfg = cfg
        rngs = {name: random.Random(f"{cfg.seed}:{name}") for name in (
            "center", "workforce", "arrivals", "life", "ids", "render", "faults", "malformed")}
        self.center: Center = build_center(rngs["center"], cfg.agents, cfg.queues)
        self.plans = plan_workforce(rngs["workforce"], self.center, cfg)
        self.workload = Workload(cfg, self.plans)
        self.truth = Truth(self.center, cfg)
        self.sched = Scheduler(cfg.start_ms)
        faults = cfg.faults
        horizon = int(faults.out_of_order_s * 1000) + HORIZON_SLACK_MS
        self.delivery = DeliveryQueue(self.truth, faults.malformed, rngs["malformed"], horizon)
        svc = AgentServices(self.sched, self.truth, self.delivery,
                            AgentEventRenderer(self.center, rngs["render"]), rngs["life"],
                            rngs["ids"], rngs["faults"], faults.agent_duplicates, cfg.end_ms)
        self.agents = [
            AgentRuntime(svc, i, ident, plan, profile, self.center.available, self.center.offline)
            for i, (ident, plan, profile) in enumerate(
                zip(self.center.agents, self.plans, self.center.initial_profiles))
        ]
        self.router = Router(self.agents)
        svc.router = self.router
        events = ContactEventFeed(self.center, self.truth, self.delivery, faults, rngs["render"],
                                  rngs["ids"], rngs["faults"])
        ctrs = CtrFeed(self.center, self.sched, self.delivery, faults, rngs["life"],
                       rngs["faults"], cfg.end_ms)
        self.lifecycle = ContactLifecycle(self.center, self.sched, self.truth, self.router,
                                          self.agents, self.workload, events, ctrs,
                                          rngs["life"], rngs["ids"])
        self._schedule(rngs["arrivals"])
        self.finished = False
        self._started = False

    def _schedule(self, arrivals_rng: random.Random) -> None:
        at, counts = self.sched.at, self.truth.counts
        for agent, plan in zip(self.agents, self.plans):
            at(plan.login_ms, agent.login)
            for activity in plan.activities:
                at(activity.start_ms, agent.begin_activity, activity)
            at(plan.shift_end_ms, agent.end_shift)
            if plan.vanish_ms is not None:
                at(plan.vanish_ms, agent.vanish)
            if plan.profile_change is not None:
                at(plan.profile_change[0], agent.change_profile, plan.profile_change[1])
            counts["sim.late_starters"] += plan.late_start
            counts["sim.early_leavers"] += plan.early_leave
        self._arrivals = self.workload.arrivals(arrivals_rng)
        if self._arrivals:
            at(self._arrivals[0].at_ms, self._arrive, 0)

    def _arrive(self, i: int) -> None:
        """Arrivals are chained (each schedules the next) to keep the scheduler's heap small."""
        self.lifecycle.arrive(self._arrivals[i].kind)
        if i + 1 < len(self._arrivals):
            self.sched.at(self._arrivals[i + 1].at_ms, self._arrive, i + 1)

    @property
    def sim_now_ms(self) -> int:
        return self.sched.now

    def records(self) -> Iterator[DeliveredRecord]:
        """All lines of the three feeds, in delivery order (each file's order is its part)."""
        if self._started:
            raise RuntimeError("a Simulation can be iterated only once")
        self._started = True
        sched, delivery = self.sched, self.delivery
        horizon = delivery.horizon_ms
        pending = delivery.next_delivery_ms
        # Almost everything allocated here is acyclic and freed by reference counting; the
        # cyclic collector would only rescan the growing truth (a third of the run time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            while sched:
                t = sched.next_time()
                assert t is not None
                first = pending()
                if first is not None and first < t - horizon:
                    yield from delivery.due(t)
                sched.step()
            yield from delivery.drain()
            self.finished = True
        finally:
            if gc_was_enabled:
                gc.enable()


@dataclass
class SimulationResult:
    """A whole run in memory (fine up to ~100k records; stream ``Simulation.records`` above)."""

    records: list[DeliveredRecord]
    truth: Truth

    def lines(self, stream: str) -> list[str]:
        return [r.value.decode() for r in self.records if r.stream == stream]

    @property
    def contact_events(self) -> list[str]:
        return self.lines(CONTACT_EVENTS)

    @property
    def ctrs(self) -> list[str]:
        return self.lines(CTRS)

    @property
    def agent_events(self) -> list[str]:
        return self.lines(AGENT_EVENTS)


def simulate(cfg: SimConfig) -> SimulationResult:
    sim = Simulation(cfg)
    records = list(sim.records())
    return SimulationResult(records, sim.truth)
