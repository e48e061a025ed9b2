"""A contact's time in queue, from its contact events (and its CTR when events were lost).

A contact is in queue from its queue's enqueue timestamp until the first of its
connected-to-agent, disconnect or (from a CTR) dequeue timestamp (SPEC §4). Contact events are
best effort, so a CTR ends the stay of a contact whose events never said it left; the CTR exists
only from its ``LastUpdateTimestamp`` on (whole seconds: from the second after it), and a tick
never uses what did not exist at its instant, so the CTR ends the stay from then. Every change of
the stay goes to the contact's (queue, channel) as a ``QueueStay`` that replaces the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from udfs.live.messages import CtrEnd, QueueStay, queue_key
from udfs.records import ContactEvent, ContactRecord

CTR_RESOLUTION_MS = 1000  # CTR timestamps are whole seconds (truncated)


@dataclass
class ContactLive:
    channel: Optional[str] = None
    queue_arn: Optional[str] = None
    enqueue_ms: Optional[int] = None
    exit_ms: Optional[int] = None
    last_seen_ms: int = 0  # latest event time of the contact's records (retention)
    sent: Optional[tuple] = None  # (key, QueueStay) last sent
    cleanup_ms: Optional[int] = None  # when the retention is over (``cleanup_at``)
    timer_ms: Optional[int] = None  # the one retention timer registered (``retention_timer``)


def _earliest(current: Optional[int], candidate: Optional[int], floor: Optional[int]
              ) -> Optional[int]:
    if candidate is None:
        return current
    if floor is not None and candidate < floor:
        candidate = floor
    return candidate if current is None or candidate < current else current


def _messages(st: ContactLive, contact_id: str) -> list[tuple[str, QueueStay]]:
    """The stay messages that bring the tick operator up to date with ``st``."""
    if st.queue_arn is None or st.enqueue_ms is None or st.channel is None:
        return []
    key = queue_key(st.queue_arn, st.channel)
    stay = QueueStay(contact_id, st.enqueue_ms, st.exit_ms)
    out = []
    if st.sent is not None:
        old_key, old_stay = st.sent
        if old_key == key and old_stay == stay:
            return []
        if old_key != key:  # moved to another queue: the old stay ends where the new begins
            out.append((old_key, old_stay._replace(exit_ms=_earliest(
                old_stay.exit_ms, st.enqueue_ms, old_stay.enqueue_ms))))
    st.sent = (key, stay)
    out.append((key, stay))
    return out


def on_contact_event(st: ContactLive, ev: ContactEvent) -> list[tuple[str, QueueStay]]:
    """Apply one contact event; returns the (queue key, stay) messages to send."""
    st.last_seen_ms = max(st.last_seen_ms, ev.event_ms)
    if ev.channel and st.channel is None:
        st.channel = ev.channel
    if ev.queue_arn and ev.enqueue_ms is not None:
        if st.queue_arn is None:
            st.queue_arn, st.enqueue_ms = ev.queue_arn, ev.enqueue_ms
        elif ev.queue_arn == st.queue_arn:
            st.enqueue_ms = min(st.enqueue_ms, ev.enqueue_ms)
        elif ev.enqueue_ms > st.enqueue_ms:  # queued again, in another queue
            st.queue_arn, st.enqueue_ms, st.exit_ms = ev.queue_arn, ev.enqueue_ms, None
    for left in (ev.connected_to_agent_ms, ev.disconnect_ms):
        if left is not None and (st.enqueue_ms is None or left >= st.enqueue_ms):
            st.exit_ms = _earliest(st.exit_ms, left, None)
    return _messages(st, ev.contact_id)


def on_ctr(st: ContactLive, rec: CtrEnd | ContactRecord) -> list[tuple[str, QueueStay]]:
    """A CTR copy: the contact has left its queue by the second after the CTR's last update."""
    st.last_seen_ms = max(st.last_seen_ms, rec.event_ms)
    if st.channel is None and rec.channel:
        st.channel = rec.channel
    st.exit_ms = _earliest(st.exit_ms, rec.last_update_ms + CTR_RESOLUTION_MS, st.enqueue_ms)
    return _messages(st, rec.contact_id)


def on_retention(st: ContactLive, contact_id: str, now_ms: int
                 ) -> list[tuple[str, QueueStay]]:
    """The contact's retention is over: a stay still open ends now (state is then cleared)."""
    st.exit_ms = _earliest(st.exit_ms, now_ms, st.enqueue_ms)
    return _messages(st, contact_id)


def cleanup_at(st: ContactLive, retention_ms: int) -> int:
    """When the contact's state goes: its retention after its latest event, rounded up to the
    minute so that one timer serves a contact's events."""
    return -(-(st.last_seen_ms + retention_ms) // 60_000) * 60_000


def retention_timer(st: ContactLive, retention_ms: int) -> Optional[int]:
    """After a record: the timer to register, if any. One at a time per contact: its events
    move the cleanup time later, and the timer, when it fires early, waits again for the
    current one (``on_retention_timer``) instead of every event registering a timer of its own
    (each a call into Java, and each firing again at the end of a bounded input)."""
    st.cleanup_ms = cleanup_at(st, retention_ms)
    if st.timer_ms is not None:
        return None
    st.timer_ms = st.cleanup_ms
    return st.timer_ms


#: ``on_retention_timer``: not this contact's timer (an earlier one, already waited again)
NOT_MINE = -1


def on_retention_timer(st: ContactLive, now_ms: int) -> Optional[int]:
    """A retention timer fired: ``NOT_MINE``, None when the retention is over (then
    ``on_retention``), or the later timer to wait for."""
    expected = st.timer_ms if st.timer_ms is not None else st.cleanup_ms  # (older states)
    if expected != now_ms:
        return NOT_MINE
    if st.cleanup_ms is not None and st.cleanup_ms > now_ms:
        st.timer_ms = st.cleanup_ms
        return st.timer_ms
    return None


def stale_enqueue(ev: ContactEvent, watermark: int, retention_ms: int) -> bool:
    """A copy of an event of a contact whose state was already cleared: never re-opens a stay."""
    return ev.enqueue_ms is not None and ev.enqueue_ms < watermark - retention_ms
