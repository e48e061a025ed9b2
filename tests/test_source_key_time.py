"""The Java source reader (``SourceKeyTime``) agrees with the Python normalizers.

Event time is read in Java at the source (per partition, SPEC §3) while the Python normalizers
stay the authority on validity and every field. Whatever Python accepts, Java must read to the
same (key, event time); otherwise a record would be keyed wrongly, or would count without having
moved its partition's watermark. Checked on every fixture, every JSON sample in
``../shared/reference/``, the scripted scenario, a simulation with every fault on, and thousands
of fuzzed variants (field casing, duplicates, timestamp shapes, types, envelopes).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from tests.fuzz.fuzz_parsers import Recipe, mutate
from udfs.ingest import normalize_raw, normalizer_for
from udfs.records import STREAM_AGENT_EVENTS, STREAM_CONTACT_EVENTS, STREAM_CTRS, DeadLetter

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
REFERENCE = ROOT.parent / "shared" / "reference"
STREAMS = (STREAM_CONTACT_EVENTS, STREAM_CTRS, STREAM_AGENT_EVENTS)
PREFIX = {STREAM_CONTACT_EVENTS: "contact_event", STREAM_CTRS: "ctr",
          STREAM_AGENT_EVENTS: "agent_event"}


def java_classpath() -> str:
    import pyflink

    lib = Path(pyflink.__file__).parent / "lib"
    return f"{ROOT / 'lib' / 'connect-metrics-deps.jar'}:{lib}/*"


def java_key_time(stream: str, raws: list[Optional[str]],
                  bounds: Optional[tuple[int, int]] = None) -> list[Optional[tuple[str, int]]]:
    """What the Java reader gives for each raw record (one JVM for the whole list)."""
    args = ["java", "-cp", java_classpath(), "io.connectmetrics.flink.KeyTimeCli", stream]
    if bounds:
        args += [str(bounds[0]), str(bounds[1])]
    stdin = "".join(json.dumps(r) + "\n" for r in raws)
    out = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=300,
                         check=True).stdout.splitlines()
    assert len(out) == len(raws)
    return [None if line == "null" else tuple(json.loads(line)) for line in out]


def python_key_time(stream: str, raw: str) -> Optional[tuple[str, int]]:
    rec = normalizer_for(stream)(raw)
    if type(rec) is DeadLetter:
        return None
    return (rec.agent_arn if stream == STREAM_AGENT_EVENTS else rec.contact_id), rec.event_ms


def assert_agree(stream: str, raws: list[str], min_accepted: int) -> None:
    """Every record Python accepts is read by Java to the same (key, event time)."""
    java = java_key_time(stream, raws)
    accepted = 0
    for raw, j in zip(raws, java):
        py = python_key_time(stream, raw)
        if py is not None:
            accepted += 1
            assert j == py, f"{stream}: Java {j} != Python {py} for {raw[:300]!r}"
    assert accepted >= min_accepted, f"only {accepted} of {len(raws)} accepted"


# ---- corpora -------------------------------------------------------------------------------

def fixture_lines(stream: str) -> list[str]:
    paths = sorted(FIXTURES.glob(f"{PREFIX[stream]}_*.json"))
    return [p.read_text(encoding="utf-8") for p in paths]


def reference_samples() -> list[str]:
    """Every JSON object in a code block of the reference docs that parses as it stands."""
    out = []
    for md in sorted(REFERENCE.rglob("*.md")):
        for block in re.findall(r"```[a-zA-Z]*\n(.*?)```", md.read_text(encoding="utf-8"), re.S):
            try:
                value = json.loads(block)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(block)
    return out


def scripted_lines(stream: str) -> list[str]:
    from tests import test_scenario_scripted as scripted

    return {STREAM_CONTACT_EVENTS: scripted.contact_event_lines,
            STREAM_CTRS: lambda: list(scripted.CTRS.values()),
            STREAM_AGENT_EVENTS: scripted.agent_lines}[stream]()


def simulated_lines(stream: str) -> list[str]:
    """A simulated center with every fault on (duplicates, disorder, malformed lines)."""
    from tools.sim.config import SimConfig
    from tools.sim.simulation import Simulation

    cfg = SimConfig(seed=11, agents=6, contacts=120, duration_s=1800)
    return [text(rec.value) for rec in Simulation(cfg).records() if rec.stream == stream]


def text(value: object) -> str:
    """A record value as the Java source decodes it (UTF-8, invalid bytes as U+FFFD)."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


