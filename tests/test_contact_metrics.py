"""Contact-record metric formulas: every field checked against hand-computed values."""

from __future__ import annotations

import pytest

from udfs.contact_metrics import (
    CtrContribution,
    cap_keys,
    ctr_contribution,
    handled_fields,
    queue_fields,
)
from udfs.records import ContactRecord

T0 = 1_705_305_600_000  # 2024-01-15T08:00:00Z
DEFAULT_THRESHOLDS = [15, 20, 30, 60, 90, 120]
QUEUE = "arn:aws:connect:us-east-1:1:instance/i/queue/q1"
AGENT = "arn:aws:connect:us-east-1:1:instance/i/agent/a1"


def ctr(
    *,
    queued: bool = False,
    handled: bool = False,
    duration: float | None = None,
    interaction: float | None = None,
    hold: float | None = None,
    acw: float | None = None,
    holds: int | None = None,
    next_id: str | None = None,
    transfer_completed: bool = False,
    method: str | None = "INBOUND",
    reason: str | None = "CUSTOMER_DISCONNECT",
    initiated: bool = True,
) -> ContactRecord:
    """A CTR with only the fields the metric formulas look at set as asked."""
    return ContactRecord(
        contact_id="c1",
        last_update_ms=T0 + 300_000,
        event_ms=T0 + 200_000,
        channel="VOICE",
        initiation_method=method,
        initial_contact_id=None,
        previous_contact_id=None,
        next_contact_id=next_id,
        initiation_ms=T0 if initiated else None,
        connected_to_system_ms=T0,
        disconnect_ms=T0 + 200_000,
        disconnect_reason=reason,
        transfer_completed_ms=T0 + 150_000 if transfer_completed else None,
        queue_arn=QUEUE,
        queue_name="Q1",
        enqueue_ms=T0 + 5_000 if queued else None,
        dequeue_ms=None,
        queue_duration=duration,
        agent_arn=AGENT if handled else None,
        agent_username="jdoe" if handled else None,
        agent_routing_profile="Basic" if handled else None,
        agent_hierarchy=None,
        connected_to_agent_ms=T0 + 20_000 if handled else None,
        agent_interaction_duration=interaction,
        customer_hold_duration=hold,
        after_contact_work_duration=acw,
        number_of_holds=holds,
        longest_hold_duration=None,
    )


# --- ctr_contribution -------------------------------------------------------------------------


def test_abandoned_contact():
    c = ctr_contribution(ctr(queued=True, duration=42))
    assert c == CtrContribution(
        queued=True,
        handled=False,
        abandoned=True,
        queue_duration=42.0,
        handle_time=0.0,
        interaction_time=0.0,
        after_contact_work_time=0.0,
        on_hold=False,
        hold_time=0.0,
        transferred_out=False,
        initiation_method="INBOUND",
        transferred_by_agent=False,
        transferred_external=False,
        transferred_in=False,
        contact_duration=200.0,
        disconnect_reason="CUSTOMER_DISCONNECT",
    )
    assert type(c.queue_duration) is float


def test_handled_held_contact():
    c = ctr_contribution(
        ctr(queued=True, handled=True, duration=10, interaction=100, hold=20, acw=30, holds=2)
    )
    assert c == CtrContribution(
        queued=True,
        handled=True,
        abandoned=False,
        queue_duration=10.0,
        handle_time=150.0,
        interaction_time=100.0,
        after_contact_work_time=30.0,
        on_hold=True,
        hold_time=20.0,
        transferred_out=False,
        initiation_method="INBOUND",
        contact_duration=200.0,
        disconnect_reason="CUSTOMER_DISCONNECT",
    )


def test_agent_transfer_counts_transferred_out_not_abandoned():
    c = ctr_contribution(ctr(queued=True, handled=True, duration=3, interaction=40, next_id="c2"))
    assert (c.handled, c.abandoned, c.transferred_out) == (True, False, True)
    assert (c.transferred_by_agent, c.transferred_external) == (True, False)
    assert c.handle_time == 40.0


