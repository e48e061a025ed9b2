"""A supervisor's wallboard for the job's Kafka outputs, in the browser.

    python -m tools.wallboard --bootstrap-servers HOST:PORT [--port P]

Serves http://127.0.0.1:P/ : per queue and channel the live gauges (contacts in queue, oldest
contact, agents available / on contact / in ACW) from the queue live topic, service level,
abandonment rate and average handle time over the last 60 minutes and of the newest window, with
a chart of the last hour; per agent the current activity and time in it from the agent live
topic, and its newest window. Reads every topic from the beginning with
isolation.level=read_committed and pushes changes to the page with server-sent events; before
the live topics have records it shows the windowed metrics alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional

from tools.wallboard.model import AGENT, AGENT_LIVE, DEFAULT_THRESHOLD, QUEUE, QUEUE_LIVE, Board

DEFAULT_PORT = 8050
#: SPEC §4 names of the live topics, used when the job's configuration has no such flag.
LIVE_TOPICS = {"queue_live_topic": "connect.metrics.queue.live",
               "agent_live_topic": "connect.metrics.agent.live"}


def job_default(dest: str, fallback: Optional[str] = None) -> str:
    """The job's own default for a topic flag (jobs/config.py), so both always agree."""
    from jobs.config import build_parser

    value = build_parser().get_default(dest)
    if value is None:
        if fallback is None:
            raise KeyError(dest)
        return fallback
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's default in its help, except where there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.required:
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.wallboard",
                                description=__doc__.split("\n\n")[2].strip(),
                                formatter_class=_HelpFormatter)
    p.add_argument("--bootstrap-servers", required=True, metavar="HOST:PORT",
                   help="Kafka the job writes to (required)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="HTTP port (0 = any free port; the address is printed)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--queue-metrics-topic", default=job_default("queue_metrics_topic"),
                   help="the job's queue metrics (windows)")
    p.add_argument("--agent-metrics-topic", default=job_default("agent_metrics_topic"),
                   help="the job's agent metrics (windows)")
    p.add_argument("--queue-live-topic",
                   default=job_default("queue_live_topic", LIVE_TOPICS["queue_live_topic"]),
                   help="the job's live queue gauges")
    p.add_argument("--agent-live-topic",
                   default=job_default("agent_live_topic", LIVE_TOPICS["agent_live_topic"]),
                   help="the job's live agent states")
    p.add_argument("--threshold", default=DEFAULT_THRESHOLD,
                   help="service-level threshold shown, seconds (one of the job's --thresholds)")
    p.add_argument("--kafka-property", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Kafka consumer setting (e.g. security.protocol=SASL_SSL); "
                        "repeatable")
    return p


def parse_properties(items: list[str], parser: argparse.ArgumentParser) -> dict:
    props = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            parser.error(f"--kafka-property: expected KEY=VALUE, got {key.strip() or item!r}")
        props[key.strip()] = value
    return props


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected 0-65535, got {args.port}")
    if not args.threshold.isdigit():
        parser.error(f"--threshold: expected whole seconds, got {args.threshold!r}")
    import socket

    import uvicorn

    from tools.wallboard.app import create_app
    from tools.wallboard.feed import Feed

    topics = {args.queue_metrics_topic: QUEUE, args.agent_metrics_topic: AGENT,
              args.queue_live_topic: QUEUE_LIVE, args.agent_live_topic: AGENT_LIVE}
    feed = Feed(args.bootstrap_servers, topics, Board(threshold=args.threshold),
                parse_properties(args.kafka_property, parser))
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as err:
        parser.error(f"--port: cannot listen on {args.host}:{args.port}: {err.strerror}")
    port = sock.getsockname()[1]
    logging.basicConfig(level=logging.INFO, format="[wallboard] %(message)s")
    print(f"wallboard: http://{args.host}:{port}/ (Kafka {args.bootstrap_servers}, read_committed)",
          flush=True)
    config = uvicorn.Config(create_app(feed), log_level="warning", timeout_graceful_shutdown=2,
                            lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
