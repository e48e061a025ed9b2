"""The report-interval operator's state and timers, driven in plain Python (no cluster).

Messages, watermarks and timers are fed by hand: a report window emits once when its end passes,
re-emits (revision + 1) when a primary window's revision changes its numbers, folds final primary
windows into one vector and leaves no state behind after its allowed lateness.
"""

from __future__ import annotations

from tests.builders import QUEUE_A, T0, THRESHOLDS, ctr
from udfs.contact_metrics import ctr_contribution, queue_totals
from udfs.flink_reports import ReportWindowsFunction
from udfs.reports.records import queue_message
from udfs.settings import Settings

W, LATENESS, Q5 = 60_000, 15 * 60_000, 5 * 60_000
KEY = f"{QUEUE_A}|VOICE"


class MapState(dict):
    def put(self, k, v):
        self[k] = v

    def remove(self, k):
        del self[k]

    def contains(self, k):
        return k in self


class Counter:
    n = 0

    def inc(self):
        self.n += 1


class Timers:
    def __init__(self):
        self.watermark = -(2**63)
        self.registered: set = set()

    def current_watermark(self):
        return self.watermark

    def register_event_time_timer(self, t):
        self.registered.add(t)


class Ctx:
    def __init__(self, timers):
        self.timers = timers

    def timer_service(self):
        return self.timers

    def get_current_key(self):
        return f"queue:{KEY}"


def operator():
    settings = Settings(report_windows=(("5m", Q5),), ctr_allowed_lateness_ms=LATENESS,
                        outputs={**Settings().outputs, "queue.5m": "q.5m", "agent.5m": "a.5m"})
    fn = ReportWindowsFunction(settings)
    fn.open_windows, fn.reports, fn.late = MapState(), MapState(), Counter()
    fn.topics = {("queue", Q5): "q.5m", ("agent", Q5): "a.5m"}
    timers = Timers()
    return fn, timers, Ctx(timers)


def msg(minute: int, handled: int):
    contribs = [ctr_contribution(ctr(f"c{minute}-{i}")) for i in range(handled)]
    return queue_message(KEY, T0 + minute * W, "Sales", queue_totals(contribs, THRESHOLDS))


def advance(fn, timers, ctx, watermark):
    """Fire the timers up to ``watermark`` in time order, like Flink; returns the records."""
    import orjson

    rows = []
    for t in sorted(x for x in timers.registered if x <= watermark):
        timers.registered.discard(t)
        timers.watermark = t
        rows += list(fn.on_timer(t, ctx))
    timers.watermark = watermark
    return [orjson.loads(r[2]) for r in rows]


def send(fn, ctx, message):
    import orjson

    return [orjson.loads(r[2]) for r in fn.process_element(message, ctx)]


def test_emits_at_the_end_revises_on_change_folds_and_cleans_up():
    fn, timers, ctx = operator()
    assert send(fn, ctx, msg(0, 2)) == [] and send(fn, ctx, msg(4, 1)) == []
    assert advance(fn, timers, ctx, T0 + Q5 - 2) == []  # not yet at the end
    (first,) = advance(fn, timers, ctx, T0 + Q5 - 1)
    assert (first["revision"], first["contacts_handled"], first["window_seconds"]) == (1, 3, 300)
    assert first["key"] == f"{KEY}|2024-01-15T08:00:00Z"
    # minute 4 is revised within its lateness: one more revision of the 5-minute record
    (second,) = send(fn, ctx, msg(4, 3))
    assert (second["revision"], second["contacts_handled"]) == (2, 5)
    assert send(fn, ctx, msg(4, 3)) == []  # the same numbers again: nothing
    # minute 0 becomes final: folded into the report window at the next element (no timer per
    # primary window), no longer kept on its own; the numbers stay the same
    advance(fn, timers, ctx, T0 + W - 1 + LATENESS)
    assert sorted(fn.open_windows) == [T0, T0 + 4 * W]
    assert send(fn, ctx, msg(4, 3)) == []
    assert sorted(fn.open_windows) == [T0 + 4 * W]
    assert fn.reports[f"{Q5}:{T0}"][0] is not None  # the folded vector
    # past the report window's lateness: nothing left, nothing emitted
    assert advance(fn, timers, ctx, T0 + Q5 - 1 + LATENESS) == []
    assert dict(fn.open_windows) == {} and dict(fn.reports) == {}
    assert fn.late.n == 0


def test_a_primary_window_arriving_after_the_report_fired_emits_at_once():
    fn, timers, ctx = operator()
    send(fn, ctx, msg(1, 1))
    (first,) = advance(fn, timers, ctx, T0 + Q5 + 10_000)
    # a window of the same report interval seen for the first time, still within its lateness
    (second,) = send(fn, ctx, msg(2, 2))
    assert [r["revision"] for r in (first, second)] == [1, 2]
    assert second["contacts_handled"] == 3
    # a new report window whose end has passed emits its first revision at once
    timers.watermark = T0 + 2 * Q5 + 1000
    (late_first,) = send(fn, ctx, msg(6, 1))
    assert (late_first["revision"], late_first["window_start"]) == (1, "2024-01-15T08:05:00Z")


def test_a_message_for_a_final_primary_window_is_counted_not_applied():
    fn, timers, ctx = operator()
    timers.watermark = T0 + W - 1 + LATENESS
    assert send(fn, ctx, msg(0, 1)) == []
    assert fn.late.n == 1 and dict(fn.reports) == {}