def test_external_transfer_without_agent_is_transferred_out_not_abandoned():
    c = ctr_contribution(ctr(queued=True, duration=8, transfer_completed=True))
    assert (c.queued, c.handled, c.abandoned, c.transferred_out) == (True, False, False, True)
    assert (c.transferred_by_agent, c.transferred_external) == (False, True)


@pytest.mark.parametrize("method, queued, expected", [
    ("TRANSFER", True, True), ("QUEUE_TRANSFER", True, True), ("TRANSFER", False, False),
    ("INBOUND", True, False), (None, True, False)])
def test_transferred_in_is_a_queued_transfer_or_queue_transfer(method, queued, expected):
    c = ctr_contribution(ctr(queued=queued, duration=1, method=method))
    assert c.transferred_in is expected


def test_input_values_used_as_keys_are_capped_to_64_characters():
    c = ctr_contribution(ctr(method="M" * 100, reason="R" * 65))
    assert (c.initiation_method, c.disconnect_reason) == ("M" * 64, "R" * 64)


def test_queue_transfer_is_neither_abandoned_nor_transferred_out():
    # Enqueued, moved on to another contact segment by a flow, never reached an agent.
    c = ctr_contribution(ctr(queued=True, duration=5, next_id="c2"))
    assert (c.queued, c.handled, c.abandoned, c.transferred_out) == (True, False, False, False)


def test_empty_next_contact_id_counts_as_missing():
    c = ctr_contribution(ctr(queued=True, duration=5, next_id=""))
    assert c.abandoned is True
    c = ctr_contribution(ctr(handled=True, next_id=""))
    assert c.transferred_out is False


def test_all_optional_fields_null():
    c = ctr_contribution(ctr(handled=True, method=None, reason=None, initiated=False))
    assert c == CtrContribution(
        queued=False,
        handled=True,
        abandoned=False,
        queue_duration=None,
        handle_time=0.0,
        interaction_time=0.0,
        after_contact_work_time=0.0,
        on_hold=False,
        hold_time=0.0,
        transferred_out=False,
        initiation_method=None,
        contact_duration=None,
        disconnect_reason=None,
    )


def test_zero_holds_is_not_on_hold_even_with_hold_duration():
    c = ctr_contribution(ctr(handled=True, hold=7, holds=0))
    assert (c.on_hold, c.hold_time, c.handle_time) == (False, 7.0, 7.0)


def test_not_queued_not_handled_contributes_nothing_but_its_method():
    c = ctr_contribution(ctr(duration=None, method="API"))
    assert (c.queued, c.handled, c.abandoned, c.transferred_out) == (False,) * 4


def test_durations_are_floats_even_from_ints():
    c = ctr_contribution(ctr(handled=True, interaction=1, hold=2, acw=3, duration=4))
    for value in (c.handle_time, c.interaction_time, c.hold_time, c.after_contact_work_time):
        assert type(value) is float
    assert c.handle_time == 6.0


# --- handled_fields ---------------------------------------------------------------------------


def test_handled_fields_empty():
    assert handled_fields([]) == {
        "contacts_handled": 0,
        "avg_handle_time": None,
        "avg_after_contact_work_time": None,
        "avg_interaction_time": None,
        "avg_hold_time": None,
        "contacts_put_on_hold": 0,
        "sum_handle_time": 0.0,
        "sum_interaction_time": 0.0,
        "sum_after_contact_work_time": 0.0,
        "sum_hold_time": 0.0,
    }


