"""normalize_agent_event: doc samples, status classes, contacts, configuration, rejects."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from udfs import parse_agent_event
from udfs.parse_agent_event import normalize_agent_event, status_class
from udfs.records import AgentConfig, AgentContact, AgentEvent, DeadLetter

FIXTURES = Path(__file__).parent / "fixtures"
MAY_25 = 1_558_742_400_000  # 2019-05-25T00:00:00Z
AUG_13 = 1_565_654_400_000  # 2019-08-13T00:00:00Z
EAST = "arn:aws:connect:us-east-1:012345678901:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"
WEST = "arn:aws:connect:us-west-2:012345678901:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"


def hms(day: int, h: int, m: int, s: int, ms: int = 0) -> int:
    return day + ((h * 60 + m) * 60 + s) * 1000 + ms


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


BASIC_CONFIG = AgentConfig(
    username="(Removed)",
    first_name="(Removed)",
    last_name="(Removed)",
    routing_profile_arn=f"{EAST}/routing-profile/routing-profile-ARN",
    routing_profile_name="Basic Routing Profile",
    inbound_queues=(
        (f"{EAST}/queue/queue-ARN-for-BasicQueue", "BasicQueue"),
        (f"{EAST}/queue/queue-ARN-for-PrimaryQueue", "PrimaryQueue"),
    ),
    default_outbound_queue=(f"{EAST}/queue/queue-ARN-for-BasicQueue", "BasicQueue"),
    hierarchy=None,
)


def test_sample_acw_entered() -> None:
    assert normalize_agent_event(_fixture("agent_event_acw_entered.json")) == AgentEvent(
        event_id="EventId-1",
        agent_arn=f"{EAST}/agent/agent-ARN",
        event_type="STATE_CHANGE",
        event_ms=hms(MAY_25, 18, 55, 27, 17),
        status="AVAILABLE",
        status_name="Available",
        contacts=(AgentContact("ContactId-1", "ENDED", "VOICE", hms(MAY_25, 18, 55, 27, 17),
                               f"{EAST}/queue/queue-ARN-for-BasicQueue", "OUTBOUND"),),
        config=BASIC_CONFIG,
    )


def test_sample_acw_left_no_contacts() -> None:
    assert normalize_agent_event(_fixture("agent_event_acw_left.json")) == AgentEvent(
        event_id="477f2c4f-cd1a-4785-b1a8-97023dc1229d",
        agent_arn=f"{EAST}/agent/agent-ARN",
        event_type="STATE_CHANGE",
        event_ms=hms(MAY_25, 18, 55, 32, 22),
        status="AVAILABLE",
        status_name="Available",
        contacts=(),
        config=BASIC_CONFIG,
    )


def test_sample_heart_beat() -> None:
    assert normalize_agent_event(_fixture("agent_event_heart_beat.json")) == AgentEvent(
        event_id="EventId-1",
        agent_arn=f"{WEST}/agent/agent-ARN",
        event_type="HEART_BEAT",
        event_ms=hms(AUG_13, 20, 58, 44, 31),
        status="AVAILABLE",
        status_name="Available",
        contacts=(),
        config=AgentConfig(
            username="aestest",
            first_name="AgentEventStreamTest",
            last_name="Agent",
            routing_profile_arn=f"{WEST}/routing-profile/routing-profile-ARN",
            routing_profile_name="AgentEventStreamProfile",
            inbound_queues=(
                (f"{WEST}/queue/agent/agent-ARN", None),  # agent queues have no name
                (f"{WEST}/queue/queue-ARN", "Omni-channel-queue"),
            ),
            default_outbound_queue=(f"{WEST}/queue/queue-ARN", "OutboundQueue"),
            hierarchy=None,
            inbound_channels=(
                (f"{WEST}/queue/agent/agent-ARN", "VOICE"),
                (f"{WEST}/queue/agent/agent-ARN", "CHAT"),
                (f"{WEST}/queue/queue-ARN", "CHAT"),
                (f"{WEST}/queue/queue-ARN", "VOICE"),
            ),
        ),
        available_slots=(("CHAT", 3), ("VOICE", 1)),
    )


def test_sample_contact_states_fragment() -> None:
    assert normalize_agent_event(_fixture("agent_event_contact_connected.json")) == AgentEvent(
        event_id="EventId-contact-states",
        agent_arn=f"{EAST}/agent/agent-ARN",
        event_type="STATE_CHANGE",
        event_ms=hms(MAY_25, 18, 55, 21, 11),
        status=None,
        status_name=None,
        contacts=(
            AgentContact("ContactId-1", "CONNECTED", "VOICE", hms(MAY_25, 18, 55, 21, 11),
                         f"{EAST}/queue/queue-ARN-for-BasicQueue", "OUTBOUND"),
        ),
        config=None,
    )


def test_sample_agent_status_fragment() -> None:
    assert normalize_agent_event(_fixture("agent_event_status_available.json")) == AgentEvent(
        event_id="EventId-agent-status",
        agent_arn=f"{EAST}/agent/agent-ARN",
        event_type="STATE_CHANGE",
        event_ms=hms(MAY_25, 18, 43, 59, 49),
        status="AVAILABLE",
        status_name="Available",
        contacts=(),
        config=None,
    )


@pytest.mark.parametrize(
    "status_type, name, expected",
    [
        ("ROUTABLE", "Available", "AVAILABLE"),
        ("ROUTABLE", "Ready", "AVAILABLE"),  # Type wins over Name
        ("routable", None, "AVAILABLE"),
        ("CUSTOM", "Available", "CUSTOM"),
        ("CUSTOM", None, "CUSTOM"),
        ("OFFLINE", "Offline", "OFFLINE"),
        (None, "Available", "AVAILABLE"),
        (None, "AVAILABLE", "AVAILABLE"),
        (None, "available", "AVAILABLE"),
        (None, "Offline", "OFFLINE"),
        (None, "Lunch", "CUSTOM"),
        ("SOMETHING_NEW", "Break", "CUSTOM"),
        ("SOMETHING_NEW", "Offline", "OFFLINE"),
        (None, None, None),
        ("SOMETHING_NEW", None, None),
    ],
)
def test_status_class(status_type: str | None, name: str | None, expected: str | None) -> None:
    assert status_class(status_type, name) == expected


BASE = {
    "EventId": "E1",
    "AgentARN": "arn:agent",
    "EventType": "STATE_CHANGE",
    "EventTimestamp": "2019-05-25T18:55:27.017Z",
}
T0 = hms(MAY_25, 18, 55, 27, 17)


def _event(**extra: object) -> bytes:
    return orjson.dumps(dict(BASE, **extra))


@pytest.mark.parametrize("snapshot", [None, "absent"])
def test_missing_or_null_snapshot(snapshot: object) -> None:
    raw = orjson.dumps(BASE) if snapshot == "absent" else _event(CurrentAgentSnapshot=None)
    assert normalize_agent_event(raw) == AgentEvent(
        "E1", "arn:agent", "STATE_CHANGE", T0, None, None, (), None
    )


def test_status_from_type_and_name_with_casing_variants() -> None:
    raw = orjson.dumps({
        "eventId": "E1", "agentArn": "arn:agent", "eventType": "login",
        "eventTimestamp": "2019-05-25T18:55:27.017Z",
        "currentAgentSnapshot": {"agentStatus": {"type": "CUSTOM", "name": "Lunch"}},
        "PreviousAgentSnapshot": "ignored even when malformed",
    })
    assert normalize_agent_event(raw) == AgentEvent(
        "E1", "arn:agent", "LOGIN", T0, "CUSTOM", "Lunch", (), None
    )


def test_contacts_and_config_details() -> None:
    snapshot = {
        "AgentStatus": {"Type": "ROUTABLE", "Name": "Available", "ARN": "s"},
        "Contacts": [
            {"ContactId": "C1", "State": "connected_onhold", "Channel": "voice",
             "StateStartTimestamp": "2019-05-25T18:55:27Z", "Queue": {"ARN": "q"}},
            {"contactId": "C2", "state": "MISSED", "channel": None,
             "stateStartTimestamp": None},
        ],
        "Configuration": {
            "Username": "u", "FirstName": None, "LastName": "",
            "RoutingProfile": {
                "ARN": "rp", "Name": "RP",
                "InboundQueues": [{"ARN": "q1", "Name": "Q1"}, None, {"arn": "q2"}],
                "DefaultOutboundQueue": None,
            },
            "AgentHierarchyGroups": {
                "Level1": {"ARN": "h1", "Name": "North"},
                "Level2": None,
                "Level3": {"ARN": "h3", "Name": "Team A"},
            },
        },
    }
    assert normalize_agent_event(_event(CurrentAgentSnapshot=snapshot)) == AgentEvent(
        "E1", "arn:agent", "STATE_CHANGE", T0, "AVAILABLE", "Available",
        (
            AgentContact("C1", "CONNECTED_ONHOLD", "VOICE", hms(MAY_25, 18, 55, 27), "q"),
            AgentContact("C2", "MISSED", None, None),
        ),
        AgentConfig("u", None, None, "rp", "RP", (("q1", "Q1"), ("q2", None)), None,
                    ("North", "Team A")),
    )


def test_empty_configuration_and_routing_profile() -> None:
    snapshot = {"Configuration": {"RoutingProfile": {"InboundQueues": None}}}
    assert normalize_agent_event(_event(CurrentAgentSnapshot=snapshot)).config == AgentConfig(
        None, None, None, None, None, (), None, None
    )


_SNAP = "CurrentAgentSnapshot"
_PROFILE = f"{_SNAP}.Configuration.RoutingProfile"


@pytest.mark.parametrize(
    "raw, error",
    [
        ({k: v for k, v in BASE.items() if k != "EventId"}, "missing_field: EventId"),
        (dict(BASE, EventId=1), "bad_type: EventId: expected string, got int"),
        ({k: v for k, v in BASE.items() if k != "AgentARN"}, "missing_field: AgentARN"),
        (dict(BASE, AgentARN=""), "bad_value: AgentARN: empty string"),
        (dict(BASE, EventType=None), "missing_field: EventType"),
        (dict(BASE, EventTimestamp=None), "missing_field: EventTimestamp"),
        (dict(BASE, EventTimestamp="2019-05-25 18:55:27"),
         "bad_timestamp: EventTimestamp: timestamp has no UTC offset: '2019-05-25 18:55:27'"),
        (dict(BASE, EventTimestamp=1558810527017),
         "bad_timestamp: EventTimestamp: expected ISO-8601 string, got int"),
        (dict(BASE, CurrentAgentSnapshot=[]),
         "bad_type: CurrentAgentSnapshot: expected object, got list"),
        (dict(BASE, CurrentAgentSnapshot={"AgentStatus": "Available"}),
         "bad_type: CurrentAgentSnapshot.AgentStatus: expected object, got str"),
        (dict(BASE, CurrentAgentSnapshot={"AgentStatus": {"Type": 1}}),
         "bad_type: CurrentAgentSnapshot.AgentStatus.Type: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"AgentStatus": {"Name": False}}),
         "bad_type: CurrentAgentSnapshot.AgentStatus.Name: expected string, got bool"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": {"ContactId": "C1"}}),
         "bad_type: CurrentAgentSnapshot.Contacts: expected array, got dict"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [{"State": "CONNECTED"}]}),
         "missing_field: CurrentAgentSnapshot.Contacts[0].ContactId"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [{"ContactId": "C1", "State": "X"}, None]}),
         "missing_field: CurrentAgentSnapshot.Contacts[1].ContactId"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": ["C1"]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0]: expected object, got str"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [{"ContactId": "C1"}]}),
         "missing_field: CurrentAgentSnapshot.Contacts[0].State"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [{"ContactId": "C1", "State": 3}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].State: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "StateStartTimestamp": "later"}]}),
         "bad_timestamp: CurrentAgentSnapshot.Contacts[0].StateStartTimestamp: "
         "not an ISO-8601 timestamp: 'later'"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": "x"}),
         "bad_type: CurrentAgentSnapshot.Configuration: expected object, got str"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": {"Username": 5}}),
         "bad_type: CurrentAgentSnapshot.Configuration.Username: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": {"RoutingProfile": {
            "InboundQueues": "q"}}}),
         f"bad_type: {_PROFILE}.InboundQueues: expected array, got str"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "Channel": 3}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].Channel: expected string or object, "
         "got int"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "Channel": {"Channel": 3}}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].Channel.Channel: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "Queue": "q"}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].Queue: expected object, got str"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "Queue": {"ARN": 7}}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].Queue.ARN: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"Contacts": [
            {"ContactId": "C1", "State": "ENDED", "InitiationMethod": ["INBOUND"]}]}),
         "bad_type: CurrentAgentSnapshot.Contacts[0].InitiationMethod: expected string, "
         "got list"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": {"RoutingProfile": {
            "Concurrency": {"Channel": "VOICE"}}}}),
         f"bad_type: {_PROFILE}.Concurrency: expected array, got dict"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": {"RoutingProfile": {
            "Name": 3}}}),
         f"bad_type: {_PROFILE}.Name: expected string, got int"),
        (dict(BASE, CurrentAgentSnapshot={"Configuration": {"AgentHierarchyGroups": {
            "Level1": "North"}}}),
         f"bad_type: {_SNAP}.Configuration.AgentHierarchyGroups.Level1: expected object, "
         "got str"),
    ],
)
def test_rejects(raw: dict, error: str) -> None:
    rec = normalize_agent_event(orjson.dumps(raw))
    assert type(rec) is DeadLetter
    assert rec.error == error
    assert rec.stream == "agent_events"


def _profile_event(profile: dict, **config: object) -> AgentEvent:
    snapshot = {"Configuration": dict(config, RoutingProfile=profile)}
    rec = normalize_agent_event(_event(CurrentAgentSnapshot=snapshot))
    assert type(rec) is AgentEvent
    return rec


def test_inbound_channels_strings_and_objects() -> None:
    rec = _profile_event({"InboundQueues": [
        {"ARN": "q1", "Name": "Q1", "Channels": ["voice", {"Channel": "Chat"}, {"name": "TASK"}]},
        {"ARN": "q2", "Channels": None},
        {"ARN": "q3", "Channels": "VOICE"},  # not a list: the queue is kept, no channels
        {"ARN": "q4", "Channels": [None, 5, {"Channel": 1}, {}, "", "EMAIL"]},
    ]})
    assert rec.config.inbound_queues == (("q1", "Q1"), ("q2", None), ("q3", None), ("q4", None))
    assert rec.config.inbound_channels == (
        ("q1", "VOICE"), ("q1", "CHAT"), ("q1", "TASK"), ("q4", "EMAIL"))


def test_inbound_queue_without_arn_is_skipped_not_dead_lettered() -> None:
    rec = _profile_event({"InboundQueues": [
        {"Name": "no arn", "Channels": ["VOICE"]}, {"ARN": None}, {"ARN": 12}, {"ARN": ""},
        "q-as-string", None, {"ARN": "q1", "Name": 5, "Channels": ["VOICE"]},
    ]})
    assert rec.config.inbound_queues == (("q1", None),)
    assert rec.config.inbound_channels == (("q1", "VOICE"),)


def test_unused_fields_malformed_are_ignored() -> None:
    """FirstName, LastName, the profile ARN and the default outbound queue feed nothing."""
    rec = _profile_event({"ARN": ["rp"], "Name": "RP", "DefaultOutboundQueue": {"ARN": 1},
                          "InboundQueues": []},
                         Username="u", FirstName={"given": "Ann"}, LastName=7)
    assert rec.config == AgentConfig("u", None, None, None, "RP", (), None, None)
    rec = _profile_event({"DefaultOutboundQueue": "q"})
    assert rec.config.default_outbound_queue is None


def test_available_slots_from_concurrency() -> None:
    rec = _profile_event({"Concurrency": [
        {"AvailableSlots": 2, "Channel": "chat", "MaximumSlots": 3},
        {"AvailableSlots": 0, "Channel": {"Channel": "VOICE"}, "MaximumSlots": 1},
        {"AvailableSlots": 1.0, "Channel": "TASK"},
        {"AvailableSlots": -1, "Channel": "EMAIL"},  # unreadable entries are skipped
        {"AvailableSlots": "1", "Channel": "EMAIL"},
        {"AvailableSlots": 1, "Channel": None},
        {"MaximumSlots": 1, "Channel": "EMAIL"},
        None, "VOICE",
    ]})
    assert rec.available_slots == (("CHAT", 2), ("VOICE", 0), ("TASK", 1))
    assert _profile_event({"Concurrency": None}).available_slots == ()
    assert normalize_agent_event(_event(CurrentAgentSnapshot={})).available_slots == ()


def test_available_slots_are_not_part_of_the_config() -> None:
    """Slots change with every contact; the config (whose changes make history) must not."""
    one = _profile_event({"Name": "RP", "Concurrency": [{"AvailableSlots": 1, "Channel": "VOICE"}]})
    two = _profile_event({"Name": "RP", "Concurrency": [{"AvailableSlots": 0, "Channel": "VOICE"}]})
    assert one.config == two.config
    assert one.available_slots != two.available_slots


def test_contact_queue_and_initiation_method() -> None:
    snapshot = {"Contacts": [
        {"ContactId": "C1", "State": "CONNECTING", "InitiationMethod": "outbound",
         "Queue": {"ARN": "q1", "Name": "Q1"}},
        {"ContactId": "C2", "State": "INCOMING", "Queue": None, "InitiationMethod": None},
        {"ContactId": "C3", "State": "INCOMING", "Queue": {"Name": "no arn"}},
        {"ContactId": "C4", "State": "CONNECTED", "Channel": {"Channel": "chat"}},
    ]}
    rec = normalize_agent_event(_event(CurrentAgentSnapshot=snapshot))
    assert rec.contacts == (
        AgentContact("C1", "CONNECTING", None, None, "q1", "OUTBOUND"),
        AgentContact("C2", "INCOMING", None, None, None, None),
        AgentContact("C3", "INCOMING", None, None, None, None),
        AgentContact("C4", "CONNECTED", "CHAT", None, None, None),
    )


NEW = "arn:aws:connect:us-east-1:111122223333:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111"
MAR_5 = 1_709_596_800_000  # 2024-03-05T00:00:00Z


def test_fixture_with_concurrency_channels_and_a_queue_without_arn() -> None:
    """A current omni-channel payload: Concurrency with AvailableSlots, Channels as strings and
    as objects, an InboundQueues entry whose ARN is null (skipped), a contact with its queue."""
    billing = f"{NEW}/queue/bbbbbbbb-0000-0000-0000-000000000002"
    own = f"{NEW}/queue/agent/cccccccc-0000-0000-0000-000000000002"
    connected = hms(MAR_5, 15, 10, 20, 750)
    assert normalize_agent_event(_fixture("agent_event_concurrency.json")) == AgentEvent(
        event_id="eeeeeeee-0000-0000-0000-000000000001",
        agent_arn=f"{NEW}/agent/cccccccc-0000-0000-0000-000000000002",
        event_type="STATE_CHANGE",
        event_ms=connected,
        status="AVAILABLE",
        status_name="Available",
        contacts=(AgentContact("88888888-8888-8888-8888-888888888888", "CONNECTED", "CHAT",
                               connected, billing, "API"),),
        config=AgentConfig(
            username="sam",
            first_name="Sam",
            last_name=None,
            routing_profile_arn=f"{NEW}/routing-profile/omni",
            routing_profile_name="Omni",
            inbound_queues=((own, None), (billing, "Billing")),
            default_outbound_queue=(f"{NEW}/queue/bbbbbbbb-0000-0000-0000-000000000009",
                                    "Outbound"),
            hierarchy=("EMEA",),
            inbound_channels=((own, "VOICE"), (own, "CHAT"), (own, "TASK"),
                              (billing, "CHAT"), (billing, "VOICE")),
        ),
        available_slots=(("CHAT", 2), ("VOICE", 0), ("TASK", 10)),
    )


def test_configuration_cache_is_exact_and_bounded() -> None:
    """Snapshots share a built configuration only when their Configuration objects are equal."""
    base = orjson.loads(_fixture("agent_event_concurrency.json"))
    first = normalize_agent_event(orjson.dumps(base))
    again = normalize_agent_event(orjson.dumps(base))
    assert again == first and again.config is first.config

    def variant(change) -> AgentEvent | DeadLetter:
        event = copy.deepcopy(base)
        change(event["CurrentAgentSnapshot"]["Configuration"])
        return normalize_agent_event(orjson.dumps(event))

    def rename(c: dict) -> None:
        c["RoutingProfile"]["Name"] = "Other"

    def fewer_slots(c: dict) -> None:
        c["RoutingProfile"]["Concurrency"][0]["AvailableSlots"] = 1

    def bad_username(c: dict) -> None:
        c["Username"] = 1

    assert variant(rename).config == first.config._replace(routing_profile_name="Other")
    slots = variant(fewer_slots)
    assert slots.config == first.config
    assert slots.available_slots == (("CHAT", 1),) + first.available_slots[1:]
    rejected = variant(bad_username)
    assert type(rejected) is DeadLetter and "Configuration.Username" in rejected.error
    for i in range(parse_agent_event._CONFIG_CACHE_MAX + 10):
        def named(c: dict, i: int = i) -> None:
            c["Username"] = f"agent{i}"
        assert variant(named).config.username == f"agent{i}"
    assert len(parse_agent_event._CONFIG_CACHE) <= parse_agent_event._CONFIG_CACHE_MAX
    assert normalize_agent_event(orjson.dumps(base)) == first

    def huge(c: dict) -> None:
        c["Padding"] = "x" * parse_agent_event._CONFIG_KEY_MAX

    before = len(parse_agent_event._CONFIG_CACHE)
    assert variant(huge).config == first.config
    assert len(parse_agent_event._CONFIG_CACHE) == before  # built, not kept
