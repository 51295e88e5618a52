"""The client stack (Finagle ``StackClient``, reference §3.9), as data.

A request flows top to bottom::

    Tracing        a span per call, trace headers written below
    Stats          clnt/<label>/requests, success, failures/<E>, request_latency_ms, pending
    TotalTimeout   the whole call, retries included (Linkerd totalTimeoutMs)
    Retries        application retries by the classifier, within the budget (off by default)
    Requeues       automatic resends of what never reached a server, within the same budget
    NackAdmission  stop sending when most answers are NACKs
    LoadBalancer   pick an endpoint (P2C Peak-EWMA by default) and acquire a session

and on each endpoint (built once per endpoint the balancer learns of)::

    FailureAccrual mark the endpoint dead after 5 consecutive failures, probe it back
    RequestTimeout one attempt (Linkerd requestAttemptTimeoutMs)
    <transport>    a connection pool

Stats sit above the timeouts and retries so that timeouts are counted and a logical request
is counted once; failure accrual sits above the attempt timeout so that a timed-out attempt
counts against its endpoint; requeues sit under retries so they share one budget (the
requeue filter withdraws only) — each placement below carries its reason.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.accrual import FailureAccrualFactory, Outcome
from roost.rpc.accrual_policy import FailureAccrualPolicy, consecutive_failures
from roost.rpc.admission import NackAdmissionFilter
from roost.rpc.backoff import Backoff, decorrelated_jittered
from roost.rpc.budget import Budget, RetryBudget
from roost.rpc.checks import check_bool, check_int, check_label, check_seconds
from roost.rpc.classifier import ResponseClass, ResponseClassifier, default_classifier
from roost.rpc.endpoints import Endpoint, EndpointSet
from roost.rpc.errors import Flags, RpcError
from roost.rpc.loadbalancer import (
    Aperture,
    Balancer,
    BalancerFactory,
    P2CLeastLoaded,
    P2CPeakEwma,
    RoundRobin,
)
from roost.rpc.retries import RequeueFilter, RetryFilter, RetryPolicy, RetryStats
from roost.rpc.service import FactoryToService, Filter, FilteredFactory, FilteredService
from roost.rpc.stack import Module, Params, Stack
from roost.rpc.stats import NullStatsReceiver, StatsReceiver
from roost.rpc.stats_filter import StatsFilter
from roost.rpc.timeouts import DeadlineFilter, TimeoutFilter, TotalTimeoutFilter

# -- params ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    name: str = "client"

    def __post_init__(self) -> None:
        check_label("Label", "name", self.name)


@dataclass(frozen=True)
class Stats:
    receiver: StatsReceiver = field(default_factory=NullStatsReceiver)
    """Scoped to ``<scope>/<label>`` by :func:`build_client`."""
    scope: str = "clnt"
    """Finagle's ``clnt``; Linkerd's router clients use ``client`` (``rt/<router>/client/…``)."""


@dataclass(frozen=True)
class Timer:
    clock: Clock = SYSTEM_CLOCK
    rng: random.Random | None = None


@dataclass(frozen=True)
class Classification:
    classifier: ResponseClassifier[Any, Any] = default_classifier


@dataclass(frozen=True)
class TotalTimeout:
    seconds: float | None = None

    def __post_init__(self) -> None:
        check_seconds("TotalTimeout", "seconds", self.seconds)


@dataclass(frozen=True)
class Deadlines:
    enforce: bool = True
    """Honour an inherited deadline (fail when it passes); ``False``: advisory, as Linkerd's
    (passed on in ``l5d-ctx-deadline``, never acted on)."""


@dataclass(frozen=True)
class AttemptTimeout:
    seconds: float | None = None

    def __post_init__(self) -> None:
        check_seconds("AttemptTimeout", "seconds", self.seconds)


@dataclass(frozen=True)
class Retries:
    max_retries: int = 0
    """Application retries of responses the classifier calls retryable failures (0 = off;
    requeues of never-sent requests happen regardless, within the budget)."""
    backoff: Backoff | None = None
    """Between retries; default ``decorrelated_jittered(5 ms, 200 ms)`` (``RetryPolicy.tries``)."""

    def __post_init__(self) -> None:
        check_int("Retries", "max_retries", self.max_retries)
        if self.max_retries > 100:
            raise ValueError(f"Retries.max_retries must be at most 100, got {self.max_retries}")
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise TypeError(f"Retries.backoff must be a Backoff, got {self.backoff!r}")


@dataclass(frozen=True)
class SharedBudget:
    budget: Budget | None = None
    """One budget per client, shared by retries and requeues (made by :func:`build_client`)."""


BALANCERS = ("round_robin", "p2c", "ewma", "aperture")


@dataclass(frozen=True)
class LoadBalancing:
    kind: str = "ewma"
    """``round_robin``, ``p2c`` (least loaded), ``ewma`` (P2C Peak-EWMA) or ``aperture``."""
    max_effort: int = 5
    decay_time: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in BALANCERS:
            raise ValueError(
                f"LoadBalancing.kind: unknown load balancer {self.kind!r}; "
                f"one of {', '.join(BALANCERS)}"
            )
        check_int("LoadBalancing", "max_effort", self.max_effort, minimum=1)
        check_seconds("LoadBalancing", "decay_time", self.decay_time, optional=False)


@dataclass(frozen=True)
class FailureAccrual:
    policy: Callable[[], FailureAccrualPolicy] | None = lambda: consecutive_failures(5)
    """A fresh policy per endpoint (``None`` = no failure accrual)."""


@dataclass(frozen=True)
class NackAdmission:
    enabled: bool = True

    def __post_init__(self) -> None:
        check_bool("NackAdmission", "enabled", self.enabled)


@dataclass(frozen=True)
class Tracing:
    make: Callable[[], Filter[Any, Any, Any, Any]] | None = None
    """A client tracing filter factory (protocol-specific; ``None`` = no tracing): one span
    per attempt, under the retry filters."""
    init: Callable[[], Filter[Any, Any, Any, Any]] | None = None
    """The top of the stack: a root trace for a call made outside any trace, shared by its
    attempts (``None`` = each attempt outside a trace starts its own)."""


# -- modules -----------------------------------------------------------------------------------


def _maybe(filter: Filter[Any, Any, Any, Any] | None, below: Any) -> Any:
    return below if filter is None else FilteredService(filter, below)


def _trace_init(p: Params, below: Any) -> Any:
    init = p[Tracing].init
    return _maybe(init() if init else None, below)


def _tracing(p: Params, below: Any) -> Any:
    make = p[Tracing].make
    return _maybe(make() if make else None, below)


def _stats(p: Params, below: Any) -> Any:
    return FilteredService(StatsFilter(p[Stats].receiver, p[Classification].classifier), below)


def _total(p: Params, below: Any) -> Any:
    seconds, clock, enforce = p[TotalTimeout].seconds, p[Timer].clock, p[Deadlines].enforce
    if seconds:
        return FilteredService(TotalTimeoutFilter(seconds, clock, honour_deadline=enforce), below)
    if not enforce:
        return below
    return FilteredService(DeadlineFilter(clock), below)  # an inherited deadline still holds


def _retries(p: Params, below: Any) -> Any:
    r = p[Retries]
    if r.max_retries <= 0:
        return below
    backoff = r.backoff or decorrelated_jittered(0.005, 0.2, rng=p[Timer].rng)
    stats = p[RetryStatsParam].stats
    return FilteredService(
        RetryFilter(
            RetryPolicy(r.max_retries, backoff),
            p[Classification].classifier,
            _budget(p),
            stats=stats,
        ),
        below,
    )


def _requeues(p: Params, below: Any) -> Any:
    budget = _budget(p)
    if p[Retries].max_retries > 0 and isinstance(budget, RetryBudget):
        budget = budget.withdraw_only()  # the retry filter deposits once per request
    stats = p[RetryStatsParam].stats
    return FilteredService(
        RequeueFilter(budget, classifier=p[Classification].classifier, stats=stats), below
    )


def _nack(p: Params, below: Any) -> Any:
    if not p[NackAdmission].enabled:
        return below
    t = p[Timer]
    return FilteredService(
        NackAdmissionFilter(p[Stats].receiver, clock=t.clock, rng=t.rng or random.Random()),
        below,
    )


def _balancer(p: Params, below: Any) -> Any:
    return FactoryToService(below)


@dataclass(frozen=True)
class RetryStatsParam:
    stats: RetryStats | None = None


def _budget(p: Params) -> Budget:
    budget = p[SharedBudget].budget
    if budget is None:
        raise ValueError("build_client makes the shared retry budget; pass SharedBudget")
    return budget


CLIENT_STACK = Stack(
    [
        Module(
            "TraceInitializer",
            "a root trace for a call made outside one",
            _trace_init,
            "first: every attempt of the call joins that trace",
        ),
        Module(
            "Stats",
            "requests, success, failures, latency, pending",
            _stats,
            "above timeouts and retries: one logical request counted once, timeouts counted",
            (Label, Classification),
        ),
        Module(
            "TotalTimeout",
            "bounds the whole call; else the inherited deadline alone",
            _total,
            "above retries: an expired call is not retried",
            (TotalTimeout, Deadlines),
        ),
        Module(
            "Retries",
            "retries classified failures",
            _retries,
            "above requeues: they share the budget, this one deposits",
            (Retries,),
        ),
        Module(
            "Requeues",
            "resends what never reached a server",
            _requeues,
            "above the balancer: a requeue may go to another endpoint",
        ),
        Module(
            "Tracing",
            "a client span per attempt; ids written on the request",
            _tracing,
            "under retries and requeues: each attempt gets its own span id",
            (Tracing,),
        ),
        Module(
            "NackAdmission",
            "sheds load when most answers are NACKs",
            _nack,
            "just above the balancer: sees every attempt's NACK",
            (NackAdmission,),
        ),
        Module(
            "LoadBalancer",
            "picks an endpoint per request",
            _balancer,
            "last: below it each endpoint has its own stack",
            (LoadBalancing,),
        ),
    ]
)


def _accrual_outcome(classifier: ResponseClassifier[Any, Any]) -> Callable[[Any, object], Outcome]:
    def outcome(req: Any, result: object) -> Outcome:
        if isinstance(result, asyncio.CancelledError) or (
            isinstance(result, RpcError) and result.flags & Flags.INTERRUPTED
        ):
            return "ignorable"  # the caller gave up (a total timeout, a client that left)
        cls = classifier(req, result)
        if cls is ResponseClass.SUCCESS:
            return "success"
        return "ignorable" if cls is ResponseClass.IGNORABLE else "failure"

    return outcome


def _failure_accrual(p: Params, below: Any) -> Any:
    make = p[FailureAccrual].policy
    if make is None:
        return below
    outcome = _accrual_outcome(p[Classification].classifier)
    stats = p[Stats].receiver.scope("failure_accrual")
    return FailureAccrualFactory(below, make(), p[Timer].clock, outcome, stats)


def _attempt_timeout(p: Params, below: Any) -> Any:
    seconds = p[AttemptTimeout].seconds
    if not seconds:
        return below
    honour = p[Deadlines].enforce
    return FilteredFactory(TimeoutFilter(seconds, p[Timer].clock, honour_deadline=honour), below)


ENDPOINT_STACK = Stack(
    [
        Module(
            "FailureAccrual",
            "marks a failing endpoint dead, probes it back",
            _failure_accrual,
            "above the attempt timeout: a timed-out attempt counts against its endpoint",
            (FailureAccrual,),
        ),
        Module(
            "RequestTimeout",
            "bounds one attempt",
            _attempt_timeout,
            "just above the transport: cancels the attempt in flight",
            (AttemptTimeout, Deadlines),
        ),
    ]
)


def make_balancer(p: Params) -> Balancer[Any]:
    lb, t = p[LoadBalancing], p[Timer]
    kw: dict[str, Any] = {"clock": t.clock, "rng": t.rng, "max_effort": lb.max_effort}
    if lb.kind == "round_robin":
        return RoundRobin(**kw)
    if lb.kind == "p2c":
        return P2CLeastLoaded(**kw)
    if lb.kind == "aperture":
        return Aperture(**kw)
    return P2CPeakEwma(decay_time=lb.decay_time, **kw)


@dataclass
class BuiltClient:
    service: Any
    """The client: a ``Service`` (``await client(request)``)."""
    balancer: Balancer[Any]
    factory: BalancerFactory[Any, Any]
    budget: Budget
    retry_stats: RetryStats


def build_client(
    endpoints: EndpointSet,
    transport: Callable[[Endpoint], Any],
    params: Params,
    *,
    stack: Stack = CLIENT_STACK,
    endpoint_stack: Stack = ENDPOINT_STACK,
) -> BuiltClient:
    """Assemble a client: ``transport(endpoint)`` makes an endpoint's connection factory."""
    receiver = client_scope(params)
    budget = params[SharedBudget].budget or RetryBudget(clock=params[Timer].clock)
    retry_stats = RetryStats()
    params = params.with_(Stats(receiver), SharedBudget(budget), RetryStatsParam(retry_stats))
    balancer = make_balancer(params)
    factory: BalancerFactory[Any, Any] = BalancerFactory(
        balancer, lambda ep: endpoint_stack.make(params, transport(ep)), endpoints
    )
    service = stack.make(params, factory)
    _export(receiver, balancer, budget, retry_stats)
    return BuiltClient(service, balancer, factory, budget, retry_stats)


