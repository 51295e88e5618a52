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
import logging
from time import monotonic
from typing import TYPE_CHECKING, Any

from roost.mesh.hops import SUCCESS_CLASS, success_class
from roost.mesh.identifiers import HeaderTokenIdentifier, Identified
from roost.mesh.lane.upstream import Upstream, UpstreamPool
from roost.mesh.responses import error_response
from roost.naming.bindings import OK
from roost.rpc.accrual import FailureAccrualFactory
from roost.rpc.admission.nack import NackAdmissionFilter
from roost.rpc.classifier import HTTP_CLASSIFIERS, ResponseClass, server_errors_as_failures
from roost.rpc.context import TraceId
from roost.rpc.errors import RpcError
from roost.rpc.http.codec import http_date, response_head
from roost.rpc.http.message import Headers, Request, Response
from roost.rpc.http.nack import nack_error
from roost.rpc.retries import RequeueFilter, RetryFilter
from roost.rpc.service import filters_of
from roost.rpc.stats_filter import StatsFilter
from roost.rpc.timeouts import TimeoutFilter
from roost.rpc.tracing import ClientTracingFilter, ServerTracingFilter
from roost.rpc.tracing.codec import trace_block
from roost.rpc.tracing.ids import sample_decision

if TYPE_CHECKING:
    from roost.mesh.lane.conn import LaneConnection
    from roost.mesh.router import Router
    from roost.naming import Path
    from roost.rpc.http import HttpClient
    from roost.rpc.loadbalancer.node import Lease

log = logging.getLogger(__name__)

VIA = b"Via: 1.1 linkerd\r\n"


class _Name:
    """What the lane needs of a logical name's service stack."""

    __slots__ = ("classifier", "retry", "service", "stats")

    def __init__(self, service: Any, classifier: Any) -> None:
        self.service = service
        self.classifier = classifier
        found = {type(f): f for f in filters_of(service)}
        self.stats: StatsFilter[Any, Any] | None = found.get(StatsFilter)
        self.retry: RetryFilter[Any, Any] | None = found.get(RetryFilter)
        if any(isinstance(f, TimeoutFilter) for f in found.values()):
            self.stats = None  # a total timeout: the full path keeps the time


class _Client:
    """What the lane needs of a router client: its stack's filters, budget and pools."""

    __slots__ = ("b3", "b3_single", "client", "nack", "pools", "requeue", "stats", "tracer")

    def __init__(self, client: HttpClient) -> None:
        self.client = client
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
        ):
            self.stats = None  # not for the lane
        self.pools: dict[str, UpstreamPool] = {}

    def pool(self, address: str) -> UpstreamPool:
        pool = self.pools.get(address)
        if pool is None:
            config = self.client.pool_config
            pool = self.pools[address] = UpstreamPool(
                address,
                idle_ttl=config.idle_ttl or 30.0,
                connect_timeout=config.connect_timeout or 1.0,
                stats=self.client.pool_stats,
            )
        return pool


class _Target:
    """One bound name of a route: its client and what the lane writes for it."""

    __slots__ = ("client", "headers", "http_client", "pair")

    def __init__(self, http_client: HttpClient, client: _Client, pair: Any, headers: bytes):
        self.http_client = http_client
        self.client = client
        self.pair = pair
        self.headers = headers


class _Route:
    """A destination as the router resolved it, reused for a second (then resolved again
    through the router's caches, which keeps their entries alive and picks up changes)."""

    __slots__ = ("base", "binding", "checked", "dst", "name", "splitter", "targets", "tree")

    def __init__(
        self, base: Any, dst: Path, name: _Name, binding: Any, tree: Any, splitter: Any, now: float
    ) -> None:
        self.base = base
        self.dst = dst
        self.name = name
        self.binding = binding
        self.tree = tree
        self.splitter = splitter
        self.checked = now
        self.targets: dict[Path, _Target] = {}


MEMO_LIMIT = 10_000
RECHECK = 1.0


