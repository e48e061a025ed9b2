"""Records in batches of one subtask: one crossing into a keyed Python operator per batch.

The Java ``KeyGroupBatches.Batcher`` (our jar) sends
``Row(representative, Row(keys, values, parallelism))`` (values: raw input strings from a
source, or the records another operator sent, unpickled), keyed by a string whose key group the
same subtask owns as the records' key groups, so a batch reaches the subtask that owns all its
keys, before the watermark or watermark status that follows its records. These wrappers make
each record's key the current key of the operator's keyed state backend before they hand the
record to the wrapped function: its state, timers and ``get_current_key`` are per key exactly
as without batches, and the wrapped function does not change. Thread mode only (process mode
has no backend to switch; ``jobs.config`` turns batching off there).

An empty batch is the flush marker a batcher sends before each checkpoint barrier: the changes
the function's cached states hold (``write_back_of``) are written then.

Outputs go out in batches too (``Outputs``): what the function emits for one input batch, or
one timer, reaches each output stream as one ``Row`` of field columns, one call into Java instead
of one per record; Java splits it (``KeyGroupBatches.Unbatch`` before the sink, the ``Batcher``
of the next keyed operator).
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Row
from pyflink.datastream.functions import (
    KeyedBroadcastProcessFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    RuntimeContext,
)

from udfs.cached_state import WriteBack
from udfs.memo import Memo

#: Java keys kept per operator instance (emptied when full)
KEY_CACHE = 16_384


def check_parallelism(batcher: int, operator: int) -> None:
    """A batch grouped for another parallelism than the operator's holds keys of other subtasks
    (an operator given its own parallelism behind the batcher's back): fail, naming it."""
    if batcher != operator:
        raise RuntimeError(
            f"a key-group batch was grouped for parallelism {batcher}, but this operator runs "
            f"at {operator}: keyed Python operators and the operators feeding them must share "
            f"one parallelism (or run with --input-batch 0)")


#: the attribute of the runtime context that carries an operator's ``WriteBack``
_WRITE_BACK = "_connect_metrics_write_back"


def write_back_of(runtime_context: RuntimeContext) -> Optional[WriteBack]:
    """The operator's ``WriteBack`` for its cached states (``udfs.cached_state``): set by a batch
    wrapper with write-back on, None otherwise (every change is then written at once)."""
    return getattr(runtime_context, _WRITE_BACK, None)


#: ``KeySwitch.current`` while a timer runs: the key Flink made current itself
FLINK_KEY = object()


class KeySwitch:
    """Sets the current key of an operator's keyed state backend: ``Row(key)``, the key
    PyFlink's ``KeyByKeySelector`` makes (``KeyGroupBatches.key`` in Java).

    Lazily: a record's key (``pending``) is made current in Java only when the function calls
    its keyed state or registers a timer (``ensure``, through ``KeyedStates`` and
    ``BatchContext``), since a record that the function handles from its caches alone needs no
    call into Java at all."""

    def __init__(self, runtime_context: RuntimeContext):
        # PyFlink 2.2's thread-mode get_number_of_parallel_subtasks calls a method Flink 2
        # removed from the Java RuntimeContext; its TaskInfo has it
        self._parallelism = (runtime_context._runtime_context.getTaskInfo()
                             .getNumberOfParallelSubtasks())
        # pemja, the embedded interpreter's bridge, sees Flink's classes but not our jar's
        from pemja import findClass

        self._row = findClass("org.apache.flink.types.Row")
        self._backend = runtime_context.get_keyed_state_backend()._keyed_state_backend
        self._keys = Memo(KEY_CACHE)
        self.pending = self.current = FLINK_KEY

    def _java_key(self, key: str):
        """A Java ``Row(key)`` per key, made once (never changed: the state maps keep it)."""
        j = self._keys.get(key)
        if j is None:
            j = self._keys.keep(key, self._row(1))
            j.setField(0, key)
        return j

    def set(self, key: str) -> None:
        """Make ``key`` current now (a flush writing each key's changes)."""
        self._backend.setCurrentKey(self._java_key(key))
        self.pending = self.current = key

    def ensure(self) -> None:
        """Make the record's key current in Java, unless it is already."""
        if self.pending is not self.current and self.pending != self.current:
            self._backend.setCurrentKey(self._java_key(self.pending))
            self.current = self.pending

    def timer(self) -> None:
        """A timer fires: Flink made its key current (the function reads it from the context)."""
        self.pending = self.current = FLINK_KEY

    def records(self, batch):
        """(key, value) of each record of ``batch`` (``Row(keys, values, parallelism)``), its
        key the one ``ensure`` makes current while the caller handles it."""
        if batch[2] != self._parallelism:
            check_parallelism(batch[2], self._parallelism)
        self.current = FLINK_KEY  # Flink made the batch's representative key current
        for key, value in zip(batch[0], batch[1]):
            self.pending = key
            yield key, value


class KeyedStates:
    """The runtime context a wrapped function opens with: every keyed state it gets makes the
    record's key current before each call (``KeySwitch.ensure``); the rest is Flink's."""

    def __init__(self, runtime_context: RuntimeContext, keys: KeySwitch):
        self._context = runtime_context
        self._keys = keys

    def _on_key(self, state):
        return OnKey(state, self._keys.ensure)

    def get_state(self, descriptor):
        return self._on_key(self._context.get_state(descriptor))

    def get_list_state(self, descriptor):
        return self._on_key(self._context.get_list_state(descriptor))

    def get_map_state(self, descriptor):
        return self._on_key(self._context.get_map_state(descriptor))

    def get_reducing_state(self, descriptor):
        return self._on_key(self._context.get_reducing_state(descriptor))

    def get_aggregating_state(self, descriptor):
        return self._on_key(self._context.get_aggregating_state(descriptor))

    def __getattr__(self, name):
        return getattr(self._context, name)


class OnKey:
    """A keyed state whose calls first make the record's key current (``KeyedStates``)."""

    __slots__ = ("_state", "_ensure")

    def __init__(self, state, ensure):
        self._state = state
        self._ensure = ensure

    def __getattr__(self, name):
        method, ensure = getattr(self._state, name), self._ensure

        def on_key(*args):
            ensure()
            return method(*args)
        return on_key


class BatchContext:
    """The context a wrapped function gets for the records of one batch: the current key and
    the watermark without a call into Java each (neither changes while one batch is handled:
    the key is the record's, and a watermark comes between two calls), the rest from Flink's
    context. It is its own timer service."""

    __slots__ = ("ctx", "keys", "key", "_watermark")

    def __init__(self, ctx, keys: KeySwitch):
        self.ctx = ctx
        self.keys = keys
        self.key = None
        self._watermark = None

    def get_current_key(self):
        return self.key

    def timer_service(self):
        return self

    def current_watermark(self) -> int:
        if self._watermark is None:
            self._watermark = self.ctx.timer_service().current_watermark()
        return self._watermark

    def register_event_time_timer(self, timestamp: int) -> None:
        self.keys.ensure()
        self.ctx.timer_service().register_event_time_timer(timestamp)

    def __getattr__(self, name):  # get_broadcast_state, timestamp, ...
        return getattr(self.ctx, name)


def columns(rows: list) -> Row:
    """Rows (their field lists) as one Row of one tuple per field: an output batch."""
    return Row(*zip(*rows))


class Outputs:
    """What a function emits for one input batch or one timer, per output stream: the Rows of
    the main output and of each side output, in their order, become one ``columns`` batch
    each; an output that is not a Row (the live clock's numbers) goes out as it is."""

    __slots__ = ("main", "side", "other")

    def __init__(self):
        self.main: list = []
        self.side: dict = {}
        self.other: list = []

    def extend(self, outputs) -> None:
        main, side = self.main, self.side
        for out in outputs:
            if type(out) is tuple:
                tag, value = out
                if type(value) is Row:
                    rows = side.get(tag.tag_id)
                    if rows is None:
                        rows = side[tag.tag_id] = (tag, [])
                    rows[1].append(value._values)
                else:
                    self.other.append(out)
            else:
                main.append(out._values)

    def batches(self) -> list:
        out = self.other
        if self.main:
            out.append(columns(self.main))
        for tag, rows in self.side.values():
            out.append((tag, columns(rows)))
        return out


def _each(keys: KeySwitch, write_back: Optional[WriteBack], process, batch, ctx) -> list:
    """The output batches of ``process`` over the records of ``batch`` (a function may return
    None instead of a generator when it emits nothing); the flush marker (no records) flushes
    ``write_back``."""
    if not batch[0]:
        if write_back is not None:
            write_back.flush()
        return []
    outputs, context = Outputs(), BatchContext(ctx, keys)
    for key, record in keys.records(batch):
        context.key = key
        out = process(record, context)
        if out is not None:
            outputs.extend(out)
    return outputs.batches()


def _batches(out) -> list:
    """The output batches of one call (a generator, or None)."""
    if out is None:
        return []
    outputs = Outputs()
    outputs.extend(out)
    return outputs.batches()


class _Batched:
    """What the wrappers share: the wrapped function's life cycle and timers, the switch and
    the write-back of its cached states (``write_back``: on, when checkpoints are aligned)."""

    def __init__(self, inner, write_back: bool = False):
        self.inner = inner
        self.use_write_back = write_back
        self.keys = None
        self.write_back: Optional[WriteBack] = None

    def open(self, runtime_context: RuntimeContext):
        self.keys = KeySwitch(runtime_context)
        states = KeyedStates(runtime_context, self.keys)
        if self.use_write_back:
            self.write_back = WriteBack(self.keys.set)
            setattr(states, _WRITE_BACK, self.write_back)
        self.inner.open(states)

    def close(self):
        self.inner.close()

    def on_timer(self, timestamp: int, ctx):
        self.keys.timer()
        return _batches(self.inner.on_timer(timestamp, ctx))


class BatchedKeyedProcess(_Batched, KeyedProcessFunction):
    """A ``KeyedProcessFunction`` whose input comes in batches."""

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        return _each(self.keys, self.write_back, self.inner.process_element, value, ctx)


class BatchedKeyedBroadcastProcess(_Batched, KeyedBroadcastProcessFunction):
    """A ``KeyedBroadcastProcessFunction`` whose keyed input comes in batches."""

    def process_element(self, value, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        return _each(self.keys, self.write_back, self.inner.process_element, value, ctx)

    def process_broadcast_element(self, value, ctx: KeyedBroadcastProcessFunction.Context):
        return _batches(self.inner.process_broadcast_element(value, ctx))


class BatchedKeyedCoProcess(_Batched, KeyedCoProcessFunction):
    """A ``KeyedCoProcessFunction`` whose two inputs come in batches."""

    def process_element1(self, value, ctx: KeyedCoProcessFunction.Context):
        return _each(self.keys, self.write_back, self.inner.process_element1, value, ctx)

    def process_element2(self, value, ctx: KeyedCoProcessFunction.Context):
        return _each(self.keys, self.write_back, self.inner.process_element2, value, ctx)
