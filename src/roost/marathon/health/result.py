"""The health of one task against one check: a pure state machine driven by an injected clock.

Mirrors Marathon's ``core/health/Health.scala`` (the counters and timestamps) and the rules
of ``core/health/impl/HealthCheckActor.scala`` (when a failure counts and when it kills).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from roost.marathon.timestamps import format_ts

if TYPE_CHECKING:
    from roost.marathon.appdef import HealthCheckDef


class HealthResult:
    """One (task, check) pair: ``healthCheckResults[]`` entry and the kill decision.

    * A success sets ``firstSuccess`` (once) and ``lastSuccess``, resets
      ``consecutiveFailures`` and makes the result alive.
    * A failure is ignored entirely (nothing recorded) while the task is inside
      ``gracePeriodSeconds`` of becoming RUNNING and has never succeeded
      (``HealthCheckActor.ignoreFailures``); once there was a success every failure counts.
    * A counted failure records ``lastFailure``/``lastFailureCause``, bumps
      ``consecutiveFailures`` and makes the result not alive. It asks for a kill when
      ``maxConsecutiveFailures > 0`` failures were already counted before it
      (``HealthCheckActor.checkConsecutiveFailures`` runs on the health *before* the update,
      so the docs' "fails more than maxConsecutiveFailures checks" holds); 0 never kills.

    ``now`` is monotonic seconds (the grace period), ``wall`` epoch seconds (the JSON
    timestamps).
    """

    def __init__(
        self, check: HealthCheckDef, *, task_id: str, instance_id: str, started_at: float
    ) -> None:
        self.check = check
        self.task_id = task_id
        self.instance_id = instance_id
        self.started_at = started_at
        self.alive = False
        self.consecutive_failures = 0
        self.first_success: float | None = None
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_failure_cause: str | None = None

    def in_grace_period(self, now: float) -> bool:
        """Failures are ignored until the first success or the end of the grace period."""
        return (
            self.first_success is None and now < self.started_at + self.check.grace_period_seconds
        )

    def record_success(self, *, now: float, wall: float) -> None:
        if self.first_success is None:
            self.first_success = wall
        self.last_success = wall
        self.consecutive_failures = 0
        self.alive = True

    def record_failure(self, *, now: float, wall: float, cause: str) -> bool:
        """Record a failed check; ``True`` when the task must be killed."""
        if self.in_grace_period(now):
            return False
        limit = self.check.max_consecutive_failures
        kill = limit > 0 and self.consecutive_failures >= limit
        self.last_failure = wall
        self.last_failure_cause = cause
        self.consecutive_failures += 1
        self.alive = False
        return kill

    def to_json(self, fmt_ts: Callable[[float], str] = format_ts) -> dict[str, Any]:
        """The ``healthCheckResults[]`` entry (``types/health.raml``; marathon-python's keys)."""

        def stamp(value: float | None) -> str | None:
            return None if value is None else fmt_ts(value)

        return {
            "alive": self.alive,
            "consecutiveFailures": self.consecutive_failures,
            "firstSuccess": stamp(self.first_success),
            "lastSuccess": stamp(self.last_success),
            "lastFailure": stamp(self.last_failure),
            "lastFailureCause": self.last_failure_cause,
            "instanceId": self.instance_id,
            "taskId": self.task_id,
        }

    def __repr__(self) -> str:
        return (
            f"HealthResult({self.task_id!r}, {self.check.protocol}, alive={self.alive}, "
            f"consecutive_failures={self.consecutive_failures})"
        )