def test_handled_fields_ignores_unhandled_and_averages_hold_over_held_only():
    contribs = [
        ctr_contribution(ctr(handled=True, interaction=100, hold=20, acw=30, holds=1)),
        ctr_contribution(ctr(handled=True, interaction=200, acw=10, holds=0)),
        ctr_contribution(ctr(handled=True, interaction=50, hold=6, holds=2)),
        ctr_contribution(ctr(queued=True, duration=99, interaction=999, hold=999, holds=5)),
    ]
    assert handled_fields(contribs) == {
        "contacts_handled": 3,
        "avg_handle_time": (150 + 210 + 56) / 3,
        "avg_after_contact_work_time": 40 / 3,
        "avg_interaction_time": 350 / 3,
        "avg_hold_time": 13.0,
        "contacts_put_on_hold": 2,
        "sum_handle_time": 416.0,
        "sum_interaction_time": 350.0,
        "sum_after_contact_work_time": 40.0,
        "sum_hold_time": 26.0,
    }


def test_handled_fields_without_holds_has_null_hold_time():
    f = handled_fields(iter([ctr_contribution(ctr(handled=True, interaction=60))]))
    assert f["contacts_handled"] == 1
    assert f["avg_handle_time"] == 60.0
    assert f["avg_after_contact_work_time"] == 0.0
    assert f["avg_hold_time"] is None


# --- queue_fields -----------------------------------------------------------------------------

QUEUE_FIELD_ORDER = [
    "contacts_queued",
    "contacts_handled",
    "contacts_abandoned",
    "abandonment_rate",
    "avg_queue_answer_time",
    "avg_queue_abandon_time",
    "max_queued_time",
    "contacts_answered_in_x",
    "contacts_abandoned_in_x",
    "service_level",
    "avg_handle_time",
    "avg_interaction_time",
    "avg_after_contact_work_time",
    "avg_hold_time",
    "contacts_put_on_hold",
    "contacts_transferred_out",
    "contacts_handled_by_initiation_method",
    "contacts_transferred_out_by_agent",
    "contacts_transferred_out_external",
    "contacts_transferred_in",
    "avg_contact_duration",
    "contacts_disconnected_by_reason",
    "sum_queue_answer_time",
    "sum_queue_abandon_time",
    "sum_handle_time",
    "sum_interaction_time",
    "sum_after_contact_work_time",
    "sum_hold_time",
    "sum_contact_duration",
    "contacts_queued_by_enqueue",
    "contacts_connected_to_agent",
    "contacts_missed",
]


def test_queue_fields_empty_window_with_early_signals_only():
    f = queue_fields([], DEFAULT_THRESHOLDS, 3, 2, 1)
    zeros = {"15": 0, "20": 0, "30": 0, "60": 0, "90": 0, "120": 0}
    assert f == {
        "contacts_queued": 0,
        "contacts_handled": 0,
        "contacts_abandoned": 0,
        "abandonment_rate": None,
        "avg_queue_answer_time": None,
        "avg_queue_abandon_time": None,
        "max_queued_time": None,
        "contacts_answered_in_x": zeros,
        "contacts_abandoned_in_x": zeros,
        "service_level": {"15": None, "20": None, "30": None, "60": None, "90": None, "120": None},
        "avg_handle_time": None,
        "avg_interaction_time": None,
        "avg_after_contact_work_time": None,
        "avg_hold_time": None,
        "contacts_put_on_hold": 0,
        "contacts_transferred_out": 0,
        "contacts_handled_by_initiation_method": {},
        "contacts_transferred_out_by_agent": 0,
        "contacts_transferred_out_external": 0,
        "contacts_transferred_in": 0,
        "avg_contact_duration": None,
        "contacts_disconnected_by_reason": {},
        "sum_queue_answer_time": 0.0,
        "sum_queue_abandon_time": 0.0,
        "sum_handle_time": 0.0,
        "sum_interaction_time": 0.0,
        "sum_after_contact_work_time": 0.0,
        "sum_hold_time": 0.0,
        "sum_contact_duration": 0.0,
        "contacts_queued_by_enqueue": 3,
        "contacts_connected_to_agent": 2,
        "contacts_missed": 1,
    }
    assert list(f) == QUEUE_FIELD_ORDER
    assert list(f["service_level"]) == ["15", "20", "30", "60", "90", "120"]


