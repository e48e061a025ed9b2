"""The whole job on the mini-cluster with shuffled, duplicated and late agent events.

Connect delivers agent events per agent in order, but a Kafka topic with several partitions, a
re-delivery or a replay shuffles and duplicates them. The simulator's agent feed is shuffled here:
every event by up to 50 s (within the 60 s out-of-orderness bound), one in eight by 2-8 minutes
(beyond the bound, within the allowed lateness: windows are revised), some duplicated, and a few
moved behind everything (beyond the lateness: each is either dead-lettered as late or, if the
watermark had not got that far yet, counted). The independent reference (tools/reference.py) then
computes the expectation from the simulator's ground truth without the events the job reported
late: the final agent metrics must equal it on every field.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.jobrun import latest_by_key, run_dir
from tools.reference import expected_agent_records
from tools.sim.config import FaultConfig, SimConfig
from tools.sim.files import write_feeds
from tools.sim.simulation import Simulation
from tools.sim.timefmt import parse_iso

OOO_MS = 60_000
LATENESS_MS = 15 * 60_000
FAULTS = FaultConfig.none()


def shuffle_agent_events(lines: list[str], rng: random.Random) -> tuple[list[str], set]:
    """(the shuffled feed, (agent ARN, event ms) of the events moved beyond the lateness)."""
    events = [(json.loads(line), line) for line in lines]
    stamps = Counter((e["AgentARN"], e["EventTimestamp"]) for e, _ in events)
    top = max(parse_iso(e["EventTimestamp"]) for e, _ in events)
    arrivals, beyond = [], set()
    for e, line in events:
        ts = parse_iso(e["EventTimestamp"])
        unique = stamps[(e["AgentARN"], e["EventTimestamp"])] == 1
        r = rng.random()
        if unique and ts < top - LATENESS_MS - 2 * OOO_MS and r < 0.02:
            arrivals.append((top + 1, line))  # behind everything
            beyond.add((e["AgentARN"], ts))
            continue
        delay = rng.randint(120_000, 480_000) if r > 0.875 else rng.randint(0, 50_000)
        arrivals.append((ts + delay, line))
        if rng.random() < 0.05:  # delivered twice (same EventId)
            arrivals.append((ts + rng.randint(0, 50_000), line))
    arrivals.sort(key=lambda a: a[0])
    return [line for _, line in arrivals], beyond


def late_events(dead: list[dict]) -> set:
    """(agent ARN, event ms) of the dead letters' raw agent events (the input as received)."""
    raws = [json.loads(x["raw"]) for x in dead]
    return {(r["AgentARN"], parse_iso(r["EventTimestamp"])) for r in raws}


@pytest.fixture(scope="module")
def shuffled_run(tmp_path_factory) -> tuple[dict, list, set]:
    d: Path = tmp_path_factory.mktemp("agents-shuffled")
    sim = Simulation(SimConfig(seed=5, agents=8, contacts=160, duration_s=1800, faults=FAULTS))
    write_feeds(sim.records(), d)
    path = d / "agent_events.jsonl"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    shuffled, beyond = shuffle_agent_events(lines, random.Random(9))
    assert shuffled != lines and len(beyond) >= 3
    path.write_text("".join(line + "\n" for line in shuffled), encoding="utf-8")
    out = run_dir(str(d), str(d / "out"))
    return out, sim.truth, beyond


def test_late_agent_events_are_only_those_moved_beyond_the_lateness(shuffled_run):
    out, _, beyond = shuffled_run
    dead = [x for x in out["deadletter"]]
    assert {(x["stream"], x["error"]) for x in dead} <= {("agent_events", "late")}
    late = late_events(dead)
    assert late <= beyond and len(late) == len(dead)


def test_agent_metrics_equal_the_reference_without_the_late_events(shuffled_run):
    out, truth, _ = shuffled_run
    late = late_events(out["deadletter"])
    for arn, events in truth.agent_events.items():
        truth.agent_events[arn] = [e for e in events if (arn, e.ts) not in late]
    expected = {r["key"]: r for r in expected_agent_records(truth)}
    got = {k: {f: v for f, v in r.items() if f != "revision"}
           for k, r in latest_by_key(out["agent_metrics"]).items()}
    assert set(got) == set(expected)
    for key, exp in expected.items():
        assert got[key] == exp, key
    assert len(expected) > 100


def test_contact_facts_once_per_contact_in_revision_order(shuffled_run):
    out, _, _ = shuffled_run
    seen: dict = {}
    for r in out["contacts"]:  # one file written in output order
        assert r["revision"] > seen.get(r["key"], 0), r["key"]
        seen[r["key"]] = r["revision"]
    assert len(seen) > 100
