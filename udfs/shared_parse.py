"""One parse per raw record for the main and the live path of one interpreter.

With the live path on, every contact event, CTR and agent event is read twice: once by the main
path's keyed operator and once by the live path's (each with its own watermarks). In thread mode
both operators of a key run in the same interpreter (same key group, same slot), so the second
reader can take the record the first one parsed instead of parsing the same JSON again. The first
reader leaves the parsed record under its raw string; the second takes it out. Records are
immutable (NamedTuples of plain values), so sharing one is safe. A dead letter is never shared
(each reader makes its own, with its own time). The hand-over is bounded (``MAX_WAITING`` per
stream, oldest dropped first): a record whose second reader is far behind, or a record read
once (process mode, where the operators run in separate processes), is simply parsed again.
"""

from __future__ import annotations

from typing import Callable, Union

from udfs.ingest import Record, normalizer_for
from udfs.records import DeadLetter

Normalizer = Callable[[Union[str, bytes]], Union[Record, DeadLetter]]

#: parsed records waiting for their second reader, per stream
MAX_WAITING = 4096
_waiting: dict[str, dict] = {}


def take_or_parse(stream: str, normalize: Normalizer, raw) -> Union[Record, DeadLetter]:
    """The record another reader of this interpreter parsed from ``raw``, else ``normalize(raw)``
    left for the other reader."""
    waiting = _waiting.setdefault(stream, {})
    rec = waiting.pop(raw, None)  # one dict operation: atomic under the GIL
    if rec is not None:
        return rec
    rec = normalize(raw)
    if type(rec) is not DeadLetter:
        waiting[raw] = rec
        while len(waiting) > MAX_WAITING:
            try:
                waiting.pop(next(iter(waiting)), None)
            except (RuntimeError, StopIteration):  # another thread changed it meanwhile
                break
    return rec


def normalizer(stream: str, shared: bool) -> Normalizer:
    """The stream's normalizer; with ``shared`` (the live path reads the stream too), one that
    hands its records to the other reader."""
    plain = normalizer_for(stream)
    if not shared:
        return plain
    return lambda raw: take_or_parse(stream, plain, raw)
