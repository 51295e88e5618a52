"""The server stack (Finagle ``StackServer``), as data. A request flows top to bottom::

Tracing            continue the caller's trace (or start one), a server span
Stats              srv/<label>/requests, success, failures/<E>, request_latency_ms, pending
DeadlineAdmission  reject requests whose propagated deadline already passed (≤ 20 %/10 s;
                   dark mode by default: counted, not rejected)
ConcurrencyLimit   max concurrent requests + max waiters; excess is NACKed (503
                   ``finagle-http-nack``), which clients requeue elsewhere (off by default)
<service>
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.admission import ConcurrencyLimitFilter, DeadlineAdmissionFilter
from roost.rpc.checks import check_int, check_label, check_optional_int
from roost.rpc.classifier import ResponseClassifier, default_classifier
from roost.rpc.service import Filter, FilteredService
from roost.rpc.stack import Module, Params, Stack
from roost.rpc.stats import NullStatsReceiver, StatsReceiver
from roost.rpc.stats_filter import StatsFilter


@dataclass(frozen=True)
class ServerLabel:
    name: str = "server"

    def __post_init__(self) -> None:
        check_label("ServerLabel", "name", self.name)


@dataclass(frozen=True)
class ServerStats:
    receiver: StatsReceiver = field(default_factory=NullStatsReceiver)
    """Scoped to ``<scope>/<label>`` by :func:`build_server`."""
    scope: str = "srv"
    """Finagle's ``srv``; Linkerd's router servers use ``server`` (``rt/<router>/server/…``)."""


@dataclass(frozen=True)
class ServerClassification:
    classifier: ResponseClassifier[Any, Any] = default_classifier


@dataclass(frozen=True)
class ServerTracing:
    make: Callable[[], Filter[Any, Any, Any, Any]] | None = None


@dataclass(frozen=True)
class DeadlineAdmission:
    enabled: bool = True
    dark_mode: bool = True
    """Count expired requests without rejecting them (Finagle's default)."""
    clock: Clock = SYSTEM_CLOCK


@dataclass(frozen=True)
class ConcurrencyLimit:
    max_concurrent: int | None = None
    """``None`` = no limit (Finagle's default)."""
    max_waiters: int = 0

    def __post_init__(self) -> None:
        check_optional_int("ConcurrencyLimit", "max_concurrent", self.max_concurrent)
        check_int("ConcurrencyLimit", "max_waiters", self.max_waiters)


def _tracing(p: Params, below: Any) -> Any:
    make = p[ServerTracing].make
    return below if make is None else FilteredService(make(), below)


def _stats(p: Params, below: Any) -> Any:
    return FilteredService(
        StatsFilter(p[ServerStats].receiver, p[ServerClassification].classifier), below
    )


def _deadline(p: Params, below: Any) -> Any:
    d = p[DeadlineAdmission]
    if not d.enabled:
        return below
    admission: DeadlineAdmissionFilter[Any, Any] = DeadlineAdmissionFilter(
        p[ServerStats].receiver, dark_mode=d.dark_mode, clock=d.clock
    )
    return FilteredService(admission, below)


def _concurrency(p: Params, below: Any) -> Any:
    c = p[ConcurrencyLimit]
    if c.max_concurrent is None:
        return below
    limit: ConcurrencyLimitFilter[Any, Any] = ConcurrencyLimitFilter(
        c.max_concurrent, c.max_waiters, p[ServerStats].receiver
    )
    return FilteredService(limit, below)


SERVER_STACK = Stack(
    [
        Module("Tracing", "a server span per request", _tracing, "first: covers everything"),
        Module(
            "Stats",
            "requests, success, failures, latency, pending",
            _stats,
            "above admission: rejected requests are counted as failures",
            (ServerLabel,),
        ),
        Module(
            "DeadlineAdmission",
            "rejects requests already past their deadline",
            _deadline,
            "before queueing: an expired request should not take a slot",
            (DeadlineAdmission,),
        ),
        Module(
            "ConcurrencyLimit",
            "max concurrent requests and waiters; excess NACKed",
            _concurrency,
            "last: only admitted work reaches the service",
            (ConcurrencyLimit,),
        ),
    ]
)


def build_server(service: Any, params: Params, *, stack: Stack = SERVER_STACK) -> Any:
    """Wrap ``service`` in the server stack (stats scoped to ``srv/<label>``)."""
    label = params[ServerLabel].name
    server_stats = params[ServerStats]
    receiver = server_stats.receiver.scope(server_stats.scope, label)
    return stack.make(params.with_(ServerStats(receiver)), service)
