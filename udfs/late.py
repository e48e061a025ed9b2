"""Dead letters for records that arrive after their window's allowed lateness (SPEC §3).

The error is exactly ``"late"`` (SPEC §3). ``raw`` is the input as received where the operator has
it (``late_raw_dead_letter``); an operator that only has the normalized record uses its JSON
(``record_json``) to stand in for the raw line: the record is never silently dropped.
"""

from __future__ import annotations

import orjson

from udfs.dead_letter import LATE, dead_letter
from udfs.records import DeadLetter


def _namedtuple_as_dict(value: object) -> object:
    if hasattr(value, "_asdict"):
        return value._asdict()
    raise TypeError(type(value).__name__)


def record_json(record: tuple) -> str:
    """A normalized record as JSON, standing in for a raw line the operator no longer has."""
    return orjson.dumps(record._asdict(), default=_namedtuple_as_dict).decode()


def late_raw_dead_letter(stream: str, raw: str, key: str) -> DeadLetter:
    return dead_letter(stream, LATE, raw, key=key)


def late_dead_letter(stream: str, record: tuple, key: str) -> DeadLetter:
    return late_raw_dead_letter(stream, record_json(record), key)
