"""Scale-out: the job on the standalone cluster with 1 and then 2 TaskManagers of one slot each.

Why one slot per TaskManager: in thread mode each TaskManager embeds one Python interpreter, and
all of its slots share that interpreter's GIL, so more slots in one TaskManager add no Python
throughput; more TaskManagers do (DEVELOPERS.md). Both runs read the same multi-partition input
topics bounded from the start (parallelism = TaskManagers), and each must commit the same number
of output records: the partition count and the parallelism do not change the results (SPEC §5).

The rate is the workload's events over the job's RUNNING -> FINISHED time on the JobManager
(the embedded interpreters start inside it, the cluster start-up does not).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Sequence

from bench.kafka_util import count_committed
from bench.workload import Workload, log
from tests.kafka_io import job_args
from tools.cluster import Cluster

OUTPUTS = ("queue", "agent", "contacts", "deadletter")


def run_on_cluster(taskmanagers: int, bootstrap: str, workload: Workload, work: Path,
                   extra: Sequence[str], timeout_s: float) -> dict:
    """One bounded run of the whole job at parallelism ``taskmanagers``; its figures."""
    suffix = f"tm{taskmanagers}-{uuid.uuid4().hex[:6]}"
    topics = {**workload.topics,
              **{k: f"bench.{suffix}.{k}" for k in OUTPUTS}}
    group = f"bench-{suffix}"
    ckpt = work / f"cluster-{taskmanagers}" / "checkpoints"
    args = job_args(bootstrap, topics, ["--bounded", "--parallelism", str(taskmanagers),
                                        "--group-id", group, "--transactional-id-prefix", group,
                                        "--checkpoint-dir", ckpt.as_uri(), *extra])
    cluster = Cluster(work / f"cluster-{taskmanagers}", taskmanagers=taskmanagers, slots=1)
    log(f"scaleout: {taskmanagers} TaskManager(s) x 1 slot, {workload.total:,} events")
    cluster.start()
    try:
        job_id = cluster.submit(args)
        cluster.wait_for_job_state(job_id, ["FINISHED"], timeout=timeout_s)
        stamps = cluster.rest("GET", f"/jobs/{job_id}")["timestamps"]
    finally:
        cluster.stop(quiet=True)
        shutil.rmtree(ckpt, ignore_errors=True)
    running_s = (stamps["FINISHED"] - stamps["RUNNING"]) / 1000
    committed = count_committed(bootstrap, [topics[k] for k in OUTPUTS])
    outputs = {k: committed[topics[k]] for k in OUTPUTS}
    rate = round(workload.total / running_s, 1) if running_s > 0 else None
    log(f"scaleout: {taskmanagers} TaskManager(s): {rate} ev/s over {running_s:.1f} s running; "
        f"outputs {outputs}")
    return {"taskmanagers": taskmanagers, "slots_per_taskmanager": 1,
            "parallelism": taskmanagers, "running_s": round(running_s, 1),
            "events_per_sec": rate, "outputs": outputs}


def scaleout_phase(bootstrap: str, workload: Workload, work: Path, extra: Sequence[str],
                   timeout_s: float, counts: Sequence[int] = (1, 2)) -> dict:
    """Runs for each TaskManager count; the speed-up of the largest over one, and whether the
    committed outputs were the same."""
    runs = [run_on_cluster(k, bootstrap, workload, work, extra, timeout_s) for k in counts]
    base, top = runs[0], runs[-1]
    speedup = (round(top["events_per_sec"] / base["events_per_sec"], 3)
               if top["events_per_sec"] and base["events_per_sec"] else None)
    return {"runs": runs, "partitions": workload.partitions,
            f"taskmanagers_{top['taskmanagers']}_speedup": speedup,
            "same_outputs": all(r["outputs"] == base["outputs"] for r in runs)}
