"""Coverage-guided fuzz targets for the three normalizers (atheris = libFuzzer for Python).

    python -m tests.fuzz.fuzz_parsers ctrs -max_total_time=300 [-artifact_prefix=DIR/] [CORPUS]

Targets: ``contact_events``, ``ctrs``, ``agent_events``. Each input is used twice: as raw bytes
(whatever a Kafka record may hold: not UTF-8, not JSON, huge, deeply nested), and as a recipe of
1-4 mutations applied to a real record of that stream (a field retyped, emptied, removed, its key
re-cased, a timestamp garbled): real Amazon Connect payloads are where type confusion hides, and
coverage guidance steers the recipes into the normalizers' branches. The seed corpus is the
scripted scenario's and a small simulation's records. A crash is any exception escaping the
normalizer or a result breaking the invariants of ``tests/test_parsers_property.check`` (exactly
one record or dead letter; a dead letter of a known, non-internal kind with bounded raw text; a
record with well-typed fields).

Without atheris, ``tests/test_fuzz_parsers.py`` drives the same ``one_input`` with hypothesis.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path
from typing import Callable, Optional

try:
    import atheris
except ImportError:  # the hypothesis fallback in tests/test_fuzz_parsers.py still works
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["udfs"]):
        from udfs.parse_agent_event import normalize_agent_event
        from udfs.parse_contact_event import normalize_contact_event
        from udfs.parse_ctr import normalize_ctr
else:
    from udfs.parse_agent_event import normalize_agent_event
    from udfs.parse_contact_event import normalize_contact_event
    from udfs.parse_ctr import normalize_ctr

from tests.test_parsers_property import check  # noqa: E402
from udfs.records import AgentEvent, ContactEvent, ContactRecord  # noqa: E402

TARGETS: dict[str, tuple[Callable, type]] = {
    "contact_events": (normalize_contact_event, ContactEvent),
    "ctrs": (normalize_ctr, ContactRecord),
    "agent_events": (normalize_agent_event, AgentEvent),
}


class Recipe:
    """Reads choices from fuzz bytes (a tiny FuzzedDataProvider that needs no atheris)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def below(self, n: int) -> int:
        return (self.byte() << 8 | self.byte()) % n if n > 0 else 0

    def text(self) -> str:
        size = self.below(24)
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk.decode("utf-8", errors="replace")

    def number(self) -> float:
        chunk = self.data[self.pos:self.pos + 8].ljust(8, b"\0")
        self.pos += 8
        return struct.unpack("<d", chunk)[0]


_STAMPS = ("2024-01-15T08:00:00Z", "2024-01-15T08:00:00.123Z", "2024-01-15 08:00:00+02:00",
           "2024-02-30T00:00:00Z", "2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "", "now",
           "2024-01-15T08:00:00", "20240115T080000Z", "2024-01-15T24:00:00Z")


def _value(r: Recipe) -> object:
    kind = r.below(10)
    if kind == 0:
        return None
    if kind == 1:
        return bool(r.byte() & 1)
    if kind == 2:
        return r.below(1 << 16) - (1 << 15)
    if kind == 3:
        number = r.number()
        return number if number == number and abs(number) != float("inf") else -1.5
    if kind == 4:
        return r.text()
    if kind == 5:
        return _STAMPS[r.below(len(_STAMPS))]
    if kind == 6:
        return []
    if kind == 7:
        return {}
    if kind == 8:
        return [_value(r)]
    return {r.text(): _value(r)}


def _slots(value: object, out: list) -> list:
    """Every (container, key) in a JSON value, depth first."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _slots(value[key], out)
    elif isinstance(value, list):
        for i in range(len(value)):
            out.append((value, i))
            _slots(value[i], out)
    return out


def mutate(seed: dict, r: Recipe) -> bytes:
    """1-4 mutations of a copy of ``seed`` chosen by the recipe."""
    record = json.loads(json.dumps(seed))
    for _ in range(1 + r.below(4)):
        slots = _slots(record, [])
        if not slots:
            break
        container, key = slots[r.below(len(slots))]
        op = r.below(4)
        if op == 0 and isinstance(container, dict):
            del container[key]
        elif op == 1 and isinstance(container, dict) and isinstance(key, str) and key:
            container[key.swapcase() if r.byte() & 1 else key.lower()] = container.pop(key)
        else:
            container[key] = _value(r)
    return json.dumps(record).encode()


def seeds(stream: str) -> list[dict]:
    """Real records of the stream: the scripted scenario's and a short simulation's."""
    from tests import test_scenario_scripted as scripted

    lines = {"contact_events": scripted.contact_event_lines(),
             "ctrs": list(scripted.CTRS.values()), "agent_events": scripted.agent_lines()}[stream]
    records = [json.loads(line) for line in lines]
    sim = _simulated(stream)
    return records + sim


def _simulated(stream: str, limit: int = 40) -> list[dict]:
    from tools.sim.config import FaultConfig, SimConfig
    from tools.sim.simulation import Simulation

    out: list[dict] = []
    cfg = SimConfig(seed=5, agents=3, contacts=20, duration_s=900, faults=FaultConfig.none())
    for rec in Simulation(cfg).records():
        if rec.stream == stream and rec.good:
            out.append(json.loads(rec.value))
            if len(out) >= limit:
                break
    return out


def one_input(stream: str, seed_records: list[dict], data: bytes) -> None:
    """The fuzz target: raw bytes, then a mutated real record; raises on any violation."""
    normalize, record_type = TARGETS[stream]
    check(normalize, record_type, stream, data)
    if data:
        r = Recipe(data)
        raw = mutate(seed_records[r.below(len(seed_records))], r)
        check(normalize, record_type, stream, raw)
        check(normalize, record_type, stream, raw.decode())


def write_corpus(stream: str, directory: Path) -> list[dict]:
    """Seed the corpus folder with the stream's real records (once); returns them."""
    records = seeds(stream)
    directory.mkdir(parents=True, exist_ok=True)
    if not any(directory.iterdir()):
        for i, record in enumerate(records):
            (directory / f"seed-{i:03d}").write_bytes(json.dumps(record).encode())
    return records


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if atheris is None:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    if len(argv) < 2 or argv[1] not in TARGETS:
        print(__doc__, file=sys.stderr)
        return 2
    stream = argv.pop(1)
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus:
        records = write_corpus(stream, Path(corpus[0]))
    else:
        records = seeds(stream)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    atheris.Setup(argv, lambda data: one_input(stream, records, data))
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
