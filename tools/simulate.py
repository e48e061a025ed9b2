"""Simulate an Amazon Connect contact center: contact events, CTRs and agent events.

    python -m tools.simulate --seed 7 --agents 20 --contacts 600 --out /tmp/sim

writes ``contact_events.jsonl``, ``ctrs.jsonl`` and ``agent_events.jsonl`` (each in the order
Connect would deliver it), the expected metrics ``expected_queue_metrics.jsonl`` and
``expected_agent_metrics.jsonl`` (tools.reference, from the simulator's ground truth) and
``truth.json`` (counts, PII values to scan for). ``--to-kafka`` produces the feeds to Kafka
instead (then ``--out``, if given, receives only the expected metrics and truth.json).
Same arguments, same bytes: nothing depends on the wall clock unless ``--realtime`` is asked.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from tools.reference import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WINDOW_S,
    expected_metrics,
    expected_report_metrics,
)
from tools.sim.config import CTR_LATENESS_MARGIN_S, DEFAULT_START, FaultConfig, SimConfig
from tools.sim.delivery import AGENT_EVENTS, CONTACT_EVENTS, CTRS
from tools.sim.files import write_expected, write_expected_reports, write_feeds
from tools.sim.kafka_out import DEFAULT_TOPICS, KEEP_FOREVER, Pacing, produce
from tools.sim.progress import Progress
from tools.sim.simulation import Simulation
from tools.sim.timefmt import iso_s, parse_iso

_DEFAULT_FAULTS = FaultConfig()
_LONG_ACW = FaultConfig.long_after_contact_work()
_DURATION = re.compile(r"^(\d+)(ms|s|m|min|h|d)?$")


def parse_window_s(text: str) -> int:
    """``60``, ``60s``, ``1m``, ``1h`` -> whole seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}")
    value, unit = int(match.group(1)), match.group(2) or "s"
    seconds = {"ms": value / 1000, "s": value, "m": value * 60, "min": value * 60,
               "h": value * 3600, "d": value * 86400}[unit]
    if seconds <= 0 or seconds != int(seconds):
        raise argparse.ArgumentTypeError("window must be a positive whole number of seconds")
    return int(seconds)


def parse_report_windows(text: str) -> tuple[tuple[str, int], ...]:
    """``15m,1h,1d`` -> ``(("15m", 900), ("1h", 3600), ("1d", 86400))``, names as given."""
    return tuple((name.strip(), parse_window_s(name)) for name in text.split(",")
                 if name.strip())


def parse_thresholds(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"thresholds must be integers: {text!r}") from err
    if not values:
        raise argparse.ArgumentTypeError("at least one threshold")
    return values


