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
one timer, reaches each output stream in one call into Java instead of one per record. Sink
rows go as one ``Row`` of field columns, split by ``KeyGroupBatches.Unbatch``. Messages to the
next keyed operator (``Row(key, record)``, ``packs``) go packed: one list of (key, record) pairs
per subtask that owns their keys, pickled once (``Packing``), and that subtask's ``Batcher``
puts the list into its next batch as it is; ``KeySwitch.records`` unpacks it.
"""

from __future__ import annotations

from typing import Optional

from pyflink.common import Row
from pyflink.common.typeinfo import BasicTypeInfo, PickledBytesTypeInfo, RowTypeInfo
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
        info = runtime_context._runtime_context.getTaskInfo()
        self._parallelism = info.getNumberOfParallelSubtasks()
        self.max_parallelism = info.getMaxNumberOfParallelSubtasks()
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
        """(key, value) of each record of ``batch`` (``Row(keys, values, parallelism)``; a
        value that is a list is a packed list of (key, record) pairs, ``Packing``), its key the
        one ``ensure`` makes current while the caller handles it."""
        if batch[2] != self._parallelism:
            check_parallelism(batch[2], self._parallelism)
        self.current = FLINK_KEY  # Flink made the batch's representative key current
        for key, value in zip(batch[0], batch[1]):
            if type(value) is list:
                for key, record in value:
                    self.pending = key
                    yield key, record
            else:
                self.pending = key
                yield key, value


def packs(type_info) -> bool:
    """Whether rows of ``type_info`` are messages to another keyed Python operator,
    ``Row(key, pickled record)``: their output batches go packed (``Packing``)."""
    if not isinstance(type_info, RowTypeInfo):
        return False
    fields = type_info.get_field_types()
    return (len(fields) == 2 and isinstance(fields[0], BasicTypeInfo)
            and isinstance(fields[1], PickledBytesTypeInfo))


class Subtasks:
    """Which subtask of the next keyed operator owns a key: Flink's key-group assignment of
    ``Row(key)`` (as ``KeyGroupBatches.subtask`` in Java), asked once per key. The next keyed
    operator runs at this operator's parallelism (``check_parallelism``)."""

    def __init__(self, keys: KeySwitch):
        self.parallelism = keys._parallelism
        self._keys = keys  # its Java Row(key) per key, and the task's max parallelism
        self._memo = Memo(KEY_CACHE)
        self._assign = None
        if self.parallelism > 1:
            from pemja import findClass

            self._assign = findClass("org.apache.flink.runtime.state.KeyGroupRangeAssignment")

    def of(self, key: str) -> int:
        subtask = self._memo.get(key)
        if subtask is None:
            subtask = self._memo.keep(key, self._assign.assignKeyToParallelOperator(
                self._keys._java_key(key), self._keys.max_parallelism, self.parallelism))
        return subtask


def packed(rows: list, subtasks: Optional[Subtasks]) -> Row:
    """Message rows ``[key, record]`` as ``Row(subtasks, lists)``: one list of them per subtask
    that owns their keys, in their order (``subtasks`` None: one subtask)."""
    if subtasks is None or subtasks.parallelism == 1:
        return Row((0,), (rows,))
    groups: dict = {}
    of = subtasks.of
    for row in rows:
        subtask = of(row[0])
        group = groups.get(subtask)
        if group is None:
            groups[subtask] = [row]
        else:
            group.append(row)
    return Row(tuple(groups), tuple(groups.values()))


