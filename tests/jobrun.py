"""Run the whole job on the Flink mini-cluster in file mode and read back its outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

OUTPUT_FILES = ("queue_metrics", "agent_metrics", "contacts", "deadletter")


def write_lines(path: Path, lines: Sequence[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def latest_by_key(records: list[dict]) -> dict:
    """What a reader of a compacted topic sees: the highest revision per key."""
    out: dict = {}
    for r in records:
        if r["key"] not in out or r["revision"] > out[r["key"]]["revision"]:
            out[r["key"]] = r
    return out


def read_outputs(out_dir: Path) -> dict:
    """{name: [records]} of every output file (the four of OUTPUT_FILES always, empty when
    absent; report intervals' and others' as written, e.g. ``queue_metrics_15m``)."""
    out = {name: read_jsonl(out_dir / f"{name}.jsonl") for name in OUTPUT_FILES}
    for path in sorted(out_dir.glob("*.jsonl")):
        out.setdefault(path.stem, read_jsonl(path))
    return out


def run_files(tmp: Path, contact_events: Optional[Sequence[str]] = None,
              ctrs: Optional[Sequence[str]] = None,
              agent_events: Optional[Sequence[str]] = None,
              extra: Sequence[str] = ()) -> dict:
    """Write the inputs, run the job to completion, return {output name: [records]}."""
    from jobs.connect_metrics import main

    tmp.mkdir(parents=True, exist_ok=True)
    argv = ["--source", "files", "--sink", "files", "--output", str(tmp / "out")]
    for flag, lines, name in (("--contact-events", contact_events, "contact_events.jsonl"),
                              ("--ctrs", ctrs, "ctrs.jsonl"),
                              ("--agent-events", agent_events, "agent_events.jsonl")):
        if lines is not None:
            argv += [flag, write_lines(tmp / name, lines)]
    assert main(argv + list(extra)) == 0
    return read_outputs(tmp / "out")


def run_dir(input_dir: str, out_dir: str, extra: Sequence[str] = ()) -> dict:
    """Run on the three files of a simulator output folder."""
    from jobs.connect_metrics import main

    argv = ["--source", "files", "--sink", "files", "--output", out_dir,
            "--contact-events", os.path.join(input_dir, "contact_events.jsonl"),
            "--ctrs", os.path.join(input_dir, "ctrs.jsonl"),
            "--agent-events", os.path.join(input_dir, "agent_events.jsonl")]
    assert main(argv + list(extra)) == 0
    return read_outputs(Path(out_dir))
