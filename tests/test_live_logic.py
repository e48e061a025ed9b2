"""Pure tests of the live path's decisions (udfs/live): stays, shares, gauges, ticks."""

from __future__ import annotations

import pickle
import random

from udfs.live import agent_board, profile_board, queue_gauges
from udfs.live.agent_live import AgentLive, activity, on_agent_event, on_timeout, share_of
from udfs.live.contact_live import (
    NOT_MINE,
    ContactLive,
    on_contact_event,
    on_ctr,
    on_retention,
    on_retention_timer,
    retention_timer,
)
from udfs.live.messages import (
    AgentShare,
    AgentView,
    ProfileMember,
    QueueStay,
    Share,
    agent_key,
    ctr_end,
    profile_key,
    queue_key,
)
from udfs.live.ticks import CTR_ONLY_WATERMARK, MAX_WATERMARK, first_tick, tick_allowed
from udfs.records import (
    AVAILABLE,
    CUSTOM,
    AgentConfig,
    AgentContact,
    AgentEvent,
    ContactEvent,
    ContactRecord,
)

Q, Q2, AQ = "arn:x/queue/support", "arn:x/queue/sales", "arn:x/queue/agent/ann"
TICK = 10_000  # tick interval


def ce(event_type, at, queue=Q, enqueue=None, connected=None, disconnect=None, channel="VOICE"):
    return ContactEvent("c1", event_type, at, channel, "INBOUND", queue, None, None, None, None,
                        enqueue, connected, disconnect)


def ctr_copy(last_update):
    fields = dict.fromkeys(ContactRecord._fields)
    fields.update(contact_id="c1", last_update_ms=last_update, event_ms=last_update - 5000,
                  channel="VOICE")
    return ContactRecord(**fields)


def contact(cid, state, channel="VOICE", method="INBOUND"):
    return AgentContact(cid, state, channel, 0, Q, method)


CONFIG = AgentConfig("ann", None, None, "rp", "Voice RP", ((Q, "Support"), (AQ, None)), None,
                     None, ((Q, "VOICE"), (AQ, "VOICE")))


def ae(eid, at, status=AVAILABLE, contacts=(), event_type="STATE_CHANGE", config=CONFIG,
       name="Available", slots=(("VOICE", 1),)):
    return AgentEvent(eid, "ann", event_type, at, status, name, tuple(contacts), config, slots)


# -- ticks -----------------------------------------------------------------------------------
def test_first_tick_never_revises_an_emitted_tick():
    assert first_tick(12_000, -(1 << 63), TICK) == 20_000
    assert first_tick(20_000, 0, TICK) == 20_000  # a tick shows events at its own instant
    assert first_tick(12_000, 35_000, TICK) == 40_000  # late: from the next tick on
    # at the end of time no tick can show it (a Flink timer is a long)
    assert first_tick(12_000, MAX_WATERMARK, TICK) is None
    assert first_tick(12_000, MAX_WATERMARK - 3, TICK) is None


def test_ticks_stop_at_the_last_event_time_read_at_end_of_input():
    assert tick_allowed(50_000, 49_000, None)
    assert tick_allowed(50_000, MAX_WATERMARK, 50_000)
    assert not tick_allowed(60_000, MAX_WATERMARK, 59_999)
    assert not tick_allowed(10_000, MAX_WATERMARK, None)


def test_ticks_also_stop_at_the_last_event_time_read_when_the_ctrs_end_last():
    """The contact and agent events ended first: the live watermark is the CTRs' own, and the
    ticks after the data must not fire as if the data reached them (a file or topic of CTRs
    read last made one extra queue tick, 09:30:30 after the last event at 09:30:29.58)."""
    assert not tick_allowed(60_000, CTR_ONLY_WATERMARK, 59_999)
    assert tick_allowed(50_000, CTR_ONLY_WATERMARK, 59_999)
    assert tick_allowed(60_000, CTR_ONLY_WATERMARK - 1, 0)  # any earlier watermark: real data


