"""The operator keyed by queue+channel / agent: report-interval windows (``--report-windows``).

Input: ``Row(key, PrimaryWindow)`` from the queue and agent window operators, one per primary
window emission (its latest revision). Decisions live in ``udfs.reports.rollup``; this wrapper
keeps the state and the timers. State per key: ``open`` (primary window start -> (vector,
names), only windows that can still be revised) and ``reports`` ("size:start" -> stored
``ReportWindow``). Timers: per report window one at its end (first emission) and one at its end +
allowed lateness (dropped); a primary window is folded into its report windows lazily, at the
next element or timer after it became final (no timer per primary window).
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor

from udfs.flink_outputs import output_row
from udfs.reports.records import ADD, report_fields, report_record
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
from udfs.settings import Settings, report_output, window_lateness_ms
from udfs.windows import cleanup_time, fire_time, is_fired

PICKLED = Types.PICKLED_BYTE_ARRAY()


class ReportWindowsFunction(KeyedProcessFunction):
    def __init__(self, settings: Settings):
        self.s = settings
        self.lateness = window_lateness_ms(settings)
        self.sizes = tuple(size for _, size in settings.report_windows)
        self.topics: dict = {}
        self.open_windows = self.reports = None
        self.late = None

    def open(self, runtime_context: RuntimeContext):
        self.open_windows = runtime_context.get_map_state(
            MapStateDescriptor("report-open", Types.LONG(), PICKLED))
        self.reports = runtime_context.get_map_state(
            MapStateDescriptor("report-windows", Types.STRING(), PICKLED))
        self.late = runtime_context.get_metrics_group().add_group("reports").counter("late")
        self.topics = {(kind, size): self.s.outputs[report_output(kind, name)]
                       for kind in ADD for name, size in self.s.report_windows}

    def _fold_final(self, kind: str, opened: dict, watermark: int) -> None:
        """Fold primary windows that can no longer change into their report windows."""
        add = ADD[kind]
        for ws in [ws for ws in opened if is_final(ws, self.s.window_ms, self.lateness,
                                                   watermark)]:
            compact, names = opened.pop(ws)
            self.open_windows.remove(ws)
            for size, start in covering(ws, self.sizes):
                rkey = f"{size}:{start}"
                stored = self.reports.get(rkey)
                if stored is None:  # already dropped: cannot happen with consistent lateness
                    continue
                report = from_stored(stored)
                fold(report, ws, compact, names, add)
                self.reports.put(rkey, to_stored(report))

    def _emit(self, kind: str, entity: str, size: int, start: int, report: ReportWindow,
              opened: dict):
        summed = rollup(report, start, size, opened, ADD[kind])
        if summed is None:
            return None
        total, names = summed
        fields = report_fields(kind, total, self.s.thresholds)
        revision = next_emission(report, names, fields)
        if revision is None:
            return None
        record = report_record(kind, entity, start, size, revision, names, fields)
        return output_row(self.topics[(kind, size)], record, self.s)

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        timers = ctx.timer_service()
        wm = timers.current_watermark()
        kind, ws = value.kind, value.window_start
        opened = dict(self.open_windows.items())
        self._fold_final(kind, opened, wm)
        if is_final(ws, self.s.window_ms, self.lateness, wm):
            self.late.inc()  # upstream lateness checks make this unreachable
            return
        opened[ws] = (value.compact, value.names)
        self.open_windows.put(ws, opened[ws])
        for size, start in covering(ws, self.sizes):
            rkey = f"{size}:{start}"
            stored = self.reports.get(rkey)
            if stored is None:
                report = ReportWindow()
                if not is_fired(start, wm, size):
                    timers.register_event_time_timer(fire_time(start, size))
                timers.register_event_time_timer(cleanup_time(start, size, self.lateness))
            else:
                report = from_stored(stored)
            row = None
            if is_fired(start, wm, size):
                row = self._emit(kind, value.entity, size, start, report, opened)
            self.reports.put(rkey, to_stored(report))
            if row is not None:
                yield row

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        kind, _, entity = ctx.get_current_key().partition(":")
        opened = dict(self.open_windows.items())
        self._fold_final(kind, opened, timestamp)
        for size in self.sizes:
            if (timestamp + 1) % size == 0:  # a report window ends
                start = timestamp + 1 - size
                rkey = f"{size}:{start}"
                stored = self.reports.get(rkey)
                if stored is not None:
                    report = from_stored(stored)
                    row = self._emit(kind, entity, size, start, report, opened)
                    self.reports.put(rkey, to_stored(report))
                    if row is not None:
                        yield row
            if (timestamp + 1 - self.lateness) % size == 0:  # one passes its allowed lateness
                rkey = f"{size}:{timestamp + 1 - self.lateness - size}"
                if self.reports.contains(rkey):
                    self.reports.remove(rkey)
