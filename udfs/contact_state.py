"""Per-contact dedupe and lifecycle: the decisions of the operator keyed by ContactId.

Why here and not in the Flink function: these rules decide whether a contact segment counts once,
so they are plain Python with exhaustive unit tests. The Flink wrapper only loads the state, calls
one of the ``on_*`` functions, emits what it returns and stores the state back.

Rules (SPEC §2-3):
- CTRs arrive at least once. A copy whose ``LastUpdateTimestamp`` is not greater than the last
  accepted one is a duplicate and changes nothing. A newer copy is accepted; it emits a new contact
  fact revision only when a field of the fact changed.
- Every accepted fact is a *contribution*: the queue window of (queue, channel, window of its event
  time) and the agent who handled it. When a revision moves the contribution (another window, queue
  or agent), the old target gets a retraction, so each segment counts exactly once.
- Lateness (SPEC §3): a copy whose window is closed for good is late; so is a newer copy that
  would retract its old contribution from a window closed for good ("late as a whole"): it is
  refused and the old copy keeps counting, so downstream never sees a retraction it cannot apply.
- Contact events give early signals (QUEUED, CONNECTED_TO_AGENT), each counted once per contact:
  the earliest event of the type wins; a still earlier one arriving later moves the signal.
- State is cleared ``retention`` after the contact's last event time (24 h after disconnect by
  default); only the CTR fingerprint survives, until ``dedupe_retention`` (7 days by default).
  After clearing, an older or equal copy is a duplicate (the fingerprint proves it); a newer copy,
  or a contact event with a signal, is refused as ``AFTER_CLEARING`` (a dead letter, SPEC §2).

What is kept of the accepted fact is only what later copies are compared and routed with (a digest
of its fields plus its queue/agent targets, ``FactRef``); the full record travels on in the puts.
Stored, the state is a plain tuple (``to_stored``): no class or field names per contact, ~0.5 KB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional, Union

from udfs.digest import digest
from udfs.records import ContactEvent, ContactRecord
from udfs.windows import window_start

QUEUED = "QUEUED"
CONNECTED_TO_AGENT = "CONNECTED_TO_AGENT"
SIGNAL_TYPES = (QUEUED, CONNECTED_TO_AGENT)


class Signal(NamedTuple):
    """An early signal placed in a queue window: (queue, channel) at ``ts_ms``."""

    kind: str  # QUEUED / CONNECTED_TO_AGENT
    queue_arn: str
    channel: Optional[str]
    ts_ms: int


class QueuePut(NamedTuple):
    """Upsert (``record`` set) or retract (``record`` None) a contact's CTR in a queue window."""

    queue_arn: str
    channel: Optional[str]
    ts_ms: int  # event time of the CTR (its window is derived downstream)
    contact_id: str
    record: Optional[ContactRecord]


class SignalPut(NamedTuple):
    """Add (``add`` True) or retract an early signal of one contact in a queue window."""

    signal: Signal
    contact_id: str
    add: bool


class AgentPut(NamedTuple):
    """Send a contact fact revision to the agent side (enrichment, agent metrics, fact output).

    ``record`` None retracts the contact from ``agent_arn`` (the fact moved to another agent).
    ``agent_arn`` is "" for facts without an agent (they are only enriched-less output), unless an
    older revision had one (see ``fact_key``).
    """

    agent_arn: str
    contact_id: str
    ts_ms: int
    revision: int
    record: Optional[ContactRecord]


Output = Union[QueuePut, SignalPut, AgentPut]


class FactRef(NamedTuple):
    """What the state keeps of the accepted CTR copy: enough to tell whether a newer copy changes
    anything (``digest`` of every field but the copy time) and where its contribution went."""

    digest: bytes
    queue_arn: Optional[str]
    channel: Optional[str]
    event_ms: int
    agent_arn: Optional[str]


def fact_ref(rec: ContactRecord) -> FactRef:
    return FactRef(digest(list(rec._replace(last_update_ms=0))), rec.queue_arn, rec.channel,
                   rec.event_ms, rec.agent_arn)


def queue_key(put: Union[QueuePut, SignalPut]) -> str:
    """Key of the queue operator: queue ARN and channel (SPEC §3: never split further)."""
    if type(put) is QueuePut:
        return f"{put.queue_arn}|{put.channel}"
    return f"{put.signal.queue_arn}|{put.signal.channel}"


@dataclass
class ContactState:
    """Everything kept per ContactId (small: one record and two signals)."""

    fingerprint: Optional[int] = None  # LastUpdateTimestamp of the last accepted CTR copy
    fact: Optional[FactRef] = None
    revision: int = 0
    signals: dict = field(default_factory=dict)  # kind -> Signal
    last_event_ms: int = 0  # latest event time seen for this contact (drives cleanup)
    cleared: bool = False  # True once only the fingerprint is kept


