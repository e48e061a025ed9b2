"""The contact lifecycle: from arrival through IVR, queue, agent, hold, ACW to the CTR.

Covered: inbound voice and chat (chats mostly started by API), API voice, agent-dialled
outbound calls (default outbound queue; some not answered: ERROR), abandons (some within
seconds), missed and rejected offers re-routed to another agent, customers hanging up while it
rings (ERROR / REJECTED), holds, ACW, agent transfers to another queue or to an agent queue
(new TRANSFER segment, linked by Previous/Next/InitialContactId), flow transfers between queues
(QUEUE_TRANSFER), queued callbacks (CALLBACK: INCOMING, PENDING, CONNECTING at the agent) and
transfers to external numbers (TransferCompletedTimestamp).
"""

from __future__ import annotations

import random
from typing import Optional

from tools.sim.agents import AgentRuntime
from tools.sim.center import CHAT, VOICE, Center, Queue
from tools.sim.contact_event_feed import ContactEventFeed
from tools.sim.contact_event_payload import (
    COMPLETED,
    CONNECTED_TO_AGENT,
    CONNECTED_TO_SYSTEM,
    CONTACT_DATA_UPDATED,
    DISCONNECTED,
    INITIATED,
    QUEUED,
)
from tools.sim.ctr_feed import CtrFeed
from tools.sim.engine import Scheduler
from tools.sim.ids import new_uuid
from tools.sim.routing import Router
from tools.sim.truth import Customer, Segment, Truth
from tools.sim.workload import CHAT_API, CHAT_INBOUND, OUTBOUND, VOICE_API, Workload

# initiation methods
INBOUND, API, TRANSFER = "INBOUND", "API", "TRANSFER"
QUEUE_TRANSFER, CALLBACK, OUTBOUND_METHOD = "QUEUE_TRANSFER", "CALLBACK", "OUTBOUND"
# agent-side contact states
INCOMING, PENDING, CONNECTING = "INCOMING", "PENDING", "CONNECTING"
CONNECTED, CONNECTED_ONHOLD, ENDED = "CONNECTED", "CONNECTED_ONHOLD", "ENDED"
MISSED, REJECTED, ERROR = "MISSED", "REJECTED", "ERROR"
# segment runtime states
S_IVR, S_QUEUED, S_OFFERED, S_DIALING, S_TALKING, S_DONE = (
    "IVR", "QUEUED", "OFFERED", "DIALING", "TALKING", "DONE")

P_COARSE = 0.10
P_RETURNING_CUSTOMER = 0.10
P_IVR_HANGUP = 0.04
P_QUEUE_TRANSFER = 0.06
P_CALLBACK = 0.08
P_AGENT_TRANSFER = {VOICE: 0.07, CHAT: 0.02}
P_TO_AGENT_QUEUE = 0.25
P_EXTERNAL_TRANSFER = 0.03
P_OUTBOUND_NO_ANSWER = 0.12
P_DATA_UPDATED = 0.10
P_COMPLETED = 0.5
RING_TIMEOUT_MS = 20_000
CALLBACK_PATIENCE_MS = 30 * 60_000
OUTBOUND_RETRY_MS, OUTBOUND_MAX_TRIES = 30_000, 20
# Customers get names from other lists than agents, so a PII scan never hits an agent's name.
CUSTOMER_FIRST_NAMES = (
    "Abigail", "Benjamin", "Camila", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Keiko", "Lorenzo", "Marisol", "Nikhil", "Odette", "Pavel", "Quinn", "Rosalind", "Soren",
    "Tamsin", "Ulrich", "Valentina", "Wendell", "Ximena", "Yusuf", "Zelda",
)
CUSTOMER_LAST_NAMES = (
    "Abernathy", "Bergstrom", "Castellano", "Dvorak", "Eriksen", "Fairweather", "Gallagher",
    "Holloway", "Ibarra", "Jablonski", "Kowalczyk", "Lindqvist", "Montgomery", "Nakamura",
    "Oyelaran", "Pemberton", "Quintero", "Rasmussen", "Sandoval", "Thackeray", "Underwood",
    "Vasquez", "Whitfield", "Yamamoto", "Zielinski",
)
INTENTS = ("billing", "technical_issue", "order_status", "cancel", "upgrade", "password_reset")
DISPOSITIONS = ("resolved", "follow_up", "escalated", "no_action")


