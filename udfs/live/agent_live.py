"""An agent's live state: its share of the (queue, channel) pairs it serves, and its live view.

The state is that of the agent's latest snapshot; LOGOUT, or 240 s without events, makes the
agent offline, and an offline agent counts in no gauge (SPEC §4). An agent serves the (queue,
channel) pairs its routing profile's ``InboundQueues`` list, so a routing-profile change moves its
shares. Its shares (one per channel) go to its routing profile (``udfs.live.profile_board``),
which sums them per (queue, channel). Only changes are sent: a ``ProfileMember`` when the shares
or the served pairs changed, a view when the agent live record would change. Effective times
never go backwards per agent, so a message always supersedes the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from udfs.live.messages import (
    AgentView,
    ProfileMember,
    Share,
    agent_key,
    channel_of,
    profile_key,
    queue_key,
)
from udfs.records import AVAILABLE, CUSTOM, OFFLINE, AgentConfig, AgentEvent

LOGOUT = "LOGOUT"
OUTBOUND = "OUTBOUND"
TALKING_STATES = frozenset({"CONNECTED", "CONNECTED_ONHOLD"})
ACTIVE_STATES = TALKING_STATES | {"ENDED"}
FAILED_STATES = frozenset({"ERROR", "MISSED", "REJECTED"})
RINGING_STATES = frozenset({"INCOMING", "PENDING", "CONNECTING"})
#: AgentStatus.Type of each status class
STATUS_TYPES = {AVAILABLE: "ROUTABLE", CUSTOM: "CUSTOM", OFFLINE: "OFFLINE"}


@dataclass
class AgentLive:
    last_event_ms: Optional[int] = None
    last_event_id: Optional[str] = None
    effect_ms: int = 0  # effective time of the last message sent (never decreases)
    config: Optional[AgentConfig] = None
    status_name: Optional[str] = None
    status_since_ms: Optional[int] = None
    online: bool = False
    offline_since_ms: Optional[int] = None
    profile: Optional[str] = None  # the profile key it last joined (None: in none)
    sent_shares: Optional[tuple] = None  # ((channel, Share), ...) last sent
    sent_served: tuple = ()  # ((queue key, queue name), ...) last sent
    view: Optional[AgentView] = None  # last sent
    timer_ms: Optional[int] = None  # the one timer registered (None: none pending)


def _active(c) -> bool:
    """Connected, on hold, in ACW, or an outbound contact ringing out (Connect's active slot)."""
    return c.state in ACTIVE_STATES or (c.state == "CONNECTING"
                                        and c.initiation_method == OUTBOUND)


def activity(status_name: Optional[str], contacts) -> Optional[str]:
    """Connect's Agent Activity: Error, Missed, Rejected, On contact, After contact work,
    Incoming, then the status name."""
    states = {c.state for c in contacts}
    for state, name in (("ERROR", "Error"), ("MISSED", "Missed"), ("REJECTED", "Rejected")):
        if state in states:
            return name
    if any(c.state in TALKING_STATES or (c.state == "CONNECTING"
                                          and c.initiation_method == OUTBOUND)
           for c in contacts):
        return "On contact"
    if "ENDED" in states:
        return "After contact work"
    if states & RINGING_STATES:
        return "Incoming"
    return status_name


def share_of(status: Optional[str], contacts, slots: dict, channel: str) -> Share:
    """One online agent's share of a (queue, channel) it serves."""
    available = status == AVAILABLE
    states = {c.state for c in contacts}
    return Share(
        online=1,
        staffed=int(available),
        available=int(available and not contacts),
        on_contact=int(any(_active(c) for c in contacts)),
        non_productive=int(status == CUSTOM),
        after_contact_work=int("ENDED" in states),
        error=int(bool(states & FAILED_STATES)),
        slots_active=sum(1 for c in contacts if c.channel == channel and _active(c)),
        slots_available=slots.get(channel, 0) if available else 0,
    )


def _served(config: Optional[AgentConfig]) -> tuple:
    """((queue key, queue name), ...) of the pairs the routing profile serves."""
    if config is None:
        return ()
    names = dict(config.inbound_queues)
    return tuple((queue_key(arn, channel), names.get(arn))
                 for arn, channel in config.inbound_channels)


def _shares(status: Optional[str], contacts, slots: dict, served: tuple) -> tuple:
    """((channel, Share), ...) of an online agent, one per channel it serves."""
    channels = sorted({channel_of(key) for key, _ in served})
    return tuple((ch, share_of(status, contacts, slots, ch)) for ch in channels)


def _view(st: AgentLive, from_ms: int, status: Optional[str], contacts) -> AgentView:
    cfg = st.config
    return AgentView(
        from_ms,
        cfg.username if cfg else None,
        cfg.routing_profile_name if cfg else None,
        cfg.hierarchy if cfg else None,
        st.status_name,
        STATUS_TYPES.get(status) if status else None,
        st.status_since_ms,
        activity(st.status_name, contacts) if st.online else st.status_name,
        st.online,
        tuple((c.contact_id, c.channel, c.state, c.state_start_ms, c.queue_arn)
              for c in contacts) if st.online else (),
    )


def _diff(st: AgentLive, agent_arn: str, from_ms: int, served: tuple,
          shares: Optional[tuple], view: AgentView) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    key = profile_key(st.config.routing_profile_arn) if served and st.config else None
    if st.profile is not None and st.profile != key:  # leaves its old profile
        out.append((st.profile, ProfileMember(agent_arn, from_ms, None, ())))
        st.profile, st.sent_shares, st.sent_served = None, None, ()
    if key is not None:
        joined = st.profile is None
        if joined or served != st.sent_served or shares != st.sent_shares:
            out.append((key, ProfileMember(
                agent_arn, from_ms, shares,
                served if joined or served != st.sent_served else None)))
            st.profile, st.sent_shares, st.sent_served = key, shares, served
    if not view.same_as(st.view):
        st.view = view
        out.append((agent_key(agent_arn), view))
    return out


def on_agent_event(st: AgentLive, ev: AgentEvent, timeout_ms: int
                   ) -> Optional[list[tuple[str, object]]]:
    """Apply one agent event; None if it is a copy or older than the state (then nothing
    changes), else the (tick key, message) pairs to send."""
    if st.last_event_ms is not None and (
            ev.event_ms < st.last_event_ms
            or (ev.event_ms == st.last_event_ms and ev.event_id == st.last_event_id)):
        return None
    if st.offline_since_ms is not None and ev.event_ms > st.offline_since_ms + timeout_ms:
        st.status_name = None  # offline for longer than the timeout: its status starts afresh
    st.last_event_ms, st.last_event_id = ev.event_ms, ev.event_id
    from_ms = st.effect_ms = max(st.effect_ms, ev.event_ms)
    if ev.config is not None:
        st.config = ev.config
    logout = ev.event_type == LOGOUT
    status = OFFLINE if logout else ev.status
    name = "Offline" if logout and ev.status != OFFLINE else ev.status_name
    if name != st.status_name:
        st.status_name, st.status_since_ms = name, ev.event_ms
    st.online = status is not None and status != OFFLINE
    st.offline_since_ms = None if st.online else from_ms
    served = _served(st.config)
    shares = _shares(status, ev.contacts, dict(ev.available_slots), served) if st.online else None
    return _diff(st, ev.agent_arn, from_ms, served, shares,
                 _view(st, from_ms, status, ev.contacts))


def timeout_at(st: AgentLive, timeout_ms: int) -> Optional[int]:
    """When the agent goes offline for lack of events (None: it is offline already)."""
    if not st.online or st.last_event_ms is None:
        return None
    return st.last_event_ms + timeout_ms


def next_deadline(st: AgentLive, timeout_ms: int) -> int:
    """The agent's next deadline: online, when it times out; offline, when its state can go."""
    at = timeout_at(st, timeout_ms)
    if at is not None:
        return at
    return (st.offline_since_ms or 0) + timeout_ms


def on_timeout(st: AgentLive, agent_arn: str, now_ms: int) -> list[tuple[str, object]]:
    """No event for the agent timeout: offline from ``now_ms``."""
    from_ms = st.effect_ms = max(st.effect_ms, now_ms)
    st.online, st.offline_since_ms = False, from_ms
    st.status_name, st.status_since_ms = "Offline", now_ms
    return _diff(st, agent_arn, from_ms, _served(st.config), None,
                 _view(st, from_ms, OFFLINE, ()))
