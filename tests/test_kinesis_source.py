"""The optional Kinesis Data Streams sources: flags, stream ARNs, and the source builder.

Amazon Connect delivers CTRs and agent events to Kinesis, so ``--source kinesis`` reads them
with the AWS connector's ``KinesisStreamsSource``. The connector is only in
lib/connect-metrics-deps.jar when it was built with ``mvn -Pkinesis package``: without it the job
must fail at start-up with a message that says so; with it the builder must load in PyFlink. No
AWS access is needed: nothing connects to Kinesis before the job runs.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from jobs.config import ConfigError, parse_args
from jobs.connect_metrics import DEFAULT_JAR
from jobs.sources import KINESIS_SOURCE_CLASS

ACCOUNT = "111122223333"
CTR_ARN = f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/connect-ctrs"
AGENT_ARN = f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/connect-agent-events"
BASE = ["--source", "kinesis", "--bootstrap-servers", "b-1.msk:9092"]


def jar_has_kinesis(jar: str = DEFAULT_JAR) -> bool:
    try:
        with zipfile.ZipFile(jar) as z:
            return KINESIS_SOURCE_CLASS.replace(".", "/") + ".class" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def test_stream_arns_define_region_and_the_sink_defaults_to_kafka():
    cfg = parse_args(BASE + ["--ctrs-stream", CTR_ARN, "--agent-events-stream", AGENT_ARN])
    assert (cfg.source, cfg.sink) == ("kinesis", "kafka")
    assert cfg.kinesis_region == "eu-west-1"
    assert cfg.streams_in == {"ctrs": CTR_ARN, "agent_events": AGENT_ARN}


def test_stream_names_become_arns_with_region_and_account():
    cfg = parse_args(BASE + ["--ctrs-stream", "connect-ctrs", "--kinesis-region", "eu-west-1",
                             "--aws-account-id", ACCOUNT])
    assert cfg.streams_in == {"ctrs": CTR_ARN}
    china = parse_args(BASE + ["--ctrs-stream", "s", "--kinesis-region", "cn-north-1",
                               "--aws-account-id", ACCOUNT])
    assert china.streams_in["ctrs"] == f"arn:aws-cn:kinesis:cn-north-1:{ACCOUNT}:stream/s"


def test_kinesis_settings_from_flags_and_the_kinesis_property_group(tmp_path: Path):
    path = tmp_path / "application_properties.json"
    path.write_text(json.dumps([
        {"PropertyGroupId": "kinesis.analytics.flink.run.options",
         "PropertyMap": {"python": "jobs/connect_metrics.py"}},
        {"PropertyGroupId": "ConnectMetrics",
         "PropertyMap": {"source": "kinesis", "ctrs-stream": CTR_ARN,
                         "bootstrap-servers": "b-1.msk:9092", "starting-offsets": "latest"}},
        {"PropertyGroupId": "kinesis",
         "PropertyMap": {"source.reader.type": "EFO", "source.efo.consumer.name": "metrics"}},
    ]))
    cfg = parse_args(["--properties", str(path), "--kinesis-property",
                      "source.efo.consumer.name=metrics-2"])
    assert cfg.streams_in == {"ctrs": CTR_ARN}
    assert cfg.starting_offsets == "latest"
    assert cfg.kinesis_properties == {"source.reader.type": "EFO",
                                      "source.efo.consumer.name": "metrics-2"}
    assert cfg.kafka_properties == {}


@pytest.mark.parametrize(("extra", "message"), [
    ([], "--source kinesis: give at least one of --contact-events-stream"),
    (["--ctrs-stream", "connect-ctrs"], "--ctrs-stream: a stream name needs --kinesis-region"),
    (["--ctrs-stream", "arn:aws:kinesis:eu-west-1:12:stream/x"],
     "--ctrs-stream: expected a stream name or arn:aws:kinesis"),
    (["--ctrs-stream", CTR_ARN, "--kinesis-region", "us-east-1"],
     "--ctrs-stream: stream is in eu-west-1, not in the --kinesis-region us-east-1"),
    (["--ctrs-stream", "s", "--kinesis-region", "Europe", "--aws-account-id", ACCOUNT],
     "--kinesis-region: expected a region like us-east-1"),
    (["--ctrs-stream", "s", "--kinesis-region", "eu-west-1", "--aws-account-id", "12"],
     "--aws-account-id: expected 12 digits"),
    (["--ctrs-stream", CTR_ARN, "--starting-offsets", "committed"],
     "--starting-offsets: Kinesis supports earliest or latest"),
    (["--ctrs-stream", CTR_ARN, "--bounded"], "--bounded: not supported with --source kinesis"),
    (["--ctrs-stream", CTR_ARN, "--kinesis-property", "novalue"],
     "--kinesis-property: expected KEY=VALUE"),
])
def test_bad_kinesis_configuration_fails_fast(extra, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        parse_args(BASE + extra)


@pytest.mark.skipif(not Path(DEFAULT_JAR).is_file(), reason="lib/ jar not built (make setup)")
def test_kinesis_source_builder_in_pyflink():
    """With the connector in the jar: a KinesisStreamsSource on the stream ARN, read position
    and region from the flags. Without it: a start-up error that names the Maven profile."""
    from jobs.connect_metrics import create_environment
    from jobs.sources import EventTime, kinesis_source

    cfg = parse_args(BASE + ["--ctrs-stream", CTR_ARN, "--starting-offsets", "latest",
                             "--kinesis-property", "source.shard.discovery.interval=30 s"])
    env = create_environment(cfg, [DEFAULT_JAR])
    if not jar_has_kinesis():
        with pytest.raises(ConfigError, match="-Pkinesis"):
            kinesis_source(env, cfg, CTR_ARN, "ctrs", EventTime(60_000))
        pytest.skip("the jar has no Kinesis connector (build it with `mvn -Pkinesis package`)")
    stream = kinesis_source(env, cfg, CTR_ARN, "ctrs", EventTime(60_000))
    transformation = stream._j_data_stream.getTransformation()
    assert transformation.getName() == "kinesis ctrs"
    source = transformation.getSource()
    assert source.getClass().getName() == KINESIS_SOURCE_CLASS
    assert str(source.getProducedType()) == "Row(f0: String, f1: String, f2: Long)"
