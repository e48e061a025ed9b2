"""The operator keyed by (queue, channel): queue metric windows with revisions.

Each window's contents live in a MapState entry (window start -> ``QueueWindow``), so an update
touches one window only. A timer at the window's end emits it; updates to an already emitted window
re-emit it at once if its numbers changed; a timer at end + allowed lateness seals its early
signals and one at end + CTR allowed lateness drops it (``udfs.queue_windows.window_times``). The
queue's name (for windows without a named CTR) goes with the key's last window.

The windows read are kept in memory per key (a bounded LRU of keys; a window's pickled contacts
grow with its traffic, and every put used to read and write the whole window), and with
key-group batches their changes are written once per checkpoint, at the flush marker
(``udfs.cached_state.HeldParts``), like the queue's name.
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Types
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from udfs.cached_state import CachedValue, HeldParts
from udfs.contact_state import QueuePut
from udfs.flink_batches import write_back_of
from udfs.flink_outputs import REPORT_TAG, keyed_row, output_row
from udfs.lru import LruCache
from udfs.missed_contacts import MissedPut
from udfs.output_records import queue_record
from udfs.queue_windows import (
    QueueWindow,
    apply_missed_put,
    apply_queue_put,
    apply_signal_put,
    next_emission,
    seal_signals,
    window_times,
    windows_due,
)
from udfs.reports.messages import report_key
from udfs.reports.records import queue_message
from udfs.settings import QUEUE, Settings
from udfs.windows import is_fired, window_start

#: (queue, channel) keys whose windows are kept in memory per operator instance
QUEUE_CACHE_SIZE = 1024


class QueueWindowsFunction(KeyedProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.windows = None
        self.name = None
        self.late_puts = None
        self.cache: LruCache = LruCache(QUEUE_CACHE_SIZE)
        self.held: Optional[HeldParts] = None

    def open(self, runtime_context: RuntimeContext):
        write_back = write_back_of(runtime_context)
        self.windows = runtime_context.get_map_state(
            MapStateDescriptor("queue-windows", Types.LONG(), Types.PICKLED_BYTE_ARRAY()))
        self.name = CachedValue(runtime_context.get_state(
            ValueStateDescriptor("queue-name", Types.STRING())), write_back=write_back)
        self.late_puts = runtime_context.get_metrics_group().add_group("queues").counter(
            "late_puts")
        self.cache = LruCache(QUEUE_CACHE_SIZE)
        self.held = HeldParts(self._write, write_back)

    # -- state: {window start: QueueWindow, or None when it has none} per key, in memory ------
    def _windows_of(self, key: str) -> dict:
        """The key's windows read so far (a window not in it is read from Flink state)."""
        known = self.cache.get(key)
        if known is None:
            known = self.held.held(key) or {}
            self.cache.put(key, known)
        return known

    def _get(self, key: str, ws: int) -> Optional[QueueWindow]:
        known = self._windows_of(key)
        win = known.get(ws)
        if win is None and ws not in known:
            win = self.windows.get(ws)
            if win is not None:  # (an absent window is not remembered: memory stays bounded)
                known[ws] = win
        return win

    def _put(self, key: str, ws: int, win: Optional[QueueWindow]) -> None:
        """Store (None: remove) a window: now, or at the next flush marker."""
        known = self._windows_of(key)
        known[ws] = win
        self.held.mark(key, known, (ws,))

    def _write(self, key: str, known: dict, starts) -> None:
        for ws in starts:
            win = known.get(ws)
            if win is None:
                self.windows.remove(ws)
            else:
                self.windows.put(ws, win)

    def _emit(self, key: str, ws: int, win: QueueWindow) -> list:
        """The window's record (and its report-interval message), if it must be emitted."""
        emission = next_emission(win, self.s.thresholds, self.name.get(key))
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

    def _times(self, ws: int):
        s = self.s
        return window_times(ws, s.window_ms, s.allowed_lateness_ms, s.ctr_allowed_lateness_ms)

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        w = self.s.window_ms
        kind = type(value)
        key = ctx.get_current_key()
        if kind is QueuePut:
            ws = window_start(value.ts_ms, w)
            name = None if value.record is None else value.record.queue_name
            if name and self.name.get(key) != name:
                self.name.put(key, name)
        elif kind is MissedPut:
            ws = window_start(value.ts_ms, w)
        else:
            ws = window_start(value.signal.ts_ms, w)
        win = self._get(key, ws)
        wm = ctx.timer_service().current_watermark()
        if win is None:
            times = self._times(ws)
            if wm >= times.drop:
                # The window is gone; a fresh one would restart at revision 1 with partial
                # numbers. The upstream lateness checks make this unreachable.
                self.late_puts.inc()
                return
            win = QueueWindow()
            timers = ctx.timer_service()
            for t in times:
                if t is not None:
                    timers.register_event_time_timer(t)
        if kind is QueuePut:
            apply_queue_put(win, value)
        elif not (apply_missed_put(win, value) if kind is MissedPut
                  else apply_signal_put(win, value)):
            self.late_puts.inc()
            return
        rows = self._emit(key, ws, win) if is_fired(ws, wm, w) else ()
        self._put(key, ws, win)
        yield from rows

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        s = self.s
        key = ctx.get_current_key()
        due = windows_due(timestamp, s.window_ms, s.allowed_lateness_ms, s.ctr_allowed_lateness_ms)
        win = self._get(key, due.fire)
        if win is not None:
            rows = self._emit(key, due.fire, win)
            self._put(key, due.fire, win)
            yield from rows
        if due.seal is not None:
            win = self._get(key, due.seal)
            if win is not None:
                seal_signals(win)
                self._put(key, due.seal, win)
        if self._get(key, due.drop) is not None:
            self._put(key, due.drop, None)
            self.held.write_now(key)  # Flink state answers for all of the key's windows
            self._windows_of(key).pop(due.drop, None)  # removed from Flink state too
            if self.windows.is_empty():  # the key is quiet past its retention: nothing stays
                self.name.clear(key)
                self.cache.pop(key)
