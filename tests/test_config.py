"""Job configuration: flags, defaults, durations, validation, property groups (jobs.config)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobs import config
from jobs.config import (
    ConfigError,
    JobConfig,
    build_parser,
    describe,
    load_properties,
    parse_args,
    parse_duration_ms,
    parse_thresholds,
)
from udfs.settings import Settings

SECRET = "s3cr3t-value"
JAAS = f'org.apache.kafka.common.security.plain.PlainLoginModule required password="{SECRET}";'


@pytest.fixture(autouse=True)
def no_managed_flink_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never pick up a real /etc/flink/application_properties.json."""
    monkeypatch.setattr(config, "MANAGED_FLINK_PROPERTIES", str(tmp_path / "absent.json"))


@pytest.fixture
def ctrs_file(tmp_path: Path) -> str:
    path = tmp_path / "ctrs.jsonl"
    path.write_text("")
    return str(path)


@pytest.fixture
def files_args(ctrs_file: str, tmp_path: Path) -> list[str]:
    """The smallest valid file-mode command line."""
    return ["--ctrs", ctrs_file, "--output", str(tmp_path / "out")]


KAFKA_ARGS = ["--source", "kafka", "--bootstrap-servers", "broker:9092"]


def write_properties(tmp_path: Path, groups: object) -> str:
    path = tmp_path / "application_properties.json"
    path.write_text(json.dumps(groups))
    return str(path)


def config_error(argv: list[str]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_args(argv)
    return str(info.value)


# --- defaults -------------------------------------------------------------------------------


def test_every_default(files_args: list[str], ctrs_file: str, tmp_path: Path) -> None:
    cfg = parse_args(files_args)
    assert cfg == JobConfig(
        source="files",
        sink="files",
        contact_events=None,
        ctrs=ctrs_file,
        agent_events=None,
        output=str(tmp_path / "out"),
        bootstrap_servers=None,
        topics_in={"contact_events": "connect.contact-events", "ctrs": "connect.ctrs",
                   "agent_events": "connect.agent-events"},
        group_id="connect-metrics",
        starting_offsets="earliest",
        bounded=False,
        idleness_ms=30_000,
        parallelism=1,
        execution_mode="thread",
        checkpoint_interval_ms=10_000,
        checkpoint_timeout_ms=120_000,
        min_pause_ms=2_000,
        unaligned_checkpoints=False,
        state_backend="hashmap",
        checkpoint_dir=None,
        restart_attempts=10,
        restart_delay_ms=1_000,
        transaction_timeout_ms=900_000,
        transactional_id_prefix="connect-metrics",
        create_topics=True,
        jar=None,
        kafka_properties={},
        job_name="connect-metrics",
        settings=Settings(
            window_ms=60_000,
            out_of_orderness_ms=60_000,
            allowed_lateness_ms=900_000,
            thresholds=(15, 20, 30, 60, 90, 120),
            contact_retention_ms=86_400_000,
            dedupe_retention_ms=604_800_000,
            agent_timeout_ms=240_000,
            max_future_ms=86_400_000,  # file mode: a replay of history, only typos are caught
            max_record_bytes=921_600,
            outputs={"queue": "connect.metrics.queue", "agent": "connect.metrics.agent",
                     "contact": "connect.contacts", "deadletter": "connect.deadletter",
                     "queue_live": "connect.metrics.queue.live",
                     "agent_live": "connect.metrics.agent.live"},
            live_interval_ms=10_000,
            live_out_of_orderness_ms=5_000,
            input_batch=256,  # thread mode: source records in key-group batches
            state_write_back=True,  # with batches and aligned checkpoints
        ),
    )


def test_sink_defaults_to_the_source() -> None:
    cfg = parse_args(KAFKA_ARGS)
    assert (cfg.source, cfg.sink, cfg.bootstrap_servers) == ("kafka", "kafka", "broker:9092")


def test_flags_are_applied(files_args: list[str]) -> None:
    cfg = parse_args([*files_args, "--window", "5m", "--allowed-lateness", "0s",
                      "--ctr-allowed-lateness", "30m",
                      "--thresholds", "30, 15,15", "--parallelism", "4", "--bounded",
                      "--no-create-topics", "--queue-metrics-topic", "q.out",
                      "--kafka-property", "security.protocol=SSL", "--kafka-property", "a=b=c"])
    assert cfg.settings.window_ms == 300_000
    assert cfg.settings.allowed_lateness_ms == 0
    assert cfg.settings.ctr_allowed_lateness_ms == 1_800_000
    assert cfg.settings.thresholds == (15, 30)
    assert cfg.settings.outputs["queue"] == "q.out"
    assert (cfg.parallelism, cfg.bounded, cfg.create_topics) == (4, True, False)
    assert cfg.kafka_properties == {"security.protocol": "SSL", "a": "b=c"}


def test_bug_help_documents_every_flag_and_its_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """BUG (fixed in jobs/config.py): SPEC §5 wants --help to document every flag and its
    default, but flags without help text (the topic flags, --parallelism, --checkpoint-interval,
    --checkpoint-timeout, --state-backend, --job-name) showed neither, and --source, --sink and
    --jar said "(default: ...)" twice, the second time "(default: None)".
    """
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside a flag's help
    blocks = help_blocks(build_parser().format_help())
    parser = build_parser()
    for action in parser._actions:
        if action.dest == "help":
            continue
        block = blocks[action.option_strings[-1]]
        assert block.count("(default: ") == 1, block
        if action.default not in (None, [], False):
            assert f"(default: {action.default})" in block
    assert "(default: files)" in blocks["--source"] and "None" not in blocks["--source"]
    assert "(default: same as --source)" in blocks["--sink"] and "None" not in blocks["--sink"]
    assert "None" not in blocks["--jar"]


def help_blocks(text: str) -> dict[str, str]:
    """{flag: its usage line and help text, joined} from ``--help`` output."""
    blocks: dict[str, str] = {}
    flag = None
    for line in text.splitlines():
        m = re.match(r"^  (-[-\w]+)", line)
        if m:
            flag = m.group(1)
            blocks[flag] = line.strip()
        elif flag and line.startswith("   "):
            blocks[flag] += " " + line.strip()
        else:
            flag = None
    return blocks


# --- durations and thresholds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [("60s", 60_000), ("15m", 900_000), ("24h", 86_400_000), ("7d", 604_800_000),
     ("500ms", 500), ("90", 90_000), ("0", 0), ("1.5s", 1_500), ("2min", 120_000),
     (" 10 s ", 10_000), ("0.25h", 900_000)],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration_ms(text, "--x") == ms