def _mixed_window() -> list[CtrContribution]:
    return [
        # a: handled, D=10, handle 100+20+30, held once
        ctr(queued=True, handled=True, duration=10, interaction=100, hold=20, acw=30, holds=1),
        # b: handled, D=20 (== threshold 20), handle 200+0+10, never held
        ctr(queued=True, handled=True, duration=20, interaction=200, acw=10, holds=0,
            reason="AGENT_DISCONNECT"),
        # c: handled callback with unknown D, held 3 times, agent-transferred onward
        ctr(
            queued=True,
            handled=True,
            interaction=50,
            hold=5,
            holds=3,
            next_id="n",
            method="CALLBACK",
        ),
        # d: abandoned at D=15 (== threshold 15)
        ctr(queued=True, duration=15),
        # e: abandoned at D=40, without InitiationTimestamp (no contact duration)
        ctr(queued=True, duration=40, initiated=False),
        # f: a transferred-in segment, queue-to-queue transfer by a flow at D=5: queued, not
        # abandoned
        ctr(queued=True, duration=5, next_id="n2", method="TRANSFER"),
        # g: outbound (not queued), handled, then transferred to an external number
        ctr(handled=True, interaction=60, transfer_completed=True, method="OUTBOUND"),
        # h: flow-only contact sent to an external number, no disconnect reason
        ctr(transfer_completed=True, method=None, reason=None),
    ]


def test_queue_fields_mixed_window():
    contribs = [ctr_contribution(r) for r in _mixed_window()]
    f = queue_fields(contribs, [15, 20, 30], 7, 4, 2)
    assert f == {
        "contacts_queued": 6,  # a b c d e f
        "contacts_handled": 4,  # a b c g
        "contacts_abandoned": 2,  # d e
        "abandonment_rate": pytest.approx(100 * 2 / 6),
        "avg_queue_answer_time": 15.0,  # (10 + 20) / 2; c has no D, g has no D
        "avg_queue_abandon_time": 27.5,  # (15 + 40) / 2
        "max_queued_time": 40.0,
        "contacts_answered_in_x": {"15": 1, "20": 1, "30": 2},
        "contacts_abandoned_in_x": {"15": 0, "20": 1, "30": 1},
        # queued D values 10, 20, None, 15, 40, 5 over 6 queued
        "service_level": {
            "15": pytest.approx(100 * 2 / 6),
            "20": 50.0,
            "30": pytest.approx(100 * 4 / 6),
        },
        "avg_handle_time": 118.75,  # (150 + 210 + 55 + 60) / 4
        "avg_interaction_time": 102.5,  # (100 + 200 + 50 + 60) / 4
        "avg_after_contact_work_time": 10.0,  # (30 + 10 + 0 + 0) / 4
        "avg_hold_time": 12.5,  # (20 + 5) / 2 held contacts
        "contacts_put_on_hold": 2,
        "contacts_transferred_out": 3,  # c (agent), g and h (external)
        "contacts_handled_by_initiation_method": {"CALLBACK": 1, "INBOUND": 2, "OUTBOUND": 1},
        "contacts_transferred_out_by_agent": 1,  # c
        "contacts_transferred_out_external": 2,  # g h
        "contacts_transferred_in": 1,  # f
        "avg_contact_duration": 200.0,  # 7 CTRs of 200 s each; e has no InitiationTimestamp
        "contacts_disconnected_by_reason": {"AGENT_DISCONNECT": 1, "CUSTOMER_DISCONNECT": 6,
                                            "UNKNOWN": 1},
        "sum_queue_answer_time": 30.0,
        "sum_queue_abandon_time": 55.0,
        "sum_handle_time": 475.0,
        "sum_interaction_time": 410.0,
        "sum_after_contact_work_time": 40.0,
        "sum_hold_time": 25.0,
        "sum_contact_duration": 1400.0,
        "contacts_queued_by_enqueue": 7,
        "contacts_connected_to_agent": 4,
        "contacts_missed": 2,
    }
    assert list(f) == QUEUE_FIELD_ORDER


