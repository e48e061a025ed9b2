"""What the failure tests need from a running cluster beyond ``tools.cluster.Cluster``'s API.

Why separate: ``tools/cluster.py`` is the operator's tool; these are test probes over the same
REST API (restart count, completed checkpoints) used to time a recovery precisely.
"""

from __future__ import annotations

import time

from tools.cluster import TERMINAL_STATES, Cluster, ClusterError


def failures(cluster: Cluster, job_id: str) -> int:
    """How many times the job has failed (entries of its exception history)."""
    history = cluster.rest("GET", f"/jobs/{job_id}/exceptions").get("exceptionHistory", {})
    return len(history.get("entries", []))


def failure_summary(cluster: Cluster, job_id: str) -> list[str]:
    """One line per entry of the job's exception history: when, where, and the exception."""
    history = cluster.rest("GET", f"/jobs/{job_id}/exceptions").get("exceptionHistory", {})
    return [f"{e.get('timestamp')} {e.get('taskName')} @ {e.get('endpoint')}: "
            f"{(e.get('exceptionName') or '')} {(e.get('stacktrace') or '')[:300]}"
            for e in history.get("entries", [])]


def entered(cluster: Cluster, job_id: str, state: str) -> int:
    """When the job last entered ``state`` (epoch ms; 0 if never), from ``/jobs/:id``.

    Why not the ``numRestarts`` metric: the REST metric store is filled asynchronously and was
    seen to stay stale for minutes after a TaskManager died; state timestamps are the
    JobManager's own record of the transition.
    """
    return int(cluster.rest("GET", f"/jobs/{job_id}").get("timestamps", {}).get(state, 0))


def wait_for_restart(cluster: Cluster, job_id: str, after_ms: int, timeout: float = 120) -> int:
    """Block until the job entered RESTARTING at or after ``after_ms`` (epoch ms), i.e. the
    JobManager noticed the failure; returns that moment (epoch ms)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        at = entered(cluster, job_id, "RESTARTING")
        if at >= after_ms:
            return at
        state = cluster.job_status(job_id)
        if state in TERMINAL_STATES:
            raise ClusterError(f"job {job_id} is {state} instead of restarting")
        time.sleep(0.2)
    raise ClusterError(f"job {job_id} did not restart within {timeout:.0f} s")


def completed_checkpoints(cluster: Cluster, job_id: str) -> int:
    """Checkpoints the job has completed so far (``/jobs/:id/checkpoints`` counts)."""
    return int(cluster.rest("GET", f"/jobs/{job_id}/checkpoints")["counts"]["completed"])


def restored_checkpoint(cluster: Cluster, job_id: str) -> dict:
    """The checkpoint the job restored from on its latest (re)start, or {} if none."""
    latest = cluster.rest("GET", f"/jobs/{job_id}/checkpoints").get("latest", {})
    return latest.get("restored") or {}
