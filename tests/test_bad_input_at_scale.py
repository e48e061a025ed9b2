"""Bad input at scale over Kafka, and no customer data in any output.

A simulated hour whose every feed carries more than 5% bad records — the simulator's malformed
kinds (not JSON, truncated, JSON array, missing identity, unparseable timestamp, wrongly typed
field) plus what this test adds to each topic: oversized records (1.5 MiB, valid JSON, over the
1 MiB limit), far-future (2099) and far-past (2001) event times. The Kafka-mode job runs to the
end of the input (``--bounded``); the good records must give exactly the reference metrics and
every bad record must be in the dead-letter topic exactly once, with its reason.

The same run's outputs are scanned for the simulated customers' PII (phone numbers, names,
e-mail addresses, account numbers from ``truth.json``): none may appear in the metric and
contact topics, nor in the dead-letter records' own fields. The dead letters' ``raw`` field is
left out of that scan on purpose: it is the rejected input, verbatim (up to 64 KiB), kept so an
operator can repair and replay it, and malformed CTR copies legitimately carry the customer's
endpoint; the dead-letter topic is therefore as sensitive as the input topics.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from tests.kafka_io import INPUTS, run_bounded
from tests.reliability import (
    SimulatedHour,
    assert_contacts_once,
    assert_equals_reference,
    assert_exactly_once,
    produce_lines,
    read_outputs,
    simulate_hour,
    unique_topics,
)
from tools.sim.config import FaultConfig
from udfs.json_fields import MAX_RAW_SIZE

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: The simulator's own malformed share (per good line, in every feed).
MALFORMED = 0.06
OVERSIZED, FAR_FUTURE, FAR_PAST = 3, 10, 10
OVERSIZED_CHARS = 3 * MAX_RAW_SIZE // 2  # 1.5 MiB
FUTURE, PAST = "2099-06-01T12:00:00.000Z", "2001-06-01T12:00:00.000Z"
FAULTS = FaultConfig(ctr_duplicates=0.1, late_redeliveries=0.05, out_of_order_s=30.0,
                     agent_duplicates=0.05, malformed=MALFORMED)


def _moved(value: object, when: str) -> object:
    """``value`` with every simulated timestamp (a string starting with the year) at ``when``."""
    if isinstance(value, dict):
        return {k: _moved(v, when) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, when) for v in value]
    if isinstance(value, str) and value.startswith("2024-"):
        return when
    return value


def _retimed(stream: str, line: bytes, when: str, rng: random.Random) -> bytes:
    """A good record moved to ``when`` (every timestamp in it), with a fresh identity — so a job
    that wrongly accepted it would show an extra contact or event, not merge it silently."""
    obj = _moved(json.loads(line), when)
    ident = f"bad-{rng.getrandbits(64):016x}"
    if stream == "ctrs":
        obj["ContactId"] = ident
    elif stream == "agent_events":
        obj["EventId"] = ident
    else:
        obj.get("detail", obj)["contactId"] = ident
        obj.pop("id", None)
    return json.dumps(obj).encode()


def _oversized(line: bytes) -> bytes:
    """Valid JSON, a real record padded past the size limit."""
    obj = json.loads(line)
    obj["Padding"] = "x" * OVERSIZED_CHARS
    return json.dumps(obj).encode()


def extra_bad_lines(hour: SimulatedHour, stream: str, rng: random.Random) -> list[bytes]:
    good = [line for line in hour.lines(stream) if line.startswith(b"{")]
    picks = rng.sample(good, OVERSIZED + FAR_FUTURE + FAR_PAST)
    return ([_oversized(x) for x in picks[:OVERSIZED]]
            + [_retimed(stream, x, FUTURE, rng) for x in picks[OVERSIZED:-FAR_PAST]]
            + [_retimed(stream, x, PAST, rng) for x in picks[-FAR_PAST:]])


@pytest.fixture(scope="module")
def bad_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[SimulatedHour, dict[str, list[bytes]], dict[str, list[dict]]]:
    hour = simulate_hour(tmp_path_factory.mktemp("bad-hour"), seed=31, faults=FAULTS)
    topics = unique_topics(kafka_bootstrap)
    rng = random.Random(31)
    extras = {}
    for stream in INPUTS:
        lines = hour.lines(stream)
        extras[stream] = extra_bad_lines(hour, stream, rng)
        for bad in extras[stream]:  # mixed in, not appended
            lines.insert(rng.randrange(len(lines) + 1), bad)
        produce_lines(kafka_bootstrap, topics[stream], stream, lines)
    run_bounded(kafka_bootstrap, topics)
    return hour, extras, read_outputs(kafka_bootstrap, topics)


def test_bad_share_is_above_five_percent_in_every_feed(bad_run) -> None:
    hour, extras, _ = bad_run
    for stream in INPUTS:
        stats = hour.truth["files"][f"{stream}.jsonl"]
        bad = stats["bad_lines"] + len(extras[stream])
        assert bad / (stats["good_lines"] + bad) > 0.05, stream
        assert sum(len(x) >= MAX_RAW_SIZE for x in extras[stream]) == OVERSIZED


def test_good_records_give_exact_metrics(bad_run) -> None:
    hour, _, out = bad_run
    assert_equals_reference(hour, out)
    assert_exactly_once(out)
    assert_contacts_once(hour, out)


def test_every_bad_record_is_dead_lettered_exactly_once(bad_run) -> None:
    hour, extras, out = bad_run
    dead = out["deadletter"]
    want = {s: hour.bad_lines()[s] + len(extras[s]) for s in INPUTS}
    assert dict(Counter(d["stream"] for d in dead)) == want
    assert sum(want.values()) > 300
    kinds = Counter((d["stream"], d["error"].split(":")[0]) for d in dead)
    for stream in INPUTS:
        assert kinds[(stream, "too_large")] == OVERSIZED
        out_of_range = [d for d in dead if d["stream"] == stream
                        and d["error"].startswith("bad_value: event time")]
        assert Counter(d["error"][22:26] for d in out_of_range) == \
            {"2099": FAR_FUTURE, "2001": FAR_PAST}
    assert not [d for d in dead if d["error"] in ("late", "internal")
                or d["error"].startswith("internal")]
    # each bad record once: the simulator's injected lines and ours, matched by their raw text
    raws = Counter(d["raw"] for d in dead if not d["error"].startswith("too_large"))
    for stream in INPUTS:
        for line in extras[stream][OVERSIZED:]:
            assert raws[line.decode()] == 1
    for d in dead:
        assert set(d) == {"key", "stream", "error", "raw", "at"}
        assert len(d["raw"]) <= 65_536


def test_no_customer_pii_in_any_output(bad_run) -> None:
    hour, _, out = bad_run
    pii = [v for values in hour.truth["pii"].values()
           for v in (values if isinstance(values, list) else [values])]
    assert len(pii) > 100, "the simulator lists its PII"
    scanned = [json.dumps(r) for name in ("queue_metrics", "agent_metrics", "contacts")
               for r in out[name]]
    scanned += [json.dumps({k: v for k, v in d.items() if k != "raw"}) for d in out["deadletter"]]
    text = "\n".join(scanned)
    assert len(scanned) > 1000
    leaked = [v for v in pii if isinstance(v, str) and len(v) > 4 and v in text]
    assert leaked == []
    # the scan would find them: the input the job read does carry them
    ctrs = b"\n".join(hour.lines("ctrs")).decode()
    assert sum(v in ctrs for v in pii if len(v) > 4) > 100
