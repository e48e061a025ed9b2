"""Reading untrusted Amazon Connect JSON: the machinery shared by the three normalizers.

Real payloads differ from the docs in key casing (``agentInfo`` / ``AgentInfo``), in nulls, and
sometimes in types. Every field read here is therefore case-insensitive and typed: a wrong type
raises ``Rejected`` with a dead-letter error naming the field path, and ``run_normalizer`` turns
that (or anything else) into a ``DeadLetter`` so a normalizer never raises.

Key lookup is cheap in the common case: the documented spelling, then the spelling with the
first letter's case swapped (camelCase <-> PascalCase), and only then the object's lower-cased
key names (an absent field's usual fate), looked up once per object by the tuple of its key
names: objects of one shape (the same keys, in the same order) share one mapping.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple, Optional, TypeVar

import orjson

from udfs.dead_letter import (
    BAD_TIMESTAMP,
    BAD_TYPE,
    BAD_VALUE,
    INTERNAL,
    MISSING_FIELD,
    NOT_JSON,
    NOT_OBJECT,
    TOO_LARGE,
    dead_letter,
    make_error,
)
from udfs.records import DeadLetter
from udfs.timestamps import parse_iso_ms

# Inputs at or above this size are dead-lettered without parsing (bytes for bytes input,
# characters for str input). Real CTRs are a few KB; 1 MiB protects the parser and the heap.
MAX_RAW_SIZE = 1_048_576

_MISSING = object()

R = TypeVar("R")


class Rejected(Exception):
    """A record that cannot be normalized; ``error`` is the dead-letter error string."""

    def __init__(self, kind: str, detail: str) -> None:
        self.error = make_error(kind, detail)
        super().__init__(self.error)


class Key(NamedTuple):
    """A field name with its precomputed lookup spellings."""

    name: str
    swapped: str
    lower: str


def key(name: str) -> Key:
    """Precompute the spellings of a field name (call at import time, not per record)."""
    swapped = name[0].swapcase() + name[1:]
    return Key(name, swapped, name.lower())


def _type_name(value: object) -> str:
    return type(value).__name__


# Tuple of an object's key names -> {lower-cased name: name}, the last name of equal lower
# case winning (as in a dict built from the items in order). Bounded: cleared when full, and
# only objects of up to _SHAPE_MAX_KEYS keys are kept (a crafted record may have thousands).
_SHAPES: dict[tuple[str, ...], dict[str, str]] = {}
_SHAPES_MAX = 1024
_SHAPE_MAX_KEYS = 128


def lower_names(d: dict) -> dict[str, str]:
    """{lower-cased key name: key name} of ``d``; shared by all objects of its shape."""
    if len(d) > _SHAPE_MAX_KEYS:
        return {name.lower(): name for name in d}
    shape = tuple(d)
    names = _SHAPES.get(shape)
    if names is None:
        names = {name.lower(): name for name in shape}
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        _SHAPES[shape] = names
    return names


class Obj:
    """A JSON object with case-insensitive field access."""

    __slots__ = ("_d", "_lower")

    def __init__(self, d: dict) -> None:
        self._d = d
        self._lower: Optional[dict[str, str]] = None

    @property
    def value(self) -> dict:
        """The decoded JSON object itself (read-only by convention)."""
        return self._d

    def get(self, k: Key) -> Any:
        """The field's value, or None when absent under every casing."""
        d = self._d
        value = d.get(k[0], _MISSING)  # k[0] is k.name; indexing beats the attribute
        if value is not _MISSING:
            return value
        value = d.get(k[1], _MISSING)  # k.swapped
        if value is not _MISSING:
            return value
        lower = self._lower
        if lower is None:
            lower = self._lower = lower_names(d)
        name = lower.get(k[2])  # k.lower
        return None if name is None else d[name]


