"""The HTTP/1.1 server seen from raw sockets: keep-alive, framing, HEAD, 100-continue,
pipelining, errors and NACKs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from roost.rpc.context import current_deadline, local_dtab
from roost.rpc.errors import DeadlineExceeded, Flags, Rejected
from roost.rpc.http import Headers, Request, Response, Server, read_body

from .conftest import Raw, start

GET = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_keep_alive_connection_carries_many_requests(server: Server) -> None:
    raw = await Raw.open(server)
    for i in range(5):
        await raw.send(GET % i)
        head, _ = await raw.read_response()
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"x-target: /%d\r\n" % i in head
        assert b"connection" not in head.lower()
    assert server.accepted == 1
    assert server.requests == 5
    await raw.close()


async def test_connection_close_from_the_client_is_honoured(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rest = await raw.read_to_eof()
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in rest
    await raw.close()


async def test_http_1_0_closes_unless_asked_to_keep_alive(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head, _ = await raw.read_response()
    assert b"Connection: keep-alive\r\n" in head
    await raw.send(b"GET /b HTTP/1.0\r\n\r\n")
    rest = await raw.read_to_eof()
    assert b"x-target: /b" in rest and b"Connection: close" in rest
    await raw.close()


async def test_pipelined_requests_are_answered_in_order() -> None:
    async def slow_first(req: Request) -> Response:
        if req.target == "/0":
            await asyncio.sleep(0.05)
        return Response(200, body=req.target.encode())

    server = await start(slow_first)
    raw = await Raw.open(server)
    await raw.send(b"".join(GET % i for i in range(4)))
    bodies = [(await raw.read_response())[1] for _ in range(4)]
    assert bodies == [b"/0", b"/1", b"/2", b"/3"]
    await raw.close()
    await server.close(0.5)


async def test_a_small_body_arrives_as_bytes_and_a_large_one_as_a_stream(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
    head, body = await raw.read_response()
    assert body == b"hello" and b"x-streamed: false" in head
    big = b"x" * 100_000
    await raw.send(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
    head, body = await raw.read_response()
    assert body == big and b"x-streamed: true" in head
    await raw.close()


async def test_a_chunked_request_body_streams_to_the_service(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    await asyncio.sleep(0.01)
    await raw.send(b"6\r\n world\r\n0\r\n\r\n")
    head, body = await raw.read_response()
    assert body == b"hello world" and b"x-streamed: true" in head
    await raw.send(GET % 7)  # and the connection goes on
    head, _ = await raw.read_response()
    assert b"x-target: /7" in head
    await raw.close()


async def test_a_streamed_response_of_unknown_length_is_chunked() -> None:
    async def stream(req: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"abc"
            yield b""
            yield b"defg"

        return Response(200, body=chunks())

    server = await start(stream)
    raw = await Raw.open(server)
    await raw.send(b"GET / HTTP/1.1\r\n\r\n")
    async with asyncio.timeout(2):
        head = await raw.reader.readuntil(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked\r\n" in head
        body = await raw.reader.readuntil(b"0\r\n\r\n")
    assert body == b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
    await raw.close()
    await server.close(0.5)


async def test_head_sends_no_body_but_keeps_the_content_length(server: Server) -> None:
    async def sized(req: Request) -> Response:
        return Response(200, body=b"0123456789")

    server = await start(sized)
    raw = await Raw.open(server)
    await raw.send(b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    async with asyncio.timeout(2):
        head = await raw.reader.readuntil(b"\r\n\r\n")
    assert b"Content-Length: 10\r\n" in head
    head, body = await raw.read_response()  # the GET's answer follows right away
    assert body == b"0123456789"
    await raw.close()
    await server.close(0.5)


async def test_expect_100_continue_is_answered_when_the_service_reads_the_body() -> None:
    read = asyncio.Event()

    async def reader(req: Request) -> Response:
        await asyncio.sleep(0.05)  # no 100 Continue before the service asks for the body
        read.set()
        return Response(200, body=await read_body(req.body))

    server = await start(reader)
    raw = await Raw.open(server)
    await raw.send(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 200000\r\n\r\n")
    async with asyncio.timeout(2):
        interim = await raw.reader.readuntil(b"\r\n\r\n")
    assert read.is_set()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    await raw.send(b"z" * 200_000)
    _, body = await raw.read_response()
    assert len(body) == 200_000
    await raw.close()
    await server.close(0.5)


async def test_expect_100_continue_works_with_curl(server: Server) -> None:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-H", "Expect: 100-continue", "--data-binary", "0123456789" * 100,
        "-w", "\n%{http_code}", "-D", "-", f"http://{server.address}/upload",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(2):
        out, _ = await proc.communicate()
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert out.endswith(b"0123456789" * 100 + b"\n200")


async def test_a_service_that_ignores_an_expected_body_gets_the_connection_closed() -> None:
    async def refuse(req: Request) -> Response:
        return Response(413, body=b"too big")

    server = await start(refuse)
    raw = await Raw.open(server)
    await raw.send(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n")
    rest = await raw.read_to_eof()
    assert rest.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b"100 Continue" not in rest and b"Connection: close" in rest
    await raw.close()
    await server.close(0.5)


async def test_a_failing_service_is_a_500_and_the_server_keeps_serving() -> None:
    async def boom(req: Request) -> Response:
        if req.target == "/boom":
            raise KeyError("secret detail")
        return Response(204)

    server = await start(boom)
    raw = await Raw.open(server)
    await raw.send(b"GET /boom HTTP/1.1\r\n\r\n")
    head, body = await raw.read_response()
    assert head.startswith(b"HTTP/1.1 500 ") and body == b"Internal Server Error\n"
    await raw.send(b"GET /fine HTTP/1.1\r\n\r\n")
    async with asyncio.timeout(2):
        head = await raw.reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 204 No Content\r\n")
    await raw.close()
    await server.close(0.5)


async def test_rejections_are_503_nacks_retryable_or_not() -> None:
    async def nack(req: Request) -> Response:
        if req.target == "/retryable":
            raise Rejected("busy")
        if req.target == "/final":
            raise Rejected("shed", flags=Flags.REJECTED | Flags.NON_RETRYABLE)
        raise DeadlineExceeded("too late")

    server = await start(nack)
    raw = await Raw.open(server)
    for target, header in [
        (b"/retryable", b"finagle-http-nack: true"),
        (b"/final", b"finagle-http-nonretryable-nack: true"),
        (b"/deadline", b"finagle-http-nonretryable-nack: true"),
    ]:
        await raw.send(b"GET %s HTTP/1.1\r\n\r\n" % target)
        head, _ = await raw.read_response()
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert header in head
    await raw.close()
    await server.close(0.5)


async def test_deadline_and_dtab_headers_become_the_service_context() -> None:
    seen: list[object] = []

    async def record(req: Request) -> Response:
        seen.append((current_deadline(), local_dtab(), req.headers.get("l5d-ctx-dtab")))
        return Response(200)

    server = await start(record)
    raw = await Raw.open(server)
    await raw.send(
        b"GET / HTTP/1.1\r\nl5d-ctx-deadline: 100 200\r\nl5d-ctx-deadline: 150 300\r\n"
        b"l5d-ctx-dtab: /svc=>/#/io.l5d.fs\r\n\r\n"
        b"GET / HTTP/1.1\r\nl5d-ctx-deadline: not a deadline\r\n\r\n"
    )
    await raw.read_response()
    await raw.read_response()
    first, second = seen
    deadline, dtab, header = first  # type: ignore[misc]
    assert (deadline.timestamp_ns, deadline.deadline_ns) == (150, 200)  # the strictest
    assert dtab == header == "/svc=>/#/io.l5d.fs"
    assert second == (None, "", None)
    await raw.close()
    await server.close(0.5)


async def test_connections_beyond_max_connections_are_closed_at_once() -> None:
    async def ok(req: Request) -> Response:
        return Response(200, Headers([("a", "b")]))

    server = await start(ok, max_connections=1)
    first = await Raw.open(server)
    await first.send(GET % 1)
    await first.read_response()
    second = await Raw.open(server)
    assert await second.read_to_eof() == b""
    assert server.refused == 1
    await second.close()
    await first.close()
    await server.close(0.5)


async def test_a_burst_of_pipelined_requests_with_large_heads_is_served_whole(
    server: Server,
) -> None:
    raw = await Raw.open(server)
    filler = b"x-filler: " + b"f" * 2000 + b"\r\n"
    await raw.send(b"".join(b"GET /%d HTTP/1.1\r\n%s\r\n" % (i, filler) for i in range(150)))
    for i in range(150):  # 300 KB in a few reads: no head is taken for an endless one
        head, _ = await raw.read_response()
        assert head.startswith(b"HTTP/1.1 200 OK") and b"x-target: /%d\r\n" % i in head
    await raw.close()


async def test_an_upgrade_header_is_ignored_and_connect_is_refused(server: Server) -> None:
    raw = await Raw.open(server)
    await raw.send(b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    head, _ = await raw.read_response()
    assert head.startswith(b"HTTP/1.1 200 OK") and b"x-target: /ws" in head
    await raw.send(GET % 2)
    head, _ = await raw.read_response()
    assert b"x-target: /2" in head
    await raw.close()
    raw = await Raw.open(server)
    await raw.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert (await raw.read_to_eof()).startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    await raw.close()


async def test_an_expected_body_is_not_timed_out_before_the_service_asks_for_it() -> None:
    async def late_reader(req: Request) -> Response:
        await asyncio.sleep(0.4)  # longer than the read timeout
        return Response(200, body=await read_body(req.body))

    server = await start(late_reader, read_timeout=0.2)
    raw = await Raw.open(server)
    await raw.send(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
    async with asyncio.timeout(2):
        assert await raw.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    await raw.send(b"a" * 100_000)
    _, body = await raw.read_response()
    assert len(body) == 100_000
    await raw.close()
    await server.close(0.5)
