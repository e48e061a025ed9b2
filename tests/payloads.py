"""Raw Amazon Connect payload builders for scripted integration scenarios.

They produce the JSON the job reads (EventBridge contact events, CTRs, agent events) from a few
readable arguments, so a scenario reads like a timeline. Times are 'HH:MM:SS' on SCENARIO_DAY.
"""

from __future__ import annotations

import json
from typing import Optional

SCENARIO_DAY = "2024-01-15"
INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/11111111-2222-3333-4444-555555555555"


def t(hms: str) -> str:
    """'09:01:30' -> '2024-01-15T09:01:30Z'."""
    return f"{SCENARIO_DAY}T{hms}Z"


def t_ms(hms: str) -> str:
    """Milliseconds as Connect sends them in events; 'HH:MM:SS.mmm' is kept as given."""
    return f"{SCENARIO_DAY}T{hms}Z" if "." in hms else f"{SCENARIO_DAY}T{hms}.000Z"


def queue_arn(name: str) -> str:
    return f"{INSTANCE}/queue/{name}"


def agent_arn(name: str) -> str:
    return f"{INSTANCE}/agent/{name}"


def contact_event(event_type: str, contact_id: str, *, channel: str = "VOICE",
                  method: str = "INBOUND", queue: Optional[str] = None,
                  enqueued: Optional[str] = None, agent: Optional[str] = None,
                  connected: Optional[str] = None, initiated: Optional[str] = None,
                  disconnected: Optional[str] = None, envelope_time: Optional[str] = None,
                  bare: bool = False) -> str:
    detail: dict = {"eventType": event_type, "contactId": contact_id, "channel": channel,
                    "instanceArn": INSTANCE, "initiationMethod": method}
    if initiated:
        detail["initiationTimestamp"] = t_ms(initiated)
    if disconnected:
        detail["disconnectTimestamp"] = t_ms(disconnected)
    if queue:
        detail["queueInfo"] = {"queueArn": queue_arn(queue), "queueType": "STANDARD"}
        if enqueued:
            detail["queueInfo"]["enqueueTimestamp"] = t_ms(enqueued)
    if agent:
        detail["agentInfo"] = {"agentArn": agent_arn(agent)}
        if connected:
            detail["agentInfo"]["connectedToAgentTimestamp"] = t_ms(connected)
    if bare:
        return json.dumps(detail)
    stamp = envelope_time or enqueued or connected or disconnected or initiated
    return json.dumps({"version": "0", "id": f"{contact_id}-{event_type}",
                       "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
                       "account": "111122223333", "time": t(stamp), "region": "us-east-1",
                       "resources": [], "detail": detail})


def ctr(contact_id: str, *, last_update: str, disconnect: str, channel: str = "VOICE",
        method: str = "INBOUND", initiated: Optional[str] = None,
        queue: Optional[str] = None, queue_name: Optional[str] = None,
        enqueued: Optional[str] = None, dequeued: Optional[str] = None,
        duration: Optional[int] = None, agent: Optional[str] = None,
        username: Optional[str] = None, routing_profile: Optional[str] = None,
        connected: Optional[str] = None, interaction: Optional[int] = None,
        hold: Optional[int] = None, holds: Optional[int] = None, acw: Optional[int] = None,
        next_contact: Optional[str] = None, previous_contact: Optional[str] = None,
        transfer_completed: Optional[str] = None,
        disconnect_reason: Optional[str] = "CUSTOMER_DISCONNECT") -> str:
    record: dict = {
        "AWSAccountId": "111122223333", "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "ContactId": contact_id, "InitialContactId": None, "PreviousContactId": previous_contact,
        "NextContactId": next_contact, "Channel": channel, "InitiationMethod": method,
        "InitiationTimestamp": t(initiated or enqueued or disconnect),
        "ConnectedToSystemTimestamp": t(initiated or enqueued or disconnect),
        "DisconnectTimestamp": t(disconnect), "LastUpdateTimestamp": t(last_update),
        "DisconnectReason": disconnect_reason, "InstanceARN": INSTANCE,
        "TransferCompletedTimestamp": t(transfer_completed) if transfer_completed else None,
        "CustomerEndpoint": {"Address": "+15555550100", "Type": "TELEPHONE_NUMBER"},
        "SystemEndpoint": {"Address": "+15555550199", "Type": "TELEPHONE_NUMBER"},
        "Attributes": {"accountNumber": "12345"}, "Queue": None, "Agent": None,
    }
    if queue:
        record["Queue"] = {"ARN": queue_arn(queue), "Name": queue_name or queue,
                           "EnqueueTimestamp": t(enqueued) if enqueued else None,
                           "DequeueTimestamp": t(dequeued) if dequeued else None,
                           "Duration": duration}
    if agent:
        record["Agent"] = {
            "ARN": agent_arn(agent), "Username": username or agent,
            "RoutingProfile": {"ARN": f"{INSTANCE}/routing-profile/rp", "Name": routing_profile},
            "HierarchyGroups": None, "ConnectedToAgentTimestamp": t(connected),
            "AgentInteractionDuration": interaction, "CustomerHoldDuration": hold,
            "NumberOfHolds": holds, "LongestHoldDuration": hold,
            "AfterContactWorkDuration": acw, "AfterContactWorkStartTimestamp": t(disconnect),
            "AfterContactWorkEndTimestamp": t(last_update)}
    return json.dumps(record)