@pytest.mark.parametrize("text", ["", "abc", "-5s", "10x", "5 s m", "1e3", "15M", "s"])
def test_bad_duration_names_the_flag(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--idleness: expected a duration"):
        parse_duration_ms(text, "--idleness")


def test_parse_thresholds_sorts_and_dedupes() -> None:
    assert parse_thresholds("120,15, 20,15") == (15, 20, 120)


@pytest.mark.parametrize("text", ["a,b", "15,x", "", ",", "0,15", "-5", "1.5"])
def test_bad_thresholds_name_the_flag(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--thresholds: "):
        parse_thresholds(text)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--window", "90500ms"], "--window"),
        (["--window", "1.5s"], "--window"),
        (["--window", "500ms"], "--window"),
        (["--window", "0"], "--window"),
        (["--window", "sixty"], "--window"),
        (["--thresholds", "a,b"], "--thresholds"),
        (["--allowed-lateness", "15 minutes"], "--allowed-lateness"),
        (["--ctr-allowed-lateness", "2 hours"], "--ctr-allowed-lateness"),
        (["--ctr-allowed-lateness", "25h"], "--contact-retention"),  # longer than the 24 h
        (["--dedupe-retention", "1h"], "--dedupe-retention"),  # shorter than 24 h retention
        (["--agent-timeout", "0s"], "--agent-timeout"),
        (["--parallelism", "0"], "--parallelism"),
        (["--jar", "/nonexistent/deps.jar"], "--jar"),
        (["--kafka-property", "no-equals-sign"], "--kafka-property"),
        (["--kafka-property", "=value"], "--kafka-property"),
        (["--max-future", "soon"], "--max-future"),
        (["--max-future=-5m"], "--max-future"),
        (["--max-record-bytes", "1023"], "--max-record-bytes"),
        (["--max-record-bytes", "0"], "--max-record-bytes"),
        (["--input-batch=-1"], "--input-batch"),
        (["--input-batch", "10001"], "--input-batch"),
    ],
)
def test_bad_values_fail_naming_the_flag(files_args: list[str], extra: list[str],
                                         flag: str) -> None:
    assert config_error([*files_args, *extra]).startswith(flag)