def parse_rush(text: str) -> tuple[int, int, float]:
    """``OFFSET,LENGTH,FACTOR`` -> (seconds, seconds, factor > 0)."""
    try:
        offset, length, factor = text.split(",")
        rush = (int(offset), int(length), float(factor))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected OFFSET,LENGTH,FACTOR, got {text!r}") from None
    if rush[0] < 0 or rush[1] <= 0 or rush[2] <= 0:
        raise argparse.ArgumentTypeError(f"expected offset >= 0, length > 0, factor > 0: {text}")
    return rush


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share between 0 and 1, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.simulate", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Lateness bounds (see tools/sim/delivery.py): good contact events are at most "
               "2 x --out-of-order (+1 s) behind the newest event of their file, duplicates "
               "one more --out-of-order; good CTRs at most 450 s (ACW <= 300 s); agent events "
               "never. Only exact-duplicate late CTR re-deliveries are later (5 min - 3 h).")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--agents", type=int, default=20, help="number of agents")
    p.add_argument("--contacts", type=int, default=400,
                   help="customer contacts to start (transfers/callbacks add segments)")
    p.add_argument("--out", type=Path, help="output folder (required unless --to-kafka)")
    p.add_argument("--start", default=None,
                   help=f"ISO-8601 start of the timeline (default {DEFAULT_START}; with "
                        "--realtime: now, rounded down to the minute)")
    p.add_argument("--duration", type=int, default=3600, help="seconds of arrivals")
    p.add_argument("--queues", type=int, default=4, help="number of inbound queues")
    p.add_argument("--handle-scale", type=float, default=None,
                   help="talk and ACW time multiplier (1 = realistic handle times; default: "
                        "fitted so the agents can carry the contacts)")
    p.add_argument("--rush", type=parse_rush, default=None, metavar="OFFSET,LENGTH,FACTOR",
                   help="a rush hour: seconds after the start, its length in seconds and how "
                        "many times busier arrivals are (e.g. 3600,1200,1.8; default: none)")
    p.add_argument("--window", type=parse_window_s, default=DEFAULT_WINDOW_S,
                   help="window size for the expected metrics, seconds (60, 60s, 1m)")
    p.add_argument("--thresholds", type=parse_thresholds, default=DEFAULT_THRESHOLDS,
                   help="service-level thresholds in seconds, comma separated")
    p.add_argument("--report-windows", type=parse_report_windows, default=(),
                   metavar="15m,1h,...",
                   help="also the expected metrics of these report intervals: "
                        "expected_queue_metrics_NAME.jsonl, expected_agent_metrics_NAME.jsonl "
                        "(default: none)")
    f = p.add_argument_group("faults")
    f.add_argument("--ctr-duplicates", type=_share, default=_DEFAULT_FAULTS.ctr_duplicates,
                   help="share of CTRs delivered 2-3x (exact and older preliminary copies)")
    f.add_argument("--late-redeliveries", type=_share,
                   default=_DEFAULT_FAULTS.late_redeliveries,
                   help="share of CTRs re-delivered as exact duplicates 5 min - 3 h later")
    f.add_argument("--out-of-order", type=float, default=_DEFAULT_FAULTS.out_of_order_s,
                   help="max seconds contact events are shuffled around their event time")
    f.add_argument("--agent-duplicates", type=_share, default=_DEFAULT_FAULTS.agent_duplicates,
                   help="share of agent events delivered twice")
    f.add_argument("--event-duplicates", type=_share, default=_DEFAULT_FAULTS.event_duplicates,
                   help="share of contact events delivered twice")
    f.add_argument("--dropped-events", type=_share, default=_DEFAULT_FAULTS.dropped_events,
                   help="share of contact events never delivered")
    f.add_argument("--malformed", type=_share, default=_DEFAULT_FAULTS.malformed,
                   help="malformed lines per good line, in every file")
    f.add_argument("--long-acw", type=_share, default=None,
                   help="share of handled contacts with 5-60 min of after-contact work "
                        f"(--long-acw-mode: {_LONG_ACW.long_acw})")
    f.add_argument("--delayed-ctrs", type=_share, default=None,
                   help="share of final CTRs exported late, within the CTR lateness minus "
                        f"{CTR_LATENESS_MARGIN_S} s (--long-acw-mode: {_LONG_ACW.delayed_ctrs})")
    f.add_argument("--very-late-ctrs", type=_share, default=None,
                   help="share of CTRs exported beyond the CTR lateness (the job dead-letters "
                        f"them as late; --long-acw-mode: {_LONG_ACW.very_late_ctrs})")
    f.add_argument("--ctr-lateness", type=int, default=_DEFAULT_FAULTS.ctr_lateness_s,
                   help="seconds: the job's --ctr-allowed-lateness the delays aim at")
    f.add_argument("--long-acw-mode", action="store_true",
                   help="fault mode: ACW up to 60 min and CTR exports delayed up to (and a few "
                        "beyond) the CTR lateness, on top of the other faults")
    f.add_argument("--no-faults", action="store_true",
                   help="no duplicates, drops, shuffling or malformed lines")
    k = p.add_argument_group("kafka")
    k.add_argument("--to-kafka", action="store_true", help="produce to Kafka instead of files")
    k.add_argument("--bootstrap-servers", default="localhost:9092", help="Kafka HOST:PORT")
    k.add_argument("--contact-events-topic", default=DEFAULT_TOPICS[CONTACT_EVENTS])
    k.add_argument("--ctrs-topic", default=DEFAULT_TOPICS[CTRS])
    k.add_argument("--agent-events-topic", default=DEFAULT_TOPICS[AGENT_EVENTS])
    k.add_argument("--partitions", type=int, default=1,
                   help="partitions of each input topic it creates (records are keyed by "
                        "ContactId / AgentARN, so per-key order holds within a partition); "
                        "existing topics keep theirs")
    k.add_argument("--rate", type=float, default=None,
                   help="records per second (default: as fast as possible)")
    k.add_argument("--realtime", action="store_true",
                   help="pace records on the simulated clock (see --speed)")
    k.add_argument("--speed", type=float, default=1.0,
                   help="with --realtime: simulated seconds per real second")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def config_from_args(args: argparse.Namespace, now_ms: Optional[int] = None) -> SimConfig:
    if args.start is not None:
        start_ms = parse_iso(args.start)
    elif args.realtime:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        start_ms = now_ms - now_ms % 60_000
    else:
        start_ms = parse_iso(DEFAULT_START)
    if args.no_faults:
        faults = FaultConfig.none()
    else:
        faults = FaultConfig(args.ctr_duplicates, args.late_redeliveries, args.out_of_order,
                             args.agent_duplicates, args.event_duplicates, args.dropped_events,
                             args.malformed)
    base = _LONG_ACW if args.long_acw_mode else FaultConfig.none()
    faults = replace(faults, ctr_lateness_s=args.ctr_lateness, **{
        name: base.__dict__[name] if getattr(args, name) is None else getattr(args, name)
        for name in ("long_acw", "delayed_ctrs", "very_late_ctrs")})
    return SimConfig(seed=args.seed, agents=args.agents, contacts=args.contacts,
                     start_ms=start_ms, duration_s=args.duration, queues=args.queues,
                     faults=faults, handle_scale=args.handle_scale,
                     rush=args.rush)


