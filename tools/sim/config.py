"""What a simulation run is asked to produce: the center's size, its timeline and its faults."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from tools.sim.timefmt import parse_iso

DEFAULT_START = "2024-01-15T08:00:00Z"


@dataclass(frozen=True)
class FaultConfig:
    """Delivery imperfections of the real feeds; each share is a probability per record.

    ``out_of_order_s`` bounds how far contact events are shuffled around their event time.

    Long after-contact work (SPEC §3: Connect writes a CTR only when ACW ends): ``long_acw``
    contacts get 5-60 min of ACW, ``delayed_ctrs`` final CTRs are exported up to the CTR
    lateness minus ``CTR_LATENESS_MARGIN_S`` after their disconnect (both must count, as window
    revisions), and ``very_late_ctrs`` are exported more than the CTR lateness plus twice the
    margin after it, while the feeds run on (the job must dead-letter them as late; they never
    get another copy). ``ctr_lateness_s`` is the job's ``--ctr-allowed-lateness`` these aim at.
    """

    ctr_duplicates: float = 0.05  # CTRs delivered 2-3x (exact copies and older preliminary copies)
    late_redeliveries: float = 0.01  # CTRs re-delivered as exact copies minutes to hours later
    out_of_order_s: float = 20.0
    agent_duplicates: float = 0.01  # agent events delivered twice (same EventId)
    event_duplicates: float = 0.01  # contact events delivered twice (EventBridge at-least-once)
    dropped_events: float = 0.002  # contact events never delivered (best effort)
    malformed: float = 0.005  # extra malformed lines, as a share of the good lines of each file
    long_acw: float = 0.0  # handled contacts with 5-60 min of ACW (their CTR comes that late)
    delayed_ctrs: float = 0.0  # final CTRs exported late, but within the CTR lateness
    very_late_ctrs: float = 0.0  # final CTRs exported beyond the CTR lateness (dead letters)
    ctr_lateness_s: int = 7200  # the CTR allowed lateness the delays above aim at

    @classmethod
    def none(cls) -> FaultConfig:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def long_after_contact_work(cls, ctr_lateness_s: int = 7200) -> FaultConfig:
        """The long-ACW fault mode: the default faults plus ACW up to 60 min and CTR exports
        delayed up to (and some beyond) the CTR lateness."""
        return cls(long_acw=0.08, delayed_ctrs=0.05, very_late_ctrs=0.02,
                   ctr_lateness_s=ctr_lateness_s)


CTR_LATENESS_MARGIN_S = 300  # the delays stay this far from the CTR lateness (watermark lag)
MAX_LONG_ACW_S = 3600


@dataclass(frozen=True)
class SimConfig:
    """One simulation run; equal configs give byte-identical output."""

    seed: int = 1
    agents: int = 20
    contacts: int = 400
    start_ms: int = field(default_factory=lambda: parse_iso(DEFAULT_START))
    duration_s: int = 3600
    queues: int = 4
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Talk/ACW time multiplier; None = fitted to the agents and contacts (``Workload``). The
    #: demo sets 1.0 (realistic handle times) and staffs the center for them instead.
    handle_scale: Optional[float] = None
    #: A rush: (seconds after start, length in seconds, arrival-rate factor); None = none.
    rush: Optional[tuple[int, int, float]] = None

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_s * 1000

    def with_faults(self, faults: FaultConfig) -> SimConfig:
        return replace(self, faults=faults)
