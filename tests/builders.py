"""Builders for the job's internal records (``udfs.records``) with readable defaults.

Unit tests of the state logic build ContactRecord / ContactEvent / AgentEvent values here, naming
only the fields a test is about. Times are epoch milliseconds relative to ``T0`` (a whole minute,
and a whole hour, UTC) so expected windows can be computed by hand: ``T0 + 90 * S`` lies in the
second 60 s window after T0.
"""

from __future__ import annotations

from typing import Optional

from udfs.records import (
    AVAILABLE,
    CUSTOM,
    OFFLINE,
    AgentConfig,
    AgentContact,
    AgentEvent,
    ContactEvent,
    ContactRecord,
)

T0 = 1_705_305_600_000  # 2024-01-15T08:00:00Z
S = 1_000  # one second in ms
MIN = 60 * S
W = MIN  # the default 60 s window
LATENESS = 15 * MIN  # the default allowed lateness
TIMEOUT = 240 * S  # the default agent timeout (two missed heartbeats)
THRESHOLDS = (15, 20, 30, 60, 90, 120)

INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/i-1"
QUEUE_A = f"{INSTANCE}/queue/qa"
QUEUE_B = f"{INSTANCE}/queue/qb"
AGENT_A = f"{INSTANCE}/agent/aa"
AGENT_B = f"{INSTANCE}/agent/ab"

_QUEUE_FIELDS = ("queue_arn", "queue_name", "enqueue_ms", "dequeue_ms", "queue_duration")
_AGENT_FIELDS = (
    "agent_arn", "agent_username", "agent_routing_profile", "agent_hierarchy",
    "connected_to_agent_ms", "agent_interaction_duration", "customer_hold_duration",
    "after_contact_work_duration", "number_of_holds", "longest_hold_duration",
)


def ctr(contact_id: str = "c1", *, at: int = T0 + 90 * S, updated: Optional[int] = None,
        queue: bool = True, agent: bool = True, **fields: object) -> ContactRecord:
    """A CTR copy disconnected at ``at`` (its event time), last updated ``updated``.

    By default the contact was queued in QUEUE_A ("Sales") for 20 s and handled by AGENT_A
    (50 s talk, 10 s ACW, no hold). ``queue=False`` / ``agent=False`` leave the Queue / Agent
    object out (all its fields None); ``fields`` override any ContactRecord field by name.
    """
    enqueue = at - 80 * S
    connected = enqueue + 20 * S
    rec = ContactRecord(
        contact_id=contact_id,
        last_update_ms=at + MIN if updated is None else updated,
        event_ms=at,
        channel="VOICE",
        initiation_method="INBOUND",
        initial_contact_id=None,
        previous_contact_id=None,
        next_contact_id=None,
        initiation_ms=enqueue - 10 * S,
        connected_to_system_ms=enqueue - 10 * S,
        disconnect_ms=at,
        disconnect_reason="CUSTOMER_DISCONNECT",
        transfer_completed_ms=None,
        queue_arn=QUEUE_A,
        queue_name="Sales",
        enqueue_ms=enqueue,
        dequeue_ms=connected,
        queue_duration=20.0,
        agent_arn=AGENT_A,
        agent_username="ctr-user",
        agent_routing_profile="CTR Profile",
        agent_hierarchy=("CTR Site",),
        connected_to_agent_ms=connected,
        agent_interaction_duration=50.0,
        customer_hold_duration=0.0,
        after_contact_work_duration=10.0,
        number_of_holds=0,
        longest_hold_duration=0.0,
    )
    cleared: dict[str, object] = {}
    if not queue:
        cleared.update(dict.fromkeys(_QUEUE_FIELDS))
    if not agent:
        cleared.update(dict.fromkeys(_AGENT_FIELDS))
    return rec._replace(**{**cleared, **fields})


def contact_event(event_type: str, contact_id: str = "c1", *, at: int = T0 + 30 * S,
                  queue: Optional[str] = QUEUE_A, channel: Optional[str] = "VOICE",
                  **fields: object) -> ContactEvent:
    """A contact event at ``at``; QUEUED / CONNECTED_TO_AGENT carry their own timestamp = at."""
    ev = ContactEvent(
        contact_id=contact_id,
        event_type=event_type,
        event_ms=at,
        channel=channel,
        initiation_method="INBOUND",
        queue_arn=queue,
        agent_arn=AGENT_A if event_type == "CONNECTED_TO_AGENT" else None,
        initial_contact_id=None,
        previous_contact_id=None,
        initiation_ms=None,
        enqueue_ms=at if event_type == "QUEUED" else None,
        connected_to_agent_ms=at if event_type == "CONNECTED_TO_AGENT" else None,
        disconnect_ms=at if event_type == "DISCONNECTED" else None,
    )
    return ev._replace(**fields)


def agent_config(username: str = "jdoe", profile: str = "Basic",
                 hierarchy: Optional[tuple[str, ...]] = ("Site", "Team")) -> AgentConfig:
    return AgentConfig(
        username=username,
        first_name="Jane",
        last_name="Doe",
        routing_profile_arn=f"{INSTANCE}/routing-profile/{profile.lower()}",
        routing_profile_name=profile,
        inbound_queues=((QUEUE_A, "Sales"),),
        default_outbound_queue=(QUEUE_A, "Sales"),
        hierarchy=hierarchy,
    )


CONFIG_A = agent_config()
CONFIG_B = agent_config("jdoe2", "Premium", ("Site", "Team B"))

_STATUS_NAMES = {AVAILABLE: "Available", CUSTOM: "Break", OFFLINE: "Offline"}
_UNSET: object = object()


def agent_event(event_id: str, at: int, *, status: Optional[str] = AVAILABLE,
                event_type: str = "STATE_CHANGE", contacts: tuple[tuple[str, str], ...] = (),
                config: object = _UNSET, agent: str = AGENT_A) -> AgentEvent:
    """An agent event; ``contacts`` are (contact id, state) pairs; config defaults to CONFIG_A."""
    return AgentEvent(
        event_id=event_id,
        agent_arn=agent,
        event_type=event_type,
        event_ms=at,
        status=status,
        status_name=_STATUS_NAMES.get(status or "", None),
        contacts=tuple(AgentContact(cid, state, "VOICE", at) for cid, state in contacts),
        config=CONFIG_A if config is _UNSET else config,  # type: ignore[arg-type]
    )
