"""Job configuration: command-line flags and/or Managed Flink property groups, validated early.

Every setting has one flag (``--help`` lists them with defaults). The same keys may come from an
``application_properties.json`` file (Managed Flink's format: a list of
``{"PropertyGroupId": ..., "PropertyMap": {...}}``); keys are the flag names without the leading
dashes (``"bootstrap-servers"``, ``"window"``), in any group except ``kafka``, whose entries are
passed through verbatim to the Kafka clients (security settings such as ``security.protocol``,
``sasl.mechanism``, ``sasl.jaas.config``), and ``kinesis``, whose entries go verbatim into the
Kinesis source's configuration (``source.reader.type``, ``source.efo.consumer.name``, ...).
Groups named ``kinesis.analytics.*`` belong to the service (``kinesis.analytics.flink.run.options``
names the entry script, jar and pyFiles) and are ignored. Flags given on the command line win over
the file. On the service the file is ``/etc/flink/application_properties.json``; locally
``--properties``.

Bad configuration fails fast with a message naming the flag; secret values are never echoed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from udfs.settings import (
    AGENT,
    AGENT_LIVE,
    CONTACT,
    DEADLETTER,
    QUEUE,
    QUEUE_LIVE,
    REPORT_KINDS,
    Settings,
    report_output,
)

MANAGED_FLINK_PROPERTIES = "/etc/flink/application_properties.json"
KAFKA_GROUP = "kafka"
KINESIS_GROUP = "kinesis"
#: Property groups of Managed Flink itself (e.g. kinesis.analytics.flink.run.options).
SERVICE_GROUP_PREFIX = "kinesis.analytics."
STREAM_FLAGS = {"contact_events": "--contact-events-stream", "ctrs": "--ctrs-stream",
                "agent_events": "--agent-events-stream"}
#: --starting-offsets -> the Kinesis source's source.init.position.
KINESIS_POSITIONS = {"earliest": "TRIM_HORIZON", "latest": "LATEST"}
#: --input-batch: records per batch into the Python operators (thread mode), and its bound
DEFAULT_INPUT_BATCH = 256
MAX_INPUT_BATCH = 10_000
_STREAM_ARN = re.compile(r"^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream/([\w.-]{1,128})$")
_STREAM_NAME = re.compile(r"^[\w.-]{1,128}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
FILE_NAMES = {QUEUE: "queue_metrics.jsonl", AGENT: "agent_metrics.jsonl",
              CONTACT: "contacts.jsonl", DEADLETTER: "deadletter.jsonl",
              QUEUE_LIVE: "queue_live.jsonl", AGENT_LIVE: "agent_live.jsonl"}
_REPORT_NAME = re.compile(r"^[A-Za-z0-9]{1,16}$")


def output_file_names(settings: Settings) -> dict:
    """Output kind -> file name in file mode: FILE_NAMES plus, per report interval NAME,
    ``queue_metrics_NAME.jsonl`` and ``agent_metrics_NAME.jsonl``."""
    names = dict(FILE_NAMES)
    for name, _ in settings.report_windows:
        for kind in REPORT_KINDS:
            names[report_output(kind, name)] = FILE_NAMES[kind].replace(".jsonl", f"_{name}.jsonl")
    return names


def report_topics(outputs: dict, report_windows) -> dict:
    """Output kind -> topic of each report interval: the primary topic + ``.NAME``."""
    return {report_output(kind, name): f"{outputs[kind]}.{name}"
            for name, _ in report_windows for kind in REPORT_KINDS}


def parse_report_windows(text: Optional[str], window_ms: int,
                         flag: str = "--report-windows") -> tuple:
    """'15m,30m,1h,1d' -> (('15m', 900000), ...): names as given, each a multiple of --window."""
    if text is None or not str(text).strip():
        return ()
    out = []
    for item in str(text).split(","):
        name = item.strip()
        if not _REPORT_NAME.match(name):
            raise ConfigError(f"{flag}: expected comma-separated durations like 15m,1h,1d, got "
                              f"{text!r}")
        size = parse_duration_ms(name, flag)
        if size <= 0 or size % window_ms:
            raise ConfigError(f"{flag}: {name} is not a multiple of --window "
                              f"({window_ms // 1000}s)")
        if name in (n for n, _ in out):
            raise ConfigError(f"{flag}: {name} given twice")
        out.append((name, size))
    return tuple(out)
SECRET_HINTS = ("password", "secret", "jaas", "token", "key", "credential", "user.info")


#: --max-future defaults: live sources get SPEC §3's 5 minutes; a file replay is history, so its
#: bound is only a sanity check against typos (a wrong year), not against clock skew.
_MAX_FUTURE_LIVE = "5m"
_MAX_FUTURE_FILES = "24h"
#: Smallest --max-record-bytes: room for a too_large dead letter (its key, stream, error and time
#: take a few hundred bytes). Below it every record would be dead-lettered: a configuration error.
MIN_RECORD_BYTES = 1024


class ConfigError(ValueError):
    """A configuration problem; the message names the offending flag."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, None: 1000, "m": 60_000, "min": 60_000, "h": 3_600_000,
            "d": 86_400_000}


