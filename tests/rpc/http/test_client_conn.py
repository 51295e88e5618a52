"""One client connection against real servers: ours, and scripted raw backends that
misbehave (refuse, never answer, close mid-response, NACK)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from roost.rpc.context import Deadline, current_deadline, deadline_scope, dtab_scope, local_dtab
from roost.rpc.errors import (
    ChannelClosed,
    ConnectionFailed,
    Flags,
    ProtocolError,
    Rejected,
    WriteFailed,
)
from roost.rpc.http import BodyStream, ClientConnection, Request, Response, Server, read_body
from roost.rpc.service import Status

from .conftest import start

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def backend(script: Script) -> AsyncIterator[str]:
    """A raw TCP server running ``script`` for each connection; yields its address."""

    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await script(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    finally:
        srv.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_a_refused_connection_is_a_retryable_connection_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connect is refused
        with pytest.raises(ConnectionFailed) as info:
            await ClientConnection.connect(f"127.0.0.1:{port}")
    assert info.value.retryable


async def test_a_backend_that_never_answers_is_cut_by_the_callers_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(5)

    async with backend(silent) as address:
        conn = await ClientConnection.connect(address)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await conn(Request())
        assert conn.status == Status.CLOSED  # its state is unknown: it is dropped


async def test_a_server_closing_mid_response_is_channel_closed() -> None:
    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some")
        await writer.drain()

    async with backend(truncate) as address:
        conn = await ClientConnection.connect(address)
        with pytest.raises(ChannelClosed) as info:
            await conn(Request())
        assert not info.value.retryable


async def test_a_streamed_body_cut_short_fails_its_reader_with_channel_closed() -> None:
    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)

    async with backend(truncate) as address:
        conn = await ClientConnection.connect(address)
        rep = await conn(Request())
        assert isinstance(rep.body, BodyStream)
        assert await rep.body.__anext__() == b"hello"
        with pytest.raises(ChannelClosed):
            await rep.body.__anext__()


async def test_a_request_on_a_connection_the_server_closed_is_a_retryable_write_failure(
    server: Server,
) -> None:
    conn = await ClientConnection.connect(server.address)
    await conn(Request())
    await server.close(0.5)  # closes the idle keep-alive connection
    await asyncio.sleep(0.05)
    assert conn.status == Status.CLOSED
    with pytest.raises(WriteFailed) as info:
        await conn(Request())
    assert info.value.retryable


async def test_nacks_are_rejected_errors_retryable_or_not() -> None:
    async def nack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for header in (b"finagle-http-nack", b"finagle-http-nonretryable-nack"):
            await read_head(reader)
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\n%s: true\r\n" % header)
            writer.write(b"Content-Length: 0\r\n\r\n")
        await reader.read()

    async with backend(nack) as address:
        conn = await ClientConnection.connect(address)
        with pytest.raises(Rejected) as first:
            await conn(Request())
        assert first.value.retryable and first.value.rejected
        with pytest.raises(Rejected) as second:
            await conn(Request())  # a NACK leaves the connection usable
        assert second.value.flags & Flags.NON_RETRYABLE and not second.value.retryable


async def test_deadline_and_dtab_travel_to_the_servers_context() -> None:
    seen: list[object] = []

    async def record(req: Request) -> Response:
        seen.append((current_deadline(), local_dtab()))
        return Response(200)

    server = await start(record)
    conn = await ClientConnection.connect(server.address)
    deadline = Deadline.of_timeout(5.0)
    with deadline_scope(deadline), dtab_scope("/svc/web=>/$/inet/127.0.0.1/1"):
        await conn(Request())
    await conn(Request())  # outside the scopes: nothing is sent
    assert seen == [(deadline, "/svc/web=>/$/inet/127.0.0.1/1"), (None, "")]
    await conn.close()
    await server.close(0.5)


async def test_head_responses_have_no_body_and_the_connection_stays_usable() -> None:
    async def sized(req: Request) -> Response:
        return Response(200, body=b"x" * 100)

    server = await start(sized)
    conn = await ClientConnection.connect(server.address)
    rep = await conn(Request("HEAD"))
    assert rep.body == b"" and rep.headers["content-length"] == "100"
    assert conn.status == Status.OPEN
    rep = await conn(Request("GET"))
    assert rep.body == b"x" * 100
    assert server.accepted == 1
    await conn.close()
    await server.close(0.5)


async def test_small_bodies_arrive_as_bytes_and_large_or_chunked_ones_as_streams() -> None:
    async def sized(req: Request) -> Response:
        n = int(req.target[1:])
        if req.method == "POST":
            return Response(200, body=await read_body(req.body))

        async def chunks() -> AsyncIterator[bytes]:
            yield b"y" * n

        return Response(200, body=b"x" * n if req.target != "/7" else chunks())

    server = await start(sized)
    conn = await ClientConnection.connect(server.address)
    small = await conn(Request(target="/10"))
    assert small.body == b"x" * 10
    large = await conn(Request(target="/100000"))
    assert isinstance(large.body, BodyStream)
    assert await read_body(large.body) == b"x" * 100_000
    chunked = await conn(Request(target="/7"))
    assert isinstance(chunked.body, BodyStream) and await read_body(chunked.body) == b"y" * 7

    async def upload() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    echoed = await conn(Request("POST", "/0", body=upload()))  # a chunked request body
    assert echoed.body == b"abcd"
    assert server.accepted == 1
    await conn.close()
    await server.close(0.5)


async def test_interim_100_continue_is_skipped_and_connection_close_is_honoured() -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await reader.read()

    async with backend(interim) as address:
        conn = await ClientConnection.connect(address)
        rep = await conn(Request())
        assert (rep.status, rep.body) == (200, b"ok")
        assert conn.status == Status.CLOSED


async def test_a_body_delimited_by_the_close_streams_until_eof() -> None:
    async def old(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")

    async with backend(old) as address:
        conn = await ClientConnection.connect(address)
        rep = await conn(Request())
        assert await read_body(rep.body) == b"until the end"


async def test_garbage_from_the_server_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await reader.read()

    async with backend(garbage) as address:
        conn = await ClientConnection.connect(address)
        with pytest.raises(ProtocolError):
            await conn(Request())
