"""Coverage-guided fuzzing of the three normalizers (``tests/fuzz/fuzz_parsers.py``).

The normal suite gives each target a few seconds of atheris (libFuzzer) in a child process —
enough to run thousands of inputs through every branch the seed records reach, and to catch a
regression that makes a normalizer raise or break a record invariant. The ``slow`` variant runs
each target for ``FUZZ_SLOW_SECONDS`` (default 60). Without atheris the same target runs under
hypothesis instead, so the check never silently disappears.

A longer campaign by hand (crashes are written to the artifact prefix)::

    .venv/bin/python -m tests.fuzz.fuzz_parsers ctrs -max_total_time=1800 \
        -artifact_prefix=target/fuzz/ target/fuzz/corpus-ctrs
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.fuzz_parsers import TARGETS, atheris, one_input, seeds
from udfs.records import DeadLetter

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICK_SECONDS = int(os.environ.get("FUZZ_SECONDS", "4"))
SLOW_SECONDS = int(os.environ.get("FUZZ_SLOW_SECONDS", "60"))
STREAMS = sorted(TARGETS)


def run_fuzzer(stream: str, seconds: int, tmp_path: Path) -> int:
    """Fuzz ``stream`` for ``seconds`` in a child process; returns the number of runs."""
    corpus = tmp_path / f"corpus-{stream}"
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.fuzz_parsers", stream, f"-max_total_time={seconds}",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=seconds + 120, check=False)
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert result.returncode == 0 and not crashes, \
        f"fuzzer found a failing input {crashes}:\n{result.stderr[-6000:]}"
    match = re.search(r"Done (\d+) runs", result.stderr)
    assert match, result.stderr[-3000:]
    return int(match.group(1))


@pytest.mark.parametrize("stream", STREAMS)
def test_seed_records_are_valid(stream: str) -> None:
    """The mutation base is real, accepted records (else the fuzzer only explores rejections)."""
    normalize, record_type = TARGETS[stream]
    records = seeds(stream)
    assert len(records) >= 20
    import json

    results = [normalize(json.dumps(r)) for r in records]
    assert [r for r in results if type(r) is DeadLetter] == []
    assert all(type(r) is record_type for r in results)


@pytest.mark.skipif(atheris is None, reason="atheris not installed (hypothesis fallback runs)")
@pytest.mark.parametrize("stream", STREAMS)
def test_fuzz_briefly(stream: str, tmp_path: Path) -> None:
    assert run_fuzzer(stream, QUICK_SECONDS, tmp_path) >= 500


@pytest.mark.slow
@pytest.mark.timeout(SLOW_SECONDS * 3 + 300)
@pytest.mark.skipif(atheris is None, reason="atheris not installed")
@pytest.mark.parametrize("stream", STREAMS)
def test_fuzz_long(stream: str, tmp_path: Path) -> None:
    assert run_fuzzer(stream, SLOW_SECONDS, tmp_path) >= 10_000


@pytest.mark.skipif(atheris is not None, reason="atheris runs the coverage-guided version")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.sampled_from(STREAMS), data=st.binary(max_size=512))
def test_fuzz_target_with_hypothesis(stream: str, data: bytes) -> None:
    one_input(stream, _seed_cache(stream), data)


_SEEDS: dict[str, list[dict]] = {}


def _seed_cache(stream: str) -> list[dict]:
    if stream not in _SEEDS:
        _SEEDS[stream] = seeds(stream)
    return _SEEDS[stream]
