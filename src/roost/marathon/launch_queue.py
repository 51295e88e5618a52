"""The launch queue: instances waiting for an offer, and each app's launch delay (backoff).

Marathon's ``LaunchQueue`` + ``RateLimiter`` (``docs/docs/backoff.md``): after a task of an
app ends FAILED or FINISHED, the app's next launch waits ``delay``, which starts at
``backoffSeconds`` and grows by ``backoffFactor`` per failure up to ``maxLaunchDelaySeconds``.
A kill does not raise it. It resets on a new version, on ``DELETE /v2/queue/{id}/delay``, and
after a quiet spell of ``delay + maxLaunchDelaySeconds`` without failures. Pure: callers pass
monotonic ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roost.marathon.placement import OfferStats


@dataclass
class LaunchDelay:
    backoff_seconds: float
    factor: float
    max_seconds: float
    current: float = 0.0
    until: float = 0.0
    last_failure: float | None = None

    def on_failure(self, now: float) -> float:
        """Note a failed/finished task; returns the new delay in seconds."""
        if (
            self.last_failure is not None
            and now - self.last_failure > self.current + self.max_seconds
        ):
            self.current = 0.0  # quiet long enough: start again from backoffSeconds
        if self.current <= 0:
            self.current = min(self.backoff_seconds, self.max_seconds)
        else:
            self.current = min(self.current * self.factor, self.max_seconds)
        self.last_failure = now
        self.until = now + self.current
        return self.current

    def reset(self) -> None:
        self.current = 0.0
        self.until = 0.0
        self.last_failure = None

    def remaining(self, now: float) -> float:
        return max(0.0, self.until - now)


@dataclass
class QueueEntry:
    app_id: str
    count: int
    since: float
    """Wall-clock time the entry was created (``since`` in ``/v2/queue``)."""
    stats: OfferStats = field(default_factory=OfferStats)


class LaunchQueue:
    def __init__(self) -> None:
        self.entries: dict[str, QueueEntry] = {}
        self.delays: dict[str, LaunchDelay] = {}

    def count(self, app_id: str) -> int:
        entry = self.entries.get(app_id)
        return entry.count if entry else 0

    def add(self, app_id: str, n: int, wall: float) -> None:
        if n <= 0:
            return
        entry = self.entries.get(app_id)
        if entry is None:
            self.entries[app_id] = QueueEntry(app_id, n, wall)
        else:
            entry.count += n

    def remove(self, app_id: str, n: int) -> int:
        """Take up to ``n`` waiting instances off the queue; returns how many were taken."""
        entry = self.entries.get(app_id)
        if entry is None or n <= 0:
            return 0
        taken = min(n, entry.count)
        entry.count -= taken
        if entry.count == 0:
            del self.entries[app_id]
        return taken

    def clear(self, app_id: str) -> None:
        self.entries.pop(app_id, None)

    def forget(self, app_id: str) -> None:
        self.entries.pop(app_id, None)
        self.delays.pop(app_id, None)

    def delay_for(self, app_id: str, backoff: float, factor: float, max_s: float) -> LaunchDelay:
        d = self.delays.get(app_id)
        if d is None:
            d = self.delays[app_id] = LaunchDelay(backoff, factor, max_s)
        else:
            d.backoff_seconds, d.factor, d.max_seconds = backoff, factor, max_s
        return d

    def remaining(self, app_id: str, now: float) -> float:
        d = self.delays.get(app_id)
        return d.remaining(now) if d else 0.0

    def reset_delay(self, app_id: str) -> None:
        d = self.delays.get(app_id)
        if d is not None:
            d.reset()

    def launchable(self, now: float) -> list[QueueEntry]:
        """Entries with instances to launch whose delay has passed, oldest first."""
        ready = [e for e in self.entries.values() if self.remaining(e.app_id, now) <= 0]
        return sorted(ready, key=lambda e: e.since)

    def next_ready_at(self, now: float) -> float | None:
        """Monotonic time at which a delayed entry becomes launchable (None: none waits)."""
        waits = [
            self.delays[e.app_id].until
            for e in self.entries.values()
            if e.app_id in self.delays and self.delays[e.app_id].until > now
        ]
        return min(waits) if waits else None
