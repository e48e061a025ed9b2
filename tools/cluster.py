"""A local standalone Flink cluster (JobManager + N TaskManagers) run from the PyFlink wheel.

Why: ``flink run`` against a long-running cluster is how the job is deployed outside Managed
Flink, and failure tests (killing a TaskManager, stop-with-savepoint, restore) need real
processes. The PyFlink wheel ships a complete Flink distribution (``bin/``, ``lib/``), so no
separate download is needed; this module only gives it a configuration and keeps its files out
of site-packages:

- configuration: the wheel's ``conf/config.yaml`` (Java 17 flags), merged with
  ``conf/flink/config.yaml`` and the values only known at start-up (free ports, absolute paths,
  the venv's Python), written to ``<state dir>/conf/`` = ``FLINK_CONF_DIR``;
- classpath: ``<state dir>/lib/`` = links to the wheel's ``lib/*.jar`` plus
  ``opt/flink-python-*.jar`` (``FLINK_LIB_DIR``); the JobManager and TaskManagers need PyFlink's
  operators, which a plain distribution keeps in ``opt/``;
- logs, pid files, checkpoints, savepoints: ``<state dir>/`` (``var/flink/`` by default);
- ``PYTHONPATH`` = the repository + the venv's site-packages, in the environment of every JVM:
  thread-mode Python is embedded in the TaskManager and starts from the base interpreter, not
  the venv, so it would not find pyflink or the job's modules otherwise.

Library (the reliability tests use it)::

    cluster = Cluster(state_dir, taskmanagers=2).start()
    job_id = cluster.submit(["--source", "kafka", ...])
    cluster.wait_for_job_state(job_id, {"RUNNING"})
    path = cluster.stop_with_savepoint(job_id)
    cluster.submit([...], savepoint=path)
    cluster.kill_taskmanager(); cluster.start_taskmanager()
    cluster.stop()                                       # idempotent, kills leftovers

CLI::

    python -m tools.cluster start [--taskmanagers N] [--slots S] [--rest-port P]
    python -m tools.cluster status                       # exit 0 running, 1 not
    python -m tools.cluster submit -- --source kafka --bootstrap-servers HOST:PORT ...
    python -m tools.cluster cancel JOB_ID | savepoint JOB_ID | stop-with-savepoint JOB_ID
    python -m tools.cluster stop
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from tools.processes import pid_alive, processes_mentioning, terminate

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_TEMPLATE = REPO_ROOT / "conf" / "flink" / "config.yaml"
DEFAULT_STATE_DIR = REPO_ROOT / "var" / "flink"
JOB_SCRIPT = REPO_ROOT / "jobs" / "connect_metrics.py"
DEFAULT_JAR = REPO_ROOT / "lib" / "connect-metrics-deps.jar"
HOST = "127.0.0.1"
#: FLINK_IDENT_STRING: names the pid and log files of our daemons.
IDENT = "connect-metrics"
JOBMANAGER, TASKMANAGER = "standalonesession", "taskexecutor"
STATE_FILE = "cluster.json"
#: Files copied from the wheel's conf/ unless conf/flink/ has its own.
LOG_CONFIGS = ("log4j.properties", "log4j-cli.properties", "log4j-console.properties",
               "logback.xml", "logback-console.xml")
JOB_ID = re.compile(r"JobID ([0-9a-f]{32})")
#: Job states after which the job does not run again by itself.
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
REGISTERED = "Successful registration at resource manager"
DEFAULT_STARTUP_TIMEOUT_S = 120.0
DEFAULT_STOP_TIMEOUT_S = 30.0
#: how long a daemon pid may look absent before a start-up counts as failed (``_settled``)
PID_GRACE_S = 5.0


class ClusterError(RuntimeError):
    """The cluster could not be started or did not do what was asked; the message says why."""


def _log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def flink_home() -> Path:
    """The Flink distribution inside the installed PyFlink wheel (``bin/``, ``lib/``, ``conf/``)."""
    spec = importlib.util.find_spec("pyflink")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("pyflink is not installed in this interpreter: run `make setup`")
    return Path(list(spec.submodule_search_locations)[0])


def python_path(root: Path = REPO_ROOT) -> str:
    """PYTHONPATH for every Flink JVM: the job's code and this interpreter's packages."""
    paths = [str(root)] + [p for p in site.getsitepackages() if os.path.isdir(p)]
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(paths + inherited))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested YAML mappings -> Flink's flat keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(value, name) if isinstance(value, dict) else {name: value})
    return flat


def load_flat(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return flatten(yaml.safe_load(f) or {})


def expand(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``${NAME}`` placeholders in string values."""
    if not isinstance(value, str):
        return value
    for name, replacement in variables.items():
        value = value.replace("${" + name + "}", replacement)
    return value