# -- contacts --------------------------------------------------------------------------------
def test_a_stay_ends_at_the_first_of_connected_and_disconnect():
    st = ContactLive()
    assert on_contact_event(st, ce("QUEUED", 1000, enqueue=1000)) == [
        (queue_key(Q, "VOICE"), QueueStay("c1", 1000, None))]
    assert on_contact_event(st, ce("QUEUED", 1000, enqueue=1000)) == []  # repeated
    assert on_contact_event(st, ce("DISCONNECTED", 9000, enqueue=1000, connected=5000,
                                   disconnect=9000)) == [
        (queue_key(Q, "VOICE"), QueueStay("c1", 1000, 5000))]


def test_a_ctr_ends_a_stay_whose_events_were_lost_from_the_second_after_it_was_written():
    st = ContactLive()
    on_contact_event(st, ce("QUEUED", 1000, enqueue=1000))
    assert on_ctr(st, ctr_copy(60_000)) == [(queue_key(Q, "VOICE"), QueueStay("c1", 1000, 61_000))]
    st2 = ContactLive()
    on_contact_event(st2, ce("QUEUED", 1000, enqueue=1000))
    on_contact_event(st2, ce("CONNECTED_TO_AGENT", 8000, enqueue=1000, connected=8000))
    assert on_ctr(st2, ctr_copy(60_000)) == []  # the events already ended it


def test_the_ctr_end_message_carries_what_a_ctr_copy_does_to_a_stay():
    for make in (lambda rec: rec, ctr_end):
        st = ContactLive()
        on_contact_event(st, ce("QUEUED", 1000, enqueue=1000))
        assert on_ctr(st, make(ctr_copy(60_000))) == [
            (queue_key(Q, "VOICE"), QueueStay("c1", 1000, 61_000))]
        assert st.last_seen_ms == ctr_copy(60_000).event_ms


def test_queued_again_elsewhere_moves_the_stay():
    st = ContactLive()
    on_contact_event(st, ce("QUEUED", 1000, enqueue=1000))
    assert on_contact_event(st, ce("QUEUED", 7000, queue=Q2, enqueue=7000)) == [
        (queue_key(Q, "VOICE"), QueueStay("c1", 1000, 7000)),
        (queue_key(Q2, "VOICE"), QueueStay("c1", 7000, None))]


def test_the_retention_ends_an_open_stay():
    st = ContactLive()
    on_contact_event(st, ce("QUEUED", 1000, enqueue=1000))
    assert on_retention(st, "c1", 99_000) == [
        (queue_key(Q, "VOICE"), QueueStay("c1", 1000, 99_000))]


# -- agents ----------------------------------------------------------------------------------
def test_activity_follows_connects_precedence():
    assert activity("Available", [contact("a", "CONNECTED"), contact("b", "MISSED")]) == "Missed"
    assert activity("Available", [contact("a", "ENDED"), contact("b", "CONNECTED")]) == \
        "On contact"
    assert activity("Available", [contact("a", "ENDED"), contact("b", "CONNECTING")]) == \
        "After contact work"
    assert activity("Break", [contact("a", "CONNECTING")]) == "Incoming"
    assert activity("Break", [contact("a", "CONNECTING", method="OUTBOUND")]) == "On contact"
    assert activity("Break", []) == "Break"


def test_share_of_one_serving_agent():
    slots = {"VOICE": 0, "CHAT": 1}
    s = share_of(AVAILABLE, [contact("a", "CONNECTED", "CHAT")], slots, "CHAT")
    assert s == Share(1, 1, 0, 1, 0, 0, 0, 1, 1)
    assert share_of(AVAILABLE, [contact("a", "CONNECTED", "CHAT")], slots, "VOICE") == \
        Share(1, 1, 0, 1, 0, 0, 0, 0, 0)
    assert share_of(CUSTOM, [contact("a", "ENDED"), contact("b", "ERROR")], slots, "VOICE") == \
        Share(1, 0, 0, 1, 1, 1, 1, 1, 0)
    assert share_of(AVAILABLE, [], {"VOICE": 1}, "VOICE") == Share(1, 1, 1, 0, 0, 0, 0, 0, 1)
    assert share_of(AVAILABLE, [contact("a", "CONNECTING", method="OUTBOUND")], {},
                    "VOICE").slots_active == 1


