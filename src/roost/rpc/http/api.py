"""``roost.rpc.http.client`` and ``roost.rpc.http.serve``: the full stacks in one call.

::

    web = client("127.0.0.1:8080,127.0.0.1:8081", label="web", total_timeout=2.0)
    rep = await web(Request("GET", "/users/1"))

    server = await serve("0.0.0.0:8080", FnService(handle), label="users", max_concurrent=100)

The client is P2C Peak-EWMA over the endpoints, with failure accrual (5 consecutive
failures), requeues of never-sent requests within a retry budget, optional retries and
timeouts, NACK admission, trace propagation and ``clnt/<label>/…`` stats. The server adds
``srv/<label>/…`` stats, trace continuation, deadline admission (dark by default) and an
optional concurrency limit that NACKs the excess.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.accrual_policy import FailureAccrualPolicy
from roost.rpc.backoff import Backoff
from roost.rpc.budget import Budget
from roost.rpc.classifier import ResponseClassifier, server_errors_as_failures
from roost.rpc.client_stack import (
    AttemptTimeout,
    BuiltClient,
    Classification,
    Deadlines,
    FailureAccrual,
    Label,
    LoadBalancing,
    NackAdmission,
    Retries,
    SharedBudget,
    Stats,
    Timer,
    TotalTimeout,
    Tracing,
    build_client,
    client_scope,
)
from roost.rpc.endpoints import Endpoint, EndpointSet, parse_endpoints
from roost.rpc.http.address import Address
from roost.rpc.http.message import Request, Response
from roost.rpc.http.pool import HttpEndpointFactory, PoolConfig
from roost.rpc.http.pool_stats import PoolStats
from roost.rpc.http.server import Server, ServerConfig, listen
from roost.rpc.server_stack import (
    ConcurrencyLimit,
    DeadlineAdmission,
    ServerClassification,
    ServerLabel,
    ServerStats,
    ServerTracing,
    build_server,
)
from roost.rpc.service import Service, Status
from roost.rpc.stack import Params
from roost.rpc.stats import StatsReceiver

if TYPE_CHECKING:
    from roost.rpc.loadbalancer.node import Lease
    from roost.rpc.tracing import Tracer


class HttpClient:
    """A load-balanced HTTP client: ``await client(request) -> Response``."""

    def __init__(
        self,
        built: BuiltClient,
        endpoints: EndpointSet,
        *,
        pool_config: PoolConfig | None = None,
        pool_stats: PoolStats | None = None,
        classifier: ResponseClassifier[Request, Response] = server_errors_as_failures,
        attempt_timeout: float | None = None,
    ) -> None:
        self._built = built
        self._service: Service[Request, Response] = built.service
        self.endpoints = endpoints
        """Change it (``insert``/``remove``/``replace``) and the balancer follows."""
        self.balancer = built.balancer
        self.retry_stats = built.retry_stats
        self.budget = built.budget
        # what a caller doing the stack's work itself needs (the mesh's fast lane)
        self.pool_config = pool_config or PoolConfig()
        self.pool_stats = pool_stats
        self.classifier = classifier
        self.has_attempt_timeout = attempt_timeout is not None
        self.endpoint_factory: Callable[[str], Any] = built.factory.factory_for
        """The top of an endpoint's own stack (failure accrual) by address, ``None`` if
        unknown."""
        self.release: Callable[[Lease], None] = built.factory.release
        """End a lease taken from :attr:`balancer` (``acquire()``), as a session's close does."""

    @property
    def service(self) -> Service[Request, Response]:
        """The client's stack (its filters: :func:`roost.rpc.service.filters_of`)."""
        return self._service

    def __call__(self, req: Request) -> Coroutine[Any, Any, Response]:
        return self._service(req)

    @property
    def status(self) -> Status:
        return self._service.status

    async def close(self) -> None:
        await self._service.close()


