"""The simulator: deterministic, self-consistent, realistic, within the job's lateness budget."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from tools import simulate as cli
from tools.sim import AGENT_EVENTS, CONTACT_EVENTS, CTRS, FaultConfig, SimConfig, simulate
from tools.sim.simulation import SimulationResult
from tools.sim.timefmt import parse_iso

WATERMARK_LAG_MS = 60_000
ALLOWED_LATENESS_MS = 15 * 60_000
WINDOW_MS = 60_000


@pytest.fixture(scope="module")
def run() -> SimulationResult:
    """The standard test center: an hour, 20 agents, 600 contacts, default faults."""
    return simulate(SimConfig(seed=11, agents=20, contacts=600))


_parsed: dict[int, dict[str, list[dict[str, Any]]]] = {}


def _good(run: SimulationResult, stream: str) -> list[dict[str, Any]]:
    """The good lines of a stream, parsed (once per run: the module's tests share them)."""
    per_stream = _parsed.setdefault(id(run), {})
    if stream not in per_stream:
        per_stream[stream] = [orjson.loads(r.value) for r in run.records
                              if r.stream == stream and r.good]
    return per_stream[stream]


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("detail", event)


def _ms(text: str) -> int:
    return parse_iso(text)


def _contact_event_time(event: dict[str, Any]) -> int:
    """SPEC §2: the event-type specific timestamp, else the envelope time."""
    d = _detail(event)
    kind = d["eventType"]
    agent_info = d.get("agentInfo") or d.get("AgentInfo") or {}
    if kind == "INITIATED":
        return _ms(d["initiationTimestamp"])
    if kind == "QUEUED":
        return _ms(d["queueInfo"]["enqueueTimestamp"])
    if kind == "CONNECTED_TO_AGENT":
        return _ms(agent_info["connectedToAgentTimestamp"])
    if kind == "DISCONNECTED":
        return _ms(d["disconnectTimestamp"])
    return _ms(event["time"])


# -- determinism --------
def test_same_config_gives_identical_records() -> None:
    cfg = SimConfig(seed=5, agents=6, contacts=120, duration_s=1200)
    first, second = simulate(cfg), simulate(cfg)
    assert [r.value for r in first.records] == [r.value for r in second.records]
    assert first.truth.summary() == second.truth.summary()
    other = simulate(SimConfig(seed=6, agents=6, contacts=120, duration_s=1200))
    assert [r.value for r in other.records] != [r.value for r in first.records]


def test_cli_writes_byte_identical_files(tmp_path: Path) -> None:
    args = ["--seed", "3", "--agents", "5", "--contacts", "80", "--duration", "900", "--quiet"]
    for name in ("a", "b"):
        assert cli.main([*args, "--out", str(tmp_path / name)]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["agent_events.jsonl", "contact_events.jsonl", "ctrs.jsonl",
                     "expected_agent_metrics.jsonl", "expected_queue_metrics.jsonl",
                     "truth.json"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    truth = orjson.loads((tmp_path / "a" / "truth.json").read_bytes())
    lines = (tmp_path / "a" / "ctrs.jsonl").read_bytes().count(b"\n")
    ctr_counts = truth["files"]["ctrs.jsonl"]
    assert lines == ctr_counts["good_lines"] + ctr_counts.get("bad_lines", 0)
    assert truth["expected"]["queue_records"] == (
        (tmp_path / "a" / "expected_queue_metrics.jsonl").read_bytes().count(b"\n"))


def test_fault_shares_do_not_change_what_happens() -> None:
    """Faults only touch delivery: the center behaves the same with or without them."""
    cfg = SimConfig(seed=9, agents=6, contacts=100, duration_s=1200)
    faulty, clean = simulate(cfg), simulate(cfg.with_faults(FaultConfig.none()))
    assert ([(s.contact_id, s.disconnect_ms) for s in faulty.truth.segments]
            == [(s.contact_id, s.disconnect_ms) for s in clean.truth.segments])


# -- lines and faults --------
def test_every_good_line_is_an_object_with_identity_and_time(run: SimulationResult) -> None:
    for event in _good(run, CONTACT_EVENTS):
        d = _detail(event)
        assert d["contactId"] and d["eventType"]
        _contact_event_time(event)
        if d["eventType"] in ("QUEUED", "CONNECTED_TO_AGENT"):
            assert d["queueInfo"]["queueArn"].startswith("arn:aws:connect:us-east-1:")
    for ctr in _good(run, CTRS):
        assert ctr["ContactId"] and _ms(ctr["LastUpdateTimestamp"]) >= _ms(
            ctr["DisconnectTimestamp"])
    for event in _good(run, AGENT_EVENTS):
        assert event["EventId"] and event["AgentARN"] and _ms(event["EventTimestamp"])
        assert isinstance(event["CurrentAgentSnapshot"], dict)


def test_malformed_lines_are_bad_and_counted_as_requested(run: SimulationResult) -> None:
    counts = run.truth.counts
    share = SimConfig().faults.malformed
    for stream in (CONTACT_EVENTS, CTRS, AGENT_EVENTS):
        good = sum(1 for r in run.records if r.stream == stream and r.good)
        bad = [r.value for r in run.records if r.stream == stream and not r.good]
        assert good == counts[f"{stream}.good_lines"]
        assert len(bad) == counts[f"{stream}.bad_lines"] == round(share * good)
        for line in bad:
            assert _is_bad(stream, line), line[:200]
    kinds = {k.split(".bad_", 1)[1] for k in counts if ".bad_" in k and not k.endswith("lines")}
    assert kinds == {"not_json", "truncated_json", "json_array", "missing_id", "bad_timestamp",
                     "wrong_type"}


def _is_bad(stream: str, line: bytes) -> bool:
    """A line the job must dead-letter: not a JSON object, no identity, bad time or types."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return True
    if not isinstance(obj, dict):
        return True
    try:
        if stream == CONTACT_EVENTS:
            d = _detail(obj)
            if not d.get("contactId") or not isinstance(d.get("queueInfo", {}), dict):
                return True
            _contact_event_time(obj)
        elif stream == CTRS:
            if not obj.get("ContactId"):
                return True
            _ms(obj["DisconnectTimestamp"])
            _ms(obj["LastUpdateTimestamp"])
            queue, agent = obj.get("Queue"), obj.get("Agent")
            if queue is not None and not isinstance(queue.get("Duration"), int):
                return True
            if agent is not None and not isinstance(agent.get("AgentInteractionDuration"), int):
                return True
            if not isinstance(obj["Channel"], str):
                return True
        else:
            if not obj.get("EventId") or not isinstance(obj.get("CurrentAgentSnapshot"), dict):
                return True
            _ms(obj["EventTimestamp"])
    except (ValueError, KeyError, TypeError):
        return True
    return False


def test_no_faults_means_clean_feeds() -> None:
    result = simulate(SimConfig(seed=2, agents=6, contacts=100, duration_s=1200,
                                faults=FaultConfig.none()))
    assert all(r.good for r in result.records)
    ctr_ids = [orjson.loads(r.value)["ContactId"] for r in result.records if r.stream == CTRS]
    assert len(ctr_ids) == len(set(ctr_ids)) == len(result.truth.final_ctrs())
    event_ids = [orjson.loads(r.value)["EventId"] for r in result.records
                 if r.stream == AGENT_EVENTS]
    assert len(event_ids) == len(set(event_ids))
    for stream in (CONTACT_EVENTS, CTRS, AGENT_EVENTS):
        times = [r.delivery_ms for r in result.records if r.stream == stream]
        assert times == sorted(times)


def test_duplicates_and_redeliveries_are_present(run: SimulationResult) -> None:
    counts = run.truth.counts
    assert counts["ctrs.duplicate"] > 0 and counts["ctrs.late_redelivery"] > 0
    assert counts["ctrs.preliminary"] > 0
    assert counts["agent_events.duplicate"] > 0 and counts["contact_events.duplicate"] > 0
    final = {s.contact_id: s for s in run.truth.segments}
    latest: dict[str, int] = {}
    for ctr in _good(run, CTRS):
        lu = _ms(ctr["LastUpdateTimestamp"])
        latest[ctr["ContactId"]] = max(lu, latest.get(ctr["ContactId"], lu))
    assert set(latest) == set(final)
    for cid, lu in latest.items():  # the newest copy of each CTR is the truth's final one
        assert lu == final[cid].last_update_ms - final[cid].last_update_ms % 1000


# -- CTR self-consistency ------------------------------------------------------------------------
def test_ctr_durations_match_their_timestamps(run: SimulationResult) -> None:
    for ctr in _good(run, CTRS):
        queue, agent = ctr["Queue"], ctr["Agent"]
        init, disc = _ms(ctr["InitiationTimestamp"]), _ms(ctr["DisconnectTimestamp"])
        assert init <= disc <= _ms(ctr["LastUpdateTimestamp"])
        if queue is not None and queue["EnqueueTimestamp"]:
            enq, deq = _ms(queue["EnqueueTimestamp"]), _ms(queue["DequeueTimestamp"])
            assert queue["Duration"] == (deq - enq) // 1000 >= 0
            assert init <= enq <= deq <= disc
        elif queue is not None:
            assert queue["Duration"] == 0 and ctr["InitiationMethod"] == "OUTBOUND"
        if agent is None:
            continue
        assert agent["AgentInteractionDuration"] >= 0 and agent["CustomerHoldDuration"] >= 0
        assert agent["LongestHoldDuration"] <= agent["CustomerHoldDuration"]
        assert (agent["NumberOfHolds"] == 0) == (agent["CustomerHoldDuration"] == 0)
        if agent["ConnectedToAgentTimestamp"]:
            connected = _ms(agent["ConnectedToAgentTimestamp"])
            assert connected <= disc
            if queue is not None and queue["DequeueTimestamp"]:
                assert _ms(queue["DequeueTimestamp"]) <= connected
        start, end = agent["AfterContactWorkStartTimestamp"], agent[
            "AfterContactWorkEndTimestamp"]
        if end is not None:
            assert agent["AfterContactWorkDuration"] == (_ms(end) - _ms(start)) // 1000 >= 0
            assert _ms(end) <= _ms(ctr["LastUpdateTimestamp"])
        elif start is None:
            assert agent["AfterContactWorkDuration"] is None


def test_transfer_chains_are_linked(run: SimulationResult) -> None:
    ctrs = {c["ContactId"]: c for c in _good(run, CTRS)}
    for ctr in ctrs.values():
        if ctr["NextContactId"]:
            nxt = ctrs[ctr["NextContactId"]]
            assert nxt["PreviousContactId"] == ctr["ContactId"]
            assert nxt["InitialContactId"] == ctr["InitialContactId"]
            assert nxt["InitiationMethod"] in ("TRANSFER", "QUEUE_TRANSFER", "CALLBACK")
            assert _ms(nxt["InitiationTimestamp"]) >= _ms(ctr["InitiationTimestamp"])
        if ctr["TransferCompletedTimestamp"]:
            assert ctr["TransferredToEndpoint"]["Address"].startswith("+1555")


# -- agent events --------
def _agent_streams(run: SimulationResult) -> dict[str, list[dict[str, Any]]]:
    per_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in _good(run, AGENT_EVENTS):
        per_agent[event["AgentARN"]].append(event)
    return per_agent


def test_agent_events_are_ordered_and_heartbeats_keep_the_gap_below_120s(
        run: SimulationResult) -> None:
    for arn, events in _agent_streams(run).items():
        unique = list({e["EventId"]: e for e in events}.values())
        stamps = [_ms(e["EventTimestamp"]) for e in unique]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), arn
        logged_in = False
        for prev, cur, (t0, t1) in zip(unique, unique[1:], zip(stamps, stamps[1:])):
            if prev["EventType"] == "LOGIN":
                logged_in = True
            if prev["EventType"] == "LOGOUT":
                logged_in = False
            if logged_in:
                assert t1 - t0 <= 120_000, (arn, prev["EventTimestamp"])
            assert cur["PreviousAgentSnapshot"] == prev["CurrentAgentSnapshot"]


def test_agents_log_out_or_vanish(run: SimulationResult) -> None:
    """Every agent ends with a LOGOUT (then Offline heartbeats), except those who vanish."""
    vanished = []
    for arn, events in _agent_streams(run).items():
        kinds = [e["EventType"] for e in events]
        assert kinds[0] == "LOGIN", arn
        if "LOGOUT" not in kinds:
            vanished.append(arn)
            continue
        after = events[kinds.index("LOGOUT") + 1:]
        assert all(e["EventType"] == "HEART_BEAT" and e["CurrentAgentSnapshot"]["AgentStatus"][
            "Name"] == "Offline" for e in after)
    assert len(vanished) == run.truth.counts["sim.agents_vanished"] >= 1


def test_agent_snapshots_match_the_contact_lifecycle(run: SimulationResult) -> None:
    states: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for event in _good(run, AGENT_EVENTS):
        snap = event["CurrentAgentSnapshot"]
        statuses[snap["AgentStatus"]["Name"]] += 1
        types[event["EventType"]] += 1
        concurrency = {c["Channel"]: c for c in snap["Configuration"]["RoutingProfile"][
            "Concurrency"]}
        voice = sum(1 for c in snap["Contacts"] if c["Channel"] == "VOICE")
        assert voice <= 1 and not (voice and len(snap["Contacts"]) > 1)
        assert concurrency["VOICE"]["AvailableSlots"] == (0 if snap["Contacts"] else 1)
        for contact in snap["Contacts"]:
            states[contact["State"]] += 1
    assert set(states) == {"INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD",
                           "ENDED", "MISSED", "REJECTED", "ERROR"}
    assert {"Available", "Offline", "Break"} <= set(statuses)
    assert set(types) == {"LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT"}
    offline_heartbeats = [e for e in _good(run, AGENT_EVENTS) if e["EventType"] == "HEART_BEAT"
                          and e["CurrentAgentSnapshot"]["AgentStatus"]["Name"] == "Offline"]
    assert offline_heartbeats


# -- realism --------
def test_the_center_has_every_kind_of_contact(run: SimulationResult) -> None:
    summary = run.truth.summary()
    methods = summary["contacts"]["by_initiation_method"]
    assert set(methods) == {"INBOUND", "OUTBOUND", "TRANSFER", "QUEUE_TRANSFER", "CALLBACK",
                            "API"}
    assert set(summary["contacts"]["by_channel"]) == {"VOICE", "CHAT"}
    outcomes = summary["contacts"]["by_outcome"]
    for outcome in ("handled", "abandoned", "transferred", "external_transfer", "ivr_hangup",
                    "queue_transfer", "callback_requested", "outbound_no_answer"):
        assert outcomes.get(outcome, 0) > 0, outcome
    facts = run.truth.final_ctrs()
    quick_abandons = [f for f in facts if f.enqueue_ms is not None and f.connected_ms is None
                      and f.next_contact_id is None and f.queue_duration < 15]
    assert quick_abandons
    assert any(f.number_of_holds for f in facts)
    assert run.truth.counts["sim.missed_offers"] > 0


def test_payload_shapes_vary_like_real_feeds(run: SimulationResult) -> None:
    lines = [r.value for r in run.records if r.stream == CONTACT_EVENTS and r.good]
    for needle in (b'"detail-type"', b'"agentInfo"', b'"AgentInfo"', b'"channel":"Voice"',
                   b'"channel":"VOICE"', b'"channel":"Chat"', b'"COMPLETED"',
                   b'"CONNECTED_TO_SYSTEM"'):
        assert any(needle in line for line in lines), needle
    assert any(not line.startswith(b'{"version"') for line in lines)  # bare detail objects
    assert any(re.search(rb'"initiationTimestamp":"[0-9T:-]+Z"', line) for line in lines)
    agent_lines = [r.value for r in run.records if r.stream == AGENT_EVENTS and r.good]
    assert any(b'"NextAgentStatus"' in line for line in agent_lines)
    assert any(b'"Name":"Available","StartTimestamp"' in line and b'"Type":"ROUTABLE"' not in line
               for line in agent_lines)


def test_pii_is_listed_in_the_truth(run: SimulationResult) -> None:
    pii = run.truth.summary()["pii"]
    phones = set(pii["phone_numbers"])
    for ctr in _good(run, CTRS):
        if ctr["CustomerEndpoint"]:
            assert ctr["CustomerEndpoint"]["Address"] in phones
        assert ctr["Attributes"]["AccountNumber"] in pii["account_numbers"]
        assert ctr["Attributes"]["CustomerName"] in pii["customer_names"]
    assert all(p.startswith("+1555") and len(p) == 12 for p in phones)


# -- delivery order and lateness --------
def _event_time(stream: str, obj: dict[str, Any]) -> int:
    if stream == CONTACT_EVENTS:
        return _contact_event_time(obj)
    if stream == CTRS:
        return _ms(obj["DisconnectTimestamp"])
    return _ms(obj["EventTimestamp"])


def test_no_good_record_is_late_for_the_job(run: SimulationResult) -> None:
    """Per stream: watermark = max event time - 60 s; late = window end < watermark - 15 min.

    Only exact duplicates of a line already delivered (late CTR re-deliveries) may be late.
    """
    worst = {}
    for stream in (CONTACT_EVENTS, CTRS, AGENT_EVENTS):
        seen: set[bytes] = set()
        newest = None
        lag = 0
        for record in run.records:
            if record.stream != stream or not record.good:
                continue
            t = _event_time(stream, orjson.loads(record.value))
            assert t == record.event_ms
            if record.value not in seen and newest is not None:
                lag = max(lag, newest - t)
                window_end = t - t % WINDOW_MS + WINDOW_MS
                assert window_end >= newest - WATERMARK_LAG_MS - ALLOWED_LATENESS_MS
            seen.add(record.value)
            newest = t if newest is None else max(newest, t)
        worst[stream] = lag
    assert worst[AGENT_EVENTS] == 0
    assert worst[CONTACT_EVENTS] <= 3 * 20_000 + 1000
    assert worst[CTRS] <= 450_000
    assert run.truth.counts["ctrs.late_redelivery"] > 0


# -- speed and CLI --------
def test_an_hour_of_20_agents_and_600_contacts_takes_seconds() -> None:
    started = time.perf_counter()
    result = simulate(SimConfig(seed=4, agents=20, contacts=600))
    elapsed = time.perf_counter() - started
    assert len(result.records) > 5000
    assert elapsed < 10, elapsed


def test_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--seed", "--agents", "--contacts", "--out", "--start", "--duration",
                 "--queues", "--window", "--thresholds", "--ctr-duplicates",
                 "--late-redeliveries", "--out-of-order", "--agent-duplicates", "--malformed",
                 "--no-faults", "--to-kafka", "--bootstrap-servers", "--rate", "--realtime",
                 "--speed", "--contact-events-topic", "--ctrs-topic", "--agent-events-topic"):
        assert flag in text, flag


def test_pacing_by_rate_and_by_simulated_clock() -> None:
    from tools.sim.kafka_out import Pacing, _Pacer

    pacer, started = _Pacer(Pacing(rate=500.0)), time.perf_counter()
    for _ in range(51):
        pacer.wait(0)
    assert time.perf_counter() - started >= 0.09
    pacer, started = _Pacer(Pacing(speed=100.0, start_ms=0)), time.perf_counter()
    pacer.wait(10_000)  # 10 simulated seconds at 100x: 0.1 s
    assert 0.09 <= time.perf_counter() - started < 1.0


def test_cli_parsing_helpers() -> None:
    assert cli.parse_window_s("60s") == cli.parse_window_s("1m") == cli.parse_window_s("60") == 60
    assert cli.parse_thresholds("15, 20,30") == (15, 20, 30)
    args = cli.build_parser().parse_args(["--out", "x", "--realtime"])
    cfg = cli.config_from_args(args, now_ms=parse_iso("2024-03-01T10:17:45.500Z"))
    assert cfg.start_ms == parse_iso("2024-03-01T10:17:00Z")
    args = cli.build_parser().parse_args(["--out", "x", "--no-faults", "--start",
                                          "2024-02-01T00:00:00Z"])
    cfg = cli.config_from_args(args)
    assert cfg.faults == FaultConfig.none() and cfg.start_ms == parse_iso("2024-02-01T00:00:00Z")


# -- Kafka --------
@pytest.mark.kafka
def test_to_kafka_produces_keyed_records_with_event_time(kafka_bootstrap: str,
                                                         kafka_topics: Any) -> None:
    from confluent_kafka import Consumer

    topics = kafka_topics(["ce", "ctr", "ae"])
    args = ["--seed", "8", "--agents", "3", "--contacts", "30", "--duration", "600", "--quiet",
            "--to-kafka", "--bootstrap-servers", kafka_bootstrap,
            "--contact-events-topic", topics["ce"], "--ctrs-topic", topics["ctr"],
            "--agent-events-topic", topics["ae"]]
    assert cli.main(args) == 0
    expected = simulate(SimConfig(seed=8, agents=3, contacts=30, duration_s=600))
    by_topic = {topics["ce"]: CONTACT_EVENTS, topics["ctr"]: CTRS, topics["ae"]: AGENT_EVENTS}
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "sim-test",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(list(by_topic))
    got: dict[str, list[tuple[Any, int, bytes]]] = defaultdict(list)
    deadline = time.monotonic() + 60
    while sum(map(len, got.values())) < len(expected.records) and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        key = msg.key().decode() if msg.key() is not None else None
        got[by_topic[msg.topic()]].append((key, msg.timestamp()[1], msg.value()))
    consumer.close()
    for stream in (CONTACT_EVENTS, CTRS, AGENT_EVENTS):
        want = [(r.key, r.event_ms if r.event_ms is not None else r.delivery_ms, r.value)
                for r in expected.records if r.stream == stream]
        assert got[stream] == want, stream


@pytest.mark.kafka
def test_to_kafka_creates_missing_topics_that_keep_their_records(kafka_bootstrap: str) -> None:
    """Simulated records carry 2024 timestamps: with the broker's default time retention they
    would be deleted within minutes, before a job started later reads them."""
    import uuid

    from confluent_kafka.admin import AdminClient, ConfigResource

    names = {flag: f"sim-keep-{flag}-{uuid.uuid4().hex[:8]}" for flag in ("ce", "ctr", "ae")}
    assert cli.main(["--seed", "3", "--agents", "1", "--contacts", "2", "--duration", "120",
                     "--quiet", "--to-kafka", "--bootstrap-servers", kafka_bootstrap,
                     "--contact-events-topic", names["ce"], "--ctrs-topic", names["ctr"],
                     "--agent-events-topic", names["ae"]]) == 0
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names.values()]
    for future in admin.describe_configs(resources).values():
        assert future.result(timeout=30)["retention.ms"].value == "-1"
