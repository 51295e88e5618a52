"""Requeues and retries (Finagle ``RequeueFilter.scala``, ``RetryFilter.scala``; Linkerd
``ClassifiedRetries``).

* :class:`RequeueFilter` is automatic and sits just above the load balancer: it resends a
  request that failed before reaching the server (an :class:`RpcError` whose ``retryable`` is
  true: never sent, or NACKed), immediately, at most ``ceil(0.2 · balance)`` times per request
  and only while the service below is OPEN. Each requeue withdraws from the budget; the budget
  gets a deposit only when the final outcome is classified a success.
* :class:`RetryFilter` is the application's policy: it deposits once per logical request, and
  retries what the classifier calls a retryable failure, with a backoff, while the budget and
  ``max_retries`` allow. Timeouts are retried only if the classifier says so (the default
  classifier does not).

Neither resends a request with a streamed body (it cannot be replayed), a failure flagged
INTERRUPTED or NON_RETRYABLE, nor a cancelled call. When the budget refuses, the failure is
flagged NON_RETRYABLE so that nothing above retries it again. Under a retry filter, give the
requeue filter ``budget.withdraw_only()`` so each request deposits once.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, cast

from roost.rpc.backoff import const, decorrelated_jittered
from roost.rpc.budget import Budget, RetryBudget
from roost.rpc.classifier import ResponseClassifier, default_classifier
from roost.rpc.context import attempt_scope, tried_before, tried_scope
from roost.rpc.errors import Flags, RpcError
from roost.rpc.service import Filter, Rep, Req, Service, Status
from roost.rpc.stats import Histogram

Sleep = Callable[[float], Awaitable[None]]

MAX_REQUEUES_PER_REQ = 0.2
"""A request may be requeued ``ceil(0.2 · budget.balance)`` times (Finagle ``MaxRequeuesPerReq``)."""


@dataclass
class RetryStats:
    """Counters of one filter, as plain ints for a stats filter to export
    (``retries/requeues``, ``retries/budget_exhausted``, …)."""

    requeues: int = 0
    """Requests sent again by a :class:`RequeueFilter`."""
    retries: int = 0
    """Requests sent again by a :class:`RetryFilter`."""
    budget_exhausted: int = 0
    """Retryable failures returned because the budget refused."""
    request_limit: int = 0
    """Retryable failures returned because the request had used its retries."""
    cannot_retry: int = 0
    """Retryable failures of requests that cannot be sent again (streamed bodies)."""
    not_open: int = 0
    """Retryable failures returned because the service below was not OPEN."""
    requeues_per_request: Counter[int] = field(default_factory=Counter)
    """Histogram: number of requeues -> number of requests."""
    retries_per_request: Counter[int] = field(default_factory=Counter)
    """Histogram: number of retries -> number of requests."""
    requeues_histogram: Histogram | None = None
    """Where :meth:`requeued` also records (``retries/requeues_per_request``)."""
    retries_histogram: Histogram | None = None
    """Where :meth:`retried` also records (``retries/retries_per_request``)."""

    def requeued(self, n: int, requests: int = 1) -> None:
        """A request (``requests``: that many) is done after ``n`` requeues."""
        self.requeues_per_request[n] += requests
        if self.requeues_histogram is not None:
            self.requeues_histogram.add_times(n, requests)

    def retried(self, n: int, requests: int = 1) -> None:
        """A request (``requests``: that many) is done after ``n`` retries."""
        self.retries_per_request[n] += requests
        if self.retries_histogram is not None:
            self.retries_histogram.add_times(n, requests)


def _streamed(req: object) -> bool:
    return bool(getattr(req, "streamed", False))


def _never_again(exc: BaseException | None) -> bool:
    return isinstance(exc, RpcError) and bool(exc.flags & (Flags.NON_RETRYABLE | Flags.INTERRUPTED))


class _Outcome(Generic[Rep]):
    """A response or the exception that replaced it."""

    __slots__ = ("exc", "rep")

    def __init__(self, rep: Rep | None = None, exc: Exception | None = None) -> None:
        self.rep = rep
        self.exc = exc

    @property
    def result(self) -> Rep | BaseException:
        return self.exc if self.exc is not None else cast(Rep, self.rep)

    def get(self) -> Rep:
        if self.exc is not None:
            raise self.exc
        return cast(Rep, self.rep)


async def _attempt(req: Req, service: Service[Req, Rep]) -> _Outcome[Rep]:
    try:
        return _Outcome(rep=await service(req))
    except Exception as exc:
        return _Outcome(exc=exc)


class RequeueFilter(Filter[Req, Rep, Req, Rep]):
    """Resend requests that never reached the server (Finagle ``RequeueFilter``)."""

    def __init__(
        self,
        budget: Budget,
        *,
        classifier: ResponseClassifier[Req, Rep] = default_classifier,
        backoff: Iterable[float] = const(0.0),
        max_requeues_per_req: float = MAX_REQUEUES_PER_REQ,
        sleep: Sleep = asyncio.sleep,
        stats: RetryStats | None = None,
    ) -> None:
        if not (math.isfinite(max_requeues_per_req) and max_requeues_per_req >= 0):
            raise ValueError(
                f"max_requeues_per_req must be a finite number at least 0, "
                f"got {max_requeues_per_req!r}"
            )
        self.budget = budget
        self.classifier = classifier
        self.backoff = backoff
        self.max_requeues_per_req = max_requeues_per_req
        self.sleep = sleep
        self.stats = stats if stats is not None else RetryStats()

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        limit = math.ceil(self.max_requeues_per_req * self.budget.balance)
        try:
            rep = await service(req)
        except Exception as exc:
            return await self._requeue(req, service, _Outcome(exc=exc), limit)
        # the common case: one attempt, no allocation beyond the answer
        if self.classifier(req, rep).is_success:
            self.budget.deposit()
        self.stats.requeued(0)
        return rep

    async def _requeue(
        self, req: Req, service: Service[Req, Rep], outcome: _Outcome[Rep], limit: int
    ) -> Rep:
        delays = iter(self.backoff)
        requeues = 0
        first = True
        try:
            while True:
                if not first:
                    outcome = await _attempt(req, service)
                first = False
                exc = outcome.exc
                if not (isinstance(exc, RpcError) and exc.retryable):
                    break
                if _streamed(req):
                    self.stats.cannot_retry += 1
                    break
                if service.status is not Status.OPEN:
                    self.stats.not_open += 1
                    break
                delay = next(delays, None) if requeues < limit else None
                if delay is None:
                    self.stats.request_limit += 1
                    break
                if not self.budget.try_withdraw():
                    self.stats.budget_exhausted += 1
                    exc.flagged(Flags.NON_RETRYABLE)
                    break
                requeues += 1
                self.stats.requeues += 1
                if delay > 0:
                    await self.sleep(delay)
            if self.classifier(req, outcome.result).is_success:
                self.budget.deposit()
            return outcome.get()
        finally:
            self.stats.requeued(requeues)


@dataclass(frozen=True)
class RetryPolicy:
    """How much to retry (Finagle ``RetryPolicy``): at most ``max_retries`` retries per
    request, ``backoff`` between them. What is retried is the classifier's call."""

    max_retries: int = 3
    backoff: Iterable[float] = const(0.0)
    """Re-iterable delays (a :class:`~roost.rpc.backoff.Backoff` or a list); a finite one
    also ends retrying."""

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError(f"RetryPolicy.max_retries must be an integer, got {self.max_retries!r}")
        if self.max_retries < 0:
            raise ValueError(f"RetryPolicy.max_retries must be at least 0, got {self.max_retries}")

    @classmethod
    def tries(cls, n: int, backoff: Iterable[float] | None = None) -> RetryPolicy:
        """``n`` tries in all (``n - 1`` retries), by default ``decorrelated_jittered(5 ms,
        200 ms)`` apart, as Finagle's ``RetryPolicy.tries``."""
        if n < 1:
            raise ValueError(f"RetryPolicy.tries needs at least 1 try, got {n}")
        return cls(n - 1, decorrelated_jittered(0.005, 0.2) if backoff is None else backoff)


