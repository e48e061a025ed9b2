"""Report intervals (udfs.reports): compact vectors add exactly, and the rollup's bookkeeping."""

from __future__ import annotations

from tests.builders import AGENT_A, QUEUE_A, T0, THRESHOLDS, S, ctr
from udfs.agent_intervals import AgentTimes, agent_time_fields
from udfs.contact_metrics import ctr_contribution, handled_fields, queue_fields, queue_totals
from udfs.reports.compact import (
    add_agent,
    add_queue,
    agent_compact,
    agent_fields_of_compact,
    queue_compact,
    queue_fields_of_compact,
)
from udfs.reports.messages import PrimaryWindow, report_key
from udfs.reports.records import agent_message, queue_message, report_fields, report_record
from udfs.reports.rollup import (
    ReportWindow,
    covering,
    fold,
    from_stored,
    is_final,
    next_emission,
    rollup,
    to_stored,
)
from udfs.settings import AGENT, QUEUE

W = 60_000
Q15 = 900_000

A = [ctr("c1", queue_duration=12.0, customer_hold_duration=5.0, number_of_holds=1),
     ctr("c2", agent=False, queue_duration=70.0, disconnect_reason="TELECOM_PROBLEM"),
     ctr("c3", initiation_method="TRANSFER", next_contact_id="n")]
B = [ctr("c4", queue_duration=3.0, after_contact_work_duration=0.5),
     ctr("c5", agent=False, queue_duration=9.0, transfer_completed_ms=T0),
     ctr("c6", initiation_method="CALLBACK", agent_interaction_duration=33.25)]


def contribs(recs):
    return [ctr_contribution(r) for r in recs]


def totals(recs, queued=0, connected=0, missed=0):
    return queue_totals(contribs(recs), THRESHOLDS, queued, connected, missed)


def test_queue_compact_round_trips_to_the_same_fields():
    t = totals(A, 2, 1, 1)
    assert queue_fields_of_compact(queue_compact(t), THRESHOLDS) == queue_fields(
        contribs(A), THRESHOLDS, 2, 1, 1)


def test_added_queue_vectors_equal_the_fields_of_all_contributions_together():
    added = add_queue(queue_compact(totals(A, 2, 1, 1)), queue_compact(totals(B, 1, 3, 0)))
    together = queue_fields(contribs(A + B), THRESHOLDS, 3, 4, 1)
    assert queue_fields_of_compact(added, THRESHOLDS) == together
    assert together["max_queued_time"] == 70.0
    assert together["contacts_disconnected_by_reason"] == {"CUSTOMER_DISCONNECT": 5,
                                                           "TELECOM_PROBLEM": 1}


def test_max_queued_time_of_an_empty_window_is_ignored():
    empty = queue_compact(totals([], 1))
    added = add_queue(empty, queue_compact(totals(B)))
    assert queue_fields_of_compact(added, THRESHOLDS)["max_queued_time"] == 20.0  # c6: 20 s
    assert queue_fields_of_compact(add_queue(empty, empty), THRESHOLDS)["max_queued_time"] is None


def test_sums_add_exactly_in_any_order():
    # 0.1 + 0.2 + 0.3 in floats depends on the order; in microseconds it does not
    parts = [totals([ctr(f"c{i}", queue_duration=d)]) for i, d in enumerate((0.1, 0.2, 0.3))]
    vectors = [queue_compact(t) for t in parts]
    forward = add_queue(add_queue(vectors[0], vectors[1]), vectors[2])
    backward = add_queue(add_queue(vectors[2], vectors[1]), vectors[0])
    assert forward == backward
    assert queue_fields_of_compact(forward, THRESHOLDS)["sum_queue_answer_time"] == 0.6


def test_merged_keyed_counts_are_capped_again():
    many = [ctr(f"c{i}", disconnect_reason=f"R{i:02d}") for i in range(40)]
    added = add_queue(queue_compact(totals(many[:20])), queue_compact(totals(many[20:])))
    reasons = queue_fields_of_compact(added, THRESHOLDS)["contacts_disconnected_by_reason"]
    assert len(reasons) == 32 and reasons["OTHER"] == 9 and sum(reasons.values()) == 40


def _times(*values):
    return agent_time_fields(AgentTimes(*values))


def test_agent_vectors_add_times_counts_and_sums():
    t1 = _times(60.0, 0.0, 30.0, 40.0, 10.0, 20.0, 0.001, 2.5)
    t2 = _times(30.0, 10.0, 0.0, 0.0, 0.0, 20.0, 0.0, 0.0)
    h1, h2 = handled_fields(contribs(A)), handled_fields(contribs(B))
    added = add_agent(agent_compact(t1, 1, h1), agent_compact(t2, 2, h2))
    times, non_response, handled = agent_fields_of_compact(added)
    assert times == _times(90.0, 10.0, 30.0, 40.0, 10.0, 40.0, 0.001, 2.5)
    assert times["occupancy"] == 100 * 30 / 70
    assert non_response == 3
    assert handled == handled_fields(contribs(A + B))


