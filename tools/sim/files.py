"""File output: the three JSON Lines feeds, the expected metrics and ``truth.json``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

import orjson

from tools.reference import late_ctr_ids
from tools.sim.delivery import FILE_NAMES, DeliveredRecord
from tools.sim.progress import Progress
from tools.sim.truth import Truth

EXPECTED_QUEUE_FILE = "expected_queue_metrics.jsonl"
EXPECTED_AGENT_FILE = "expected_agent_metrics.jsonl"
TRUTH_FILE = "truth.json"


def write_feeds(records: Iterable[DeliveredRecord], out_dir: Path,
                progress: Optional[Progress] = None) -> dict[str, int]:
    """Stream records into ``contact_events.jsonl``, ``ctrs.jsonl``, ``agent_events.jsonl``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handles = {stream: open(out_dir / name, "wb") for stream, name in FILE_NAMES.items()}
    lines = dict.fromkeys(FILE_NAMES, 0)
    try:
        for record in records:
            handle = handles[record.stream]
            handle.write(record.value)
            handle.write(b"\n")
            lines[record.stream] += 1
            if progress is not None:
                progress.tick(record.delivery_ms)
    finally:
        for handle in handles.values():
            handle.close()
    return lines


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row))
            handle.write(b"\n")


def write_expected(truth: Truth, out_dir: Path, queue_rows: Sequence[dict[str, Any]],
                   agent_rows: Sequence[dict[str, Any]], window_s: int,
                   thresholds: Sequence[int]) -> dict[str, Any]:
    """Expected metrics (one final record per key) and the run's ``truth.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_dir / EXPECTED_QUEUE_FILE, queue_rows)
    write_jsonl(out_dir / EXPECTED_AGENT_FILE, agent_rows)
    summary = truth.summary()
    summary["late_ctrs"] = sorted(late_ctr_ids(truth))  # their dead letters are expected
    summary["expected"] = {"window_s": window_s, "thresholds": list(thresholds),
                           "queue_records": len(queue_rows), "agent_records": len(agent_rows)}
    (out_dir / TRUTH_FILE).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2)
                                       + b"\n")
    return summary


def write_expected_reports(out_dir: Path, reports: dict[str, Any]) -> None:
    """Per report interval NAME: ``expected_queue_metrics_NAME.jsonl`` and
    ``expected_agent_metrics_NAME.jsonl`` (``reports``: name -> ExpectedMetrics)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in reports.items():
        write_jsonl(out_dir / EXPECTED_QUEUE_FILE.replace(".jsonl", f"_{name}.jsonl"),
                    expected.queue)
        write_jsonl(out_dir / EXPECTED_AGENT_FILE.replace(".jsonl", f"_{name}.jsonl"),
                    expected.agent)
