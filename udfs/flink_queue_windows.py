"""The operator keyed by (queue, channel): queue metric windows with revisions.

Each window's contents live in a MapState entry (window start -> ``QueueWindow``), so an update
touches one window only. A timer at the window's end emits it; updates to an already emitted window
re-emit it at once if its numbers changed; a timer at end + allowed lateness drops it.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from udfs.contact_state import QueuePut
from udfs.flink_outputs import REPORT_TAG, keyed_row, output_row
from udfs.missed_contacts import MissedPut
from udfs.output_records import queue_record
from udfs.queue_windows import (
    QueueWindow,
    apply_missed_put,
    apply_queue_put,
    apply_signal_put,
    next_emission,
)
from udfs.reports.messages import report_key
from udfs.reports.records import queue_message
from udfs.settings import QUEUE, Settings
from udfs.windows import cleanup_time, fire_time, is_fired, window_start


class QueueWindowsFunction(KeyedProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.windows = None
        self.name = None
        self.late_puts = None

    def open(self, runtime_context: RuntimeContext):
        self.windows = runtime_context.get_map_state(
            MapStateDescriptor("queue-windows", Types.LONG(), Types.PICKLED_BYTE_ARRAY()))
        self.name = runtime_context.get_state(
            ValueStateDescriptor("queue-name", Types.STRING()))
        self.late_puts = runtime_context.get_metrics_group().add_group("queues").counter(
            "late_puts")

    def _emit(self, key: str, ws: int, win: QueueWindow) -> list:
        """The window's record (and its report-interval message), if it must be emitted."""
        emission = next_emission(win, self.s.thresholds, self.name.value())
        if emission is None:
            return []
        revision, name, numbers, totals = emission
        queue_arn, _, channel = key.rpartition("|")
        record = queue_record(queue_arn, None if channel == "None" else channel, ws,
                              self.s.window_ms, revision, name, numbers)
        rows = [output_row(self.s.outputs[QUEUE], record, self.s)]
        if self.s.report_windows:
            msg = queue_message(key, ws, name, totals)
            rows.append((REPORT_TAG, keyed_row(report_key(msg), msg)))
        return rows

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        w = self.s.window_ms
        kind = type(value)
        if kind is QueuePut:
            ws = window_start(value.ts_ms, w)
            if value.record is not None and value.record.queue_name:
                self.name.update(value.record.queue_name)
        elif kind is MissedPut:
            ws = window_start(value.ts_ms, w)
        else:
            ws = window_start(value.signal.ts_ms, w)
        win = self.windows.get(ws)
        wm = ctx.timer_service().current_watermark()
        if win is None and wm >= cleanup_time(ws, w, self.s.allowed_lateness_ms):
            # The window is gone; a fresh one would restart at revision 1 with partial numbers.
            # Upstream lateness checks make this unreachable; count it if it ever happens.
            self.late_puts.inc()
            return
        if win is None:
            win = QueueWindow()
            timers = ctx.timer_service()
            timers.register_event_time_timer(fire_time(ws, w))
            timers.register_event_time_timer(cleanup_time(ws, w, self.s.allowed_lateness_ms))
        if kind is QueuePut:
            apply_queue_put(win, value)
        elif kind is MissedPut:
            apply_missed_put(win, value)
        else:
            apply_signal_put(win, value)
        rows = self._emit(ctx.get_current_key(), ws, win) if is_fired(ws, wm, w) else ()
        self.windows.put(ws, win)
        yield from rows

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        w = self.s.window_ms
        key = ctx.get_current_key()
        ws = timestamp + 1 - w
        win = self.windows.get(ws)
        if win is not None:
            rows = self._emit(key, ws, win)
            self.windows.put(ws, win)
            yield from rows
        expired = timestamp + 1 - w - self.s.allowed_lateness_ms
        if self.windows.contains(expired):
            self.windows.remove(expired)
