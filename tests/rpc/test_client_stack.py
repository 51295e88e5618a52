"""The client stack assembled over in-memory endpoints (our own interfaces, no sockets)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from roost.core.clock import ManualClock
from roost.rpc.backoff import const
from roost.rpc.client_stack import (
    CLIENT_STACK,
    ENDPOINT_STACK,
    FailureAccrual,
    Label,
    LoadBalancing,
    NackAdmission,
    Retries,
    Stats,
    Timer,
    build_client,
)
from roost.rpc.context import NS, Deadline, deadline_scope
from roost.rpc.endpoints import Endpoint, EndpointSet, parse_endpoints
from roost.rpc.errors import ConnectionFailed, DeadlineExceeded, RpcError
from roost.rpc.service import ConstFactory, FnService
from roost.rpc.stack import Params
from roost.rpc.stats import MetricsRegistry, StatsReceiver, flat_json, prometheus_text


class Backends:
    """Endpoint ``address`` answers ``"<address>:<req>"``, or raises what ``broken`` says."""

    def __init__(self) -> None:
        self.broken: dict[str, Exception] = {}
        self.calls: list[str] = []

    def transport(self, endpoint: Endpoint) -> Any:
        async def answer(req: str) -> str:
            self.calls.append(endpoint.address)
            if endpoint.address in self.broken:
                raise self.broken[endpoint.address]
            return f"{endpoint.address}:{req}"

        return ConstFactory(FnService(answer))


def params(registry: MetricsRegistry, **extra: Any) -> Params:
    return Params(
        [
            Label("web"),
            Stats(StatsReceiver(registry)),
            Timer(ManualClock(), random.Random(7)),
            NackAdmission(False),
            *extra.values(),
        ]
    )


async def test_requests_spread_over_the_endpoints_and_are_counted() -> None:
    registry, backends = MetricsRegistry(), Backends()
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80,10.0.0.2:80"))
    client = build_client(endpoints, backends.transport, params(registry)).service
    answers = [await client(str(i)) for i in range(20)]
    assert {a.split(":")[0] for a in answers} == {"10.0.0.1", "10.0.0.2"}
    stats = flat_json(registry)
    assert stats["clnt/web/requests"] == 20 and stats["clnt/web/success"] == 20
    assert stats["clnt/web/loadbalancer/size"] == 2


async def test_a_request_that_never_reached_a_server_is_requeued_elsewhere() -> None:
    registry, backends = MetricsRegistry(), Backends()
    backends.broken["10.0.0.1:80"] = ConnectionFailed("refused")
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80,10.0.0.2:80"))
    built = build_client(
        endpoints, backends.transport, params(registry, lb=LoadBalancing("round_robin"))
    )
    answers = [await built.service(str(i)) for i in range(10)]
    assert all(a.startswith("10.0.0.2:80") for a in answers)
    assert built.retry_stats.requeues >= 1
    assert flat_json(registry)["clnt/web/failures"] == 0


async def test_failure_accrual_takes_a_dead_endpoint_out_of_rotation() -> None:
    registry, backends = MetricsRegistry(), Backends()
    backends.broken["10.0.0.1:80"] = RpcError("boom")  # reached the server: not requeued
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80,10.0.0.2:80"))
    built = build_client(
        endpoints, backends.transport, params(registry, lb=LoadBalancing("round_robin"))
    )
    failures = 0
    for i in range(40):
        try:
            await built.service(str(i))
        except RpcError:
            failures += 1
    assert failures == 5  # five consecutive failures mark it dead; then no more traffic
    assert backends.calls[-20:] == ["10.0.0.2:80"] * 20


async def test_retries_resend_classified_failures_within_the_budget() -> None:
    registry, backends = MetricsRegistry(), Backends()
    backends.broken["10.0.0.1:80"] = ConnectionFailed("refused")
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80"))
    built = build_client(endpoints, backends.transport, params(registry, r=Retries(2)))
    with pytest.raises(ConnectionFailed):
        await built.service("x")
    assert built.retry_stats.retries == 2


def test_the_stacks_list_their_roles_top_first() -> None:
    assert CLIENT_STACK.roles == [
        "TraceInitializer",
        "Stats",
        "TotalTimeout",
        "Retries",
        "Requeues",
        "Tracing",
        "NackAdmission",
        "LoadBalancer",
    ]
    assert ENDPOINT_STACK.roles == ["FailureAccrual", "RequestTimeout"]
    assert all(m["reason"] for m in CLIENT_STACK.describe())


def test_an_unknown_balancer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown load balancer 'fastest'"):
        LoadBalancing("fastest")


class Hanging:
    """Every call waits forever (until cancelled); counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def transport(self, endpoint: Endpoint) -> Any:
        async def answer(req: str) -> str:
            self.calls += 1
            await asyncio.Event().wait()
            return req

        return ConstFactory(FnService(answer))


