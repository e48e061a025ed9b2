"""The agent state machine and the agent event stream it emits.

Every change of an agent's status, contacts or configuration emits one agent event with the
new CurrentAgentSnapshot (and the previous one); with nothing to report for 120 s a HEART_BEAT
is emitted instead. After LOGOUT, Offline heartbeats go on for a while (Connect keeps
publishing for up to an hour); an agent who closes the browser just stops. Event timestamps of
one agent are strictly increasing (a change in the same millisecond as the previous event is
stamped one millisecond later).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Optional

import orjson

from tools.sim.agent_event_payload import AgentEventRenderer
from tools.sim.center import CHAT, ROUTABLE, VOICE, AgentIdentity, Queue, RoutingProfile, StatusDef
from tools.sim.delivery import AGENT_EVENTS, DUPLICATE, DeliveryQueue
from tools.sim.engine import Scheduler
from tools.sim.ids import new_uuid
from tools.sim.schedule import Activity, AgentPlan
from tools.sim.truth import AgentConfigTruth, AgentEventTruth, Segment, Truth

if TYPE_CHECKING:
    from tools.sim.routing import Router

LOGIN = "LOGIN"
LOGOUT = "LOGOUT"
STATE_CHANGE = "STATE_CHANGE"
HEART_BEAT = "HEART_BEAT"

HEARTBEAT_MS = 120_000
MINUTE = 60_000
_NO_CHANNELS: frozenset[str] = frozenset()
_VOICE_ONLY = frozenset({VOICE})
_CHAT_ONLY = frozenset({CHAT})
_VOICE_AND_CHAT = frozenset({VOICE, CHAT})


class AgentServices:
    """What agents share: clock, randomness, rendering and delivery of their events."""

    def __init__(self, sched: Scheduler, truth: Truth, delivery: DeliveryQueue,
                 renderer: AgentEventRenderer, life: random.Random, ids: random.Random,
                 faults: random.Random, duplicate_share: float, end_ms: int):
        self.sched = sched
        self.truth = truth
        self.delivery = delivery
        self.renderer = renderer
        self.life = life
        self.ids = ids
        self.faults = faults
        self.duplicate_share = duplicate_share
        self.end_ms = end_ms
        self.router: Optional[Router] = None


class AgentContact:
    __slots__ = ("seg", "state", "since_ms", "view")

    def __init__(self, seg: Segment, state: str, since_ms: int):
        self.seg, self.state, self.since_ms = seg, state, since_ms
        self.view: Optional[dict[str, Any]] = None  # rendered snapshot entry, until it changes


class AgentRuntime:
    """One agent: status, contacts and configuration, changed by the contact lifecycle and
    the workforce plan; every change is published as an agent event."""

    def __init__(self, svc: AgentServices, index: int, ident: AgentIdentity, plan: AgentPlan,
                 profile: RoutingProfile, available: StatusDef, offline: StatusDef):
        self.svc = svc
        self.index = index
        self.ident = ident
        self.plan = plan
        self.profile = profile
        self.available = available
        self.offline = offline
        self.status = offline
        self.status_since = plan.login_ms
        self.next_status: Optional[tuple[StatusDef, int]] = None
        self.pending_activity: Optional[Activity] = None
        self.contacts: dict[str, AgentContact] = {}
        self.logged_in = False
        self.leaving = False
        self.gone = False
        self.heartbeat_until: Optional[int] = None
        self.last_event_ms: Optional[int] = None
        self.prev_snapshot: Optional[dict[str, Any]] = None
        self._status_view: Optional[dict[str, Any]] = None
        self.idle_since = plan.login_ms
        self.routable_now = False  # cached routable(): the router checks it for every agent
        self.free_channels: frozenset[str] = _NO_CHANNELS  # channels it can take one more of
        self._heartbeat_armed = False
        self.config_idx = self._register_config()

    # -- queries --------
    @property
    def active(self) -> bool:
        return self.logged_in and not self.gone and not self.leaving

    def routable(self) -> bool:
        return self.active and self.status.type == ROUTABLE and self.next_status is None

    def _refresh_routable(self) -> None:
        """Call after any change of login, status, next status, leaving, vanishing, profile or
        contacts: caches what the router asks for every agent on every routing decision."""
        self.routable_now = self.routable()
        chat_slots = self.profile.chat_slots
        if not self.routable_now:
            self.free_channels = _NO_CHANNELS
        elif not self.contacts:
            self.free_channels = _VOICE_AND_CHAT if chat_slots else _VOICE_ONLY
        elif len(self.contacts) < chat_slots and all(c.seg.channel == CHAT
                                                     for c in self.contacts.values()):
            self.free_channels = _CHAT_ONLY
        else:
            self.free_channels = _NO_CHANNELS

    def can_take(self, channel: str) -> bool:
        return channel in self.free_channels

    def can_take_contact(self, seg: Segment, queue: Queue) -> bool:
        """Routable with a free slot for it, its queue served, and not still showing it."""
        return (self.can_take(seg.channel) and self.serves(queue, seg.channel)
                and seg.contact_id not in self.contacts)

    def serves(self, queue: Queue, channel: str) -> bool:
        if queue is self.ident.agent_queue:
            return channel == VOICE or self.profile.chat_slots > 0
        return self.profile.serves(queue, channel)

    def free_for_outbound(self) -> bool:
        return (self.active and self.next_status is None and not self.contacts
                and (self.status is self.available or self.status.name == "Admin"))

    # -- event emission --------
    def _register_config(self) -> int:
        configs = self.svc.truth.agent_configs[self.ident.arn]
        hierarchy = tuple(g.name for g in self.ident.hierarchy) or None
        configs.append(AgentConfigTruth(self.ident.username, self.profile.name, hierarchy))
        return len(configs) - 1

    def _tick(self) -> int:
        now = self.svc.sched.now
        last = self.last_event_ms
        ts = now if last is None or now > last else last + 1
        self.last_event_ms = ts
        return ts

    def _publish(self, ts: int, event_type: str) -> None:
        svc = self.svc
        renderer = svc.renderer
        contacts = list(self.contacts.values())
        views, voices = [], 0
        for c in contacts:
            if c.view is None:
                c.view = renderer.contact_view(c.seg, c.state, c.since_ms)
            views.append(c.view)
            voices += c.seg.channel == VOICE
        if self._status_view is None:
            self._status_view = renderer.status_view(self.status, self.status_since)
        current = renderer.snapshot(self.ident, self.profile, self._status_view,
                                    self.next_status, views, voices)
        payload = renderer.event(self.ident, new_uuid(svc.ids), ts, event_type, current,
                                     self.prev_snapshot)
        self.prev_snapshot = current
        svc.truth.agent_events[self.ident.arn].append(AgentEventTruth(
            ts, event_type, self.status.type, self.status.name,
            tuple((c.seg.contact_id, c.state) for c in contacts), self.config_idx))
        line = orjson.dumps(payload)
        svc.delivery.push(AGENT_EVENTS, ts, ts, self.ident.arn, line)
        if svc.duplicate_share and svc.faults.random() < svc.duplicate_share:
            svc.delivery.push(AGENT_EVENTS, ts, ts, self.ident.arn, line, DUPLICATE)
        if not self._heartbeat_armed:
            self._heartbeat_armed = True
            svc.sched.at(ts + HEARTBEAT_MS, self._heartbeat_due)

    def _heartbeat_due(self) -> None:
        """One timer per agent, re-armed lazily: a HEART_BEAT after 120 s without events."""
        self._heartbeat_armed = False
        assert self.last_event_ms is not None
        due = self.last_event_ms + HEARTBEAT_MS
        if self.gone:
            return
        if self.svc.sched.now < due:
            self._heartbeat_armed = True
            self.svc.sched.at(due, self._heartbeat_due)
        elif self.logged_in or (self.heartbeat_until is not None
                                and self.svc.sched.now <= self.heartbeat_until):
            self._publish(self._tick(), HEART_BEAT)

    def _ready(self) -> None:
        if self.routable_now and self.svc.router is not None:
            self.svc.router.agent_ready(self)

    # -- shift, status, configuration --------
    def login(self) -> None:
        ts = self._tick()
        self.logged_in, self.heartbeat_until = True, None
        self.status, self.status_since, self._status_view = self.offline, ts, None
        self._refresh_routable()
        self._publish(ts, LOGIN)
        self.svc.sched.after(self.svc.life.randint(2000, 20000), self._first_available)

    def _first_available(self) -> None:
        if self.active and self.status is self.offline:
            self._set_status(self.available)

    def _set_status(self, status: StatusDef) -> None:
        ts = self._tick()
        self.status, self.status_since, self.next_status = status, ts, None
        self._status_view = None
        self._refresh_routable()
        self._publish(ts, STATE_CHANGE)
        if status.type == ROUTABLE:
            self.idle_since = ts
            self._ready()

    def begin_activity(self, activity: Activity) -> None:
        """A planned break/lunch/...: taken now, or queued as NextAgentStatus while busy."""
        if not self.active or self.status.type != ROUTABLE or self.next_status is not None:
            return
        if self.contacts:
            ts = self._tick()
            self.next_status, self.pending_activity = (activity.status, ts), activity
            self._refresh_routable()
            self._publish(ts, STATE_CHANGE)
            return
        self._start_activity(activity)

    def _start_activity(self, activity: Activity) -> None:
        self.pending_activity = None
        self._set_status(activity.status)
        self.svc.sched.after(activity.duration_ms, self._end_activity, activity.status)

    def _end_activity(self, status: StatusDef) -> None:
        if self.active and self.status is status:
            self._set_status(self.available)

    def end_shift(self) -> None:
        if not self.logged_in or self.gone or self.leaving:
            return
        self.leaving = True
        self.pending_activity = None
        self._refresh_routable()
        if self.contacts:
            ts = self._tick()
            self.next_status = (self.offline, ts)
            self._publish(ts, STATE_CHANGE)
        else:
            self._sign_off()

    def _sign_off(self) -> None:
        self._set_status(self.offline)
        self.svc.sched.after(self.svc.life.randint(1000, 8000), self._logout)

    def _logout(self) -> None:
        ts = self._tick()
        self.logged_in = self.leaving = False
        self.next_status = None
        self._refresh_routable()
        linger = self.svc.life.randint(10, 60) * MINUTE
        self.heartbeat_until = min(ts + linger, self.svc.end_ms + 10 * MINUTE)
        self._publish(ts, LOGOUT)

    def vanish(self) -> None:
        """The browser is closed: no LOGOUT, no heartbeats, events simply stop."""
        if not self.active:
            return
        if self.contacts:
            self.svc.sched.after(30_000, self.vanish)
            return
        self.gone = True
        self._refresh_routable()
        self.svc.truth.counts["sim.agents_vanished"] += 1

    def change_profile(self, profile: RoutingProfile) -> None:
        if not self.logged_in or self.gone:
            return
        self.profile = profile
        self.config_idx = self._register_config()
        self._refresh_routable()
        self._publish(self._tick(), STATE_CHANGE)
        self.svc.truth.counts["sim.profile_changes"] += 1
        if self.svc.router is not None:
            self.svc.router.reindex(self)
        self._ready()

    # -- contacts --------
    def add_contact(self, seg: Segment, state: str) -> None:
        ts = self._tick()
        self.contacts[seg.contact_id] = AgentContact(seg, state, ts)
        self._refresh_routable()
        self._publish(ts, STATE_CHANGE)

    def set_contact_state(self, seg: Segment, state: str) -> None:
        ts = self._tick()
        contact = self.contacts[seg.contact_id]
        contact.state, contact.since_ms, contact.view = state, ts, None
        self._publish(ts, STATE_CHANGE)

    def remove_contact(self, seg: Segment) -> None:
        """The agent cleared the contact (after ACW, or a missed/rejected/errored offer)."""
        ts = self._tick()
        del self.contacts[seg.contact_id]
        self._refresh_routable()
        self._publish(ts, STATE_CHANGE)
        if not self.contacts:
            self.idle_since = ts
            if self.leaving:
                self._sign_off()
                return
            if self.pending_activity is not None:
                self._start_activity(self.pending_activity)
                return
        self._ready()
