"""Dead letters for records a keyed operator refuses: late ones and ones after their state was
cleared (SPEC §2-3: nothing that reaches a record's state is dropped without a trace).

``raw`` is the input as received (the JSON string the operator parsed at its entry), so a dead
letter can be replayed. An operator that only has the normalized record passes that instead and
its JSON (``record_json``) stands in for the raw line. The late error is exactly ``"late"``.
"""

from __future__ import annotations

import orjson

from udfs.dead_letter import AFTER_CLEARING, LATE, dead_letter, make_error
from udfs.records import DeadLetter


def _namedtuple_as_dict(value: object) -> object:
    if hasattr(value, "_asdict"):
        return value._asdict()
    raise TypeError(type(value).__name__)


def record_json(record: tuple) -> str:
    """A normalized record as JSON, standing in for a raw line the operator no longer has."""
    return orjson.dumps(record._asdict(), default=_namedtuple_as_dict).decode()


def raw_of(raw: object) -> object:
    """The raw input itself (str / bytes), or the JSON of a normalized record standing in."""
    if isinstance(raw, (str, bytes, bytearray, memoryview)):
        return raw
    return record_json(raw)


def late_dead_letter(stream: str, raw: object, key: str) -> DeadLetter:
    """Past its allowed lateness (error exactly ``"late"``, SPEC §3)."""
    return dead_letter(stream, LATE, raw_of(raw), key=key)


late_raw_dead_letter = late_dead_letter  # the name the agent operator uses


def after_clearing_dead_letter(stream: str, raw: object, key: str, what: str) -> DeadLetter:
    """Refused because the contact's state was cleared (``what`` says what it would change)."""
    return dead_letter(stream, make_error(AFTER_CLEARING, what), raw_of(raw), key=key)
