"""Entry point: ``python -m jobs.connect_metrics --help``.

Builds the execution environment (thread mode, checkpointing, restart strategy), the sources
(JSON Lines files or Kafka topics), the pipeline (``jobs.pipeline``) and the sink (one JSON Lines
file per output, or one exactly-once transactional Kafka sink), then runs the job. The same file is
the Managed Flink entry point (``kinesis.analytics.flink.run.options: python``) and the script
given to ``flink run -py`` on a standalone cluster.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import site
import sys
import time
from typing import Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # `flink run -py jobs/connect_metrics.py` starts with jobs/ on the path
    sys.path.insert(0, ROOT)

from jobs.config import (  # noqa: E402
    ConfigError,
    JobConfig,
    describe,
    output_file_names,
    parse_args,
)

LOG = logging.getLogger("connect_metrics")
DEFAULT_JAR = os.path.join(ROOT, "lib", "connect-metrics-deps.jar")


def prepare_python_path() -> None:
    """Make the job's modules and this interpreter's packages importable in thread mode.

    In thread mode Python runs embedded in the JVM (pemja); that interpreter starts from the base
    installation, not this virtualenv, so it would not find pyflink or our packages. PYTHONPATH is
    inherited by the JVM that PyFlink launches.
    """
    paths = [ROOT] + [p for p in site.getsitepackages() if os.path.isdir(p)]
    current = os.environ.get("PYTHONPATH", "")
    merged = paths + [p for p in current.split(os.pathsep) if p and p not in paths]
    os.environ["PYTHONPATH"] = os.pathsep.join(merged)


LOG_DIR = os.path.join(ROOT, "var", "log", "flink")
KEEP_LOGS = 30


def prepare_logging() -> str:
    """Flink's log goes to var/log/flink/, one file per process (not into site-packages).

    Returns the log file pattern. ``FLINK_LOG_DIR`` / ``FLINK_IDENT_STRING`` set by the caller
    win. Old files beyond the newest ``KEEP_LOGS`` are removed.
    """
    import getpass
    import glob

    log_dir = os.environ.setdefault("FLINK_LOG_DIR", LOG_DIR)
    ident = os.environ.setdefault("FLINK_IDENT_STRING", f"{getpass.getuser()}-{os.getpid()}")
    os.makedirs(log_dir, exist_ok=True)
    old = sorted(glob.glob(os.path.join(log_dir, "flink-*.log")), key=os.path.getmtime)
    for path in old[:-KEEP_LOGS]:
        try:
            os.remove(path)
        except OSError:
            pass
    return os.path.join(log_dir, f"flink-{ident}-python-*.log")


def create_environment(cfg: JobConfig, jars: Sequence[str] = ()):
    from pyflink.common import Configuration
    from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment

    conf = Configuration()
    conf.set_string("python.execution-mode", cfg.execution_mode)
    conf.set_string("python.executable", sys.executable)
    conf.set_string("python.client.executable", sys.executable)
    if cfg.restart_attempts > 0:
        conf.set_string("restart-strategy.type", "exponential-delay")
        conf.set_string("restart-strategy.exponential-delay.initial-backoff",
                        f"{cfg.restart_delay_ms} ms")
        conf.set_string("restart-strategy.exponential-delay.max-backoff", "60 s")
        conf.set_string("restart-strategy.exponential-delay.attempts-before-reset-backoff",
                        str(cfg.restart_attempts))
    else:  # fail fast (tests): without this, checkpointing implies endless restarts
        conf.set_string("restart-strategy.type", "none")
    conf.set_string("state.backend.type", cfg.state_backend)
    checkpoint_dir = cfg.checkpoint_dir
    if checkpoint_dir is None and "PYFLINK_GATEWAY_PORT" not in os.environ:
        # Local mini-cluster (not submitted through `flink run` / Managed Flink, whose driver sets
        # the gateway port and whose configuration decides): without a directory Flink keeps
        # checkpoints in the JobManager's memory, which fails once an operator holds > 5 MiB.
        checkpoint_dir = "file://" + os.path.join(ROOT, "var", "checkpoints")
    if checkpoint_dir:
        conf.set_string("execution.checkpointing.dir", checkpoint_dir)
    if jars:
        conf.set_string("pipeline.jars", ";".join(f"file://{os.path.abspath(j)}" for j in jars))
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(cfg.parallelism)
    if cfg.sink == "kafka" or cfg.source in ("kafka", "kinesis"):
        env.enable_checkpointing(cfg.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
        ck = env.get_checkpoint_config()
        ck.set_checkpoint_timeout(cfg.checkpoint_timeout_ms)
        ck.set_min_pause_between_checkpoints(cfg.min_pause_ms)
        if cfg.unaligned_checkpoints:
            ck.enable_unaligned_checkpoints()
    return env


def unaligned_checkpoints(env) -> bool:
    """Whether the environment's checkpoints are unaligned (our flag or the configuration)."""
    ck = env.get_checkpoint_config()
    return ck.is_checkpointing_enabled() and ck.is_unaligned_checkpoints_enabled()


