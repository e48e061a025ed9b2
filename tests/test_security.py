"""Kafka security settings reach both the source and the sink; secrets never leak.

- The ``kafka`` property group / ``--kafka-property`` flags (SASL_SSL + SCRAM, mutual TLS, MSK
  IAM) end up, verbatim, in the built Java ``KafkaSource`` of each of the three feeds and in the
  exactly-once ``KafkaSink``: read back from the Java objects through py4j.
- The documented property values work with the shaded jar: the relocated kafka-clients find the
  SCRAM login module under its relocated name (and not under the upstream one — the reason
  conf/security.md spells it out), and the MSK IAM login module and callback handler.
- A SASL/SCRAM-only broker listener: the job reads and writes through it with the documented
  settings and produces exactly the scripted scenario's metrics; the password appears in none of
  its output, its Flink log or the start-up line.
- Configuration errors and the start-up log line never contain a secret.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from jobs.config import ConfigError, parse_args

REPO_ROOT = Path(__file__).resolve().parents[1]
JAR = REPO_ROOT / "lib" / "connect-metrics-deps.jar"
SECRET = f"pw-{uuid.uuid4().hex}"
SHADED = "org.apache.flink.kafka.shaded."
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
IAM_MODULE = "software.amazon.msk.auth.iam.IAMLoginModule"
IAM_HANDLER = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"


def scram_jaas(user: str = "metrics", password: str = SECRET) -> str:
    return f'{SHADED}{SCRAM_MODULE} required username="{user}" password="{password}";'


SASL_SSL_SCRAM = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.jaas.config": scram_jaas(),
    "ssl.truststore.location": "/etc/kafka/truststore.jks",
    "ssl.truststore.password": SECRET,
}
MUTUAL_TLS = {
    "security.protocol": "SSL",
    "ssl.keystore.type": "PKCS12",
    "ssl.keystore.location": "/etc/kafka/client.p12",
    "ssl.keystore.password": SECRET,
    "ssl.key.password": SECRET,
    "ssl.truststore.location": "/etc/kafka/truststore.jks",
    "ssl.truststore.password": SECRET,
    "ssl.endpoint.identification.algorithm": "https",
}
MSK_IAM = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "AWS_MSK_IAM",
    "sasl.jaas.config": f"{IAM_MODULE} required;",
    "sasl.client.callback.handler.class": IAM_HANDLER,
}
KAFKA_ARGS = ["--source", "kafka", "--bootstrap-servers", "broker-1.example:9096",
              "--no-create-topics", "--jar", str(JAR)]


def jar_has_msk_iam(jar: Path = JAR) -> bool:
    with zipfile.ZipFile(jar) as z:
        return IAM_HANDLER.replace(".", "/") + ".class" in z.namelist()


# --- no JVM: errors and the start-up line -------------------------------------------------------


def test_config_errors_never_show_a_secret(tmp_path: Path, capsys) -> None:
    props = tmp_path / "application_properties.json"
    props.write_text(json.dumps([
        {"PropertyGroupId": "kafka", "PropertyMap": SASL_SSL_SCRAM},
        {"PropertyGroupId": "job", "PropertyMap": {"parallelism": "many"}},
    ]))
    cases = [
        ["--properties", str(props), *KAFKA_ARGS],                         # bad job key
        [*KAFKA_ARGS, "--kafka-property", f"ssl.truststore.password:{SECRET}"],  # no '='
        [*KAFKA_ARGS, "--kafka-property", SECRET],
        [*KAFKA_ARGS, "--kafka-property", f"ssl.key.password={SECRET}",
         "--checkpoint-interval", "20m"],                                 # txn timeout check
    ]
    for argv in cases:
        with pytest.raises(ConfigError) as err:
            parse_args(argv)
        assert SECRET not in str(err.value), argv
    # argparse's own errors: a mistyped flag would otherwise print its value
    for argv in ([*KAFKA_ARGS, "--kafka-propety", f"sasl.jaas.config={scram_jaas()}"],
                 [*KAFKA_ARGS, f"ssl.truststore.password={SECRET}"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
        err_text = capsys.readouterr().err
        assert "unrecognized arguments" in err_text and SECRET not in err_text


def test_help_shows_no_secret_from_the_environment(tmp_path: Path) -> None:
    props = tmp_path / "application_properties.json"
    props.write_text(json.dumps([{"PropertyGroupId": "kafka", "PropertyMap": MUTUAL_TLS}]))
    result = subprocess.run([sys.executable, "-m", "jobs.connect_metrics", "--properties",
                             str(props), "--help"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0 and "--kafka-property" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_start_up_line_redacts_every_secret(tmp_path: Path, monkeypatch, caplog,
                                            capsys) -> None:
    """main() logs its configuration first thing; build_job is stopped right after that."""
    import jobs.connect_metrics as entry

    def stop_here(cfg):
        raise ConfigError("--jar: stopped by the test")

    monkeypatch.setattr(entry, "build_job", stop_here)
    props = tmp_path / "application_properties.json"
    props.write_text(json.dumps([{"PropertyGroupId": "kafka", "PropertyMap": MUTUAL_TLS}]))
    argv = ["--properties", str(props), *KAFKA_ARGS,
            *[f"--kafka-property={k}={v}" for k, v in SASL_SSL_SCRAM.items()]]
    with caplog.at_level(logging.INFO, logger="connect_metrics"):
        assert entry.main(argv) == 2
    logged = caplog.text + "".join(capsys.readouterr())
    assert "starting: source=kafka" in logged
    assert SECRET not in logged
    for key in ("sasl.jaas.config", "ssl.truststore.password", "ssl.keystore.password",
                "ssl.key.password"):
        assert f"'{key}': '***'" in logged
    assert "'security.protocol': 'SASL_SSL'" in logged  # not secret: shown


# --- the built Java objects (py4j) --------------------------------------------------------------


def java_field(obj, name: str):
    """A private field of a Java object (walks up the class hierarchy)."""
    from py4j.protocol import Py4JJavaError

    cls = obj.getClass()
    while cls is not None:
        try:
            field = cls.getDeclaredField(name)
        except Py4JJavaError:
            cls = cls.getSuperclass()
            continue
        field.setAccessible(True)
        return field.get(obj)
    raise AttributeError(name)


def as_dict(props) -> dict[str, str]:
    return {str(k): str(props.getProperty(k)) for k in props.stringPropertyNames()}


def built_connectors(monkeypatch, argv: list[str]) -> tuple[list[dict], list[dict]]:
    """Build the whole job as main() would; return the Kafka properties of every KafkaSource
    and KafkaSink it created (caught on their way into the job graph)."""
    from pyflink.datastream import DataStream, StreamExecutionEnvironment

    from jobs.connect_metrics import build_job

    sources, sinks = [], []
    from_source, sink_to = StreamExecutionEnvironment.from_source, DataStream.sink_to

    def spy_source(self, source, *args, **kwargs):
        sources.append(source)
        return from_source(self, source, *args, **kwargs)

    def spy_sink(self, sink):
        sinks.append(sink)
        return sink_to(self, sink)

    monkeypatch.setattr(StreamExecutionEnvironment, "from_source", spy_source)
    monkeypatch.setattr(DataStream, "sink_to", spy_sink)
    build_job(parse_args(argv))
    source_props = [as_dict(java_field(s.get_java_function(), "props")) for s in sources]
    sink_props = [as_dict(java_field(s.get_java_function(), "kafkaProducerConfig"))
                  for s in sinks]
    return source_props, sink_props


@pytest.mark.parametrize("settings,via", [(SASL_SSL_SCRAM, "flags"), (MUTUAL_TLS, "group"),
                                          (MSK_IAM, "group")],
                         ids=["sasl_ssl_scram-flags", "mutual_tls-group", "msk_iam-group"])
def test_security_settings_reach_every_source_and_the_sink(settings: dict, via: str,
                                                           tmp_path: Path, monkeypatch) -> None:
    argv = list(KAFKA_ARGS)
    if via == "flags":
        argv += [a for k, v in settings.items() for a in ("--kafka-property", f"{k}={v}")]
    else:
        props = tmp_path / "application_properties.json"
        props.write_text(json.dumps([{"PropertyGroupId": "kafka", "PropertyMap": settings}]))
        argv += ["--properties", str(props)]
    sources, sinks = built_connectors(monkeypatch, argv)
    # three feeds, each read by the main path and by the live path (own watermarks)
    assert len(sources) == 6 and len(sinks) == 1
    for props in [*sources, *sinks]:
        assert {k: props.get(k) for k in settings} == settings
        assert props["bootstrap.servers"] == "broker-1.example:9096"
    # the live path commits its offsets under a group of its own
    assert {p["group.id"] for p in sources} == {"connect-metrics", "connect-metrics.2"}
    assert sinks[0]["transaction.timeout.ms"] == "900000"


def _shaded_consumer(props: dict[str, str]) -> None:
    """Construct (and close) a relocated KafkaConsumer: this resolves the SASL mechanism, logs
    in through JAAS and instantiates the callback handler — without any network traffic."""
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    j_props = jvm.java.util.Properties()
    deserializer = f"{SHADED}org.apache.kafka.common.serialization.ByteArrayDeserializer"
    for key, value in {"bootstrap.servers": "127.0.0.1:9", "group.id": "probe",
                       "key.deserializer": deserializer, "value.deserializer": deserializer,
                       **props}.items():
        j_props.setProperty(key, value)
    consumer = getattr(jvm, f"{SHADED}org.apache.kafka.clients.consumer.KafkaConsumer")(j_props)
    consumer.close()


@pytest.fixture(scope="module")
def shaded_jar_loaded() -> None:
    """The gateway with lib/connect-metrics-deps.jar on its context class loader."""
    from pyflink.datastream import StreamExecutionEnvironment  # noqa: F401

    from jobs.connect_metrics import create_environment

    create_environment(parse_args(KAFKA_ARGS), [str(JAR)])


def test_documented_scram_login_module_loads_from_the_shaded_jar(shaded_jar_loaded) -> None:
    from py4j.protocol import Py4JJavaError

    settings = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512"}
    _shaded_consumer({**settings, "sasl.jaas.config": scram_jaas()})
    # the upstream class name does not exist in the relocated world: say so in the docs
    with pytest.raises(Py4JJavaError) as err:
        _shaded_consumer({**settings, "sasl.jaas.config": scram_jaas().replace(SHADED, "")})
    assert "LoginModule" in str(err.value) and SECRET not in str(err.value)


@pytest.mark.skipif(not jar_has_msk_iam(), reason="lib/connect-metrics-deps.jar predates the MSK "
                    "IAM plugin: run `make setup` to rebuild it")
def test_msk_iam_login_module_and_handler_load_from_the_shaded_jar(shaded_jar_loaded) -> None:
    _shaded_consumer(MSK_IAM)


# --- a SASL/SCRAM broker, end to end ------------------------------------------------------------


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(420)
def test_job_over_sasl_scram_listener_without_leaking_the_password(tmp_path: Path) -> None:
    from tests import test_scenario_scripted as scripted
    from tests.kafka_io import INPUTS, OUTPUTS, by_output, consume_to_end, job_args, produce
    from tools.kafka_local import LocalKafka, create_topics

    user = "metrics"
    broker = LocalKafka(tmp_path / "broker", scram_users={user: SECRET}).start()
    try:
        topics = {name: f"{name}-scram" for name in (*INPUTS, *OUTPUTS)}
        # --no-create-topics: every output topic exists beforehand, the live ones (their
        # default names) included
        create_topics(broker.bootstrap, [topics[n] for n in (*INPUTS, "deadletter")],
                      compacted=[*[topics[n] for n in ("queue", "agent", "contacts")],
                                 "connect.metrics.queue.live", "connect.metrics.agent.live"],
                      configs={"retention.ms": "-1"})
        produce(broker.bootstrap, topics["contact_events"], "contact_events",
                scripted.contact_event_lines())
        produce(broker.bootstrap, topics["ctrs"], "ctrs", list(scripted.CTRS.values()))
        produce(broker.bootstrap, topics["agent_events"], "agent_events", scripted.agent_lines())
        scram = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                 "sasl.jaas.config": scram_jaas(user)}
        # the job only knows the SASL listener: every connection it makes authenticates
        argv = job_args(broker.sasl_bootstrap, topics, [
            "--bounded", "--no-create-topics",
            *[a for k, v in scram.items() for a in ("--kafka-property", f"{k}={v}")]])
        log_dir = tmp_path / "flink-log"
        env = {k: v for k, v in os.environ.items() if k != "FLINK_IDENT_STRING"}
        env["FLINK_LOG_DIR"] = str(log_dir)
        result = subprocess.run([sys.executable, "-m", "jobs.connect_metrics", *argv],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                timeout=360, check=False)
        flink_log = "\n".join(p.read_text(errors="replace") for p in log_dir.glob("*.log"))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] \
            + flink_log[-5000:]
        out = by_output(consume_to_end(broker.bootstrap, [topics[o] for o in OUTPUTS]), topics)
        scripted.assert_expected(out)
        assert "sasl.jaas.config = [hidden]" in flink_log  # the clients did get it, hidden
        everything = result.stdout + result.stderr + flink_log + json.dumps(out)
        assert SECRET not in everything
        assert "'sasl.jaas.config': '***'" in result.stdout + result.stderr
    finally:
        broker.stop()
