"""CPU per record of the input parse (``udfs.ingest.normalize_raw``), per stream.

    python -m bench.parse_speed [--contacts N] [--agents N] [--repeat R] [--against REV]

Runs the records of one simulator run (duplicates, shuffling and 2 % malformed lines) through
``normalize_raw`` as the operators do (a ``str`` value, fixed event-time bounds) and prints the
CPU microseconds per record of each stream (per chunk of 1000 records the best of ``R`` passes).

With ``--against REV`` the parse code of git revision ``REV`` (its ``udfs/``, exported to a
temporary folder as package ``udfs_rev``) runs in the same process, its timed passes alternating
with the current code's (a shared machine's load hits both alike), and every output must be
identical: ``repr`` of every record, every dead letter without its wall-clock ``at``, for the
simulated records and for ``--fuzz`` mutated real records per stream (the fuzz target's
mutations, as bytes and as str, plus raw fuzz bytes). Exit status 1 when any output differs.

Pure Python, no Flink: a single-threaded CPU benchmark.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

STREAMS = ("contact_events", "ctrs", "agent_events")
MIN_MS = 0  # 1970: every simulated record is inside the bounds ...
MAX_MS = 4_102_444_800_000  # ... 2100 (fixed, so outputs do not depend on the wall clock)
REPO_ROOT = Path(__file__).resolve().parents[1]
REV_PACKAGE = "udfs_rev"


def simulated_inputs(seed: int, agents: int, contacts: int, duration_s: int) -> dict[str, list]:
    """Stream -> its raw lines (``str``) of one simulator run, in delivery order."""
    from tools.sim.config import FaultConfig, SimConfig
    from tools.sim.simulation import Simulation

    cfg = SimConfig(seed=seed, agents=agents, contacts=contacts, duration_s=duration_s,
                    faults=FaultConfig(malformed=0.02))
    out: dict[str, list] = {s: [] for s in STREAMS}
    for rec in Simulation(cfg).records():
        out[rec.stream].append(rec.value.decode())
    return out


def fuzzed_inputs(per_stream: int, seed: int) -> dict[str, list]:
    """Stream -> mutated real records (the fuzz target's mutations), alternately bytes and str."""
    sys.modules.setdefault("atheris", None)  # no coverage instrumentation of udfs here
    from tests.fuzz.fuzz_parsers import Recipe, mutate, seeds

    rng = random.Random(seed)
    out: dict[str, list] = {}
    for stream in STREAMS:
        records = seeds(stream)
        values: list = []
        for i in range(per_stream):
            data = rng.randbytes(rng.randrange(8, 64))
            r = Recipe(data)
            raw = mutate(records[r.below(len(records))], r)
            values.append(raw if i % 2 else raw.decode())
            if i % 16 == 0:
                values.append(data)  # the raw fuzz bytes themselves
        out[stream] = values
    return out


def comparable(result: object) -> str:
    """A record's repr; a dead letter's without its wall-clock ``at``."""
    if type(result).__name__ == "DeadLetter":
        return repr(result._replace(at=""))  # type: ignore[attr-defined]
    return repr(result)


def outputs(normalize: Callable, inputs: dict[str, list]) -> dict[str, list[str]]:
    return {s: [comparable(normalize(s, raw, MIN_MS, MAX_MS)) for raw in values]
            for s, values in inputs.items()}


def cpu_pass(normalize: Callable, stream: str, values: list) -> float:
    """CPU seconds of one pass over ``values`` (process time: the machine may be shared)."""
    start = time.process_time()
    for raw in values:
        normalize(stream, raw, MIN_MS, MAX_MS)
    return time.process_time() - start


def timings(sides: dict[str, Callable], inputs: dict[str, list], repeat: int,
            chunk: int = 1000) -> dict[str, dict[str, float]]:
    """Side -> stream -> µs per record: per chunk of records the best of ``repeat`` passes,
    the sides' passes alternating (short alternating passes: a load burst from another process
    hits both sides alike, and the best of many is near the quiet-machine cost)."""
    total = {side: dict.fromkeys(inputs, 0.0) for side in sides}
    for stream, values in inputs.items():
        for normalize in sides.values():  # warm-up: caches filled as in a running job
            cpu_pass(normalize, stream, values)
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            best = dict.fromkeys(sides, float("inf"))
            for _ in range(repeat):
                for side, normalize in sides.items():
                    best[side] = min(best[side], cpu_pass(normalize, stream, part))
            for side in sides:
                total[side][stream] += best[side]
    return {side: {s: t / len(inputs[s]) * 1e6 for s, t in by_stream.items()}
            for side, by_stream in total.items()}


def import_revision(rev: str, folder: str) -> Callable:
    """``normalize_raw`` of git revision ``rev``: its ``udfs/`` as package ``udfs_rev``."""
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", rev, "udfs"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    package = Path(folder) / REV_PACKAGE
    (Path(folder) / "udfs").rename(package)
    imports = re.compile(r"^(\s*)(from|import) udfs\b", re.MULTILINE)
    for path in package.rglob("*.py"):
        path.write_text(imports.sub(rf"\1\2 {REV_PACKAGE}", path.read_text()))
    sys.path.insert(0, folder)
    from udfs_rev.ingest import normalize_raw  # type: ignore[import-not-found]

    return normalize_raw


def compare(label: str, old: list, new: list) -> int:
    """Number of differing outputs (the first few printed)."""
    bad = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    if len(old) != len(new):
        print(f"{label}: {len(old)} vs {len(new)} outputs")
        return max(1, len(bad))
    for i in bad[:3]:
        print(f"{label}[{i}] differs:\n  old {old[i][:400]}\n  new {new[i][:400]}")
    return len(bad)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument("--agents", type=int, default=80, help="simulated agents")
    parser.add_argument("--contacts", type=int, default=9000, help="simulated contacts")
    parser.add_argument("--duration", type=int, default=7200, help="simulated seconds")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (best is kept)")
    parser.add_argument("--against", metavar="REV",
                        help="also run git revision REV's parsers; outputs must be identical")
    parser.add_argument("--fuzz", type=int, default=20000,
                        help="with --against: mutated records per stream, also compared")
    args = parser.parse_args(argv)

    from udfs.ingest import normalize_raw

    inputs = simulated_inputs(args.seed, args.agents, args.contacts, args.duration)
    current = outputs(normalize_raw, inputs)
    sides = {"current": normalize_raw}
    differing = 0
    with tempfile.TemporaryDirectory(prefix="parse-speed-") as tmp:
        if args.against:
            old_normalize = sides[args.against] = import_revision(args.against, tmp)
            fuzz = fuzzed_inputs(args.fuzz, args.seed)
            pairs = {"": (outputs(old_normalize, inputs), current),
                     "fuzz:": (outputs(old_normalize, fuzz), outputs(normalize_raw, fuzz))}
            compared = 0
            for prefix, (old, new) in pairs.items():
                for stream in STREAMS:
                    differing += compare(prefix + stream, old[stream], new[stream])
                    compared += len(new[stream])
            print(f"compared {compared} outputs with {args.against}: {differing} differ")
        micros = timings(sides, inputs, args.repeat)

    header = f"{'stream':<16}{'records':>9}{'dead':>7}{'µs/record':>11}"
    if args.against:
        header += f"{args.against + ' µs':>14}{'speed-up':>10}"
    print(header)
    for stream in STREAMS:
        n_dead = sum(1 for o in current[stream] if o.startswith("DeadLetter("))
        line = f"{stream:<16}{len(inputs[stream]):>9}{n_dead:>7}{micros['current'][stream]:>11.2f}"
        if args.against:
            old_us = micros[args.against][stream]
            line += f"{old_us:>14.2f}{old_us / micros['current'][stream]:>9.2f}x"
        print(line)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
