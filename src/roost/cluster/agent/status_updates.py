"""Reliable, ordered delivery of task status updates to the master.

Mirrors Mesos' ``TaskStatusUpdateManager`` (``src/slave/task_status_update_manager.cpp``):
updates are kept per task in arrival order (one *stream* per task); only the head of each
stream is in flight. The head is re-sent every ``retry_min`` seconds, the interval doubling up
to ``retry_max`` (``STATUS_UPDATE_RETRY_INTERVAL_{MIN,MAX}`` = 10 s / 10 min), until the
framework's acknowledgement for its uuid comes back through the master; then the next queued
update of that task goes out. When the terminal update is acknowledged the stream ends.

This is pure logic driven by an injected :class:`~roost.core.clock.Clock`: it never sends
anything itself. Each method returns the updates the caller must forward now.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from roost.cluster.protocol import TERMINAL_STATES
from roost.core.clock import Clock

__all__ = [
    "TERMINAL_STATES",
    "Acknowledged",
    "Recorded",
    "StatusUpdate",
    "StatusUpdateManager",
]


@dataclass(frozen=True)
class StatusUpdate:
    """One ``TaskStatus`` of a framework's task, as the agent forwards it in ``UPDATE``."""

    framework_id: str
    status: dict[str, Any]

    @property
    def task_id(self) -> str:
        return str(self.status["task_id"]["value"])

    @property
    def uuid(self) -> str:
        return str(self.status["uuid"])

    @property
    def state(self) -> str:
        return str(self.status["state"])

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


class Recorded(Enum):
    """What :meth:`StatusUpdateManager.record` did with an update."""

    FORWARD = "forward"  # it is now in flight: send it
    QUEUED = "queued"  # it waits behind the task's in-flight update
    DUPLICATE = "duplicate"  # its uuid was recorded before (an executor retry)
    TERMINATED = "terminated"  # the task already has a terminal update; dropped


@dataclass(frozen=True)
class Acknowledged:
    """Outcome of an acknowledgement: ``next`` is the update to forward now, if any."""

    matched: bool
    terminal: bool = False
    next: StatusUpdate | None = None


@dataclass
class _Stream:
    pending: deque[StatusUpdate] = field(default_factory=deque)
    uuids: set[str] = field(default_factory=set)
    terminal_recorded: bool = False
    interval: float = 0.0
    next_retry: float = 0.0


class StatusUpdateManager:
    """Per-task FIFO streams of unacknowledged updates with retry timers."""

    def __init__(self, clock: Clock, retry_min: float = 10.0, retry_max: float = 600.0) -> None:
        if retry_min <= 0 or retry_max < retry_min:
            raise ValueError("need 0 < retry_min <= retry_max")
        self._clock = clock
        self._min = retry_min
        self._max = retry_max
        self._streams: dict[tuple[str, str], _Stream] = {}

    def record(self, update: StatusUpdate) -> Recorded:
        """Add an update to its task's stream; forward it when :attr:`Recorded.FORWARD`."""
        key = (update.framework_id, update.task_id)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream()
        if update.uuid in stream.uuids:
            return Recorded.DUPLICATE
        if stream.terminal_recorded:
            return Recorded.TERMINATED
        stream.uuids.add(update.uuid)
        stream.terminal_recorded = update.terminal
        stream.pending.append(update)
        if len(stream.pending) > 1:
            return Recorded.QUEUED
        self._arm(stream)
        return Recorded.FORWARD

    def acknowledge(self, framework_id: str, task_id: str, uuid: str) -> Acknowledged:
        """Handle the framework's ACKNOWLEDGE; only the in-flight update can be acknowledged."""
        stream = self._streams.get((framework_id, task_id))
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid:
            return Acknowledged(matched=False)
        done = stream.pending.popleft()
        if done.terminal:
            del self._streams[(framework_id, task_id)]
            return Acknowledged(matched=True, terminal=True)
        if not stream.pending:
            return Acknowledged(matched=True)
        self._arm(stream)
        return Acknowledged(matched=True, next=stream.pending[0])

    def due(self) -> list[StatusUpdate]:
        """In-flight updates whose retry time has come; each one's interval doubles."""
        now = self._clock.monotonic()
        out = []
        for stream in self._streams.values():
            if stream.pending and stream.next_retry <= now:
                stream.interval = min(stream.interval * 2, self._max)
                stream.next_retry = now + stream.interval
                out.append(stream.pending[0])
        return out

    def resend_all(self) -> list[StatusUpdate]:
        """Every in-flight update, timers reset: call after (re-)subscribing to a master."""
        out = []
        for stream in self._streams.values():
            if stream.pending:
                self._arm(stream)
                out.append(stream.pending[0])
        return out

    def next_deadline(self) -> float | None:
        """Monotonic time of the earliest retry, ``None`` when nothing is in flight."""
        times = [s.next_retry for s in self._streams.values() if s.pending]
        return min(times) if times else None

    def pending(self) -> Iterator[StatusUpdate]:
        """Every unacknowledged update, in per-task order (re-sent after a re-subscription)."""
        for stream in self._streams.values():
            yield from stream.pending

    def in_flight(self, framework_id: str, task_id: str) -> StatusUpdate | None:
        stream = self._streams.get((framework_id, task_id))
        return stream.pending[0] if stream and stream.pending else None

    def has_stream(self, framework_id: str, task_id: str) -> bool:
        """Whether the task still has updates waiting for acknowledgement."""
        stream = self._streams.get((framework_id, task_id))
        return bool(stream and stream.pending)

    def cleanup(self, framework_id: str) -> int:
        """Drop every stream of a removed framework (Mesos ``cleanup(frameworkId)``)."""
        keys = [k for k in self._streams if k[0] == framework_id]
        for k in keys:
            del self._streams[k]
        return len(keys)

    def _arm(self, stream: _Stream) -> None:
        stream.interval = self._min
        stream.next_retry = self._clock.monotonic() + self._min