def runtime_config(template: Path, state_dir: Path, python: str, *, rest_port: int,
                   rpc_port: int, slots: Optional[int] = None) -> dict[str, Any]:
    """The merged flat configuration: wheel defaults < ``template`` < start-up values."""
    variables = {"STATE_DIR": str(state_dir), "REPO_ROOT": str(REPO_ROOT), "PYTHON": python}
    config = load_flat(flink_home() / "conf" / "config.yaml")
    config.update({k: expand(v, variables) for k, v in load_flat(template).items()})
    config.update({
        "rest.port": rest_port,
        "rest.bind-port": str(rest_port),
        "jobmanager.rpc.port": rpc_port,
    })
    if slots is not None:
        config["taskmanager.numberOfTaskSlots"] = slots
    return config


def write_conf_dir(conf_dir: Path, config: dict[str, Any], template: Path) -> None:
    """``config.yaml`` (flat keys) plus the logging configurations Flink's scripts expect."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    header = (f"# Generated by tools/cluster.py from {template} and the PyFlink wheel's "
              "conf/config.yaml; edit those, not this file.\n")
    body = yaml.safe_dump(dict(sorted(config.items())), default_flow_style=False, width=10_000)
    (conf_dir / "config.yaml").write_text(header + body, encoding="utf-8")
    for name in LOG_CONFIGS:
        source = template.parent / name
        if not source.exists():
            source = flink_home() / "conf" / name
        if source.exists():
            shutil.copyfile(source, conf_dir / name)


def link_lib_dir(lib_dir: Path) -> None:
    """``FLINK_LIB_DIR``: the wheel's ``lib/`` jars and ``opt/flink-python-*.jar``, as links."""
    home = flink_home()
    shutil.rmtree(lib_dir, ignore_errors=True)
    lib_dir.mkdir(parents=True)
    jars = sorted((home / "lib").glob("*.jar")) + sorted((home / "opt").glob("flink-python-*.jar"))
    for jar in jars:
        (lib_dir / jar.name).symlink_to(jar)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path.name})"


