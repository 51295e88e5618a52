"""One exchange on the server: call the service in the request's context, write its answer.

The response is framed from its body: ``bytes`` get a ``Content-Length``; a stream gets the
``Content-Length`` its headers declare, else ``chunked`` (HTTP/1.1) or a close-delimited body
(HTTP/1.0). ``HEAD``, 1xx, 204 and 304 responses carry no body; ``HEAD`` keeps the length
the ``GET`` would have had. A service that raises gets a 500 — or a 503 NACK when it raised a
rejection (:mod:`roost.rpc.http.nack`) — and the connection goes on serving.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roost.rpc.errors import RequestTimeout, RpcError
from roost.rpc.http.codec import (
    FRAMING,
    has_token,
    http_date,
    parse_content_length,
    plain_response,
    response_head,
)
from roost.rpc.http.flow import write_stream
from roost.rpc.http.message import Request, Response, read_body
from roost.rpc.http.nack import error_response
from roost.rpc.http.propagation import incoming_context
from roost.rpc.service import Service

if TYPE_CHECKING:
    from roost.rpc.http.body import BodyStream
    from roost.rpc.http.server_conn import ServerConnection

log = logging.getLogger("roost.rpc.http.server")

_NOTHING = contextlib.nullcontext()
SMALL_WRITE = 16 * 1024
"""Heads and bodies up to this size go out in one ``write``."""


@dataclass(slots=True)
class Exchange:
    """A parsed request waiting for (or getting) its response."""

    request: Request
    keep_alive: bool
    expect: bool = False
    """``Expect: 100-continue`` is still unanswered."""
    stream: BodyStream | None = None
    length: int | None = None
    context: bool = True
    """The request carries ``l5d-ctx-*`` headers to restore around the service call."""


class Refusal(Exception):
    """A request refused before any service saw it: answered ``status`` and closed."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def call_service(
    service: Service[Request, Response], request: Request, *, context: bool = True
) -> Response:
    """The service's response, or the error response for what it raised. ``context=False``:
    the request carries no ``l5d-ctx-*`` header and the caller's context is already empty (a
    connection serves in a fresh one), so there is nothing to restore."""
    with incoming_context(request.headers) if context else _NOTHING:
        try:
            rep: object = await service(request)
        except Exception as exc:
            if not isinstance(exc, RpcError):
                log.exception("service failed on %s %s", request.method, request.target)
            return error_response(exc)
    if not isinstance(rep, Response):
        log.error("service returned %r, not a Response", type(rep).__name__)
        return error_response(TypeError("not a Response"))
    return rep


async def respond(conn: ServerConnection, exchange: Exchange) -> bool:
    """Serve one exchange; ``True`` when the connection may carry another request."""
    request = exchange.request
    stream = exchange.stream
    if stream is not None and exchange.length is not None:
        if exchange.length <= conn.config.stream_threshold:
            # Expect: 100-continue on a small body: reading it sends 100 Continue
            try:
                request.body = await read_body(stream)
            except RpcError as exc:
                if isinstance(exc, RequestTimeout):
                    answer = plain_response(408, "Request Timeout")
                else:
                    answer = plain_response(400, f"Bad Request: {exc}")
                conn.transport.write(answer)  # type: ignore[union-attr]
                return False
    conn.server.requests += 1
    rep = await call_service(conn.server.service, request, context=exchange.context)
    if isinstance(rep.body, bytes):  # the common case needs no coroutine of its own
        keep = write_whole(conn, exchange, rep, rep.body)
        if conn.flow.paused:
            await conn.flow.drain()
        return keep
    return await write_response(conn, exchange, rep)


