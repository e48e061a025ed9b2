"""docker/Dockerfile and docker/compose.yaml stay correct without a Docker engine.

Static checks (always): the base images are pinned and match the versions the project runs,
every COPY source exists and survives the build's ignore file, the pinned Python packages equal
the virtualenv's, and compose wires the services together: the job's and the simulator's
command lines are parsed by their own argument parsers, so a renamed flag breaks this test.
``docker compose config`` / ``docker-compose config`` validates the file when a Compose client
is installed (it needs no engine). The image build and a smoke run use testcontainers and are
skipped unless a Docker engine answers.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jobs.config import parse_args
from tests.conftest import docker_engine_reachable
from tools import simulate

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
IGNORE = DOCKER / "Dockerfile.dockerignore"
COMPOSE = DOCKER / "compose.yaml"
REQUIREMENTS = DOCKER / "requirements.txt"
APP = "/opt/flink/usrlib/connect-metrics"
SERVICES = {"kafka", "kafka-init", "jobmanager", "taskmanager", "submit", "simulator"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context."""
    result = []
    for keyword, args in instructions():
        if keyword != "COPY":
            continue
        parts = [p for p in args.split() if not p.startswith("--chown")]
        assert not any(p.startswith("--from") for p in parts), "no multi-stage copies expected"
        result.append((parts[:-1], parts[-1]))
    return result


def ignored(path: str) -> bool:
    """Docker's ignore-file semantics, simplified: the last matching pattern wins."""
    verdict = False
    for raw in IGNORE.read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [path] + [str(p) for p in Path(path).parents if str(p) != "."]
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.replace("**/", ""))
               for c in candidates):
            verdict = not negate
    return verdict


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_of(service: dict) -> dict:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


def flink_properties(service: dict) -> dict:
    lines = env_of(service)["FLINK_PROPERTIES"].splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def in_image(path: str) -> Path:
    """The repository file a path inside the image comes from (via the Dockerfile's COPYs)."""
    for sources, dest in copies():
        dest = dest.replace("$APP", APP)
        if path.startswith(dest.rstrip("/") + "/") or path == dest:
            return REPO / sources[0] / path[len(dest):].lstrip("/")
    raise AssertionError(f"{path} is not copied into the image")


# --- Dockerfile ---------------------------------------------------------------------------


def test_base_image_is_pinned_to_the_flink_pyflink_runs():
    froms = [args for keyword, args in instructions() if keyword == "FROM"]
    assert froms == [f"flink:{importlib.metadata.version('apache-flink')}-java17"]


def test_every_copy_source_exists_and_is_in_the_build_context():
    assert copies(), "the Dockerfile copies nothing"
    for sources, _ in copies():
        for source in sources:
            hint = " (run make setup)" if source.startswith("lib/") else ""
            assert (REPO / source).exists(), f"COPY source {source} missing{hint}"
            assert not ignored(source), f"{source} is excluded by {IGNORE.name}"
    assert ignored(".venv") and ignored("tests/test_cluster.py") and ignored("var/flink")


def test_python_packages_pinned_to_the_virtualenv():
    pins = dict(line.split("==") for line in REQUIREMENTS.read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins == {name: importlib.metadata.version(name)
                    for name in ("apache-flink", "orjson", "confluent-kafka")}


def test_python_path_reaches_the_venv_and_the_app():
    env = " ".join(args for keyword, args in instructions() if keyword == "ENV")
    assert "VIRTUAL_ENV=/opt/venv" in env
    assert "PYTHONPATH=$APP:$VIRTUAL_ENV/lib/python3.11/site-packages" in env
    assert any("flink-python-" in args and "/opt/flink/lib" in args
               for keyword, args in instructions() if keyword == "RUN")


# --- compose ------------------------------------------------------------------------------


def test_compose_services_images_and_ports():
    spec = compose()
    services = spec["services"]
    assert set(services) == SERVICES
    broker_jar = next((REPO / "lib" / "kafka").glob("kafka_2.13-*.jar"), None)
    for name in ("kafka", "kafka-init"):
        image = services[name]["image"]
        assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", image), image
        if broker_jar:  # the same broker as tools/kafka_local.py
            assert broker_jar.name == f"kafka_2.13-{image.split(':')[1]}.jar"
    for name in ("jobmanager", "taskmanager", "submit", "simulator"):
        build = services[name]["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert services[name]["image"].startswith("connect-metrics-flink:")
    assert "8081:8081" in services["jobmanager"]["ports"]
    assert "29092:29092" in services["kafka"]["ports"]
    kafka_env = env_of(services["kafka"])
    assert "INTERNAL://kafka:9092" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "flink-data" in spec["volumes"]


def test_flink_configuration_matches_the_image():
    for name in ("jobmanager", "taskmanager", "submit"):
        props = flink_properties(compose()["services"][name])
        assert props["jobmanager.rpc.address"] == "jobmanager"
        assert props["python.execution-mode"] == "thread"
        assert props["python.executable"] == "/opt/venv/bin/python"
        assert props["execution.checkpointing.dir"].startswith("file:///flink-data/")


def test_submit_runs_the_job_with_valid_flags():
    services = compose()["services"]
    command = services["submit"]["command"]
    assert command[:3] == ["flink", "run", "--detached"]
    script = command[command.index("-py") + 1]
    assert in_image(script) == REPO / "jobs" / "connect_metrics.py"
    job_args = command[command.index("--") + 1:]
    cfg = parse_args(job_args)  # raises on a flag the job does not know
    assert (cfg.source, cfg.sink, cfg.bootstrap_servers) == ("kafka", "kafka", "kafka:9092")
    assert services["submit"]["depends_on"]["kafka-init"]["condition"] == \
        "service_completed_successfully"
    topics = services["kafka-init"]["command"][0]
    for topic in cfg.topics_in.values():
        assert topic in topics


def test_simulator_runs_with_valid_flags():
    service = compose()["services"]["simulator"]
    assert service["entrypoint"] == ["python", "-m", "tools.simulate"]
    assert in_image(service["working_dir"] + "/tools/simulate.py") == REPO / "tools" / "simulate.py"
    args = simulate.build_parser().parse_args(service["command"])
    assert args.to_kafka and args.bootstrap_servers == "kafka:9092" and args.realtime


def compose_client() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_config_validates():
    client = compose_client()
    if client is None:
        pytest.skip("no docker compose / docker-compose client installed")
    result = subprocess.run([*client, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- image (needs a Docker engine) ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(not docker_engine_reachable(), reason="no Docker engine answers")
def test_image_builds_and_imports_the_job():
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.image import DockerImage

    with DockerImage(path=str(REPO), dockerfile_path="docker/Dockerfile",
                     tag="connect-metrics-flink:test") as image:
        probe = ("import pyflink, orjson, confluent_kafka, jobs.connect_metrics; "
                 "print(jobs.connect_metrics.DEFAULT_JAR)")
        container = DockerContainer(str(image)).with_kwargs(entrypoint=["python", "-c", probe])
        with container:
            result = container.get_wrapped_container().wait(timeout=300)
            logs = container.get_logs()[0].decode()
        assert result["StatusCode"] == 0, logs
        assert f"{APP}/lib/connect-metrics-deps.jar" in logs