def test_queue_fields_accepts_a_one_shot_iterator():
    contribs = [ctr_contribution(r) for r in _mixed_window()]
    assert queue_fields(iter(contribs), [15, 20, 30], 7, 4) == queue_fields(
        contribs, [15, 20, 30], 7, 4
    )


def test_single_abandoned_contact():
    f = queue_fields([ctr_contribution(ctr(queued=True, duration=30))], [15, 30, 60], 1, 0)
    assert f["contacts_queued"] == 1
    assert f["contacts_handled"] == 0
    assert f["contacts_abandoned"] == 1
    assert f["abandonment_rate"] == 100.0
    assert f["avg_queue_answer_time"] is None
    assert f["avg_queue_abandon_time"] == 30.0
    assert f["max_queued_time"] == 30.0
    assert f["contacts_answered_in_x"] == {"15": 0, "30": 0, "60": 0}
    assert f["contacts_abandoned_in_x"] == {"15": 0, "30": 0, "60": 1}  # 30 is not < 30
    assert f["service_level"] == {"15": 0.0, "30": 0.0, "60": 100.0}
    assert f["avg_handle_time"] is None
    assert f["contacts_put_on_hold"] == 0
    assert f["contacts_transferred_out"] == 0
    assert f["contacts_handled_by_initiation_method"] == {}


def test_single_handled_contact():
    rec = ctr(queued=True, handled=True, duration=14.5, interaction=61, hold=9, acw=12, holds=1)
    f = queue_fields([ctr_contribution(rec)], [15], 0, 1)
    assert f["contacts_queued"] == 1
    assert f["contacts_handled"] == 1
    assert f["contacts_abandoned"] == 0
    assert f["abandonment_rate"] == 0.0
    assert f["avg_queue_answer_time"] == 14.5
    assert f["avg_queue_abandon_time"] is None
    assert f["max_queued_time"] == 14.5
    assert f["contacts_answered_in_x"] == {"15": 1}
    assert f["contacts_abandoned_in_x"] == {"15": 0}
    assert f["service_level"] == {"15": 100.0}
    assert f["avg_handle_time"] == 82.0
    assert f["avg_interaction_time"] == 61.0
    assert f["avg_after_contact_work_time"] == 12.0
    assert f["avg_hold_time"] == 9.0
    assert f["contacts_put_on_hold"] == 1
    assert f["contacts_transferred_out"] == 0
    assert f["contacts_handled_by_initiation_method"] == {"INBOUND": 1}


def test_threshold_edge_d_equal_x_is_not_within_x():
    contribs = [
        ctr_contribution(ctr(queued=True, handled=True, duration=20)),
        ctr_contribution(ctr(queued=True, duration=20)),
    ]
    f = queue_fields(contribs, [20, 21], 0, 0)
    assert f["contacts_answered_in_x"] == {"20": 0, "21": 1}
    assert f["contacts_abandoned_in_x"] == {"20": 0, "21": 1}
    assert f["service_level"] == {"20": 0.0, "21": 100.0}


def test_zero_duration_is_within_every_threshold():
    f = queue_fields([ctr_contribution(ctr(queued=True, handled=True, duration=0))], [1], 0, 0)
    assert f["contacts_answered_in_x"] == {"1": 1}
    assert f["service_level"] == {"1": 100.0}
    assert f["max_queued_time"] == 0.0
    assert f["avg_queue_answer_time"] == 0.0


def test_queued_without_duration_counts_but_stays_out_of_d_metrics():
    contribs = [
        ctr_contribution(ctr(queued=True, handled=True)),
        ctr_contribution(ctr(queued=True)),
    ]
    f = queue_fields(contribs, [15], 0, 0)
    assert (f["contacts_queued"], f["contacts_handled"], f["contacts_abandoned"]) == (2, 1, 1)
    assert f["abandonment_rate"] == 50.0
    assert f["avg_queue_answer_time"] is None
    assert f["avg_queue_abandon_time"] is None
    assert f["max_queued_time"] is None
    assert f["contacts_answered_in_x"] == {"15": 0}
    assert f["contacts_abandoned_in_x"] == {"15": 0}
    assert f["service_level"] == {"15": 0.0}  # denominator still counts them


