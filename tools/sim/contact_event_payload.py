"""Amazon Connect contact events as EventBridge delivers them (and as bare ``detail`` objects).

Real feeds mix shapes, so this does too: most events come in the EventBridge envelope, some as
the bare detail; ``agentInfo``/``AgentInfo`` casing and ``VOICE``/``Voice`` channel casing vary;
contacts flagged ``coarse`` carry whole-second timestamps, sometimes written without the
millisecond fraction. Event types without their own timestamp (CONNECTED_TO_SYSTEM,
CONTACT_DATA_UPDATED, COMPLETED) always come enveloped, since the envelope ``time`` is their
only event time.
"""

from __future__ import annotations

import random
from typing import Any

from tools.sim.center import Center
from tools.sim.ids import new_uuid
from tools.sim.timefmt import floor_s, iso_ms, iso_s
from tools.sim.truth import Segment

INITIATED = "INITIATED"
QUEUED = "QUEUED"
CONNECTED_TO_AGENT = "CONNECTED_TO_AGENT"
CONNECTED_TO_SYSTEM = "CONNECTED_TO_SYSTEM"
DISCONNECTED = "DISCONNECTED"
CONTACT_DATA_UPDATED = "CONTACT_DATA_UPDATED"
COMPLETED = "COMPLETED"

OWN_TIMESTAMP = {INITIATED, QUEUED, CONNECTED_TO_AGENT, DISCONNECTED}
ENVELOPE_SHARE = 0.85


def event_time_ms(seg: Segment, event_type: str, at_ms: int) -> int:
    """The event time the job must derive (SPEC §2), from the values this payload carries."""
    if event_type == INITIATED:
        return seg.stamp(seg.initiation_ms)
    if event_type == QUEUED:
        assert seg.enqueue_ms is not None
        return seg.stamp(seg.enqueue_ms)
    if event_type == CONNECTED_TO_AGENT:
        assert seg.connected_ms is not None
        return seg.stamp(seg.connected_ms)
    if event_type == DISCONNECTED:
        assert seg.disconnect_ms is not None
        return seg.stamp(seg.disconnect_ms)
    return floor_s(at_ms)  # envelope ``time``


def contact_event_payload(center: Center, seg: Segment, event_type: str, at_ms: int,
                          rng: random.Random, ids: random.Random) -> dict[str, Any]:
    """The JSON object for one contact event happening at ``at_ms``."""
    stamp = seg.stamp
    fmt = iso_s if seg.coarse and rng.random() < 0.5 else iso_ms
    channel = seg.channel if rng.random() < 0.7 else seg.channel.capitalize()
    detail: dict[str, Any] = {
        "eventType": event_type,
        "contactId": seg.contact_id,
        "initialContactId": seg.initial_id,
        "channel": channel,
        "instanceArn": center.instance_arn,
        "initiationMethod": seg.method,
        "initiationTimestamp": fmt(stamp(seg.initiation_ms)),
    }
    if seg.previous_id:
        detail["previousContactId"] = seg.previous_id
    if seg.connected_to_system_ms is not None and seg.connected_to_system_ms <= at_ms:
        detail["connectedToSystemTimestamp"] = fmt(stamp(seg.connected_to_system_ms))
    if seg.queue is not None and (seg.enqueue_ms is not None or seg.connected_ms is not None):
        queue_info: dict[str, Any] = {"queueArn": seg.queue.arn,
                                      "queueType": seg.queue.queue_type}
        if seg.enqueue_ms is not None:
            queue_info["enqueueTimestamp"] = fmt(stamp(seg.enqueue_ms))
        detail["queueInfo"] = queue_info
    if seg.agent is not None and seg.connected_ms is not None:
        outer, arn_key = ("agentInfo", "agentArn") if rng.random() < 0.7 else ("AgentInfo",
                                                                            "AgentArn")
        detail[outer] = {arn_key: seg.agent.arn,
                         "connectedToAgentTimestamp": fmt(stamp(seg.connected_ms))}
    if event_type == DISCONNECTED:
        assert seg.disconnect_ms is not None
        detail["disconnectTimestamp"] = fmt(stamp(seg.disconnect_ms))
        if seg.disconnect_reason:
            detail["disconnectReason"] = seg.disconnect_reason
    if event_type == CONTACT_DATA_UPDATED:
        detail["updatedProperties"] = ["Attributes"]
    if event_type == CONNECTED_TO_SYSTEM and seg.method == "OUTBOUND":
        detail["contactState"] = "HUMAN_ANSWERED"
    if event_type in OWN_TIMESTAMP and rng.random() >= ENVELOPE_SHARE:
        return detail
    return {
        "version": "0",
        "id": new_uuid(ids),
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "account": center.account_id,
        "time": iso_s(at_ms),
        "region": center.region,
        "resources": [f"{center.instance_arn}/contact/{seg.contact_id}", center.instance_arn],
        "detail": detail,
    }
