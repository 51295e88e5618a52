"""What the fast lane keeps of the router's objects: a logical name's stack (:class:`Name`),
a client's (:class:`Client`), a bound name's client and headers (:class:`Target`) and a
destination as resolved (:class:`Route`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roost.mesh.lane.upstream import UpstreamPool
from roost.rpc.admission.nack import NackAdmissionFilter
from roost.rpc.classifier import HTTP_CLASSIFIERS, server_errors_as_failures
from roost.rpc.http.pool import PoolConfig
from roost.rpc.retries import RequeueFilter, RetryFilter
from roost.rpc.service import filters_of
from roost.rpc.stats_filter import StatsFilter
from roost.rpc.timeouts import TimeoutFilter
from roost.rpc.tracing import ClientTracingFilter

if TYPE_CHECKING:
    from roost.naming import Path
    from roost.rpc.http import HttpClient

VIA = b"Via: 1.1 linkerd\r\n"
_LINKERD_CLASSIFIERS = frozenset(HTTP_CLASSIFIERS.values())


def request_url(data: bytes) -> bytes:
    """The request target of the request ``data`` starts with (a request line httptools
    has already parsed: method, target and version, spaces apart)."""
    line = data[: data.find(b"\r\n")]
    return line[line.find(b" ") + 1 : line.rfind(b" ")].strip(b" ")


class Name:
    """What the lane needs of a logical name's service stack."""

    __slots__ = ("classifier", "linkerd", "retry", "service", "stats")

    def __init__(self, service: Any, classifier: Any) -> None:
        self.service = service
        self.classifier = classifier
        self.linkerd = classifier in _LINKERD_CLASSIFIERS
        """One of Linkerd's classifiers: every answer under 500 without ``l5d-*`` headers
        is a success (no need to call it)."""
        found = {type(f): f for f in filters_of(service)}
        self.stats: StatsFilter[Any, Any] | None = found.get(StatsFilter)
        self.retry: RetryFilter[Any, Any] | None = found.get(RetryFilter)
        if any(isinstance(f, TimeoutFilter) for f in found.values()):
            self.stats = None  # a total timeout: the full path keeps the time


class Client:
    """What the lane needs of a router client: its stack's filters, budget and pools."""

    __slots__ = (
        "b3",
        "b3_single",
        "client",
        "fives",
        "nack",
        "pools",
        "requeue",
        "stats",
        "tracer",
    )

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.fives = client.classifier is server_errors_as_failures
        """The client's classifier fails exactly the 5XX answers (the usual one)."""
        found = {type(f): f for f in filters_of(client.service)}
        self.stats: StatsFilter[Any, Any] | None = found.get(StatsFilter)
        self.requeue: RequeueFilter[Any, Any] | None = found.get(RequeueFilter)
        self.nack: NackAdmissionFilter[Any, Any] | None = found.get(NackAdmissionFilter)
        tracing = found.get(ClientTracingFilter)
        self.tracer = tracing.tracer if tracing is not None else None
        self.b3 = tracing.b3 if tracing is not None else True
        self.b3_single = tracing.b3_single if tracing is not None else False
        if (
            found.get(RetryFilter) is not None
            or any(isinstance(f, TimeoutFilter) for f in found.values())
            or client.has_attempt_timeout
            or self.tracer is None
            or self.tracer.sink is not None
            or self.stats is None
            or self.requeue is None
            or client.pool_config.high != PoolConfig().high  # a hostConnectionPool maxSize
        ):
            self.stats = None  # not for the lane: its connections are not the pool's
        self.pools: dict[str, UpstreamPool] = {}

    def pool(self, address: str) -> UpstreamPool:
        pool = self.pools.get(address)
        if pool is None:
            config = self.client.pool_config
            made = self.pools[address] = UpstreamPool(
                address,
                idle_ttl=config.idle_ttl or 30.0,
                connect_timeout=config.connect_timeout or 1.0,
                stats=self.client.pool_stats,
            )
            made.on_empty = lambda: self._forget(address, made)
            return made
        return pool

    def _forget(self, address: str, pool: UpstreamPool) -> None:
        if self.pools.get(address) is pool:
            del self.pools[address]

    def prune(self) -> None:
        """Close the pools of endpoints the balancer no longer has (discovery removed them)."""
        balancer = self.client.balancer
        for address, pool in list(self.pools.items()):
            if balancer.node(address) is None:
                del self.pools[address]
                pool.close()


class Target:
    """One bound name of a route: its client and what the lane writes for it."""

    __slots__ = (
        "client",
        "done",
        "factories",
        "headers",
        "http_client",
        "name",
        "pair",
        "server",
    )

    def __init__(
        self,
        http_client: HttpClient,
        client: Client,
        name: Name,
        pair: Any,
        headers: bytes,
        server: Any,
    ) -> None:
        self.server = server
        """The router server's StatsFilter (its lane's)."""
        self.http_client = http_client
        self.client = client
        self.name = name
        self.pair = pair
        self.headers = headers
        self.done: list[float] = []
        """Latencies (ms) of plain successes not tallied yet (:mod:`.tally`)."""
        self.factories: list[Any] = []
        """Their endpoints' factories, in the same order."""


class Route:
    """A destination as the router resolved it, reused for a second (then resolved again
    through the router's caches, which keeps their entries alive and picks up changes)."""

    __slots__ = ("base", "binding", "checked", "dst", "name", "splitter", "targets", "tree")

    def __init__(
        self, base: Any, dst: Path, name: Name, binding: Any, tree: Any, splitter: Any, now: float
    ) -> None:
        self.base = base
        self.dst = dst
        self.name = name
        self.binding = binding
        self.tree = tree
        self.splitter = splitter
        self.checked = now
        self.targets: dict[int, Target] = {}
        """By the id of the bound name (held by ``tree``, so the id is not reused)."""