def test_input_batches_are_for_thread_mode_only(files_args: list[str]) -> None:
    """Process mode has no keyed state backend in the interpreter to switch keys in."""
    assert parse_args([*files_args, "--input-batch", "32"]).settings.input_batch == 32
    assert parse_args([*files_args, "--input-batch", "0"]).settings.input_batch == 0
    process = parse_args([*files_args, "--execution-mode", "process", "--input-batch", "32"])
    assert process.settings.input_batch == 0


def test_state_write_back_needs_batches_and_aligned_checkpoints(files_args: list[str]) -> None:
    """Write-back flushes at the markers the batchers send before each barrier: without batches
    there is no marker, and an unaligned snapshot does not wait for one (udfs.cached_state)."""
    assert parse_args(files_args).settings.state_write_back is True
    for extra in (["--input-batch", "0"], ["--execution-mode", "process"],
                  ["--unaligned-checkpoints"]):
        assert parse_args([*files_args, *extra]).settings.state_write_back is False, extra


def test_max_future_default_depends_on_the_source(files_args: list[str]) -> None:
    """SPEC §3: 5 minutes ahead of the wall clock for live sources; a file replay is history."""
    assert parse_args(KAFKA_ARGS).settings.max_future_ms == 300_000
    kinesis = ["--source", "kinesis", "--ctrs-stream",
               "arn:aws:kinesis:us-east-1:111122223333:stream/ctrs",
               "--bootstrap-servers", "b:9092"]
    assert parse_args(kinesis).settings.max_future_ms == 300_000
    assert parse_args(files_args).settings.max_future_ms == 86_400_000


@pytest.mark.parametrize(("value", "ms"), [("2m", 120_000), ("0", 0), ("1h", 3_600_000)])
def test_max_future_flag(files_args: list[str], value: str, ms: int) -> None:
    assert parse_args([*KAFKA_ARGS, "--max-future", value]).settings.max_future_ms == ms
    assert parse_args([*files_args, "--max-future", value]).settings.max_future_ms == ms


def test_max_record_bytes_flag(files_args: list[str]) -> None:
    assert parse_args(KAFKA_ARGS).settings.max_record_bytes == 900 * 1024
    cfg = parse_args([*KAFKA_ARGS, "--max-record-bytes", "1024"])
    assert cfg.settings.max_record_bytes == 1024
    with pytest.raises(SystemExit):  # not an integer: argparse's usage error names the flag
        parse_args([*KAFKA_ARGS, "--max-record-bytes", "x1"])


def test_max_future_and_record_bytes_from_properties(tmp_path: Path) -> None:
    path = write_properties(tmp_path, [{"PropertyGroupId": "FlinkApplicationProperties",
                                        "PropertyMap": {"source": "kafka",
                                                        "bootstrap-servers": "b:9092",
                                                        "max-future": "90s",
                                                        "max-record-bytes": "500000"}}])
    settings = parse_args(["--properties", path]).settings
    assert (settings.max_future_ms, settings.max_record_bytes) == (90_000, 500_000)


def test_files_sink_needs_output(ctrs_file: str) -> None:
    assert config_error(["--ctrs", ctrs_file]).startswith("--sink files: --output")


def test_files_source_needs_an_input(tmp_path: Path) -> None:
    assert config_error(["--output", str(tmp_path)]).startswith("--source files: give at least")


def test_missing_input_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.jsonl")
    msg = config_error(["--agent-events", missing, "--output", str(tmp_path)])
    assert msg == f"--agent-events: no such file: {missing}"


@pytest.mark.parametrize("argv", [["--source", "kafka"], ["--sink", "kafka"]])
def test_kafka_needs_bootstrap_servers(argv: list[str], files_args: list[str]) -> None:
    msg = config_error([*files_args, *argv])
    assert "--bootstrap-servers is required" in msg


def test_transaction_timeout_must_exceed_checkpoint_interval_plus_timeout() -> None:
    # 10 s interval + 2 m timeout = 130 s
    msg = config_error([*KAFKA_ARGS, "--transaction-timeout", "130s"])
    assert msg.startswith("--transaction-timeout: must exceed")
    assert parse_args([*KAFKA_ARGS, "--transaction-timeout", "131s"]).transaction_timeout_ms \
        == 131_000
    assert config_error([*KAFKA_ARGS, "--checkpoint-interval", "1m", "--checkpoint-timeout",
                         "14m"]).startswith("--transaction-timeout")