def client(
    dest: str | EndpointSet,
    *,
    label: str = "client",
    balancer: str = "ewma",
    total_timeout: float | None = None,
    attempt_timeout: float | None = None,
    retries: int = 0,
    retry_backoff: Backoff | None = None,
    classifier: ResponseClassifier[Request, Response] = server_errors_as_failures,
    failure_accrual: bool | Callable[[], FailureAccrualPolicy] = True,
    nack_admission: bool = True,
    pool: PoolConfig | None = None,
    stats: StatsReceiver | None = None,
    stats_scope: str = "clnt",
    budget: Budget | None = None,
    max_effort: int = 5,
    decay_time: float = 10.0,
    tracer: Tracer | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
    enforce_deadline: bool = True,
) -> HttpClient:
    """A client of ``dest``: ``"host:port,host:port"`` or an :class:`EndpointSet` fed by
    discovery. Stats go to ``stats`` (default: the process registry) as
    ``<stats_scope>/<label>/…`` (``clnt``). ``failure_accrual`` is on (5 consecutive
    failures), off, or a factory of a policy per endpoint; ``budget`` is the retry budget
    (default Finagle's); ``max_effort`` and ``decay_time`` tune the balancer;
    ``enforce_deadline=False`` makes an inherited deadline advisory (passed on, not acted on)."""
    # tracing imports http.message
    from roost.rpc.tracing import ClientTracingFilter, TraceInitializerFilter, Tracer

    endpoints = dest if isinstance(dest, EndpointSet) else EndpointSet(parse_endpoints(dest))
    pool_config = pool or PoolConfig()
    trace = tracer or Tracer(service_name=label)
    params = Params(
        [
            Label(label),
            Stats(stats or StatsReceiver(), stats_scope),
            Timer(clock, rng),
            Classification(classifier),
            TotalTimeout(total_timeout),
            AttemptTimeout(attempt_timeout),
            Retries(retries, retry_backoff),
            LoadBalancing(balancer, max_effort, decay_time),
            NackAdmission(nack_admission),
            Tracing(lambda: ClientTracingFilter(trace), lambda: TraceInitializerFilter(trace)),
            Deadlines(enforce_deadline),
        ]
    )
    if failure_accrual is False:
        params = params.with_(FailureAccrual(None))
    elif callable(failure_accrual):
        params = params.with_(FailureAccrual(failure_accrual))
    if budget is not None:
        params = params.with_(SharedBudget(budget))

    pool_stats = PoolStats(client_scope(params))

    def transport(endpoint: Endpoint) -> HttpEndpointFactory:
        return HttpEndpointFactory(endpoint.address, pool_config, clock=clock, stats=pool_stats)

    return HttpClient(
        build_client(endpoints, transport, params),
        endpoints,
        pool_config=pool_config,
        pool_stats=pool_stats,
        classifier=classifier,
        attempt_timeout=attempt_timeout,
    )


async def serve(
    address: Address,
    service: Service[Request, Response],
    *,
    label: str = "http",
    config: ServerConfig | None = None,
    max_concurrent: int | None = None,
    max_waiters: int = 0,
    deadline_admission: str = "dark",
    classifier: ResponseClassifier[Request, Response] = server_errors_as_failures,
    stats: StatsReceiver | None = None,
    stats_scope: str = "srv",
    tracer: Tracer | None = None,
    clock: Clock = SYSTEM_CLOCK,
    protocol: Callable[[Server], asyncio.Protocol] | None = None,
) -> Server:
    """Serve ``service`` on ``address`` behind the server stack. ``deadline_admission`` is
    ``"dark"`` (count expired requests), ``"enforce"`` (reject ≤ 20 % of them) or ``"off"``;
    ``protocol``: as :func:`~roost.rpc.http.server.listen`'s."""
    if deadline_admission not in ("dark", "enforce", "off"):
        raise ValueError(
            f"deadline_admission must be 'dark', 'enforce' or 'off', got {deadline_admission!r}"
        )
    from roost.rpc.tracing import ServerTracingFilter, Tracer  # tracing imports http.message

    trace = tracer or Tracer(service_name=label)
    params = Params(
        [
            ServerLabel(label),
            ServerStats(stats or StatsReceiver(), stats_scope),
            ServerClassification(classifier),
            ServerTracing(lambda: ServerTracingFilter(trace)),
            DeadlineAdmission(deadline_admission != "off", deadline_admission == "dark", clock),
            ConcurrencyLimit(max_concurrent, max_waiters),
        ]
    )
    stacked: Any = build_server(service, params)
    return await listen(address, stacked, config=config, protocol=protocol)
