"""The agent operator's routing (udfs.flink_agent_state) driven key by key in plain Python.

``tests.operator_harness`` gives the function Flink's keyed states, timers and watermark, so these
tests see what a mini-cluster test cannot: the state and timers left behind, and exactly which
watermark each record met.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from tests import payloads
from tests.builders import AGENT_A, AGENT_B, INSTANCE, LATENESS, MIN, T0, S, agent_event, ctr
from tests.operator_harness import Harness
from udfs.contact_state import AgentPut, ContactState, on_ctr
from udfs.flink_agent_state import AgentStateFunction
from udfs.flink_outputs import OUTPUT_TAG
from udfs.settings import Settings
from udfs.timestamps import parse_iso_ms

# CTRs as late as the events (the CTR lateness has its own tests, ``CtrLateness``)
SET = Settings(ctr_allowed_lateness_ms=Settings().allowed_lateness_ms)
OOO = SET.out_of_orderness_ms
DAY = 24 * 60 * MIN


def split(out: list) -> tuple[dict, list, list]:
    """(main rows by topic as parsed records, dead-letter records, side rows of other tags)."""
    main: dict = {}
    dead, other = [], []
    for item in out:
        if isinstance(item, tuple) and len(item) == 2 and item[0] == OUTPUT_TAG:
            dead.append(json.loads(item[1][2]))
        elif isinstance(item, tuple) and len(item) == 2:
            other.append(item)
        else:
            main.setdefault(item[0], []).append(json.loads(item[2]))
    return main, dead, other


def agent_records(h: Harness) -> list[dict]:
    return split(h.out)[0].get(SET.outputs["agent"], [])


def facts(h: Harness) -> list[dict]:
    return split(h.out)[0].get(SET.outputs["contact"], [])


def latest(records: list[dict]) -> dict:
    out: dict = {}
    for r in records:
        if r["key"] not in out or r["revision"] > out[r["key"]]["revision"]:
            out[r["key"]] = r
    return out


def final(records: list[dict]) -> dict:
    """What a reader ends with, revisions aside (a revised window counts once, as its latest)."""
    return {k: {f: v for f, v in r.items() if f != "revision"} for k, r in latest(records).items()}


def event(h: Harness, key: str, ev) -> None:
    """An agent event, already parsed (the operator's entry parses raw JSON first)."""
    h.call(key, "_agent_event", ev)


def harness(cache_size: int = 4096, write_back: bool = False) -> Harness:
    return Harness(AgentStateFunction(SET, cache_size=cache_size), write_back=write_back)


# -- bounded state (issue 15 item 4) ----------------------------------------------------------
def test_bug_thousands_of_agents_seen_once_leave_no_state_after_retention() -> None:
    """Agents with random ARNs appear once (a login, a call, a handled CTR): during the run the
    cache stays within its bound; after the retention nothing is left, no state, no timer."""
    rng = random.Random(7)
    h = harness(cache_size=200)
    n = 3000
    for i in range(n):
        arn = f"{INSTANCE}/agent/{rng.getrandbits(96):024x}"
        at = T0 + i * S
        event(h, arn, agent_event(f"{i}-login", at, event_type="LOGIN", agent=arn))
        event(h, arn, agent_event(f"{i}-call", at + 20 * S, agent=arn,
                                    contacts=((f"c{i}", "CONNECTED"),)))
        event(h, arn, agent_event(f"{i}-acw", at + 50 * S, agent=arn,
                                    contacts=((f"c{i}", "ENDED"),)))
        rec = ctr(f"c{i}", at=at + 50 * S, agent_arn=arn, connected_to_agent_ms=at + 20 * S)
        h.element2(arn, AgentPut(arn, rec.contact_id, rec.event_ms, 1, rec))
        assert len(h.fn.cache) <= 200
        h.advance(at - OOO)
    assert len(facts(h)) < n  # most facts still wait for their agent's watermark
    peak = h.state_bytes()
    h.advance(T0 + n * S + 2 * MIN)
    assert len(facts(h)) == n and all(f["username"] == "jdoe" for f in facts(h))
    assert len({r["agent_arn"] for r in agent_records(h)}) == n
    assert h.state_bytes() > peak / 10  # still within the lateness and the retention
    h.advance(T0 + n * S + DAY + 10 * MIN)
    assert h.data == {} and h.timers == [] and len(h.fn.cache) == 0
    assert h.count("agents_dropped") == n


def test_an_agent_dropped_after_retention_starts_afresh_and_is_dropped_again() -> None:
    h = harness()
    event(h, AGENT_A, agent_event("e1", T0))
    h.advance(T0 + DAY + 10 * MIN)
    assert h.data == {} and h.count("agents_dropped") == 1
    later = T0 + DAY + 20 * MIN
    event(h, AGENT_A, agent_event("e2", later))
    h.advance(later + 5 * MIN)
    again = {r["window_start"][11:16]: r["online_time"] for r in agent_records(h)
             if r["window_start"].startswith("2024-01-16")}
    assert again == {"08:20": 60.0, "08:21": 60.0, "08:22": 60.0, "08:23": 60.0}
    h.advance(later + 2 * DAY)
    assert h.data == {} and h.timers == [] and h.count("agents_dropped") == 2


# -- shuffled and duplicated agent events (issue 15 item 9) -----------------------------------
STATES = (("AVAILABLE", ()), ("AVAILABLE", (("cx", "CONNECTED"),)),
          ("AVAILABLE", (("cx", "ENDED"),)), ("CUSTOM", ()), ("AVAILABLE", (("cy", "MISSED"),)))


def shift(agent: str, seed: int, start: int, minutes: int = 25) -> list:
    """Random status changes and heartbeats of one agent, with a gap long enough to go offline."""
    rng = random.Random(seed)
    events, at, i = [], start, 0
    while at < start + minutes * MIN:
        status, contacts = rng.choice(STATES)
        events.append(agent_event(f"{agent[-2:]}-{i}", at, status=status, contacts=contacts,
                                  agent=agent))
        i += 1
        at += rng.choice((5 * S, 17 * S, 40 * S, 90 * S, 300 * S))
    return events


def run(deliveries: list, watermark_lag: int = OOO) -> Harness:
    """Deliver ``(arrival_ms, event)`` in arrival order; the watermark trails the greatest event
    time seen by the out-of-orderness bound (Flink's bounded out-of-orderness), and at the end
    passes everything."""
    h = harness()
    top = None
    for _, ev in sorted(deliveries, key=lambda d: d[0]):
        event(h, ev.agent_arn, ev)
        top = ev.event_ms if top is None else max(top, ev.event_ms)
        h.advance(top - watermark_lag - 1)
    h.advance(top + DAY + 10 * MIN)
    assert h.data == {}
    return h


def events() -> list:
    return shift(AGENT_A, 1, T0) + shift(AGENT_B, 2, T0 + 3 * MIN)


def in_order() -> Harness:
    return run([(ev.event_ms, ev) for ev in events()])


def test_shuffled_within_the_bound_and_duplicated_gives_exactly_the_ordered_output() -> None:
    rng = random.Random(3)
    deliveries = [(ev.event_ms + rng.randint(0, OOO), ev) for ev in events()]
    deliveries += [(ev.event_ms + rng.randint(0, 3 * OOO), ev) for ev in events()[::3]]
    h = run(deliveries)
    assert sorted(agent_records(h), key=lambda r: r["key"]) == sorted(
        agent_records(in_order()), key=lambda r: r["key"])
    assert h.count("event_duplicates") == len(events()[::3])
    assert h.count("late_agent_events") == 0


def test_shuffled_beyond_the_bound_within_the_lateness_revises_to_the_ordered_output() -> None:
    rng = random.Random(4)
    deliveries = [(ev.event_ms + (rng.randint(2 * MIN, 10 * MIN) if rng.random() < 0.2 else 0),
                   ev) for ev in events()]
    h = run(deliveries)
    got = agent_records(h)
    assert max(r["revision"] for r in got) > 1  # the late-refresh path ran
    assert final(got) == final(agent_records(in_order()))
    assert h.count("late_agent_events") == 0


def test_events_beyond_the_lateness_are_dead_letters_and_the_rest_counts_as_without_them() -> None:
    evs = events()
    top = max(ev.event_ms for ev in evs)
    late = {id(ev) for ev in evs if ev.event_ms < top - LATENESS - 3 * MIN}
    late = set(list(late)[::3])
    deliveries = [(top + 1 if id(ev) in late else ev.event_ms, ev) for ev in evs]
    h = run(deliveries)
    dead = split(h.out)[1]
    assert len(late) >= 3
    assert sorted(d["key"] for d in dead) == sorted(ev.event_id for ev in evs if id(ev) in late)
    assert {d["error"] for d in dead} == {"late"} and {d["stream"] for d in dead} == {
        "agent_events"}
    assert json.loads(dead[0]["raw"])["event_id"] == dead[0]["key"]
    without = run([(ev.event_ms, ev) for ev in evs if id(ev) not in late])
    assert final(agent_records(h)) == final(agent_records(without))


def test_the_entry_parses_raw_json_and_a_late_event_dead_letter_is_the_raw_input() -> None:
    h = harness()
    arn = payloads.agent_arn("ann")
    h.element1(arn, payloads.agent_event("ann", "e1", "LOGIN", "09:30:00", status="Available"))
    assert h.fn.cache.get(arn).points[0][2] == "e1"
    h.advance(parse_iso_ms(payloads.t_ms("09:30:00")))
    old = payloads.agent_event("ann", "old", "STATE_CHANGE", "09:00:00", status="Available")
    h.element1(arn, old)
    h.element1(arn, "not json")
    dead = split(h.out)[1]
    assert [(d["error"], d["raw"]) for d in dead][0] == ("late", old)
    assert dead[1]["error"].startswith("not_json") and dead[1]["raw"] == "not json"


# -- contact facts: the join wait and revision order (issue 15 item 8) ------------------------
def puts_of(*copies) -> list[AgentPut]:
    st, out = ContactState(), []
    for rec in copies:
        out += [p for p in on_ctr(st, rec, SET.window_ms)[1] if isinstance(p, AgentPut)]
    return out


def test_bug_a_newer_revision_without_agent_leaves_after_the_older_one_waiting_for_its_join(
        ) -> None:
    h = harness()
    event(h, AGENT_A, agent_event("e1", T0))
    rev1 = ctr(updated=T0 + 5 * MIN)
    rev2 = ctr(updated=T0 + 6 * MIN, agent=False)  # a correction without the Agent object
    for p in puts_of(rev1, rev2):
        h.element2(p.agent_arn, p)
    assert facts(h) == []  # rev 2 waits behind rev 1 (it went out at once before)
    h.advance(T0 + 5 * MIN)
    assert [(f["revision"], f["username"]) for f in facts(h)] == [(1, "jdoe"), (2, None)]


def test_a_newer_revision_joining_earlier_still_leaves_after_the_older_one() -> None:
    h = harness()
    event(h, AGENT_A, agent_event("e1", T0))
    rev1 = ctr(updated=T0 + 5 * MIN)
    rev2 = ctr(updated=T0 + 6 * MIN, connected_to_agent_ms=T0 + 5 * S)
    h.advance(T0 + 10 * S)  # past rev 2's join time, not rev 1's
    for p in puts_of(rev1, rev2):
        h.element2(p.agent_arn, p)
    assert facts(h) == []
    h.advance(T0 + 5 * MIN)
    assert [f["revision"] for f in facts(h)] == [1, 2]


def test_facts_without_any_agent_leave_at_once() -> None:
    h = harness()
    rec = ctr(agent=False)
    for p in puts_of(rec):
        h.element2(p.agent_arn, p)
    assert [f["revision"] for f in facts(h)] == [1] and h.data == {}


# -- fail-safe against retractions into closed windows (issue 15 item 1) ----------------------
def test_bug_a_retraction_into_a_closed_window_never_double_counts() -> None:
    """Copy 1 counts at 08:01; copy 2 (disconnect 08:19) arrives once 08:01 is closed for good:
    the retraction cannot be applied, so copy 2 does not count (it used to count in both)."""
    h = harness()
    event(h, AGENT_A, agent_event("e1", T0))
    copy1 = ctr(updated=T0 + 2 * MIN)
    copy2 = ctr(updated=T0 + 20 * MIN, at=T0 + 19 * MIN + 30 * S)
    p1, (retract, p2) = puts_of(copy1), puts_of(copy1, copy2)[1:]
    h.element2(AGENT_A, p1[0])
    h.advance(T0 + 18 * MIN)
    assert retract.record is None and p2.record is copy2
    h.element2(AGENT_A, retract)
    h.element2(AGENT_A, p2)
    h.advance(T0 + 2 * DAY)
    handled = {r["window_start"][11:16]: r["contacts_handled"] for r in latest(
        agent_records(h)).values() if r["contacts_handled"]}
    assert handled == {"08:01": 1}
    dead = split(h.out)[1]
    assert [(d["stream"], d["error"], d["key"]) for d in dead] == [("ctrs", "late", "c1")]
    assert json.loads(dead[0]["raw"])["event_ms"] == copy2.event_ms
    assert [f["revision"] for f in facts(h)] == [1]
    assert h.count("late_retractions") == 1 and h.count("rejected_puts") == 1


def test_a_put_moving_between_agents_still_counts_once_each() -> None:
    h = harness()
    for a in (AGENT_A, AGENT_B):
        event(h, a, agent_event(f"e-{a[-2:]}", T0, agent=a))
    copy1 = ctr(updated=T0 + 2 * MIN)
    copy2 = ctr(updated=T0 + 3 * MIN, agent_arn=AGENT_B)
    for p in puts_of(copy1, copy2):
        h.element2(p.agent_arn, p)
    h.advance(T0 + 2 * DAY)
    handled = {r["agent_arn"]: r["contacts_handled"] for r in latest(agent_records(h)).values()
               if r["window_start"][11:16] == "08:01"}
    assert handled == {AGENT_A: 0, AGENT_B: 1}


# -- CTRs with an allowed lateness of their own (SPEC §3) -------------------------------------
@dataclass(frozen=True)
class CtrLateness(Settings):
    ctr_allowed_lateness_ms: int = 2 * 60 * MIN


def test_a_ctr_later_than_the_agent_events_lateness_revises_the_window_with_its_times() -> None:
    """The agent's events are long final (their points pruned), but a CTR within the CTR lateness
    still adds its handled contact to the window, whose time fields stay what they were."""
    h = Harness(AgentStateFunction(CtrLateness()))
    event(h, AGENT_A, agent_event("e1", T0, event_type="LOGIN"))
    event(h, AGENT_A, agent_event("e2", T0 + 30 * S, contacts=(("c1", "CONNECTED"),)))
    event(h, AGENT_A, agent_event("e3", T0 + 100 * S, contacts=(("c1", "ENDED"),)))
    for i in range(45):  # then available, a heartbeat every 2 minutes
        event(h, AGENT_A, agent_event(f"h{i}", T0 + 110 * S + i * 2 * MIN,
                                      event_type="HEART_BEAT"))
        h.advance(T0 + 110 * S + i * 2 * MIN - OOO)
    h.advance(T0 + 90 * MIN)
    first = latest(agent_records(h))
    st = h.fn.cache.get(AGENT_A)
    assert st.points[0][0] > T0 + 10 * MIN and T0 + MIN in st.frozen  # pruned, times kept
    rec = ctr(at=T0 + 110 * S, connected_to_agent_ms=T0 + 30 * S)
    for p in puts_of(rec):
        h.element2(p.agent_arn, p)
    revised = [r for r in agent_records(h) if r["revision"] == 2]
    assert len(revised) == 1 and revised[0]["contacts_handled"] == 1
    before = first[revised[0]["key"]]
    times = ("online_time", "non_productive_time", "contact_time", "contact_handle_time",
             "after_contact_work_time", "idle_time", "error_time", "occupancy")
    assert [revised[0][k] for k in times] == [before[k] for k in times]
    assert revised[0]["online_time"] == 60.0 and revised[0]["window_start"].endswith("08:01:00Z")
    assert [f["revision"] for f in facts(h)] == [1]
    late = ctr("c2", at=T0 + 110 * S)
    h.advance(T0 + 125 * MIN)  # past the CTR lateness too
    for p in puts_of(late):
        h.element2(p.agent_arn, p)
    assert [d["error"] for d in split(h.out)[1]] == ["late"] and h.count("late_puts") == 1
    h.advance(T0 + 2 * DAY)
    assert h.data == {} and h.timers == []


# -- write-back (key-group batches) -------------------------------------------------------------
def agents_day(h: Harness, n: int, restore_at: int = -1, flush_every: int = 7) -> Harness:
    """``n`` agents with a login, a call, its CTR and after-contact work; flushes now and then
    (a checkpoint) and, at agent ``restore_at``, continues in a new instance restored from the
    flushed state. Returns the harness that ran last."""
    for i in range(n):
        if i == restore_at:
            h.flush()
            h = h.restored(AgentStateFunction(SET, cache_size=h.fn.cache_size))
        arn = f"{INSTANCE}/agent/{i:024x}"
        at = T0 + i * 7 * S
        event(h, arn, agent_event(f"{i}-login", at, event_type="LOGIN", agent=arn))
        event(h, arn, agent_event(f"{i}-call", at + 20 * S, agent=arn,
                                    contacts=((f"c{i}", "CONNECTED"),)))
        rec = ctr(f"c{i}", at=at + 50 * S, agent_arn=arn, connected_to_agent_ms=at + 20 * S)
        h.element2(arn, AgentPut(arn, rec.contact_id, rec.event_ms, 1, rec))
        event(h, arn, agent_event(f"{i}-acw", at + 50 * S, agent=arn,
                                    contacts=((f"c{i}", "ENDED"),)))
        if i % flush_every == 0:
            h.flush()
        h.advance(at - OOO)
    h.advance(T0 + n * 7 * S + 30 * MIN)
    return h


def test_state_written_back_gives_the_same_outputs_and_checkpoints_as_written_through() -> None:
    """Held in memory between flushes, with a cache too small for the agents (a changed agent
    is evicted before its changes are written), the outputs are those of writing every change
    at once, the flushed state is the same bytes, and an instance restored from a flush in the
    middle goes on as if nothing happened."""
    through = agents_day(harness(cache_size=50), 300)
    back = agents_day(harness(cache_size=50, write_back=True), 300)
    assert back.out == through.out and len(agent_records(back)) > 300
    back.flush()
    assert back.data == through.data
    resumed = agents_day(harness(cache_size=50, write_back=True), 300, restore_at=150)
    assert facts(resumed) == facts(through)[-len(facts(resumed)):]
    assert final(agent_records(resumed)) == {
        k: v for k, v in final(agent_records(through)).items() if k in
        final(agent_records(resumed))}
    resumed.flush()
    assert resumed.data == through.data


def test_written_back_state_is_not_written_per_event() -> None:
    through = agents_day(harness(), 40, flush_every=10 ** 9)
    back = agents_day(harness(write_back=True), 40, flush_every=10 ** 9)
    assert back.state_calls < through.state_calls / 2
    assert back.flush() > 0 and back.flush() == 0  # nothing left to write twice
