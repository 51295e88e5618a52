"""One client-side HTTP/1.1 connection as a ``Service[Request, Response]``:
:class:`ClientConnection`, an asyncio protocol on ``httptools.HttpResponseParser``.

* One exchange at a time. The request head and body go out framed by the body: ``bytes``
  with ``Content-Length``, a stream with its declared ``Content-Length`` or ``chunked``.
  The current deadline and local dtab ride along as ``l5d-ctx-*`` headers.
* A response body of known length up to ``stream_threshold`` comes back as ``bytes``; a
  larger, chunked or close-delimited one as a :class:`~roost.rpc.http.body.BodyStream`
  returned as soon as the head arrived. The connection is free again once the whole
  response was *received* (:meth:`on_idle`), which for a stream means the caller read it
  (past ``body_buffer`` bytes the socket is paused) — or ``aclose()``\\ d it, which drops the
  connection. A caller must do one or the other.
* Failures are :class:`~roost.rpc.errors.RpcError`\\ s: nothing sent yet ⇒ ``WriteFailed``
  (retryable); the connection died after the request went out ⇒ ``ChannelClosed``; bad
  HTTP from the server ⇒ ``ProtocolError``; a 503 NACK ⇒ ``Rejected``. Cancelling a call
  (a caller's timeout) drops the connection: its state is unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from roost.rpc.errors import ChannelClosed, ProtocolError, RpcError, WriteFailed, translate
from roost.rpc.http.address import Address, format_address, parse_address
from roost.rpc.http.body import BodyStream
from roost.rpc.http.codec import (
    BODY_FRAMING,
    content_length,
    is_chunked,
    parse_content_length,
    request_head,
)
from roost.rpc.http.flow import WRITE_HIGH_WATER, WriteFlow, write_stream
from roost.rpc.http.message import Headers, Request, Response
from roost.rpc.http.nack import nack_error
from roost.rpc.http.propagation import outgoing_context
from roost.rpc.service import Status

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SMALL_WRITE = 16 * 1024


class ClientConnection(asyncio.Protocol):
    def __init__(self, address: str, *, stream_threshold: int, body_buffer: int) -> None:
        self.address = address
        self.stream_threshold = stream_threshold
        self.body_buffer = body_buffer
        self.transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()  # made by the loop's create_connection
        self.flow = WriteFlow()
        self.closed = False
        self._parser = HttpResponseParser(self)
        self._busy = False
        self._sent = False
        self._method = ""
        self._keep = False
        self._future: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._length: int | None = None
        """The response's first ``Content-Length``, as parsed (``-1``: malformed)."""
        self._te = False
        """The response has a ``Transfer-Encoding``."""
        self._buffer: bytearray | None = None
        self._stream: BodyStream | None = None
        self._until_close = False
        self._interim = False
        self._head_done = False
        self._on_idle: list[Callable[[ClientConnection], None]] = []
        self._parts = 0
        self._body_error: BaseException | None = None
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        address: Address,
        *,
        timeout: float | None = 1.0,
        stream_threshold: int = 64 * 1024,
        body_buffer: int = 256 * 1024,
    ) -> ClientConnection:
        """Connect; a refusal or a timeout is a retryable ``ConnectionFailed``."""
        host, port = parse_address(address)
        name = format_address(host, port)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: cls(name, stream_threshold=stream_threshold, body_buffer=body_buffer),
                    host,
                    port,
                )
        except (OSError, TimeoutError) as exc:
            raise translate(exc, sent=False, source=name) from exc
        return conn

    # -- Service ------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        if self.closed or self.transport is None or self.transport.is_closing():
            return Status.CLOSED
        return Status.BUSY if self._busy else Status.OPEN

    def reusable(self) -> bool:
        """Open and between exchanges (``status is OPEN``, cheaper: a pool asks it twice a
        request)."""
        transport = self.transport
        return not (self._busy or self.closed or transport is None or transport.is_closing())

    async def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self._fail(ChannelClosed("connection closed by its caller", source=self.address))

    async def __call__(self, req: Request) -> Response:
        if self._busy:
            raise RuntimeError("an HTTP/1.1 connection carries one request at a time")
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            raise WriteFailed("the connection is closed", source=self.address)
        head, chunked, length = self._head(req)
        self._busy, self._sent, self._method, self._keep = True, False, req.method, False
        self._until_close = self._interim = self._head_done = False
        self._response, self._buffer, self._body_error = None, None, None
        self._headers, self._reason, self._length, self._te = [], b"", None, False
        future = self._future = self._loop.create_future()
        body = req.body
        self._parts = 1 if isinstance(body, bytes) else 2
        try:
            if isinstance(body, bytes):
                if len(body) <= SMALL_WRITE:
                    transport.write(head + body)
                else:
                    transport.writelines((head, body))
                self._sent = True
                if self.flow.paused:
                    await self.flow.drain()
            else:
                transport.write(head)
                self._sent = True
                # full duplex: the answer may start (and must be read) before the body ends
                writer = self._writer = asyncio.get_running_loop().create_task(
                    self._send_body(body, chunked, length)
                )
                await asyncio.wait((writer, future), return_when=asyncio.FIRST_COMPLETED)
                if not future.done() and self._body_error is not None:
                    raise self._body_error
            rep = await future
        except OSError:
            # the connection died; its loss set the answer (an early one, or the error)
            rep = await future
        except BaseException:
            self._abort()
            raise
        if rep.status != 503:
            return rep
        nack = nack_error(rep, self.address)
        if nack is not None:
            if isinstance(rep.body, BodyStream):
                await rep.body.aclose()
            raise nack
        return rep

    async def _send_body(
        self, body: AsyncIterator[bytes], chunked: bool, length: int | None
    ) -> None:
        assert self.transport is not None
        try:
            await write_stream(self.transport, self.flow, body, chunked=chunked, length=length)
        except OSError:
            return  # the connection is gone and the exchange fails with it
        except asyncio.CancelledError:
            if not self.closed:
                self._abort()
            raise
        except Exception as exc:  # the caller's body failed or lied about its length
            self._body_error = exc
            self._abort()
            return
        self._writer = None
        self._part_done()

    def _head(self, req: Request) -> tuple[bytes, bool, int | None]:
        extra = outgoing_context()
        skip = {name for name, _ in extra} | BODY_FRAMING if extra else BODY_FRAMING
        headers: list[tuple[str, str]] = []
        host = False
        for name, value in req.headers:  # one pass: keep, drop and look for Host
            lname = name.lower()
            if lname not in skip:
                headers.append((name, value))
                host = host or lname == "host"
        if not host:
            extra.append(("Host", self.address))
        body = req.body
        chunked, length = False, None
        if isinstance(body, bytes):
            if body or req.method in _BODY_METHODS:
                extra.append(("Content-Length", str(len(body))))
        else:
            length = content_length(req.headers)
            if length is not None:
                extra.append(("Content-Length", str(length)))
            else:
                chunked = True
                extra.append(("Transfer-Encoding", "chunked"))
        return request_head(req.method, req.target, headers, extra), chunked, length

    def on_idle(self, callback: Callable[[ClientConnection], None]) -> None:
        """Call ``callback(self)`` once the current exchange is over (now if there is none)."""
        if self._busy and not self.closed:
            self._on_idle.append(callback)
        else:
            callback(self)

    def _part_done(self) -> None:
        """The request was written or the response received: both make an exchange."""
        self._parts -= 1
        if self._parts == 0 and self._busy:
            self._exchange_over()

    def _exchange_over(self) -> None:
        self._busy = False
        self._stream = None
        if not self._keep and self.transport is not None:
            self.transport.close()
        if self._on_idle:
            callbacks, self._on_idle = self._on_idle, []
            for callback in callbacks:
                callback(self)

    def _abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()
        self._fail(ChannelClosed("connection aborted", source=self.address))

    def _fail(self, exc: RpcError, *, peer_closed: bool = False) -> None:
        self.closed = True
        self.flow.fail(ConnectionResetError("connection lost"))
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done() and writer is not asyncio.current_task():
            writer.cancel()  # it may be waiting on the caller's body, not on the socket
        if self._future is not None and not self._future.done():
            self._future.set_exception(exc)
            self._future.exception()  # retrieved here: a cancelled caller never will
        if self._stream is not None:
            if self._until_close and peer_closed:
                self._stream.feed_eof()  # the server's close is the end of this body
            else:
                self._stream.fail(exc)
        if self._busy:
            self._exchange_over()

    # -- transport events ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, only look alike
        self.transport = transport = cast(asyncio.Transport, transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._sent:
            error: RpcError = ChannelClosed("connection closed by the server", source=self.address)
        else:
            error = WriteFailed("connection closed before the request", source=self.address)
        self._fail(error, peer_closed=True)

    def eof_received(self) -> bool:
        error = ChannelClosed("connection closed by the server", source=self.address)
        self._fail(error, peer_closed=True)
        return False

    def pause_writing(self) -> None:
        self.flow.pause()

    def resume_writing(self) -> None:
        self.flow.resume()

    def data_received(self, data: bytes) -> None:
        if not self._busy:
            self._abort()  # nothing was asked: whatever this is, the connection is spoiled
            return
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade:
            self._protocol_error("the server switched protocols")
        except HttpParserError as exc:
            self._protocol_error(f"malformed response: {exc}")
        if self._head_done:
            # httptools cannot be told that a HEAD response has no body: start afresh
            self._head_done = False
            self._parser = HttpResponseParser(self)

    def _protocol_error(self, text: str) -> None:
        if self.transport is not None:
            self.transport.abort()
        self._fail(ProtocolError(text, source=self.address))

    # -- parser callbacks ---------------------------------------------------------------

    # (no on_message_begin: each exchange, and each interim response, resets the state)

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)
        if size == 14 or size == 17:  # the framing headers, noticed as they go by
            lname = name.lower()
            if lname == b"content-length":
                if self._length is None:
                    self._length = parse_content_length(value.decode("latin-1"))
                    if self._length is None:
                        self._length = -1
            elif lname == b"transfer-encoding":
                self._te = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if not self._busy:  # more bytes after the answer: a response nobody asked for
            raise ProtocolError("the server sent a response to no request", source=self.address)
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:
            self._interim = True  # 100 Continue and friends: the real answer follows
            self._headers, self._reason, self._length, self._te = [], b"", None, False
            return
        headers = Headers.parsed(self._headers)
        self._headers = []  # the response owns that list now
        rep = Response(
            status, headers, b"", self._reason.decode("latin-1"), parser.get_http_version()
        )
        self._keep = parser.should_keep_alive()
        self._response = rep
        if self._method == "HEAD":
            self._head_done = True
            self._resolve(rep)
            self._part_done()
            return
        chunked = self._te and is_chunked(headers)
        length = None if chunked or self._length == -1 else self._length
        if status in (204, 304) or (length is not None and length <= self.stream_threshold):
            self._buffer = bytearray()
            return
        self._until_close = not chunked and length is None
        if self._until_close:
            self._keep = False
        rep.body = self._stream = BodyStream(self, high_water=self.body_buffer)
        self._resolve(rep)

    def on_body(self, data: bytes) -> None:
        if self._stream is not None:
            self._stream.feed(data)
        elif self._buffer is not None:
            self._buffer += data

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._stream is not None:
            self._stream.feed_eof()
        elif self._response is not None:
            if self._buffer:
                self._response.body = bytes(self._buffer)
            future = self._future
            if future is not None and not future.done():
                future.set_result(self._response)
        self._buffer = None
        self._response = None
        self._parts -= 1
        if self._parts == 0 and self._busy:
            self._exchange_over()

    def _resolve(self, rep: Response) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result(rep)

    # -- BodySource ---------------------------------------------------------------------

    def pause_body(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_body(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def body_started(self, stream: BodyStream) -> None:
        pass

    def body_abandoned(self, stream: BodyStream) -> None:
        if stream is self._stream:
            self._abort()
