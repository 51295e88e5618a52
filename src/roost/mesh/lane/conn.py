"""A router server's connection in the fast lane: :class:`LaneConnection`.

It takes a read that holds exactly one whole, plain request — HTTP/1.1 keep-alive, no body or
a small ``Content-Length`` one, none of the headers the lane leaves to the full server
(``Transfer-Encoding``, ``Expect``, ``Upgrade``, ``Connection``, ``Via``, any ``l5d-*`` or
trace header) — and hands it to the :class:`~roost.mesh.lane.route.Lane`, which proxies it or
gives it back to be served by the full stack (``call_service`` and ``write_response`` of
:mod:`roost.rpc.http.server_dispatch`, in a task). Anything else — a request split over two
reads, pipelined requests, a large or chunked body, bytes httptools cannot parse — hands the
connection for good to a :class:`~roost.rpc.http.server_conn.ServerConnection`, which gets
those bytes and everything after: limits, timeouts and odd clients are its business.

A read whose head the lane took before (the same bytes: :mod:`~roost.mesh.lane.heads`) and
that holds exactly its request is not parsed again.

While a request is being answered, what the client sends is kept (reading paused) and
looked at once the answer is out. The connection closes after ``idle_timeout`` without a
request, and is cut off when the client reads none of an answer for ``write_timeout``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from roost.mesh.lane.heads import RequestHead
from roost.mesh.lane.parts import request_url
from roost.rpc.context import tried_scope
from roost.rpc.http.flow import WRITE_HIGH_WATER, WriteFlow
from roost.rpc.http.message import Headers, Request
from roost.rpc.http.server_conn import ServerConnection
from roost.rpc.http.server_dispatch import Exchange, call_service, write_response

if TYPE_CHECKING:
    from roost.mesh.lane.route import Lane
    from roost.rpc.http.server import Server

log = logging.getLogger(__name__)

# request headers the lane leaves to the full server, by name length first
_SLOW = frozenset(
    {
        b"transfer-encoding",
        b"expect",
        b"upgrade",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"via",
        b"dtab-local",
        b"b3",
        b"x-b3-traceid",
        b"x-b3-spanid",
        b"x-b3-parentspanid",
        b"x-b3-sampled",
        b"x-b3-flags",
    }
)
_SLOW_SIZES = frozenset(len(n) for n in _SLOW)
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


class LaneConnection(asyncio.Protocol):
    def __init__(self, server: Server, lane: Lane) -> None:
        self.server = server
        self.config = server.config
        self.lane = lane
        self.transport: asyncio.Transport | None = None
        self.flow = WriteFlow()
        self.closed = False
        self.busy = False
        self.draining = False
        self.paused_by: object = None
        """The exchange whose backend reading is paused while the client catches up."""
        self._parser = HttpRequestParser(self)
        self._loop = asyncio.get_running_loop()
        self._backlog: list[bytes] = []
        self._idle_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self.writing_paused = False
        """The client reads slower than its answer comes (``flow.paused``, read cheaply)."""
        self._headers: list[tuple[bytes, bytes]] = []
        self._slow = False
        self._complete = 0
        self._length = 0
        self._host: bytes | None = None

    # -- transport events ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)
        if not self.server.connection_opened(self):
            self.closed = True
            transport.abort()
            return
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._last = self._loop.time()
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timers()
        self.flow.fail(ConnectionResetError("connection lost"))
        self.lane.client_gone(self)
        if self._task is not None:
            self._task.cancel()
        self.server.connection_closed(self)

    def eof_received(self) -> bool:
        return False  # the client went away: close (and cancel what runs for it)

    def pause_writing(self) -> None:
        self.writing_paused = True
        self.flow.pause()
        self.lane.pause_backend(self)
        timeout = self.config.write_timeout
        if timeout is not None and self._write_timer is None:
            self._write_timer = self._loop.call_later(timeout, self.abort)

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.flow.resume()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        self.lane.resume_backend(self)

    def data_received(self, data: bytes) -> None:
        if self.busy:
            self._backlog.append(data)
            if self.transport is not None:
                self.transport.pause_reading()
            return
        self._take(data)

    # -- a read ---------------------------------------------------------------------------

    def _take(self, data: bytes) -> None:
        heads = self.lane.heads
        key, known = heads.lookup(data)
        if known is not None and len(key) + known.length == len(data) and not self.draining:
            # a head the lane took before, the request whole and alone: no parsing
            self.busy = True
            self.server.requests += 1
            head_end, raw = len(key) - 4, known.headers
            if not self.lane.proxy(self, known.method, raw, data, head_end, known.host):
                self._serve_fully(known.method, raw, data, head_end)
            return
        self._headers = []
        self._slow = False
        self._complete = self._length = 0
        self._host = None
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade):
            self._hand_over(data)
            return
        if self._complete != 1 or self._slow:
            self._hand_over(data)
            return
        method = _METHODS.get(self._parser.get_method())
        head_end = data.find(b"\r\n\r\n")
        line_end = data.find(b"\r\n")
        if (
            method is None
            or not data.startswith(b"HTTP/1.1", line_end - 8)  # (keep-alive: no Connection)
            or line_end < 8
            or self.draining
        ):
            self._hand_over(data)
            return
        config = self.config
        if (
            line_end == 0  # blank lines before the request: the full server skips them
            or head_end < 0
            or head_end + 4 + self._length != len(data)  # more than the one request
            or line_end > config.max_request_line
            or head_end - line_end > config.max_header_bytes
        ):
            self._hand_over(data)  # (the full server answers 414 or 431)
            return
        self.busy = True  # (the idle timer rests while busy; answered() sets _last)
        self.server.requests += 1
        if data.find(b"  ", 0, line_end) >= 0:  # spaces the full path tidies up
            self._serve_fully(method, self._headers, data, head_end)
            return
        headers: Sequence[tuple[bytes, bytes]] = self._headers
        if key and not heads.resting:  # (the head parsed: key is data[: head_end + 4])
            headers = tuple(headers)
            heads.remember(key, RequestHead(method, headers, self._host, self._length))
        if not self.lane.proxy(self, method, headers, data, head_end, self._host):
            self._serve_fully(method, headers, data, head_end)

    def _hand_over(self, data: bytes) -> None:
        """The rest of this connection is a ServerConnection's, from ``data`` on."""
        transport = self.transport
        if transport is None or self.closed:
            return
        self._cancel_timers()
        self.closed = True  # as far as this protocol goes
        self.server.connection_closed(self)
        conn = ServerConnection(self.server)
        transport.set_protocol(conn)
        conn.connection_made(transport)
        transport.resume_reading()
        if self.flow.paused and not conn.closed:
            conn.pause_writing()  # the transport will not say so again: the client is slow
        if not conn.closed:
            conn.data_received(data)

    # -- answering ------------------------------------------------------------------------

    def _serve_fully(
        self,
        method: str,
        raw: Sequence[tuple[bytes, bytes]],
        data: bytes,
        head_end: int,
        tried: int = 0,
    ) -> None:
        """Answer one parsed request through the full server stack (what the lane gives
        back: no route cached yet, a per-request dtab, an error to explain…); ``tried``:
        retries the lane already made of it (the name's retry filter counts on from there)."""
        headers = Headers.parsed(raw)
        body = data[head_end + 4 :]
        url = request_url(data).decode("latin-1")
        request = Request(method, url, headers, body, "1.1")
        answer = self._answer(request, tried)
        self._task = self._loop.create_task(answer, context=contextvars.Context())

    async def _answer(self, request: Request, tried: int) -> None:
        exchange = Exchange(request, True)
        try:
            with tried_scope(tried):
                rep = await call_service(self.server.service, request)
            keep = await write_response(self, exchange, rep)  # type: ignore[arg-type]
        except OSError:
            keep = False
        except Exception:
            log.exception("serving a request failed")
            keep = False
        self._task = None
        self.answered(keep)

    def answered(self, keep: bool) -> None:
        """The answer to the current request is out; go on with what the client sent."""
        self.busy = False
        self._last = self._loop.time()
        if self.closed:
            return
        if not keep or self.draining or self.server.draining:
            self.finish()
            return
        if self._backlog:
            data = b"".join(self._backlog)
            self._backlog.clear()
            if self.transport is not None:
                self.transport.resume_reading()
            self._take(data)

    def expecting_done(self) -> bool:
        return False  # no Expect: 100-continue reaches the lane

    # -- for the server -------------------------------------------------------------------

    def drain(self) -> None:
        self.draining = True
        if not self.busy:
            self.finish()

    def finish(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def idle(self) -> bool:
        return not self.busy

    # -- timers ---------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        timeout = self.config.idle_timeout
        if timeout is not None:
            due = self._last + timeout
            self._idle_timer = self._loop.call_at(due, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self.closed:
            return
        timeout = self.config.idle_timeout or 0.0
        now = self._loop.time()
        if self.busy:  # a long answer (a download, a long poll): look again a timeout on
            self._idle_timer = self._loop.call_at(now + timeout, self._idle_check)
            return
        if now >= self._last + timeout:
            self.finish()
            return
        self._arm_idle()

    def _cancel_timers(self) -> None:
        for timer in (self._idle_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._idle_timer = self._write_timer = None

    # -- parser callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._complete:  # a second request in the same read: the full server's
            self._slow = True
            return
        size = len(name)
        if size in _SLOW_SIZES or name[:4].lower() == b"l5d-":
            if name.lower() in _SLOW or name[:4].lower() == b"l5d-":
                self._slow = True
        elif size == 4 and name.lower() == b"host":
            if self._host is not None:
                self._slow = True  # two Hosts: the full server's to judge
            self._host = value
        elif size == 14 and name.lower() == b"content-length":
            try:
                self._length = int(value)
            except ValueError:
                self._slow = True
            if self._length > self.config.stream_threshold:
                self._slow = True
        self._headers.append((name, value))

    def on_message_complete(self) -> None:
        self._complete += 1