def client_scope(params: Params) -> StatsReceiver:
    """Where a client's metrics go: ``clnt/<label>`` (``Stats.scope``) of its receiver (a transport
    records its pool metrics here too)."""
    stats = params[Stats]
    return stats.receiver.scope(stats.scope, params[Label].name)


def _export(
    receiver: StatsReceiver, balancer: Balancer[Any], budget: Budget, retries: RetryStats
) -> None:
    lb = receiver.scope("loadbalancer")
    for name in ("size", "available", "busy", "closed", "load"):
        lb.gauge(name, fn=_attr(balancer, name))
    for name in ("adds", "removes", "updates", "rebuilds", "panicked"):
        lb.gauge(name, fn=_attr(balancer, name), monotonic=True)
    lb.gauge("algorithm", balancer.algorithm, fn=lambda: 1.0)
    if isinstance(balancer, Aperture):
        lb.gauge("logical_aperture", fn=_attr(balancer, "aperture"))
        lb.gauge("offered_load_ema", fn=lambda: balancer.band.offered_load_ema)
        for name in ("widen", "narrow"):
            lb.gauge(name, fn=_attr(balancer, name), monotonic=True)
    r = receiver.scope("retries")
    r.gauge("budget", fn=lambda: float(budget.balance))
    for name in ("requeues", "retries", "budget_exhausted", "request_limit", "cannot_retry"):
        r.gauge(name, fn=_attr(retries, name), monotonic=True)
    r.gauge("not_open", fn=_attr(retries, "not_open"), monotonic=True)
    retries.requeues_histogram = r.stat("requeues_per_request")
    retries.retries_histogram = r.stat("retries_per_request")


def _attr(obj: object, name: str) -> Callable[[], float]:
    return lambda: float(getattr(obj, name))
