"""Dead letters and the shared field readers under the three normalizers."""

from __future__ import annotations

import hashlib
import time

import pytest

from udfs import json_fields
from udfs.dead_letter import (
    MAX_RAW_CHARS,
    OTHER,
    dead_letter,
    dead_letter_to_dict,
    error_kind,
)
from udfs.json_fields import (
    Obj,
    Rejected,
    hierarchy_names,
    key,
    load_object,
    opt_count,
    opt_duration,
    opt_list,
    opt_obj,
    opt_text,
    opt_timestamp,
    opt_upper,
    req_text,
    req_timestamp,
    run_normalizer,
)
from udfs.records import DeadLetter
from udfs.timestamps import parse_iso_ms


def _sha16(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


# ---- dead_letter ----


def test_dead_letter_fields() -> None:
    before = time.time_ns() // 1_000_000
    d = dead_letter("ctrs", "missing_field: ContactId", b'{"a":1}')
    after = time.time_ns() // 1_000_000
    assert d.key == "ctrs:" + _sha16(b'{"a":1}')
    assert (d.stream, d.error, d.raw) == ("ctrs", "missing_field: ContactId", '{"a":1}')
    assert d.at.endswith("Z") and before - 1 <= parse_iso_ms(d.at) <= after + 1


def test_dead_letter_key_given_and_same_for_str_and_bytes() -> None:
    assert dead_letter("ctrs", "late", "x", key="ctrs:C1").key == "ctrs:C1"
    assert dead_letter("s", "e", "é").key == dead_letter("s", "e", "é".encode()).key


def test_dead_letter_decodes_bad_utf8_and_surrogates() -> None:
    assert dead_letter("s", "e", b"a\xffb").raw == "a\ufffdb"
    assert dead_letter("s", "e", "a\ud800b").raw == "a\ufffdb"
    assert dead_letter("s", "e", bytearray(b"xy")).raw == "xy"
    assert dead_letter("s", "e", None).raw == "None"


def test_dead_letter_truncates_raw_to_64_kib_characters() -> None:
    raw = "é" * (MAX_RAW_CHARS + 10)
    d = dead_letter("s", "e", raw)
    assert d.raw == "é" * MAX_RAW_CHARS
    assert d.key == "s:" + _sha16(raw.encode())  # key hashes the full input


def test_dead_letter_truncates_bytes_after_decoding_a_prefix_only() -> None:
    raw = "\u20ac".encode() * (MAX_RAW_CHARS + 1)  # 3 bytes per character
    assert dead_letter("s", "e", raw).raw == "\u20ac" * MAX_RAW_CHARS
    assert dead_letter("s", "e", b"\xff" * (5 * MAX_RAW_CHARS)).raw == "\ufffd" * MAX_RAW_CHARS


def test_dead_letter_to_dict() -> None:
    d = DeadLetter("k", "ctrs", "late", "{}", "2021-08-04T17:29:04Z")
    assert dead_letter_to_dict(d) == {
        "key": "k",
        "stream": "ctrs",
        "error": "late",
        "raw": "{}",
        "at": "2021-08-04T17:29:04Z",
    }


@pytest.mark.parametrize(
    "error, kind",
    [
        ("not_json: unexpected character", "not_json"),
        ("bad_type: Queue.Duration: expected number, got str", "bad_type"),
        ("missing_field: ContactId", "missing_field"),
        ("late", "late"),
        ("something else", OTHER),
        ("", OTHER),
    ],
)
def test_error_kind(error: str, kind: str) -> None:
    assert error_kind(error) == kind


# ---- case-insensitive access ----


def test_obj_get_tries_spelling_swapped_then_any_case() -> None:
    k = key("contactId")
    assert Obj({"contactId": "a"}).get(k) == "a"
    assert Obj({"ContactId": "b"}).get(k) == "b"
    assert Obj({"CONTACTID": "c"}).get(k) == "c"
    assert Obj({"contactid": None}).get(k) is None
    assert Obj({}).get(k) is None
    assert Obj({"contactId": "exact", "CONTACTID": "other"}).get(k) == "exact"


def test_obj_any_case_lookup_is_shared_per_shape_and_bounded() -> None:
    k = key("contactId")
    assert Obj({"CONTACTID": "c", "x": 1}).get(k) == "c"
    assert Obj({"CONTACTID": "d", "x": 2}).get(k) == "d"  # same shape, its own values
    assert Obj({"x": 1, "CONTACTID": "e"}).get(k) == "e"  # another order, another shape
    assert Obj({"CONTACTID": "first", "contactID": "last"}).get(k) == "last"  # as dict(items)
    wide = {f"f{i}": i for i in range(json_fields._SHAPE_MAX_KEYS + 1)} | {"CONTACTID": "w"}
    shapes = len(json_fields._SHAPES)
    assert Obj(wide).get(k) == "w"
    assert len(json_fields._SHAPES) == shapes  # a crafted wide object is not kept
    for i in range(json_fields._SHAPES_MAX + 10):
        assert Obj({f"k{i}": i}).get(key(f"K{i}X")) is None
    assert len(json_fields._SHAPES) <= json_fields._SHAPES_MAX


# ---- load_object / run_normalizer ----


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"", "not_json: "),
        (b"{", "not_json: "),
        (b"\xff", "not_json: "),
        ("{'a': 1}", "not_json: "),
        (b"NaN", "not_json: "),
        (None, "not_json: expected str or bytes, got NoneType"),
        (123, "not_json: expected str or bytes, got int"),
        (b"[]", "not_object: got list"),
        (b'"s"', "not_object: got str"),
        (b"null", "not_object: got NoneType"),
        (b"1.5", "not_object: got float"),
    ],
)
def test_load_object_rejects(raw: object, error: str) -> None:
    with pytest.raises(Rejected) as exc:
        load_object(raw)
    assert exc.value.error.startswith(error)


