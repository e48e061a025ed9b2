"""Render a benchmark's results (``bench.run``'s JSON) as the generated BENCHMARKS.md section."""

from __future__ import annotations

from typing import Any, Optional


def _n(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (int, float)):
        text = f"{value:,.{digits}f}"
    else:
        text = str(value)
    return f"{text}{unit}"


def _pct(a: Optional[float]) -> str:
    return "n/a" if a is None else f"{100 * a:.1f} %"


def _live_aim(lat: dict) -> str:
    """The target cell of the live latency: issue #16's aim, and whether it is met."""
    aim = lat.get("live", {}).get("aim") or {}
    if not aim:
        return "p99 ≤ 2 s + the checkpoint interval"
    verdict = {True: "**met**", False: "**missed**", None: "not measured"}[aim.get("met")]
    unseen = (lat.get("live", {}).get("unseen_ticks") or {}).get("count")
    if unseen:
        verdict += f" ({unseen} ticks never committed: the job fell behind)"
    return (f"p99 ≤ 2 s + the checkpoint interval "
            f"(= {_n(aim.get('p99_at_most_s'), ' s', 1)}): {verdict}")


def _run_rows(name: str, s: dict) -> list[str]:
    if not s:
        return []
    rss = s.get("peak_rss_mib", {})
    ck = s.get("checkpoints", {})
    partial = s.get("partial_events_per_sec")
    job_rate = _n(s.get("events_per_sec_job")) if partial is None else \
        f"stopped after {_n(s.get('wall_s'))} s: {_n(partial)} (records read so far)"
    return [f"| {name} | {job_rate} | {_n(s.get('events_per_sec_excl_startup'))} | "
            f"{_n(s.get('events_per_sec_steady'))} | {_n(s.get('wall_s'), ' s', 1)} | "
            f"{_n(s.get('startup_s'), ' s', 1)} | {_n(rss.get('jvm'), ' MiB')} | "
            f"{_n(rss.get('client'), ' MiB')} | {_n(s.get('cores_used'), '', 2)} | "
            f"{_n(s.get('cpu_us_per_event'), ' µs', 0)} | "
            f"{ck.get('completed', 0)} / {_n(ck.get('duration_ms_median'), ' ms')} / "
            f"{_n(ck.get('duration_ms_max'), ' ms')} / {_n(ck.get('size_bytes_max'), ' B')} |"]


