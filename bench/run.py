"""Benchmark harness: throughput, memory, checkpoints, state size and latency of the job.

    python -m bench.run                       # ~1,000,000 events, all phases, updates BENCHMARKS.md
    python -m bench.run --events 200000 --phases thread,passthrough
    python -m bench.run --quick               # small smoke run (tests/test_bench.py)

Phases, all against one local KRaft broker (``tools.kafka_local``) started here:

0. simulate a contact center scaled to about ``--events`` records into fresh topics
   (record timestamps = event time), and replay a sample of its contacts through
   ``udfs.contact_state`` for the pickled state size;
1. ``thread``: the real job (``python -m jobs.connect_metrics --bounded``), thread mode,
   parallelism 1, exactly-once Kafka sink; its REST API is polled for per-operator checkpoint
   sizes and the consumer group's committed offsets (contacts held at each checkpoint);
2. ``passthrough``: the same sources into a DiscardingSink, no Python (``bench.passthrough``);
3. ``process``: phase 1 in process mode (stopped after ``--process-timeout``; the rate is then
   taken from the records read so far);
4. ``latency``: an unbounded run fed in realtime at ``--rate`` records/s (``bench.latency``):
   window end -> committed metric record, and tick -> committed live record (live path on);
5. ``scaleout``: the same bounded job on the standalone cluster (``tools.cluster``) with 1 and
   then 2 TaskManagers of one slot, at parallelism 1 and 2 (``bench.scaleout``).

Input topics have ``--partitions`` partitions (default 4; keyed by ContactId / AgentARN), so every
phase reads them as production does.

Progress goes to stderr; the last line on stdout is one JSON object with every figure.
The machine is shared and small: rerun before trusting a difference of less than ~20 %.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Optional, Sequence

from bench import machine
from bench.jobrun import JobRun, RunningJob
from bench.kafka_util import broker_for, committed_offsets, count_committed
from bench.rest import VertexCheckpoint
from bench.state_size import checkpoint_sizes, contact_vertex_bytes, pickled_sizes
from bench.workload import (
    STREAMS,
    Workload,
    describe,
    log,
    produce_workload,
    scaled_config,
)
from jobs.config import parse_duration_ms
from tests.kafka_io import job_args
from tools.sim.config import FaultConfig

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("thread", "passthrough", "process", "latency", "scaleout")
MARK_START = "<!-- bench:results:start -->"
MARK_END = "<!-- bench:results:end -->"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" unless the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "(default: " in text else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0],
                                formatter_class=_HelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000,
                   help="simulate about this many input records (the exact count is reported)")
    p.add_argument("--quick", action="store_true",
                   help="small smoke run: ~8,000 events, short latency phase, no BENCHMARKS.md")
    p.add_argument("--phases", default=",".join(PHASES),
                   help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--seed", type=int, default=1, help="simulator seed")
    p.add_argument("--partitions", type=int, default=4, help="partitions of each input topic")
    p.add_argument("--checkpoint-interval", default="5s",
                   help="checkpoint interval of the bounded runs (the sink commits on each)")
    p.add_argument("--min-pause", default="1s", help="min pause between checkpoints (bounded)")
    p.add_argument("--process-timeout", type=float, default=1800.0,
                   help="stop the process-mode run after this many seconds")
    p.add_argument("--run-timeout", type=float, default=1800.0,
                   help="stop any other bounded run after this many seconds")
    g = p.add_argument_group("latency phase")
    g.add_argument("--rate", type=float, default=2000.0, help="input records/s (realtime)")
    g.add_argument("--latency-duration", type=float, default=300.0,
                   help="seconds of paced input after the warm-up")
    g.add_argument("--warmup", type=float, default=120.0,
                   help="simulated seconds replayed at once before pacing starts")
    g.add_argument("--latency-checkpoint-interval", default="1s",
                   help="checkpoint interval of the latency run (outputs commit on checkpoints)")
    g.add_argument("--window", default="60s", help="window size of the latency run")
    g.add_argument("--out-of-orderness", default="60s",
                   help="out-of-orderness of the latency run")
    p.add_argument("--report-windows", default=None, metavar="15m,1h",
                   help="the job's --report-windows in every run (default: none)")
    p.add_argument("--live-interval", default=None, metavar="10s",
                   help="the job's --live-interval in every run (0 = without the live path; "
                        "default: the job's default, 10s)")
    p.add_argument("--live-out-of-orderness", default=None, metavar="5s",
                   help="the job's --live-out-of-orderness in every run (default: the job's "
                        "default, 5s)")
    p.add_argument("--input-batch", default=None, metavar="N",
                   help="the job's --input-batch in every run (0 = one record per crossing "
                        "into Python; default: the job's default)")
    p.add_argument("--bootstrap-servers", help="use this broker instead of starting one")
    p.add_argument("--work-dir", type=Path,
                   help="keep logs and spool files here (default: var/bench/<time>)")
    p.add_argument("--markdown", type=Path, default=None,
                   help="write the results section of this file (default: BENCHMARKS.md, "
                        "none with --quick)")
    p.add_argument("--no-markdown", action="store_true", help="do not write any markdown")
    return p


# 30 s paced: two live ticks (10 s interval, 5 s out-of-orderness) count, besides the windows
QUICK = {"events": 8_000, "rate": 200.0, "latency_duration": 30.0, "warmup": 10.0,
         "window": "5s", "out_of_orderness": "3s", "checkpoint_interval": "2s",
         "process_timeout": 150.0, "run_timeout": 150.0}


def apply_quick(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """--quick changes the defaults only: flags given explicitly still win."""
    given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in argv if a.startswith("--")}
    for key, value in QUICK.items():
        if key not in given:
            setattr(args, key, value)


def topics_for(workload: Workload, tag: str) -> dict:
    """Input topics of the workload + fresh output topics for one run."""
    suffix = f"{tag}-{uuid.uuid4().hex[:6]}"
    return {**workload.topics, "queue": f"bench.{suffix}.queue", "agent": f"bench.{suffix}.agent",
            "contacts": f"bench.{suffix}.contacts", "deadletter": f"bench.{suffix}.deadletter"}


def run_bounded(name: str, module: str, bootstrap: str, workload: Workload, work: Path,
                extra: list[str], timeout_s: float, offsets_hook: bool = False,
                count_outputs: bool = True) -> JobRun:
    topics = topics_for(workload, name)
    group = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    ckpt = work / name / "checkpoints"
    args = job_args(bootstrap, topics, ["--bounded", "--group-id", group,
                                        "--transactional-id-prefix", group,
                                        "--checkpoint-dir", ckpt.as_uri(), *extra])
    hook = None
    ce, ctr = workload.topics["contact_events"], workload.topics["ctrs"]
    if offsets_hook:
        def hook(c: VertexCheckpoint) -> None:
            streams = workload.streams
            c.extra["offsets"] = {(streams[topic], partition): offset for (topic, partition),
                                  offset in committed_offsets(bootstrap, group, [ce, ctr]).items()}
    log(f"{name}: starting ({workload.total:,} events)")
    job = RunningJob(name, module, args, work / name, workload.total, on_checkpoint=hook)
    try:
        run = job.finish(timeout_s=timeout_s)
    except BaseException:
        job.kill()
        raise
    shutil.rmtree(ckpt, ignore_errors=True)
    if not run.ok and not run.timed_out:
        tail = (work / name / "client.out").read_text(errors="replace")[-3000:]
        log(f"{name}: FAILED (exit {run.returncode}); client output tail:\n{tail}")
    if count_outputs and run.ok and module == "jobs.connect_metrics":
        run.outputs = count_committed(bootstrap, [topics[k] for k in
                                                  ("queue", "agent", "contacts", "deadletter")])
        run.outputs = {k: run.outputs[topics[k]] for k in
                       ("queue", "agent", "contacts", "deadletter")}
    s = run.summary()
    log(f"{name}: {'ok' if run.ok else 'NOT OK'}; {s['events_per_sec_job']} ev/s job start->"
        f"finish, {s['events_per_sec_excl_startup']} ev/s first read->finish, wall "
        f"{s['wall_s']} s")
    return run


def partial_rate(run: JobRun) -> Optional[float]:
    """Records/s read by the sources of a run that was stopped before the end."""
    if not run.rest.source_out or run.log.first_split_at is None:
        return None
    t, n = run.rest.source_out[-1]
    return round(n / (t - run.log.first_split_at), 1) if t > run.log.first_split_at else None


def state_from_checkpoints(run: JobRun, workload: Workload) -> dict:
    """(contacts held, contact-operator bytes) per checkpoint taken before both contact streams
    were read to the end: then the operator's watermark (the minimum of the two) jumps to the
    end of time, every cleanup timer fires and the state empties."""
    ends = [run.log.splits_finished.get(workload.topics[s]) for s in ("contact_events", "ctrs")]
    until = max(ends) if all(t is not None for t in ends) else float("inf")
    points = []
    for c in sorted(run.rest.checkpoints.values(), key=lambda c: c.id):
        offsets = c.extra.get("offsets")
        if offsets and c.ack_at < until:
            points.append((c.id, workload.contacts_at(offsets), contact_vertex_bytes(c.by_vertex)))
    out = checkpoint_sizes(points)
    # the state of every operator at the largest checkpoint, for the record
    largest = max(run.rest.checkpoints.values(), key=lambda c: c.total_bytes, default=None)
    if largest is not None:
        out["largest_checkpoint_by_operator"] = {
            name.split(" -> ")[0]: size for name, size in largest.by_vertex.items()}
    return out


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 4) if a and b else None


def run_all(args: argparse.Namespace, phases: list[str], work: Path, bootstrap: str) -> dict:
    results: dict = {"machine": machine.describe(), "phases": phases,
                     "command": "python -m bench.run " + " ".join(sys.argv[1:])}
    runs: dict[str, JobRun] = {}
    if set(phases) & {"thread", "passthrough", "process", "scaleout"}:
        bounded_phases(args, phases, work, bootstrap, results, runs)
    if "latency" in phases:
        results["latency"] = latency_phase(args, work, bootstrap)
    return headline(results)


def report_flags(args: argparse.Namespace, live: bool = True) -> list[str]:
    """The job flags under test: report intervals (none by default), the live path's flags
    (left to the job's defaults unless given; ``live=False``: not at all)."""
    flags = ["--report-windows", args.report_windows] if args.report_windows else []
    if live and args.live_interval is not None:
        flags += ["--live-interval", args.live_interval]
    if live and args.live_out_of_orderness is not None:
        flags += ["--live-out-of-orderness", args.live_out_of_orderness]
    if getattr(args, "input_batch", None) is not None:
        flags += ["--input-batch", args.input_batch]
    return flags


def live_settings(args: argparse.Namespace) -> tuple[int, int]:
    """(live interval, live out-of-orderness) in ms of the runs: the flags, else the job's
    defaults."""
    from udfs.settings import Settings

    default = Settings()
    interval = default.live_interval_ms if args.live_interval is None else \
        parse_duration_ms(args.live_interval, "--live-interval")
    ooo = default.live_out_of_orderness_ms if args.live_out_of_orderness is None else \
        parse_duration_ms(args.live_out_of_orderness, "--live-out-of-orderness")
    return interval, ooo


def bounded_phases(args: argparse.Namespace, phases: list[str], work: Path, bootstrap: str,
                   results: dict, runs: dict[str, JobRun]) -> None:
    """Produce the bulk workload once, then run the bounded phases on it."""
    cfg = scaled_config(args.events, args.seed)
    log(f"workload: {describe(cfg)} (scaled for ~{args.events:,} events)")
    workload = produce_workload(bootstrap, cfg, f"bench.in.{uuid.uuid4().hex[:6]}",
                                partitions=args.partitions)
    results["workload"] = {"events": workload.total, "by_stream": workload.counts,
                           "mib": round(workload.bytes_total / 2**20, 1),
                           "simulator": describe(cfg), "agents": cfg.agents,
                           "partitions": workload.partitions,
                           "produce_s": round(workload.produce_s, 1)}
    log(f"workload: {workload.total:,} events ({workload.bytes_total / 2**20:,.0f} MiB) "
        f"produced in {workload.produce_s:.0f} s")
    results["state_pickled"] = pickled_sizes(workload.sample_lines)
    ck = ["--checkpoint-interval", args.checkpoint_interval, "--min-pause", args.min_pause,
          *report_flags(args)]
    if "thread" in phases:
        runs["thread"] = run_bounded("thread", "jobs.connect_metrics", bootstrap, workload, work,
                                     ["--execution-mode", "thread", *ck], args.run_timeout,
                                     offsets_hook=True)
        results["thread"] = runs["thread"].summary()
        results["state_checkpoint"] = state_from_checkpoints(runs["thread"], workload)
    if "passthrough" in phases:
        runs["passthrough"] = run_bounded("passthrough", "bench.passthrough", bootstrap,
                                          workload, work, ck, args.run_timeout)
        results["passthrough"] = runs["passthrough"].summary()
    if "process" in phases:
        runs["process"] = run_bounded("process", "jobs.connect_metrics", bootstrap, workload,
                                      work, ["--execution-mode", "process", *ck],
                                      args.process_timeout)
        results["process"] = runs["process"].summary()
        if runs["process"].timed_out:
            results["process"]["partial_events_per_sec"] = partial_rate(runs["process"])
    if "scaleout" in phases:
        from bench.scaleout import scaleout_phase

        results["scaleout"] = scaleout_phase(bootstrap, workload, work,
                                             ["--execution-mode", "thread", *ck],
                                             args.run_timeout)


def latency_phase(args: argparse.Namespace, work: Path, bootstrap: str) -> dict:
    from bench.latency import LIVE_OUTPUTS, LatencyRun, build_spool, cleanup_spool, span_note

    window_ms = parse_duration_ms(args.window, "--window")
    ooo_ms = parse_duration_ms(args.out_of_orderness, "--out-of-orderness")
    interval_s = parse_duration_ms(args.latency_checkpoint_interval, "--latency-checkpoint") / 1000
    lat_dir = work / "latency"
    lat_dir.mkdir(parents=True, exist_ok=True)
    faults = None
    if args.quick:  # keep contact events within the short out-of-orderness of the smoke run
        faults = FaultConfig(out_of_order_s=min(FaultConfig().out_of_order_s, ooo_ms / 2000))
    live_interval_ms, live_ooo_ms = live_settings(args)
    suffix = uuid.uuid4().hex[:6]
    topics = {s: f"bench.lat.{suffix}.{s}" for s in STREAMS}
    topics.update({k: f"bench.lat.{suffix}.{k}" for k in ("queue", "agent", "contacts",
                                                          "deadletter")})
    # the live path's own topics (never the job's shared defaults), consumed by the same reader
    live_flags = ["--live-interval", f"{live_interval_ms}ms",
                  "--live-out-of-orderness", f"{live_ooo_ms}ms"]
    if live_interval_ms:
        topics.update({k: f"bench.lat.{suffix}.{k}" for k in LIVE_OUTPUTS})
        live_flags += ["--queue-live-topic", topics["queue_live"],
                       "--agent-live-topic", topics["agent_live"]]
    else:
        log("latency: --live-interval 0: the live path is off, its latency is not measured")
    notes = [n for n in (span_note(args.latency_duration, window_ms, ooo_ms, "one window"),
                         span_note(args.latency_duration, live_interval_ms, live_ooo_ms,
                                   "one live tick") if live_interval_ms else None) if n]
    for n in notes:
        log(f"latency: WARNING: {n}")
    group = f"bench-lat-{suffix}"
    job_argv = job_args(bootstrap, topics, [
        "--group-id", group, "--transactional-id-prefix", group,
        "--checkpoint-dir", (lat_dir / "checkpoints").as_uri(),
        "--checkpoint-interval", args.latency_checkpoint_interval, "--min-pause", "100ms",
        "--window", args.window, "--out-of-orderness", args.out_of_orderness,
        *report_flags(args, live=False), *live_flags])
    log("latency: starting the unbounded job, simulating its input meanwhile")
    lat = LatencyRun(bootstrap, lat_dir, job_argv, topics)
    spool = None
    try:
        spool = build_spool(lat_dir, args.rate, args.warmup, args.latency_duration,
                            args.seed + 100, faults, 500 if args.quick else 2000)
        result = lat.measure(spool, window_ms, ooo_ms, interval_s, live_interval_ms,
                             live_ooo_ms)
    except BaseException:
        lat.abort()
        raise
    finally:
        if spool is not None:
            cleanup_spool(spool)
        shutil.rmtree(lat_dir / "checkpoints", ignore_errors=True)
    summary = result.summary
    if notes:
        summary["notes"] = notes
    summary.update({"window": args.window, "out_of_orderness": args.out_of_orderness,
                    "live_interval_s": live_interval_ms / 1000,
                    "live_out_of_orderness_s": live_ooo_ms / 1000, "target_rate": args.rate})
    if result.run is not None:
        summary["peak_rss_mib"] = result.run.summary()["peak_rss_mib"]
    return summary


def headline(r: dict) -> dict:
    """The flat keys the brief asks for, derived from the per-phase figures."""
    th, pm, pt = r.get("thread", {}), r.get("process", {}), r.get("passthrough", {})
    lat = r.get("latency", {}).get("from_ideal_watermark_s", {})
    live = r.get("latency", {}).get("live", {}).get("from_ideal_watermark_s", {})
    after = r.get("latency", {}).get("after_input_watermark_s", {})
    ck = r.get("state_checkpoint", {})
    pk = r.get("state_pickled", {})
    process_rate = pm.get("events_per_sec_job") or pm.get("partial_events_per_sec")
    state = ck.get("bytes_per_contact_at_largest")
    flat = {
        "events": r.get("workload", {}).get("events"),
        "events_per_sec_per_slot": th.get("events_per_sec_job"),
        "events_per_sec_per_slot_excl_startup": th.get("events_per_sec_excl_startup"),
        "events_per_sec_per_slot_steady": th.get("events_per_sec_steady"),
        "process_mode_events_per_sec": process_rate,
        "process_mode_events_per_sec_excl_startup": pm.get("events_per_sec_excl_startup"),
        "passthrough_events_per_sec": pt.get("events_per_sec_job"),
        "passthrough_events_per_sec_excl_startup": pt.get("events_per_sec_excl_startup"),
        "ratio_job_to_passthrough": ratio(th.get("events_per_sec_excl_startup"),
                                          pt.get("events_per_sec_excl_startup")),
        "ratio_thread_to_process": ratio(th.get("events_per_sec_excl_startup"),
                                         pm.get("events_per_sec_excl_startup")
                                         or pm.get("partial_events_per_sec")),
        "wall_s": th.get("wall_s"),
        "jvm_peak_rss_mib": th.get("peak_rss_mib", {}).get("jvm"),
        "client_peak_rss_mib": th.get("peak_rss_mib", {}).get("client"),
        "checkpoint_duration_ms_median": th.get("checkpoints", {}).get("duration_ms_median"),
        "checkpoint_duration_ms_max": th.get("checkpoints", {}).get("duration_ms_max"),
        "p50_latency_s": lat.get("p50"),
        "p99_latency_s": lat.get("p99"),
        "latency_samples": lat.get("count"),
        "p50_live_latency_s": live.get("p50"),
        "p99_live_latency_s": live.get("p99"),
        "live_latency_samples": live.get("count"),
        "p50_latency_after_watermark_s": after.get("p50"),
        "p99_latency_after_watermark_s": after.get("p99"),
        "state_bytes_per_contact": state if state is not None else pk.get("mean_bytes"),
        "state_size_method": ("checkpoint: contact-operator state / contacts held, largest "
                              "checkpoint" if state is not None else "pickled ContactState mean"),
        "state_bytes_per_contact_pickled": pk.get("mean_bytes"),
        "state_bytes_per_contact_slope": ck.get("bytes_per_contact_slope"),
        "taskmanagers_2_speedup": r.get("scaleout", {}).get("taskmanagers_2_speedup"),
        "taskmanagers_same_outputs": r.get("scaleout", {}).get("same_outputs"),
    }
    return {**r, **flat}


def update_markdown(path: Path, section: str) -> None:
    """Replace the generated section of ``path`` (between the markers), keep the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else \
        "# Benchmarks\n\n" + MARK_START + "\n" + MARK_END + "\n"
    if MARK_START not in text or MARK_END not in text:
        text = text.rstrip("\n") + "\n\n" + MARK_START + "\n" + MARK_END + "\n"
    head, rest = text.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(head + MARK_START + "\n" + section.rstrip("\n") + "\n" + MARK_END + tail,
                    encoding="utf-8")


def exit_on_sigterm() -> None:
    """SIGTERM -> SystemExit, so cleanup (stop the job's process group, the broker) runs.

    Why: started in the background, a shell ignores SIGINT for us; SIGTERM is what stops us.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: Optional[Sequence[str]] = None) -> int:
    exit_on_sigterm()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.quick:
        apply_quick(args, argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        print(f"error: --phases: unknown {sorted(unknown)}", file=sys.stderr)
        return 2
    if args.partitions < 1:
        print("error: --partitions: must be >= 1", file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = (args.work_dir or ROOT / "var" / "bench" / stamp).resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with broker_for(args.bootstrap_servers) as bootstrap:
        results = run_all(args, phases, work, bootstrap)
    results["benchmark_s"] = round(time.monotonic() - started, 1)
    results["work_dir"] = str(work)
    results["load_avg_at_end"] = machine.load_avg()
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md = None if args.no_markdown else (args.markdown or (None if args.quick
                                                          else ROOT / "BENCHMARKS.md"))
    if md is not None:
        from bench.report import render

        update_markdown(md, render(results))
        log(f"results written to {md}")
    if args.quick and args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