def _frame(
    conn: ServerConnection, exchange: Exchange, rep: Response
) -> tuple[list[tuple[str, str]], bool, bool, bool, int | None]:
    """The service's headers less what the transport writes itself; whether they hold a
    ``Date``; keep-alive; whether the answer has no body; the declared length."""
    request = exchange.request
    status = rep.status
    continue_unsent = conn.expecting_done()  # the client still waits to send its body
    # one pass over the service's headers: what we write ourselves is dropped, and read
    headers: list[tuple[str, str]] = []
    connection: str | None = None
    length_text: str | None = None
    dated = False
    for name, value in rep.headers:
        lname = name.lower()
        if lname in FRAMING:
            if lname == "connection":
                connection = value if connection is None else connection
            elif lname == "content-length":
                length_text = value if length_text is None else length_text
            continue
        dated = dated or lname == "date"
        headers.append((name, value))
    keep = (
        exchange.keep_alive
        and not conn.server.draining
        and not continue_unsent
        and (connection is None or not has_token(connection, "close"))
    )
    bodiless = request.method == "HEAD" or status < 200 or status in (204, 304)
    declared = None if length_text is None else parse_content_length(length_text)
    return headers, dated, keep, bodiless, declared


def _head(
    conn: ServerConnection,
    exchange: Exchange,
    rep: Response,
    headers: list[tuple[str, str]],
    extra: list[tuple[str, str]],
    keep: bool,
    dated: bool,
) -> bytes | None:
    """The response head; ``None`` (and a 500 written) when the service's headers are bad."""
    if not keep:
        extra.append(("Connection", "close"))
    elif exchange.request.version == "1.0":
        extra.append(("Connection", "keep-alive"))
    if not dated:
        extra.append(("Date", http_date()))
    try:
        return response_head(rep.status, rep.reason, headers, extra)
    except ValueError as exc:
        log.error("service response cannot be written: %s", exc)
        conn.transport.write(plain_response(500, "Internal Server Error"))  # type: ignore[union-attr]
        return None


def write_whole(conn: ServerConnection, exchange: Exchange, rep: Response, body: bytes) -> bool:
    """Write a response whose body is ``bytes``; whether the connection may go on."""
    transport = conn.transport
    assert transport is not None
    headers, dated, keep, bodiless, declared = _frame(conn, exchange, rep)
    status = rep.status
    length = len(body) if body or not bodiless else declared
    extra: list[tuple[str, str]] = []
    if status >= 200 and status != 204 and length is not None:
        extra.append(("Content-Length", str(length)))
    head = _head(conn, exchange, rep, headers, extra, keep, dated)
    if head is None:
        return False
    if bodiless or not body:
        transport.write(head)
    elif len(body) <= SMALL_WRITE:
        transport.write(head + body)
    else:
        transport.writelines((head, body))
    # the next request starts where this one's body ends: unknown unless it all arrived
    # (the answer may have gone out while the body still streamed in: full duplex)
    return keep and (exchange.stream is None or exchange.stream.complete)


async def write_response(conn: ServerConnection, exchange: Exchange, rep: Response) -> bool:
    """Write any response, streaming a body that is a stream; whether the connection may go
    on."""
    body = rep.body
    if isinstance(body, bytes):
        keep = write_whole(conn, exchange, rep, body)
        if conn.flow.paused:
            await conn.flow.drain()
        return keep
    request = exchange.request
    transport = conn.transport
    assert transport is not None
    headers, dated, keep, bodiless, declared = _frame(conn, exchange, rep)
    status = rep.status
    extra: list[tuple[str, str]] = []
    chunked = False
    if bodiless:
        await _close_stream(body)
        if declared is not None and status >= 200 and status != 204:
            extra.append(("Content-Length", str(declared)))
    elif declared is not None:
        extra.append(("Content-Length", str(declared)))
    elif request.version == "1.1":
        chunked = True
        extra.append(("Transfer-Encoding", "chunked"))
    else:
        keep = False  # an HTTP/1.0 client reads a body of unknown length until the close
    head = _head(conn, exchange, rep, headers, extra, keep, dated)
    if head is None:
        return False
    transport.write(head)
    if not bodiless:
        try:
            await write_stream(transport, conn.flow, body, chunked=chunked, length=declared)
        except (OSError, RpcError):
            return False  # the client went away
        except Exception:
            log.exception("response body of %s %s failed", request.method, request.target)
            transport.abort()  # the framing is broken: the client sees a truncated response
            return False
    return keep and (exchange.stream is None or exchange.stream.complete)


async def _close_stream(body: object) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            log.debug("closing an unsent response body failed", exc_info=True)