def load_object(raw: object) -> Obj:
    """Decode one raw input into a JSON object, or raise ``Rejected``."""
    kind = type(raw)
    if kind is not bytes and kind is not str:  # subclasses, bytearray, memoryview
        if isinstance(raw, str):
            raw = str(raw)
        elif isinstance(raw, (bytes, bytearray, memoryview)):
            raw = bytes(raw)
        else:
            raise Rejected(NOT_JSON, f"expected str or bytes, got {_type_name(raw)}")
    size = len(raw)
    if size >= MAX_RAW_SIZE:
        raise Rejected(TOO_LARGE, f"{size} >= {MAX_RAW_SIZE}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejected(NOT_JSON, str(exc)) from None
    if type(value) is not dict:
        raise Rejected(NOT_OBJECT, f"got {_type_name(value)}")
    return Obj(value)


def run_normalizer(stream: str, build: Callable[[Obj], R], raw: object) -> R | DeadLetter:
    """Decode ``raw`` and ``build`` its record; any failure becomes a ``DeadLetter``."""
    try:
        return build(load_object(raw))
    except Rejected as exc:
        return dead_letter(stream, exc.error, raw)
    except Exception as exc:  # noqa: BLE001 - a normalizer must never raise (SPEC §2)
        return dead_letter(stream, make_error(INTERNAL, f"{type(exc).__name__}: {exc}"), raw)


# ---- typed field readers: value -> normalized value, or Rejected naming ``path`` ----


def req_text(value: Any, path: str) -> str:
    """A required non-empty string (identities, event types)."""
    if type(value) is str:
        if value:
            return value
        raise Rejected(BAD_VALUE, f"{path}: empty string")
    if value is None:
        raise Rejected(MISSING_FIELD, path)
    raise Rejected(BAD_TYPE, f"{path}: expected string, got {_type_name(value)}")


def opt_text(value: Any, path: str) -> Optional[str]:
    """An optional string; null and "" both mean absent."""
    if type(value) is str:
        return value or None
    if value is None:
        return None
    raise Rejected(BAD_TYPE, f"{path}: expected string, got {_type_name(value)}")


def opt_upper(value: Any, path: str) -> Optional[str]:
    """An optional enum-like string, upper-cased ("Voice" -> "VOICE")."""
    if type(value) is str:
        return value.upper() or None
    if value is None:
        return None
    raise Rejected(BAD_TYPE, f"{path}: expected string, got {_type_name(value)}")


def req_timestamp(value: Any, path: str) -> int:
    """A required ISO-8601 timestamp as epoch ms."""
    if value is None:
        raise Rejected(MISSING_FIELD, path)
    try:
        return parse_iso_ms(value)
    except ValueError as exc:
        raise Rejected(BAD_TIMESTAMP, f"{path}: {exc}") from None


def opt_timestamp(value: Any, path: str) -> Optional[int]:
    """An optional ISO-8601 timestamp as epoch ms; null and "" mean absent."""
    if value is None or value == "":
        return None
    try:
        return parse_iso_ms(value)
    except ValueError as exc:
        raise Rejected(BAD_TIMESTAMP, f"{path}: {exc}") from None


def opt_duration(value: Any, path: str) -> Optional[float]:
    """An optional non-negative number of seconds, as float (bool is not a number)."""
    kind = type(value)
    if kind is int or kind is float:
        if value < 0:
            raise Rejected(BAD_VALUE, f"{path}: negative duration {value}")
        if kind is float and not math.isfinite(value):
            raise Rejected(BAD_VALUE, f"{path}: not finite")
        return float(value)
    if value is None:
        return None
    raise Rejected(BAD_TYPE, f"{path}: expected number, got {_type_name(value)}")


def opt_count(value: Any, path: str) -> Optional[int]:
    """An optional non-negative integer count (an integral float such as 2.0 is accepted)."""
    kind = type(value)
    if kind is int:
        if value < 0:
            raise Rejected(BAD_VALUE, f"{path}: negative count {value}")
        return value
    if kind is float:
        if not value.is_integer() or value < 0:
            raise Rejected(BAD_VALUE, f"{path}: not a non-negative integer: {value}")
        return int(value)
    if value is None:
        return None
    raise Rejected(BAD_TYPE, f"{path}: expected integer, got {_type_name(value)}")


def opt_obj(value: Any, path: str) -> Optional[Obj]:
    """An optional nested object."""
    if type(value) is dict:
        return Obj(value)
    if value is None:
        return None
    raise Rejected(BAD_TYPE, f"{path}: expected object, got {_type_name(value)}")


def opt_list(value: Any, path: str) -> list:
    """An optional array; null means empty."""
    if type(value) is list:
        return value
    if value is None:
        return []
    raise Rejected(BAD_TYPE, f"{path}: expected array, got {_type_name(value)}")


_LEVELS = tuple((key(f"Level{i}"), f"Level{i}") for i in range(1, 6))


@functools.lru_cache(maxsize=64)
def _level_paths(path: str, name_keys: tuple[Key, ...]) -> tuple:
    """(level key, level path, ((name key, name path), ...)) per level: built once per caller."""
    return tuple(
        (level_key, f"{path}.{level_name}",
         tuple((name_key, f"{path}.{level_name}.{name_key.name}") for name_key in name_keys))
        for level_key, level_name in _LEVELS
    )


def hierarchy_names(
    groups: Optional[Obj], path: str, name_keys: tuple[Key, ...]
) -> Optional[tuple[str, ...]]:
    """Names of hierarchy levels Level1..Level5 that are present, in order; None if none.

    ``name_keys`` lists the name field spellings in preference order (CTRs say ``GroupName``,
    agent events ``Name``).
    """
    if groups is None:
        return None
    names: list[str] = []
    for level_key, level_path, name_paths in _level_paths(path, name_keys):
        level = opt_obj(groups.get(level_key), level_path)
        if level is None:
            continue
        for name_key, name_path in name_paths:
            name = opt_text(level.get(name_key), name_path)
            if name is not None:
                names.append(name)
                break
    return tuple(names) if names else None


def lenient(reader: Callable[[Any, str], R], value: Any, path: str) -> Optional[R]:
    """``reader``'s result, or None when the value is malformed.

    For fields no metric, key or output depends on: a bad value there must not dead-letter the
    whole record (and leave a hole in an agent's timeline); it is simply not kept.
    """
    try:
        return reader(value, path)
    except Rejected:
        return None
