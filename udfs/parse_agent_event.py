"""Normalize one agent event stream record to its current snapshot (``AgentEvent``).

Only ``CurrentAgentSnapshot`` matters: the status intervals are derived from consecutive
current snapshots, so ``PreviousAgentSnapshot`` is redundant and is not read.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import orjson

from udfs.dead_letter import BAD_TYPE
from udfs.json_fields import (
    Obj,
    Rejected,
    hierarchy_names,
    key,
    lenient,
    opt_count,
    opt_list,
    opt_obj,
    opt_text,
    opt_timestamp,
    opt_upper,
    req_text,
    req_timestamp,
    run_normalizer,
)
from udfs.memo import Memo
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
_QUEUE = key("Queue")
_INITIATION_METHOD = key("InitiationMethod")
_CONFIGURATION = key("Configuration")
_USERNAME = key("Username")
_FIRST_NAME = key("FirstName")
_LAST_NAME = key("LastName")
_ROUTING_PROFILE = key("RoutingProfile")
_INBOUND_QUEUES = key("InboundQueues")
_DEFAULT_OUTBOUND_QUEUE = key("DefaultOutboundQueue")
_CHANNELS = key("Channels")
_CONCURRENCY = key("Concurrency")
_AVAILABLE_SLOTS = key("AvailableSlots")
_CHANNEL_NAME_KEYS = (_CHANNEL, _NAME)  # a Channel object: {"Channel": "VOICE"} / {"Name": ...}
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


class _ContactPaths(NamedTuple):
    """The error paths of one ``Contacts[i]`` entry."""

    entry: str
    state: str
    queue: str
    contact_id: str
    channel: str
    state_start: str
    queue_arn: str
    initiation_method: str


@functools.lru_cache(maxsize=64)
def _contact_paths(i: int) -> _ContactPaths:
    path = f"{_SNAP}.Contacts[{i}]"
    return _ContactPaths(path, f"{path}.State", f"{path}.Queue", f"{path}.ContactId",
                         f"{path}.Channel", f"{path}.StateStartTimestamp", f"{path}.Queue.ARN",
                         f"{path}.InitiationMethod")


def _contact(value: object, i: int) -> AgentContact:
    paths = _contact_paths(i)
    contact = opt_obj(value, paths.entry)
    if contact is None:
        contact = Obj({})  # a null entry: reported below as a missing ContactId
    state = opt_upper(contact.get(_STATE), paths.state)
    queue = opt_obj(contact.get(_QUEUE), paths.queue)
    return AgentContact(
        req_text(contact.get(_CONTACT_ID), paths.contact_id),
        req_text(state, paths.state),
        channel_name(contact.get(_CHANNEL), paths.channel),
        opt_timestamp(contact.get(_STATE_START_TS), paths.state_start),
        None if queue is None else opt_text(queue.get(_ARN), paths.queue_arn),
        opt_upper(contact.get(_INITIATION_METHOD), paths.initiation_method),
    )


def channel_name(value: object, path: str) -> Optional[str]:
    """A channel as Connect writes it: a string, or a Channel object; upper case."""
    if type(value) is dict:
        channel = Obj(value)
        for name_key in _CHANNEL_NAME_KEYS:
            name = opt_upper(channel.get(name_key), f"{path}.{name_key.name}")
            if name is not None:
                return name
        return None
    if type(value) is str or value is None:
        return opt_upper(value, path)
    raise Rejected(BAD_TYPE, f"{path}: expected string or object, got {type(value).__name__}")


def _queue_ref(value: object, path: str) -> Optional[tuple[str, Optional[str]]]:
    """(ARN, name) of a queue reference; None when it is null or has no usable ARN.

    Routing-profile queues only say which queues an agent serves: an entry without an ARN
    serves nothing, and must not reject the agent's event (a hole in its timeline).
    """
    queue = lenient(opt_obj, value, path)
    if queue is None:
        return None
    arn = lenient(opt_text, queue.get(_ARN), f"{path}.ARN")
    if arn is None:
        return None
    return (arn, lenient(opt_text, queue.get(_NAME), f"{path}.Name"))


def _queue_channels(arn: str, value: object, path: str) -> list[tuple[str, str]]:
    """(ARN, CHANNEL) for every readable channel of one InboundQueues entry."""
    channels = lenient(opt_list, value, path) or []
    out = []
    for i, entry in enumerate(channels):
        channel = lenient(channel_name, entry, f"{path}[{i}]")
        if channel is not None:
            out.append((arn, channel))
    return out


def _inbound(profile: Obj) -> tuple[tuple, tuple]:
    """``inbound_queues`` and ``inbound_channels`` of a routing profile."""
    path = f"{_PROFILE}.InboundQueues"
    queues: list[tuple[str, Optional[str]]] = []
    channels: list[tuple[str, str]] = []
    for i, entry in enumerate(opt_list(profile.get(_INBOUND_QUEUES), path)):
        ref = _queue_ref(entry, f"{path}[{i}]")
        if ref is None:
            continue
        queues.append(ref)
        channels.extend(_queue_channels(ref[0], Obj(entry).get(_CHANNELS),
                                        f"{path}[{i}].Channels"))
    return tuple(queues), tuple(channels)


def available_slots(profile: Optional[Obj]) -> tuple[tuple[str, int], ...]:
    """(CHANNEL, AvailableSlots) from ``RoutingProfile.Concurrency``; unreadable entries skipped."""
    if profile is None:
        return ()
    path = f"{_PROFILE}.Concurrency"
    out = []
    for i, value in enumerate(opt_list(profile.get(_CONCURRENCY), path)):
        entry = lenient(opt_obj, value, f"{path}[{i}]")
        if entry is None:
            continue
        channel = lenient(channel_name, entry.get(_CHANNEL), f"{path}[{i}].Channel")
        slots = lenient(opt_count, entry.get(_AVAILABLE_SLOTS), f"{path}[{i}].AvailableSlots")
        if channel is not None and slots is not None:
            out.append((channel, slots))
    return tuple(out)


def _config(config: Obj, profile: Optional[Obj]) -> AgentConfig:
    """The agent's configuration. FirstName, LastName, the routing profile's ARN and the
    default outbound queue are carried but used by nothing downstream: read leniently."""
    profile_arn = profile_name = outbound = None
    inbound: tuple = ()
    channels: tuple = ()
    if profile is not None:
        profile_arn = lenient(opt_text, profile.get(_ARN), f"{_PROFILE}.ARN")
        profile_name = opt_text(profile.get(_NAME), f"{_PROFILE}.Name")
        inbound, channels = _inbound(profile)
        outbound = _queue_ref(
            profile.get(_DEFAULT_OUTBOUND_QUEUE), f"{_PROFILE}.DefaultOutboundQueue"
        )
    groups = opt_obj(config.get(_HIERARCHY_GROUPS), f"{_CONFIG}.AgentHierarchyGroups")
    return AgentConfig(
        opt_text(config.get(_USERNAME), f"{_CONFIG}.Username"),
        lenient(opt_text, config.get(_FIRST_NAME), f"{_CONFIG}.FirstName"),
        lenient(opt_text, config.get(_LAST_NAME), f"{_CONFIG}.LastName"),
        profile_arn,
        profile_name,
        inbound,
        outbound,
        hierarchy_names(groups, f"{_CONFIG}.AgentHierarchyGroups", _HIERARCHY_NAME_KEYS),
        channels,
    )


# The snapshot's ``Configuration`` object, serialized by orjson -> what is derived from it: the
# AgentConfig and the available slots. An agent's configuration repeats in every snapshot it
# sends (only AvailableSlots varies, over a few values), so almost every build is a lookup. The
# key is exact: orjson writes each JSON value one way (1 vs 1.0 vs true, key order kept), so
# equal keys mean equal objects, hence equal outputs; only successful builds are kept. Bounded:
# cleared when full, and a Configuration over _CONFIG_KEY_MAX bytes (real ones are 1-4 KB; a
# crafted one may be near the 1 MiB input limit) is built every time, not kept.
_CONFIG_CACHE_MAX = 2048
_CONFIG_CACHE: Memo = Memo(_CONFIG_CACHE_MAX)  # key -> (AgentConfig, available slots)
_CONFIG_KEY_MAX = 16_384


def _configuration(configuration: Obj) -> tuple[AgentConfig, tuple[tuple[str, int], ...]]:
    """(AgentConfig, available slots) of a snapshot's Configuration."""
    profile = opt_obj(configuration.get(_ROUTING_PROFILE), _PROFILE)
    return _config(configuration, profile), available_slots(profile)


