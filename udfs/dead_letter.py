"""Dead-letter records: bad input is parked with its reason, never dropped (SPEC §2, §4).

Error strings are short and stable and always begin with their *kind*, ``"<kind>: <detail>"``
(e.g. ``"bad_type: Queue.Duration: expected number, got str"``), or are exactly the kind when
there is no detail (``"late"``). ``error_kind`` recovers the kind so the Flink wrapper can count
dead letters per (stream, kind) without parsing messages itself.
"""

from __future__ import annotations

import hashlib
import time

from udfs.records import DeadLetter
from udfs.timestamps import format_iso_ms

# Error kinds (the prefix of every dead-letter error string).
TOO_LARGE = "too_large"  # raw input at or above the size limit; not parsed at all
NOT_JSON = "not_json"  # undecodable bytes or invalid JSON
NOT_OBJECT = "not_object"  # valid JSON, but not an object
MISSING_FIELD = "missing_field"  # a required field is absent or null
BAD_TYPE = "bad_type"  # a field has the wrong JSON type
BAD_TIMESTAMP = "bad_timestamp"  # a timestamp string that is not an ISO-8601 instant
BAD_VALUE = "bad_value"  # right type, impossible value (empty id, negative duration, ...)
TOMBSTONE = "tombstone"  # a Kafka record with a null value (a delete marker), not a payload
EMPTY = "empty"  # an empty or whitespace-only value (an empty Kafka value, not a file's blank line)
LATE = "late"  # used by the windowing operators for records past the allowed lateness
AFTER_CLEARING = "after_clearing"  # a change for a contact whose state was already cleared
INTERNAL = "internal"  # a bug in a normalizer; the record is still kept
OTHER = "other"  # an error string that does not start with a known kind

ERROR_KINDS = frozenset(
    (TOO_LARGE, NOT_JSON, NOT_OBJECT, MISSING_FIELD, BAD_TYPE, BAD_TIMESTAMP, BAD_VALUE, LATE,
     INTERNAL, TOMBSTONE, EMPTY, AFTER_CLEARING)
)

# SPEC: raw truncated to 64 KiB. We count *characters* of the decoded text (65536), which keeps
# the cut on a character boundary; the UTF-8 encoding of the kept text may be up to 4x larger.
MAX_RAW_CHARS = 65_536


def error_kind(error: str) -> str:
    """The kind prefix of a dead-letter error string (``OTHER`` if it has none we know)."""
    kind = error.partition(":")[0]
    return kind if kind in ERROR_KINDS else OTHER


def make_error(kind: str, detail: str) -> str:
    """The one place that formats ``"<kind>: <detail>"``."""
    return f"{kind}: {detail}"


def raw_text(raw: object, max_chars: int = MAX_RAW_CHARS) -> str:
    """Raw input as valid Unicode text of at most ``max_chars`` characters.

    Invalid UTF-8 and lone surrogates become U+FFFD. Only a prefix is decoded: a UTF-8
    character is at most 4 bytes, so ``4 * max_chars`` bytes always hold the kept text.
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = raw if type(raw) is bytes else bytes(raw)
        return data[: 4 * max_chars].decode("utf-8", errors="replace")[:max_chars]
    if isinstance(raw, str):
        text = raw[:max_chars]
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot be written as JSON later
            return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text
    return repr(raw)[:max_chars]


def _raw_digest(raw: object) -> str:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
    elif isinstance(raw, str):
        data = raw.encode("utf-8", errors="surrogatepass")
    else:
        data = repr(raw).encode("utf-8", errors="surrogatepass")
    return hashlib.sha1(data).hexdigest()[:16]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dead_letter(stream: str, error: str, raw: object, key: str | None = None) -> DeadLetter:
    """Build the dead-letter record for one rejected input.

    ``key`` defaults to ``"<stream>:<first 16 hex of sha1(raw)>"``: stable across re-deliveries
    of the same bytes, distinct for distinct bad records (so a compacted topic keeps them all).
    """
    text = raw_text(raw)
    if key is None:
        key = f"{stream}:{_raw_digest(raw)}"
    return DeadLetter(key, stream, error, text, format_iso_ms(now_ms()))


def dead_letter_to_dict(d: DeadLetter) -> dict[str, str]:
    """The SPEC §4 dead-letter JSON object."""
    return {"key": d.key, "stream": d.stream, "error": d.error, "raw": d.raw, "at": d.at}
