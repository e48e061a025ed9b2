"""The Managed Flink zip (``python -m tools.package``) is complete and runs on its own.

The zip is unpacked into a temporary folder and the job is started from there, in file mode on
the scripted scenario, with PYTHONPATH = the unpacked folder + its python-libs/ and never the
repository: a module missing from the zip fails the run instead of being found in the repo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jobs.config import parse_args
from tests import test_scenario_scripted as scripted
from tests.jobrun import OUTPUT_FILES, read_jsonl, write_lines
from tools.package import DEFAULT_JAR, build

REPO = Path(__file__).resolve().parents[1]
PROPERTIES = REPO / "conf" / "application_properties.json"
RUN_OPTIONS = "kinesis.analytics.flink.run.options"

pytestmark = pytest.mark.skipif(not DEFAULT_JAR.is_file(), reason="lib/ jar not built (make setup)")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("dist") / "connect-metrics-msf.zip")


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("msf-app")
    with zipfile.ZipFile(package) as z:
        z.extractall(target)
    return target


def run_options() -> dict:
    groups = json.loads(PROPERTIES.read_text())
    return next(g["PropertyMap"] for g in groups if g["PropertyGroupId"] == RUN_OPTIONS)


def isolated_env(app: Path) -> dict:
    """The unpacked app and its python-libs/ on PYTHONPATH; nothing of the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(app), str(app / "python-libs")])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def test_zip_layout(package: Path):
    with zipfile.ZipFile(package) as z:
        names = set(z.namelist())
        jar = z.read("lib/connect-metrics-deps.jar")
    assert jar == DEFAULT_JAR.read_bytes()
    for module in ("jobs/connect_metrics.py", "jobs/config.py", "jobs/pipeline.py",
                   "udfs/settings.py", "udfs/flink_outputs.py"):
        assert module in names and f"python-libs/{module}" in names
    assert "python-libs/orjson/__init__.py" in names
    assert any(n.startswith("python-libs/orjson/orjson.cpython-311-x86_64-linux-gnu")
               for n in names)
    assert "python-libs/confluent_kafka/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.split("/")[0] in ("tests", "tools", "bench", ".venv")]
    assert not [n for n in names if n.startswith("python-libs/pyflink")]  # the runtime has it


def test_run_options_point_into_the_zip(package: Path):
    options = run_options()
    with zipfile.ZipFile(package) as z:
        names = set(z.namelist())
    assert options["python"] in names
    assert options["jarfile"] in names
    for entry in options["pyFiles"].split(","):
        assert any(n.startswith(entry) for n in names), entry


def test_build_is_reproducible(package: Path, tmp_path: Path):
    assert build(tmp_path / "again.zip").read_bytes() == package.read_bytes()


def test_example_properties_configure_the_job():
    """The service passes every group to the job: the run options must not be taken for job
    keys, the kafka group goes to the Kafka clients."""
    cfg = parse_args(["--properties", str(PROPERTIES)])
    assert (cfg.source, cfg.sink, cfg.create_topics) == ("kafka", "kafka", False)
    assert cfg.bootstrap_servers.endswith(".amazonaws.com:9098")
    assert cfg.kafka_properties["sasl.mechanism"] == "AWS_MSK_IAM"
    assert cfg.transaction_timeout_ms > cfg.checkpoint_interval_ms + cfg.checkpoint_timeout_ms


def test_imports_resolve_inside_the_unpacked_app(unpacked: Path):
    probe = ("import jobs.connect_metrics, udfs.settings, orjson, confluent_kafka; "
             "print('\\n'.join(m.__file__ for m in "
             "(jobs.connect_metrics, udfs.settings, orjson, confluent_kafka)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=unpacked, env=isolated_env(unpacked),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == str(unpacked / "jobs" / "connect_metrics.py")
    assert out[1] == str(unpacked / "udfs" / "settings.py")
    assert all(path.startswith(str(unpacked / "python-libs")) for path in out[2:]), out


@pytest.mark.timeout(600)
def test_packaged_job_runs_the_scripted_scenario(unpacked: Path, tmp_path: Path):
    inputs = {"--contact-events": write_lines(tmp_path / "ce.jsonl",
                                              scripted.contact_event_lines()),
              "--ctrs": write_lines(tmp_path / "ctrs.jsonl", list(scripted.CTRS.values())),
              "--agent-events": write_lines(tmp_path / "ae.jsonl", scripted.agent_lines())}
    out_dir = tmp_path / "out"
    command = [sys.executable, run_options()["python"], "--source", "files", "--sink", "files",
               "--output", str(out_dir), *[x for pair in inputs.items() for x in pair]]
    result = subprocess.run(command, cwd=unpacked, env=isolated_env(unpacked),
                            capture_output=True, text=True, timeout=540, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    out = {name: read_jsonl(out_dir / f"{name}.jsonl") for name in OUTPUT_FILES}
    scripted.assert_expected(out)
