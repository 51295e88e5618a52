"""The fast lane's side of a backend: :class:`Upstream`, one HTTP/1.1 connection that sends a
request's raw bytes and hands the response back as it arrives, and :class:`UpstreamPool`,
the idle connections to one endpoint.

No coroutine, future or ``Request`` object per exchange: the lane's :class:`Exchange`
protocol gets ``head`` once the status line and headers are parsed (with the raw bytes read
so far), ``body`` for each later chunk, ``done`` when the response is complete and ``failed``
when the connection dies first (``started``: whether any response byte was forwarded).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from roost.rpc.http.pool_stats import PoolStats

_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"})
_WATCHED_SIZES = frozenset(
    {*(len(h) for h in _HOP), 4, 14, 17, len(b"l5d-retryable"), len(b"l5d-success-class")}
)


class Exchange(Protocol):
    def head(self, up: Upstream, status: int, data: bytes) -> None: ...

    def body(self, data: bytes) -> None: ...

    def done(self, up: Upstream) -> None: ...

    def failed(self, up: Upstream, reason: str) -> None: ...


class Upstream(asyncio.Protocol):
    """One connection to a backend, one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self._parser = HttpResponseParser(self)
        self._exchange: Exchange | None = None
        self._buffer = b""
        self._headed = False
        self._sent = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.hop = 0
        """The response's hop-by-hop headers (``Connection``…): 0 none, 2 only
        ``Connection: keep-alive``, 1 others (its head is rebuilt without them)."""
        self.dated = False
        self.keep = True
        self.until_close = False
        self.version = "1.1"
        self.status = 0
        self._finished = False
        self.framed = False
        """The response has a ``Content-Length`` or ``Transfer-Encoding``."""
        self.flagged = False
        """The response has an ``l5d-*`` header (``l5d-retryable``…): classify it fully."""

    # -- the lane's side ----------------------------------------------------------------

    def send(self, data: bytes, exchange: Exchange) -> None:
        self._exchange = exchange
        self._headed = False
        self._buffer = b""
        self.headers = []
        self.hop = 0
        self.dated = self.until_close = self.framed = self.flagged = False
        self._sent = True
        assert self.transport is not None
        self.transport.write(data)

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def abort(self) -> None:
        self._exchange = None
        if self.transport is not None:
            self.transport.abort()

    # -- transport events ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None:
            self.abort()  # bytes nobody asked for: the connection is spoiled
            return
        was_headed = self._headed
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            self._fail(f"malformed response: {exc}")
            return
        if was_headed:
            exchange.body(data)
        elif self._headed:
            head, self._buffer = self._buffer + data, b""
            exchange.head(self, self.status, head)
        else:
            self._buffer += data  # the head is not complete yet
        if self._finished:
            self._finished = False
            self._complete()

    def eof_received(self) -> bool:
        self._lost()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()
        self.pool.forget(self)

    def _lost(self) -> None:
        exchange = self._exchange
        if exchange is None:
            return
        if self._headed and self.until_close:
            self._complete()  # the server's close ends this body
            return
        self._fail("the connection closed before the response ended")

    def _fail(self, reason: str) -> None:
        exchange, self._exchange = self._exchange, None
        if self.transport is not None:
            self.transport.abort()
        if exchange is not None:
            exchange.failed(self, reason)

    def _complete(self) -> None:
        exchange, self._exchange = self._exchange, None
        if exchange is None:
            return
        keep = self.keep and not self.until_close
        exchange.done(self)
        if keep:
            self.pool.release(self)
        elif self.transport is not None:
            self.transport.close()

    # -- parser callbacks ---------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)
        if size in _WATCHED_SIZES:
            lname = name.lower()
            if lname in _HOP:
                # 2: only a "Connection: keep-alive" (cut out as is); 1: rebuild the head
                keep_alive = lname == b"connection" and value.lower() == b"keep-alive"
                self.hop = 2 if keep_alive and not self.hop else 1
            elif lname == b"date":
                self.dated = True
            elif lname == b"content-length" or lname == b"transfer-encoding":
                self.framed = True
            elif lname[:4] == b"l5d-":
                self.flagged = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:
            raise HttpParserError("an interim (1xx) response")
        self.keep = parser.should_keep_alive()
        self.version = parser.get_http_version()
        self.until_close = not (self.framed or status in (204, 304))
        self.status = status
        self._headed = True

    def on_message_complete(self) -> None:
        self._finished = True


class UpstreamPool:
    """Idle connections to one endpoint, most recently used first; one idle for ``idle_ttl``
    is closed when next looked at. Its counts join the client's pool metrics."""

    def __init__(
        self,
        address: str,
        *,
        idle_ttl: float = 30.0,
        connect_timeout: float = 1.0,
        stats: PoolStats | None = None,
    ) -> None:
        self.address = address
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.idle_ttl = idle_ttl
        self.connect_timeout = connect_timeout
        self._idle: list[tuple[Upstream, float]] = []
        self.connections = 0
        self.pool_size = 0
        self.pool_waiters = 0
        self._stats = stats
        if stats is not None:
            stats.pools.add(self)  # type: ignore[arg-type]

    @property
    def pool_cached(self) -> int:
        return len(self._idle)

    def take(self, now: float) -> Upstream | None:
        """An idle connection (``now``: ``time.monotonic()``), or ``None``."""
        while self._idle:
            up, since = self._idle.pop()
            transport = up.transport
            if transport is not None and not transport.is_closing():
                if now - since < self.idle_ttl:
                    return up
                transport.close()
        return None

    def release(self, up: Upstream) -> None:
        self._idle.append((up, time.monotonic()))

    def forget(self, up: Upstream) -> None:
        self.connections -= 1
        self.pool_size -= 1
        self._idle = [(u, t) for u, t in self._idle if u is not up]

    async def connect(self) -> Upstream:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, up = await loop.create_connection(lambda: Upstream(self), self.host, self.port)
        except (OSError, TimeoutError):
            if self._stats is not None:
                self._stats.failed_connect_latency_ms.add((time.monotonic() - started) * 1000)
            raise
        self.connections += 1
        self.pool_size += 1
        if self._stats is not None:
            self._stats.connects.incr()
            self._stats.connect_latency_ms.add((time.monotonic() - started) * 1000)
        return up

    def close(self) -> None:
        if self._stats is not None:
            self._stats.pools.discard(self)
        idle, self._idle = self._idle, []
        for up, _ in idle:
            if up.transport is not None:
                up.transport.close()
