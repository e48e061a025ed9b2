"""An output record over --max-record-bytes goes to the dead-letter topic on the real broker, and
the job finishes (issue 15.5: before, the Kafka sink rejected it and the job failed, then
restarted from its checkpoint into the same record forever)."""

from __future__ import annotations

import pytest

from tests.jobrun import latest_by_key
from tests.kafka_io import INPUTS, OUTPUTS, by_output, consume_to_end, produce, run_bounded
from tests.payloads import ctr, queue_arn

pytestmark = pytest.mark.kafka

LIMIT = 4096  # small, so that small inputs make a record over it
# Many thresholds (3 maps of 60 keys) plus 40 distinct initiation methods make the queue
# record of "big" well over LIMIT, even once input-derived map keys are capped (64 characters,
# 32 keys); each contact fact and the "small" queue's record stay far below it.
THRESHOLDS = ",".join(str(s) for s in range(1, 61))


def _ctr(contact_id: str, queue: str, method: str) -> str:
    return ctr(contact_id, last_update="09:03:00", disconnect="09:02:00", queue=queue,
               enqueued="09:00:10", dequeued="09:00:20", duration=10, agent="ann",
               connected="09:00:20", interaction=90, method=method)


@pytest.mark.timeout(600)
def test_oversized_queue_record_is_dead_lettered_and_the_job_finishes(kafka_bootstrap,
                                                                      kafka_topics) -> None:
    topics = kafka_topics(INPUTS + OUTPUTS[3:], compacted=OUTPUTS[:3])
    lines = [_ctr(f"big-{i}", "big", f"METHOD_{i:02d}_" + "X" * 50) for i in range(40)]
    lines.append(_ctr("small-1", "small", "INBOUND"))
    produce(kafka_bootstrap, topics["ctrs"], "ctrs", lines)

    run_bounded(kafka_bootstrap, topics, ["--max-record-bytes", str(LIMIT),
                                          "--thresholds", THRESHOLDS])

    out = by_output(consume_to_end(kafka_bootstrap, [topics[o] for o in OUTPUTS]), topics)
    big_key = f"{queue_arn('big')}|VOICE|2024-01-15T09:02:00Z"
    small_key = f"{queue_arn('small')}|VOICE|2024-01-15T09:02:00Z"
    queues = latest_by_key(out["queue_metrics"])
    assert big_key not in queues
    assert queues[small_key]["contacts_handled"] == 1
    assert queues[small_key]["contacts_handled_by_initiation_method"] == {"INBOUND": 1}
    [dead] = [d for d in out["deadletter"] if d["key"] == big_key]
    assert dead["stream"] == topics["queue"]
    assert dead["error"].startswith("too_large: output record of ")
    assert dead["error"].endswith(f"exceeds --max-record-bytes {LIMIT}")
    assert dead["raw"].startswith('{"key":"' + big_key + '","revision":1,')
    assert all(d["error"].startswith("too_large") for d in out["deadletter"])
    facts = {f["key"] for f in out["contacts"]}
    assert facts == {f"big-{i}" for i in range(40)} | {"small-1"}  # each fact fits