def test_agent_shares_go_to_its_profile_and_views_change_only_when_they_change():
    st = AgentLive()
    first = on_agent_event(st, ae("e1", 1000), 240_000)
    assert [k for k, _ in first] == [profile_key("rp"), agent_key("ann")]
    member = first[0][1]
    assert member == ProfileMember("ann", 1000, (("VOICE", Share(1, 1, 1, 0, 0, 0, 0, 0, 1)),),
                                   ((queue_key(Q, "VOICE"), "Support"),
                                    (queue_key(AQ, "VOICE"), None)))
    assert on_agent_event(st, ae("e1", 1000), 240_000) is None  # duplicate
    assert on_agent_event(st, ae("e0", 500), 240_000) is None  # older than the state
    assert on_agent_event(st, ae("e2", 2000, event_type="HEART_BEAT"), 240_000) == []
    busy = dict(on_agent_event(st, ae("e3", 2500, contacts=[contact("c9", "CONNECTED")]),
                               240_000))
    assert busy[profile_key("rp")].served is None  # unchanged: not sent again
    moved = CONFIG._replace(routing_profile_arn="rp2", inbound_channels=((Q2, "VOICE"),),
                            inbound_queues=((Q2, "Sales"),))
    msgs = on_agent_event(st, ae("e4", 3000, config=moved), 240_000)
    assert msgs[0] == (profile_key("rp"), ProfileMember("ann", 3000, None, ()))  # leaves
    key, joined = msgs[1]
    assert key == profile_key("rp2")
    assert joined.served == ((queue_key(Q2, "VOICE"), "Sales"),)
    assert joined.shares == (("VOICE", Share(1, 1, 1, 0, 0, 0, 0, 0, 1)),)
    assert st.profile == profile_key("rp2")


def test_logout_and_timeout_take_the_agent_out_of_every_gauge():
    st = AgentLive()
    on_agent_event(st, ae("e1", 1000), 240_000)
    msgs = dict(on_timeout(st, "ann", 241_000))
    assert msgs[profile_key("rp")] == ProfileMember("ann", 241_000, None, None)
    view = msgs[agent_key("ann")]
    assert (view.status, view.online, view.status_since_ms, view.contacts) == \
        ("Offline", False, 241_000, ())
    st = AgentLive()
    on_agent_event(st, ae("e1", 1000), 240_000)
    msgs = dict(on_agent_event(st, ae("e2", 5000, status=AVAILABLE, event_type="LOGOUT"),
                               240_000))
    assert msgs[agent_key("ann")].status == "Offline" and not st.online
    assert msgs[profile_key("rp")].shares is None


# -- routing profiles --------------------------------------------------------------------------
SERVED = ((queue_key(Q, "VOICE"), "Support"), (queue_key(Q, "CHAT"), "Support"))


def test_a_profile_sends_each_pair_its_summed_share_when_it_changed():
    board = profile_board.ProfileBoard()
    ann = (("CHAT", share()), ("VOICE", share()))
    bob = (("VOICE", share(available=0)),)
    out = dict(profile_board.on_tick(board, "p|rp", 10_000, [
        ProfileMember("ann", 1000, ann, SERVED), ProfileMember("bob", 2000, bob, SERVED)]))
    assert out[queue_key(Q, "VOICE")] == AgentShare(
        "p|rp", 10_000, Share(2, 2, 1, 0, 0, 0, 0, 0, 1), "Support")
    assert out[queue_key(Q, "CHAT")].share == share()
    assert profile_board.on_tick(board, "p|rp", 20_000, []) == []  # nothing changed
    out = dict(profile_board.on_tick(board, "p|rp", 30_000, [
        ProfileMember("ann", 25_000, None, None)]))  # ann offline
    assert out[queue_key(Q, "CHAT")] == AgentShare("p|rp", 30_000, None, "Support")
    assert out[queue_key(Q, "VOICE")].share == share(available=0)
    out = dict(profile_board.on_tick(board, "p|rp", 40_000, [
        ProfileMember("bob", 31_000, None, ())]))  # bob left the profile
    assert out == {queue_key(Q, "VOICE"): AgentShare("p|rp", 40_000, None, "Support")}
    assert list(board.members) == ["ann"]
    profile_board.apply(board, [ProfileMember("ann", 41_000, None, ())])
    profile_board.on_tick(board, "p|rp", 50_000)
    assert profile_board.is_empty(board) and board.members == {}


