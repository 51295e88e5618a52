"""The mesh's fast lane: one router's request path, fused (:class:`Lane`).

The full path runs roost.rpc's server stack, the router and the client stack as layers of
coroutines — about 150 µs of CPU a request. The lane does the same work for the common
request in one pass of plain calls, on the *same objects*, so what the two do is one state:
the server's, the name's, the client's and the per client-and-name ``StatsFilter``\\ s
(``begin``/``end``), the name's retry budget and counts, the client's requeue budget and
counts, its NACK admission, its balancer (a lease per request: Peak-EWMA sees the round
trip), the endpoint's failure accrual (``begin``/``observe``), the trace ids (a server span
and a client child, written as ``l5d-ctx-trace``, ``l5d-reqid`` and B3) and the ``Via``,
``l5d-dst-*`` and ``l5d-success-class`` headers. Bytes go to the backend as they came, the
headers added in front of the blank line, over the lane's own connections
(:mod:`roost.mesh.lane.upstream`); the answer goes back as it arrives, its head rebuilt only
when it carries hop-by-hop headers or is not HTTP/1.1.

What the lane gives back to the full path (which then does everything, counted once):
a name not bound yet or bound to nothing, an unidentified request, an identifier that
rewrites the request, a name or client with timeouts or client retries configured, a
tracer that records spans, NACK admission shedding, a balancer with no endpoint, a backend
that cannot be reached (a requeue), and an answer the name's classifier would retry (within
the name's budget). An answer cut off mid-way cuts the client's connection, as the full path
does; a connection that dies before answering is a 502 with ``l5d-err``, as there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any

from roost.mesh.identifiers import HeaderTokenIdentifier, Identified
from roost.mesh.lane.flight import Flight
from roost.mesh.lane.heads import Heads, RequestHead
from roost.mesh.lane.parts import VIA, Client, Name, Route, Target, request_url
from roost.mesh.lane.tally import Tally
from roost.naming.bindings import OK
from roost.rpc.accrual import FailureAccrualFactory
from roost.rpc.context import TraceId
from roost.rpc.errors import NoBrokersAvailable
from roost.rpc.http.message import Headers, Request
from roost.rpc.service import filters_of
from roost.rpc.stats_filter import StatsFilter
from roost.rpc.tracing import ServerTracingFilter
from roost.rpc.tracing.codec import child_block, trace_block
from roost.rpc.tracing.ids import sample_decision

if TYPE_CHECKING:
    from roost.mesh.lane.conn import LaneConnection
    from roost.mesh.router import Router
    from roost.naming import Path


MEMO_LIMIT = 10_000
REQUEST_HEADS = 256
RECHECK = 1.0


class Lane:
    """One router server's fast lane (see the module docstring)."""

    def __init__(self, router: Router, server_service: Any, tally: Tally | None = None) -> None:
        """``tally``: where plain successes are held till the end of the loop's turn
        (shared by a router's servers, so their outcomes keep one order)."""
        self.router = router
        found = {type(f): f for f in filters_of(server_service)}
        self.stats: StatsFilter[Any, Any] | None = found.get(StatsFilter)
        tracing = found.get(ServerTracingFilter)
        self.tracer = tracing.tracer if tracing is not None else None
        self.on = self.stats is not None and self.tracer is not None and self.tracer.sink is None
        self.tally = tally if tally is not None else Tally()
        identifiers = router.identify.identifiers
        first = identifiers[0] if len(identifiers) == 1 else None
        self.by_host = isinstance(first, HeaderTokenIdentifier) and first.header.lower() == "host"
        """The router names requests by ``Host`` alone: a route is remembered per Host."""
        self._routes: dict[bytes, Route] = {}
        self._names: dict[Path, Name] = {}
        self._clients: dict[int, Client] = {}
        self._flights: dict[LaneConnection, Flight] = {}
        self.heads: Heads[RequestHead] = Heads(REQUEST_HEADS)
        """Request heads the lane took before (:mod:`.heads`)."""

    # -- from the connection --------------------------------------------------------------

    def proxy(
        self,
        conn: LaneConnection,
        method: str,
        raw: Sequence[tuple[bytes, bytes]],
        data: bytes,
        head_end: int,
        host: bytes | None,
    ) -> bool:
        """Proxy one request; ``False``: the caller serves it through the full path."""
        if not self.on:
            return False
        router = self.router
        now = monotonic()
        route = self._routes.get(host) if host is not None and self.by_host else None
        if route is None or route.base is not router.base or now - route.checked >= RECHECK:
            route = self._resolve(method, request_url(data), raw, host, now)
            if route is None:
                return False
        binding = route.binding
        if binding.tree is not route.tree or binding.state != OK:
            self._routes.pop(host, None)  # type: ignore[arg-type]
            return False
        if now - binding.bound_at >= binding.refresh:
            binding.rebind()  # refreshed in the background, as the full path's ready() does
        bound = route.splitter.pick()
        if bound is None:
            return False
        target = route.targets.get(id(bound))  # (the tree holds its bound names: ids stay)
        if target is None:
            target = self._target(route, bound)
        client = target.client
        cstats, requeue, nack = client.stats, client.requeue, client.nack
        if cstats is None or requeue is None or client.tracer is None:
            return False
        if nack is not None and not nack.admit():
            return False
        http_client = target.http_client
        try:
            lease = http_client.balancer.acquire()
        except NoBrokersAvailable:
            return False
        address = lease.node.address
        factory = http_client.endpoint_factory(address)
        if factory is None:
            http_client.release(lease)
            return False
        # -- committed: from here on the lane answers ------------------------------------
        assert self.stats is not None and self.tracer is not None
        name = route.name
        flight = Flight(self, conn, method, raw, data, name, target, lease, factory, now)
        self.stats.pending += 1
        name.stats.pending += 1  # type: ignore[union-attr]
        target.pair.pending += 1
        cstats.pending += 1
        if isinstance(factory, FailureAccrualFactory):
            factory.begin()
        # the server's span (a new root, sampled at its tracer's rate) and the client's
        # child of it, as ServerTracingFilter and ClientTracingFilter make them
        tracer = self.tracer
        span = tracer.rng.getrandbits(64) or 1
        high = (tracer.rng.getrandbits(64) or 1) if tracer.trace_id_128 else 0
        sampled = sample_decision(span, tracer.sample_rate)
        child = client.tracer.rng.getrandbits(64) or 1
        if client.b3_single:
            trace = TraceId(span, child, span, sampled, 0, high)
            added = trace_block(trace, b3=client.b3, b3_single=True)
        else:
            added = child_block(span, child, span, sampled, high, b3=client.b3)
        cut = head_end + 2
        flight.out = b"".join((data[:cut], VIA, target.headers, added, data[cut:]))
        self._flights[conn] = flight
        pool = client.pools.get(address)
        if pool is None:
            pool = client.pool(address)
        up = pool.take(now)
        if up is not None:
            flight.up = up
            up.send(flight.out, flight)
        else:
            conn._task = asyncio.get_running_loop().create_task(flight.connect(pool))
        return True

    def _resolve(
        self,
        method: str,
        url: bytes,
        raw: Sequence[tuple[bytes, bytes]],
        host: bytes | None,
        now: float,
    ) -> Route | None:
        """Resolve a request's route through the router (and its caches); ``None``: the
        full path's business."""
        router = self.router
        req = Request(method, url.decode("latin-1"), Headers.parsed(raw), b"", "1.1")
        found = router.identify(req)
        if not isinstance(found, Identified) or found.request is not req:
            return None
        dst = found.dst
        named = router._services.get(dst)
        if named is None:
            return None
        name = self._names.get(dst)
        if name is None or name.service is not named[0]:
            if len(self._names) >= router.config.bindingCache.paths:
                self._names.clear()  # bounded as the router's own cache of names
            name = self._names[dst] = Name(named[0], named[1])
        if name.stats is None or name.retry is None:
            return None
        binding = router.bindings.binding(router.base, dst)
        tree = binding.tree
        if tree is None or binding.state != OK:
            return None
        splitter = router._splitters.get(tree)
        if splitter is None:
            return None
        for known in self._clients.values():  # (once a second a name: cheap enough)
            known.prune()
        route = Route(router.base, dst, name, binding, tree, splitter, now)
        if host is not None and self.by_host:
            if len(self._routes) >= MEMO_LIMIT:
                self._routes.clear()
            self._routes[host] = route
        return route

    def _target(self, route: Route, bound: Any) -> Target:
        router = self.router
        http_client = router.clients.get(bound)
        client = self._clients.get(id(http_client))
        if client is None or client.client is not http_client:
            if len(self._clients) >= router.config.bindingCache.clients:
                self._forget_clients()
            client = self._clients[id(http_client)] = Client(http_client)
        dst = route.dst
        lines = [f"l5d-dst-service: {dst.show}\r\n", f"l5d-dst-client: {bound.id.show}\r\n"]
        if bound.residual.elems:
            lines.append(f"l5d-dst-residual: {bound.residual.show}\r\n")
        headers = "".join(lines).encode("latin-1")
        pair = router._per_pair(bound.id, dst)
        target = Target(http_client, client, route.name, pair, headers, self.stats)
        route.targets[id(bound)] = target
        return target

    def _forget_clients(self) -> None:
        """Drop (and close the pools of) the clients the router no longer has."""
        live = {id(c) for c, _ in self.router.clients._clients.values()}
        for key in [k for k in self._clients if k not in live]:
            for pool in self._clients.pop(key).pools.values():
                pool.close()
        self._routes.clear()

    def close(self) -> None:
        """The server stops: close the lane's idle backend connections."""
        self.on = False
        self.tally.flush()
        for client in self._clients.values():
            for pool in client.pools.values():
                pool.close()
        self._clients.clear()
        self._routes.clear()
        self._names.clear()

    def client_gone(self, conn: LaneConnection) -> None:
        flight = self._flights.pop(conn, None)
        if flight is not None:
            flight.client_gone()

    def pause_backend(self, conn: LaneConnection) -> None:
        flight = self._flights.get(conn)
        if flight is not None and flight.up is not None:
            flight.up.pause()

    def resume_backend(self, conn: LaneConnection) -> None:
        flight = self._flights.get(conn)
        if flight is not None and flight.up is not None:
            flight.up.resume()