async def test_a_cancelled_call_is_not_a_failure_of_the_endpoint() -> None:
    registry, backends = MetricsRegistry(), Hanging()
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80"))
    built = build_client(endpoints, backends.transport, params(registry))
    for _ in range(10):  # the caller gives up each time (a total timeout, a client that left)
        call = asyncio.create_task(built.service("x"))
        await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    assert backends.calls == 10
    assert flat_json(registry)["clnt/web/failure_accrual/removals"] == 0
    assert built.balancer.available == 1


async def test_an_expired_inherited_deadline_fails_before_sending_without_any_timeout() -> None:
    registry, backends = MetricsRegistry(), Backends()
    clock = ManualClock()
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80"))
    p = params(registry).with_(Timer(clock, random.Random(7)), Retries(2))
    built = build_client(endpoints, backends.transport, p)
    now_ns = int(clock.time() * NS)
    with deadline_scope(Deadline(now_ns - 2 * NS, now_ns - NS)), pytest.raises(DeadlineExceeded):
        await built.service("x")
    assert backends.calls == []  # nothing was sent, and nothing retried


async def test_an_inherited_deadline_cancels_the_call_in_flight() -> None:
    backends = Hanging()
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80"))
    built = build_client(endpoints, backends.transport, Params([Label("web")]))
    now_ns = time.time_ns()
    with deadline_scope(Deadline(now_ns, now_ns + NS // 20)), pytest.raises(DeadlineExceeded):
        async with asyncio.timeout(5):
            await built.service("x")
    assert backends.calls == 1


def test_counts_are_exported_as_counters_and_the_requeue_histogram_exists() -> None:
    registry = MetricsRegistry()
    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80,10.0.0.2:80"))
    build_client(endpoints, Backends().transport, params(registry))
    text = prometheus_text(registry)
    for name in (
        "loadbalancer_adds",
        "loadbalancer_updates",
        "retries_requeues",
        "retries_budget_exhausted",
        "failure_accrual_removals",
    ):
        assert f"# TYPE clnt_{name}_total counter" in text, name
    assert "# TYPE clnt_loadbalancer_size gauge" in text
    assert "clnt_retries_requeues_per_request" in text


async def test_a_retry_storm_through_the_whole_client_is_bounded_by_the_shared_budget() -> None:
    # retries and requeues both resend a retryable failure; they share the client's one budget
    registry, clock = MetricsRegistry(), ManualClock()
    calls = 0

    def refusing(endpoint: Endpoint) -> Any:
        async def answer(req: str) -> str:
            nonlocal calls
            calls += 1
            raise ConnectionFailed("refused")  # a fresh failure each time, as a transport's

        return ConstFactory(FnService(answer))

    endpoints = EndpointSet(parse_endpoints("10.0.0.1:80"))
    p = params(registry).with_(
        Timer(clock, random.Random(7)), Retries(3, const(0.0)), FailureAccrual(None)
    )
    client = build_client(endpoints, refusing, p).service
    sent = 0
    for _ in range(60 * 100):  # 100 requests/s for 60 virtual seconds
        with pytest.raises(ConnectionFailed):
            await client("x")
        sent += 1
        clock.advance(0.01)
    assert calls <= 1.2 * sent + 10 * 60
    assert calls >= 1.2 * sent  # the allowance is used, not starved (naive: 4x)
