"""The simulator's own record of what happened: the ground truth the reference metrics use.

Contact segments carry their true millisecond timestamps; ``ctr_facts`` derives the whole-second
values a contact trace record reports (Connect truncates CTR timestamps to the second and
computes ``Queue.Duration`` and friends from them). Agents carry the timeline of the events
Connect emitted for them: what their snapshot said, and when. Delivery artefacts (duplicates,
malformed lines, shuffling) are counted here but never change the truth.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from tools.sim.timefmt import floor_s, iso_output

if TYPE_CHECKING:
    from tools.sim.center import AgentIdentity, Center, Queue, RoutingProfile
    from tools.sim.config import SimConfig


FEED_FILES = {"contact_events": "contact_events.jsonl", "ctrs": "ctrs.jsonl",
              "agent_events": "agent_events.jsonl"}


class Customer(NamedTuple):
    """The person behind a contact; every field is made-up PII the job must never emit."""

    phone: str
    name: str
    email: str
    account: str


class Segment:
    """One contact segment (one ContactId): Connect starts a new one on every transfer."""

    __slots__ = (
        "contact_id", "initial_id", "previous_id", "next_id", "channel", "method", "customer",
        "coarse", "initiation_ms", "connected_to_system_ms", "queue", "enqueue_ms", "dequeue_ms",
        "agent", "agent_profile", "connected_ms", "holds", "agent_end_ms", "acw_end_ms",
        "disconnect_ms", "disconnect_reason", "transfer_completed_ms", "transferred_to",
        "attempts", "last_update_ms", "queued_signal", "connected_signal", "attributes",
        "outcome", "state", "token", "offered_to", "patience_ms", "dup_plan", "late_prelim",
        "ctr_delivery_ms",
    )

    def __init__(self, contact_id: str, channel: str, method: str, initiation_ms: int,
                 customer: Customer, initial_id: Optional[str] = None,
                 previous_id: Optional[str] = None, coarse: bool = False):
        self.contact_id = contact_id
        self.initial_id = initial_id or contact_id
        self.previous_id = previous_id
        self.next_id: Optional[str] = None
        self.channel = channel
        self.method = method
        self.customer = customer
        self.coarse = coarse  # this contact's events carry whole-second timestamps
        self.initiation_ms = initiation_ms
        self.connected_to_system_ms: Optional[int] = None
        self.queue: Optional[Queue] = None
        self.enqueue_ms: Optional[int] = None
        self.dequeue_ms: Optional[int] = None
        self.agent: Optional[AgentIdentity] = None
        self.agent_profile: Optional[RoutingProfile] = None
        self.connected_ms: Optional[int] = None
        self.holds: list[tuple[int, int]] = []
        self.agent_end_ms: Optional[int] = None  # agent leg over: ACW starts (if any)
        self.acw_end_ms: Optional[int] = None  # None: no ACW
        self.disconnect_ms: Optional[int] = None
        self.disconnect_reason: Optional[str] = None
        self.transfer_completed_ms: Optional[int] = None
        self.transferred_to: Optional[str] = None
        self.attempts = 0
        self.last_update_ms: Optional[int] = None
        # the enqueue / connected-to-agent instant carried by the delivered QUEUED /
        # CONNECTED_TO_AGENT contact event (None: no such event was delivered)
        self.queued_signal: Optional[int] = None
        self.connected_signal: Optional[int] = None
        self.attributes: dict[str, str] = {}
        self.outcome = "open"
        # runtime bookkeeping of the simulation
        self.state = "NEW"
        self.token = 0
        self.offered_to: Any = None
        self.patience_ms = 0
        self.dup_plan = 0
        self.late_prelim: Optional[bytes] = None
        self.ctr_delivery_ms: Optional[int] = None  # when the final CTR copy reached its feed

    def stamp(self, ms: int) -> int:
        """A lifecycle instant as this contact reports it (whole seconds for coarse contacts)."""
        return floor_s(ms) if self.coarse else ms


class CtrFacts(NamedTuple):
    """The metric-relevant values of a segment's final CTR, exactly as the CTR states them."""

    contact_id: str
    channel: str
    initiation_method: str
    disconnect_ms: int
    last_update_ms: int
    queue_arn: Optional[str]
    queue_name: Optional[str]
    enqueue_ms: Optional[int]
    dequeue_ms: Optional[int]
    queue_duration: Optional[int]
    agent_arn: Optional[str]
    agent_username: Optional[str]
    agent_routing_profile: Optional[str]
    agent_hierarchy: Optional[tuple[str, ...]]
    connected_ms: Optional[int]
    interaction: Optional[int]
    hold: Optional[int]
    longest_hold: Optional[int]
    number_of_holds: Optional[int]
    acw_start_ms: Optional[int]
    acw_end_ms: Optional[int]
    acw: Optional[int]
    next_contact_id: Optional[str]
    transfer_completed_ms: Optional[int]


