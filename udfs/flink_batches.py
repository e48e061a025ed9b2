"""Records in batches of one key group: one crossing into a keyed Python operator per batch.

The Java ``KeyGroupBatches.Batcher`` (our jar) sends ``Row(representative, Row(keys, values))``
(values: raw input strings from a source, or the records another operator sent, unpickled),
keyed by a string of the records' own key group, so a batch reaches the subtask that owns all
its keys, before the watermark or watermark status that follows its records. These wrappers
make each record's key the current key of the operator's keyed state backend before they hand
the record to the wrapped function: its state, timers and ``get_current_key`` are per key
exactly as without batches, and the wrapped function does not change. Thread mode only
(process mode has no backend to switch; ``jobs.config`` turns batching off there).
"""

from __future__ import annotations

from pyflink.datastream.functions import (
    KeyedBroadcastProcessFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    RuntimeContext,
)

from udfs.memo import Memo

#: Java keys kept per operator instance (emptied when full)
KEY_CACHE = 16_384


class KeySwitch:
    """Sets the current key of an operator's keyed state backend: ``Row(key)``, the key
    PyFlink's ``KeyByKeySelector`` makes (``KeyGroupBatches.key`` in Java)."""

    def __init__(self, runtime_context: RuntimeContext):
        # pemja, the embedded interpreter's bridge, sees Flink's classes but not our jar's
        from pemja import findClass

        self._row = findClass("org.apache.flink.types.Row")
        self._backend = runtime_context.get_keyed_state_backend()._keyed_state_backend
        self._keys = Memo(KEY_CACHE)

    def _java_key(self, key: str):
        """A Java ``Row(key)`` per key, made once (never changed: the state maps keep it)."""
        j = self._keys.get(key)
        if j is None:
            j = self._keys.keep(key, self._row(1))
            j.setField(0, key)
        return j

    def records(self, batch):
        """The values of ``batch`` (``Row(keys, values)``), each with its key current while the
        caller handles it."""
        set_key, java_key = self._backend.setCurrentKey, self._java_key
        for key, value in zip(batch[0], batch[1]):
            set_key(java_key(key))
            yield value


def _each(keys: KeySwitch, process, batch, ctx):
    """``process`` over the records of ``batch`` (a function may return None instead of a
    generator when it emits nothing)."""
    for record in keys.records(batch):
        out = process(record, ctx)
        if out is not None:
            yield from out


class _Batched:
    """What the wrappers share: the wrapped function's life cycle and timers, and the switch."""

    def __init__(self, inner):
        self.inner = inner
        self.keys = None

    def open(self, runtime_context: RuntimeContext):
        self.inner.open(runtime_context)
        self.keys = KeySwitch(runtime_context)

    def close(self):
        self.inner.close()

    def on_timer(self, timestamp: int, ctx):
        yield from self.inner.on_timer(timestamp, ctx)  # Flink made the timer's key current


class BatchedKeyedProcess(_Batched, KeyedProcessFunction):
    """A ``KeyedProcessFunction`` whose input comes in batches."""

    def process_element(self, value, ctx: KeyedProcessFunction.Context):
        yield from _each(self.keys, self.inner.process_element, value, ctx)


class BatchedKeyedBroadcastProcess(_Batched, KeyedBroadcastProcessFunction):
    """A ``KeyedBroadcastProcessFunction`` whose keyed input comes in batches."""

    def process_element(self, value, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext):
        yield from _each(self.keys, self.inner.process_element, value, ctx)

    def process_broadcast_element(self, value, ctx: KeyedBroadcastProcessFunction.Context):
        result = self.inner.process_broadcast_element(value, ctx)
        if result is not None:
            yield from result


class BatchedKeyedCoProcess(_Batched, KeyedCoProcessFunction):
    """A ``KeyedCoProcessFunction`` whose two inputs come in batches."""

    def process_element1(self, value, ctx: KeyedCoProcessFunction.Context):
        yield from _each(self.keys, self.inner.process_element1, value, ctx)

    def process_element2(self, value, ctx: KeyedCoProcessFunction.Context):
        yield from _each(self.keys, self.inner.process_element2, value, ctx)
