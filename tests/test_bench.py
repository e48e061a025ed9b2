"""Smoke test of the benchmark harness: ``python -m bench.run --quick`` end to end.

Why: the harness drives four Flink runs, a simulator, REST polling and log parsing; a change to
the job's flags, log lines or entry point would silently break it. This runs every phase on a
small input (the numbers themselves are meaningless at this size and on a shared machine) and
checks that the result line has every figure, with sane values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ("events_per_sec_per_slot", "process_mode_events_per_sec",
            "passthrough_events_per_sec", "p50_latency_s", "p99_latency_s",
            "p50_live_latency_s", "p99_live_latency_s", "live_latency_samples",
            "state_bytes_per_contact", "taskmanagers_2_speedup")

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.mark.timeout(660)
def test_quick_benchmark_reports_every_figure(kafka_bootstrap: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--bootstrap-servers", kafka_bootstrap,
         "--work-dir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=640, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-4000:]
    result = json.loads(lines[-1])  # the contract: the last line is one JSON object

    missing = [k for k in REQUIRED if result.get(k) is None]
    assert not missing, (missing, proc.stderr[-4000:])
    assert result["events"] >= 5_000
    for key in ("events_per_sec_per_slot", "process_mode_events_per_sec",
                "passthrough_events_per_sec"):
        assert 0 < result[key] < 10_000_000, key
    for phase in ("thread", "process", "passthrough"):
        assert result[phase]["ok"], (phase, result[phase])
        assert result[phase]["peak_rss_mib"]["jvm"] > 50
        assert result[phase]["peak_rss_mib"]["client"] > 10
    assert result["thread"]["checkpoints"]["completed"] >= 1
    assert result["thread"]["outputs"]["queue"] > 0 and result["thread"]["outputs"]["agent"] > 0
    assert 0 < result["p50_latency_s"] <= result["p99_latency_s"] < 300
    # the job's own share: from when the input let the watermark pass the window end
    assert 0 <= result["p50_latency_after_watermark_s"] <= result["p99_latency_after_watermark_s"]
    assert result["p99_latency_after_watermark_s"] <= result["p99_latency_s"]
    assert result["latency"]["from_ideal_watermark_s"]["count"] >= 10
    # the live path's records, read by the same read_committed consumer, from both live topics
    live = result["latency"]["live"]
    assert result["live_latency_samples"] > 0
    assert result["live_latency_samples"] == live["from_ideal_watermark_s"]["count"]
    assert 0 < result["p50_live_latency_s"] <= result["p99_live_latency_s"] < 300
    assert live["by_output"]["queue_live"]["count"] > 0
    assert live["by_output"]["agent_live"]["count"] > 0
    assert live["ticks"] >= 1 and live["aim"]["p99_at_most_s"] == 2 + result["latency"][
        "checkpoint_interval_s"]
    assert 50 < result["state_bytes_per_contact"] < 100_000
    assert 50 < result["state_bytes_per_contact_pickled"] < 100_000
    # scale-out on the standalone cluster: 1 and 2 TaskManagers x 1 slot, the same outputs
    assert [r["taskmanagers"] for r in result["scaleout"]["runs"]] == [1, 2]
    assert result["scaleout"]["same_outputs"] is True
    assert result["workload"]["partitions"] == 4
    # the quick run must not touch the committed BENCHMARKS.md
    assert "BENCHMARKS.md" not in proc.stderr


def test_progress_counts_each_input_record_once() -> None:
    """The live path's second reader of a feed must not double the bench's source counts."""
    from bench.rest import is_first_reader

    assert is_first_reader("Source: kafka contact_events -> Process")
    assert is_first_reader("Source: file ctrs -> key and event time ctrs")
    assert not is_first_reader("Source: kafka contact_events (5000 ms) -> Process")
    assert not is_first_reader("live ctr ends")
