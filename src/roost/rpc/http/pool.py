"""A pool of keep-alive connections to one endpoint: :class:`HttpEndpointFactory`, a
``ServiceFactory[Request, Response]`` (Finagle ``DefaultPool``: ``WatermarkPool`` over
``CachingPool``).

* Up to ``high`` connections exist at once; a session asked for beyond that waits (at most
  ``max_waiters`` callers, then :class:`~roost.rpc.errors.TooManyWaiters`, a retryable
  rejection). A released connection goes to the first waiter.
* Closing a session releases it. A healthy connection is reused once its exchange is over —
  for a streamed response, once the caller has read the body to its end; an unhealthy one
  (closed, ``Connection: close``, a cancelled call, an abandoned body) is closed.
* Released connections are cached, most recently used first; one idle for ``idle_ttl``
  seconds is closed, except the ``low`` the pool keeps however idle.
* The pool is itself a ``Service``: calling it runs one request on a pooled connection.
* Statistics are plain attributes, named as upstream: ``pool_size``, ``pool_waiters``,
  ``pool_cached``, ``num_waited``, ``num_too_many_waiters``, plus ``connects`` and
  ``connect_failures``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.checks import check_int, check_seconds
from roost.rpc.errors import RequestTimeout, ServiceClosed, TooManyWaiters
from roost.rpc.http.address import Address, format_address, parse_address
from roost.rpc.http.client_conn import ClientConnection
from roost.rpc.http.message import Request, Response, read_body
from roost.rpc.http.pool_stats import PoolStats
from roost.rpc.service import Service, Status


@dataclass(frozen=True, slots=True)
class PoolConfig:
    low: int = 0
    """Connections kept however long they idle."""
    high: int = 1000
    """At most this many connections at once."""
    max_waiters: int = 1_000_000
    """Callers that may wait for a connection beyond ``high``."""
    idle_ttl: float | None = 30.0
    """A cached connection above ``low`` idle this long is closed (below the server's idle
    timeout, so we rarely reuse one the server is closing)."""
    connect_timeout: float | None = 1.0
    stream_threshold: int = 64 * 1024
    """Responses of known length up to this arrive as ``bytes``."""
    body_buffer: int = 256 * 1024

    def __post_init__(self) -> None:
        owner = "PoolConfig"
        check_int(owner, "low", self.low)
        check_int(owner, "high", self.high, minimum=1)
        if self.low > self.high:
            raise ValueError(f"PoolConfig.low ({self.low}) must not exceed high ({self.high})")
        check_int(owner, "max_waiters", self.max_waiters)
        check_seconds(owner, "idle_ttl", self.idle_ttl)
        check_seconds(owner, "connect_timeout", self.connect_timeout)
        check_int(owner, "stream_threshold", self.stream_threshold)
        check_int(owner, "body_buffer", self.body_buffer, minimum=1)


class HttpEndpointFactory:
    def __init__(
        self,
        address: Address,
        config: PoolConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        stats: PoolStats | None = None,
    ) -> None:
        """``stats``: the client's pool metrics, shared by the pools of all its endpoints."""
        self.address = format_address(*parse_address(address))
        self.config = config or PoolConfig()
        self._clock = clock
        self._idle: list[tuple[ClientConnection, float]] = []
        self._waiters: deque[asyncio.Future[ClientConnection | None]] = deque()
        self._reaper: asyncio.TimerHandle | None = None
        self._closed = False
        self.pool_size = 0
        """Connections open or being opened, in use or cached."""
        self.num_waited = 0
        self.num_too_many_waiters = 0
        self.connects = 0
        self.connect_failures = 0
        self.connections = 0
        """Connections established and not closed yet."""
        self._stats = stats
        if stats is not None:
            stats.pools.add(self)

    @property
    def pool_waiters(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @property
    def pool_cached(self) -> int:
        return len(self._idle)

    @property
    def status(self) -> Status:
        return Status.CLOSED if self._closed else Status.OPEN

    async def acquire(self) -> Service[Request, Response]:
        if self._closed:
            raise ServiceClosed("the connection pool is closed", source=self.address)
        conn = self._take_cached()
        if conn is not None:
            return _Session(self, conn)
        if self.pool_size < self.config.high:
            self.pool_size += 1
            return _Session(self, await self._connect())
        if self.pool_waiters >= self.config.max_waiters:
            self.num_too_many_waiters += 1
            if self._stats is not None:
                self._stats.num_too_many_waiters.incr()
            raise TooManyWaiters(
                f"{self.config.max_waiters} callers already wait for a connection",
                source=self.address,
            )
        self.num_waited += 1
        if self._stats is not None:
            self._stats.num_waited.incr()
        waiter: asyncio.Future[ClientConnection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            got = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # handed over just as the caller gave up
                if handed is None:
                    self._free_slot()
                else:
                    self._release(handed)
            raise
        if got is None:  # a slot was freed for us: open a connection in it
            return _Session(self, await self._connect())
        return _Session(self, got)

    async def __call__(self, req: Request) -> Response:
        """The pool as a service: a connection for this one request (Finagle's
        ``FactoryToService``, without a session object when a cached connection is free)."""
        conn = self._take_cached() if not self._closed else None
        if conn is None:
            session = await self.acquire()
            try:
                return await session(req)
            finally:
                await session.close()
        try:
            return await conn(req)
        finally:
            conn.on_idle(self._release)

    async def _connect(self) -> ClientConnection:
        config, stats = self.config, self._stats
        started = self._clock.monotonic()
        try:
            conn = await ClientConnection.connect(
                self.address,
                timeout=config.connect_timeout,
                stream_threshold=config.stream_threshold,
                body_buffer=config.body_buffer,
            )
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self.connect_failures += 1
                if stats is not None:
                    elapsed = self._clock.monotonic() - started
                    stats.failed_connect_latency_ms.add(elapsed * 1000)
            self._free_slot()
            raise
        self.connects += 1
        if stats is not None:
            stats.connects.incr()
            stats.connect_latency_ms.add((self._clock.monotonic() - started) * 1000)
        if self._closed:
            await conn.close()
            self._free_slot()
            raise ServiceClosed("the connection pool is closed", source=self.address)
        self.connections += 1
        return conn

    def _take_cached(self) -> ClientConnection | None:
        now = self._clock.monotonic()
        ttl = self.config.idle_ttl
        while self._idle:
            conn, since = self._idle.pop()
            expired = ttl is not None and now - since >= ttl and self.pool_size > self.config.low
            if conn.reusable() and not expired:
                return conn
            self._discard(conn)
        return None

    def _release(self, conn: ClientConnection) -> None:
        """A session's connection finished its exchange: reuse, hand over or close it."""
        if self._closed or not conn.reusable():
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append((conn, self._clock.monotonic()))
        if self._reaper is None:
            self._schedule_reap()

    def _discard(self, conn: ClientConnection) -> None:
        if conn.transport is not None and not conn.closed:
            conn.transport.close()
        conn.closed = True
        self.connections -= 1
        self._free_slot()

    def _free_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the waiter
                return
        self.pool_size -= 1

    def _schedule_reap(self) -> None:
        ttl = self.config.idle_ttl
        if self._reaper is None and ttl is not None and self._idle:
            self._reaper = asyncio.get_running_loop().call_later(ttl, self._reap)

    def _reap(self) -> None:
        self._reaper = None
        now = self._clock.monotonic()
        ttl = self.config.idle_ttl or 0.0
        keep: list[tuple[ClientConnection, float]] = []
        for conn, since in self._idle:  # oldest first
            if conn.status != Status.OPEN or (
                now - since >= ttl and self.pool_size > self.config.low
            ):
                self._discard(conn)
            else:
                keep.append((conn, since))
        self._idle = keep
        if keep and self.pool_size > self.config.low:
            delay = max(0.0, keep[0][1] + ttl - now)
            self._reaper = asyncio.get_running_loop().call_later(delay, self._reap)

    async def close(self) -> None:
        """Close cached connections now, in-use ones on release; waiters get ServiceClosed."""
        self._closed = True
        if self._stats is not None:
            self._stats.pools.discard(self)
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ServiceClosed("the pool closed", source=self.address))
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._discard(conn)


class _Session:
    """A connection lent out by the pool; ``close()`` gives it back."""

    __slots__ = ("_conn", "_pool", "_released")

    def __init__(self, pool: HttpEndpointFactory, conn: ClientConnection) -> None:
        self._pool = pool
        self._conn = conn
        self._released = False

    def __call__(self, req: Request) -> Coroutine[Any, Any, Response]:
        # the connection's own coroutine: no frame of ours on every request's await chain
        if self._released:
            return _released(self._pool.address)
        return self._conn(req)

    @property
    def status(self) -> Status:
        return Status.CLOSED if self._released else self._conn.status

    async def close(self) -> None:
        if not self._released:
            self._released = True
            self._conn.on_idle(self._pool._release)


async def _released(address: str) -> Response:
    raise ServiceClosed("the session was released", source=address)


async def request(address: Address, req: Request, *, timeout: float | None = 10.0) -> Response:
    """One request on a fresh connection, the body read whole (a convenience for tests)."""
    try:
        async with asyncio.timeout(timeout):
            conn = await ClientConnection.connect(address, timeout=timeout)
            try:
                rep = await conn(req)
                rep.body = await read_body(rep.body)
            finally:
                await conn.close()
    except TimeoutError:
        raise RequestTimeout(f"no response within {timeout} s", source=str(address)) from None
    return rep
