"""One router's request path (Linkerd's HTTP router):

1. the per-request dtab (``l5d-ctx-dtab`` then ``l5d-dtab``) is taken off the request — a bad
   one is a 400;
2. the identifiers name the request (``/svc/web``) — none does: 400;
3. the name is bound with the router's dtab plus the request's (``bindingTimeoutMs``: 503);
4. a bound name is picked by weight — a share with nothing behind it, or no name at all, is
   502 "No hosts are available for …";
5. the request goes on through that name's client (balancer, failure accrual, requeues, per
   attempt timeout, pool) with ``l5d-dst-service``, ``l5d-dst-client``, ``l5d-dst-residual``
   and the request's dtab as ``l5d-ctx-dtab``.

Steps 3 to 5 run under the logical name's service stack: stats ``rt/<router>/service/<name>``,
``totalTimeoutMs`` and classified ``retries`` with their own budget, so a retry may go to
another bound name of a split. Failures become Linkerd's error answers (``l5d-err``).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.mesh.clients import ClientCache, backoff_of, budget_of
from roost.mesh.config import RouterConfig, settings_for
from roost.mesh.config_parts import (
    HeaderPathId,
    HeaderTokenId,
    MarathonIngressId,
    MethodAndHostId,
    PathId,
    StaticId,
)
from roost.mesh.dtab_headers import take_linkerd_local_dtab
from roost.mesh.hops import SUCCESS_CLASS, drop_hop_by_hop, success_class
from roost.mesh.identifiers import (
    HeaderPathIdentifier,
    HeaderTokenIdentifier,
    Identifier,
    IdentifierChain,
    MethodAndHostIdentifier,
    PathIdentifier,
    StaticIdentifier,
    Unidentified,
)
from roost.mesh.ingress import MarathonIngressIdentifier
from roost.mesh.responses import Unroutable, error_response, no_hosts_message
from roost.naming import BoundName, Dtab, NamingSyntaxError, Path
from roost.naming.binding import Mounts
from roost.naming.bindings import OK, BindingCache
from roost.naming.cache import IdleCache
from roost.naming.split import Splitter
from roost.rpc.backoff import const
from roost.rpc.budget import RetryBudget
from roost.rpc.classifier import ResponseClassifier, http_classifier
from roost.rpc.context import dtab_scope
from roost.rpc.errors import NoBrokersAvailable, RequestTimeout, RpcError
from roost.rpc.http import Request, Response
from roost.rpc.retries import RetryFilter, RetryPolicy, RetryStats
from roost.rpc.service import FilteredService, FnService, Service
from roost.rpc.stats import StatsReceiver
from roost.rpc.stats_filter import StatsFilter
from roost.rpc.timeouts import TotalTimeoutFilter

if TYPE_CHECKING:
    from roost.mesh.telemetry import MeshTracing
    from roost.rpc.tracing import Tracer

DST_SERVICE = "l5d-dst-service"
DST_CLIENT = "l5d-dst-client"
DST_RESIDUAL = "l5d-dst-residual"


@dataclass(frozen=True, slots=True)
class _Route:
    dst: Path
    dtab: Dtab
    local: Dtab


_route: contextvars.ContextVar[_Route] = contextvars.ContextVar("roost_mesh_route")
_Named = tuple[Service[Request, Response], ResponseClassifier[Request, Response]]
"""A logical name's service stack and the classifier it counts by."""


def _retry_stats(scope: StatsReceiver) -> RetryStats:
    """A name's retry counts as Linkerd exports them: ``retries/total``,
    ``retries/budget_exhausted`` and the ``retries/per_request`` histogram."""
    stats = RetryStats()
    scope.gauge("total", fn=lambda: float(stats.retries), monotonic=True)
    scope.gauge("budget_exhausted", fn=lambda: float(stats.budget_exhausted), monotonic=True)
    stats.retries_histogram = scope.stat("per_request")
    return stats