_TIMESTAMP_SHAPES = ("2024-03-05T06:07:08Z", "2024-03-05T06:07:08.9Z", "2024-03-05t06:07:08z",
                     "2024-03-05 06:07:08+02:00", "2024-03-05T06:07:08,123456789-0130",
                     "2024-03-05T06:07+05", "2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00Z",
                     "2024-03-05T06:07:60Z", "2024-03-05T24:00:00Z", "2024-03-05T06:07:08",
                     "2024-03-05T06:07:08+24:00", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59.999-00:01", "２０２４-03-05T06:07:08Z", "", None, 17,
                     "2024-3-5T06:07:08Z", " 2024-03-05T06:07:08Z", "2024-03-05T06:07:08Z ")


def _recase(record: dict, rng: random.Random) -> dict:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = _recase(value, rng)
        choice = rng.randrange(4)
        if choice == 1:
            key = key.swapcase()
        elif choice == 2:
            key = key.lower()
        elif choice == 3:
            key = key[0].swapcase() + key[1:] if key else key
        out[key] = value
    return out


def _retime(record: dict, rng: random.Random) -> dict:
    """Replace timestamp-looking strings with one of many shapes (valid and not)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = _retime(value, rng)
        elif isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value) and rng.random() < .5:
            value = rng.choice(_TIMESTAMP_SHAPES)
        out[key] = value
    return out


def _with_duplicates(raw: str, rng: random.Random) -> str:
    """The same object with one top-level field repeated under another spelling or value."""
    record = json.loads(raw)
    if not record:
        return raw
    key = rng.choice(list(record))
    other = rng.choice([key, key.lower(), key.upper(), key.swapcase()])
    value = rng.choice([None, "", "x", record[key], "2024-03-05T06:07:08Z"])
    body = json.dumps(record)[1:-1]
    pair = f"{json.dumps(other)}: {json.dumps(value)}"
    return "{" + (f"{pair}, {body}" if rng.random() < .5 else f"{body}, {pair}") + "}"


def fuzzed_lines(stream: str, n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    seeds = [json.loads(line) for line in scripted_lines(stream) + simulated_lines(stream)[:60]
             if python_key_time(stream, line) is not None]
    out = []
    for i in range(n):
        base = rng.choice(seeds)
        kind = i % 5
        if kind == 0:
            out.append(json.dumps(_recase(base, rng)))
        elif kind == 1:
            out.append(json.dumps(_retime(base, rng)))
        elif kind == 2:
            out.append(_with_duplicates(json.dumps(base), rng))
        elif kind == 3:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(8, 64)))
            out.append(mutate(base, Recipe(data)).decode())
        else:  # envelope <-> bare, null / odd detail, whitespace
            record = dict(base)
            if "detail" in record and rng.random() < .5:
                record = dict(record["detail"]) if isinstance(record["detail"], dict) else record
            elif rng.random() < .3:
                record["detail"] = rng.choice([None, "x", [], {"contactId": "c"}])
            out.append("  " + json.dumps(record) + rng.choice(["", " ", "\n", " x"]))
    return out


# ---- tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", STREAMS)
def test_fixtures_scripted_and_simulated(stream: str) -> None:
    raws = fixture_lines(stream) + scripted_lines(stream) + simulated_lines(stream)
    assert_agree(stream, raws, min_accepted=50)


def test_reference_samples() -> None:
    samples = reference_samples()
    assert samples, "no JSON samples found in ../shared/reference"
    for stream in STREAMS:
        assert_agree(stream, samples, min_accepted=0)


@pytest.mark.parametrize("stream", STREAMS)
def test_fuzzed(stream: str) -> None:
    assert_agree(stream, fuzzed_lines(stream, 3000), min_accepted=600)


def test_hand_picked_edges() -> None:
    """Casing, duplicates, the contact-event time fallbacks, types and garbage."""
    ce = [
        '{"detail": {"contactId": "a", "eventType": "QUEUED", "queueInfo": '
        '{"enqueueTimestamp": "2024-03-05T06:07:08Z"}}, "time": "2024-03-05T06:09:00Z"}',
        '{"detail": {"contactId": "a", "eventType": "queued"}, "time": "2024-03-05T06:09:00Z"}',
        '{"Detail": {"ContactId": "a", "EventType": "DISCONNECTED", '
        '"DisconnectTimestamp": "2024-03-05T06:07:08.5Z"}}',
        '{"contactId": "a", "eventType": "COMPLETED", "initiationTimestamp": '
        '"2024-03-05T06:00:00Z", "disconnectTimestamp": "2024-03-05T06:07:08Z"}',
        '{"contactId": "a", "eventType": "CONTACT_DATA_UPDATED", "agentInfo": '
        '{"connectedToAgentTimestamp": "2024-03-05T06:05:00Z"}, "time": "2024-03-05T07:00:00Z"}',
        '{"contactId": "a", "contactid": "b", "eventType": "INITIATED", '
        '"initiationTimestamp": "2024-03-05T06:00:00Z"}',
        '{"CONTACTID": "a", "contactID": "b", "eventType": "INITIATED", '
        '"initiationTimestamp": "2024-03-05T06:00:00Z"}',
        '{"contactId": "a", "eventType": "INITIATED", "initiationTimestamp": '
        '"2024-03-05T06:00:00Z", "initiationTimestamp": "2024-03-05T06:00:01Z"}',
        '{"detail": null, "contactId": "a", "eventType": "INITIATED", '
        '"initiationTimestamp": "2024-03-05T06:00:00Z"}',
        '{"detail": {"contactId": "", "eventType": "INITIATED"}}', '[]', 'null', '', '{',
        '{"detail": {"contactId": "a", "eventType": "QUEUED", "queueInfo": []}, '
        '"time": "2024-03-05T06:09:00Z"}',
    ]
    assert_agree(STREAM_CONTACT_EVENTS, ce, min_accepted=9)  # incl. the bare COMPLETED / CDU
    ctr = [
        '{"ContactId": "c", "LastUpdateTimestamp": "2024-03-05T06:10:00Z"}',
        '{"contactId": "c", "lastUpdateTimestamp": "2024-03-05T06:10:00Z", '
        '"DisconnectTimestamp": ""}',
        '{"ContactId": "c", "LastUpdateTimestamp": "2024-03-05T06:10:00Z", '
        '"DisconnectTimestamp": "2024-03-05T06:08:00+01:00"}',
        '{"ContactId": "c", "LastUpdateTimestamp": "2024-03-05T06:10:00Z", '
        '"DisconnectTimestamp": 5}',
        '{"ContactId": 5, "LastUpdateTimestamp": "2024-03-05T06:10:00Z"}',
    ]
    assert_agree(STREAM_CTRS, ctr, min_accepted=3)
    agent = [
        '{"AgentARN": "x", "EventTimestamp": "2024-03-05T06:10:00.123Z", "EventId": "e", '
        '"EventType": "HEART_BEAT"}',
        '{"agentArn": "x", "eventTimestamp": "2024-03-05T06:10:00Z", "EventId": "e", '
        '"EventType": "LOGIN", "Deep": ' + "[" * 900 + "]" * 900 + '}',
    ]
    assert_agree(STREAM_AGENT_EVENTS, agent, min_accepted=2)


def test_insane_event_times_are_unreadable_at_the_source() -> None:
    """A record far ahead of the wall clock (or before 2017) never reaches a watermark: Java
    calls it unreadable and the Python normalizer dead-letters it as bad_value."""
    import time

    from udfs.settings import Settings

    now = int(time.time() * 1000)
    min_ms = Settings().min_event_ms

    def agent(at_ms: int) -> str:
        from udfs.timestamps import format_iso_ms

        return json.dumps({"AgentARN": "x", "EventId": "e", "EventType": "HEART_BEAT",
                           "EventTimestamp": format_iso_ms(at_ms)})

    raws = [agent(now - 60_000), agent(now + 7_200_000), agent(now + 180 * 86_400_000 * 365),
            agent(min_ms - 1)]
    java = java_key_time(STREAM_AGENT_EVENTS, raws, bounds=(min_ms, 300_000))
    assert java[0] == ("x", now - 60_000)
    assert java[1:] == [None, None, None]
    for raw in raws[1:]:
        rec = normalize_raw(STREAM_AGENT_EVENTS, raw, min_ms, now + 300_000)
        assert type(rec) is DeadLetter and rec.error.startswith("bad_value")
