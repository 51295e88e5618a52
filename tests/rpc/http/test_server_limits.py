"""Limits and timeouts of the server: 414/431/400, slowloris, idle keep-alive, slow
readers, graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from roost.rpc.http import Request, Response, Server, read_body, request

from .conftest import Raw, start

GET = b"GET / HTTP/1.1\r\n\r\n"


async def _answer_then_still_serving(server: Server, data: bytes) -> bytes:
    raw = await Raw.open(server)
    await raw.send(data)
    answer = await raw.read_to_eof()
    await raw.close()
    rep = await request(server.address, Request())  # a fresh connection is served fine
    assert rep.status == 200
    return answer


async def test_a_request_line_over_4_kb_is_414(server: Server) -> None:
    answer = await _answer_then_still_serving(server, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Connection: close\r\n" in answer and answer.endswith(b"\r\n\r\nURI Too Long\n")


@pytest.mark.parametrize(("length", "refused"), [(4096, False), (4097, True)])
async def test_the_request_line_limit_counts_method_url_and_version(
    server: Server, length: int, refused: bool
) -> None:
    line = b"GET /" + b"a" * (length - len(b"GET / HTTP/1.1")) + b" HTTP/1.1"
    assert len(line) == length
    raw = await Raw.open(server)
    await raw.send(line + b"\r\nConnection: close\r\n\r\n")
    answer = await raw.read_to_eof()
    await raw.close()
    assert answer.startswith(b"HTTP/1.1 414") is refused


async def test_headers_over_8_kb_are_431(server: Server) -> None:
    headers = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 100) for i in range(100))
    answer = await _answer_then_still_serving(server, b"GET / HTTP/1.1\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


async def test_one_endless_header_line_is_cut_off_with_431(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"GET / HTTP/1.1\r\nx-endless: ")
    for _ in range(10):  # never ends the line: 40 KB in several reads
        await raw.send(b"v" * 4096)
        await asyncio.sleep(0.005)
    answer = await raw.read_to_eof()
    assert answer.startswith(b"HTTP/1.1 431 ")
    await raw.close()


async def test_malformed_requests_are_400_and_the_server_keeps_serving(server: Server) -> None:
    answer = await _answer_then_still_serving(server, b"GET / HTTP/1.1\r\nbad header\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    answer = await _answer_then_still_serving(server, b"\x16\x03\x01 tls hello\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_an_error_after_good_pipelined_requests_comes_after_their_answers(
    server: Server,
) -> None:
    raw = await Raw.open(server)
    await raw.send(GET + GET + b"BROKEN\r\n\r\n")
    answer = await raw.read_to_eof()
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b"HTTP/1.1 400") > answer.rindex(b"HTTP/1.1 200")
    await raw.close()


async def ok(req: Request) -> Response:
    await read_body(req.body)
    return Response(200, body=b"ok")


async def test_a_client_trickling_its_head_is_cut_off_with_408() -> None:
    server = await start(ok, read_timeout=0.3)
    raw = await Raw.open(server)
    loop = asyncio.get_running_loop()
    began = loop.time()
    answer = asyncio.create_task(raw.read_to_eof())
    with contextlib.suppress(ConnectionError):
        for byte in b"GET / HTTP/1.1\r\nHost: slow\r\nx-more: 1\r\n" * 20:
            if answer.done():
                break
            await raw.send(bytes([byte]))  # one byte every 20 ms: never idle for 0.3 s
            await asyncio.sleep(0.02)
    assert (await answer).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert loop.time() - began < 1.0
    await raw.close()
    await server.close(0.5)


async def test_a_stalled_request_body_is_cut_off() -> None:
    server = await start(ok, read_timeout=0.2)
    raw = await Raw.open(server)
    await raw.send(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly a little")
    answer = await raw.read_to_eof()
    assert answer.startswith(b"HTTP/1.1 408 ")
    await raw.close()
    await server.close(0.5)


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    server = await start(ok, idle_timeout=0.2)
    raw = await Raw.open(server)
    await raw.send(GET)
    await raw.read_response()
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await raw.read_to_eof() == b""
    assert 0.15 < loop.time() - began < 1.0
    await raw.close()
    await asyncio.sleep(0.01)
    assert not server.connections
    await server.close(0.5)


async def test_a_client_that_does_not_read_cannot_make_the_server_buffer_a_large_body() -> None:
    produced = 0

    async def large(req: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            nonlocal produced
            block = b"b" * 65536
            for _ in range(800):  # 50 MB
                produced += len(block)
                yield block

        return Response(200, body=chunks())

    server = await start(large)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect(("127.0.0.1", server.port))
    _reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(GET)
    await asyncio.sleep(0.3)  # not reading
    assert produced < 8 * 1024 * 1024  # socket buffers and one transport buffer, not 50 MB
    writer.close()
    await server.close(0.5)


async def test_graceful_drain_finishes_in_flight_requests_and_refuses_new_ones() -> None:
    started = asyncio.Event()

    async def slow(req: Request) -> Response:
        started.set()
        await asyncio.sleep(0.2)
        return Response(200, body=b"done")

    server = await start(slow)
    idle = await Raw.open(server)
    busy = await Raw.open(server)
    await busy.send(GET)
    await started.wait()
    closing = asyncio.create_task(server.close(grace=2.0))
    assert await idle.read_to_eof() == b""  # the idle connection is closed at once
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    answer = await busy.read_to_eof()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in answer
    await busy.close()
    await idle.close()
    await closing
    assert not server.connections


async def test_a_drain_past_its_grace_cuts_remaining_requests() -> None:
    async def forever(req: Request) -> Response:
        await asyncio.sleep(30)
        return Response(200)

    server = await start(forever)
    raw = await Raw.open(server)
    await raw.send(GET)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await server.close(grace=0.2)
    assert loop.time() - began < 1.0
    assert await raw.read_to_eof() == b""
    await raw.close()


async def test_a_client_that_stops_reading_is_cut_off_after_the_write_timeout() -> None:
    async def large(req: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(800):
                yield b"b" * 65536

        return Response(200, body=chunks())

    server = await start(large, write_timeout=0.2)
    raw = await Raw.open(server)
    await raw.send(GET)
    for _ in range(250):  # not reading: the buffers fill, then the write timeout runs out
        if not server.connections:
            break
        await asyncio.sleep(0.02)
    assert not server.connections
    await raw.close()
    await server.close(0.5)
