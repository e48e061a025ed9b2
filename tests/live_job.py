"""Run the live path on the mini-cluster in file mode, until the lead's source-side event time
lands: file sources -> Row(key, raw) with the live timestamps and watermarks (a Python step in
this helper only) -> ``jobs.live_pipeline.build_live`` -> the job's file sink."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from pyflink.datastream.functions import FlatMapFunction

from tests.jobrun import read_jsonl, write_lines

LIVE_FILES = ("queue_live", "agent_live")


class KeyAndTime(FlatMapFunction):
    """A raw line -> (Row(key, raw), event ms); lines the normalizer rejects are dropped."""

    def __init__(self, stream: str):
        self.stream = stream
        self.normalize = self.key_of = None

    def open(self, runtime_context):
        from udfs.flink_normalize import key_of, normalizer_for
        self.normalize, self.key_of = normalizer_for(self.stream), key_of(self.stream)

    def flat_map(self, value):
        from pyflink.common import Row

        from udfs.records import DeadLetter
        if not value or value.isspace():
            return
        rec = self.normalize(value)
        if type(rec) is not DeadLetter:
            yield Row(self.key_of(rec), value), rec.event_ms


def live_inputs(settings, raw: dict) -> dict:
    """{stream: Row(key, raw) stream with live event time, or None} from raw line streams."""
    from jobs.live_pipeline import live_watermarks
    from jobs.pipeline import with_event_time
    from udfs.flink_outputs import TIMED_KEYED_TYPE

    out = {}
    for name in ("contact_events", "ctrs", "agent_events"):
        lines = raw.get(name)
        if lines is None:
            out[name] = None
            continue
        timed = lines.flat_map(KeyAndTime(name), output_type=TIMED_KEYED_TYPE)
        out[name] = with_event_time(timed, live_watermarks(settings))
    return out


def build_live_job(cfg, raw_sources):
    """The environment with sources (``raw_sources(env) -> {stream: raw lines}``), the live
    path and the configured sink."""
    from jobs.connect_metrics import (
        DEFAULT_JAR,
        attach_file_sink,
        create_environment,
        kafka_sink,
        prepare_python_path,
    )
    from jobs.live_pipeline import build_live

    prepare_python_path()
    kafka = "kafka" in (cfg.source, cfg.sink)
    env = create_environment(cfg, [cfg.jar or DEFAULT_JAR] if kafka else [])
    inputs = live_inputs(cfg.settings, raw_sources(env))
    rows = build_live(env, cfg.settings, inputs["contact_events"], inputs["ctrs"],
                      inputs["agent_events"])
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
    from jobs.connect_metrics import file_source

    tmp.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, lines in (("contact_events", contact_events), ("ctrs", ctrs),
                        ("agent_events", agent_events)):
        if input_dir is not None:
            paths[name] = str(Path(input_dir) / f"{name}.jsonl")
        elif lines is not None:
            paths[name] = write_lines(tmp / f"{name}.jsonl", lines)
    argv = ["--source", "files", "--sink", "files", "--output", str(tmp / "out"),
            "--restart-attempts", "0"]
    for name, path in paths.items():
        argv += [f"--{name.replace('_', '-')}", path]
    cfg = parse_args(argv + list(extra))
    env = build_live_job(cfg, lambda env: {name: file_source(env, path, name)
                                           for name, path in paths.items()})
    env.execute("live test")
    return {name: read_jsonl(tmp / "out" / f"{name}.jsonl") for name in LIVE_FILES}


def run_live_kafka(argv: Sequence[str]) -> None:
    """The live path in Kafka mode (``argv``: the job's flags, e.g. ``kafka_io.job_args``),
    bounded: it ends when the input present at start is consumed."""
    from jobs.config import parse_args
    from jobs.connect_metrics import kafka_source

    cfg = parse_args(list(argv))
    env = build_live_job(cfg, lambda env: {name: kafka_source(env, cfg, topic, name)
                                           for name, topic in cfg.topics_in.items()})
    env.execute("live kafka test")