def render(r: dict) -> str:
    m = r.get("machine", {})
    w = r.get("workload", {})
    lines = [
        "## Latest generated results",
        "",
        "_Written by `python -m bench.run`; everything between the markers is replaced on the "
        "next run._",
        "",
        f"- Command: `{r.get('command')}` (benchmark took {_n(r.get('benchmark_s'), ' s')})",
        f"- Machine: {m.get('nproc')} cores ({m.get('cpu_model')}), {m.get('memory_gib')} GiB "
        f"RAM, load average at start {m.get('load_avg_at_start')} / at end "
        f"{r.get('load_avg_at_end')} (other jobs share this machine: expect ±20 % noise); "
        f"Python {m.get('python')}, {m.get('java')}, PyFlink {m.get('pyflink')}",
        f"- Input: {_n(w.get('events'))} records ({_n(w.get('mib'), ' MiB')}; "
        f"{', '.join(f'{k} {v:,}' for k, v in (w.get('by_stream') or {}).items())}) from the "
        f"simulator ({w.get('simulator')}), {w.get('partitions', 1)} partition(s) per topic "
        f"(keyed), parallelism 1 (one slot) unless the scale-out table says otherwise",
        *[f"- Note: {n}" for n in r.get("notes", [])],
        "",
        "### Headline",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| input events/s per slot, thread mode, exactly-once, job start → finished | "
        f"**{_n(r.get('events_per_sec_per_slot'))}** | ≥ 10,000 |",
        f"| same, first record read → finished (no start-up) | "
        f"{_n(r.get('events_per_sec_per_slot_excl_startup'))} | |",
        f"| same, steady state (10 %–90 % of the records, REST) | "
        f"{_n(r.get('events_per_sec_per_slot_steady'))} | |",
        f"| process mode, job start → finished | {_n(r.get('process_mode_events_per_sec'))} | |",
        f"| JVM-only pass-through, job start → finished | "
        f"{_n(r.get('passthrough_events_per_sec'))} | |",
        f"| job ÷ pass-through (first read → finished) | "
        f"{_pct(r.get('ratio_job_to_passthrough'))} | |",
        f"| thread ÷ process mode (first read → finished) | "
        f"{_n(r.get('ratio_thread_to_process'), '×', 1)} | |",
        f"| latency p50 / p99, window end + out-of-orderness → committed record | "
        f"{_n(r.get('p50_latency_s'), ' s', 2)} / **{_n(r.get('p99_latency_s'), ' s', 2)}** "
        f"| |",
        f"| latency p50 / p99, watermark passes window end (input allows it) → committed record "
        f"| {_n(r.get('p50_latency_after_watermark_s'), ' s', 2)} / "
        f"**{_n(r.get('p99_latency_after_watermark_s'), ' s', 2)}** | p99 ≤ 2 s |",
        f"| live latency p50 / p99, tick + live out-of-orderness → committed live record "
        f"({_n(r.get('live_latency_samples'))} records) | "
        f"{_n(r.get('p50_live_latency_s'), ' s', 2)} / "
        f"**{_n(r.get('p99_live_latency_s'), ' s', 2)}** | "
        f"{_live_aim(r.get('latency') or {})} |",
        f"| state per open contact ({r.get('state_size_method')}) | "
        f"**{_n(r.get('state_bytes_per_contact'), ' B')}** | ≤ 1,024 B |",
        f"| — stored `ContactState` value only, pickled (mean) | "
        f"{_n(r.get('state_bytes_per_contact_pickled'), ' B')} | |",
        f"| — marginal bytes per extra contact (slope over checkpoints) | "
        f"{_n(r.get('state_bytes_per_contact_slope'), ' B', 1)} | |",
        f"| standalone cluster, 2 TaskManagers × 1 slot ÷ 1 × 1 (events/s) | "
        f"**{_n(r.get('taskmanagers_2_speedup'), '×', 2)}** | ≥ 1.6× |",
        "",
        "### Bounded runs (same topics)",
        "",
        "| run | events/s, job start → finished | first read → finished | steady | wall "
        "(client start → exit) | start-up (client start → first read) | JVM peak RSS | client "
        "peak RSS | cores used (CPU s ÷ wall s) | CPU per event | checkpoints: completed / median "
        "/ max duration / max size |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("thread", "process", "passthrough"):
        lines += _run_rows(name, r.get(name, {}))
    lines += ["", "In thread mode the JVM hosts the embedded Python interpreter; in process mode "
              "the local mini-cluster runs the Python UDF worker inside the *client* process "
              "(PyFlink's loopback mode), hence its memory and CPU there. CPU per event = CPU "
              "seconds of JVM + client + children ÷ input records."]
    th = r.get("thread", {})
    if th.get("outputs"):
        lines += ["", f"Committed outputs of the thread-mode run: {th['outputs']}; "
                  f"process mode: {r.get('process', {}).get('outputs', 'n/a')}."]
    ck = r.get("state_checkpoint", {})
    pk = r.get("state_pickled", {})
    lines += [
        "",
        "### State per open contact",
        "",
        f"- Checkpoint-based (thread run, heap backend): the contact operator's state at the "
        f"largest checkpoint was {_n(ck.get('largest_state_bytes'), ' B')} for "
        f"{_n(ck.get('largest_contacts'))} contacts held = "
        f"**{_n(ck.get('bytes_per_contact_at_largest'), ' B', 1)} per contact**; least-squares "
        f"slope over {ck.get('checkpoints', 0)} checkpoints: "
        f"{_n(ck.get('bytes_per_contact_slope'), ' B', 1)} per extra contact (key, value and "
        f"cleanup timers, serialized).",
        f"- Stored `ContactState` (`to_stored`, pickled; value only) over "
        f"{_n(pk.get('contacts'))} sampled contacts: "
        f"mean {_n(pk.get('mean_bytes'), ' B')}, p50 {_n(pk.get('p50_bytes'), ' B')}, p99 "
        f"{_n(pk.get('p99_bytes'), ' B')}, max {_n(pk.get('max_bytes'), ' B')}; the fact "
        f"reference (digest and routing targets of the CTR) "
        f"{_n(pk.get('fact_mean_bytes'), ' B')}, the signals "
        f"{_n(pk.get('signals_mean_bytes'), ' B')} ({_pct(pk.get('with_fact_share'))} of "
        f"contacts have a CTR fact).",
    ]
    so = r.get("scaleout")
    if so:
        lines += ["", "### Scale-out (standalone cluster, one slot per TaskManager)", "",
                  f"Same {so.get('partitions')}-partition input topics, bounded from the start, "
                  "parallelism = TaskManagers; rate = input events ÷ the job's RUNNING → "
                  f"FINISHED time. Same committed outputs in every run: {so.get('same_outputs')}.",
                  "", "| TaskManagers × slots | parallelism | running | events/s | committed "
                  "outputs |", "|---|---|---|---|---|"]
        for run in so.get("runs", []):
            lines.append(f"| {run['taskmanagers']} × {run['slots_per_taskmanager']} | "
                         f"{run['parallelism']} | {_n(run.get('running_s'), ' s', 1)} | "
                         f"{_n(run.get('events_per_sec'))} | {run.get('outputs')} |")
    lat = r.get("latency")
    if lat:
        ideal = lat.get("from_ideal_watermark_s", {})
        after = lat.get("after_input_watermark_s", {})
        late = lat.get("late_created_windows_s", {})
        lag = lat.get("input_watermark_lag_s", {})
        by = lat.get("by_output", {})
        ck = lat.get("checkpoints", {})
        lines += [
            "",
            "### Latency (unbounded run, realtime input)",
            "",
            f"- Input: {_n(lat.get('input_rate_paced'))} records/s over "
            f"{_n(lat.get('paced_s'))} s of realtime-paced input (target "
            f"{_n(lat.get('target_rate'))}; {lat.get('centers')} simulated centers, "
            f"{_n(lat.get('agents'))} agents), window "
            f"{lat.get('window')}, out-of-orderness {lat.get('out_of_orderness')}, checkpoint "
            f"interval {lat.get('checkpoint_interval_s')} s (checkpoint duration median "
            f"{_n(ck.get('duration_ms_median'), ' ms')}, max "
            f"{_n(ck.get('duration_ms_max'), ' ms')}).",
            f"- From the ideal watermark (window end + out-of-orderness, on the pacing clock) to "
            f"the record seen by a `read_committed` consumer, over {_n(ideal.get('count'))} first "
            f"emissions: p50 **{_n(ideal.get('p50'), ' s', 2)}**, p90 "
            f"{_n(ideal.get('p90'), ' s', 2)}, p99 **{_n(ideal.get('p99'), ' s', 2)}**, max "
            f"{_n(ideal.get('max'), ' s', 2)}; queue metrics p50/p99 "
            f"{_n(by.get('queue', {}).get('p50'), ' s', 2)} / "
            f"{_n(by.get('queue', {}).get('p99'), ' s', 2)}, agent metrics "
            f"{_n(by.get('agent', {}).get('p50'), ' s', 2)} / "
            f"{_n(by.get('agent', {}).get('p99'), ' s', 2)}.",
            f"- Of which the input itself: the watermark the inputs allow passes the window end "
            f"this long after the ideal (slowest stream's lag; queue windows / agent state): p50 "
            f"{_n(lag.get('queue windows', {}).get('p50'), ' s', 2)} / "
            f"{_n(lag.get('agent state', {}).get('p50'), ' s', 2)}, max "
            f"{_n(lag.get('queue windows', {}).get('max'), ' s', 2)} / "
            f"{_n(lag.get('agent state', {}).get('max'), ' s', 2)}.",
            f"- And the job: from the moment the input let the watermark pass the window end to "
            f"the committed record (processing + watermark interval + wait for the checkpoint "
            f"commit): p50 **{_n(after.get('p50'), ' s', 2)}**, p90 {_n(after.get('p90'), ' s', 2)}"
            f", p99 **{_n(after.get('p99'), ' s', 2)}**, max {_n(after.get('max'), ' s', 2)}.",
            f"- Late-created windows (first emitted after a later window, i.e. opened by late "
            f"data, not by the watermark), excluded above: {_n(late.get('count'))} "
            f"(p50 {_n(late.get('p50'), ' s', 1)}).",
            *_live_lines(lat),
            *[f"- Note: {n}" for n in lat.get("notes", [])],
        ]
    return "\n".join(lines) + "\n"


def _live_lines(lat: dict) -> list[str]:
    live = lat.get("live") or {}
    if not live:
        return []
    if live.get("off"):
        return ["- Live path: off in this run (`--live-interval 0`), not measured."]
    ideal = live.get("from_ideal_watermark_s", {})
    after = live.get("after_input_watermark_s", {})
    lag = live.get("input_watermark_lag_s", {})
    by = live.get("by_output", {})
    unseen = live.get("unseen_ticks") or {}
    ticks = live.get("by_tick") or []
    trend = ", ".join(f"+{t['tick_s']:g} s: {_n(t['max_s'], ' s', 2)}"
                      for t in (ticks if len(ticks) <= 4 else [*ticks[:2], *ticks[-2:]]))
    return [
        f"- Live path (ticks every {_n(lat.get('live_interval_s'), ' s')}, live "
        f"out-of-orderness {_n(lat.get('live_out_of_orderness_s'), ' s')}): from the ideal live "
        f"watermark (tick + live out-of-orderness, on the pacing clock) to the live record seen "
        f"by the same `read_committed` consumer, over {_n(ideal.get('count'))} live records of "
        f"{_n(live.get('ticks'))} ticks: p50 **{_n(ideal.get('p50'), ' s', 2)}**, p99 "
        f"**{_n(ideal.get('p99'), ' s', 2)}**, max {_n(ideal.get('max'), ' s', 2)}; queue live "
        f"p50/p99 {_n(by.get('queue_live', {}).get('p50'), ' s', 2)} / "
        f"{_n(by.get('queue_live', {}).get('p99'), ' s', 2)}, agent live "
        f"{_n(by.get('agent_live', {}).get('p50'), ' s', 2)} / "
        f"{_n(by.get('agent_live', {}).get('p99'), ' s', 2)}. Aim: {_live_aim(lat)}.",
        f"- Of which the input (the live feeds let the live watermark pass the tick this long "
        f"after the ideal): p50 {_n(lag.get('p50'), ' s', 2)}, max {_n(lag.get('max'), ' s', 2)}"
        f"; and the job, from then to the committed live record: p50 "
        f"{_n(after.get('p50'), ' s', 2)}, p99 {_n(after.get('p99'), ' s', 2)}, max "
        f"{_n(after.get('max'), ' s', 2)}.",
        f"- Ticks: {_n(live.get('ticks'))} of {_n(live.get('ticks_expected'))} counted ticks "
        f"committed by the end of the run"
        + (f"; {unseen['count']} never were (the earliest at least "
           f"{_n(unseen.get('earliest_at_least_s'), ' s', 1)} late: the live path fell behind "
           f"the input)" if unseen.get("count") else "")
        + (f"; worst record per tick (tick after the pace start: max) {trend}" if trend else "")
        + ".",
    ]


def main(argv: Optional[list] = None) -> int:
    """``python -m bench.report RESULTS.json [--markdown FILE]``: re-render a saved result."""
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    p.add_argument("results", type=Path, help="results.json written by bench.run")
    p.add_argument("--markdown", type=Path, help="update this file's generated section "
                   "(default: print the section)")
    args = p.parse_args(argv)
    section = render(json.loads(args.results.read_text(encoding="utf-8")))
    if args.markdown is None:
        print(section)
    else:
        from bench.run import update_markdown

        update_markdown(args.markdown, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
