"""Every test here runs on the default asyncio loop and on uvloop, against real loopback
sockets. ``raw`` helpers speak bytes to a server, for what a well-behaved client never
sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import pytest
import uvloop

from roost.rpc.http import Headers, Request, Response, Server, ServerConfig, listen, read_body
from roost.rpc.service import FnService


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


async def echo(req: Request) -> Response:
    """Answers with the request's body and a summary of what arrived."""
    streamed = req.streamed
    body = await read_body(req.body)
    headers = Headers(
        [
            ("x-method", req.method),
            ("x-target", req.target),
            ("x-streamed", str(streamed).lower()),
            ("x-length", str(len(body))),
        ]
    )
    return Response(200, headers, body)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = await listen("127.0.0.1:0", FnService(echo))
    yield srv
    await srv.close(grace=0.5)


async def start(handler: Callable[[Request], object], **config: object) -> Server:
    return await listen("127.0.0.1:0", FnService(handler), config=ServerConfig(**config))  # type: ignore[arg-type]


class Raw:
    """A bare TCP client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: Server) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_response(self, timeout: float = 2.0) -> tuple[bytes, bytes]:
        """One response with a Content-Length body: (head, body)."""
        async with asyncio.timeout(timeout):
            head = await self.reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await self.reader.readexactly(length)
        return head, body

    async def read_to_eof(self, timeout: float = 2.0) -> bytes:
        async with asyncio.timeout(timeout):
            return await self.reader.read(-1)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
