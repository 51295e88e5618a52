"""Reconciliation bookkeeping (Mesos ``docs/reconciliation.md``).

Two duties, both pure and driven by an injected clock:

* **implicit** reconciliation (an empty RECONCILE: "tell me about all my tasks") right after
  every (re-)subscribe and then every ``interval`` seconds;
* **explicit** reconciliation of named tasks, re-asked with truncated exponential backoff until
  an UPDATE for each task has arrived. The master may stay silent about a task on an agent that
  has not re-registered yet, so one question is not enough.

The driver asks :meth:`Reconciler.due` what to send and sleeps until :meth:`next_deadline`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from roost.core.clock import Clock

TaskRef = tuple[str, str | None]
"""``(task_id, agent_id or None)``, as RECONCILE takes them."""


@dataclass
class PendingTask:
    agent_id: str | None
    next_at: float
    delay: float
    attempts: int = 0


@dataclass(frozen=True)
class Due:
    implicit: bool
    explicit: list[TaskRef]

    def __bool__(self) -> bool:
        return self.implicit or bool(self.explicit)


class Reconciler:
    def __init__(
        self,
        clock: Clock,
        interval: float = 900.0,
        *,
        initial_backoff: float = 3.0,
        max_backoff: float = 60.0,
    ) -> None:
        if initial_backoff <= 0 or max_backoff < initial_backoff:
            raise ValueError("reconciliation needs 0 < initial_backoff <= max_backoff")
        self._clock = clock
        # A non-positive interval turns periodic reconciliation off (after-subscribe stays).
        self.interval = interval if interval > 0 else math.inf
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._next_implicit = math.inf
        self._pending: dict[str, PendingTask] = {}

    @property
    def pending(self) -> dict[str, PendingTask]:
        """Explicitly reconciled tasks still waiting for an answer, by task id."""
        return dict(self._pending)

    def subscribed(self) -> None:
        """A (re-)subscribe: reconcile implicitly now, and re-ask every pending task now."""
        now = self._clock.monotonic()
        self._next_implicit = now
        for task in self._pending.values():
            task.next_at = now

    def track(self, tasks: Iterable[TaskRef]) -> None:
        """Start explicit reconciliation of ``tasks`` (due at once; known ones keep their pace)."""
        now = self._clock.monotonic()
        for task_id, agent_id in tasks:
            known = self._pending.get(task_id)
            if known is None:
                self._pending[task_id] = PendingTask(agent_id, now, self.initial_backoff)
            elif agent_id is not None:
                known.agent_id = agent_id

    def answered(self, task_id: str) -> bool:
        """An UPDATE arrived for ``task_id``; True if it was being reconciled."""
        return self._pending.pop(task_id, None) is not None

    def due(self) -> Due:
        """What to send now; asking counts as sending (the next ask is scheduled)."""
        now = self._clock.monotonic()
        implicit = now >= self._next_implicit
        if implicit:
            self._next_implicit = now + self.interval
        explicit: list[TaskRef] = []
        for task_id, task in self._pending.items():
            if now >= task.next_at:
                explicit.append((task_id, task.agent_id))
                task.attempts += 1
                task.next_at = now + task.delay
                task.delay = min(task.delay * 2, self.max_backoff)
        return Due(implicit, explicit)

    def next_deadline(self) -> float | None:
        """Monotonic time of the next thing to send, or None when nothing is scheduled."""
        times = [t.next_at for t in self._pending.values()]
        if self._next_implicit != math.inf:
            times.append(self._next_implicit)
        return min(times) if times else None
