"""Normalize one agent event stream record to its current snapshot (``AgentEvent``).

Only ``CurrentAgentSnapshot`` matters: the status intervals are derived from consecutive
current snapshots, so ``PreviousAgentSnapshot`` is redundant and is not read.
"""

from __future__ import annotations

from typing import Optional

from udfs.json_fields import (
    Obj,
    hierarchy_names,
    key,
    opt_list,
    opt_obj,
    opt_text,
    opt_timestamp,
    opt_upper,
    req_text,
    req_timestamp,
    run_normalizer,
)
from udfs.records import (
    AVAILABLE,
    CUSTOM,
    OFFLINE,
    STREAM_AGENT_EVENTS,
    AgentConfig,
    AgentContact,
    AgentEvent,
    DeadLetter,
)

_EVENT_ID = key("EventId")
_AGENT_ARN = key("AgentARN")
_EVENT_TYPE = key("EventType")
_EVENT_TS = key("EventTimestamp")
_SNAPSHOT = key("CurrentAgentSnapshot")
_AGENT_STATUS = key("AgentStatus")
_TYPE = key("Type")
_NAME = key("Name")
_ARN = key("ARN")
_CONTACTS = key("Contacts")
_CONTACT_ID = key("ContactId")
_STATE = key("State")
_CHANNEL = key("Channel")
_STATE_START_TS = key("StateStartTimestamp")
_CONFIGURATION = key("Configuration")
_USERNAME = key("Username")
_FIRST_NAME = key("FirstName")
_LAST_NAME = key("LastName")
_ROUTING_PROFILE = key("RoutingProfile")
_INBOUND_QUEUES = key("InboundQueues")
_DEFAULT_OUTBOUND_QUEUE = key("DefaultOutboundQueue")
_HIERARCHY_GROUPS = key("AgentHierarchyGroups")
_HIERARCHY_NAME_KEYS = (_NAME, key("GroupName"))

_SNAP = "CurrentAgentSnapshot"
_CONFIG = f"{_SNAP}.Configuration"
_PROFILE = f"{_CONFIG}.RoutingProfile"

# AgentStatus.Type -> status class; when Type is absent or unknown, Name decides (SPEC §4).
STATUS_BY_TYPE = {"ROUTABLE": AVAILABLE, "CUSTOM": CUSTOM, "OFFLINE": OFFLINE}
STATUS_BY_NAME = {"AVAILABLE": AVAILABLE, "OFFLINE": OFFLINE}


def status_class(status_type: Optional[str], status_name: Optional[str]) -> Optional[str]:
    """AVAILABLE / CUSTOM / OFFLINE from the status Type, else from its Name; None if neither."""
    if status_type is not None:
        by_type = STATUS_BY_TYPE.get(status_type.upper())
        if by_type is not None:
            return by_type
    if status_name is None:
        return None
    return STATUS_BY_NAME.get(status_name.upper(), CUSTOM)


def _contact(value: object, path: str) -> AgentContact:
    contact = opt_obj(value, path)
    if contact is None:
        contact = Obj({})  # a null entry: reported below as a missing ContactId
    state = opt_upper(contact.get(_STATE), f"{path}.State")
    return AgentContact(
        req_text(contact.get(_CONTACT_ID), f"{path}.ContactId"),
        req_text(state, f"{path}.State"),
        opt_upper(contact.get(_CHANNEL), f"{path}.Channel"),
        opt_timestamp(contact.get(_STATE_START_TS), f"{path}.StateStartTimestamp"),
    )


def _queue_ref(value: object, path: str) -> Optional[tuple[str, Optional[str]]]:
    queue = opt_obj(value, path)
    if queue is None:
        return None
    return (req_text(queue.get(_ARN), f"{path}.ARN"), opt_text(queue.get(_NAME), f"{path}.Name"))


def _config(config: Obj) -> AgentConfig:
    profile_arn = profile_name = outbound = None
    inbound: tuple[tuple[str, Optional[str]], ...] = ()
    profile = opt_obj(config.get(_ROUTING_PROFILE), _PROFILE)
    if profile is not None:
        profile_arn = opt_text(profile.get(_ARN), f"{_PROFILE}.ARN")
        profile_name = opt_text(profile.get(_NAME), f"{_PROFILE}.Name")
        queues = opt_list(profile.get(_INBOUND_QUEUES), f"{_PROFILE}.InboundQueues")
        refs = [_queue_ref(q, f"{_PROFILE}.InboundQueues[{i}]") for i, q in enumerate(queues)]
        inbound = tuple(ref for ref in refs if ref is not None)
        outbound = _queue_ref(
            profile.get(_DEFAULT_OUTBOUND_QUEUE), f"{_PROFILE}.DefaultOutboundQueue"
        )
    groups = opt_obj(config.get(_HIERARCHY_GROUPS), f"{_CONFIG}.AgentHierarchyGroups")
    return AgentConfig(
        opt_text(config.get(_USERNAME), f"{_CONFIG}.Username"),
        opt_text(config.get(_FIRST_NAME), f"{_CONFIG}.FirstName"),
        opt_text(config.get(_LAST_NAME), f"{_CONFIG}.LastName"),
        profile_arn,
        profile_name,
        inbound,
        outbound,
        hierarchy_names(groups, f"{_CONFIG}.AgentHierarchyGroups", _HIERARCHY_NAME_KEYS),
    )


def _build(event: Obj) -> AgentEvent:
    event_id = req_text(event.get(_EVENT_ID), "EventId")
    agent_arn = req_text(event.get(_AGENT_ARN), "AgentARN")
    event_type = req_text(event.get(_EVENT_TYPE), "EventType").upper()
    event_ms = req_timestamp(event.get(_EVENT_TS), "EventTimestamp")
    status = status_name = config = None
    contacts: tuple[AgentContact, ...] = ()
    snapshot = opt_obj(event.get(_SNAPSHOT), _SNAP)
    if snapshot is not None:
        agent_status = opt_obj(snapshot.get(_AGENT_STATUS), f"{_SNAP}.AgentStatus")
        if agent_status is not None:
            status_type = opt_text(agent_status.get(_TYPE), f"{_SNAP}.AgentStatus.Type")
            status_name = opt_text(agent_status.get(_NAME), f"{_SNAP}.AgentStatus.Name")
            status = status_class(status_type, status_name)
        entries = opt_list(snapshot.get(_CONTACTS), f"{_SNAP}.Contacts")
        contacts = tuple(_contact(c, f"{_SNAP}.Contacts[{i}]") for i, c in enumerate(entries))
        configuration = opt_obj(snapshot.get(_CONFIGURATION), _CONFIG)
        if configuration is not None:
            config = _config(configuration)
    return AgentEvent(event_id, agent_arn, event_type, event_ms, status, status_name, contacts,
                      config)


def normalize_agent_event(raw: str | bytes) -> AgentEvent | DeadLetter:
    """One raw agent event -> ``AgentEvent``, or ``DeadLetter`` (never raises)."""
    return run_normalizer(STREAM_AGENT_EVENTS, _build, raw)