class Lane:
    """One router server's fast lane (see the module docstring)."""

    def __init__(self, router: Router, server_service: Any) -> None:
        self.router = router
        found = {type(f): f for f in filters_of(server_service)}
        self.stats: StatsFilter[Any, Any] | None = found.get(StatsFilter)
        tracing = found.get(ServerTracingFilter)
        self.tracer = tracing.tracer if tracing is not None else None
        self.on = self.stats is not None and self.tracer is not None and self.tracer.sink is None
        identifiers = router.identify.identifiers
        first = identifiers[0] if len(identifiers) == 1 else None
        self.by_host = isinstance(first, HeaderTokenIdentifier) and first.header.lower() == "host"
        """The router names requests by ``Host`` alone: a route is remembered per Host."""
        self._routes: dict[bytes, _Route] = {}
        self._names: dict[Path, _Name] = {}
        self._clients: dict[int, _Client] = {}
        self._flights: dict[LaneConnection, _Flight] = {}

    # -- from the connection --------------------------------------------------------------

    def proxy(
        self,
        conn: LaneConnection,
        method: str,
        url: bytes,
        raw: list[tuple[bytes, bytes]],
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
            route = self._resolve(method, url, raw, host, now)
            if route is None:
                return False
        binding = route.binding
        if (
            binding.tree is not route.tree
            or binding.state != OK
            or now - binding.bound_at >= binding.refresh
        ):
            self._routes.pop(host, None)  # type: ignore[arg-type]
            return False
        bound = route.splitter.pick()
        if bound is None:
            return False
        target = route.targets.get(bound.id)
        if target is None:
            target = self._target(route, bound)
        client = target.client
        cstats, requeue, nack = client.stats, client.requeue, client.nack
        if cstats is None or requeue is None or client.tracer is None:
            return False
        if nack is not None and not nack.admit():
            return False
        http_client = target.http_client
        balancer = http_client.balancer
        if not balancer.size:
            return False
        lease = balancer.acquire()
        factory = http_client.endpoint_factory(lease.node.address)
        if factory is None:
            http_client.release(lease)
            return False
        # -- committed: from here on the lane answers ------------------------------------
        assert self.stats is not None and self.tracer is not None
        name = route.name
        flight = _Flight(self, conn, method, url, raw, data, name, target, lease, factory, now)
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
        trace = TraceId(span, child, span, sampled, 0, high)
        added = trace_block(trace, b3=client.b3, b3_single=client.b3_single)
        cut = head_end + 2
        flight.out = b"".join((data[:cut], VIA, target.headers, added, data[cut:]))
        self._flights[conn] = flight
        pool = client.pool(lease.node.address)
        up = pool.take(now)
        if up is not None:
            flight.send(up)
        else:
            conn._task = asyncio.get_running_loop().create_task(flight.connect(pool))
        return True

    def _resolve(
        self,
        method: str,
        url: bytes,
        raw: list[tuple[bytes, bytes]],
        host: bytes | None,
        now: float,
    ) -> _Route | None:
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
            name = self._names[dst] = _Name(named[0], named[1])
        if name.stats is None or name.retry is None:
            return None
        binding = router.bindings.binding(router.base, dst)
        tree = binding.tree
        if tree is None or binding.state != OK:
            return None
        splitter = router._splitters.get(tree)
        if splitter is None:
            return None
        route = _Route(router.base, dst, name, binding, tree, splitter, now)
        if host is not None and self.by_host:
            if len(self._routes) >= MEMO_LIMIT:
                self._routes.clear()
            self._routes[host] = route
        return route

    def _target(self, route: _Route, bound: Any) -> _Target:
        router = self.router
        http_client = router.clients.get(bound)
        client = self._clients.get(id(http_client))
        if client is None or client.client is not http_client:
            if len(self._clients) >= router.config.bindingCache.clients:
                self._forget_clients()
            client = self._clients[id(http_client)] = _Client(http_client)
        dst = route.dst
        lines = [f"l5d-dst-service: {dst.show}\r\n", f"l5d-dst-client: {bound.id.show}\r\n"]
        if bound.residual.elems:
            lines.append(f"l5d-dst-residual: {bound.residual.show}\r\n")
        headers = "".join(lines).encode("latin-1")
        target = _Target(http_client, client, router._per_pair(bound.id, dst), headers)
        route.targets[bound.id] = target
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


class _Flight:
    """One request in the lane, from the write to the backend to the end of the answer."""

    __slots__ = (
        "_req",
        "client",
        "conn",
        "data",
        "factory",
        "lane",
        "lease",
        "method",
        "name",
        "out",
        "over",
        "raw",
        "rep",
        "started",
        "status",
        "target",
        "up",
        "url",
        "verdict",
    )

    def __init__(
        self,
        lane: Lane,
        conn: LaneConnection,
        method: str,
        url: bytes,
        raw: list[tuple[bytes, bytes]],
        data: bytes,
        name: _Name,
        target: _Target,
        lease: Lease,
        factory: Any,
        started: float,
    ) -> None:
        self.lane = lane
        self.conn = conn
        self.method = method
        self.url = url
        self.raw = raw
        self.data = data
        self.name = name
        self.target = target
        self.client = target.client
        self.lease = lease
        self.factory = factory
        self.started = started
        self.out = b""
        self.up: Upstream | None = None
        self.rep = False
        """The answer's head went to the client."""
        self.status = 0
        self.verdict: ResponseClass = ResponseClass.SUCCESS
        self.over = False
        self._req: Request | None = None

    @property
    def req(self) -> Request:
        """The request as a ``Request``, for what needs one (classifiers, the full path)."""
        if self._req is None:
            url = self.url.decode("latin-1")
            self._req = Request(self.method, url, Headers.parsed(self.raw), b"", "1.1")
        return self._req

    # -- to the backend -------------------------------------------------------------------

    def send(self, up: Upstream) -> None:
        self.up = up
        up.send(self.out, self)

    async def connect(self, pool: UpstreamPool) -> None:
        try:
            up = await pool.connect()
        except (OSError, TimeoutError):
            self._never_sent()
            return
        finally:
            if self.conn._task is asyncio.current_task():  # (not a full-path task since)
                self.conn._task = None
        if self.over:  # the client left while we connected
            pool.release(up)
            return
        self.send(up)

    # -- from the backend (Upstream's Exchange) -----------------------------------------

    def _classify(self, up: Upstream, status: int) -> ResponseClass:
        """The name's verdict. Linkerd's classifiers call anything under 500 a success
        unless the answer says ``l5d-retryable``: that case costs no ``Response``."""
        classifier = self.name.classifier
        if status < 500 and not up.flagged and classifier in _LINKERD_CLASSIFIERS:
            return ResponseClass.SUCCESS
        rep = Response(status, Headers.parsed(list(up.headers)), b"")
        try:
            return classifier(self.req, rep)
        except Exception:
            return ResponseClass.SUCCESS

    def head(self, up: Upstream, status: int, data: bytes) -> None:
        if status == 503:
            rep = Response(status, Headers.parsed(list(up.headers)), b"")
            if nack_error(rep, up.pool.address) is not None:
                # a NACK: nothing was processed; the full path sends it elsewhere (a requeue)
                up.abort()
                self._settle(None, give_back=REQUEUE, nacked=True)
                return
        verdict = self._classify(up, status)
        retry = self.name.retry
        if verdict.retryable and retry is not None and retry.budget.try_withdraw():
            retry.stats.retries += 1
            up.abort()  # the answer is dropped: the full path sends the request again
            self.status = status
            self._settle(None, give_back=RETRY)
            return
        self.verdict = verdict
        self.status = status
        self.rep = True
        transport = self.conn.transport
        if transport is None or self.conn.closed:
            return
        transport.write(self._head(up, status, data, success_class(verdict)))
        if self.conn.flow.paused:
            up.pause()

    def _head(self, up: Upstream, status: int, data: bytes, mark: str | None) -> bytes:
        extra = VIA
        if mark is not None:
            extra += _MARKS[mark]
        if not up.dated:
            extra += b"Date: " + http_date().encode() + b"\r\n"
        end = data.find(b"\r\n\r\n")
        if up.version == "1.1" and not up.until_close and not up.flagged:
            if not up.hop:
                return b"".join((data[: end + 2], extra, data[end + 2 :]))
            if up.hop == _KEEP_ALIVE_ONLY:  # nginx's habit: cut the one line out
                at = data.find(b"\r\nConnection: keep-alive\r\n", 0, end + 2)
                if at >= 0:
                    cut = at + 2 + 24
                    return b"".join((data[: at + 2], data[cut : end + 2], extra, data[end + 2 :]))
        # rebuilt: no hop-by-hop headers, HTTP/1.1, our l5d-success-class in place of one
        # from behind, and the end of a body of unknown length is the end of the connection
        lines = [b"HTTP/1.1 %d %s" % (status, _reason(data))]
        lines += [n + b": " + v for n, v in up.headers if n.lower() not in _DROP]
        if up.until_close:
            lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n" + data[end + 4 :]

    def body(self, data: bytes) -> None:
        transport = self.conn.transport
        if transport is not None and not self.conn.closed:
            transport.write(data)
            if self.conn.flow.paused and self.up is not None:
                self.up.pause()

    def done(self, up: Upstream) -> None:
        if not self.rep:
            return
        self._settle(None)
        self.conn.answered(not up.until_close)

    def failed(self, up: Upstream, error: RpcError) -> None:
        if self.over:
            return
        if self.rep:  # the answer was under way: the client's is cut off too
            self._settle(error)
            self.conn.abort()
            return
        retry = self.name.retry
        try:
            verdict = self.name.classifier(self.req, error)
        except Exception:
            verdict = ResponseClass.NON_RETRYABLE_FAILURE
        if verdict.retryable and retry is not None and retry.budget.try_withdraw():
            retry.stats.retries += 1  # (a GET whose connection died, retryableRead5XX…)
            self._settle(error, give_back=RETRY)
            return
        answer = error_response(error)
        answer.headers.add(SUCCESS_CLASS, "0.0")
        self._settle(error, answer=answer)
        self._write_whole(answer)

    def _never_sent(self) -> None:
        """The backend could not be reached: the full path takes the request (a requeue)."""
        self._settle(ConnectionRefusedError(), give_back=REQUEUE)

    def client_gone(self) -> None:
        if self.over:
            return
        if self.up is not None:
            self.up.abort()
        self._settle(asyncio.CancelledError())

    # -- bookkeeping ----------------------------------------------------------------------

    def _settle(
        self,
        error: BaseException | None,
        *,
        give_back: int = 0,
        nacked: bool = False,
        answer: Response | None = None,
    ) -> None:
        """Record the outcome everywhere the full path would, once (``error``: none when an
        answer came; ``answer``: the error answer the client gets). ``give_back``: the full
        path answers — after a ``REQUEUE`` (never processed) the lane's attempt counts for
        the endpoint only; after a ``RETRY`` it also counts for the client, as the full
        path's first attempt would."""
        if self.over:
            return
        self.over = True
        lane, name, client, target = self.lane, self.name, self.client, self.target
        lane._flights.pop(self.conn, None)
        target.http_client.release(self.lease)
        status = self.status
        client_ok = (
            error is None
            and not nacked
            and (
                status < 500
                if client.client.classifier is server_errors_as_failures
                else client.client.classifier(self.req, Response(status, Headers(), b"")).is_success
            )
        )
        factory = self.factory
        if isinstance(factory, FailureAccrualFactory):
            if isinstance(error, asyncio.CancelledError):
                factory.observe("ignorable")
            else:
                factory.observe("success" if client_ok else "failure")
        server, named, pair, cstats = lane.stats, name.stats, target.pair, client.stats
        assert server is not None and named is not None and cstats is not None
        requeue, nack, retry = client.requeue, client.nack, name.retry
        ms = (monotonic() - self.started) * 1000.0
        if give_back:
            server.drop()
            named.drop()
            if give_back == REQUEUE and requeue is not None:  # as the requeue filter counts
                requeue.stats.requeues += 1
                requeue.budget.try_withdraw()
            if give_back == RETRY:  # the client and the pair saw a failed attempt
                if error is None:
                    cstats.leave(client_ok, ms)
                    pair.leave(False, ms)
                else:
                    cstats.end(self.req, error, self.started)
                    pair.end(self.req, error, self.started)
                if requeue is not None:
                    requeue.stats.requeued(0)
            else:
                cstats.drop()
                pair.drop()
            if nack is not None:
                nack.observe(not nacked)
            data = self.data
            self.conn._serve_fully(self.method, data, data.find(b"\r\n\r\n"))
            return
        if error is None:
            ok = self.verdict.is_success
            cstats.leave(client_ok, ms)
            pair.leave(ok, ms)
            named.leave(ok, ms)
            server.leave(ok, ms)
        elif isinstance(error, asyncio.CancelledError):
            for f in (server, named, pair, cstats):
                f.drop()  # the caller gave up: ignorable, as the full path counts it
        else:
            req = self.req
            for f in (cstats, pair, named):
                f.end(req, error, self.started)
            # the server saw the router's error answer, not the exception
            server.end(req, answer if answer is not None else _cut_off(error), self.started)
        if requeue is not None:
            if client_ok:
                requeue.budget.deposit()
            requeue.stats.requeued(0)
        if nack is not None and not isinstance(error, asyncio.CancelledError):
            nack.observe(True)
        if retry is not None:  # (deposited here, not before: a request given back to
            retry.budget.deposit()  # the full path deposits there, once)
            retry.stats.retried(0)

    def _write_whole(self, rep: Response) -> None:
        transport = self.conn.transport
        if transport is None or self.conn.closed:
            return
        body = rep.body if isinstance(rep.body, bytes) else b""
        extra = [("Content-Length", str(len(body))), ("Date", http_date()), ("Via", "1.1 linkerd")]
        transport.write(response_head(rep.status, rep.reason, rep.headers, extra) + body)
        self.conn.answered(True)


REQUEUE, RETRY = 1, 2
"""Why a request goes back to the full path: never processed; or to be sent again."""


def _cut_off(error: BaseException) -> Response:
    """What the server's stats see for an answer cut off mid-way: a failure."""
    rep = error_response(error)
    rep.headers.add(SUCCESS_CLASS, "0.0")
    return rep


_KEEP_ALIVE_ONLY = 2
"""``Upstream.hop`` when its only hop-by-hop header is ``Connection: keep-alive``."""
_MARKS = {m: f"{SUCCESS_CLASS}: {m}\r\n".encode() for m in ("1.0", "0.0")}
_LINKERD_CLASSIFIERS = frozenset(HTTP_CLASSIFIERS.values())

_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"l5d-success-class",
    }
)


def _reason(head: bytes) -> bytes:
    line = head[: head.find(b"\r\n")]
    parts = line.split(b" ", 2)
    return parts[2] if len(parts) == 3 else b""