def test_transaction_timeout_is_not_checked_for_a_file_sink(files_args: list[str]) -> None:
    cfg = parse_args([*files_args, "--transaction-timeout", "1s"])
    assert cfg.transaction_timeout_ms == 1_000


def test_kafka_sink_needs_checkpoints() -> None:
    msg = config_error([*KAFKA_ARGS, "--checkpoint-interval", "0s"])
    assert msg.startswith("--checkpoint-interval")


def test_unknown_flag_and_bad_choice_exit_with_usage(files_args: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args([*files_args, "--windw", "60s"])
    with pytest.raises(SystemExit):
        parse_args([*files_args, "--state-backend", "memory"])


# --- application_properties.json ----------------------------------------------------------


def managed_flink_groups() -> list[dict]:
    return [
        {"PropertyGroupId": "FlinkApplicationProperties",
         "PropertyMap": {"source": "kafka", "bootstrap-servers": "b-1.msk:9098",
                         "window": "5m", "thresholds": "20,60"}},
        {"PropertyGroupId": "Runtime",
         "PropertyMap": {"parallelism": "4", "bounded": "true", "unaligned-checkpoints": False,
                         "queue-metrics-topic": "prod.queue"}},
        {"PropertyGroupId": "kafka",
         "PropertyMap": {"security.protocol": "SASL_SSL", "sasl.mechanism": "AWS_MSK_IAM",
                         "sasl.jaas.config": JAAS}},
    ]


def test_property_groups_are_applied(tmp_path: Path) -> None:
    cfg = parse_args(["--properties", write_properties(tmp_path, managed_flink_groups())])
    assert (cfg.source, cfg.sink, cfg.bootstrap_servers) == ("kafka", "kafka", "b-1.msk:9098")
    assert cfg.settings.window_ms == 300_000
    assert cfg.settings.thresholds == (20, 60)
    assert (cfg.parallelism, cfg.bounded, cfg.unaligned_checkpoints) == (4, True, False)
    assert cfg.settings.outputs["queue"] == "prod.queue"
    assert cfg.kafka_properties == {"security.protocol": "SASL_SSL",
                                    "sasl.mechanism": "AWS_MSK_IAM", "sasl.jaas.config": JAAS}


def test_command_line_flags_win_over_the_file(tmp_path: Path) -> None:
    path = write_properties(tmp_path, managed_flink_groups())
    cfg = parse_args(["--properties", path, "--window", "2m", "--parallelism=2",
                      "--kafka-property", "security.protocol=SSL"])
    assert cfg.settings.window_ms == 120_000
    assert cfg.parallelism == 2
    assert cfg.settings.thresholds == (20, 60)  # not given on the command line: the file's
    assert cfg.kafka_properties["security.protocol"] == "SSL"


def test_bug_an_abbreviated_flag_also_wins_over_the_file(tmp_path: Path) -> None:
    """BUG (fixed in jobs/config.py _explicit_dests): argparse accepts unambiguous prefixes
    (``--parallel 2``), but the command-line scan matched whole flag names only, so the file's
    value silently replaced the one given on the command line.
    """
    path = write_properties(tmp_path, managed_flink_groups())
    cfg = parse_args(["--properties", path, "--parallel", "2", "--thresh", "15"])
    assert cfg.parallelism == 2
    assert cfg.settings.thresholds == (15,)


def test_the_managed_flink_file_is_read_automatically(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_properties(tmp_path, managed_flink_groups())
    monkeypatch.setattr(config, "MANAGED_FLINK_PROPERTIES", path)
    assert parse_args([]).bootstrap_servers == "b-1.msk:9098"


def test_properties_as_an_object_of_groups(tmp_path: Path) -> None:
    path = write_properties(tmp_path, {"App": {"window": "30s"}, "kafka": {"acks": "all"}})
    assert load_properties(path) == ({"window": "30s"}, {"acks": "all"})


def test_no_properties_file_means_no_properties() -> None:
    assert load_properties(None) == ({}, {})


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([{"PropertyGroupId": "App", "PropertyMap": {"windw": "60s"}}],
         "--properties: unknown key 'windw'"),
        ([{"PropertyGroupId": "App", "PropertyMap": {"parallelism": "four"}}],
         "--parallelism: expected an integer"),
        ([{"PropertyGroupId": "App", "PropertyMap": {"state-backend": "memory"}}],
         "--state-backend: expected one of"),
        ([{"PropertyGroupId": "App"}], "each group needs a PropertyMap"),
        ([{"PropertyGroupId": "App", "PropertyMap": ["window=60s"]}],
         "each group needs a PropertyMap"),
        ("just a string", "must hold a list of property groups"),
        ([{"PropertyGroupId": "App", "PropertyMap": {"window": "61.5s"}}], "--window"),
    ],
)
def test_bad_properties_fail(tmp_path: Path, groups: object, message: str) -> None:
    msg = config_error(["--properties", write_properties(tmp_path, groups)])
    assert message in msg