def _secs(ms: int) -> int:
    return (ms + 500) // 1000


def ctr_facts(seg: Segment, last_update_ms: Optional[int] = None) -> CtrFacts:
    """Whole-second CTR values: durations are differences of the truncated timestamps."""
    last_update = seg.last_update_ms if last_update_ms is None else last_update_ms
    assert seg.disconnect_ms is not None and last_update is not None
    queue = seg.queue
    enqueue = floor_s(seg.enqueue_ms) if seg.enqueue_ms is not None else None
    dequeue = floor_s(seg.dequeue_ms) if seg.dequeue_ms is not None else None
    if queue is None:
        duration = None
    elif enqueue is None:
        duration = 0  # outbound: a queue (the default outbound queue) but no wait
    else:
        duration = ((dequeue if dequeue is not None else enqueue) - enqueue) // 1000
    agent = seg.agent
    username = profile_name = hierarchy = None
    connected = interaction = hold = longest = n_holds = None
    acw_start = acw_end = acw = None
    if agent is not None:
        username = agent.username
        profile_name = seg.agent_profile.name if seg.agent_profile else None
        hierarchy = tuple(g.name for g in agent.hierarchy) or None
        holds = [_secs(end - start) for start, end in seg.holds]
        hold, n_holds, longest = sum(holds), len(holds), max(holds, default=0)
        interaction = 0
        if seg.connected_ms is not None:
            connected = floor_s(seg.connected_ms)
            assert seg.agent_end_ms is not None
            interaction = max(0, (floor_s(seg.agent_end_ms) - connected) // 1000 - hold)
        if seg.acw_end_ms is not None:
            assert seg.agent_end_ms is not None
            acw_start, acw_end = floor_s(seg.agent_end_ms), floor_s(seg.acw_end_ms)
            acw = (acw_end - acw_start) // 1000
    return CtrFacts(
        seg.contact_id, seg.channel, seg.method, floor_s(seg.disconnect_ms),
        floor_s(last_update), queue.arn if queue else None, queue.name if queue else None,
        enqueue, dequeue, duration, agent.arn if agent else None, username, profile_name,
        hierarchy, connected, interaction, hold, longest, n_holds, acw_start, acw_end, acw,
        seg.next_id,
        floor_s(seg.transfer_completed_ms) if seg.transfer_completed_ms is not None else None,
    )


class AgentConfigTruth(NamedTuple):
    username: str
    routing_profile: str
    hierarchy: Optional[tuple[str, ...]]  # level names, Level1 first


class AgentEventTruth(NamedTuple):
    """One agent event as Connect emitted it (its CurrentAgentSnapshot, reduced)."""

    ts: int
    event_type: str
    status_type: str  # ROUTABLE, CUSTOM, OFFLINE
    status_name: str
    contacts: tuple[tuple[str, str], ...]  # (ContactId, State)
    config: int  # index into Truth.agent_configs[arn]


class Truth:
    """Everything the reference computation and the self-checks need about one run."""

    def __init__(self, center: Center, config: SimConfig):
        self.center = center
        self.config = config
        self.segments: list[Segment] = []
        self.agent_events: dict[str, list[AgentEventTruth]] = {a.arn: [] for a in center.agents}
        self.agent_configs: dict[str, list[AgentConfigTruth]] = {a.arn: [] for a in center.agents}
        self.counts: Counter[str] = Counter()
        self.pii: dict[str, set[str]] = {"phone_numbers": set(), "customer_names": set(),
                                         "emails": set(), "account_numbers": set()}
        self.first_event_ms: Optional[int] = None
        self.last_event_ms: Optional[int] = None

    def add_customer(self, customer: Customer) -> None:
        self.pii["phone_numbers"].add(customer.phone)
        self.pii["customer_names"].add(customer.name)
        self.pii["emails"].add(customer.email)
        self.pii["account_numbers"].add(customer.account)

    def saw_event_time(self, ms: int) -> None:
        if self.first_event_ms is None or ms < self.first_event_ms:
            self.first_event_ms = ms
        if self.last_event_ms is None or ms > self.last_event_ms:
            self.last_event_ms = ms

    def final_ctrs(self) -> list[CtrFacts]:
        return [ctr_facts(s) for s in self.segments if s.last_update_ms is not None]

    def summary(self) -> dict[str, Any]:
        """The JSON-able counts written to ``truth.json``."""
        facts = self.final_ctrs()
        by_method = Counter(f.initiation_method for f in facts)
        by_channel = Counter(f.channel for f in facts)
        queued = [f for f in facts if f.enqueue_ms is not None]
        handled = [f for f in facts if f.connected_ms is not None]
        abandoned = [f for f in queued if f.connected_ms is None and f.next_contact_id is None
                     and f.transfer_completed_ms is None]
        files: dict[str, dict[str, Any]] = {}
        for key, value in sorted(self.counts.items()):
            stream, _, what = key.partition(".")
            if stream in FEED_FILES:
                files.setdefault(FEED_FILES[stream], {})[what] = value
        cfg = self.config
        return {
            "config": {
                "seed": cfg.seed, "agents": cfg.agents, "contacts": cfg.contacts,
                "start": iso_output(cfg.start_ms), "duration_s": cfg.duration_s,
                "queues": cfg.queues, "faults": cfg.faults.__dict__,
            },
            "files": files,
            "time_range": {
                "first_event": iso_output(self.first_event_ms) if self.first_event_ms else None,
                "last_event": iso_output(self.last_event_ms) if self.last_event_ms else None,
            },
            "contacts": {
                "segments": len(facts),
                "initial_contacts": sum(1 for s in self.segments if s.previous_id is None),
                "by_initiation_method": dict(sorted(by_method.items())),
                "by_channel": dict(sorted(by_channel.items())),
                "by_outcome": dict(sorted(Counter(s.outcome for s in self.segments).items())),
                "queued": len(queued),
                "handled": len(handled),
                "abandoned": len(abandoned),
                "on_hold": sum(1 for f in handled if f.number_of_holds),
                "transferred_out": sum(1 for f in facts if (f.connected_ms is not None
                                                            and f.next_contact_id)
                                       or f.transfer_completed_ms is not None),
                "missed_or_rejected_offers": self.counts["sim.missed_offers"],
                "outbound_intents_dropped": self.counts["sim.outbound_dropped"],
            },
            "agents": {
                "count": len(self.center.agents),
                "events": sum(len(v) for v in self.agent_events.values()),
                "vanished": self.counts["sim.agents_vanished"],
                "late_starters": self.counts["sim.late_starters"],
                "early_leavers": self.counts["sim.early_leavers"],
                "profile_changes": self.counts["sim.profile_changes"],
                "list": [{"arn": a.arn, "username": a.username,
                          "routing_profile": p.name} for a, p in
                         zip(self.center.agents, self.center.initial_profiles)],
            },
            "queues": [{"arn": q.arn, "name": q.name, "channels": list(q.channels)}
                       for q in (*self.center.queues, self.center.outbound_queue)],
            "pii": {k: sorted(v) for k, v in self.pii.items()},
        }