def cached_configuration(
    configuration: Obj,
) -> tuple[AgentConfig, tuple[tuple[str, int], ...]]:
    """``_configuration``, built once per distinct Configuration object."""
    try:
        cache_key = orjson.dumps(configuration.value)
    except TypeError:  # orjson.JSONEncodeError: nested too deeply to serialize; not cached
        return _configuration(configuration)
    if len(cache_key) > _CONFIG_KEY_MAX:
        return _configuration(configuration)
    cached = _CONFIG_CACHE.get(cache_key)
    if cached is None:
        cached = _CONFIG_CACHE.keep(cache_key, _configuration(configuration))
    return cached


def _build(event: Obj) -> AgentEvent:
    event_id = req_text(event.get(_EVENT_ID), "EventId")
    agent_arn = req_text(event.get(_AGENT_ARN), "AgentARN")
    event_type = req_text(event.get(_EVENT_TYPE), "EventType").upper()
    event_ms = req_timestamp(event.get(_EVENT_TS), "EventTimestamp")
    status = status_name = config = None
    contacts: tuple[AgentContact, ...] = ()
    slots: tuple[tuple[str, int], ...] = ()
    snapshot = opt_obj(event.get(_SNAPSHOT), _SNAP)
    if snapshot is not None:
        agent_status = opt_obj(snapshot.get(_AGENT_STATUS), f"{_SNAP}.AgentStatus")
        if agent_status is not None:
            status_type = opt_text(agent_status.get(_TYPE), f"{_SNAP}.AgentStatus.Type")
            status_name = opt_text(agent_status.get(_NAME), f"{_SNAP}.AgentStatus.Name")
            status = status_class(status_type, status_name)
        entries = opt_list(snapshot.get(_CONTACTS), f"{_SNAP}.Contacts")
        contacts = tuple(_contact(c, i) for i, c in enumerate(entries))
        configuration = opt_obj(snapshot.get(_CONFIGURATION), _CONFIG)
        if configuration is not None:
            config, slots = cached_configuration(configuration)
    return AgentEvent(event_id, agent_arn, event_type, event_ms, status, status_name, contacts,
                      config, slots)


def normalize_agent_event(raw: str | bytes) -> AgentEvent | DeadLetter:
    """One raw agent event -> ``AgentEvent``, or ``DeadLetter`` (never raises)."""
    return run_normalizer(STREAM_AGENT_EVENTS, _build, raw)
