"""The JVM-only upper bound: the job's three Kafka sources, unioned, into a DiscardingSink.

    python -m bench.passthrough --source kafka --bootstrap-servers HOST:PORT --bounded ...

Same flags, environment and sources as ``jobs.connect_metrics`` (its ``create_environment`` and
``jobs.sources``: same deserializer reading key and event time, watermarks, offsets,
checkpointing), but no Python operator at all, so no
Python interpreter is started: what Flink itself can read from this broker on this machine.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional, Sequence

from jobs.config import ConfigError, parse_args
from jobs.connect_metrics import DEFAULT_JAR, create_environment
from jobs.sources import source_factory

LOG = logging.getLogger("bench.passthrough")


def build(argv: Optional[Sequence[str]] = None):
    """The environment with sources -> union -> DiscardingSink attached (not yet executed)."""
    from pyflink.datastream.connectors import Sink
    from pyflink.java_gateway import get_gateway

    cfg = parse_args(argv)
    if cfg.source != "kafka":
        raise ConfigError("--source: the pass-through reads Kafka only")
    env = create_environment(cfg, [cfg.jar or DEFAULT_JAR])
    source = source_factory(env, cfg)
    streams = [source(name, cfg.settings.out_of_orderness_ms) for name in cfg.topics_in]
    first, rest = streams[0], streams[1:]
    merged = first.union(*rest) if rest else first
    discard = get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink()
    merged.sink_to(Sink(discard)).name("discard")
    return env, cfg


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        env, cfg = build(argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    started = time.time()
    env.execute(f"{cfg.job_name}-passthrough")
    LOG.info("finished in %.1f s", time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
