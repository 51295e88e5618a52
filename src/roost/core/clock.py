"""Injectable clocks: pure logic takes a :class:`Clock`; tests drive a :class:`ManualClock`."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for timing logic and wall-clock seconds for timestamps."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    # the C functions themselves: the RPC hot path reads the clock several times per request
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)


class ManualClock:
    """A clock that only moves when told to (like trio's MockClock or Finagle's MockTimer)."""

    def __init__(self, start: float = 1_000.0, wall: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds


SYSTEM_CLOCK = SystemClock()
