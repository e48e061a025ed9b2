"""Compact internal records that flow between the job's operators.

The normalizers turn each raw Amazon Connect payload into exactly one of these (or a
``DeadLetter``). They are plain ``NamedTuple``s: cheap to build, cheap to pickle between Flink
operators, and readable in tests. Every timestamp is epoch milliseconds (``int``); every duration
is seconds (``float``); every enum-like string (channel, event type, state, initiation method) is
upper case. Customer PII (endpoint addresses, contact attributes) never enters a record.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

# Agent status classes (from AgentStatus.Type, else from AgentStatus.Name).
AVAILABLE = "AVAILABLE"
CUSTOM = "CUSTOM"
OFFLINE = "OFFLINE"

STREAM_CONTACT_EVENTS = "contact_events"
STREAM_CTRS = "ctrs"
STREAM_AGENT_EVENTS = "agent_events"


class ContactEvent(NamedTuple):
    """One Amazon Connect contact event (EventBridge envelope or bare ``detail``)."""

    contact_id: str
    event_type: str  # INITIATED, QUEUED, CONNECTED_TO_AGENT, DISCONNECTED, ... (upper case)
    event_ms: int  # event time per SPEC §2 (type-specific timestamp, else envelope ``time``)
    channel: Optional[str]  # VOICE / CHAT / TASK ...
    initiation_method: Optional[str]
    queue_arn: Optional[str]
    agent_arn: Optional[str]
    initial_contact_id: Optional[str]
    previous_contact_id: Optional[str]
    initiation_ms: Optional[int]
    enqueue_ms: Optional[int]
    connected_to_agent_ms: Optional[int]
    disconnect_ms: Optional[int]


class ContactRecord(NamedTuple):
    """The metric-relevant part of one contact trace record (CTR) copy."""

    contact_id: str
    last_update_ms: int
    event_ms: int  # DisconnectTimestamp, else LastUpdateTimestamp
    channel: Optional[str]
    initiation_method: Optional[str]
    initial_contact_id: Optional[str]
    previous_contact_id: Optional[str]
    next_contact_id: Optional[str]
    initiation_ms: Optional[int]
    connected_to_system_ms: Optional[int]
    disconnect_ms: Optional[int]
    disconnect_reason: Optional[str]
    transfer_completed_ms: Optional[int]
    # Queue (all None when the CTR has no Queue object)
    queue_arn: Optional[str]
    queue_name: Optional[str]
    enqueue_ms: Optional[int]
    dequeue_ms: Optional[int]
    queue_duration: Optional[float]  # Queue.Duration (seconds)
    # Agent (all None when the CTR has no Agent object)
    agent_arn: Optional[str]
    agent_username: Optional[str]
    agent_routing_profile: Optional[str]  # routing profile name
    agent_hierarchy: Optional[tuple[str, ...]]  # hierarchy level names, Level1 first
    connected_to_agent_ms: Optional[int]
    agent_interaction_duration: Optional[float]
    customer_hold_duration: Optional[float]
    after_contact_work_duration: Optional[float]
    number_of_holds: Optional[int]
    longest_hold_duration: Optional[float]


class AgentConfig(NamedTuple):
    """The slowly changing part of an agent snapshot (``Configuration``)."""

    username: Optional[str]
    first_name: Optional[str]
    last_name: Optional[str]
    routing_profile_arn: Optional[str]
    routing_profile_name: Optional[str]
    inbound_queues: tuple[tuple[str, Optional[str]], ...]  # (queue ARN, queue name)
    default_outbound_queue: Optional[tuple[str, Optional[str]]]
    hierarchy: Optional[tuple[str, ...]]  # hierarchy group names, Level1 first; None if none
    # (queue ARN, CHANNEL) for every channel of every InboundQueues entry, in payload order
    inbound_channels: tuple[tuple[str, str], ...] = ()


class AgentContact(NamedTuple):
    """One entry of ``CurrentAgentSnapshot.Contacts``."""

    contact_id: str
    state: str  # INCOMING, PENDING, CONNECTING, CONNECTED, CONNECTED_ONHOLD, MISSED, ...
    channel: Optional[str]
    state_start_ms: Optional[int]
    queue_arn: Optional[str] = None  # Contacts[].Queue.ARN
    initiation_method: Optional[str] = None  # Contacts[].InitiationMethod (upper case)


class AgentEvent(NamedTuple):
    """One agent event stream record, reduced to its current snapshot."""

    event_id: str
    agent_arn: str
    event_type: str  # LOGIN, LOGOUT, STATE_CHANGE, HEART_BEAT, ... (upper case)
    event_ms: int  # EventTimestamp
    status: Optional[str]  # AVAILABLE / CUSTOM / OFFLINE; None when the snapshot has no status
    status_name: Optional[str]
    contacts: tuple[AgentContact, ...]
    config: Optional[AgentConfig]  # None when the snapshot has no Configuration
    # (CHANNEL, AvailableSlots) from RoutingProfile.Concurrency. Not part of AgentConfig: it
    # changes with every contact, and AgentConfig equality drives the config history.
    available_slots: tuple[tuple[str, int], ...] = ()


class DeadLetter(NamedTuple):
    """A rejected input line (SPEC §4 dead-letter record), raw already truncated to 64 KiB."""

    key: str
    stream: str
    error: str
    raw: str
    at: str  # ISO-8601 UTC time of rejection