def to_stored(state: ContactState) -> tuple:
    """The state as plain values for the operator's ``ValueState`` (see ``from_stored``)."""
    return (state.fingerprint, None if state.fact is None else tuple(state.fact), state.revision,
            tuple((SIGNAL_TYPES.index(k), *sig[1:]) for k, sig in state.signals.items()),
            state.last_event_ms, state.cleared)


def from_stored(stored: tuple) -> ContactState:
    fingerprint, fact, revision, signals, last_event_ms, cleared = stored
    return ContactState(
        fingerprint, None if fact is None else FactRef(*fact), revision,
        {SIGNAL_TYPES[k]: Signal(SIGNAL_TYPES[k], *rest) for k, *rest in signals},
        last_event_ms, cleared)


def _queue_target(rec: Union[ContactRecord, FactRef, None], window_ms: int) -> Optional[tuple]:
    if rec is None or not rec.queue_arn:
        return None
    return (rec.queue_arn, rec.channel, window_start(rec.event_ms, window_ms))


def _agent_target(rec: Union[ContactRecord, FactRef, None], window_ms: int) -> tuple:
    if rec is None:
        return ("", None)
    return (rec.agent_arn or "", window_start(rec.event_ms, window_ms))


def is_duplicate(state: ContactState, rec: ContactRecord) -> bool:
    """An equal or older copy than the last accepted one changes nothing (SPEC §2)."""
    return state.fingerprint is not None and rec.last_update_ms <= state.fingerprint


# Outcomes of a CTR copy or a contact event (the operator counts them; the refused ones become
# dead letters with the raw input, see ``udfs.late``).
DUPLICATE = "duplicate"  # provably a copy of what was counted: nothing to do
UNCHANGED = "unchanged"  # a newer copy with the same facts: only the fingerprint moves
FACT = "fact"  # a new fact revision: outputs carry it
APPLIED = "applied"  # a contact event that was applied (its outputs may be empty)
LATE = "late"  # refused: its window, or the window of the contribution it would retract, is
#                closed for good (SPEC §3: late as a whole; the old copy keeps counting)
AFTER_CLEARING = "after_clearing"  # refused: the contact's state was cleared (only the
#                fingerprint is left), so what it would replace or repeat is unknown
REFUSED = (LATE, AFTER_CLEARING)


def never_closed(ts_ms: int) -> bool:
    return False


def _ctr_outputs(old: Optional[FactRef], rec: ContactRecord, revision: int,
                 window_ms: int) -> list[Output]:
    """Retract the old contribution where it moves away, then put the new one."""
    out: list[Output] = []
    old_q, new_q = _queue_target(old, window_ms), _queue_target(rec, window_ms)
    if old_q is not None and old_q != new_q:
        out.append(QueuePut(old_q[0], old_q[1], old.event_ms, rec.contact_id, None))
    if new_q is not None:
        out.append(QueuePut(new_q[0], new_q[1], rec.event_ms, rec.contact_id, rec))
    old_a, new_a = _agent_target(old, window_ms), _agent_target(rec, window_ms)
    if old is not None and old_a != new_a and old_a[0]:
        out.append(AgentPut(old_a[0], rec.contact_id, old.event_ms, revision, None))
    out.append(AgentPut(fact_key(old, rec), rec.contact_id, rec.event_ms, revision, rec))
    return out


def retracts_from_closed(outputs: list[Output], is_closed: Callable[[int], bool]) -> bool:
    """Whether any retraction in ``outputs`` targets a window already closed for good."""
    return any(type(o) is not SignalPut and o.record is None and is_closed(o.ts_ms)
               for o in outputs)


def on_ctr(state: ContactState, rec: ContactRecord, window_ms: int,
           is_closed: Callable[[int], bool] = never_closed) -> tuple[str, list[Output]]:
    """Apply one CTR copy; returns (outcome, outputs), the outcome one of ``DUPLICATE``,
    ``UNCHANGED``, ``FACT``, ``LATE``, ``AFTER_CLEARING``.

    ``is_closed(ts_ms)``: whether the window of ``ts_ms`` is closed for good (past the CTR
    allowed lateness). A refused copy (``LATE``, ``AFTER_CLEARING``) leaves the state as it was,
    so its re-delivery is refused the same way. A newer copy with the same facts is a duplicate
    of what was counted however late it comes (nothing would change).
    """
    if is_duplicate(state, rec):
        return DUPLICATE, []
    if state.cleared:
        # The fact is gone: counting this copy could count the contact twice, and dropping it
        # silently would hide a correction (SPEC §2).
        return (LATE if is_closed(rec.event_ms) else AFTER_CLEARING), []
    old = state.fact
    ref = fact_ref(rec)
    if old is not None and old.digest == ref.digest:
        state.fingerprint = rec.last_update_ms
        state.last_event_ms = max(state.last_event_ms, rec.event_ms)
        return UNCHANGED, []
    if is_closed(rec.event_ms):
        return LATE, []
    outputs = _ctr_outputs(old, rec, state.revision + 1, window_ms)
    if retracts_from_closed(outputs, is_closed):
        return LATE, []
    state.fingerprint = rec.last_update_ms
    state.last_event_ms = max(state.last_event_ms, rec.event_ms)
    state.fact = ref
    state.revision += 1
    return FACT, outputs


