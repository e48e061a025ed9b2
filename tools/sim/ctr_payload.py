"""Contact trace records in Amazon Connect's export format (whole-second timestamps).

Every metric-relevant value comes from ``truth.ctr_facts`` so the CTR says exactly what the
reference computation assumes; the rest (endpoints, recordings, media streams, attributes) is
there because real CTRs carry it, much of it ``null``. A *preliminary* copy is what Connect
exports at disconnect while the agent is still in ACW: no ACW end yet, an older
``LastUpdateTimestamp`` and no disposition attribute.
"""

from __future__ import annotations

from typing import Any, Optional

from tools.sim.center import CHAT, Center
from tools.sim.timefmt import iso_s
from tools.sim.truth import CtrFacts, Segment

FORMAT_VERSION = "2017-03-10"


def _ts(ms: Optional[int]) -> Optional[str]:
    return iso_s(ms) if ms is not None else None


def _endpoint(address: Optional[str]) -> Optional[dict[str, str]]:
    return {"Address": address, "Type": "TELEPHONE_NUMBER"} if address else None


def _agent(seg: Segment, f: CtrFacts, preliminary: bool) -> Optional[dict[str, Any]]:
    agent, profile = seg.agent, seg.agent_profile
    if agent is None or profile is None:
        return None
    hierarchy = None
    if agent.hierarchy:
        hierarchy = {f"Level{i}": {"ARN": g.arn, "GroupName": g.name}
                     for i, g in enumerate(agent.hierarchy, start=1)}
    acw_end = None if preliminary else f.acw_end_ms
    return {
        "ARN": agent.arn,
        "AfterContactWorkDuration": None if preliminary else f.acw,
        "AfterContactWorkEndTimestamp": _ts(acw_end),
        "AfterContactWorkStartTimestamp": _ts(f.acw_start_ms),
        "AgentInteractionDuration": f.interaction,
        "AgentPauseDuration": None,
        "ConnectedToAgentTimestamp": _ts(f.connected_ms),
        "CustomerHoldDuration": f.hold,
        "DeviceInfo": None,
        "HierarchyGroups": hierarchy,
        "LongestHoldDuration": f.longest_hold,
        "NumberOfHolds": f.number_of_holds,
        "RoutingProfile": {"ARN": profile.arn, "Name": profile.name},
        "StateTransitions": None,
        "Username": agent.username,
    }


def _recording(seg: Segment, f: CtrFacts) -> Optional[dict[str, Any]]:
    if f.connected_ms is None:
        return None
    day = iso_s(f.connected_ms)[:10].replace("-", "/")
    suffix = "json" if seg.channel == CHAT else "wav"
    kind = "ChatTranscripts" if seg.channel == CHAT else "CallRecordings"
    return {
        "DeletionReason": None,
        "Location": f"connect-recordings-111122223333/connect/{kind}/{day}/"
                    f"{seg.contact_id}_{iso_s(f.connected_ms)[:19].replace('-', '')}_UTC.{suffix}",
        "Status": "AVAILABLE",
        "Type": "AUDIO" if seg.channel != CHAT else "CHAT",
    }


def ctr_payload(center: Center, seg: Segment, f: CtrFacts, preliminary: bool = False
                ) -> dict[str, Any]:
    """The CTR JSON object; ``f`` must come from ``ctr_facts`` of the same segment."""
    voice = seg.channel != CHAT
    attributes = dict(seg.attributes)
    if preliminary:
        attributes.pop("Disposition", None)
    queue = None
    if seg.queue is not None:
        queue = {
            "ARN": seg.queue.arn,
            "DequeueTimestamp": _ts(f.dequeue_ms),
            "Duration": f.queue_duration,
            "EnqueueTimestamp": _ts(f.enqueue_ms),
            "Name": seg.queue.name,
        }
    recording = _recording(seg, f)
    system_phone = None
    if voice:
        system_phone = (seg.queue.phone if seg.queue is not None and seg.queue.phone
                        else center.outbound_queue.phone)
    return {
        "AWSAccountId": center.account_id,
        "AWSContactTraceRecordFormatVersion": FORMAT_VERSION,
        "Agent": _agent(seg, f, preliminary),
        "AgentConnectionAttempts": seg.attempts,
        "AnsweringMachineDetectionStatus": None,
        "Attributes": attributes,
        "Campaign": {"CampaignId": None},
        "Channel": seg.channel,
        "ConnectedToSystemTimestamp": _ts(seg.connected_to_system_ms),
        "ContactDetails": {},
        "ContactId": seg.contact_id,
        "CustomerEndpoint": _endpoint(seg.customer.phone) if voice else None,
        "CustomerVoiceActivity": None,
        "DisconnectReason": seg.disconnect_reason,
        "DisconnectTimestamp": _ts(f.disconnect_ms),
        "InitialContactId": seg.initial_id,
        "InitiationMethod": seg.method,
        "InitiationTimestamp": _ts(seg.initiation_ms),
        "InstanceARN": center.instance_arn,
        "LastUpdateTimestamp": _ts(f.last_update_ms),
        "MediaStreams": [{"Type": "AUDIO" if voice else "CHAT"}],
        "NextContactId": seg.next_id,
        "PreviousContactId": seg.previous_id,
        "Queue": queue,
        "Recording": recording,
        "Recordings": [recording] if recording else None,
        "References": [],
        "RelatedContactId": None,
        "ScheduledTimestamp": None,
        "SystemEndpoint": _endpoint(system_phone),
        "Tags": {"aws:connect:instanceId": center.instance_id},
        "TransferCompletedTimestamp": _ts(f.transfer_completed_ms),
        "TransferredToEndpoint": _endpoint(seg.transferred_to),
        "VoiceIdResult": None,
    }
