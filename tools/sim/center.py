"""The static configuration of the simulated Amazon Connect instance.

Queues, routing profiles (queue sets and channel concurrency), agent statuses, the agent
hierarchy and the agents' identities: everything an admin sets up in the Connect console and
that the feeds echo back (ARNs, names, usernames). Built once per seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

from tools.sim.ids import ACCOUNT_ID, REGION, instance_arn, new_uuid

VOICE = "VOICE"
CHAT = "CHAT"

ROUTABLE = "ROUTABLE"
CUSTOM = "CUSTOM"
OFFLINE = "OFFLINE"

QUEUE_NAMES = (
    "Sales", "Customer Support", "Billing", "Technical Support", "Retention", "Claims",
    "Onboarding", "Premium Support", "Collections", "Returns", "Spanish Support", "Escalations",
)
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Aiden", "Evelyn", "Kai", "Priya", "Wei",
    "Fatima", "Diego", "Chloe", "Omar", "Zoe", "Hiro", "Nora", "Samir", "Lena", "Tomas",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Nguyen", "Brown", "Davis", "Martinez", "Lopez", "Wilson",
    "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young", "King",
    "Patel", "Kim", "Chen", "Okafor", "Silva", "Novak", "Murphy", "Rossi", "Haddad", "Berg",
)
CUSTOM_STATUS_NAMES = ("Break", "Lunch", "Training", "Meeting", "Admin")
HIERARCHY = (("North America", ("Seattle", "Dallas")), ("EMEA", ("Dublin",)))


@dataclass(frozen=True)
class Queue:
    arn: str
    name: Optional[str]  # agent queues have no name
    channels: tuple[str, ...]
    queue_type: str  # STANDARD or AGENT
    phone: Optional[str]  # the number customers dial (SystemEndpoint), None for agent queues


@dataclass(frozen=True)
class RoutingProfile:
    arn: str
    name: str
    queues: tuple[Queue, ...]
    chat_slots: int  # 0 = the profile takes no chats; voice is always 1 slot
    default_outbound: Queue

    def serves(self, queue: Queue, channel: str) -> bool:
        if channel == CHAT and not self.chat_slots:
            return False
        return queue in self.queues and channel in queue.channels


@dataclass(frozen=True)
class HierarchyGroup:
    arn: str
    name: str


@dataclass(frozen=True)
class StatusDef:
    arn: str
    name: str
    type: str  # ROUTABLE, CUSTOM or OFFLINE


@dataclass(frozen=True)
class AgentIdentity:
    arn: str
    agent_id: str
    username: str
    first_name: str
    last_name: str
    hierarchy: tuple[HierarchyGroup, ...]  # Level1 first; empty = no hierarchy
    agent_queue: Queue  # the per-agent queue used for transfers to this agent


@dataclass(frozen=True)
class Center:
    instance_id: str
    instance_arn: str
    queues: tuple[Queue, ...]  # standard inbound queues
    outbound_queue: Queue
    profiles: tuple[RoutingProfile, ...]
    available: StatusDef
    offline: StatusDef
    custom: dict[str, StatusDef]
    agents: tuple[AgentIdentity, ...]
    initial_profiles: tuple[RoutingProfile, ...]  # per agent, same order as ``agents``

    @property
    def account_id(self) -> str:
        return ACCOUNT_ID

    @property
    def region(self) -> str:
        return REGION


def _queue_name(i: int) -> str:
    return QUEUE_NAMES[i] if i < len(QUEUE_NAMES) else f"Queue {i + 1}"


def build_center(rng: random.Random, n_agents: int, n_queues: int) -> Center:
    """A plausible instance: every queue is served by a team profile, plus generalists."""
    instance_id = new_uuid(rng)
    base = instance_arn(instance_id)
    n_queues = max(1, n_queues)
    queues = []
    for i in range(n_queues):
        omni = i == 0 or rng.random() < 0.75
        channels = (VOICE, CHAT) if omni else (VOICE,)
        phone = f"+1800555{1000 + i:04d}"
        queues.append(Queue(f"{base}/queue/{new_uuid(rng)}", _queue_name(i), channels, "STANDARD",
                            phone))
    outbound = Queue(f"{base}/queue/{new_uuid(rng)}", "Outbound", (VOICE,), "STANDARD",
                     "+18005559999")

    profiles = []
    for i, queue in enumerate(queues):
        served = (queue,) if n_queues == 1 else (queue, queues[(i + 1) % n_queues])
        takes_chat = any(CHAT in q.channels for q in served) and rng.random() < 0.7
        profiles.append(RoutingProfile(f"{base}/routing-profile/{new_uuid(rng)}",
                                       f"{queue.name} Team", served,
                                       rng.choice((2, 3)) if takes_chat else 0, outbound))
    generalist = RoutingProfile(f"{base}/routing-profile/{new_uuid(rng)}", "Generalist",
                                tuple(queues), 3, outbound)
    profiles.append(generalist)

    available = StatusDef(f"{base}/agent-state/{new_uuid(rng)}", "Available", ROUTABLE)
    offline = StatusDef(f"{base}/agent-state/{new_uuid(rng)}", "Offline", OFFLINE)
    custom = {name: StatusDef(f"{base}/agent-state/{new_uuid(rng)}", name, CUSTOM)
              for name in CUSTOM_STATUS_NAMES}

    groups: dict[str, HierarchyGroup] = {}

    def group(name: str) -> HierarchyGroup:
        if name not in groups:
            groups[name] = HierarchyGroup(f"{base}/agent-group/{new_uuid(rng)}", name)
        return groups[name]

    agents, initial = [], []
    usernames: set[str] = set()
    for k in range(n_agents):
        agent_id = new_uuid(rng)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first[0]}{last}".lower()
        while username in usernames:
            username = f"{first[0]}{last}{rng.randint(2, 99)}".lower()
        usernames.add(username)
        roll = rng.random()
        if roll < 0.10:
            hierarchy: tuple[HierarchyGroup, ...] = ()
        else:
            region, sites = HIERARCHY[0] if rng.random() < 0.7 else HIERARCHY[1]
            site = rng.choice(sites)
            levels = [group(region), group(site)]
            if roll >= 0.15:
                levels.append(group(f"{site} Team {rng.randint(1, 3)}"))
            hierarchy = tuple(levels)
        agent_queue = Queue(f"{base}/queue/agent/{agent_id}", None, (VOICE, CHAT), "AGENT", None)
        agents.append(AgentIdentity(f"{base}/agent/{agent_id}", agent_id, username, first, last,
                                    hierarchy, agent_queue))
        initial.append(generalist if rng.random() < 0.2 else profiles[k % n_queues])
    return Center(instance_id, base, tuple(queues), outbound, tuple(profiles), available, offline,
                  custom, tuple(agents), tuple(initial))
