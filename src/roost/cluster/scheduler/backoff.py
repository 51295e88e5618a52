"""Truncated exponential backoff for re-subscribing and for retrying reconciliation.

Mesos' scheduler HTTP API doc asks schedulers to reconnect "using exponential backoff capped
at 15 s"; ``docs/reconciliation.md`` retries explicit reconciliation the same way. A little
jitter (a fraction of each delay, taken off, never added) keeps a fleet of frameworks from
reconnecting in lock-step after a master failover.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """``initial, 2·initial, 4·initial, …`` capped at ``cap``; :meth:`reset` starts over."""

    def __init__(
        self,
        initial: float = 1.0,
        cap: float = 15.0,
        *,
        multiplier: float = 2.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError(f"backoff needs 0 < initial <= cap, got ({initial}, {cap})")
        if multiplier < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff needs multiplier >= 1 and 0 <= jitter < 1")
        self.initial = initial
        self.cap = cap
        self.multiplier = multiplier
        self.jitter = jitter
        self._rng = rng
        self._base = initial
        self.attempts = 0

    def peek(self) -> float:
        """The un-jittered delay :meth:`next` would be based on."""
        return self._base

    def next(self) -> float:
        """The delay before the next attempt; grows the following one."""
        delay = self._base * (1.0 - self.jitter * self._rng())
        self._base = min(self._base * self.multiplier, self.cap)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self._base = self.initial
        self.attempts = 0
