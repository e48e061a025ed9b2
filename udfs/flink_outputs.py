"""Output plumbing shared by the Flink functions: the side-output tags and the output row.

Every operator that produces a final record emits ``Row(topic, key, json)``, never larger than
``--max-record-bytes`` (``udfs.output_size``): in Kafka mode the
union of those rows goes straight into the one transactional KafkaSink (a Java serializer writes
``key`` as the Kafka key), in file mode into ``JsonLinesWriter`` (one JSON Lines file per output).
"""

from __future__ import annotations

import os
from typing import Optional

from pyflink.common import Row, Types
from pyflink.datastream import OutputTag
from pyflink.datastream.functions import MapFunction, RuntimeContext

from udfs.output_records import dead_letter_record
from udfs.output_size import sink_row
from udfs.records import DeadLetter
from udfs.settings import DEADLETTER, Settings

OUTPUT_ROW_TYPE = Types.ROW([Types.STRING(), Types.STRING(), Types.STRING()])
OUTPUT_TAG = OutputTag("records", OUTPUT_ROW_TYPE)
# Records on their way to a keyed operator travel as Row(key, record), so Flink keys them in Java
# (PyFlink's key_by would run one more Python step per record to compute the key and re-pickle).
KEYED_TYPE = Types.ROW([Types.STRING(), Types.PICKLED_BYTE_ARRAY()])
# Raw input records on their way to a keyed operator: Row(key, raw JSON) (the operator parses).
KEYED_RAW_TYPE = Types.ROW([Types.STRING(), Types.STRING()])
AGENT_PUT_TAG = OutputTag("agent-puts", KEYED_TYPE)
# agent operator -> queue windows: Row(queue key, MissedPut) for contacts_missed
MISSED_PUT_TAG = OutputTag("missed-puts", KEYED_TYPE)
# queue / agent windows -> report rollup: Row(report key, PrimaryWindow), with --report-windows
REPORT_TAG = OutputTag("report-windows", KEYED_TYPE)


def keyed_row(key: str, value: object) -> Row:
    """A record on its way to a keyed operator (see KEYED_TYPE)."""
    return Row(key, value)


def output_row(topic: str, record: dict, settings: Settings) -> Row:
    """The sink row of ``record``; a record over ``--max-record-bytes`` becomes a dead letter."""
    return Row(*sink_row(topic, record, settings.max_record_bytes, settings.outputs[DEADLETTER]))


def dead_letter_row(topic: str, d: DeadLetter,
                    max_bytes: int = Settings.max_record_bytes) -> Row:
    """The sink row of a dead letter (``topic`` is the dead-letter topic), its raw cut to fit."""
    return Row(*sink_row(topic, dead_letter_record(d), max_bytes, topic))


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
