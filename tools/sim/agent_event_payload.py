"""Agent event stream records: AgentEvent JSON with Current/Previous agent snapshots.

Snapshots carry the configuration (routing profile with its inbound queues, default outbound
queue and per-channel concurrency, hierarchy groups), the agent status and the contacts with
their states, like the Kinesis agent event stream. Configuration objects are cached because
they repeat in every event of an agent; a snapshot is reused as the next event's
``PreviousAgentSnapshot``. A few snapshots omit ``AgentStatus.Type`` as older stream versions
did, leaving the status class to be read from its name.
"""

from __future__ import annotations

import random
from typing import Any, Optional

from tools.sim.center import CHAT, VOICE, AgentIdentity, Center, Queue, RoutingProfile, StatusDef
from tools.sim.timefmt import iso_ms
from tools.sim.truth import Segment

VERSION = "2019-05-25"
OMIT_STATUS_TYPE_SHARE = 0.05


def _queue_ref(queue: Queue) -> dict[str, Any]:
    return {"ARN": queue.arn, "Channels": list(queue.channels), "Name": queue.name}


class AgentEventRenderer:
    """Builds agent event payloads for one center, caching the per-agent configuration."""

    def __init__(self, center: Center, rng: random.Random):
        self.center = center
        self.rng = rng
        self._configs: dict[tuple[str, str, int, int], dict[str, Any]] = {}
        self._hierarchies: dict[str, Optional[dict[str, Any]]] = {}

    def _hierarchy(self, ident: AgentIdentity) -> Optional[dict[str, Any]]:
        if ident.arn not in self._hierarchies:
            self._hierarchies[ident.arn] = {
                f"Level{i}": {"ARN": g.arn, "Name": g.name}
                for i, g in enumerate(ident.hierarchy, start=1)
            } or None
        return self._hierarchies[ident.arn]

    def configuration(self, ident: AgentIdentity, profile: RoutingProfile, voice_free: int,
                      chat_free: int) -> dict[str, Any]:
        key = (ident.arn, profile.arn, voice_free, chat_free)
        config = self._configs.get(key)
        if config is None:
            concurrency = [{"AvailableSlots": voice_free, "Channel": VOICE, "MaximumSlots": 1}]
            if profile.chat_slots:
                concurrency.insert(0, {"AvailableSlots": chat_free, "Channel": CHAT,
                                       "MaximumSlots": profile.chat_slots})
            config = {
                "AgentHierarchyGroups": self._hierarchy(ident),
                "AutoAccept": False,
                "FirstName": ident.first_name,
                "LanguageCode": "en_US",
                "LastName": ident.last_name,
                "RoutingProfile": {
                    "ARN": profile.arn,
                    "Concurrency": concurrency,
                    "DefaultOutboundQueue": _queue_ref(profile.default_outbound),
                    "InboundQueues": [_queue_ref(ident.agent_queue)]
                    + [_queue_ref(q) for q in profile.queues],
                    "Name": profile.name,
                },
                "SipAddress": None,
                "Username": ident.username,
            }
            self._configs[key] = config
        return config

    @staticmethod
    def contact_view(seg: Segment, state: str, since_ms: int) -> dict[str, Any]:
        """One entry of a snapshot's ``Contacts`` (unchanged until the contact's state is)."""
        queue = seg.queue
        connected = seg.connected_ms if state not in ("INCOMING", "PENDING",
                                                      "CONNECTING") else None
        return {
            "Channel": seg.channel,
            "ConnectedToAgentTimestamp": iso_ms(connected) if connected is not None else None,
            "ContactId": seg.contact_id,
            "InitialContactId": seg.initial_id if seg.previous_id else None,
            "InitiationMethod": seg.method,
            "Queue": {"ARN": queue.arn, "Name": queue.name} if queue is not None else None,
            "QueueTimestamp": iso_ms(seg.enqueue_ms) if seg.enqueue_ms is not None else None,
            "State": state,
            "StateStartTimestamp": iso_ms(since_ms),
        }

    def status_view(self, status: StatusDef, since_ms: int) -> dict[str, Any]:
        """``AgentStatus`` (unchanged until the status is); a few omit ``Type``."""
        view: dict[str, Any] = {"ARN": status.arn, "Name": status.name,
                                "StartTimestamp": iso_ms(since_ms)}
        if self.rng.random() >= OMIT_STATUS_TYPE_SHARE:
            view["Type"] = status.type
        return view

    def snapshot(self, ident: AgentIdentity, profile: RoutingProfile, status: dict[str, Any],
                 next_status: Optional[tuple[StatusDef, int]], contacts: list[dict[str, Any]],
                 voices: int) -> dict[str, Any]:
        """A snapshot from cached parts: status view, contact views (``voices`` of them voice)."""
        chats = len(contacts) - voices
        voice_free = 0 if contacts else 1
        chat_free = 0 if voices else max(0, profile.chat_slots - chats)
        snap: dict[str, Any] = {"AgentStatus": status}
        if next_status is not None:
            nxt, since = next_status
            snap["NextAgentStatus"] = {"ARN": nxt.arn, "Name": nxt.name,
                                       "EnqueuedTimestamp": iso_ms(since)}
        snap["Configuration"] = self.configuration(ident, profile, voice_free, chat_free)
        snap["Contacts"] = contacts
        return snap

    def event(self, ident: AgentIdentity, event_id: str, ts_ms: int, event_type: str,
              current: dict[str, Any], previous: Optional[dict[str, Any]]) -> dict[str, Any]:
        return {
            "AWSAccountId": self.center.account_id,
            "AgentARN": ident.arn,
            "CurrentAgentSnapshot": current,
            "EventId": event_id,
            "EventTimestamp": iso_ms(ts_ms),
            "EventType": event_type,
            "InstanceARN": self.center.instance_arn,
            "PreviousAgentSnapshot": previous,
            "Version": VERSION,
        }
