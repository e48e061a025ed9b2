"""Run the live path on the mini-cluster (file or Kafka mode) with the job's own sources
(``jobs.sources``: event time per partition, in Java) and sinks, until the lead wires
``jobs.live_pipeline.build_live`` into ``jobs.connect_metrics.build_job``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from tests.jobrun import read_jsonl, write_lines

LIVE_FILES = ("queue_live", "agent_live")


def build_live_job(cfg):
    """The environment with the live path between the configured sources and sink."""
    from jobs.connect_metrics import (
        DEFAULT_JAR,
        attach_file_sink,
        create_environment,
        kafka_sink,
        prepare_python_path,
    )
    from jobs.live_pipeline import build_live, live_sources
    from jobs.sources import source_factory

    prepare_python_path()
    env = create_environment(cfg, [cfg.jar or DEFAULT_JAR])
    inputs = live_sources(source_factory(env, cfg), cfg.settings)
    idleness = None if cfg.source == "files" or cfg.bounded else cfg.idleness_ms
    rows = build_live(env, cfg.settings, inputs["contact_events"], inputs["ctrs"],
                      inputs["agent_events"], idleness_ms=idleness)
    if cfg.sink == "files":
        attach_file_sink(rows, cfg)
    else:
        rows.sink_to(kafka_sink(cfg)).name("kafka exactly-once")
    return env


def run_live(tmp: Path, contact_events: Optional[Sequence[str]] = None,
             ctrs: Optional[Sequence[str]] = None,
             agent_events: Optional[Sequence[str]] = None,
             extra: Sequence[str] = (), input_dir: Optional[str] = None) -> dict:
    """Write the inputs (or use the three files of ``input_dir``), run the live path to
    completion, return {"queue_live": [...], "agent_live": [...]}."""
    from jobs.config import parse_args

    tmp.mkdir(parents=True, exist_ok=True)
    argv = ["--source", "files", "--sink", "files", "--output", str(tmp / "out"),
            "--restart-attempts", "0"]
    for name, lines in (("contact_events", contact_events), ("ctrs", ctrs),
                        ("agent_events", agent_events)):
        if input_dir is not None:
            path = str(Path(input_dir) / f"{name}.jsonl")
        elif lines is not None:
            path = write_lines(tmp / f"{name}.jsonl", lines)
        else:
            continue
        argv += [f"--{name.replace('_', '-')}", path]
    build_live_job(parse_args(argv + list(extra))).execute("live test")
    return {name: read_jsonl(tmp / "out" / f"{name}.jsonl") for name in LIVE_FILES}


def run_live_kafka(argv: Sequence[str]) -> None:
    """The live path in Kafka mode (``argv``: the job's flags, e.g. ``kafka_io.job_args``),
    bounded: it ends when the input present at start is consumed."""
    from jobs.config import parse_args

    build_live_job(parse_args(list(argv))).execute("live kafka test")