def kafka_sink(cfg: JobConfig):
    from pyflink.datastream.connectors.base import DeliveryGuarantee
    from pyflink.datastream.connectors.kafka import KafkaSink
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    builder = (KafkaSink.builder()
               .set_bootstrap_servers(cfg.bootstrap_servers)
               .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
               .set_transactional_id_prefix(cfg.transactional_id_prefix)
               .set_property("transaction.timeout.ms", str(cfg.transaction_timeout_ms)))
    for key, value in cfg.kafka_properties.items():
        builder = builder.set_property(key, value)
    # Our serializer writes Row(topic, key, value); PyFlink's set_record_serializer expects its
    # own builder's class, so the Java builder gets it directly.
    builder._j_builder.setRecordSerializer(
        jvm.io.connectmetrics.flink.TopicKeyValueSerializationSchema())
    return builder.build()


def attach_file_sink(rows, cfg: JobConfig) -> None:
    from pyflink.common import Types
    from pyflink.datastream.connectors import Sink
    from pyflink.java_gateway import get_gateway

    from udfs.flink_outputs import JsonLinesWriter

    files = {cfg.settings.outputs[kind]: name
             for kind, name in output_file_names(cfg.settings).items()}
    written = (rows.map(JsonLinesWriter(os.path.abspath(cfg.output), files),
                        output_type=Types.INT())
               .set_parallelism(1).name("write json lines"))
    discard = get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink()
    written.sink_to(Sink(discard)).set_parallelism(1).name("done")


def build_job(cfg: JobConfig):
    """The environment with the whole job attached (not yet executed)."""
    from jobs.pipeline import build_pipeline
    from jobs.sources import source_factory

    # Every mode needs the jar: event time is read in Java at the source (jobs.sources).
    jar = cfg.jar or DEFAULT_JAR
    if not os.path.isfile(jar):
        raise ConfigError(f"--jar: {jar} not found; run `make setup` (tools/setup.sh) first")
    env = create_environment(cfg, [jar])
    if cfg.settings.state_write_back and unaligned_checkpoints(env):
        # unaligned checkpoints (set by the cluster's configuration) snapshot an operator before
        # the flush markers in flight reach it: changes are written at once instead
        LOG.info("unaligned checkpoints: state changes are written through (no write-back)")
        cfg.settings = dataclasses.replace(cfg.settings, state_write_back=False)
    source = source_factory(env, cfg)
    rows = build_pipeline(env, cfg.settings, source)
    if cfg.settings.live_interval_ms:  # the live path reads each feed again, own watermarks
        from jobs.live_pipeline import build_live, live_sources

        inputs = live_sources(source, cfg.settings)
        idle = None if cfg.source == "files" or cfg.bounded else cfg.idleness_ms
        live = build_live(env, cfg.settings, inputs["contact_events"], inputs["ctrs"],
                          inputs["agent_events"], idleness_ms=idle)
        if live is not None:
            rows = rows.union(live)
    if cfg.sink == "files":
        os.makedirs(cfg.output, exist_ok=True)
        attach_file_sink(rows, cfg)
    else:
        if cfg.create_topics:
            from jobs.topics import ensure_output_topics
            ensure_output_topics(cfg)
        rows.sink_to(kafka_sink(cfg)).name("kafka exactly-once")
    return env


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        cfg = parse_args(argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    prepare_python_path()
    LOG.info("starting: %s (Flink log: %s)", describe(cfg), prepare_logging())
    try:
        env = build_job(cfg)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    started = time.time()
    env.execute(cfg.job_name)
    LOG.info("finished in %.1f s", time.time() - started)
    if cfg.sink == "files":
        for name in output_file_names(cfg.settings).values():
            path = os.path.join(cfg.output, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    LOG.info("%s: %d records", path, sum(1 for _ in f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
