"""The live path against an independent reference: a simulated hour, every tick.

``tools/reference_live.py`` computes every live record from the simulator's ground truth; the
job's live outputs must equal them. Every contact event is delivered (the reference cannot time
a CTR that ends a contact whose events were lost) and the live out-of-orderness covers the
feeds' shuffling (65 s > the 61 s bound), so nothing is late; everything else is on: duplicated,
re-delivered and malformed records, shuffled contact events; parallelism 2 (every key's ticks
come from one subtask, the end-of-input clock from all of them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_job import run_live
from tools.reference_live import expected_live
from tools.sim.config import FaultConfig, SimConfig
from tools.sim.files import write_feeds
from tools.sim.progress import Progress
from tools.sim.simulation import Simulation

FAULTS = FaultConfig(ctr_duplicates=0.1, late_redeliveries=0.05, out_of_order_s=30.0,
                     agent_duplicates=0.05, event_duplicates=0.02, dropped_events=0.0,
                     malformed=0.01)


def simulate(out: Path, cfg: SimConfig):
    sim = Simulation(cfg)
    progress = Progress(cfg.start_ms, cfg.end_ms, enabled=False)
    write_feeds(sim.records(), out, progress)
    return sim.truth


@pytest.fixture(scope="module")
def hour(tmp_path_factory):
    d = tmp_path_factory.mktemp("live-hour")
    truth = simulate(d, SimConfig(seed=5, agents=16, contacts=500, duration_s=3600,
                                  faults=FAULTS))
    out = run_live(d / "run", input_dir=str(d),
                   extra=["--live-out-of-orderness", "65s", "--parallelism", "2"])
    return expected_live(truth), out


def _by_key_and_tick(records: list[dict]) -> dict:
    out = {}
    for r in records:
        assert (r["key"], r["as_of"]) not in out, ("emitted twice", r["key"], r["as_of"])
        out[(r["key"], r["as_of"])] = r
    return out


def test_queue_live_equals_the_reference(hour):
    (queues, _), out = hour
    expected, got = _by_key_and_tick(queues), _by_key_and_tick(out["queue_live"])
    assert set(got) == set(expected)
    for k, exp in expected.items():
        # the name comes from the serving agents' routing profiles, as far as they were read
        if got[k]["queue_name"] is None:
            got[k]["queue_name"] = exp["queue_name"]
        assert got[k] == exp, k
    assert len(expected) > 1000
    assert sum(r["contacts_in_queue"] for r in queues) > 100
    assert any(r["agents_after_contact_work"] for r in queues)
    assert any(r["agents_error"] for r in queues)


def test_agent_live_equals_the_reference(hour):
    (_, agents), out = hour
    expected = _by_key_and_tick(agents)
    got = _by_key_and_tick(out["agent_live"])
    for r in got.values():  # the payload's StateStartTimestamp is not in the truth
        for c in r["contacts"]:
            c["state_since"] = None
    assert set(got) == set(expected)
    for k, exp in expected.items():
        assert got[k] == exp, k
    assert len(expected) > 500