def _failed(error: BaseException) -> Response:
    rep = error_response(error)
    rep.headers.add(SUCCESS_CLASS, "0.0")
    return rep


def make_identifier(config: Any, prefix: Path) -> Identifier:
    if isinstance(config, HeaderTokenId):
        return HeaderTokenIdentifier(prefix, config.header)
    if isinstance(config, MethodAndHostId):
        return MethodAndHostIdentifier(prefix, config.httpUriInDst)
    if isinstance(config, PathId):
        return PathIdentifier(prefix, config.segments, config.consume)
    if isinstance(config, HeaderPathId):
        return HeaderPathIdentifier(prefix, config.header)
    if isinstance(config, MarathonIngressId):
        url = f"http://{config.host}:{config.port}{config.uriPrefix}"
        return MarathonIngressIdentifier(url, prefix=prefix, ttl=config.ttlMs / 1000)
    assert isinstance(config, StaticId)
    return StaticIdentifier(Path.read(config.path), prefix)


class Router:
    def __init__(
        self,
        config: RouterConfig,
        *,
        namers: Mounts = (),
        stats: StatsReceiver | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        tracing: MeshTracing | None = None,
    ) -> None:
        """``tracing``: the ``io.l5d.zipkin`` telemeter, whose tracers record this router's
        server and client spans (``self.tracer`` is its servers')."""
        self.config = config
        self.name = config.name
        self.base = Dtab.read(config.dtab)
        prefix = Path.read(config.dstPrefix)
        self.identify = IdentifierChain([make_identifier(c, prefix) for c in config.identifier])
        cache = config.bindingCache
        self.bindings = BindingCache(
            namers, capacity=cache.trees, idle_ttl=cache.idleTtlSecs, clock=clock
        )
        self.stats = stats if stats is not None else StatsReceiver()
        self.tracer: Tracer | None = None
        tracer_for: Callable[[Path], Tracer] | None = None
        if tracing is not None:
            server_tracer = self.tracer = tracing.server_tracer(self.name)
            tracer_for = partial(tracing.client_tracer, server_tracer)
        self.clients = ClientCache(config, self.stats, clock=clock, tracer_for=tracer_for)
        self.clock = clock
        self.rng = rng or random.Random()
        self.binding_timeout = config.bindingTimeoutMs / 1000
        self._splitters: IdleCache[Any, Splitter[BoundName]] = IdleCache(cache.bounds, None)
        self._services: IdleCache[Path, _Named] = IdleCache(
            cache.paths, cache.idleTtlSecs, clock=clock
        )
        self._dispatch: Service[Request, Response] = FnService(self._send)
        self._pairs: IdleCache[tuple[Path, Path], StatsFilter[Request, Response]] = IdleCache(
            cache.clients, cache.idleTtlSecs, clock=clock
        )
        self._pair_classifier = http_classifier("io.l5d.http.nonRetryable5XX")

    async def __call__(self, req: Request) -> Response:
        """The response, marked ``l5d-success-class`` by the name's classifier."""
        try:
            local = take_linkerd_local_dtab(req.headers)
        except NamingSyntaxError as exc:
            return _failed(Unroutable(str(exc)))
        found = self.identify(req)
        if isinstance(found, Unidentified):
            return _failed(Unroutable(f"Unknown destination: {found.reason}"))
        route = _Route(found.dst, self.base + local, local)
        token = _route.set(route)
        try:
            service, classify = self._service(found.dst)
            with dtab_scope(local.show):
                rep = await service(found.request)
        except Exception as exc:
            return _failed(exc)
        finally:
            _route.reset(token)
        verdict = success_class(classify(found.request, rep))
        drop_hop_by_hop(rep.headers)
        if verdict is not None:
            rep.headers.set(SUCCESS_CLASS, verdict)
        return rep

    def _service(self, dst: Path) -> _Named:
        named = self._services.get(dst)
        if named is None:
            named = self._build_service(dst)
            self._services.put(dst, named)
        return named

    def _build_service(self, dst: Path) -> _Named:
        settings = settings_for(self.config.service, dst)
        kind = settings.get("responseClassifier")
        classifier = http_classifier(kind.kind if kind else "io.l5d.http.nonRetryable5XX")
        scope = self.stats.scope("rt", self.name, "service", dst.show.lstrip("/"))
        service: Service[Request, Response] = self._dispatch
        # classified retries are always on, as in Linkerd: the budget and backoff of the
        # name's ``retries`` if it has one, else 20 % + 10/s over 10 s and no backoff
        retries = settings.get("retries")
        budget = budget_of(retries.budget if retries else None, self.clock)
        backoff = backoff_of(retries.backoff if retries else None, self.rng) or const(0.0)
        retry_filter: RetryFilter[Request, Response] = RetryFilter(
            RetryPolicy(100, backoff),
            classifier,
            budget or RetryBudget(clock=self.clock),
            stats=_retry_stats(scope.scope("retries")),
        )
        service = FilteredService(retry_filter, service)
        timeout = settings.get("totalTimeoutMs")
        if timeout:
            total: TotalTimeoutFilter[Request, Response] = TotalTimeoutFilter(
                timeout / 1000, self.clock, honour_deadline=False
            )
            service = FilteredService(total, service)
        return FilteredService(StatsFilter(scope, classifier), service), classifier

    async def _send(self, req: Request) -> Response:
        route = _route.get()
        binding = self.bindings.binding(route.dtab, route.dst)
        try:
            if binding.state == OK and not binding.stale() and binding.tree is not None:
                tree = binding.tree  # the common case: bound and fresh, nothing to wait for
            else:
                async with asyncio.timeout(self.binding_timeout):
                    tree = await binding.ready()
        except TimeoutError:
            raise RequestTimeout(
                f"binding {route.dst.show} timed out after {self.binding_timeout:g} s"
            ) from None
        except RpcError:
            raise
        except Exception as exc:  # a namer or the dtab failed: no route
            raise NoBrokersAvailable(f"binding {route.dst.show} failed: {exc}") from exc
        splitter = self._splitters.get(tree)
        if splitter is None:
            splitter = Splitter(tree, self.rng)
            self._splitters.put(tree, splitter)
        bound = splitter.pick()
        if bound is None:
            raise NoBrokersAvailable(no_hosts_message(route.dst, self.base, route.local))
        headers = req.headers
        headers.replace_all(frozenset((DST_SERVICE, DST_CLIENT, DST_RESIDUAL)), ())
        headers.add(DST_SERVICE, route.dst.show)
        headers.add(DST_CLIENT, bound.id.show)
        if bound.residual.elems:
            headers.add(DST_RESIDUAL, bound.residual.show)
        return await self._per_pair(bound.id, route.dst)(req, self.clients.get(bound))

    def _per_pair(self, bound: Path, dst: Path) -> StatsFilter[Request, Response]:
        """``rt/<router>/client/<bound id>/service/<name>/…``: a client's requests for one
        logical name (Linkerd's per client and service stats)."""
        key = (bound, dst)
        found = self._pairs.get(key)
        if found is None:
            scope = self.stats.scope(
                "rt", self.name, "client", bound.show.lstrip("/"), "service", dst.show.lstrip("/")
            )
            named = self._services.get(dst)
            found = StatsFilter(scope, named[1] if named else self._pair_classifier)
            self._pairs.put(key, found)
        return found

    def set_base(self, dtab: Dtab) -> None:
        """A new router dtab (from namerd): requests from now on bind with it."""
        self.base = dtab

    async def start(self) -> None:
        """Start what keeps identifiers fresh (the Marathon ingress table)."""
        for identify in self.identify.identifiers:
            if isinstance(identify, MarathonIngressIdentifier):
                await identify.start()

    async def aclose(self) -> None:
        for identify in self.identify.identifiers:
            if isinstance(identify, MarathonIngressIdentifier):
                await identify.aclose()
        await self.bindings.aclose()
        await self.clients.aclose()
