"""One server-side HTTP/1.1 connection: :class:`ServerConnection`, an asyncio protocol on
``httptools.HttpRequestParser``.

* Requests are answered in the order they arrived, by the connection's
  :class:`~roost.rpc.http.server_queue.RequestQueue` (one task per connection; a request
  that arrives alone while it waits is served eagerly). Pipelined requests are parsed ahead
  (at most ``max_pipelined``; then the socket is paused).
* A body of known length up to ``stream_threshold`` reaches the service as ``bytes``; a
  larger or chunked one as a :class:`~roost.rpc.http.body.BodyStream`, read under
  back-pressure (the socket is paused while the stream holds ``body_buffer`` bytes).
* ``Expect: 100-continue`` (HTTP/1.1 only): ``100 Continue`` goes out when the service first
  reads the body — for a body small enough to arrive as ``bytes``, that is when the request
  is dispatched. A service that answers without reading it gets the connection closed
  after its response (the client may or may not send the body: RFC 9110 §10.1.1).
* Limits answer with a short ``text/plain`` body and ``Connection: close``: a request line
  over ``max_request_line`` is 414, a header section over ``max_header_bytes`` is 431,
  anything httptools cannot parse is 400, a head or body that does not arrive in time is
  408. After answering, the connection stops reading requests, half-closes and discards
  what the client still sends for a moment (a lingering close, so the answer is not lost
  to a TCP reset), then closes.
* Timeouts: idle between requests; from a request's first byte to the end of its head
  (slowloris); between two reads of a body; while the client reads none of our answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from roost.rpc.errors import ChannelClosed, ProtocolError, RequestTimeout, RpcError
from roost.rpc.http.body import BodyStream
from roost.rpc.http.codec import CONTINUE, content_length, has_token, is_chunked
from roost.rpc.http.conn_timer import ConnectionTimer
from roost.rpc.http.flow import WRITE_HIGH_WATER, WriteFlow
from roost.rpc.http.message import Headers, Request
from roost.rpc.http.server_dispatch import Exchange, Refusal
from roost.rpc.http.server_queue import RequestQueue

if TYPE_CHECKING:
    from roost.rpc.http.server import Server

log = logging.getLogger(__name__)

_READ, _WRITE = 0, 1  # timer slots
_NONE, _IDLE, _HEAD, _BODY, _LINGER = range(5)  # what the read deadline stands for
_BODY_FULL, _QUEUE_FULL, _STOPPED, _CONTINUE = 1, 2, 4, 8  # why reading is paused
LINGER_SECONDS = 2.0
_LINE_EXTRA = len("  HTTP/1.1")  # the two spaces and the version around the url
# Headers the connection must look at, noticed as they are parsed (by length first: most
# names are not looked at twice), so a plain request needs no further scans of its headers.
_LENGTH, _CHUNKED, _EXPECT, _CONTEXT = 1, 2, 4, 8
_WATCHED = {
    b"content-length": _LENGTH,
    b"transfer-encoding": _CHUNKED,
    b"expect": _EXPECT,
    b"l5d-ctx-deadline": _CONTEXT,
    b"l5d-ctx-dtab": _CONTEXT,
}
_WATCHED_SIZES = frozenset(len(name) for name in _WATCHED)
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


class ServerConnection(asyncio.Protocol):
    __slots__ = (
        "_began",
        "_buffer",
        "_flags",
        "_head_size",
        "_headers",
        "_in_head",
        "_loop",
        "_parser",
        "_pause",
        "_pending",
        "_queue",
        "_raw_head",
        "_read_kind",
        "_stop",
        "_stream",
        "_timer",
        "_url",
        "closed",
        "config",
        "expecting",
        "finished",
        "flow",
        "server",
        "transport",
    )

    def __init__(self, server: Server) -> None:
        self.server = server
        self.config = server.config
        self._loop = asyncio.get_running_loop()
        self._parser = HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.flow = WriteFlow()
        self.closed = False
        self._queue = RequestQueue(self, self._loop)
        self._timer = ConnectionTimer(self._loop, self._expired, 2)
        self._read_kind = _NONE
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._flags = 0
        self._head_size = 0
        self._raw_head = 0
        self._in_head = False
        self._buffer: bytearray | None = None
        self._pending: Exchange | None = None
        self._stream: BodyStream | None = None
        self.expecting: BodyStream | None = None
        """The body whose ``100 Continue`` is owed once the service reads it."""
        self._pause = 0
        self._stop = False
        self._began = False
        self.finished = False

    # -- transport events ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, only look alike
        self.transport = transport = cast(asyncio.Transport, transport)
        if not self.server.connection_opened(self):
            self.closed = True
            transport.abort()
            return
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._update_read_due()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._timer.cancel()
        self.flow.fail(ConnectionResetError("connection lost"))
        if self._stream is not None:
            self._stream.fail(ChannelClosed("the client went away mid-body"))
            self._stream = None
        self._queue.cancel()
        self.server.connection_closed(self)

    def eof_received(self) -> bool:
        # A client that closes its side has gone away (it cannot tell half-close from
        # close): drop the connection, which cancels a service call in progress (as Go's
        # net/http cancels the request context and Finagle interrupts the future).
        return False

    def pause_writing(self) -> None:
        self.flow.pause()
        self._timer.set(_WRITE, self.config.write_timeout)

    def resume_writing(self) -> None:
        self.flow.resume()
        self._timer.set(_WRITE, None)

    def data_received(self, data: bytes) -> None:
        if self._stop:
            return  # lingering: discard
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            if not self._stop:  # no protocol switching: an Upgrade header is ignored
                self.data_received(data[upgrade.args[0] :])
            return
        except HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Refusal):
                self._reject(cause.status, cause.text)
            else:
                log.error("HTTP request callback failed", exc_info=cause)
                self._reject(400, "Bad Request")
            return
        except HttpParserError as exc:
            self._reject(400, f"Bad Request: {exc}")
            return
        if self._in_head:
            # httptools hands over a header only once it is complete: count raw bytes too,
            # so one endless header line is cut off after at most one more read
            began_now = self._raw_head < 0
            self._raw_head = self._head_size if began_now else self._raw_head + len(data)
            if self._raw_head > self.config.max_header_bytes + self.config.max_request_line:
                self._reject(431, "Request Header Fields Too Large")
            elif began_now:  # the head's deadline runs from the read that began it
                self._set_read(_HEAD, self.config.read_timeout)
        elif self._began or self._read_kind != _IDLE:
            # once per read, not per parser event: a whole request usually comes in one;
            # a read that starts nothing (bare CRLFs) does not move the idle deadline
            self._began = False
            self._update_read_due()

    # -- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._began = True
        self._in_head = True
        self._url = b""
        self._headers = []
        self._flags = 0
        self._head_size = 0
        self._raw_head = -1  # began in this read

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        # the whole request line counts: "<method> <url> HTTP/1.1" (Netty's initial line);
        # llhttp knows no method longer than 16 bytes, so a short url needs no more
        if len(self._url) + 16 + _LINE_EXTRA > self.config.max_request_line:
            line = len(self._parser.get_method()) + len(self._url) + _LINE_EXTRA
            if line > self.config.max_request_line:
                raise Refusal(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size - len(self._url) > self.config.max_header_bytes:
            raise Refusal(431, "Request Header Fields Too Large")
        if len(name) in _WATCHED_SIZES:
            self._flags |= _WATCHED.get(name.lower(), 0)
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method)
        if method is None:
            if raw_method == b"CONNECT":
                raise Refusal(405, "Method Not Allowed")  # no tunnels
            method = raw_method.decode("ascii")
        version = parser.get_http_version()
        headers = Headers.parsed(self._headers)
        request = Request(method, self._url.decode("latin-1"), headers, b"", version)
        flags = self._flags
        exchange = Exchange(request, parser.should_keep_alive(), context=bool(flags & _CONTEXT))
        chunked = bool(flags & _CHUNKED) and is_chunked(headers)
        length = content_length(headers) if flags & _LENGTH and not chunked else None
        config = self.config
        if chunked or length:
            exchange.expect = (
                bool(flags & _EXPECT)
                and version == "1.1"
                and has_token(headers.get("expect"), "100-continue")
            )
            if exchange.expect:
                self._pause_reading(_CONTINUE)  # nothing comes before 100 Continue
            if chunked or exchange.expect or (length or 0) > config.stream_threshold:
                stream = BodyStream(self, high_water=config.body_buffer)
                request.body = exchange.stream = self._stream = stream
                exchange.length = length
                self._enqueue(exchange)
            else:
                self._buffer = bytearray()
                self._pending = exchange
        else:
            self._pending = exchange

    def on_body(self, data: bytes) -> None:
        if self._stream is not None:
            self._stream.feed(data)
        elif self._buffer is not None:
            self._buffer += data

    def on_message_complete(self) -> None:
        if self._stream is not None:
            self._stream.feed_eof()
            self._stream = None
        elif self._pending is not None:
            if self._buffer is not None:
                self._pending.request.body = bytes(self._buffer)
            self._enqueue(self._pending)
        self._pending = None
        self._buffer = None

    # -- BodySource ---------------------------------------------------------------------

    def pause_body(self) -> None:
        self._pause_reading(_BODY_FULL)

    def resume_body(self) -> None:
        self._resume_reading(_BODY_FULL)

    def body_started(self, stream: BodyStream) -> None:
        if stream is self.expecting and not self.closed and self.transport is not None:
            self.expecting = None
            self.transport.write(CONTINUE)
            self._resume_reading(_CONTINUE)

    def expecting_done(self) -> bool:
        """A final response is going out: too late for ``100 Continue``. Whether it was
        still owed (then the client may never send the body)."""
        owed, self.expecting = self.expecting is not None, None
        return owed

    def body_abandoned(self, stream: BodyStream) -> None:
        self._resume_reading(_BODY_FULL)  # drop the rest as it arrives

    # -- serving ------------------------------------------------------------------------

    def _enqueue(self, item: Exchange | Refusal) -> None:
        self._queue.put(item)
        if len(self._queue) >= self.config.max_pipelined:
            self._pause_reading(_QUEUE_FULL)

    # -- for the request queue ----------------------------------------------------------

    def request_taken(self, waiting: int) -> None:
        """The queue handed one request over; ``waiting`` are left."""
        if waiting < self.config.max_pipelined:
            self._resume_reading(_QUEUE_FULL)

    def served(self) -> None:
        """The queue is empty and nothing is being answered."""
        self._update_read_due()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def idle(self) -> bool:
        return not (
            self._queue.busy or self._queue or self._in_head or self._stream or self._pending
        )

    def drain(self) -> None:
        """The server is shutting down: close now if idle, else after the current response."""
        if not self.closed and self.idle():
            self.finish()

    def _reject(self, status: int, text: str, error: RpcError | None = None) -> None:
        """Stop reading requests; answer ``status`` after the ones already queued."""
        self._pause_reading(_STOPPED)
        if self._stream is not None:
            # mid-body: the service reading it gets the error; the connection ends after it
            self._stream.fail(error or ProtocolError(text))
            self._stream = None
        else:
            self._enqueue(Refusal(status, text))
        self._stop = True
        self._in_head = False
        self._pending = None
        self._buffer = None
        self._update_read_due()

    def finish(self) -> None:
        """No more requests: half-close, discard what still comes for a moment, close."""
        transport = self.transport
        if self.closed or transport is None:
            return
        self._stop = True
        self.finished = True
        if transport.can_write_eof():
            transport.write_eof()
            self._pause = 0
            transport.resume_reading()
            self._set_read(_LINGER, LINGER_SECONDS)
        else:
            transport.close()

    # -- flow control and timers --------------------------------------------------------

    def _pause_reading(self, reason: int) -> None:
        if not self._pause and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._pause |= reason
        self._update_read_due()

    def _resume_reading(self, reason: int) -> None:
        if not self._pause & reason:
            return
        self._pause &= ~reason
        if not self._pause and self.transport is not None and not self.closed:
            self.transport.resume_reading()
            self._update_read_due()

    def _update_read_due(self) -> None:
        if self.closed or self._in_head or self._read_kind == _LINGER:
            return  # the head's deadline runs from its first byte; lingering has its own
        config = self.config
        receiving = self._stream is not None or self._buffer is not None
        if receiving and not self._pause and config.read_timeout is not None:
            self._set_read(_BODY, config.read_timeout)
        elif self.idle():
            self._set_read(_IDLE, config.idle_timeout)
        else:
            self._set_read(_NONE, None)

    def _set_read(self, kind: int, delay: float | None) -> None:
        self._read_kind = _NONE if delay is None else kind
        self._timer.set(_READ, delay)

    def _expired(self, slot: int) -> None:
        if self.closed or self.transport is None:
            return
        if slot == _WRITE:
            self.transport.abort()  # the client stopped reading our response
        else:
            self._read_timed_out()

    def _read_timed_out(self) -> None:
        kind, self._read_kind = self._read_kind, _NONE
        if kind == _IDLE and self.idle():
            self.transport.close()  # type: ignore[union-attr]
        elif kind == _LINGER:
            self.transport.close()  # type: ignore[union-attr]
        elif kind == _HEAD and self._in_head:
            self._reject(408, "Request Timeout")
        elif kind == _BODY:
            self._reject(408, "Request Timeout", RequestTimeout("request body timed out"))
