"""The fast lane's side of a backend: :class:`Upstream`, one HTTP/1.1 connection that sends a
request's raw bytes and hands the response back as it arrives, and :class:`UpstreamPool`,
the idle connections to one endpoint.

No coroutine, future or ``Request`` object per exchange: the lane's :class:`Exchange`
protocol gets ``head`` once the status line and headers are parsed (with the raw bytes read
so far), ``body`` for each later chunk, ``done`` when the response is complete and ``failed``
when the connection dies first. Interim (1xx) answers are skipped, as the full client does;
bytes after a response (a server answering what was not asked) end the connection. A head
the endpoint sent before, its answer whole and alone in a read, is not parsed again
(:mod:`.heads`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from roost.mesh.hops import HOP_BY_HOP
from roost.mesh.lane.heads import Heads, ResponseHead
from roost.rpc.errors import ChannelClosed, ProtocolError, RpcError
from roost.rpc.http.pool_stats import PoolStats

LOG_LIMIT = 1 << 20
"""A chunked answer's bytes are kept up to this much, to find where it ends when a server
sends more after it (what a parser cannot say)."""
RESPONSE_HEADS = 32
"""Response heads remembered per endpoint (:mod:`.heads`)."""
_HOP = frozenset(h.encode() for h in HOP_BY_HOP)
_WATCHED_SIZES = frozenset(
    {*(len(h) for h in _HOP), 4, 14, 17, len(b"l5d-retryable"), len(b"l5d-success-class")}
)


class Exchange(Protocol):
    def head(self, up: Upstream, status: int, data: bytes) -> None: ...

    def body(self, data: bytes) -> None: ...

    def done(self, up: Upstream) -> None: ...

    def failed(self, up: Upstream, error: RpcError) -> None: ...


class Upstream(asyncio.Protocol):
    """One connection to a backend, one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self._parser = HttpResponseParser(self)
        self._exchange: Exchange | None = None
        self._buffer = b""
        self._headed = False
        self.info = ResponseHead()
        """What the answer's head says (a record shared with other answers when the same
        head was seen before: read it, never change it)."""
        self.head_len = 0
        """Where the answer's head ends (its blank line included) in what ``head`` got."""
        self._finished = False
        self._extra = False
        self._interims = 0
        self._have = 0
        self._log: list[bytes] | None = None

    # -- the lane's side ----------------------------------------------------------------

    def send(self, data: bytes, exchange: Exchange) -> None:
        self._exchange = exchange
        self._headed = self._finished = self._extra = False
        self._buffer = b""
        self._interims = 0
        self._log = None
        assert self.transport is not None  # (released to the pool only reading: _complete)
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
        self.pool.opened()

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None:
            self.abort()  # bytes nobody asked for: the connection is spoiled
            return
        key = b""
        if not self._headed and not self._buffer:
            key, known = self.pool.heads.lookup(data)
            if known is not None and len(data) - len(key) == known.length:
                # a head seen before, its answer whole and alone in this read: no parsing
                self.info = known
                self.head_len = len(key)
                self._headed = self._finished = True
                exchange.head(self, known.status, data)
                if self._exchange is exchange:
                    self._complete()
                return
            self.info = ResponseHead()  # (what the parser's callbacks fill in)
        was_headed = self._headed
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            if not self._finished:
                error = exc.__context__  # (what a callback of ours raised)
                if not isinstance(error, ProtocolError):
                    error = ProtocolError(f"malformed response: {exc}", source=self.pool.address)
                self._fail(error)
                return
            self._extra = True  # junk after a whole answer: relay the answer, then drop
        if was_headed:
            chunk = data
        elif self._headed:
            # blank lines before an answer are skipped (as the parser does), and 1xx
            # answers are not relayed (nor were asked)
            chunk, self._buffer = (self._buffer + data).lstrip(b"\r\n"), b""
            for _ in range(self._interims):
                chunk = chunk[chunk.find(b"\r\n\r\n") + 4 :].lstrip(b"\r\n")
            self.head_len = end = chunk.find(b"\r\n\r\n") + 4
            self._have = 0
            info = self.info
            heads = self.pool.heads
            if not heads.resting and info.length is not None and not self._interims:
                if chunk is not data or len(key) != end:
                    key = chunk[:end]
                if key[:5] == b"HTTP/":  # (exactly the head parsed)
                    info.kept = heads.remember(key, info)
        else:
            self._buffer += data  # the head is not complete yet
            return
        if self._extra:  # bytes after the response: relay the response alone, then drop
            until = self._message_end(chunk, was_headed)
            if until is None:
                self._fail(ProtocolError("the server sent more than its response"))
                return
            chunk = chunk[:until]
        self._have += len(chunk)
        log = self._log
        if log is not None:
            log.append(chunk)
            if self._have > LOG_LIMIT:
                self._log = None
        if was_headed:
            exchange.body(chunk)
        else:
            exchange.head(self, self.info.status, chunk)
        if self._finished and self._exchange is exchange:
            self._complete()

    def _message_end(self, chunk: bytes, was_headed: bool) -> int | None:
        """Where the answer ends in ``chunk`` when more follows it: by its length, or, for
        a chunked answer wholly in this read, by parsing ever shorter prefixes afresh."""
        length = self.info.length
        if length is not None:
            return self.head_len + length - self._have
        if self._log is None:
            return None  # a chunked answer too long to have kept: no way to tell
        before = b"".join(self._log)
        whole = before + chunk
        lo, hi = len(before) + (0 if was_headed else self.head_len), len(whole)
        while lo < hi:
            mid = (lo + hi) // 2
            probe = _Probe()
            try:
                HttpResponseParser(probe).feed_data(whole[:mid])
            except (HttpParserError, HttpParserUpgrade):
                pass
            if probe.complete:
                hi = mid
            else:
                lo = mid + 1
        return lo - len(before)

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
        if self._headed and self.info.until_close:
            self._complete()  # the server's close ends this body
            return
        address = self.pool.address
        self._fail(ChannelClosed("connection closed by the server", source=address))

    def _fail(self, error: RpcError) -> None:
        exchange, self._exchange = self._exchange, None
        if self.transport is not None:
            self.transport.abort()
        if exchange is not None:
            exchange.failed(self, error)

    def _complete(self) -> None:
        exchange, self._exchange = self._exchange, None
        if exchange is None:
            return
        info = self.info
        keep = info.keep and not info.until_close and not self._extra
        exchange.done(self)
        transport = self.transport
        if transport is None:
            return
        if keep:
            transport.resume_reading()  # the client may have paused it on the last chunk
            self.pool.release(self)
        else:
            transport.close()

    # -- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._finished:
            self._extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headed or self._finished:
            return  # trailers (relayed as they came), or a message after the answer
        info = self.info
        size = len(name)
        if size in _WATCHED_SIZES:
            lname = name.lower()
            if lname in _HOP:
                # 2: only a "Connection: keep-alive" (cut out as is); 1: rebuild the head
                keep_alive = lname == b"connection" and value.lower() == b"keep-alive"
                info.hop = 2 if keep_alive and not info.hop else 1
            elif lname == b"date":
                info.dated = True
            elif lname == b"content-length":
                info.framed = True
                if not info.coded:  # (with Transfer-Encoding, the parser goes by that)
                    info.length = int(value) if value.isdigit() else None
            elif lname == b"transfer-encoding":
                info.framed = info.coded = True
                info.length = None
            elif lname[:4] == b"l5d-":
                info.flagged = True
        info.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._finished:
            return
        parser = self._parser
        status = parser.get_status_code()
        info = self.info
        if status < 200:  # 100 Continue, 103 Early Hints: the real answer follows
            if info.coded or info.length:  # (no 1xx has content, RFC 9110 15.2; the parser
                # would read one: a length of 0 is harmless)
                raise ProtocolError("an interim (1xx) answer with a body", source=self.pool.address)
            self._interims += 1
            self.info = ResponseHead()
            return
        info.keep = parser.should_keep_alive()
        info.version = parser.get_http_version()
        info.until_close = not (info.framed or status in (204, 304))
        if status in (204, 304):
            info.length = 0  # no body, whatever Content-Length says
            if status == 204 and info.framed:
                info.hop = 1  # rebuilt without its framing (RFC 9110 8.6), as the full path
        elif info.length is None and info.framed:
            self._log = []  # chunked: keep its bytes, to find its end if more follows
        info.status = status
        self._headed = True

    def on_message_complete(self) -> None:
        if self._headed:  # (not an interim answer's end)
            self._finished = True


