"""Bad input never stops the job and is never dropped: a mini-cluster run over files that mix the
scripted scenario with many kinds of garbage gives the scenario's exact metrics plus exactly one
dead letter per bad line (SPEC §2)."""

from __future__ import annotations

import json
from collections import Counter

from tests import test_scenario_scripted as scripted
from tests.jobrun import run_files


def garbage(stream: str, valid: str) -> list[tuple[str, str]]:
    """(line, expected error kind) — at least ten kinds per stream."""
    ident = {"contact_events": "contactId", "ctrs": "ContactId", "agent_events": "EventId"}[stream]
    stamp = {"contact_events": "time", "ctrs": "LastUpdateTimestamp",
             "agent_events": "EventTimestamp"}[stream]

    def variant(**changes) -> str:
        o = json.loads(valid)
        target = o["detail"] if stream == "contact_events" and "detail" in o else o
        for key, value in changes.items():
            if value is ...:
                target.pop(key, None)
            else:
                target[key] = value
        return json.dumps(o)

    lines = [
        ("{not json", "not_json"),
        (valid[: len(valid) // 2], "not_json"),  # truncated
        ("[1, 2, 3]", "not_object"),
        ("42", "not_object"),
        ("null", "not_object"),
        ('"a string"', "not_object"),
        ("{}", "missing_field"),
        (variant(**{ident: ...}), "missing_field"),
        (variant(**{ident: 12345}), "bad_type"),
        (variant(**{ident: ""}), "bad_value"),
        ('{"x": "' + "y" * (1024 * 1024) + '"}', "too_large"),
    ]
    if stream == "contact_events":
        o = json.loads(valid)
        o["time"] = "yesterday"
        o["detail"]["queueInfo"]["enqueueTimestamp"] = "not a time"
        lines.append((json.dumps(o), "bad_timestamp"))
        o = json.loads(valid)
        o["detail"]["queueInfo"]["enqueueTimestamp"] = "2099-01-01T00:00:00Z"
        lines.append((json.dumps(o), "bad_value"))  # far future: would drag the watermark
    else:
        lines.append((variant(**{stamp: "yesterday"}), "bad_timestamp"))
        lines.append((variant(**{stamp: True}), "bad_timestamp"))  # not a string
    if stream == "ctrs":
        o = json.loads(valid)
        o["Queue"]["Duration"] = "abc"
        lines.append((json.dumps(o), "bad_type"))
        o = json.loads(valid)
        o["Agent"]["AgentInteractionDuration"] = -5
        lines.append((json.dumps(o), "bad_value"))
        lines.append((variant(LastUpdateTimestamp="2001-01-01T00:00:00Z",
                              DisconnectTimestamp="2001-01-01T00:00:00Z"), "bad_value"))
    if stream == "agent_events":
        lines.append((variant(CurrentAgentSnapshot={"Contacts": "not a list"}), "bad_type"))
        lines.append((variant(EventTimestamp="2099-06-01T00:00:00.000Z"), "bad_value"))
    assert len({kind for _, kind in lines}) >= 6 and len(lines) >= 12
    return lines


def interleave(good: list[str], bad: list[str]) -> list[str]:
    out, step = [], max(1, len(good) // max(1, len(bad)))
    bad = list(bad)
    for i, line in enumerate(good):
        if i % step == 0 and bad:
            out.append(bad.pop(0))
        out.append(line)
    return out + bad + ["", "   "]  # blank lines are no records at all


def test_garbage_is_dead_lettered_and_metrics_stay_exact(tmp_path):
    inputs = {"contact_events": scripted.contact_event_lines(),
              "ctrs": list(scripted.CTRS.values()), "agent_events": scripted.agent_lines()}
    expected_kinds = Counter()
    mixed = {}
    for stream, good in inputs.items():
        bad = garbage(stream, good[0])
        expected_kinds.update((stream, kind) for _, kind in bad)
        mixed[stream] = interleave(good, [line for line, _ in bad])

    out = run_files(tmp_path, mixed["contact_events"], mixed["ctrs"], mixed["agent_events"])

    got_kinds = Counter((d["stream"], d["error"].split(":")[0]) for d in out["deadletter"])
    assert got_kinds == expected_kinds
    for d in out["deadletter"]:
        assert set(d) == {"key", "stream", "error", "raw", "at"}
        assert len(d["raw"]) <= 65_536
    scripted.assert_expected({**out, "deadletter": []})
