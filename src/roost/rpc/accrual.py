"""Failure accrual: stop sending to an endpoint that keeps failing, probe it back
(Finagle ``liveness/FailureAccrualFactory.scala``; policies in :mod:`roost.rpc.accrual_policy`).

One :class:`FailureAccrualFactory` wraps one endpoint's factory. Its states::

    ALIVE ── policy says dead for d ──> DEAD (BUSY) ── d elapsed ──> PROBE_OPEN (underlying)
      ^                                   ^                              │ next acquire
      │                                   └──── failure: next duration ──┤
      └──────────── success (revivals, policy.revived()) ─── PROBE_CLOSED (BUSY)
                                 ignorable, or policy declines ──> PROBE_OPEN

Dead and probing endpoints report BUSY so balancers avoid them, but acquisition is never
refused: accrual fails open, and a panicking balancer may still send. Only one probe goes
out per PROBE_OPEN. A failed acquisition counts as a failed request. A session closed
without any call, or a cancelled one, is ignorable: the probe slot opens again instead of
staying taken. Timers are lazy: every look at the state reads the injected clock, so tests
move a virtual clock instead of sleeping.

Stats attributes (exported later as ``failure_accrual/<name>``): ``removals``, ``revivals``,
``probes`` (entries into PROBE_OPEN), ``removed_for_ms``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import Any, Generic, Literal

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.accrual_policy import (
    ConsecutiveFailures,
    FailureAccrualPolicy,
    OrElse,
    SuccessRate,
    SuccessRateWithinDuration,
    consecutive_failures,
    success_rate,
    success_rate_windowed,
)
from roost.rpc.service import Rep, Req, Service, ServiceFactory, Status
from roost.rpc.stats import NullStatsReceiver, StatsReceiver

__all__ = [
    "Classifier",
    "ConsecutiveFailures",
    "FailureAccrualFactory",
    "FailureAccrualPolicy",
    "OrElse",
    "Outcome",
    "State",
    "SuccessRate",
    "SuccessRateWithinDuration",
    "consecutive_failures",
    "default_classifier",
    "success_rate",
    "success_rate_windowed",
]

log = logging.getLogger(__name__)

Outcome = Literal["success", "failure", "ignorable"]
Classifier = Callable[[Any, object], Outcome]
"""``(request, response or exception) -> outcome``."""


def default_classifier(req: object, rep_or_exc: object) -> Outcome:
    """An exception is a failure and a return a success (Finagle's default); a cancellation
    is ignorable: the caller gave up, the endpoint did nothing wrong."""
    if isinstance(rep_or_exc, asyncio.CancelledError):
        return "ignorable"
    if isinstance(rep_or_exc, BaseException):
        return "failure"
    return "success"


class State(enum.Enum):
    ALIVE = "alive"
    DEAD = "dead"
    PROBE_OPEN = "probe_open"
    PROBE_CLOSED = "probe_closed"


class FailureAccrualFactory(Generic[Req, Rep]):
    def __init__(
        self,
        underlying: ServiceFactory[Req, Rep],
        policy: FailureAccrualPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        classifier: Classifier = default_classifier,
        stats: StatsReceiver | None = None,
    ) -> None:
        """``stats``: where ``removals``, ``revivals``, ``probes`` and ``removed_for_ms`` are
        counted too (a client passes its ``failure_accrual`` scope, shared by its endpoints)."""
        self.underlying = underlying
        self.policy = policy if policy is not None else consecutive_failures(5)
        self.clock = clock
        self.classifier = classifier
        self._state = State.ALIVE
        self.dead_until = 0.0
        """When a DEAD endpoint becomes probeable (monotonic seconds)."""
        self.removals = 0
        self.revivals = 0
        self.probes = 0
        self.removed_for_ms = 0
        scope = stats if stats is not None else NullStatsReceiver()
        self._removals = scope.counter("removals")
        self._revivals = scope.counter("revivals")
        self._probes = scope.counter("probes")
        self._removed_for_ms = scope.counter("removed_for_ms")

    @property
    def state(self) -> State:
        if self._state is State.DEAD and self.clock.monotonic() >= self.dead_until:
            self._start_probing()
        return self._state

    @property
    def status(self) -> Status:
        state = self._state
        if state is State.DEAD:
            state = self.state  # (its time may be up: probing starts)
        if state is State.DEAD or state is State.PROBE_CLOSED:
            return Status.worst(Status.BUSY, self.underlying.status)
        return self.underlying.status

    def begin(self) -> None:
        """A request goes to this endpoint now (the probe slot closes behind a probe); its
        outcome must be :meth:`observe`\\ d. (What :meth:`acquire` does, for callers that
        hold connections of their own: the mesh's fast lane.)"""
        state = self._state
        if state is State.DEAD:
            state = self.state  # (its time may be up: probing starts)
        if state is State.PROBE_OPEN:
            self._state = State.PROBE_CLOSED

    def observe(self, outcome: Outcome) -> None:
        """The outcome of a request :meth:`begin` started."""
        self._observe(outcome)

    def succeeded(self, n: int) -> None:
        """``n`` requests :meth:`begin` started succeeded, one after another."""
        for _ in range(min(n, 1) if self.policy.once_per_success_run else n):
            self._observe("success")

    async def acquire(self) -> Service[Req, Rep]:
        self.begin()
        try:
            session = await self.underlying.acquire()
        except asyncio.CancelledError:
            self._observe("ignorable")
            raise
        except Exception:
            self._observe("failure")
            raise
        return _AccrualSession(session, self)

    async def close(self) -> None:
        await self.underlying.close()

    def _classify(self, req: object, rep_or_exc: object) -> None:
        try:
            outcome = self.classifier(req, rep_or_exc)
        except Exception:
            log.exception("response classifier failed; using the default classification")
            outcome = default_classifier(req, rep_or_exc)
        self._observe(outcome)

    def _observe(self, outcome: Outcome) -> None:
        state, now = self.state, self.clock.monotonic()
        if outcome == "success":
            if state is State.PROBE_CLOSED:
                self.revivals += 1
                self._revivals.incr()
                self.policy.revived()
                self._state = State.ALIVE
            self.policy.record_success(now)
        elif outcome == "failure":
            if state not in (State.ALIVE, State.PROBE_CLOSED):
                return  # already dead: failures of requests sent before do not extend it
            duration = self.policy.mark_dead_on_failure(now)
            if duration is not None:
                self._mark_dead(now, duration)
            elif state is State.PROBE_CLOSED:
                self._start_probing()
        elif state is State.PROBE_CLOSED:
            self._start_probing()

    def _mark_dead(self, now: float, duration: float) -> None:
        self.removals += 1
        self.removed_for_ms += round(duration * 1000)
        self._removals.incr()
        self._removed_for_ms.incr(round(duration * 1000))
        self._state = State.DEAD
        self.dead_until = now + duration

    def _start_probing(self) -> None:
        self._state = State.PROBE_OPEN
        self.probes += 1
        self._probes.incr()


class _AccrualSession(Generic[Req, Rep]):
    def __init__(self, session: Service[Req, Rep], owner: FailureAccrualFactory[Req, Rep]):
        self.session = session
        self._owner = owner
        self._observed = False

    async def __call__(self, req: Req) -> Rep:
        self._observed = True
        try:
            rep = await self.session(req)
        except BaseException as exc:
            self._owner._classify(req, exc)
            raise
        self._owner._classify(req, rep)
        return rep

    @property
    def status(self) -> Status:
        return self.session.status

    async def close(self) -> None:
        if not self._observed:  # acquired and never used: give the probe slot back
            self._observed = True
            self._owner._observe("ignorable")
        await self.session.close()
