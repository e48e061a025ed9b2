"""Correct at any partition count and parallelism (SPEC §3, §5): the production shape.

The same simulated hour (every fault on: duplicates, ±30 s disorder, CTR re-deliveries,
malformed lines) is produced keyed by ContactId / AgentARN — as ``tools.simulate --to-kafka
--partitions N`` does — to input topics of 1, 4 or 8 partitions and read by the job at
parallelism 1 or 2 from ``earliest``, bounded; a reader that owns several partitions sees them
interleaved in fetch-sized chunks. Event time and watermarks are assigned per partition at the
source, so the final outputs (highest revision per key, read_committed) equal the simulator's
independent reference on every field, every contact is counted once and nothing in-bound is
dead-lettered as late. File mode at parallelism 2 gives the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobrun import run_dir
from tests.kafka_io import run_bounded
from tests.reliability import (
    SimulatedHour,
    assert_contacts_once,
    assert_dead_letters_exact,
    assert_equals_reference,
    hour_topics,
    read_outputs,
    simulate_hour,
)
from tools.sim.kafka_out import produce
from tools.sim.simulation import Simulation

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> SimulatedHour:
    return simulate_hour(tmp_path_factory.mktemp("partitions-hour"), seed=14, agents=12,
                         contacts=400)


def produce_hour(bootstrap: str, topics: dict[str, str], hour: SimulatedHour) -> None:
    """The simulator's records in delivery order, keyed, stamped with event time."""
    counts = produce(Simulation(hour.config).records(), bootstrap,
                     {s: topics[s] for s in ("contact_events", "ctrs", "agent_events")})
    files = hour.truth["files"]
    assert sum(counts.values()) == sum(f["good_lines"] + f["bad_lines"] for f in files.values())


@pytest.mark.timeout(600)
@pytest.mark.parametrize("partitions,parallelism",
                         [(1, 1), (1, 2), (4, 1), (4, 2), (8, 1), (8, 2)])
def test_kafka_any_partitions_and_parallelism_equal_the_reference(
        kafka_bootstrap: str, kafka_topics, hour: SimulatedHour, partitions: int,
        parallelism: int) -> None:
    topics = hour_topics(kafka_topics, partitions)
    produce_hour(kafka_bootstrap, topics, hour)
    run_bounded(kafka_bootstrap, topics, ["--parallelism", str(parallelism)])
    out = read_outputs(kafka_bootstrap, topics)
    assert_equals_reference(hour, out)
    assert_contacts_once(hour, out)
    assert_dead_letters_exact(hour, out)  # the malformed lines, each once; nothing late


@pytest.mark.timeout(600)
def test_files_at_parallelism_2_equal_the_reference(hour: SimulatedHour, tmp_path: Path) -> None:
    raw = run_dir(str(hour.dir), str(tmp_path / "out"), ["--parallelism", "2"])
    out = {"queue_metrics": raw["queue_metrics"], "agent_metrics": raw["agent_metrics"],
           "contacts": raw["contacts"], "deadletter": raw["deadletter"]}
    assert_equals_reference(hour, out)
    assert_contacts_once(hour, out)
    assert_dead_letters_exact(hour, out)
