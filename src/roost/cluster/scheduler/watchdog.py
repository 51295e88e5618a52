"""Heartbeat watchdog: when is a silent subscription stream dead?

The master sends HEARTBEAT every ``heartbeat_interval_seconds`` (15 s, advertised in
SUBSCRIBED). The scheduler HTTP API doc advises reconnecting after about five missed
heartbeats, so a stream that delivers no event at all for ``interval * factor`` is dead.
Until SUBSCRIBED says otherwise, the interval is Mesos' default.
"""

from __future__ import annotations

from roost.core.clock import Clock

DEFAULT_HEARTBEAT_INTERVAL = 15.0


class HeartbeatWatchdog:
    """Pure timing, driven by an injected clock; the driver turns :meth:`remaining` into a timer."""

    def __init__(
        self,
        clock: Clock,
        factor: float = 5.0,
        interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> None:
        if factor <= 0:
            raise ValueError(f"heartbeat timeout factor must be positive, got {factor}")
        self._clock = clock
        self.factor = factor
        self.interval = interval
        self.last_event = clock.monotonic()

    @property
    def timeout(self) -> float:
        return self.interval * self.factor

    def set_interval(self, seconds: float | None) -> None:
        """Adopt the master's advertised interval (ignored when missing or not positive)."""
        if seconds is not None and seconds > 0:
            self.interval = float(seconds)
        self.beat()

    def beat(self) -> None:
        """Any event proves the stream is alive."""
        self.last_event = self._clock.monotonic()

    @property
    def deadline(self) -> float:
        return self.last_event + self.timeout

    def remaining(self) -> float:
        return max(0.0, self.deadline - self._clock.monotonic())

    def expired(self) -> bool:
        return self._clock.monotonic() >= self.deadline