class Cluster:
    """One standalone cluster whose files live in ``state_dir`` (see the module docstring).

    ``Cluster(state_dir)`` on a folder where a cluster already runs attaches to it: ``start()``
    is then a no-op and the other methods talk to the running cluster.
    """

    def __init__(self, state_dir: os.PathLike | str = DEFAULT_STATE_DIR, *,
                 taskmanagers: int = 1, slots: Optional[int] = None,
                 rest_port: Optional[int] = None, python: str = sys.executable,
                 template: os.PathLike | str = CONFIG_TEMPLATE,
                 jar: os.PathLike | str = DEFAULT_JAR,
                 startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S) -> None:
        if taskmanagers < 1:
            raise ValueError("taskmanagers must be >= 1")
        self.state_dir = Path(state_dir).resolve()
        self.taskmanagers = taskmanagers
        self.slots = slots
        self.requested_rest_port = rest_port
        self.python = python
        self.template = Path(template).resolve()
        self.jar = Path(jar).resolve()
        self.startup_timeout = startup_timeout
        self.rest_port: Optional[int] = None
        state = self._read_state()
        if state and self.jobmanager_pid() is not None:
            self.rest_port = int(state["rest_port"])

    # --- files and processes -----------------------------------------------------------------

    @property
    def conf_dir(self) -> Path:
        return self.state_dir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def lib_dir(self) -> Path:
        return self.state_dir / "lib"

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "pid"

    @property
    def rest_url(self) -> str:
        if self.rest_port is None:
            raise ClusterError(f"no cluster running in {self.state_dir}")
        return f"http://{HOST}:{self.rest_port}"

    def _pid_file(self, daemon: str) -> Path:
        return self.pid_dir / f"flink-{IDENT}-{daemon}.pid"

    def _pids(self, daemon: str) -> list[int]:
        try:
            lines = self._pid_file(daemon).read_text().split()
        except OSError:
            return []
        return [int(p) for p in lines if p.isdigit() and self._is_ours(int(p))]

    def _is_ours(self, pid: int) -> bool:
        """A live process started with our conf dir (pid files can outlive their process)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.conf_dir).encode() in cmdline and pid_alive(pid)

    def jobmanager_pid(self) -> Optional[int]:
        pids = self._pids(JOBMANAGER)
        return pids[-1] if pids else None

    def taskmanager_pids(self) -> list[int]:
        return self._pids(TASKMANAGER)

    def our_processes(self) -> list[int]:
        """Every live process of this cluster: daemons, `flink run` clients, strays."""
        return processes_mentioning(str(self.conf_dir))

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.log_dir),
            "FLINK_PID_DIR": str(self.pid_dir),
            "FLINK_LIB_DIR": str(self.lib_dir),
            "FLINK_IDENT_STRING": IDENT,
            "PYTHONPATH": python_path(),
            # A bare `python` must be the venv's (PyFlink looks up libpython with it).
            "PATH": os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")]),
        })
        env.pop("FLINK_HOME", None)  # the scripts find their own distribution
        return env

    def _script(self, name: str, *args: str, timeout: float = 120) -> str:
        command = [str(flink_home() / "bin" / name), *args]
        result = subprocess.run(command, env=self._env(), cwd=self.state_dir, text=True,
                                capture_output=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout + result.stderr

    def _read_state(self) -> Optional[dict]:
        try:
            return json.loads((self.state_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None

    # --- lifecycle ---------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.jobmanager_pid() is not None and self.rest_port is not None

    def start(self) -> Cluster:
        """Start the JobManager and the TaskManagers; returns when every slot is registered."""
        if self.is_running():
            _log(f"already running at {self.rest_url}")
            return self
        self.stop(quiet=True)  # leftovers of a killed run would hold ports and pid files
        started = time.monotonic()
        for sub in ("log", "pid", "tmp", "checkpoints", "savepoints"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        template_port = load_flat(self.template).get("rest.port", 0)
        rest_port = self.requested_rest_port or int(template_port or 0) or free_port()
        config = runtime_config(self.template, self.state_dir, self.python, rest_port=rest_port,
                                rpc_port=free_port(), slots=self.slots)
        write_conf_dir(self.conf_dir, config, self.template)
        link_lib_dir(self.lib_dir)
        self.rest_port = rest_port
        try:
            self._script("jobmanager.sh", "start")
            self._wait_for_rest()
            for _ in range(self.taskmanagers):
                self.start_taskmanager(wait=False)
            slots = int(config.get("taskmanager.numberOfTaskSlots", 1))
            self._wait_for_slots(self.taskmanagers * slots)
        except BaseException:
            self.stop(quiet=True)
            raise
        (self.state_dir / STATE_FILE).write_text(json.dumps({
            "rest_port": rest_port, "rpc_port": config["jobmanager.rpc.port"],
            "rest_url": self.rest_url, "taskmanagers": self.taskmanagers, "slots": slots,
            "python": self.python, "jobmanager_pid": self.jobmanager_pid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=2) + "\n")
        _log(f"up at {self.rest_url}: {self.taskmanagers} TaskManager(s) x {slots} slot(s) "
             f"in {time.monotonic() - started:.1f} s (state {self.state_dir})")
        return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S, quiet: bool = False) -> list[int]:
        """Stop every process of this cluster (TaskManagers first); idempotent. Returns pids."""
        daemons = self.taskmanager_pids() + ([self.jobmanager_pid()] if self.jobmanager_pid()
                                             else [])
        terminate(daemons, timeout)
        leftovers = self.our_processes() if self.conf_dir.exists() else []
        terminate(leftovers, timeout=5)
        for daemon in (JOBMANAGER, TASKMANAGER):
            self._pid_file(daemon).unlink(missing_ok=True)
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        self.rest_port = None
        stopped = daemons + leftovers
        if not quiet:
            _log(f"stopped {len(stopped)} process(es)" if stopped else "not running")
        return stopped

    def start_taskmanager(self, wait: bool = True, timeout: float = 60) -> int:
        """One more TaskManager; with ``wait``, returns once it registered. Returns its pid."""
        before = set(self._pids(TASKMANAGER))
        try:
            index = len(self._pid_file(TASKMANAGER).read_text().split())
        except OSError:
            index = 0
        previous = self._daemon_log(TASKMANAGER, index)
        stale_inode = previous.stat().st_ino if previous and previous.stat().st_size else None
        self._script("taskmanager.sh", "start")
        new = self._settled(lambda: [p for p in self._pids(TASKMANAGER) if p not in before])
        if not new:
            raise ClusterError(f"taskmanager.sh start did not start a TaskManager; log:\n"
                               f"{self._daemon_log_tail(TASKMANAGER, index)}")
        if wait:
            self._wait_for_log_line(TASKMANAGER, index, REGISTERED, new[-1], timeout,
                                    stale_inode)
        return new[-1]

    def kill_taskmanager(self, pid: Optional[int] = None, sig: int = signal.SIGKILL) -> int:
        """Kill one TaskManager (default: the newest) the hard way; returns its pid."""
        pids = self.taskmanager_pids()
        if pid is None:
            if not pids:
                raise ClusterError("no TaskManager running")
            pid = pids[-1]
        elif pid not in pids:
            raise ClusterError(f"pid {pid} is not a TaskManager of this cluster ({pids})")
        os.kill(pid, sig)
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pid

    def _daemon_log(self, daemon: str, index: int) -> Optional[Path]:
        logs = sorted(self.log_dir.glob(f"flink-{IDENT}-{daemon}-{index}-*.log"))
        return logs[-1] if logs else None

    def _daemon_log_tail(self, daemon: str, index: int = 0) -> str:
        path = self._daemon_log(daemon, index)
        out = self.log_dir.glob(f"flink-{IDENT}-{daemon}-{index}-*.out")
        return "\n".join([_tail(path) if path else "(no log)"] + [_tail(p, 20) for p in out])

    def _wait_for_log_line(self, daemon: str, index: int, line: str, pid: int,
                           timeout: float, stale_inode: Optional[int] = None) -> None:
        """Wait for ``line`` in the log of the daemon just started as ``pid``.

        A log of the same name may be left by an earlier process: log4j rolls it over when the
        new JVM starts (a new inode), so a file with ``stale_inode`` is not read.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                raise ClusterError(f"{daemon} (pid {pid}) exited during start-up; log:\n"
                                   f"{self._daemon_log_tail(daemon, index)}")
            path = self._daemon_log(daemon, index)
            try:
                fresh = path is not None and path.stat().st_ino != stale_inode
                if fresh and line in path.read_text(errors="replace"):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise ClusterError(f"{daemon} (pid {pid}) not ready after {timeout:.0f} s; log:\n"
                           f"{self._daemon_log_tail(daemon, index)}")

    @staticmethod
    def _settled(probe: Callable[[], list], grace_s: float = PID_GRACE_S) -> list:
        """``probe()`` once it is non-empty, or [] if it stays empty for ``grace_s``.

        Why: a daemon's pid is checked through ``/proc/<pid>/cmdline``, which is briefly empty
        while the forked shell execs the JVM; on a loaded machine one look can fall into that
        window and take a starting daemon for one that exited (seen in the suite, "the
        JobManager exited during start-up" with no log written yet)."""
        deadline = time.monotonic() + grace_s
        while True:
            found = probe()
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)

    def _wait_for_rest(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self._settled(lambda: self._pids(JOBMANAGER)):
                raise ClusterError("the JobManager exited during start-up; log:\n"
                                   + self._daemon_log_tail(JOBMANAGER))
            try:
                self.rest("GET", "/overview", timeout=2)
                return
            except ClusterError:
                time.sleep(0.3)
        raise ClusterError(f"JobManager REST not up at {self.rest_url} after "
                           f"{self.startup_timeout:.0f} s; log:\n"
                           + self._daemon_log_tail(JOBMANAGER))

    def _wait_for_slots(self, slots: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        overview: dict = {}
        while time.monotonic() < deadline:
            overview = self.rest("GET", "/overview")
            if overview.get("slots-total", 0) >= slots:
                return
            if not self.taskmanager_pids():
                break
            time.sleep(0.3)
        raise ClusterError(f"{slots} slot(s) not registered after {self.startup_timeout:.0f} s "
                           f"({overview}); TaskManager log:\n"
                           + self._daemon_log_tail(TASKMANAGER))

    # --- REST --------------------------------------------------------------------------------

    def rest(self, method: str, path: str, body: Optional[dict] = None,
             timeout: float = 10) -> dict:
        """One call to the JobManager's REST API; JSON in, JSON out."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.rest_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:2000]
            raise ClusterError(f"{method} {path}: HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise ClusterError(f"{method} {path}: {e}") from None
        return json.loads(raw) if raw.strip() else {}

    def overview(self) -> dict:
        """``/overview``: taskmanagers, slots-total, slots-available, jobs-running, ..."""
        return self.rest("GET", "/overview")

    def jobs(self) -> list[dict]:
        """``/jobs/overview``: one entry per job (``jid``, ``name``, ``state``, ...)."""
        return self.rest("GET", "/jobs/overview").get("jobs", [])

    def status(self) -> Optional[dict]:
        """Overview and jobs of the running cluster, or None if it is not running."""
        if not self.is_running():
            return None
        try:
            return {"rest_url": self.rest_url, "overview": self.overview(), "jobs": self.jobs(),
                    "jobmanager_pid": self.jobmanager_pid(),
                    "taskmanager_pids": self.taskmanager_pids()}
        except ClusterError:
            return None

    def job_status(self, job_id: str) -> str:
        return self.rest("GET", f"/jobs/{job_id}")["state"]

    def wait_for_job_state(self, job_id: str, states: Iterable[str],
                           timeout: float = 120) -> str:
        """Block until the job is in one of ``states``; fails early on an unwanted end state."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        state = "?"
        while time.monotonic() < deadline:
            state = self.job_status(job_id)
            if state in wanted:
                return state
            if state in TERMINAL_STATES:
                break
            time.sleep(0.3)
        raise ClusterError(f"job {job_id} is {state}, expected {sorted(wanted)}"
                           + self._exception_summary(job_id))

    def wait_for_running(self, job_id: str, timeout: float = 120) -> None:
        """Block until the job and every one of its tasks run.

        Why: after a failover the job stays RUNNING while its tasks restart; checkpoints and
        savepoints fail until all tasks are back.
        """
        deadline = time.monotonic() + timeout
        detail: dict = {}
        while time.monotonic() < deadline:
            detail = self.rest("GET", f"/jobs/{job_id}")
            if detail["state"] in TERMINAL_STATES:
                break
            if detail["state"] == "RUNNING" and all(
                    v["status"] == "RUNNING" for v in detail.get("vertices", [])):
                return
            time.sleep(0.3)
        tasks = {v["name"][:40]: v["status"] for v in detail.get("vertices", [])}
        raise ClusterError(f"job {job_id} not fully running after {timeout:.0f} s: "
                           f"{detail.get('state')} {tasks}" + self._exception_summary(job_id))

    def _exception_summary(self, job_id: str) -> str:
        try:
            history = self.rest("GET", f"/jobs/{job_id}/exceptions").get("exceptionHistory", {})
            entries = history.get("entries", [])
            return f"; last exception:\n{entries[0]['stacktrace'][:4000]}" if entries else ""
        except (ClusterError, KeyError, IndexError):
            return ""

    # --- jobs --------------------------------------------------------------------------------

    def submit(self, job_args: Sequence[str] = (), *, savepoint: Optional[str] = None,
               allow_non_restored_state: bool = False, detached: bool = True,
               script: os.PathLike | str = JOB_SCRIPT, jar: Optional[os.PathLike | str] = None,
               timeout: float = 300) -> str:
        """``flink run`` of the job with the jar attached; returns the job id.

        ``job_args`` are the job's own flags (``python -m jobs.connect_metrics --help``); they
        follow ``--`` so that flags sharing a name with ``flink run``'s (``--parallelism``) reach
        the job. ``savepoint`` restores from a savepoint or retained checkpoint.

        The jar goes in through the job's ``--jar`` (``pipeline.jars``), not ``flink run
        --jarfile``: for a Python job that option replaces the flink-python jar the CLI ships
        as the program jar, and the cluster then cannot load PyFlink's operators.
        """
        jar = Path(jar).resolve() if jar else self.jar
        if not jar.is_file():
            raise ClusterError(f"{jar} not found: run `make setup` first")
        job_args = list(job_args)
        if not any(a == "--jar" or a.startswith("--jar=") for a in job_args):
            job_args += ["--jar", str(jar)]
        command = [str(flink_home() / "bin" / "flink"), "run"]
        if detached:
            command.append("--detached")
        if savepoint:
            command += ["--fromSavepoint", str(savepoint)]
            if allow_non_restored_state:
                command.append("--allowNonRestoredState")
        command += ["-pyexec", self.python, "-pyclientexec", self.python,
                    "-py", str(Path(script).resolve()), "--", *job_args]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"submit-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        with open(log_path, "w") as log:
            try:
                result = subprocess.run(command, env=self._env(), cwd=REPO_ROOT, stdout=log,
                                        stderr=subprocess.STDOUT, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise ClusterError(f"flink run did not return in {timeout:.0f} s; output "
                                   f"{log_path}:\n{_tail(log_path)}") from None
        output = log_path.read_text(errors="replace")
        match = JOB_ID.search(output)
        if result.returncode != 0 or not match:
            raise ClusterError(f"flink run failed ({result.returncode}); output {log_path}:\n"
                               f"{_tail(log_path, 60)}")
        return match.group(1)

    def cancel(self, job_id: str, wait: bool = True, timeout: float = 60) -> None:
        self.rest("PATCH", f"/jobs/{job_id}?mode=cancel")
        if wait:
            self.wait_for_job_state(job_id, {"CANCELED"}, timeout)

    def savepoint(self, job_id: str, target_dir: Optional[str] = None,
                  timeout: float = 120) -> str:
        """Trigger a savepoint (the job keeps running); returns its location."""
        self.wait_for_running(job_id, timeout)
        body = {"cancel-job": False, "formatType": "CANONICAL"}
        if target_dir:
            body["target-directory"] = str(target_dir)
        trigger = self.rest("POST", f"/jobs/{job_id}/savepoints", body)["request-id"]
        return self._await_savepoint(job_id, trigger, timeout)

    def stop_with_savepoint(self, job_id: str, target_dir: Optional[str] = None,
                            drain: bool = False, timeout: float = 120) -> str:
        """Stop the job with a final savepoint (Kafka transactions committed); returns its path.

        ``drain`` emits MAX_WATERMARK first, which fires every open window: use it only when
        the job is not to be resumed.
        """
        self.wait_for_running(job_id, timeout)
        body: dict[str, Any] = {"drain": drain, "formatType": "CANONICAL"}
        if target_dir:
            body["targetDirectory"] = str(target_dir)
        trigger = self.rest("POST", f"/jobs/{job_id}/stop", body)["request-id"]
        location = self._await_savepoint(job_id, trigger, timeout)
        self.wait_for_job_state(job_id, {"FINISHED"}, timeout)
        return location

    def _await_savepoint(self, job_id: str, trigger: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.rest("GET", f"/jobs/{job_id}/savepoints/{trigger}")
            if result.get("status", {}).get("id") == "COMPLETED":
                operation = result.get("operation", {})
                if "location" in operation:
                    return operation["location"]
                cause = operation.get("failure-cause", {})
                raise ClusterError(f"savepoint of {job_id} failed: "
                                   f"{cause.get('stack-trace', cause)}"[:4000])
            time.sleep(0.3)
        raise ClusterError(f"savepoint of {job_id} not complete after {timeout:.0f} s")


# --- CLI ---------------------------------------------------------------------------------------


def _attached(state_dir: Path) -> Cluster:
    cluster = Cluster(state_dir)
    if not cluster.is_running():
        raise ClusterError(f"no cluster running in {state_dir}: `python -m tools.cluster start`")
    return cluster


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cluster",
        description="A local standalone Flink cluster from the PyFlink wheel: JobManager + N "
                    "TaskManagers on 127.0.0.1, configured by conf/flink/config.yaml.")
    parser.add_argument("--dir", type=Path, default=DEFAULT_STATE_DIR,
                        help="state folder: conf/, log/, pid/, checkpoints/, savepoints/ "
                             "(default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser("start", help="start the cluster unless running; print its URL")
    start.add_argument("--taskmanagers", type=int, default=1,
                       help="number of TaskManagers (default: %(default)s)")
    start.add_argument("--slots", type=int, default=None,
                       help="task slots per TaskManager (default: conf/flink/config.yaml's)")
    start.add_argument("--rest-port", type=int, default=None,
                       help="REST/web UI port (default: conf/flink/config.yaml's; 0 = free)")
    commands.add_parser("stop", help="stop every process of the cluster; idempotent")
    commands.add_parser("status", help="overview and jobs via REST (exit 1 if not running)")
    submit = commands.add_parser(
        "submit", help="flink run -d the job with the jar attached; prints the job id",
        description="Everything after `--` goes to the job: python -m tools.cluster submit -- "
                    "--source kafka --bootstrap-servers HOST:PORT")
    submit.add_argument("--savepoint", help="restore from this savepoint/checkpoint path")
    submit.add_argument("--allow-non-restored-state", action="store_true",
                        help="with --savepoint: skip state that maps to no operator")
    submit.add_argument("--jar", type=Path, default=DEFAULT_JAR,
                        help="the dependencies jar (default: %(default)s)")
    submit.add_argument("job_args", nargs=argparse.REMAINDER,
                        help="-- followed by the job's flags")
    for name, text in (("cancel", "cancel a job"),
                       ("savepoint", "trigger a savepoint; prints its path"),
                       ("stop-with-savepoint", "stop a job with a savepoint; prints its path")):
        command = commands.add_parser(name, help=text)
        command.add_argument("job_id")
        if name != "cancel":
            command.add_argument("--target", help="savepoint folder (default: the cluster's)")
        if name == "stop-with-savepoint":
            command.add_argument("--drain", action="store_true",
                                 help="fire all windows first (no resume intended)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    state_dir = args.dir.resolve()
    try:
        if args.command == "start":
            cluster = Cluster(state_dir, taskmanagers=args.taskmanagers, slots=args.slots,
                              rest_port=args.rest_port).start()
            print(cluster.rest_url)
        elif args.command == "stop":
            Cluster(state_dir).stop()
        elif args.command == "status":
            status = Cluster(state_dir).status()
            if status is None:
                print("not running")
                return 1
            print(json.dumps(status, indent=2))
        elif args.command == "submit":
            job_args = list(args.job_args)
            if job_args[:1] == ["--"]:
                job_args = job_args[1:]
            cluster = _attached(state_dir)
            cluster.jar = args.jar.resolve()
            print(cluster.submit(job_args, savepoint=args.savepoint,
                                 allow_non_restored_state=args.allow_non_restored_state))
        elif args.command == "cancel":
            _attached(state_dir).cancel(args.job_id)
        elif args.command == "savepoint":
            print(_attached(state_dir).savepoint(args.job_id, args.target))
        elif args.command == "stop-with-savepoint":
            print(_attached(state_dir).stop_with_savepoint(args.job_id, args.target,
                                                           drain=args.drain))
    except ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
