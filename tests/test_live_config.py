"""The live metrics' flags (SPEC §5): --live-interval (0 = off), --live-out-of-orderness."""

from __future__ import annotations

import pytest

from jobs.config import FILE_NAMES, ConfigError, build_parser, parse_args
from udfs.settings import AGENT_LIVE, QUEUE_LIVE


@pytest.fixture
def base(tmp_path) -> list[str]:
    ctrs = tmp_path / "ctrs.jsonl"
    ctrs.write_text("")
    return ["--ctrs", str(ctrs), "--output", str(tmp_path / "out")]


def test_defaults_and_flags(base):
    s = parse_args(base).settings
    assert (s.live_interval_ms, s.live_out_of_orderness_ms) == (10_000, 5_000)
    assert s.outputs[QUEUE_LIVE] == "connect.metrics.queue.live"
    assert s.outputs[AGENT_LIVE] == "connect.metrics.agent.live"
    s = parse_args(base + ["--live-interval", "30s", "--live-out-of-orderness", "2s",
                           "--queue-live-topic", "q.live", "--agent-live-topic", "a.live"]
                   ).settings
    assert (s.live_interval_ms, s.live_out_of_orderness_ms) == (30_000, 2_000)
    assert (s.outputs[QUEUE_LIVE], s.outputs[AGENT_LIVE]) == ("q.live", "a.live")
    assert parse_args(base + ["--live-interval", "0"]).settings.live_interval_ms == 0


@pytest.mark.parametrize("value", ["1500ms", "500ms", "soon"])
def test_bad_live_interval_names_the_flag(base, value):
    with pytest.raises(ConfigError, match="--live-interval"):
        parse_args(base + ["--live-interval", value])


def test_help_and_file_names():
    text = " ".join(build_parser().format_help().split())
    assert "--live-interval" in text and "0 = no live metrics" in text
    assert "--live-out-of-orderness" in text and "(default: 5s)" in text
    assert FILE_NAMES[QUEUE_LIVE] == "queue_live.jsonl"
    assert FILE_NAMES[AGENT_LIVE] == "agent_live.jsonl"