class _Probe:
    """Parser callbacks that only note the end of a message."""

    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


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
        on_empty: Callable[[], None] | None = None,
    ) -> None:
        """``on_empty``: called when the pool has no connection left (idle ones reaped,
        the others gone): its owner may forget it."""
        self.on_empty = on_empty
        self.address = address
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.idle_ttl = idle_ttl
        self.connect_timeout = connect_timeout
        self._idle: list[tuple[Upstream, float]] = []
        self.heads: Heads[ResponseHead] = Heads(RESPONSE_HEADS)
        self.connections = 0
        self.pool_size = 0
        self.pool_waiters = 0
        self.closed = False
        self._reaper: asyncio.TimerHandle | None = None
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
        if self.closed:
            if up.transport is not None:
                up.transport.close()
            return
        self._idle.append((up, time.monotonic()))
        if self._reaper is None:
            loop = asyncio.get_running_loop()
            self._reaper = loop.call_later(self.idle_ttl, self._reap)

    def _reap(self) -> None:
        """Close the connections idle for ``idle_ttl`` (the oldest are at the bottom)."""
        self._reaper = None
        now = time.monotonic()
        keep = []
        for up, since in self._idle:
            if now - since >= self.idle_ttl:
                if up.transport is not None:
                    up.transport.close()
            else:
                keep.append((up, since))
        self._idle = keep
        if keep:
            delay = keep[0][1] + self.idle_ttl - now
            self._reaper = asyncio.get_running_loop().call_later(max(delay, 0.0), self._reap)

    def opened(self) -> None:
        """A connection of this pool exists (counted once it does: a connect cancelled
        before then counts nothing)."""
        self.connections += 1
        self.pool_size += 1

    def forget(self, up: Upstream) -> None:
        self.connections -= 1
        self.pool_size -= 1
        self._idle = [(u, t) for u, t in self._idle if u is not up]
        if not self._idle and not self.connections:
            self._empty()

    def _empty(self) -> None:
        self.close()
        if self.on_empty is not None:
            self.on_empty()

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
        if self._stats is not None:
            self._stats.connects.incr()
            self._stats.connect_latency_ms.add((time.monotonic() - started) * 1000)
        return up

    def close(self) -> None:
        """Close the idle connections (those in use close when their exchange ends)."""
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._stats is not None:
            self._stats.pools.discard(self)
        idle, self._idle = self._idle, []
        for up, _ in idle:
            if up.transport is not None:
                up.transport.close()
