"""The sources as the job builds them: event time per partition, alignment, idleness.

SPEC §3: in Kafka mode event time and watermarks are assigned at the source, per partition. The
watermark strategy handed to each ``KafkaSource`` is read back through py4j: our Java timestamp
assigner (``KeyTimeRows.Assigner``, fed by the deserializer's key/event-time read), bounded
out-of-orderness, watermark alignment of the three feeds in one group, idleness only when the
job is unbounded. Built, not run: no broker is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.config import ConfigError, parse_args

ROOT = Path(__file__).resolve().parents[1]
JAR = ROOT / "lib" / "connect-metrics-deps.jar"
KAFKA_ARGS = ["--source", "kafka", "--bootstrap-servers", "broker-1.example:9096",
              "--no-create-topics", "--jar", str(JAR)]

pytestmark = pytest.mark.skipif(not JAR.is_file(), reason="lib/ jar not built (make setup)")


def built_strategies(monkeypatch, argv: list[str]) -> list[tuple[str, object]]:
    """(source name, Java WatermarkStrategy) of every source the job builds."""
    from pyflink.datastream import StreamExecutionEnvironment

    from jobs.connect_metrics import build_job

    seen = []
    from_source = StreamExecutionEnvironment.from_source

    def spy(self, source, strategy, name, *args, **kwargs):
        seen.append((name, strategy._j_watermark_strategy))
        return from_source(self, source, strategy, name, *args, **kwargs)

    monkeypatch.setattr(StreamExecutionEnvironment, "from_source", spy)
    build_job(parse_args(argv))
    return seen


def strategy_chain(j) -> list[str]:
    """Class names of a Java WatermarkStrategy and the strategies it wraps (via reflection)."""
    names = []
    while j is not None:
        cls = j.getClass()
        names.append(cls.getSimpleName())
        inner = None
        for field in cls.getDeclaredFields():
            if "WatermarkStrategy" in field.getType().getName():
                field.setAccessible(True)
                inner = field.get(j)
        j = inner
    return names


def test_kafka_sources_assign_event_time_per_partition_and_align(monkeypatch) -> None:
    strategies = built_strategies(monkeypatch, KAFKA_ARGS + ["--max-watermark-drift", "7m"])
    # each feed twice: the main path (60 s bound) and the live path (5 s, its own watermarks)
    assert [name for name, _ in strategies] == [
        "kafka contact_events", "kafka ctrs", "kafka agent_events",
        "kafka contact_events (5000 ms)", "kafka ctrs (5000 ms)", "kafka agent_events (5000 ms)"]
    for _, j in strategies:
        assigner = j.createTimestampAssigner(None)
        assert assigner.getClass().getName() == "io.connectmetrics.flink.KeyTimeRows$Assigner"
        params = j.getAlignmentParameters()
        assert params.isEnabled()
        assert params.getWatermarkGroup() == "connect-feeds"
        assert params.getMaxAllowedWatermarkDrift() == 7 * 60_000
        assert "WatermarkStrategyWithIdleness" in strategy_chain(j)  # unbounded: per partition


def test_bounded_replay_has_neither_idleness_nor_alignment(monkeypatch) -> None:
    """A bounded replay must not call a slow partition idle (the others would make its records
    late), and its partitions end, which split pausing for alignment does not survive in the
    Kafka connector (FLINK-39728)."""
    for _, j in built_strategies(monkeypatch, KAFKA_ARGS + ["--bounded"]):
        assert not j.getAlignmentParameters().isEnabled()
        assert "WatermarkStrategyWithIdleness" not in strategy_chain(j)


def test_alignment_can_be_turned_off(monkeypatch) -> None:
    for _, j in built_strategies(monkeypatch, KAFKA_ARGS + ["--max-watermark-drift", "0"]):
        assert not j.getAlignmentParameters().isEnabled()
        assert "WatermarkStrategyWithIdleness" in strategy_chain(j)


def test_bad_drift_fails_naming_the_flag() -> None:
    with pytest.raises(ConfigError, match="--max-watermark-drift"):
        parse_args(KAFKA_ARGS + ["--max-watermark-drift", "soon"])
