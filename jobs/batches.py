"""Wiring of key-group batches (``--input-batch``, thread mode): every keyed Python operator
takes its records in batches of the key groups one of its subtasks owns, from the sources and
from other operators.

``batched`` puts the Java ``KeyGroupBatches.Batcher`` (our jar) behind a stream of
``Row(key, value)`` (chained to the operator that produces it), ``keyed_input`` keys the
batches for their operator and ``entry`` wraps the operator's function so that it sees one
record at a time under its own key (``udfs.flink_batches``). A wrapped function emits its
outputs in batches as well, one per output stream and call: ``output_type`` and
``side_output`` give those streams their batch types (messages to a keyed operator packed per
subtask, sink rows in columns), ``rows`` splits a batch of sink rows (a ``Batcher`` takes
output batches as they are). ``keyed_process`` wires a function with both. With batching off
(0, or process mode) all of them leave the streams, types and the function as they are.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.common.typeinfo import BasicTypeInfo, RowTypeInfo
from pyflink.datastream import DataStream, KeyedStream, OutputTag
from pyflink.datastream.functions import KeyedBroadcastProcessFunction, KeyedCoProcessFunction
from pyflink.java_gateway import get_gateway

from udfs.flink_batches import (
    BatchedKeyedBroadcastProcess,
    BatchedKeyedCoProcess,
    BatchedKeyedProcess,
    packs,
)
from udfs.flink_outputs import KEYED_RAW_TYPE, KEYED_TYPE, OUTPUT_ROW_TYPE
from udfs.settings import Settings

PICKLED = Types.PICKLED_BYTE_ARRAY()
#: Row(keys, values, parallelism) of one batch: raw input strings, or records pickled by an
#: operator, and the parallelism the batcher grouped them for
RAW_BATCH = Types.ROW([Types.BASIC_ARRAY(Types.STRING()), Types.BASIC_ARRAY(Types.STRING()),
                       Types.INT()])
PICKLED_BATCH = Types.ROW([Types.BASIC_ARRAY(Types.STRING()), Types.OBJECT_ARRAY(PICKLED),
                           Types.INT()])
#: Row(subtasks, lists) of a wrapped function's messages to a keyed operator: one pickled list
#: of (key, record) pairs per subtask that owns their keys (``udfs.flink_batches.packed``)
PACKED_BATCH = Types.ROW([Types.BASIC_ARRAY(Types.INT()), Types.OBJECT_ARRAY(PICKLED)])
#: longest wait of a record in a batch (batches also go out before every watermark and barrier)
FLUSH_MS = 100


def keyed(rows: DataStream, value_type=PICKLED) -> KeyedStream:
    """Key a stream of ``Row(key, value)`` by field 0 in Java: what PyFlink's ``key_by`` does
    after its Python ``AddKey`` step, which computes the key and re-pickles every record."""
    gateway = get_gateway()
    j_keyed = rows._j_data_stream.keyBy(gateway.jvm.KeyByKeySelector(),
                                        Types.ROW([Types.STRING()]).get_java_type_info())
    return KeyedStream(j_keyed, value_type, rows)


def _value_type(settings: Settings, raw: bool):
    if settings.input_batch:
        return RAW_BATCH if raw else PICKLED_BATCH
    return Types.STRING() if raw else PICKLED


def stream_type(settings: Settings, raw: bool = True):
    """The type of ``batched``'s stream (e.g. for an absent input's empty stream)."""
    if settings.input_batch:
        return Types.ROW([Types.STRING(), _value_type(settings, raw)])
    return KEYED_RAW_TYPE if raw else KEYED_TYPE


def batched(rows: DataStream, settings: Settings, raw: bool = True) -> DataStream:
    """``Row(key, value)`` rows (``raw``: the value is the raw input string, else a pickled
    record) in batches of one key group, or as they are when batching is off."""
    if not settings.input_batch:
        return rows
    batcher = getattr(get_gateway().jvm.io.connectmetrics.flink, "KeyGroupBatches$Batcher")(
        settings.input_batch, FLUSH_MS, raw)
    return DataStream(rows._j_data_stream.transform(
        "batches", stream_type(settings, raw).get_java_type_info(), batcher))


def keyed_input(stream: DataStream, settings: Settings, raw: bool = True) -> KeyedStream:
    """A ``batched`` stream keyed for its operator (whose function gets a batch, or a record)."""
    return keyed(stream, _value_type(settings, raw))


def entry(fn, settings: Settings, row_type: RowTypeInfo = OUTPUT_ROW_TYPE):
    """``fn`` (its main output: ``row_type`` rows) as it takes batches on every keyed input
    (``keyed_input``), or ``fn`` itself when batching is off."""
    if not settings.input_batch:
        return fn
    wb, pack = settings.state_write_back, packs(row_type)
    if isinstance(fn, KeyedCoProcessFunction):
        return BatchedKeyedCoProcess(fn, wb, pack)
    if isinstance(fn, KeyedBroadcastProcessFunction):
        return BatchedKeyedBroadcastProcess(fn, wb, pack)
    return BatchedKeyedProcess(fn, wb, pack)


def output_type(row_type: RowTypeInfo, settings: Settings):
    """The type of a wrapped function's output stream of ``row_type`` rows: with batches,
    ``PACKED_BATCH`` for messages to a keyed operator, else ``Row`` of one array per field
    (``udfs.flink_batches.Outputs``)."""
    if not settings.input_batch:
        return row_type
    if packs(row_type):
        return PACKED_BATCH
    return Types.ROW([Types.BASIC_ARRAY(t) if isinstance(t, BasicTypeInfo)
                      else Types.OBJECT_ARRAY(t) for t in row_type.get_field_types()])


def keyed_process(keyed_stream, fn, row_type: RowTypeInfo, settings: Settings) -> DataStream:
    """``keyed_stream.process(fn)`` (a keyed, connected or broadcast-connected stream of
    ``keyed_input``s), its main output ``row_type`` rows, in batches when batching is on."""
    return keyed_stream.process(entry(fn, settings, row_type),
                                output_type=output_type(row_type, settings))


def side_output(op: DataStream, tag: OutputTag, settings: Settings) -> DataStream:
    """The side output ``tag`` of a wrapped function: in batches (``output_type``) when it
    carries rows and batching is on."""
    if settings.input_batch and isinstance(tag.type_info, RowTypeInfo):
        tag = OutputTag(tag.tag_id, output_type(tag.type_info, settings))
    return op.get_side_output(tag)


def rows(stream: DataStream, settings: Settings) -> DataStream:
    """A wrapped function's sink rows (``Row(topic, key, json)``) one by one again."""
    if not settings.input_batch:
        return stream
    unbatch = getattr(get_gateway().jvm.io.connectmetrics.flink, "KeyGroupBatches$Unbatch")()
    return DataStream(stream._j_data_stream.flatMap(
        unbatch, OUTPUT_ROW_TYPE.get_java_type_info())).name("rows")
