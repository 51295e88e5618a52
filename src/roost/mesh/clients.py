"""The router's clients: one roost.rpc client per bound name, its endpoints fed by the
name's addresses, kept in a cache (``bindingCache.clients``, idle TTL) and closed when
evicted. Settings come from the router's ``client`` config: the global one, or every
``io.l5d.static`` config whose prefix matches the bound id (later ones override earlier).
Metrics: ``rt/<router>/client/<bound id without its leading slash>/…``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.mesh.config import RouterConfig, settings_for
from roost.mesh.config_parts import (
    P2C,
    ApertureLB,
    BackoffConfig,
    BudgetConfig,
    ConsecutiveFailures,
    ConstantBackoff,
    Ewma,
    NoAccrual,
    SuccessRate,
    SuccessRateWindowed,
)
from roost.naming import BoundName, Path
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Bound
from roost.naming.cache import IdleCache
from roost.rpc.accrual_policy import (
    FailureAccrualPolicy,
    consecutive_failures,
    success_rate,
    success_rate_windowed,
)
from roost.rpc.backoff import Backoff, const, decorrelated_jittered
from roost.rpc.budget import RetryBudget
from roost.rpc.endpoints import Endpoint, EndpointSet
from roost.rpc.http import HttpClient, PoolConfig, client
from roost.rpc.stats import StatsReceiver

if TYPE_CHECKING:
    from roost.rpc.tracing import Tracer


def backoff_of(config: BackoffConfig | None, rng: random.Random | None = None) -> Backoff | None:
    """Linkerd's ``backoff`` config: ``constant`` {ms}, or ``jittered`` {minMs, maxMs}, which
    is Finagle's ``decorrelatedJittered`` (for retries and failure accrual alike)."""
    if config is None:
        return None
    if isinstance(config, ConstantBackoff):
        return const(config.ms / 1000)
    return decorrelated_jittered(config.minMs / 1000, config.maxMs / 1000, rng=rng)


def accrual_of(config: Any) -> bool | Callable[[], FailureAccrualPolicy]:
    if config is None:
        return True  # Linkerd's default: 5 consecutive failures, equal-jittered 5 s..300 s
    if isinstance(config, NoAccrual):
        return False
    backoff = backoff_of(config.backoff)
    if isinstance(config, ConsecutiveFailures):
        return lambda: consecutive_failures(config.failures, backoff)
    if isinstance(config, SuccessRate):
        return lambda: success_rate(config.successRate, config.requests, backoff)
    assert isinstance(config, SuccessRateWindowed)
    return lambda: success_rate_windowed(config.successRate, config.window, backoff)


def budget_of(config: BudgetConfig | None, clock: Clock) -> RetryBudget | None:
    if config is None:
        return None
    return RetryBudget(config.ttlSecs, config.minRetriesPerSec, config.percentCanRetry, clock)


def client_kwargs(settings: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """``roost.rpc.http.client`` arguments for a router client's settings."""
    # Linkerd's default balancer; deadlines are advisory in Linkerd (passed on, not enforced)
    kw: dict[str, Any] = {"balancer": "p2c", "enforce_deadline": False}
    lb = settings.get("loadBalancer")
    if lb is not None:
        if isinstance(lb, P2C):
            kw["balancer"] = "p2c"
        elif isinstance(lb, Ewma):
            kw["balancer"] = "ewma"
        elif isinstance(lb, ApertureLB):
            kw["balancer"] = "aperture"
        else:
            kw["balancer"] = "round_robin"
        kw["max_effort"] = lb.maxEffort
        if isinstance(lb, Ewma):
            kw["decay_time"] = lb.decayTimeMs / 1000
    kw["failure_accrual"] = accrual_of(settings.get("failureAccrual"))
    kw["budget"] = budget_of(settings.get("requeueBudget"), clock)
    timeout = settings.get("requestAttemptTimeoutMs")
    kw["attempt_timeout"] = timeout / 1000 if timeout else None
    pool = settings.get("hostConnectionPool")
    if pool is not None:
        kw["pool"] = PoolConfig(
            low=pool.minSize,
            high=pool.maxSize or 1000,
            max_waiters=pool.maxWaiters if pool.maxWaiters is not None else 1_000_000,
            idle_ttl=pool.idleTimeMs / 1000 if pool.idleTimeMs else 30.0,
        )
    return kw


def apply_addr(endpoints: EndpointSet, addr: Addr) -> None:
    """Bound: exactly these endpoints; Neg: none; Pending or Failed: keep what we have."""
    if isinstance(addr, Bound):
        endpoints.replace(
            Endpoint(a.hostport, a.weight, {k: v for k, v in a.meta.items() if k != "weight"})
            for a in addr.addresses
        )
    elif addr is ADDR_NEG:
        endpoints.replace(())


class ClientCache:
    def __init__(
        self,
        router: RouterConfig,
        stats: StatsReceiver,
        *,
        clock: Clock = SYSTEM_CLOCK,
        tracer_for: Callable[[Path], Tracer] | None = None,
    ) -> None:
        """``tracer_for``: a bound id's tracer (``io.l5d.zipkin``); ``None``: ids only."""
        self.router = router
        self.tracer_for = tracer_for
        self.stats = stats.scope("rt", router.name)
        self.clock = clock
        cache = router.bindingCache
        self._clients: IdleCache[Path, tuple[HttpClient, Callable[[], None]]] = IdleCache(
            cache.clients, cache.idleTtlSecs, clock=clock, on_evict=self._evicted
        )
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, bound: BoundName) -> HttpClient:
        found = self._clients.get(bound.id)
        if found is not None:
            return found[0]
        endpoints = EndpointSet()
        stop = bound.addr.observe(lambda addr: apply_addr(endpoints, addr))
        settings = settings_for(self.router.client, bound.id)
        made = client(
            endpoints,
            label=bound.id.show.lstrip("/") or "/",
            stats=self.stats,
            stats_scope="client",
            clock=self.clock,
            tracer=self.tracer_for(bound.id) if self.tracer_for is not None else None,
            **client_kwargs(settings, self.clock),
        )
        self._clients.put(bound.id, (made, stop))
        return made

    def _evicted(self, _id: Path, entry: tuple[HttpClient, Callable[[], None]]) -> None:
        made, stop = entry
        stop()
        task = asyncio.get_running_loop().create_task(made.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        self._clients.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
