"""Create missing Kafka topics: the job's outputs at start-up, and any topics for local tools.

Metric, live and contact-fact topics are compacted (the Kafka key is the record's ``key``), so a
compacted topic holds the latest revision of each window; the dead-letter topic is not.
"""

from __future__ import annotations

import logging
from typing import Iterable, Optional

LOG = logging.getLogger(__name__)
COMPACTED = {"cleanup.policy": "compact"}


def ensure_topics(bootstrap: str, names: Iterable[str], compacted: Iterable[str] = (),
                  partitions: int = 1, client_config: Optional[dict] = None,
                  topic_config: Optional[dict] = None, timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. Idempotent."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    conf = {"bootstrap.servers": bootstrap}
    conf.update(client_config or {})
    admin = AdminClient(conf)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    compacted = set(compacted)
    wanted = [n for n in dict.fromkeys(names) if n not in existing]
    if not wanted:
        return []
    new = []
    for name in wanted:
        config = dict(topic_config or {})
        if name in compacted:
            config.update(COMPACTED)
        new.append(NewTopic(name, num_partitions=partitions, replication_factor=-1,
                            config=config))
    created = []
    for name, future in admin.create_topics(new, request_timeout=timeout_s).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as e:
            if e.args and getattr(e.args[0], "name", lambda: "")() == "TOPIC_ALREADY_EXISTS":
                continue
            raise
    return created


def _client_config(kafka_properties: dict) -> dict:
    """Kafka properties that librdkafka understands (security settings pass straight through)."""
    keep = ("security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username",
            "sasl.password", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
            "ssl.key.password")
    return {k: v for k, v in kafka_properties.items() if k in keep}


def ensure_output_topics(cfg) -> None:
    """The job's output topics, created if missing (metric and contact topics compacted)."""
    from udfs.settings import (
        AGENT,
        AGENT_LIVE,
        CONTACT,
        DEADLETTER,
        QUEUE,
        QUEUE_LIVE,
        REPORT_KINDS,
        report_output,
    )

    outs = cfg.settings.outputs
    reports = [outs[report_output(kind, name)] for name, _ in cfg.settings.report_windows
               for kind in REPORT_KINDS]
    compacted = [outs[QUEUE], outs[AGENT], outs[CONTACT], *reports]
    if cfg.settings.live_interval_ms:
        compacted += [outs[QUEUE_LIVE], outs[AGENT_LIVE]]
    try:
        created = ensure_topics(cfg.bootstrap_servers, [*compacted, outs[DEADLETTER]],
                                compacted=compacted,
                                client_config=_client_config(cfg.kafka_properties))
    except Exception as e:  # noqa: BLE001 - a broker we cannot administer is not fatal here
        LOG.warning("could not check/create output topics (%s); the job continues", e)
        return
    if created:
        LOG.info("created output topics: %s", ", ".join(created))
