"""The benchmark's state per open contact from checkpoints (bench.state_size)."""

from __future__ import annotations

from bench.state_size import checkpoint_sizes


def test_state_per_contact_is_taken_at_the_checkpoint_with_the_most_state() -> None:
    out = checkpoint_sizes([(1, 200, 100_000), (2, 220, 4_222), (3, 0, 50)])
    assert out["checkpoints"] == 2  # a checkpoint with no contacts is not usable
    assert (out["largest_contacts"], out["largest_state_bytes"]) == (200, 100_000)
    assert out["bytes_per_contact_at_largest"] == 500.0