class Packing:
    """How a wrapped function's output streams go out (``Outputs.batches``): packed
    (``packed``) when they carry messages to a keyed operator (``packs``), else in columns."""

    __slots__ = ("main", "subtasks", "_tags")

    def __init__(self, main: bool = False, subtasks: Optional[Subtasks] = None):
        self.main = main
        self.subtasks = subtasks
        self._tags: dict = {}

    def tag(self, tag) -> bool:
        packs_tag = self._tags.get(tag.tag_id)
        if packs_tag is None:
            packs_tag = self._tags[tag.tag_id] = packs(tag.type_info)
        return packs_tag

    def batch(self, rows: list, pack: bool) -> Row:
        return packed(rows, self.subtasks) if pack else columns(rows)


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
    the main output and of each side output, in their order, become one batch each (``Packing``:
    ``packed`` or ``columns``); an output that is not a Row (the live clock's numbers) goes out
    as it is."""

    __slots__ = ("packing", "main", "side", "other")

    def __init__(self, packing: Optional[Packing] = None):
        self.packing = packing or _COLUMNS
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
        out, packing = self.other, self.packing
        if self.main:
            out.append(packing.batch(self.main, packing.main))
        for tag, rows in self.side.values():
            out.append((tag, packing.batch(rows, packing.tag(tag))))
        return out


_COLUMNS = Packing()


def _each(keys: KeySwitch, write_back: Optional[WriteBack], packing: Packing, process, batch,
          ctx) -> list:
    """The output batches of ``process`` over the records of ``batch`` (a function may return
    None instead of a generator when it emits nothing); the flush marker (no records) flushes
    ``write_back``."""
    if not batch[0]:
        if write_back is not None:
            write_back.flush()
        return []
    outputs, context = Outputs(packing), BatchContext(ctx, keys)
    for key, record in keys.records(batch):
        context.key = key
        out = process(record, context)
        if out is not None:
            outputs.extend(out)
    return outputs.batches()


def _batches(out, packing: Packing) -> list:
    """The output batches of one call (a generator, or None)."""
    if out is None:
        return []
    outputs = Outputs(packing)
    outputs.extend(out)
    return outputs.batches()


class _Batched:
    """What the wrappers share: the wrapped function's life cycle and timers, the switch, the
    write-back of its cached states (``write_back``: on, when checkpoints are aligned) and how
    its outputs go (``packs_main``: its main output carries messages to a keyed operator)."""

    def __init__(self, inner, write_back: bool = False, packs_main: bool = False):
        self.inner = inner
        self.use_write_back = write_back
        self.packs_main = packs_main
        self.keys = None
        self.write_back: Optional[WriteBack] = None
        self.packing = _COLUMNS

    def open(self, runtime_context: RuntimeContext):
        self.keys = KeySwitch(runtime_context)
        self.packing = Packing(self.packs_main, Subtasks(self.keys))
        states = KeyedStates(runtime_context, self.keys)
        if self.use_write_back:
            self.write_back = WriteBack(self.keys.set)
            setattr(states, _WRITE_BACK, self.write_back)
        self.inner.open(states)

    def close(self):
        self.inner.close()

    def _each(self, process, batch, ctx) -> list:
        return _each(self.keys, self.write_back, self.packing, process, batch, ctx)

    def on_timer(self, timestamp: int, ctx):
        self.keys.timer()
        return _batches(self.inner.on_timer(timestamp, ctx), self.packing)


class BatchedKeyedProcess(_Batched, KeyedProcessFunction):
    """A ``KeyedProcessFunction`` whose input comes in batches."""

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        return self._each(self.inner.process_element, value, ctx)


class BatchedKeyedBroadcastProcess(_Batched, KeyedBroadcastProcessFunction):
    """A ``KeyedBroadcastProcessFunction`` whose keyed input comes in batches."""

    def process_element(self, value, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        return self._each(self.inner.process_element, value, ctx)

    def process_broadcast_element(self, value, ctx: KeyedBroadcastProcessFunction.Context):
        return _batches(self.inner.process_broadcast_element(value, ctx), self.packing)


class BatchedKeyedCoProcess(_Batched, KeyedCoProcessFunction):
    """A ``KeyedCoProcessFunction`` whose two inputs come in batches."""

    def process_element1(self, value, ctx: KeyedCoProcessFunction.Context):
        return self._each(self.inner.process_element1, value, ctx)

    def process_element2(self, value, ctx: KeyedCoProcessFunction.Context):
        return self._each(self.inner.process_element2, value, ctx)
