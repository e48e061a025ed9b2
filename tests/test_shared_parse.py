"""The main and the live path's readers of one interpreter parse each raw record once."""

from __future__ import annotations

from udfs import shared_parse
from udfs.ingest import normalizer_for
from udfs.records import STREAM_CONTACT_EVENTS, DeadLetter

RAW = ('{"ContactId": "c1", "EventType": "INITIATED", "Channel": "VOICE", '
       '"InitiationMethod": "INBOUND", "InitiationTimestamp": "2024-01-15T10:00:00Z", '
       '"EventTimestamp": "2024-01-15T10:00:01Z"}')


def counting():
    calls = []
    plain = normalizer_for(STREAM_CONTACT_EVENTS)

    def normalize(raw):
        calls.append(raw)
        return plain(raw)
    return normalize, calls


def test_the_second_reader_takes_the_record_the_first_parsed() -> None:
    shared_parse._waiting.clear()
    normalize, calls = counting()
    first = shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize, RAW)
    copy = RAW[:10] + RAW[10:]  # equal, another object
    second = shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize, copy)
    assert second is first and len(calls) == 1
    assert first == normalizer_for(STREAM_CONTACT_EVENTS)(RAW)
    third = shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize, RAW)  # a re-delivery
    assert third == first and len(calls) == 2


def test_dead_letters_are_never_shared_and_the_hand_over_is_bounded(monkeypatch) -> None:
    shared_parse._waiting.clear()
    normalize, calls = counting()
    bad = shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize, "{not json")
    assert type(bad) is DeadLetter
    shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize, "{not json")
    assert len(calls) == 2
    monkeypatch.setattr(shared_parse, "MAX_WAITING", 3)
    for i in range(10):
        shared_parse.take_or_parse(STREAM_CONTACT_EVENTS, normalize,
                                   RAW.replace('"c1"', f'"c{i}"'))
    assert len(shared_parse._waiting[STREAM_CONTACT_EVENTS]) == 3


def test_without_the_live_path_the_plain_normalizer_is_used() -> None:
    assert shared_parse.normalizer(STREAM_CONTACT_EVENTS, shared=False) is \
        normalizer_for(STREAM_CONTACT_EVENTS)