def test_unreadable_properties_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert config_error(["--properties", str(bad)]).startswith(f"--properties: cannot read {bad}")
    missing = tmp_path / "missing.json"
    assert config_error(["--properties", str(missing)]).startswith("--properties: cannot read")


# --- describe -----------------------------------------------------------------------------


def test_describe_redacts_secrets(tmp_path: Path) -> None:
    cfg = parse_args(["--properties", write_properties(tmp_path, managed_flink_groups()),
                      "--kafka-property", f"ssl.truststore.password={SECRET}",
                      "--kafka-property", f"ssl.keystore.PASSWORD={SECRET}"])
    text = describe(cfg)
    assert SECRET not in text
    assert "'sasl.jaas.config': '***'" in text
    assert "'ssl.truststore.password': '***'" in text
    assert "'ssl.keystore.PASSWORD': '***'" in text
    assert "'security.protocol': 'SASL_SSL'" in text
    assert "'sasl.mechanism': 'AWS_MSK_IAM'" in text
    assert text.startswith("source=kafka sink=kafka window=300000ms out_of_orderness=60000ms "
                           "lateness=900000ms ctr_lateness=7200000ms thresholds=[20, 60] "
                           "parallelism=4 mode=thread")


def test_bad_kafka_property_error_does_not_echo_a_secret(files_args: list[str]) -> None:
    msg = config_error([*files_args, "--kafka-property", f"sasl.jaas.config{SECRET}"])
    assert SECRET not in msg


# --- report intervals -----------------------------------------------------------------------


def test_report_windows_default_none(files_args: list[str]) -> None:
    cfg = parse_args(files_args)
    assert cfg.settings.report_windows == ()
    assert set(config.output_file_names(cfg.settings)) == {"queue", "agent", "contact",
                                                             "deadletter", "queue_live",
                                                             "agent_live"}


def test_report_windows_topics_and_files(files_args: list[str]) -> None:
    cfg = parse_args(files_args + ["--report-windows", "15m, 30m,1h,1d",
                                   "--queue-metrics-topic", "q"])
    s = cfg.settings
    assert s.report_windows == (("15m", 900_000), ("30m", 1_800_000), ("1h", 3_600_000),
                                ("1d", 86_400_000))
    assert s.outputs["queue.15m"] == "q.15m"
    assert s.outputs["agent.1d"] == "connect.metrics.agent.1d"
    files = config.output_file_names(s)
    assert files["queue.15m"] == "queue_metrics_15m.jsonl"
    assert files["agent.1h"] == "agent_metrics_1h.jsonl"
    assert files["queue"] == "queue_metrics.jsonl"


@pytest.mark.parametrize(("flags", "message"), [
    (["--report-windows", "90s"], "--report-windows: 90s is not a multiple of --window"),
    (["--window", "7m", "--report-windows", "15m"], "not a multiple of --window (420s)"),
    (["--report-windows", "15m,15m"], "--report-windows: 15m given twice"),
    (["--report-windows", "15 minutes"], "--report-windows: expected comma-separated"),
    (["--report-windows", "15m,x"], "--report-windows: expected a duration"),
    (["--report-windows", "0m"], "--report-windows: 0m is not a multiple"),
])
def test_report_windows_validation_names_the_flag(files_args: list[str], flags: list[str],
                                                 message: str) -> None:
    assert message in config_error(files_args + flags)


def test_report_windows_from_properties(files_args: list[str], tmp_path: Path) -> None:
    path = write_properties(tmp_path, [{"PropertyGroupId": "ConnectMetrics",
                                        "PropertyMap": {"report-windows": "1h"}}])
    cfg = parse_args(files_args + ["--properties", path])
    assert cfg.settings.report_windows == (("1h", 3_600_000),)