def test_initiation_methods_only_handled_sorted_and_unknown_for_none():
    recs = [
        ctr(handled=True, method="TRANSFER"),
        ctr(handled=True, method="API"),
        ctr(handled=True, method=None),
        ctr(handled=True, method="QUEUE_TRANSFER"),
        ctr(handled=True, method="TRANSFER"),
        ctr(queued=True, duration=3, method="CALLBACK"),  # abandoned: not handled
    ]
    f = queue_fields([ctr_contribution(r) for r in recs], [15], 0, 0)
    assert f["contacts_handled_by_initiation_method"] == {
        "API": 1,
        "QUEUE_TRANSFER": 1,
        "TRANSFER": 2,
        "UNKNOWN": 1,
    }
    assert list(f["contacts_handled_by_initiation_method"]) == [
        "API",
        "QUEUE_TRANSFER",
        "TRANSFER",
        "UNKNOWN",
    ]


def test_transferred_out_counts_a_contact_once_even_with_both_reasons():
    rec = ctr(handled=True, next_id="n", transfer_completed=True)
    f = queue_fields([ctr_contribution(rec)], [15], 0, 0)
    assert f["contacts_transferred_out"] == 1


def test_put_on_hold_counts_only_handled():
    recs = [ctr(handled=True, holds=1, hold=4), ctr(queued=True, duration=1, holds=2, hold=8)]
    f = queue_fields([ctr_contribution(r) for r in recs], [15], 0, 0)
    assert f["contacts_put_on_hold"] == 1
    assert f["avg_hold_time"] == 4.0


def test_queue_and_agent_handled_metrics_agree():
    contribs = [ctr_contribution(r) for r in _mixed_window()]
    h = handled_fields(contribs)
    q = queue_fields(contribs, [15], 0, 0)
    for name, value in h.items():
        assert q[name] == value


def test_threshold_keys_are_integer_strings():
    f = queue_fields([], [15.0, 120], 0, 0)
    assert list(f["contacts_answered_in_x"]) == ["15", "120"]


# --- cap_keys ---------------------------------------------------------------------------------


def test_cap_keys_keeps_small_objects_sorted():
    assert cap_keys({"b": 1, "a": 2}) == {"a": 2, "b": 1}
    assert list(cap_keys({"b": 1, "a": 2})) == ["a", "b"]


def test_cap_keys_merges_keys_equal_after_truncation():
    assert cap_keys({"x" * 64 + "1": 1, "x" * 64 + "2": 2}) == {"x" * 64: 3}


def test_cap_keys_keeps_the_31_largest_and_the_rest_under_other():
    counts = {f"R{i:02d}": i + 1 for i in range(40)}  # R00: 1 ... R39: 40
    counts["OTHER"] = 5
    capped = cap_keys(counts)
    assert len(capped) == 32
    assert set(capped) == {f"R{i:02d}" for i in range(9, 40)} | {"OTHER"}
    assert capped["OTHER"] == 5 + sum(range(1, 10))
    assert sum(capped.values()) == sum(counts.values())


def test_cap_keys_breaks_count_ties_by_key():
    capped = cap_keys({f"K{i:02d}": 1 for i in range(33)})
    assert "K31" not in capped and "K32" not in capped and capped["OTHER"] == 2


def test_both_keyed_objects_of_a_queue_record_are_bounded():
    recs = [ctr(handled=True, method=f"METHOD_{i}" + "x" * 80, reason=f"REASON_{i}")
            for i in range(50)]
    f = queue_fields([ctr_contribution(r) for r in recs], [15], 0, 0)
    for name in ("contacts_handled_by_initiation_method", "contacts_disconnected_by_reason"):
        assert len(f[name]) == 32 and f[name]["OTHER"] == 19
        assert max(len(k) for k in f[name]) <= 64
        assert sum(f[name].values()) == 50
