"""Windowed counters and the leaky token bucket (Finagle ``WindowedAdder``,
``TokenBucket.newLeakyBucket``), driven by an injected clock.

A :class:`WindowedAdder` sums what was added over the last ``window`` seconds, kept in
``slices`` buckets: a value expires when its slice falls out of the window (so it lives
between ``window - window/slices`` and ``window`` seconds). The retry budget, the deadline
admission filter and the NACK admission filter are built on it.
"""

from __future__ import annotations

from roost.core.clock import SYSTEM_CLOCK, Clock


class WindowedAdder:
    __slots__ = ("_clock", "_current", "_slice", "_slices", "_start")

    def __init__(self, window: float, slices: int = 10, clock: Clock = SYSTEM_CLOCK) -> None:
        if window <= 0 or slices < 1:
            raise ValueError("window must be positive and slices at least 1")
        self._clock = clock
        self._slice = window / slices
        self._slices = [0] * slices
        self._current = 0
        self._start = clock.monotonic()
        """When the current slice began."""

    def _expire(self) -> None:
        elapsed = self._clock.monotonic() - self._start
        if elapsed >= self._slice:
            self._roll(elapsed)

    def _roll(self, elapsed: float) -> None:
        """``elapsed`` seconds since the current slice began: move on, zeroing what expired."""
        steps = int(elapsed // self._slice)
        n = len(self._slices)
        for i in range(1, min(steps, n) + 1):
            self._slices[(self._current + i) % n] = 0
        self._current = (self._current + steps) % n
        self._start += steps * self._slice

    def add(self, value: int) -> None:
        elapsed = self._clock.monotonic() - self._start  # (_expire, inline: per request)
        if elapsed >= self._slice:
            self._roll(elapsed)
        self._slices[self._current] += value

    def incr(self) -> None:
        elapsed = self._clock.monotonic() - self._start
        if elapsed >= self._slice:
            self._roll(elapsed)
        self._slices[self._current] += 1

    def sum(self) -> int:
        self._expire()
        return sum(self._slices)


class LeakyBucket:
    """Integer tokens that expire after ``ttl`` (10 slices), plus a constant ``reserve`` that
    never expires (Finagle ``TokenBucket.newLeakyBucket(ttl, reserve)``)."""

    __slots__ = ("_adder", "reserve")

    def __init__(self, ttl: float, reserve: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._adder = WindowedAdder(ttl, 10, clock)
        self.reserve = reserve

    def put(self, n: int) -> None:
        self._adder.add(n)

    def try_get(self, n: int) -> bool:
        if self.count() >= n:
            self._adder.add(-n)
            return True
        return False

    def count(self) -> int:
        return self._adder.sum() + self.reserve
