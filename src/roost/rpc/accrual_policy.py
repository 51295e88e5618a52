"""Failure accrual policies: when to mark an endpoint dead, and for how long
(Finagle ``liveness/FailureAccrualPolicy.scala``).

A policy is a pure object told about outcomes with the current time (``now``, monotonic
seconds, supplied by the factory's clock). :meth:`~FailureAccrualPolicy.mark_dead_on_failure`
returns ``None`` (stay) or the mark-dead duration: the next value of the policy's backoff.
``revived()`` starts both the statistics and the backoff afresh. When a backoff runs out,
the duration is 300 s from then on.

A backoff is any iterable of durations in seconds. A re-iterable (a list, an object whose
``__iter__`` starts over) is iterated again on revival; a one-shot iterator (a generator) is
remembered as it is read, so a revival replays the same durations from the start. The
default is equal-jittered from 5 s to 300 s (reference §3.3).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Iterable

from roost.rpc.backoff import equal_jittered
from roost.rpc.ema import Ema
from roost.rpc.window import WindowedAdder

Backoff = Iterable[float]
EXHAUSTED = 300.0
"""Mark-dead duration once a backoff has no more durations."""


def default_backoff(rng: random.Random | None = None) -> Backoff:
    """Equal-jittered 5 s .. 300 s (Linkerd 1.x's failure accrual default)."""
    return equal_jittered(5.0, 300.0, rng if rng is not None else random.Random())


class _Durations:
    """A backoff that can start over."""

    def __init__(self, backoff: Backoff) -> None:
        self._source = backoff
        self._one_shot = iter(backoff) is backoff
        self._seen: list[float] = []
        self.restart()

    def restart(self) -> None:
        self._pos = 0
        if not self._one_shot:
            self._iter = iter(self._source)

    def next(self) -> float:
        if self._one_shot:
            if self._pos == len(self._seen):
                self._seen.append(next(iter(self._source), EXHAUSTED))
            value = self._seen[self._pos]
            self._pos += 1
        else:
            value = next(self._iter, EXHAUSTED)
        return max(float(value), 0.0)


class FailureAccrualPolicy(abc.ABC):
    once_per_success_run = False
    """Recording a success twice in a row changes nothing after the first (a consecutive-
    failures count): a run of successes may be recorded once."""

    @abc.abstractmethod
    def record_success(self, now: float) -> None: ...

    @abc.abstractmethod
    def mark_dead_on_failure(self, now: float) -> float | None:
        """Record a failure; the seconds to mark the endpoint dead for, or None."""

    @abc.abstractmethod
    def revived(self) -> None:
        """The endpoint came back (its probe succeeded): start over."""

    def or_else(self, other: FailureAccrualPolicy) -> FailureAccrualPolicy:
        """Both policies see every outcome; dead if either says so, for the longer duration."""
        return OrElse(self, other)


class ConsecutiveFailures(FailureAccrualPolicy):
    """Dead after ``n`` failures in a row; a success or a revival resets the count."""

    def __init__(self, n: int, backoff: Backoff) -> None:
        if n < 1:
            raise ValueError(f"consecutive failures must be at least 1: {n}")
        self.n = n
        self.failures = 0
        self._durations = _Durations(backoff)

    once_per_success_run = True

    def record_success(self, now: float) -> None:
        self.failures = 0

    def mark_dead_on_failure(self, now: float) -> float | None:
        self.failures += 1
        return self._durations.next() if self.failures >= self.n else None

    def revived(self) -> None:
        self.failures = 0
        self._durations.restart()


class _SuccessRateBase(FailureAccrualPolicy):
    def __init__(self, required: float, window: float, backoff: Backoff) -> None:
        if not 0.0 <= required <= 1.0:
            raise ValueError(f"the required success rate must be in [0, 1]: {required}")
        if window <= 0:
            raise ValueError(f"the window must be positive: {window}")
        self.required = required
        self.window = window
        self.ema = Ema(window)
        self._durations = _Durations(backoff)

    @property
    def success_rate(self) -> float:
        return self.ema.value

    def record_success(self, now: float) -> None:
        self._observe(now, 1.0)

    def mark_dead_on_failure(self, now: float) -> float | None:
        self._observe(now, 0.0)
        if self._enough_samples() and self.ema.value < self.required:
            return self._durations.next()
        return None

    def revived(self) -> None:
        self.ema.reset()
        self._durations.restart()

    @abc.abstractmethod
    def _observe(self, now: float, x: float) -> None: ...

    @abc.abstractmethod
    def _enough_samples(self) -> bool: ...


class SuccessRate(_SuccessRateBase):
    """Dead when the EMA of success over the last ``window`` requests drops below
    ``required``, once at least ``window`` requests were seen."""

    def __init__(self, required: float, window: int, backoff: Backoff) -> None:
        super().__init__(required, window, backoff)
        self.requests = 0

    def _observe(self, now: float, x: float) -> None:
        self.ema.update(self.requests, x)  # stamped by request count: an EMA over requests
        self.requests += 1

    def _enough_samples(self) -> bool:
        return self.requests >= self.window

    def revived(self) -> None:
        super().revived()
        self.requests = 0


class _Instant:
    """The clock of a windowed counter fed explicit times."""

    now = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


class SuccessRateWithinDuration(_SuccessRateBase):
    """Dead when the EMA of success over the last ``window`` seconds drops below
    ``required``, once at least ``min_request_threshold`` requests came in that window."""

    def __init__(
        self, required: float, window: float, backoff: Backoff, min_request_threshold: int = 5
    ) -> None:
        super().__init__(required, window, backoff)
        self.min_request_threshold = min_request_threshold
        self._instant = _Instant()
        self._counter: WindowedAdder | None = None

    def _observe(self, now: float, x: float) -> None:
        self.ema.update(now, x)
        self._instant.now = max(self._instant.now, now)
        if self._counter is None:
            self._counter = WindowedAdder(self.window, 10, self._instant)
        self._counter.incr()

    def _enough_samples(self) -> bool:
        return self._counter is not None and self._counter.sum() >= self.min_request_threshold

    def revived(self) -> None:
        super().revived()
        self._counter = None


class OrElse(FailureAccrualPolicy):
    def __init__(self, first: FailureAccrualPolicy, second: FailureAccrualPolicy) -> None:
        self.first = first
        self.second = second
        self.once_per_success_run = first.once_per_success_run and second.once_per_success_run

    def record_success(self, now: float) -> None:
        self.first.record_success(now)
        self.second.record_success(now)

    def mark_dead_on_failure(self, now: float) -> float | None:
        durations = [self.first.mark_dead_on_failure(now), self.second.mark_dead_on_failure(now)]
        return max((d for d in durations if d is not None), default=None)

    def revived(self) -> None:
        self.first.revived()
        self.second.revived()


def consecutive_failures(
    n: int = 5, backoff: Backoff | None = None, *, rng: random.Random | None = None
) -> ConsecutiveFailures:
    """Finagle ``consecutiveFailures(n, markDeadFor)``; the Linkerd 1.x default."""
    return ConsecutiveFailures(n, backoff if backoff is not None else default_backoff(rng))


def success_rate(
    sr: float,
    window_requests: int,
    backoff: Backoff | None = None,
    *,
    rng: random.Random | None = None,
) -> SuccessRate:
    """Finagle ``successRate(sr, window, markDeadFor)``: an EMA over requests."""
    return SuccessRate(
        sr, window_requests, backoff if backoff is not None else default_backoff(rng)
    )


def success_rate_windowed(
    sr: float,
    window_seconds: float,
    backoff: Backoff | None = None,
    min_request_threshold: int = 5,
    *,
    rng: random.Random | None = None,
) -> SuccessRateWithinDuration:
    """Finagle ``successRateWithinDuration(sr, window, markDeadFor, minRequestThreshold)``."""
    return SuccessRateWithinDuration(
        sr,
        window_seconds,
        backoff if backoff is not None else default_backoff(rng),
        min_request_threshold,
    )