def test_a_profiles_members_share_one_served_tuple():
    board = profile_board.ProfileBoard()
    profile_board.apply(board, [ProfileMember(a, 0, None, SERVED) for a in ("ann", "bob")])
    assert board.members["ann"][0] is board.members["bob"][0]
    restored = pickle.loads(pickle.dumps(board))  # a later tick, from state
    profile_board.apply(restored, [ProfileMember("cy", 1, None, tuple(SERVED))])
    assert restored.members["cy"][0] is restored.members["ann"][0] is restored.members["bob"][0]


def naive_sums(members: dict) -> dict:
    """Every online member's share of each key it serves, summed from scratch."""
    acc: dict = {}
    for keys, shares in members.values():
        for channel, share in shares or ():
            for key in keys:
                if key.endswith("|" + channel):
                    acc[key] = [x + y for x, y in zip(acc.get(key, [0] * 9), share)]
    return {k: Share(*v) for k, v in acc.items()}


def test_a_profiles_sums_kept_as_members_change_equal_the_sums_from_scratch():
    rng = random.Random(7)
    other = ((queue_key("q2", "VOICE"), "Sales"), (queue_key("q2", "TASK"), None))
    board, members = profile_board.ProfileBoard(), {}
    for i in range(600):
        agent = f"a{rng.randrange(12)}"
        served = rng.choice([SERVED, other, SERVED + other, None, None, ()])
        shares = rng.choice([None, (("VOICE", share()),), (("CHAT", share(available=0)),
                             ("VOICE", Share(1, 0, 0, 1, 0, 1, 0, 2, 0))),
                             (("TASK", share()), ("VOICE", share(available=0)))])
        profile_board.apply(board, [ProfileMember(agent, i, shares, served)])
        if served == ():
            members.pop(agent, None)
        else:
            keys = (tuple(k for k, _ in served) if served is not None
                    else members.get(agent, ((), None))[0])
            members[agent] = (keys, shares)
        assert profile_board.sums(board) == naive_sums(members), i
        if i % 100 == 99:  # restored from state, or stored before the board kept totals
            board = pickle.loads(pickle.dumps(board))
            if i % 200 == 199:
                board.totals = None
    assert profile_board.sums(board) == naive_sums(members)


# -- gauges ----------------------------------------------------------------------------------
def share(online=1, available=1):
    return Share(online, 1, available, 0, 0, 0, 0, 0, available)


def test_gauges_at_a_tick_from_the_messages_due_by_then():
    board = queue_gauges.QueueBoard()
    assert queue_gauges.effective_ms(QueueStay("c1", 12_000, 25_000)) == 12_000
    assert queue_gauges.effective_ms(AgentShare("ann", 21_000, None, None)) == 21_000
    g = queue_gauges.on_tick(board, 20_000, [
        QueueStay("c1", 12_000, None), QueueStay("c2", 18_000, None),
        AgentShare("ann", 0, share(), "Support"), QueueStay("c1", 12_000, 25_000)])
    assert (g.contacts_in_queue, g.oldest_enqueue_ms, g.agents.available) == (2, 12_000, 1)
    g = queue_gauges.on_tick(board, 30_000, [AgentShare("ann", 21_000, share(available=0),
                                                        None)])
    assert (g.contacts_in_queue, g.oldest_enqueue_ms, g.agents.available) == (1, 18_000, 0)
    assert list(board.stays) == ["c2"]  # pruned
    assert board.queue_name == "Support"


def test_one_zero_record_after_the_queue_empties():
    board = queue_gauges.QueueBoard()
    assert queue_gauges.on_tick(board, 10_000, [AgentShare("ann", 0, share(), None)]
                                ).agents.online == 1
    assert queue_gauges.wants_next_tick(board)
    assert queue_gauges.on_tick(board, 20_000, [AgentShare("ann", 15_000, None, None)]) == \
        queue_gauges.ZERO
    assert not queue_gauges.wants_next_tick(board) and queue_gauges.is_empty(board)
    assert queue_gauges.on_tick(board, 30_000) is None


