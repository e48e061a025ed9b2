"""Exactly-once through a Kafka broker outage: the broker goes down mid-stream and comes back.

The job runs as its own process (local mini-cluster, the production restart strategy) against a
broker this test owns: fixed port, kept storage, so the restart is the same broker coming back
(topics, offsets, open transactions survive), as in a rolling restart. A simulated hour is fed
in real time (compressed); the broker is stopped while the hour is half fed and the job half
way through it, restarted a few seconds later, and the hour is fed to its end. Production shape:
4-partition input topics, parallelism 2. The outputs a
``read_committed`` consumer sees must then equal the simulator's independent reference on every
field, with no window missing and no (key, revision) committed twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.kafka_io import start_unbounded, stop_job
from tests.reliability import (
    PARALLELISM_ARGS,
    PARTITIONS,
    SENTINEL,
    OutputCollector,
    PacedFeed,
    assert_contacts_once,
    assert_dead_letters_exact,
    assert_equals_reference,
    assert_exactly_once,
    read_outputs,
    record_result,
    simulate_hour,
    unique_topics,
    wait_for,
    wait_until_converged,
)
from tools.kafka_local import LocalKafka, free_ports

pytestmark = [pytest.mark.reliability, pytest.mark.kafka, pytest.mark.slow]

FEED_SECONDS = 45.0
DOWNTIME_S = 5.0


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.mark.timeout(600)
def test_broker_restart_mid_stream_is_exactly_once(tmp_path: Path, monkeypatch) -> None:
    flink_logs = tmp_path / "flink-log"
    monkeypatch.setenv("FLINK_LOG_DIR", str(flink_logs))  # the job's own Flink log, kept
    broker = LocalKafka(tmp_path / "broker", port=free_ports(1)[0]).start()
    job = None
    collector = None
    log = tmp_path / "job.log"
    try:
        topics = unique_topics(broker.bootstrap, partitions=PARTITIONS)
        hour = simulate_hour(tmp_path / "hour")
        collector = OutputCollector(broker.bootstrap, topics)
        collector.start()
        # The production restart strategy (exponential backoff), not the tests' fail-fast one.
        job = start_unbounded(broker.bootstrap, topics,
                              ["--restart-attempts", "10", "--restart-delay", "1s",
                               *PARALLELISM_ARGS],
                              log_path=str(log))
        feed = PacedFeed(broker.bootstrap, topics, hour, FEED_SECONDS)
        feed.start()
        wait_for(lambda: collector.count() > 0, 240, "the job's first committed output",
                 on_timeout=lambda: _tail(log))
        feed.release()
        wait_for(lambda: feed.progress >= 0.4, 60, "the feed to pass 40%")
        progress_at_stop, outputs_at_stop = feed.progress, collector.count()

        stopped_at = time.monotonic()
        broker.restart(downtime_s=DOWNTIME_S)
        back_at = time.monotonic()
        wait_for(lambda: collector.first_arrival_after(back_at) is not None, 180,
                 "output after the broker came back", on_timeout=lambda: _tail(log))
        flowing_after_s = collector.first_arrival_after(back_at) - stopped_at

        feed.join_feed(300)
        waited = wait_until_converged(hour, collector, 300, on_timeout=lambda: _tail(log))
        assert job.poll() is None, f"the job died:\n{_tail(log)}"
    finally:
        if job is not None:
            stop_job(job)
        if collector is not None:
            collector.stop()
    try:
        out = read_outputs(broker.bootstrap, topics)
    finally:
        broker.stop()
    out = {name: [r for r in rows if r["key"] != SENTINEL] for name, rows in out.items()}
    assert_equals_reference(hour, out)
    assert_exactly_once(out)
    assert_contacts_once(hour, out)
    assert_dead_letters_exact(hour, out)
    # whether the job rode the outage out (clients reconnecting) or failed over: both are fine
    # for exactly-once; which one happened is worth knowing
    restarts = sum(p.read_text(errors="replace").count("switched from state RUNNING to RESTARTING")
                   for p in flink_logs.glob("*.log"))
    record_result("broker_restart", {
        "job_restarts": restarts,
        "feed_progress_at_stop": round(progress_at_stop, 3),
        "outputs_visible_at_stop": outputs_at_stop,
        "broker_down_s": round(back_at - stopped_at, 1),
        "stop_to_output_flowing_s": round(flowing_after_s, 1),
        "converged_after_feed_s": round(waited, 1),
        "records": {name: len(rows) for name, rows in out.items()},
    })
