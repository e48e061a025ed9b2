"""CPU per record of the input parse (``udfs.ingest.normalize_raw``), per stream.

    python -m bench.parse_speed [--contacts N] [--agents N] [--repeat R] [--against REV]

Runs the records of one simulator run (its default fault mix: duplicates, malformed lines) through
``normalize_raw`` as the operators do (a ``str`` value, fixed event-time bounds) and prints the
best-of-``R`` microseconds per record of each stream. With ``--against REV`` the same inputs, plus
``--fuzz`` mutated records per stream (the fuzz target's mutations, as bytes and as str), also go
through the parse code of git revision ``REV`` (its ``udfs/`` exported to a temporary folder and run
in a child process); the outputs must be identical (``repr`` of every record, every dead letter
without its wall-clock ``at``), and both timings are printed.

Pure Python, no Flink: a single-threaded CPU benchmark (run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import pickle
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

STREAMS = ("contact_events", "ctrs", "agent_events")
MIN_MS = 0  # 1970: every simulated record is inside the bounds ...
MAX_MS = 4_102_444_800_000  # ... 2100 (fixed, so outputs do not depend on the wall clock)
REPO_ROOT = Path(__file__).resolve().parents[1]


def simulated_inputs(seed: int, agents: int, contacts: int, duration_s: int) -> dict[str, list]:
    """Stream -> its raw lines (``str``) of one simulator run, in delivery order."""
    from tools.sim.config import FaultConfig, SimConfig
    from tools.sim.simulation import Simulation

    faults = FaultConfig(malformed=0.02)
    cfg = SimConfig(seed=seed, agents=agents, contacts=contacts, duration_s=duration_s,
                    faults=faults)
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


def comparable(result) -> str:
    """A record's repr; a dead letter's without its wall-clock ``at``."""
    from udfs.records import DeadLetter

    if type(result) is DeadLetter:
        return repr(result._replace(at=""))
    return repr(result)


def measure(inputs: dict[str, list], timed: Sequence[str], repeat: int) -> tuple[dict, dict]:
    """(stream -> best µs per record over ``repeat`` passes of ``timed``, stream -> outputs)."""
    import gc

    from udfs.ingest import normalize_raw

    outputs = {s: [comparable(normalize_raw(s, raw, MIN_MS, MAX_MS)) for raw in values]
               for s, values in inputs.items()}
    micros: dict[str, float] = {}
    for stream in timed:
        values = inputs[stream]
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            for raw in values:
                normalize_raw(stream, raw, MIN_MS, MAX_MS)
            best = min(best, time.perf_counter() - start)
        micros[stream] = best / len(values) * 1e6
    return micros, outputs


def _child(job: str) -> None:
    """In the exported revision: measure the job's inputs, pickle the result next to it."""
    with open(job, "rb") as f:
        inputs, timed, repeat = pickle.load(f)
    result = measure(inputs, timed, repeat)
    with open(job + ".out", "wb") as f:
        pickle.dump(result, f)


def run_revision(rev: str, inputs: dict, timed: Sequence[str], repeat: int) -> tuple[dict, dict]:
    """``measure`` with the ``udfs/`` of git revision ``rev`` (and this file), in a child."""
    with tempfile.TemporaryDirectory(prefix="parse-speed-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", rev, "udfs"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        (Path(tmp) / "bench").mkdir()
        (Path(tmp) / "bench" / "__init__.py").write_text("")
        (Path(tmp) / "bench" / "parse_speed.py").write_text(Path(__file__).read_text())
        job = str(Path(tmp) / "job.pickle")
        with open(job, "wb") as f:
            pickle.dump((inputs, list(timed), repeat), f)
        subprocess.run([sys.executable, "-m", "bench.parse_speed", "--child", job], cwd=tmp,
                       check=True)
        with open(job + ".out", "rb") as f:
            return pickle.load(f)


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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0

    inputs = simulated_inputs(args.seed, args.agents, args.contacts, args.duration)
    counts = {s: len(v) for s, v in inputs.items()}
    fuzz = fuzzed_inputs(args.fuzz, args.seed) if args.against else {}  # compared, not timed

    micros, outputs = measure(inputs, STREAMS, args.repeat)
    _, fuzz_outputs = measure(fuzz, (), 0)
    old_micros: dict = {}
    differing = 0
    if args.against:
        old_micros, old_outputs = run_revision(args.against, inputs, STREAMS, args.repeat)
        _, old_fuzz = run_revision(args.against, fuzz, (), 0)
        compared = 0
        for stream in STREAMS:
            differing += compare(stream, old_outputs[stream], outputs[stream])
            differing += compare(f"fuzz:{stream}", old_fuzz[stream], fuzz_outputs[stream])
            compared += len(outputs[stream]) + len(fuzz_outputs[stream])
        print(f"compared {compared} outputs with {args.against}: {differing} differ")

    print(f"{'stream':<16}{'records':>9}{'dead':>7}{'µs/record':>11}"
          + (f"{args.against + ' µs':>14}{'speed-up':>10}" if args.against else ""))
    for stream in STREAMS:
        dead = sum(1 for o in outputs[stream] if o.startswith("DeadLetter("))
        line = f"{stream:<16}{counts[stream]:>9}{dead:>7}{micros[stream]:>11.2f}"
        if args.against:
            old = old_micros[stream]
            line += f"{old:>14.2f}{old / micros[stream]:>9.2f}x"
        print(line)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
