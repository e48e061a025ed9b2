"""The job on a real standalone cluster: JobManager and TaskManager JVMs from the PyFlink wheel,
the Kafka-mode job submitted with ``flink run`` (``tools.cluster``), outputs read back with
read_committed and compared with the scripted scenario's hand-computed values.

The job is unbounded, so windows only fire as watermarks advance: after the scenario, a
"tick" contact event at 09:30 (a DISCONNECTED event of an unknown contact, which changes no
output) is produced every 2 s. While the other streams are idle (``--idleness 3s``) the contact
stream alone drives the watermark past every window of the scenario.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests import test_scenario_scripted as scripted
from tests.kafka_io import INPUTS, OUTPUTS, by_output, consume, job_args, produce
from tests.payloads import contact_event
from tools.cluster import Cluster, flatten, main, runtime_config

pytestmark = pytest.mark.cluster

TICK = contact_event("DISCONNECTED", "watermark-tick", disconnected="09:30:00")
EXPECTED_KEYS = ({q["key"] for q in scripted.EXPECTED_QUEUES}
                 | {a["key"] for a in scripted.EXPECTED_AGENTS}
                 | set(scripted.EXPECTED_FACT_NAMES))


def test_runtime_config_merges_wheel_template_and_start_up_values(tmp_path):
    config = runtime_config(Cluster().template, tmp_path, "/venv/bin/python", rest_port=18081,
                            rpc_port=16123, slots=3)
    assert config["rest.port"] == 18081 and config["rest.bind-port"] == "18081"
    assert config["jobmanager.rpc.port"] == 16123
    assert config["taskmanager.numberOfTaskSlots"] == 3
    assert config["rest.address"] == "127.0.0.1"
    assert config["python.execution-mode"] == "thread"
    assert config["python.executable"] == "/venv/bin/python"
    assert config["execution.checkpointing.dir"] == f"file://{tmp_path}/checkpoints"
    assert "--add-opens=java.base/java.util=ALL-UNNAMED" in config["env.java.opts.all"]
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}}) == {"a.b": 1, "a.c.d": "x"}


def test_stop_and_status_without_a_cluster(tmp_path, capsys):
    assert Cluster(tmp_path).stop() == []
    assert main(["--dir", str(tmp_path), "status"]) == 1
    assert capsys.readouterr().out.strip() == "not running"


def test_a_daemon_pid_that_looks_absent_for_a_moment_is_waited_for() -> None:
    """/proc/<pid>/cmdline is empty while the forked shell execs the JVM: one look is no proof
    that a starting daemon exited (the suite saw "the JobManager exited during start-up")."""
    looks = iter([[], [], [4242]])
    assert Cluster._settled(lambda: next(looks), grace_s=30) == [4242]
    started = time.monotonic()
    assert Cluster._settled(lambda: [], grace_s=0.3) == []
    assert time.monotonic() - started >= 0.3


@pytest.mark.timeout(900)
def test_kafka_job_on_standalone_cluster(kafka_bootstrap, kafka_topics, tmp_path):
    topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3],
                          configs={"retention.ms": "-1"})  # event times are from 2024
    produce(kafka_bootstrap, topics["contact_events"], "contact_events",
            scripted.contact_event_lines())
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", list(scripted.CTRS.values()))
    produce(kafka_bootstrap, topics["agent_events"], "agent_events", scripted.agent_lines())
    cluster = Cluster(tmp_path / "cluster", taskmanagers=1, slots=2)
    stop_ticks = threading.Event()
    try:
        started = time.monotonic()
        cluster.start()
        assert cluster.overview()["slots-total"] == 2
        assert len(cluster.taskmanager_pids()) == 1

        job_id = cluster.submit(job_args(kafka_bootstrap, topics, ["--idleness", "3s"]))
        cluster.wait_for_running(job_id, timeout=120)
        assert cluster.job_status(job_id) == "RUNNING"
        assert [(j["jid"], j["state"]) for j in cluster.jobs()] == [(job_id, "RUNNING")]
        assert cluster.overview()["jobs-running"] == 1
        print(f"cluster up and job running in {time.monotonic() - started:.1f} s")

        def tick() -> None:
            while not stop_ticks.wait(2.0):
                produce(kafka_bootstrap, topics["contact_events"], "contact_events", [TICK])

        threading.Thread(target=tick, daemon=True).start()
        outputs = [topics[o] for o in OUTPUTS]
        arrived = consume(kafka_bootstrap, outputs, timeout_s=240,
                          until=lambda rs: EXPECTED_KEYS <= {r["key"] for r in rs})
        missing = EXPECTED_KEYS - {r["key"] for r in arrived}
        assert not missing, f"missing outputs {sorted(missing)}; TaskManager log:\n" \
                            f"{cluster._daemon_log_tail('taskexecutor')}"
        # Whatever the next checkpoints commit (there should be nothing) is read as well.
        out = by_output(consume(kafka_bootstrap, outputs, timeout_s=60, idle_s=4), topics)
        scripted.assert_expected(out)
        assert sorted(r["key"] for r in out["contacts"]) == sorted(scripted.CTRS)

        cluster.cancel(job_id)
        assert cluster.job_status(job_id) == "CANCELED"
    finally:
        stop_ticks.set()
        cluster.stop()
    assert cluster.our_processes() == []
    assert cluster.status() is None