def test_messages_and_keys():
    q = queue_message(f"{QUEUE_A}|VOICE", T0, "Sales", totals(A))
    assert (q.kind, q.entity, q.window_start, q.names) == (QUEUE, f"{QUEUE_A}|VOICE", T0,
                                                           ("Sales",))
    assert report_key(q) == f"queue:{QUEUE_A}|VOICE"
    a = agent_message(AGENT_A, T0, ("ann", "RP", ("EU",)), _times(*[0.0] * 8), 0,
                      handled_fields([]))
    assert report_key(a) == f"agent:{AGENT_A}"


def test_covering_and_finality():
    ws = T0 + 16 * W  # T0 is 2024-01-15T08:00:00Z
    assert covering(ws, (Q15, 3_600_000)) == [(Q15, T0 + Q15), (3_600_000, T0)]
    lateness = 15 * W
    assert not is_final(ws, W, lateness, ws + W - 1 + lateness - 1)
    assert is_final(ws, W, lateness, ws + W - 1 + lateness)


def _msg(ws, n_handled, name="Sales"):
    return PrimaryWindow(QUEUE, f"{QUEUE_A}|VOICE", ws, (name,),
                         queue_compact(totals([ctr(f"c{i}") for i in range(n_handled)])))


def _emit(report, start, opened):
    total, names = rollup(report, start, Q15, opened, add_queue)
    fields = report_fields(QUEUE, total, THRESHOLDS)
    return next_emission(report, names, fields), names, fields


def test_rollup_of_folded_and_open_windows_with_revisions():
    report = ReportWindow()
    assert rollup(report, T0, Q15, {}, add_queue) is None  # nothing seen: nothing to emit
    first, second = _msg(T0, 2), _msg(T0 + W, 1, "Sales EU")
    fold(report, first.window_start, first.compact, first.names, add_queue)
    opened = {second.window_start: (second.compact, second.names),
              T0 + Q15: (_msg(T0 + Q15, 5).compact, ("Next",))}  # another report window
    revision, names, fields = _emit(report, T0, opened)
    assert (revision, names, fields["contacts_handled"]) == (1, ("Sales EU",), 3)
    assert _emit(report, T0, opened)[0] is None  # unchanged: nothing to emit
    # a revision of the open window replaces it
    opened[T0 + W] = (_msg(T0 + W, 4).compact, ("Sales EU",))
    revision, _, fields = _emit(report, T0, opened)
    assert (revision, fields["contacts_handled"]) == (2, 6)
    stored = to_stored(report)
    assert from_stored(stored) == report


def test_names_come_from_the_latest_primary_window_folded_or_open():
    report = ReportWindow()
    late = _msg(T0 + 14 * W, 1, "Last")
    fold(report, late.window_start, late.compact, late.names, add_queue)
    early = _msg(T0, 1, "First")
    fold(report, early.window_start, early.compact, early.names, add_queue)
    assert rollup(report, T0, Q15, {T0 + 3 * W: (early.compact, ("Middle",))},
                  add_queue)[1] == ("Last",)


def test_report_records_have_the_primary_format_and_the_report_window():
    t = totals(A)
    fields = report_fields(QUEUE, queue_compact(t), THRESHOLDS)
    rec = report_record(QUEUE, f"{QUEUE_A}|VOICE", T0, Q15, 3, ("Sales",), fields)
    assert rec["key"] == f"{QUEUE_A}|VOICE|2024-01-15T08:00:00Z"
    assert (rec["window_end"], rec["window_seconds"], rec["revision"]) == (
        "2024-01-15T08:15:00Z", 900, 3)
    assert rec["contacts_handled"] == 2 and rec["channel"] == "VOICE"
    times = _times(60.0, 0.0, 30.0, 40.0, 10.0, 20.0, 0.0, 5 * S / 1000)
    agent_fields = report_fields(AGENT, agent_compact(times, 1, handled_fields([])), THRESHOLDS)
    rec = report_record(AGENT, AGENT_A, T0, Q15, 1, ("ann", "RP", ("EU", "T1")), agent_fields)
    assert (rec["key"], rec["username"], rec["hierarchy"]) == (
        f"{AGENT_A}|2024-01-15T08:00:00Z", "ann", ["EU", "T1"])
    assert (rec["online_time"], rec["connecting_time"], rec["agent_non_response"]) == (
        60.0, 5.0, 1)
