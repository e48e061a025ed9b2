"""The embedded interpreter's collector settings are applied once per process."""

from __future__ import annotations

import gc

from udfs import gc_policy


def test_tuned_once_with_the_young_generation_raised() -> None:
    before = gc.get_threshold()
    try:
        gc_policy._applied = False
        assert gc_policy.tune_once()
        assert gc.get_threshold()[0] == gc_policy.GEN0_THRESHOLD
        assert not gc_policy.tune_once()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
