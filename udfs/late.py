"""Dead letters for records that arrive after their window's allowed lateness (SPEC §3).

The operator that detects lateness only has the normalized record, so its JSON stands in for the
raw line: the record is never silently dropped. The error is exactly ``"late"`` (SPEC §3).
"""

from __future__ import annotations

import orjson

from udfs.dead_letter import LATE, dead_letter
from udfs.records import DeadLetter


def _namedtuple_as_dict(value: object) -> object:
    if hasattr(value, "_asdict"):
        return value._asdict()
    raise TypeError(type(value).__name__)


def late_dead_letter(stream: str, record: tuple, key: str) -> DeadLetter:
    raw = orjson.dumps(record._asdict(), default=_namedtuple_as_dict).decode()
    return dead_letter(stream, LATE, raw, key=key)
