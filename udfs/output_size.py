"""The last guard before the sink: no output record is larger than ``--max-record-bytes``.

A record the Kafka sink rejects (``RecordTooLargeException``, 1 MiB by default) fails the job,
which restarts from the checkpoint and fails on the same record forever (issue 15.5). Map keys
taken from the input are capped where the metrics are built; whatever is still too large here
goes to the dead-letter output instead (SPEC §4): error ``too_large``, key = the record's key,
raw = a prefix of the record's JSON, cut so that the dead letter itself fits.

Size is counted as Kafka counts it: the UTF-8 bytes of the key plus those of the JSON value.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import orjson

from udfs.dead_letter import MAX_RAW_CHARS, TOO_LARGE, make_error, now_ms
from udfs.output_records import dead_letter_record
from udfs.records import DeadLetter
from udfs.timestamps import format_iso_ms

#: A dead-letter key longer than this (characters) is cut and made unique by a digest: the key
#: of an oversized record may itself be what is oversized (a huge queue ARN from the input).
MAX_KEY_CHARS = 256


class SinkRow(NamedTuple):
    """What the sink writes: the topic (file) it goes to, the Kafka key and the JSON value."""

    topic: str
    key: str
    value: str


def _size(key: str, value: bytes) -> int:
    return len(key.encode("utf-8", "surrogatepass")) + len(value)


def bounded_key(key: str) -> str:
    """``key`` itself when short enough, else a prefix plus a digest of the whole key."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{key[:MAX_KEY_CHARS - 17]}~{digest}"


def fit_dead_letter(d: DeadLetter, max_bytes: int) -> tuple[str, str]:
    """The dead letter's (key, JSON), its ``raw`` cut until both fit in ``max_bytes``.

    Only the raw is cut. The other fields (a key of at most ``MAX_KEY_CHARS``, the stream, a
    short error, a time) take a few hundred bytes; under a tiny limit they may exceed it by that
    much, which is harmless: the limit exists to stay below the sink's (1 MiB), far above.
    """
    d = d._replace(key=bounded_key(d.key))
    value = orjson.dumps(dead_letter_record(d))
    excess = _size(d.key, value) - max_bytes
    if excess > 0:
        # every character of raw is at least one byte of the JSON: dropping ``excess`` of them
        # drops at least ``excess`` bytes, so one cut is enough
        d = d._replace(raw=d.raw[:max(0, len(d.raw) - excess)])
        value = orjson.dumps(dead_letter_record(d))
    return d.key, value.decode()


def too_large_dead_letter(topic: str, key: str, value: bytes, max_bytes: int) -> DeadLetter:
    """The dead letter that stands in for an output record over the limit (stream = the output
    it was meant for)."""
    error = make_error(TOO_LARGE, f"output record of {_size(key, value)} bytes (key + value) "
                                  f"exceeds --max-record-bytes {max_bytes}")
    return DeadLetter(key, topic, error, value.decode()[:MAX_RAW_CHARS], format_iso_ms(now_ms()))


def sink_row(topic: str, record: dict, max_bytes: int, deadletter_topic: str) -> SinkRow:
    """``record`` as the sink writes it, or its ``too_large`` dead letter when it does not fit.

    A record already on its way to the dead-letter topic is shortened (its raw cut) instead.
    """
    key = record["key"]
    value = orjson.dumps(record)
    if _size(key, value) <= max_bytes:
        return SinkRow(topic, key, value.decode())
    if topic == deadletter_topic:
        d = DeadLetter(**record)
    else:
        d = too_large_dead_letter(topic, key, value, max_bytes)
    return SinkRow(deadletter_topic, *fit_dead_letter(d, max_bytes))
