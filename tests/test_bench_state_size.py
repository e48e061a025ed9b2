"""The benchmark's state per open contact from checkpoints (bench.state_size)."""

from __future__ import annotations

from bench.state_size import checkpoint_sizes


def test_state_per_contact_is_taken_at_the_checkpoint_with_the_most_state() -> None:
    out = checkpoint_sizes([(1, 200, 100_000), (2, 220, 4_222), (3, 0, 50)])
    assert out["checkpoints"] == 2  # a checkpoint with no contacts is not usable
    assert (out["largest_contacts"], out["largest_state_bytes"]) == (200, 100_000)
    assert out["bytes_per_contact_at_largest"] == 500.0


def test_contacts_held_count_every_partition_at_its_own_committed_offset() -> None:
    """With several partitions a checkpoint covers a different offset in each (the 1 M-record
    run of 2026-12-02 counted partition 0 only: 2,145 B per contact instead of ~540)."""
    from bench.workload import Workload

    wl = Workload({"contact_events": "ce", "ctrs": "ct", "agent_events": "ae"}, {}, None, 0.0,
                  partitions=2)
    for topic, partition, offset, key in (
            ("ce", 0, 0, b"c1"), ("ce", 0, 1, b"c1"), ("ce", 0, 2, b"c3"), ("ce", 1, 0, b"c2"),
            ("ce", 1, 1, None), ("ct", 1, 0, b"c4"), ("ae", 0, 0, b"agent")):
        wl.delivered(topic, partition, offset, key)
    assert wl.contacts_at({}) == 0
    assert wl.contacts_at({("contact_events", 0): 2, ("contact_events", 1): 2}) == 2  # c1, c2
    assert wl.contacts_at({("contact_events", 0): 3, ("contact_events", 1): 2,
                           ("ctrs", 1): 1}) == 4
