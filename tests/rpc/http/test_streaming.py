"""A 50 MB body through our client and server, both ways at once, without anyone holding
it whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psutil

from roost.rpc.http import BodyStream, ClientConnection, Request, Response, ServerConfig, listen
from roost.rpc.service import FnService

SIZE = 50 * 1024 * 1024
BLOCK = b"s" * (256 * 1024)


async def test_a_50_mb_body_streams_through_server_and_client_in_bounded_memory() -> None:
    server_streams: list[BodyStream] = []

    async def echo(req: Request) -> Response:
        if not isinstance(req.body, BodyStream):
            return Response(204)
        server_streams.append(req.body)

        async def back() -> AsyncIterator[bytes]:
            async for chunk in req.body:  # type: ignore[union-attr]
                yield chunk

        return Response(200, body=back())

    config = ServerConfig(body_buffer=256 * 1024)
    server = await listen("127.0.0.1:0", FnService(echo), config=config)
    conn = await ClientConnection.connect(server.address)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    rss_peak = rss_before

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(SIZE // len(BLOCK)):
            yield BLOCK

    rep = await conn(Request("POST", "/echo", body=upload()))
    assert isinstance(rep.body, BodyStream)
    received = 0
    async for chunk in rep.body:
        received += len(chunk)
        if received % (8 * 1024 * 1024) < len(chunk):
            rss_peak = max(rss_peak, process.memory_info().rss)
    assert received == SIZE
    (server_stream,) = server_streams
    assert server_stream.received == SIZE
    # what either side buffered: about one high-water mark plus one socket read
    assert server_stream.peak_buffered < 1024 * 1024
    assert rep.body.peak_buffered < 1024 * 1024
    assert rss_peak - rss_before < 20 * 1024 * 1024
    # the answer began before the upload ended (full duplex); the connection lives on
    assert (await conn(Request())).status == 204
    assert server.accepted == 1
    await conn.close()
    await server.close(0.5)