def parse_duration_ms(text: str, flag: str) -> int:
    """'60s', '15m', '24h', '7d', '500ms' or a bare number of seconds -> milliseconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigError(f"{flag}: expected a duration like 60s, 15m, 24h or 500ms, got {text!r}")
    ms = int(round(float(m.group(1)) * _UNIT_MS[m.group(2)]))
    return ms


def parse_thresholds(text: str, flag: str = "--thresholds") -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(v) for v in str(text).split(",") if v.strip()}))
    except ValueError:
        raise ConfigError(f"{flag}: expected comma-separated whole seconds, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ConfigError(f"{flag}: expected positive whole seconds, got {text!r}")
    return values


@dataclass
class JobConfig:
    source: str = "files"
    sink: str = "files"
    contact_events: Optional[str] = None  # file paths (file mode)
    ctrs: Optional[str] = None
    agent_events: Optional[str] = None
    output: Optional[str] = None
    bootstrap_servers: Optional[str] = None
    topics_in: dict = field(default_factory=dict)  # stream -> topic
    group_id: str = "connect-metrics"
    starting_offsets: str = "earliest"
    bounded: bool = False
    idleness_ms: int = 30_000
    max_watermark_drift_ms: int = 600_000  # watermark alignment of the three sources; 0 = off
    parallelism: int = 1
    execution_mode: str = "thread"
    checkpoint_interval_ms: int = 10_000
    checkpoint_timeout_ms: int = 120_000
    min_pause_ms: int = 2_000
    unaligned_checkpoints: bool = False
    state_backend: str = "hashmap"
    checkpoint_dir: Optional[str] = None
    restart_attempts: int = 10
    restart_delay_ms: int = 1_000
    transaction_timeout_ms: int = 900_000
    transactional_id_prefix: str = "connect-metrics"
    create_topics: bool = True
    jar: Optional[str] = None
    kafka_properties: dict = field(default_factory=dict)
    streams_in: dict = field(default_factory=dict)  # stream -> Kinesis stream ARN (given ones)
    kinesis_region: Optional[str] = None
    kinesis_properties: dict = field(default_factory=dict)
    job_name: str = "connect-metrics"
    settings: Settings = field(default_factory=Settings)


class _SafeArgumentParser(argparse.ArgumentParser):
    """argparse echoes unrecognized arguments verbatim; a mistyped ``--kafka-propety
    sasl.jaas.config=...`` would print the password. Only option names are shown."""

    def error(self, message: str):  # type: ignore[override]
        head, sep, rest = message.partition("unrecognized arguments: ")
        if sep:
            names = [a.split("=", 1)[0] for a in rest.split() if a.startswith("-")]
            message = f"{head}unrecognized arguments: {' '.join(names) or '(values not shown)'}"
        super().error(message)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to every flag's help unless the help already states its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "(default: " in text else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = _SafeArgumentParser(
        prog="python -m jobs.connect_metrics",
        description="Amazon Connect contact events, CTRs and agent events -> exactly-once, "
                    "event-time queue and agent metrics (PyFlink).",
        formatter_class=_HelpFormatter,
        epilog="Example (file mode): python -m jobs.connect_metrics --source files "
               "--contact-events ce.jsonl --ctrs ctrs.jsonl --agent-events ae.jsonl "
               "--sink files --output out/ --window 60s",
    )
    g = p.add_argument_group("sources and sinks")
    g.add_argument("--source", choices=("files", "kafka", "kinesis"), default=None,
                   help="where the three feeds come from (default: files)")
    g.add_argument("--sink", choices=("files", "kafka"), default=None,
                   help="where the outputs go; kafka when --source is kinesis "
                        "(default: same as --source)")
    g.add_argument("--contact-events", metavar="FILE",
                   help="contact events, JSON Lines (file mode)")
    g.add_argument("--ctrs", metavar="FILE", help="contact trace records, JSON Lines (file mode)")
    g.add_argument("--agent-events", metavar="FILE", help="agent events, JSON Lines (file mode)")
    g.add_argument("--output", metavar="DIR",
                   help="output folder (file sink): queue_metrics.jsonl, agent_metrics.jsonl, "
                        "contacts.jsonl, deadletter.jsonl")
    g.add_argument("--properties", metavar="FILE",
                   help="application_properties.json (Managed Flink property groups); "
                        f"{MANAGED_FLINK_PROPERTIES} is read automatically when it exists")
    k = p.add_argument_group("kafka")
    k.add_argument("--bootstrap-servers", metavar="HOST:PORT", help="Kafka bootstrap servers")
    k.add_argument("--contact-events-topic", default="connect.contact-events",
                   help="input topic of contact events")
    k.add_argument("--ctrs-topic", default="connect.ctrs",
                   help="input topic of contact trace records")
    k.add_argument("--agent-events-topic", default="connect.agent-events",
                   help="input topic of agent events")
    k.add_argument("--queue-metrics-topic", default="connect.metrics.queue",
                   help="output topic of queue metrics")
    k.add_argument("--agent-metrics-topic", default="connect.metrics.agent",
                   help="output topic of agent metrics")
    k.add_argument("--contacts-topic", default="connect.contacts",
                   help="output topic of contact facts")
    k.add_argument("--deadletter-topic", default="connect.deadletter",
                   help="output topic of dead letters (bad and late input)")
    k.add_argument("--queue-live-topic", default="connect.metrics.queue.live",
                   help="output topic of the live queue gauges (compacted, key queue|channel)")
    k.add_argument("--agent-live-topic", default="connect.metrics.agent.live",
                   help="output topic of the live agent states (compacted, key agent ARN)")
    k.add_argument("--group-id", default="connect-metrics", help="consumer group id")
    k.add_argument("--starting-offsets", choices=("earliest", "latest", "committed"),
                   default="earliest",
                   help="where to start reading when there is no checkpoint (Kinesis: earliest "
                        "= TRIM_HORIZON, latest = LATEST)")
    k.add_argument("--bounded", action="store_true",
                   help="stop at the offsets that are latest when the job starts (replays, tests)")
    k.add_argument("--idleness", default="30s",
                   help="a Kafka source partition without records for this long stops holding "
                        "back the watermark")
    k.add_argument("--max-watermark-drift", default="10m",
                   help="watermark alignment (unbounded Kafka / Kinesis): a feed whose watermark "
                        "runs this far ahead of the slowest feed's pauses its reading, so in a "
                        "backfill or catch-up one feed cannot run hours ahead and pile up state; "
                        "0 = off; --bounded runs do not align (their partitions end, which the "
                        "Kafka connector's split pausing does not survive: FLINK-39728)")
    k.add_argument("--transactional-id-prefix", default="connect-metrics",
                   help="prefix of the exactly-once sink's Kafka transactional ids")
    k.add_argument("--transaction-timeout", default="15m",
                   help="Kafka transaction timeout (must exceed the checkpoint interval + timeout)")
    k.add_argument("--no-create-topics", action="store_true",
                   help="do not create missing output topics at start-up")
    k.add_argument("--kafka-property", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Kafka client property (repeatable), e.g. security.protocol=SSL")
    ks = p.add_argument_group("kinesis (needs the jar built with `mvn -Pkinesis package`)")
    for flag, what in zip(STREAM_FLAGS.values(),
                          ("contact events", "contact trace records", "agent events")):
        ks.add_argument(flag, metavar="NAME|ARN",
                        help=f"Kinesis stream of {what} (--source kinesis; any of the three "
                             "may be omitted)")
    ks.add_argument("--kinesis-region", metavar="REGION",
                    help="AWS region of the streams (default: the region of the stream ARNs)")
    ks.add_argument("--aws-account-id", metavar="ID",
                    help="12-digit account that owns the streams (needed for stream names)")
    ks.add_argument("--kinesis-property", action="append", default=[], metavar="KEY=VALUE",
                    help="extra Kinesis source setting (repeatable), e.g. source.reader.type=EFO")
    s = p.add_argument_group("processing")
    s.add_argument("--window", default="60s", help="tumbling window size")
    s.add_argument("--out-of-orderness", default="60s", help="bounded out-of-orderness per stream")
    s.add_argument("--allowed-lateness", default="15m",
                   help="late data within this re-emits a window with revision+1; later data "
                        "goes to the dead-letter output with error 'late' (contact events, "
                        "agent events)")
    s.add_argument("--ctr-allowed-lateness", default="2h",
                   help="the allowed lateness of CTRs (Connect writes a CTR when after-contact "
                        "work ends): windows with CTR contributions stay revisable this long")
    s.add_argument("--max-future", default=None, metavar="DURATION",
                   help="an event time more than this ahead of the wall clock is dead-lettered "
                        "as bad_value (one wrong clock must not drag a stream's watermark and "
                        "make the next records late); 0 = nothing after now. File mode replays "
                        "history, so there it only catches typos like a wrong year "
                        f"(default: {_MAX_FUTURE_LIVE} with --source kafka or kinesis, "
                        f"{_MAX_FUTURE_FILES} with --source files)")
    s.add_argument("--max-record-bytes", type=int, default=Settings.max_record_bytes,
                   metavar="BYTES",
                   help="an output record larger than this (Kafka key + JSON value, UTF-8) goes "
                        "to the dead-letter output as too_large, with a prefix of the record as "
                        "raw, instead of failing the Kafka sink (whose default limit is 1 MiB); "
                        f"at least {MIN_RECORD_BYTES}")
    s.add_argument("--report-windows", default=None, metavar="15m,30m,1h,1d",
                   help="larger report intervals (each a multiple of --window, UTC-aligned), "
                        "each the exact rollup of its windows, to its own outputs: topics "
                        "<queue/agent metrics topic>.NAME, files queue_metrics_NAME.jsonl and "
                        "agent_metrics_NAME.jsonl (default: none)")
    s.add_argument("--thresholds", default="15,20,30,60,90,120",
                   help="service-level / answered-in-X thresholds, whole seconds")
    s.add_argument("--contact-retention", default="24h",
                   help="contact state is cleared this long after the contact's last event")
    s.add_argument("--dedupe-retention", default="7d",
                   help="a CTR fingerprint is kept this long to dedupe very late copies")
    s.add_argument("--agent-timeout", default="240s",
                   help="an agent without events for this long counts as offline")
    s.add_argument("--live-interval", default="10s",
                   help="live metrics (wallboard gauges) at every multiple of this interval, "
                        "epoch-aligned, in event time; 0 = no live metrics")
    s.add_argument("--live-out-of-orderness", default="5s",
                   help="bounded out-of-orderness of the live metrics' own watermarks (an "
                        "event later than this shows from the next tick on)")
    r = p.add_argument_group("runtime")
    r.add_argument("--parallelism", type=int, default=1, help="job parallelism")
    r.add_argument("--execution-mode", choices=("thread", "process"), default="thread",
                   help="PyFlink Python execution mode (thread is ~10x faster here)")
    r.add_argument("--input-batch", type=int, default=DEFAULT_INPUT_BATCH, metavar="N",
                   help="thread mode: records enter each keyed Python operator (from the "
                        "sources and from other operators) in batches of up to N records of one "
                        "key group, one crossing into Python per batch; state and timers stay "
                        "per key. 0 = one record per crossing. Process mode always uses 0 "
                        f"(default: {DEFAULT_INPUT_BATCH})")
    r.add_argument("--checkpoint-interval", default="10s",
                   help="checkpoint interval (the Kafka sink commits on checkpoints)")
    r.add_argument("--checkpoint-timeout", default="2m", help="checkpoint timeout")
    r.add_argument("--min-pause", default="2s", help="minimum pause between checkpoints")
    r.add_argument("--unaligned-checkpoints", action="store_true",
                   help="unaligned checkpoints (helps under backpressure)")
    r.add_argument("--state-backend", choices=("hashmap", "rocksdb"), default="hashmap",
                   help="Flink state backend")
    r.add_argument("--checkpoint-dir", metavar="URI",
                   help="e.g. s3://bucket/path; default: the cluster's "
                        "execution.checkpointing.dir, or var/checkpoints/ when the job runs on "
                        "its own mini-cluster")
    r.add_argument("--restart-attempts", type=int, default=10,
                   help="exponential-delay restart strategy: attempts before the job fails "
                        "(0 = no restarts: fail fast)")
    r.add_argument("--restart-delay", default="1s", help="initial restart backoff")
    r.add_argument("--jar", metavar="FILE",
                   help="the shaded dependencies jar (default: lib/connect-metrics-deps.jar)")
    r.add_argument("--job-name", default="connect-metrics", help="Flink job name")
    return p


def read_property_groups(path: Optional[str]) -> dict:
    """{group id: {key: value}} from an application_properties.json (Managed Flink's list of
    ``{"PropertyGroupId", "PropertyMap"}``, or ``{"GroupId": {...}}``); the service's file when
    ``path`` is None and it exists; empty without a file."""
    if path is None:
        path = MANAGED_FLINK_PROPERTIES if os.path.exists(MANAGED_FLINK_PROPERTIES) else None
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            groups = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"--properties: cannot read {path}: {e}") from None
    if isinstance(groups, dict):  # also accept {"GroupId": {...}}
        groups = [{"PropertyGroupId": k, "PropertyMap": v} for k, v in groups.items()]
    if not isinstance(groups, list):
        raise ConfigError(f"--properties: {path} must hold a list of property groups")
    found: dict = {}
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("PropertyMap"), dict):
            raise ConfigError(f"--properties: {path}: each group needs a PropertyMap object")
        entries = found.setdefault(str(group.get("PropertyGroupId", "")), {})
        entries.update({str(k): str(v) for k, v in group["PropertyMap"].items()})
    return found


def load_properties(path: Optional[str]) -> tuple[dict, dict]:
    """(job keys, kafka passthrough) from an application_properties.json, or empty dicts.

    The ``kinesis`` group (the Kinesis source's own settings, see ``load_group``) and the
    service's ``kinesis.analytics.*`` groups are not job keys."""
    job, kafka = {}, {}
    for group_id, entries in read_property_groups(path).items():
        if group_id == KINESIS_GROUP or group_id.startswith(SERVICE_GROUP_PREFIX):
            continue
        (kafka if group_id == KAFKA_GROUP else job).update(entries)
    return job, kafka


def load_group(path: Optional[str], group_id: str) -> dict:
    """The entries of one property group (e.g. ``kinesis``), or an empty dict."""
    return read_property_groups(path).get(group_id, {})


def _redact(key: str, value: str) -> str:
    return "***" if any(h in key.lower() for h in SECRET_HINTS) else value


def parse_args(argv: Optional[Sequence[str]] = None) -> JobConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    file_props, kafka_props = load_properties(args.properties)
    known = {a.dest: a for a in parser._actions if a.option_strings}
    explicit = _explicit_dests(parser, argv)
    for key, value in file_props.items():
        dest = key.replace("-", "_").replace(".", "_")
        if dest not in known:
            raise ConfigError(f"--properties: unknown key {key!r} (use the flag names, e.g. "
                              f"'bootstrap-servers')")
        if dest in explicit:
            continue
        action = known[dest]
        if isinstance(action, argparse._StoreTrueAction):
            setattr(args, dest, value.strip().lower() in ("1", "true", "yes"))
        elif action.type is int:
            try:
                setattr(args, dest, int(value))
            except ValueError:
                raise ConfigError(f"--{key}: expected an integer, got {value!r}") from None
        else:
            if action.choices and value not in action.choices:
                raise ConfigError(f"--{key}: expected one of {sorted(action.choices)}, "
                                  f"got {value!r}")
            setattr(args, dest, value)
    kinesis_props = load_group(args.properties, KINESIS_GROUP)
    for item in args.kinesis_property:
        k_, sep, v_ = item.partition("=")
        if not sep or not k_.strip():
            raise ConfigError("--kinesis-property: expected KEY=VALUE, got an item without "
                              "'=' (not shown: it may hold a secret)")
        kinesis_props[k_.strip()] = v_
    for item in args.kafka_property:
        k_, sep, v_ = item.partition("=")
        if not sep or not k_.strip():
            raise ConfigError("--kafka-property: expected KEY=VALUE, got an item without '=' "
                              "(not shown: it may hold a secret)")
        kafka_props[k_.strip()] = v_
    return _to_config(args, kafka_props, kinesis_props)


def _explicit_dests(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> set:
    """Dests given on the command line, as argparse parsed them (``--flag=v``, abbreviations)."""
    probe = build_parser()
    for action in probe._actions:
        action.default = argparse.SUPPRESS
    return set(vars(probe.parse_args(argv)))


def _to_config(args: argparse.Namespace, kafka_props: dict,
               kinesis_props: Optional[dict] = None) -> JobConfig:
    source = args.source or "files"
    sink = args.sink or ("kafka" if source == "kinesis" else source)
    window_ms = parse_duration_ms(args.window, "--window")
    if window_ms < 1000 or window_ms % 1000:
        raise ConfigError(f"--window: must be whole seconds >= 1s, got {args.window!r}")
    primary_outputs = {QUEUE: args.queue_metrics_topic, AGENT: args.agent_metrics_topic,
                       CONTACT: args.contacts_topic, DEADLETTER: args.deadletter_topic,
                       QUEUE_LIVE: args.queue_live_topic, AGENT_LIVE: args.agent_live_topic}
    report_windows = parse_report_windows(args.report_windows, window_ms)
    settings = Settings(
        window_ms=window_ms,
        out_of_orderness_ms=parse_duration_ms(args.out_of_orderness, "--out-of-orderness"),
        allowed_lateness_ms=parse_duration_ms(args.allowed_lateness, "--allowed-lateness"),
        ctr_allowed_lateness_ms=parse_duration_ms(args.ctr_allowed_lateness,
                                                  "--ctr-allowed-lateness"),
        thresholds=parse_thresholds(args.thresholds),
        contact_retention_ms=parse_duration_ms(args.contact_retention, "--contact-retention"),
        dedupe_retention_ms=parse_duration_ms(args.dedupe_retention, "--dedupe-retention"),
        agent_timeout_ms=parse_duration_ms(args.agent_timeout, "--agent-timeout"),
        max_future_ms=parse_duration_ms(
            args.max_future or (_MAX_FUTURE_FILES if source == "files" else _MAX_FUTURE_LIVE),
            "--max-future"),
        max_record_bytes=args.max_record_bytes,
        report_windows=report_windows,
        outputs={**primary_outputs, **report_topics(primary_outputs, report_windows)},
        live_interval_ms=parse_duration_ms(args.live_interval, "--live-interval"),
        live_out_of_orderness_ms=parse_duration_ms(args.live_out_of_orderness,
                                                   "--live-out-of-orderness"),
        input_batch=args.input_batch if args.execution_mode == "thread" else 0,
        state_write_back=(args.execution_mode == "thread" and args.input_batch > 0
                          and not args.unaligned_checkpoints),
    )
    if not 0 <= args.input_batch <= MAX_INPUT_BATCH:
        raise ConfigError(f"--input-batch: must be 0..{MAX_INPUT_BATCH}, got {args.input_batch}")
    if settings.live_interval_ms and (settings.live_interval_ms < 1000
                                      or settings.live_interval_ms % 1000):
        raise ConfigError(f"--live-interval: must be 0 or whole seconds >= 1s, got "
                          f"{args.live_interval!r}")
    if settings.dedupe_retention_ms < settings.contact_retention_ms:
        raise ConfigError("--dedupe-retention: must be >= --contact-retention")
    if settings.contact_retention_ms < max(settings.allowed_lateness_ms,
                                           settings.ctr_allowed_lateness_ms):
        # a correction within the lateness would find its contact cleared and be refused
        raise ConfigError("--contact-retention: must be >= --allowed-lateness and "
                          "--ctr-allowed-lateness")
    if settings.agent_timeout_ms <= 0:
        raise ConfigError("--agent-timeout: must be > 0")
    if settings.max_record_bytes < MIN_RECORD_BYTES:
        raise ConfigError(f"--max-record-bytes: must be >= {MIN_RECORD_BYTES}, got "
                          f"{settings.max_record_bytes}")
    cfg = JobConfig(
        source=source, sink=sink,
        contact_events=args.contact_events, ctrs=args.ctrs, agent_events=args.agent_events,
        output=args.output, bootstrap_servers=args.bootstrap_servers,
        topics_in={"contact_events": args.contact_events_topic, "ctrs": args.ctrs_topic,
                   "agent_events": args.agent_events_topic},
        group_id=args.group_id, starting_offsets=args.starting_offsets, bounded=args.bounded,
        idleness_ms=parse_duration_ms(args.idleness, "--idleness"),
        max_watermark_drift_ms=parse_duration_ms(args.max_watermark_drift,
                                                 "--max-watermark-drift"),
        parallelism=args.parallelism, execution_mode=args.execution_mode,
        checkpoint_interval_ms=parse_duration_ms(args.checkpoint_interval,
                                                 "--checkpoint-interval"),
        checkpoint_timeout_ms=parse_duration_ms(args.checkpoint_timeout, "--checkpoint-timeout"),
        min_pause_ms=parse_duration_ms(args.min_pause, "--min-pause"),
        unaligned_checkpoints=args.unaligned_checkpoints,
        state_backend=args.state_backend, checkpoint_dir=args.checkpoint_dir,
        restart_attempts=args.restart_attempts,
        restart_delay_ms=parse_duration_ms(args.restart_delay, "--restart-delay"),
        transaction_timeout_ms=parse_duration_ms(args.transaction_timeout,
                                                 "--transaction-timeout"),
        transactional_id_prefix=args.transactional_id_prefix,
        create_topics=not args.no_create_topics, jar=args.jar,
        kafka_properties=kafka_props, job_name=args.job_name, settings=settings,
        kinesis_properties=dict(kinesis_props or {}),
    )
    if source == "kinesis":
        cfg.kinesis_region, cfg.streams_in = resolve_streams(
            {name: getattr(args, name + "_stream") for name in STREAM_FLAGS},
            args.kinesis_region, args.aws_account_id)
    validate(cfg)
    return cfg


def resolve_streams(streams: dict, region: Optional[str],
                    account: Optional[str]) -> tuple[str, dict]:
    """(region, {stream: ARN}) from stream names or ARNs; names need the region and account."""
    given = {name: value.strip() for name, value in streams.items() if value and value.strip()}
    if not given:
        raise ConfigError("--source kinesis: give at least one of --contact-events-stream, "
                          "--ctrs-stream, --agent-events-stream")
    if region is not None and not _REGION.match(region):
        raise ConfigError(f"--kinesis-region: expected a region like us-east-1, got {region!r}")
    if account is not None and not _ACCOUNT.match(account):
        raise ConfigError(f"--aws-account-id: expected 12 digits, got {account!r}")
    arns = {}
    for name, value in given.items():
        flag = STREAM_FLAGS[name]
        arn = _STREAM_ARN.match(value)
        if arn:
            region = region or arn.group(2)
            if arn.group(2) != region:
                raise ConfigError(f"{flag}: stream is in {arn.group(2)}, not in the "
                                  f"--kinesis-region {region}")
            arns[name] = value
            continue
        if value.startswith("arn:") or not _STREAM_NAME.match(value):
            raise ConfigError(f"{flag}: expected a stream name or "
                              f"arn:aws:kinesis:REGION:ACCOUNT:stream/NAME, got {value!r}")
        if not region or not account:
            raise ConfigError(f"{flag}: a stream name needs --kinesis-region and "
                              "--aws-account-id (or give the stream ARN)")
        partition = ("aws-cn" if region.startswith("cn-")
                     else "aws-us-gov" if region.startswith("us-gov-") else "aws")
        arns[name] = f"arn:{partition}:kinesis:{region}:{account}:stream/{value}"
    return region, arns


def validate(cfg: JobConfig) -> None:
    if cfg.parallelism < 1:
        raise ConfigError("--parallelism: must be >= 1")
    if cfg.source == "files":
        given = [cfg.contact_events, cfg.ctrs, cfg.agent_events]
        if not any(given):
            raise ConfigError("--source files: give at least one of --contact-events, --ctrs, "
                              "--agent-events")
        for flag, path in (("--contact-events", cfg.contact_events), ("--ctrs", cfg.ctrs),
                           ("--agent-events", cfg.agent_events)):
            if path and not os.path.isfile(path):
                raise ConfigError(f"{flag}: no such file: {path}")
    if cfg.sink == "files" and not cfg.output:
        raise ConfigError("--sink files: --output DIR is required")
    if "kafka" in (cfg.source, cfg.sink) and not cfg.bootstrap_servers:
        raise ConfigError("--source/--sink kafka: --bootstrap-servers is required")
    if cfg.sink == "kafka":
        if cfg.transaction_timeout_ms <= cfg.checkpoint_interval_ms + cfg.checkpoint_timeout_ms:
            raise ConfigError("--transaction-timeout: must exceed --checkpoint-interval + "
                              "--checkpoint-timeout, or transactions abort before they commit")
        if cfg.checkpoint_interval_ms <= 0:
            raise ConfigError("--checkpoint-interval: the exactly-once Kafka sink commits on "
                              "checkpoints; it must be > 0")
    if cfg.source == "kinesis":
        if cfg.starting_offsets not in KINESIS_POSITIONS:
            raise ConfigError("--starting-offsets: Kinesis supports earliest or latest (the "
                              "read position is kept in checkpoints, not committed)")
        if cfg.bounded:
            raise ConfigError("--bounded: not supported with --source kinesis")
    if cfg.jar and not os.path.isfile(cfg.jar):
        raise ConfigError(f"--jar: no such file: {cfg.jar}")


def describe(cfg: JobConfig) -> str:
    """A one-paragraph summary for the log, with secrets redacted."""
    s = cfg.settings
    kafka = {k: _redact(k, v) for k, v in cfg.kafka_properties.items()}
    return (f"source={cfg.source} sink={cfg.sink} window={s.window_ms}ms "
            f"out_of_orderness={s.out_of_orderness_ms}ms lateness={s.allowed_lateness_ms}ms "
            f"ctr_lateness={s.ctr_allowed_lateness_ms}ms thresholds={list(s.thresholds)} "
            f"parallelism={cfg.parallelism} "
            f"mode={cfg.execution_mode} kafka_properties={kafka}"
            + (f" kinesis_streams={cfg.streams_in}" if cfg.source == "kinesis" else ""))
