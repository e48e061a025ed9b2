"""Records in key-group batches (``--input-batch``, ``udfs.flink_batches``), from the sources and
between the Python operators: the outputs are exactly those of one record per crossing.

A batch carries records of the key groups one subtask owns, keyed by a representative string
of one of them (``KeyGroupBatches`` in Java), and the Python operator makes each record's key
current before it handles it. So at parallelism 2 (two subtasks, each owning half the key
groups) every state, timer and output must be what the unbatched job produces: a wrong
representative would send a batch to a subtask that does not own its keys (Flink fails the
job), a missed key switch would mix two contacts' state (the numbers change), and a batch held
past its watermark would make its records late (dead letters change).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pyflink.common import Row, Types
from pyflink.datastream import OutputTag
from pyflink.datastream.state import ValueStateDescriptor

from tests.jobrun import run_dir
from tests.reliability import (
    SimulatedHour,
    assert_contacts_once,
    assert_dead_letters_exact,
    assert_equals_reference,
    simulate_hour,
)
from udfs.flink_batches import (
    FLINK_KEY,
    BatchedKeyedBroadcastProcess,
    BatchedKeyedCoProcess,
    BatchedKeyedProcess,
    KeyedStates,
    KeySwitch,
    Outputs,
    Packing,
    check_parallelism,
    columns,
    packed,
    packs,
)
from udfs.flink_outputs import AGENT_PUT_TAG, KEYED_TYPE, OUTPUT_ROW_TYPE
from udfs.memo import Memo

SIDE, OTHER, CLOCK = OutputTag("side"), OutputTag("other"), OutputTag("clock")


class FakeKeys:
    """A ``KeySwitch`` that notes the keys it made current."""

    def __init__(self) -> None:
        self.current = []

    def records(self, batch):
        for key, value in zip(batch[0], batch[1]):
            self.current.append(key)
            yield key, value

    def ensure(self) -> None:
        pass

    def timer(self) -> None:
        pass


class Echo:
    """A wrapped function: each record comes back with the key current when it was handled, on
    the main output (input 1), on a side output (input 2), and as a clock number."""

    def __init__(self, keys: FakeKeys) -> None:
        self.keys = keys

    def _key(self):
        return self.keys.current[-1] if self.keys.current else None

    def process_element(self, value, ctx):
        yield Row(self._key(), value)

    def process_element1(self, value, ctx):
        yield Row(self._key(), value)

    def process_element2(self, value, ctx):
        yield SIDE, Row(self._key(), value)
        yield CLOCK, 7

    def on_timer(self, timestamp, ctx):
        yield Row("timer", timestamp)
        yield SIDE, Row("timer", timestamp)


def test_each_record_of_a_batch_is_handled_under_its_own_key_and_outputs_go_in_one_batch(
) -> None:
    keys = FakeKeys()
    fn = BatchedKeyedProcess(Echo(keys))
    fn.keys = keys
    assert list(fn.process_element((("c1", "c2"), ("r1", "r2")), None)) == [
        Row(("c1", "c2"), ("r1", "r2"))]
    assert list(fn.on_timer(5, None)) == [Row(("timer",), (5,)), (SIDE, Row(("timer",), (5,)))]


def test_both_inputs_of_a_two_input_function_are_unpacked_under_their_keys() -> None:
    keys = FakeKeys()
    fn = BatchedKeyedCoProcess(Echo(keys))
    fn.keys = keys
    assert list(fn.process_element1((("a1", "a2"), ("x", "y")), None)) == [
        Row(("a1", "a2"), ("x", "y"))]
    # a side output in one batch per tag; what is not a Row (the clock) as it is, first
    assert list(fn.process_element2((("a3", "a4"), ("put", "put2")), None)) == [
        (CLOCK, 7), (CLOCK, 7), (SIDE, Row(("a3", "a4"), ("put", "put2")))]
    assert keys.current == ["a1", "a2", "a3", "a4"]


class Subtasks:
    """``udfs.flink_batches.Subtasks`` at parallelism 2 (Flink's assignment needs the JVM)."""

    parallelism = 2

    def __init__(self, owners: dict) -> None:
        self.owners = owners

    def of(self, key: str) -> int:
        return self.owners[key]


def test_messages_to_a_keyed_operator_go_packed_and_sink_rows_in_columns() -> None:
    assert packs(KEYED_TYPE) and packs(AGENT_PUT_TAG.type_info)
    assert not packs(OUTPUT_ROW_TYPE) and not packs(Types.LONG()) and not packs(None)
    # one subtask: one list, in order
    assert packed([["k1", 1], ["k2", 2]], None) == Row((0,), ([["k1", 1], ["k2", 2]],))
    # two: one list per subtask that owns the keys, each in the order of its rows
    two = Subtasks({"a": 1, "b": 0, "c": 1})
    assert packed([["a", 1], ["b", 2], ["c", 3], ["a", 4]], two) == Row(
        (1, 0), ([["a", 1], ["c", 3], ["a", 4]], [["b", 2]]))
    out = Outputs(Packing(main=True, subtasks=two))
    out.extend([Row("a", "m1"), (AGENT_PUT_TAG, Row("b", "p1")), (SIDE, Row("s", 1, "x")),
                Row("c", "m2")])
    assert out.batches() == [Row((1,), ([["a", "m1"], ["c", "m2"]],)),
                             (AGENT_PUT_TAG, Row((0,), ([["b", "p1"]],))),
                             (SIDE, Row(("s",), (1,), ("x",)))]


def test_a_packed_list_is_unpacked_under_the_keys_inside_it() -> None:
    keys = lazy_switch()
    # a batch mixes single records and lists packed by an operator (under the representative)
    batch = (("c1", "kg0", "c4"), ("r1", [["c2", "r2"], ["c3", "r3"]], "r4"), 1)
    seen = []
    for key, record in keys.records(batch):
        seen.append((key, record, keys.pending))
    assert seen == [("c1", "r1", "c1"), ("c2", "r2", "c2"), ("c3", "r3", "c3"),
                    ("c4", "r4", "c4")]


def test_outputs_of_several_streams_keep_their_order_within_each() -> None:
    out = Outputs()
    out.extend([Row("k1", 1, "a"), (SIDE, Row("s1", 1)), Row("k2", 2, "b"),
                (OTHER, Row("o", 0)), (SIDE, Row("s2", 2))])
    out.extend([Row("k3", 3, "c")])
    assert out.batches() == [Row(("k1", "k2", "k3"), (1, 2, 3), ("a", "b", "c")),
                             (SIDE, Row(("s1", "s2"), (1, 2))), (OTHER, Row(("o",), (0,)))]
    assert columns([("a", 1)]) == Row(("a",), (1,))


class FlinkContext:
    """Flink's context as a wrapped function sees it: counts its calls into Java."""

    def __init__(self) -> None:
        self.watermark_reads, self.timers = 0, []

    def timer_service(self):
        return self

    def current_watermark(self) -> int:
        self.watermark_reads += 1
        return 1_000

    def register_event_time_timer(self, timestamp: int) -> None:
        self.timers.append(timestamp)

    def timestamp(self) -> int:
        return 77


class Timing:
    """Reads the key, the watermark and registers a timer for every record."""

    def process_element(self, value, ctx):
        timers = ctx.timer_service()
        timers.register_event_time_timer(timers.current_watermark() + value)
        yield Row(ctx.get_current_key(), ctx.timestamp())


def test_key_and_watermark_come_without_a_call_into_java_per_record() -> None:
    keys, flink = FakeKeys(), FlinkContext()
    fn = BatchedKeyedProcess(Timing())
    fn.keys = keys
    assert fn.process_element((("k1", "k2", "k1"), (1, 2, 3)), flink) == [
        Row(("k1", "k2", "k1"), (77, 77, 77))]
    assert flink.watermark_reads == 1 and flink.timers == [1_001, 1_002, 1_003]
    fn.process_element((("k3",), (4,)), flink)
    assert flink.watermark_reads == 2  # read again for the next batch: it may have moved


class JavaRow:
    def __init__(self, arity: int) -> None:
        self.fields = [None] * arity

    def setField(self, i: int, value) -> None:  # noqa: N802 (Java's name)
        self.fields[i] = value


class Backend:
    """The Java keyed state backend: its current key, and every switch."""

    def __init__(self) -> None:
        self.switches: list = []

    def setCurrentKey(self, row: JavaRow) -> None:  # noqa: N802 (Java's name)
        self.switches.append(row.fields[0])


class State:
    """A keyed ValueState of Flink: notes under which key each call ran."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self.calls = backend, []

    def value(self):
        self.calls.append(("value", self.backend.switches[-1]))

    def update(self, v) -> None:
        self.calls.append(("update", self.backend.switches[-1], v))


def lazy_switch() -> KeySwitch:
    """A ``KeySwitch`` on a fake backend (the real one needs the embedded JVM)."""
    keys = KeySwitch.__new__(KeySwitch)
    keys._parallelism, keys._backend, keys._keys, keys._row = 1, Backend(), Memo(16), JavaRow
    keys.pending = keys.current = FLINK_KEY
    return keys


class Cached:
    """Reads its state only for keys it has not seen (a cache), and registers a timer for
    records with a value over 10."""

    def __init__(self) -> None:
        self.seen: set = set()

    def open(self, runtime_context) -> None:
        self.state = runtime_context.get_state(
            ValueStateDescriptor("s", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, value, ctx):
        key = ctx.get_current_key()
        if key not in self.seen:
            self.seen.add(key)
            self.state.value()
        if value > 10:
            ctx.timer_service().register_event_time_timer(value)
        return None

    def on_timer(self, timestamp, ctx):
        self.state.update(timestamp)
        return None


class Flink:
    def __init__(self) -> None:
        self.timers: list = []

    def timer_service(self):
        return self

    def register_event_time_timer(self, t: int) -> None:
        self.timers.append(t)

    def get_state(self, descriptor):
        return self.made

    def get_metrics_group(self):
        return None


def test_a_key_is_made_current_in_java_only_for_a_state_call_or_a_timer() -> None:
    keys, flink = lazy_switch(), Flink()
    flink.made = state = State(keys._backend)
    fn = BatchedKeyedProcess(Cached())
    fn.keys = keys
    fn.inner.open(KeyedStates(flink, keys))
    fn.process_element((("a", "a", "b", "a", "c"), (1, 2, 3, 4, 50), 1), flink)
    # a: read once; a again: cached; b: read; a: cached, no switch; c: read and a timer
    assert keys._backend.switches == ["a", "b", "c"]
    assert state.calls == [("value", "a"), ("value", "b"), ("value", "c")] and flink.timers == [50]
    keys._backend.switches.append("kg0")  # Flink keys each batch by its representative
    fn.process_element((("c", "b"), (11, 60), 1), flink)  # so c is switched to again
    assert keys._backend.switches == ["a", "b", "c", "kg0", "c", "b"]
    keys._backend.switches.append("t")  # Flink makes a timer's key current by itself ...
    fn.on_timer(60, flink)
    assert state.calls[-1] == ("update", "t", 60)  # ... and the state call runs under it
    fn.process_element((("b",), (99,), 1), flink)  # b again: Flink's current key is "t" now
    assert keys._backend.switches[-1] == "b" and flink.timers[-1] == 99


class Quiet:
    """A function that returns None when it emits nothing (as ``LiveTickFunction`` does)."""

    def __init__(self) -> None:
        self.seen = []

    def process_element(self, value, ctx):
        self.seen.append(value)

    def process_broadcast_element(self, value, ctx):
        self.seen.append(("clock", value))


def test_a_function_that_returns_none_and_the_broadcast_input() -> None:
    keys, inner = FakeKeys(), Quiet()
    fn = BatchedKeyedBroadcastProcess(inner)
    fn.keys = keys
    assert list(fn.process_element((("q1", "q2"), ("m1", "m2")), None)) == []
    assert list(fn.process_broadcast_element(42, None)) == []
    assert inner.seen == ["m1", "m2", ("clock", 42)] and keys.current == ["q1", "q2"]


class Flushes:
    """A ``WriteBack`` that counts its flushes."""

    def __init__(self) -> None:
        self.count = 0

    def flush(self, current=None) -> int:
        self.count += 1
        return 0


def test_the_empty_batch_before_a_barrier_flushes_the_held_state_changes() -> None:
    keys = FakeKeys()
    fn = BatchedKeyedCoProcess(Echo(keys), write_back=True)
    fn.keys, fn.write_back = keys, Flushes()
    assert list(fn.process_element1(((), (), 1), None)) == []
    assert list(fn.process_element2(((), (), 1), None)) == []
    assert fn.write_back.count == 2 and keys.current == []  # nothing handled
    assert list(fn.process_element1((("a1",), ("x",), 1), None)) == [Row(("a1",), ("x",))]
    assert fn.write_back.count == 2
    fn.write_back = None  # write-back off (unaligned checkpoints): a marker does nothing
    assert list(fn.process_element1(((), (), 1), None)) == []


def test_a_batch_grouped_for_another_parallelism_fails_naming_the_cause() -> None:
    check_parallelism(2, 2)
    with pytest.raises(RuntimeError,
                       match="grouped for parallelism 1, but this operator runs at 2"):
        check_parallelism(1, 2)


def comparable(records: list[dict]) -> Counter:
    """A multiset of records without wall-clock fields (a dead letter's ``at``)."""
    out: Counter = Counter()
    for r in records:
        r = dict(r)
        r.pop("at", None)
        if isinstance(r.get("error"), dict):
            r["error"] = {k: v for k, v in r["error"].items() if k != "at"}
        out[json.dumps(r, sort_keys=True)] += 1
    return out


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> SimulatedHour:
    return simulate_hour(tmp_path_factory.mktemp("batches-hour"), seed=21, agents=12,
                         contacts=400)


@pytest.fixture(scope="module")
def unbatched(hour: SimulatedHour, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("unbatched") / "out"
    return run_dir(str(hour.dir), str(out), ["--parallelism", "2", "--input-batch", "0"])


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("batch", ["256", "3"])  # 3: most batches go out when full
def test_batched_outputs_equal_one_record_per_crossing(hour: SimulatedHour, unbatched: dict,
                                                       batch: str, tmp_path: Path) -> None:
    raw = run_dir(str(hour.dir), str(tmp_path / "out"),
                  ["--parallelism", "2", "--input-batch", batch])
    assert set(raw) == set(unbatched)
    for name in sorted(raw):  # every output, the live ones included
        assert raw[name], name
        assert comparable(raw[name]) == comparable(unbatched[name]), name
    out = {k: raw[k] for k in ("queue_metrics", "agent_metrics", "contacts", "deadletter")}
    assert_equals_reference(hour, out)
    assert_contacts_once(hour, out)
    assert_dead_letters_exact(hour, out)