def fact_key(old: Optional[FactRef], rec: ContactRecord) -> str:
    """The agent key a fact revision goes to: its agent's, else the older revision's agent's (a
    fact without an agent would otherwise overtake an older revision still waiting there for its
    join; SPEC §4: revisions leave in order), else "" (emitted at once)."""
    return rec.agent_arn or (old.agent_arn if old is not None else None) or ""


def signal_of(ev: ContactEvent) -> Optional[Signal]:
    """The early signal an event carries, if it is QUEUED/CONNECTED_TO_AGENT with a queue."""
    if ev.event_type not in SIGNAL_TYPES or not ev.queue_arn:
        return None
    return Signal(ev.event_type, ev.queue_arn, ev.channel, ev.event_ms)


def _signal_order(sig: Signal) -> tuple:
    """Earliest wins; equal times are broken by queue and channel, never by arrival order."""
    return (sig.ts_ms, sig.queue_arn, sig.channel or "")


def is_repeated_signal(state: ContactState, ev: ContactEvent) -> bool:
    """The event repeats the early signal already counted for this contact (same type and time)."""
    sig = signal_of(ev)
    return sig is not None and state.signals.get(sig.kind) == sig


def contact_event_outcome(state: ContactState, ev: ContactEvent,
                          is_closed: Callable[[int], bool] = never_closed) -> str:
    """What to do with a contact event: ``DUPLICATE`` (it repeats the signal counted, however
    late), ``LATE`` (its window is past the allowed lateness), ``AFTER_CLEARING`` (it carries a
    signal, but the contact's signals were cleared: it may repeat one that was counted or move
    it, nobody knows), else ``APPLIED`` (call ``on_contact_event``). An event without a signal
    after clearing changes nothing, exactly as it would with the full state: it is applied."""
    if is_repeated_signal(state, ev):
        return DUPLICATE
    if is_closed(ev.event_ms):
        return LATE
    if state.cleared and signal_of(ev) is not None:
        return AFTER_CLEARING
    return APPLIED


def on_contact_event(state: ContactState, ev: ContactEvent) -> list[Output]:
    """Apply one contact event: at most one early signal per type and contact (the earliest)."""
    state.last_event_ms = max(state.last_event_ms, ev.event_ms)
    sig = signal_of(ev)
    if sig is None or state.cleared:
        return []
    old = state.signals.get(sig.kind)
    if old is not None and _signal_order(old) <= _signal_order(sig):
        return []
    state.signals[sig.kind] = sig
    out: list[Output] = []
    if old is not None:
        out.append(SignalPut(old, ev.contact_id, False))
    out.append(SignalPut(sig, ev.contact_id, True))
    return out


def cleanup_times(state: ContactState, retention_ms: int, dedupe_retention_ms: int) -> tuple:
    """(clear full state at, forget fingerprint at) in event time."""
    return state.last_event_ms + retention_ms, state.last_event_ms + dedupe_retention_ms


def cleanup_timer_ms(state: ContactState, retention_ms: int) -> int:
    """When the cleanup timer fires: the clear time rounded up to 1/24 of the retention (1 h by
    default), so the few events of one contact share one timer instead of registering a new one
    each time ``last_event_ms`` moves (timers are state too). Firing a little after the clear
    time is harmless: ``on_cleanup`` compares with the exact time."""
    step = max(1, retention_ms // 24)
    clear_at = state.last_event_ms + retention_ms
    return -(-clear_at // step) * step


def on_cleanup(state: ContactState, now_ms: int, retention_ms: int,
               dedupe_retention_ms: int) -> Optional[ContactState]:
    """Apply the cleanup timer; returns the state to keep, or None to drop everything."""
    clear_at, forget_at = cleanup_times(state, retention_ms, dedupe_retention_ms)
    if now_ms >= forget_at or (now_ms >= clear_at and state.fingerprint is None):
        return None
    if now_ms >= clear_at and not state.cleared:
        return ContactState(fingerprint=state.fingerprint, revision=state.revision,
                            last_event_ms=state.last_event_ms, cleared=True)
    return state
