"""Seeded identifiers: UUIDs and Amazon Connect ARNs drawn from the simulation's own RNG."""

from __future__ import annotations

import random

REGION = "us-east-1"
ACCOUNT_ID = "111122223333"


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID string from ``rng`` (``uuid.uuid4`` would use the OS entropy pool)."""
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{instance_id}"