def _voice_reason(rng: random.Random) -> str:
    roll = rng.random()
    return ("CUSTOMER_DISCONNECT" if roll < 0.6 else "AGENT_DISCONNECT" if roll < 0.95
            else "TELECOM_PROBLEM")


class ContactLifecycle:
    """Drives every contact segment through the scheduler, the router and the agents."""

    def __init__(self, center: Center, sched: Scheduler, truth: Truth, router: Router,
                 agents: list[AgentRuntime], workload: Workload, events: ContactEventFeed,
                 ctrs: CtrFeed, life: random.Random, ids: random.Random):
        self.center = center
        self.sched = sched
        self.truth = truth
        self.router = router
        self.agents = agents
        self.workload = workload
        self.events = events
        self.ctrs = ctrs
        self.rng = life
        self.ids = ids
        self._customers: list[Customer] = []
        router.on_offer = self.offer
        self._queues_by_channel = {
            ch: [q for q in center.queues if ch in q.channels] for ch in (VOICE, CHAT)}

    # -- helpers --------
    def _customer(self) -> Customer:
        rng = self.rng
        if self._customers and rng.random() < P_RETURNING_CUSTOMER:
            return rng.choice(self._customers)
        first, last = rng.choice(CUSTOMER_FIRST_NAMES), rng.choice(CUSTOMER_LAST_NAMES)
        customer = Customer(
            phone=f"+1555{rng.randrange(10**7):07d}",
            name=f"{first} {last}",
            email=f"{first}.{last}{rng.randrange(1000)}@example.com".lower(),
            account=f"ACCT-{rng.randrange(10**7, 10**8)}",
        )
        self._customers.append(customer)
        return customer

    def _new_segment(self, channel: str, method: str, customer: Customer,
                     previous: Optional[Segment] = None) -> Segment:
        now = self.sched.now
        seg = Segment(new_uuid(self.ids), channel, method, now, customer,
                      previous.initial_id if previous else None,
                      previous.contact_id if previous else None,
                      coarse=self.rng.random() < P_COARSE)
        if previous is not None:
            seg.attributes = {k: v for k, v in previous.attributes.items() if k != "Disposition"}
        else:
            seg.attributes = {
                "AccountNumber": customer.account,
                "CustomerName": customer.name,
                "Intent": self.rng.choice(INTENTS),
                "Language": "es-US" if self.rng.random() < 0.1 else "en-US",
                "CustomerTier": self.rng.choice(("standard", "standard", "gold", "platinum")),
            }
            if channel == CHAT:
                seg.attributes["Email"] = customer.email
        self.truth.segments.append(seg)
        self.truth.add_customer(customer)
        return seg

    def _pick_queue(self, channel: str, exclude: Optional[Queue] = None) -> Queue:
        queues = [q for q in self._queues_by_channel[channel] if q is not exclude] or [exclude]
        weights = [1.0 / (i + 1) ** 0.5 for i in range(len(queues))]
        return self.rng.choices(queues, weights)[0]  # type: ignore[return-value]

    def _emit(self, seg: Segment, event_type: str, at_ms: Optional[int] = None) -> None:
        self.events.emit(seg, event_type, self.sched.now if at_ms is None else at_ms)

    # -- arrival, IVR, queue --------
    def arrive(self, kind: str) -> None:
        if kind == OUTBOUND:
            self.outbound_intent(0)
            return
        chat = kind in (CHAT_API, CHAT_INBOUND)
        method = API if kind in (CHAT_API, VOICE_API) else INBOUND
        seg = self._new_segment(CHAT if chat else VOICE, method, self._customer())
        now = self.sched.now
        seg.state = S_IVR
        seg.connected_to_system_ms = now + (self.rng.randint(100, 900) if method == API else 0)
        self._emit(seg, INITIATED)
        if chat or method == API:
            self._emit(seg, CONNECTED_TO_SYSTEM, seg.connected_to_system_ms)
        ivr = self.workload.ivr_ms(self.rng, chat)
        if not chat and method == INBOUND and self.rng.random() < P_IVR_HANGUP:
            self.sched.after(self.rng.randint(2000, ivr), self._ivr_hangup, seg)
        else:
            self.sched.after(ivr, self._enqueue, seg, self._pick_queue(seg.channel), False)

    def _ivr_hangup(self, seg: Segment) -> None:
        seg.outcome = "ivr_hangup"
        reason = "CUSTOMER_DISCONNECT" if self.rng.random() < 0.8 else "CONTACT_FLOW_DISCONNECT"
        self._disconnect(seg, reason)

    def _enqueue(self, seg: Segment, queue: Queue, transferred: bool) -> None:
        now = self.sched.now
        seg.queue, seg.enqueue_ms, seg.state = queue, now, S_QUEUED
        self._emit(seg, QUEUED)
        if self.rng.random() < P_DATA_UPDATED:
            self._emit(seg, CONTACT_DATA_UPDATED, now + self.rng.randint(200, 3000))
        chat = seg.channel == CHAT
        if seg.method == CALLBACK:
            patience = CALLBACK_PATIENCE_MS
        else:
            patience = self.workload.patience_ms(self.rng, chat, transferred)
        self.sched.after(patience, self._patience_expired, seg)
        if not transferred and seg.method == INBOUND and not chat:
            roll = self.rng.random()
            if roll < P_QUEUE_TRANSFER and len(self._queues_by_channel[VOICE]) > 1:
                self.sched.after(self.rng.randint(8000, 45_000), self._queue_transfer, seg)
            elif roll < P_QUEUE_TRANSFER + P_CALLBACK:
                self.sched.after(self.rng.randint(10_000, 60_000), self._callback, seg)
        self.router.enqueue(seg)

    def _patience_expired(self, seg: Segment) -> None:
        if seg.state == S_QUEUED:
            self.router.remove(seg)
        elif seg.state == S_OFFERED and seg.method != CALLBACK:
            agent: AgentRuntime = seg.offered_to
            agent.set_contact_state(seg, REJECTED if seg.channel == CHAT else ERROR)
            self.sched.after(self.rng.randint(3000, 8000), agent.remove_contact, seg)
        else:
            return
        seg.token += 1
        seg.dequeue_ms = self.sched.now
        seg.outcome = "abandoned"
        self._disconnect(seg, "CUSTOMER_DISCONNECT")

    def _queue_transfer(self, seg: Segment) -> None:
        """The queue flow moves the waiting customer to another queue: a new segment."""
        if seg.state != S_QUEUED:
            return
        assert seg.queue is not None
        self.router.remove(seg)
        seg.dequeue_ms = self.sched.now
        nxt = self._new_segment(seg.channel, QUEUE_TRANSFER, seg.customer, previous=seg)
        seg.next_id, seg.outcome = nxt.contact_id, "queue_transfer"
        self._disconnect(seg, None)
        self._start_follow_up(nxt, self._pick_queue(seg.channel, exclude=seg.queue))

    def _callback(self, seg: Segment) -> None:
        """The customer asks to be called back; the callback waits in the same queue."""
        if seg.state != S_QUEUED:
            return
        assert seg.queue is not None
        self.router.remove(seg)
        seg.dequeue_ms = self.sched.now
        cb = self._new_segment(VOICE, CALLBACK, seg.customer, previous=seg)
        cb.attributes["CallbackNumber"] = seg.customer.phone
        seg.next_id, seg.outcome = cb.contact_id, "callback_requested"
        self._disconnect(seg, "CONTACT_FLOW_DISCONNECT")
        self._start_follow_up(cb, seg.queue)

    def _start_follow_up(self, seg: Segment, queue: Queue) -> None:
        seg.state = S_IVR
        self._emit(seg, INITIATED)
        self.sched.after(self.rng.randint(300, 3000), self._enqueue, seg, queue, True)

    # -- offer to an agent --------
    def offer(self, seg: Segment, agent: AgentRuntime) -> None:
        """Called by the router: the contact rings at the agent (or is presented, callbacks)."""
        seg.state, seg.offered_to = S_OFFERED, agent
        seg.attempts += 1
        seg.token += 1
        token = seg.token
        if seg.method == CALLBACK:
            agent.add_contact(seg, INCOMING)
            self.sched.after(self.rng.randint(3000, 10_000), self._callback_accepted, seg, agent,
                             token)
            return
        agent.add_contact(seg, CONNECTING)
        if self.rng.random() < agent.plan.miss_prob:
            self.sched.after(RING_TIMEOUT_MS, self._missed, seg, agent, token)
        else:
            ring = self.workload.ring_ms(self.rng, seg.channel == CHAT)
            self.sched.after(ring, self._connect, seg, agent, token)

    def _missed(self, seg: Segment, agent: AgentRuntime, token: int) -> None:
        if seg.token != token or seg.state != S_OFFERED:
            return
        rejected = seg.channel == CHAT and self.rng.random() < 0.5
        agent.set_contact_state(seg, REJECTED if rejected else MISSED)
        self.truth.counts["sim.missed_offers"] += 1
        self.sched.after(self.rng.randint(3000, 15_000), agent.remove_contact, seg)
        seg.state, seg.offered_to = S_QUEUED, None
        seg.token += 1
        self.router.enqueue(seg)

    def _callback_accepted(self, seg: Segment, agent: AgentRuntime, token: int) -> None:
        if seg.token != token or seg.state != S_OFFERED:
            return
        seg.state = S_DIALING
        seg.dequeue_ms = self.sched.now
        agent.set_contact_state(seg, PENDING)
        self.sched.after(self.rng.randint(1000, 3000), agent.set_contact_state, seg, CONNECTING)
        self.sched.after(self.rng.randint(6000, 18_000), self._connect, seg, agent, token)

    def _connect(self, seg: Segment, agent: AgentRuntime, token: int) -> None:
        if seg.token != token or seg.state not in (S_OFFERED, S_DIALING):
            return
        now = self.sched.now
        seg.state = S_TALKING
        seg.token += 1
        if seg.dequeue_ms is None:
            seg.dequeue_ms = now
        if seg.method == CALLBACK:
            seg.connected_to_system_ms = now
        seg.agent, seg.agent_profile, seg.connected_ms = agent.ident, agent.profile, now
        agent.set_contact_state(seg, CONNECTED)
        self._emit(seg, CONNECTED_TO_AGENT)
        self._plan_talk(seg, agent)

    # -- outbound --------
    def outbound_intent(self, tries: int) -> None:
        """An agent (Available, or in the Admin status) dials a customer."""
        eligible = [a for a in self.agents if not a.contacts and a.free_for_outbound()]
        if not eligible:
            if tries < OUTBOUND_MAX_TRIES:
                self.sched.after(OUTBOUND_RETRY_MS, self.outbound_intent, tries + 1)
            else:
                self.truth.counts["sim.outbound_dropped"] += 1
            return
        agent = self.rng.choice(eligible)
        seg = self._new_segment(VOICE, OUTBOUND_METHOD, self._customer())
        seg.queue, seg.state, seg.attempts = agent.profile.default_outbound, S_DIALING, 1
        seg.agent, seg.agent_profile = agent.ident, agent.profile
        agent.add_contact(seg, CONNECTING)
        self._emit(seg, INITIATED)
        ring = self.rng.randint(4000, 25_000)
        if self.rng.random() < P_OUTBOUND_NO_ANSWER:
            self.sched.after(ring, self._outbound_no_answer, seg, agent)
        else:
            self.sched.after(ring, self._outbound_answered, seg, agent)

    def _outbound_answered(self, seg: Segment, agent: AgentRuntime) -> None:
        now = self.sched.now
        seg.state = S_TALKING
        seg.connected_to_system_ms = seg.connected_ms = now
        agent.set_contact_state(seg, CONNECTED)
        self._emit(seg, CONNECTED_TO_AGENT)
        self._emit(seg, CONNECTED_TO_SYSTEM)
        self._plan_talk(seg, agent, outbound=True)

    def _outbound_no_answer(self, seg: Segment, agent: AgentRuntime) -> None:
        agent.set_contact_state(seg, ERROR)
        seg.agent_end_ms = self.sched.now
        seg.outcome = "outbound_no_answer"
        reason = "TELECOM_PROBLEM" if self.rng.random() < 0.3 else "OTHER"
        self._disconnect(seg, reason)
        self.sched.after(self.rng.randint(3000, 8000), agent.remove_contact, seg)

    # -- talking --------
    def _plan_talk(self, seg: Segment, agent: AgentRuntime, outbound: bool = False) -> None:
        chat = seg.channel == CHAT
        talk = self.workload.talk_ms(self.rng, chat, outbound)
        holds = [] if chat else self.workload.holds_ms(self.rng)
        cuts = sorted(self.rng.uniform(0.1, 0.9) for _ in holds)
        t, done = self.sched.now, 0.0
        for cut, hold in zip(cuts, holds):
            t += int(talk * (cut - done))
            done = cut
            seg.holds.append((t, t + hold))
            self.sched.at(t, agent.set_contact_state, seg, CONNECTED_ONHOLD)
            self.sched.at(t + hold, agent.set_contact_state, seg, CONNECTED)
            t += hold
        t += int(talk * (1.0 - done))
        self.sched.at(max(t, self.sched.now + 1000), self._talk_end, seg, agent)

    def _talk_end(self, seg: Segment, agent: AgentRuntime) -> None:
        roll = self.rng.random()
        p_transfer = P_AGENT_TRANSFER[seg.channel]
        if roll < p_transfer:
            self._agent_transfer(seg, agent)
        elif seg.channel == VOICE and roll < p_transfer + P_EXTERNAL_TRANSFER:
            self._external_transfer(seg, agent)
        else:
            seg.outcome = "handled"
            self._end_agent_leg(seg, agent)
            if seg.channel == CHAT:
                reason = "CUSTOMER_DISCONNECT" if self.rng.random() < 0.55 else "AGENT_DISCONNECT"
            else:
                reason = _voice_reason(self.rng)
            self._disconnect(seg, reason)

    def _agent_transfer(self, seg: Segment, agent: AgentRuntime) -> None:
        """Quick-connect transfer to another queue or to a colleague's agent queue."""
        colleagues = [a for a in self.agents if a is not agent and a.active]
        if colleagues and self.rng.random() < P_TO_AGENT_QUEUE:
            target = self.rng.choice(colleagues).ident.agent_queue
        else:
            target = self._pick_queue(seg.channel, exclude=seg.queue)
        nxt = self._new_segment(seg.channel, TRANSFER, seg.customer, previous=seg)
        seg.next_id, seg.outcome = nxt.contact_id, "transferred"
        self._end_agent_leg(seg, agent)
        self._disconnect(seg, "AGENT_DISCONNECT")
        self._start_follow_up(nxt, target)

    def _external_transfer(self, seg: Segment, agent: AgentRuntime) -> None:
        """Transfer to an outside number: the agent leaves, the customer talks on."""
        seg.transfer_completed_ms = self.sched.now
        seg.transferred_to = f"+1555{self.rng.randrange(10**7):07d}"
        self.truth.pii["phone_numbers"].add(seg.transferred_to)
        seg.outcome = "external_transfer"
        self._end_agent_leg(seg, agent)
        reason = "THIRD_PARTY_DISCONNECT" if self.rng.random() < 0.5 else "CUSTOMER_DISCONNECT"
        self.sched.after(self.rng.randint(30_000, 600_000), self._disconnect, seg, reason)

    def _end_agent_leg(self, seg: Segment, agent: AgentRuntime) -> None:
        now = self.sched.now
        seg.agent_end_ms = now
        acw = self.workload.acw_ms(self.rng, seg.channel == CHAT)
        if acw is None:
            seg.attributes["Disposition"] = self.rng.choice(DISPOSITIONS)
            agent.remove_contact(seg)
            return
        seg.acw_end_ms = now + acw
        agent.set_contact_state(seg, ENDED)
        self.sched.at(seg.acw_end_ms, self._acw_done, seg, agent)

    def _acw_done(self, seg: Segment, agent: AgentRuntime) -> None:
        seg.attributes["Disposition"] = self.rng.choice(DISPOSITIONS)
        agent.remove_contact(seg)
        if self.rng.random() < P_COMPLETED:
            self._emit(seg, COMPLETED)
        self._maybe_finalize(seg)

    # -- the end --------
    def _disconnect(self, seg: Segment, reason: Optional[str]) -> None:
        seg.disconnect_ms, seg.disconnect_reason = self.sched.now, reason
        seg.state = S_DONE
        self._emit(seg, DISCONNECTED)
        self.ctrs.on_disconnect(seg)
        self._maybe_finalize(seg)

    def _maybe_finalize(self, seg: Segment) -> None:
        if seg.disconnect_ms is None or seg.last_update_ms is not None:
            return
        if seg.acw_end_ms is not None and seg.acw_end_ms > self.sched.now:
            return
        seg.state = S_DONE
        self.ctrs.finalize(seg)