def test_an_agent_queue_shows_only_while_a_contact_waits_in_it():
    board = queue_gauges.QueueBoard(agent_queue=queue_gauges.is_agent_queue(AQ))
    assert queue_gauges.on_tick(board, 10_000, [AgentShare("ann", 0, share(), None)]) is None
    g = queue_gauges.on_tick(board, 20_000, [QueueStay("c5", 15_000, 22_000)])
    assert (g.contacts_in_queue, g.agents.online) == (1, 1)
    assert queue_gauges.on_tick(board, 30_000) == queue_gauges.ZERO  # all zeros, agents too
    assert queue_gauges.on_tick(board, 40_000) is None


def test_agent_records_only_when_the_view_changes():
    board = agent_board.AgentBoard()
    v1 = AgentView(1000, "ann", "rp", None, "Available", "ROUTABLE", 1000, "Available", True, ())
    assert agent_board.on_tick(board, 0) is None
    assert agent_board.on_tick(board, 10_000, [v1]) == v1
    back = [v1._replace(from_ms=14_000, activity="Incoming"), v1._replace(from_ms=16_000)]
    assert agent_board.on_tick(board, 20_000, back) is None  # back to what it was: unchanged
    assert not agent_board.is_done(board)
    assert agent_board.on_tick(board, 30_000, [v1._replace(from_ms=22_000, online=False)]
                               ).online is False
    assert agent_board.is_done(board)


def test_pending_messages_are_due_in_the_order_sent_and_later_ones_wait() -> None:
    from udfs.live.ticks import split_due

    pending = [(20_000, "a"), (30_000, "x"), (20_000, "b"), (10_000, "old")]
    due, later = split_due(pending, 20_000)
    assert due == ["a", "b", "old"]
    assert later == [(30_000, "x")]
    assert split_due(None, 20_000) == ([], [])


def test_tick_slots_keep_the_next_ten_minutes_of_ticks_apart() -> None:
    from udfs.live.ticks import TICK_SLOTS, tick_slot

    interval = 10_000
    slots = {tick_slot(t * interval, interval) for t in range(100, 100 + TICK_SLOTS)}
    assert len(slots) == TICK_SLOTS
    assert tick_slot(5 * interval, interval) == tick_slot((5 + TICK_SLOTS) * interval, interval)


def test_a_timer_is_registered_once_until_it_fires() -> None:
    from udfs.registered_timers import RegisteredTimers

    timers = RegisteredTimers()
    assert timers.first("q", 10)
    assert not timers.first("q", 10)
    assert timers.first("q", 20) and timers.first("other", 10)
    timers.fired("q", 10)
    assert timers.first("q", 10)


def test_an_agents_deadline_is_its_timeout_online_and_its_forgetting_offline() -> None:
    from udfs.live.agent_live import next_deadline

    st = AgentLive(last_event_ms=1_000, online=True)
    assert next_deadline(st, 240_000) == 241_000
    st.online, st.offline_since_ms = False, 5_000
    assert next_deadline(st, 240_000) == 245_000


def test_a_contact_has_one_retention_timer_that_waits_again_when_its_events_moved_it() -> None:
    day = 24 * 3600 * 1000
    st = ContactLive(last_seen_ms=10_000)
    assert retention_timer(st, day) == 60_000 + day  # rounded up to the minute
    st.last_seen_ms = 190_000  # three more minutes of events: no timer of their own
    assert retention_timer(st, day) is None and st.cleanup_ms == 240_000 + day
    assert on_retention_timer(st, 60_000 + day) == 240_000 + day  # early: waits again
    assert on_retention_timer(st, 60_000 + day) == NOT_MINE  # (a second firing: not its timer)
    assert on_retention_timer(st, 240_000 + day) is None  # the retention is over
    old = ContactLive(last_seen_ms=0, cleanup_ms=60_000 + day)  # stored before timer_ms existed
    assert on_retention_timer(old, 60_000 + day) is None
    assert on_retention_timer(old, 120_000 + day) == NOT_MINE
