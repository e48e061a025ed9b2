"""The live path end to end on a real Kafka broker: multi-partition input topics, parallelism 2,
the exactly-once sink, outputs read back with read_committed — the scripted scenario's every
tick, exactly as in file mode."""

from __future__ import annotations

import pytest

from tests import test_live_scenario as scripted
from tests.kafka_io import INPUTS, consume_to_end, job_args, produce
from tests.live_job import run_live_kafka

pytestmark = pytest.mark.kafka


def test_scripted_live_scenario_over_kafka(kafka_bootstrap, kafka_topics):
    topics = kafka_topics(INPUTS + ("queue", "agent", "contacts", "deadletter"), partitions=3,
                          compacted=("queue_live", "agent_live"))
    for stream, lines in (("contact_events", scripted.contact_lines()), ("ctrs", scripted.CTRS),
                          ("agent_events", scripted.agent_lines())):
        # keyed like Connect's bridges: an agent's events stay in order in their partition
        produce(kafka_bootstrap, topics[stream], stream, lines, keyed=True)

    run_live_kafka(job_args(kafka_bootstrap, topics, [
        "--bounded", "--parallelism", "2", "--agent-timeout", "60s",
        "--queue-live-topic", topics["queue_live"],
        "--agent-live-topic", topics["agent_live"]]))

    records = consume_to_end(kafka_bootstrap, [topics["queue_live"], topics["agent_live"]])
    queue, agents = [], []
    for r in records:
        (queue if r.pop("_topic") == topics["queue_live"] else agents).append(r)
    for key, table in ((f"{scripted.SUPPORT}|VOICE", scripted.SUPPORT_TABLE),
                       (f"{scripted.CHAT}|CHAT", scripted.CHAT_TABLE),
                       (f"{scripted.ANN_Q}|VOICE", scripted.ANN_Q_TABLE)):
        arn, _, channel = key.rpartition("|")
        name = {scripted.SUPPORT: "Support", scripted.CHAT: "Chat"}.get(arn)
        # one key's records are committed in tick order (one subtask writes a key)
        assert [r for r in queue if r["key"] == key] == scripted.rows(arn, name, channel, table)
    assert len(queue) == sum(len(t) for t in (scripted.SUPPORT_TABLE, scripted.CHAT_TABLE,
                                               scripted.ANN_Q_TABLE))
    assert sorted(agents, key=lambda r: (r["key"], r["as_of"])) == sorted(
        scripted.expected_agents(), key=lambda r: (r["key"], r["as_of"]))