def _snapshot_contact(at: str, cid: str, state: str, queue: Optional[str] = None,
                      channel: str = "VOICE", method: str = "INBOUND",
                      since: Optional[str] = None) -> dict:
    """One ``Contacts`` entry: ``(ContactId, State[, queue name[, channel[, initiation method[,
    state since]]]])``."""
    return {"ContactId": cid, "State": state, "Channel": channel,
            "StateStartTimestamp": t_ms(since or at), "InitiationMethod": method,
            "Queue": {"ARN": queue_arn(queue), "Name": queue} if queue else None,
            "QueueTimestamp": None, "ConnectedToAgentTimestamp": None, "InitialContactId": None}


def agent_event(agent: str, event_id: str, event_type: str, at: str, *, status: str,
                contacts: tuple = (), username: Optional[str] = None,
                routing_profile: str = "Basic", hierarchy: tuple = (),
                queues: tuple = (), slots: tuple = ()) -> str:
    """``queues``: InboundQueues as (queue name, channels, display name or None);
    ``slots``: Concurrency as (channel, available slots)."""
    status_type = {"Available": "ROUTABLE", "Offline": "OFFLINE"}.get(status, "CUSTOM")
    levels = {f"Level{i + 1}": {"ARN": f"{INSTANCE}/agent-group/{name}", "Name": name}
              for i, name in enumerate(hierarchy)} or None
    snapshot = {
        "AgentStatus": {"ARN": f"{INSTANCE}/agent-state/{status}", "Name": status,
                        "Type": status_type, "StartTimestamp": t_ms(at)},
        "NextAgentStatus": None,
        "Configuration": {
            "FirstName": (username or agent).title(), "LastName": "Agent",
            "Username": username or agent, "AgentHierarchyGroups": levels,
            "RoutingProfile": {"ARN": f"{INSTANCE}/routing-profile/{routing_profile}",
                               "Name": routing_profile,
                               "InboundQueues": [{"ARN": queue_arn(q), "Channels": list(chans),
                                                  "Name": name} for q, chans, name in queues],
                               "DefaultOutboundQueue": None,
                               "Concurrency": [{"Channel": ch, "AvailableSlots": n,
                                                "MaximumSlots": max(n, 1)}
                                               for ch, n in slots]}},
        "Contacts": [_snapshot_contact(at, *contact) for contact in contacts],
    }
    return json.dumps({"AWSAccountId": "111122223333", "AgentARN": agent_arn(agent),
                       "CurrentAgentSnapshot": snapshot, "PreviousAgentSnapshot": None,
                       "EventId": event_id, "EventTimestamp": t_ms(at), "EventType": event_type,
                       "InstanceARN": INSTANCE, "Version": "2019-05-25"})
