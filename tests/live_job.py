"""Run the whole job (``jobs.connect_metrics.main``: its sources, the main and the live path,
its sinks) on the mini-cluster in file or Kafka mode and read back the live outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from tests.jobrun import read_jsonl, write_lines

LIVE_FILES = ("queue_live", "agent_live")


def run_live(tmp: Path, contact_events: Optional[Sequence[str]] = None,
             ctrs: Optional[Sequence[str]] = None,
             agent_events: Optional[Sequence[str]] = None,
             extra: Sequence[str] = (), input_dir: Optional[str] = None) -> dict:
    """Write the inputs (or use the three files of ``input_dir``), run the live path to
    completion, return {"queue_live": [...], "agent_live": [...]}."""

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
    from jobs.connect_metrics import main

    assert main(argv + list(extra)) == 0
    return {name: read_jsonl(tmp / "out" / f"{name}.jsonl") for name in LIVE_FILES}


def run_live_kafka(argv: Sequence[str]) -> None:
    """The whole job in Kafka mode (``argv``: the job's flags, e.g. ``kafka_io.job_args``),
    bounded: it ends when the input present at start is consumed."""
    from jobs.connect_metrics import main

    assert main(list(argv)) == 0
