"""Garbage-collector settings for the embedded interpreter, applied once per process.

Our records and states are acyclic (tuples, NamedTuples, dataclasses of plain values), so the
reference counts free them; the cyclic collector only rescans the millions of long-lived objects
of the interpreter (PyFlink, Beam, our modules) every few hundred allocations. After start-up
they are frozen (``gc.freeze``: never scanned again) and the young generation may grow to
``GEN0_THRESHOLD`` allocations before a collection.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
_applied = False


def tune_once() -> bool:
    """Freeze what start-up allocated and raise the young-generation threshold (first call
    only; returns whether this call did it)."""
    global _applied
    if _applied:
        return False
    _applied = True
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    return True
