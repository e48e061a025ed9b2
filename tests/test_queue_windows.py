"""Queue window contents, emission and revisions (udfs.queue_windows), and the digest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import QUEUE_A, T0, S, ctr
from udfs.contact_metrics import ctr_contribution
from udfs.contact_state import CONNECTED_TO_AGENT, QUEUED, QueuePut, Signal, SignalPut
from udfs.digest import digest
from udfs.missed_contacts import MissedPut, missed_key, missed_puts
from udfs.queue_windows import (
    QueueWindow,
    apply_missed_put,
    apply_queue_put,
    apply_signal_put,
    is_empty,
    next_emission,
    window_numbers,
    window_queue_name,
    window_times,
    windows_due,
)
from udfs.records import AgentContact, ContactRecord

THRESHOLDS = (15, 30)
REPO = Path(__file__).resolve().parent.parent

# Window [T0, T0 + 60 s): c1 answered after 10 s in queue, c2 abandoned after 40 s.
HANDLED = ctr("c1", at=T0 + 40 * S, queue_duration=10.0)
ABANDONED = ctr("c2", at=T0 + 50 * S, agent=False, queue_duration=40.0)

FIRST_NUMBERS = {
    "contacts_queued": 2,
    "contacts_handled": 1,
    "contacts_abandoned": 1,
    "abandonment_rate": 50.0,
    "avg_queue_answer_time": 10.0,
    "avg_queue_abandon_time": 40.0,
    "max_queued_time": 40.0,
    "contacts_answered_in_x": {"15": 1, "30": 1},
    "contacts_abandoned_in_x": {"15": 0, "30": 0},
    "service_level": {"15": 50.0, "30": 50.0},
    "avg_handle_time": 60.0,  # 50 s talk + 0 s hold + 10 s ACW
    "avg_interaction_time": 50.0,
    "avg_after_contact_work_time": 10.0,
    "avg_hold_time": None,
    "contacts_put_on_hold": 0,
    "contacts_transferred_out": 0,
    "contacts_handled_by_initiation_method": {"INBOUND": 1},
    "contacts_transferred_out_by_agent": 0,
    "contacts_transferred_out_external": 0,
    "contacts_transferred_in": 0,
    "avg_contact_duration": 90.0,
    "contacts_disconnected_by_reason": {"CUSTOMER_DISCONNECT": 2},
    "sum_queue_answer_time": 10.0,
    "sum_queue_abandon_time": 40.0,
    "sum_handle_time": 60.0,
    "sum_interaction_time": 50.0,
    "sum_after_contact_work_time": 10.0,
    "sum_hold_time": 0.0,
    "sum_contact_duration": 180.0,
    "contacts_queued_by_enqueue": 2,
    "contacts_connected_to_agent": 1,
    "contacts_missed": 0,
}

ZERO_NUMBERS = {
    "contacts_queued": 0,
    "contacts_handled": 0,
    "contacts_abandoned": 0,
    "abandonment_rate": None,
    "avg_queue_answer_time": None,
    "avg_queue_abandon_time": None,
    "max_queued_time": None,
    "contacts_answered_in_x": {"15": 0, "30": 0},
    "contacts_abandoned_in_x": {"15": 0, "30": 0},
    "service_level": {"15": None, "30": None},
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
    "contacts_queued_by_enqueue": 0,
    "contacts_connected_to_agent": 0,
    "contacts_missed": 0,
}


def put(rec: ContactRecord) -> QueuePut:
    return QueuePut(rec.queue_arn or "", rec.channel, rec.event_ms, rec.contact_id, rec)


def retract(rec: ContactRecord) -> QueuePut:
    return QueuePut(rec.queue_arn or "", rec.channel, rec.event_ms, rec.contact_id, None)


def signal(kind: str, contact_id: str, add: bool = True) -> SignalPut:
    return SignalPut(Signal(kind, QUEUE_A, "VOICE", T0 + 5 * S), contact_id, add)


def missed(contact_id: str, agent: str = "agent-1", add: bool = True) -> MissedPut:
    return MissedPut(QUEUE_A, "VOICE", T0 + 7 * S, contact_id, agent, add)


def apply(win: QueueWindow, *updates: QueuePut | SignalPut | MissedPut) -> QueueWindow:
    for update in updates:
        if isinstance(update, QueuePut):
            apply_queue_put(win, update)
        elif isinstance(update, MissedPut):
            apply_missed_put(win, update)
        else:
            apply_signal_put(win, update)
    return win


def emit(win: QueueWindow, thresholds, known):
    """next_emission without its totals (checked by the report tests)."""
    emission = next_emission(win, thresholds, known)
    return None if emission is None else emission[:3]


def window_with(*updates: QueuePut | SignalPut | MissedPut) -> QueueWindow:
    return apply(QueueWindow(), *updates)


def first_window() -> QueueWindow:
    return window_with(put(HANDLED), put(ABANDONED), signal(QUEUED, "c1"), signal(QUEUED, "c3"),
                       signal(CONNECTED_TO_AGENT, "c1"))


# --- applying updates -----------------------------------------------------------------------


def test_put_stores_the_contribution_and_queue_name_and_a_newer_put_replaces_it() -> None:
    win = window_with(put(HANDLED))
    assert win.ctrs == {"c1": (ctr_contribution(HANDLED), "Sales")}
    newer = HANDLED._replace(last_update_ms=HANDLED.last_update_ms + 1, queue_duration=12.0,
                             queue_name="Sales EU")
    apply_queue_put(win, put(newer))
    assert win.ctrs == {"c1": (ctr_contribution(newer), "Sales EU")}


def test_retract_removes_the_contact_and_retracting_an_absent_one_is_a_no_op() -> None:
    win = window_with(put(HANDLED), put(ABANDONED), retract(HANDLED))
    assert set(win.ctrs) == {"c2"}
    apply_queue_put(win, retract(HANDLED))
    assert set(win.ctrs) == {"c2"}


def test_signals_add_and_retract_per_kind() -> None:
    win = window_with(signal(QUEUED, "c1"), signal(QUEUED, "c1"), signal(QUEUED, "c2"),
                      signal(CONNECTED_TO_AGENT, "c1"))
    assert (win.queued, win.connected) == ({"c1", "c2"}, {"c1"})
    apply_signal_put(win, signal(QUEUED, "c2", add=False))
    apply_signal_put(win, signal(CONNECTED_TO_AGENT, "c9", add=False))  # absent: no error
    assert (win.queued, win.connected) == ({"c1"}, {"c1"})
    apply_signal_put(win, signal(CONNECTED_TO_AGENT, "c1", add=False))
    assert (win.queued, win.connected) == ({"c1"}, set())


def test_missed_counts_once_per_contact_and_agent_and_retracts() -> None:
    win = window_with(missed("c1"), missed("c1"), missed("c1", "agent-2"), missed("c2"))
    assert window_numbers(win, THRESHOLDS)["contacts_missed"] == 3
    apply_missed_put(win, missed("c1", add=False))
    assert window_numbers(win, THRESHOLDS)["contacts_missed"] == 2
    assert not is_empty(window_with(missed("c1")))
    assert is_empty(window_with(missed("c1"), missed("c1", add=False)))


def test_missed_puts_add_at_the_first_time_and_retract_a_moved_one() -> None:
    contacts = (AgentContact("c1", "MISSED", "VOICE", None, QUEUE_A),
                AgentContact("c2", "REJECTED", "CHAT", None, None),  # no queue: counts nowhere
                AgentContact("c3", "MISSED", "VOICE", None, QUEUE_A))
    puts = missed_puts("agent-1", T0, contacts, [("c1", None), ("c2", None), ("c3", T0 + S)])
    assert puts == [MissedPut(QUEUE_A, "VOICE", T0, "c1", "agent-1", True),
                    MissedPut(QUEUE_A, "VOICE", T0 + S, "c3", "agent-1", False),
                    MissedPut(QUEUE_A, "VOICE", T0, "c3", "agent-1", True)]
    assert missed_key(puts[0]) == f"{QUEUE_A}|VOICE"


def test_is_empty() -> None:
    assert is_empty(QueueWindow())
    assert not is_empty(window_with(signal(CONNECTED_TO_AGENT, "c1")))
    assert not is_empty(window_with(put(HANDLED)))
    assert is_empty(window_with(put(HANDLED), retract(HANDLED), signal(QUEUED, "c1"),
                                signal(QUEUED, "c1", add=False)))


# --- emission -------------------------------------------------------------------------------


def test_an_empty_window_is_never_emitted() -> None:
    win = QueueWindow()
    assert emit(win, THRESHOLDS, "Sales") is None
    assert (win.revision, win.emitted) == (0, None)
    # content that came and went before the first emission: still nothing to say
    assert emit(window_with(put(HANDLED), retract(HANDLED)), THRESHOLDS, None) is None


def test_first_emission_is_revision_1_with_hand_computed_numbers() -> None:
    win = first_window()
    assert emit(win, THRESHOLDS, None) == (1, "Sales", FIRST_NUMBERS)
    assert win.revision == 1
    assert win.emitted == digest(["Sales", FIRST_NUMBERS])


def test_nothing_is_re_emitted_when_nothing_changed() -> None:
    win = first_window()
    emit(win, THRESHOLDS, None)
    assert emit(win, THRESHOLDS, None) is None
    apply_queue_put(win, put(HANDLED))  # a duplicate put
    apply_signal_put(win, signal(QUEUED, "c3"))  # a duplicate signal
    assert emit(win, THRESHOLDS, None) is None
    # a newer CTR copy whose contribution is the same changes no number either
    apply_queue_put(win, put(HANDLED._replace(last_update_ms=T0 + 99 * S, dequeue_ms=T0)))
    assert emit(win, THRESHOLDS, None) is None
    assert win.revision == 1


def test_a_late_change_re_emits_with_revision_2() -> None:
    win = first_window()
    emit(win, THRESHOLDS, None)
    # c2 was not abandoned after all: a newer copy has it answered after its 40 s in queue
    answered = ctr("c2", at=T0 + 50 * S, queue_duration=40.0, after_contact_work_duration=30.0)
    apply_queue_put(win, put(answered))
    revision, name, numbers = emit(win, THRESHOLDS, None) or (None, None, {})
    assert (revision, name) == (2, "Sales")
    assert numbers == {
        **FIRST_NUMBERS,
        "contacts_handled": 2,
        "contacts_abandoned": 0,
        "abandonment_rate": 0.0,
        "avg_queue_answer_time": 25.0,  # (10 + 40) / 2
        "avg_queue_abandon_time": None,
        "contacts_answered_in_x": {"15": 1, "30": 1},
        "avg_handle_time": 70.0,  # (60 + 80) / 2
        "avg_interaction_time": 50.0,
        "avg_after_contact_work_time": 20.0,  # (10 + 30) / 2
        "contacts_handled_by_initiation_method": {"INBOUND": 2},
        "sum_queue_answer_time": 50.0,
        "sum_queue_abandon_time": 0.0,
        "sum_handle_time": 140.0,
        "sum_interaction_time": 100.0,
        "sum_after_contact_work_time": 40.0,
    }
    assert emit(win, THRESHOLDS, None) is None


def test_a_window_emptied_after_its_emission_is_re_emitted_with_zero_counts() -> None:
    win = first_window()
    emit(win, THRESHOLDS, None)
    apply(win, retract(HANDLED), retract(ABANDONED), signal(QUEUED, "c1", add=False),
          signal(QUEUED, "c3", add=False), signal(CONNECTED_TO_AGENT, "c1", add=False))
    assert is_empty(win)
    assert emit(win, THRESHOLDS, "Sales") == (2, "Sales", ZERO_NUMBERS)
    assert emit(win, THRESHOLDS, "Sales") is None


# --- queue name -----------------------------------------------------------------------------


def test_queue_name_comes_from_the_windows_ctrs_before_the_known_name() -> None:
    win = window_with(put(ABANDONED._replace(queue_name="Sales (new name)")), put(HANDLED))
    # the smallest ContactId with a name decides: c1
    assert window_queue_name(win) == "Sales"
    assert emit(win, THRESHOLDS, "Known")[1] == "Sales"  # type: ignore[index]


def test_queue_name_skips_ctrs_without_a_name() -> None:
    win = window_with(put(HANDLED._replace(queue_name=None)), put(ABANDONED))
    assert window_queue_name(win) == "Sales"


@pytest.mark.parametrize("known", ["Known", None])
def test_queue_name_falls_back_to_the_known_name(known: str | None) -> None:
    win = window_with(signal(QUEUED, "c1"))
    assert window_queue_name(win) is None
    emission = emit(win, THRESHOLDS, known)
    assert emission is not None and emission[:2] == (1, known)


def test_learning_the_queue_name_later_re_emits_the_window() -> None:
    win = window_with(signal(QUEUED, "c1"))
    assert emit(win, THRESHOLDS, None) is not None
    emission = emit(win, THRESHOLDS, "Sales")
    assert emission is not None and emission[:2] == (2, "Sales")
    assert emission[2]["contacts_queued_by_enqueue"] == 1


# --- digest ---------------------------------------------------------------------------------


def test_digest_is_12_bytes_and_depends_on_every_value() -> None:
    a = digest(["Sales", FIRST_NUMBERS])
    assert len(a) == 12
    assert digest(["Sales", dict(FIRST_NUMBERS)]) == a
    assert digest(["Sales ", FIRST_NUMBERS]) != a
    assert digest(["Sales", {**FIRST_NUMBERS, "max_queued_time": 40.000001}]) != a
    assert digest(["Sales", {**FIRST_NUMBERS, "avg_hold_time": 0.0}]) != a


def test_digest_is_stable_across_processes() -> None:
    """A restored job runs in a new process: a per-process hash would re-emit every window."""
    value = ["Sales", FIRST_NUMBERS]
    code = (
        "import sys; from udfs.digest import digest; "
        f"sys.stdout.write(digest({value!r}).hex())"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True,
                       text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert outputs == {digest(value).hex()}


# --- the operator's retention (udfs.flink_queue_windows through the keyed harness) ------------


def test_window_times_keep_windows_for_the_ctr_lateness_and_seal_signals_earlier() -> None:
    minute, lateness, ctr_lateness = 60 * S, 15 * 60 * S, 2 * 3600 * S
    times = window_times(T0, minute, lateness, ctr_lateness)
    assert times == (T0 + minute - 1, T0 + minute - 1 + lateness, T0 + minute - 1 + ctr_lateness)
    for i, t in enumerate(times):  # a timer maps back to its window whatever it is for
        assert windows_due(t, minute, lateness, ctr_lateness)[i] == T0
    assert window_times(T0, minute, lateness, lateness).seal is None
    assert windows_due(T0, minute, lateness, lateness).seal is None


@pytest.mark.parametrize("write_back", [False, True])
def test_queue_key_keeps_windows_for_late_ctrs_and_nothing_after_its_retention(
        write_back: bool) -> None:
    """Also with the windows held in memory until the flush marker (``write_back``): the same
    rows, the same checkpointed window after a flush, nothing left after the retention."""
    from tests.operator_harness import Harness
    from udfs.flink_queue_windows import QueueWindowsFunction
    from udfs.settings import Settings

    settings = Settings()  # 15 min allowed lateness, 2 h CTR allowed lateness
    h = Harness(QueueWindowsFunction(settings), write_back=write_back)
    key = f"{QUEUE_A}|VOICE"
    first = ctr("c1", at=T0 + 40 * S)
    h.element(key, QueuePut(QUEUE_A, "VOICE", first.event_ms, "c1", first))
    h.element(key, SignalPut(Signal(QUEUED, QUEUE_A, "VOICE", T0 + 10 * S), "c2", True))
    h.advance(T0 + 60 * S - 1)
    (row,) = h.out
    assert '"revision":1' in row[2] and '"contacts_queued_by_enqueue":1' in row[2]
    # past the allowed lateness: the signals are sealed into counts, a signal put is refused
    h.advance(T0 + 60 * S - 1 + settings.allowed_lateness_ms)
    assert h.flush() == (2 if write_back else 0)  # the window and the queue's name
    win = h.data[("queue-windows", key)][T0]
    assert (win.sealed, win.queued, win.missed) == ((1, 0, 0), set(), set())
    h.element(key, SignalPut(Signal(QUEUED, QUEUE_A, "VOICE", T0 + 20 * S), "c3", True))
    assert len(h.out) == 1 and h.count("late_puts") == 1
    # an hour later a corrected CTR copy (long ACW) still revises the window
    h.advance(T0 + 3600 * S)
    newer = ctr("c1", at=T0 + 40 * S, after_contact_work_duration=1800.0)
    h.element(key, QueuePut(QUEUE_A, "VOICE", newer.event_ms, "c1", newer))
    row = h.out[-1]
    assert '"revision":2' in row[2] and '"contacts_queued_by_enqueue":1' in row[2]
    # past the CTR allowed lateness nothing of the key is left: no window, no name, no timer
    h.advance(T0 + 60 * S - 1 + settings.ctr_allowed_lateness_ms)
    assert h.data == {} and h.timers == []
    assert h.flush() == 0 and h.data == {} and len(h.fn.cache) == 0
