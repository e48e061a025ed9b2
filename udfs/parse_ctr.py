"""Normalize one contact trace record (CTR) to its metric-relevant ``ContactRecord``.

Only what the queue/agent metrics and the contact facts need is kept; customer data
(``CustomerEndpoint``, ``SystemEndpoint``, ``TransferredToEndpoint``, ``Attributes``,
``ContactDetails``, ``References``, ``Tags``, ``SegmentAttributes``, recordings, Voice ID) is
never read. Every field kept feeds a metric, a key or a contact fact and is read strictly, except
``ConnectedToSystemTimestamp``, which nothing uses: a malformed one is dropped, not rejected.
"""

from __future__ import annotations

from udfs.dead_letter import BAD_VALUE
from udfs.json_fields import (
    Obj,
    Rejected,
    hierarchy_names,
    key,
    lenient,
    opt_count,
    opt_duration,
    opt_obj,
    opt_text,
    opt_timestamp,
    opt_upper,
    req_text,
    req_timestamp,
    run_normalizer,
)
from udfs.records import STREAM_CTRS, ContactRecord, DeadLetter

_CONTACT_ID = key("ContactId")
_LAST_UPDATE_TS = key("LastUpdateTimestamp")
_CHANNEL = key("Channel")
_INITIATION_METHOD = key("InitiationMethod")
_INITIAL_CONTACT_ID = key("InitialContactId")
_PREVIOUS_CONTACT_ID = key("PreviousContactId")
_NEXT_CONTACT_ID = key("NextContactId")
_INITIATION_TS = key("InitiationTimestamp")
_CONNECTED_TO_SYSTEM_TS = key("ConnectedToSystemTimestamp")
_DISCONNECT_TS = key("DisconnectTimestamp")
_DISCONNECT_REASON = key("DisconnectReason")
_TRANSFER_COMPLETED_TS = key("TransferCompletedTimestamp")
_QUEUE = key("Queue")
_ARN = key("ARN")
_NAME = key("Name")
_ENQUEUE_TS = key("EnqueueTimestamp")
_DEQUEUE_TS = key("DequeueTimestamp")
_DURATION = key("Duration")
_AGENT = key("Agent")
_USERNAME = key("Username")
_ROUTING_PROFILE = key("RoutingProfile")
_HIERARCHY_GROUPS = key("HierarchyGroups")
_GROUP_NAME_KEYS = (key("GroupName"), _NAME)
_CONNECTED_TO_AGENT_TS = key("ConnectedToAgentTimestamp")
_INTERACTION = key("AgentInteractionDuration")
_HOLD = key("CustomerHoldDuration")
_ACW = key("AfterContactWorkDuration")
_NUMBER_OF_HOLDS = key("NumberOfHolds")
_LONGEST_HOLD = key("LongestHoldDuration")

_NO_QUEUE = (None, None, None, None, None)
_NO_AGENT = (None,) * 10


def _queue_fields(queue: Obj) -> tuple:
    enqueue_ms = opt_timestamp(queue.get(_ENQUEUE_TS), "Queue.EnqueueTimestamp")
    dequeue_ms = opt_timestamp(queue.get(_DEQUEUE_TS), "Queue.DequeueTimestamp")
    duration = opt_duration(queue.get(_DURATION), "Queue.Duration")
    if duration is None and enqueue_ms is not None and dequeue_ms is not None:
        if dequeue_ms < enqueue_ms:
            raise Rejected(BAD_VALUE, "Queue.Duration: DequeueTimestamp before EnqueueTimestamp")
        duration = (dequeue_ms - enqueue_ms) / 1000
    return (
        opt_text(queue.get(_ARN), "Queue.ARN"),
        opt_text(queue.get(_NAME), "Queue.Name"),
        enqueue_ms,
        dequeue_ms,
        duration,
    )


def _agent_fields(agent: Obj) -> tuple:
    profile = opt_obj(agent.get(_ROUTING_PROFILE), "Agent.RoutingProfile")
    groups = opt_obj(agent.get(_HIERARCHY_GROUPS), "Agent.HierarchyGroups")
    return (
        opt_text(agent.get(_ARN), "Agent.ARN"),
        opt_text(agent.get(_USERNAME), "Agent.Username"),
        None if profile is None else opt_text(profile.get(_NAME), "Agent.RoutingProfile.Name"),
        hierarchy_names(groups, "Agent.HierarchyGroups", _GROUP_NAME_KEYS),
        opt_timestamp(agent.get(_CONNECTED_TO_AGENT_TS), "Agent.ConnectedToAgentTimestamp"),
        opt_duration(agent.get(_INTERACTION), "Agent.AgentInteractionDuration"),
        opt_duration(agent.get(_HOLD), "Agent.CustomerHoldDuration"),
        opt_duration(agent.get(_ACW), "Agent.AfterContactWorkDuration"),
        opt_count(agent.get(_NUMBER_OF_HOLDS), "Agent.NumberOfHolds"),
        opt_duration(agent.get(_LONGEST_HOLD), "Agent.LongestHoldDuration"),
    )


def _build(ctr: Obj) -> ContactRecord:
    contact_id = req_text(ctr.get(_CONTACT_ID), "ContactId")
    last_update_ms = req_timestamp(ctr.get(_LAST_UPDATE_TS), "LastUpdateTimestamp")
    disconnect_ms = opt_timestamp(ctr.get(_DISCONNECT_TS), "DisconnectTimestamp")
    queue = opt_obj(ctr.get(_QUEUE), "Queue")
    agent = opt_obj(ctr.get(_AGENT), "Agent")
    return ContactRecord(
        contact_id,
        last_update_ms,
        disconnect_ms if disconnect_ms is not None else last_update_ms,
        opt_upper(ctr.get(_CHANNEL), "Channel"),
        opt_upper(ctr.get(_INITIATION_METHOD), "InitiationMethod"),
        opt_text(ctr.get(_INITIAL_CONTACT_ID), "InitialContactId"),
        opt_text(ctr.get(_PREVIOUS_CONTACT_ID), "PreviousContactId"),
        opt_text(ctr.get(_NEXT_CONTACT_ID), "NextContactId"),
        opt_timestamp(ctr.get(_INITIATION_TS), "InitiationTimestamp"),
        lenient(opt_timestamp, ctr.get(_CONNECTED_TO_SYSTEM_TS), "ConnectedToSystemTimestamp"),
        disconnect_ms,
        opt_upper(ctr.get(_DISCONNECT_REASON), "DisconnectReason"),
        opt_timestamp(ctr.get(_TRANSFER_COMPLETED_TS), "TransferCompletedTimestamp"),
        *(_NO_QUEUE if queue is None else _queue_fields(queue)),
        *(_NO_AGENT if agent is None else _agent_fields(agent)),
    )


def normalize_ctr(raw: str | bytes) -> ContactRecord | DeadLetter:
    """One raw CTR -> ``ContactRecord``, or ``DeadLetter`` (never raises)."""
    return run_normalizer(STREAM_CTRS, _build, raw)