def generate(cfg: SimConfig, out: Path, window_s: int = DEFAULT_WINDOW_S,
             thresholds: Sequence[int] = DEFAULT_THRESHOLDS, quiet: bool = True,
             report_windows: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
    """What the CLI does for files, as a function: feeds, expected metrics (also of the report
    intervals ``(name, seconds)``) and truth.json in ``out``; returns the truth summary (the
    content of truth.json)."""
    sim = Simulation(cfg)
    progress = Progress(cfg.start_ms, cfg.end_ms, enabled=not quiet)
    write_feeds(sim.records(), out, progress)
    progress.finish()
    expected = expected_metrics(sim.truth, window_s, thresholds)
    if report_windows:
        write_expected_reports(out, expected_report_metrics(sim.truth, report_windows,
                                                            thresholds))
    return write_expected(sim.truth, out, expected.queue, expected.agent, window_s, thresholds)


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.to_kafka and args.out is None:
        parser.error("--out is required unless --to-kafka")
    if args.rate and args.realtime:
        parser.error("--rate and --realtime exclude each other")
    if args.partitions < 1:
        parser.error("--partitions: must be >= 1")
    cfg = config_from_args(args)
    sim = Simulation(cfg)
    progress = Progress(cfg.start_ms, cfg.end_ms, enabled=not args.quiet)
    if args.to_kafka:
        topics = {CONTACT_EVENTS: args.contact_events_topic, CTRS: args.ctrs_topic,
                  AGENT_EVENTS: args.agent_events_topic}
        pacing = Pacing(rate=args.rate, speed=args.speed if args.realtime else None,
                        start_ms=cfg.start_ms)
        from tools.kafka_local import create_topics

        # topics that do not exist yet keep their records (existing ones are left as they are)
        create_topics(args.bootstrap_servers, topics.values(), partitions=args.partitions,
                      configs=KEEP_FOREVER)
        counts = produce(sim.records(), args.bootstrap_servers, topics, pacing, progress)
        where = f"Kafka {args.bootstrap_servers}"
    else:
        counts = write_feeds(sim.records(), args.out, progress)
        where = str(args.out)
    rate = progress.finish()
    if args.out is not None:
        if not args.quiet:
            print("simulate: computing the expected metrics from the ground truth",
                  file=sys.stderr)
        expected = expected_metrics(sim.truth, args.window, args.thresholds)
        write_expected(sim.truth, args.out, expected.queue, expected.agent, args.window,
                       args.thresholds)
        if args.report_windows:
            write_expected_reports(args.out, expected_report_metrics(
                sim.truth, args.report_windows, args.thresholds))
    if not args.quiet:
        print(f"simulate: {sum(counts.values()):,} records to {where} "
              f"({', '.join(f'{s} {n:,}' for s, n in counts.items())}); timeline from "
              f"{iso_s(cfg.start_ms)}; {rate:,.0f} records/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