def test_load_object_too_large_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_fields, "MAX_RAW_SIZE", 10)
    with pytest.raises(Rejected) as exc:
        load_object(b"{" + b" " * 8 + b"}")
    assert exc.value.error == "too_large: 10 >= 10"
    assert load_object(b"{" + b" " * 7 + b"}").get(key("x")) is None


def test_run_normalizer_turns_any_exception_into_dead_letter() -> None:
    def broken(obj: Obj) -> None:
        raise KeyError("boom")

    d = run_normalizer("ctrs", broken, b"{}")
    assert type(d) is DeadLetter
    assert d.error == "internal: KeyError: 'boom'"
    assert error_kind(d.error) == "internal"


# ---- typed readers ----


def _error(fn, value: object) -> str:
    with pytest.raises(Rejected) as exc:
        fn(value, "A.B")
    return exc.value.error


def test_req_text() -> None:
    assert req_text("x", "A.B") == "x"
    assert _error(req_text, None) == "missing_field: A.B"
    assert _error(req_text, "") == "bad_value: A.B: empty string"
    assert _error(req_text, 5) == "bad_type: A.B: expected string, got int"


def test_opt_text_and_upper() -> None:
    assert opt_text("Voice", "A.B") == "Voice"
    assert opt_text("", "A.B") is None
    assert opt_text(None, "A.B") is None
    assert opt_upper("Voice", "A.B") == "VOICE"
    assert opt_upper("", "A.B") is None
    assert _error(opt_text, True) == "bad_type: A.B: expected string, got bool"
    assert _error(opt_upper, {}) == "bad_type: A.B: expected string, got dict"


def test_timestamps() -> None:
    assert req_timestamp("1970-01-01T00:00:01Z", "A.B") == 1000
    assert opt_timestamp("1970-01-01T00:00:01Z", "A.B") == 1000
    assert opt_timestamp(None, "A.B") is None
    assert opt_timestamp("", "A.B") is None
    assert _error(req_timestamp, None) == "missing_field: A.B"
    assert _error(req_timestamp, "") == "bad_timestamp: A.B: not an ISO-8601 timestamp: ''"
    assert _error(opt_timestamp, 5) == "bad_timestamp: A.B: expected ISO-8601 string, got int"
    assert _error(opt_timestamp, "2021-02-30T00:00:00Z") == (
        "bad_timestamp: A.B: day 30 out of range 1..28"
    )


def test_opt_duration() -> None:
    assert opt_duration(5, "A.B") == 5.0 and type(opt_duration(5, "A.B")) is float
    assert opt_duration(2.5, "A.B") == 2.5
    assert opt_duration(0, "A.B") == 0.0
    assert opt_duration(None, "A.B") is None
    assert _error(opt_duration, "abc") == "bad_type: A.B: expected number, got str"
    assert _error(opt_duration, "5") == "bad_type: A.B: expected number, got str"
    assert _error(opt_duration, True) == "bad_type: A.B: expected number, got bool"
    assert _error(opt_duration, -1) == "bad_value: A.B: negative duration -1"
    assert _error(opt_duration, float("nan")) == "bad_value: A.B: not finite"
    assert _error(opt_duration, float("inf")) == "bad_value: A.B: not finite"


def test_opt_count() -> None:
    assert opt_count(2, "A.B") == 2
    assert opt_count(2.0, "A.B") == 2 and type(opt_count(2.0, "A.B")) is int
    assert opt_count(None, "A.B") is None
    assert _error(opt_count, "x") == "bad_type: A.B: expected integer, got str"
    assert _error(opt_count, False) == "bad_type: A.B: expected integer, got bool"
    assert _error(opt_count, -1) == "bad_value: A.B: negative count -1"
    assert _error(opt_count, 1.5) == "bad_value: A.B: not a non-negative integer: 1.5"


def test_opt_obj_and_list() -> None:
    assert opt_obj({"a": 1}, "A.B").get(key("a")) == 1
    assert opt_obj(None, "A.B") is None
    assert _error(opt_obj, []) == "bad_type: A.B: expected object, got list"
    assert opt_list([1], "A.B") == [1]
    assert opt_list(None, "A.B") == []
    assert _error(opt_list, {}) == "bad_type: A.B: expected array, got dict"


def test_hierarchy_names() -> None:
    names = (key("GroupName"), key("Name"))
    groups = Obj(
        {
            "Level1": {"GroupName": "EMEA"},
            "level2": None,
            "LEVEL3": {"Name": "Team"},
            "Level4": {"ARN": "no-name"},
            "Level5": {"GroupName": "Pod"},
        }
    )
    assert hierarchy_names(groups, "H", names) == ("EMEA", "Team", "Pod")
    assert hierarchy_names(Obj({"Level1": None}), "H", names) is None
    assert hierarchy_names(None, "H", names) is None
    with pytest.raises(Rejected) as exc:
        hierarchy_names(Obj({"Level2": "x"}), "H", names)
    assert exc.value.error == "bad_type: H.Level2: expected object, got str"
