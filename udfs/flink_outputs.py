"""Output plumbing shared by the Flink functions: the side-output tags and the output row.

Every operator that produces a final record emits ``Row(topic, key, json)``: in Kafka mode the
union of those rows goes straight into the one transactional KafkaSink (a Java serializer writes
``key`` as the Kafka key), in file mode into ``JsonLinesWriter`` (one JSON Lines file per output).
"""

from __future__ import annotations

import os
from typing import Optional

import orjson
from pyflink.common import Row, Types
from pyflink.datastream import OutputTag
from pyflink.datastream.functions import MapFunction, RuntimeContext

from udfs.output_records import dead_letter_record
from udfs.records import DeadLetter

OUTPUT_ROW_TYPE = Types.ROW([Types.STRING(), Types.STRING(), Types.STRING()])
OUTPUT_TAG = OutputTag("records", OUTPUT_ROW_TYPE)
# Records on their way to a keyed operator travel as Row(key, record), so Flink keys them in Java
# (PyFlink's key_by would run one more Python step per record to compute the key and re-pickle).
KEYED_TYPE = Types.ROW([Types.STRING(), Types.PICKLED_BYTE_ARRAY()])
# Raw input records on their way to a keyed operator: Row(key, raw JSON) (the operator parses).
KEYED_RAW_TYPE = Types.ROW([Types.STRING(), Types.STRING()])
AGENT_PUT_TAG = OutputTag("agent-puts", KEYED_TYPE)


def output_row(topic: str, record: dict) -> Row:
    return Row(topic, record["key"], orjson.dumps(record).decode())


def dead_letter_row(topic: str, d: DeadLetter) -> Row:
    return output_row(topic, dead_letter_record(d))


class JsonLinesWriter(MapFunction):
    """File-mode sink: appends each row's JSON to ``<dir>/<file for its topic>`` (parallelism 1).

    Flink's FileSink writes folders of part files; the contract wants one regular JSON Lines file
    per output, and file mode is bounded and needs no transactions, so a plain writer suffices.
    """

    def __init__(self, directory: str, files: dict):
        self.directory = directory
        self.files = files  # topic -> file name
        self.handles: dict = {}

    def open(self, runtime_context: RuntimeContext):
        os.makedirs(self.directory, exist_ok=True)
        self.handles = {
            topic: open(os.path.join(self.directory, name), "w", encoding="utf-8")
            for topic, name in self.files.items()
        }

    def map(self, value: Row) -> int:
        handle: Optional[object] = self.handles.get(value[0])
        if handle is not None:
            handle.write(value[2])
            handle.write("\n")
        return 1

    def close(self):
        for handle in self.handles.values():
            handle.close()
        self.handles = {}
