"""A seeded Amazon Connect contact-center simulator (contact events, CTRs, agent events).

``simulate(SimConfig(...))`` runs a center in memory; ``Simulation(cfg).records()`` streams the
delivered lines of big runs; ``Simulation.truth`` is the ground truth for ``tools.reference``.
"""

from tools.sim.config import FaultConfig, SimConfig
from tools.sim.delivery import AGENT_EVENTS, CONTACT_EVENTS, CTRS, FILE_NAMES, DeliveredRecord
from tools.sim.simulation import Simulation, SimulationResult, simulate
from tools.sim.truth import Truth

__all__ = [
    "AGENT_EVENTS", "CONTACT_EVENTS", "CTRS", "FILE_NAMES", "DeliveredRecord", "FaultConfig",
    "SimConfig", "Simulation", "SimulationResult", "Truth", "simulate",
]