class RetryFilter(Filter[Req, Rep, Req, Rep]):
    """``RetryFilter(policy, classifier, budget, backoff)``: retry what ``classifier`` calls
    a retryable failure, at most ``policy.max_retries`` times per request, while ``budget``
    allows, after each delay of ``backoff`` (default: the policy's) — Finagle ``RetryFilter``
    with a ``RetryBudget``; Linkerd ``retries``. Try ``n`` runs under ``attempt_scope(n)``
    (0 for the first).

    ``backoff`` is iterated afresh for each request, so it must be re-iterable (a
    :class:`~roost.rpc.backoff.Backoff` or a list, not a generator); a finite one also ends
    retrying. Without a ``budget`` the filter makes its own default :class:`RetryBudget`.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        classifier: ResponseClassifier[Req, Rep] = default_classifier,
        budget: Budget | None = None,
        backoff: Iterable[float] | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        stats: RetryStats | None = None,
    ) -> None:
        policy = RetryPolicy() if policy is None else policy
        self.policy = policy
        self.classifier = classifier
        self.budget: Budget = RetryBudget() if budget is None else budget
        self.backoff = policy.backoff if backoff is None else backoff
        self.max_retries = policy.max_retries
        self.sleep = sleep
        self.stats = stats if stats is not None else RetryStats()

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        self.budget.deposit()
        delays = iter(self.backoff)
        tried = tried_before()
        if tried:  # a caller made the first tries itself (the mesh's fast lane): go on
            delay = None
            for _ in range(tried):
                delay = next(delays, None)
            if delay:  # the wait before the retry this is
                await self.sleep(delay)
            with tried_scope(0):  # (retry filters below count their own)
                return await self._retrying(req, service, delays, tried)
        return await self._retrying(req, service, delays, 0)

    async def _retrying(
        self, req: Req, service: Service[Req, Rep], delays: Iterator[float], retries: int
    ) -> Rep:
        try:
            while True:
                with attempt_scope(retries):
                    outcome = await _attempt(req, service)
                delay = self._next_delay(req, outcome, retries, delays)
                if delay is None:
                    return outcome.get()
                if delay > 0:
                    await self.sleep(delay)
                retries += 1
                self.stats.retries += 1
        finally:
            self.stats.retried(retries)

    def _next_delay(
        self, req: Req, outcome: _Outcome[Rep], retries: int, delays: Iterator[float]
    ) -> float | None:
        """How long to wait before the next try, or None to return this outcome."""
        if not self.classifier(req, outcome.result).retryable or _never_again(outcome.exc):
            return None
        if _streamed(req):
            self.stats.cannot_retry += 1
            return None
        delay = next(delays, None) if retries < self.max_retries else None
        if delay is None:
            self.stats.request_limit += 1
            return None
        if not self.budget.try_withdraw():
            self.stats.budget_exhausted += 1
            if isinstance(outcome.exc, RpcError):
                outcome.exc.flagged(Flags.NON_RETRYABLE)
            return None
        return delay
