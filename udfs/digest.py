"""A stable fingerprint of emitted numbers, so an update that changes nothing emits nothing.

Python's ``hash`` of bytes is salted per process; after a restore from a checkpoint the new
process would see every stored digest as different and re-emit. blake2b is stable everywhere.
"""

from __future__ import annotations

import hashlib

import orjson


def digest(value: object) -> bytes:
    return hashlib.blake2b(
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS), digest_size=12).digest()
