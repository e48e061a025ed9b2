"""Timers this subtask registered and has not seen fire, so each is registered once.

A timer registration is a call into Java (the GIL released and re-taken); an operator that
registers the same timer for every record of a window or a tick makes it once per record.
"""

from __future__ import annotations


class RegisteredTimers:
    """The (key, timestamp) timers this subtask has registered and not yet seen fire, so that a
    timer is registered once, not once per message (each registration is a call into Java).

    In memory only: after a restore it is empty and the first message registers again, which
    Flink ignores for a timer it already has (timers are part of the checkpoint).
    """

    def __init__(self) -> None:
        self._pending: set = set()

    def first(self, key, timestamp: int) -> bool:
        """True once per (key, timestamp) until it fires: register the timer now."""
        k = (key, timestamp)
        if k in self._pending:
            return False
        self._pending.add(k)
        return True

    def fired(self, key, timestamp: int) -> None:
        self._pending.discard((key, timestamp))
